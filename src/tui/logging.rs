//! Logs go to a file, never to the screen (the console owns the terminal):
//! `$XDG_STATE_HOME/creditdesk/creditdesk.log` (else the cache directory).
//! `CREDITDESK_LOG` sets the filter, e.g. `CREDITDESK_LOG=debug`.
//!
//! The file is readable by its owner only (0600, in a 0700 directory): it
//! names targets and operators. Every line starts with `pid=N`, so several
//! sessions appending to one file stay apart.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
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
    let (file, path) = open_log(&log_dir()?).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(PidLines::new(file, std::process::id()));
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
        path,
    })
}

/// Opens `dir/creditdesk.log` for appending, creating the directory (0700)
/// and the file (0600) as needed; a file left with wider permissions is
/// narrowed to 0600.
pub fn open_log(dir: &Path) -> io::Result<(File, PathBuf)> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let path = dir.join("creditdesk.log");
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)?;
    file.set_permissions(Permissions::from_mode(0o600))?;
    Ok((file, path))
}

/// A writer that starts every line with `pid=N `.
pub struct PidLines<W> {
    inner: W,
    prefix: Vec<u8>,
    at_line_start: bool,
}

impl<W> PidLines<W> {
    pub fn new(inner: W, pid: u32) -> Self {
        Self {
            inner,
            prefix: format!("pid={pid} ").into_bytes(),
            at_line_start: true,
        }
    }
}

impl<W: Write> Write for PidLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + self.prefix.len());
        for &b in buf {
            if self.at_line_start {
                out.extend_from_slice(&self.prefix);
                self.at_line_start = false;
            }
            out.push(b);
            self.at_line_start = b == b'\n';
        }
        // One write per event: lines from several processes don't interleave
        // (the file is opened for appending).
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_carries_the_process_id() {
        let mut w = PidLines::new(Vec::new(), 42);
        w.write_all(b"first\nsecond\n").expect("write");
        w.write_all(b"third, ").expect("write");
        w.write_all(b"continued\n").expect("write");
        let text = String::from_utf8(w.inner).expect("utf8");
        assert_eq!(
            text,
            "pid=42 first\npid=42 second\npid=42 third, continued\n"
        );
    }

    #[test]
    fn the_log_is_private_however_it_was_left() {
        let dir = std::env::temp_dir().join(format!("creditdesk-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        let (mut file, path) = open_log(&dir.join("creditdesk")).expect("open");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("creditdesk")), 0o700);
        writeln!(file, "one").expect("write");
        drop(file);
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        let (mut file, _) = open_log(&dir.join("creditdesk")).expect("reopen");
        assert_eq!(mode(&path), 0o600);
        writeln!(file, "two").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "one\ntwo\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
