//! `POST /api/ytdlp/update`: runs the configured update command, one at a time and bounded
//! by a timeout, and tells what it did.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::process::{self, Child};

const TIMEOUT: Duration = Duration::from_secs(300);
const OUTPUT_LINES: usize = 20;

#[derive(Default)]
pub struct Updater {
    running: Mutex<()>,
}

pub enum Outcome {
    /// The command exited 0; its last lines.
    Ran(Vec<String>),
    /// It failed, could not start, or timed out; what it said.
    Failed(Vec<String>),
    /// Another update is running.
    Busy,
}

impl Updater {
    pub fn run(&self, command: &[String]) -> Outcome {
        let Ok(_only_one) = self.running.try_lock() else {
            return Outcome::Busy;
        };
        let Some((program, args)) = command.split_first() else {
            return Outcome::Failed(vec!["no update command configured".into()]);
        };
        log::info!("updating yt-dlp: {}", command.join(" "));
        let mut child = match Child::spawn(Path::new(program), args, "yt-dlp update") {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(vec![format!("cannot start {program}: {e}")]),
        };
        let stdout = child.take_stdout();
        let reader = std::thread::spawn(move || {
            let mut tail = VecDeque::new();
            if let Some(out) = stdout {
                process::for_each_line(out, |line| {
                    if tail.len() == OUTPUT_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                });
            }
            tail
        });
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => break None,
            }
        };
        let timed_out = status.is_none();
        if timed_out {
            // Its whole group goes, so both pipes close and the readers finish.
            process::signal_group(child.group(), libc::SIGKILL);
            let _ = child.wait();
        }
        let stderr = child.stderr_tail();
        let mut lines: Vec<String> = reader.join().unwrap_or_default().into();
        lines.extend(stderr);
        let keep = lines.len().saturating_sub(OUTPUT_LINES);
        lines.drain(..keep);
        match status {
            Some(s) if s.success() => Outcome::Ran(lines),
            _ => {
                if timed_out {
                    lines.push(format!("stopped after {} s", TIMEOUT.as_secs()));
                }
                Outcome::Failed(lines)
            }
        }
    }
}
