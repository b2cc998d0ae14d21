//! Runs one task: yt-dlp as a child process, its output turned into task updates, then the
//! finished files named and the thumbnail captured.

use std::collections::VecDeque;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::app::App;
use crate::clock::now_rfc3339;
use crate::filenames;
use crate::progress::Tracker;
use crate::tasks::{Status, Task, TaskFile};
use crate::thumbnails::{self, Capture};
use crate::ytdlp::{self, Info, Invocation, Line};

/// Lines of stderr kept for the error message, and the longest line kept.
const STDERR_TAIL: usize = 40;
const MAX_LINE: usize = 16 * 1024;

pub fn run(app: &App, id: &str) {
    let Some(task) = app.store.get(id) else {
        return;
    };
    if task.status != Status::Pending {
        return;
    }
    app.store.update(id, false, |t| {
        t.reset_for_run();
        t.status = Status::Downloading;
        t.started_at = Some(now_rfc3339());
    });
    let mut write_thumbnail = true;
    loop {
        match attempt(app, &task, write_thumbnail) {
            Ok(run) => return finish(app, id, run),
            Err(message) if write_thumbnail && ytdlp::is_thumbnail_extension_error(&message) => {
                log::warn!("task {id}: {message}; retrying without yt-dlp's thumbnail");
                remove_leftovers(app, id, &[]);
                write_thumbnail = false;
            }
            Err(message) => {
                let kept = app.store.get(id).map(|t| t.files).unwrap_or_default();
                remove_leftovers(app, id, &kept);
                app.store.update(id, true, |t| {
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
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "cannot start yt-dlp ({}): {e}",
            app.tools.yt_dlp().display()
        )
    })?;

    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr = child.stderr.take().map(|err| {
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
    if let Some(out) = child.stdout.take() {
        for_each_line(out, |line| follow.line(&line));
    }
    let status = child
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
                self.app.store.update(self.id, false, |t| {
                    t.status = Status::Downloading;
                    t.progress = f.progress;
                    t.downloaded_bytes = f.downloaded_bytes;
                    t.filesize = f.filesize;
                    t.speed = f.speed;
                    t.eta = f.eta;
                });
            }
            Line::PostProcess { started: true, .. } => {
                self.app.store.update(self.id, false, |t| {
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
        self.app.store.update(self.id, false, |t| {
            let playlist = info.playlist_index.is_some() && entry.1 > 1;
            t.is_playlist |= playlist;
            if playlist {
                t.playlist_index = entry.0;
                t.playlist_total = entry.1;
            }
            if first {
                t.title = info.title.clone().unwrap_or_default();
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
    app.store.update(id, false, |t| {
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
    let local = capture.run(&written_thumbnails(&cfg.downloads_dir, id), &remote);
    app.store.update(id, true, |t| {
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

/// Thumbnails yt-dlp wrote for the task (`<id>.thumb[_<index>].<ext>`), first entry first.
fn written_thumbnails(dir: &Path, id: &str) -> Vec<PathBuf> {
    let prefix = format!("{id}.thumb");
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let rest = name.strip_prefix(&prefix)?;
            let index = rest
                .strip_prefix('_')
                .and_then(|r| r.split('.').next()?.parse().ok());
            Some((index.unwrap_or(0), e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Deletes what a failed run left in the downloads folder: partial files and thumbnails of
/// this task, but not the finished files in `keep`.
fn remove_leftovers(app: &App, id: &str, keep: &[TaskFile]) {
    let thumb = format!("{id}.thumb");
    let ours = format!("__{id}");
    for entry in fs::read_dir(&app.cfg.downloads_dir)
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let leftover = name.starts_with(&thumb)
            || (name.contains(&ours) && keep.iter().all(|f| f.filename != name));
        if leftover {
            if let Err(e) = fs::remove_file(entry.path()) {
                log::warn!("cannot remove leftover {name}: {e}");
            }
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
