//! offlinetube: a self-hosted video download server. The binary (`main.rs`) reads the
//! configuration and calls `run`; the parsers are also reachable from the fuzz targets.

mod api;
mod app;
mod clock;
pub mod config;
mod cookies;
mod discovery;
mod download;
mod events;
mod filenames;
mod files;
mod http;
mod info;
mod journal;
mod metrics;
mod process;
mod progress;
mod queue;
mod range;
mod server;
pub mod shutdown;
mod signature;
mod storage;
mod tasks;
mod thumbnails;
mod tools;
mod ui;
mod updater;
mod webhooks;
mod ytdlp;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use app::App;
use journal::{Journal, Loaded};
use tasks::TaskStore;

/// Opens the store, starts the download workers and serves HTTP until a SIGTERM or SIGINT.
pub fn run(cfg: config::Config) -> Result<(), String> {
    for dir in [&cfg.downloads_dir, &cfg.thumbnails_dir] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    if let Some(parent) = cfg
        .state_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let journal = Journal::new(cfg.state_file.clone());
    let mut tasks = match journal.load() {
        Ok(Loaded::Tasks(t)) => t,
        Ok(Loaded::Corrupt) => Vec::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", journal.path().display())),
    };
    // Media named `…__<uuid>.…` whose task is unknown (a lost or corrupt journal) become tasks.
    let known: HashSet<String> = tasks.iter().map(|t| t.id.clone()).collect();
    tasks.extend(storage::adopt(
        &cfg.downloads_dir,
        &cfg.thumbnails_dir,
        &known,
    ));
    // Whatever was queued or running when the server stopped runs again; yt-dlp resumes .part
    // files, and none from the old run may still be writing them.
    let mut resume = Vec::new();
    for t in tasks.iter_mut().filter(|t| t.status.is_active()) {
        download::stop_orphans(&cfg.downloads_dir, &t.id);
        t.reset_for_run();
        resume.push(t.id.clone());
    }
    // Timeouts and the connection cap come from our patched tiny_http (vendor/tiny_http).
    let server = tiny_http::Server::new(tiny_http::ServerConfig {
        read_timeout: Some(Duration::from_secs(cfg.read_timeout_secs)),
        write_timeout: Some(Duration::from_secs(cfg.write_timeout_secs)),
        max_connections: cfg.max_connections,
        // Every body we accept is read by the connection's thread, never by an HTTP worker.
        max_buffered_body: server::MAX_BODY,
        ..tiny_http::ServerConfig::new(tiny_http::ConfigListenAddr::IP(vec![cfg.listen]), None)
    })
    .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = server
        .server_addr()
        .to_ip()
        .map_or_else(|| cfg.listen.to_string(), |a| a.to_string());
    if !cfg.listen.ip().is_loopback() && cfg.token.is_none() {
        log::warn!("listening on {addr} without --token: anyone who can reach it can use it");
    }
    let tools = tools::Tools::probe(&cfg.yt_dlp, &cfg.ffmpeg);
    let hub = Arc::new(events::Hub::default());
    events::start_flusher(Arc::clone(&hub));
    let metrics = Arc::new(metrics::Metrics::default());
    let mut observers: Vec<Arc<dyn tasks::Observer>> = vec![hub.clone(), metrics.clone()];
    if let Some(w) = webhooks::Webhooks::start(cfg.webhooks.clone(), cfg.webhook_secret.clone()) {
        log::info!("webhooks: {}", cfg.webhooks.join(", "));
        observers.push(w);
    }
    let app = Arc::new(App {
        store: TaskStore::new(journal, tasks, observers),
        hub,
        discovery: discovery::Discovery::new(
            &cfg.yt_dlp,
            cookies::path_for(&cfg.state_file),
            tools.ffmpeg.as_deref(),
            Duration::from_secs(cfg.discovery_timeout_secs),
        ),
        queue: queue::Queue::default(),
        metrics,
        server: Arc::new(server),
        updater: updater::Updater::default(),
        tools,
        cfg,
    });
    log::info!(
        "{} tasks loaded, {} to resume; downloads in {}",
        app.store.len(),
        resume.len(),
        app.cfg.downloads_dir.display()
    );
    for id in resume {
        app.queue.push(id);
    }
    queue::start_workers(&app);
    let probing = Arc::clone(&app);
    std::thread::spawn(move || probing.tools.probe_yt_dlp());
    // The one line on stdout: where to reach the server (the port may have been chosen by the OS).
    println!("offlinetube listening on http://{addr}");
    shutdown::on_signal(Arc::clone(&app));
    server::serve(app);
    log::info!("stopped");
    Ok(())
}

/// The input-facing parsers, for the fuzz targets in `fuzz/` (`make fuzz`).
pub mod fuzzing {
    pub use crate::files::{is_servable_name, resolve_inside};
    pub use crate::http::percent_decode;
    pub use crate::range::{decide, Ranged};
    pub use crate::ytdlp::{parse_line, Line};
}
