//! Hostile and broken clients against the real server (CASES.md BR-48, BR-49, BR-51 and the
//! tiny_http faults in DESIGN.md "Known traps"). Each test covers changes listed (and
//! numbered) in vendor/tiny_http/PATCHES.md, and each ends by checking that the process is
//! alive, still answers `GET /api/health` at once, and grew its memory (VmRSS) by a few MB at
//! most.
//!
//! Clients are raw `TcpStream`s so the tests see exactly what went over the wire. Lines
//! starting `HARDENING|` record each attack with the measured answer, time and RSS delta; run
//! with `--nocapture` to see them.

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const KB: usize = 1024;
const MB: usize = 1024 * 1024;
/// RSS the server may gain over one test's attacks.
const RSS_SLACK_KB: i64 = 8 * 1024;
/// Idle threads tiny_http's pool keeps for new connections (its `MIN_THREADS`): the first
/// connections after start-up reuse them, later ones each start a thread.
const POOL_IDLE: usize = 4;

// ---------------------------------------------------------------------------------------------
// Helpers

/// The server with no free-space floor, so nothing depends on the host's disk.
fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--min-free-mb", "0"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    // Warm-up: the first request starts lazily made threads and buffers.
    assert_eq!(get(&server.url("/api/health")).status, 200);
    server
}

fn addr(server: &Server) -> SocketAddr {
    let base = server.base_url();
    base.strip_prefix("http://").unwrap().parse().unwrap()
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr(server), Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
}

fn proc_path(server: &Server, leaf: &str) -> String {
    format!("/proc/{}/{leaf}", server.pid())
}

fn rss_kb(server: &Server) -> i64 {
    let status = std::fs::read_to_string(proc_path(server, "status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

fn threads(server: &Server) -> usize {
    std::fs::read_dir(proc_path(server, "task"))
        .unwrap()
        .count()
}

fn fds(server: &Server) -> usize {
    std::fs::read_dir(proc_path(server, "fd")).unwrap().count()
}

/// `count()` once it has stopped changing for 300 ms (threads and descriptors of connections
/// being set up or torn down come and go for a moment).
fn settled(count: impl Fn() -> usize) -> usize {
    let mut last = count();
    loop {
        thread::sleep(Duration::from_millis(300));
        let now = count();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Still running (not a zombie), answering health at once, and within its memory budget.
fn assert_healthy(server: &Server, rss_before: i64, what: &str) {
    let stat = std::fs::read_to_string(proc_path(server, "stat")).unwrap();
    let state = stat.rsplit(')').next().unwrap().trim_start().chars().next();
    assert!(
        !matches!(state, Some('Z' | 'X')),
        "{what}: the server process died:\n{}",
        server.stderr()
    );
    let t = Instant::now();
    let resp = http("GET", &server.url("/api/health"), &[], None);
    assert_eq!(resp.status, 200, "{what}: health after the attack");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "{what}: health took {:?}",
        t.elapsed()
    );
    let grown = rss_kb(server) - rss_before;
    assert!(
        grown < RSS_SLACK_KB,
        "{what}: RSS grew by {grown} kB (limit {RSS_SLACK_KB} kB)"
    );
    assert!(
        !server.stderr().contains("panicked"),
        "{what}: a thread panicked:\n{}",
        server.stderr()
    );
}

fn report(attack: &str, answer: &str, took: Duration, rss_delta_kb: i64) {
    eprintln!(
        "HARDENING| {attack} | {answer} | {} ms | RSS {rss_delta_kb:+} kB",
        took.as_millis()
    );
}

/// How a connection ended, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    /// The server closed it (EOF, or a reset after its answer).
    Closed,
    /// Still open when the client stopped waiting.
    Open,
}

/// Reads until the server closes the connection, or `wait` passes. A reset counts as closed.
fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> (Vec<u8>, End) {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * KB];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, End::Open);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (out, End::Closed),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (out, End::Open)
            }
            Err(_) => return (out, End::Closed),
        }
    }
}

/// One parsed response: status, lowercased headers, body (by Content-Length).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Splits a byte stream into the complete responses it holds (bodies by Content-Length).
fn replies(mut bytes: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let Some(status) = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
        else {
            break;
        };
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let rest = &bytes[end + 4..];
        let body = rest[..len.min(rest.len())].to_vec();
        bytes = &rest[len.min(rest.len())..];
        out.push(Reply {
            status,
            headers,
            body,
        });
    }
    out
}

fn statuses(rs: &[Reply]) -> Vec<u16> {
    rs.iter().map(|r| r.status).collect()
}

/// Sends `head`, then `body_chunk` over and over on another thread until `total` bytes or an
/// error (or `stop`); returns the bytes of body written. Pauses `every` between chunks.
fn feed(
    stream: &TcpStream,
    head: Vec<u8>,
    body_chunk: Vec<u8>,
    total: usize,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<usize> {
    let mut w = stream.try_clone().unwrap();
    thread::spawn(move || {
        if w.write_all(&head).is_err() {
            return 0;
        }
        let mut sent = 0;
        while sent < total && !stop.load(Ordering::Relaxed) {
            let n = body_chunk.len().min(total - sent);
            if w.write_all(&body_chunk[..n]).is_err() {
                break;
            }
            sent += n;
            if !every.is_zero() {
                thread::sleep(every);
            }
        }
        sent
    })
}

/// A `<uuid>.png` of `len` bytes in the server's thumbnails dir; returns its URL path.
fn big_thumbnail(server: &Server, len: usize) -> String {
    let id = "3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b";
    let dir = server.thumbnails_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join(format!("{id}.png")), data).unwrap();
    format!("/api/thumbnails/{id}")
}

fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a correctly sized linger struct.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
}

/// A client socket with a small receive buffer set before connecting, so that a server
/// writing to a client that does not read blocks soon.
fn connect_small_rcvbuf(server: &Server) -> TcpStream {
    let SocketAddr::V4(v4) = addr(server) else {
        panic!("IPv4 loopback expected")
    };
    // SAFETY: plain socket/setsockopt/connect on a fresh fd that we then own via TcpStream.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket()");
        let size: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            &sa as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect()");
        TcpStream::from_raw_fd(fd)
    }
}

// ---------------------------------------------------------------------------------------------
// Change 1: an unread body is neither allocated at its declared length nor read.

/// `Content-Length: 99999999999999` aborted the process ("memory allocation of 99999999999999
/// bytes failed" in tiny_http's `EqualReader::drop`), on any route that does not read the body.
#[test]
fn huge_declared_content_length_is_answered_and_the_connection_closed() {
    let server = start(&[]);
    let rss0 = rss_kb(&server);
    for (method, path, want) in [
        ("POST", "/api/download", 413),
        ("GET", "/api/downloads", 200),
        ("GET", "/api/health", 200),
        (
            "DELETE",
            "/api/downloads/3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b",
            404,
        ),
    ] {
        let t = Instant::now();
        let mut s = connect(&server);
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: 99999999999999\r\n\r\n{{\"url\":\"https://example.com/v\""
        );
        s.write_all(req.as_bytes()).unwrap();
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
        let took = t.elapsed();
        let rs = replies(&bytes);
        assert_eq!(statuses(&rs), [want], "{method} {path}");
        assert!(rs[0].closes(), "{method} {path}: no Connection: close");
        assert_eq!(end, End::Closed, "{method} {path}: connection left open");
        report(
            &format!("{method} {path} Content-Length: 99999999999999"),
            &format!("{want} + Connection: close, closed"),
            took,
            rss_kb(&server) - rss0,
        );
    }
    // A declared length one past usize, and two that disagree, are 400s (they were "no body").
    for (name, headers) in [
        ("overflowing", "Content-Length: 99999999999999999999999\r\n"),
        ("negative", "Content-Length: -1\r\n"),
        (
            "two different",
            "Content-Length: 5\r\nContent-Length: 6\r\n",
        ),
    ] {
        let t = Instant::now();
        let raw = format!("POST /api/download HTTP/1.1\r\nHost: x\r\n{headers}\r\nhello");
        let bytes = raw_request(&server.base_url(), raw.as_bytes()).unwrap();
        assert_eq!(statuses(&replies(&bytes)), [400], "{name} Content-Length");
        report(
            &format!("POST with a {name} Content-Length"),
            "400, closed",
            t.elapsed(),
            rss_kb(&server) - rss0,
        );
    }
    assert_healthy(&server, rss0, "huge Content-Length");
}

/// BR-48 (a) and (b): a 10 GB declared body trickled at 1 KB/s, and a 50 MB JSON body sent as
/// fast as possible, are refused at once, with `Connection: close`, without being read.
#[test]
fn br48_huge_bodies_are_refused_without_being_read() {
    let server = start(&[]);
    let rss0 = rss_kb(&server);

    // (a) 10 GB declared, trickled at 1 KB/s.
    let t = Instant::now();
    let mut s = connect(&server);
    let stop = Arc::new(AtomicBool::new(false));
    let head = b"POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: 10000000000\r\n\r\n{\"url\":\"https://example.com/"
        .to_vec();
    let writer = feed(
        &s,
        head,
        vec![b'a'; KB],
        usize::MAX,
        Duration::from_secs(1),
        stop.clone(),
    );
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let rs = replies(&bytes);
    assert_eq!(statuses(&rs), [413], "trickled 10 GB body");
    assert!(rs[0].closes(), "the 413 must say Connection: close");
    assert_eq!(end, End::Closed);
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    writer.join().unwrap();
    report(
        "(a) POST Content-Length: 10000000000 trickled at 1 KB/s",
        "413 + Connection: close, closed",
        took,
        rss_kb(&server) - rss0,
    );

    // (b) 50 MB of JSON (one long url string) as fast as the socket takes it.
    let t = Instant::now();
    let mut s = connect(&server);
    let total = 50 * MB;
    let head = format!(
        "POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {total}\r\n\r\n{{\"url\":\"https://example.com/"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writer = feed(
        &s,
        head.into_bytes(),
        vec![b'a'; 64 * KB],
        total,
        Duration::ZERO,
        stop.clone(),
    );
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(10));
    let took = t.elapsed();
    let rs = replies(&bytes);
    assert_eq!(statuses(&rs), [413], "50 MB JSON body");
    assert!(rs[0].closes(), "the 413 must say Connection: close");
    assert_eq!(end, End::Closed);
    drop(s);
    let sent = writer.join().unwrap();
    assert!(
        sent < total,
        "the server read all {sent} bytes of the 50 MB body"
    );
    report(
        "(b) POST 50 MB JSON body at full speed",
        &format!(
            "413 + Connection: close, closed after {} kB taken",
            sent / KB
        ),
        took,
        rss_kb(&server) - rss0,
    );
    assert_healthy(&server, rss0, "BR-48 (a)(b)");
}

// ---------------------------------------------------------------------------------------------
// Change 1: a response to a request whose body was left unread says `Connection: close`, and
// the connection is closed after it: leftover body bytes are never parsed as a request.

/// BR-49: a request whose body is rejected, then a pipelined `GET /api/downloads` on the same
/// connection. The second reply is the 200 list, or the connection closes after the first
/// (and a fresh one works); never a 400 made from leftover body bytes.
#[test]
fn br49_an_unread_body_never_becomes_the_next_request() {
    let server = start(&[]);
    let rss0 = rss_kb(&server);
    let body20k = format!(
        "{{\"url\":\"https://example.com/{}\"}}",
        "a".repeat(20 * KB)
    );
    let chunked20k = format!("{:x}\r\n{body20k}\r\n0\r\n\r\n", body20k.len());
    let over_limit = "a".repeat(100 * KB);
    // Connection: close, so that a connection kept alive ends right after the second reply.
    let next = "GET /api/downloads HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let cases = [
        // The server reads the whole (small) body, then refuses the content type: keep-alive.
        (
            "POST 20 KB text/plain",
            format!(
                "POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
                 Content-Length: {}\r\n\r\n{body20k}",
                body20k.len()
            ),
            415,
        ),
        // A body on a route that never reads one.
        (
            "GET with a 20 KB body",
            format!(
                "GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body20k}",
                body20k.len()
            ),
            200,
        ),
        // Declared over the 64 KiB limit: refused from the header alone.
        (
            "POST 100 KB JSON",
            format!(
                "POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{over_limit}",
                over_limit.len()
            ),
            413,
        ),
        // Chunked and read to its end by the server.
        (
            "POST 20 KB chunked text/plain",
            format!(
                "POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
                 Transfer-Encoding: chunked\r\n\r\n{chunked20k}"
            ),
            415,
        ),
        // Chunked on a route that never reads it.
        (
            "GET with a 20 KB chunked body",
            format!(
                "GET /api/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                 {chunked20k}"
            ),
            200,
        ),
    ];
    for (name, first, want) in cases {
        let t = Instant::now();
        let mut s = connect(&server);
        s.write_all(format!("{first}{next}").as_bytes()).unwrap();
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
        let rs = replies(&bytes);
        assert!(!rs.is_empty(), "{name}: no reply at all");
        assert_eq!(rs[0].status, want, "{name}: first reply");
        let outcome = match rs.get(1) {
            Some(second) => {
                assert_eq!(second.status, 200, "{name}: second reply {second:?}");
                let list: serde_json::Value = serde_json::from_slice(&second.body).unwrap();
                assert!(list.is_array(), "{name}: {list}");
                assert!(!rs[0].closes(), "{name}: said close, then answered more");
                assert_eq!(end, End::Closed, "{name}: open after Connection: close");
                "second reply 200 [list] (keep-alive)".to_string()
            }
            None => {
                assert!(rs[0].closes(), "{name}: closed without Connection: close");
                assert_eq!(end, End::Closed, "{name}: neither answered nor closed");
                let fresh = get(&server.url("/api/downloads"));
                assert_eq!(fresh.status, 200);
                assert!(fresh.json().is_array());
                "Connection: close, closed; a fresh connection gets 200 [list]".to_string()
            }
        };
        assert_eq!(rs.len().min(2), rs.len(), "{name}: {:?}", statuses(&rs));
        report(
            &format!("BR-49 {name} + pipelined GET /api/downloads"),
            &format!("{want}, then {outcome}"),
            t.elapsed(),
            rss_kb(&server) - rss0,
        );
    }
    assert_healthy(&server, rss0, "BR-49");
}

// ---------------------------------------------------------------------------------------------
// Change 7: bodies up to 64 KiB are read before a worker sees the request.

/// Bodies up to 64 KiB are read by the connection's own thread before a worker sees the
/// request, `Expect: 100-continue` included (the `100 Continue` is sent first): a client that
/// waits for it gets it, then its answer; one that declares 10 GB gets 413 and no `100`.
#[test]
fn expect_100_continue_is_honoured_for_bodies_read_up_front() {
    let server = start(&[]);
    let rss0 = rss_kb(&server);
    let body = format!("{{\"url\":\"https://example.com/{}\"}}", "a".repeat(5000));

    let t = Instant::now();
    let mut s = connect(&server);
    let head = format!(
        "POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    s.write_all(body.as_bytes()).unwrap();
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
    let rs = replies(&bytes);
    assert_eq!(statuses(&rs), [415], "the answer after 100 Continue");
    assert_eq!(end, End::Closed);
    report(
        "POST 5 KB with Expect: 100-continue",
        "100 Continue, then 415 (content type), closed as asked",
        t.elapsed(),
        rss_kb(&server) - rss0,
    );

    let t = Instant::now();
    let mut s = connect(&server);
    s.write_all(
        b"POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Expect: 100-continue\r\nContent-Length: 10000000000\r\n\r\n",
    )
    .unwrap();
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
    let rs = replies(&bytes);
    assert_eq!(statuses(&rs), [413], "10 GB with Expect: no 100, a 413");
    assert!(rs[0].closes());
    assert_eq!(end, End::Closed);
    report(
        "POST Content-Length: 10000000000 with Expect: 100-continue",
        "413 + Connection: close (no 100 Continue), closed",
        t.elapsed(),
        rss_kb(&server) - rss0,
    );
    assert_healthy(&server, rss0, "Expect: 100-continue");
}

// ---------------------------------------------------------------------------------------------
// Change 3: limits on the request head, and bytes a head may not hold.

/// BR-48 (c) and (d), and the variants: a 1 MB and a 64 MiB header line, 200 headers
/// of 8 KB, thousands of small headers, a 1 MB request line. Each is answered (414/431) or
/// closed within a couple of seconds, and the server buffers no more than its caps.
#[test]
fn br48_huge_heads_get_431_and_are_not_buffered() {
    let server = start(&[]);
    let rss0 = rss_kb(&server);
    let base = "GET /api/health HTTP/1.1\r\nHost: x\r\n";
    let header_8k = format!("X-Pad: {}\r\n", "b".repeat(8000));
    let cases: Vec<(&str, Vec<u8>, usize, u16)> = vec![
        (
            "(c) one 1 MB header line",
            format!("{base}X-Big: ").into_bytes(),
            MB,
            431,
        ),
        (
            "one 64 MiB header line",
            format!("{base}X-Big: ").into_bytes(),
            64 * MB,
            431,
        ),
        (
            "(d) 200 headers of 8 KB",
            format!("{base}{}\r\n", header_8k.repeat(200)).into_bytes(),
            0,
            431,
        ),
        (
            "5000 small headers",
            format!("{base}{}\r\n", "X-N: 1\r\n".repeat(5000)).into_bytes(),
            0,
            431,
        ),
        ("a 1 MB request line", b"GET /".to_vec(), MB, 414),
    ];
    for (name, head, pad, want) in cases {
        let t = Instant::now();
        let mut s = connect(&server);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = feed(
            &s,
            head,
            vec![b'a'; 64 * KB],
            pad,
            Duration::ZERO,
            stop.clone(),
        );
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
        let took = t.elapsed();
        stop.store(true, Ordering::Relaxed);
        drop(s);
        let sent = writer.join().unwrap();
        let got = statuses(&replies(&bytes));
        assert!(
            got == [want] || (got.is_empty() && end == End::Closed),
            "{name}: got {got:?}, {end:?}"
        );
        assert_eq!(end, End::Closed, "{name}: connection left open");
        assert!(took < Duration::from_secs(4), "{name}: took {took:?}");
        if pad > 2 * MB {
            assert!(sent < pad, "{name}: the server took all {sent} bytes");
        }
        let answer = match got.first() {
            Some(code) => format!("{code} + Connection: close, closed"),
            None => "closed without an answer".into(),
        };
        report(name, &answer, took, rss_kb(&server) - rss0);
    }
    assert_healthy(&server, rss0, "BR-48 (c)(d)");
}

/// Invalid UTF-8, NUL and other control bytes in the request line or headers get 400 (or a
/// closed connection); an unknown method gets our 405 JSON; `HTTP/2.0` gets 505 (it used to
/// hang the connection thread for good); an odd `Expect` gets 417. Never a crash.
#[test]
fn malformed_request_heads_get_4xx_never_a_crash() {
    let server = start(&[]);
    let rss0 = rss_kb(&server);
    let cases: &[(&str, &[u8], &[u16])] = &[
        (
            "invalid UTF-8 in the path",
            b"GET /api/health\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
            &[400],
        ),
        (
            "NUL in the path",
            b"GET /api/he\0alth HTTP/1.1\r\nHost: x\r\n\r\n",
            &[400],
        ),
        (
            "NUL in the method",
            b"G\0ET /api/health HTTP/1.1\r\nHost: x\r\n\r\n",
            &[400],
        ),
        (
            "invalid UTF-8 in a header value",
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-A: \xc3\x28\xff\r\n\r\n",
            &[400],
        ),
        (
            "NUL in a header value",
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
            &[400],
        ),
        (
            "invalid UTF-8 in a header name",
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-\xe9: 1\r\n\r\n",
            &[400],
        ),
        (
            "escape byte in a header",
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-A: \x1b[2J\r\n\r\n",
            &[400],
        ),
        (
            "bare LF line ends",
            b"GET /api/health HTTP/1.1\nHost: x\n\n",
            &[400],
        ),
        (
            "bare CR in a header",
            b"GET /api/health HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n",
            &[400],
        ),
        (
            "a TLS ClientHello",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            &[400],
        ),
        (
            "no HTTP version",
            b"GET /api/health\r\nHost: x\r\n\r\n",
            &[400],
        ),
        (
            "unknown method BREW",
            b"BREW /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            &[405, 501],
        ),
        (
            "HTTP/2.0 request line",
            b"GET /api/health HTTP/2.0\r\nHost: x\r\n\r\n",
            &[505],
        ),
        (
            "Expect: 200-ok",
            b"POST /api/download HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\
              Content-Length: 2\r\n\r\n{}",
            &[417],
        ),
    ];
    for (name, raw, want) in cases {
        let t = Instant::now();
        let mut s = connect(&server);
        let _ = s.write_all(raw);
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
        let took = t.elapsed();
        let rs = replies(&bytes);
        let got = statuses(&rs);
        assert!(
            (got.len() == 1 && want.contains(&got[0])) || (got.is_empty() && end == End::Closed),
            "{name}: got {got:?} ({end:?}), want one of {want:?}"
        );
        assert_eq!(end, End::Closed, "{name}: connection left open");
        assert!(took < Duration::from_secs(3), "{name}: took {took:?}");
        if let Some(r) = rs.first() {
            if matches!(r.status, 405 | 501) {
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(v["code"], "method_not_allowed", "{name}: {v}");
            }
        }
        report(
            name,
            &format!("{got:?}, closed"),
            took,
            rss_kb(&server) - rss0,
        );
    }
    assert_healthy(&server, rss0, "malformed heads");
}

// ---------------------------------------------------------------------------------------------
// Change 2: read and write timeouts on every connection (and changes 7 and 8: 64 quiet
// clients).

/// With `--read-timeout-secs 2`: an idle keep-alive connection is closed without a word; a
/// head trickled one byte at a time (each read succeeds) still gets 408 once the whole head
/// has taken longer than the timeout; a head that stops gets 408.
#[test]
fn read_timeout_closes_idle_stalled_and_trickling_clients() {
    let server = start(&["--read-timeout-secs", "2"]);
    let rss0 = rss_kb(&server);

    // Idle after one request on a keep-alive connection.
    let t = Instant::now();
    let mut s = connect(&server);
    s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(6));
    let took = t.elapsed();
    assert_eq!(statuses(&replies(&bytes)), [200]);
    assert_eq!(end, End::Closed, "idle keep-alive connection left open");
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(4),
        "idle connection closed after {took:?}"
    );
    report(
        "keep-alive connection left idle (read timeout 2 s)",
        "200, then closed silently",
        took,
        rss_kb(&server) - rss0,
    );

    // Half a head, then nothing.
    let t = Instant::now();
    let mut s = connect(&server);
    s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Half: ")
        .unwrap();
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(6));
    let took = t.elapsed();
    assert_eq!(statuses(&replies(&bytes)), [408]);
    assert_eq!(end, End::Closed);
    assert!(took < Duration::from_secs(4), "stalled head: {took:?}");
    report(
        "half a request head, then silence (read timeout 2 s)",
        "408 + Connection: close, closed",
        took,
        rss_kb(&server) - rss0,
    );

    // One byte every 300 ms: no single read times out, the head deadline does.
    let t = Instant::now();
    let mut s = connect(&server);
    let stop = Arc::new(AtomicBool::new(false));
    let head = b"GET /api/health HTTP/1.1\r\nHost: x\r\n".to_vec();
    let writer = feed(
        &s,
        head,
        b"X".to_vec(),
        usize::MAX,
        Duration::from_millis(300),
        stop.clone(),
    );
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(8));
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(statuses(&replies(&bytes)), [408], "trickled head");
    assert_eq!(end, End::Closed);
    assert!(took < Duration::from_secs(5), "trickled head: {took:?}");
    report(
        "head trickled 1 byte / 300 ms (read timeout 2 s)",
        "408 + Connection: close, closed",
        took,
        rss_kb(&server) - rss0,
    );
    assert_healthy(&server, rss0, "read timeout");
}

/// With `--write-timeout-secs 2`: a client that asks for a 32 MB file and reads nothing does
/// not hold the connection (or its worker) past the write timeout: the response is cut off
/// and the connection closed.
#[test]
fn write_timeout_drops_a_client_that_does_not_read() {
    let server = start(&["--write-timeout-secs", "2", "--http-threads", "2"]);
    let path = big_thumbnail(&server, 32 * MB);
    let rss0 = rss_kb(&server);
    let threads0 = settled(|| threads(&server));
    let t = Instant::now();
    let mut s = connect_small_rcvbuf(&server);
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    // Both HTTP workers are still free meanwhile (the stalled one is in a write).
    thread::sleep(Duration::from_millis(500));
    assert_eq!(get(&server.url("/api/health")).status, 200);
    // Read nothing for 4 s: the server's write blocks, then times out.
    thread::sleep(Duration::from_secs(4));
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(10));
    let took = t.elapsed();
    assert_eq!(end, End::Closed, "connection left open");
    assert!(
        bytes.len() < 32 * MB,
        "the whole file arrived ({} bytes): nothing timed out",
        bytes.len()
    );
    assert!(
        wait_until(Duration::from_secs(10), || threads(&server) <= threads0 + 1),
        "threads: {} before, {} now",
        threads0,
        threads(&server)
    );
    report(
        "GET a 32 MB file and read nothing (write timeout 2 s)",
        &format!("cut off after {} kB, closed", bytes.len() / KB),
        took,
        rss_kb(&server) - rss0,
    );
    assert_healthy(&server, rss0, "write timeout");
}

/// The issue: "with 64 clients that sent half a request and went quiet, a normal request is
/// still answered at once". Then, after the read timeout, the server closes them (408) and
/// their threads end.
#[test]
fn sixty_four_half_requests_do_not_pin_the_server() {
    let server = start(&["--read-timeout-secs", "5"]);
    let rss0 = rss_kb(&server);
    let threads0 = settled(|| threads(&server));
    let fds0 = settled(|| fds(&server));
    // Half of a head; a whole head and half of a small, a 40 KB and a chunked body.
    let half_head = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Half: ".to_vec();
    let half_body = |len: usize| {
        let mut r = format!(
            "POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {len}\r\n\r\n{{\"url\":\"https://example.com/"
        )
        .into_bytes();
        r.resize(r.len() + len / 2, b'a');
        r
    };
    let half_chunked =
        b"POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                         Transfer-Encoding: chunked\r\n\r\n100\r\n{\"url\":\"https://"
            .to_vec();
    let halves = [half_head, half_body(200), half_body(40_000), half_chunked];
    let mut quiet = Vec::new();
    for i in 0..64 {
        let mut s = connect(&server);
        s.write_all(&halves[i % halves.len()]).unwrap();
        quiet.push(s);
    }
    assert!(
        wait_until(Duration::from_secs(3), || threads(&server)
            >= threads0 + 64 - POOL_IDLE),
        "64 connections not all accepted: {} threads, {} before",
        threads(&server),
        threads0
    );
    let t = Instant::now();
    let resp = http("GET", &server.url("/api/health"), &[], None);
    let took = t.elapsed();
    assert_eq!(resp.status, 200);
    assert!(took < Duration::from_secs(1), "health took {took:?}");
    report(
        "GET /api/health while 64 clients sit on half a request (head; small, 40 KB, chunked body)",
        "200",
        took,
        rss_kb(&server) - rss0,
    );

    // After the read timeout each is answered 408 and closed.
    let t = Instant::now();
    let mut answers = std::collections::BTreeMap::new();
    for s in &mut quiet {
        let (bytes, end) = read_until_closed(s, Duration::from_secs(10));
        assert_eq!(end, End::Closed, "a quiet client was left open");
        *answers
            .entry(format!("{:?}", statuses(&replies(&bytes))))
            .or_insert(0) += 1;
    }
    let took = t.elapsed();
    assert!(took < Duration::from_secs(9), "closed after {took:?}");
    assert_eq!(answers.get("[408]"), Some(&64), "answers: {answers:?}");
    drop(quiet);
    // Connection threads idle in tiny_http's pool end 5 s after their last job.
    assert!(
        wait_until(Duration::from_secs(15), || threads(&server) <= threads0 + 2),
        "threads: {threads0} before, {} now",
        threads(&server)
    );
    assert!(
        wait_until(Duration::from_secs(3), || fds(&server) <= fds0 + 2),
        "fds: {fds0} before, {} now",
        fds(&server)
    );
    report(
        "the 64 quiet clients after the read timeout (5 s)",
        &format!(
            "{answers:?}, all closed; threads back to {}",
            threads(&server)
        ),
        took,
        rss_kb(&server) - rss0,
    );
    assert_healthy(&server, rss0, "64 half requests");
}

// ---------------------------------------------------------------------------------------------
// Change 5: a cap on open connections (and change 8: thread counts).

/// With `--max-connections 8`: eight idle connections fill the server; a ninth gets 503 with
/// `Connection: close` at once and no thread; once the eight close, requests work again.
#[test]
fn connections_past_the_cap_get_503_at_once() {
    let server = start(&["--max-connections", "8"]);
    let rss0 = rss_kb(&server);
    let threads0 = settled(|| threads(&server));
    let idle: Vec<TcpStream> = (0..8).map(|_| connect(&server)).collect();
    assert!(
        wait_until(Duration::from_secs(3), || threads(&server)
            >= threads0 + 8 - POOL_IDLE),
        "8 connections not accepted"
    );
    let threads8 = settled(|| threads(&server));
    for n in 0..3 {
        let t = Instant::now();
        let mut s = connect(&server);
        let _ = s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n");
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
        let took = t.elapsed();
        let rs = replies(&bytes);
        assert_eq!(statuses(&rs), [503], "connection #{}", 9 + n);
        assert!(rs[0].closes());
        let v: serde_json::Value = serde_json::from_slice(&rs[0].body).unwrap();
        assert_eq!(v["code"], "too_many_connections");
        assert_eq!(end, End::Closed);
        assert!(took < Duration::from_secs(1), "503 took {took:?}");
        report(
            &format!("connection #{} with 8 open (cap 8)", 9 + n),
            "503 + Connection: close, closed",
            took,
            rss_kb(&server) - rss0,
        );
    }
    assert!(
        threads(&server) <= threads8,
        "a refused connection got a thread"
    );
    drop(idle);
    let t = Instant::now();
    assert!(
        wait_until(Duration::from_secs(5), || {
            try_http("GET", &server.url("/api/health"), &[], None).is_ok_and(|r| r.status == 200)
        }),
        "no 200 after the idle connections closed"
    );
    report(
        "GET /api/health after the 8 idle connections closed",
        "200",
        t.elapsed(),
        rss_kb(&server) - rss0,
    );
    assert!(server.stderr().contains("refusing a new one with 503"));
    assert_healthy(&server, rss0, "connection cap");
}

// ---------------------------------------------------------------------------------------------
// Change 4: accept() errors are logged and survived.

/// The server's open-file soft limit is lowered (prlimit) so that, first, an accepted socket
/// cannot be cloned (tiny_http panicked on its accept thread there), then accept() itself fails
/// with EMFILE (the old accept loop ended on the first error, and the server never accepted
/// again). Both are logged and survived; once descriptors are back, waiting clients are served.
#[test]
fn accept_errors_are_logged_and_survived() {
    let server = start(&[]);
    let rss0 = rss_kb(&server);
    let pid = server.pid() as libc::pid_t;
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit(2) reading our own child's limit into a valid struct.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0);
    // A soft limit that leaves exactly `free` descriptor numbers unused below it, once the
    // descriptors of earlier connections are closed.
    let limit_with_free = |free: usize| -> libc::rlim_t {
        let mut last = usize::MAX;
        assert!(
            wait_until(Duration::from_secs(3), || {
                let now = fds(&server);
                std::mem::replace(&mut last, now) == now
            }),
            "the server's descriptors never settled"
        );
        let used: std::collections::BTreeSet<u64> = std::fs::read_dir(proc_path(&server, "fd"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        let mut n = 0u64;
        let mut left = free;
        loop {
            if !used.contains(&n) {
                if left == 0 {
                    return n;
                }
                left -= 1;
            }
            n += 1;
        }
    };
    let set_soft = |soft: libc::rlim_t| {
        let lim = libc::rlimit {
            rlim_cur: soft,
            rlim_max: old.rlim_max,
        };
        // SAFETY: prlimit(2) on our own child with a valid struct.
        let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &lim, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "prlimit");
    };
    let request = b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let t = Instant::now();

    // Each client is answered, or closed unanswered when its socket could not be set up.
    let outcome = |s: &mut TcpStream| {
        let (bytes, end) = read_until_closed(s, Duration::from_secs(5));
        let got = statuses(&replies(&bytes));
        assert!(
            got == [200] || (got.is_empty() && end == End::Closed),
            "a client got {got:?} ({end:?})"
        );
        got == [200]
    };

    // One free descriptor: accept() succeeds, cloning the socket fails; that client is closed
    // and the loop goes on. (Other descriptors come and go in the server, so clients are sent
    // until the failure shows in the log.)
    set_soft(limit_with_free(1));
    let mut clone_failures_logged = false;
    for _ in 0..30 {
        let mut s = connect(&server);
        let _ = s.write_all(request);
        outcome(&mut s);
        if server.stderr().contains("Cannot set up a new client") {
            clone_failures_logged = true;
            break;
        }
    }
    assert!(
        clone_failures_logged,
        "clone failure not logged:\n{}",
        server.stderr()
    );

    // No free descriptor: accept() fails with EMFILE; the clients wait in the backlog.
    set_soft(limit_with_free(0));
    let mut clients = Vec::new();
    for n in 0..10 {
        let mut s = connect(&server);
        let _ = s.write_all(request);
        clients.push(s);
        if n >= 2
            && wait_until(Duration::from_millis(500), || {
                server.stderr().contains("Error accepting new client")
            })
        {
            break;
        }
    }
    assert!(
        server.stderr().contains("Error accepting new client"),
        "no accept error logged:\n{}",
        server.stderr()
    );
    thread::sleep(Duration::from_millis(500));
    let took = t.elapsed();
    set_soft(old.rlim_cur);

    // The accept loop is still running: the clients waiting in the backlog are answered.
    let waiting = clients.len();
    let mut answered = 0;
    for mut s in clients {
        answered += usize::from(outcome(&mut s));
    }
    assert!(
        answered + 1 >= waiting && answered >= 2,
        "{answered}/{waiting} answered once descriptors were back"
    );
    let log = server.stderr();
    report(
        "accept() with no free descriptor (EMFILE); socket clone failing (EMFILE)",
        &format!(
            "logged ({} accept-error line(s) for ~{} ms of EMFILE, clone failure: closed); \
             {answered}/{waiting} waiting clients answered once fds were back",
            log.matches("Error accepting new client").count(),
            took.as_millis()
        ),
        took,
        rss_kb(&server) - rss0,
    );
    assert_healthy(&server, rss0, "accept errors");
}

// ---------------------------------------------------------------------------------------------
// Change 6: chunked bodies are bounded.

/// With `--read-timeout-secs 2`: a chunked body that never ends (fast), one that stops, an
/// endless chunk-size line and an endless chunk extension are each answered and closed within
/// the read timeout, and none grows the server's memory.
#[test]
fn chunked_bodies_that_never_end_are_bounded() {
    let server = start(&["--read-timeout-secs", "2"]);
    let rss0 = rss_kb(&server);
    let head = b"POST /api/download HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    let mut chunk = format!("{:x}\r\n", 4 * KB).into_bytes();
    chunk.extend_from_slice(&[b'a'; 4 * KB]);
    chunk.extend_from_slice(b"\r\n");
    let mut stalled = head.clone();
    stalled.extend_from_slice(b"10\r\n{\"url\":\"https://");
    let mut ext = head.clone();
    ext.extend_from_slice(b"10;");
    // (name, sent first, then repeated, how many bytes of it, the answers allowed)
    type Case = (&'static str, Vec<u8>, Vec<u8>, usize, &'static [u16]);
    let cases: Vec<Case> = vec![
        (
            "chunks sent forever at full speed",
            head.clone(),
            chunk,
            usize::MAX,
            &[413],
        ),
        (
            "one chunk begun, then silence",
            stalled,
            Vec::new(),
            0,
            &[400],
        ),
        (
            "an endless chunk-size line",
            head.clone(),
            vec![b'f'; 64 * KB],
            64 * MB,
            &[400],
        ),
        (
            "an endless chunk extension",
            ext,
            vec![b'x'; 64 * KB],
            64 * MB,
            &[400],
        ),
    ];
    for (name, head, body, total, want) in cases {
        let t = Instant::now();
        let mut s = connect(&server);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = feed(&s, head, body, total, Duration::ZERO, stop.clone());
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(8));
        let took = t.elapsed();
        stop.store(true, Ordering::Relaxed);
        drop(s);
        let sent = writer.join().unwrap();
        let rs = replies(&bytes);
        let got = statuses(&rs);
        assert!(
            got.len() == 1 && want.contains(&got[0]),
            "{name}: got {got:?}, want {want:?}"
        );
        assert!(rs[0].closes(), "{name}: no Connection: close");
        assert_eq!(end, End::Closed, "{name}: connection left open");
        assert!(took < Duration::from_secs(5), "{name}: took {took:?}");
        if total > 4 * MB {
            assert!(sent < total, "{name}: the server took everything");
        }
        report(
            &format!("chunked POST: {name}"),
            &format!(
                "{got:?} + Connection: close, closed after {} kB sent",
                sent / KB
            ),
            took,
            rss_kb(&server) - rss0,
        );
    }
    assert_healthy(&server, rss0, "chunked bodies");
}

// ---------------------------------------------------------------------------------------------
// BR-51: clients that drop out in the middle of a stream (changes 1, 2 and 8 together).

/// 200 times: GET a 2 MB file with `Range: bytes=0-`, read 64 KB, close (every third with an
/// RST via SO_LINGER 0). Threads and open fds go back to where they were; no panic; a normal
/// GET still works.
#[test]
fn br51_clients_dropping_out_mid_stream_leak_nothing() {
    let server = start(&["--read-timeout-secs", "5"]);
    let path = big_thumbnail(&server, 2 * MB);
    let full = get(&server.url(&path));
    assert_eq!(full.status, 200);
    assert_eq!(full.body.len(), 2 * MB);
    let rss0 = rss_kb(&server);
    let threads0 = settled(|| threads(&server));
    let fds0 = settled(|| fds(&server));
    let t = Instant::now();
    let resets = AtomicUsize::new(0);
    for i in 0..200 {
        let mut s = connect(&server);
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut got = 0;
        let mut buf = [0u8; 16 * KB];
        while got < 64 * KB {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        assert!(got >= 64 * KB, "request {i}: only {got} bytes");
        if i % 3 == 0 {
            set_linger_zero(&s);
            resets.fetch_add(1, Ordering::Relaxed);
        }
        drop(s);
    }
    let took = t.elapsed();
    assert!(
        wait_until(Duration::from_secs(12), || threads(&server) <= threads0 + 1
            && fds(&server) <= fds0 + 1),
        "threads {threads0} -> {}, fds {fds0} -> {}",
        threads(&server),
        fds(&server)
    );
    let after = get(&server.url(&path));
    assert_eq!(after.status, 200);
    assert_eq!(after.body, full.body);
    report(
        &format!(
            "BR-51 200 x Range GET 2 MB, read 64 KB, close ({} with RST)",
            resets.load(Ordering::Relaxed)
        ),
        &format!(
            "threads {threads0} -> {}, fds {fds0} -> {}; full GET 200",
            threads(&server),
            fds(&server)
        ),
        took,
        rss_kb(&server) - rss0,
    );
    assert_healthy(&server, rss0, "BR-51");
}

/// Refusals made before a request reaches the router still speak the API's JSON error shape.
#[test]
fn refusals_of_a_head_are_json_errors() {
    let server = start(&[]);
    let long_url = format!(
        "GET /api/video/info?url={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(9000)
    );
    let wide_header = format!(
        "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "b".repeat(9000)
    );
    for (raw, status, code) in [
        (long_url.as_str(), 414, "uri_too_long"),
        (wide_header.as_str(), 431, "request_header_fields_too_large"),
        (
            "GET /api/health HTTP/2.0\r\nHost: x\r\n\r\n",
            505,
            "http_version_not_supported",
        ),
    ] {
        let bytes = raw_request(&server.base_url(), raw.as_bytes()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
        assert_eq!(v["code"], code, "{v}");
        assert!(v["detail"].is_string());
    }
    assert_eq!(get(&server.url("/api/health")).status, 200);
}
