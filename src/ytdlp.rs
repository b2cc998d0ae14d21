//! Talking to yt-dlp: the argv of a download and the meaning of each line it prints.
//! Pure functions; the download worker runs the process.

use serde_json::Value;
use std::ffi::OsString;
use std::path::Path;

use crate::tasks::Request;

// Tags that start the lines our --print/--progress-template options produce, so they can
// never be confused with anything else yt-dlp or an extractor writes.
const INFO: &str = "OTINFO ";
const STREAMS: &str = "OTSTREAMS ";
const PROGRESS: &str = "OTPROG ";
const POSTPROCESS: &str = "OTPP ";
const FILE: &str = "OTFILE ";

pub struct Invocation<'a> {
    pub request: &'a Request,
    pub task_id: &'a str,
    pub downloads_dir: &'a Path,
    /// ffmpeg's path when it is usable; without it only single-file formats are asked for.
    pub ffmpeg: Option<&'a Path>,
    pub write_thumbnail: bool,
    /// A Netscape cookies file to send, when one is stored.
    pub cookies: Option<&'a Path>,
}

/// The output template: a byte-trimmed title, the task id, and the entry index for playlists.
/// The id is a UUID, so nothing spliced in here can hold template syntax.
pub fn output_template(task_id: &str) -> String {
    format!(
        "%(title).{}B__{task_id}%(playlist_index&_{{}}|)s.%(ext)s",
        crate::filenames::TITLE_MAX_BYTES
    )
}

/// Where yt-dlp writes the thumbnail, next to the media, under a name keyed by the task id.
pub fn thumbnail_template(task_id: &str) -> String {
    format!("thumbnail:{task_id}.thumb%(playlist_index&_{{}}|)s.%(ext)s")
}

pub fn download_args(inv: &Invocation) -> Vec<OsString> {
    let req = inv.request;
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(OsString::from(s));
    for s in [
        "--no-config",
        "--newline",
        "--progress",
        "--no-simulate",
        "--encoding",
        "utf-8",
        "--abort-on-unavailable-fragments",
        "--print",
        "video:OTINFO %(.{id,title,thumbnail,extractor,duration,uploader,format_note,resolution,abr,playlist_index,n_entries,playlist_count,playlist_title})j",
        "--print",
        "video:OTSTREAMS %(requested_formats.:.{format_id,filesize,filesize_approx})j",
        "--print",
        "after_move:OTFILE %(filepath)j",
        "--progress-template",
        "download:OTPROG %(progress)j",
        "--progress-template",
        "postprocess:OTPP %(progress.status)j %(progress.postprocessor)j",
        "-o",
    ] {
        push(s);
    }
    push(&output_template(inv.task_id));
    if inv.write_thumbnail {
        push("--write-thumbnail");
        push("-o");
        push(&thumbnail_template(inv.task_id));
    }
    if let Some(ff) = inv.ffmpeg {
        push("--ffmpeg-location");
        a.push(ff.as_os_str().to_owned());
    }
    let mut push = |s: &str| a.push(OsString::from(s));
    let audio = req.download_type == "audio";
    push("-f");
    push(&format_selector(req, inv.ffmpeg.is_some()));
    if audio && inv.ffmpeg.is_some() {
        push("-x");
        push("--audio-format");
        push(req.audio_format.as_deref().unwrap_or("m4a"));
        push("--audio-quality");
        push(&audio_quality(&req.quality));
    } else if !audio && inv.ffmpeg.is_some() {
        // Browsers play mp4; fall back to mkv only when the codecs do not fit in mp4.
        push("--merge-output-format");
        push("mp4/mkv");
    }
    if let Some(c) = inv.cookies {
        push("--cookies");
        a.push(c.as_os_str().to_owned());
    }
    let mut push = |s: &str| a.push(OsString::from(s));
    if !req.subtitles.is_empty() {
        push("--write-subs");
        push("--sub-langs");
        push(&req.subtitles.join(","));
        push("--sub-format");
        push("vtt/best");
        if inv.ffmpeg.is_some() {
            // Browsers' <track> reads WebVTT only.
            push("--convert-subs");
            push("vtt");
        }
    }
    push("-P");
    a.push(inv.downloads_dir.as_os_str().to_owned());
    // Nothing after this can be read as an option, whatever the URL holds.
    a.push(OsString::from("--"));
    a.push(OsString::from(&req.url));
    a
}

fn format_selector(req: &Request, can_merge: bool) -> String {
    if let Some(f) = &req.format_id {
        return f.clone();
    }
    if req.download_type == "audio" {
        return "ba/b".to_string();
    }
    let height = req
        .quality
        .strip_suffix('p')
        .and_then(|h| h.parse::<u32>().ok());
    match (height, can_merge) {
        (Some(h), true) => format!("bv*[height<={h}]+ba/b[height<={h}]/bv*+ba/b"),
        (Some(h), false) => format!("b[height<={h}]/b"),
        (None, true) => "bv*+ba/b".to_string(),
        (None, false) => "b".to_string(),
    }
}

fn audio_quality(quality: &str) -> String {
    match quality.parse::<u32>() {
        Ok(kbps) => format!("{kbps}K"),
        Err(_) => "0".to_string(),
    }
}

/// What one line of yt-dlp's stdout means.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Info(Info),
    /// Expected size of each stream of the coming download (one entry per stream).
    Streams(Vec<Option<u64>>),
    Progress(Progress),
    /// A post-processor started or finished (`Merger`, `ExtractAudio`, `MoveFiles`, …).
    PostProcess {
        started: bool,
        name: String,
    },
    /// The final path of a finished file, after every move and merge.
    File(String),
    Other,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    pub id: Option<String>,
    pub title: Option<String>,
    pub thumbnail: Option<String>,
    pub extractor: Option<String>,
    pub duration: Option<f64>,
    pub uploader: Option<String>,
    pub format_note: Option<String>,
    pub playlist_index: Option<u32>,
    pub playlist_count: Option<u32>,
    pub playlist_title: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub finished: bool,
    pub downloaded_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub total_bytes_estimate: Option<u64>,
    pub speed: Option<f64>,
    pub eta: Option<f64>,
    pub filename: Option<String>,
}

pub fn parse_line(line: &str) -> Line {
    let line = line.trim_end_matches(['\r', '\n']);
    if let Some(rest) = line.strip_prefix(PROGRESS) {
        return lenient_json(rest).map_or(Line::Other, |v| Line::Progress(progress(&v)));
    }
    if let Some(rest) = line.strip_prefix(INFO) {
        return lenient_json(rest).map_or(Line::Other, |v| Line::Info(info(&v)));
    }
    if let Some(rest) = line.strip_prefix(STREAMS) {
        let sizes = match lenient_json(rest) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|f| {
                    number(&f["filesize"])
                        .or(number(&f["filesize_approx"]))
                        .map(|n| n as u64)
                })
                .collect(),
            _ => vec![None],
        };
        return Line::Streams(sizes);
    }
    if let Some(rest) = line.strip_prefix(POSTPROCESS) {
        let mut words = rest.split_whitespace().map(|w| w.trim_matches('"'));
        let started = words.next() == Some("started");
        let name = words.next().unwrap_or("").to_string();
        return Line::PostProcess { started, name };
    }
    if let Some(rest) = line.strip_prefix(FILE) {
        return match serde_json::from_str::<String>(rest) {
            Ok(p) if !p.is_empty() => Line::File(p),
            _ => Line::Other,
        };
    }
    Line::Other
}

/// JSON as yt-dlp's templates print it, also when a field holds `NA`, `None`, `N/A` or nothing
/// (hand-made templates and old versions do that): those become null.
fn lenient_json(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let mut fixed = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            fixed.push(c);
            rest = &rest[c.len_utf8()..];
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        // After a ':' a value must follow; a bare word or nothing there means "unknown".
        if c == ':' {
            fixed.push(c);
            let after = rest[1..].trim_start();
            let word_len = after.find([',', '}', ']']).unwrap_or(after.len());
            let word = after[..word_len].trim();
            if matches!(word, "" | "NA" | "N/A" | "None" | "nan" | "NaN") {
                fixed.push_str(" null");
                rest = &after[word_len..];
            } else {
                rest = &rest[1..];
            }
            continue;
        }
        fixed.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&fixed).ok()
}

/// A number, also when it arrives as a numeric string; never NaN or infinite.
fn number(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|x| x.is_finite() && *x >= 0.0)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() && s != "NA" => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn progress(v: &Value) -> Progress {
    let bytes = |k: &str| number(&v[k]).map(|n| n as u64);
    Progress {
        finished: v["status"].as_str() == Some("finished"),
        downloaded_bytes: bytes("downloaded_bytes"),
        total_bytes: bytes("total_bytes"),
        total_bytes_estimate: bytes("total_bytes_estimate"),
        speed: number(&v["speed"]),
        eta: number(&v["eta"]),
        filename: text(&v["filename"]),
    }
}

fn info(v: &Value) -> Info {
    let count = |k: &str| number(&v[k]).map(|n| n as u32);
    let format_note = text(&v["format_note"])
        .filter(|n| !n.contains('+') && !n.starts_with("DASH"))
        .or_else(|| {
            let res = text(&v["resolution"])?;
            let height = res.rsplit('x').next()?.parse::<u32>().ok()?;
            Some(format!("{height}p"))
        })
        .or_else(|| number(&v["abr"]).map(|abr| format!("{}kbps", abr.round())));
    Info {
        id: text(&v["id"]),
        title: text(&v["title"]),
        thumbnail: text(&v["thumbnail"]),
        extractor: text(&v["extractor"]),
        duration: number(&v["duration"]),
        uploader: text(&v["uploader"]),
        format_note,
        playlist_index: count("playlist_index"),
        playlist_count: count("n_entries").or(count("playlist_count")),
        playlist_title: text(&v["playlist_title"]),
    }
}

/// The line to report when yt-dlp failed: its last `ERROR:` line, else the last line that is
/// not a warning or a progress line.
pub fn error_line(stderr_tail: &[String]) -> Option<String> {
    let meaningful = |l: &&String| !l.trim().is_empty();
    stderr_tail
        .iter()
        .rev()
        .filter(meaningful)
        .find(|l| l.trim_start().starts_with("ERROR:"))
        .or_else(|| {
            stderr_tail
                .iter()
                .rev()
                .filter(meaningful)
                .find(|l| !l.trim_start().starts_with("WARNING:") && !l.starts_with("[download]"))
        })
        .map(|l| l.trim().to_string())
}

/// A fragment was given up on: yt-dlp may still exit 0, with a hole in the video.
pub fn is_skipped_fragment(line: &str) -> bool {
    line.contains("Skipping fragment")
}

/// yt-dlp refused the thumbnail's file extension (an og:image ending `.php`, say): the video
/// itself is fine and a run without `--write-thumbnail` will succeed.
pub fn is_thumbnail_extension_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("extension") && (l.contains("unusual") || l.contains("unsafe"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(inv: &Invocation) -> Vec<String> {
        download_args(inv)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_url_comes_last_after_a_double_dash() {
        let r = Request::best_video("--exec=rm -rf /");
        let a = args(&Invocation {
            request: &r,
            task_id: "abc",
            downloads_dir: Path::new("/d"),
            ffmpeg: None,
            write_thumbnail: true,
            cookies: Some(Path::new("/data/cookies.txt")),
        });
        assert_eq!(&a[a.len() - 2..], ["--", "--exec=rm -rf /"]);
        assert_eq!(a[0], "--no-config");
        assert!(a.contains(&"--newline".to_string()));
        assert!(a.contains(&"--write-thumbnail".to_string()));
        assert!(a.windows(2).any(|w| w == ["-P", "/d"]));
        assert!(a
            .windows(2)
            .any(|w| w == ["--cookies", "/data/cookies.txt"]));
        assert!(
            a.windows(2).any(|w| w == ["-f", "b"]),
            "no ffmpeg: single file"
        );
        let o = output_template("abc");
        assert_eq!(o, "%(title).150B__abc%(playlist_index&_{}|)s.%(ext)s");
        assert!(a.windows(2).any(|w| w[0] == "-o" && w[1] == o));
    }

    #[test]
    fn quality_and_audio_choose_formats() {
        let with_ffmpeg = |r: &Request| {
            args(&Invocation {
                request: r,
                task_id: "abc",
                downloads_dir: Path::new("/d"),
                ffmpeg: Some(Path::new("/usr/bin/ffmpeg")),
                write_thumbnail: false,
                cookies: None,
            })
        };
        let has = |a: &[String], pair: [&str; 2]| a.windows(2).any(|w| w == pair);
        let mut r = Request::best_video("https://x.test/v");
        r.quality = "720p".into();
        let a = with_ffmpeg(&r);
        assert!(has(
            &a,
            ["-f", "bv*[height<=720]+ba/b[height<=720]/bv*+ba/b"]
        ));
        assert!(has(&a, ["--merge-output-format", "mp4/mkv"]));
        assert!(!a.contains(&"--write-thumbnail".to_string()));
        assert!(!a.contains(&"--write-subs".to_string()));

        let mut audio = Request::best_video("https://x.test/v");
        audio.download_type = "audio".into();
        audio.quality = "192".into();
        audio.audio_format = Some("mp3".into());
        let a = with_ffmpeg(&audio);
        assert!(has(&a, ["-f", "ba/b"]));
        assert!(has(&a, ["--audio-format", "mp3"]));
        assert!(has(&a, ["--audio-quality", "192K"]));

        let mut own = Request::best_video("https://x.test/v");
        own.format_id = Some("137+140".into());
        assert!(has(&with_ffmpeg(&own), ["-f", "137+140"]));

        let mut subs = Request::best_video("https://x.test/v");
        subs.subtitles = vec!["en".into(), "es".into()];
        let a = with_ffmpeg(&subs);
        assert!(a
            .windows(3)
            .any(|w| w == ["--write-subs", "--sub-langs", "en,es"]));
        assert!(has(&a, ["--convert-subs", "vtt"]));
    }

    #[test]
    fn parses_a_real_progress_line() {
        let l = r#"OTPROG {"status": "downloading", "downloaded_bytes": 15360, "total_bytes": 29728, "filename": "T \u29f8 c__abc.mp4", "eta": 0, "speed": 12451586.67, "elapsed": 0.003}"#;
        let Line::Progress(p) = parse_line(l) else {
            panic!()
        };
        assert_eq!(p.downloaded_bytes, Some(15360));
        assert_eq!(p.total_bytes, Some(29728));
        assert_eq!(p.filename.as_deref(), Some("T ⧸ c__abc.mp4"));
        assert_eq!(p.speed.map(|s| s as u64), Some(12451586));
        assert!(!p.finished);
    }

    #[test]
    fn unknown_values_become_none() {
        for l in [
            r#"OTPROG {"status": "downloading", "downloaded_bytes": 1024, "total_bytes": NA, "speed": NA, "eta": NA}"#,
            r#"OTPROG {"status": "downloading", "downloaded_bytes": 1024, "total_bytes": None, "speed": None, "eta": None}"#,
            r#"OTPROG {"status": "downloading", "downloaded_bytes": 1024, "total_bytes": , "speed": , "eta": }"#,
            r#"OTPROG {"status": "downloading", "downloaded_bytes": "1024", "total_bytes": null, "speed": null, "eta": null}"#,
        ] {
            let Line::Progress(p) = parse_line(l) else {
                panic!("{l}")
            };
            assert_eq!(p.downloaded_bytes, Some(1024), "{l}");
            assert_eq!((p.total_bytes, p.speed, p.eta), (None, None, None), "{l}");
        }
        assert_eq!(parse_line("OTPROG {garbage"), Line::Other);
        assert_eq!(parse_line("OTPROG \u{fffd}\u{fffd}"), Line::Other);
    }

    #[test]
    fn info_streams_postprocess_and_final_file() {
        let Line::Info(i) = parse_line(
            r#"OTINFO {"id": "dQw4w9WgXcQ", "title": "A / b", "thumbnail": "http://h/t.jpg", "extractor": "generic", "resolution": "160x120", "format_note": "DASH video+DASH audio", "playlist_index": 2, "n_entries": 3, "playlist_title": "multi"}"#,
        ) else {
            panic!()
        };
        assert_eq!(i.id.as_deref(), Some("dQw4w9WgXcQ"));
        assert_eq!(i.format_note.as_deref(), Some("120p"));
        assert_eq!((i.playlist_index, i.playlist_count), (Some(2), Some(3)));
        assert_eq!(i.playlist_title.as_deref(), Some("multi"));
        assert_eq!(
            parse_line(r#"OTSTREAMS [{"format_id": "0", "filesize": 100}, {"format_id": "1"}]"#),
            Line::Streams(vec![Some(100), None])
        );
        assert_eq!(parse_line("OTSTREAMS NA"), Line::Streams(vec![None]));
        assert_eq!(
            parse_line(r#"OTPP "started" "Merger""#),
            Line::PostProcess {
                started: true,
                name: "Merger".into()
            }
        );
        assert_eq!(
            parse_line(r#"OTFILE "/d/x \u29f8__abc.mp4""#),
            Line::File("/d/x ⧸__abc.mp4".into())
        );
        assert_eq!(parse_line("[generic] Extracting URL"), Line::Other);
    }

    #[test]
    fn the_error_line_is_the_last_error() {
        let tail: Vec<String> = [
            "WARNING: [generic] Falling back on generic information extractor",
            "ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found",
            "WARNING: later warning",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            error_line(&tail).unwrap(),
            "ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found"
        );
        let usage = vec![
            "Usage: yt-dlp [OPTIONS] URL".to_string(),
            "yt-dlp: error: no such option: --newline".to_string(),
        ];
        assert_eq!(
            error_line(&usage).unwrap(),
            "yt-dlp: error: no such option: --newline"
        );
        assert_eq!(error_line(&[]), None);
    }
}
