//! Gift-card lifecycle rules.
//!
//! `pending` (bought, not yet paid/activated) -> `active` -> `redeemed`; a
//! card may also end `expired` or `revoked`. The stored status is not the
//! whole story: a card past `expiresAt` is expired whatever the status says,
//! because nothing flips the status when the date passes. Expiry is the
//! `expires_at` instant itself.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::error::{InvalidInput, Refusal};

/// `gift_card_status` in the database (with the added `revoked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GiftCardStatus {
    Pending,
    Active,
    Redeemed,
    Expired,
    Revoked,
}

impl GiftCardStatus {
    pub const ALL: [GiftCardStatus; 5] = [
        GiftCardStatus::Pending,
        GiftCardStatus::Active,
        GiftCardStatus::Redeemed,
        GiftCardStatus::Expired,
        GiftCardStatus::Revoked,
    ];

    /// The database enum label.
    pub fn as_str(self) -> &'static str {
        match self {
            GiftCardStatus::Pending => "pending",
            GiftCardStatus::Active => "active",
            GiftCardStatus::Redeemed => "redeemed",
            GiftCardStatus::Expired => "expired",
            GiftCardStatus::Revoked => "revoked",
        }
    }

    /// Parses a label in any case (field "status").
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let t = s.trim();
        GiftCardStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                InvalidInput::new(
                    "status",
                    "choose pending, active, redeemed, expired or revoked",
                )
            })
    }
}

impl FromStr for GiftCardStatus {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GiftCardStatus::parse(s)
    }
}

impl fmt::Display for GiftCardStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn past_expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|at| now >= at)
}

/// Whether a card can be redeemed at `now`. A redeemed or revoked card is
/// reported as such even when it is also past its date (that is the more
/// useful answer); otherwise the date wins over the stored status.
pub fn check_redeemable(
    status: GiftCardStatus,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    match status {
        GiftCardStatus::Redeemed => Err(Refusal::GiftCardAlreadyRedeemed),
        GiftCardStatus::Revoked => Err(Refusal::GiftCardRevoked),
        GiftCardStatus::Expired => Err(Refusal::GiftCardExpired { expires_at }),
        _ if past_expiry(expires_at, now) => Err(Refusal::GiftCardExpired { expires_at }),
        GiftCardStatus::Pending => Err(Refusal::GiftCardPending),
        GiftCardStatus::Active => Ok(()),
    }
}

/// Only pending and active cards can be revoked. A redeemed card's credits
/// are already spent or in a balance; the refusal tells the operator to use a
/// balance adjustment instead.
pub fn check_revocable(status: GiftCardStatus) -> Result<(), Refusal> {
    match status {
        GiftCardStatus::Pending | GiftCardStatus::Active => Ok(()),
        other => Err(Refusal::GiftCardNotRevocable {
            status: other.as_str().to_owned(),
        }),
    }
}

/// The status to show: a pending or active card past its date shows as
/// expired.
pub fn effective_status(
    status: GiftCardStatus,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> GiftCardStatus {
    match status {
        GiftCardStatus::Pending | GiftCardStatus::Active if past_expiry(expires_at, now) => {
            GiftCardStatus::Expired
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::GiftCardStatus::*;
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn status_round_trips() {
        for s in GiftCardStatus::ALL {
            assert_eq!(GiftCardStatus::parse(s.as_str()), Ok(s));
            assert_eq!(s.to_string().parse::<GiftCardStatus>(), Ok(s));
        }
        assert_eq!(GiftCardStatus::parse(" ACTIVE "), Ok(Active));
        assert_eq!(Revoked.as_str(), "revoked");
    }

    #[test]
    fn bad_status() {
        for s in ["", "void", "activ", "active\u{1b}", "actíve"] {
            let e = GiftCardStatus::parse(s).unwrap_err();
            assert_eq!(e.field, "status");
            assert!(e.message.starts_with("choose"), "{s:?}");
        }
    }

    #[test]
    fn active_card_in_date_is_redeemable() {
        assert_eq!(check_redeemable(Active, None, now()), Ok(()));
        let later = Some(now() + Duration::seconds(1));
        assert_eq!(check_redeemable(Active, later, now()), Ok(()));
    }

    #[test]
    fn each_refusal() {
        assert_eq!(
            check_redeemable(Pending, None, now()),
            Err(Refusal::GiftCardPending)
        );
        assert_eq!(
            check_redeemable(Redeemed, None, now()),
            Err(Refusal::GiftCardAlreadyRedeemed)
        );
        assert_eq!(
            check_redeemable(Revoked, None, now()),
            Err(Refusal::GiftCardRevoked)
        );
        assert_eq!(
            check_redeemable(Expired, None, now()),
            Err(Refusal::GiftCardExpired { expires_at: None })
        );
    }

    #[test]
    fn date_beats_stored_status() {
        let past = Some(now() - Duration::days(1));
        for s in [Active, Pending, Expired] {
            assert_eq!(
                check_redeemable(s, past, now()),
                Err(Refusal::GiftCardExpired { expires_at: past }),
                "{s}"
            );
        }
        // The expiry instant itself is already expired.
        assert_eq!(
            check_redeemable(Active, Some(now()), now()),
            Err(Refusal::GiftCardExpired {
                expires_at: Some(now())
            })
        );
        // Redeemed and revoked are reported as such first.
        assert_eq!(
            check_redeemable(Redeemed, past, now()),
            Err(Refusal::GiftCardAlreadyRedeemed)
        );
        assert_eq!(
            check_redeemable(Revoked, past, now()),
            Err(Refusal::GiftCardRevoked)
        );
    }

    #[test]
    fn revocation() {
        assert_eq!(check_revocable(Pending), Ok(()));
        assert_eq!(check_revocable(Active), Ok(()));
        for s in [Redeemed, Expired, Revoked] {
            assert_eq!(
                check_revocable(s),
                Err(Refusal::GiftCardNotRevocable {
                    status: s.as_str().into()
                })
            );
        }
        let m = check_revocable(Redeemed).unwrap_err().to_string();
        assert!(m.contains("balance adjustment"), "{m}");
    }

    #[test]
    fn shown_status() {
        let past = Some(now() - Duration::seconds(1));
        let future = Some(now() + Duration::days(1));
        assert_eq!(effective_status(Active, past, now()), Expired);
        assert_eq!(effective_status(Pending, past, now()), Expired);
        assert_eq!(effective_status(Active, future, now()), Active);
        assert_eq!(effective_status(Active, None, now()), Active);
        assert_eq!(effective_status(Redeemed, past, now()), Redeemed);
        assert_eq!(effective_status(Revoked, past, now()), Revoked);
        assert_eq!(effective_status(Expired, future, now()), Expired);
    }
}
