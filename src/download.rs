//! Runs one task: yt-dlp as a child process, its output turned into task updates, then the
//! finished files named and the thumbnail captured.

use std::collections::VecDeque;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::app::App;
use crate::clock::now_rfc3339;
use crate::filenames;
use crate::process;
use crate::progress::Tracker;
use crate::storage;
use crate::tasks::{Status, Task, TaskFile};
use crate::thumbnails::{self, Capture};
use crate::ytdlp::{self, Info, Invocation, Line};

/// Lines of stderr kept for the error message, and the longest line kept.
const STDERR_TAIL: usize = 40;
const MAX_LINE: usize = 16 * 1024;

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
        let outcome = attempt(app, &task, write_thumbnail);
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

/// The yt-dlp child, killed (with its group) and reaped however `attempt` is left, so that no
/// path, not even a panic, leaves a process or a zombie behind.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            process::signal_group(self.0.id() as i32, libc::SIGKILL);
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// What a successful yt-dlp run left behind.
struct Run {
    /// The first entry's metadata: where a thumbnail can be fetched from.
    info: Info,
}

fn attempt(app: &App, task: &Task, write_thumbnail: bool) -> Result<Run, String> {
    let cfg = &app.cfg;
    let request = task.request();
    let args = ytdlp::download_args(&Invocation {
        request: &request,
        task_id: &task.id,
        downloads_dir: &cfg.downloads_dir,
        ffmpeg: app.tools.ffmpeg.as_deref(),
        write_thumbnail,
    });
    let mut cmd = Command::new(app.tools.yt_dlp());
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("PYTHONUNBUFFERED", "1")
        // Its own process group, so that it and the ffmpeg it starts can be signalled as one.
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; it makes yt-dlp die with the server instead of
    // writing on into a .part that the next start resumes.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let spawned = cmd.spawn().map_err(|e| {
        format!(
            "cannot start yt-dlp ({}): {e}",
            app.tools.yt_dlp().display()
        )
    })?;
    let mut child = ChildGuard(spawned);
    // With process_group(0) the group id is the child's pid.
    app.queue.set_group(&task.id, child.0.id() as i32);

    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr = child.0.stderr.take().map(|err| {
        let tail = Arc::clone(&tail);
        let id = task.id.clone();
        std::thread::spawn(move || {
            for_each_line(err, |line| {
                log::debug!("task {id} yt-dlp: {line}");
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            })
        })
    });

    let mut follow = Follow {
        app,
        id: &task.id,
        tracker: Tracker::new(),
        first: None,
        entry_title: String::new(),
    };
    if let Some(out) = child.0.stdout.take() {
        for_each_line(out, |line| follow.line(&line));
    }
    let status = child
        .0
        .wait()
        .map_err(|e| format!("waiting for yt-dlp: {e}"))?;
    if let Some(h) = stderr {
        let _ = h.join();
    }
    let tail: Vec<String> = tail
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
        .collect();
    if !status.success() {
        return Err(ytdlp::error_line(&tail).unwrap_or_else(|| format!("yt-dlp failed ({status})")));
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
    update_active(app, id, true, |t| {
        let total: u64 = t.files.iter().map(|f| f.filesize).sum();
        t.status = Status::Completed;
        t.progress = 100.0;
        t.filesize = total;
        t.downloaded_bytes = total;
        t.completed_at = Some(now_rfc3339());
        if local {
            t.thumbnail = format!("/api/thumbnails/{id}");
        }
    });
}

/// Kills a yt-dlp that an earlier run of the server started for task `id` and that is still
/// alive (a server killed without its children): it would write into the same `.part`.
pub fn stop_orphan(id: &str) {
    for pid in process::pids_with_arg(&ytdlp::output_template(id)) {
        if let Some(pgid) = process::group_of(pid) {
            log::warn!("task {id}: killing yt-dlp left over from a previous run (pid {pid})");
            process::signal_group(pgid, libc::SIGKILL);
        }
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

#[cfg(test)]
mod tests {
    use super::for_each_line;

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
        assert_eq!(lines[0].len(), super::MAX_LINE);
    }
}
