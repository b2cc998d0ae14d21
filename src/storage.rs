//! A task's files on disk, found by the `__<task id>` in their names: clean-up after a failed
//! or cancelled run, removal with the task, and adoption of files that have no task.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::clock::rfc3339;
use crate::files;
use crate::tasks::{Request, Status, Subtitle, Task, TaskFile};
use crate::thumbnails;

/// Names in `dir` that hold `__<id>` (media and partials) or start `<id>.thumb` (thumbnails
/// yt-dlp wrote next to the media).
fn names_of(dir: &Path, id: &str) -> Vec<String> {
    let ours = format!("__{id}");
    let thumb = format!("{id}.thumb");
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.contains(&ours) || n.starts_with(&thumb))
        .collect()
}

/// Deletes what a failed or cancelled run left in the downloads folder, sparing the finished
/// files in `keep`.
pub fn remove_leftovers(dir: &Path, id: &str, keep: &[TaskFile]) {
    for name in names_of(dir, id) {
        if keep.iter().all(|f| f.filename != name) {
            remove(&dir.join(&name));
        }
    }
}

/// Deletes every file of task `id`: `files`, anything else named for it (partials,
/// subtitles), and its thumbnail in any format.
pub fn remove_task_files(downloads: &Path, thumbnails_dir: &Path, id: &str, files: &[TaskFile]) {
    for f in files {
        if files::is_servable_name(&f.filename) {
            remove(&downloads.join(&f.filename));
        }
    }
    remove_leftovers(downloads, id, &[]);
    thumbnails::remove(thumbnails_dir, id);
}

fn remove(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("cannot remove {}: {e}", path.display()),
    }
}

/// Subtitle files of the task (`…__<id>[_<n>].<lang>.vtt`), with their language.
pub fn subtitles_of(dir: &Path, id: &str) -> Vec<Subtitle> {
    let ours = format!("__{id}");
    let mut subs: Vec<Subtitle> = names_of(dir, id)
        .into_iter()
        .filter(|n| n.contains(&ours) && n.ends_with(".vtt") && files::is_servable_name(n))
        .filter_map(|filename| {
            let stem = filename.strip_suffix(".vtt")?;
            let (_, lang) = stem.rsplit_once('.')?;
            Some(Subtitle {
                lang: lang.to_string(),
                filename,
            })
        })
        .collect();
    subs.sort_by(|a, b| a.filename.cmp(&b.filename));
    subs
}

/// Thumbnails yt-dlp wrote for the task (`<id>.thumb[_<index>].<ext>`), first entry first.
pub fn written_thumbnails(dir: &Path, id: &str) -> Vec<PathBuf> {
    let prefix = format!("{id}.thumb");
    let mut found: Vec<(u32, String)> = names_of(dir, id)
        .into_iter()
        .filter_map(|name| {
            let rest = name.strip_prefix(&prefix)?;
            let index = rest
                .strip_prefix('_')
                .and_then(|r| r.split('.').next()?.parse().ok());
            Some((index.unwrap_or(0), name))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| dir.join(n)).collect()
}

/// `<title>__<uuid>[_<index>].<ext>` → (title, uuid, index).
pub fn parse_owned_name(name: &str) -> Option<(&str, &str, u32)> {
    let at = name.rfind("__")?;
    let (title, rest) = (&name[..at], &name[at + 2..]);
    let id = rest.get(..36)?;
    uuid::Uuid::try_parse(id).ok()?;
    let rest = &rest[36..];
    let (index, ext) = match rest.strip_prefix('_') {
        Some(r) => {
            let (n, ext) = r.split_once('.')?;
            (n.parse().ok()?, ext)
        }
        None => (0, rest.strip_prefix('.')?),
    };
    (!ext.is_empty() && !ext.contains('.')).then_some((title, id, index))
}

/// One media file found on disk for a task.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    index: u32,
    name: String,
    title: String,
    size: u64,
    mtime: u64,
}

/// Finished media files in `downloads` whose task is not in `known`, as completed tasks.
pub fn adopt(downloads: &Path, thumbnails_dir: &Path, known: &HashSet<String>) -> Vec<Task> {
    let mut found: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for entry in fs::read_dir(downloads).into_iter().flatten().flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !files::is_servable_name(&name) {
            continue;
        }
        let Some((title, id, index)) = parse_owned_name(&name) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        if known.contains(id) || !meta.is_file() {
            continue;
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        found.entry(id.to_string()).or_default().push(Found {
            index,
            title: title.to_string(),
            name: name.clone(),
            size: meta.len(),
            mtime,
        });
    }
    found
        .into_iter()
        .map(|(id, mut entries)| {
            entries.sort();
            let when = rfc3339(entries.iter().map(|e| e.mtime).max().unwrap_or(0));
            let request = Request::best_video("");
            let mut t = Task::new(id.clone(), request, when.clone());
            t.status = Status::Completed;
            t.progress = 100.0;
            t.title = entries[0].title.clone();
            t.filename = entries[0].name.clone();
            t.is_playlist = entries.iter().any(|e| e.index > 0);
            t.playlist_total = entries.len() as u32;
            t.files = entries
                .iter()
                .map(|e| TaskFile {
                    filename: e.name.clone(),
                    title: e.title.clone(),
                    filesize: e.size,
                })
                .collect();
            t.filesize = t.files.iter().map(|f| f.filesize).sum();
            t.downloaded_bytes = t.filesize;
            t.completed_at = Some(when);
            if thumbnails::find(thumbnails_dir, &id).is_some() {
                t.thumbnail = format!("/api/thumbnails/{id}");
            }
            log::info!(
                "adopted {} file(s) of task {id} found without a task",
                t.files.len()
            );
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f8a2c64-1d2b-4c7e-9a55-3b1e2f4d5c6a";

    #[test]
    fn owned_names() {
        assert_eq!(
            parse_owned_name(&format!("My clip__{ID}.mp4")),
            Some(("My clip", ID, 0))
        );
        assert_eq!(
            parse_owned_name(&format!("a__b__{ID}_3.m4a")),
            Some(("a__b", ID, 3))
        );
        assert_eq!(parse_owned_name(&format!("x__{ID}.mp4.part")), None);
        assert_eq!(parse_owned_name(&format!("x__{ID}")), None);
        assert_eq!(parse_owned_name(&format!("x__{ID}_.mp4")), None);
        assert_eq!(
            parse_owned_name("x__not-a-uuid-at-all-0000000000000000.mp4"),
            None
        );
        assert_eq!(parse_owned_name("plain.mp4"), None);
    }
}
