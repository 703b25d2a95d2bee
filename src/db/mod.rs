//! The only place with SQL. One module per area; every user-visible change is
//! one transaction that also writes its audit row.

pub mod approvals;
pub mod audit;
pub mod batches;
pub mod connect;
pub mod conninfo;
pub mod coupons;
pub mod credits;
pub mod gift_cards;
pub mod handle;
pub mod ledger;
pub mod seed;
pub mod users;

use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::domain::Refusal;
use crate::error::{Error, Result};

pub use approvals::{Change, PendingRequest};
pub use connect::Target;
pub use handle::{Conn, Db, Mode, Timeouts, Tx};

/// The schema changes this tool owns, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations not yet applied; returns the descriptions of the
/// ones it applied, in order.
pub async fn migrate(pool: &PgPool) -> Result<Vec<String>> {
    let applied_before = applied_versions(pool).await?;
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| Error::Infrastructure(format!("migration failed: {e}")))?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| !applied_before.contains(&m.version))
        .map(|m| format!("{:04} {}", m.version, m.description))
        .collect())
}

async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>> {
    let exists: bool =
        sqlx::query_scalar("select to_regclass('public._sqlx_migrations') is not null")
            .fetch_one(pool)
            .await
            .map_err(infra)?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("select version from public._sqlx_migrations where success")
        .fetch_all(pool)
        .await
        .map_err(infra)
}

/// Maps a database error to ours: a read-only session or a constraint that
/// stands for a rule becomes a refusal (the rule was enforced by PostgreSQL,
/// e.g. when two operators raced); anything else is infrastructure.
pub fn infra(e: sqlx::Error) -> Error {
    if let Some(db) = e.as_database_error() {
        if db.code().as_deref() == Some("25006") {
            return Error::Refused(Refusal::ReadOnly);
        }
        if let Some(refusal) = db.constraint().and_then(refusal_for_constraint) {
            return Error::Refused(refusal);
        }
    }
    Error::Infrastructure(format!("database error: {e}"))
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
