//! The progress bar of long runs: one line on stderr, redrawn in place, with
//! the count and the rate; only when stderr is a terminal, and never with
//! `--json` (whose output is for programs).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use crate::db::bulk::Progress;

pub struct Bar {
    label: String,
    enabled: bool,
    drawn: Mutex<bool>,
}

impl Bar {
    /// A bar for `label` (`failing batches`), drawn when `wanted` and stderr
    /// is a terminal.
    pub fn new(label: &str, wanted: bool) -> Self {
        Self {
            label: label.to_owned(),
            enabled: wanted && std::io::stderr().is_terminal(),
            drawn: Mutex::new(false),
        }
    }

    pub fn update(&self, p: Progress) {
        if !self.enabled || p.total == 0 {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", render(&self.label, p, 30));
        let _ = err.flush();
        if let Ok(mut drawn) = self.drawn.lock() {
            *drawn = true;
        }
    }

    /// Leaves the last state on its own line.
    pub fn finish(&self) {
        if self.drawn.lock().map(|d| *d).unwrap_or(false) {
            eprintln!();
        }
    }
}

/// `failing batches [##########----------] 5000/10000  2104/s  2.4s`
pub fn render(label: &str, p: Progress, width: usize) -> String {
    let filled = (p.done * width)
        .checked_div(p.total)
        .unwrap_or(0)
        .min(width);
    format!(
        "{label} [{}{}] {}/{}  {:.0}/s  {:.1}s",
        "#".repeat(filled),
        "-".repeat(width - filled),
        p.done,
        p.total,
        p.rate(),
        p.elapsed.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bar_shows_count_and_rate() {
        let p = Progress {
            done: 5000,
            total: 10_000,
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(
            render("failing", p, 10),
            "failing [#####-----] 5000/10000  2500/s  2.0s"
        );
        let start = Progress {
            done: 0,
            total: 3,
            elapsed: Duration::ZERO,
        };
        assert_eq!(render("x", start, 4), "x [----] 0/3  0/s  0.0s");
    }
}
