//! A `/api/stream/{filename}` segment: decoded once, then either refused or resolved to a
//! file directly inside the downloads folder; never anything outside it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offlinetube::fuzzing::{is_servable_name, percent_decode, resolve_inside};
use std::path::PathBuf;
use std::sync::OnceLock;

/// A downloads folder with a file, a hidden file, a partial, a subfolder and a symlink out.
fn folder() -> &'static (PathBuf, PathBuf) {
    static DIR: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("offlinetube-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(dir.join("sub"));
        for name in ["a.mp4", ".hidden.mp4", "a.mp4.part", "sub/inner.mp4"] {
            let _ = std::fs::write(dir.join(name), b"x");
        }
        let _ = std::os::unix::fs::symlink("/etc/passwd", dir.join("out.mp4"));
        let canonical = dir.canonicalize().unwrap();
        (dir, canonical)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Some(name) = percent_decode(raw) else {
        return;
    };
    let (dir, canonical) = folder();
    if let Some(path) = resolve_inside(dir, &name) {
        assert!(is_servable_name(&name), "{name:?}");
        assert_eq!(
            path.parent(),
            Some(canonical.as_path()),
            "{name:?} -> {path:?}"
        );
        assert!(path.is_file());
    }
});
