//! The web page in a real browser: headless Chromium (`/usr/bin/chromium`) driven by
//! `tests/browser/ui.mjs` through playwright-core, against the real server and the real yt-dlp
//! downloading from the loopback fixture server.
//!
//! Five servers: one empty (empty state, a whole download of `big.mp4` watched in the page,
//! play, seek, remove; then looking a link up and choosing a format, a download with
//! subtitles played with its `<track>`, and the cookies settings), one started on a
//! `tasks.json` of 500 tasks (time to interactive, screenshots at 360 and 1440 px, one card
//! updated per event), one with `--token` (the token prompt and its cookie), one whose yt-dlp
//! is missing (the warning banner) and one whose (fake) yt-dlp is old, with an update command
//! that makes it new (the freshness banner and "Update yt-dlp").
//! Screenshots land in `target/screenshots/`.
//!
//! Needs node, `/usr/bin/chromium` and `tests/browser/node_modules` (`make deps` installs
//! them). Set `OFFLINETUBE_SKIP_BROWSER=1` to skip on a machine without a browser.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NODE_TIMEOUT: Duration = Duration::from_secs(420);
const TOKEN: &str = "s3cret-T0ken_for-the-browser";
const MANY: usize = 500;
/// The version the fake yt-dlp of the freshness server starts at: long ago.
const OLD_YTDLP: &str = "2025.01.02";

/// A tiny WebVTT file: what yt-dlp finds in the `<track>` of the subtitles page.
const SUBS_VTT: &str = "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello from the subtitles\n\n\
    00:00:01.500 --> 00:00:03.000\nSecond cue\n";

/// An html5 page yt-dlp's generic extractor reads: a `<video>` with an English `<track>`.
const SUBS_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n\
    <title>Subtitled clip</title>\n<meta property=\"og:title\" content=\"Subtitled clip\">\n\
    </head><body>\n<video controls src=\"clip.mp4\">\n\
    <track kind=\"subtitles\" src=\"subs.en.vtt\" srclang=\"en\" label=\"English\">\n\
    </video>\n</body></html>\n";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Why the browser test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    if !Path::new("/usr/bin/chromium").is_file() {
        return Some(
            "/usr/bin/chromium is missing (apt-get install chromium, or `make deps`)".into(),
        );
    }
    if !repo()
        .join("tests/browser/node_modules/playwright-core")
        .is_dir()
    {
        return Some(
            "tests/browser/node_modules is missing (npm ci --prefix tests/browser, or `make deps`)"
                .into(),
        );
    }
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("node is not on PATH".into()),
    }
}

/// Task `i` of the generated journal: ids and times that sort, most of them completed, a few
/// newest ones failed, cancelled, a playlist, and one whose title is HTML.
fn generated_task(i: usize) -> Value {
    let id = format!("{i:08x}-0000-4000-8000-{i:012x}");
    // Task 0 is the oldest; one minute apart, all on one day.
    let created = format!("2026-03-01T{:02}:{:02}:00Z", i / 60, i % 60);
    let title = match i {
        499 => "<img src=x onerror=\"window.__xss=1\"> a title that is markup".to_string(),
        497 => format!(
            "A very long title that goes on and on {} and should wrap or be clamped nicely",
            "without any spaces-".repeat(6)
        ),
        496 => "Ünïcödé títle ✓ 🎬 日本語のタイトル".to_string(),
        _ => format!("Sample video {i:03}"),
    };
    let status = match i {
        498 => "error",
        495 => "cancelled",
        _ => "completed",
    };
    let safe_title = format!("Sample video {i:03}");
    let (files, filename, is_playlist, total) = if i == 494 {
        let files: Vec<Value> = (1..=3)
            .map(|n| {
                json!({"filename": format!("{safe_title}__{id}_{n}.mp4"),
                       "title": format!("Playlist entry {n}"), "filesize": 12_345 * n})
            })
            .collect();
        let first = files[0]["filename"].as_str().unwrap().to_string();
        (files, first, true, 3)
    } else if status == "completed" {
        let name = format!("{safe_title}__{id}.mp4");
        (
            vec![json!({"filename": name, "title": title, "filesize": 1_234_567 + i})],
            name,
            false,
            1,
        )
    } else {
        (vec![], String::new(), false, 1)
    };
    let done = status == "completed";
    json!({
        "id": id,
        "url": format!("https://videos.example.test/watch?v={i:05}"),
        "title": title,
        "thumbnail": format!("/api/thumbnails/{id}"),
        "status": status,
        "progress": if done { 100.0 } else { 37.5 },
        "speed": "",
        "eta": "",
        "filesize": if done { 1_234_567 + i } else { 0 },
        "downloaded_bytes": if done { 1_234_567 + i } else { 0 },
        "format_note": if i.is_multiple_of(3) { "1080p" } else { "720p" },
        "is_playlist": is_playlist,
        "playlist_index": if is_playlist { 3 } else { 0 },
        "playlist_total": total,
        "filename": filename,
        "quality": "best",
        "download_type": "video",
        "format_id": null,
        "audio_format": null,
        "error_message": if status == "error" {
            json!("ERROR: [generic] Unable to download webpage: HTTP Error 403: Forbidden")
        } else {
            Value::Null
        },
        "created_at": created,
        "completed_at": if done { json!(created) } else { Value::Null },
        "files": files,
        "video_id": null,
        "extractor": "generic",
        "duration": 10.0,
        "uploader": null,
        "started_at": created,
        "updated_at": created,
    })
}

/// A fake yt-dlp in `dir` that says it is `OLD_YTDLP` (the version lives in `dir/version`),
/// and an update command that, after a second, makes it today's release. Returns the path
/// of the update command.
fn stale_ytdlp(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let version = dir.join("version");
    std::fs::write(&version, format!("{OLD_YTDLP}\n")).unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let ytdlp = fake_ytdlp(
        &bin,
        &format!(
            "if [ \"$1\" = --version ]; then cat '{}'; exit 0; fi\n\
             echo 'ERROR: this fake yt-dlp only tells its version' >&2\nexit 1",
            version.display()
        ),
    );
    let update = dir.join("update-ytdlp");
    std::fs::write(
        &update,
        format!(
            "#!/bin/sh\necho 'Updating yt-dlp (fake)'\nsleep 1\n\
             date -u +%Y.%m.%d > '{v}'\necho \"Updated yt-dlp to $(cat '{v}')\"\n",
            v = version.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&update, std::fs::Permissions::from_mode(0o755)).unwrap();
    (ytdlp, update)
}

/// A data dir holding `tasks.json` with `MANY` tasks, a thumbnail for each and (hard links to)
/// a real clip for each finished file, so every link the page shows works.
fn many_tasks_dir(dir: &Path) {
    let downloads = dir.join("downloads");
    let thumbs = dir.join("thumbnails");
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::create_dir_all(&thumbs).unwrap();
    let tasks: Vec<Value> = (0..MANY).map(generated_task).collect();
    let link = |from: &Path, to: &Path| {
        if std::fs::hard_link(from, to).is_err() {
            std::fs::copy(from, to).expect("copy fixture");
        }
    };
    for t in &tasks {
        let id = t["id"].as_str().unwrap();
        link(&fixture("thumb.jpg"), &thumbs.join(format!("{id}.jpg")));
        for f in t["files"].as_array().unwrap() {
            link(
                &fixture("clip.mp4"),
                &downloads.join(f["filename"].as_str().unwrap()),
            );
        }
    }
    std::fs::write(
        dir.join("tasks.json"),
        serde_json::to_vec_pretty(&tasks).unwrap(),
    )
    .unwrap();
}

#[test]
fn the_page_in_headless_chromium() {
    if std::env::var_os("OFFLINETUBE_SKIP_BROWSER").is_some() {
        eprintln!("OFFLINETUBE_SKIP_BROWSER is set: browser test skipped");
        return;
    }
    if let Some(why) = missing_prerequisite() {
        panic!("the browser test cannot run: {why}. Set OFFLINETUBE_SKIP_BROWSER=1 to skip it.");
    }

    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("big.html", "Big test clip", Some("thumb.jpg"), "big.mp4");
    let live_page = fx.write_page(
        "live.html",
        "Live event clip",
        Some("thumb.jpg"),
        "clip.mp4",
    );
    let error_page = fx.url("missing-page.html");
    // About 640 KB/s: big.mp4 takes several seconds, long enough to watch and cancel.
    fx.set_slow(32 * 1024, Duration::from_millis(50));
    let slow_page = fx.write_page(
        "slow.html",
        "Slow test clip",
        Some("thumb.jpg"),
        "slow/big.mp4",
    );

    let args = ["--min-free-mb", "0"];
    let server = Server::start(&args);

    let many_dir = TempDir::new("offlinetube-ui-many");
    many_tasks_dir(many_dir.path());
    let many = Server::start_in(many_dir.path(), &args);
    assert_eq!(
        get(&many.url("/api/downloads"))
            .json()
            .as_array()
            .map(Vec::len),
        Some(MANY),
        "the server did not load the generated tasks.json"
    );

    let token = Server::start(&["--min-free-mb", "0", "--token", TOKEN]);
    let no_ytdlp = Server::start(&["--min-free-mb", "0", "--yt-dlp", "/nonexistent/yt-dlp"]);

    // Looking links up, and subtitles: a playlist page and an html5 page with a <track>.
    let multi_page = fx.write_multi_page("multi.html", "Two clips", &["clip.mp4?i=1", "clip2.mp4"]);
    fx.write_file("subs.en.vtt", SUBS_VTT.as_bytes());
    let subs_page = fx.write_file("subs.html", SUBS_PAGE.as_bytes());

    // yt-dlp freshness: an old fake yt-dlp and an update command that makes it new.
    let stale_dir = TempDir::new("offlinetube-ui-stale");
    let (stale_ytdlp, update_cmd) = stale_ytdlp(stale_dir.path());
    let stale = Server::start(&[
        "--min-free-mb",
        "0",
        "--yt-dlp",
        stale_ytdlp.to_str().unwrap(),
        "--ytdlp-update-cmd",
        update_cmd.to_str().unwrap(),
    ]);
    assert_eq!(
        get(&stale.url("/api/health")).json()["yt_dlp"],
        OLD_YTDLP,
        "the fake yt-dlp's version"
    );

    let shots = repo().join("target/screenshots");
    let started = Instant::now();
    let mut child = Command::new("node")
        .arg("tests/browser/ui.mjs")
        .args(["--base", &server.base_url()])
        .args(["--page", &page])
        .args(["--error-page", &error_page])
        .args(["--slow-page", &slow_page])
        .args(["--shots", shots.to_str().unwrap()])
        .args(["--many-base", &many.base_url()])
        .args(["--live-page", &live_page])
        .args(["--token-base", &token.base_url()])
        .args(["--token", TOKEN])
        .args(["--no-ytdlp-base", &no_ytdlp.base_url()])
        .args(["--multi-page", &multi_page])
        .args(["--subs-page", &subs_page])
        .args(["--stale-base", &stale.base_url()])
        .args(["--stale-version", OLD_YTDLP])
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start node");

    // Drain both pipes while waiting, so a chatty run never blocks on a full pipe.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > NODE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let report = format!(
        "--- node stdout ---\n{out}\n--- node stderr ---\n{err}\n--- end ({:.1} s) ---",
        started.elapsed().as_secs_f64()
    );
    // Shown with --nocapture (and by the harness on failure).
    println!("{report}");
    match status {
        None => panic!("ui.mjs did not finish within {NODE_TIMEOUT:?}\n{report}"),
        Some(s) if !s.success() => panic!("ui.mjs failed ({s})\n{report}"),
        Some(_) => {}
    }
    assert!(
        out.contains("INTERACTIVE-500:"),
        "ui.mjs did not measure the 500-task page\n{report}"
    );
    // The page's "Update yt-dlp" really ran the update command.
    let health = get(&stale.url("/api/health")).json();
    assert_ne!(health["yt_dlp"], OLD_YTDLP, "{health}");
    assert_eq!(health["warnings"], json!([]), "{health}");
}
