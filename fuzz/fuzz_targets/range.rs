//! `Range` headers against a file size: the answer is a slice inside the file, a 416, or the
//! whole file; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offlinetube::fuzzing::{decide, Ranged};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let size = u64::from_le_bytes(data[..8].try_into().unwrap()) % (1 << 40);
    let header = String::from_utf8_lossy(&data[8..]);
    match decide(&header, size) {
        Ranged::Part { start, end } => assert!(start <= end && end < size, "{header:?} {size}"),
        Ranged::Whole | Ranged::Unsatisfiable => {}
    }
});
