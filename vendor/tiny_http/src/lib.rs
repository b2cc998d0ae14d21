//! # Simple usage
//!
//! ## Creating the server
//!
//! The easiest way to create a server is to call `Server::http()`.
//!
//! The `http()` function returns an `IoResult<Server>` which will return an error
//! in the case where the server creation fails (for example if the listening port is already
//! occupied).
//!
//! ```no_run
//! let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! ```
//!
//! A newly-created `Server` will immediately start listening for incoming connections and HTTP
//! requests.
//!
//! ## Receiving requests
//!
//! Calling `server.recv()` will block until the next request is available.
//! This function returns an `IoResult<Request>`, so you need to handle the possible errors.
//!
//! ```no_run
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//!
//! loop {
//!     // blocks until the next request is received
//!     let request = match server.recv() {
//!         Ok(rq) => rq,
//!         Err(e) => { println!("error: {}", e); break }
//!     };
//!
//!     // do something with the request
//!     // ...
//! }
//! ```
//!
//! In a real-case scenario, you will probably want to spawn multiple worker tasks and call
//! `server.recv()` on all of them. Like this:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use std::thread;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! let server = Arc::new(server);
//! let mut guards = Vec::with_capacity(4);
//!
//! for _ in (0 .. 4) {
//!     let server = server.clone();
//!
//!     let guard = thread::spawn(move || {
//!         loop {
//!             let rq = server.recv().unwrap();
//!
//!             // ...
//!         }
//!     });
//!
//!     guards.push(guard);
//! }
//! ```
//!
//! If you don't want to block, you can call `server.try_recv()` instead.
//!
//! ## Handling requests
//!
//! The `Request` object returned by `server.recv()` contains informations about the client's request.
//! The most useful methods are probably `request.method()` and `request.url()` which return
//! the requested method (`GET`, `POST`, etc.) and url.
//!
//! To handle a request, you need to create a `Response` object. See the docs of this object for
//! more infos. Here is an example of creating a `Response` from a file:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! ```
//!
//! All that remains to do is call `request.respond()`:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! # let request = server.recv().unwrap();
//! # let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! let _ = request.respond(response);
//! ```
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![allow(clippy::match_like_matches_macro)]

#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
use zeroize::Zeroizing;

use std::error::Error;
use std::io::Error as IoError;
use std::io::ErrorKind as IoErrorKind;
use std::io::Result as IoResult;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use client::ClientConnection;
use connection::Connection;
use util::MessagesQueue;

pub use common::{HTTPVersion, Header, HeaderField, Method, StatusCode};
pub use connection::{ConfigListenAddr, ListenAddr, Listener};
pub use request::{ReadWrite, Request};
pub use response::{Response, ResponseBox};
pub use test::TestRequest;

mod client;
mod common;
mod connection;
mod request;
mod response;
mod ssl;
mod test;
mod util;

/// The main class of this library.
///
/// Destroying this object will immediately close the listening socket and the reading
///  part of all the client's connections. Requests that have already been returned by
///  the `recv()` function will not close and the responses will be transferred to the client.
pub struct Server {
    // should be false as long as the server exists
    // when set to true, all the subtasks will close within a few hundreds ms
    close: Arc<AtomicBool>,

    // queue for messages received by child threads
    messages: Arc<MessagesQueue<Message>>,

    // result of TcpListener::local_addr()
    listening_addr: ListenAddr,

    // offlinetube patch: connections being served (the accept thread counts them for the cap).
    open: Arc<AtomicUsize>,
}

enum Message {
    Error(IoError),
    NewRequest(Request),
}

impl From<IoError> for Message {
    fn from(e: IoError) -> Message {
        Message::Error(e)
    }
}

impl From<Request> for Message {
    fn from(rq: Request) -> Message {
        Message::NewRequest(rq)
    }
}

// this trait is to make sure that Server implements Share and Send
#[doc(hidden)]
#[allow(dead_code)] // offlinetube patch: silences today's rustc; no change in behaviour
trait MustBeShareDummy: Sync + Send {}
#[doc(hidden)]
impl MustBeShareDummy for Server {}

pub struct IncomingRequests<'a> {
    server: &'a Server,
}

/// Represents the parameters required to create a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The addresses to try to listen to.
    pub addr: ConfigListenAddr,

    /// If `Some`, then the server will use SSL to encode the communications.
    pub ssl: Option<SslConfig>,

    /// offlinetube patch: read timeout set on every accepted connection. It bounds an idle
    /// keep-alive connection, each read of a request, and the time from the first byte of a
    /// request head to its end (slow headers get 408). `None`: no timeout.
    pub read_timeout: Option<Duration>,

    /// offlinetube patch: write timeout set on every accepted connection (each write of a
    /// response). `None`: no timeout.
    pub write_timeout: Option<Duration>,

    /// offlinetube patch: connections served at once (each has a thread). Past it a new
    /// connection gets `503 Service Unavailable` with `Connection: close` and is closed.
    pub max_connections: usize,

    /// offlinetube patch: request bodies up to this size (by `Content-Length`, or the first
    /// this-many-plus-one bytes of a chunked body) are read by the connection's own thread
    /// before the request is handed out, so that reading a body never holds a worker thread
    /// on a slow or silent client. Upstream: 1024, and never with `Expect: 100-continue`.
    pub max_buffered_body: usize,
}

/// offlinetube patch: the defaults of the fields above, used by `Server::http` and the like.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// offlinetube patch: see `ServerConfig::write_timeout`.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// offlinetube patch: see `ServerConfig::max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// offlinetube patch: see `ServerConfig::max_buffered_body`.
pub const DEFAULT_MAX_BUFFERED_BODY: usize = 64 * 1024;

/// offlinetube patch: what the accept loop and each connection need from `ServerConfig`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) max_connections: usize,
    pub(crate) max_buffered_body: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            read_timeout: Some(DEFAULT_READ_TIMEOUT),
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_buffered_body: DEFAULT_MAX_BUFFERED_BODY,
        }
    }
}

impl ServerConfig {
    /// offlinetube patch: a config with the default timeouts and connection cap.
    pub fn new(addr: ConfigListenAddr, ssl: Option<SslConfig>) -> ServerConfig {
        let limits = Limits::default();
        ServerConfig {
            addr,
            ssl,
            read_timeout: limits.read_timeout,
            write_timeout: limits.write_timeout,
            max_connections: limits.max_connections,
            max_buffered_body: limits.max_buffered_body,
        }
    }
}

/// Configuration of the server for SSL.
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// Contains the public certificate to send to clients.
    pub certificate: Vec<u8>,
    /// Contains the ultra-secret private key used to decode communications.
    pub private_key: Vec<u8>,
}

impl Server {
    /// Shortcut for a simple server on a specific address.
    #[inline]
    pub fn http<A>(addr: A) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig::new(
            ConfigListenAddr::from_socket_addrs(addr)?,
            None,
        ))
    }

    /// Shortcut for an HTTPS server on a specific address.
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    #[inline]
    pub fn https<A>(
        addr: A,
        config: SslConfig,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig::new(
            ConfigListenAddr::from_socket_addrs(addr)?,
            Some(config),
        ))
    }

    #[cfg(unix)]
    #[inline]
    /// Shortcut for a UNIX socket server at a specific path
    pub fn http_unix(
        path: &std::path::Path,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::new(ServerConfig::new(
            ConfigListenAddr::unix_from_path(path),
            None,
        ))
    }

    /// Builds a new server that listens on the specified address.
    pub fn new(config: ServerConfig) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = config.addr.bind()?;
        let limits = Limits {
            read_timeout: config.read_timeout,
            write_timeout: config.write_timeout,
            max_connections: config.max_connections,
            max_buffered_body: config.max_buffered_body,
        };
        Self::start(listener.into(), config.ssl, limits)
    }

    /// Builds a new server using the specified TCP listener.
    ///
    /// This is useful if you've constructed TcpListener using some less usual method
    /// such as from systemd. For other cases, you probably want the `new()` function.
    pub fn from_listener<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Self::start(listener.into(), ssl_config, Limits::default())
    }

    // offlinetube patch: `from_listener`'s body, with the limits passed on.
    fn start(
        listener: Listener,
        ssl_config: Option<SslConfig>,
        limits: Limits,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        // building the "close" variable
        let close_trigger = Arc::new(AtomicBool::new(false));

        // building the TcpListener
        let (server, local_addr) = {
            let local_addr = listener.local_addr()?;
            log::debug!("Server listening on {}", local_addr);
            (listener, local_addr)
        };

        // building the SSL capabilities
        #[cfg(all(feature = "ssl-openssl", feature = "ssl-rustls"))]
        compile_error!(
            "Features 'ssl-openssl' and 'ssl-rustls' must not be enabled at the same time"
        );
        #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
        type SslContext = ();
        #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
        type SslContext = crate::ssl::SslContextImpl;
        let ssl: Option<SslContext> = {
            match ssl_config {
                #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
                Some(config) => Some(SslContext::from_pem(
                    config.certificate,
                    Zeroizing::new(config.private_key),
                )?),
                #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
                Some(_) => return Err(
                    "Building a server with SSL requires enabling the `ssl` feature in tiny-http"
                        .into(),
                ),
                None => None,
            }
        };

        // creating a task where server.accept() is continuously called
        // and ClientConnection objects are pushed in the messages queue
        let messages = MessagesQueue::with_capacity(8);

        let inside_close_trigger = close_trigger.clone();
        let inside_messages = messages.clone();
        // offlinetube patch: connections being served, for the cap and `num_connections`.
        let open = Arc::new(AtomicUsize::new(0));
        let inside_open = open.clone();
        thread::spawn(move || {
            // a tasks pool is used to dispatch the connections into threads
            let tasks_pool = util::TaskPool::new();
            let open = inside_open;
            let (mut accept_errors, mut refusals) = (Throttle::default(), Throttle::default());

            log::debug!("Running accept thread");
            while !inside_close_trigger.load(Relaxed) {
                let new_client = match server.accept() {
                    Ok((sock, _)) => {
                        // offlinetube patch: timeouts on each accepted stream (on the listener
                        // they would make accept() itself time out).
                        if let Err(e) = sock.set_timeouts(limits.read_timeout, limits.write_timeout)
                        {
                            log::warn!("Cannot set timeouts on a new client, closing it: {}", e);
                            continue;
                        }
                        // offlinetube patch: past the cap, a short refusal and no thread.
                        if open.load(Ordering::Acquire) >= limits.max_connections {
                            refuse_connection(sock, limits.max_connections, &mut refusals);
                            continue;
                        }
                        let guard = OpenConnection::new(&open);

                        use util::RefinedTcpStream;
                        let streams = match ssl {
                            None => RefinedTcpStream::new(sock),
                            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
                            Some(ref ssl) => {
                                // trying to apply SSL over the connection
                                // if an error occurs, we just close the socket and resume listening
                                let sock = match ssl.accept(sock) {
                                    Ok(s) => s,
                                    Err(_) => continue,
                                };

                                RefinedTcpStream::new(sock)
                            }
                            #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
                            Some(ref _ssl) => unreachable!(),
                        };
                        // offlinetube patch: cloning the socket can fail (EMFILE); that client
                        // is closed and the loop goes on.
                        let (read_closable, write_closable) = match streams {
                            Ok(streams) => streams,
                            Err(e) => {
                                log::warn!("Cannot set up a new client, closing it: {}", e);
                                continue;
                            }
                        };

                        let client = ClientConnection::new(write_closable, read_closable, limits);
                        Ok((client, guard))
                    }
                    Err(e) => Err(e),
                };

                match new_client {
                    Ok(client) => {
                        let messages = inside_messages.clone();
                        let mut client = Some(client);
                        tasks_pool.spawn(Box::new(move || {
                            // offlinetube patch: `_open` counts the connection until it ends.
                            if let Some((client, _open)) = client.take() {
                                // Synchronization is needed for HTTPS requests to avoid a deadlock
                                if client.secure() {
                                    let (sender, receiver) = mpsc::channel();
                                    for rq in client {
                                        messages.push(rq.with_notify_sender(sender.clone()).into());
                                        receiver.recv().unwrap();
                                    }
                                } else {
                                    for rq in client {
                                        messages.push(rq.into());
                                    }
                                }
                            }
                        }));
                    }

                    // offlinetube patch: an accept() error (EMFILE, ENFILE, ECONNABORTED, ...)
                    // used to end this loop for good (and hand the error to one `recv()`).
                    // It is logged and survived; on a lack of resources the loop pauses
                    // briefly instead of spinning.
                    Err(e) => survive_accept_error(&e, &mut accept_errors),
                }
            }
            log::debug!("Terminating accept thread");
        });

        // result
        Ok(Server {
            messages,
            close: close_trigger,
            listening_addr: local_addr,
            open,
        })
    }

    /// Returns an iterator for all the incoming requests.
    ///
    /// The iterator will return `None` if the server socket is shutdown.
    #[inline]
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    /// Returns the address the server is listening to.
    #[inline]
    pub fn server_addr(&self) -> ListenAddr {
        self.listening_addr.clone()
    }

    /// Returns the number of clients currently connected to the server.
    /// (offlinetube patch: upstream's was `unimplemented!()`.)
    pub fn num_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Blocks until an HTTP request has been submitted and returns it.
    pub fn recv(&self) -> IoResult<Request> {
        match self.messages.pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(rq),
            None => Err(IoError::new(IoErrorKind::Other, "thread unblocked")),
        }
    }

    /// Same as `recv()` but doesn't block longer than timeout
    pub fn recv_timeout(&self, timeout: Duration) -> IoResult<Option<Request>> {
        match self.messages.pop_timeout(timeout) {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Same as `recv()` but doesn't block.
    pub fn try_recv(&self) -> IoResult<Option<Request>> {
        match self.messages.try_pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Unblock thread stuck in recv() or incoming_requests().
    /// If there are several such threads, only one is unblocked.
    /// This method allows graceful shutdown of server.
    pub fn unblock(&self) {
        self.messages.unblock();
    }
}

/// offlinetube patch: counts one open connection while alive.
struct OpenConnection(Arc<AtomicUsize>);

impl OpenConnection {
    fn new(open: &Arc<AtomicUsize>) -> OpenConnection {
        open.fetch_add(1, Ordering::AcqRel);
        OpenConnection(Arc::clone(open))
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// offlinetube patch: answers a connection over the cap with 503 and closes it, on the accept
/// thread (a fresh socket's send buffer is empty, and the write timeout bounds it anyway).
fn refuse_connection(mut sock: Connection, max: usize, throttle: &mut Throttle) {
    use std::io::{Read, Write};
    if let Some(more) = throttle.due() {
        log::warn!(
            "{} connections open; refusing a new one with 503 ({} more since the last report)",
            max,
            more
        );
    }
    let body = concat!(
        r#"{"detail":"Too many open connections, try again shortly","#,
        r#""code":"too_many_connections"}"#
    );
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let _ = sock.set_timeouts(None, Some(Duration::from_secs(1)));
    let _ = sock
        .write_all(head.as_bytes())
        .and_then(|()| sock.write_all(body.as_bytes()));
    let _ = sock.shutdown(Shutdown::Write);
    // What the client already sent is read (without waiting) so that closing does not reset
    // the connection before the client has read the answer.
    if sock.set_nonblocking(true).is_ok() {
        let mut buf = [0u8; 4096];
        for _ in 0..4 {
            match sock.read(&mut buf) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}

/// offlinetube patch: a log line at once, then at most one every 10 s, which counts the
/// events not logged meanwhile (a flood of failed accepts or refusals must not flood the log).
#[derive(Default)]
struct Throttle {
    last: Option<Instant>,
    unlogged: u64,
}

impl Throttle {
    /// `Some(events not logged since the last line)` when this event is to be logged.
    fn due(&mut self) -> Option<u64> {
        if self
            .last
            .map_or(true, |t| t.elapsed() >= Duration::from_secs(10))
        {
            self.last = Some(Instant::now());
            Some(std::mem::take(&mut self.unlogged))
        } else {
            self.unlogged += 1;
            None
        }
    }
}

/// offlinetube patch: accept() errors are logged and survived. A client that went away before
/// it was accepted is only a debug line; a lack of resources (EMFILE, ENFILE, ENOBUFS, ...) is
/// an error, throttled, and the loop pauses briefly each time instead of spinning.
fn survive_accept_error(e: &IoError, throttle: &mut Throttle) {
    if matches!(
        e.kind(),
        IoErrorKind::ConnectionAborted
            | IoErrorKind::ConnectionReset
            | IoErrorKind::Interrupted
            | IoErrorKind::WouldBlock
    ) {
        log::debug!("Error accepting new client: {}", e);
        return;
    }
    if let Some(more) = throttle.due() {
        log::error!(
            "Error accepting new client: {} ({} more since the last report)",
            e,
            more
        );
    }
    thread::sleep(Duration::from_millis(100));
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close.store(true, Relaxed);
        // Connect briefly to ourselves to unblock the accept thread
        let maybe_stream = match &self.listening_addr {
            ListenAddr::IP(addr) => TcpStream::connect(addr).map(Connection::from),
            #[cfg(unix)]
            ListenAddr::Unix(addr) => {
                // TODO: use connect_addr when its stabilized.
                let path = addr.as_pathname().unwrap();
                std::os::unix::net::UnixStream::connect(path).map(Connection::from)
            }
        };
        if let Ok(stream) = maybe_stream {
            let _ = stream.shutdown(Shutdown::Both);
        }

        #[cfg(unix)]
        if let ListenAddr::Unix(addr) = &self.listening_addr {
            if let Some(path) = addr.as_pathname() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
