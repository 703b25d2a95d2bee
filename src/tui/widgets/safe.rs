//! Database text on its way to the screen. Anything in the database may
//! have been typed by an app user, so every such string becomes a `Span`
//! through these helpers, which run `domain::text::sanitize` (no escape
//! sequences, no bidi overrides, one line) and then [`clean`] (no
//! character whose width terminals disagree on or that has none: nothing
//! that could shift the columns after it or leave stale cells). Text the
//! console wrote itself (labels, numbers) may use `Span::raw`.

use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Cell;

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

use crate::domain::text::sanitize_cow;

/// Combining marks kept on one character at most (more only stack up).
const MAX_MARKS: usize = 2;

/// Invisible characters that join, select a presentation or tag: how wide
/// what they touch is drawn depends on the terminal (a ZWJ family is one
/// emoji in some, three in others; ❤ + VS16 is one cell or two), so the
/// screen's idea of the columns would drift from the terminal's.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                     // soft hyphen
            | '\u{034F}'               // combining grapheme joiner
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // hangul fillers
            | '\u{180B}'..='\u{180F}' // mongolian selectors
            | '\u{200B}'..='\u{200D}' // zero-width space, (non-)joiner
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{FEFF}'               // byte order mark
            | '\u{1F3FB}'..='\u{1F3FF}' // skin tones
            | '\u{E0000}'..='\u{E007F}' // tags
            | '\u{E0100}'..='\u{E01EF}' // variation selectors
    )
}

/// A regional indicator (two make a flag, drawn 1, 2 or 4 cells wide
/// depending on the terminal) as its plain letter: 🇩🇪 shows as `DE`.
fn regional_letter(c: char) -> Option<char> {
    let n = u32::from(c).checked_sub(0x1F1E6)?;
    (n < 26).then(|| char::from(b'A' + n as u8))
}

fn needs_cleaning(c: char) -> bool {
    !c.is_ascii() && (is_invisible(c) || regional_letter(c).is_some() || c.width() == Some(0))
}

/// `s` with a width every terminal agrees on: invisible joiners, selectors,
/// tags and skin tones dropped, flags as letters, combining marks only on a
/// character (at most [`MAX_MARKS`] each). Clean text comes back borrowed.
/// Run after `sanitize_cow` (controls are its business).
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || !s.chars().any(needs_cleaning) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    // Marks on the character before (None: no character to carry them).
    let mut marks: Option<usize> = None;
    for c in s.chars() {
        if let Some(letter) = regional_letter(c) {
            out.push(letter);
            marks = Some(0);
        } else if is_invisible(c) {
        } else if c.width() == Some(0) {
            if let Some(n) = marks.as_mut()
                && *n < MAX_MARKS
            {
                *n += 1;
                out.push(c);
            }
        } else {
            out.push(c);
            marks = Some(0);
        }
    }
    Cow::Owned(out)
}

/// Untrusted text made safe for a terminal cell: `sanitize_cow`, then
/// [`clean`]. Borrows when the text is already clean.
pub fn text(s: &str) -> Cow<'_, str> {
    match sanitize_cow(s) {
        Cow::Borrowed(b) => clean(b),
        Cow::Owned(o) => Cow::Owned(clean(&o).into_owned()),
    }
}

/// Untrusted text as a span; borrows when the text is already clean.
pub fn safe(s: &str) -> Span<'_> {
    Span::raw(text(s))
}

pub fn safe_styled(s: &str, style: Style) -> Span<'_> {
    Span::styled(text(s), style)
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
    Span::raw(text(&s).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_terminals_disagree_on_are_made_plain() {
        use unicode_width::UnicodeWidthStr;
        assert!(matches!(clean("Ana López 李小龙 😀"), Cow::Borrowed(_)));
        // A ZWJ family, a heart with VS16, a flag, a skin tone, zero-width
        // spaces, a BOM, a tag sequence (the Scottish flag).
        assert_eq!(clean("👨\u{200D}👩\u{200D}👧"), "👨👩👧");
        assert_eq!(clean("❤\u{FE0F}"), "❤");
        assert_eq!(clean("🇩🇪 Berlin"), "DE Berlin");
        assert_eq!(clean("👍\u{1F3FD}"), "👍");
        assert_eq!(clean("a\u{200B}b\u{FEFF}c\u{00AD}d"), "abcd");
        assert_eq!(
            clean("🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"),
            "🏴"
        );
        // Combining marks: kept on a character, two at most; none alone.
        assert_eq!(clean("e\u{0301}"), "e\u{0301}");
        assert_eq!(clean("\u{0301}x"), "x");
        assert_eq!(
            clean("Z\u{0336}\u{0337}\u{0338}\u{0339}a"),
            "Z\u{0336}\u{0337}a"
        );
        // What is left has the width of its characters.
        let s = text("\u{1b}[2J🇺🇸\u{200D}❤\u{FE0F}\u{202E}名");
        assert_eq!(
            s.width(),
            s.chars().map(|c| c.width().unwrap_or(0)).sum::<usize>()
        );
    }

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
