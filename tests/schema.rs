//! The OpenAPI document: the server serves `openapi.json` as it is in the repository, and
//! schema-driven fuzzing (Schemathesis, through tests/schemathesis/run.sh) finds no 5xx and no
//! status, Content-Type or body that the document does not describe.

mod common;

use common::*;
use std::process::Command;

#[test]
fn serves_the_openapi_document() {
    let server = Server::start(&["--yt-dlp", "/nonexistent/yt-dlp"]);
    let r = get(&server.url("/api/openapi.json"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.body == include_bytes!("../openapi.json"),
        "GET /api/openapi.json is not openapi.json"
    );
    let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("the document is JSON");
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["paths"]["/api/download"]["post"].is_object());
}

#[test]
fn schemathesis_finds_nothing() {
    let out = Command::new("bash")
        .arg("tests/schemathesis/run.sh")
        .arg(env!("CARGO_BIN_EXE_offlinetube"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("starting bash tests/schemathesis/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/schemathesis/run.sh failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
}
