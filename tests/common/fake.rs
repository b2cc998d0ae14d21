//! Scripted stand-ins for yt-dlp, for faults the real one rarely shows.

use std::path::{Path, PathBuf};

use super::{fake_ytdlp, Server, TempDir};

/// Common head of every fake: answers the start-up `--version` probe, logs
/// its argv (one argument per line) to `$D/argv.log`, finds the media `-o`
/// template and the `-P` folder as real yt-dlp would, and derives
/// `$f = <folder>/Title__<task id>.mp4`. `wait_for NAME` waits (at most 20 s)
/// for the test to create `$D/NAME`; `finish` writes `$f` and prints the
/// line the server's `--print after_move:OTFILE %(filepath)j` produces.
/// `$u` is the URL (the last argument); `$D/started-<id>` holds the pid of
/// the run for a task.
pub const PREAMBLE: &str = r#"case "$1" in --version) echo 2026.10.26; exit 0;; esac
D='@DIR@'
for a in "$@"; do printf '%s\n' "$a" >> "$D/argv.log"; done
o=; p=; prev=; u=
for a in "$@"; do
  case "$prev" in -o) [ -n "$o" ] || o=$a;; -P) p=$a;; esac
  prev=$a; u=$a
done
id=$(printf '%s\n' "$o" | sed -n 's/.*__\([0-9a-f-]*\).*/\1/p')
f="$p/Title__$id.mp4"
echo $$ > "$D/started-$id"
wait_for() { n=0; while [ ! -e "$D/$1" ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n+1)); done; }
finish() { printf 'fake media bytes\n' > "$f"; printf 'OTFILE "%s"\n' "$f"; }
"#;

/// A fake yt-dlp in its own temp dir, which also holds its argv log and the
/// ack files the test creates.
pub struct Fake {
    dir: TempDir,
    path: PathBuf,
}

impl Fake {
    pub fn new(body: &str) -> Fake {
        let dir = TempDir::new("offlinetube-fake");
        let dir_text = dir.path().to_str().expect("utf-8 temp path");
        assert!(!dir_text.contains('\''), "{dir_text}");
        let script = format!("{}{body}", PREAMBLE.replace("@DIR@", dir_text));
        let path = fake_ytdlp(dir.path(), &script);
        Fake { dir, path }
    }

    /// The server on a fresh data dir with this fake as yt-dlp. No ffmpeg (single-file
    /// formats, no conversions) and no free-space floor, so nothing depends on the host.
    pub fn server(&self, extra: &[&str]) -> Server {
        let mut args = vec![
            "--yt-dlp",
            self.path(),
            "--ffmpeg",
            "/nonexistent/ffmpeg",
            "--min-free-mb",
            "0",
        ];
        args.extend_from_slice(extra);
        Server::start(&args)
    }

    pub fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Lets a fake blocked in `wait_for NAME` go on.
    pub fn ack(&self, name: &str) {
        std::fs::write(self.dir().join(name), b"").unwrap();
    }

    /// Every argument of every download run, one per line (the `--version`
    /// probe is not logged).
    pub fn argv(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir().join("argv.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}
