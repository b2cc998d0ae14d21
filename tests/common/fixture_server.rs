//! FX-HTTP (CASES.md §0): a loopback static file server, the "video site"
//! that real yt-dlp downloads from. Behaves like a plain web server
//! (Content-Type, Content-Length, single Range, HEAD, 404) and logs every
//! request line so tests can see what yt-dlp or the SUT fetched.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Request, Response, StatusCode};

use super::{fixtures, TempDir};

pub struct FixtureServer {
    server: Arc<tiny_http::Server>,
    base: String,
    dir: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _owned: Option<TempDir>, // dropped after the thread is joined
}

impl FixtureServer {
    /// Serves a private copy of the fixture folder (so pages written by one
    /// test never show up in another's, and the shared cache stays clean).
    pub fn with_fixtures() -> FixtureServer {
        let tmp = TempDir::new("offlinetube-fx");
        for entry in std::fs::read_dir(fixtures()).expect("read fixtures") {
            let entry = entry.expect("fixture entry");
            std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).expect("copy fixture");
        }
        let mut server = FixtureServer::start(tmp.path());
        server._owned = Some(tmp);
        server
    }

    /// Serves `dir` as is, on `127.0.0.1:<OS-chosen port>`.
    pub fn start(dir: &Path) -> FixtureServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind fixture server"));
        let port = server
            .server_addr()
            .to_ip()
            .expect("fixture server has an IP address")
            .port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = {
            let (server, requests, stopping) = (server.clone(), requests.clone(), stopping.clone());
            let dir = dir.to_path_buf();
            std::thread::spawn(move || accept_loop(&server, &dir, &requests, &stopping))
        };
        FixtureServer {
            server,
            base: format!("http://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
            requests,
            stopping,
            thread: Some(thread),
            _owned: None,
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    /// Absolute URL for a server path (`"clip.mp4"` or `"/clip.mp4"`);
    /// absolute URLs pass through unchanged.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every request so far as `"METHOD /path?query"` (raw, undecoded), in
    /// arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub fn clear_requests(&self) {
        self.requests.lock().unwrap().clear();
    }

    /// Writes `name` into the served folder; returns its URL.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.dir.join(name), bytes).expect("write fixture file");
        self.url(name)
    }

    /// FX-PAGE: an HTML page with og:title, optional og:image and og:video
    /// (no `<title>`, so og:title is the only title source). `image` and
    /// `video` are server paths (or absolute URLs). Returns the page URL.
    pub fn write_page(&self, name: &str, title: &str, image: Option<&str>, video: &str) -> String {
        let mut html = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n");
        let mut meta = |prop: &str, value: &str| {
            html.push_str(&format!(
                "<meta property=\"{prop}\" content=\"{}\">\n",
                html_escape(value)
            ));
        };
        meta("og:title", title);
        if let Some(image) = image {
            meta("og:image", &self.url(image));
        }
        meta("og:video", &self.url(video));
        meta("og:type", "video.other");
        html.push_str("</head><body><p>offlinetube fixture page</p></body></html>\n");
        self.write_file(name, html.as_bytes())
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Escapes text for a double-quoted HTML attribute.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn accept_loop(
    server: &tiny_http::Server,
    dir: &Path,
    log: &Mutex<Vec<String>>,
    stopping: &AtomicBool,
) {
    loop {
        match server.recv() {
            Ok(rq) => {
                log.lock()
                    .unwrap()
                    .push(format!("{} {}", rq.method(), rq.url()));
                let dir = dir.to_path_buf();
                // One thread per request: a slow reader must not stall others.
                std::thread::spawn(move || respond(rq, &dir));
            }
            // `unblock()` (or a failed accept); only the former ends the loop.
            Err(_) if stopping.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        }
    }
}

fn respond(rq: Request, dir: &Path) {
    if !matches!(rq.method(), Method::Get | Method::Head) {
        let _ = rq.respond(Response::empty(405).with_header(header("Allow", "GET, HEAD")));
        return;
    }
    let Some(path) = resolve(dir, rq.url()) else {
        let _ = rq.respond(Response::from_string("not found\n").with_status_code(404));
        return;
    };
    let Ok(mut file) = File::open(&path) else {
        let _ = rq.respond(Response::from_string("not found\n").with_status_code(404));
        return;
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let content_type = content_type(&path, &mut file);
    let range = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("Range"))
        .map(|h| parse_range(h.value.as_str(), size));

    let mut headers = vec![
        header("Content-Type", &content_type),
        header("Accept-Ranges", "bytes"),
    ];
    let (status, start, len) = match range {
        None | Some(RangeReq::Ignore) => (200, 0, size),
        Some(RangeReq::Unsatisfiable) => {
            headers.push(header("Content-Range", &format!("bytes */{size}")));
            (416, 0, 0)
        }
        Some(RangeReq::Bytes(a, b)) => {
            headers.push(header("Content-Range", &format!("bytes {a}-{b}/{size}")));
            (206, a, b - a + 1)
        }
    };
    file.seek(SeekFrom::Start(start)).expect("seek fixture");
    // Threshold first, so tiny_http sends Content-Length instead of chunking
    // bodies of 32 KiB and more.
    let response = Response::new(
        StatusCode(status),
        headers,
        file.take(len),
        Some(len as usize),
        None,
    )
    .with_chunked_threshold(usize::MAX);
    let _ = rq.respond(response);
}

/// Raw request URL → file inside `dir`; `None` for anything that is not a
/// plain relative path to a regular file.
fn resolve(dir: &Path, raw_url: &str) -> Option<PathBuf> {
    let path = raw_url.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path)?;
    let rel = decoded.trim_start_matches('/');
    if rel.is_empty()
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return None;
    }
    let full = dir.join(rel);
    full.is_file().then_some(full)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

enum RangeReq {
    /// Inclusive byte range, already clamped to the file.
    Bytes(u64, u64),
    Unsatisfiable,
    /// Malformed or multi-range: serve the whole file (allowed by RFC 9110).
    Ignore,
}

fn parse_range(value: &str, size: u64) -> RangeReq {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeReq::Ignore;
    };
    if spec.contains(',') {
        return RangeReq::Ignore;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeReq::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    let (start, end) = match (a.is_empty(), b.is_empty()) {
        // bytes=-n: the last n bytes
        (true, false) => match parse(b) {
            Some(0) => return RangeReq::Unsatisfiable,
            Some(n) => (size.saturating_sub(n), size.saturating_sub(1)),
            None => return RangeReq::Ignore,
        },
        (false, true) => match parse(a) {
            Some(start) => (start, size.saturating_sub(1)),
            None => return RangeReq::Ignore,
        },
        (false, false) => match (parse(a), parse(b)) {
            (Some(start), Some(end)) if start <= end => (start, end.min(size.saturating_sub(1))),
            _ => return RangeReq::Ignore,
        },
        (true, true) => return RangeReq::Ignore,
    };
    if start >= size {
        RangeReq::Unsatisfiable
    } else {
        RangeReq::Bytes(start, end)
    }
}

/// Content-Type by extension, as a web server would; unknown extensions
/// (e.g. `thumb.php`) are sniffed, like a script that emits an image.
fn content_type(path: &Path, file: &mut File) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let known = match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "m4a" => "audio/mp4",
        "m4s" => "video/iso.segment",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "mp3" => "audio/mpeg",
        "mpd" => "application/dash+xml",
        "m3u8" => "application/vnd.apple.mpegurl",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let mut magic = [0u8; 12];
    let n = file.read(&mut magic).unwrap_or(0);
    let magic = &magic[..n];
    if magic.starts_with(b"\x89PNG") {
        "image/png"
    } else if magic.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if magic.starts_with(b"RIFF") && magic.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else {
        "application/octet-stream"
    }
    .to_string()
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}
