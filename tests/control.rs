//! Task control on a long-running box: cancel, remove, retry, playlists, duplicates,
//! restarts (kill -9), adoption of orphan files, a full disk, skipped fragments and output
//! floods. CASES.md BR-11, BR-12, BR-19, BR-20, BR-21, BR-24, BR-26, BR-27, BR-28, BR-31
//! (BR-13, BR-14, BR-25, BR-32, BR-33 are in `faults.rs`).
//!
//! The real yt-dlp runs against the loopback fixture server wherever it can show the
//! behaviour; scripted fakes (FX-FAKE) stand in where it cannot: a child that ignores
//! SIGTERM, ffmpeg post-processing, zombies, floods, a scripted "disk full".
//!
//! After every cancel or remove the tests check, by process group, that no process of the
//! task is left, that no file of the task is left, and that the listing still renders.
//! Measured times are printed with `eprintln!` (`cargo test --test control -- --nocapture`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// Generous upper bound for a download or a state change.
const DONE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Servers and fakes

/// The server with the real yt-dlp and ffmpeg from PATH, no free-space floor.
fn real_server(extra: &[&str]) -> Server {
    let mut args = vec!["--min-free-mb", "0"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

impl Fake {
    /// The pid of the fake's run for task `id` once it has started (it leads the group).
    fn started(&self, id: &str) -> Option<i32> {
        std::fs::read_to_string(self.dir().join(format!("started-{id}")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn wait_started(&self, id: &str) -> i32 {
        let mut pid = None;
        assert!(
            wait_until(POLL, || {
                pid = self.started(id);
                pid.is_some()
            }),
            "the fake never started for task {id}"
        );
        pid.unwrap()
    }

    /// A pid the fake wrote to `$D/<name>` (a child it started).
    fn pid_file(&self, name: &str) -> i32 {
        let mut pid = None;
        assert!(
            wait_until(POLL, || {
                pid = std::fs::read_to_string(self.dir().join(name))
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                pid.is_some()
            }),
            "the fake never wrote {name}"
        );
        pid.unwrap()
    }
}

// ---------------------------------------------------------------------------
// API helpers

fn submit(server: &Server, body: &Value) -> String {
    let r = post_json(&server.url("/api/download"), body);
    assert_eq!(r.status, 200, "POST {body}: {}", r.text());
    r.json()["id"].as_str().expect("task id").to_string()
}

fn submit_url(server: &Server, url: &str) -> String {
    submit(server, &json!({ "url": url }))
}

fn task(server: &Server, id: &str) -> Value {
    let r = get(&server.url(&format!("/api/downloads/{id}")));
    assert_eq!(r.status, 200, "GET task {id}: {}", r.text());
    r.json()
}

fn listing(server: &Server) -> Vec<Value> {
    let r = get(&server.url("/api/downloads"));
    assert_eq!(r.status, 200, "listing: {}", r.text());
    r.json().as_array().expect("a bare JSON array").clone()
}

fn is_terminal(t: &Value) -> bool {
    matches!(
        t["status"].as_str(),
        Some("completed" | "error" | "cancelled")
    )
}

/// Polls the task every 50 ms until `cond` holds; panics if it ends first.
fn wait_task(server: &Server, id: &str, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + POLL;
    loop {
        let t = task(server, id);
        if cond(&t) {
            return t;
        }
        assert!(!is_terminal(&t), "task ended before {what}: {t:#}");
        assert!(
            Instant::now() < deadline,
            "no {what} within {POLL:?}: {t:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn bytes_of(t: &Value) -> u64 {
    t["downloaded_bytes"].as_u64().unwrap_or(0)
}

fn assert_alive(server: &Server) {
    let r = get(&server.url("/api/health"));
    assert_eq!(r.status, 200, "health: {}", r.text());
    assert_eq!(r.json()["status"], "ok");
}

/// Percent-encodes a file name for a URL path (everything but unreserved ASCII).
fn pct(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// GET /api/stream/<percent-encoded name>: 200 with the whole file.
fn stream(server: &Server, name: &str) -> Vec<u8> {
    let r = get(&server.url(&format!("/api/stream/{}", pct(name))));
    assert_eq!(r.status, 200, "stream {name}: {}", r.text());
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str()),
        "stream {name}"
    );
    r.body
}

/// Names in the downloads and thumbnails folders that hold `id`.
fn files_of(server: &Server, id: &str) -> Vec<String> {
    let mut names = Vec::new();
    for dir in [server.downloads_dir(), server.thumbnails_dir()] {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.contains(id) {
                names.push(n);
            }
        }
    }
    names.sort();
    names
}

fn read_download(server: &Server, name: &str) -> Vec<u8> {
    std::fs::read(server.downloads_dir().join(name))
        .unwrap_or_else(|e| panic!("read downloads/{name}: {e}"))
}

/// Asserts two byte strings are equal without printing megabytes.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert!(
        got == want,
        "{what}: {} bytes, expected {} bytes identical to the fixture",
        got.len(),
        want.len()
    );
}

// ---------------------------------------------------------------------------
// Processes (Linux /proc)

struct Stat {
    state: char,
    pgrp: i32,
}

fn proc_stat(pid: i32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid pgrp ...": the fields follow the last ')'.
    let mut rest = s.rsplit_once(')')?.1.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let _ppid = rest.next()?;
    let pgrp = rest.next()?.parse().ok()?;
    Some(Stat { state, pgrp })
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default()
}

/// Live (not zombie) processes whose command line holds `needle`.
fn pids_with(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    all_pids()
        .into_iter()
        .filter(|p| *p != me)
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .filter(|p| proc_stat(*p).is_some_and(|s| !matches!(s.state, 'Z' | 'X')))
        .collect()
}

/// Processes of group `pgid` that still run (zombies excluded: they run no code).
fn live_in_group(pgid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|p| proc_stat(*p).is_some_and(|s| s.pgrp == pgid && !matches!(s.state, 'Z' | 'X')))
        .collect()
}

/// `kill(-pgid, 0)` succeeds: some process (a zombie counts) is still in the group.
fn group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence; nothing is delivered.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

fn describe(pids: &[i32]) -> Vec<String> {
    pids.iter()
        .map(|p| format!("{p}: {}", cmdline(*p)))
        .collect()
}

fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The one process group of the yt-dlp run of task `id` (found by the id in its argv);
/// asserts it is a group of its own, not the server's.
fn group_of_task(server: &Server, id: &str) -> i32 {
    let mut groups = BTreeSet::new();
    let found = wait_until(POLL, || {
        groups = pids_with(id)
            .into_iter()
            .filter_map(proc_stat)
            .map(|s| s.pgrp)
            .collect();
        !groups.is_empty()
    });
    assert!(found, "no process with task id {id} in its argv");
    assert_eq!(
        groups.len(),
        1,
        "task {id} runs in several groups: {groups:?}"
    );
    let pgid = *groups.iter().next().unwrap();
    let server_group = proc_stat(server.pid() as i32).expect("server stat").pgrp;
    assert_ne!(
        pgid, server_group,
        "yt-dlp shares the server's process group"
    );
    pgid
}

/// Kills process group `pgid` on drop if anything of it still runs, so a test that finds
/// a leak does not leave the leaked process behind.
struct KillGroupOnDrop(i32);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if !live_in_group(self.0).is_empty() {
            // SAFETY: kill(2) on a process group this test's server started.
            unsafe { libc::kill(-self.0, libc::SIGKILL) };
        }
    }
}

#[derive(Debug)]
struct StopTiming {
    /// The DELETE answered.
    answered: Duration,
    /// No process of the group runs any more.
    no_process: Duration,
    /// `kill(-pgid, 0)` fails: also every zombie of the group was reaped (grandchildren
    /// are reaped by init, which can take a couple of seconds on this machine).
    group_gone: Duration,
}

/// DELETE `path` (cancel or remove) for a task whose yt-dlp runs as group `pgid`; asserts
/// 200 with `message`, then measures until no process of the group is left.
fn stop_measured(server: &Server, path: &str, message: &str, pgid: i32) -> StopTiming {
    let t0 = Instant::now();
    let r = delete(&server.url(path));
    let answered = t0.elapsed();
    assert_eq!(r.status, 200, "DELETE {path}: {}", r.text());
    assert_eq!(r.json(), json!({ "message": message }), "DELETE {path}");
    let gone = poll_every(Duration::from_millis(5), Duration::from_secs(10), || {
        live_in_group(pgid).is_empty()
    });
    let no_process = t0.elapsed();
    assert!(
        gone,
        "group {pgid} still runs 10 s after DELETE {path} (answered after {answered:?}): {:?}",
        describe(&live_in_group(pgid))
    );
    let reaped = poll_every(Duration::from_millis(5), Duration::from_secs(10), || {
        !group_exists(pgid)
    });
    let group_gone = t0.elapsed();
    assert!(reaped, "kill(-{pgid}, 0) still succeeds 10 s after DELETE");
    assert_eq!(
        zombie_children(server.pid()),
        Vec::<String>::new(),
        "the server left an unreaped child"
    );
    StopTiming {
        answered,
        no_process,
        group_gone,
    }
}

fn report(what: &str, t: &StopTiming) {
    eprintln!(
        "MEASURED {what}: DELETE answered in {} ms; no process of the group after {} ms; \
         kill(-pgid,0) fails after {} ms",
        t.answered.as_millis(),
        t.no_process.as_millis(),
        t.group_gone.as_millis()
    );
}

/// After a cancel or remove: no process with the task id, no file of the task, the listing
/// renders.
fn assert_nothing_left(server: &Server, id: &str) {
    assert_eq!(
        describe(&pids_with(id)),
        Vec::<String>::new(),
        "processes of task {id} left"
    );
    assert_eq!(
        files_of(server, id),
        Vec::<String>::new(),
        "files of task {id} left"
    );
    listing(server);
}

fn assert_cancelled_and_listed(server: &Server, id: &str) -> Value {
    let t = task(server, id);
    assert_eq!(t["status"], "cancelled", "{t:#}");
    assert_eq!(t["speed"], "", "{t:#}");
    assert_eq!(t["eta"], "", "{t:#}");
    let list = listing(server);
    assert!(
        list.iter()
            .any(|x| x["id"] == id && x["status"] == "cancelled"),
        "cancelled task {id} not in the listing"
    );
    t
}

fn assert_not_cancellable(server: &Server, id: &str) {
    let r = delete(&server.url(&format!("/api/downloads/{id}")));
    assert_eq!(r.status, 409, "second cancel: {}", r.text());
    let body = r.json();
    assert_eq!(body["code"], "not_cancellable", "{body}");
    assert!(body["detail"].is_string(), "{body}");
}

/// Requests the fixture server got whose line contains `needle`.
fn requests_for(fx: &FixtureServer, needle: &str) -> Vec<String> {
    fx.requests()
        .into_iter()
        .filter(|r| r.contains(needle))
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Cancel

/// Real yt-dlp on a slow big.mp4: cancel mid-download stops the whole group, removes the
/// `.part`, keeps the task as `cancelled`, and nothing more is fetched.
#[test]
fn cancel_mid_download_with_real_ytdlp_leaves_nothing() {
    let fx = FixtureServer::with_fixtures();
    fx.set_slow(4096, Duration::from_millis(100));
    let url = fx.slow_url("big.mp4");
    let server = real_server(&[]);
    let id = submit_url(&server, &url);
    let t = wait_task(&server, &id, "some bytes", |t| bytes_of(t) > 8192);
    assert_eq!(t["status"], "downloading", "{t:#}");
    let pgid = group_of_task(&server, &id);
    assert!(
        files_of(&server, &id).iter().any(|n| n.ends_with(".part")),
        "no .part while downloading: {:?}",
        files_of(&server, &id)
    );

    let timing = stop_measured(
        &server,
        &format!("/api/downloads/{id}"),
        "Descarga cancelada",
        pgid,
    );
    report("cancel of real yt-dlp mid-download", &timing);
    assert!(timing.no_process < Duration::from_secs(10), "{timing:?}");
    assert_nothing_left(&server, &id);
    assert_cancelled_and_listed(&server, &id);
    assert_not_cancellable(&server, &id);

    // Nothing more is fetched once the cancel has settled, and the fixture sees the
    // connections go.
    let settled = requests_for(&fx, "/slow/big.mp4").len();
    assert!(
        wait_until(Duration::from_secs(5), || fx.in_flight() == 0),
        "fixture responses still in flight after the cancel: {}",
        fx.in_flight()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        requests_for(&fx, "/slow/big.mp4").len(),
        settled,
        "requests after the cancel: {:?}",
        fx.requests()
    );
    // Still cancelled (no late error or completion overwrote it), still nothing on disk.
    assert_cancelled_and_listed(&server, &id);
    assert_nothing_left(&server, &id);
    assert_alive(&server);
}

/// Case 2: A cancel before yt-dlp printed anything, and a cancel of a queued task, which never
/// starts a process.
#[test]
fn cancel_before_first_output_and_cancel_of_a_queued_task() {
    let fake = Fake::new(
        r#"case "$u" in
  *quiet*) sleep 30;;
  *block*) wait_for release;;
esac
finish"#,
    );
    let server = fake.server(&["--max-concurrent", "1"]);

    // Before the first progress line.
    let quiet = submit_url(&server, "http://127.0.0.1:1/quiet.html");
    let pid = fake.wait_started(&quiet);
    let pgid = proc_stat(pid).expect("fake is running").pgrp;
    assert_eq!(pgid, pid, "yt-dlp leads its own process group");
    let t = task(&server, &quiet);
    assert_eq!(t["status"], "downloading", "{t:#}");
    assert_eq!(bytes_of(&t), 0);
    let timing = stop_measured(
        &server,
        &format!("/api/downloads/{quiet}"),
        "Descarga cancelada",
        pgid,
    );
    report("cancel before the first output line", &timing);
    assert_nothing_left(&server, &quiet);
    let t = assert_cancelled_and_listed(&server, &quiet);
    assert_eq!(t["progress"], 0.0, "{t:#}");
    assert_not_cancellable(&server, &quiet);

    // A queued task behind a blocking one.
    let block = submit_url(&server, "http://127.0.0.1:1/block.html");
    fake.wait_started(&block);
    let queued = submit_url(&server, "http://127.0.0.1:1/queued.html");
    let t = task(&server, &queued);
    assert_eq!(t["status"], "pending", "{t:#}");
    let r = delete(&server.url(&format!("/api/downloads/{queued}")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"message": "Descarga cancelada"}));
    let t = assert_cancelled_and_listed(&server, &queued);
    assert!(t["started_at"].is_null(), "{t:#}");
    assert_not_cancellable(&server, &queued);

    // A queued task removed outright.
    let dropped = submit_url(&server, "http://127.0.0.1:1/dropped.html");
    assert_eq!(task(&server, &dropped)["status"], "pending");
    let r = delete(&server.url(&format!("/api/downloads/{dropped}/remove")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"message": "Descarga eliminada"}));
    assert_eq!(
        get(&server.url(&format!("/api/downloads/{dropped}"))).status,
        404
    );

    fake.ack("release");
    let t = server.poll_task(&block, POLL);
    assert_eq!(t["status"], "completed", "{t:#}");
    // The freed worker must not pick the cancelled or removed task up.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(task(&server, &queued)["status"], "cancelled");
    let argv = fake.argv();
    for never in [&queued, &dropped] {
        assert!(fake.started(never).is_none(), "task {never} ran");
        assert!(
            !argv.iter().any(|a| a.contains(never.as_str())),
            "yt-dlp was started for task {never}"
        );
        assert_nothing_left(&server, never);
    }
    assert!(argv.iter().any(|a| a.contains(&block)));
    assert_eq!(listing(&server).len(), 3, "quiet, block, queued");
}

/// Case 3: A yt-dlp that ignores SIGTERM and SIGINT, with a child that ignores them too: the
/// group is SIGKILLed after the grace period.
#[test]
fn cancel_kills_a_group_that_ignores_sigterm() {
    let fake = Fake::new(
        r#"trap '' TERM INT
printf 'partial' > "$f.part"
printf 'OTPROG {"status": "downloading", "downloaded_bytes": 7, "total_bytes": 1000, "filename": "%s"}\n' "$f"
sleep 60 &
echo $! > "$D/child-$id"
wait
wait
finish"#,
    );
    let server = fake.server(&[]);
    let id = submit_url(&server, "http://127.0.0.1:1/stubborn.html");
    let leader = fake.wait_started(&id);
    let child = fake.pid_file(&format!("child-{id}"));
    wait_task(&server, &id, "progress", |t| bytes_of(t) == 7);
    let pgid = proc_stat(leader).expect("fake runs").pgrp;
    let _cleanup = KillGroupOnDrop(pgid);
    assert_eq!(proc_stat(child).expect("child runs").pgrp, pgid);

    let timing = stop_measured(
        &server,
        &format!("/api/downloads/{id}"),
        "Descarga cancelada",
        pgid,
    );
    report(
        "cancel of a group that ignores SIGTERM (SIGKILL after grace)",
        &timing,
    );
    assert!(
        timing.no_process < Duration::from_secs(8),
        "the grace period is 3 s; took {timing:?}"
    );
    for pid in [leader, child] {
        assert!(
            proc_stat(pid).is_none_or(|s| s.state == 'Z'),
            "pid {pid} survived: {}",
            cmdline(pid)
        );
    }
    assert_nothing_left(&server, &id);
    assert_cancelled_and_listed(&server, &id);
    assert!(
        !server
            .downloads_dir()
            .join(format!("Title__{id}.mp4"))
            .exists(),
        "the fake's finish ran"
    );
}

/// Case 4: Cancel while ffmpeg (a `sleep` in the same group) post-processes: both die and every
/// partial the run made is removed.
#[test]
fn cancel_during_post_processing_kills_ffmpeg_and_removes_partials() {
    let fake = Fake::new(
        r#"b="$p/Title__$id"
for s in .f0.mp4 .f1.m4a .mp4.part .mp4.ytdl .mp4.part-Frag3 .temp.mp4 .f0.mp4.part-Frag1; do
  printf 'partial' > "$b$s"
done
printf 'OTPROG {"status": "finished", "downloaded_bytes": 700, "total_bytes": 700, "filename": "%s.f1.m4a"}\n' "$b"
echo 'OTPP "started" "Merger"'
sleep 60 &
echo $! > "$D/child-$id"
wait
finish"#,
    );
    let server = fake.server(&[]);
    let id = submit_url(&server, "http://127.0.0.1:1/merge.html");
    let leader = fake.wait_started(&id);
    let ffmpeg = fake.pid_file(&format!("child-{id}"));
    wait_task(&server, &id, "processing", |t| t["status"] == "processing");
    let before = files_of(&server, &id);
    assert_eq!(before.len(), 7, "{before:?}");
    let pgid = proc_stat(leader).expect("fake runs").pgrp;
    let _cleanup = KillGroupOnDrop(pgid);
    assert_eq!(proc_stat(ffmpeg).expect("ffmpeg stand-in runs").pgrp, pgid);

    let timing = stop_measured(
        &server,
        &format!("/api/downloads/{id}"),
        "Descarga cancelada",
        pgid,
    );
    report("cancel during post-processing (ffmpeg stand-in)", &timing);
    assert!(timing.no_process < Duration::from_secs(8), "{timing:?}");
    assert!(
        proc_stat(ffmpeg).is_none_or(|s| s.state == 'Z'),
        "the ffmpeg stand-in survived"
    );
    assert_nothing_left(&server, &id);
    assert_cancelled_and_listed(&server, &id);
    assert_not_cancellable(&server, &id);
    std::thread::sleep(Duration::from_millis(500));
    assert_nothing_left(&server, &id);
}

/// Case 4b: Like real ffmpeg under yt-dlp: the post-processor talks to yt-dlp through pipes of
/// its own (not the server's), and on SIGTERM it goes on writing (real ffmpeg finishes its
/// output first; this stand-in ignores the signal). yt-dlp itself dies at once. The cancel
/// must still end every process of the group and leave no `.temp.mp4` behind, also a
/// moment later.
#[test]
fn cancel_also_ends_a_post_processor_that_outlives_ytdlp() {
    let fake = Fake::new(
        r#"b="$p/Title__$id"
printf 'partial' > "$b.f0.mp4"
printf 'partial' > "$b.f1.m4a"
printf 'OTPROG {"status": "finished", "downloaded_bytes": 700, "total_bytes": 700, "filename": "%s.f1.m4a"}\n' "$b"
echo 'OTPP "started" "Merger"'
sh -c 'trap "" TERM INT; while :; do printf x >> "$1"; sleep 0.1; done' ffmpeg "$b.temp.mp4" </dev/null >/dev/null 2>&1 &
echo $! > "$D/child-$id"
while :; do sleep 0.05; done"#,
    );
    let server = fake.server(&[]);
    let id = submit_url(&server, "http://127.0.0.1:1/merge2.html");
    let leader = fake.wait_started(&id);
    let ffmpeg = fake.pid_file(&format!("child-{id}"));
    let pgid = proc_stat(leader).expect("fake runs").pgrp;
    let _cleanup = KillGroupOnDrop(pgid);
    assert_eq!(proc_stat(ffmpeg).expect("stand-in runs").pgrp, pgid);
    wait_task(&server, &id, "processing", |t| t["status"] == "processing");
    assert!(wait_until(POLL, || files_of(&server, &id)
        .iter()
        .any(|n| n.ends_with(".temp.mp4"))));

    let t0 = Instant::now();
    let r = delete(&server.url(&format!("/api/downloads/{id}")));
    let answered = t0.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    let gone = poll_every(Duration::from_millis(5), Duration::from_secs(10), || {
        live_in_group(pgid).is_empty()
    });
    eprintln!(
        "MEASURED cancel with a post-processor that outlives yt-dlp: DELETE answered in {} ms; \
         group {}",
        answered.as_millis(),
        if gone {
            format!("empty after {} ms", t0.elapsed().as_millis())
        } else {
            format!(
                "still running after 10 s: {:?}",
                describe(&live_in_group(pgid))
            )
        }
    );
    assert!(
        gone,
        "the post-processor (pid {ffmpeg}) survived the cancel: {:?}; files now {:?}",
        describe(&live_in_group(pgid)),
        files_of(&server, &id)
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_nothing_left(&server, &id);
    assert_cancelled_and_listed(&server, &id);
}

/// Case 4c: Cancel after yt-dlp has exited, while the server itself fetches the thumbnail from
/// a host that never answers: the cancel answers promptly (no yt-dlp is left to wait for),
/// the task is cancelled, and no thumbnail is stored for it.
#[test]
fn cancel_while_the_server_fetches_the_thumbnail_answers_promptly() {
    let fx = FixtureServer::with_fixtures();
    // Past the server's 15 s fetch limit; the fixture only notices a gone client at the end.
    fx.set_stall(Duration::from_secs(18));
    let fake = Fake::new(
        r#"th=$(cat "$D/thumb-url")
printf 'OTINFO {"id": "clip", "title": "Stalled thumb", "thumbnail": "%s", "extractor": "generic"}\n' "$th"
finish"#,
    );
    std::fs::write(fake.dir().join("thumb-url"), fx.stall_url("thumb.jpg")).unwrap();
    let server = fake.server(&[]);
    let id = submit_url(&server, "http://127.0.0.1:1/stalled-thumb.html");
    assert!(
        wait_until(POLL, || !requests_for(&fx, "/stall/").is_empty()),
        "the server never fetched the thumbnail"
    );
    let t = task(&server, &id);
    assert_eq!(t["status"], "processing", "{t:#}");
    assert_eq!(
        describe(&pids_with(&id)),
        Vec::<String>::new(),
        "yt-dlp is done"
    );

    let t0 = Instant::now();
    let r = delete(&server.url(&format!("/api/downloads/{id}")));
    let answered = t0.elapsed();
    eprintln!(
        "MEASURED cancel during the server's own thumbnail fetch: DELETE answered in {} ms",
        answered.as_millis()
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"message": "Descarga cancelada"}));
    assert_cancelled_and_listed(&server, &id);
    assert!(
        answered < Duration::from_secs(5),
        "the cancel waited {answered:?} for a thumbnail download"
    );
    assert!(
        wait_until(Duration::from_secs(25), || fx.in_flight() == 0),
        "thumbnail fetch still in flight"
    );
    let thumbs: Vec<String> = files_of(&server, &id)
        .into_iter()
        .filter(|n| n.starts_with(&id))
        .collect();
    assert_eq!(
        thumbs,
        Vec::<String>::new(),
        "a thumbnail for a cancelled task"
    );
    assert_eq!(task(&server, &id)["status"], "cancelled");
}

/// Case 5: BR-19: 30 cancels and 30 completions leave no zombie, and threads and fds come back
/// to where they were.
#[test]
fn many_cancels_and_completions_leave_no_zombies_or_leaks() {
    let fake = Fake::new(
        r#"case "$u" in
  *cancel-me*)
    printf 'OTPROG {"status": "downloading", "downloaded_bytes": 1, "total_bytes": 10, "filename": "%s"}\n' "$f"
    trap 'exit 0' TERM
    while :; do sleep 0.05; done;;
esac
finish"#,
    );
    let server = fake.server(&["--max-concurrent", "4"]);
    let pid = server.pid();
    listing(&server);
    assert_alive(&server);
    let (threads0, fds0) = (thread_count(pid), fd_count(pid));

    let started = Instant::now();
    let mut cancelled = Vec::new();
    let mut completed = Vec::new();
    for i in 0..30 {
        completed.push(submit_url(&server, &format!("http://127.0.0.1:1/done-{i}")));
        let id = submit_url(&server, &format!("http://127.0.0.1:1/cancel-me-{i}"));
        fake.wait_started(&id);
        let r = delete(&server.url(&format!("/api/downloads/{id}")));
        assert_eq!(r.status, 200, "cancel {i}: {}", r.text());
        cancelled.push(id);
    }
    for id in &completed {
        let t = server.poll_task(id, POLL);
        assert_eq!(t["status"], "completed", "{t:#}");
    }
    for id in &cancelled {
        assert_eq!(task(&server, id)["status"], "cancelled");
        assert_eq!(files_of(&server, id), Vec::<String>::new());
    }
    eprintln!(
        "MEASURED BR-19: 30 started+cancelled and 30 completed runs in {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(
        describe(&pids_with("cancel-me")),
        Vec::<String>::new(),
        "fakes still running"
    );
    let no_zombies = wait_until(Duration::from_secs(5), || zombie_children(pid).is_empty());
    assert!(no_zombies, "zombies: {:?}", zombie_children(pid));
    // Threads and fds settle back near the start (idle HTTP threads may linger briefly).
    let settled = wait_until(Duration::from_secs(10), || {
        thread_count(pid) <= threads0 + 4 && fd_count(pid) <= fds0 + 4
    });
    eprintln!(
        "MEASURED BR-19: threads {threads0} -> {}, fds {fds0} -> {}",
        thread_count(pid),
        fd_count(pid)
    );
    assert!(
        settled,
        "threads {threads0} -> {}, fds {fds0} -> {}",
        thread_count(pid),
        fd_count(pid)
    );
    assert_alive(&server);
}

// ---------------------------------------------------------------------------
// 6. Remove

/// 6a / BR-20a: remove during a slow real download: the process stops, nothing of the
/// task is on disk (also 2 s later), the task is gone, a second remove is a 404.
#[test]
fn remove_during_a_real_download_stops_it_and_deletes_everything() {
    let fx = FixtureServer::with_fixtures();
    fx.set_slow(4096, Duration::from_millis(100));
    let page = fx.write_page(
        "slowpage.html",
        "Slow one",
        Some("thumb.jpg"),
        "slow/big.mp4",
    );
    let server = real_server(&[]);
    let id = submit_url(&server, &page);
    wait_task(&server, &id, "some bytes", |t| bytes_of(t) > 8192);
    let pgid = group_of_task(&server, &id);
    assert!(!files_of(&server, &id).is_empty());

    let timing = stop_measured(
        &server,
        &format!("/api/downloads/{id}/remove"),
        "Descarga eliminada",
        pgid,
    );
    report("remove of a running real yt-dlp", &timing);
    assert_nothing_left(&server, &id);
    std::thread::sleep(Duration::from_secs(2));
    assert_nothing_left(&server, &id);

    let r = get(&server.url(&format!("/api/downloads/{id}")));
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["detail"], "Descarga no encontrada");
    assert!(!listing(&server).iter().any(|t| t["id"] == id.as_str()));
    let r = delete(&server.url(&format!("/api/downloads/{id}/remove")));
    assert_eq!(r.status, 404, "second remove: {}", r.text());
    assert_eq!(
        r.json(),
        json!({"detail": "Descarga no encontrada", "code": "task_not_found"})
    );
    let r = delete(&server.url(&format!("/api/downloads/{id}")));
    assert_eq!(r.status, 404, "cancel after remove: {}", r.text());
    assert_alive(&server);
}

/// 6b / BR-20b and 6c: removal goes by the files a task owns. A's file was deleted by hand
/// and B downloaded the same page again: removing A leaves B's file (and thumbnail);
/// removing B then deletes its video and thumbnail.
#[test]
fn remove_goes_by_owned_files_and_takes_the_thumbnail() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("same.html", "Same title", Some("thumb.jpg"), "clip.mp4");
    let clip = fixture_bytes("clip.mp4");
    let server = real_server(&[]);

    let a = submit_url(&server, &page);
    let ta = server.poll_task(&a, DONE);
    assert_eq!(ta["status"], "completed", "{ta:#}");
    let a_name = ta["filename"].as_str().unwrap().to_string();
    assert_eq!(a_name, format!("Same title__{a}.mp4"));
    std::fs::remove_file(server.downloads_dir().join(&a_name)).unwrap();

    let b = submit_url(&server, &page);
    assert_ne!(a, b, "a finished task is not a duplicate");
    let tb = server.poll_task(&b, DONE);
    assert_eq!(tb["status"], "completed", "{tb:#}");
    let b_name = tb["filename"].as_str().unwrap().to_string();
    assert_eq!(b_name, format!("Same title__{b}.mp4"));
    assert!(server.thumbnails_dir().join(format!("{a}.jpg")).is_file());
    assert!(server.thumbnails_dir().join(format!("{b}.jpg")).is_file());

    let r = delete(&server.url(&format!("/api/downloads/{a}/remove")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"message": "Descarga eliminada"}));
    assert_nothing_left(&server, &a);
    assert_same_bytes(
        &read_download(&server, &b_name),
        &clip,
        "B's file after removing A",
    );
    assert_same_bytes(
        &stream(&server, &b_name),
        &clip,
        "B streamed after removing A",
    );
    assert_eq!(
        get(&server.url(&format!("/api/thumbnails/{b}"))).status,
        200,
        "B's thumbnail"
    );
    assert_eq!(
        get(&server.url(&format!("/api/thumbnails/{a}"))).status,
        404
    );

    // 6c: remove a completed task: video and thumbnail go.
    let r = delete(&server.url(&format!("/api/downloads/{b}/remove")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_nothing_left(&server, &b);
    assert_eq!(
        get(&server.url(&format!("/api/thumbnails/{b}"))).status,
        404
    );
    assert_eq!(
        get(&server.url(&format!("/api/stream/{}", pct(&b_name)))).status,
        404
    );
    assert_eq!(listing(&server), Vec::<Value>::new());
    let r = delete(&server.url(&format!("/api/downloads/{b}/remove")));
    assert_eq!(r.status, 404, "second remove: {}", r.text());
}

// ---------------------------------------------------------------------------
// 7. Retry

/// Retry re-queues an `error` or `cancelled` task under the same id; anything else is 409.
#[test]
fn retry_requeues_failed_and_cancelled_tasks_only() {
    let fake = Fake::new(
        r#"case "$u" in
  *flaky*)
    if [ ! -e "$D/failed-once" ]; then
      touch "$D/failed-once"
      printf 'half' > "$f.part"
      echo 'ERROR: [generic] flaky: HTTP Error 503: Service Unavailable' >&2
      exit 1
    fi
    wait_for go2;;
  *hold*) wait_for release;;
esac
finish"#,
    );
    let server = fake.server(&[]);
    let id = submit_url(&server, "http://127.0.0.1:1/flaky.html");
    let t = server.poll_task(&id, POLL);
    assert_eq!(t["status"], "error", "{t:#}");
    assert!(
        t["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("HTTP Error 503")),
        "{t:#}"
    );
    assert_nothing_left(&server, &id);

    let r = post_json(
        &server.url(&format!("/api/downloads/{id}/retry")),
        &json!({}),
    );
    assert_eq!(r.status, 200, "retry: {}", r.text());
    let t = r.json();
    assert_eq!(t["id"], id.as_str());
    assert!(
        matches!(t["status"].as_str(), Some("pending" | "downloading")),
        "{t:#}"
    );
    assert_eq!(t["progress"], 0.0, "{t:#}");
    assert!(t["error_message"].is_null(), "{t:#}");
    fake.ack("go2");
    let t = server.poll_task(&id, POLL);
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(t["filename"], format!("Title__{id}.mp4"));
    assert_eq!(listing(&server).len(), 1, "a retry is not a new task");

    let r = post_json(
        &server.url(&format!("/api/downloads/{id}/retry")),
        &json!({}),
    );
    assert_eq!(r.status, 409, "retry of a completed task: {}", r.text());
    assert_eq!(r.json()["code"], "not_retryable");
    assert_eq!(task(&server, &id)["status"], "completed");

    // Running → 409; cancelled → retried, runs again under the same id.
    let hold = submit_url(&server, "http://127.0.0.1:1/hold.html");
    fake.wait_started(&hold);
    let r = post_json(
        &server.url(&format!("/api/downloads/{hold}/retry")),
        &json!({}),
    );
    assert_eq!(r.status, 409, "retry of a running task: {}", r.text());
    let r = delete(&server.url(&format!("/api/downloads/{hold}")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_nothing_left(&server, &hold);
    fake.ack("release");
    let r = post_json(
        &server.url(&format!("/api/downloads/{hold}/retry")),
        &json!({}),
    );
    assert_eq!(r.status, 200, "retry of a cancelled task: {}", r.text());
    let t = server.poll_task(&hold, POLL);
    assert_eq!(t["status"], "completed", "{t:#}");

    let unknown = uuid::Uuid::new_v4();
    let r = post_json(
        &server.url(&format!("/api/downloads/{unknown}/retry")),
        &json!({}),
    );
    assert_eq!(r.status, 404, "{}", r.text());
}

// ---------------------------------------------------------------------------
// 8. Playlists

/// FX-MULTI with the real yt-dlp: one task, three entries, each streamable and whole;
/// remove deletes them all.
#[test]
fn a_playlist_is_one_task_with_every_entry_streamable() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_multi_page(
        "multi.html",
        "multi",
        &["clip.mp4?i=1", "clip.mp4?i=2", "clip.mp4?i=3"],
    );
    let clip = fixture_bytes("clip.mp4");
    let server = real_server(&[]);
    let id = submit_url(&server, &page);
    let mut seen = Vec::new();
    let deadline = Instant::now() + DONE;
    let t = loop {
        let t = task(&server, &id);
        let i = t["playlist_index"].as_u64().unwrap_or(0);
        if seen.last() != Some(&i) {
            seen.push(i);
        }
        if is_terminal(&t) {
            break t;
        }
        assert!(Instant::now() < deadline, "{t:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("playlist_index values seen: {seen:?}");
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(t["is_playlist"], true, "{t:#}");
    assert_eq!(t["playlist_total"], 3, "{t:#}");
    assert_eq!(t["playlist_index"], 3, "{t:#}");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "index went back: {seen:?}"
    );
    let files = t["files"].as_array().expect("files").clone();
    assert_eq!(files.len(), 3, "{t:#}");
    let names: Vec<String> = files
        .iter()
        .map(|f| f["filename"].as_str().unwrap().to_string())
        .collect();
    for (n, name) in names.iter().enumerate() {
        assert!(
            name.ends_with(&format!("__{id}_{}.mp4", n + 1)),
            "entry {}: {name}",
            n + 1
        );
        assert_same_bytes(&read_download(&server, name), &clip, name);
        assert_same_bytes(&stream(&server, name), &clip, name);
    }
    let distinct: BTreeSet<_> = names.iter().collect();
    assert_eq!(distinct.len(), 3);
    let on_disk: Vec<String> = files_of(&server, &id)
        .into_iter()
        .filter(|n| !n.starts_with(&id)) // the thumbnail, if any, is keyed by id
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(on_disk, sorted, "only the three entries on disk");

    let r = delete(&server.url(&format!("/api/downloads/{id}/remove")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_nothing_left(&server, &id);
    for name in &names {
        assert_eq!(
            get(&server.url(&format!("/api/stream/{}", pct(name)))).status,
            404
        );
    }
}

/// BR-21: cancelling a playlist once entry 1 is done stops it: entries 2 and 3 are not
/// fetched after the cancel, entry 1 is listed and whole (or removed).
#[test]
fn a_cancelled_playlist_fetches_no_further_entries() {
    let fx = FixtureServer::with_fixtures();
    fx.set_slow(2048, Duration::from_millis(100)); // about 1.2 s per entry
    let page = fx.write_multi_page(
        "slowmulti.html",
        "slowmulti",
        &[
            "/slow/clip.mp4?n=1",
            "/slow/clip.mp4?n=2",
            "/slow/clip.mp4?n=3",
        ],
    );
    let clip = fixture_bytes("clip.mp4");
    let server = real_server(&[]);
    let id = submit_url(&server, &page);
    let t = wait_task(&server, &id, "entry 1 finished", |t| {
        t["files"].as_array().is_some_and(|f| !f.is_empty())
    });
    assert_eq!(t["is_playlist"], true, "{t:#}");
    let pgid = group_of_task(&server, &id);
    let timing = stop_measured(
        &server,
        &format!("/api/downloads/{id}"),
        "Descarga cancelada",
        pgid,
    );
    report("cancel of a playlist after entry 1", &timing);
    let settled = fx.requests();
    std::thread::sleep(Duration::from_millis(1500));
    let after: Vec<String> = fx.requests()[settled.len()..].to_vec();
    assert!(
        !after.iter().any(|r| r.contains("n=2") || r.contains("n=3")),
        "entries fetched after the cancel: {after:?}"
    );
    assert!(
        !fx.requests().iter().any(|r| r.contains("n=3")),
        "entry 3 was fetched: {:?}",
        fx.requests()
    );

    let t = assert_cancelled_and_listed(&server, &id);
    assert_eq!(describe(&pids_with(&id)), Vec::<String>::new());
    let listed: Vec<String> = t["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap().to_string())
        .collect();
    assert!(listed.len() <= 1, "{t:#}");
    for name in &listed {
        assert!(name.ends_with(&format!("__{id}_1.mp4")), "{name}");
        assert_same_bytes(&read_download(&server, name), &clip, "entry 1 kept");
    }
    // Nothing else of the task: no partial of entry 2, no unlisted entry 1.
    let media: Vec<String> = files_of(&server, &id)
        .into_iter()
        .filter(|n| !n.starts_with(&id))
        .collect();
    assert_eq!(media, listed, "files on disk vs files listed");
    eprintln!("BR-21: entry 1 after the cancel: {listed:?}");

    let r = delete(&server.url(&format!("/api/downloads/{id}/remove")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_nothing_left(&server, &id);
}

// ---------------------------------------------------------------------------
// 9, 10. Duplicates and same titles

/// BR-24: the same slow URL twice within 100 ms is one task with one whole file; after it
/// finished and was removed, the same URL downloads again.
#[test]
fn same_url_twice_is_one_task_and_works_again_after_remove() {
    let fx = FixtureServer::with_fixtures();
    fx.set_slow(4096, Duration::from_millis(50));
    let url = fx.slow_url("clip.mp4");
    let clip = fixture_bytes("clip.mp4");
    let server = real_server(&[]);
    let t0 = Instant::now();
    let first = submit_url(&server, &url);
    let second = submit_url(&server, &url);
    let gap = t0.elapsed();
    eprintln!("BR-24: two POSTs within {} ms", gap.as_millis());
    assert_eq!(first, second, "the second POST started another download");
    let t = server.poll_task(&first, DONE);
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(listing(&server).len(), 1);
    let name = t["filename"].as_str().unwrap().to_string();
    assert_same_bytes(
        &read_download(&server, &name),
        &clip,
        "deduplicated download",
    );

    let r = delete(&server.url(&format!("/api/downloads/{first}/remove")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_nothing_left(&server, &first);
    let again = submit_url(&server, &url);
    assert_ne!(again, first);
    let t = server.poll_task(&again, DONE);
    assert_eq!(t["status"], "completed", "{t:#}");
    let name = t["filename"].as_str().unwrap().to_string();
    assert!(name.contains(&again), "{name}");
    assert_same_bytes(
        &read_download(&server, &name),
        &clip,
        "download after remove",
    );
    assert_same_bytes(&stream(&server, &name), &clip, "stream after remove");
}

/// Two different videos with the same title never share or overwrite a file.
#[test]
fn same_title_different_videos_get_different_files() {
    let fx = FixtureServer::with_fixtures();
    let p1 = fx.write_page("one.html", "Same name", None, "clip.mp4");
    let p2 = fx.write_page("two.html", "Same name", None, "clip2.mp4");
    let server = real_server(&[]);
    let a = submit_url(&server, &p1);
    let b = submit_url(&server, &p2);
    let ta = server.poll_task(&a, DONE);
    let tb = server.poll_task(&b, DONE);
    assert_eq!(ta["status"], "completed", "{ta:#}");
    assert_eq!(tb["status"], "completed", "{tb:#}");
    let (na, nb) = (
        ta["filename"].as_str().unwrap().to_string(),
        tb["filename"].as_str().unwrap().to_string(),
    );
    assert_ne!(na, nb);
    assert_same_bytes(
        &read_download(&server, &na),
        &fixture_bytes("clip.mp4"),
        &na,
    );
    assert_same_bytes(
        &read_download(&server, &nb),
        &fixture_bytes("clip2.mp4"),
        &nb,
    );
    assert_same_bytes(&stream(&server, &na), &fixture_bytes("clip.mp4"), &na);
    assert_same_bytes(&stream(&server, &nb), &fixture_bytes("clip2.mp4"), &nb);
}

// ---------------------------------------------------------------------------
// 11, 12. Restart

/// BR-26: kill -9 of the server mid-download. Its yt-dlp dies with it; the next start
/// lists the finished task unchanged, never lists the `.part`, re-queues the half-done
/// task, resumes it with a Range request, and ends with a byte-identical file.
#[test]
fn kill_9_mid_download_then_restart_resumes_byte_identical() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page(
        "done.html",
        "Finished before",
        Some("thumb.jpg"),
        "clip.mp4",
    );
    let big = fixture_bytes("big.mp4");
    let data = TempDir::new("offlinetube-ctl-restart");
    let args = ["--min-free-mb", "0"];
    let mut server = Server::start_in(data.path(), &args);

    let done = submit_url(&server, &page);
    let done_task = server.poll_task(&done, DONE);
    assert_eq!(done_task["status"], "completed", "{done_task:#}");

    fx.set_slow(16 * 1024, Duration::from_millis(100)); // 160 KiB/s
    let url = fx.slow_url("big.mp4");
    let slow = submit_url(&server, &url);
    let t = wait_task(&server, &slow, "200 KB", |t| bytes_of(t) >= 200_000);
    let pgid = group_of_task(&server, &slow);
    let before_kill = bytes_of(&t);

    let killed_at = Instant::now();
    // SAFETY: kill(2) on our own child process.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGKILL) }, 0);
    let orphan_gone = poll_every(Duration::from_millis(5), Duration::from_secs(10), || {
        live_in_group(pgid).is_empty()
    });
    let orphan_time = killed_at.elapsed();
    assert!(
        orphan_gone,
        "yt-dlp outlived the server: {:?}",
        describe(&live_in_group(pgid))
    );
    assert_eq!(describe(&pids_with(&slow)), Vec::<String>::new());
    let downloads = data.path().join("downloads");
    let part_name = std::fs::read_dir(&downloads)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.contains(&slow) && n.ends_with(".part"))
        .expect("a .part of the half-done download");
    let part_size = std::fs::metadata(downloads.join(&part_name)).unwrap().len();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        std::fs::metadata(downloads.join(&part_name)).unwrap().len(),
        part_size,
        "something still writes the .part after the kill"
    );
    assert!(part_size > 0 && part_size < big.len() as u64, "{part_size}");

    fx.set_slow(1024 * 1024, Duration::from_millis(10)); // the resume runs fast
    fx.clear_requests();
    server.restart(&args);

    let list = listing(&server);
    let old = list
        .iter()
        .find(|t| t["id"] == done.as_str())
        .expect("finished task listed after restart");
    assert_eq!(
        old, &done_task,
        "the finished task changed across the restart"
    );
    for t in &list {
        let mut names = vec![t["filename"].as_str().unwrap_or("").to_string()];
        for f in t["files"].as_array().into_iter().flatten() {
            names.push(f["filename"].as_str().unwrap_or("").to_string());
        }
        assert!(
            names.iter().all(|n| !n.contains(".part")),
            "a .part is listed: {t:#}"
        );
    }
    let t = list
        .iter()
        .find(|t| t["id"] == slow.as_str())
        .expect("half-done task listed after restart");
    assert!(
        matches!(
            t["status"].as_str(),
            Some("pending" | "downloading" | "processing" | "completed")
        ),
        "not re-queued: {t:#}"
    );
    assert_eq!(
        get(&server.url(&format!("/api/stream/{}", pct(&part_name)))).status,
        404,
        "the .part is streamable"
    );

    let t = server.poll_task(&slow, DONE);
    assert_eq!(t["status"], "completed", "{t:#}");
    let name = t["filename"].as_str().unwrap().to_string();
    assert!(name.ends_with(".mp4") && !name.contains(".part"), "{name}");
    assert_same_bytes(&read_download(&server, &name), &big, "resumed file");
    assert_same_bytes(&stream(&server, &name), &big, "resumed file streamed");
    assert!(
        !files_of(&server, &slow).iter().any(|n| n.contains(".part")),
        "{:?}",
        files_of(&server, &slow)
    );
    let ranges: Vec<(String, String)> = fx
        .ranges()
        .into_iter()
        .filter(|(line, _)| line.contains("big.mp4"))
        .collect();
    let resumed_from: Vec<u64> = ranges
        .iter()
        .filter_map(|(_, v)| v.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
        .filter(|n| *n > 0)
        .collect();
    assert!(
        !resumed_from.is_empty(),
        "yt-dlp did not resume with Range: bytes=N- (N > 0); ranges: {ranges:?}; requests: {:?}",
        fx.requests()
    );
    eprintln!(
        "MEASURED BR-26 restart: killed -9 at {before_kill} bytes reported; old yt-dlp gone \
         {} ms after the kill; .part {part_size} bytes; resumed with Range bytes={}- ; final \
         file {} bytes, byte-identical to big.mp4",
        orphan_time.as_millis(),
        resumed_from[0],
        big.len()
    );
    assert_eq!(
        resumed_from[0], part_size,
        "resume offset is not the size of the .part"
    );

    // A new POST of the once half-done URL works.
    let again = submit_url(&server, &url);
    assert_ne!(again, slow);
    let t = server.poll_task(&again, DONE);
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_same_bytes(
        &read_download(&server, t["filename"].as_str().unwrap()),
        &big,
        "new download of the same URL",
    );
}

/// Media named `*__<uuid>.*` without a task are adopted; a `.part` is not; a corrupt
/// `tasks.json` is moved aside and the tasks are rebuilt from the folder.
#[test]
fn orphan_files_are_adopted_and_a_corrupt_journal_is_moved_aside() {
    let fake = Fake::new("finish");
    let data = TempDir::new("offlinetube-ctl-adopt");
    let args = [
        "--yt-dlp",
        fake.path(),
        "--ffmpeg",
        "/nonexistent/ffmpeg",
        "--min-free-mb",
        "0",
    ];
    let mut server = Server::start_in(data.path(), &args);
    let id = submit_url(&server, "http://127.0.0.1:1/adopt.html");
    let t = server.poll_task(&id, POLL);
    assert_eq!(t["status"], "completed", "{t:#}");
    let name = format!("Title__{id}.mp4");
    assert_eq!(t["filename"], name.as_str());
    server.stop();

    let journal = data.path().join("tasks.json");
    assert!(journal.is_file());
    std::fs::remove_file(&journal).unwrap();
    let downloads = data.path().join("downloads");
    let stray = uuid::Uuid::new_v4().to_string();
    let stray_name = format!("stray__{stray}.mp4");
    std::fs::copy(fixture("clip.mp4"), downloads.join(&stray_name)).unwrap();
    let partial = uuid::Uuid::new_v4().to_string();
    std::fs::write(downloads.join(format!("x__{partial}.mp4.part")), b"half").unwrap();
    let clip = fixture_bytes("clip.mp4");

    let check = |server: &Server, when: &str| {
        let list = listing(server);
        let ids: BTreeSet<String> = list
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = [id.clone(), stray.clone()].into_iter().collect();
        assert_eq!(ids, want, "{when}: {list:#?}");
        for t in &list {
            assert_eq!(t["status"], "completed", "{when}: {t:#}");
            assert!(
                !t["filename"].as_str().unwrap().contains(".part"),
                "{when}: {t:#}"
            );
        }
        let s = list.iter().find(|t| t["id"] == stray.as_str()).unwrap();
        assert_eq!(s["filename"], stray_name.as_str(), "{when}: {s:#}");
        assert_eq!(s["title"], "stray", "{when}: {s:#}");
        assert_eq!(s["filesize"], clip.len() as u64, "{when}: {s:#}");
        assert_eq!(
            s["files"],
            json!([{"filename": stray_name, "title": "stray", "filesize": clip.len()}]),
            "{when}"
        );
        let mine = list.iter().find(|t| t["id"] == id.as_str()).unwrap();
        assert_eq!(mine["filename"], name.as_str(), "{when}: {mine:#}");
        assert_same_bytes(&stream(server, &stray_name), &clip, "adopted stray file");
        assert_eq!(stream(server, &name), b"fake media bytes\n");
        assert_eq!(
            get(&server.url(&format!("/api/downloads/{partial}"))).status,
            404,
            "{when}: the .part became a task"
        );
    };
    server.restart(&args);
    check(&server, "after tasks.json was deleted");

    server.stop();
    std::fs::write(&journal, b"{\"not\": json").unwrap();
    server.restart(&args);
    let aside: Vec<PathBuf> = std::fs::read_dir(data.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("tasks.json.corrupt-"))
        })
        .collect();
    assert_eq!(aside.len(), 1, "corrupt journal not moved aside: {aside:?}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), b"{\"not\": json");
    check(&server, "after tasks.json was corrupt");
    assert_alive(&server);
}

/// Case 11b: kill -9 of the server while a child of yt-dlp (an external downloader or ffmpeg,
/// which PDEATHSIG does not cover) writes the `.part` with its stdio away from the server:
/// after the restart nothing of the old run may still write that `.part`.
#[test]
fn restart_leaves_no_orphan_of_the_old_run_writing_the_part() {
    let fake = Fake::new(
        r#"if [ ! -e "$D/first-run" ]; then
  touch "$D/first-run"
  sh -c 'trap "" TERM INT HUP PIPE; while :; do printf x >> "$1"; sleep 0.1; done' aria2c "$f.part" </dev/null >/dev/null 2>&1 &
  echo $! > "$D/child-$id"
  printf 'OTPROG {"status": "downloading", "downloaded_bytes": 1, "total_bytes": 1000, "filename": "%s"}\n' "$f"
  while :; do sleep 0.1; done
fi
rm -f "$f.part"
finish"#,
    );
    let data = TempDir::new("offlinetube-ctl-orphan");
    let args = [
        "--yt-dlp",
        fake.path(),
        "--ffmpeg",
        "/nonexistent/ffmpeg",
        "--min-free-mb",
        "0",
    ];
    let mut server = Server::start_in(data.path(), &args);
    let id = submit_url(&server, "http://127.0.0.1:1/orphan.html");
    let leader = fake.wait_started(&id);
    let child = fake.pid_file(&format!("child-{id}"));
    let pgid = proc_stat(leader).expect("fake runs").pgrp;
    let _cleanup = KillGroupOnDrop(pgid);
    wait_task(&server, &id, "progress", |t| bytes_of(t) == 1);

    // SAFETY: kill(2) on our own child process.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGKILL) }, 0);
    assert!(
        poll_every(Duration::from_millis(5), Duration::from_secs(10), || {
            proc_stat(leader).is_none_or(|s| s.state == 'Z')
        }),
        "yt-dlp outlived the server"
    );
    server.restart(&args);
    let t = server.poll_task(&id, POLL);
    assert_eq!(t["status"], "completed", "{t:#}");
    let part = data
        .path()
        .join("downloads")
        .join(format!("Title__{id}.mp4.part"));
    let quiet = poll_every(Duration::from_millis(5), Duration::from_secs(5), || {
        live_in_group(pgid).is_empty()
    });
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    let s1 = size(&part);
    std::thread::sleep(Duration::from_millis(500));
    let s2 = size(&part);
    eprintln!(
        "restart with an orphaned grandchild: old group {}; .part sizes {s1:?} -> {s2:?}",
        if quiet { "gone" } else { "still running" }
    );
    assert!(
        quiet,
        "the old run's child (pid {child}) still writes after the restart: {:?}",
        describe(&live_in_group(pgid))
    );
    assert_eq!(s2, None, "a .part of the completed task is left on disk");
}

// ---------------------------------------------------------------------------
// 13. Disk full (BR-27)

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        use std::os::unix::ffi::OsStrExt;
        let target = std::ffi::CString::new(self.0.as_os_str().as_bytes()).unwrap();
        // SAFETY: umount2 with a valid NUL-terminated path.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Mounts a tmpfs of `size` at `dir`; `Err(errno)` if that fails.
fn mount_tmpfs(dir: &Path, size: &str) -> Result<Mounted, i32> {
    use std::os::unix::ffi::OsStrExt;
    let target = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    let fstype = std::ffi::CString::new("tmpfs").unwrap();
    let data = std::ffi::CString::new(format!("size={size},mode=0755")).unwrap();
    // SAFETY: every pointer is a valid NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            data.as_ptr().cast(),
        )
    };
    if rc == 0 {
        Ok(Mounted(dir.to_path_buf()))
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// A scripted ENOSPC: the task ends `error` with the message, its `.part` is removed, the
/// server keeps serving and a later download works.
#[test]
fn disk_full_ends_the_task_with_a_clear_error_and_no_partials() {
    let fake = Fake::new(
        r#"case "$u" in
  *full*)
    printf 'partial bytes' > "$f.part"
    printf 'partial' > "$f.ytdl"
    printf 'OTPROG {"status": "downloading", "downloaded_bytes": 13, "total_bytes": 1000, "filename": "%s"}\n' "$f"
    echo 'ERROR: unable to write data: [Errno 28] No space left on device' >&2
    exit 1;;
esac
finish"#,
    );
    let server = fake.server(&[]);
    let id = submit_url(&server, "http://127.0.0.1:1/full.html");
    let t = server.poll_task(&id, POLL);
    assert_eq!(t["status"], "error", "{t:#}");
    assert_eq!(
        t["error_message"],
        "ERROR: unable to write data: [Errno 28] No space left on device"
    );
    assert!(t["completed_at"].is_null());
    assert_nothing_left(&server, &id);
    assert_alive(&server);
    let ok = submit_url(&server, "http://127.0.0.1:1/fine.html");
    let t = server.poll_task(&ok, POLL);
    assert_eq!(t["status"], "completed", "{t:#}");
}

/// The same with the real yt-dlp and a real full disk: a 256 KiB tmpfs as the downloads
/// folder and big.mp4 (about 800 KB). Needs root and mount(2); skipped only on EPERM.
#[test]
fn real_full_disk_with_tmpfs() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED real tmpfs disk-full case: not root");
        return;
    }
    let mnt = TempDir::new("offlinetube-ctl-tmpfs");
    let _mounted = match mount_tmpfs(mnt.path(), "256k") {
        Ok(m) => m,
        Err(libc::EPERM) => {
            eprintln!("SKIPPED real tmpfs disk-full case: mount gives EPERM");
            return;
        }
        Err(e) => panic!(
            "mount tmpfs failed: {}",
            std::io::Error::from_raw_os_error(e)
        ),
    };
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("bigpage.html", "Too big", Some("thumb.jpg"), "big.mp4");
    // With an image: yt-dlp writes it on the tmpfs and the server moves it to the
    // thumbnails folder on another filesystem.
    let small = fx.write_page("small.html", "Fits", Some("thumb.jpg"), "clip.mp4");
    let dl = mnt.path().to_str().unwrap().to_string();
    let server = real_server(&["--downloads-dir", &dl]);

    let id = submit_url(&server, &page);
    let t = server.poll_task(&id, DONE);
    assert_eq!(t["status"], "error", "{t:#}");
    let msg = t["error_message"].as_str().unwrap_or("");
    assert!(msg.contains("No space left on device"), "{msg:?}");
    assert_nothing_left(&server, &id);
    let used: Vec<String> = std::fs::read_dir(mnt.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(used, Vec::<String>::new(), "left on the full disk");
    assert_alive(&server);

    let ok = submit_url(&server, &small);
    let t = server.poll_task(&ok, DONE);
    assert_eq!(t["status"], "completed", "{t:#}");
    let stored = std::fs::read(mnt.path().join(t["filename"].as_str().unwrap()))
        .expect("the new download is on the freed disk");
    assert_same_bytes(
        &stored,
        &fixture_bytes("clip.mp4"),
        "download after the disk was freed",
    );
    let thumb = get(&server.url(&format!("/api/thumbnails/{ok}")));
    assert_eq!(thumb.status, 200, "thumbnail moved across filesystems");
    assert_same_bytes(&thumb.body, &fixture_bytes("thumb.jpg"), "thumbnail");
    eprintln!("real tmpfs disk-full case ran: error {msg:?}");
    drop(server);
}

// ---------------------------------------------------------------------------
// 14. DASH (BR-28, BR-12)

/// BR-28: a DASH segment that 404s is not a silent `completed`.
#[test]
fn dash_with_a_missing_fragment_is_an_error_not_a_silent_success() {
    let fx = FixtureServer::with_fixtures();
    std::fs::remove_file(fx.dir().join("dash/chunk-stream1-00002.m4s")).unwrap();
    let url = fx.url("dash/manifest.mpd");
    let server = real_server(&[]);
    let id = submit_url(&server, &url);
    // Catch the argv while it runs (the fragment retries take about a second).
    let mut flag_seen = false;
    let deadline = Instant::now() + DONE;
    let t = loop {
        for pid in pids_with(&id) {
            flag_seen |= cmdline(pid).contains("--abort-on-unavailable-fragments");
        }
        let t = task(&server, &id);
        if is_terminal(&t) {
            break t;
        }
        assert!(Instant::now() < deadline, "{t:#}");
        std::thread::sleep(Duration::from_millis(10));
    };
    let msg = t["error_message"].as_str().unwrap_or("").to_string();
    eprintln!(
        "BR-28: status {} message {msg:?}; flag seen in argv: {flag_seen}",
        t["status"]
    );
    assert_eq!(
        t["status"], "error",
        "a truncated video counted as done: {t:#}"
    );
    assert!(
        msg.to_lowercase().contains("fragment") || flag_seen,
        "neither the message nor argv shows the fragment abort: {msg:?}"
    );
    assert!(t["completed_at"].is_null(), "{t:#}");
    assert_nothing_left(&server, &id);
}

/// BR-28 with a yt-dlp that skips a fragment anyway and exits 0 with a file (what yt-dlp
/// does without `--abort-on-unavailable-fragments`; under `--print` it even says nothing).
/// The server asks for the abort; and a skip that still happens is not a silent success.
#[test]
fn a_skipped_fragment_with_exit_0_is_not_a_silent_success() {
    let fake = Fake::new(
        r#"v="$p/Title__$id.f0.mp4"
printf 'OTPROG {"status": "downloading", "downloaded_bytes": 300, "total_bytes_estimate": 900, "fragment_index": 1, "fragment_count": 3, "filename": "%s"}\n' "$v"
printf 'OTPROG {"status": "downloading", "downloaded_bytes": 600, "total_bytes_estimate": 900, "fragment_index": 2, "fragment_count": 3, "filename": "%s"}\n' "$v"
for n in 1 2 3 4 5 6 7 8 9 10; do
  echo "[download] Got error: HTTP Error 404: Not Found. Retrying fragment 3 ($n/10)..."
done
echo '[download] fragment not found; Skipping fragment 3 ...'
printf 'OTPROG {"status": "finished", "downloaded_bytes": 600, "total_bytes": 600, "filename": "%s"}\n' "$v"
finish
exit 0"#,
    );
    let server = fake.server(&[]);
    let id = submit_url(&server, "http://127.0.0.1:1/dash-skip.mpd");
    let t = server.poll_task(&id, POLL);
    let argv = fake.argv();
    assert!(
        argv.iter().any(|a| a == "--abort-on-unavailable-fragments"),
        "{argv:?}"
    );
    let msg = t["error_message"].as_str().unwrap_or("").to_lowercase();
    eprintln!(
        "skipped fragment, exit 0: status {} message {msg:?}",
        t["status"]
    );
    assert!(
        t["status"] == "error" || (t["status"] == "completed" && msg.contains("fragment")),
        "a video with a skipped fragment is a silent `completed`: {t:#}"
    );
}

fn ffprobe_streams(path: &Path) -> Vec<String> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe {}", path.display());
    let mut kinds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    kinds.sort();
    kinds
}

/// Downloads FX-DASH (with `body` options), polling every 50 ms: progress and status never
/// go back; the listed file is the merged mp4, no `.fN.*` is left, it streams.
fn dash_download(body: Value) {
    let fx = FixtureServer::with_fixtures();
    let server = real_server(&[]);
    let mut body = body;
    body["url"] = json!(fx.url("dash/manifest.mpd"));
    let id = submit(&server, &body);
    let rank = |s: &str| match s {
        "pending" => 0,
        "downloading" => 1,
        "processing" => 2,
        "completed" | "error" | "cancelled" => 3,
        other => panic!("unknown status {other}"),
    };
    let (mut last_p, mut last_rank, mut samples) = (0.0f64, 0, Vec::new());
    let deadline = Instant::now() + DONE;
    let t = loop {
        let t = task(&server, &id);
        let p = t["progress"].as_f64().expect("progress is a number");
        assert!(p.is_finite() && (0.0..=100.0).contains(&p), "{t:#}");
        assert!(
            p >= last_p,
            "progress went back {last_p} -> {p}: {samples:?}"
        );
        let r = rank(t["status"].as_str().unwrap());
        assert!(r >= last_rank, "status went back: {t:#}");
        (last_p, last_rank) = (p, r);
        if samples.last() != Some(&p) {
            samples.push(p);
        }
        if is_terminal(&t) {
            break t;
        }
        assert!(Instant::now() < deadline, "{t:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("DASH progress samples: {samples:?}");
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(t["progress"], 100.0);
    let name = t["filename"].as_str().unwrap().to_string();
    assert!(name.ends_with(&format!("__{id}.mp4")), "{name}");
    assert_eq!(t["files"].as_array().unwrap().len(), 1, "{t:#}");
    assert_eq!(t["files"][0]["filename"], name.as_str());
    let on_disk: Vec<String> = files_of(&server, &id)
        .into_iter()
        .filter(|n| !n.starts_with(&id))
        .collect();
    assert_eq!(on_disk, vec![name.clone()], "leftover stream files");
    let path = server.downloads_dir().join(&name);
    assert_eq!(ffprobe_streams(&path), ["audio", "video"], "not merged");
    let bytes = read_download(&server, &name);
    assert_eq!(t["filesize"], bytes.len() as u64, "{t:#}");
    assert_same_bytes(&stream(&server, &name), &bytes, "merged DASH file streamed");
}

/// BR-12: video+audio DASH is one 0→100 run ending in the merged file.
#[test]
fn dash_merge_progress_is_monotonic_and_the_merged_file_is_listed() {
    dash_download(json!({}));
}

// ---------------------------------------------------------------------------
// 15. Progress without a size, and the same page twice (BR-11)

/// BR-11a: chunked transfer with no Content-Length: bytes rise, progress stays a finite
/// number (0 until known), and the task ends `completed` at 100.
#[test]
fn chunked_download_without_size_reports_bytes_and_completes() {
    let fx = FixtureServer::with_fixtures();
    fx.set_slow(2048, Duration::from_millis(100));
    let url = fx.url("slow/chunked/clip.mp4");
    let clip = fixture_bytes("clip.mp4");
    let server = real_server(&[]);
    let id = submit_url(&server, &url);
    let mut bytes_seen = Vec::new();
    let deadline = Instant::now() + DONE;
    let t = loop {
        let t = task(&server, &id);
        let p = t["progress"]
            .as_f64()
            .unwrap_or_else(|| panic!("progress not a number: {t:#}"));
        assert!(p.is_finite(), "{t:#}");
        if is_terminal(&t) {
            break t;
        }
        if t["status"] == "downloading" {
            assert!(
                p == 0.0 || p == 100.0,
                "a percentage was invented without a size: {t:#}"
            );
            let b = bytes_of(&t);
            if b > 0 && bytes_seen.last() != Some(&b) {
                bytes_seen.push(b);
            }
        }
        assert!(Instant::now() < deadline, "{t:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("BR-11a downloaded_bytes seen: {bytes_seen:?}");
    assert_eq!(t["status"], "completed", "{t:#}");
    assert_eq!(t["progress"], 100.0);
    assert!(bytes_seen.len() >= 2, "bytes did not rise: {bytes_seen:?}");
    assert!(bytes_seen.windows(2).all(|w| w[0] < w[1]), "{bytes_seen:?}");
    assert_eq!(t["filesize"], clip.len() as u64, "{t:#}");
    assert_eq!(t["downloaded_bytes"], clip.len() as u64, "{t:#}");
    let name = t["filename"].as_str().unwrap();
    assert_same_bytes(&read_download(&server, name), &clip, "chunked download");
}

/// BR-11b: the same page again after the first finished: a second task that completes on
/// its own file.
#[test]
fn the_same_page_twice_in_a_row_completes_both() {
    let fx = FixtureServer::with_fixtures();
    let page = fx.write_page("again.html", "Again", None, "clip.mp4");
    let clip = fixture_bytes("clip.mp4");
    let server = real_server(&[]);
    let a = submit_url(&server, &page);
    let ta = server.poll_task(&a, DONE);
    assert_eq!(ta["status"], "completed", "{ta:#}");
    let b = submit_url(&server, &page);
    assert_ne!(a, b);
    let tb = server.poll_task(&b, DONE);
    assert_eq!(tb["status"], "completed", "{tb:#}");
    assert_eq!(tb["progress"], 100.0);
    let (na, nb) = (
        ta["filename"].as_str().unwrap(),
        tb["filename"].as_str().unwrap(),
    );
    assert_eq!(nb, format!("Again__{b}.mp4"));
    assert_ne!(na, nb);
    assert_same_bytes(&read_download(&server, na), &clip, na);
    assert_same_bytes(&read_download(&server, nb), &clip, nb);
}

// ---------------------------------------------------------------------------
// 16. Floods

/// 50 MB of stderr (one 30 MB line, then short lines), 1 MB lines and 20 000 progress
/// lines on stdout: the task completes, the server stays responsive, RSS stays bounded.
#[test]
fn output_floods_cost_a_bounded_tail() {
    let fake = Fake::new(
        r#"head -c 30000000 /dev/zero | tr '\000' 'e' >&2
printf '\n' >&2
yes 'WARNING: a flood of stderr lines from a noisy extractor' | head -c 20000000 >&2
i=0
while [ $i -lt 5 ]; do head -c 1048576 /dev/zero | tr '\000' 'o'; printf '\n'; i=$((i+1)); done
yes "OTPROG {\"status\": \"downloading\", \"downloaded_bytes\": 500, \"total_bytes\": 1000, \"filename\": \"$f\"}" | head -n 20000
head -c 2000000 /dev/zero | tr '\000' 'l'
printf '\n'
finish"#,
    );
    let server = fake.server(&[]);
    let pid = server.pid();
    listing(&server);
    let base = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(base));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let id = submit_url(&server, "http://127.0.0.1:1/flood.html");
    let mut slowest = Duration::ZERO;
    let deadline = Instant::now() + DONE;
    let t = loop {
        let asked = Instant::now();
        let t = task(&server, &id);
        slowest = slowest.max(asked.elapsed());
        if is_terminal(&t) {
            break t;
        }
        assert!(Instant::now() < deadline, "flood not done: {t:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "MEASURED flood: done in {} ms; RSS {base} KiB -> peak {peak} KiB (+{} KiB); slowest \
         GET during the flood {} ms",
        started.elapsed().as_millis(),
        peak.saturating_sub(base),
        slowest.as_millis()
    );
    assert_eq!(t["status"], "completed", "{t:#}");
    assert!(
        peak.saturating_sub(base) < 20 * 1024,
        "RSS grew by {} KiB",
        peak - base
    );
    assert!(slowest < Duration::from_secs(2), "GET took {slowest:?}");
    assert_alive(&server);
}

// ---------------------------------------------------------------------------
// 17. Format selectors (BR-31)

/// A format selector with brackets works with the real yt-dlp on FX-DASH.
#[test]
fn format_selector_with_brackets_works_with_real_ytdlp() {
    dash_download(json!({ "format_id": "bv*[height<=720]+ba/b" }));
}

/// The selector reaches yt-dlp as one whole argv item after `-f`; selectors with spaces or
/// options in them are refused with 400 and run nothing.
#[test]
fn format_selector_reaches_argv_whole_and_injections_are_refused() {
    let fake = Fake::new("finish");
    // Real ffmpeg, so the merge option is in argv too.
    let server = Server::start(&["--yt-dlp", fake.path(), "--min-free-mb", "0"]);
    let selector = "bv*[height<=720]+ba/b";
    let url = "http://127.0.0.1:1/fmt.html";
    for bad in [
        "bv*[height<=720] + ba/b",
        "b --exec touch /tmp/pwned",
        "b\t--exec",
        "--exec touch /tmp/pwned",
        "b;--exec=x y",
        "",
    ] {
        let r = post_json(
            &server.url("/api/download"),
            &json!({"url": url, "format_id": bad}),
        );
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text());
        assert_eq!(r.json()["code"], "invalid_format", "{bad:?}");
    }
    assert_eq!(
        listing(&server),
        Vec::<Value>::new(),
        "a refused body made a task"
    );
    assert_eq!(fake.argv(), Vec::<String>::new(), "yt-dlp ran");

    let id = submit(&server, &json!({"url": url, "format_id": selector}));
    let t = server.poll_task(&id, POLL);
    assert_eq!(t["status"], "completed", "{t:#}");
    let argv = fake.argv();
    assert!(
        argv.windows(2).any(|w| w == ["-f", selector]),
        "-f and the selector are not separate whole items: {argv:?}"
    );
    assert_eq!(argv.iter().filter(|a| *a == "-f").count(), 1, "{argv:?}");
    if argv.iter().any(|a| a == "--merge-output-format") {
        assert!(
            argv.windows(2)
                .any(|w| w == ["--merge-output-format", "mp4/mkv"]),
            "{argv:?}"
        );
    }
    assert!(!argv.iter().any(|a| a.contains("--exec")), "{argv:?}");
    let n = argv.len();
    assert_eq!(&argv[n - 2..], ["--", url], "{argv:?}");

    // A dash-led selector fits the contract's character set; if accepted it must reach
    // yt-dlp only as the value of -f (never as an option of its own).
    let before = fake.argv().len();
    let r = post_json(
        &server.url("/api/download"),
        &json!({"url": "http://127.0.0.1:1/dash-led.html", "format_id": "--exec"}),
    );
    match r.status {
        400 => assert_eq!(r.json()["code"], "invalid_format"),
        200 => {
            let id = r.json()["id"].as_str().unwrap().to_string();
            server.poll_task(&id, POLL);
            let run: Vec<String> = fake.argv()[before..].to_vec();
            assert!(
                run.windows(2).any(|w| w == ["-f", "--exec"]),
                "--exec not bound to -f: {run:?}"
            );
            eprintln!("BR-31 note: format_id \"--exec\" accepted (matches the contract regex), passed as the value of -f");
        }
        s => panic!("format_id --exec: HTTP {s}: {}", r.text()),
    }
}
