//! How the console writes values that several screens show: times, ledger
//! types. No tab imports another; what they share is here.

use chrono::{DateTime, Utc};
use ratatui::text::Span;

use super::widgets::safe;
use crate::domain::InvalidInput;
use crate::domain::ledger::EntryType;

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

/// The label the screen shows for a ledger type: `gift card`,
/// `adjustment`, else the database's name.
pub fn entry_label(kind: EntryType) -> &'static str {
    match kind {
        EntryType::AdminAdjustment => "adjustment",
        EntryType::GiftCard => "gift card",
        other => other.as_str(),
    }
}

/// Short names for the ledger types (they fit a narrow column).
pub fn type_label(kind: &str) -> Span<'_> {
    match EntryType::parse(kind) {
        Ok(t) => Span::raw(entry_label(t)),
        Err(_) => safe(kind),
    }
}

/// A ledger type as typed: the label the screen shows (`gift card`,
/// `adjustment`) or the database's name (`gift_card`), any case.
pub fn parse_entry_label(s: &str) -> Result<EntryType, InvalidInput> {
    let t = s.trim();
    EntryType::ALL
        .into_iter()
        .find(|k| entry_label(*k).eq_ignore_ascii_case(t))
        .map_or_else(
            || {
                EntryType::parse(&t.replace(' ', "_")).map_err(|_| {
                    InvalidInput::new(
                        "type",
                        "choose purchase, gift card, coupon, generation, training, refund or \
                         adjustment",
                    )
                })
            },
            Ok,
        )
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
        assert_eq!(type_label("admin_adjustment").content, "adjustment");
        for typed in ["gift card", "Gift Card", "gift_card", "gift-card"] {
            assert_eq!(parse_entry_label(typed), Ok(EntryType::GiftCard), "{typed}");
        }
        assert_eq!(
            parse_entry_label("adjustment"),
            Ok(EntryType::AdminAdjustment)
        );
        assert_eq!(
            parse_entry_label("admin_adjustment"),
            Ok(EntryType::AdminAdjustment)
        );
        assert!(parse_entry_label("bonus").is_err());
    }
}
