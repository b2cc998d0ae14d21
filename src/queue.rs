//! Pending downloads, first in first out; the fixed set of workers that run them, so no more
//! than `max_concurrent` yt-dlp processes ever run at once; and stopping a running one.

use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::app::App;
use crate::process;
use crate::tasks::Status;

/// How long yt-dlp gets to exit after SIGTERM before the group is killed.
const TERM_GRACE: Duration = Duration::from_secs(3);
/// How long a stop waits, in all, for the worker to reap and clean up.
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// Where a run is, for a stop to know what to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// About to start yt-dlp (it checks for a cancel first): a stop waits.
    Starting,
    /// yt-dlp runs in this process group: a stop signals it.
    Running(i32),
    /// yt-dlp and its group are gone; the worker is naming files and fetching a thumbnail,
    /// and will see the cancel: a stop need not wait.
    Finishing,
}

#[derive(Default)]
pub struct Queue {
    pending: Mutex<VecDeque<String>>,
    ready: Condvar,
    /// Tasks a worker is running, and how far each run is.
    running: Mutex<HashMap<String, Phase>>,
    run_ended: Condvar,
    /// Set when the server stops: runs that end now leave their tasks active, to resume.
    stopping: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Queue {
    pub fn push(&self, id: String) {
        lock(&self.pending).push_back(id);
        self.ready.notify_one();
    }

    /// Takes `id` out of the queue if it has not started.
    pub fn unqueue(&self, id: &str) {
        lock(&self.pending).retain(|x| x != id);
    }

    fn take(&self) -> String {
        let mut q = lock(&self.pending);
        loop {
            if let Some(id) = q.pop_front() {
                return id;
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Marks `id` as running until the guard is dropped, whatever way the run ends.
    pub fn start_run(&self, id: &str) -> RunGuard<'_> {
        lock(&self.running).insert(id.to_string(), Phase::Starting);
        RunGuard {
            queue: self,
            id: id.to_string(),
        }
    }

    pub fn enter(&self, id: &str, phase: Phase) {
        if let Some(slot) = lock(&self.running).get_mut(id) {
            *slot = phase;
        }
        self.run_ended.notify_all();
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Stops every run for a server shutdown; no queued task starts any more.
    pub fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let ids: Vec<String> = lock(&self.running).keys().cloned().collect();
        for id in &ids {
            if let Some(Phase::Running(pgid)) = lock(&self.running).get(id) {
                process::signal_group(*pgid, libc::SIGTERM);
            }
        }
        for id in ids {
            self.stop_run(&id);
        }
    }

    /// Stops the run of `id`, if any: SIGTERM to its process group, SIGKILL after a grace,
    /// then waits until the worker has reaped all of it. False if that took too long.
    pub fn stop_run(&self, id: &str) -> bool {
        let start = Instant::now();
        let mut termed = false;
        let mut killed = false;
        let mut running = lock(&self.running);
        loop {
            let pgid = match running.get(id) {
                None | Some(Phase::Finishing) => return true,
                Some(Phase::Starting) => None,
                Some(Phase::Running(pgid)) => Some(*pgid),
            };
            if let Some(pgid) = pgid {
                if !termed {
                    process::signal_group(pgid, libc::SIGTERM);
                    termed = true;
                } else if !killed && start.elapsed() >= TERM_GRACE {
                    log::warn!("task {id}: yt-dlp ignored SIGTERM; killing its process group");
                    process::signal_group(pgid, libc::SIGKILL);
                    killed = true;
                }
            }
            if start.elapsed() >= STOP_LIMIT {
                log::error!("task {id}: worker did not finish within {STOP_LIMIT:?} of a stop");
                return false;
            }
            running = self
                .run_ended
                .wait_timeout(running, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

pub struct RunGuard<'a> {
    queue: &'a Queue,
    id: String,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        lock(&self.queue.running).remove(&self.id);
        self.queue.run_ended.notify_all();
    }
}

pub fn start_workers(app: &Arc<App>) {
    for n in 0..app.cfg.max_concurrent {
        let app = Arc::clone(app);
        std::thread::Builder::new()
            .name(format!("download-{n}"))
            .spawn(move || loop {
                let id = app.queue.take();
                if app.queue.is_stopping() {
                    return;
                }
                // A bug in one download must not take a worker, and so a slot, away for good.
                if catch_unwind(AssertUnwindSafe(|| crate::download::run(&app, &id))).is_err() {
                    log::error!("download worker panicked on task {id}");
                    app.store.update(&id, true, |t| {
                        if t.status.is_active() {
                            t.status = Status::Error;
                            t.error_message = Some("internal error while downloading".into());
                        }
                    });
                }
            })
            .expect("spawning a download worker at start-up");
    }
}
