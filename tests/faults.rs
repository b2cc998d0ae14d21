//! Fault tests: the real server driven over HTTP, with scripted fake yt-dlp
//! executables (FX-FAKE) that print chosen lines, fail, or never write a file.
//! Cases from ../shared/CASES.md sections 3, 5, 6 and 9 (BR-11..BR-14, BR-25,
//! BR-32, BR-33, BR-47, BR-52) plus the API contract's error shapes.
//!
//! Where a test must see the task in a given state, the fake waits for an
//! "ack" file the test creates once it has seen that state, so no test
//! depends on the timing of the server or of the fake.

mod common;

use std::time::{Duration, Instant};

use common::{get, http, post_json, zombie_children, Fake, Resp, Server, TempDir};
use serde_json::{json, Value};

/// Generous upper bound for anything to happen.
const POLL_TIMEOUT: Duration = Duration::from_secs(20);

/// POSTs a download; asserts 200 and returns the new (or existing) task id.
fn submit(server: &Server, body: &Value) -> String {
    let r = post_json(&server.url("/api/download"), body);
    assert_eq!(r.status, 200, "POST {body}: {}", r.text());
    let task = r.json();
    let id = task["id"].as_str().expect("task id").to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/downloads/{id}").as_str())
    );
    id
}

fn task(server: &Server, id: &str) -> Value {
    let r = get(&server.url(&format!("/api/downloads/{id}")));
    assert_eq!(r.status, 200, "GET task {id}: {}", r.text());
    r.json()
}

fn is_terminal(t: &Value) -> bool {
    matches!(
        t["status"].as_str(),
        Some("completed" | "error" | "cancelled")
    )
}

/// Calls `f` with the task every `every` until `f` returns true; panics after
/// `POLL_TIMEOUT` with the last object seen.
fn watch(server: &Server, id: &str, every: Duration, mut f: impl FnMut(&Value) -> bool) -> Value {
    let deadline = Instant::now() + POLL_TIMEOUT;
    loop {
        let t = task(server, id);
        if f(&t) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "task {id}: condition not met within {POLL_TIMEOUT:?}; last: {t:#}"
        );
        std::thread::sleep(every);
    }
}

/// Polls until `cond` holds; panics if the task ends first or time runs out.
fn wait_for_state(server: &Server, id: &str, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    watch(server, id, Duration::from_millis(50), |t| {
        if cond(t) {
            return true;
        }
        assert!(!is_terminal(t), "task ended before {what}: {t:#}");
        false
    })
}

/// `progress` as a finite number in [0, 100].
fn progress(t: &Value) -> f64 {
    let p = t["progress"]
        .as_f64()
        .unwrap_or_else(|| panic!("progress is not a number: {t:#}"));
    assert!(
        p.is_finite() && (0.0..=100.0).contains(&p),
        "progress {p} out of range: {t:#}"
    );
    p
}

fn assert_error_shape(r: &Resp, what: &str) -> Value {
    let body: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| {
        panic!(
            "{what}: HTTP {} body is not JSON ({e}): {}",
            r.status,
            r.text()
        )
    });
    assert!(
        body["detail"].is_string() && body["code"].is_string(),
        "{what}: HTTP {} error body lacks string detail/code: {body}",
        r.status
    );
    body
}

/// Files in the downloads folder whose name holds `id`.
fn files_of(server: &Server, id: &str) -> Vec<String> {
    std::fs::read_dir(server.downloads_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(id))
        .collect()
}

fn assert_alive(server: &Server) {
    let r = get(&server.url("/api/health"));
    assert_eq!(r.status, 200, "health: {}", r.text());
    assert_eq!(r.json()["status"], "ok");
}

fn downloads_list(server: &Server) -> Vec<Value> {
    let r = get(&server.url("/api/downloads"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().expect("a bare JSON array").clone()
}

// ---------------------------------------------------------------------------

/// A failing run: the task ends `error` with yt-dlp's ERROR line (not the
/// warning before it), and its partial files are gone.
#[test]
fn failing_ytdlp_reports_its_error_line_and_leaves_no_files() {
    let fake = Fake::new(
        r#"printf 'half' > "$f.part"
printf 'ytdl' > "$f.ytdl"
printf 'img' > "$p/$id.thumb.jpg"
echo 'WARNING: [generic] Falling back on generic information extractor' >&2
echo 'ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found' >&2
exit 1"#,
    );
    let server = fake.server(&[]);
    let id = submit(&server, &json!({"url": "http://127.0.0.1:1/missing.html"}));
    let t = server.poll_task(&id, POLL_TIMEOUT);
    assert_eq!(t["status"], "error", "{t:#}");
    let msg = t["error_message"].as_str().expect("error_message string");
    assert!(
        msg.contains("ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found"),
        "{msg:?}"
    );
    assert!(!msg.contains("WARNING"), "{msg:?}");
    assert_eq!(t["speed"], "");
    assert_eq!(t["eta"], "");
    assert_eq!(files_of(&server, &id), Vec::<String>::new());
    let thumbs: Vec<_> = std::fs::read_dir(server.thumbnails_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(thumbs.is_empty(), "{thumbs:?}");
    assert_alive(&server);
}

/// Bytes that are not UTF-8, NULs, a 200 KB line, broken OTPROG lines: none
/// of it matters; the run that ends with a real file is `completed`.
#[test]
fn garbage_output_is_survived_and_the_file_counts() {
    let fake = Fake::new(
        r#"printf 'junk \377\376 \000 nul \200\201\n'
printf '\377\376\377 stderr junk \000\n' >&2
dd if=/dev/zero bs=1000 count=200 2>/dev/null | tr '\000' 'x'
printf '\n'
printf 'OTPROG {"status": "downloading", "filename": "'
dd if=/dev/zero bs=1000 count=200 2>/dev/null | tr '\000' 'y'
printf '"}\n'
dd if=/dev/zero bs=1000 count=200 2>/dev/null | tr '\000' 'z' >&2
echo 'OTPROG {garbage'
echo 'OTPROG {"status": "downloading", "downloaded_bytes": }}}, "total_bytes": [}'
echo 'OTPROG'
echo 'OTPROG null'
echo 'OTPROG "downloading"'
echo 'OTPROG {"status": "downloading", "downloaded_bytes": -5, "total_bytes": "lots", "speed": "fast", "eta": {}}'
printf 'OTPROG {"status": "downloading", "downloaded_bytes": 100, "total_bytes": 99999, "filename": "\377\376"}\n'
echo 'OTINFO {broken'
echo 'OTSTREAMS {"not": "a list"}'
echo 'OTPP'
echo 'OTFILE not-json'
echo 'OTFILE ""'
echo 'OTFILE "/nonexistent/elsewhere.mp4"'
printf '\377OTFILE "%s"\n' "$f"
dd if=/dev/zero of="$f" bs=12345 count=1 2>/dev/null
printf 'OTFILE "%s"\n' "$f"
exit 0"#,
    );
    let server = fake.server(&[]);
    let id = submit(&server, &json!({"url": "http://127.0.0.1:1/garbage.html"}));
    let t = server.poll_task(&id, POLL_TIMEOUT);
    assert_alive(&server);
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(progress(&t), 100.0);
    assert_eq!(t["filesize"], 12345, "{t:#}");
    assert_eq!(t["downloaded_bytes"], 12345, "{t:#}");
    assert_eq!(t["filename"], format!("Title__{id}.mp4"));
    assert_eq!(
        t["files"],
        json!([{"filename": format!("Title__{id}.mp4"), "title": "", "filesize": 12345}])
    );
    assert!(t["error_message"].is_null(), "{t:#}");
}

/// BR-13: `NA`, `None`, `N/A` and empty values where numbers belong. The task
/// keeps running, shows a finite progress and empty speed/eta, and completes.
#[test]
fn na_values_in_progress_lines_are_unknown_not_fatal() {
    let fake = Fake::new(
        r#"line() { printf 'OTPROG {"status": "downloading", "downloaded_bytes": %s, "total_bytes": %s, "total_bytes_estimate": %s, "speed": %s, "eta": %s, "filename": "%s"}\n' "$1" "$2" "$2" "$2" "$2" "$f"; }
line 1024 NA; wait_for ack1
line 2048 None; wait_for ack2
line 3072 ''; wait_for ack3
line 4096 N/A; wait_for ack4
printf 'OTPROG {"status": "downloading", "downloaded_bytes": 5000, "total_bytes": 10000, "speed": 1024, "eta": 5, "filename": "%s"}\n' "$f"
wait_for ack5
printf 'OTPROG {"status": "finished", "downloaded_bytes": 10000, "total_bytes": 10000, "speed": NA, "eta": NA, "filename": "%s"}\n' "$f"
finish"#,
    );
    let server = fake.server(&[]);
    let id = submit(&server, &json!({"url": "http://127.0.0.1:1/na.html"}));
    for (n, bytes) in [(1, 1024), (2, 2048), (3, 3072), (4, 4096)] {
        let t = wait_for_state(&server, &id, &format!("{bytes} bytes"), |t| {
            t["downloaded_bytes"] == bytes
        });
        assert_eq!(t["status"], "downloading", "{t:#}");
        assert_eq!(progress(&t), 0.0, "total unknown: {t:#}");
        assert_eq!(t["speed"], "", "{t:#}");
        assert_eq!(t["eta"], "", "{t:#}");
        fake.ack(&format!("ack{n}"));
    }
    let t = wait_for_state(&server, &id, "5000 bytes", |t| {
        t["downloaded_bytes"] == 5000
    });
    assert_eq!(progress(&t), 50.0, "{t:#}");
    assert_eq!(t["speed"], "1.0 KB/s", "{t:#}");
    assert_eq!(t["eta"], "5s", "{t:#}");
    assert_eq!(t["filesize"], 10000, "{t:#}");
    fake.ack("ack5");
    let t = server.poll_task(&id, POLL_TIMEOUT);
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(progress(&t), 100.0);
    assert_alive(&server);
}

/// BR-14: progress lines ended by `\r` only are seen while the run goes on,
/// and the server passes `--newline` and `-- URL` last.
#[test]
fn carriage_return_progress_moves_while_running() {
    let fake = Fake::new(
        r#"for k in 1 2 3 4 5 6 7 8 9; do
  printf 'OTPROG {"status": "downloading", "downloaded_bytes": %d00, "total_bytes": 1000, "speed": 2048, "eta": 1, "filename": "%s"}\r' "$k" "$f"
  case $k in 3|7) wait_for "ack$k";; *) sleep 0.4;; esac
done
printf 'OTPROG {"status": "finished", "downloaded_bytes": 1000, "total_bytes": 1000, "filename": "%s"}\r' "$f"
printf '\n'
finish"#,
    );
    let server = fake.server(&[]);
    let url = "http://127.0.0.1:1/cr.html?a=1&b=2";
    let id = submit(&server, &json!({"url": url}));
    let mut seen: Vec<f64> = Vec::new();
    let t = watch(&server, &id, Duration::from_millis(200), |t| {
        if is_terminal(t) {
            return true;
        }
        let p = progress(t);
        if p > 0.0 && p < 100.0 && !seen.contains(&p) {
            seen.push(p);
        }
        // The fake holds at 30 % and at 70 % (no newline written yet)
        // until the test has seen each.
        if p == 30.0 {
            fake.ack("ack3");
        }
        if p == 70.0 {
            fake.ack("ack7");
        }
        false
    });
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(progress(&t), 100.0);
    assert!(
        seen.len() >= 2,
        "intermediate progress values seen: {seen:?}"
    );
    assert!(seen.contains(&30.0) && seen.contains(&70.0), "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(seen, sorted, "progress went backwards");

    let argv = fake.argv();
    assert!(argv.iter().any(|a| a == "--newline"), "{argv:?}");
    let n = argv.len();
    assert!(n >= 2, "{argv:?}");
    assert_eq!(argv[n - 2], "--", "{argv:?}");
    assert_eq!(argv[n - 1], url, "{argv:?}");
    assert_eq!(
        argv.iter().filter(|a| *a == "--").count(),
        1,
        "exactly one `--`: {argv:?}"
    );
}

/// BR-12: a video+audio pair is one 0→100 run. Fragment estimates that
/// shrink and grow (33 → 17 → 16 → 30 %) never move the bar backwards.
#[test]
fn progress_over_two_streams_never_goes_backwards() {
    let fake = Fake::new(
        r#"pl() { printf 'OTPROG {"status": "%s", "downloaded_bytes": %s, "%s": %s, "speed": 4096.5, "eta": 2, "filename": "%s"}\n' "$1" "$2" "$3" "$4" "$5"; sleep 0.1; }
v="$p/Title__$id.f0.mp4"; a="$p/Title__$id.f1.m4a"
echo 'OTSTREAMS [{"format_id":"0"},{"format_id":"1"}]'
pl downloading 835 total_bytes_estimate 2505 "$v"
pl downloading 835 total_bytes_estimate 4912 "$v"
pl downloading 1859 total_bytes_estimate 11619 "$v"
wait_for ack1
pl downloading 3528 total_bytes_estimate 11759 "$v"
pl downloading 10735 total_bytes_estimate 10735 "$v"
pl finished 10735 total_bytes 10735 "$v"
pl downloading 0 total_bytes 400 "$a"
pl downloading 200 total_bytes 400 "$a"
wait_for ack2
pl downloading 400 total_bytes 400 "$a"
pl finished 400 total_bytes 400 "$a"
echo 'OTPP "started" "Merger"'
sleep 0.3
echo 'OTPP "finished" "Merger"'
finish"#,
    );
    let server = fake.server(&[]);
    let id = submit(&server, &json!({"url": "http://127.0.0.1:1/dash.mpd"}));
    let rank = |s: &str| match s {
        "pending" => 0,
        "downloading" => 1,
        "processing" => 2,
        "completed" => 3,
        other => panic!("unexpected status {other}"),
    };
    let (mut last_p, mut last_rank) = (0.0f64, 0);
    let mut statuses: Vec<String> = Vec::new();
    let t = watch(&server, &id, Duration::from_millis(50), |t| {
        let p = progress(t);
        assert!(
            p >= last_p,
            "progress went back from {last_p} to {p}: {t:#}"
        );
        last_p = p;
        let status = t["status"].as_str().unwrap();
        let r = rank(status);
        assert!(r >= last_rank, "status went back to {status}: {statuses:?}");
        last_rank = r;
        if statuses.last().map(String::as_str) != Some(status) {
            statuses.push(status.to_string());
        }
        match t["downloaded_bytes"].as_u64() {
            // First stream, at the 16 % point: within the first half.
            Some(1859) => {
                assert!(p > 0.0 && p < 50.0, "first stream at {p}: {t:#}");
                fake.ack("ack1");
            }
            // Second stream half done: past the first half, not finished.
            Some(10935) if status == "downloading" => {
                assert!((50.0..100.0).contains(&p), "second stream at {p}: {t:#}");
                fake.ack("ack2");
            }
            _ => {}
        }
        is_terminal(t)
    });
    assert_eq!(t["status"], "completed", "{t:#} after {statuses:?}");
    assert_eq!(progress(&t), 100.0);
    assert_eq!(t["filename"], format!("Title__{id}.mp4"), "{t:#}");
    eprintln!("statuses seen: {statuses:?}");
}

/// BR-33: an old yt-dlp rejects an option with a usage error (exit 2).
#[test]
fn usage_error_from_ytdlp_ends_the_task_with_its_text() {
    let fake = Fake::new(
        r#"echo 'Usage: yt-dlp [OPTIONS] URL [URL...]' >&2
echo '' >&2
echo 'yt-dlp: error: no such option: --newline' >&2
exit 2"#,
    );
    let server = fake.server(&[]);
    let id = submit(&server, &json!({"url": "http://127.0.0.1:1/old.html"}));
    let t = server.poll_task(&id, POLL_TIMEOUT);
    assert_eq!(t["status"], "error", "{t:#}");
    let msg = t["error_message"].as_str().expect("error_message string");
    assert!(msg.contains("no such option: --newline"), "{msg:?}");
    assert_alive(&server);
}

/// BR-32: yt-dlp missing, or present but not executable: POST answers 503
/// `ytdlp_unavailable`, no task is made, and the server keeps answering.
#[test]
fn missing_or_unexecutable_ytdlp_gives_503_and_no_task() {
    let dir = TempDir::new("offlinetube-noexec");
    let noexec = dir.path().join("yt-dlp");
    std::fs::write(&noexec, "#!/bin/sh\necho 2026.10.26\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&noexec, std::fs::Permissions::from_mode(0o644)).unwrap();

    for ytdlp in ["/nonexistent/yt-dlp", noexec.to_str().unwrap()] {
        let server = Server::start(&[
            "--yt-dlp",
            ytdlp,
            "--ffmpeg",
            "/nonexistent/ffmpeg",
            "--min-free-mb",
            "0",
        ]);
        let health = get(&server.url("/api/health"));
        assert_eq!(health.status, 200);
        assert!(
            health.json()["yt_dlp"].is_null(),
            "{ytdlp}: {}",
            health.text()
        );

        let r = post_json(
            &server.url("/api/download"),
            &json!({"url": "http://127.0.0.1:1/page.html"}),
        );
        assert_eq!(r.status, 503, "{ytdlp}: {}", r.text());
        let body = assert_error_shape(&r, ytdlp);
        assert_eq!(body["code"], "ytdlp_unavailable", "{body}");
        assert!(
            downloads_list(&server).is_empty(),
            "{ytdlp}: a task was made"
        );
        // Still answering, and still refusing.
        assert_alive(&server);
        let r = post_json(
            &server.url("/api/download"),
            &json!({"url": "http://127.0.0.1:1/other.html"}),
        );
        assert_eq!(r.status, 503, "{ytdlp}: {}", r.text());
        assert!(downloads_list(&server).is_empty());
    }
}

/// Exit 0 with no file (what `yt-dlp --version` as a URL would do) is not a
/// success.
#[test]
fn exit_zero_without_a_file_is_an_error() {
    let fake = Fake::new("exit 0");
    let server = fake.server(&[]);
    let id = submit(&server, &json!({"url": "http://127.0.0.1:1/nothing.html"}));
    let t = server.poll_task(&id, POLL_TIMEOUT);
    assert_eq!(t["status"], "error", "{t:#}");
    let msg = t["error_message"].as_str().expect("error_message string");
    assert!(
        msg.to_lowercase().contains("file"),
        "unclear message {msg:?}"
    );
    assert!(t["completed_at"].is_null(), "{t:#}");
    assert_eq!(t["filename"], "");
    assert_alive(&server);
}

/// BR-25 (small): never more than `--max-concurrent` runs at once; the rest
/// wait as `pending`; all end `completed`.
#[test]
fn concurrency_limit_holds() {
    let fake = Fake::new(
        r#"echo $$ > "$D/runs/$$"
sleep 3
finish
rm -f "$D/runs/$$""#,
    );
    let runs = fake.dir().join("runs");
    std::fs::create_dir(&runs).unwrap();
    let server = fake.server(&["--max-concurrent", "2"]);
    let ids: Vec<String> = (0..5)
        .map(|i| {
            submit(
                &server,
                &json!({"url": format!("http://127.0.0.1:1/v{i}.html")}),
            )
        })
        .collect();
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "{ids:?}");

    let (mut max_active, mut max_live, mut max_pending) = (0, 0, 0);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let tasks = downloads_list(&server);
        let count = |names: &[&str]| {
            tasks
                .iter()
                .filter(|t| names.contains(&t["status"].as_str().unwrap_or("")))
                .count()
        };
        let active = count(&["downloading", "processing"]);
        let live = std::fs::read_dir(&runs).unwrap().count();
        assert!(active <= 2, "{active} tasks running at once: {tasks:#?}");
        assert!(live <= 2, "{live} yt-dlp processes at once");
        max_active = max_active.max(active);
        max_live = max_live.max(live);
        max_pending = max_pending.max(count(&["pending"]));
        if count(&["completed", "error", "cancelled"]) == 5 {
            break;
        }
        assert!(Instant::now() < deadline, "not all done: {tasks:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    for id in &ids {
        let t = task(&server, id);
        assert_eq!(t["status"], "completed", "{t:#}");
    }
    assert!(max_active >= 1 && max_live >= 1);
    // Each run takes 3 s, so right after the five POSTs three must wait.
    assert!(max_pending >= 3, "max pending seen {max_pending}");
    assert_eq!(fake.argv().iter().filter(|a| *a == "--").count(), 5);
    assert_eq!(zombie_children(server.pid()), Vec::<String>::new());
}

/// BR-47 / BR-48: malformed, wrongly typed or unsafe bodies get a 4xx JSON
/// error, make no task and never run yt-dlp.
#[test]
fn bad_request_bodies_are_refused_without_running_ytdlp() {
    let fake = Fake::new("finish");
    let server = fake.server(&[]);
    let url = server.url("/api/download");
    let json_ct = "application/json";
    let cases: &[(&[u8], &str, u16, Option<&str>)] = &[
        (b"", json_ct, 400, Some("invalid_json")),
        (b"{\"url\":", json_ct, 400, Some("invalid_json")),
        (b"[]", json_ct, 400, Some("invalid_json")),
        (b"{\"url\":123}", json_ct, 400, None),
        (b"{\"url\":null}", json_ct, 400, None),
        (b"{}", json_ct, 400, None),
        (
            br#"{"url":"   http://127.0.0.1:1/page.html  \n"}"#,
            json_ct,
            400,
            Some("invalid_url"),
        ),
        (
            br#"{"url":"http://127.0.0.1:1/page.html"}"#,
            "text/plain",
            415,
            None,
        ),
        (b"\xff\xfe", json_ct, 400, Some("invalid_json")),
        (
            br#"{"url":"http://127.0.0.1:1/p","format_id":{"a":{"b":1}}}"#,
            json_ct,
            400,
            Some("invalid_format"),
        ),
        (br#"{"url":"--version"}"#, json_ct, 400, Some("invalid_url")),
        (
            br#"{"url":"file:///etc/passwd"}"#,
            json_ct,
            400,
            Some("invalid_url"),
        ),
        (
            br#"{"url":"ytsearch:cats"}"#,
            json_ct,
            400,
            Some("invalid_url"),
        ),
    ];
    for (body, ct, status, code) in cases {
        let what = format!("{} ({ct})", String::from_utf8_lossy(body));
        let r = http("POST", &url, &[("Content-Type", ct)], Some(body));
        assert_eq!(r.status, *status, "{what}: {}", r.text());
        let err = assert_error_shape(&r, &what);
        if let Some(code) = code {
            assert_eq!(err["code"], *code, "{what}: {err}");
        }
    }

    let huge =
        serde_json::to_vec(&json!({"url": format!("http://127.0.0.1:1/{}", "a".repeat(70_000))}))
            .unwrap();
    let r = http("POST", &url, &[("Content-Type", json_ct)], Some(&huge));
    assert_eq!(r.status, 413, "{}", r.text());
    assert_error_shape(&r, "70 KB body");

    assert_alive(&server);
    assert!(downloads_list(&server).is_empty(), "a task was made");
    assert_eq!(fake.argv(), Vec::<String>::new(), "yt-dlp ran");
}

/// BR-24: the same URL and options while the first run is still going give
/// the same task; other options, or a later submission, a new one.
#[test]
fn duplicate_submission_returns_the_running_task() {
    let fake = Fake::new(
        r#"wait_for release
finish"#,
    );
    let server = fake.server(&[]);
    let u = "http://127.0.0.1:1/dup.html";
    let first = submit(&server, &json!({"url": u}));
    assert_eq!(submit(&server, &json!({"url": u})), first);
    assert_eq!(
        submit(
            &server,
            &json!({"url": u, "download_type": "video", "quality": "best"})
        ),
        first,
        "explicit defaults are the same request"
    );
    let other = submit(&server, &json!({"url": u, "quality": "720p"}));
    assert_ne!(other, first);
    assert_eq!(
        submit(&server, &json!({"url": u, "quality": "720p"})),
        other
    );
    assert_eq!(downloads_list(&server).len(), 2);
    assert!(!is_terminal(&task(&server, &first)));

    fake.ack("release");
    for id in [&first, &other] {
        let t = server.poll_task(id, POLL_TIMEOUT);
        assert_eq!(t["status"], "completed", "{t:#}");
    }
    // Once finished, the same URL is a new download.
    let again = submit(&server, &json!({"url": u}));
    assert!(again != first && again != other);
    let t = server.poll_task(&again, POLL_TIMEOUT);
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(downloads_list(&server).len(), 3);
}

/// Unknown paths, wrong methods, ids that are not tasks, traversal in the
/// thumbnail id, and the CORS preflight (BR-52).
#[test]
fn routing_errors_and_preflight() {
    let fake = Fake::new("finish");
    let server = fake.server(&[]);
    for path in ["/api/nope", "/api/downloads/a/b/c", "/definitely/not/here"] {
        let r = get(&server.url(path));
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_eq!(
            r.json(),
            json!({"detail": "Not Found", "code": "not_found"}),
            "{path}"
        );
    }

    let r = http("DELETE", &server.url("/api/health"), &[], None);
    assert_eq!(r.status, 405, "{}", r.text());
    let allow = r.header("allow").expect("Allow header on 405");
    assert!(allow.contains("GET"), "{allow}");
    assert_error_shape(&r, "405");

    let random = uuid::Uuid::new_v4().to_string();
    for id in ["not-a-uuid", random.as_str()] {
        let r = get(&server.url(&format!("/api/downloads/{id}")));
        assert_eq!(r.status, 404, "{id}: {}", r.text());
        let body = assert_error_shape(&r, id);
        assert_eq!(body["detail"], "Descarga no encontrada", "{id}");
    }

    let r = get(&server.url("/api/thumbnails/..%2f..%2fetc%2fpasswd"));
    assert_eq!(r.status, 404, "{}", r.text());
    let body = assert_error_shape(&r, "thumbnail traversal");
    assert_eq!(body["detail"], "Miniatura no encontrada");

    let r = http(
        "OPTIONS",
        &server.url("/api/download"),
        &[
            ("Origin", "http://ext.test"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        None,
    );
    assert_eq!(r.status, 204, "{:?}", r.headers);
    assert!(r.body.is_empty());
    let acao = r.header("access-control-allow-origin").expect("ACAO");
    assert!(acao == "*" || acao == "http://ext.test", "{acao}");
    let methods = r
        .header("access-control-allow-methods")
        .expect("allow-methods")
        .to_ascii_uppercase();
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    let headers = r
        .header("access-control-allow-headers")
        .expect("allow-headers")
        .to_ascii_lowercase();
    assert!(headers.contains("content-type"), "{headers}");

    // The real responses carry the origin header too.
    let r = http(
        "GET",
        &server.url("/api/downloads"),
        &[("Origin", "http://ext.test")],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_some());
}

/// Auth: header, cookie or query parameter; wrong or missing → 401; health
/// and preflight stay open.
#[test]
fn token_is_required_on_the_api() {
    let fake = Fake::new("finish");
    let server = fake.server(&["--token", "s3cret"]);
    let list = server.url("/api/downloads");
    let unauthorized = json!({"detail": "Unauthorized", "code": "unauthorized"});

    let r = get(&list);
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json(), unauthorized);

    for (name, headers, url) in [
        (
            "bearer",
            vec![("Authorization", "Bearer s3cret")],
            list.clone(),
        ),
        (
            "cookie",
            vec![("Cookie", "offlinetube_token=s3cret")],
            list.clone(),
        ),
        (
            "cookie among others",
            vec![("Cookie", "a=b; offlinetube_token=s3cret; c=d")],
            list.clone(),
        ),
        ("query", vec![], format!("{list}?token=s3cret")),
    ] {
        let r = http("GET", &url, &headers, None);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert!(r.json().is_array(), "{name}");
    }

    for (name, headers, url) in [
        (
            "wrong bearer",
            vec![("Authorization", "Bearer s3cre")],
            list.clone(),
        ),
        (
            "longer bearer",
            vec![("Authorization", "Bearer s3cret2")],
            list.clone(),
        ),
        (
            "wrong cookie",
            vec![("Cookie", "offlinetube_token=nope")],
            list.clone(),
        ),
        ("wrong query", vec![], format!("{list}?token=S3CRET")),
        ("empty query", vec![], format!("{list}?token=")),
    ] {
        let r = http("GET", &url, &headers, None);
        assert_eq!(r.status, 401, "{name}: {}", r.text());
        assert_eq!(r.json(), unauthorized, "{name}");
    }

    let r = post_json(
        &server.url("/api/download"),
        &json!({"url": "http://127.0.0.1:1/p.html"}),
    );
    assert_eq!(r.status, 401, "POST without token: {}", r.text());
    assert_eq!(fake.argv(), Vec::<String>::new());

    assert_alive(&server); // no token needed
    let r = http(
        "OPTIONS",
        &server.url("/api/download"),
        &[
            ("Origin", "http://ext.test"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    );
    assert_eq!(r.status, 204, "preflight needs no token");
}

/// A site controls the sizes yt-dlp reports (Content-Length, format
/// metadata). An absurd total (2e19 bytes, past u64) next to a known second
/// stream must not fail the download or the worker.
#[test]
fn absurd_sizes_in_progress_do_not_break_the_task() {
    let fake = Fake::new(
        r#"echo 'OTSTREAMS [{"format_id": "0"}, {"format_id": "1", "filesize": 400}]'
printf 'OTPROG {"status": "downloading", "downloaded_bytes": 100, "total_bytes": 20000000000000000000, "filename": "%s.f0.mp4"}\n' "$f"
printf 'OTPROG {"status": "finished", "downloaded_bytes": 200, "total_bytes": 20000000000000000000, "filename": "%s.f0.mp4"}\n' "$f"
printf 'OTPROG {"status": "downloading", "downloaded_bytes": 100, "total_bytes": 400, "filename": "%s.f1.m4a"}\n' "$f"
printf 'OTPROG {"status": "finished", "downloaded_bytes": 400, "total_bytes": 400, "filename": "%s.f1.m4a"}\n' "$f"
finish"#,
    );
    let server = fake.server(&[]);
    let id = submit(&server, &json!({"url": "http://127.0.0.1:1/huge.html"}));
    let t = server.poll_task(&id, POLL_TIMEOUT);
    assert_alive(&server);
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(progress(&t), 100.0);
    assert_eq!(t["filesize"], "fake media bytes\n".len());
    assert_eq!(zombie_children(server.pid()), Vec::<String>::new());
}
