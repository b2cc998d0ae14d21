//! The task model and the mutex-guarded store every other part reads and updates.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::journal::{Journal, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Downloading,
    Processing,
    Completed,
    Error,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::Downloading,
        Status::Processing,
        Status::Completed,
        Status::Error,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Downloading => "downloading",
            Status::Processing => "processing",
            Status::Completed => "completed",
            Status::Error => "error",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Still owned by the queue: a restart must pick these up again.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::Pending | Status::Downloading | Status::Processing
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFile {
    pub filename: String,
    pub title: String,
    pub filesize: u64,
}

/// A subtitle file written next to the media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subtitle {
    pub lang: String,
    pub filename: String,
}

/// The options a download was asked for; equal options on the same URL are one download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub url: String,
    pub download_type: String,
    pub quality: String,
    #[serde(default)]
    pub format_id: Option<String>,
    #[serde(default)]
    pub audio_format: Option<String>,
    /// Subtitle languages to write, as yt-dlp names them (`en`, `pt-BR`).
    #[serde(default)]
    pub subtitles: Vec<String>,
}

/// One download as the API shows it; the journal stores exactly this shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub url: String,
    pub title: String,
    pub thumbnail: String,
    pub status: Status,
    pub progress: f64,
    pub speed: String,
    pub eta: String,
    pub filesize: u64,
    pub downloaded_bytes: u64,
    pub format_note: String,
    pub is_playlist: bool,
    pub playlist_index: u32,
    pub playlist_total: u32,
    pub filename: String,
    pub quality: String,
    pub download_type: String,
    #[serde(default)]
    pub format_id: Option<String>,
    #[serde(default)]
    pub audio_format: Option<String>,
    /// Requested subtitle languages.
    #[serde(default)]
    pub subtitle_langs: Vec<String>,
    /// Subtitle files written.
    #[serde(default)]
    pub subtitles: Vec<Subtitle>,
    pub error_message: Option<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
    #[serde(default)]
    pub files: Vec<TaskFile>,
    #[serde(default)]
    pub video_id: Option<String>,
    #[serde(default)]
    pub extractor: Option<String>,
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub uploader: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Request {
    /// A video at its best quality: what a bare `{"url": ...}` asks for.
    pub fn best_video(url: &str) -> Request {
        Request {
            url: url.to_string(),
            download_type: "video".into(),
            quality: "best".into(),
            format_id: None,
            audio_format: None,
            subtitles: Vec::new(),
        }
    }
}

impl Task {
    pub fn new(id: String, req: Request, now: String) -> Task {
        Task {
            id,
            url: req.url,
            title: String::new(),
            thumbnail: String::new(),
            status: Status::Pending,
            progress: 0.0,
            speed: String::new(),
            eta: String::new(),
            filesize: 0,
            downloaded_bytes: 0,
            format_note: String::new(),
            is_playlist: false,
            playlist_index: 0,
            playlist_total: 1,
            filename: String::new(),
            quality: req.quality,
            download_type: req.download_type,
            format_id: req.format_id,
            audio_format: req.audio_format,
            subtitle_langs: req.subtitles,
            subtitles: Vec::new(),
            error_message: None,
            created_at: now.clone(),
            completed_at: None,
            files: Vec::new(),
            video_id: None,
            extractor: None,
            duration: None,
            uploader: None,
            started_at: None,
            updated_at: Some(now),
        }
    }

    pub fn request(&self) -> Request {
        Request {
            url: self.url.clone(),
            download_type: self.download_type.clone(),
            quality: self.quality.clone(),
            format_id: self.format_id.clone(),
            audio_format: self.audio_format.clone(),
            subtitles: self.subtitle_langs.clone(),
        }
    }

    /// Back to the start of a run, keeping identity and what is known about the video.
    pub fn reset_for_run(&mut self) {
        self.status = Status::Pending;
        self.progress = 0.0;
        self.speed.clear();
        self.eta.clear();
        self.downloaded_bytes = 0;
        self.error_message = None;
        self.completed_at = None;
    }
}

#[derive(Default)]
struct Inner {
    /// Boxed: a table slot is a pointer, not a whole task (10,000 tasks: 5 MB less resident,
    /// as hash tables keep about a third of their slots empty).
    tasks: HashMap<String, Box<Task>>,
    order: Vec<String>,
    /// The list as JSON, kept until the next change: listing 10,000 tasks is then a copy.
    json: Option<Arc<Vec<u8>>>,
}

/// All tasks, oldest first. Status changes are journaled; progress ticks are not.
#[derive(Clone)]
pub struct TaskStore {
    inner: Arc<Mutex<Inner>>,
    journal: Arc<Journal>,
    observers: Vec<Arc<dyn Observer>>,
}

/// Told of every change after the store has made it, outside its lock.
pub trait Observer: Send + Sync {
    /// Whether to be told of this kind of change at all (spares a copy of the task).
    fn wants(&self, state_change: bool) -> bool;
    fn task_changed(&self, task: &Task, state_change: bool);
    fn task_removed(&self, id: &str);
}

impl TaskStore {
    pub fn new(journal: Journal, tasks: Vec<Task>, observers: Vec<Arc<dyn Observer>>) -> TaskStore {
        let mut inner = Inner {
            tasks: HashMap::with_capacity(tasks.len()),
            order: Vec::with_capacity(tasks.len()),
            json: None,
        };
        for t in tasks {
            if !inner.tasks.contains_key(&t.id) {
                inner.order.push(t.id.clone());
                inner.tasks.insert(t.id.clone(), Box::new(t));
            }
        }
        TaskStore {
            inner: Arc::new(Mutex::new(inner)),
            journal: Arc::new(journal),
            observers,
        }
    }

    // A panic elsewhere must not make every later request fail: the data is still consistent
    // because every mutation is a single assignment under the lock.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn list(&self) -> Vec<Task> {
        let g = self.lock();
        g.order
            .iter()
            .filter_map(|id| g.tasks.get(id))
            .map(|t| Task::clone(t))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    pub fn get(&self, id: &str) -> Option<Task> {
        self.lock().tasks.get(id).map(|t| Task::clone(t))
    }

    /// Inserts `task` unless an active task already has the same request; returns the task that
    /// stands for the request and whether it is new.
    pub fn insert_unless_active(&self, task: Task) -> (Task, bool) {
        let req = task.request();
        let snapshot = {
            let mut g = self.lock();
            let existing = g
                .order
                .iter()
                .filter_map(|id| g.tasks.get(id))
                .find(|t| t.status.is_active() && t.request() == req)
                .map(|t| Task::clone(t));
            if let Some(t) = existing {
                return (t, false);
            }
            g.order.push(task.id.clone());
            g.tasks.insert(task.id.clone(), Box::new(task.clone()));
            g.json = None;
            self.snapshot(&mut g)
        };
        self.journal.write(snapshot);
        self.notify(&task, true);
        (task, true)
    }

    /// Applies `f` to the task. A change of status (or `persist`) is journaled.
    pub fn update<R>(&self, id: &str, persist: bool, f: impl FnOnce(&mut Task) -> R) -> Option<R> {
        let (r, snapshot, published) = {
            let mut g = self.lock();
            g.json = None;
            let t = g.tasks.get_mut(id)?;
            let before = t.status;
            let r = f(t);
            t.updated_at = Some(crate::clock::now_rfc3339());
            let state_change = before != t.status;
            if state_change {
                log::info!("task {id}: {} -> {}", before.as_str(), t.status.as_str());
            }
            let published = self
                .observers
                .iter()
                .any(|o| o.wants(state_change))
                .then(|| (t.clone(), state_change));
            let snapshot = (persist || state_change).then(|| self.snapshot(&mut g));
            (r, snapshot, published)
        };
        if let Some(s) = snapshot {
            self.journal.write(s);
        }
        if let Some((task, state_change)) = published {
            self.notify(&task, state_change);
        }
        Some(r)
    }

    fn notify(&self, task: &Task, state_change: bool) {
        for o in self.observers.iter().filter(|o| o.wants(state_change)) {
            o.task_changed(task, state_change);
        }
    }

    /// Writes the journal now, progress included (status changes are written as they happen).
    pub fn flush(&self) {
        let snapshot = self.snapshot(&mut self.lock());
        self.journal.write(snapshot);
    }

    /// Drops the task; returns it if it existed.
    pub fn remove(&self, id: &str) -> Option<Task> {
        let (task, snapshot) = {
            let mut g = self.lock();
            let task = g.tasks.remove(id)?;
            g.order.retain(|x| x != id);
            g.json = None;
            (task, self.snapshot(&mut g))
        };
        self.journal.write(snapshot);
        for o in &self.observers {
            o.task_removed(id);
        }
        log::info!("task {id} removed");
        Some(*task)
    }

    /// Whether `name` is a finished media or subtitle file of some task.
    pub fn owns_file(&self, name: &str) -> bool {
        self.lock().tasks.values().any(|t| {
            t.files.iter().any(|f| f.filename == name)
                || t.subtitles.iter().any(|s| s.filename == name)
        })
    }

    pub fn count_by_status(&self) -> Vec<(Status, usize)> {
        let g = self.lock();
        Status::ALL
            .into_iter()
            .map(|s| (s, g.tasks.values().filter(|t| t.status == s).count()))
            .collect()
    }

    /// Bytes downloaded by all tasks, counted without copying any.
    pub fn downloaded_bytes(&self) -> u64 {
        let g = self.lock();
        g.tasks
            .values()
            .map(|t| t.downloaded_bytes)
            .fold(0, u64::saturating_add)
    }

    /// Serialised under the lock so journal writes see states in the order they happened.
    fn snapshot(&self, g: &mut Inner) -> Snapshot {
        Snapshot::new(self.journal.next_seq(), Self::json(g))
    }

    /// The whole list as JSON, oldest first, from the cache when nothing changed since.
    /// (`None` only if serialising failed, which these types cannot: never write that.)
    fn json(g: &mut Inner) -> Option<Arc<Vec<u8>>> {
        if let Some(json) = &g.json {
            return Some(Arc::clone(json));
        }
        let list: Vec<&Task> = g
            .order
            .iter()
            .filter_map(|id| g.tasks.get(id).map(|t| &**t))
            .collect();
        let json = serde_json::to_vec(&list)
            .map_err(|e| log::error!("cannot serialise the task list: {e}"))
            .ok()?;
        let json = Arc::new(json);
        g.json = Some(Arc::clone(&json));
        Some(json)
    }

    /// `GET /api/downloads` as it stands.
    pub fn list_json(&self) -> Option<Arc<Vec<u8>>> {
        Self::json(&mut self.lock())
    }
}
