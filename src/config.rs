//! Command-line flags and `OFFLINETUBE_*` environment variables → one `Config`. The flag wins.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub downloads_dir: PathBuf,
    pub thumbnails_dir: PathBuf,
    pub state_file: PathBuf,
    pub yt_dlp: PathBuf,
    pub ffmpeg: PathBuf,
    pub max_concurrent: usize,
    pub http_threads: usize,
    /// Idle or slow client connections are closed after this many seconds without a byte.
    pub read_timeout_secs: u64,
    /// A response write that makes no progress for this many seconds ends its connection.
    pub write_timeout_secs: u64,
    /// Client connections open at once; past it a new one gets 503.
    pub max_connections: usize,
    pub token: Option<String>,
    pub cors_origin: String,
    pub thumbnail_fallback_base: String,
    pub min_free_mb: u64,
    pub discovery_timeout_secs: u64,
    pub trending_query: String,
    /// Told of every finished, failed or cancelled task (`--webhook`, repeatable).
    pub webhooks: Vec<String>,
    pub webhook_secret: Option<String>,
    /// The command that updates yt-dlp, split on whitespace (run without a shell).
    pub ytdlp_update_cmd: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Box<Config>),
    Help,
    Version,
}

/// (flag, environment variable, value shown in --help, what it sets)
const OPTIONS: &[(&str, &str, &str, &str)] = &[
    (
        "listen",
        "OFFLINETUBE_LISTEN",
        "127.0.0.1:8001",
        "address and port to serve on",
    ),
    (
        "data-dir",
        "OFFLINETUBE_DATA_DIR",
        ".",
        "folder holding downloads/, thumbnails/ and tasks.json",
    ),
    (
        "downloads-dir",
        "OFFLINETUBE_DOWNLOAD_DIR",
        "DATA_DIR/downloads",
        "where media files are kept",
    ),
    (
        "thumbnails-dir",
        "OFFLINETUBE_THUMBNAILS_DIR",
        "DATA_DIR/thumbnails",
        "where thumbnails are kept",
    ),
    (
        "state-file",
        "OFFLINETUBE_STATE_FILE",
        "DATA_DIR/tasks.json",
        "the task journal",
    ),
    (
        "yt-dlp",
        "OFFLINETUBE_YTDLP",
        "yt-dlp",
        "yt-dlp executable (looked up on PATH)",
    ),
    (
        "ffmpeg",
        "OFFLINETUBE_FFMPEG",
        "ffmpeg",
        "ffmpeg executable (optional)",
    ),
    (
        "max-concurrent",
        "OFFLINETUBE_MAX_CONCURRENT",
        "2",
        "downloads running at once",
    ),
    (
        "http-threads",
        "OFFLINETUBE_HTTP_THREADS",
        "16",
        "threads answering HTTP requests",
    ),
    (
        "read-timeout-secs",
        "OFFLINETUBE_READ_TIMEOUT_SECS",
        "30",
        "close a client connection idle (or sending a request head) this long",
    ),
    (
        "write-timeout-secs",
        "OFFLINETUBE_WRITE_TIMEOUT_SECS",
        "60",
        "close a client connection that takes no response bytes for this long",
    ),
    (
        "max-connections",
        "OFFLINETUBE_MAX_CONNECTIONS",
        "256",
        "client connections open at once; more get 503",
    ),
    (
        "token",
        "OFFLINETUBE_TOKEN",
        "none",
        "require this token on /api/ requests",
    ),
    (
        "cors-origin",
        "OFFLINETUBE_CORS_ORIGIN",
        "*",
        "Access-Control-Allow-Origin value",
    ),
    (
        "thumbnail-fallback-base",
        "OFFLINETUBE_THUMBNAIL_FALLBACK_BASE",
        "https://i.ytimg.com/vi",
        "where YouTube thumbnails are fetched from",
    ),
    (
        "min-free-mb",
        "OFFLINETUBE_MIN_FREE_MB",
        "500",
        "refuse new downloads below this much free space",
    ),
    (
        "discovery-timeout-secs",
        "OFFLINETUBE_DISCOVERY_TIMEOUT_SECS",
        "30",
        "limit for one info or search call to yt-dlp",
    ),
    (
        "trending-query",
        "OFFLINETUBE_TRENDING_QUERY",
        "trending",
        "the search behind /api/trending",
    ),
    (
        "webhook",
        "OFFLINETUBE_WEBHOOKS",
        "none",
        "URL to POST to when a task ends (repeatable; the variable takes a comma-separated list)",
    ),
    (
        "webhook-secret",
        "OFFLINETUBE_WEBHOOK_SECRET",
        "none",
        "sign webhook bodies: X-Offlinetube-Signature: sha256=<HMAC>",
    ),
    (
        "ytdlp-update-cmd",
        "OFFLINETUBE_YTDLP_UPDATE_CMD",
        "YT_DLP -U",
        "command that updates yt-dlp (e.g. 'pip install -U yt-dlp' for pip installs)",
    ),
];

pub fn help_text() -> String {
    let mut s = String::from(
        "offlinetube: a self-hosted video download server (yt-dlp in the background)\n\n\
         Usage: offlinetube [OPTIONS]\n\nOptions (each also read from its environment variable; the flag wins):\n",
    );
    for (flag, env, default, what) in OPTIONS {
        s.push_str(&format!(
            "  --{flag} VALUE\n      {what} [env {env}] [default {default}]\n"
        ));
    }
    s.push_str("  -h, --help      print this help\n  -V, --version   print the version\n");
    s.push_str("\nLogging: RUST_LOG (default info).\n");
    s
}

/// Parses `args` (without the program name); `env` looks up environment variables.
pub fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Command, String> {
    let mut flags: Vec<(&str, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            _ => {}
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument '{arg}' (see --help)"));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(&(flag, ..)) = OPTIONS.iter().find(|o| o.0 == name) else {
            return Err(format!("unknown option '--{name}' (see --help)"));
        };
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("--{flag} needs a value"))?,
        };
        flags.push((flag, value));
    }
    let get = |flag: &str| -> Option<String> {
        let from_flag = flags
            .iter()
            .rev()
            .find(|(f, _)| *f == flag)
            .map(|(_, v)| v.clone());
        let env_name = OPTIONS.iter().find(|o| o.0 == flag).map(|o| o.1)?;
        from_flag.or_else(|| env(env_name).filter(|v| !v.is_empty()))
    };
    let number = |flag: &str, default: u64, min: u64| -> Result<u64, String> {
        match get(flag) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= min)
                .ok_or_else(|| format!("--{flag}: expected a whole number ≥ {min}, got '{v}'")),
        }
    };

    let listen_text = get("listen").unwrap_or_else(|| "127.0.0.1:8001".into());
    let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
        format!("--listen: expected ADDR:PORT such as 127.0.0.1:8001, got '{listen_text}'")
    })?;
    let data_dir = PathBuf::from(get("data-dir").unwrap_or_else(|| ".".into()));
    let under_data = |flag: &str, name: &str| {
        get(flag)
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join(name))
    };
    let yt_dlp = PathBuf::from(get("yt-dlp").unwrap_or_else(|| "yt-dlp".into()));
    let cfg = Config {
        listen,
        downloads_dir: under_data("downloads-dir", "downloads"),
        thumbnails_dir: under_data("thumbnails-dir", "thumbnails"),
        state_file: under_data("state-file", "tasks.json"),
        yt_dlp: yt_dlp.clone(),
        ffmpeg: PathBuf::from(get("ffmpeg").unwrap_or_else(|| "ffmpeg".into())),
        max_concurrent: number("max-concurrent", 2, 1)? as usize,
        http_threads: number("http-threads", 16, 2)? as usize,
        read_timeout_secs: number("read-timeout-secs", 30, 1)?,
        write_timeout_secs: number("write-timeout-secs", 60, 1)?,
        max_connections: number("max-connections", 256, 1)? as usize,
        token: get("token"),
        cors_origin: get("cors-origin").unwrap_or_else(|| "*".into()),
        thumbnail_fallback_base: get("thumbnail-fallback-base")
            .unwrap_or_else(|| "https://i.ytimg.com/vi".into())
            .trim_end_matches('/')
            .to_string(),
        min_free_mb: number("min-free-mb", 500, 0)?,
        discovery_timeout_secs: number("discovery-timeout-secs", 30, 1)?,
        trending_query: get("trending-query").unwrap_or_else(|| "trending".into()),
        webhooks: {
            let given: Vec<String> = flags
                .iter()
                .filter(|(f, _)| *f == "webhook")
                .map(|(_, v)| v.clone())
                .collect();
            let listed = || env("OFFLINETUBE_WEBHOOKS").unwrap_or_default();
            let all = if given.is_empty() {
                listed().split(',').map(str::to_string).collect()
            } else {
                given
            };
            let urls: Vec<String> = all
                .into_iter()
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect();
            if let Some(bad) = urls.iter().find(|u| crate::api::check_url(u).is_err()) {
                return Err(format!("--webhook: expected an http(s) URL, got '{bad}'"));
            }
            urls
        },
        webhook_secret: get("webhook-secret"),
        ytdlp_update_cmd: match get("ytdlp-update-cmd") {
            Some(cmd) => cmd.split_whitespace().map(str::to_string).collect(),
            None => vec![yt_dlp.to_string_lossy().into_owned(), "-U".into()],
        },
    };
    Ok(Command::Run(Box::new(cfg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match parse(&args, |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })? {
            Command::Run(c) => Ok(*c),
            other => panic!("expected a config, got {other:?}"),
        }
    }

    #[test]
    fn defaults_live_in_the_working_directory() {
        let c = run(&[], &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8001");
        assert_eq!(c.downloads_dir, PathBuf::from("./downloads"));
        assert_eq!(c.thumbnails_dir, PathBuf::from("./thumbnails"));
        assert_eq!(c.state_file, PathBuf::from("./tasks.json"));
        assert_eq!(c.max_concurrent, 2);
        assert_eq!(c.min_free_mb, 500);
        assert_eq!(c.token, None);
        assert_eq!(c.read_timeout_secs, 30);
        assert_eq!(c.write_timeout_secs, 60);
        assert_eq!(c.max_connections, 256);
    }

    #[test]
    fn connection_limits_from_flags_and_environment() {
        let c = run(
            &["--read-timeout-secs", "5", "--max-connections=8"],
            &[
                ("OFFLINETUBE_READ_TIMEOUT_SECS", "9"),
                ("OFFLINETUBE_WRITE_TIMEOUT_SECS", "7"),
                ("OFFLINETUBE_MAX_CONNECTIONS", "99"),
            ],
        )
        .unwrap();
        assert_eq!(c.read_timeout_secs, 5);
        assert_eq!(c.write_timeout_secs, 7);
        assert_eq!(c.max_connections, 8);
        for flag in [
            "--read-timeout-secs",
            "--write-timeout-secs",
            "--max-connections",
        ] {
            let err = run(&[flag, "0"], &[]).unwrap_err();
            assert!(err.contains(&flag[2..]), "{err}");
            assert!(run(&[flag, "soon"], &[]).is_err());
        }
        assert!(help_text().contains("--max-connections VALUE"));
        assert!(help_text().contains("OFFLINETUBE_READ_TIMEOUT_SECS"));
    }

    #[test]
    fn flag_beats_environment_and_data_dir_moves_the_rest() {
        let c = run(
            &["--data-dir", "/srv/ot", "--max-concurrent=3"],
            &[
                ("OFFLINETUBE_MAX_CONCURRENT", "7"),
                ("OFFLINETUBE_DOWNLOAD_DIR", "/media/v"),
            ],
        )
        .unwrap();
        assert_eq!(c.max_concurrent, 3);
        assert_eq!(c.downloads_dir, PathBuf::from("/media/v"));
        assert_eq!(c.thumbnails_dir, PathBuf::from("/srv/ot/thumbnails"));
        assert_eq!(c.state_file, PathBuf::from("/srv/ot/tasks.json"));
    }

    #[test]
    fn webhooks_repeat_and_the_update_command_splits() {
        let c = run(
            &["--webhook", "http://a.test/h", "--webhook=https://b.test/h"],
            &[("OFFLINETUBE_WEBHOOKS", "http://c.test")],
        )
        .unwrap();
        assert_eq!(c.webhooks, ["http://a.test/h", "https://b.test/h"]);
        let c = run(
            &[],
            &[("OFFLINETUBE_WEBHOOKS", "http://c.test/1, http://d.test/2,")],
        )
        .unwrap();
        assert_eq!(c.webhooks, ["http://c.test/1", "http://d.test/2"]);
        assert!(run(&["--webhook", "ftp://x"], &[])
            .unwrap_err()
            .contains("--webhook"));
        assert_eq!(
            run(&["--yt-dlp", "/opt/yt-dlp"], &[])
                .unwrap()
                .ytdlp_update_cmd,
            ["/opt/yt-dlp", "-U"]
        );
        let c = run(&["--ytdlp-update-cmd", "pip install -U yt-dlp"], &[]).unwrap();
        assert_eq!(c.ytdlp_update_cmd, ["pip", "install", "-U", "yt-dlp"]);
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(run(&["--listen", "nowhere"], &[])
            .unwrap_err()
            .contains("--listen"));
        assert!(run(&["--max-concurrent", "0"], &[])
            .unwrap_err()
            .contains("max-concurrent"));
        assert!(run(&["--bogus", "1"], &[])
            .unwrap_err()
            .contains("unknown option"));
        assert!(run(&["--token"], &[])
            .unwrap_err()
            .contains("needs a value"));
        let args = ["--help".to_string()];
        assert_eq!(parse(&args, |_| None), Ok(Command::Help));
    }
}
