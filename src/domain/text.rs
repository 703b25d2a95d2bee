//! Text going in and out: untrusted database text on its way to a terminal,
//! and free text typed by the operator on its way into the database.
//!
//! Anything in the database may have been written by an app user (names,
//! emails, prompts, descriptions). Printed raw, an ESC could move the cursor or
//! rewrite the screen, and a bidi override could make `-50` read as `05-`.

use std::borrow::Cow;
use std::fmt;

use super::error::InvalidInput;

/// Line breaks and tabs: shown as one space so a cell stays on one line.
fn is_line_break_or_tab(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Bidi controls that reorder the text around them (embeddings, overrides,
/// isolates) or invisibly change how neutral characters are placed (marks).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

fn needs_cleaning(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_line_break_or_tab(c)
}

/// Like [`sanitize`], borrowing when the text is already clean (the common
/// case: this runs on every rendered cell).
pub fn sanitize_cow(s: &str) -> Cow<'_, str> {
    // Printable ASCII is by far the most common case; check it byte-wise.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(needs_cleaning) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut in_break = false;
    for c in s.chars() {
        if is_line_break_or_tab(c) {
            if !in_break {
                out.push(' ');
            }
            in_break = true;
            continue;
        }
        in_break = false;
        if is_bidi_control(c) {
            // Invisible by design: dropping them loses nothing readable.
        } else if c.is_control() {
            // Visible, so the operator sees that something odd was there.
            out.push('\u{FFFD}');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Makes untrusted text safe to print in a terminal cell: control characters
/// (C0 including ESC, DEL, C1) become U+FFFD, bidi controls are removed, and
/// each run of tabs/line breaks becomes a single space. Clean text comes back
/// unchanged. Zero-width characters are kept: they cannot move the cursor.
pub fn sanitize(s: &str) -> String {
    sanitize_cow(s).into_owned()
}

/// Cuts `s` to at most `max` characters, ending with '…' when it was cut.
/// Counts chars, not display columns.
pub fn truncate_width(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    // Byte offset of the `max`-th char, if there is one: then s is too long.
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some(_) => {
            let keep_end = s.char_indices().nth(max - 1).map_or(s.len(), |(i, _)| i);
            let mut out = String::with_capacity(keep_end + '…'.len_utf8());
            out.push_str(&s[..keep_end]);
            out.push('…');
            out
        }
    }
}

/// Checks free text typed by the operator (descriptions, notes): trimmed, no
/// control or bidi characters, at most `max_len` characters. Empty is allowed;
/// callers that need a value check for it.
pub fn check_free_text(
    field: &'static str,
    s: &str,
    max_len: usize,
) -> Result<String, InvalidInput> {
    let t = s.trim();
    if t.chars().any(char::is_control) {
        return Err(InvalidInput::new(field, "contains control characters"));
    }
    if t.chars().any(is_bidi_control) {
        return Err(InvalidInput::new(
            field,
            "contains invisible text-direction characters",
        ));
    }
    // Counting stops early so a huge paste costs no more than max_len chars.
    if t.chars().nth(max_len).is_some() {
        return Err(InvalidInput::new(
            field,
            format!("must be at most {max_len} characters"),
        ));
    }
    Ok(t.to_owned())
}

/// Why the operator made a change; stored in the audit log and on revoked
/// gift cards, so it is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_LEN: usize = 500;

    pub fn parse(s: &str) -> Result<Reason, InvalidInput> {
        let t = check_free_text("reason", s, Self::MAX_LEN)?;
        if t.is_empty() {
            return Err(InvalidInput::new("reason", "a reason is required"));
        }
        Ok(Reason(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_unchanged_and_borrowed() {
        for s in ["", "hello", "Zoë 🎉 日本語", "a\u{200B}b", "€100"] {
            assert!(matches!(sanitize_cow(s), Cow::Borrowed(_)), "{s:?}");
            assert_eq!(sanitize(s), s);
        }
    }

    #[test]
    fn escape_sequences_are_defused() {
        let out = sanitize("\u{1b}[31mred\u{1b}[0m");
        assert_eq!(out, "\u{FFFD}[31mred\u{FFFD}[0m");
        assert!(!out.contains('\u{1b}'));
    }

    #[test]
    fn all_control_characters_are_replaced() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let out = sanitize(&format!("a{c}b"));
            assert!(!out.chars().any(char::is_control), "{c:?} -> {out:?}");
            assert!(out.starts_with('a') && out.ends_with('b'));
        }
        assert_eq!(
            sanitize("a\0b\u{7f}c\u{9b}d"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d"
        );
    }

    #[test]
    fn line_breaks_and_tabs_become_one_space() {
        assert_eq!(sanitize("a\tb"), "a b");
        assert_eq!(sanitize("a\r\nb"), "a b");
        assert_eq!(sanitize("a\n\n\t\nb"), "a b");
        assert_eq!(sanitize("a\u{2028}b\u{85}c"), "a b c");
        assert_eq!(sanitize("\n"), " ");
    }

    #[test]
    fn bidi_controls_are_removed() {
        assert_eq!(sanitize("-50\u{202E}"), "-50");
        assert_eq!(sanitize("\u{2066}x\u{2069}\u{202A}y\u{202C}"), "xy");
        assert_eq!(sanitize("\u{200F}\u{200E}\u{061C}"), "");
    }

    #[test]
    fn sanitize_handles_huge_input() {
        let big = "\u{1b}".repeat(100_000);
        assert_eq!(sanitize(&big).chars().count(), 100_000);
        let big = "x".repeat(1_000_000);
        assert_eq!(sanitize(&big).len(), 1_000_000);
    }

    #[test]
    fn truncate_width_cuts_with_ellipsis() {
        assert_eq!(truncate_width("hello", 5), "hello");
        assert_eq!(truncate_width("hello", 10), "hello");
        assert_eq!(truncate_width("hello!", 5), "hell…");
        assert_eq!(truncate_width("hello", 1), "…");
        assert_eq!(truncate_width("hello", 0), "");
        assert_eq!(truncate_width("", 0), "");
        assert_eq!(truncate_width("", 3), "");
        assert_eq!(truncate_width("日本語テキスト", 4), "日本語…");
        assert_eq!(truncate_width("🎉🎉🎉", 3), "🎉🎉🎉");
        assert_eq!(truncate_width("ab", usize::MAX), "ab");
    }

    #[test]
    fn free_text_is_trimmed_and_may_be_empty() {
        assert_eq!(check_free_text("description", "  hi  ", 10).unwrap(), "hi");
        assert_eq!(check_free_text("description", "   ", 10).unwrap(), "");
        assert_eq!(check_free_text("description", "", 10).unwrap(), "");
        assert_eq!(
            check_free_text("description", "Zoë 日本", 6).unwrap(),
            "Zoë 日本"
        );
    }

    #[test]
    fn free_text_refuses_control_characters() {
        for s in ["a\u{1b}b", "a\nb", "a\tb", "a\0", "\u{9b}x", "x\u{7f}"] {
            let e = check_free_text("description", s, 100).unwrap_err();
            assert_eq!(e.field, "description");
            assert_eq!(e.message, "contains control characters");
        }
        // Surrounding whitespace (including newlines) is trimmed, not refused.
        assert_eq!(check_free_text("d", "\n hi \n", 10).unwrap(), "hi");
    }

    #[test]
    fn free_text_refuses_bidi_controls() {
        let e = check_free_text("description", "abc\u{202E}def", 100).unwrap_err();
        assert!(e.message.contains("direction"), "{e}");
    }

    #[test]
    fn free_text_refuses_too_long() {
        assert!(check_free_text("d", &"é".repeat(10), 10).is_ok());
        let e = check_free_text("d", &"é".repeat(11), 10).unwrap_err();
        assert_eq!(e.message, "must be at most 10 characters");
        assert!(check_free_text("d", &"x".repeat(5_000_000), 500).is_err());
        assert!(check_free_text("d", "x", 0).is_err());
    }

    #[test]
    fn reason_rules() {
        let r = Reason::parse("  customer asked  ").unwrap();
        assert_eq!(r.as_str(), "customer asked");
        assert_eq!(r.to_string(), "customer asked");
        for s in ["", "   ", "\n\t", "\u{3000}"] {
            let e = Reason::parse(s).unwrap_err();
            assert_eq!(e.field, "reason");
            assert_eq!(e.message, "a reason is required");
        }
        assert!(Reason::parse(&"x".repeat(500)).is_ok());
        assert_eq!(Reason::parse(&"x".repeat(501)).unwrap_err().field, "reason");
        assert_eq!(
            Reason::parse("a\u{1b}b").unwrap_err().message,
            "contains control characters"
        );
    }
}
