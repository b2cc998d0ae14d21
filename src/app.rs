//! What every part of the server shares: configuration, tasks, the queue, the tools.

use crate::config::Config;
use crate::queue::Queue;
use crate::tasks::TaskStore;
use crate::tools::Tools;

pub struct App {
    pub cfg: Config,
    pub store: TaskStore,
    pub queue: Queue,
    pub tools: Tools,
}
