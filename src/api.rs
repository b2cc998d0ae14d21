//! The JSON API: routing by method and path, input validation, handlers.

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::clock::now_rfc3339;
use crate::discovery::Failure;
use crate::files::{self, Serve};
use crate::http::{percent_decode, Body, Reply, Req};
use crate::tasks::{Request, Status, Task};
use crate::updater::Outcome;
use crate::{storage, thumbnails, tools};

const VIDEO_QUALITIES: [&str; 8] = [
    "best", "2160p", "1440p", "1080p", "720p", "480p", "360p", "240p",
];
const AUDIO_QUALITIES: [&str; 5] = ["best", "320", "256", "192", "128"];
const AUDIO_FORMATS: [&str; 5] = ["m4a", "mp3", "opus", "flac", "wav"];
const MAX_URL_BYTES: usize = 4096;

/// yt-dlp older than this gets a warning in the health report: sites change under it.
const STALE_YTDLP_DAYS: u64 = 60;

const TASK_NOT_FOUND: &str = "Descarga no encontrada";
const THUMBNAIL_NOT_FOUND: &str = "Miniatura no encontrada";
const FILE_NOT_FOUND: &str = "Archivo no encontrado";
const DOWNLOAD_NOT_AVAILABLE: &str = "Descarga no disponible o no completada";
const FILE_MISSING: &str = "Archivo físico no encontrado";

/// The contract as OpenAPI 3, served at `GET /api/openapi.json`.
const OPENAPI: &str = include_str!("../openapi.json");

/// Media may be replaced by a retry, so clients revalidate (cheap: ETag and 304).
const MEDIA_CACHE: &str = "no-cache";

enum Route<'a> {
    StartDownload,
    Downloads,
    Download(&'a str),
    Remove(&'a str),
    Retry(&'a str),
    Thumbnail(&'a str),
    Stream(&'a str),
    Events,
    DownloadFile(&'a str),
    Health,
    UpdateYtdlp,
    Cookies,
    Info,
    VideoInfo,
    Search,
    Trending,
    OpenApi,
}

fn resolve(path: &str) -> Option<(Route<'_>, &'static [&'static str])> {
    const GET: &[&str] = &["GET", "HEAD"];
    if let Some(name) = path.strip_prefix("/api/stream/") {
        return Some((Route::Stream(name), GET));
    }
    let segments: Vec<&str> = path.strip_prefix("/api/")?.split('/').collect();
    Some(match segments.as_slice() {
        ["download"] => (Route::StartDownload, &["POST"]),
        ["downloads"] => (Route::Downloads, GET),
        ["downloads", id] => (Route::Download(id), &["GET", "HEAD", "DELETE"]),
        ["downloads", id, "remove"] => (Route::Remove(id), &["DELETE"]),
        ["downloads", id, "retry"] => (Route::Retry(id), &["POST"]),
        ["thumbnails", id] => (Route::Thumbnail(id), GET),
        ["download", id, "file"] => (Route::DownloadFile(id), GET),
        ["health"] => (Route::Health, GET),
        ["events"] => (Route::Events, &["GET"]),
        ["info"] => (Route::Info, &["POST"]),
        ["ytdlp", "update"] => (Route::UpdateYtdlp, &["POST"]),
        ["cookies"] => (Route::Cookies, &["GET", "HEAD", "POST", "DELETE"]),
        ["video", "info"] => (Route::VideoInfo, GET),
        ["search"] => (Route::Search, GET),
        ["trending"] => (Route::Trending, GET),
        ["openapi.json"] => (Route::OpenApi, GET),
        _ => return None,
    })
}

pub fn route(app: &App, req: &Req) -> Reply {
    let outside_api = crate::ui::asset(&req.path).is_some() || req.path == "/metrics";
    if outside_api && !matches!(req.method.as_str(), "GET" | "HEAD") {
        return Reply::error(405, "Method Not Allowed", "method_not_allowed")
            .with_header("Allow", "GET, HEAD");
    }
    if matches!(req.method.as_str(), "GET" | "HEAD") {
        if let Some(page) = crate::ui::asset(&req.path) {
            return page;
        }
        if req.path == "/metrics" {
            let live = crate::metrics::Live {
                tasks_by_status: app.store.count_by_status(),
                downloaded_bytes: app.store.downloaded_bytes(),
                connections: app.server.num_connections(),
                event_streams: app.hub.open_streams(),
            };
            let text = app.metrics.render(&live);
            return Reply {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "text/plain; version=0.0.4; charset=utf-8".into(),
                )],
                body: Body::Bytes(text.into_bytes()),
            };
        }
    }
    let Some((route, methods)) = resolve(&req.path) else {
        return Reply::error(404, "Not Found", "not_found");
    };
    if !methods.contains(&req.method.as_str()) {
        return Reply::error(405, "Method Not Allowed", "method_not_allowed")
            .with_header("Allow", format!("{}, OPTIONS", methods.join(", ")));
    }
    match route {
        Route::StartDownload => start_download(app, req),
        Route::Downloads => list(app, req),
        Route::Download(id) if req.method == "DELETE" => cancel(app, id),
        Route::Download(id) => match task_id(id).and_then(|id| app.store.get(&id)) {
            Some(t) => Reply::json(200, &t),
            None => task_not_found(),
        },
        Route::Remove(id) => remove(app, id),
        Route::Retry(id) => retry(app, id),
        Route::Thumbnail(id) => thumbnail(app, req, id),
        Route::Stream(name) => stream(app, req, name),
        Route::DownloadFile(id) => download_file(app, req, id),
        Route::Health => health(app),
        Route::Info => match json_body(req).and_then(|obj| match obj.get("url") {
            Some(Value::String(u)) => Ok(u.clone()),
            _ => Err(Reply::error(
                400,
                "url is required and must be a string",
                "invalid_url",
            )),
        }) {
            Ok(url) => info(app, &url),
            Err(reply) => reply,
        },
        Route::VideoInfo => info(app, &req.query_param("url").unwrap_or_default()),
        Route::Search => search(app, req),
        Route::UpdateYtdlp => update_ytdlp(app),
        Route::Cookies => cookies(app, req),
        Route::Trending => match app.discovery.search(&app.cfg.trending_query, 20) {
            Ok(results) => Reply::json(200, &json!({ "results": results })),
            Err(f) => discovery_failure(app, f),
        },
        Route::OpenApi => Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Bytes(OPENAPI.as_bytes().to_vec()),
        },
        Route::Events => Reply {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "text/event-stream".into()),
                ("Cache-Control".into(), "no-cache".into()),
                // Tells nginx-style proxies not to buffer the stream.
                ("X-Accel-Buffering".into(), "no".into()),
            ],
            body: Body::Events,
        },
    }
}

fn task_not_found() -> Reply {
    Reply::error(404, TASK_NOT_FOUND, "task_not_found")
}

/// Marks an active task cancelled and stops its run; the previous status, or `None` when
/// there is no such task.
fn stop(app: &App, id: &str) -> Option<Status> {
    let before = app.store.update(id, true, |t| {
        let before = t.status;
        if before.is_active() {
            t.status = Status::Cancelled;
            t.speed.clear();
            t.eta.clear();
        }
        before
    })?;
    if before.is_active() {
        app.queue.unqueue(id);
        app.queue.stop_run(id);
    }
    Some(before)
}

fn cancel(app: &App, segment: &str) -> Reply {
    let Some(id) = task_id(segment) else {
        return task_not_found();
    };
    match stop(app, &id) {
        None => task_not_found(),
        Some(s) if !s.is_active() => Reply::error(
            409,
            &format!(
                "Download is already {}; there is nothing to cancel",
                s.as_str()
            ),
            "not_cancellable",
        ),
        Some(_) => Reply::json(200, &json!({ "message": "Descarga cancelada" })),
    }
}

fn remove(app: &App, segment: &str) -> Reply {
    let Some(id) = task_id(segment) else {
        return task_not_found();
    };
    if stop(app, &id).is_none() {
        return task_not_found();
    }
    // Only now that no process writes any more: delete, then forget the task.
    let Some(task) = app.store.get(&id) else {
        return task_not_found();
    };
    storage::remove_task_files(
        &app.cfg.downloads_dir,
        &app.cfg.thumbnails_dir,
        &id,
        &task.files,
    );
    app.store.remove(&id);
    Reply::json(200, &json!({ "message": "Descarga eliminada" }))
}

fn retry(app: &App, segment: &str) -> Reply {
    let Some(id) = task_id(segment) else {
        return task_not_found();
    };
    let before = app.store.update(&id, true, |t| {
        let before = t.status;
        if matches!(before, Status::Error | Status::Cancelled) {
            t.reset_for_run();
            t.files.clear();
            t.subtitles.clear();
            t.filename.clear();
            t.filesize = 0;
        }
        before
    });
    match before {
        None => task_not_found(),
        Some(Status::Error | Status::Cancelled) => {
            app.queue.push(id.clone());
            app.store
                .get(&id)
                .map_or_else(task_not_found, |t| Reply::json(200, &t))
        }
        Some(s) => Reply::error(
            409,
            &format!(
                "Only failed or cancelled downloads can be retried; this one is {}",
                s.as_str()
            ),
            "not_retryable",
        ),
    }
}

/// A path segment that must be a task id: decoded once, and a well-formed UUID, so it can
/// never name anything but a task.
fn task_id(segment: &str) -> Option<String> {
    let decoded = percent_decode(segment)?;
    uuid::Uuid::try_parse(&decoded)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

fn list(app: &App, req: &Req) -> Reply {
    let Some(filter) = req.query_param("status").filter(|s| !s.is_empty()) else {
        return match app.store.list_json() {
            Some(json) => Reply {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                )],
                body: Body::Shared(json),
            },
            None => Reply::error(500, "Internal server error", "internal_error"),
        };
    };
    let tasks = app.store.list();
    let mut wanted = Vec::new();
    for name in filter.split(',') {
        match Status::parse(name.trim()) {
            Some(s) => wanted.push(s),
            None => {
                return Reply::error(
                    400,
                    &format!("Unknown status '{}'", name.trim()),
                    "invalid_status",
                )
            }
        }
    }
    let tasks: Vec<&Task> = tasks
        .iter()
        .filter(|t| wanted.contains(&t.status))
        .collect();
    Reply::json(200, &tasks)
}

/// The JSON object of a request body; 415 for another content type, 400 for anything else.
fn json_body(req: &Req) -> Result<Map<String, Value>, Reply> {
    let content_type = req.header("content-type").unwrap_or("application/json");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Reply::error(
            415,
            "Content-Type must be application/json (with curl: -H 'Content-Type: application/json')",
            "unsupported_media_type",
        ));
    }
    match serde_json::from_slice(&req.body) {
        Ok(Value::Object(obj)) => Ok(obj),
        _ => Err(Reply::error(
            400,
            "Body must be a JSON object",
            "invalid_json",
        )),
    }
}

fn info(app: &App, url: &str) -> Reply {
    if let Err(why) = check_url(url) {
        return Reply::error(400, &format!("Invalid url: {why}"), "invalid_url");
    }
    match app.discovery.info(url) {
        Ok(v) => Reply::json(200, &v),
        Err(f) => discovery_failure(app, f),
    }
}

fn search(app: &App, req: &Req) -> Reply {
    let q = req.query_param("q").unwrap_or_default();
    let q = q.trim();
    if q.is_empty() || q.len() > 500 || q.chars().any(char::is_control) {
        return Reply::error(
            400,
            "q must be 1 to 500 characters of text",
            "invalid_query",
        );
    }
    let max = match req.query_param("max_results").map(|m| m.parse::<u32>()) {
        None => 20,
        Some(Ok(n)) if (1..=50).contains(&n) => n,
        Some(_) => {
            return Reply::error(
                400,
                "max_results must be a whole number from 1 to 50",
                "invalid_max_results",
            )
        }
    };
    match app.discovery.search(q, max) {
        Ok(results) => Reply::json(200, &json!({ "results": results, "query": q })),
        Err(f) => discovery_failure(app, f),
    }
}

fn discovery_failure(app: &App, f: Failure) -> Reply {
    match f {
        Failure::Unavailable(detail) => Reply::error(503, &detail, "ytdlp_unavailable"),
        Failure::Extractor(line) => Reply::error(502, &line, "extractor_error"),
        Failure::Timeout => Reply::error(
            504,
            &format!(
                "yt-dlp did not answer within {} s",
                app.cfg.discovery_timeout_secs
            ),
            "extractor_timeout",
        ),
        Failure::Busy => Reply::error(
            503,
            "Too many lookups are running; try again shortly",
            "busy",
        )
        .with_header("Retry-After", "5"),
    }
}

fn start_download(app: &App, req: &Req) -> Reply {
    let body = match json_body(req) {
        Ok(obj) => obj,
        Err(reply) => return reply,
    };
    let request = match parse_download(&body) {
        Ok(r) => r,
        Err((code, detail)) => return Reply::error(400, &detail, code),
    };
    if !app.tools.yt_dlp_usable() {
        return Reply::error(
            503,
            &format!(
                "yt-dlp not found or not working ({})",
                app.tools.yt_dlp().display()
            ),
            "ytdlp_unavailable",
        );
    }
    let needed = app.cfg.min_free_mb * 1024 * 1024;
    if let Some(free) = tools::free_bytes(&app.cfg.downloads_dir).filter(|f| *f < needed) {
        return Reply::error(
            507,
            &format!(
                "Not enough free disk space: {} MiB free, {} MiB required",
                free / 1024 / 1024,
                app.cfg.min_free_mb
            ),
            "insufficient_storage",
        );
    }
    let task = Task::new(uuid::Uuid::new_v4().to_string(), request, now_rfc3339());
    let (task, created) = app.store.insert_unless_active(task);
    if created {
        log::info!("task {} queued: {}", task.id, task.url);
        app.queue.push(task.id.clone());
    }
    Reply::json(200, &task).with_header("Location", format!("/api/downloads/{}", task.id))
}

type Invalid = (&'static str, String);

/// The body of `POST /api/download`, checked against the documented sets.
pub fn parse_download(obj: &Map<String, Value>) -> Result<Request, Invalid> {
    let url = match obj.get("url") {
        Some(Value::String(u)) => u.clone(),
        _ => return Err(("invalid_url", "url is required and must be a string".into())),
    };
    check_url(&url).map_err(|why| ("invalid_url", format!("Invalid url: {why}")))?;

    let download_type = optional_string(obj, "download_type", "invalid_download_type")?
        .unwrap_or_else(|| "video".into());
    let qualities: &[&str] = match download_type.as_str() {
        "video" => &VIDEO_QUALITIES,
        "audio" => &AUDIO_QUALITIES,
        _ => {
            return Err((
                "invalid_download_type",
                "download_type must be \"video\" or \"audio\"".into(),
            ))
        }
    };
    let quality =
        optional_string(obj, "quality", "invalid_quality")?.unwrap_or_else(|| "best".into());
    if !qualities.contains(&quality.as_str()) {
        return Err((
            "invalid_quality",
            format!(
                "quality for {download_type} must be one of {}",
                qualities.join(", ")
            ),
        ));
    }
    let format_id = optional_string(obj, "format_id", "invalid_format")?;
    if let Some(f) = &format_id {
        if !valid_format_id(f) {
            return Err((
                "invalid_format",
                "format_id is not a valid format selector".into(),
            ));
        }
    }
    let audio_format = optional_string(obj, "audio_format", "invalid_audio_format")?;
    if let Some(a) = &audio_format {
        if !AUDIO_FORMATS.contains(&a.as_str()) {
            return Err((
                "invalid_audio_format",
                format!("audio_format must be one of {}", AUDIO_FORMATS.join(", ")),
            ));
        }
    }
    let subtitles = subtitle_langs(obj.get("subtitles"))?;
    Ok(Request {
        url,
        audio_format: (download_type == "audio")
            .then(|| audio_format.unwrap_or_else(|| "m4a".into())),
        download_type,
        quality,
        format_id,
        subtitles,
    })
}

/// `"subtitles": ["en", "pt-BR"]`: at most 10 language codes (letters, then `-` parts).
fn subtitle_langs(value: Option<&Value>) -> Result<Vec<String>, Invalid> {
    let invalid = || {
        (
            "invalid_subtitles",
            "subtitles must be a list of at most 10 language codes such as \"en\" or \"pt-BR\""
                .to_string(),
        )
    };
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= 10 => items,
        Some(_) => return Err(invalid()),
    };
    let valid = |code: &str| {
        let mut parts = code.split('-');
        let lang = parts.next().unwrap_or("");
        (2..=3).contains(&lang.len())
            && lang.bytes().all(|b| b.is_ascii_alphabetic())
            && parts
                .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    let mut langs = Vec::new();
    for item in items {
        match item.as_str() {
            Some(code) if valid(code) => {
                if !langs.iter().any(|l| l == code) {
                    langs.push(code.to_string());
                }
            }
            _ => return Err(invalid()),
        }
    }
    Ok(langs)
}

/// A string field that may be absent or null; any other type is refused.
fn optional_string(
    obj: &Map<String, Value>,
    key: &str,
    code: &'static str,
) -> Result<Option<String>, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err((code, format!("{key} must be a string"))),
    }
}

/// An absolute http(s) URL with a host, no whitespace or control characters, ≤ 4096 bytes.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    if url.is_empty() || url.len() > MAX_URL_BYTES {
        return Err("must be 1 to 4096 bytes");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace or control characters");
    }
    let lower = url.to_ascii_lowercase();
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|s| lower.strip_prefix(s))
        .ok_or("must start with http:// or https://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err("must name a host");
    }
    Ok(())
}

fn valid_format_id(f: &str) -> bool {
    (1..=200).contains(&f.len())
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-[]<=>/.,:!*?".contains(c))
}

fn thumbnail(app: &App, req: &Req, segment: &str) -> Reply {
    let not_found = || Reply::error(404, THUMBNAIL_NOT_FOUND, "thumbnail_not_found");
    let Some(id) = task_id(segment) else {
        return not_found();
    };
    let how = |mime| Serve {
        content_type: mime,
        cache_control: "public, max-age=86400",
        extra: vec![],
    };
    thumbnails::find(&app.cfg.thumbnails_dir, &id)
        .and_then(|(path, mime)| files::serve_file(req, &path, how(mime)))
        .unwrap_or_else(not_found)
}

/// A finished media file by name. The name is decoded exactly once; a `+` is read as a space
/// only when the literal name is no task's file (forms and some players encode spaces so).
fn stream(app: &App, req: &Req, raw: &str) -> Reply {
    let not_found = || Reply::error(404, FILE_NOT_FOUND, "file_not_found");
    let Some(decoded) = percent_decode(raw) else {
        return not_found();
    };
    let name = if app.store.owns_file(&decoded) {
        decoded
    } else {
        match percent_decode(&raw.replace('+', "%20")) {
            Some(spaced) if app.store.owns_file(&spaced) => spaced,
            _ => return not_found(),
        }
    };
    let Some(path) = files::resolve_inside(&app.cfg.downloads_dir, &name) else {
        return not_found();
    };
    let how = Serve {
        content_type: files::media_type(&name, &files::head_bytes(&path)),
        cache_control: MEDIA_CACHE,
        extra: vec![],
    };
    files::serve_file(req, &path, how).unwrap_or_else(not_found)
}

/// A completed task's file as an attachment; `?index=N` picks a playlist entry (1-based).
fn download_file(app: &App, req: &Req, segment: &str) -> Reply {
    let unavailable = || Reply::error(404, DOWNLOAD_NOT_AVAILABLE, "file_not_available");
    let missing = || Reply::error(404, FILE_MISSING, "file_missing");
    let task = task_id(segment).and_then(|id| app.store.get(&id));
    let Some(task) = task.filter(|t| t.status == Status::Completed) else {
        return unavailable();
    };
    let index = match req.query_param("index") {
        None => 1,
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => return Reply::error(400, "index must be a whole number from 1", "invalid_index"),
        },
    };
    let Some(file) = task.files.get(index - 1) else {
        return unavailable();
    };
    let Some(path) = files::resolve_inside(&app.cfg.downloads_dir, &file.filename) else {
        return missing();
    };
    let how = Serve {
        content_type: files::media_type(&file.filename, &files::head_bytes(&path)),
        cache_control: MEDIA_CACHE,
        extra: vec![(
            "Content-Disposition".into(),
            files::content_disposition(&file.filename),
        )],
    };
    files::serve_file(req, &path, how).unwrap_or_else(missing)
}

fn health(app: &App) -> Reply {
    let counts: Map<String, Value> = app
        .store
        .count_by_status()
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let version = app.tools.yt_dlp_version();
    let age = version
        .as_deref()
        .and_then(|v| tools::version_age_days(v, crate::clock::unix_seconds()));
    let mut warnings = Vec::new();
    match (&version, age) {
        (None, _) => warnings.push(format!(
            "yt-dlp not found or not working ({})",
            app.tools.yt_dlp().display()
        )),
        (Some(_), Some(days)) if days > STALE_YTDLP_DAYS => warnings.push(format!(
            "yt-dlp is {days} days old; sites change often: update it (POST /api/ytdlp/update)"
        )),
        _ => {}
    }
    Reply::json(
        200,
        &json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "yt_dlp": version,
            "yt_dlp_age_days": age,
            "ffmpeg": app.tools.ffmpeg.is_some(),
            "downloads_dir_free_bytes": tools::free_bytes(&app.cfg.downloads_dir),
            "tasks": counts,
            "warnings": warnings,
        }),
    )
}

/// The cookies file: upload (POST, the raw cookies.txt), describe (GET), forget (DELETE).
fn cookies(app: &App, req: &Req) -> Reply {
    let path = crate::cookies::path_for(&app.cfg.state_file);
    match req.method.as_str() {
        "POST" => {
            let kind = req.header("content-type").unwrap_or("text/plain");
            let essence = kind
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if !matches!(essence.as_str(), "text/plain" | "application/octet-stream") {
                return Reply::error(
                    415,
                    "Send the cookies.txt file itself, as text/plain",
                    "unsupported_media_type",
                );
            }
            let Ok(text) = std::str::from_utf8(&req.body) else {
                return Reply::error(400, "cookies.txt must be UTF-8 text", "invalid_cookies");
            };
            let text = crate::cookies::without_bom(text);
            let summary = match crate::cookies::parse(text) {
                Ok(s) => s,
                Err(why) => {
                    return Reply::error(
                        400,
                        &format!("Invalid cookies.txt: {why}"),
                        "invalid_cookies",
                    )
                }
            };
            if let Err(e) = crate::cookies::store(&path, text) {
                log::error!("cannot store {}: {e}", path.display());
                return Reply::error(500, "Could not store the cookies file", "storage_error");
            }
            log::info!("cookies stored for {} domain(s)", summary.domains.len());
            Reply::json(200, &summary)
        }
        "DELETE" => {
            match std::fs::remove_file(&path) {
                Ok(()) => log::info!("cookies removed"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    log::error!("cannot remove {}: {e}", path.display());
                    return Reply::error(500, "Could not remove the cookies file", "storage_error");
                }
            }
            Reply::json(200, &crate::cookies::describe(&path))
        }
        _ => Reply::json(200, &crate::cookies::describe(&path)),
    }
}

/// Runs the configured yt-dlp update and reports the versions before and after.
fn update_ytdlp(app: &App) -> Reply {
    let old = app.tools.yt_dlp_version();
    match app.updater.run(&app.cfg.ytdlp_update_cmd) {
        Outcome::Busy => Reply::error(409, "An update is already running", "update_running"),
        Outcome::Failed(lines) => {
            app.tools.refresh_yt_dlp_version();
            let detail = lines
                .last()
                .cloned()
                .unwrap_or_else(|| "the update command failed".into());
            Reply::error(502, &detail, "update_failed")
        }
        Outcome::Ran(lines) => {
            let new = app.tools.refresh_yt_dlp_version();
            Reply::json(
                200,
                &json!({ "old_version": old, "new_version": new, "output": lines }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "http://127.0.0.1:8/p.html",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "HTTPS://X.TEST",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "--version",
            "-f",
            "file:///etc/passwd",
            "ytsearch:cats",
            "ftp://x.test/a",
            "http://",
            "http:///path",
            " http://x.test",
            "http://x.test/a b",
            "http://x.test/\u{7}",
            "http://x.test\n",
        ] {
            assert!(check_url(bad).is_err(), "{bad:?}");
        }
        assert!(check_url(&format!("http://x.test/{}", "a".repeat(4100))).is_err());
    }

    fn parse(body: &[u8]) -> Result<Request, Invalid> {
        match serde_json::from_slice(body) {
            Ok(Value::Object(obj)) => parse_download(&obj),
            _ => Err(("invalid_json", String::new())),
        }
    }

    #[test]
    fn download_bodies() {
        let r = parse(br#"{"url":"http://x.test/v"}"#).unwrap();
        assert_eq!(
            (r.download_type.as_str(), r.quality.as_str()),
            ("video", "best")
        );
        assert_eq!(r.audio_format, None);
        let r =
            parse(br#"{"url":"http://x.test/v","download_type":"audio","quality":"192"}"#).unwrap();
        assert_eq!(r.audio_format.as_deref(), Some("m4a"));
        let code = |b: &[u8]| parse(b).unwrap_err().0;
        assert_eq!(code(b""), "invalid_json");
        assert_eq!(code(b"{\"url\":"), "invalid_json");
        assert_eq!(code(b"[]"), "invalid_json");
        assert_eq!(code(b"\xff\xfe"), "invalid_json");
        assert_eq!(code(br#"{"url":123}"#), "invalid_url");
        assert_eq!(code(br#"{"url":null}"#), "invalid_url");
        assert_eq!(code(br#"{}"#), "invalid_url");
        assert_eq!(code(br#"{"url":"  http://x.test/v \n"}"#), "invalid_url");
        assert_eq!(
            code(br#"{"url":"http://x.test/v","quality":"4k"}"#),
            "invalid_quality"
        );
        assert_eq!(
            code(br#"{"url":"http://x.test/v","quality":"192"}"#),
            "invalid_quality"
        );
        assert_eq!(
            code(br#"{"url":"http://x.test/v","download_type":"gif"}"#),
            "invalid_download_type"
        );
        assert_eq!(
            code(br#"{"url":"http://x.test/v","format_id":{"a":{}}}"#),
            "invalid_format"
        );
        assert_eq!(
            code(br#"{"url":"http://x.test/v","format_id":"best --exec x"}"#),
            "invalid_format"
        );
        assert_eq!(
            code(br#"{"url":"http://x.test/v","audio_format":"aac"}"#),
            "invalid_audio_format"
        );
        let r = parse(br#"{"url":"http://x.test/v","format_id":"bv*[height<=720]+ba/b"}"#).unwrap();
        assert_eq!(r.format_id.as_deref(), Some("bv*[height<=720]+ba/b"));
    }

    #[test]
    fn task_ids_are_uuids_only() {
        assert_eq!(
            task_id("6F1C1A52-9A7E-4D8B-8F0E-2F2B3F0D1E11").as_deref(),
            Some("6f1c1a52-9a7e-4d8b-8f0e-2f2b3f0d1e11")
        );
        for bad in [
            "..%2f..%2fetc%2fpasswd",
            "x",
            "",
            "6f1c1a52-9a7e-4d8b-8f0e-2f2b3f0d1e11.jpg",
            "%zz",
        ] {
            assert_eq!(task_id(bad), None, "{bad}");
        }
    }
}
