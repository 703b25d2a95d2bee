//! The two ways an action is turned down before (or instead of) touching the
//! database: the operator typed something malformed ([`InvalidInput`]), or the
//! input is fine but a business rule forbids the action ([`Refusal`]).
//!
//! Both are plain data so the UI can show them inline and tests can compare
//! them. Messages are one line of English without a trailing period, written
//! for the operator, not the developer.

use chrono::{DateTime, Utc};

use super::text::sanitize_cow;

/// A field of a form or command-line argument could not be accepted.
///
/// `field` names the form field (e.g. `"code"`, `"reason"`) so the UI can put
/// the message next to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A rule refused the action; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `key` is what the operator typed, so it is sanitised before display.
    #[error("no {what} matches {}", sanitize_cow(.key))]
    NotFound { what: &'static str, key: String },

    #[error("the coupon is inactive")]
    CouponInactive,

    /// Deactivating twice would write a second audit row for no change.
    #[error("the coupon is already inactive")]
    CouponAlreadyInactive,

    /// Stored data outside the rules (e.g. written by another tool): not paid out.
    #[error(
        "the coupon's value {value} is not a whole number of credits from 1 to 1000000: it cannot be redeemed"
    )]
    CouponValueNotPayable { value: String },

    #[error("the coupon is not valid before {}", fmt_time(.valid_from))]
    CouponNotYetValid { valid_from: DateTime<Utc> },

    #[error("the coupon expired at {}", fmt_time(.valid_until))]
    CouponExpired { valid_until: DateTime<Utc> },

    #[error("the coupon has been used up: all {max_uses} uses are taken")]
    CouponExhausted { max_uses: i32 },

    /// One redemption per coupon and user (a unique index in the database).
    #[error("this user has already redeemed the coupon")]
    CouponAlreadyRedeemed,

    #[error(
        "a {discount_type} coupon applies at checkout in the web app; only credits coupons can be redeemed here"
    )]
    CouponAppliesAtCheckout { discount_type: String },

    #[error("the gift card is still pending: it cannot be redeemed until it is activated")]
    GiftCardPending,

    #[error("{}", gift_card_expired_message(.expires_at))]
    GiftCardExpired { expires_at: Option<DateTime<Utc>> },

    #[error("the gift card has been revoked")]
    GiftCardRevoked,

    #[error("the gift card has already been redeemed")]
    GiftCardAlreadyRedeemed,

    /// A redeemed card's credits are already in a balance; revoking the card
    /// would not take them back, so the operator is pointed elsewhere.
    #[error("{}", not_revocable_message(.status))]
    GiftCardNotRevocable { status: String },

    /// Gift cards are issued from an active credit pack; `active` lists the
    /// names the operator can choose from.
    #[error("{}", pack_unavailable_message(.name, *.inactive, .active))]
    CreditPackUnavailable {
        name: String,
        inactive: bool,
        active: Vec<String>,
    },

    #[error("balance {balance} cannot take {change}: it would go below zero")]
    InsufficientCredits { balance: i64, change: i64 },

    /// Balances are `integer` (i32) in the database.
    #[error("balance {balance} cannot take {change}: it would exceed the largest balance ({max})", max = i32::MAX)]
    BalanceOverflow { balance: i64, change: i64 },

    #[error("the batch is {}: only a generating batch can be marked failed", sanitize_cow(.status))]
    BatchNotFailable { status: String },

    #[error("a refund of {requested} credits exceeds the {charged} credits charged")]
    RefundExceedsCharge { charged: i64, requested: i64 },

    /// A refund must give credits back; zero or negative makes no sense.
    #[error("a refund must be at least 1 credit, not {requested}")]
    RefundNotPositive { requested: i64 },

    /// The batch charged nothing, so there is nothing to give back.
    #[error("the batch charged no credits: there is nothing to refund")]
    NothingToRefund,

    #[error("this batch has already been refunded")]
    BatchAlreadyRefunded,

    /// Failing a failed batch again changes nothing; only its refund is left.
    #[error("the batch is already marked failed: only a refund can still be given")]
    BatchAlreadyFailed,

    #[error("this idempotency key was already used for a different request")]
    IdempotencyKeyReused,

    #[error("the code {} is already in use", sanitize_cow(.code))]
    DuplicateCode { code: String },

    #[error("the session is read-only: no change was made")]
    ReadOnly,

    /// An email names several users (the app's table may allow it): the
    /// operator must say which, by id.
    #[error("{} names {} users ({}): give the id of the one you mean", sanitize_cow(.email), .ids.len(), ids_list(.ids))]
    AmbiguousUser { email: String, ids: Vec<i32> },

    /// Four eyes: the login that asked for a change can't decide it.
    #[error("a request needs a second person: the login that asked for it cannot decide it")]
    OwnRequest,

    #[error("request #{id} was already {status} by {}", sanitize_cow(.decided_by))]
    AlreadyDecided {
        id: i64,
        status: String,
        decided_by: String,
    },

    #[error("request #{id} expired at {}: ask again", fmt_time(.expires_at))]
    RequestExpired { id: i64, expires_at: DateTime<Utc> },

    #[error("a role named {} already exists", sanitize_cow(.login))]
    OperatorExists { login: String },

    #[error("you cannot disable the login you are using")]
    OwnLogin,

    /// The five group roles (or one of them) don't exist yet.
    #[error("the group role {} does not exist: `creditdesk doctor` prints the SQL to create it", sanitize_cow(.role))]
    RolesMissing { role: String },

    #[error("this database has no creditdesk schema yet: run `creditdesk migrate`")]
    NotInstalled,

    #[error(
        "this database's creditdesk schema is at migration {have}, this creditdesk needs {need}: run `creditdesk migrate`"
    )]
    SchemaBehind { have: i64, need: i64 },

    #[error(
        "this database's creditdesk schema (migration {have}) is newer than this creditdesk knows ({need}): use a newer creditdesk"
    )]
    SchemaAhead { have: i64, need: i64 },

    /// The login is in no creditdesk group and doesn't own the schema.
    #[error("the login {} is not a creditdesk operator: an admin adds it with `creditdesk operators add`", sanitize_cow(.login))]
    NotAnOperator { login: String },

    /// A refusal from the database this version has no words of its own for.
    #[error("{}", sanitize_cow(.message))]
    Other { message: String },

    /// The login's creditdesk groups don't allow the action (the database
    /// refuses it too).
    #[error("your role ({}) may not {action}", sanitize_cow(.role))]
    NotPermitted { role: String, action: &'static str },

    #[error("the database already has {users} users; seed only loads an empty database")]
    DatabaseNotEmpty { users: i64 },

    /// The ledger check found users whose `credits` differ from the sum of
    /// their ledger entries (the invariant the ledger exists to keep).
    #[error("{}", ledger_mismatch_message(*.users))]
    LedgerMismatch { users: usize },

    /// An entry is reversed at most once (a unique index in the database).
    #[error("{}", already_reversed_message(*.entry, *.by))]
    EntryAlreadyReversed { entry: i32, by: Option<i32> },

    /// Purchases, generation and training charges, and reversals themselves
    /// are given back otherwise; `message` says how.
    #[error("{}", sanitize_cow(.message))]
    EntryNotReversible { kind: String, message: String },

    /// A reversal takes back at most what the entry booked.
    #[error("a reversal of entry {entry} is at most {} credits, the other way", -.original)]
    ReversalExceedsOriginal {
        entry: i32,
        original: i64,
        requested: i64,
    },

    /// Reversing a gift-card redemption makes the card active again; a card
    /// that expired since, or is no longer this user's, can't be.
    #[error("{}", not_reactivatable_message(.status, .expires_at))]
    GiftCardNotReactivatable {
        status: String,
        expires_at: Option<DateTime<Utc>>,
    },

    /// Rows of an adjustments file the database would not book (with their
    /// line numbers); without `--skip-invalid` nothing of the file is.
    #[error("{}", rows_refused_message(*.count, .rows))]
    RowsRefused {
        count: usize,
        rows: Vec<(usize, String)>,
    },

    /// A bulk refund above `approval.bulk_refund_credits` waits for a
    /// second person; a call that tries to book more at once is refused.
    #[error(
        "these batches refund {total} credits, more than the {threshold} a bulk refund gives without a second person: nothing was written"
    )]
    BulkOverThreshold { total: i64, threshold: i64 },
}

/// Whole seconds in UTC: database timestamps carry microseconds nobody needs
/// to read.
pub fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn gift_card_expired_message(expires_at: &Option<DateTime<Utc>>) -> String {
    match expires_at {
        Some(t) => format!("the gift card expired at {}", fmt_time(t)),
        None => "the gift card has expired".to_owned(),
    }
}

fn not_revocable_message(status: &str) -> String {
    if status == "redeemed" {
        "a redeemed gift card cannot be revoked: its credits are already in the user's balance; \
         use a balance adjustment instead"
            .to_owned()
    } else {
        format!(
            "the gift card is {}: only pending and active cards can be revoked",
            sanitize_cow(status)
        )
    }
}

fn pack_unavailable_message(name: &str, inactive: bool, active: &[String]) -> String {
    let what = if inactive {
        format!("the credit pack {} is inactive", sanitize_cow(name))
    } else {
        format!("no credit pack is named {}", sanitize_cow(name))
    };
    if active.is_empty() {
        format!("{what}, and no pack is active")
    } else {
        let names: Vec<_> = active.iter().map(|n| sanitize_cow(n)).collect();
        format!("{what}: choose {}", names.join(", "))
    }
}

fn ids_list(ids: &[i32]) -> String {
    ids.iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn already_reversed_message(entry: i32, by: Option<i32>) -> String {
    match by {
        Some(by) => format!("entry {entry} was already reversed by entry {by}"),
        None => format!("entry {entry} was already reversed"),
    }
}

fn not_reactivatable_message(status: &str, expires_at: &Option<DateTime<Utc>>) -> String {
    match expires_at {
        Some(at) => format!(
            "the gift card expired at {}: active again it could not be redeemed, so its credits \
             would be lost; take them back with an adjustment instead",
            fmt_time(at)
        ),
        None => format!(
            "the gift card is {} and not redeemed by this user now: it can't be made active again",
            sanitize_cow(status)
        ),
    }
}

fn rows_refused_message(count: usize, rows: &[(usize, String)]) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(3)
        .map(|(line, m)| format!("line {line}: {}", sanitize_cow(m)))
        .collect();
    let more = if count > shown.len() {
        format!("; and {} more", count - shown.len())
    } else {
        String::new()
    };
    format!(
        "{count} row{} of the file can't be booked ({}{more}): nothing was written",
        if count == 1 { "" } else { "s" },
        shown.join("; ")
    )
}

fn ledger_mismatch_message(users: usize) -> String {
    let who = if users == 1 {
        "1 user's balance differs".to_owned()
    } else {
        format!("{users} users' balances differ")
    };
    format!("{who} from the sum of their ledger entries")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
    }

    #[test]
    fn invalid_input_displays_field_and_message() {
        let e = InvalidInput::new("code", "is too short");
        assert_eq!(e.to_string(), "code: is too short");
        assert_eq!(e.field, "code");
    }

    #[test]
    fn messages_match_the_spec() {
        let nf = Refusal::NotFound {
            what: "user",
            key: "#7".into(),
        };
        assert_eq!(nf.to_string(), "no user matches #7");
        assert_eq!(
            Refusal::CouponAppliesAtCheckout {
                discount_type: "percentage".into()
            }
            .to_string(),
            "a percentage coupon applies at checkout in the web app; only credits coupons can be redeemed here"
        );
        assert_eq!(
            Refusal::InsufficientCredits {
                balance: 5,
                change: -10
            }
            .to_string(),
            "balance 5 cannot take -10: it would go below zero"
        );
        assert_eq!(
            Refusal::ReadOnly.to_string(),
            "the session is read-only: no change was made"
        );
    }

    #[test]
    fn times_are_shown_to_the_second() {
        let at = t() + chrono::Duration::microseconds(123_456);
        assert_eq!(
            Refusal::CouponExpired { valid_until: at }.to_string(),
            "the coupon expired at 2026-01-02 03:04:05 UTC"
        );
        assert_eq!(
            Refusal::CouponNotYetValid { valid_from: at }.to_string(),
            "the coupon is not valid before 2026-01-02 03:04:05 UTC"
        );
        assert_eq!(
            Refusal::GiftCardExpired {
                expires_at: Some(at)
            }
            .to_string(),
            "the gift card expired at 2026-01-02 03:04:05 UTC"
        );
        assert_eq!(
            Refusal::GiftCardExpired { expires_at: None }.to_string(),
            "the gift card has expired"
        );
    }

    #[test]
    fn bulk_and_reversal_messages() {
        assert_eq!(
            Refusal::EntryAlreadyReversed {
                entry: 4,
                by: Some(9)
            }
            .to_string(),
            "entry 4 was already reversed by entry 9"
        );
        assert_eq!(
            Refusal::ReversalExceedsOriginal {
                entry: 4,
                original: 20,
                requested: 30
            }
            .to_string(),
            "a reversal of entry 4 is at most -20 credits, the other way"
        );
        let rows = (2..8).map(|l| (l, format!("bad {l}"))).collect();
        assert_eq!(
            Refusal::RowsRefused { count: 6, rows }.to_string(),
            "6 rows of the file can't be booked (line 2: bad 2; line 3: bad 3; line 4: bad 4; \
             and 3 more): nothing was written"
        );
    }

    #[test]
    fn ledger_mismatch_counts_users() {
        assert_eq!(
            Refusal::LedgerMismatch { users: 1 }.to_string(),
            "1 user's balance differs from the sum of their ledger entries"
        );
        assert_eq!(
            Refusal::LedgerMismatch { users: 3 }.to_string(),
            "3 users' balances differ from the sum of their ledger entries"
        );
    }

    #[test]
    fn redeemed_card_points_to_balance_adjustment() {
        let m = Refusal::GiftCardNotRevocable {
            status: "redeemed".into(),
        }
        .to_string();
        assert!(m.contains("balance adjustment"), "{m}");
        let m = Refusal::GiftCardNotRevocable {
            status: "expired".into(),
        }
        .to_string();
        assert_eq!(
            m,
            "the gift card is expired: only pending and active cards can be revoked"
        );
    }

    #[test]
    fn user_typed_keys_are_sanitised_in_messages() {
        let nf = Refusal::NotFound {
            what: "coupon",
            key: "A\u{1b}[2JB\u{202e}".into(),
        };
        let m = nf.to_string();
        assert!(
            !m.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{m:?}"
        );
        let d = Refusal::DuplicateCode {
            code: "X\nY".into(),
        };
        assert_eq!(d.to_string(), "the code X Y is already in use");
    }

    #[test]
    fn no_message_ends_with_a_period() {
        let all = [
            Refusal::CouponInactive,
            Refusal::CouponExhausted { max_uses: 3 },
            Refusal::CouponAlreadyRedeemed,
            Refusal::GiftCardPending,
            Refusal::GiftCardRevoked,
            Refusal::GiftCardAlreadyRedeemed,
            Refusal::BalanceOverflow {
                balance: 1,
                change: i64::MAX,
            },
            Refusal::BatchNotFailable {
                status: "completed".into(),
            },
            Refusal::RefundExceedsCharge {
                charged: 5,
                requested: 6,
            },
            Refusal::RefundNotPositive { requested: 0 },
            Refusal::NothingToRefund,
            Refusal::BatchAlreadyRefunded,
            Refusal::BatchAlreadyFailed,
            Refusal::IdempotencyKeyReused,
            Refusal::DuplicateCode { code: "A".into() },
            Refusal::ReadOnly,
            Refusal::LedgerMismatch { users: 2 },
            Refusal::EntryAlreadyReversed {
                entry: 4,
                by: Some(9),
            },
            Refusal::EntryAlreadyReversed { entry: 4, by: None },
            Refusal::ReversalExceedsOriginal {
                entry: 4,
                original: 20,
                requested: 30,
            },
            Refusal::GiftCardNotReactivatable {
                status: "active".into(),
                expires_at: None,
            },
            Refusal::GiftCardNotReactivatable {
                status: "redeemed".into(),
                expires_at: Some(t()),
            },
            Refusal::RowsRefused {
                count: 1,
                rows: vec![(3, "no user matches #9".into())],
            },
            Refusal::BulkOverThreshold {
                total: 20_000,
                threshold: 10_000,
            },
            Refusal::AmbiguousUser {
                email: "ana@x".into(),
                ids: vec![3, 7],
            },
            Refusal::OwnRequest,
            Refusal::NotInstalled,
            Refusal::NotPermitted {
                role: "support".into(),
                action: "issue gift cards",
            },
        ];
        for r in all {
            let m = r.to_string();
            assert!(
                !m.ends_with('.') && !m.is_empty() && !m.contains('\n'),
                "{m}"
            );
        }
    }
}
