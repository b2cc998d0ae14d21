//! What self-hosters ask for most: webhooks when a task ends, a cookies file for yt-dlp,
//! subtitles, and keeping yt-dlp fresh.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One POST as received: lower-cased headers and the body.
type Delivery = (Vec<(String, String)>, Vec<u8>);

/// A loopback webhook receiver that records each POST and answers with `status`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    fn start(status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&got);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut headers = Vec::new();
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(": ") {
                        headers.push((k.to_ascii_lowercase(), v.to_string()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                sink.lock().unwrap().push((headers, body));
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = reader.get_mut().write_all(reply.as_bytes());
            }
        });
        Receiver { url, got }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

/// HMAC-SHA256 computed independently of the server, by Python's hmac module.
fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let tmp = TempDir::new("hmac");
    let file = tmp.path().join("body");
    std::fs::write(&file, body).unwrap();
    let script = format!(
        "import hmac,hashlib,sys;print(hmac.new({secret:?}.encode(),open(sys.argv[1],'rb').read(),hashlib.sha256).hexdigest())"
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .arg(&file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn webhooks_are_signed_once_per_finished_task_and_a_dead_receiver_costs_three_tries() {
    let good = Receiver::start(200);
    let broken = Receiver::start(500);
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("page.html", "Hooked", Some("thumb.jpg"), "clip.mp4");
    let server = Server::start(&[
        "--webhook",
        &broken.url,
        "--webhook",
        &good.url,
        "--webhook-secret",
        "s3cret",
    ]);
    let ok = post_json(&server.url("/api/download"), &json!({ "url": page })).json();
    let failed = post_json(
        &server.url("/api/download"),
        &json!({ "url": fx.url("missing.html") }),
    )
    .json();
    for t in [&ok, &failed] {
        server.poll_task(t["id"].as_str().unwrap(), Duration::from_secs(60));
    }
    assert!(
        wait_until(Duration::from_secs(30), || good.count() == 2
            && broken.count() == 6),
        "good {} broken {}",
        good.count(),
        broken.count()
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        (good.count(), broken.count()),
        (2, 6),
        "exactly one POST per task, three tries each to the broken one"
    );

    let got = good.got.lock().unwrap().clone();
    let mut events = Vec::new();
    for (headers, body) in &got {
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header("content-type"), "application/json");
        assert_eq!(
            header("x-offlinetube-signature"),
            format!("sha256={}", hmac_hex("s3cret", body))
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(header("x-offlinetube-event"), v["event"].as_str().unwrap());
        assert_eq!(v["task"]["status"], v["event"]);
        assert!(v["message"].is_string() && v["title"].is_string());
        events.push((
            v["task"]["id"].as_str().unwrap().to_string(),
            v["event"].as_str().unwrap().to_string(),
        ));
        if v["event"] == "completed" {
            eprintln!("webhook body: {}", String::from_utf8_lossy(body));
        }
    }
    events.sort();
    let mut expected = vec![
        (
            ok["id"].as_str().unwrap().to_string(),
            "completed".to_string(),
        ),
        (
            failed["id"].as_str().unwrap().to_string(),
            "error".to_string(),
        ),
    ];
    expected.sort();
    assert_eq!(events, expected);
}

#[test]
fn cancelled_tasks_are_announced_too() {
    let hook = Receiver::start(204);
    let tools = TempDir::new("fake");
    let fake = fake_ytdlp(
        tools.path(),
        "[ \"$1\" = \"--version\" ] && { echo 2026.10.26; exit 0; }\nexec sleep 60",
    );
    let server = Server::start(&["--yt-dlp", fake.to_str().unwrap(), "--webhook", &hook.url]);
    let t = post_json(
        &server.url("/api/download"),
        &json!({ "url": "http://127.0.0.1:9/v" }),
    )
    .json();
    let id = t["id"].as_str().unwrap();
    assert!(wait_until(Duration::from_secs(10), || get(
        &server.url(&format!("/api/downloads/{id}"))
    )
    .json()["status"]
        == "downloading"));
    assert_eq!(
        delete(&server.url(&format!("/api/downloads/{id}"))).status,
        200
    );
    assert!(wait_until(Duration::from_secs(10), || hook.count() == 1));
    let (_, body) = hook.got.lock().unwrap()[0].clone();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["event"].as_str(), v["task"]["id"].as_str()),
        (Some("cancelled"), Some(id))
    );
}

const COOKIES: &str = "# Netscape HTTP Cookie File\n\
.example.com\tTRUE\t/\tTRUE\t1893456000\tSID\tvery-secret-value\n\
#HttpOnly_media.example.org\tFALSE\t/\tFALSE\t0\tsession\tanother-secret\n";

#[test]
fn cookies_are_stored_privately_passed_to_ytdlp_and_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    let tools = TempDir::new("fake");
    let log = tools.path().join("argv.log");
    let fake = fake_ytdlp(
        tools.path(),
        &format!(
            "[ \"$1\" = \"--version\" ] && {{ echo 2026.10.26; exit 0; }}\nprintf '%s\\n' \"$@\" > {log}\necho 'ERROR: stop here' >&2\nexit 1",
            log = log.display()
        ),
    );
    let server = Server::start(&["--yt-dlp", fake.to_str().unwrap()]);
    let url = server.url("/api/cookies");
    assert_eq!(
        get(&url).json(),
        json!({"present": false, "cookies": 0, "lines": 0, "domains": []})
    );

    let argv = |server: &Server| {
        let t = post_json(
            &server.url("/api/download"),
            &json!({ "url": format!("http://127.0.0.1:9/{}", rand_path()) }),
        )
        .json();
        server.poll_task(t["id"].as_str().unwrap(), Duration::from_secs(20));
        std::fs::read_to_string(&log).unwrap()
    };
    assert!(!argv(&server).contains("--cookies"));

    let r = http(
        "POST",
        &url,
        &[("Content-Type", "text/plain")],
        Some(COOKIES.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"present": true, "cookies": 2, "lines": 3, "domains": ["example.com", "media.example.org"]})
    );
    let stored = server.data_dir().join("cookies.txt");
    assert_eq!(
        std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), COOKIES);
    let shown = get(&url);
    assert!(!shown.text().contains("secret"), "{}", shown.text());
    let log_text = argv(&server);
    let lines: Vec<&str> = log_text.lines().collect();
    assert!(
        lines
            .windows(2)
            .any(|w| w == ["--cookies", stored.to_str().unwrap()]),
        "{lines:?}"
    );
    // Discovery passes them too.
    let _ = post_json(
        &server.url("/api/info"),
        &json!({ "url": "http://127.0.0.1:9/info" }),
    );
    assert!(std::fs::read_to_string(&log).unwrap().contains("--cookies"));

    for bad in ["", "just text\n", "x.com\tTRUE\t/\tTRUE\tnever\tn\tv\n"] {
        let r = http("POST", &url, &[], Some(bad.as_bytes()));
        assert_eq!(
            (r.status, r.json()["code"].as_str()),
            (400, Some("invalid_cookies")),
            "{bad:?}"
        );
    }
    let r = http(
        "POST",
        &url,
        &[("Content-Type", "application/json")],
        Some(COOKIES.as_bytes()),
    );
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let bom = format!("\u{feff}{COOKIES}");
    assert_eq!(http("POST", &url, &[], Some(bom.as_bytes())).status, 200);
    let r = http("POST", &url, &[], Some(&[0xff, 0xfe, b'\n']));
    assert_eq!(r.status, 400);
    let huge = COOKIES.repeat(1024 * 1024 / COOKIES.len() + 10);
    assert_eq!(http("POST", &url, &[], Some(huge.as_bytes())).status, 413);
    // A refused upload leaves the stored file alone.
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), COOKIES);

    let r = delete(&url);
    assert_eq!(
        (r.status, r.json()["present"].as_bool()),
        (200, Some(false))
    );
    assert!(!stored.exists());
    assert!(!argv(&server).contains("--cookies"));
}

fn rand_path() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[test]
fn subtitles_are_written_listed_streamed_and_removed() {
    let fx = FixtureServer::with_fixtures();
    fx.write_file(
        "subs.en.vtt",
        b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello from the fixture\n",
    );
    fx.write_file(
        "subs.es.vtt",
        b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHola\n",
    );
    let track = |lang: &str| {
        format!(
            "<track kind=\"subtitles\" src=\"{}\" srclang=\"{lang}\">",
            fx.url(&format!("subs.{lang}.vtt"))
        )
    };
    let page = fx.write_file(
        "subs.html",
        format!("<html><head><title>Subtitled</title></head><body><video src=\"{}\">{}{}</video></body></html>", fx.url("clip.mp4"), track("en"), track("es")).as_bytes(),
    );
    let server = Server::start(&[]);
    let bad = post_json(
        &server.url("/api/download"),
        &json!({ "url": page, "subtitles": ["en", "--exec"] }),
    );
    assert_eq!(
        (bad.status, bad.json()["code"].as_str()),
        (400, Some("invalid_subtitles"))
    );
    let t = post_json(
        &server.url("/api/download"),
        &json!({ "url": page, "subtitles": ["en", "es"] }),
    )
    .json();
    let id = t["id"].as_str().unwrap();
    let done = server.poll_task(id, Duration::from_secs(60));
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["subtitle_langs"], json!(["en", "es"]));
    let subs = done["subtitles"].as_array().unwrap();
    let langs: Vec<&str> = subs.iter().map(|s| s["lang"].as_str().unwrap()).collect();
    assert_eq!(langs, ["en", "es"], "{done:#}");
    for s in subs {
        let name = s["filename"].as_str().unwrap();
        assert!(
            name.contains(&format!("__{id}")) && name.ends_with(".vtt"),
            "{name}"
        );
        let encoded: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
        let r = get(&server.url(&format!("/api/stream/{encoded}")));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/vtt; charset=utf-8"));
        assert!(r.text().starts_with("WEBVTT"));
    }
    assert!(get(&server.url(&format!(
        "/api/stream/{}",
        subs[0]["filename"].as_str().unwrap().replace(' ', "%20")
    )))
    .text()
    .contains("Hello from the fixture"));
    assert_eq!(
        delete(&server.url(&format!("/api/downloads/{id}/remove"))).status,
        200
    );
    let left: Vec<String> = std::fs::read_dir(server.downloads_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(left.iter().all(|n| !n.contains(id)), "{left:?}");
}

#[test]
fn health_tells_ytdlp_age_and_update_runs_one_at_a_time() {
    let tools = TempDir::new("fake");
    let version = tools.path().join("version");
    std::fs::write(&version, "2025.01.02\n").unwrap();
    let fake = fake_ytdlp(
        tools.path(),
        &format!(
            "[ \"$1\" = \"--version\" ] && {{ cat {}; exit 0; }}\nexit 1",
            version.display()
        ),
    );
    let updater = tools.path().join("update.sh");
    std::fs::write(
        &updater,
        format!(
            "#!/bin/sh\nnew=$(date -u +%Y.%m.%d)\necho \"Updating to $new\"\nsleep 2\necho $new > {}\necho \"Updated yt-dlp to $new\"\n",
            version.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &updater,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let server = Server::start(&[
        "--yt-dlp",
        fake.to_str().unwrap(),
        "--ytdlp-update-cmd",
        updater.to_str().unwrap(),
    ]);
    let health = get(&server.url("/api/health")).json();
    eprintln!("health: {health}");
    assert_eq!(health["yt_dlp"], "2025.01.02");
    assert!(health["yt_dlp_age_days"].as_u64().unwrap() > 60);
    assert!(
        health["warnings"][0].as_str().unwrap().contains("days old"),
        "{health}"
    );

    let url = server.url("/api/ytdlp/update");
    let first = std::thread::spawn(move || http("POST", &url, &[], Some(b"")));
    std::thread::sleep(Duration::from_millis(500));
    let second = http("POST", &server.url("/api/ytdlp/update"), &[], Some(b""));
    assert_eq!(
        (second.status, second.json()["code"].as_str()),
        (409, Some("update_running"))
    );
    let first = first.join().unwrap();
    assert_eq!(first.status, 200, "{}", first.text());
    let v = first.json();
    let today = std::fs::read_to_string(&version)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        (v["old_version"].as_str(), v["new_version"].as_str()),
        (Some("2025.01.02"), Some(today.as_str()))
    );
    assert_eq!(
        v["output"].as_array().unwrap().last().unwrap(),
        &format!("Updated yt-dlp to {today}")
    );
    let health = get(&server.url("/api/health")).json();
    assert_eq!(health["yt_dlp"], today.as_str());
    assert_eq!(
        (
            health["yt_dlp_age_days"].as_u64(),
            health["warnings"].clone()
        ),
        (Some(0), json!([]))
    );
}

#[test]
fn a_failing_update_is_a_502_with_its_last_line() {
    let server = Server::start(&["--ytdlp-update-cmd", "/bin/sh -c exit"]);
    let bad = Server::start(&["--ytdlp-update-cmd", "/nonexistent/updater --flag"]);
    let r = http("POST", &bad.url("/api/ytdlp/update"), &[], Some(b""));
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["code"], "update_failed");
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/updater"));
    // `sh -c exit` exits 0: a success that changes nothing.
    let r = http("POST", &server.url("/api/ytdlp/update"), &[], Some(b""));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["old_version"], r.json()["new_version"]);
}
