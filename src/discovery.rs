//! Looking videos up before downloading: `yt-dlp -J` (never a download) for info and search,
//! bounded by a timeout, a few at a time so they cannot starve downloads on a small board,
//! and remembered for a while so the page asking twice costs one run.

use serde_json::Value;
use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::info;
use crate::process::Child;
use crate::ytdlp;

const CACHE_TTL: Duration = Duration::from_secs(600);
const CACHE_ENTRIES: usize = 128;
const MAX_RUNNING: usize = 2;
/// Most JSON read from one run; a huge playlist beyond it is refused, not buffered.
const MAX_JSON: u64 = 64 * 1024 * 1024;
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, PartialEq)]
pub enum Failure {
    /// yt-dlp could not be started (503).
    Unavailable(String),
    /// yt-dlp ran and failed; its error line (502).
    Extractor(String),
    /// Past the time limit (504).
    Timeout,
    /// Too many lookups at once for the whole time limit (503).
    Busy,
}

pub struct Discovery {
    yt_dlp: PathBuf,
    /// The cookies file, sent when one is stored.
    cookies: PathBuf,
    ffprobe: Option<PathBuf>,
    timeout: Duration,
    cache: Mutex<VecDeque<(String, Instant, Value)>>,
    running: Mutex<usize>,
    slot_freed: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Discovery {
    /// `ffmpeg` is the usable ffmpeg, if any; ffprobe is expected beside it.
    pub fn new(
        yt_dlp: &Path,
        cookies: PathBuf,
        ffmpeg: Option<&Path>,
        timeout: Duration,
    ) -> Discovery {
        let ffprobe = ffmpeg.map(|f| match f.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => dir.join("ffprobe"),
            None => PathBuf::from("ffprobe"),
        });
        Discovery {
            yt_dlp: yt_dlp.to_path_buf(),
            cookies,
            ffprobe,
            timeout,
            cache: Mutex::new(VecDeque::new()),
            running: Mutex::new(0),
            slot_freed: Condvar::new(),
        }
    }

    /// `/api/info` for `url` (a checked http(s) URL).
    pub fn info(&self, url: &str) -> Result<Value, Failure> {
        self.cached(&format!("info {url}"), || {
            let mut v = self.yt_dlp_json(&["-J", "--flat-playlist", "--", url])?;
            if let (Some(target), Some(ffprobe)) = (info::probe_target(&v), &self.ffprobe) {
                // Direct links: yt-dlp does not look inside; ffprobe reads the media's header.
                if let Ok(probe) = run_json(ffprobe, &probe_args(target), PROBE_TIMEOUT) {
                    info::apply_probe(&mut v, &probe);
                }
            }
            Ok(info::describe(&v, url))
        })
    }

    /// Search results for `query`, or the one video (or playlist) when `query` is a URL.
    pub fn search(&self, query: &str, max: u32) -> Result<Vec<Value>, Failure> {
        let target = if crate::api::check_url(query).is_ok() {
            query.to_string()
        } else {
            format!("ytsearch{max}:{query}")
        };
        let v = self.cached(&format!("search {max} {target}"), || {
            self.yt_dlp_json(&[
                "-J",
                "--flat-playlist",
                "--playlist-end",
                &max.to_string(),
                "--",
                &target,
            ])
        })?;
        let mut results = info::search_results(&v);
        results.truncate(max as usize);
        Ok(results)
    }

    fn cached(
        &self,
        key: &str,
        compute: impl FnOnce() -> Result<Value, Failure>,
    ) -> Result<Value, Failure> {
        {
            let mut cache = lock(&self.cache);
            cache.retain(|(_, at, _)| at.elapsed() < CACHE_TTL);
            if let Some((_, _, v)) = cache.iter().find(|(k, _, _)| k == key) {
                return Ok(v.clone());
            }
        }
        let v = compute()?;
        let mut cache = lock(&self.cache);
        if cache.len() >= CACHE_ENTRIES {
            cache.pop_front();
        }
        cache.push_back((key.to_string(), Instant::now(), v.clone()));
        Ok(v)
    }

    fn yt_dlp_json(&self, args: &[&str]) -> Result<Value, Failure> {
        let _slot = self.take_slot()?;
        let cookies = crate::cookies::args(&self.cookies);
        let mut full = vec!["--no-config", "--encoding", "utf-8"];
        full.extend(cookies.iter().map(String::as_str));
        full.extend_from_slice(args);
        run_json(&self.yt_dlp, &full, self.timeout)
    }

    /// Waits for one of the few lookup slots, at most the time limit.
    fn take_slot(&self) -> Result<SlotGuard<'_>, Failure> {
        let deadline = Instant::now() + self.timeout;
        let mut running = lock(&self.running);
        while *running >= MAX_RUNNING {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Busy);
            }
            running = self
                .slot_freed
                .wait_timeout(running, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *running += 1;
        Ok(SlotGuard(self))
    }
}

struct SlotGuard<'a>(&'a Discovery);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.0.running) -= 1;
        self.0.slot_freed.notify_one();
    }
}

fn probe_args(url: &str) -> Vec<&str> {
    vec![
        "-v",
        "error",
        "-show_entries",
        "format=duration:stream=codec_type,codec_name,width,height",
        "-of",
        "json",
        url,
    ]
}

/// Runs `program`, expecting one JSON document on stdout, within `timeout`; the process group
/// is killed when the time is up.
fn run_json(program: &Path, args: &[&str], timeout: Duration) -> Result<Value, Failure> {
    let label = program
        .file_name()
        .map_or("lookup".into(), |n| n.to_string_lossy().into_owned());
    let mut child = Child::spawn(program, args, &label)
        .map_err(|e| Failure::Unavailable(format!("cannot start {}: {e}", program.display())))?;
    let stdout = child.take_stdout();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stdout {
            let _ = s.take(MAX_JSON).read_to_end(&mut out);
        }
        out
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                // Dropping the child kills its group, which closes stdout and ends the reader.
                drop(child);
                let _ = reader.join();
                return Err(Failure::Timeout);
            }
            Err(e) => return Err(Failure::Extractor(format!("waiting for {label}: {e}"))),
        }
    };
    let out = reader.join().unwrap_or_default();
    let tail = child.stderr_tail();
    if !status.success() {
        return Err(Failure::Extractor(
            ytdlp::error_line(&tail).unwrap_or_else(|| format!("{label} failed ({status})")),
        ));
    }
    serde_json::from_slice(&out).map_err(|_| {
        Failure::Extractor(
            ytdlp::error_line(&tail).unwrap_or_else(|| format!("{label} gave no usable JSON")),
        )
    })
}
