//! The HTTP loop: a fixed pool of threads on one tiny_http listener. Each request is read into
//! a `Req`, checked (preflight, token), routed with panics caught, answered and logged.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::http::{Body, Reply, Req};

/// Largest request body read; JSON endpoints need far less.
pub const MAX_BODY: usize = 64 * 1024;
/// Event streams open at once; each holds a thread and a socket for as long as it lives.
const MAX_EVENT_STREAMS: usize = 32;

/// Answers requests on `http_threads` workers until `stop` is called.
pub fn serve(app: Arc<App>) {
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    for n in 0..app.cfg.http_threads {
        let (app, done) = (Arc::clone(&app), done_tx.clone());
        std::thread::Builder::new()
            .name(format!("http-{n}"))
            .spawn(move || {
                loop {
                    match app.server.recv() {
                        Ok(rq) => handle(&app, rq),
                        Err(_) if app.queue.is_stopping() => break,
                        Err(e) => log::error!("receiving a request: {e}"),
                    }
                }
                let _ = done.send(());
            })
            .expect("spawning an HTTP worker at start-up");
    }
    drop(done_tx);
    // Wait for every worker; once stopping, a long download to a client gets `DRAIN` to end.
    let mut left = app.cfg.http_threads;
    while left > 0 {
        let wait = if app.queue.is_stopping() {
            crate::shutdown::DRAIN
        } else {
            Duration::from_secs(3600)
        };
        match done_rx.recv_timeout(wait) {
            Ok(()) => left -= 1,
            Err(RecvTimeoutError::Timeout) if app.queue.is_stopping() => break,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// Wakes every worker so that each ends after the request it is answering.
pub fn stop(app: &App) {
    for _ in 0..app.cfg.http_threads {
        app.server.unblock();
    }
}

fn handle(app: &Arc<App>, mut rq: tiny_http::Request) {
    let started = Instant::now();
    let method = rq.method().as_str().to_ascii_uppercase();
    let (path, query) = match rq.url().split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (rq.url().to_string(), String::new()),
    };
    let headers: Vec<(String, String)> = rq
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut req = Req {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
    };
    let reply = match read_body(&mut rq, &req) {
        Ok(body) => {
            req.body = body;
            respond_to(app, &req)
        }
        Err(reply) => reply,
    };
    let mut reply = with_common_headers(app, &req, reply);
    if matches!(reply.body, Body::Events) {
        match app.hub.open_stream(MAX_EVENT_STREAMS) {
            Some(slot) => return start_event_stream(app, rq, &req, reply, slot, started),
            None => {
                let busy = Reply::error(503, "Too many event streams are open", "too_many_streams");
                reply = with_common_headers(app, &req, busy.with_header("Retry-After", "5"));
            }
        }
    }
    let status = reply.status;
    let (sent, response) = into_response(reply, req.method == "HEAD");
    app.metrics.record(status, sent);
    if let Err(e) = rq.respond(response) {
        log::debug!("{} {}: client went away: {e}", req.method, req.path);
    }
    log::info!(
        target: "access",
        "{} {} {} {} {}ms",
        req.method,
        req.path,
        status,
        sent,
        started.elapsed().as_millis()
    );
}

/// Hands the connection to a thread of its own that writes the event stream until the client
/// leaves, so a stream never holds an HTTP worker.
fn start_event_stream(
    app: &Arc<App>,
    rq: tiny_http::Request,
    req: &Req,
    reply: Reply,
    slot: crate::events::StreamSlot,
    started: Instant,
) {
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    for (n, v) in &reply.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    log::info!(target: "access", "{} {} 200 stream {}ms", req.method, req.path, started.elapsed().as_millis());
    let app = Arc::clone(app);
    let spawned = std::thread::Builder::new()
        .name("events".into())
        .spawn(move || {
            let _slot = slot;
            // Subscribe before the snapshot: an event in between is sent twice, never missed.
            let rx = app.hub.subscribe();
            let list = app.store.list_json();
            let snapshot = list.as_deref().map_or(&b"[]"[..], Vec::as_slice);
            if let Err(e) = crate::events::stream(rq.into_writer(), &head, snapshot, rx) {
                log::debug!("event stream closed: {e}");
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot start an event stream thread: {e}");
    }
}

/// The body, read only when the declared length fits the limit.
fn read_body(rq: &mut tiny_http::Request, req: &Req) -> Result<Vec<u8>, Reply> {
    if !matches!(req.method.as_str(), "POST" | "PUT" | "PATCH") {
        return Ok(Vec::new());
    }
    // A cookies.txt export is bigger than any JSON body.
    let limit = if req.path == "/api/cookies" {
        crate::cookies::MAX_BYTES
    } else {
        MAX_BODY
    };
    let too_large = || {
        Reply::error(
            413,
            &format!("Request body too large (limit {} KiB)", limit / 1024),
            "payload_too_large",
        )
    };
    if rq.body_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    match rq.as_reader().take(limit as u64 + 1).read_to_end(&mut body) {
        Ok(n) if n > limit => Err(too_large()),
        Ok(_) => Ok(body),
        Err(_) => Err(Reply::error(
            400,
            "Could not read the request body",
            "bad_request",
        )),
    }
}

fn respond_to(app: &App, req: &Req) -> Reply {
    if req.path.starts_with("/api/") && req.method == "OPTIONS" {
        return preflight();
    }
    if !authorized(app, req) {
        return Reply::error(401, "Unauthorized", "unauthorized");
    }
    // A bug in one handler answers 500; the worker lives on.
    catch_unwind(AssertUnwindSafe(|| crate::api::route(app, req))).unwrap_or_else(|_| {
        log::error!("handler panicked on {} {}", req.method, req.path);
        Reply::error(500, "Internal server error", "internal_error")
    })
}

fn preflight() -> Reply {
    Reply::empty(204)
        .with_header(
            "Access-Control-Allow-Methods",
            "GET, HEAD, POST, DELETE, OPTIONS",
        )
        .with_header(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Range, If-Range",
        )
        .with_header("Access-Control-Max-Age", "600")
}

/// With a token configured, every `/api/` request but health must carry it.
fn authorized(app: &App, req: &Req) -> bool {
    let Some(token) = app.cfg.token.as_deref() else {
        return true;
    };
    if !req.path.starts_with("/api/") || req.path == "/api/health" {
        return true;
    }
    let bearer = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "));
    // The page stores the token percent-encoded, so any character survives the cookie.
    let cookie = req.header("cookie").and_then(|c| {
        c.split(';')
            .find_map(|kv| kv.trim().strip_prefix("offlinetube_token="))
            .and_then(crate::http::percent_decode)
    });
    let query = req.query_param("token");
    let found = [bearer, cookie.as_deref(), query.as_deref()]
        .into_iter()
        .flatten()
        .any(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()));
    found
}

/// Equal-length comparison that takes the same time wherever the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn with_common_headers(app: &App, req: &Req, mut reply: Reply) -> Reply {
    let mut add = |n: &str, v: &str| reply.headers.push((n.to_string(), v.to_string()));
    add("Server", concat!("offlinetube/", env!("CARGO_PKG_VERSION")));
    add("X-Content-Type-Options", "nosniff");
    if req.path.starts_with("/api/") || req.path == "/metrics" {
        add("Access-Control-Allow-Origin", &app.cfg.cors_origin);
        add(
            "Access-Control-Expose-Headers",
            "Content-Length, Content-Range, Accept-Ranges, Content-Disposition, Location",
        );
        if app.cfg.cors_origin != "*" {
            add("Vary", "Origin");
        }
    }
    reply
}

type Response = tiny_http::Response<Box<dyn Read + Send>>;

/// Lets a `Cursor` read shared bytes.
struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The tiny_http response, always with a Content-Length (never chunked), and the body size.
fn into_response(reply: Reply, head: bool) -> (u64, Response) {
    let (reader, len): (Box<dyn Read + Send>, u64) = match reply.body {
        Body::Empty | Body::Events => (Box::new(Cursor::new(Vec::new())), 0),
        Body::Bytes(b) => {
            let n = b.len() as u64;
            (Box::new(Cursor::new(b)), n)
        }
        Body::Shared(b) => {
            let n = b.len() as u64;
            (Box::new(Cursor::new(SharedBytes(b))), n)
        }
        Body::File {
            mut file,
            offset,
            len,
        } => {
            // A 304 carries the length a 200 would have, and no body.
            if head || reply.status == 304 || file.seek(SeekFrom::Start(offset)).is_err() {
                (Box::new(Cursor::new(Vec::new())), len)
            } else {
                (Box::new(file.take(len)), len)
            }
        }
    };
    let headers = reply
        .headers
        .iter()
        .filter_map(|(n, v)| tiny_http::Header::from_bytes(n.as_bytes(), v.as_bytes()).ok())
        .collect();
    let response = tiny_http::Response::new(
        tiny_http::StatusCode(reply.status),
        headers,
        reader,
        Some(len as usize),
        None,
    )
    // Without this tiny_http switches bodies of 32 KiB and more to chunked encoding.
    .with_chunked_threshold(usize::MAX);
    (if head || reply.status == 304 { 0 } else { len }, response)
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
