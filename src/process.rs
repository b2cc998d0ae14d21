//! Child processes (yt-dlp, ffprobe): each runs in its own process group that dies with the
//! server, its stderr is kept as a bounded tail, and it is always killed and reaped however
//! the caller's code is left.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Lines of stderr kept for an error message, and the longest line kept.
const STDERR_TAIL: usize = 40;
const MAX_LINE: usize = 16 * 1024;

/// The last lines of a child's stderr, filled by a thread of its own.
type Tail = Arc<Mutex<VecDeque<String>>>;

/// A running child; dropping it kills its whole group and reaps it.
pub struct Child {
    inner: std::process::Child,
    stderr: Option<(Tail, JoinHandle<()>)>,
    /// The first stderr line that a watch picked out, kept however long stderr runs on.
    noted: Arc<Mutex<Option<String>>>,
}

impl Child {
    /// Starts `program` with piped stdout and stderr, stdin closed, in a new process group
    /// (so it and what it starts, ffmpeg say, can be signalled as one) that is killed when the
    /// server dies (so nothing keeps writing into a `.part` that the next start resumes).
    pub fn spawn<S: AsRef<OsStr>>(
        program: &Path,
        args: &[S],
        label: &str,
    ) -> std::io::Result<Child> {
        Child::spawn_watching(program, args, label, |_| false)
    }

    /// `spawn`, also keeping the first stderr line for which `watch` is true.
    pub fn spawn_watching<S: AsRef<OsStr>>(
        program: &Path,
        args: &[S],
        label: &str,
        watch: fn(&str) -> bool,
    ) -> std::io::Result<Child> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("PYTHONUNBUFFERED", "1")
            .process_group(0);
        // SAFETY: prctl, sigprocmask and signal are async-signal-safe and touch no memory of
        // the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The server blocks SIGTERM/SIGINT for its own shutdown thread, and a shell may
                // have started it with SIGINT ignored; the child must obey both again.
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut inner = cmd.spawn()?;
        let noted = Arc::new(Mutex::new(None));
        let stderr = inner.stderr.take().map(|err| {
            let tail = Arc::new(Mutex::new(VecDeque::new()));
            let keep = Arc::clone(&tail);
            let note = Arc::clone(&noted);
            let label = label.to_string();
            let reader = std::thread::spawn(move || {
                for_each_line(err, |line| {
                    log::debug!("{label}: {line}");
                    if watch(&line) {
                        note.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert_with(|| line.clone());
                    }
                    let mut t = keep.lock().unwrap_or_else(|e| e.into_inner());
                    if t.len() == STDERR_TAIL {
                        t.pop_front();
                    }
                    t.push_back(line);
                })
            });
            (tail, reader)
        });
        Ok(Child {
            inner,
            stderr,
            noted,
        })
    }

    /// The process group id, which is the child's pid.
    pub fn group(&self) -> i32 {
        self.inner.id() as i32
    }

    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.inner.stdout.take()
    }

    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.inner.wait()
    }

    /// Waits for the child to exit, then kills whatever it left running in its group (an
    /// ffmpeg still writing, say) and waits until none of it is alive, then reaps the child.
    /// The group id cannot be reused meanwhile: the unreaped child still holds it.
    pub fn wait_group(&mut self) -> std::io::Result<ExitStatus> {
        let pid = self.group();
        // SAFETY: waitid with WNOWAIT only waits; the child stays a zombie until `wait`.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 && group_has_live_members(pid) {
            signal_group(pid, libc::SIGKILL);
            let start = std::time::Instant::now();
            while group_has_live_members(pid) && start.elapsed() < std::time::Duration::from_secs(5)
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        self.inner.wait()
    }

    /// The first stderr line the watch picked out, once stderr is closed.
    pub fn noted(&self) -> Option<String> {
        self.noted.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The last lines of stderr, once the child has exited and closed it.
    pub fn stderr_tail(&mut self) -> Vec<String> {
        match self.stderr.take() {
            Some((tail, reader)) => {
                let _ = reader.join();
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                t.drain(..).collect()
            }
            None => Vec::new(),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.inner.try_wait() {
            signal_group(self.group(), libc::SIGKILL);
            let _ = self.inner.kill();
        }
        let _ = self.inner.wait();
    }
}

/// Calls `f` with each line of `input`, lossily decoded. `\r` ends a line as `\n` does, so
/// progress written for a terminal is seen as it happens; overlong lines are cut.
pub fn for_each_line(mut input: impl Read, mut f: impl FnMut(String)) {
    let mut buf = [0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        for &b in &buf[..n] {
            if b == b'\n' || b == b'\r' {
                if !line.is_empty() {
                    f(String::from_utf8_lossy(&line).into_owned());
                    line.clear();
                }
            } else if line.len() < MAX_LINE {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        f(String::from_utf8_lossy(&line).into_owned());
    }
}

/// Sends `signal` to every process in group `pgid`; false when the group no longer exists.
pub fn signal_group(pgid: i32, signal: i32) -> bool {
    // SAFETY: kill(2) with a negative pid only sends a signal; no memory is involved.
    pgid > 1 && unsafe { libc::kill(-pgid, signal) } == 0
}

/// Whether a process of group `pgid` is alive (zombies, which write nothing, do not count).
pub fn group_has_live_members(pgid: i32) -> bool {
    proc_pids().any(|pid| {
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        matches!(fields.as_slice(), [state, _ppid, pgrp, ..]
            if *pgrp == pgid.to_string() && *state != "Z" && *state != "X")
    })
}

fn proc_pids() -> impl Iterator<Item = i32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
}

/// Processes other than this one that hold open a file in `dir` whose name `matches`.
pub fn pids_with_open_file(dir: &Path, matches: impl Fn(&str) -> bool) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = dir.canonicalize() else {
        return Vec::new();
    };
    proc_pids()
        .filter(|pid| *pid != me)
        .filter(|pid| {
            fs::read_dir(format!("/proc/{pid}/fd"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| {
                    fs::read_link(fd.path()).is_ok_and(|target| {
                        target.parent() == Some(dir.as_path())
                            && target
                                .file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(&matches)
                    })
                })
        })
        .collect()
}

/// Process ids whose command line has an argument containing `text`.
pub fn pids_with_arg_containing(text: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let needle = text.as_bytes();
    proc_pids()
        .filter(|pid| *pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0)
                    .any(|a| a.windows(needle.len().max(1)).any(|w| w == needle))
            })
        })
        .collect()
}

/// Process group of `pid`, if it still exists.
pub fn group_of(pid: i32) -> Option<i32> {
    // SAFETY: getpgid(2) only reads the process table.
    let pgid = unsafe { libc::getpgid(pid) };
    (pgid > 0).then_some(pgid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_cr_or_lf_and_survive_bad_bytes() {
        let input: &[u8] = b"a\r\nb\rc\n\xff\xfeok\n\n\ntail";
        let mut lines = vec![];
        for_each_line(input, |l| lines.push(l));
        assert_eq!(lines, ["a", "b", "c", "\u{fffd}\u{fffd}ok", "tail"]);
    }

    #[test]
    fn overlong_lines_are_cut() {
        let input = vec![b'x'; 100_000];
        let mut lines = vec![];
        for_each_line(&input[..], |l| lines.push(l));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), MAX_LINE);
    }

    #[test]
    fn waiting_for_the_group_ends_what_the_child_left_running() {
        let mut child = Child::spawn(
            Path::new("/bin/sh"),
            &["-c", "sleep 30 >/dev/null 2>&1 & echo $!"],
            "t",
        )
        .unwrap();
        let mut out = String::new();
        child
            .take_stdout()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let straggler: i32 = out.trim().parse().unwrap();
        let group = child.group();
        assert!(child.wait_group().unwrap().success());
        assert!(!group_has_live_members(group));
        let state = fs::read_to_string(format!("/proc/{straggler}/stat")).unwrap_or_default();
        assert!(state.is_empty() || state.contains(") Z"), "{state}");
    }

    #[test]
    fn a_dropped_child_is_killed_with_its_group() {
        let mut child = Child::spawn(
            Path::new("/bin/sh"),
            &["-c", "sleep 30 & echo $!; wait"],
            "t",
        )
        .unwrap();
        let mut first = String::new();
        let mut out = child.take_stdout().unwrap();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            first.push(byte[0] as char);
        }
        let grandchild: i32 = first.trim().parse().unwrap();
        drop(child);
        // The grandchild was in the group: it is gone (or a zombie awaiting init's reaping).
        std::thread::sleep(std::time::Duration::from_millis(200));
        let state = fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
        assert!(state.is_empty() || state.contains(") Z"), "{state}");
    }
}
