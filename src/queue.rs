//! Pending downloads, first in first out, and the fixed set of workers that run them, so no
//! more than `max_concurrent` yt-dlp processes ever run at once.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};

use crate::app::App;
use crate::tasks::Status;

#[derive(Default)]
pub struct Queue {
    pending: Mutex<VecDeque<String>>,
    ready: Condvar,
}

impl Queue {
    pub fn push(&self, id: String) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(id);
        self.ready.notify_one();
    }

    fn take(&self) -> String {
        let mut q = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(id) = q.pop_front() {
                return id;
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }
}

pub fn start_workers(app: &Arc<App>) {
    for n in 0..app.cfg.max_concurrent {
        let app = Arc::clone(app);
        std::thread::Builder::new()
            .name(format!("download-{n}"))
            .spawn(move || loop {
                let id = app.queue.take();
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
