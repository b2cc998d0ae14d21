//! Self-test of the shared harness in `tests/common/`. It never starts the
//! offlinetube binary, so it passes whatever state `src/` is in.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{fake_ytdlp, fixture, fixture_bytes, get, http, wait_until, FixtureServer, TempDir};

#[test]
fn fixtures_are_small_real_media() {
    let clip = fixture_bytes("clip.mp4");
    let clip2 = fixture_bytes("clip2.mp4");
    assert!(
        (10_000..100_000).contains(&clip.len()),
        "clip.mp4 is {} bytes",
        clip.len()
    );
    assert_eq!(&clip[4..8], b"ftyp", "clip.mp4 is not an MP4");
    assert_eq!(&clip2[4..8], b"ftyp", "clip2.mp4 is not an MP4");
    assert_ne!(clip, clip2, "clip2.mp4 must differ from clip.mp4");
    assert_eq!(fixture_bytes("dQw4w9WgXcQ.mp4"), clip);

    let jpg = fixture_bytes("thumb.jpg");
    let png = fixture_bytes("thumb.png");
    assert!(jpg.len() >= 4096, "thumb.jpg is only {} bytes", jpg.len());
    assert!(jpg.starts_with(b"\xff\xd8\xff"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let webp = fixture_bytes("thumb.webp");
    assert!(webp.starts_with(b"RIFF") && &webp[8..12] == b"WEBP");
    assert_eq!(fixture_bytes("thumb.jpeg"), jpg);
    assert_eq!(fixture_bytes("wrong.jpg"), png);
    assert_eq!(fixture_bytes("thumb.php"), png);
}

#[test]
fn fixture_server_serves_files_with_length_range_and_head() {
    let fx = FixtureServer::with_fixtures();
    let clip = fixture_bytes("clip.mp4");
    let n = clip.len();

    let r = get(&fx.url("clip.mp4"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, clip);
    assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    assert!(!r.chunked);

    // Above tiny_http's 32 KiB chunking threshold: still a plain body.
    let big = vec![7u8; 100_000];
    let r = get(&fx.write_file("big.bin", &big));
    assert_eq!((r.status, r.chunked), (200, false));
    assert_eq!(r.header("content-length"), Some("100000"));
    assert_eq!(r.body, big);

    let range = |spec: &str| http("GET", &fx.url("clip.mp4"), &[("Range", spec)], None);
    let r = range("bytes=0-99");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &clip[..100]);
    assert_eq!(r.header("content-length"), Some("100"));
    let want = format!("bytes 0-99/{n}");
    assert_eq!(r.header("content-range"), Some(want.as_str()));
    let r = range("bytes=100-");
    assert_eq!((r.status, &r.body[..]), (206, &clip[100..]));
    let r = range("bytes=-10");
    assert_eq!((r.status, &r.body[..]), (206, &clip[n - 10..]));
    let r = range(&format!("bytes={n}-"));
    assert_eq!(r.status, 416);
    let want = format!("bytes */{n}");
    assert_eq!(r.header("content-range"), Some(want.as_str()));

    let r = http("HEAD", &fx.url("thumb.jpg"), &[], None);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let len = std::fs::metadata(fixture("thumb.jpg")).unwrap().len();
    assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    // An unusual extension is sniffed, like a script that emits an image.
    assert_eq!(
        get(&fx.url("thumb.php?id=1")).header("content-type"),
        Some("image/png")
    );
    assert_eq!(get(&fx.url("nope.mp4")).status, 404);
    assert_eq!(get(&fx.url("../clip.mp4")).status, 404);

    let log = fx.requests();
    for line in [
        "GET /clip.mp4",
        "HEAD /thumb.jpg",
        "GET /thumb.php?id=1",
        "GET /nope.mp4",
    ] {
        assert!(log.iter().any(|l| l == line), "{line:?} not in {log:?}");
    }
}

#[test]
fn raw_client_decodes_chunked_bodies() {
    let fx = FixtureServer::with_fixtures();
    // `TE: chunked` makes tiny_http chunk even with a known length.
    let r = http("GET", &fx.url("clip2.mp4"), &[("TE", "chunked")], None);
    assert!(r.chunked, "expected a chunked reply: {:?}", r.headers);
    assert_eq!(r.body, fixture_bytes("clip2.mp4"));
}

#[test]
fn write_page_has_escaped_og_tags() {
    let fx = FixtureServer::with_fixtures();
    let url = fx.write_page(
        "p.html",
        "Tom & \"Jerry\" <3",
        Some("thumb.jpg"),
        "/clip.mp4",
    );
    let r = get(&url);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let html = r.text();
    assert!(
        html.contains(r#"<meta property="og:title" content="Tom &amp; &quot;Jerry&quot; &lt;3">"#)
    );
    let image = format!(
        r#"<meta property="og:image" content="{}/thumb.jpg">"#,
        fx.base_url()
    );
    let video = format!(
        r#"<meta property="og:video" content="{}/clip.mp4">"#,
        fx.base_url()
    );
    assert!(html.contains(&image) && html.contains(&video), "{html}");
    let no_image = fx.write_page("q.html", "t", None, "clip.mp4");
    assert!(!get(&no_image).text().contains("og:image"));
}

/// The end-to-end premise: real yt-dlp's generic extractor downloads a
/// fixture page from the fixture server, byte for byte, and resumes with Range.
#[test]
fn real_ytdlp_downloads_a_fixture_page() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("watch.html", "A clip", Some("thumb.jpg"), "clip.mp4");
    let out = TempDir::new("offlinetube-ytdlp");

    let run = ytdlp(out.path(), &page);
    let saved = out.path().join("clip.mp4"); // id = basename of og:video
    assert_eq!(
        std::fs::read(&saved).ok(),
        Some(fixture_bytes("clip.mp4")),
        "{run:?}"
    );
    let log = fx.requests();
    assert!(log.contains(&"GET /clip.mp4".to_string()), "{log:?}");

    // A partial file is resumed with `Range: bytes=10000-`.
    std::fs::remove_file(&saved).unwrap();
    std::fs::write(
        out.path().join("clip.mp4.part"),
        &fixture_bytes("clip.mp4")[..10_000],
    )
    .unwrap();
    let run = ytdlp(out.path(), &page);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("Resuming download at byte 10000"),
        "{stdout}"
    );
    assert_eq!(std::fs::read(&saved).unwrap(), fixture_bytes("clip.mp4"));
}

fn ytdlp(out_dir: &Path, url: &str) -> Output {
    let template = format!("{}/%(id)s.%(ext)s", out_dir.display());
    let mut cmd = Command::new("yt-dlp");
    cmd.args(["--no-config", "--no-cache-dir", "-o", &template, "--", url])
        .stdin(Stdio::null());
    // output() on a thread: reads both pipes fully, and we can time it out.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(cmd.output()));
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("yt-dlp ran for over 60 s")
        .expect("yt-dlp must be on PATH for the end-to-end tests (pip install yt-dlp)");
    assert!(
        out.status.success(),
        "yt-dlp failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn fake_ytdlp_is_an_executable_script() {
    let dir = TempDir::new("offlinetube-fake");
    let fake = fake_ytdlp(dir.path(), r#"echo "args: $*"; echo oops >&2; exit 3"#);
    let out = Command::new(&fake)
        .args(["--version", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "args: --version x\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert!(!wait_until(Duration::from_millis(120), || false));
}
