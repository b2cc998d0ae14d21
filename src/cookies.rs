//! The cookies file handed to yt-dlp (`--cookies`) for sites that ask for a login or "are you
//! a bot": uploaded in Netscape `cookies.txt` format, kept with mode 0600, described without
//! ever showing a value.

use serde::Serialize;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Largest cookies file accepted.
pub const MAX_BYTES: usize = 1024 * 1024;

#[derive(Debug, PartialEq, Serialize)]
pub struct Summary {
    pub present: bool,
    pub cookies: usize,
    pub lines: usize,
    pub domains: Vec<String>,
}

/// Where the file lives: beside the task journal.
pub fn path_for(state_file: &Path) -> PathBuf {
    state_file.with_file_name("cookies.txt")
}

/// Checks a Netscape cookies file: comments and blank lines, and cookie lines of seven
/// tab-separated fields (domain, TRUE/FALSE, path, TRUE/FALSE, expiry, name, value).
/// The text without the byte-order mark that editors on Windows put in front.
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

pub fn parse(text: &str) -> Result<Summary, String> {
    let mut domains: Vec<String> = Vec::new();
    let mut cookies = 0;
    let mut lines = 0;
    for (n, line) in text.lines().enumerate() {
        lines += 1;
        let line = line.trim_end_matches('\r');
        // `#HttpOnly_` marks a cookie line; other `#` lines are comments.
        let cookie = line.strip_prefix("#HttpOnly_").unwrap_or(line);
        if line.trim().is_empty() || (cookie.starts_with('#') && cookie.len() == line.len()) {
            continue;
        }
        let fields: Vec<&str> = cookie.split('\t').collect();
        let bad = |why: &str| Err(format!("line {}: {why}", n + 1));
        let [domain, subdomains, path, secure, expiry, name, _value] = fields.as_slice() else {
            return bad("expected 7 tab-separated fields (Netscape cookies.txt format)");
        };
        let flag = |f: &str| f == "TRUE" || f == "FALSE";
        if domain.is_empty()
            || domain.contains(char::is_whitespace)
            || !flag(subdomains)
            || !flag(secure)
        {
            return bad("expected domain, TRUE/FALSE, path, TRUE/FALSE, expiry, name, value");
        }
        if !path.starts_with('/') || expiry.parse::<i64>().is_err() || name.is_empty() {
            return bad(
                "the path must start with /, the expiry be a number and the name not be empty",
            );
        }
        let domain = domain.trim_start_matches('.').to_ascii_lowercase();
        if !domains.contains(&domain) {
            domains.push(domain);
        }
        cookies += 1;
    }
    if cookies == 0 {
        return Err("no cookie lines found (Netscape cookies.txt format)".into());
    }
    domains.sort();
    Ok(Summary {
        present: true,
        cookies,
        lines,
        domains,
    })
}

/// What is stored now, if anything.
pub fn describe(path: &Path) -> Summary {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| parse(&t).ok())
        .unwrap_or(Summary {
            present: false,
            cookies: 0,
            lines: 0,
            domains: vec![],
        })
}

/// Replaces the file, readable by the server's user only, through a temporary name.
pub fn store(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("txt.tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// `--cookies PATH` when a cookies file is stored.
pub fn args(path: &Path) -> Vec<String> {
    if path.is_file() {
        vec!["--cookies".into(), path.to_string_lossy().into_owned()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# Netscape HTTP Cookie File\n\
        .youtube.com\tTRUE\t/\tTRUE\t1893456000\tPREF\tf6=40000000\n\
        #HttpOnly_.youtube.com\tTRUE\t/\tTRUE\t1893456000\tSID\tsecret-value\n\
        \n\
        www.example.org\tFALSE\t/path\tFALSE\t0\tsession\tabc\r\n";

    #[test]
    fn a_good_file_is_summarised_without_values() {
        let s = parse(GOOD).unwrap();
        assert_eq!((s.cookies, s.lines), (3, 5));
        assert_eq!(s.domains, ["www.example.org", "youtube.com"]);
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains("secret-value") && !text.contains("f6=4"));
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let with_bom = format!("\u{feff}{GOOD}");
        assert_eq!(without_bom(&with_bom), GOOD);
        assert_eq!(without_bom(GOOD), GOOD);
    }

    #[test]
    fn malformed_files_say_which_line() {
        assert!(parse("").is_err());
        assert!(parse("# only a comment\n").is_err());
        assert!(parse("not a cookie line\n")
            .unwrap_err()
            .starts_with("line 1"));
        assert!(parse("x.com\tYES\t/\tTRUE\t0\tn\tv\n").is_err());
        assert!(parse("x.com\tTRUE\tpath\tTRUE\t0\tn\tv\n").is_err());
        assert!(parse("x.com\tTRUE\t/\tTRUE\tsoon\tn\tv\n").is_err());
        assert!(parse("# c\nx.com\tTRUE\t/\tTRUE\t0\tn\n")
            .unwrap_err()
            .starts_with("line 2"));
    }
}
