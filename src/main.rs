//! offlinetube: a self-hosted video download server. This reads the configuration and hands
//! it to the server (`lib.rs`).

use offlinetube::config::{self, Command};

fn main() {
    offlinetube::shutdown::block_signals();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match config::parse(&args, |k| std::env::var(k).ok()) {
        Ok(Command::Run(cfg)) => *cfg,
        Ok(Command::Help) => return print!("{}", config::help_text()),
        Ok(Command::Version) => return println!("offlinetube {}", env!("CARGO_PKG_VERSION")),
        Err(e) => {
            eprintln!("offlinetube: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = offlinetube::run(cfg) {
        eprintln!("offlinetube: {e}");
        std::process::exit(1);
    }
}
