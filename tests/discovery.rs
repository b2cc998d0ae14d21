//! Discovery: `/api/info`, `/api/video/info`, `/api/search`, `/api/trending`. Real yt-dlp
//! against loopback pages for info; a scripted yt-dlp for search (no video site is reachable
//! here) and for failures.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn info(server: &Server, url: &str) -> Resp {
    post_json(&server.url("/api/info"), &json!({ "url": url }))
}

#[test]
fn info_of_a_single_video_page() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("page.html", "Info me", Some("thumb.jpg"), "clip.mp4");
    let server = Server::start(&[]);
    let r = info(&server, &page);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["title"], "Info me");
    assert_eq!(v["id"], "clip");
    assert_eq!(v["url"], page.as_str());
    assert_eq!(v["thumbnail"], fx.url("thumb.jpg"));
    // Read from the media itself: the clip is 2 s long, 160x120, H.264 + AAC.
    let duration = v["duration"].as_f64().expect("a duration");
    assert!((duration - 2.0).abs() < 0.1, "{duration}");
    assert_eq!(v["duration_formatted"], "0:02");
    let formats = v["formats"].as_array().unwrap();
    assert!(!formats.is_empty());
    let f = formats
        .iter()
        .find(|f| f["has_video"] == true)
        .expect("a format with video");
    assert_eq!(
        (f["height"].as_u64(), f["has_audio"].as_bool()),
        (Some(120), Some(true))
    );
    assert!(v.get("is_playlist").is_none());

    // The same lookup again is answered from the cache: the page is not fetched twice.
    let fetched = || {
        fx.requests()
            .iter()
            .filter(|r| r.starts_with("GET /page.html"))
            .count()
    };
    let before = fetched();
    let encoded: String = page.bytes().map(|b| format!("%{b:02X}")).collect();
    let again = get(&server.url(&format!("/api/video/info?url={encoded}")));
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), v);
    assert_eq!(fetched(), before);
}

#[test]
fn info_of_a_page_with_three_videos_is_a_playlist() {
    let fx = FixtureServer::with_fixtures();
    let videos: String = (1..=3)
        .map(|i| {
            format!(
                "<video src=\"{}\"></video>\n",
                fx.url(&format!("clip.mp4?i={i}"))
            )
        })
        .collect();
    let page = fx.write_file(
        "multi.html",
        format!("<html><head><title>three</title></head><body>{videos}</body></html>").as_bytes(),
    );
    let server = Server::start(&[]);
    let r = info(&server, &page);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (v["is_playlist"].as_bool(), v["count"].as_u64()),
        (Some(true), Some(3))
    );
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["url"], fx.url(&format!("clip.mp4?i={}", i + 1)));
        assert!(e["title"].is_string());
    }
    // Flat: nothing was downloaded.
    assert!(
        !fx.requests().iter().any(|r| r.contains("clip.mp4")),
        "{:?}",
        fx.requests()
    );
}

#[test]
fn info_failures_are_real_statuses() {
    let fx = FixtureServer::with_fixtures();
    let server = Server::start(&[]);
    let r = info(&server, &fx.url("missing.html"));
    assert_eq!(r.status, 502);
    let v = r.json();
    assert_eq!(v["code"], "extractor_error");
    assert!(v["detail"].as_str().unwrap().contains("404"), "{v}");
    assert!(v.get("error").is_none());

    for body in [
        json!({}),
        json!({"url": 5}),
        json!({"url": "ytsearch:cats"}),
        json!({"url": "--version"}),
    ] {
        let r = post_json(&server.url("/api/info"), &body);
        assert_eq!(
            (r.status, r.json()["code"].as_str()),
            (400, Some("invalid_url")),
            "{body}"
        );
    }
    assert_eq!(get(&server.url("/api/video/info")).status, 400);
    assert_eq!(
        get(&server.url("/api/video/info?url=file%3A%2F%2F%2Fetc%2Fpasswd")).status,
        400
    );
}

/// A yt-dlp that logs its argv and prints `json` (or fails, or hangs) for -J calls.
fn scripted(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let log = dir.join("argv.log");
    fake_ytdlp(
        dir,
        &format!(
            r#"[ "$1" = "--version" ] && {{ echo 2026.10.26; exit 0; }}
printf '%s\n' "$@" >> {log}
echo --- >> {log}
{body}
"#,
            log = log.display()
        ),
    )
}

const FLAT_SEARCH: &str = r#"{"_type": "playlist", "id": "cats", "title": "cats", "entries": [
 {"_type": "url", "ie_key": "Youtube", "id": "aaaaaaaaaaa", "url": "https://www.youtube.com/watch?v=aaaaaaaaaaa", "title": "Cat one", "duration": 61.0, "channel": "Cats Inc", "view_count": 1200, "thumbnails": [{"url": "https://i.ytimg.com/vi/aaaaaaaaaaa/hq720.jpg"}]},
 {"_type": "url", "ie_key": "Youtube", "id": "bbbbbbbbbbb", "url": "https://www.youtube.com/watch?v=bbbbbbbbbbb", "title": "Cat two", "duration": null, "uploader": "Bob", "view_count": null}
]}"#;

#[test]
fn search_maps_flat_results_and_bounds_max_results() {
    let tools = TempDir::new("fake");
    let fake = scripted(tools.path(), &format!("cat <<'JSON'\n{FLAT_SEARCH}\nJSON"));
    let server = Server::start(&[
        "--yt-dlp",
        fake.to_str().unwrap(),
        "--trending-query",
        "top cats",
    ]);
    let r = get(&server.url("/api/search?q=cute%20cats&max_results=5"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["query"], "cute cats");
    assert_eq!(
        v["results"][0],
        json!({"id": "aaaaaaaaaaa", "title": "Cat one", "url": "https://www.youtube.com/watch?v=aaaaaaaaaaa",
               "duration": 61.0, "thumbnail": "https://i.ytimg.com/vi/aaaaaaaaaaa/hq720.jpg",
               "uploader": "Cats Inc", "view_count": 1200})
    );
    assert_eq!(v["results"][1]["uploader"], "Bob");
    assert_eq!(v["results"][1]["duration"], Value::Null);
    let log = std::fs::read_to_string(tools.path().join("argv.log")).unwrap();
    let argv: Vec<&str> = log.lines().collect();
    assert!(
        argv.windows(2).any(|w| w == ["--", "ytsearch5:cute cats"]),
        "{argv:?}"
    );
    assert!(argv.contains(&"--no-config") && argv.contains(&"--flat-playlist"));

    let one = get(&server.url("/api/search?q=cats&max_results=1")).json();
    assert_eq!(one["results"].as_array().unwrap().len(), 1);
    for bad in [
        "q=cats&max_results=0",
        "q=cats&max_results=51",
        "q=cats&max_results=x",
        "q=",
        "max_results=3",
    ] {
        let r = get(&server.url(&format!("/api/search?{bad}")));
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json()["code"].is_string());
    }
    assert_eq!(
        get(&server.url("/api/search?q=cats&max_results=50")).status,
        200
    );

    let trending = get(&server.url("/api/trending"));
    assert_eq!(trending.status, 200);
    assert_eq!(trending.json()["results"].as_array().unwrap().len(), 2);
    let log = std::fs::read_to_string(tools.path().join("argv.log")).unwrap();
    assert!(log.contains("ytsearch20:top cats"), "{log}");
}

#[test]
fn a_url_as_query_resolves_that_video() {
    let tools = TempDir::new("fake");
    let video = r#"{"id": "ccccccccccc", "title": "One cat", "webpage_url": "https://www.youtube.com/watch?v=ccccccccccc", "url": "https://cdn.example/stream.mp4", "duration": 5, "uploader": "U"}"#;
    let fake = scripted(tools.path(), &format!("cat <<'JSON'\n{video}\nJSON"));
    let server = Server::start(&["--yt-dlp", fake.to_str().unwrap()]);
    let r =
        get(&server.url("/api/search?q=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3Dccccccccccc"));
    assert_eq!(r.status, 200, "{}", r.text());
    let results = r.json()["results"].clone();
    assert_eq!(results.as_array().unwrap().len(), 1);
    assert_eq!(
        results[0]["url"],
        "https://www.youtube.com/watch?v=ccccccccccc"
    );
    let log = std::fs::read_to_string(tools.path().join("argv.log")).unwrap();
    assert!(log
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w == ["--", "https://www.youtube.com/watch?v=ccccccccccc"]));
}

#[test]
fn extractor_errors_give_502_with_the_line() {
    let tools = TempDir::new("fake");
    let fake = scripted(
        tools.path(),
        "echo 'WARNING: something odd' >&2\necho 'ERROR: [youtube:search] cats: Unable to download API page' >&2\nexit 1",
    );
    let server = Server::start(&["--yt-dlp", fake.to_str().unwrap()]);
    for path in ["/api/search?q=cats", "/api/trending"] {
        let r = get(&server.url(path));
        assert_eq!(r.status, 502, "{path}");
        assert_eq!(
            r.json(),
            json!({"detail": "ERROR: [youtube:search] cats: Unable to download API page", "code": "extractor_error"})
        );
    }
}

#[test]
fn a_lookup_past_the_time_limit_gives_504_and_leaves_no_process() {
    let tools = TempDir::new("fake");
    let pids = tools.path().join("pids");
    let fake = scripted(
        tools.path(),
        &format!("echo $$ >> {}\nexec sleep 60", pids.display()),
    );
    let server = Server::start(&[
        "--yt-dlp",
        fake.to_str().unwrap(),
        "--discovery-timeout-secs",
        "2",
    ]);
    let r = get(&server.url("/api/search?q=slow"));
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["code"], "extractor_timeout");
    let pid: i32 = std::fs::read_to_string(&pids)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let gone = wait_until(Duration::from_secs(5), || {
        // Gone, or at most a zombie that nobody will reap would show as state Z: neither may stay.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_err()
    });
    assert!(gone, "the timed-out yt-dlp (pid {pid}) is still there");
    assert_eq!(get(&server.url("/api/health")).status, 200);
}
