//! `/metrics` in the Prometheus text format: tasks by status, downloads started and ended,
//! bytes downloaded, HTTP answers by status class, open connections and event streams.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::tasks::{Observer, Status, Task};

#[derive(Default)]
pub struct Metrics {
    /// Answers by status class: 1xx … 5xx.
    responses: [AtomicU64; 5],
    response_bytes: AtomicU64,
    /// Runs that reached `downloading`, and runs that ended, by how.
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
}

/// Gauges read from elsewhere at the time of the scrape.
pub struct Live {
    pub tasks_by_status: Vec<(Status, usize)>,
    pub downloaded_bytes: u64,
    pub connections: usize,
    pub event_streams: usize,
}

impl Observer for Metrics {
    fn wants(&self, state_change: bool) -> bool {
        state_change
    }

    fn task_changed(&self, task: &Task, _state_change: bool) {
        let counter = match task.status {
            Status::Downloading => &self.started,
            Status::Completed => &self.completed,
            Status::Error => &self.failed,
            Status::Cancelled => &self.cancelled,
            Status::Pending | Status::Processing => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn task_removed(&self, _id: &str) {}
}

impl Metrics {
    pub fn record(&self, status: u16, bytes: u64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        self.response_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn render(&self, live: &Live) -> String {
        let mut out = String::new();
        out.push_str("# HELP offlinetube_tasks Tasks by status.\n# TYPE offlinetube_tasks gauge\n");
        for (status, n) in &live.tasks_by_status {
            let _ = writeln!(
                out,
                "offlinetube_tasks{{status=\"{}\"}} {n}",
                status.as_str()
            );
        }
        let downloaded = live.downloaded_bytes;
        out.push_str(
            "# HELP offlinetube_downloaded_bytes Bytes downloaded by the tasks in the list.\n\
             # TYPE offlinetube_downloaded_bytes gauge\n",
        );
        let _ = writeln!(out, "offlinetube_downloaded_bytes {downloaded}");
        out.push_str(
            "# HELP offlinetube_downloads_total Download runs started, and ended by outcome.\n\
             # TYPE offlinetube_downloads_total counter\n",
        );
        for (event, n) in [
            ("started", &self.started),
            ("completed", &self.completed),
            ("failed", &self.failed),
            ("cancelled", &self.cancelled),
        ] {
            let _ = writeln!(
                out,
                "offlinetube_downloads_total{{event=\"{event}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = write!(
            out,
            "# HELP offlinetube_open_connections Client connections open now.\n\
             # TYPE offlinetube_open_connections gauge\n\
             offlinetube_open_connections {}\n\
             # HELP offlinetube_event_streams Server-Sent Event streams open now.\n\
             # TYPE offlinetube_event_streams gauge\n\
             offlinetube_event_streams {}\n",
            live.connections, live.event_streams
        );
        out.push_str(
            "# HELP offlinetube_http_responses_total HTTP answers by status class.\n\
             # TYPE offlinetube_http_responses_total counter\n",
        );
        for (i, n) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "offlinetube_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                n.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP offlinetube_http_response_bytes_total Body bytes sent.\n\
             # TYPE offlinetube_http_response_bytes_total counter\n",
        );
        let _ = writeln!(
            out,
            "offlinetube_http_response_bytes_total {}",
            self.response_bytes.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::Request;

    #[test]
    fn renders_counts() {
        let m = Metrics::default();
        m.record(200, 10);
        m.record(206, 5);
        m.record(404, 1);
        m.record(999, 0);
        let req = Request::best_video("http://x.test/v");
        let mut done = Task::new("a".into(), req.clone(), "t".into());
        done.status = Status::Completed;
        done.downloaded_bytes = 100;
        let pending = Task::new("b".into(), req, "t".into());
        m.task_changed(&pending, true);
        let mut running = pending.clone();
        running.status = Status::Downloading;
        m.task_changed(&running, true);
        m.task_changed(&done, true);
        let live = Live {
            tasks_by_status: Status::ALL
                .into_iter()
                .map(|s| {
                    (
                        s,
                        [&done, &pending].iter().filter(|t| t.status == s).count(),
                    )
                })
                .collect(),
            downloaded_bytes: 100,
            connections: 3,
            event_streams: 1,
        };
        let text = m.render(&live);
        for line in [
            "offlinetube_tasks{status=\"completed\"} 1",
            "offlinetube_tasks{status=\"pending\"} 1",
            "offlinetube_tasks{status=\"error\"} 0",
            "offlinetube_downloaded_bytes 100",
            "offlinetube_http_responses_total{class=\"2xx\"} 2",
            "offlinetube_http_responses_total{class=\"4xx\"} 1",
            "offlinetube_http_responses_total{class=\"5xx\"} 1",
            "offlinetube_http_response_bytes_total 16",
            "offlinetube_downloads_total{event=\"started\"} 1",
            "offlinetube_downloads_total{event=\"completed\"} 1",
            "offlinetube_downloads_total{event=\"failed\"} 0",
            "offlinetube_open_connections 3",
            "offlinetube_event_streams 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
