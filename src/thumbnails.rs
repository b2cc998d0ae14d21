//! One thumbnail per task, in `<thumbnails>/<task id>.<jpg|webp|png>`: taken from what yt-dlp
//! wrote, normalised by the image's real bytes, or fetched by the server itself as a fallback.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The formats served, in lookup order, with their Content-Type.
pub const KINDS: [(&str, &str); 3] = [
    ("jpg", "image/jpeg"),
    ("webp", "image/webp"),
    ("png", "image/png"),
];

/// Largest thumbnail the server fetches itself.
const FETCH_LIMIT: u64 = 10 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// The extension an image's first bytes call for, whatever its name says.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("webp")
    } else {
        None
    }
}

/// The task's thumbnail file, looked up as jpg, then webp, then png.
pub fn find(dir: &Path, task_id: &str) -> Option<(PathBuf, &'static str)> {
    KINDS.iter().find_map(|(ext, mime)| {
        let p = dir.join(format!("{task_id}.{ext}"));
        p.is_file().then_some((p, *mime))
    })
}

pub fn remove(dir: &Path, task_id: &str) {
    for (ext, _) in KINDS {
        let _ = fs::remove_file(dir.join(format!("{task_id}.{ext}")));
    }
}

/// A YouTube video id (11 characters of the URL-safe alphabet) for which the stable
/// `hqdefault.jpg` exists: the extractor says so, or the id has that exact shape.
pub fn youtube_id<'a>(extractor: Option<&str>, id: Option<&'a str>) -> Option<&'a str> {
    let id = id?;
    let shaped = id.len() == 11
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let youtube = extractor.is_some_and(|e| e.to_ascii_lowercase().starts_with("youtube"));
    (shaped || (youtube && !id.is_empty() && !id.contains('/'))).then_some(id)
}

/// Remote URLs to try, best first: yt-dlp's own, then YouTube's stable one.
pub fn remote_candidates(
    reported: Option<&str>,
    youtube_id: Option<&str>,
    fallback_base: &str,
) -> Vec<String> {
    let mut urls: Vec<String> = reported
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(String::from)
        .into_iter()
        .collect();
    if let Some(id) = youtube_id {
        urls.push(format!("{fallback_base}/{id}/hqdefault.jpg"));
    }
    urls.dedup();
    urls
}

pub struct Capture<'a> {
    pub thumbnails_dir: &'a Path,
    pub task_id: &'a str,
    pub ffmpeg: Option<&'a Path>,
}

impl Capture<'_> {
    /// Makes `<task id>.<ext>` from the first usable of `written` (files yt-dlp wrote, best
    /// first), else from the first of `remote` that answers with an image. Every written
    /// candidate is consumed. Returns whether a thumbnail now exists.
    pub fn run(&self, written: &[PathBuf], remote: &[String]) -> bool {
        let mut done = false;
        for file in written {
            if !done {
                done = self.adopt(file);
            }
            let _ = fs::remove_file(file);
        }
        for url in remote {
            if done {
                break;
            }
            done = self.fetch(url);
        }
        done
    }

    fn target(&self, ext: &str) -> PathBuf {
        self.thumbnails_dir.join(format!("{}.{ext}", self.task_id))
    }

    fn adopt(&self, file: &Path) -> bool {
        let mut head = [0u8; 16];
        let n = fs::File::open(file)
            .and_then(|mut f| f.read(&mut head))
            .unwrap_or(0);
        match sniff(&head[..n]) {
            Some(ext) => self.install(ext, |dest| move_file(file, dest)),
            None => self.convert(file),
        }
    }

    /// Not jpg/webp/png (gif, avif, …): becomes a jpg through ffmpeg when there is one.
    fn convert(&self, file: &Path) -> bool {
        let Some(ffmpeg) = self.ffmpeg else {
            log::warn!(
                "thumbnail {} dropped: not jpg/webp/png and no ffmpeg",
                file.display()
            );
            return false;
        };
        self.install("jpg", |dest| {
            let status = Command::new(ffmpeg)
                .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
                .arg(file)
                .args(["-frames:v", "1", "-f", "image2", "-c:v", "mjpeg"])
                .arg(dest)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if status.success() {
                Ok(())
            } else {
                Err(std::io::Error::other(format!(
                    "ffmpeg exited with {status}"
                )))
            }
        })
    }

    fn fetch(&self, url: &str) -> bool {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(FETCH_TIMEOUT))
            .build()
            .into();
        let bytes = agent
            .get(url)
            .call()
            .and_then(|mut r| r.body_mut().with_config().limit(FETCH_LIMIT).read_to_vec());
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                log::warn!("thumbnail fetch {url} failed: {e}");
                return false;
            }
        };
        match sniff(&bytes) {
            Some(ext) => self.install(ext, |dest| fs::write(dest, &bytes)),
            None => {
                log::warn!("thumbnail fetch {url}: not a JPEG, PNG or WebP image");
                false
            }
        }
    }

    /// Writes through a temporary name and renames, so a reader never sees half an image and
    /// exactly one format is left for the task.
    fn install(&self, ext: &str, write: impl FnOnce(&Path) -> std::io::Result<()>) -> bool {
        let tmp = self
            .thumbnails_dir
            .join(format!(".{}.{ext}.tmp", self.task_id));
        let result = write(&tmp).and_then(|()| {
            remove(self.thumbnails_dir, self.task_id);
            fs::rename(&tmp, self.target(ext))
        });
        if let Err(e) = result {
            log::warn!("cannot store thumbnail of {}: {e}", self.task_id);
            let _ = fs::remove_file(&tmp);
            return false;
        }
        true
    }
}

/// Rename, or copy and delete when the folders are on different filesystems.
fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::rename(from, to).or_else(|_| fs::copy(from, to).and_then(|_| fs::remove_file(from)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_bytes_not_name() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("jpg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("png"));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some("webp"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn lookup_order_is_jpg_webp_png() {
        let dir = std::env::temp_dir().join(format!("ot-thumb-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let id = "6f1c1a52-9a7e-4d8b-8f0e-2f2b3f0d1e11";
        assert_eq!(find(&dir, id), None);
        fs::write(dir.join(format!("{id}.png")), b"p").unwrap();
        fs::write(dir.join(format!("{id}.webp")), b"w").unwrap();
        assert_eq!(find(&dir, id).unwrap().1, "image/webp");
        fs::write(dir.join(format!("{id}.jpg")), b"j").unwrap();
        assert_eq!(find(&dir, id).unwrap().1, "image/jpeg");
        remove(&dir, id);
        assert_eq!(find(&dir, id), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn youtube_ids_and_fallback_urls() {
        assert_eq!(
            youtube_id(Some("generic"), Some("dQw4w9WgXcQ")),
            Some("dQw4w9WgXcQ")
        );
        assert_eq!(youtube_id(Some("generic"), Some("clip")), None);
        assert_eq!(youtube_id(Some("youtube"), Some("abc")), Some("abc"));
        assert_eq!(youtube_id(None, None), None);
        assert_eq!(
            remote_candidates(
                Some("https://h/t.jpg"),
                Some("dQw4w9WgXcQ"),
                "http://127.0.0.1:9/vi"
            ),
            vec![
                "https://h/t.jpg",
                "http://127.0.0.1:9/vi/dQw4w9WgXcQ/hqdefault.jpg"
            ]
        );
        assert_eq!(
            remote_candidates(Some("file:///etc/passwd"), None, "x"),
            Vec::<String>::new()
        );
    }
}
