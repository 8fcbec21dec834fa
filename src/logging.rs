//! Logs (ours and llama.cpp's) go to a file in the state folder, never to the terminal.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::fsutil;

/// Sends `tracing` output (including llama.cpp's logs) to `<state dir>/omost.log`. Returns the file's
/// path, or `None` when it cannot be opened (then logs are dropped).
pub fn init_file_logging() -> Option<PathBuf> {
    let dir = fsutil::state_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("omost.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let level = match std::env::var("OMOST_LOG").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("trace") => tracing::Level::TRACE,
        Ok("warn") => tracing::Level::WARN,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_max_level(level)
        .try_init()
        .ok()?;
    Some(path)
}
