//! Serving files from disk: validators (ETag, Last-Modified), conditional requests, HEAD.

use std::fs::{File, Metadata};
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::clock::http_date;
use crate::http::{Body, Reply, Req};

/// The validators of a file's current version.
#[derive(Debug, Clone, PartialEq)]
pub struct Validators {
    pub etag: String,
    pub last_modified: String,
}

impl Validators {
    pub fn of(meta: &Metadata) -> Validators {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        Validators {
            // Size and modification time in nanoseconds: a replaced file gets a new tag.
            etag: format!("\"{:x}-{:x}\"", meta.len(), mtime.as_nanos()),
            last_modified: http_date(mtime.as_secs()),
        }
    }
}

/// Whether the client's cached copy is current (`If-None-Match` wins over `If-Modified-Since`).
pub fn not_modified(req: &Req, v: &Validators) -> bool {
    if let Some(inm) = req.header("if-none-match") {
        let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
        return inm.trim() == "*" || inm.split(',').any(|t| weak(t) == weak(&v.etag));
    }
    req.header("if-modified-since")
        .is_some_and(|since| since.trim() == v.last_modified)
}

/// A whole file with its type, validators and caching policy; 304 when the client has it.
pub fn serve_file(
    req: &Req,
    path: &Path,
    content_type: &str,
    cache_control: &str,
) -> Option<Reply> {
    let file = File::open(path).ok()?;
    let meta = file.metadata().ok().filter(|m| m.is_file())?;
    let v = Validators::of(&meta);
    let reply = if not_modified(req, &v) {
        Reply::empty(304)
    } else {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::File {
                file,
                offset: 0,
                len: meta.len(),
            },
        }
    };
    Some(
        reply
            .with_header("ETag", v.etag)
            .with_header("Last-Modified", v.last_modified)
            .with_header("Cache-Control", cache_control),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Req {
        Req {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: vec![],
        }
    }

    #[test]
    fn conditional_requests() {
        let v = Validators {
            etag: "\"1f-abc\"".into(),
            last_modified: "Sun, 06 Nov 1994 08:49:37 GMT".into(),
        };
        assert!(not_modified(&req(&[("if-none-match", "\"1f-abc\"")]), &v));
        assert!(not_modified(
            &req(&[("if-none-match", "\"x\", W/\"1f-abc\"")]),
            &v
        ));
        assert!(!not_modified(&req(&[("if-none-match", "\"other\"")]), &v));
        assert!(not_modified(
            &req(&[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")]),
            &v
        ));
        assert!(!not_modified(
            &req(&[("if-modified-since", "Mon, 07 Nov 1994 08:49:37 GMT")]),
            &v
        ));
        assert!(!not_modified(&req(&[]), &v));
        // If-None-Match takes precedence when both are sent.
        assert!(!not_modified(
            &req(&[
                ("if-none-match", "\"other\""),
                ("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")
            ]),
            &v
        ));
    }
}
