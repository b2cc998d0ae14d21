use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read};

use std::net::{Shutdown, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{HTTPVersion, Method};
use crate::util::RefinedTcpStream;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // offlinetube patch: shared with every request; set when a request's body was left unread
    // (or its response cut short). No further request is read then: the connection is closed.
    must_close: Arc<AtomicBool>,

    // offlinetube patch: a request head (and a body read here) must be complete within this
    // time of its first byte.
    head_timeout: Option<Duration>,

    // offlinetube patch: bodies up to this size are read here (`ServerConfig::max_buffered_body`).
    max_buffered_body: usize,
}

// offlinetube patch: limits on a request head. Past them the request is answered (414 for the
// request line, 431 for headers) and the connection closed; no more than this is buffered.
const MAX_REQUEST_LINE: usize = 8 * 1024;
const MAX_HEADER_LINE: usize = 8 * 1024;
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;

// offlinetube patch: before a connection with request bytes still unread is closed, at most this
// much is read and dropped, for at most this long, so that the close does not reset the
// connection before the client has read the response.
const LINGER_BYTES: usize = 1024 * 1024;
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    ReadIoError(IoError),
    /// offlinetube patch: answered with this status (400, 414, 431, 505) and closed: a head
    /// over a limit, bytes a head may not hold, a bad Content-Length, an HTTP version > 1.1.
    Refused(u16),
    /// offlinetube patch: the client stopped in the middle of a request head (408).
    TimedOut,
}

/// offlinetube patch: progress through one request head.
struct Head {
    size: usize,
    started: bool,
    deadline: Option<Instant>,
}

/// offlinetube patch: an expired socket timeout is `WouldBlock` on Unix, `TimedOut` elsewhere.
fn is_timeout(e: &IoError) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
        limits: crate::Limits, // offlinetube patch
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            must_close: Arc::new(AtomicBool::new(false)),
            head_timeout: limits.read_timeout,
            max_buffered_body: limits.max_buffered_body,
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    ///
    /// offlinetube patch: the line is at most `max_line` bytes and the head `MAX_HEAD` (else
    /// `Refused(too_long)`), holds only visible ASCII, spaces and tabs (else `Refused(400)`: no
    /// NUL, no byte >= 0x7F, no bare CR or LF), and the head must be complete in `head_timeout`
    /// from its first byte (else `TimedOut`, as is a read timeout in the middle of a head).
    fn read_next_line(
        &mut self,
        head: &mut Head,
        max_line: usize,
        too_long: u16,
    ) -> Result<AsciiString, ReadError> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                Some(Ok(b)) => b,
                Some(Err(e)) if head.started && is_timeout(&e) => return Err(ReadError::TimedOut),
                Some(Err(e)) => return Err(ReadError::ReadIoError(e)),
                None => {
                    let e = IoError::new(ErrorKind::ConnectionAborted, "Unexpected EOF");
                    return Err(ReadError::ReadIoError(e));
                }
            };

            if !head.started {
                head.started = true;
                head.deadline = self.head_timeout.map(|t| Instant::now() + t);
            } else if head.deadline.map_or(false, |d| Instant::now() > d) {
                return Err(ReadError::TimedOut);
            }

            if byte == b'\n' && prev_byte_was_cr {
                buf.pop(); // removing the '\r'
                return AsciiString::from_ascii(buf).map_err(|_| ReadError::Refused(400));
            }

            let allowed = byte == b'\t' || byte == b'\r' || (0x20..0x7f).contains(&byte);
            if !allowed || prev_byte_was_cr {
                return Err(ReadError::Refused(400));
            }

            prev_byte_was_cr = byte == b'\r';

            buf.push(byte);
            head.size += 1;
            if buf.len() > max_line {
                return Err(ReadError::Refused(too_long));
            }
            if head.size > MAX_HEAD {
                return Err(ReadError::Refused(431));
            }
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        let mut head = Head {
            size: 0,
            started: false,
            deadline: None,
        };
        let (method, path, version, headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = self.read_next_line(&mut head, MAX_REQUEST_LINE, 414)?;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // offlinetube patch: checked here, before there is a request. (It was checked in
            // `next()` and answered through a second writer, which waits for the request's
            // own: the connection thread hung for good on `GET / HTTP/2.0`.)
            if version > (1, 1) {
                return Err(ReadError::Refused(505));
            }

            // getting all headers
            let headers = {
                let mut headers = Vec::new();
                loop {
                    let line = self.read_next_line(&mut head, MAX_HEADER_LINE, 431)?;

                    if line.is_empty() {
                        break;
                    };
                    // offlinetube patch: a cap on the number of headers
                    if headers.len() == MAX_HEADERS {
                        return Err(ReadError::Refused(431));
                    }
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader(version)),
                    });
                }

                headers
            };

            (method, path, version, headers)
        };

        // building the writer for the request
        let writer = self.sink.next().unwrap();

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            *self.remote_addr.as_ref().unwrap(),
            data_source,
            writer,
            // offlinetube patch
            crate::request::Prebuffer {
                max: self.max_buffered_body,
                deadline: head.deadline,
            },
        )
        .map_err(|e| {
            use crate::request;
            match e {
                // offlinetube patch: a small body (read here) that stopped coming is a 408
                request::RequestCreationError::CreationIoError(e) if is_timeout(&e) => {
                    ReadError::TimedOut
                }
                // offlinetube patch: a chunked body that cannot be decoded (read here) is a 400
                request::RequestCreationError::CreationIoError(e)
                    if matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::InvalidInput) =>
                {
                    ReadError::Refused(400)
                }
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
                // offlinetube patch
                request::RequestCreationError::BadContentLength => ReadError::Refused(400),
            }
        })?
        .with_must_close(self.must_close.clone()); // offlinetube patch

        // return the request
        Ok(request)
    }

    /// offlinetube patch: answers `code` with `Connection: close` to a request that is not read
    /// any further; the caller then ends the connection.
    fn refuse(&mut self, code: u16, version: HTTPVersion, send_body: bool) {
        use crate::{Header, Response, StatusCode};
        let writer = self.sink.next().unwrap();
        // offlinetube patch: the API's JSON error shape, so that every refusal reads alike.
        let status = StatusCode(code);
        let detail = status.default_reason_phrase();
        let name = detail.to_ascii_lowercase().replace([' ', '-'], "_");
        let body = format!(r#"{{"detail":"{detail}","code":"{name}"}}"#);
        let json = Header::from_bytes(&b"Content-Type"[..], &b"application/json; charset=utf-8"[..]);
        let mut response = Response::from_data(body).with_status_code(status);
        if let Ok(h) = json {
            response.add_header(h);
        }
        response.add_connection_close();
        response
            .raw_print(writer, version, &[], !send_body, None)
            .ok();
    }

    /// offlinetube patch: ends a connection whose peer may still be sending (a body left
    /// unread, a head refused): flushes the last response and shuts down the sending side, so
    /// the client sees the response end; then reads and drops at most `LINGER_BYTES` for at
    /// most `LINGER_TIME`, on this connection's thread, so that closing the socket with
    /// unread data does not reset the connection before the client has read the response.
    /// (The old `EqualReader::drop` read the whole rest, however long, into one buffer of
    /// the declared size.)
    fn close_gently(&mut self) {
        self.next_header_source.wait_turn();
        let idle = self.sink.flush_if_idle();
        let reader = match self.next_header_source.get_mut() {
            Some(reader) => reader,
            None => return,
        };
        if idle {
            reader.get_mut().shutdown(Shutdown::Write).ok();
        }
        let deadline = Instant::now() + LINGER_TIME;
        let mut left = LINGER_BYTES;
        let mut buf = [0u8; 8 * 1024];
        while left > 0 {
            let now = Instant::now();
            if now >= deadline
                || reader
                    .get_ref()
                    .set_read_timeout(Some(deadline - now))
                    .is_err()
            {
                break;
            }
            match reader.read(&mut buf[..left.min(8 * 1024)]) {
                Ok(0) | Err(_) => break,
                Ok(n) => left -= n,
            }
        }
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        // offlinetube patch: wait until the previous request is done with the stream; if its
        // body was left unread (or its response cut short), stop: the rest of that body must
        // never be parsed as a request. The response to it said `Connection: close`.
        self.next_header_source.wait_turn();
        if self.must_close.load(Ordering::Acquire) {
            self.close_gently();
            return None;
        }

        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        // offlinetube patch: every refusal says `Connection: close`, and the connection is
        // closed gently (see `close_gently`) rather than reset. Nothing `continue`s this loop
        // any more (see the HTTP version check); it is kept to keep the patch small.
        loop {
            let rq = match self.read() {
                Err(ReadError::WrongRequestLine) => {
                    self.refuse(400, HTTPVersion(1, 1), true);
                    self.close_gently();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::WrongHeader(ver)) => {
                    self.refuse(400, ver, true);
                    self.close_gently();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::Refused(code)) => {
                    self.refuse(code, HTTPVersion(1, 1), true);
                    self.close_gently();
                    return None;
                }

                // offlinetube patch: a client that went quiet in the middle of a head. (The
                // old arm matched `TimedOut` only, which a socket timeout never is on Unix.)
                // A connection idle between requests is closed without a word.
                Err(ReadError::TimedOut) => {
                    // request timeout
                    self.refuse(408, HTTPVersion(1, 1), true);
                    self.sink.flush_if_idle();
                    return None; // closing the connection
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    self.refuse(417, ver, false);
                    self.close_gently();
                    return None; // TODO: should be recoverable, but needs handling in case of body
                }

                Err(ReadError::ReadIoError(e)) => {
                    log::debug!("Closing a client connection: {}", e); // offlinetube patch
                    return None;
                }

                Ok(rq) => rq,
            };

            // offlinetube patch: the HTTP version is checked in `read()` now.

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
