//! Graceful stop on SIGTERM or SIGINT: stop taking requests, let short ones finish, stop the
//! yt-dlp children (their tasks stay active, so the next start resumes them), write the
//! journal, exit 0.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;

/// How long requests already being answered get to finish.
pub const DRAIN: Duration = Duration::from_secs(3);

fn signals() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        set
    }
}

/// Blocks SIGTERM and SIGINT in this thread and every thread started after it, so that only
/// the waiting thread receives them. Call first thing in `main`. (Children start with an empty
/// mask: std resets it before exec.)
pub fn block_signals() {
    let set = signals();
    // SAFETY: changes this thread's signal mask only.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Waits on a thread of its own for SIGTERM or SIGINT, then stops the server.
pub fn on_signal(app: Arc<App>) {
    let spawned = std::thread::Builder::new()
        .name("shutdown".into())
        .spawn(move || {
            let set = signals();
            let mut sig = 0;
            // SAFETY: sigwait reads the set and writes the received signal number.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                return;
            }
            log::info!("signal {sig}: stopping");
            app.queue.stop_all();
            app.store.flush();
            crate::server::stop(&app);
        });
    if let Err(e) = spawned {
        log::error!("cannot watch for SIGTERM ({e}); stop the server with SIGKILL");
    }
}
