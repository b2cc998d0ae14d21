//! A raw HTTP/1.1 client on `TcpStream`: one request per connection
//! (`Connection: close`), body read to EOF. No client crate, so tests see
//! exactly what the server put on the wire (e.g. whether it chunked).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// In arrival order; names lowercased.
    pub headers: Vec<(String, String)>,
    /// Already de-chunked when the response was chunked.
    pub body: Vec<u8>,
    /// The response used `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

impl Resp {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the body text if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request; panics on a connection or protocol error.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
    try_http(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url} failed: {e}"))
}

/// Like `http`, for tests that expect the server to drop the connection.
pub fn try_http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Resp> {
    let (mut resp, mut reader) = http_open(method, url, headers, body)?;
    let mut raw = Vec::new();
    reader.read_to_end(&mut raw)?;
    // HEAD/204/304 carry no body even when the headers say chunked; keep
    // whatever arrived raw so a test can assert it is empty.
    let bodiless =
        method.eq_ignore_ascii_case("HEAD") || matches!(resp.status, 100..=199 | 204 | 304);
    resp.body = if resp.chunked && !bodiless {
        dechunk(&raw)?
    } else {
        raw
    };
    Ok(resp)
}

pub fn get(url: &str) -> Resp {
    http("GET", url, &[], None)
}

pub fn post_json(url: &str, value: &serde_json::Value) -> Resp {
    let body = serde_json::to_vec(value).expect("serialize JSON");
    http(
        "POST",
        url,
        &[("Content-Type", "application/json")],
        Some(&body),
    )
}

pub fn delete(url: &str) -> Resp {
    http("DELETE", url, &[], None)
}

/// Sends the request and reads only the status line and headers; the
/// returned reader is positioned at the (raw, still chunked) body. For
/// streams that never end (SSE) or clients that hang up mid-body.
///
/// `Host`, `Connection: close` and `Content-Length` are added unless the
/// caller passes its own (so tests can send a lying Content-Length).
pub fn http_open(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<(Resp, BufReader<TcpStream>)> {
    let (authority, path) = split_url(url)?;
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !has("host") {
        head.push_str(&format!("Host: {authority}\r\n"));
    }
    if !has("connection") {
        head.push_str("Connection: close\r\n");
    }
    if let Some(body) = body {
        if !has("content-length") && !has("transfer-encoding") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");

    let mut stream = connect(authority)?;
    let mut request = head.into_bytes();
    request.extend_from_slice(body.unwrap_or_default());
    stream.write_all(&request)?;
    stream.flush()?;

    let mut reader = BufReader::new(stream);
    let status_line = read_line(&mut reader)?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let resp = Resp {
        status,
        headers,
        body: Vec::new(),
        chunked,
    };
    Ok((resp, reader))
}

/// Writes raw bytes to `base`'s host and returns everything it sends back
/// until it closes (or the 30 s timeout): for malformed or pipelined input.
pub fn raw_request(base: &str, bytes: &[u8]) -> io::Result<Vec<u8>> {
    let (authority, _) = split_url(base)?;
    let mut stream = connect(authority)?;
    stream.write_all(bytes)?;
    stream.flush()?;
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => Ok(out),
        // A reset after a reply still leaves the reply for the test to see.
        Err(_) if !out.is_empty() => Ok(out),
        Err(e) => Err(e),
    }
}

/// `http://host:port/path?q` → (`host:port`, `/path?q`).
fn split_url(url: &str) -> io::Result<(&str, &str)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad(format!("only http:// URLs: {url}")))?;
    Ok(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

fn connect(authority: &str) -> io::Result<TcpStream> {
    let addr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| bad(format!("cannot resolve {authority}")))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    Ok(stream)
}

/// One CRLF- (or LF-) terminated line without its terminator.
fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut buf = Vec::new();
    if reader.read_until(b'\n', &mut buf)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the response head ended",
        ));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn dechunk(mut raw: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = read_line(&mut raw)?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| bad(format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            return Ok(out); // trailers, if any, are ignored
        }
        if raw.len() < size + 2 || &raw[size..size + 2] != b"\r\n" {
            return Err(bad("truncated or unterminated chunk".to_string()));
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}
