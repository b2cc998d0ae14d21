//! yt-dlp process groups: signalling a whole group, and finding groups a previous run of the
//! server left behind.

use std::fs;

/// Sends `signal` to every process in group `pgid`; false when the group no longer exists.
pub fn signal_group(pgid: i32, signal: i32) -> bool {
    // SAFETY: kill(2) with a negative pid only sends a signal; no memory is involved.
    pgid > 1 && unsafe { libc::kill(-pgid, signal) } == 0
}

/// Process ids whose command line holds `arg` as one whole argument.
pub fn pids_with_arg(arg: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

/// Process group of `pid`, if it still exists.
pub fn group_of(pid: i32) -> Option<i32> {
    // SAFETY: getpgid(2) only reads the process table.
    let pgid = unsafe { libc::getpgid(pid) };
    (pgid > 0).then_some(pgid)
}
