//! The release side: the static aarch64 binary (what a Raspberry Pi runs) starts under
//! qemu-user, answers health and a thumbnail, and stops on SIGTERM; the systemd unit in
//! `contrib/` passes `systemd-analyze verify`.
//!
//! Installs nothing: `make test` runs `make deps-cross` first (the aarch64 musl Rust target,
//! Debian's gcc-aarch64-linux-gnu as linker, qemu-user-static).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TARGET: &str = "aarch64-unknown-linux-musl";
const QEMU: &str = "qemu-aarch64-static";
const EM_AARCH64: u16 = 183;
const PT_INTERP: u32 = 3;
const PT_DYNAMIC: u32 = 2;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

fn require(program: &str) -> PathBuf {
    on_path(program)
        .unwrap_or_else(|| panic!("{program} not found: run `make deps-cross` (make test does)"))
}

/// `cargo build --release --target aarch64-unknown-linux-musl`, as `make release` does; a no-op
/// when it is up to date. Its own target folder would mean a second full build, and cargo
/// holds no lock on the release folders while tests run.
fn aarch64_binary() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .args(["build", "--release", "--target", TARGET])
        .stdout(Stdio::null())
        .output()
        .expect("running cargo build");
    assert!(
        out.status.success(),
        "cargo build --release --target {TARGET} failed (make deps-cross installs the target and \
         the linker):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target_dir.join(TARGET).join("release").join("offlinetube")
}

/// (ELF machine, has a PT_INTERP or PT_DYNAMIC header) of a 64-bit little-endian ELF file.
fn elf_facts(path: &Path) -> (u16, bool) {
    let b = std::fs::read(path).expect("reading the binary");
    assert!(
        b.len() > 64 && &b[..4] == b"\x7fELF" && b[4] == 2 && b[5] == 1,
        "not a 64-bit little-endian ELF file"
    );
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36) as usize, u16_at(0x38));
    let dynamic = (0..phnum as usize)
        .map(|i| u32_at(phoff + i * phentsize))
        .any(|t| t == PT_INTERP || t == PT_DYNAMIC);
    (u16_at(0x12), dynamic)
}

/// A GET over a fresh connection: (status, lower-case headers, body).
fn get(port: u16, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connecting to the server");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reading the answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("offlinetube-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stub(dir: &Path, name: &str, line: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\necho '{line}'\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn aarch64_static_binary_runs_under_qemu() {
    let qemu = require(QEMU);
    let bin = aarch64_binary();
    let (machine, dynamic) = elf_facts(&bin);
    assert_eq!(
        machine,
        EM_AARCH64,
        "{} is not an aarch64 binary",
        bin.display()
    );
    assert!(!dynamic, "{} is dynamically linked", bin.display());

    let dir = temp_dir("qemu-smoke");
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("thumbnails")).unwrap();
    let id = "3f0c7a52-9a7e-4d8b-8f0e-2f2b3f0d1e11";
    let jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9";
    std::fs::write(data.join("thumbnails").join(format!("{id}.jpg")), jpeg).unwrap();
    // yt-dlp and ffmpeg as stubs: this is about the binary, not the tools (spawning them from
    // the emulated process is still exercised).
    let yt_dlp = stub(&dir, "yt-dlp", "2099.01.01");
    let ffmpeg = stub(&dir, "ffmpeg", "ffmpeg version stub");

    let started = Instant::now();
    let child = Command::new(qemu)
        .arg(&bin)
        .arg("--data-dir")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0", "--yt-dlp"])
        .arg(&yt_dlp)
        .arg("--ffmpeg")
        .arg(&ffmpeg)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting qemu-aarch64-static");
    let mut server = Running(child);
    let stdout = server.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no 'listening' line within 60 s");
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    eprintln!(
        "aarch64 binary under qemu: listening after {:?}",
        started.elapsed()
    );

    let (status, headers, body) = get(port, "/api/health");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let health: serde_json::Value = serde_json::from_slice(&body).expect("health is JSON");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["yt_dlp"], "2099.01.01");
    assert!(header(&headers, "content-type").is_some_and(|t| t.starts_with("application/json")));

    let (status, headers, body) = get(port, &format!("/api/thumbnails/{id}"));
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("image/jpeg"));
    assert_eq!(body, jpeg);
    let (status, _, body) = get(port, "/api/thumbnails/6f1c1a52-9a7e-4d8b-8f0e-2f2b3f0d1e11");
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("thumbnail_not_found"));

    // SIGTERM (qemu-user hands the signal to the emulated process): a clean, prompt exit.
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(server.0.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit after SIGTERM: {status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn systemd_unit_verifies() {
    let Some(analyze) = on_path("systemd-analyze") else {
        eprintln!("systemd-analyze not installed: contrib/offlinetube.service not verified");
        return;
    };
    // `verify` wants ExecStart to exist: point it at this build's binary.
    let unit = std::fs::read_to_string(root().join("contrib/offlinetube.service")).unwrap();
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/offlinetube",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_offlinetube")),
    );
    for needed in [
        "User=offlinetube",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/offlinetube",
        "Restart=on-failure",
        "LimitNOFILE=",
    ] {
        assert!(unit.contains(needed), "the unit lacks {needed}");
    }
    let dir = temp_dir("unit");
    let path = dir.join("offlinetube.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .expect("running systemd-analyze");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
