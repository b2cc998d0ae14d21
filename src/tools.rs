//! The external programs the server drives: whether they are there, and their versions.

use std::io::Read;

use crate::process::Child;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Tools {
    yt_dlp: PathBuf,
    yt_dlp_version: Mutex<Option<String>>,
    /// ffmpeg's path when `ffmpeg -version` ran; without it only single-file formats are used.
    pub ffmpeg: Option<PathBuf>,
}

impl Tools {
    /// Finds ffmpeg now; yt-dlp's version is learnt later (`probe_yt_dlp`, or on first use):
    /// it takes a Python start, which the server's start-up need not wait for.
    pub fn probe(yt_dlp: &Path, ffmpeg: &Path) -> Tools {
        // yt-dlp takes --ffmpeg-location relative to its working directory: pass a full path.
        let ffmpeg = matches!(probe(ffmpeg, "-version"), Probe::Ran(_)).then(|| on_path(ffmpeg));
        if ffmpeg.is_none() {
            log::warn!("ffmpeg not found: single-file formats only, no audio extraction");
        }
        Tools {
            yt_dlp: yt_dlp.to_path_buf(),
            yt_dlp_version: Mutex::new(None),
            ffmpeg,
        }
    }

    /// Learns and logs yt-dlp's version.
    pub fn probe_yt_dlp(&self) {
        match self.yt_dlp_version() {
            Some(v) => log::info!("yt-dlp {v} ({})", self.yt_dlp.display()),
            None => log::warn!(
                "yt-dlp not usable at '{}': downloads are refused until it is",
                self.yt_dlp.display()
            ),
        }
    }

    pub fn yt_dlp(&self) -> &Path {
        &self.yt_dlp
    }

    /// Probes yt-dlp's version again (after an update).
    pub fn refresh_yt_dlp_version(&self) -> Option<String> {
        let mut v = self
            .yt_dlp_version
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *v = None;
        drop(v);
        self.yt_dlp_version()
    }

    /// yt-dlp's version; probed again while unknown, so installing it needs no restart.
    pub fn yt_dlp_version(&self) -> Option<String> {
        match self.known_or_probe() {
            Probe::Ran(v) => Some(v),
            Probe::Slow | Probe::Unusable => None,
        }
    }

    /// Whether downloads can be started: yt-dlp ran, or at least started and is slow to say
    /// its version (which is no reason to refuse work).
    pub fn yt_dlp_usable(&self) -> bool {
        !matches!(self.known_or_probe(), Probe::Unusable)
    }

    /// The version as known, else a probe (one at a time: callers wait for the one running).
    fn known_or_probe(&self) -> Probe {
        let mut v = self
            .yt_dlp_version
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(known) = &*v {
            return Probe::Ran(known.clone());
        }
        let probed = probe(&self.yt_dlp, "--version");
        if let Probe::Ran(version) = &probed {
            *v = Some(version.clone());
        }
        probed
    }
}

/// Days since the release a yt-dlp version names (`2026.10.26`, nightlies `2026.10.26.123456`).
pub fn version_age_days(version: &str, now_secs: u64) -> Option<u64> {
    let mut parts = version.trim().split('.');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts
        .next()?
        .parse()
        .ok()
        .filter(|m| (1..=12).contains(m))?;
    let d: u32 = parts
        .next()?
        .parse()
        .ok()
        .filter(|d| (1..=31).contains(d))?;
    let released = u64::try_from(crate::clock::days_from_civil(y, m, d)).ok()? * 86_400;
    Some(now_secs.saturating_sub(released) / 86_400)
}

/// `program` as a full path: a bare name is looked up on PATH the way the shell would.
fn on_path(program: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    if program.components().count() > 1 {
        return program.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| program.to_path_buf())
}

/// What running `program arg` showed.
enum Probe {
    /// It exited 0; the first line of its output.
    Ran(String),
    /// It started but had not finished within the limit (a loaded machine, a slow card):
    /// there, but not known yet.
    Slow,
    /// It could not start, or failed.
    Unusable,
}

/// Runs `program arg` in its own process group (ended if the server stops first).
fn probe(program: &Path, arg: &str) -> Probe {
    let Ok(mut child) = Child::spawn(program, &[arg], "probe") else {
        return Probe::Unusable;
    };
    let stdout = child.take_stdout();
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() < PROBE_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) => return Probe::Slow,
            Err(_) => return Probe::Unusable,
        }
    };
    let mut out = String::new();
    if let Some(o) = stdout {
        let _ = o.take(4096).read_to_string(&mut out);
    }
    match out.lines().next().map(str::trim) {
        Some(line) if status.success() && !line.is_empty() => Probe::Ran(line.to_string()),
        _ => Probe::Unusable,
    }
}

/// Free bytes for unprivileged users on the filesystem holding `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid NUL-terminated string and `st` a writable statvfs.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ages() {
        let dec_3_2026 = 1_796_306_400;
        assert_eq!(version_age_days("2026.10.26", dec_3_2026), Some(38));
        assert_eq!(version_age_days("2026.10.26.233008", dec_3_2026), Some(38));
        assert_eq!(version_age_days("2026.12.03", dec_3_2026), Some(0));
        assert_eq!(version_age_days("2099.01.01", dec_3_2026), Some(0));
        assert_eq!(version_age_days("2025.01.02\n", dec_3_2026), Some(700));
        assert_eq!(version_age_days("nightly", dec_3_2026), None);
        assert_eq!(version_age_days("2026.13.01", dec_3_2026), None);
    }
}
