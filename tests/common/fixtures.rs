//! FX-CLIP / FX-THUMB / FX-DASH (CASES.md §0): small real media made with
//! ffmpeg.
//!
//! Built once into `target/tmp/fixtures-vN` and reused by every test binary
//! and every later run (ffmpeg costs about a second). A build goes to a
//! private dir first and is renamed into place, so concurrent test binaries
//! never see a half-written set. Bump `RECIPE_VERSION` when a recipe changes.
//! Treat the folder as read-only: `FixtureServer::with_fixtures()` serves a
//! private copy that tests may write into.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const RECIPE_VERSION: u32 = 4;

/// Every file the fixture folder holds.
pub const FILES: &[&str] = &[
    "clip.mp4",
    "dQw4w9WgXcQ.mp4",
    "clip2.mp4",
    "thumb.jpg",
    "thumb.jpeg",
    "thumb.png",
    "thumb.webp",
    "wrong.jpg",
    "thumb.php",
    "big.mp4",
    "dash/manifest.mpd",
];

/// FX-DASH segment files next to `dash/manifest.mpd` (ffmpeg's default
/// names; `$RepresentationID$` 0 is video, 1 is audio). clip.mp4 has one
/// keyframe, so the video is a single 2 s segment; the audio has two.
pub const DASH_SEGMENTS: &[&str] = &[
    "dash/init-stream0.m4s",
    "dash/chunk-stream0-00001.m4s",
    "dash/init-stream1.m4s",
    "dash/chunk-stream1-00001.m4s",
    "dash/chunk-stream1-00002.m4s",
];

/// The fixture folder, built on first use.
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(build_or_reuse)
}

/// Path of one fixture file, e.g. `fixture("clip.mp4")`.
pub fn fixture(name: &str) -> PathBuf {
    let path = fixtures().join(name);
    assert!(path.is_file(), "no fixture named {name}");
    path
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("read fixture")
}

fn build_or_reuse() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let cached = root.join(format!("fixtures-v{RECIPE_VERSION}"));
    if complete(&cached) {
        return cached;
    }
    let fresh = super::unique_dir(&root, &format!("fixtures-v{RECIPE_VERSION}.build"));
    build(&fresh);
    // Losing the race to another binary is fine: its set is identical.
    if std::fs::rename(&fresh, &cached).is_ok() || complete(&cached) {
        let _ = std::fs::remove_dir_all(&fresh);
        return cached;
    }
    // A broken cached dir we could not replace: use our own build.
    fresh
}

fn complete(dir: &Path) -> bool {
    FILES.iter().all(|f| {
        std::fs::metadata(dir.join(f))
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    })
}

fn build(dir: &Path) {
    // 2 s, 160x120, H.264 yuv420p + AAC. Single-threaded x264 and bitexact
    // muxing keep the bytes stable from run to run.
    let clip = |out: &str, video: &str, freq: u32| {
        ffmpeg(
            dir,
            &[
                "-f",
                "lavfi",
                "-i",
                &format!("{video}=size=160x120:rate=25:duration=2"),
                "-f",
                "lavfi",
                "-i",
                &format!("sine=frequency={freq}:sample_rate=44100:duration=2"),
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-c:v",
                "libx264",
                "-preset",
                "medium",
                "-pix_fmt",
                "yuv420p",
                "-threads",
                "1",
                "-c:a",
                "aac",
                "-b:a",
                "48k",
                "-map_metadata",
                "-1",
                "-fflags",
                "+bitexact",
                "-flags",
                "+bitexact",
                "-movflags",
                "+faststart",
                out,
            ],
        )
    };
    clip("clip.mp4", "testsrc", 440);
    clip("clip2.mp4", "testsrc2", 660);
    // About 5 MiB (10 s at 4 Mbit/s), for streaming tests well past tiny_http's
    // 32 KiB chunking threshold and its 8 KiB copy buffer.
    ffmpeg(
        dir,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x480:rate=25:duration=10",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "4M",
            "-minrate",
            "4M",
            "-maxrate",
            "4M",
            "-bufsize",
            "1M",
            // Constant bitrate with filler: testsrc compresses to a fifth of 5 MiB otherwise.
            "-x264-params",
            "nal-hrd=cbr:filler=1",
            "-threads",
            "1",
            "-pix_fmt",
            "yuv420p",
            "-fflags",
            "+bitexact",
            "-flags",
            "+bitexact",
            "-movflags",
            "+faststart",
            "big.mp4",
        ],
    );

    // One testsrc frame, big enough (tens of KB) to look like a thumbnail.
    let frame = |out: &str, codec_args: &[&str]| {
        let mut args = vec![
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=480x360:rate=1",
            "-frames:v",
            "1",
            "-update",
            "1",
        ];
        args.extend_from_slice(codec_args);
        args.extend_from_slice(&["-fflags", "+bitexact", "-flags", "+bitexact", out]);
        ffmpeg(dir, &args)
    };
    frame("thumb.jpg", &["-c:v", "mjpeg", "-q:v", "2", "-f", "image2"]);
    frame("thumb.png", &["-c:v", "png", "-f", "image2"]);
    frame(
        "thumb.webp",
        &["-c:v", "libwebp", "-quality", "80", "-f", "webp"],
    );

    let copy = |from: &str, to: &str| {
        std::fs::copy(dir.join(from), dir.join(to))
            .unwrap_or_else(|e| panic!("copy {from} -> {to}: {e}"));
    };
    // An 11-char YouTube-shaped id: yt-dlp's generic extractor takes the id
    // from the media URL's basename, which drives the ytimg fallback.
    copy("clip.mp4", "dQw4w9WgXcQ.mp4");
    copy("thumb.jpg", "thumb.jpeg");
    copy("thumb.png", "wrong.jpg"); // PNG bytes under a .jpg name
    copy("thumb.png", "thumb.php"); // PNG bytes under an "unusual" extension

    // FX-DASH: clip.mp4 (no re-encode) as a static DASH manifest with
    // separate video and audio adaptation sets, so yt-dlp picks one stream
    // of each and merges them. Segments land next to the manifest.
    std::fs::create_dir(dir.join("dash")).expect("create dash fixture dir");
    ffmpeg(
        dir,
        &[
            "-i",
            "clip.mp4",
            "-map",
            "0:v",
            "-map",
            "0:a",
            "-c",
            "copy",
            "-f",
            "dash",
            "-seg_duration",
            "1",
            "-adaptation_sets",
            "id=0,streams=v id=1,streams=a",
            "dash/manifest.mpd",
        ],
    );
    assert!(
        complete(dir) && DASH_SEGMENTS.iter().all(|f| dir.join(f).is_file()),
        "fixture build incomplete in {}",
        dir.display()
    );
}

fn ffmpeg(dir: &Path, args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run ffmpeg ({e}); the integration tests need ffmpeg on PATH")
        });
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
