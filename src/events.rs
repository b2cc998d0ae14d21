//! Server-Sent Events: every subscriber gets a snapshot, then task changes (at most two a
//! second per task; state changes always) and removals. Each stream runs on a thread of its
//! own, off the HTTP workers, and a subscriber that cannot keep up is dropped rather than
//! allowed to slow anyone down.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::tasks::{Observer, Task};

/// The least time between two progress events of one task.
const MIN_INTERVAL: Duration = Duration::from_millis(500);
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Events a subscriber may have waiting before it is considered stuck and dropped.
const BACKLOG: usize = 512;

#[derive(Default)]
struct Inner {
    subscribers: Vec<SyncSender<Arc<str>>>,
    last_sent: HashMap<String, Instant>,
    /// Progress updates held back by the throttle, newest per task.
    held: HashMap<String, Task>,
}

#[derive(Default)]
pub struct Hub {
    inner: Mutex<Inner>,
    subscribers: AtomicUsize,
    /// Event streams being written now.
    streams: AtomicUsize,
}

/// Counts one open stream for as long as it lives.
pub struct StreamSlot(Arc<Hub>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One event in the wire format: `event: NAME`, one `data:` line, a blank line.
pub fn frame(event: &str, data: &str) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn has_subscribers(&self) -> bool {
        self.subscribers.load(Ordering::Relaxed) > 0
    }

    pub fn open_streams(&self) -> usize {
        self.streams.load(Ordering::SeqCst)
    }

    /// A slot for one more stream, unless `max` are open already.
    pub fn open_stream(self: &Arc<Self>, max: usize) -> Option<StreamSlot> {
        let taken = self
            .streams
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            });
        taken.ok().map(|_| StreamSlot(Arc::clone(self)))
    }

    #[cfg(test)]
    fn subscriber_count(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }

    pub fn subscribe(&self) -> Receiver<Arc<str>> {
        let (tx, rx) = mpsc::sync_channel(BACKLOG);
        let mut g = self.lock();
        g.subscribers.push(tx);
        self.subscribers
            .store(g.subscribers.len(), Ordering::Relaxed);
        rx
    }
}

impl Observer for Hub {
    fn wants(&self, _state_change: bool) -> bool {
        self.has_subscribers()
    }

    /// State changes are never held back.
    fn task_changed(&self, task: &Task, state_change: bool) {
        let now = Instant::now();
        let mut g = self.lock();
        let recent = g
            .last_sent
            .get(&task.id)
            .is_some_and(|t| now.duration_since(*t) < MIN_INTERVAL);
        if recent && !state_change {
            g.held.insert(task.id.clone(), task.clone());
            return;
        }
        g.held.remove(&task.id);
        g.last_sent.insert(task.id.clone(), now);
        self.broadcast(&mut g, &task_event(task));
    }

    fn task_removed(&self, id: &str) {
        if !self.has_subscribers() {
            return;
        }
        let mut g = self.lock();
        g.held.remove(id);
        g.last_sent.remove(id);
        let data = serde_json::json!({ "id": id }).to_string();
        self.broadcast(&mut g, &frame("removed", &data));
    }
}

impl Hub {
    /// Sends the held-back updates whose interval has passed; called a few times a second.
    pub fn flush_held(&self) {
        let now = Instant::now();
        let mut g = self.lock();
        let due: Vec<String> = g
            .held
            .keys()
            .filter(|id| {
                g.last_sent
                    .get(*id)
                    .is_none_or(|t| now.duration_since(*t) >= MIN_INTERVAL)
            })
            .cloned()
            .collect();
        for id in due {
            if let Some(task) = g.held.remove(&id) {
                g.last_sent.insert(id, now);
                self.broadcast(&mut g, &task_event(&task));
            }
        }
        if g.subscribers.is_empty() {
            g.last_sent.clear();
        }
    }

    fn broadcast(&self, g: &mut Inner, event: &str) {
        let event: Arc<str> = Arc::from(event);
        g.subscribers
            .retain(|s| match s.try_send(Arc::clone(&event)) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    log::warn!("dropping an event stream that fell {BACKLOG} events behind");
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
        self.subscribers
            .store(g.subscribers.len(), Ordering::Relaxed);
    }
}

fn task_event(task: &Task) -> String {
    frame("task", &serde_json::to_string(task).unwrap_or_default())
}

pub fn start_flusher(hub: Arc<Hub>) {
    std::thread::Builder::new()
        .name("events-flush".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            hub.flush_held();
        })
        .expect("spawning the event flusher at start-up");
}

/// Writes one event stream until the client goes away: the response head, `snapshot`, then
/// every event from `rx`, each as one HTTP chunk, flushed at once.
pub fn stream(
    mut out: Box<dyn Write + Send>,
    head: &str,
    snapshot: &[u8],
    rx: Receiver<Arc<str>>,
) -> std::io::Result<()> {
    out.write_all(head.as_bytes())?;
    // The list as GET /api/downloads sends it (serialised once per change, shared).
    let data = std::str::from_utf8(snapshot).unwrap_or("[]");
    write_chunk(&mut out, &frame("snapshot", data))?;
    loop {
        match rx.recv_timeout(KEEP_ALIVE) {
            Ok(event) => write_chunk(&mut out, &event)?,
            // A comment line keeps proxies from closing an idle stream, and finds dead clients.
            Err(RecvTimeoutError::Timeout) => write_chunk(&mut out, ": keep-alive\n\n")?,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

fn write_chunk(out: &mut dyn Write, text: &str) -> std::io::Result<()> {
    write!(out, "{:x}\r\n{text}\r\n", text.len())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{Request, Status};

    fn task(id: &str, status: Status, progress: f64) -> Task {
        let req = Request::best_video("http://x.test/v");
        let mut t = Task::new(id.into(), req, "2026-12-03T14:00:00Z".into());
        t.status = status;
        t.progress = progress;
        t
    }

    fn drain(rx: &Receiver<Arc<str>>) -> Vec<String> {
        rx.try_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn progress_is_throttled_but_state_changes_are_not() {
        let hub = Hub::default();
        let rx = hub.subscribe();
        hub.task_changed(&task("a", Status::Downloading, 1.0), true);
        for p in 2..50 {
            hub.task_changed(&task("a", Status::Downloading, p as f64), false);
        }
        hub.task_changed(&task("b", Status::Downloading, 5.0), false);
        let sent = drain(&rx);
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent[0].contains("\"progress\":1.0"));
        hub.task_changed(&task("a", Status::Completed, 100.0), true);
        let sent = drain(&rx);
        assert_eq!(sent.len(), 1);
        assert!(sent[0].starts_with("event: task\ndata: {") && sent[0].contains("\"completed\""));
        // The held progress (49%) was superseded by the state change and is never sent late.
        std::thread::sleep(MIN_INTERVAL);
        hub.flush_held();
        assert!(drain(&rx).is_empty());
    }

    #[test]
    fn held_updates_go_out_after_the_interval() {
        let hub = Hub::default();
        let rx = hub.subscribe();
        hub.task_changed(&task("a", Status::Downloading, 1.0), false);
        hub.task_changed(&task("a", Status::Downloading, 7.0), false);
        hub.flush_held();
        assert_eq!(drain(&rx).len(), 1);
        std::thread::sleep(MIN_INTERVAL);
        hub.flush_held();
        let sent = drain(&rx);
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains("\"progress\":7.0"));
    }

    #[test]
    fn stuck_or_gone_subscribers_are_dropped() {
        let hub = Hub::default();
        let stuck = hub.subscribe();
        let gone = hub.subscribe();
        drop(gone);
        hub.task_removed("x");
        assert_eq!(hub.subscriber_count(), 1);
        for i in 0..BACKLOG + 1 {
            hub.task_changed(&task(&format!("t{i}"), Status::Pending, 0.0), true);
        }
        assert_eq!(hub.subscriber_count(), 0);
        assert_eq!(stuck.try_iter().count(), BACKLOG);
    }

    #[test]
    fn frames_and_chunks() {
        assert_eq!(
            frame("removed", "{\"id\":\"x\"}"),
            "event: removed\ndata: {\"id\":\"x\"}\n\n"
        );
        let mut out = Vec::new();
        write_chunk(&mut out, "abc").unwrap();
        assert_eq!(out, b"3\r\nabc\r\n");
    }
}
