//! What every part of the server shares: configuration, tasks, the queue, the tools.

use std::sync::Arc;

use crate::config::Config;
use crate::discovery::Discovery;
use crate::events::Hub;
use crate::metrics::Metrics;
use crate::queue::Queue;
use crate::tasks::TaskStore;
use crate::tools::Tools;
use crate::updater::Updater;

pub struct App {
    pub cfg: Config,
    pub store: TaskStore,
    pub queue: Queue,
    pub tools: Tools,
    pub hub: Arc<Hub>,
    pub discovery: Discovery,
    pub metrics: Arc<Metrics>,
    /// The listener, for its count of open connections.
    pub server: Arc<tiny_http::Server>,
    pub updater: Updater,
}
