//! Shared integration-test harness. Each `tests/*.rs` does `mod common;`.
//!
//! - `fixtures` — ffmpeg-made media, built once and cached under target/tmp.
//! - `fixture_server` — loopback static server for real yt-dlp to download from.
//! - `server` — the real `offlinetube` binary on a free port with a temp data dir.
//! - `http` — a raw HTTP/1.1 client, so tests see exactly what went on the wire.
//!
//! Not every test binary uses every helper, hence the blanket allows.
#![allow(dead_code, unused_imports)]

pub mod fake;
pub mod fixture_server;
pub mod fixtures;
pub mod http;
pub mod server;

pub use fake::Fake;
pub use fixture_server::FixtureServer;
pub use fixtures::{fixture, fixture_bytes, fixtures};
pub use http::{delete, get, http, http_open, post_json, raw_request, try_http, Resp};
pub use server::{fake_ytdlp, poll_task, Server};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Set this to keep every temp dir the harness makes (for post-mortems).
pub const KEEP_DIRS_ENV: &str = "OFFLINETUBE_KEEP_TEST_DIRS";

/// A fresh directory under the system temp dir, removed on drop unless
/// `OFFLINETUBE_KEEP_TEST_DIRS` is set. (No `tempfile` crate on purpose.)
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        TempDir {
            path: unique_dir(&std::env::temp_dir(), prefix),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os(KEEP_DIRS_ENV).is_some() {
            eprintln!("keeping test dir {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Creates `parent/prefix-PID-COUNTER-NANOS`; `create_dir` (not `_all`) so a
/// name clash is detected rather than silently shared.
pub fn unique_dir(parent: &Path, prefix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(parent).expect("create temp parent");
    loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
        match std::fs::create_dir(&path) {
            Ok(()) => return path,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", path.display()),
        }
    }
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes; returns
/// whether it held. Callers assert with their own message.
pub fn wait_until(timeout: Duration, cond: impl FnMut() -> bool) -> bool {
    poll_every(Duration::from_millis(50), timeout, cond)
}

/// `wait_until` with a chosen interval (short ones for measurements).
pub fn poll_every(every: Duration, timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Children of process `pid` that exited and were never waited for (BR-19).
pub fn zombie_children(pid: u32) -> Vec<String> {
    let mut zombies = Vec::new();
    for thread in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let children = std::fs::read_to_string(thread.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            // "pid (comm) S ...": the state follows the last ')'.
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            if state.is_some_and(|s| s.starts_with('Z')) {
                zombies.push(stat.trim().to_string());
            }
        }
    }
    zombies
}

/// Held while writing an executable and while spawning a child. A fork that
/// happens while a script is still open for writing inherits the write fd,
/// and exec of that script then fails with ETXTBSY ("Text file busy").
pub(crate) fn exec_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
