//! Self-test of the shared harness in `tests/common/`. It never starts the
//! offlinetube binary, so it passes whatever state `src/` is in.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    fake_ytdlp, fixture, fixture_bytes, get, http, http_open, wait_until, FixtureServer, TempDir,
};

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
    run_ytdlp(&["-o", &template, "--", url])
}

/// Real yt-dlp with `--no-config --no-cache-dir` and `args`; must succeed
/// within 60 s.
fn run_ytdlp(args: &[&str]) -> Output {
    let mut cmd = Command::new("yt-dlp");
    cmd.args(["--no-config", "--no-cache-dir"])
        .args(args)
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

// ---- FX-SLOW, FX-MULTI, FX-DASH ----

#[test]
fn slow_mode_paces_a_whole_file_with_content_length() {
    let fx = FixtureServer::with_fixtures();
    assert_eq!(
        fx.slow(),
        (1024, Duration::from_millis(500)),
        "CASES.md default"
    );
    let clip = fixture_bytes("clip.mp4");
    let chunk = 4096;
    fx.set_slow(chunk, Duration::from_millis(50));
    let pieces = clip.len().div_ceil(chunk) as u32;
    assert!(pieces >= 4, "clip.mp4 is only {} bytes", clip.len());

    let started = Instant::now();
    let r = get(&fx.slow_url("clip.mp4?n=1"));
    let took = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(!r.chunked);
    let len = clip.len().to_string();
    assert_eq!(r.header("content-length"), Some(len.as_str()));
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    assert_eq!(r.body, clip);
    // The first piece goes with the headers, then one per interval.
    let floor = Duration::from_millis(50) * (pieces - 1) * 8 / 10;
    assert!(took >= floor, "{pieces} pieces in {took:?} (< {floor:?})");

    // The CASES.md name is an alias for clip.mp4; a missing file is a 404.
    assert_eq!(get(&fx.url("slow.mp4")).body, clip);
    assert_eq!(get(&fx.slow_url("nope.mp4")).status, 404);
    let log = fx.requests();
    for line in ["GET /slow/clip.mp4?n=1", "GET /slow.mp4"] {
        assert!(log.iter().any(|l| l == line), "{line:?} not in {log:?}");
    }
}

#[test]
fn slow_mode_honours_range_and_head() {
    let fx = FixtureServer::with_fixtures();
    fx.set_slow(64 * 1024, Duration::from_millis(50));
    let clip = fixture_bytes("clip.mp4");
    let n = clip.len();
    let url = fx.slow_url("clip.mp4");

    let r = http("GET", &url, &[("Range", "bytes=10000-")], None);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &clip[10_000..]);
    let want = (n - 10_000).to_string();
    assert_eq!(r.header("content-length"), Some(want.as_str()));
    let want = format!("bytes 10000-{}/{n}", n - 1);
    assert_eq!(r.header("content-range"), Some(want.as_str()));
    let r = http("GET", &url, &[("Range", "bytes=0-99")], None);
    assert_eq!((r.status, &r.body[..]), (206, &clip[..100]));
    let r = http("GET", &url, &[("Range", &format!("bytes={n}-"))], None);
    assert_eq!((r.status, r.body.len()), (416, 0));

    let r = http("HEAD", &url, &[], None);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
    let ranges = fx.ranges();
    assert_eq!(
        ranges.first(),
        Some(&("GET /slow/clip.mp4".to_string(), "bytes=10000-".to_string()))
    );
}

/// yt-dlp resumes a `.part` from `/slow/` with `Range: bytes=<part size>-`.
#[test]
fn real_ytdlp_resumes_a_slow_download() {
    let fx = FixtureServer::with_fixtures();
    fx.set_slow(8 * 1024, Duration::from_millis(20));
    let clip = fixture_bytes("clip.mp4");
    let out = TempDir::new("offlinetube-ytdlp");
    std::fs::write(out.path().join("clip.mp4.part"), &clip[..10_000]).unwrap();

    let run = ytdlp(out.path(), &fx.slow_url("clip.mp4?n=1"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("Resuming download at byte 10000"),
        "{stdout}"
    );
    assert_eq!(std::fs::read(out.path().join("clip.mp4")).unwrap(), clip);
    let ranges = fx.ranges();
    assert!(
        ranges.contains(&(
            "GET /slow/clip.mp4?n=1".to_string(),
            "bytes=10000-".to_string()
        )),
        "{ranges:?}"
    );
}

#[test]
fn fast_requests_are_served_while_a_slow_one_runs() {
    let fx = FixtureServer::with_fixtures();
    // clip.mp4 at 1 KiB every 100 ms: over two seconds.
    fx.set_slow(1024, Duration::from_millis(100));
    let clip = fixture_bytes("clip.mp4");
    let slow_url = fx.slow_url("clip.mp4");
    let slow = std::thread::spawn(move || get(&slow_url));
    assert!(wait_until(Duration::from_secs(5), || fx.in_flight() == 1));

    let started = Instant::now();
    let r = get(&fx.url("clip.mp4"));
    assert_eq!(r.body, clip);
    let r = get(&fx.url("thumb.jpg"));
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "fast requests took {:?}",
        started.elapsed()
    );
    assert!(!slow.is_finished(), "slow request already done");

    // Dropping the server cuts the slow body short and closes it.
    let started = Instant::now();
    drop(fx);
    let r = slow.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(r.status, 200);
    assert!(
        !r.body.is_empty() && r.body.len() < clip.len(),
        "{} bytes",
        r.body.len()
    );
    assert_eq!(r.body, &clip[..r.body.len()]);
}

#[test]
fn chunked_mode_really_is_chunked() {
    let fx = FixtureServer::with_fixtures();
    let clip = fixture_bytes("clip.mp4");
    for url in [
        fx.chunked_url("clip.mp4?x=1"),
        fx.url("chunked.mp4"),
        fx.url("slow/chunked/clip.mp4"),
    ] {
        fx.set_slow(8 * 1024, Duration::from_millis(10));
        let r = get(&url);
        assert_eq!(r.status, 200, "{url}");
        assert!(r.chunked, "{url}: {:?}", r.headers);
        assert_eq!(r.header("content-length"), None, "{url}");
        assert_eq!(r.header("content-type"), Some("video/mp4"));
        assert_eq!(r.body, clip, "{url}");
    }
    // Chunk framing on the wire: several small chunks, then the last one.
    let (r, mut reader) = http_open("GET", &fx.chunked_url("clip.mp4"), &[], None).unwrap();
    assert!(r.chunked);
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut raw).unwrap();
    assert!(raw.starts_with(b"1000\r\n"), "{:?}", &raw[..8]);
    assert!(raw.ends_with(b"\r\n0\r\n\r\n"));
}

#[test]
fn stall_sends_nothing_then_closes() {
    use std::io::{Read, Write};
    let fx = FixtureServer::with_fixtures();
    let open = |path: &str| {
        let mut s =
            std::net::TcpStream::connect(fx.base_url().trim_start_matches("http://")).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        s
    };
    // Default (20 s): silent for a second, then closed by dropping the server.
    let mut s = open("/stall/clip.mp4");
    s.set_read_timeout(Some(Duration::from_millis(1100)))
        .unwrap();
    let mut buf = [0u8; 64];
    let err = s.read(&mut buf).expect_err("stall sent something");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert_eq!(fx.in_flight(), 1);

    // A short stall closes the connection by itself, still with no bytes.
    fx.set_stall(Duration::from_millis(300));
    let mut short = open("/stall.mp4");
    short
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    assert_eq!(short.read(&mut buf).unwrap(), 0, "stall sent bytes");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(fx.requests().contains(&"GET /stall/clip.mp4".to_string()));

    drop(fx);
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(s.read(&mut buf).unwrap(), 0, "stall sent bytes");
}

#[test]
fn multi_page_is_a_three_item_playlist_for_ytdlp() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_multi_page(
        "multi.html",
        "multi",
        &["clip.mp4?i=1", "clip.mp4?i=2", "/slow/clip.mp4?n=3"],
    );
    let html = get(&page).text();
    assert_eq!(html.matches("<video ").count(), 3, "{html}");
    let want = format!(r#"<video controls src="{}/clip.mp4?i=1">"#, fx.base_url());
    assert!(html.contains(&want), "{html}");

    let out = run_ytdlp(&["--flat-playlist", "-J", "--", &page]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("yt-dlp -J output");
    assert_eq!(info["_type"], "playlist", "{info}");
    let entries = info["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3, "{info}");
    let ids: Vec<_> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["multi-1", "multi-2", "multi-3"]);
    assert_eq!(entries[0]["title"], "multi (1)");
    assert_eq!(entries[2]["url"], fx.slow_url("clip.mp4?n=3"));
}

#[test]
fn real_ytdlp_merges_the_dash_fixture() {
    let fx = FixtureServer::with_fixtures();
    let manifest = fx.url("dash/manifest.mpd");
    let r = get(&manifest);
    assert_eq!(r.header("content-type"), Some("application/dash+xml"));
    let r = get(&fx.url("dash/init-stream0.m4s"));
    assert_eq!(r.header("content-type"), Some("video/iso.segment"));
    for seg in common::fixtures::DASH_SEGMENTS {
        assert!(fx.dir().join(seg).is_file(), "{seg} not copied");
    }

    let out = TempDir::new("offlinetube-ytdlp");
    let run = ytdlp(out.path(), &manifest);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let dir = out.path().display();
    for line in [
        format!("Destination: {dir}/manifest.f0.mp4"),
        format!("Destination: {dir}/manifest.f1.m4a"),
        format!("[Merger] Merging formats into \"{dir}/manifest.mp4\""),
    ] {
        assert!(stdout.contains(&line), "{line:?} not in\n{stdout}");
    }
    let names: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["manifest.mp4"]);
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
        ])
        .arg(out.path().join("manifest.mp4"))
        .output()
        .expect("ffprobe");
    let streams = String::from_utf8_lossy(&probe.stdout);
    assert!(
        streams.contains("video") && streams.contains("audio"),
        "{streams}"
    );
}
