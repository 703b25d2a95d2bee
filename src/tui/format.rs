//! How the console writes values that several screens show: times, ledger
//! types. No tab imports another; what they share is here.

use chrono::{DateTime, Utc};
use ratatui::text::Span;

use super::widgets::safe;

/// Times to the minute, in UTC: `2026-03-14 09:30`.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// `2026-03-14`.
pub fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// To the second: `2026-03-14 09:30:00 UTC`.
pub fn exact(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Short names for the ledger types (they fit a narrow column).
pub fn type_label(kind: &str) -> Span<'_> {
    match kind {
        "admin_adjustment" => Span::raw("adjustment"),
        "gift_card" => Span::raw("gift card"),
        other => safe(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_and_labels() {
        let t = Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 5).unwrap();
        assert_eq!(when(t), "2026-03-14 09:30");
        assert_eq!(date(t), "2026-03-14");
        assert_eq!(exact(t), "2026-03-14 09:30:05 UTC");
        assert_eq!(type_label("gift_card").content, "gift card");
        assert_eq!(type_label("refund").content, "refund");
    }
}
