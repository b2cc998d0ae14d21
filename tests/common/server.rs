//! The system under test: the real `offlinetube` binary on a free loopback
//! port with its own temp data dir, driven over HTTP like a user would.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{exec_lock, get, wait_until, TempDir};

const READY_PREFIX: &str = "offlinetube listening on ";
const START_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_GRACE: Duration = Duration::from_secs(5);

type Buf = Arc<Mutex<Vec<u8>>>;

pub struct Server {
    child: Option<Child>,
    base: String,
    data_dir: PathBuf,
    envs: Vec<(String, String)>,
    stdout: Buf,
    stderr: Buf,
    stderr_thread: Option<JoinHandle<()>>,
    /// A panic message already carried stderr; Drop need not print it again.
    reported: AtomicBool,
    _owned: Option<TempDir>, // declared last: removed after the child is reaped
}

impl Server {
    /// Starts on a fresh temp data dir (removed on drop) with extra `args`.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with(None, args, &[])
    }

    /// Starts on an existing data dir, which is left in place (restart tests).
    pub fn start_in(data_dir: &Path, args: &[&str]) -> Server {
        Server::start_with(Some(data_dir), args, &[])
    }

    /// Full control: optional data dir (else a fresh temp one), args, and
    /// extra environment variables. Inherited `OFFLINETUBE_*` variables are
    /// removed so a developer's shell cannot change test behaviour.
    /// `OFFLINETUBE_TEST_BIN` picks another binary (a release or cross build).
    pub fn start_with(data_dir: Option<&Path>, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let (owned, data_dir) = match data_dir {
            Some(dir) => (None, dir.to_path_buf()),
            None => {
                let tmp = TempDir::new("offlinetube-data");
                let dir = tmp.path().to_path_buf();
                (Some(tmp), dir)
            }
        };
        let mut server = Server {
            child: None,
            base: String::new(),
            data_dir,
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stdout: Buf::default(),
            stderr: Buf::default(),
            stderr_thread: None,
            reported: AtomicBool::new(false),
            _owned: owned,
        };
        server.spawn(args);
        server
    }

    /// Stops the process and starts it again on the same data dir.
    pub fn restart(&mut self, args: &[&str]) {
        self.stop();
        self.stderr
            .lock()
            .unwrap()
            .extend_from_slice(b"---- offlinetube restarted ----\n");
        self.spawn(args);
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    /// `base_url() + path`, e.g. `server.url("/api/downloads")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn downloads_dir(&self) -> PathBuf {
        self.data_dir.join("downloads")
    }

    pub fn thumbnails_dir(&self) -> PathBuf {
        self.data_dir.join("thumbnails")
    }

    /// Process id of the running server (panics if stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is stopped").id()
    }

    /// Everything the server wrote to stderr so far (its log).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Everything it wrote to stdout (should be just the listening line).
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// SIGTERM, up to 5 s for a clean exit, then SIGKILL; reaps the child.
    /// Returns its exit status (`None` if it was already stopped).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        // SAFETY: plain kill(2) on our own child, which is not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_GRACE;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    break child.wait().expect("reap offlinetube");
                }
            }
        };
        self.finish_stderr();
        Some(status)
    }

    /// `poll_task`, with this server's stderr in the timeout panic.
    pub fn poll_task(&self, id: &str, timeout: Duration) -> serde_json::Value {
        poll_inner(&self.base, id, timeout, Some(self))
    }

    fn spawn(&mut self, args: &[&str]) {
        let bin = std::env::var_os("OFFLINETUBE_TEST_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_offlinetube")));
        let mut cmd = Command::new(&bin);
        cmd.arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("OFFLINETUBE_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        let mut child = {
            let _guard = exec_lock();
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
        };

        // Drain both pipes on threads so the server never blocks on a full
        // pipe; the stdout thread hands over the first line.
        let (tx, first_line) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stdout_buf = self.stdout.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut tx = Some(tx);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                stdout_buf.lock().unwrap().extend_from_slice(&line);
                if let Some(tx) = tx.take() {
                    let _ = tx.send(String::from_utf8_lossy(&line).trim_end().to_string());
                }
                line.clear();
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr_buf = self.stderr.clone();
        self.stderr_thread = Some(std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                stderr_buf.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        }));
        self.child = Some(child);

        let line = match first_line.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                self.stop();
                self.fail(&format!(
                    "offlinetube printed no listening line within {START_TIMEOUT:?}"
                ))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.stop().map(|s| s.to_string()).unwrap_or_default();
                self.fail(&format!("offlinetube exited before listening ({status})"))
            }
        };
        match line.strip_prefix(READY_PREFIX) {
            Some(url) if url.starts_with("http://127.0.0.1:") => {
                self.base = url.trim_end_matches('/').to_string()
            }
            _ => {
                self.stop();
                self.fail(&format!("unexpected first stdout line {line:?}"))
            }
        }
    }

    /// Waits (briefly) for the stderr drain to hit EOF, so a failure message
    /// holds the last lines. A grandchild holding the pipe can delay EOF.
    fn finish_stderr(&mut self) {
        if let Some(thread) = self.stderr_thread.take() {
            if wait_until(Duration::from_secs(1), || thread.is_finished()) {
                let _ = thread.join();
            }
        }
    }

    fn fail(&self, what: &str) -> ! {
        self.reported.store(true, Ordering::Relaxed);
        panic!(
            "{what}\n--- offlinetube stderr ---\n{}\n--- end stderr ---",
            self.stderr()
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.finish_stderr();
        }
        // The test harness shows this only for failing tests.
        if std::thread::panicking() && !self.reported.load(Ordering::Relaxed) {
            eprintln!(
                "--- offlinetube stderr ({}) ---\n{}\n--- end stderr ---",
                self.base,
                self.stderr()
            );
        }
    }
}

/// Polls `GET {base}/api/downloads/{id}` every 100 ms until `status` is
/// completed, error or cancelled; returns that final task object. Panics
/// with the last object seen on timeout.
pub fn poll_task(base: &str, id: &str, timeout: Duration) -> serde_json::Value {
    poll_inner(base, id, timeout, None)
}

fn poll_inner(
    base: &str,
    id: &str,
    timeout: Duration,
    server: Option<&Server>,
) -> serde_json::Value {
    let url = format!("{base}/api/downloads/{id}");
    let deadline = Instant::now() + timeout;
    loop {
        let resp = get(&url);
        let last = if resp.status == 200 {
            let task = resp.json();
            if matches!(
                task["status"].as_str(),
                Some("completed" | "error" | "cancelled")
            ) {
                return task;
            }
            serde_json::to_string_pretty(&task).unwrap()
        } else {
            format!("HTTP {}: {}", resp.status, resp.text())
        };
        if Instant::now() >= deadline {
            let what = format!("task {id} not finished after {timeout:?}; last: {last}");
            match server {
                Some(server) => server.fail(&what),
                // A `Server` in scope still prints its stderr when dropped.
                None => panic!("{what}"),
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// FX-FAKE: writes `dir/yt-dlp`, an executable `#!/bin/sh` script with the
/// given body, for fault tests. Point the server at it with `--yt-dlp`.
/// Use one dir per fake (the file name is always `yt-dlp`, so the dir can
/// also be put first on PATH).
pub fn fake_ytdlp(dir: &Path, script_body: &str) -> PathBuf {
    let path = dir.join("yt-dlp");
    let _guard = exec_lock(); // see exec_lock: avoids ETXTBSY on exec
    std::fs::write(&path, format!("#!/bin/sh\n{script_body}\n")).expect("write fake yt-dlp");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("chmod fake yt-dlp");
    path
}
