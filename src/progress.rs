//! One task's progress as the API shows it, from yt-dlp's per-stream progress events.
//! A playlist, and a video+audio pair within each entry, add up to a single 0→100 run that
//! never goes backwards, however the per-stream estimates jump around.

use crate::ytdlp::Progress;

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub progress: f64,
    pub downloaded_bytes: u64,
    pub filesize: u64,
    pub speed: String,
    pub eta: String,
}

#[derive(Debug, Default)]
pub struct Tracker {
    /// Expected size of each stream of the current entry (`None` when unknown).
    streams: Vec<Option<u64>>,
    stream: usize,
    current_file: Option<String>,
    /// Bytes of the finished streams of the current entry, and of earlier entries.
    entry_done: u64,
    earlier_entries: u64,
    entry: (u32, u32),
    best: f64,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker {
            streams: vec![None],
            entry: (1, 1),
            ..Tracker::default()
        }
    }

    /// A new entry (or the only one) begins, made of `streams`; `entry` is (index, total).
    pub fn begin_entry(&mut self, entry: (u32, u32)) {
        if entry != self.entry && self.current_file.is_some() {
            self.earlier_entries = self.earlier_entries.saturating_add(self.entry_done);
        }
        self.entry = (entry.0.max(1), entry.1.max(entry.0).max(1));
        self.streams = vec![None];
        self.stream = 0;
        self.current_file = None;
        self.entry_done = 0;
    }

    pub fn expect_streams(&mut self, sizes: Vec<Option<u64>>) {
        if !sizes.is_empty() && self.current_file.is_none() {
            self.streams = sizes;
        }
    }

    pub fn update(&mut self, p: &Progress) -> Figures {
        if p.filename.is_some() && p.filename != self.current_file {
            if self.current_file.is_some() {
                self.stream = (self.stream + 1).min(self.streams.len().saturating_sub(1));
            }
            self.current_file = p.filename.clone();
        }
        let downloaded = p.downloaded_bytes.unwrap_or(0);
        let total = p.total_bytes.or(p.total_bytes_estimate).filter(|t| *t > 0);
        let fraction = match (p.finished, total) {
            (true, _) => Some(1.0),
            (false, Some(t)) => Some((downloaded as f64 / t as f64).min(1.0)),
            (false, None) => None,
        };
        if let Some(f) = fraction {
            let candidate = self.overall(f) * 100.0;
            if candidate > self.best {
                self.best = candidate.min(100.0);
            }
        }
        // Sizes come from sites and can be absurd: add without overflowing.
        let later_streams = self
            .streams
            .iter()
            .skip(self.stream + 1)
            .flatten()
            .fold(0u64, |a, b| a.saturating_add(*b));
        let so_far = self.earlier_entries.saturating_add(self.entry_done);
        let figures = Figures {
            progress: round2(self.best),
            downloaded_bytes: so_far.saturating_add(downloaded),
            filesize: so_far
                .saturating_add(total.unwrap_or(downloaded).max(downloaded))
                .saturating_add(later_streams),
            speed: p
                .speed
                .filter(|_| !p.finished)
                .map(format_speed)
                .unwrap_or_default(),
            eta: p
                .eta
                .filter(|_| !p.finished)
                .map(format_eta)
                .unwrap_or_default(),
        };
        if p.finished {
            self.entry_done = self
                .entry_done
                .saturating_add(downloaded.max(total.unwrap_or(0)));
        }
        figures
    }

    /// Share of the whole task done when the current stream is `fraction` done. Streams are
    /// weighted by size when every size is known, else equally.
    fn overall(&self, fraction: f64) -> f64 {
        let n = self.streams.len().max(1);
        let sizes: Option<Vec<f64>> = self.streams.iter().map(|s| s.map(|b| b as f64)).collect();
        let within_entry = match sizes.filter(|s| s.iter().sum::<f64>() > 0.0) {
            Some(s) => {
                let all: f64 = s.iter().sum();
                let before: f64 = s.iter().take(self.stream).sum();
                (before + fraction * s[self.stream.min(s.len() - 1)]) / all
            }
            None => (self.stream as f64 + fraction) / n as f64,
        };
        let (index, total) = self.entry;
        ((index - 1) as f64 + within_entry.min(1.0)) / total as f64
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `5.2 MB/s`: steps of 1024, one decimal.
pub fn format_speed(bytes_per_second: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = bytes_per_second;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}/s", UNITS[unit])
}

pub fn format_eta(seconds: f64) -> String {
    format!("{}s", seconds.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(
        file: &str,
        done: u64,
        total: Option<u64>,
        estimate: Option<u64>,
        finished: bool,
    ) -> Progress {
        Progress {
            finished,
            downloaded_bytes: Some(done),
            total_bytes: total,
            total_bytes_estimate: estimate,
            speed: Some(2048.0),
            eta: Some(3.4),
            filename: Some(file.into()),
        }
    }

    #[test]
    fn formats_speed_and_eta() {
        assert_eq!(format_speed(5.2 * 1024.0 * 1024.0), "5.2 MB/s");
        assert_eq!(format_speed(512.0), "512.0 B/s");
        assert_eq!(format_speed(1536.0), "1.5 KB/s");
        assert_eq!(format_speed(3.0 * 1024f64.powi(4)), "3072.0 GB/s");
        assert_eq!(format_eta(45.4), "45s");
    }

    #[test]
    fn a_single_file_runs_zero_to_hundred() {
        let mut t = Tracker::new();
        let f = t.update(&p("a.mp4", 1024, Some(4096), None, false));
        assert_eq!(
            (f.progress, f.downloaded_bytes, f.filesize),
            (25.0, 1024, 4096)
        );
        assert_eq!((f.speed.as_str(), f.eta.as_str()), ("2.0 KB/s", "3s"));
        let f = t.update(&p("a.mp4", 4096, Some(4096), None, true));
        assert_eq!(
            (f.progress, f.downloaded_bytes, f.speed.as_str()),
            (100.0, 4096, "")
        );
    }

    #[test]
    fn shrinking_estimates_never_move_backwards() {
        // Fragment downloads: the estimate grows, so the raw percentage drops (33 → 17 → 16).
        let mut t = Tracker::new();
        let mut last = 0.0;
        for (done, est) in [
            (835, 2505),
            (835, 4912),
            (1859, 11619),
            (3907, 11759),
            (10735, 10735),
        ] {
            let f = t.update(&p("m.f0.mp4", done, None, Some(est), false));
            assert!(f.progress >= last, "{} < {last}", f.progress);
            assert!(f.progress <= 100.0);
            last = f.progress;
        }
    }

    #[test]
    fn video_and_audio_are_one_run() {
        let mut t = Tracker::new();
        t.expect_streams(vec![None, None]);
        let a = t
            .update(&p("m.f0.mp4", 500, Some(1000), None, false))
            .progress;
        let b = t
            .update(&p("m.f0.mp4", 1000, Some(1000), None, true))
            .progress;
        let c = t.update(&p("m.f1.m4a", 0, Some(400), None, false));
        let d = t
            .update(&p("m.f1.m4a", 200, Some(400), None, false))
            .progress;
        let e = t.update(&p("m.f1.m4a", 400, Some(400), None, true));
        assert_eq!(
            (a, b, c.progress, d, e.progress),
            (25.0, 50.0, 50.0, 75.0, 100.0)
        );
        assert_eq!(c.downloaded_bytes, 1000);
        assert_eq!((e.downloaded_bytes, e.filesize), (1400, 1400));
    }

    #[test]
    fn known_stream_sizes_weigh_by_bytes() {
        let mut t = Tracker::new();
        t.expect_streams(vec![Some(900), Some(100)]);
        assert_eq!(
            t.update(&p("v.f1.mp4", 450, Some(900), None, false))
                .progress,
            45.0
        );
        let f = t.update(&p("v.f1.mp4", 450, Some(900), None, false));
        assert_eq!(
            f.filesize, 1000,
            "the audio's expected size is part of the total"
        );
    }

    #[test]
    fn unknown_totals_keep_percent_but_count_bytes() {
        let mut t = Tracker::new();
        let f = t.update(&p("c.mp4", 1024, None, None, false));
        assert_eq!((f.progress, f.downloaded_bytes), (0.0, 1024));
        let f = t.update(&p("c.mp4", 9000, None, None, false));
        assert_eq!((f.progress, f.downloaded_bytes), (0.0, 9000));
        assert!(!f.progress.is_nan());
        assert_eq!(
            t.update(&p("c.mp4", 9000, None, None, true)).progress,
            100.0
        );
    }

    #[test]
    fn absurd_sizes_saturate() {
        let mut t = Tracker::new();
        t.expect_streams(vec![Some(u64::MAX), Some(u64::MAX)]);
        let f = t.update(&p("a.f0.mp4", u64::MAX, Some(u64::MAX), None, true));
        assert_eq!(f.filesize, u64::MAX);
        let f = t.update(&p("a.f1.m4a", 10, Some(u64::MAX), None, false));
        assert_eq!(f.downloaded_bytes, u64::MAX);
        assert!((0.0..=100.0).contains(&f.progress));
    }

    #[test]
    fn playlist_entries_add_up() {
        let mut t = Tracker::new();
        t.begin_entry((1, 3));
        t.update(&p("x_1.mp4", 100, Some(100), None, true));
        t.begin_entry((2, 3));
        let f = t.update(&p("x_2.mp4", 50, Some(100), None, false));
        assert_eq!(f.progress, 50.0);
        assert_eq!(f.downloaded_bytes, 150);
        t.update(&p("x_2.mp4", 100, Some(100), None, true));
        t.begin_entry((3, 3));
        let f = t.update(&p("x_3.mp4", 100, Some(100), None, true));
        assert_eq!((f.progress, f.downloaded_bytes), (100.0, 300));
    }
}
