//! Database text on its way to the screen. Anything in the database may
//! have been typed by an app user, so every such string becomes a `Span`
//! through these helpers, which run `domain::text::sanitize` (no escape
//! sequences, no bidi overrides, one line). Text the console wrote itself
//! (labels, numbers) may use `Span::raw`.

use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Cell;

use crate::domain::text::sanitize_cow;

/// Untrusted text as a span; borrows when the text is already clean.
pub fn safe(s: &str) -> Span<'_> {
    Span::raw(sanitize_cow(s))
}

pub fn safe_styled(s: &str, style: Style) -> Span<'_> {
    Span::styled(sanitize_cow(s), style)
}

/// Optional untrusted text; absent shows as `-`.
pub fn safe_opt(s: Option<&str>) -> Span<'_> {
    match s {
        Some(s) => safe(s),
        None => Span::raw("-"),
    }
}

/// A table cell of untrusted text.
pub fn safe_cell(s: &str) -> Cell<'_> {
    Cell::from(safe(s))
}

/// Owned untrusted text (e.g. built with `format!` from database values).
pub fn safe_owned(s: String) -> Span<'static> {
    Span::raw(sanitize_cow(&s).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bidi_never_reach_a_span() {
        let evil = "a\u{1b}[2Jb\u{202e}c\nd";
        for span in [
            safe(evil),
            safe_opt(Some(evil)),
            safe_owned(evil.to_owned()),
        ] {
            assert!(
                !span
                    .content
                    .chars()
                    .any(|c| c.is_control() || c == '\u{202e}'),
                "{:?}",
                span.content
            );
        }
    }
}
