//! Any line yt-dlp (or something pretending to be it) prints: parsed without a panic, and
//! every number that comes out is usable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offlinetube::fuzzing::{parse_line, Line};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    for text in [
        line.to_string(),
        format!("OTPROG {line}"),
        format!("OTINFO {line}"),
    ] {
        match parse_line(&text) {
            Line::Progress(p) => {
                assert!(p.speed.is_none_or(|s| s.is_finite() && s >= 0.0));
                assert!(p.eta.is_none_or(|e| e.is_finite() && e >= 0.0));
            }
            Line::Info(i) => assert!(i.duration.is_none_or(|d| d.is_finite() && d >= 0.0)),
            _ => {}
        }
    }
});
