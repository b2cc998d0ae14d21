//! The main job end to end, with the real yt-dlp against a loopback fixture server:
//! a URL becomes a stored video and a thumbnail, and both survive a restart.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const DONE: Duration = Duration::from_secs(60);

fn start_download(server: &Server, url: &str) -> Value {
    let r = post_json(&server.url("/api/download"), &json!({ "url": url }));
    assert_eq!(r.status, 200, "{}", r.text());
    let task = r.json();
    assert_eq!(task["status"], "pending");
    assert_eq!(
        r.header("location").unwrap(),
        format!("/api/downloads/{}", task["id"].as_str().unwrap())
    );
    task
}

fn download(server: &Server, url: &str) -> Value {
    let task = start_download(server, url);
    server.poll_task(task["id"].as_str().unwrap(), DONE)
}

/// Names in the downloads folder that hold `id`.
fn files_of(server: &Server, id: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(server.downloads_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(id))
        .collect();
    names.sort();
    names
}

#[test]
fn a_page_becomes_a_stored_video_and_thumbnail() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("page.html", "My test clip", Some("thumb.jpg"), "clip.mp4");
    let server = Server::start(&[]);
    let task = download(&server, &page);
    let id = task["id"].as_str().unwrap();

    assert_eq!(task["status"], "completed", "{task:#}");
    assert_eq!(task["progress"], 100.0);
    assert_eq!(task["title"], "My test clip");
    assert_eq!(task["video_id"], "clip");
    assert_eq!(task["extractor"], "generic");
    assert_eq!(task["error_message"], Value::Null);
    assert!(task["completed_at"].as_str().unwrap().ends_with('Z'));
    let name = format!("My test clip__{id}.mp4");
    assert_eq!(task["filename"], name.as_str());
    let clip = fixture_bytes("clip.mp4");
    assert_eq!(task["filesize"], clip.len() as u64);
    assert_eq!(task["downloaded_bytes"], clip.len() as u64);
    assert_eq!(
        task["files"],
        json!([{ "filename": name, "title": "My test clip", "filesize": clip.len() }])
    );
    let stored = std::fs::read(server.downloads_dir().join(&name)).unwrap();
    assert!(
        stored == clip,
        "the stored video differs from the served clip"
    );
    assert_eq!(
        files_of(&server, id),
        vec![name],
        "nothing else of the task is left behind"
    );

    assert_eq!(task["thumbnail"], format!("/api/thumbnails/{id}"));
    let thumb = get(&server.url(&format!("/api/thumbnails/{id}")));
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    let jpg = fixture_bytes("thumb.jpg");
    assert_eq!(
        thumb.header("content-length"),
        Some(jpg.len().to_string().as_str())
    );
    assert!(thumb.body == jpg, "the thumbnail is not the og:image");
    assert!(!thumb.chunked);
    assert!(server.thumbnails_dir().join(format!("{id}.jpg")).is_file());

    let one = get(&server.url(&format!("/api/downloads/{id}"))).json();
    assert_eq!(one, task);
    let list = get(&server.url("/api/downloads")).json();
    assert_eq!(list, json!([task]));
    let done = get(&server.url("/api/downloads?status=completed,error")).json();
    assert_eq!(done.as_array().unwrap().len(), 1);
    let none = get(&server.url("/api/downloads?status=pending")).json();
    assert_eq!(none, json!([]));

    let metrics = get(&server.url("/metrics")).text();
    for line in [
        "offlinetube_tasks{status=\"completed\"} 1",
        "offlinetube_downloads_total{event=\"started\"} 1",
        "offlinetube_downloads_total{event=\"completed\"} 1",
        &format!("offlinetube_downloaded_bytes {}", clip.len()),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line:?} not in\n{metrics}"
        );
    }
}

#[test]
fn thumbnail_lookup_prefers_jpg_then_webp_then_png() {
    let server = Server::start(&[]);
    let id = "3f2b8c1e-7d4a-4b6e-9c0d-1a2b3c4d5e6f";
    let dir = server.thumbnails_dir();
    std::fs::copy(fixture("thumb.png"), dir.join(format!("{id}.png"))).unwrap();
    std::fs::copy(fixture("thumb.webp"), dir.join(format!("{id}.webp"))).unwrap();
    let r = get(&server.url(&format!("/api/thumbnails/{id}")));
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/webp"))
    );
    assert!(r.body == fixture_bytes("thumb.webp"));
    std::fs::remove_file(dir.join(format!("{id}.webp"))).unwrap();
    let r = get(&server.url(&format!("/api/thumbnails/{id}")));
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/png"))
    );

    let etag = r.header("etag").unwrap().to_string();
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    assert!(r.header("last-modified").is_some());
    let again = http(
        "GET",
        &server.url(&format!("/api/thumbnails/{id}")),
        &[("If-None-Match", &etag)],
        None,
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let head = http(
        "HEAD",
        &server.url(&format!("/api/thumbnails/{id}")),
        &[],
        None,
    );
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(fixture_bytes("thumb.png").len().to_string().as_str())
    );
    assert!(head.body.is_empty());
}

#[test]
fn unknown_or_hostile_thumbnail_ids_get_the_seed_404() {
    let server = Server::start(&[]);
    for id in [
        "6f1c1a52-9a7e-4d8b-8f0e-2f2b3f0d1e11",
        "..%2f..%2fetc%2fpasswd",
        "..%252f..%252fetc%252fpasswd",
        "%2e%2e",
        "not-a-task",
    ] {
        let r = get(&server.url(&format!("/api/thumbnails/{id}")));
        assert_eq!(r.status, 404, "{id}");
        assert_eq!(
            r.json(),
            json!({"detail": "Miniatura no encontrada", "code": "thumbnail_not_found"}),
            "{id}"
        );
    }
}

#[test]
fn without_an_og_image_the_youtube_fallback_is_fetched() {
    let fx = FixtureServer::with_fixtures();
    std::fs::create_dir_all(fx.dir().join("vi/dQw4w9WgXcQ")).unwrap();
    fx.write_file("vi/dQw4w9WgXcQ/hqdefault.jpg", &fixture_bytes("thumb.jpeg"));
    let page = fx.write_page("nothumb.html", "No image here", None, "dQw4w9WgXcQ.mp4");
    let base = fx.url("vi");
    let server = Server::start(&["--thumbnail-fallback-base", &base]);
    let task = download(&server, &page);
    let id = task["id"].as_str().unwrap();
    assert_eq!(task["status"], "completed", "{task:#}");
    assert_eq!(task["thumbnail"], format!("/api/thumbnails/{id}"));
    assert!(
        fx.requests()
            .iter()
            .any(|r| r == "GET /vi/dQw4w9WgXcQ/hqdefault.jpg"),
        "{:?}",
        fx.requests()
    );
    let thumb = get(&server.url(&format!("/api/thumbnails/{id}")));
    assert_eq!(
        (thumb.status, thumb.header("content-type")),
        (200, Some("image/jpeg"))
    );
    assert!(thumb.body == fixture_bytes("thumb.jpeg"));
}

#[test]
fn a_thumbnail_with_an_unusual_extension_does_not_fail_the_video() {
    // BR-06: yt-dlp refuses og:image `thumb.php?id=1` and fails the whole run.
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("php.html", "Odd image", Some("thumb.php?id=1"), "clip.mp4");
    let server = Server::start(&[]);
    let task = download(&server, &page);
    let id = task["id"].as_str().unwrap();
    assert_eq!(task["status"], "completed", "{task:#}");
    assert!(
        std::fs::read(
            server
                .downloads_dir()
                .join(task["filename"].as_str().unwrap())
        )
        .unwrap()
            == fixture_bytes("clip.mp4")
    );
    assert_eq!(
        files_of(&server, id).len(),
        1,
        "no stray files: {:?}",
        files_of(&server, id)
    );
    // The server fetched the image itself and named it by its bytes (PNG).
    let thumb = get(&server.url(&format!("/api/thumbnails/{id}")));
    assert_eq!(
        (thumb.status, thumb.header("content-type")),
        (200, Some("image/png"))
    );
    assert!(thumb.body == fixture_bytes("thumb.php"));
}

#[test]
fn thumbnails_are_typed_by_their_bytes() {
    // BR-09: PNG bytes under a .jpg name; and a .webp og:image stays webp.
    let fx = FixtureServer::with_fixtures();
    let wrong = fx.write_page(
        "wrong.html",
        "Wrong extension",
        Some("wrong.jpg"),
        "clip.mp4",
    );
    let webp = fx.write_page("webp.html", "Webp image", Some("thumb.webp"), "clip2.mp4");
    let server = Server::start(&[]);
    let a = start_download(&server, &wrong);
    let b = start_download(&server, &webp);
    for (task, mime, fixture_name) in [
        (a, "image/png", "wrong.jpg"),
        (b, "image/webp", "thumb.webp"),
    ] {
        let id = task["id"].as_str().unwrap();
        let task = server.poll_task(id, DONE);
        assert_eq!(task["status"], "completed", "{task:#}");
        let thumb = get(&server.url(&format!("/api/thumbnails/{id}")));
        assert_eq!(
            (thumb.status, thumb.header("content-type")),
            (200, Some(mime))
        );
        assert!(thumb.body == fixture_bytes(fixture_name));
        let stored: Vec<_> = std::fs::read_dir(server.thumbnails_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(id))
            .collect();
        assert_eq!(
            stored.len(),
            1,
            "exactly one thumbnail per task: {stored:?}"
        );
    }
}

#[test]
fn awkward_titles_make_safe_names_of_at_most_255_bytes() {
    // BR-01 and BR-03: long CJK+emoji titles, and reserved characters.
    let fx = FixtureServer::with_fixtures();
    let long_title = "漢字かな交じり文🎬".repeat(30); // 30 × 31 bytes = 930 bytes
    let long = fx.write_page("long.html", &long_title, Some("thumb.jpg"), "clip.mp4");
    let odd = fx.write_page(
        "odd.html",
        "-What? /a\\b \"c\" #15 100%25 🎬",
        None,
        "clip2.mp4",
    );
    let server = Server::start(&[]);
    for (page, title) in [
        (long, long_title.as_str()),
        (odd, "-What? /a\\b \"c\" #15 100%25 🎬"),
    ] {
        let task = download(&server, &page);
        let id = task["id"].as_str().unwrap();
        assert_eq!(task["status"], "completed", "{task:#}");
        assert_eq!(task["title"], title);
        let name = task["filename"].as_str().unwrap();
        assert!(name.len() <= 255, "{} bytes", name.len());
        let title_part = name.split(&format!("__{id}")).next().unwrap();
        assert!(title_part.len() <= 150, "{title_part}");
        assert!(
            !title_part.contains(['/', '\\', '"', '?', ':', '*', '<', '>', '|']),
            "{title_part}"
        );
        assert!(!title_part.starts_with(['-', '.']), "{title_part}");
        assert!(name.ends_with(&format!("__{id}.mp4")), "{name}");
        assert!(server.downloads_dir().join(name).is_file());
        assert_eq!(files_of(&server, id), vec![name.to_string()]);
    }
}

#[test]
fn a_restart_keeps_finished_tasks_unchanged() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page(
        "page.html",
        "Kept across restarts",
        Some("thumb.jpg"),
        "clip.mp4",
    );
    let mut server = Server::start(&[]);
    let task = download(&server, &page);
    assert_eq!(task["status"], "completed");
    server.stop();
    server.restart(&[]);
    let list = get(&server.url("/api/downloads")).json();
    assert_eq!(list, json!([task]));
    let id = task["id"].as_str().unwrap();
    assert_eq!(
        get(&server.url(&format!("/api/thumbnails/{id}"))).status,
        200
    );
}

#[test]
fn an_interrupted_download_is_resumed_after_a_crash() {
    // The first run of the fake hangs as a real download would; the server is killed with
    // SIGKILL; its yt-dlp must die with it, and the next start runs the task to the end.
    let tools = TempDir::new("fake");
    let marker = tools.path().join("started-once");
    let fake = fake_ytdlp(
        tools.path(),
        &format!(
            r#"[ "$1" = "--version" ] && {{ echo 2026.10.26; exit 0; }}
tmpl=$(printf '%s\n' "$@" | grep '__.*%(ext)s' | head -n1)
id=$(printf '%s' "$tmpl" | sed 's/.*__\([0-9a-f-]*\).*/\1/')
if [ ! -e {marker} ]; then
  touch {marker}
  echo 'OTPROG {{"status": "downloading", "downloaded_bytes": 10, "total_bytes": 100, "filename": "x"}}'
  echo $$ > {marker}
  exec sleep 30
fi
printf 'video' > "$TMPDIR_OUT/Resumed__$id.mp4"
echo "OTFILE \"$TMPDIR_OUT/Resumed__$id.mp4\""
"#,
            marker = marker.display()
        ),
    );
    let data = TempDir::new("data");
    let downloads = data.path().join("downloads");
    let fake_s = fake.to_str().unwrap();
    let envs = [("TMPDIR_OUT", downloads.to_str().unwrap())];
    let mut server = Server::start_with(Some(data.path()), &["--yt-dlp", fake_s], &envs);
    let task = start_download(&server, "http://127.0.0.1:9/resume-me");
    let id = task["id"].as_str().unwrap().to_string();
    assert!(
        wait_until(Duration::from_secs(20), || get(
            &server.url(&format!("/api/downloads/{id}"))
        )
        .json()["progress"]
            == 10.0),
        "the first run never reported progress"
    );
    let fake_pid: i32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    unsafe { libc::kill(server.pid() as i32, libc::SIGKILL) };
    server.stop();
    let gone = wait_until(
        Duration::from_secs(10),
        || unsafe { libc::kill(fake_pid, 0) } != 0,
    );
    assert!(gone, "yt-dlp (pid {fake_pid}) outlived the server");

    let server = Server::start_with(Some(data.path()), &["--yt-dlp", fake_s], &envs);
    let task = server.poll_task(&id, DONE);
    assert_eq!(task["status"], "completed", "{task:#}");
    assert_eq!(task["filename"], format!("Resumed__{id}.mp4"));
    assert_eq!(
        task["created_at"],
        get(&server.url("/api/downloads")).json()[0]["created_at"]
    );
}
