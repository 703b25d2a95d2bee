//! Issuing gift cards as an operator types it: `gift-cards issue`'s
//! arguments and the console's issue form both go through
//! [`IssueFields::parse`] (as coupons go through `CouponFields`), with the
//! one expiry parser [`parse_expiry`]; and the one line both print for the
//! cards issued, [`issued_summary`].
//!
//! `IssueRequest`, `CardValue`, `RecipientEmail` and `IssuedCard` are plain
//! data defined in `db::gift_cards` (no SQL in them); they belong here and
//! can move without changing this module's callers.

use chrono::{DateTime, Utc};

use super::InvalidInput;
use super::amounts::{
    parse_count, parse_duration, parse_positive_credits, parse_price, parse_time,
};
use super::text::{Reason, check_free_text};
use crate::db::gift_cards::{CardValue, IssueRequest, IssuedCard, MAX_ISSUE, RecipientEmail};

/// An expiry as typed: blank (never), a time (`2026-12-31`, `2026-12-31
/// 18:00` UTC, RFC 3339, `+90d`), or a duration from now (`90d`, `52w`). It
/// must be in the future. `field` names it in errors (`expires-at`).
pub fn parse_expiry(
    field: &'static str,
    s: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, InvalidInput> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let at = match parse_time(field, t, now) {
        Ok(at) => at,
        Err(time_error) => {
            // A trailing unit means a duration was meant: its message fits.
            let looks_like_duration = t.chars().last().is_some_and(char::is_alphabetic);
            match parse_duration(field, t) {
                Ok(d) => now
                    .checked_add_signed(d)
                    .ok_or_else(|| InvalidInput::new(field, "is too far in the future"))?,
                Err(e) if looks_like_duration => return Err(e),
                Err(_) => return Err(time_error),
            }
        }
    };
    if at <= now {
        return Err(InvalidInput::new(field, "must be in the future"));
    }
    Ok(Some(at))
}

/// A gift-card issue as typed, every field a string (`None` or blank: not
/// given). Field names in errors: `count`, `pack`, `credits`, `price`,
/// `recipient`, `expires-at`, `expires-in`, `reason`.
#[derive(Debug, Clone, Copy, Default)]
pub struct IssueFields<'a> {
    pub count: &'a str,
    /// A credit pack by name: it sets the credits and the price.
    pub pack: Option<&'a str>,
    pub credits: Option<&'a str>,
    pub price: Option<&'a str>,
    pub recipient: Option<&'a str>,
    /// A time or a duration from now (see [`parse_expiry`]).
    pub expires_at: Option<&'a str>,
    /// A duration from now (`--expires-in`).
    pub expires_in: Option<&'a str>,
    /// A note for the audit log.
    pub reason: Option<&'a str>,
}

/// The value, or `None` with its error collected.
fn keep<T>(errors: &mut Vec<InvalidInput>, r: Result<T, InvalidInput>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// `Some(text)` when given and not blank.
fn given(s: Option<&str>) -> Option<&str> {
    s.filter(|t| !t.trim().is_empty())
}

impl IssueFields<'_> {
    /// Parses every field, reporting every problem at once.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<IssueRequest, Vec<InvalidInput>> {
        let mut errors = Vec::new();
        let count = keep(&mut errors, parse_count("count", self.count, MAX_ISSUE));
        let credits = given(self.credits);
        let price = given(self.price);
        let value = match given(self.pack) {
            Some(pack) => {
                let name = keep(&mut errors, check_free_text("pack", pack, 100));
                for (field, typed) in [("credits", credits), ("price", price)] {
                    if typed.is_some() {
                        errors.push(InvalidInput::new(
                            field,
                            format!("leave blank: the pack sets the {field}"),
                        ));
                    }
                }
                name.map(CardValue::Pack)
            }
            None if credits.is_none() && price.is_none() => {
                errors.push(InvalidInput::new(
                    "credits",
                    "give credits and a price, or a credit pack",
                ));
                None
            }
            None => {
                let credits = keep(
                    &mut errors,
                    parse_positive_credits("credits", credits.unwrap_or("")),
                );
                let price = keep(&mut errors, parse_price("price", price.unwrap_or("")));
                credits
                    .zip(price)
                    .map(|(credits, price)| CardValue::Custom { credits, price })
            }
        };
        let recipient = given(self.recipient).map(|r| keep(&mut errors, RecipientEmail::parse(r)));
        let expires_at = match (given(self.expires_at), given(self.expires_in)) {
            (Some(_), Some(_)) => {
                errors.push(InvalidInput::new(
                    "expires-at",
                    "give an expiry time or a duration, not both",
                ));
                None
            }
            (Some(at), None) => keep(&mut errors, parse_expiry("expires-at", at, now)),
            (None, Some(d)) => keep(
                &mut errors,
                parse_duration("expires-in", d).and_then(|d| {
                    now.checked_add_signed(d)
                        .map(Some)
                        .ok_or_else(|| InvalidInput::new("expires-in", "is too far in the future"))
                }),
            ),
            (None, None) => Some(None),
        };
        let reason = given(self.reason).map(|r| keep(&mut errors, Reason::parse(r)));
        match (count, value, recipient, expires_at, reason) {
            (Some(count), Some(value), recipient, Some(expires_at), reason)
                if errors.is_empty() =>
            {
                Ok(IssueRequest {
                    value,
                    count,
                    recipient: recipient.flatten(),
                    expires_at,
                    reason: reason.flatten(),
                })
            }
            _ => Err(errors),
        }
    }
}

/// e.g. `issued 3 gift cards (ids 101..103), 100 credits each, price 9.99`
pub fn issued_summary(cards: &[IssuedCard]) -> String {
    let (Some(first), Some(last)) = (cards.first(), cards.last()) else {
        return "issued no gift cards".to_owned();
    };
    let ids = if first.id == last.id {
        format!("id {}", first.id)
    } else {
        format!("ids {}..{}", first.id, last.id)
    };
    let n = cards.len();
    let plural = if n == 1 { "" } else { "s" };
    format!(
        "issued {n} gift card{plural} ({ids}), {} credits each, price {}",
        first.credits, first.price
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal::Decimal;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap()
    }

    #[test]
    fn expiries_take_times_and_durations() {
        let now = now();
        let f = "expires-at";
        assert_eq!(parse_expiry(f, " ", now), Ok(None));
        assert_eq!(
            parse_expiry(f, "2026-12-31", now),
            Ok(Some(Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap()))
        );
        let in_90 = Some(now + chrono::Duration::days(90));
        assert_eq!(parse_expiry(f, "90d", now), Ok(in_90));
        assert_eq!(parse_expiry(f, "+90d", now), Ok(in_90));
        for bad in ["2020-01-01", "now", "soon", "0d", "2026-13-01"] {
            let e = parse_expiry(f, bad, now).unwrap_err();
            assert_eq!(e.field, "expires-at", "{bad}");
        }
        assert!(
            parse_expiry(f, "5000w", now)
                .unwrap_err()
                .message
                .contains("at most")
        );
    }

    #[test]
    fn a_pack_or_credits_and_a_price_and_every_error_at_once() {
        let ok = IssueFields {
            count: "2",
            credits: Some("100"),
            price: Some("9.99"),
            recipient: Some("HR@Acme.com"),
            expires_in: Some("30d"),
            reason: Some("spring"),
            ..IssueFields::default()
        }
        .parse(now())
        .unwrap();
        assert_eq!(ok.count, 2);
        assert_eq!(
            ok.value,
            CardValue::Custom {
                credits: 100,
                price: Decimal::new(999, 2)
            }
        );
        assert_eq!(ok.recipient.unwrap().as_str(), "hr@acme.com");
        assert_eq!(ok.expires_at, Some(now() + chrono::Duration::days(30)));

        let pack = IssueFields {
            count: "1",
            pack: Some("Pro"),
            price: Some(" "),
            ..IssueFields::default()
        }
        .parse(now())
        .unwrap();
        assert_eq!(pack.value, CardValue::Pack("Pro".into()));

        let errors = IssueFields {
            count: "0",
            pack: Some("Pro"),
            credits: Some("5"),
            recipient: Some("zoe"),
            expires_at: Some("2020-01-01"),
            reason: Some("bad\u{7}"),
            ..IssueFields::default()
        }
        .parse(now())
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["count", "credits", "recipient", "expires-at", "reason"]
        );
        let none = IssueFields {
            count: "1",
            ..IssueFields::default()
        }
        .parse(now())
        .unwrap_err();
        assert_eq!(none[0].field, "credits");
    }
}
