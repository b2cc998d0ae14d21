//! FX-HTTP (CASES.md §0): a loopback static file server, the "video site"
//! that real yt-dlp downloads from. Behaves like a plain web server
//! (Content-Type, Content-Length, single Range, HEAD, 404) and logs every
//! request line so tests can see what yt-dlp or the SUT fetched.
//!
//! FX-SLOW lives on the same port, as path prefixes in front of any served
//! file (a real file at the full path always wins over a prefix):
//!
//! - `/slow/<name>`: the file in pieces of `chunk` bytes, one piece every
//!   `interval` (see [`FixtureServer::set_slow`]), with Content-Length and
//!   single-Range support (206), so a `.part` can be resumed.
//! - `/chunked/<name>`: `Transfer-Encoding: chunked`, no Content-Length, in
//!   4 KiB chunks at full speed. `/slow/chunked/<name>` (either order) paces
//!   the chunks like `/slow/`.
//! - `/stall/<anything>`: accepts the request and sends nothing at all for
//!   20 s (see [`FixtureServer::set_stall`]) or until the server is dropped,
//!   then closes the connection.
//! - `/slow.mp4`, `/chunked.mp4`, `/stall.mp4`: the CASES.md names, aliases
//!   for `clip.mp4` in each mode.
//!
//! Prefixes apply to the whole relative path, so `/slow/dash/manifest.mpd`
//! makes every DASH segment slow too. Each request runs on its own thread;
//! paced and stalled responses stop (and close their connection) when the
//! server is dropped.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response, StatusCode};

use super::{fixtures, TempDir};

/// FX-SLOW default pacing (CASES.md §0): 1 KiB every 0.5 s.
pub const DEFAULT_SLOW_CHUNK: usize = 1024;
pub const DEFAULT_SLOW_INTERVAL: Duration = Duration::from_millis(500);
/// How long `/stall/` keeps a connection silent by default.
pub const DEFAULT_STALL: Duration = Duration::from_secs(20);
/// Chunk size of `/chunked/` when it is not also `/slow/`.
const FAST_CHUNK: usize = 4096;

pub struct FixtureServer {
    server: Arc<tiny_http::Server>,
    base: String,
    dir: PathBuf,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    _owned: Option<TempDir>, // dropped after the thread is joined
}

/// State shared by the accept loop and the per-request threads.
struct Shared {
    dir: PathBuf,
    port: u16,
    stopping: AtomicBool,
    requests: Mutex<Vec<String>>,
    ranges: Mutex<Vec<(String, String)>>,
    slow: Mutex<(usize, Duration)>,
    stall: Mutex<Duration>,
    in_flight: AtomicUsize,
}

impl FixtureServer {
    /// Serves a private copy of the fixture folder (so pages written by one
    /// test never show up in another's, and the shared cache stays clean).
    pub fn with_fixtures() -> FixtureServer {
        let tmp = TempDir::new("offlinetube-fx");
        copy_tree(fixtures(), tmp.path());
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
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            port,
            stopping: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            ranges: Mutex::new(Vec::new()),
            slow: Mutex::new((DEFAULT_SLOW_CHUNK, DEFAULT_SLOW_INTERVAL)),
            stall: Mutex::new(DEFAULT_STALL),
            in_flight: AtomicUsize::new(0),
        });
        let thread = {
            let (server, shared) = (server.clone(), shared.clone());
            std::thread::spawn(move || accept_loop(&server, &shared))
        };
        FixtureServer {
            server,
            base: format!("http://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
            shared,
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
    /// Slow, chunked and stalled requests are logged on arrival, like any
    /// other.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Clears both `requests()` and `ranges()`.
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
        self.shared.ranges.lock().unwrap().clear();
    }

    /// Every request that carried a `Range` header, as
    /// `("METHOD /path?query", "bytes=N-")`, in arrival order. A yt-dlp
    /// resume shows up here as `bytes=<size of the .part>-`.
    pub fn ranges(&self) -> Vec<(String, String)> {
        self.shared.ranges.lock().unwrap().clone()
    }

    /// Requests accepted whose response has not finished yet (a slow body
    /// still being sent, a stall still silent). A slow response notices a
    /// client that went away at its next write or the one after (so within
    /// about two slow intervals); a stall only when it ends.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// FX-SLOW pacing for `/slow/` responses that start from now on:
    /// `chunk_bytes` per piece, one piece every `interval` (the first piece
    /// goes out with the headers). Default 1 KiB every 0.5 s; self-tests
    /// use e.g. 64 KiB every 50 ms.
    pub fn set_slow(&self, chunk_bytes: usize, interval: Duration) {
        assert!(chunk_bytes > 0, "slow chunk must be at least one byte");
        *self.shared.slow.lock().unwrap() = (chunk_bytes, interval);
    }

    /// Current `(chunk_bytes, interval)` of `/slow/`.
    pub fn slow(&self) -> (usize, Duration) {
        *self.shared.slow.lock().unwrap()
    }

    /// How long `/stall/` requests that arrive from now on stay silent
    /// before the connection is closed (default 20 s).
    pub fn set_stall(&self, silence: Duration) {
        *self.shared.stall.lock().unwrap() = silence;
    }

    /// `url("slow/<name>")`: `name` sent slowly, with Content-Length.
    pub fn slow_url(&self, name: &str) -> String {
        self.url(&format!("slow/{}", name.trim_start_matches('/')))
    }

    /// `url("chunked/<name>")`: `name` with chunked transfer encoding.
    pub fn chunked_url(&self, name: &str) -> String {
        self.url(&format!("chunked/{}", name.trim_start_matches('/')))
    }

    /// `url("stall/<name>")`: a request that never gets an answer.
    pub fn stall_url(&self, name: &str) -> String {
        self.url(&format!("stall/{}", name.trim_start_matches('/')))
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

    /// FX-MULTI: an HTML page with og:title and one `<video src=...>` per
    /// entry of `videos` (server paths, query strings allowed, e.g.
    /// `"clip.mp4?i=1"` or `"/slow/clip.mp4?n=2"`, or absolute URLs). yt-dlp's
    /// generic extractor turns it into a playlist of `videos.len()` items
    /// with ids `<page basename>-1`, `-2`, ... and titles `<title> (1)`, ...,
    /// so the default template saves `multi (1) [multi-1].mp4` for a page
    /// `multi.html` titled "multi". Returns the page URL.
    pub fn write_multi_page(&self, name: &str, title: &str, videos: &[&str]) -> String {
        let mut html = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n");
        html.push_str(&format!(
            "<meta property=\"og:title\" content=\"{}\">\n",
            html_escape(title)
        ));
        html.push_str("</head><body>\n");
        for video in videos {
            html.push_str(&format!(
                "<video controls src=\"{}\"></video>\n",
                html_escape(&self.url(video))
            ));
        }
        html.push_str("</body></html>\n");
        self.write_file(name, html.as_bytes())
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
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

/// Copies `from` into the existing folder `to`, subfolders included.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("fixture file type").is_dir() {
            std::fs::create_dir(&target).expect("create fixture subfolder");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture");
        }
    }
}

fn accept_loop(server: &tiny_http::Server, shared: &Arc<Shared>) {
    loop {
        match server.recv() {
            Ok(rq) => {
                let line = format!("{} {}", rq.method(), rq.url());
                if let Some(range) = rq.headers().iter().find(|h| h.field.equiv("Range")) {
                    let range = range.value.as_str().to_string();
                    shared.ranges.lock().unwrap().push((line.clone(), range));
                }
                shared.requests.lock().unwrap().push(line);
                shared.in_flight.fetch_add(1, Ordering::SeqCst);
                let shared = shared.clone();
                // One thread per request: a slow reader must not stall others.
                std::thread::spawn(move || {
                    respond(rq, &shared);
                    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
            // `unblock()` (or a failed accept); only the former ends the loop.
            Err(_) if shared.stopping.load(Ordering::SeqCst) => return,
            Err(_) => continue,
        }
    }
}

/// How a request is answered, from its path prefixes.
#[derive(Debug, Default, Clone, Copy)]
struct Mode {
    slow: bool,
    chunked: bool,
    stall: bool,
}

/// Splits the FX-SLOW prefixes off a raw request URL. A real file at the
/// full path is served plainly, whatever its name.
fn route(dir: &Path, raw_url: &str) -> (Mode, Option<PathBuf>) {
    let mut mode = Mode::default();
    if let Some(path) = resolve(dir, raw_url) {
        return (mode, Some(path));
    }
    let path = raw_url.split(['?', '#']).next().unwrap_or("");
    let Some(decoded) = percent_decode(path) else {
        return (mode, None);
    };
    let mut rel = decoded.trim_start_matches('/');
    loop {
        if let Some(rest) = rel.strip_prefix("slow/") {
            mode.slow = true;
            rel = rest;
        } else if let Some(rest) = rel.strip_prefix("chunked/") {
            mode.chunked = true;
            rel = rest;
        } else if let Some(rest) = rel.strip_prefix("stall/") {
            mode.stall = true;
            rel = rest;
        } else {
            break;
        }
    }
    match rel {
        "slow.mp4" if !(mode.slow || mode.chunked || mode.stall) => {
            mode.slow = true;
            rel = "clip.mp4";
        }
        "chunked.mp4" if !(mode.slow || mode.chunked || mode.stall) => {
            mode.chunked = true;
            rel = "clip.mp4";
        }
        "stall.mp4" if !(mode.slow || mode.chunked || mode.stall) => {
            mode.stall = true;
        }
        _ => {}
    }
    (mode, resolve_rel(dir, rel))
}

fn respond(rq: Request, shared: &Shared) {
    let (mode, path) = route(&shared.dir, rq.url());
    if mode.stall {
        stall(rq, shared);
        return;
    }
    if !matches!(rq.method(), Method::Get | Method::Head) {
        let _ = rq.respond(Response::empty(405).with_header(header("Allow", "GET, HEAD")));
        return;
    }
    let Some(path) = path else {
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
    if mode.slow || mode.chunked {
        paced(rq, shared, mode, status, headers, file.take(len), len);
        return;
    }
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

/// `/slow/` and `/chunked/`: the response is written by hand on the raw
/// connection, so every piece is flushed on its own (tiny_http would
/// buffer it) and the pacing is exact.
fn paced(
    rq: Request,
    shared: &Shared,
    mode: Mode,
    status: u16,
    headers: Vec<Header>,
    mut body: impl Read,
    len: u64,
) {
    let peer = rq.remote_addr().copied();
    let head_only = *rq.method() == Method::Head || status == 416;
    let client_closes = *rq.http_version() == (1, 0)
        || rq.headers().iter().any(|h| {
            h.field.equiv("Connection") && h.value.as_str().to_ascii_lowercase().contains("close")
        });
    let chunked = mode.chunked && status != 416;
    let (chunk, interval) = if mode.slow {
        *shared.slow.lock().unwrap()
    } else {
        (FAST_CHUNK, Duration::ZERO)
    };

    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        _ => "Range Not Satisfiable",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for h in &headers {
        head.push_str(&format!("{}: {}\r\n", h.field, h.value));
    }
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n");
    } else {
        let n = if status == 416 { 0 } else { len };
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    if client_closes {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");

    let mut out = rq.into_writer();
    if out
        .write_all(head.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
        || head_only
    {
        return;
    }
    let mut buf = vec![0u8; chunk];
    let mut first = true;
    loop {
        let n = match read_full(&mut body, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => return close_connection(shared.port, peer),
        };
        if !first && !pause(interval, &shared.stopping) {
            // The server is going away: cut the body short and hang up, so a
            // keep-alive client is not left waiting for the rest.
            return close_connection(shared.port, peer);
        }
        first = false;
        let sent = if chunked {
            write!(out, "{n:x}\r\n")
                .and_then(|()| out.write_all(&buf[..n]))
                .and_then(|()| out.write_all(b"\r\n"))
        } else {
            out.write_all(&buf[..n])
        };
        if sent.and_then(|()| out.flush()).is_err() {
            return; // the client went away
        }
    }
    if chunked {
        let _ = out.write_all(b"0\r\n\r\n").and_then(|()| out.flush());
    }
}

/// Reads until `buf` is full or the reader ends.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Sleeps for `d` unless the server stops first; returns false if it did.
fn pause(d: Duration, stopping: &AtomicBool) -> bool {
    let deadline = Instant::now() + d;
    loop {
        if stopping.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
    }
}

/// `/stall/`: no status line, no headers, nothing, then a plain close.
fn stall(rq: Request, shared: &Shared) {
    let peer = rq.remote_addr().copied();
    let silence = *shared.stall.lock().unwrap();
    // Taking the writer means tiny_http will not send its 500 on drop.
    let out = rq.into_writer();
    pause(silence, &shared.stopping);
    close_connection(shared.port, peer);
    drop(out);
}

/// Shuts down the server side of the connection from `peer` to our `port`.
/// tiny_http keeps the socket to itself, so it is found among this
/// process's fds by its addresses. Without this a keep-alive client would
/// wait for the next response until its own timeout.
fn close_connection(port: u16, peer: Option<SocketAddr>) {
    let Some(peer) = peer else { return };
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for fd in fds.flatten() {
        let Some(fd) = fd.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let local = sock_addr(fd, false);
        if local.map(|a| a.port()) == Some(port) && sock_addr(fd, true) == Some(peer) {
            // SAFETY: shutdown(2) on an fd number; it changes no memory, and
            // this socket is alive while its request's writer is held.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    }
}

/// getpeername/getsockname for an IPv4 socket fd; `None` for anything else.
fn sock_addr(fd: i32, peer: bool) -> Option<SocketAddr> {
    // SAFETY: a zeroed sockaddr_in is valid; the kernel writes at most `len`
    // bytes into it, and we read it only when it says AF_INET.
    unsafe {
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let ptr = &mut addr as *mut libc::sockaddr_in as *mut libc::sockaddr;
        let rc = if peer {
            libc::getpeername(fd, ptr, &mut len)
        } else {
            libc::getsockname(fd, ptr, &mut len)
        };
        if rc != 0 || i32::from(addr.sin_family) != libc::AF_INET {
            return None;
        }
        let ip = std::net::Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
        Some(SocketAddr::from((ip, u16::from_be(addr.sin_port))))
    }
}

/// Raw request URL → file inside `dir`; `None` for anything that is not a
/// plain relative path to a regular file.
fn resolve(dir: &Path, raw_url: &str) -> Option<PathBuf> {
    let path = raw_url.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path)?;
    resolve_rel(dir, decoded.trim_start_matches('/'))
}

/// Decoded relative path → file inside `dir`, as `resolve`.
fn resolve_rel(dir: &Path, rel: &str) -> Option<PathBuf> {
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
