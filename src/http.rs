//! The request and reply values handlers work with, independent of the HTTP library.

use serde::Serialize;
use std::fs::File;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub struct Req {
    pub method: String,
    /// The path as sent: not yet percent-decoded.
    pub path: String,
    pub query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded (`+` is a space, as forms send it).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(&k.replace('+', " "))? == name)
                .then(|| percent_decode(&v.replace('+', " ")))
                .flatten()
        })
    }
}

pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// Bytes kept elsewhere too (the cached task list), sent without a copy.
    Shared(Arc<Vec<u8>>),
    /// `len` bytes of `file` from `offset`; HEAD sends the headers only.
    File {
        file: File,
        offset: u64,
        len: u64,
    },
    /// A Server-Sent Events stream, written by the server on a thread of its own.
    Events,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Reply {
        let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        Reply {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: Body::Bytes(bytes),
        }
    }

    /// `{"detail": ..., "code": ...}`, the error shape of every endpoint.
    pub fn error(status: u16, detail: &str, code: &str) -> Reply {
        Reply::json(
            status,
            &serde_json::json!({ "detail": detail, "code": code }),
        )
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: Body::Empty,
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// Decodes `%XX` escapes once; `None` when an escape is malformed or the result is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once() {
        assert_eq!(percent_decode("a%20b%2525").as_deref(), Some("a b%25"));
        assert_eq!(percent_decode("%E2%A7%B8").as_deref(), Some("⧸"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn query_parameters() {
        let r = Req {
            method: "GET".into(),
            path: "/api/downloads".into(),
            query: "status=pending%2Ccompleted&x=a+b&flag".into(),
            headers: vec![],
            body: vec![],
        };
        assert_eq!(
            r.query_param("status").as_deref(),
            Some("pending,completed")
        );
        assert_eq!(r.query_param("x").as_deref(), Some("a b"));
        assert_eq!(r.query_param("flag").as_deref(), Some(""));
        assert_eq!(r.query_param("missing"), None);
    }
}
