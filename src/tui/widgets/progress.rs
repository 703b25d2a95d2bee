//! A long run seen from the console (bulk fail, adjust many): the handle
//! the run reports its [`Progress`] to between chunks and that asks it to
//! stop there ([`BulkRun`]), and the bar drawn from it (count, rate, ETA).
//!
//! The run is one request (its reply is the report); the handle is shared
//! by the request and the dialog, which reads the last progress when it
//! draws. Nothing but the chunk loop writes it, and a stop takes effect
//! between chunks only: a chunk in flight is never cut off.

use std::sync::{Arc, Mutex};

use ratatui::text::{Line, Span};

use crate::db::bulk::{Progress, Stop};
use crate::tui::theme::Theme;

/// Shared by a run and its dialog. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct BulkRun {
    stop: Stop,
    last: Arc<Mutex<Option<Progress>>>,
}

impl BulkRun {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called by the run after each chunk.
    pub fn report(&self, p: Progress) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(p);
        }
    }

    /// The last progress reported, if the run has started.
    pub fn progress(&self) -> Option<Progress> {
        self.last.lock().ok().and_then(|l| *l)
    }

    /// Stop after the chunk in flight.
    pub fn stop(&self) {
        self.stop.stop();
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    pub fn stop_handle(&self) -> &Stop {
        &self.stop
    }
}

/// `[██████░░░░░░] 500/1250 · 2104/s · ETA 0.4s`, in `width` columns.
pub fn bar(p: Option<Progress>, width: u16, theme: &Theme) -> Line<'static> {
    let Some(p) = p else {
        return Line::from(Span::styled("starting…", theme.warning()));
    };
    let rate = p.rate();
    let eta = if p.done >= p.total {
        "done".to_owned()
    } else if rate > 0.0 {
        format!("ETA {:.1}s", (p.total - p.done) as f64 / rate)
    } else {
        "ETA …".to_owned()
    };
    let text = format!(" {}/{} · {rate:.0}/s · {eta}", p.done, p.total);
    let room = usize::from(width)
        .saturating_sub(text.chars().count() + 2)
        .min(40);
    let filled = (p.done * room).checked_div(p.total).unwrap_or(0).min(room);
    Line::from(vec![
        Span::raw("["),
        Span::styled("█".repeat(filled), theme.success()),
        Span::styled("░".repeat(room - filled), theme.dim()),
        Span::raw("]"),
        Span::raw(text),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bar_counts_and_estimates() {
        let run = BulkRun::new();
        let theme = Theme::NO_COLOR;
        assert_eq!(bar(run.progress(), 60, &theme).to_string(), "starting…");
        run.report(Progress {
            done: 500,
            total: 1000,
            elapsed: Duration::from_secs(1),
        });
        let line = bar(run.progress(), 60, &theme).to_string();
        assert!(line.ends_with("] 500/1000 · 500/s · ETA 1.0s"), "{line}");
        assert!(line.contains("████"), "{line}");
        let shared = run.clone();
        shared.stop();
        assert!(run.is_stopped());
    }
}
