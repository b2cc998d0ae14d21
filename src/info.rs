//! yt-dlp's `-J` metadata → the discovery API's shapes (video info, formats, playlists,
//! search results). Pure functions.

use serde_json::{json, Map, Value};
use std::cmp::Reverse;

/// `12.3 MB`: steps of 1024, one decimal.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `3:25`, or `1:02:03` from an hour on.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, m, s) => format!("{m}:{s:02}"),
        (h, m, s) => format!("{h}:{m:02}:{s:02}"),
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite() && *x >= 0.0)
}

fn text(v: &Value) -> Value {
    match v.as_str() {
        Some(s) if !s.is_empty() => json!(s),
        _ => Value::Null,
    }
}

const AUDIO_EXTS: [&str; 7] = ["m4a", "mp3", "opus", "ogg", "oga", "flac", "wav"];

/// Whether a format carries video / audio. yt-dlp says `"none"` for an absent stream and
/// leaves the codec out when it does not know; then the extensions decide.
fn streams(f: &Value) -> (bool, bool) {
    let ext = f["ext"].as_str().unwrap_or("");
    let audio_only_ext = AUDIO_EXTS.contains(&ext);
    let has = |codec: &Value, side_ext: &Value, guess: bool| match codec.as_str() {
        Some("none") => false,
        Some(_) => true,
        None => match side_ext.as_str() {
            Some("none") => false,
            _ => guess,
        },
    };
    let video = has(&f["vcodec"], &f["video_ext"], !audio_only_ext)
        || num(&f["height"]).is_some_and(|h| h > 0.0);
    // `audio_ext` is "none" for every format that is not audio-only, muxed ones included, so
    // it says nothing about an unknown audio codec.
    let audio = has(&f["acodec"], &Value::Null, true);
    (video, audio)
}

/// One entry of `formats`; `None` for formats with neither video nor audio (storyboards).
pub fn format_entry(f: &Value) -> Option<Value> {
    let (has_video, has_audio) = streams(f);
    if !has_video && !has_audio {
        return None;
    }
    let size = num(&f["filesize"])
        .or(num(&f["filesize_approx"]))
        .map(|s| s as u64);
    let height = num(&f["height"]).map(|h| h as u64);
    let width = num(&f["width"]).map(|w| w as u64);
    let resolution = match (width, height) {
        (Some(w), Some(h)) => json!(format!("{w}x{h}")),
        _ if !has_video => json!("audio only"),
        _ => text(&f["resolution"]),
    };
    Some(json!({
        "format_id": text(&f["format_id"]),
        "format": text(&f["format"]),
        "format_note": text(&f["format_note"]),
        "ext": text(&f["ext"]),
        "protocol": text(&f["protocol"]),
        "height": height,
        "width": width,
        "fps": num(&f["fps"]),
        "filesize": size,
        "filesize_formatted": size.map(format_bytes),
        "vcodec": text(&f["vcodec"]),
        "acodec": text(&f["acodec"]),
        "has_audio": has_audio,
        "has_video": has_video,
        "resolution": resolution,
    }))
}

/// Video+audio first, then video only, then audio only; each by height, then size, largest
/// first.
pub fn sort_formats(formats: &mut [Value]) {
    formats.sort_by_key(|f| {
        let kind = match (f["has_video"].as_bool(), f["has_audio"].as_bool()) {
            (Some(true), Some(true)) => 0,
            (Some(true), _) => 1,
            _ => 2,
        };
        (
            kind,
            Reverse(f["height"].as_u64().unwrap_or(0)),
            Reverse(f["filesize"].as_u64().unwrap_or(0)),
        )
    });
}

/// The formats of a video: its `formats` list, or the one format the metadata itself
/// describes (direct links have no list).
fn formats_of(v: &Value) -> Vec<Value> {
    let mut formats: Vec<Value> = match v["formats"].as_array() {
        Some(list) => list.iter().filter_map(format_entry).collect(),
        None if v["format_id"].is_string() || v["url"].is_string() => {
            format_entry(v).into_iter().collect()
        }
        None => Vec::new(),
    };
    sort_formats(&mut formats);
    formats
}

/// Best thumbnail URL: the `thumbnail` field, else the last (largest) of `thumbnails`.
fn thumbnail(v: &Value) -> Value {
    match text(&v["thumbnail"]) {
        Value::Null => v["thumbnails"]
            .as_array()
            .and_then(|t| t.iter().rev().find_map(|x| x["url"].as_str()))
            .map_or(Value::Null, |u| json!(u)),
        t => t,
    }
}

/// The answer of `/api/info` for `url`.
pub fn describe(v: &Value, url: &str) -> Value {
    let duration = num(&v["duration"]);
    let mut out = json!({
        "id": text(&v["id"]),
        "title": text(&v["title"]),
        "description": text(&v["description"]),
        "thumbnail": thumbnail(v),
        "duration": duration,
        "duration_formatted": duration.map(format_duration),
        "uploader": text(&v["uploader"]).as_str().map_or_else(|| text(&v["channel"]), |u| json!(u)),
        "view_count": v["view_count"].as_u64(),
        "url": url,
        "formats": formats_of(v),
    });
    if v["_type"].as_str() == Some("playlist") {
        let entries: Vec<Value> = v["entries"]
            .as_array()
            .map(|e| e.iter().map(entry).collect())
            .unwrap_or_default();
        let obj = out.as_object_mut().expect("built as an object");
        obj.insert("is_playlist".into(), json!(true));
        obj.insert("count".into(), json!(entries.len()));
        obj.insert("entries".into(), json!(entries));
    }
    out
}

/// A playlist entry: `{id, title, url, duration, thumbnail}`. Flat entries carry their page
/// in `url`.
fn entry(e: &Value) -> Value {
    json!({
        "id": text(&e["id"]),
        "title": text(&e["title"]),
        "url": text(&e["url"]).as_str().map_or_else(|| text(&e["webpage_url"]), |u| json!(u)),
        "duration": num(&e["duration"]),
        "thumbnail": thumbnail(e),
    })
}

/// A search result: `{id, title, thumbnail, duration, uploader, view_count, url}`.
pub fn search_item(e: &Value) -> Value {
    let mut item = entry(e);
    let obj: &mut Map<String, Value> = item.as_object_mut().expect("built as an object");
    let uploader = text(&e["uploader"])
        .as_str()
        .map_or_else(|| text(&e["channel"]), |u| json!(u));
    obj.insert("uploader".into(), uploader);
    obj.insert("view_count".into(), json!(e["view_count"].as_u64()));
    item
}

/// Results of a flat search (a playlist of entries) or of one resolved video, whose `url` is
/// its media stream (it expires): its page is the result's URL.
pub fn search_results(v: &Value) -> Vec<Value> {
    match v["entries"].as_array() {
        Some(entries) => entries.iter().map(search_item).collect(),
        None => {
            let mut item = search_item(v);
            if let Some(page) = v["webpage_url"].as_str() {
                item["url"] = json!(page);
            }
            vec![item]
        }
    }
}

/// A direct media URL whose streams yt-dlp did not inspect (no codecs, no duration): worth
/// asking ffprobe about.
pub fn probe_target(v: &Value) -> Option<&str> {
    let unknown = v["formats"].is_null() && v["vcodec"].is_null() && v["duration"].is_null();
    let url = v["url"].as_str()?;
    (unknown && (url.starts_with("http://") || url.starts_with("https://"))).then_some(url)
}

/// Folds `ffprobe -show_entries format=duration:stream=codec_type,codec_name,width,height
/// -of json` output into yt-dlp's metadata.
pub fn apply_probe(v: &mut Value, probe: &Value) {
    let Some(obj) = v.as_object_mut() else { return };
    if let Some(d) = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok())
    {
        obj.insert("duration".into(), json!(d));
    }
    let streams = probe["streams"].as_array().cloned().unwrap_or_default();
    let of = |kind: &str| streams.iter().find(|s| s["codec_type"] == kind);
    let video = of("video");
    let audio = of("audio");
    let codec = |s: Option<&Value>| {
        s.and_then(|s| s["codec_name"].as_str())
            .unwrap_or("none")
            .to_string()
    };
    obj.insert("vcodec".into(), json!(codec(video)));
    obj.insert("acodec".into(), json!(codec(audio)));
    if let Some(v) = video {
        obj.insert("width".into(), v["width"].clone());
        obj.insert("height".into(), v["height"].clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KB");
        assert_eq!(format_bytes(12_900_000), "12.3 MB");
        assert_eq!(format_duration(205.0), "3:25");
        assert_eq!(format_duration(3723.4), "1:02:03");
        assert_eq!(format_duration(2.0), "0:02");
    }

    #[test]
    fn formats_are_typed_and_sorted() {
        let v = json!({"id": "x", "title": "T", "duration": 61.0, "formats": [
            {"format_id": "140", "ext": "m4a", "vcodec": "none", "acodec": "mp4a.40.2", "filesize": 1000},
            {"format_id": "137", "ext": "mp4", "vcodec": "avc1", "acodec": "none", "height": 1080, "width": 1920},
            {"format_id": "18", "ext": "mp4", "vcodec": "avc1", "acodec": "mp4a", "height": 360, "width": 640, "filesize_approx": 5000},
            {"format_id": "22", "ext": "mp4", "vcodec": "avc1", "acodec": "mp4a", "height": 720, "width": 1280},
            {"format_id": "sb0", "ext": "mhtml", "vcodec": "none", "acodec": "none"},
            {"format_id": "251", "ext": "webm", "vcodec": "none", "acodec": "opus", "filesize": 2000}
        ]});
        let d = describe(&v, "https://x.test/v");
        let ids: Vec<&str> = d["formats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["format_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["22", "18", "137", "251", "140"]);
        let f18 = &d["formats"][1];
        assert_eq!(
            (f18["has_video"].as_bool(), f18["has_audio"].as_bool()),
            (Some(true), Some(true))
        );
        assert_eq!(f18["filesize"], 5000);
        assert_eq!(f18["filesize_formatted"], "4.9 KB");
        assert_eq!(f18["resolution"], "640x360");
        assert_eq!(d["formats"][3]["resolution"], "audio only");
        assert_eq!(d["duration_formatted"], "1:01");
        assert_eq!(d["url"], "https://x.test/v");
        assert!(d.get("is_playlist").is_none());
    }

    #[test]
    fn a_direct_link_is_one_format_and_can_be_probed() {
        let mut v = json!({"id": "clip", "title": "Clip", "format_id": "0", "ext": "mp4", "protocol": "http",
                           "url": "http://127.0.0.1:9/clip.mp4"});
        assert_eq!(probe_target(&v), Some("http://127.0.0.1:9/clip.mp4"));
        let probe = json!({"streams": [{"codec_type": "video", "codec_name": "h264", "width": 160, "height": 120},
                                       {"codec_type": "audio", "codec_name": "aac"}],
                           "format": {"duration": "2.000000"}});
        apply_probe(&mut v, &probe);
        assert_eq!(probe_target(&v), None);
        let d = describe(&v, "u");
        assert_eq!(d["duration"], 2.0);
        assert_eq!(d["formats"].as_array().unwrap().len(), 1);
        let f = &d["formats"][0];
        assert_eq!(
            (
                f["has_video"].as_bool(),
                f["has_audio"].as_bool(),
                f["height"].as_u64()
            ),
            (Some(true), Some(true), Some(120))
        );
        assert_eq!(f["vcodec"], "h264");
    }

    #[test]
    fn unknown_codecs_in_a_video_container_count_as_video_and_audio() {
        // yt-dlp's fields for an html5 <video src=clip.mp4>: codecs unknown, audio_ext "none".
        let f = json!({"format_id": "0", "ext": "mp4", "video_ext": "mp4", "audio_ext": "none"});
        let e = format_entry(&f).unwrap();
        assert_eq!(
            (e["has_video"].as_bool(), e["has_audio"].as_bool()),
            (Some(true), Some(true))
        );
        let a = json!({"format_id": "1", "ext": "m4a", "video_ext": "none", "audio_ext": "m4a"});
        let e = format_entry(&a).unwrap();
        assert_eq!(
            (e["has_video"].as_bool(), e["has_audio"].as_bool()),
            (Some(false), Some(true))
        );
    }

    #[test]
    fn playlists_and_search() {
        let v = json!({"_type": "playlist", "id": "multi", "title": "multi", "entries": [
            {"id": "multi-1", "title": "multi (1)", "url": "http://h/clip.mp4?i=1"},
            {"id": "abc", "title": "B", "url": "https://www.youtube.com/watch?v=abc", "duration": 10.0,
             "thumbnails": [{"url": "https://i/1.jpg"}, {"url": "https://i/2.jpg"}], "channel": "C", "view_count": 7}
        ]});
        let d = describe(&v, "http://h/multi.html");
        assert_eq!(
            (d["is_playlist"].as_bool(), d["count"].as_u64()),
            (Some(true), Some(2))
        );
        assert_eq!(d["entries"][0]["url"], "http://h/clip.mp4?i=1");
        let r = search_results(&v);
        assert_eq!(r[1]["thumbnail"], "https://i/2.jpg");
        assert_eq!(
            (r[1]["uploader"].as_str(), r[1]["view_count"].as_u64()),
            (Some("C"), Some(7))
        );
        let one = search_results(
            &json!({"id": "z", "title": "Z", "webpage_url": "https://x/z", "url": "https://cdn/z.mp4"}),
        );
        assert_eq!(one.len(), 1);
        assert_eq!(one[0]["url"], "https://x/z");
    }
}
