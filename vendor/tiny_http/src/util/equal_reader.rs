use std::io::Read;
use std::io::Result as IoResult;
use std::io::{Error as IoError, ErrorKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

/// A `Reader` that reads exactly the number of bytes from a sub-reader.
///
/// If the limit is reached, it returns EOF. (offlinetube patch:) If the limit is not reached
/// when the destructor is called, the remaining bytes are left unread: the request's
/// connection is then closed (see `ClientConnection::close_gently`).
pub struct EqualReader<R>
where
    R: Read,
{
    reader: R,
    size: usize,
    last_read_signal: Sender<IoResult<()>>,
    // offlinetube patch: set once all `size` bytes have been read.
    done: Option<Arc<AtomicBool>>,
}

impl<R> EqualReader<R>
where
    R: Read,
{
    pub fn new(reader: R, size: usize) -> (EqualReader<R>, Receiver<IoResult<()>>) {
        let (tx, rx) = channel();

        let r = EqualReader {
            reader,
            size,
            last_read_signal: tx,
            done: None,
        };

        (r, rx)
    }

    /// offlinetube patch: `done` is set once the whole body has been read.
    pub fn with_done_flag(mut self, done: Arc<AtomicBool>) -> Self {
        done.store(self.size == 0, Ordering::Release);
        self.done = Some(done);
        self
    }
}

impl<R> Read for EqualReader<R>
where
    R: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if self.size == 0 {
            return Ok(0);
        }

        let buf = if buf.len() < self.size {
            buf
        } else {
            &mut buf[..self.size]
        };

        match self.reader.read(buf) {
            Ok(len) => {
                self.size -= len;
                if self.size == 0 {
                    if let Some(done) = &self.done {
                        done.store(true, Ordering::Release);
                    }
                }
                Ok(len)
            }
            err @ Err(_) => err,
        }
    }
}

impl<R> Drop for EqualReader<R>
where
    R: Read,
{
    // offlinetube patch: this used to read the rest of the body into `vec![0; remaining]`, one
    // allocation of the size the client declared: `Content-Length: 99999999999999` aborted the
    // process ("memory allocation failed"), and a slow or silent client held the thread that
    // dropped the request (an HTTP worker) for as long as it liked. Nothing is read here now;
    // the connection is closed after the response instead, with a bounded drain on the
    // connection's own thread (`ClientConnection::close_gently`).
    fn drop(&mut self) {
        if self.size > 0 {
            let left = IoError::new(ErrorKind::Other, "request body left unread");
            self.last_read_signal.send(Err(left)).ok();
        } else {
            self.last_read_signal.send(Ok(())).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EqualReader;
    use std::io::Read;

    #[test]
    fn test_limit() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5);

            let mut string = String::new();
            equal_reader.read_to_string(&mut string).unwrap();
            assert_eq!(string, "hello");
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }

    #[test]
    fn test_not_enough() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5);

            let mut vec = [0];
            equal_reader.read_exact(&mut vec).unwrap();
            assert_eq!(vec[0], b'h');
        }

        // offlinetube patch: the rest of the body is no longer read on drop.
        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, "ello world");
    }

    // offlinetube patch: a huge declared length neither allocates nor reads on drop.
    #[test]
    fn test_huge_declared_length_is_left_alone() {
        use std::io::Cursor;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let mut org_reader = Cursor::new(b"hello".to_vec());
        let done = Arc::new(AtomicBool::new(true));
        {
            let (equal_reader, _) = EqualReader::new(org_reader.by_ref(), 99_999_999_999_999);
            let equal_reader = equal_reader.with_done_flag(done.clone());
            assert!(!done.load(Ordering::Acquire));
            drop(equal_reader);
        }
        assert_eq!(org_reader.position(), 0);
        assert!(!done.load(Ordering::Acquire));
    }

    // offlinetube patch: the done flag is set when the last byte is read.
    #[test]
    fn test_done_flag() {
        use std::io::Cursor;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let mut org_reader = Cursor::new(b"hello world".to_vec());
        let done = Arc::new(AtomicBool::new(false));
        let (equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5);
        let mut equal_reader = equal_reader.with_done_flag(done.clone());
        let mut buf = [0; 4];
        equal_reader.read_exact(&mut buf).unwrap();
        assert!(!done.load(Ordering::Acquire));
        equal_reader.read_exact(&mut buf[..1]).unwrap();
        assert!(done.load(Ordering::Acquire));
    }
}
