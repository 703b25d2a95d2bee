//! The refusals the creditdesk functions raise (SQLSTATE CD001, DETAIL a
//! JSON object naming the rule) and their malformed-input errors (CD002),
//! turned back into the domain's values, so the CLI and the console word
//! them, and exit with them, as they word the Rust-side checks.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::{InvalidInput, Refusal};
use crate::error::Error;

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or_default()
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `what` of a not-found refusal: the words the Rust side uses.
fn what(v: &Value) -> &'static str {
    match v.get("what").and_then(Value::as_str) {
        Some("user") => "user",
        Some("coupon") => "coupon",
        Some("gift card") => "gift card",
        Some("batch") => "batch",
        Some("approval request") => "approval request",
        Some("operator") => "operator",
        Some("ledger entry") => "ledger entry",
        Some("gift card issue") => "gift card issue",
        _ => "row",
    }
}

/// The action names the database uses, as the domain describes them.
fn action(v: &Value) -> &'static str {
    let name = v.get("action").and_then(Value::as_str).unwrap_or_default();
    if name == "credits.reverse" {
        return "reverse ledger entries";
    }
    crate::domain::role::Action::ALL
        .into_iter()
        .find(|a| a.code() == name)
        .map_or("do this", |a| a.describe())
}

pub(super) fn from_detail(v: &Value, message: &str) -> Refusal {
    let kind = v.get("refusal").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "not_found" => Refusal::NotFound {
            what: what(v),
            key: text(v, "key"),
        },
        "not_permitted" => Refusal::NotPermitted {
            role: text(v, "role"),
            action: action(v),
        },
        "insufficient_credits" => Refusal::InsufficientCredits {
            balance: int(v, "balance"),
            change: int(v, "change"),
        },
        "balance_overflow" => Refusal::BalanceOverflow {
            balance: int(v, "balance"),
            change: int(v, "change"),
        },
        "idempotency_key_reused" => Refusal::IdempotencyKeyReused,
        "duplicate_code" => Refusal::DuplicateCode {
            code: text(v, "code"),
        },
        "coupon_inactive" => Refusal::CouponInactive,
        "coupon_already_inactive" => Refusal::CouponAlreadyInactive,
        "coupon_already_redeemed" => Refusal::CouponAlreadyRedeemed,
        "coupon_not_yet_valid" => match time(v, "valid_from") {
            Some(valid_from) => Refusal::CouponNotYetValid { valid_from },
            None => other(message),
        },
        "coupon_expired" => match time(v, "valid_until") {
            Some(valid_until) => Refusal::CouponExpired { valid_until },
            None => other(message),
        },
        "coupon_exhausted" => Refusal::CouponExhausted {
            max_uses: i32::try_from(int(v, "max_uses")).unwrap_or_default(),
        },
        "coupon_applies_at_checkout" => Refusal::CouponAppliesAtCheckout {
            discount_type: text(v, "discount_type"),
        },
        "coupon_value_not_payable" => Refusal::CouponValueNotPayable {
            value: text(v, "value"),
        },
        "gift_card_pending" => Refusal::GiftCardPending,
        "gift_card_expired" => Refusal::GiftCardExpired {
            expires_at: time(v, "expires_at"),
        },
        "gift_card_revoked" => Refusal::GiftCardRevoked,
        "gift_card_already_redeemed" => Refusal::GiftCardAlreadyRedeemed,
        "gift_card_not_revocable" => Refusal::GiftCardNotRevocable {
            status: text(v, "status"),
        },
        "credit_pack_unavailable" => Refusal::CreditPackUnavailable {
            name: text(v, "name"),
            inactive: v.get("inactive").and_then(Value::as_bool).unwrap_or(false),
            active: v
                .get("active")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "batch_not_failable" => Refusal::BatchNotFailable {
            status: text(v, "status"),
        },
        "batch_already_failed" => Refusal::BatchAlreadyFailed,
        "batch_already_refunded" => Refusal::BatchAlreadyRefunded,
        "nothing_to_refund" => Refusal::NothingToRefund,
        "refund_exceeds_charge" => Refusal::RefundExceedsCharge {
            charged: int(v, "charged"),
            requested: int(v, "requested"),
        },
        "own_request" => Refusal::OwnRequest,
        "already_decided" => Refusal::AlreadyDecided {
            id: int(v, "id"),
            status: text(v, "status"),
            decided_by: text(v, "decided_by"),
        },
        "request_expired" => match time(v, "expires_at") {
            Some(expires_at) => Refusal::RequestExpired {
                id: int(v, "id"),
                expires_at,
            },
            None => other(message),
        },
        "operator_exists" => Refusal::OperatorExists {
            login: text(v, "login"),
        },
        "own_login" => Refusal::OwnLogin,
        "roles_missing" => Refusal::RolesMissing {
            role: text(v, "role"),
        },
        "entry_already_reversed" => Refusal::EntryAlreadyReversed {
            entry: i32::try_from(int(v, "entry")).unwrap_or_default(),
            by: v
                .get("by")
                .and_then(Value::as_i64)
                .and_then(|b| i32::try_from(b).ok()),
        },
        "entry_not_reversible" => Refusal::EntryNotReversible {
            kind: text(v, "type"),
            message: message.to_owned(),
        },
        "reversal_exceeds_original" => Refusal::ReversalExceedsOriginal {
            entry: i32::try_from(int(v, "entry")).unwrap_or_default(),
            original: int(v, "original"),
            requested: int(v, "requested"),
        },
        "gift_card_not_reactivatable" => Refusal::GiftCardNotReactivatable {
            status: text(v, "status"),
            expires_at: time(v, "expires_at"),
        },
        "rows_refused" => Refusal::RowsRefused {
            count: usize::try_from(int(v, "count")).unwrap_or_default(),
            rows: v
                .get("rows")
                .and_then(Value::as_array)
                .map(|rows| {
                    rows.iter()
                        .map(|r| {
                            (
                                usize::try_from(int(r, "line")).unwrap_or_default(),
                                text(r, "message"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        "bulk_over_threshold" => Refusal::BulkOverThreshold {
            total: int(v, "total"),
            threshold: int(v, "threshold"),
        },
        // "busy" is raised as a refusal but is no rule: see `from_busy`.
        _ => other(message),
    }
}

fn other(message: &str) -> Refusal {
    Refusal::Other {
        message: message.to_owned(),
    }
}

/// A CD001 "busy" refusal: another session holds the row (its message says
/// which, and that nothing was written).
pub(super) fn is_busy(v: &Value) -> bool {
    v.get("refusal").and_then(Value::as_str) == Some("busy")
}

/// The form fields the functions name, as the Rust side names them.
const FIELDS: &[&str] = &[
    "amount",
    "reason",
    "operator",
    "code",
    "description",
    "type",
    "count",
    "recipient",
    "expires-at",
    "credits",
    "price",
    "refund",
    "idempotency-key",
    "setting",
    "value",
    "role",
    "name",
    "password",
    "coupon",
    "file",
    "batches",
];

pub(super) fn invalid_from_detail(v: &Value, message: &str) -> Error {
    let field = v.get("field").and_then(Value::as_str).unwrap_or_default();
    let field = FIELDS
        .iter()
        .copied()
        .find(|f| *f == field)
        .unwrap_or("input");
    let text = v
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| message.to_owned(), str::to_owned);
    Error::Invalid(vec![InvalidInput::new(field, text)])
}
