//! Webhooks: when a task completes, fails or is cancelled, every configured URL gets a JSON
//! POST, sent from a thread of its own so that no download or request ever waits on it.

use serde_json::json;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::signature::{hex, hmac_sha256};
use crate::tasks::{Observer, Status, Task};

const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(10);
/// Wait before the second attempt; doubled before each later one.
const BACKOFF: Duration = Duration::from_secs(1);

pub struct Webhooks {
    outbox: Mutex<Sender<(String, Vec<u8>)>>,
}

/// The body for `task` reaching `event`. `title` and `message` make it readable as is by
/// notification services that take JSON (Gotify, ntfy-style bridges).
pub fn body(event: &str, task: &Task) -> Vec<u8> {
    let name = if task.title.is_empty() {
        &task.url
    } else {
        &task.title
    };
    let message = match task.status {
        Status::Error => format!(
            "{name}: {}",
            task.error_message.as_deref().unwrap_or("failed")
        ),
        _ => format!("{name}: {event}"),
    };
    let value = json!({
        "event": event,
        "title": format!("offlinetube: download {event}"),
        "message": message,
        "task": task,
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

/// `sha256=<hex HMAC-SHA256 of the body>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex(&hmac_sha256(secret.as_bytes(), body)))
}

impl Webhooks {
    /// Starts the sender; `None` when no URL is configured.
    pub fn start(urls: Vec<String>, secret: Option<String>) -> Option<Arc<Webhooks>> {
        if urls.is_empty() {
            return None;
        }
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || deliver_all(rx, &urls, secret.as_deref()))
            .map_err(|e| log::error!("webhooks disabled: cannot start their thread: {e}"))
            .ok()?;
        Some(Arc::new(Webhooks {
            outbox: Mutex::new(tx),
        }))
    }
}

impl Observer for Webhooks {
    fn wants(&self, state_change: bool) -> bool {
        state_change
    }

    fn task_changed(&self, task: &Task, _state_change: bool) {
        let event = match task.status {
            Status::Completed | Status::Error | Status::Cancelled => task.status.as_str(),
            _ => return,
        };
        let outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        let _ = outbox.send((event.to_string(), body(event, task)));
    }

    fn task_removed(&self, _id: &str) {}
}

fn deliver_all(rx: Receiver<(String, Vec<u8>)>, urls: &[String], secret: Option<&str>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    for (event, body) in rx {
        let signed = secret.map(|s| signature(s, &body));
        for url in urls {
            deliver(&agent, url, &event, &body, signed.as_deref());
        }
    }
}

fn deliver(agent: &ureq::Agent, url: &str, event: &str, body: &[u8], signed: Option<&str>) {
    let mut wait = BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let mut request = agent
            .post(url)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("offlinetube/", env!("CARGO_PKG_VERSION")),
            )
            .header("X-Offlinetube-Event", event);
        if let Some(sig) = signed {
            request = request.header("X-Offlinetube-Signature", sig);
        }
        match request.send(body) {
            Ok(_) => return,
            Err(e) if attempt < ATTEMPTS => {
                log::warn!("webhook {url} ({event}), attempt {attempt}: {e}; retrying in {wait:?}");
                std::thread::sleep(wait);
                wait *= 2;
            }
            Err(e) => log::error!("webhook {url} ({event}) failed after {ATTEMPTS} attempts: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::Request;

    #[test]
    fn bodies_and_signatures() {
        let req = Request::best_video("http://x.test/v");
        let mut t = Task::new("id-1".into(), req, "2026-12-03T14:00:00Z".into());
        t.status = Status::Error;
        t.error_message = Some("ERROR: gone".into());
        let b = body("error", &t);
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["event"], "error");
        assert_eq!(v["task"]["id"], "id-1");
        assert_eq!(v["message"], "http://x.test/v: ERROR: gone");
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
