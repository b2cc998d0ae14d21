//! Runs one task: yt-dlp as a child process, its output turned into task updates, then the
//! finished files named and the thumbnail captured.

use std::fs;
use std::path::Path;

use crate::app::App;
use crate::clock::now_rfc3339;
use crate::filenames;
use crate::process::{self, Child};
use crate::progress::Tracker;
use crate::queue::Phase;
use crate::storage;
use crate::tasks::{Status, Task, TaskFile};
use crate::thumbnails::{self, Capture};
use crate::ytdlp::{self, Info, Invocation, Line};

pub fn run(app: &App, id: &str) {
    let _running = app.queue.start_run(id);
    // Pending → downloading in one step, so a cancel that came first wins.
    let started = app.store.update(id, false, |t| {
        let go = t.status == Status::Pending;
        if go {
            t.reset_for_run();
            t.status = Status::Downloading;
            t.started_at = Some(now_rfc3339());
        }
        go
    });
    let Some(task) = app.store.get(id).filter(|_| started == Some(true)) else {
        return;
    };
    let dir = &app.cfg.downloads_dir;
    let mut write_thumbnail = true;
    loop {
        // A cancel that came before this point is seen here; one after it finds the process.
        app.queue.enter(id, Phase::Starting);
        let outcome = if still_active(app, id) {
            attempt(app, &task, write_thumbnail)
        } else {
            Err(String::new())
        };
        app.queue.enter(id, Phase::Finishing);
        if app.queue.is_stopping() {
            // The server is stopping: the task stays active and its .part resumes next start.
            return;
        }
        let kept = app.store.get(id).map(|t| t.files).unwrap_or_default();
        if !still_active(app, id) {
            // Cancelled (or removed) while running: the process is gone, and so are its partials.
            storage::remove_leftovers(dir, id, &kept);
            return;
        }
        match outcome {
            Ok(run) => return finish(app, id, run),
            Err(message) if write_thumbnail && ytdlp::is_thumbnail_extension_error(&message) => {
                log::warn!("task {id}: {message}; retrying without yt-dlp's thumbnail");
                storage::remove_leftovers(dir, id, &kept);
                write_thumbnail = false;
            }
            Err(message) => {
                storage::remove_leftovers(dir, id, &kept);
                update_active(app, id, true, |t| {
                    t.status = Status::Error;
                    t.error_message = Some(message);
                    t.speed.clear();
                    t.eta.clear();
                });
                return;
            }
        }
    }
}

fn still_active(app: &App, id: &str) -> bool {
    app.store.get(id).is_some_and(|t| t.status.is_active())
}

/// Updates the task only while it is still running: a cancel must never be overwritten by a
/// progress line that was already on its way.
fn update_active(app: &App, id: &str, persist: bool, f: impl FnOnce(&mut Task)) {
    app.store.update(id, persist, |t| {
        if t.status.is_active() {
            f(t);
        }
    });
}

/// What a successful yt-dlp run left behind.
struct Run {
    /// The first entry's metadata: where a thumbnail can be fetched from.
    info: Info,
}

fn attempt(app: &App, task: &Task, write_thumbnail: bool) -> Result<Run, String> {
    let cfg = &app.cfg;
    let request = task.request();
    let cookies = crate::cookies::path_for(&cfg.state_file);
    let args = ytdlp::download_args(&Invocation {
        request: &request,
        task_id: &task.id,
        downloads_dir: &cfg.downloads_dir,
        ffmpeg: app.tools.ffmpeg.as_deref(),
        write_thumbnail,
        cookies: Some(cookies.as_path()).filter(|p| p.is_file()),
    });
    let mut child = Child::spawn_watching(
        app.tools.yt_dlp(),
        &args,
        &format!("task {} yt-dlp", task.id),
        ytdlp::is_skipped_fragment,
    )
    .map_err(|e| {
        format!(
            "cannot start yt-dlp ({}): {e}",
            app.tools.yt_dlp().display()
        )
    })?;
    app.queue.enter(&task.id, Phase::Running(child.group()));

    let mut follow = Follow {
        app,
        id: &task.id,
        tracker: Tracker::new(),
        first: None,
        entry_title: String::new(),
        skipped: None,
    };
    if let Some(out) = child.take_stdout() {
        process::for_each_line(out, |line| follow.line(&line));
    }
    let status = child
        .wait_group()
        .map_err(|e| format!("waiting for yt-dlp: {e}"))?;
    let tail = child.stderr_tail();
    if !status.success() {
        return Err(ytdlp::error_line(&tail).unwrap_or_else(|| format!("yt-dlp failed ({status})")));
    }
    // Exit 0 after a skipped fragment is a truncated video, not a success.
    if let Some(line) = follow.skipped.or_else(|| child.noted()) {
        return Err(format!("yt-dlp skipped part of the video: {}", line.trim()));
    }
    let has_files = app.store.get(&task.id).is_some_and(|t| !t.files.is_empty());
    if !has_files {
        return Err(ytdlp::error_line(&tail)
            .unwrap_or_else(|| "yt-dlp finished without producing a file".to_string()));
    }
    Ok(Run {
        info: follow.first.unwrap_or_default(),
    })
}

/// Turns yt-dlp's stdout, line by line, into task updates.
struct Follow<'a> {
    app: &'a App,
    id: &'a str,
    tracker: Tracker,
    first: Option<Info>,
    entry_title: String,
    /// A "Skipping fragment" line, should yt-dlp print one on stdout.
    skipped: Option<String>,
}

impl Follow<'_> {
    fn line(&mut self, line: &str) {
        match ytdlp::parse_line(line) {
            Line::Info(info) => self.info(info),
            Line::Streams(sizes) => self.tracker.expect_streams(sizes),
            Line::Progress(p) => {
                let f = self.tracker.update(&p);
                update_active(self.app, self.id, false, |t| {
                    t.status = Status::Downloading;
                    t.progress = f.progress;
                    t.downloaded_bytes = f.downloaded_bytes;
                    t.filesize = f.filesize;
                    t.speed = f.speed;
                    t.eta = f.eta;
                });
            }
            Line::PostProcess { started: true, .. } => {
                update_active(self.app, self.id, false, |t| {
                    t.status = Status::Processing;
                    t.speed.clear();
                    t.eta.clear();
                });
            }
            Line::Other if ytdlp::is_skipped_fragment(line) => {
                self.skipped.get_or_insert_with(|| line.to_string());
            }
            Line::PostProcess { .. } | Line::Other => {}
            Line::File(path) => self.file(Path::new(&path)),
        }
    }

    fn info(&mut self, info: Info) {
        let entry = (
            info.playlist_index.unwrap_or(1),
            info.playlist_count.unwrap_or(1),
        );
        self.tracker.begin_entry(entry);
        self.entry_title = info.title.clone().unwrap_or_default();
        let first = self.first.is_none();
        let base = &self.app.cfg.thumbnail_fallback_base;
        update_active(self.app, self.id, false, |t| {
            let playlist = info.playlist_index.is_some() && entry.1 > 1;
            t.is_playlist |= playlist;
            if playlist {
                t.playlist_index = entry.0;
                t.playlist_total = entry.1;
            }
            if first {
                let title = if playlist {
                    info.playlist_title.as_ref()
                } else {
                    None
                };
                t.title = title.or(info.title.as_ref()).cloned().unwrap_or_default();
                t.video_id = info.id.clone();
                t.extractor = info.extractor.clone();
                t.duration = info.duration;
                t.uploader = info.uploader.clone();
                t.format_note = info.format_note.clone().unwrap_or_default();
                if t.thumbnail.is_empty() {
                    let yt = thumbnails::youtube_id(info.extractor.as_deref(), info.id.as_deref());
                    t.thumbnail =
                        thumbnails::remote_candidates(info.thumbnail.as_deref(), yt, base)
                            .into_iter()
                            .next()
                            .unwrap_or_default();
                }
            }
        });
        if first {
            self.first = Some(info);
        }
    }

    /// A finished file: named safely, then recorded at once so it is never lost.
    fn file(&mut self, reported: &Path) {
        let Some(name) = reported.file_name().and_then(|n| n.to_str()) else {
            log::warn!(
                "task {}: yt-dlp reported an unusable path {}",
                self.id,
                reported.display()
            );
            return;
        };
        let dir = &self.app.cfg.downloads_dir;
        let mut final_name = name.to_string();
        if let Some(safe) = filenames::normalised_name(name, self.id).filter(|s| s != name) {
            match fs::rename(dir.join(name), dir.join(&safe)) {
                Ok(()) => final_name = safe,
                Err(e) => log::warn!("cannot rename {name} to {safe}: {e}"),
            }
        }
        let Ok(meta) = fs::metadata(dir.join(&final_name)) else {
            log::warn!(
                "task {}: reported file {final_name} is not in the downloads folder",
                self.id
            );
            return;
        };
        let title = self.entry_title.clone();
        self.app.store.update(self.id, false, |t| {
            if t.files.iter().all(|f| f.filename != final_name) {
                t.files.push(TaskFile {
                    filename: final_name.clone(),
                    title,
                    filesize: meta.len(),
                });
            }
            if t.filename.is_empty() {
                t.filename = final_name;
            }
        });
    }
}

fn finish(app: &App, id: &str, run: Run) {
    update_active(app, id, false, |t| {
        t.status = Status::Processing;
        t.speed.clear();
        t.eta.clear();
    });
    let cfg = &app.cfg;
    let capture = Capture {
        thumbnails_dir: &cfg.thumbnails_dir,
        task_id: id,
        ffmpeg: app.tools.ffmpeg.as_deref(),
    };
    let yt = thumbnails::youtube_id(run.info.extractor.as_deref(), run.info.id.as_deref());
    let remote = thumbnails::remote_candidates(
        run.info.thumbnail.as_deref(),
        yt,
        &cfg.thumbnail_fallback_base,
    );
    let local = capture.run(
        &storage::written_thumbnails(&cfg.downloads_dir, id),
        &remote,
    );
    let subtitles = storage::subtitles_of(&cfg.downloads_dir, id);
    if app.store.get(id).is_none() {
        // Removed while the thumbnail was being fetched: what was just made goes too.
        storage::remove_task_files(&cfg.downloads_dir, &cfg.thumbnails_dir, id, &[]);
        return;
    }
    update_active(app, id, true, |t| {
        let total: u64 = t.files.iter().map(|f| f.filesize).sum();
        t.status = Status::Completed;
        t.progress = 100.0;
        t.filesize = total;
        t.downloaded_bytes = total;
        t.completed_at = Some(now_rfc3339());
        t.subtitles = subtitles;
        if local {
            t.thumbnail = format!("/api/thumbnails/{id}");
        }
    });
}

/// Kills what an earlier run of the server left of task `id` (killed without its children):
/// any process whose arguments name the task's files (its yt-dlp by the output template, an
/// ffmpeg or external downloader by the path) or that holds one of them open, since it would
/// write on into the `.part` that this run resumes.
pub fn stop_orphans(downloads: &Path, id: &str) {
    let marker = format!("__{id}");
    let mut pids = process::pids_with_arg_containing(&marker);
    pids.extend(process::pids_with_open_file(downloads, |name| {
        name.contains(&marker)
    }));
    // SAFETY: getpgrp only reads this process's group id.
    let own_group = unsafe { libc::getpgrp() };
    for pid in pids {
        log::warn!("task {id}: killing pid {pid}, left over from a previous run");
        match process::group_of(pid) {
            Some(group) if group != own_group => process::signal_group(group, libc::SIGKILL),
            // SAFETY: kill(2) only sends a signal.
            _ => unsafe { libc::kill(pid, libc::SIGKILL) == 0 },
        };
    }
}
