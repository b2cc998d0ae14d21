//! Serving files from disk to browsers, players and curl: safe name resolution, the MIME map,
//! validators (ETag, Last-Modified), conditional requests, Range (200/206/304/416) and HEAD.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::clock::{http_date, parse_http_date};
use crate::http::{Body, Reply, Req};
use crate::range::{self, Ranged};

/// Content-Type by extension; anything unknown is `application/octet-stream`.
pub fn mime_for_extension(ext: &str) -> Option<&'static str> {
    Some(match ext.to_ascii_lowercase().as_str() {
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "mov" => "video/quicktime",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "opus" | "ogg" | "oga" => "audio/ogg",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "png" => "image/png",
        "vtt" => "text/vtt; charset=utf-8",
        _ => return None,
    })
}

/// Content-Type of a media file: by extension, else by its first bytes (yt-dlp names a file
/// `.unknown_video` when the URL had no extension), else octet-stream.
pub fn media_type(name: &str, head: &[u8]) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    mime_for_extension(ext)
        .or_else(|| sniff_media(head))
        .unwrap_or("application/octet-stream")
}

fn sniff_media(head: &[u8]) -> Option<&'static str> {
    if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Some("video/mp4")
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("video/x-matroska")
    } else if head.starts_with(b"OggS") {
        Some("audio/ogg")
    } else if head.starts_with(b"ID3") {
        Some("audio/mpeg")
    } else {
        crate::thumbnails::sniff(head).and_then(mime_for_extension)
    }
}

/// Whether a name in the downloads folder is a partial or temporary file of a download.
pub fn is_partial(name: &str) -> bool {
    const SUFFIXES: [&str; 4] = [".part", ".ytdl", ".temp", ".tmp"];
    SUFFIXES.iter().any(|s| name.ends_with(s))
        || name.contains(".temp.")
        || is_fragment(name)
        || is_format_stream(name)
}

/// `name.mp4.part-Frag12` or `name-Frag12`: one fragment of a segmented download.
fn is_fragment(name: &str) -> bool {
    let digits = name.trim_end_matches(|c: char| c.is_ascii_digit());
    digits.len() < name.len() && digits.ends_with("-Frag")
}

/// `name.f137.mp4`: one stream of a pair that yt-dlp merges and then deletes.
fn is_format_stream(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let _ext = parts.next();
    matches!(parts.next(), Some(p) if p.len() > 1
        && p.starts_with('f')
        && p[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// A file name that may be looked up directly inside the downloads folder: one path
/// component, not hidden, not a partial download.
pub fn is_servable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.')
        && !is_partial(name)
}

/// `dir/name` if it is a regular file that, with symlinks resolved, is still directly inside
/// `dir`.
pub fn resolve_inside(dir: &Path, name: &str) -> Option<PathBuf> {
    if !is_servable_name(name) {
        return None;
    }
    let root = dir.canonicalize().ok()?;
    let path = dir.join(name).canonicalize().ok()?;
    (path.parent() == Some(root.as_path()) && path.is_file()).then_some(path)
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266, RFC 8187).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The validators of a file's current version.
#[derive(Debug, Clone, PartialEq)]
pub struct Validators {
    pub etag: String,
    pub last_modified: String,
    pub modified_secs: u64,
}

impl Validators {
    pub fn of(meta: &Metadata) -> Validators {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        Validators {
            // Size and modification time in nanoseconds: a replaced file gets a new tag.
            etag: format!("\"{:x}-{:x}\"", meta.len(), mtime.as_nanos()),
            last_modified: http_date(mtime.as_secs()),
            modified_secs: mtime.as_secs(),
        }
    }
}

/// Whether the client's cached copy is current (`If-None-Match` wins over `If-Modified-Since`).
pub fn not_modified(req: &Req, v: &Validators) -> bool {
    if let Some(inm) = req.header("if-none-match") {
        let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
        return inm.trim() == "*" || inm.split(',').any(|t| weak(t) == weak(&v.etag));
    }
    req.header("if-modified-since")
        .and_then(parse_http_date)
        .is_some_and(|since| v.modified_secs <= since)
}

/// Whether a Range may be honoured: no `If-Range`, or one that names the current version
/// (a strong ETag match, or the exact Last-Modified date).
fn if_range_holds(req: &Req, v: &Validators) -> bool {
    match req.header("if-range").map(str::trim) {
        None => true,
        Some(tag) if tag.starts_with('"') => tag == v.etag,
        Some(tag) if tag.starts_with("W/") => false,
        Some(date) => date == v.last_modified,
    }
}

/// What to serve and how the client may cache it.
pub struct Serve<'a> {
    pub content_type: &'a str,
    pub cache_control: &'a str,
    /// Sent with 200 and 206 answers (Content-Disposition for attachments).
    pub extra: Vec<(String, String)>,
}

/// A file with validators, conditional requests and single byte ranges; `None` when it cannot
/// be opened as a regular file.
pub fn serve_file(req: &Req, path: &Path, how: Serve) -> Option<Reply> {
    let file = File::open(path).ok()?;
    let meta = file.metadata().ok().filter(|m| m.is_file())?;
    let size = meta.len();
    let v = Validators::of(&meta);
    let ranged = match req.header("range") {
        Some(h) if if_range_holds(req, &v) => range::decide(h, size),
        _ => Ranged::Whole,
    };
    let mut reply = if not_modified(req, &v) {
        // No body goes out with a 304; its Content-Length may only be the one a 200 would have.
        Reply {
            status: 304,
            headers: vec![],
            body: Body::File {
                file,
                offset: 0,
                len: size,
            },
        }
    } else {
        let (status, offset, len) = match ranged {
            Ranged::Whole => (200, 0, size),
            Ranged::Part { start, end } => (206, start, end - start + 1),
            Ranged::Unsatisfiable => {
                return Some(
                    Reply::error(416, "Range Not Satisfiable", "range_not_satisfiable")
                        .with_header("Content-Range", format!("bytes */{size}"))
                        .with_header("Accept-Ranges", "bytes"),
                )
            }
        };
        let mut r = Reply {
            status,
            headers: vec![("Content-Type".into(), how.content_type.into())],
            body: Body::File { file, offset, len },
        };
        if status == 206 {
            r = r.with_header(
                "Content-Range",
                format!("bytes {offset}-{}/{size}", offset + len - 1),
            );
        }
        r.headers.extend(how.extra);
        r
    };
    reply.headers.extend([
        ("Accept-Ranges".to_string(), "bytes".to_string()),
        ("ETag".to_string(), v.etag),
        ("Last-Modified".to_string(), v.last_modified),
        ("Cache-Control".to_string(), how.cache_control.to_string()),
    ]);
    Some(reply)
}

/// The first bytes of a file, for sniffing its type.
pub fn head_bytes(path: &Path) -> Vec<u8> {
    let mut head = Vec::with_capacity(16);
    if let Ok(f) = File::open(path) {
        let _ = f.take(16).read_to_end(&mut head);
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Req {
        Req {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: vec![],
        }
    }

    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn validators() -> Validators {
        Validators {
            etag: "\"1f-abc\"".into(),
            last_modified: DATE.into(),
            modified_secs: 784_111_777,
        }
    }

    #[test]
    fn conditional_requests() {
        let v = validators();
        assert!(not_modified(&req(&[("if-none-match", "\"1f-abc\"")]), &v));
        assert!(not_modified(
            &req(&[("if-none-match", "\"x\", W/\"1f-abc\"")]),
            &v
        ));
        assert!(!not_modified(&req(&[("if-none-match", "\"other\"")]), &v));
        assert!(not_modified(&req(&[("if-modified-since", DATE)]), &v));
        assert!(not_modified(
            &req(&[("if-modified-since", "Mon, 07 Nov 1994 08:49:37 GMT")]),
            &v
        ));
        assert!(!not_modified(
            &req(&[("if-modified-since", "Sat, 05 Nov 1994 08:49:37 GMT")]),
            &v
        ));
        assert!(!not_modified(
            &req(&[("if-modified-since", "yesterday")]),
            &v
        ));
        assert!(!not_modified(&req(&[]), &v));
        // If-None-Match takes precedence when both are sent.
        assert!(!not_modified(
            &req(&[("if-none-match", "\"other\""), ("if-modified-since", DATE)]),
            &v
        ));
    }

    #[test]
    fn if_range_needs_the_current_version() {
        let v = validators();
        assert!(if_range_holds(&req(&[]), &v));
        assert!(if_range_holds(&req(&[("if-range", "\"1f-abc\"")]), &v));
        assert!(!if_range_holds(&req(&[("if-range", "W/\"1f-abc\"")]), &v));
        assert!(!if_range_holds(&req(&[("if-range", "\"old\"")]), &v));
        assert!(if_range_holds(&req(&[("if-range", DATE)]), &v));
        assert!(!if_range_holds(
            &req(&[("if-range", "Mon, 07 Nov 1994 08:49:37 GMT")]),
            &v
        ));
    }

    #[test]
    fn mime_types() {
        for (name, mime) in [
            ("a.mp4", "video/mp4"),
            ("a.M4V", "video/mp4"),
            ("a.webm", "video/webm"),
            ("a.mkv", "video/x-matroska"),
            ("a.mov", "video/quicktime"),
            ("a.m4a", "audio/mp4"),
            ("a.mp3", "audio/mpeg"),
            ("a.opus", "audio/ogg"),
            ("a.ogg", "audio/ogg"),
            ("a.oga", "audio/ogg"),
            ("a.flac", "audio/flac"),
            ("a.wav", "audio/wav"),
            ("a.jpg", "image/jpeg"),
            ("a.webp", "image/webp"),
            ("a.png", "image/png"),
            ("a.html", "application/octet-stream"),
            ("noext", "application/octet-stream"),
        ] {
            assert_eq!(media_type(name, b""), mime, "{name}");
        }
        assert_eq!(
            media_type("x [video].unknown_video", b"\0\0\0\x20ftypisom"),
            "video/mp4"
        );
        assert_eq!(
            media_type("x.unknown_video", b"\x1a\x45\xdf\xa3"),
            "video/x-matroska"
        );
        assert_eq!(
            media_type("x.unknown_video", b"<html>"),
            "application/octet-stream"
        );
    }

    #[test]
    fn servable_names() {
        for ok in [
            "a.mp4",
            "Episode #15 100%25 done__x.mp4",
            "x ⧸ y？__id.mkv",
            "a..b.mp4",
        ] {
            assert!(is_servable_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden.mp4",
            "../etc/passwd",
            "a/b.mp4",
            "a\\b.mp4",
            "a\0.mp4",
            "a.mp4.part",
            "a.ytdl",
            "c.temp.mp4",
            "x.mp4.part-Frag3",
            "b.f0.mp4",
            "b.f137.mp4",
            "b.f1.m4a",
            "d.tmp",
        ] {
            assert!(!is_servable_name(bad), "{bad:?}");
        }
        assert!(!is_servable_name(&"a".repeat(256)));
        assert!(is_servable_name("Deep-Fragment.mp4"));
    }

    #[test]
    fn disposition_has_ascii_fallback_and_utf8_name() {
        assert_eq!(
            content_disposition("Café \"best\" 🎬.mp4"),
            "attachment; filename=\"Caf_ _best_ _.mp4\"; filename*=UTF-8''Caf%C3%A9%20%22best%22%20%F0%9F%8E%AC.mp4"
        );
        assert_eq!(
            content_disposition("a.mp4"),
            "attachment; filename=\"a.mp4\"; filename*=UTF-8''a.mp4"
        );
    }
}
