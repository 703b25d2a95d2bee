//! Logs go to a file, never to the screen (the console owns the terminal):
//! `$XDG_STATE_HOME/creditdesk/creditdesk.log` (else the cache directory).
//! `CREDITDESK_LOG` sets the filter, e.g. `CREDITDESK_LOG=debug`.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Keeps the background writer alive; dropping it flushes the log.
pub struct LogGuard {
    _guard: WorkerGuard,
    pub path: PathBuf,
}

/// Where the log goes, if the platform has a state or cache directory.
pub fn log_dir() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::cache_dir)
        .map(|d| d.join("creditdesk"))
}

/// Starts logging to the file. Without a writable directory (or when a
/// subscriber is already set, as in tests) the console runs without a log.
pub fn init() -> Option<LogGuard> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::NEVER)
        .filename_prefix("creditdesk.log")
        .build(&dir)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("CREDITDESK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(LogGuard {
        _guard: guard,
        path: dir.join("creditdesk.log"),
    })
}
