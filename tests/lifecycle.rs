//! Live events and the server's life cycle: the SSE stream during a real download, slow
//! stream readers, the stream cap, and a graceful stop on SIGTERM that resumes on restart.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads Server-Sent Events from a chunked response body.
struct Events {
    body: BufReader<TcpStream>,
    pending: String,
}

impl Events {
    fn open(server: &Server) -> Events {
        let (resp, body) = http_open("GET", &server.url("/api/events"), &[], None).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("content-type"), Some("text/event-stream"));
        assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
        body.get_ref()
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Events {
            body,
            pending: String::new(),
        }
    }

    /// The next `(event, data)`; comment lines (keep-alives) are skipped.
    fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = n.to_string();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if name.is_empty() {
                    continue;
                }
                return (name, serde_json::from_str(&data).unwrap());
            }
            // One chunk: size line, data, CRLF.
            let mut size = String::new();
            self.body.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size {size:?}"));
            let mut chunk = vec![0u8; n + 2];
            self.body.read_exact(&mut chunk).unwrap();
            self.pending
                .push_str(std::str::from_utf8(&chunk[..n]).unwrap());
        }
    }
}

#[test]
fn the_event_stream_follows_a_real_download() {
    let fx = FixtureServer::with_fixtures();
    // Slow enough to see progress in between: about 3 s for the 46 KB clip.
    fx.set_slow(2048, Duration::from_millis(120));
    let page = fx.write_page(
        "page.html",
        "Watched live",
        Some("thumb.jpg"),
        "slow/clip2.mp4",
    );
    let server = Server::start(&[]);
    let mut events = Events::open(&server);
    let (name, snapshot) = events.next();
    assert_eq!((name.as_str(), snapshot), ("snapshot", json!([])));

    let task = post_json(&server.url("/api/download"), &json!({ "url": page })).json();
    let id = task["id"].as_str().unwrap();
    let mut progress = Vec::new();
    let mut statuses = Vec::new();
    let done = loop {
        let (name, t) = events.next();
        assert_eq!(name, "task");
        assert_eq!(t["id"], id);
        let status = t["status"].as_str().unwrap().to_string();
        if statuses.last() != Some(&status) {
            statuses.push(status.clone());
        }
        progress.push(t["progress"].as_f64().unwrap());
        if status == "completed" || status == "error" {
            break t;
        }
    };
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(statuses.first().map(String::as_str), Some("pending"));
    assert!(
        statuses.contains(&"downloading".to_string()),
        "{statuses:?}"
    );
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress went backwards: {progress:?}"
    );
    let between: Vec<f64> = progress
        .iter()
        .copied()
        .filter(|p| *p > 0.0 && *p < 100.0)
        .collect();
    assert!(
        !between.is_empty(),
        "no progress between 0 and 100 was seen: {progress:?}"
    );
    assert_eq!(progress.last(), Some(&100.0));
    // Throttled: a few events a second, not one per progress line.
    assert!(progress.len() < 40, "{} events", progress.len());

    // A removal is announced too.
    assert_eq!(
        delete(&server.url(&format!("/api/downloads/{id}/remove"))).status,
        200
    );
    let (name, data) = loop {
        let e = events.next();
        if e.0 != "task" {
            break e;
        }
    };
    assert_eq!((name.as_str(), data), ("removed", json!({ "id": id })));
}

#[test]
fn a_stuck_event_reader_does_not_delay_other_requests() {
    let server = Server::start(&[]);
    // Readers that never read: their socket buffers fill, their threads block, nobody else's.
    let stuck: Vec<_> = (0..4)
        .map(|_| http_open("GET", &server.url("/api/events"), &[], None).unwrap())
        .collect();
    let tools = TempDir::new("fake");
    let fake = fake_ytdlp(
        tools.path(),
        "[ \"$1\" = \"--version\" ] && { echo 2026.10.26; exit 0; }\n\
         for i in $(seq 1 2000); do echo \"OTPROG {\\\"status\\\": \\\"downloading\\\", \\\"downloaded_bytes\\\": $i, \\\"total_bytes\\\": 4000}\"; done\n\
         exit 1",
    );
    let busy = Server::start(&["--yt-dlp", fake.to_str().unwrap()]);
    let _stuck_busy: Vec<_> = (0..4)
        .map(|_| http_open("GET", &busy.url("/api/events"), &[], None).unwrap())
        .collect();
    for i in 0..20 {
        let r = post_json(
            &busy.url("/api/download"),
            &json!({ "url": format!("http://127.0.0.1:9/v{i}") }),
        );
        assert_eq!(r.status, 200);
    }
    for _ in 0..20 {
        let start = Instant::now();
        assert_eq!(get(&busy.url("/api/downloads")).status, 200);
        assert_eq!(get(&server.url("/api/health")).status, 200);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "a request waited {:?}",
            start.elapsed()
        );
    }
    drop(stuck);
}

#[test]
fn event_streams_are_capped() {
    let server = Server::start(&[]);
    let open: Vec<_> = (0..32)
        .map(|_| http_open("GET", &server.url("/api/events"), &[], None).unwrap())
        .collect();
    assert!(open.iter().all(|(r, _)| r.status == 200));
    let refused = get(&server.url("/api/events"));
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["code"], "too_many_streams");
    assert_eq!(get(&server.url("/api/health")).status, 200);
    drop(open);
    // The slots come back once the server notices the readers are gone (next event or
    // keep-alive); a new task event makes every stream write at once.
    let freed = wait_until(Duration::from_secs(20), || {
        let _ = post_json(
            &server.url("/api/download"),
            &json!({ "url": "http://127.0.0.1:9/x" }),
        );
        let (r, _) = http_open("GET", &server.url("/api/events"), &[], None).unwrap();
        r.status == 200
    });
    assert!(freed, "stream slots were never given back");
}

#[test]
fn sigterm_stops_cleanly_and_the_download_resumes_on_restart() {
    let tools = TempDir::new("fake");
    let pids = tools.path().join("pids");
    let marker = tools.path().join("ran-once");
    let fake = fake_ytdlp(
        tools.path(),
        &format!(
            r#"[ "$1" = "--version" ] && {{ echo 2026.10.26; exit 0; }}
echo $$ >> {pids}
tmpl=$(printf '%s\n' "$@" | grep '__.*%(ext)s' | head -n1)
id=$(printf '%s' "$tmpl" | sed 's/.*__\([0-9a-f-]*\).*/\1/')
for a in "$@"; do [ "$prev" = "-P" ] && dir=$a; prev=$a; done
if [ ! -e {marker} ]; then
  touch {marker} "$dir/Resumable__$id.mp4.part"
  echo 'OTPROG {{"status": "downloading", "downloaded_bytes": 40, "total_bytes": 100, "filename": "x"}}'
  exec sleep 60
fi
rm -f "$dir/Resumable__$id.mp4.part"
printf 'whole' > "$dir/Resumable__$id.mp4"
echo "OTFILE \"$dir/Resumable__$id.mp4\""
"#,
            pids = pids.display(),
            marker = marker.display()
        ),
    );
    let data = TempDir::new("data");
    let args = ["--yt-dlp", fake.to_str().unwrap()];
    let mut server = Server::start_in(data.path(), &args);
    let id = post_json(
        &server.url("/api/download"),
        &json!({ "url": "http://127.0.0.1:9/long" }),
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let running = wait_until(Duration::from_secs(20), || {
        get(&server.url(&format!("/api/downloads/{id}"))).json()["progress"] == 40.0
    });
    assert!(running);
    let child: i32 = std::fs::read_to_string(&pids)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let start = Instant::now();
    let status = server.stop().expect("the server exited");
    let took = start.elapsed();
    eprintln!("SIGTERM to exit: {took:?}");
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    assert!(
        std::fs::read_to_string(format!("/proc/{child}/stat")).is_err(),
        "yt-dlp outlived the server"
    );
    // The journal keeps the task active (with its progress), and the .part for the resume.
    let journal: Value =
        serde_json::from_slice(&std::fs::read(data.path().join("tasks.json")).unwrap()).unwrap();
    assert_eq!(journal[0]["status"], "downloading");
    assert_eq!(journal[0]["progress"], 40.0);
    assert!(data
        .path()
        .join(format!("downloads/Resumable__{id}.mp4.part"))
        .exists());

    let server = Server::start_in(data.path(), &args);
    let task = server.poll_task(&id, Duration::from_secs(30));
    assert_eq!(task["status"], "completed", "{task:#}");
    assert_eq!(task["filename"], format!("Resumable__{id}.mp4"));
}
