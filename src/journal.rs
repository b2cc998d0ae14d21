//! `tasks.json`: loaded once at start, rewritten atomically (tmp, fsync, rename) on every
//! status change, so a crash at any moment leaves either the old or the new list on disk.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::tasks::Task;

/// A serialised task list (the same bytes `GET /api/downloads` sends) with its place in the
/// order of changes.
pub struct Snapshot {
    seq: u64,
    bytes: Option<Arc<Vec<u8>>>,
}

impl Snapshot {
    pub fn new(seq: u64, bytes: Option<Arc<Vec<u8>>>) -> Snapshot {
        Snapshot { seq, bytes }
    }
}

pub struct Journal {
    path: PathBuf,
    seq: AtomicU64,
    /// Sequence number of the newest snapshot on disk; held while writing.
    written: Mutex<u64>,
}

/// What was found on disk at start.
pub enum Loaded {
    Tasks(Vec<Task>),
    /// The file did not parse and was moved aside.
    Corrupt,
}

impl Journal {
    pub fn new(path: PathBuf) -> Journal {
        Journal {
            path,
            seq: AtomicU64::new(1),
            written: Mutex::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the journal. A file that does not parse is moved aside, never overwritten.
    pub fn load(&self) -> std::io::Result<Loaded> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Tasks(vec![])),
            Err(e) => return Err(e),
        };
        match serde_json::from_slice::<Vec<Task>>(&bytes) {
            Ok(tasks) => Ok(Loaded::Tasks(tasks)),
            Err(e) => {
                let aside = self
                    .path
                    .with_extension(format!("json.corrupt-{}", crate::clock::unix_seconds()));
                log::error!(
                    "{} does not parse ({e}); moved to {}",
                    self.path.display(),
                    aside.display()
                );
                fs::rename(&self.path, &aside)?;
                Ok(Loaded::Corrupt)
            }
        }
    }

    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    /// Writes the snapshot unless a newer one is already on disk. Failures (a full disk) are
    /// logged; the in-memory state stays authoritative and the next change tries again.
    pub fn write(&self, snap: Snapshot) {
        let Some(bytes) = snap.bytes else { return };
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if snap.seq <= *written {
            return;
        }
        match write_atomically(&self.path, &bytes) {
            Ok(()) => *written = snap.seq,
            Err(e) => log::error!("cannot write {}: {e}", self.path.display()),
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // The rename itself must reach the disk too.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
