//! The web page: three files embedded in the binary, served with a policy that lets the page
//! load nothing but itself.

use crate::http::Reply;

const INDEX: &str = include_str!("../ui/index.html");
const SCRIPT: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/app.css");

const POLICY: &str = "default-src 'self'; img-src 'self' data:; media-src 'self'; \
    script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The asset at `path`, if it is one of the page's.
pub fn asset(path: &str) -> Option<Reply> {
    let (body, content_type) = match path {
        "/" | "/index.html" => (INDEX, "text/html; charset=utf-8"),
        "/app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "/app.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return None,
    };
    let reply = Reply {
        status: 200,
        headers: vec![
            ("Content-Type".into(), content_type.into()),
            // Embedded in the binary: a new version comes with a restart, so revalidate.
            ("Cache-Control".into(), "no-cache".into()),
            ("Content-Security-Policy".into(), POLICY.into()),
            ("Referrer-Policy".into(), "no-referrer".into()),
        ],
        body: crate::http::Body::Bytes(body.as_bytes().to_vec()),
    };
    Some(reply)
}
