//! The only place with SQL. One module per area; every user-visible change is
//! one transaction that also writes its audit row.

pub mod approvals;
pub mod audit;
pub mod batches;
pub mod bulk;
pub mod connect;
pub mod conninfo;
pub mod coupons;
pub mod credits;
pub mod gift_cards;
pub mod handle;
pub mod install;
pub mod migrate;
pub mod operators;
mod refusals;
pub mod reports;
pub mod seed;
pub mod session;
pub mod users;

use crate::domain::Refusal;
use crate::error::Error;

pub use approvals::{Change, PendingRequest};
pub use connect::Target;
pub use handle::{CancelSlot, Conn, Db, Mode, Timeouts, Tx};
pub use migrate::{MIGRATOR, migrate};
pub use session::Session;

/// Maps a database error to ours. The creditdesk functions refuse with
/// SQLSTATE CD001 (a rule; DETAIL names it) and CD002 (malformed input); a
/// read-only transaction, a constraint that stands for a rule (two operators
/// raced), a lock or statement timeout and a missing schema have their own
/// meaning; anything else is infrastructure.
pub fn infra(e: sqlx::Error) -> Error {
    let Some(db) = e.as_database_error() else {
        return Error::Infrastructure(format!("database error: {e}"));
    };
    let detail = db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|pg| pg.detail())
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .unwrap_or_default();
    match db.code().as_deref() {
        Some("CD001") if refusals::is_busy(&detail) => {
            return Error::Busy(db.message().to_owned());
        }
        Some("CD001") => return Error::Refused(refusals::from_detail(&detail, db.message())),
        Some("CD002") => return refusals::invalid_from_detail(&detail, db.message()),
        Some("25006") => return Error::Refused(Refusal::ReadOnly),
        Some("55P03") => {
            return Error::Busy(
                "another session holds a row or table this change needs, longer than the lock \
                 timeout: nothing was written; try again"
                    .to_owned(),
            );
        }
        Some("57014") => {
            return Error::Infrastructure(
                "the database cancelled the statement (statement timeout, or cancelled by the \
                 operator): nothing was written"
                    .to_owned(),
            );
        }
        Some("3F000") | Some("42P01") | Some("42883") if db.message().contains("creditdesk") => {
            return Error::Refused(Refusal::NotInstalled);
        }
        // A named statement met on a server connection another client left
        // it on, or missing from the one the pooler switched to.
        Some("42P05") | Some("26000") if db.message().contains("prepared statement") => {
            return Error::Infrastructure(format!(
                "{}: this looks like a transaction-mode pooler (PgBouncer, Supabase's port \
                 6543); pass --pooler, or pooler = true in the profile",
                db.message()
            ));
        }
        Some("42501") => {
            return Error::Refused(Refusal::Other {
                message: format!(
                    "{}: your login's creditdesk role does not allow this",
                    db.message()
                ),
            });
        }
        _ => {}
    }
    if let Some(refusal) = db.constraint().and_then(refusal_for_constraint) {
        return Error::Refused(refusal);
    }
    Error::Infrastructure(format!("database error: {}", describe_error(&e)))
}

/// PostgreSQL's own words for an error: the message, then its detail and
/// hint, without the "at line N" sqlx adds (that line is in PostgreSQL's C
/// source, not in anything the operator wrote).
pub fn describe_error(e: &sqlx::Error) -> String {
    let Some(db) = e.as_database_error() else {
        return e.to_string();
    };
    let mut text = db.message().to_owned();
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(detail) = pg.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = pg.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
    }
    text
}

fn refusal_for_constraint(name: &str) -> Option<Refusal> {
    Some(match name {
        "coupon_redemptions_couponId_userId_key" => Refusal::CouponAlreadyRedeemed,
        "credit_history_one_refund_per_batch" => Refusal::BatchAlreadyRefunded,
        "credit_history_idempotency_key" => Refusal::IdempotencyKeyReused,
        "coupons_code_key"
        | "coupons_code_lookup_key"
        | "gift_cards_code_key"
        | "gift_cards_code_lookup_key" => Refusal::DuplicateCode {
            code: "that code".to_owned(),
        },
        _ => return None,
    })
}
