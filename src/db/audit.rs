//! The append-only audit log: one row per change, written in the change's own
//! transaction, and the query behind `creditdesk audit` and the Audit tab.

use super::{Db, Tx};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::infra;
use crate::domain::operator::Operator;
use crate::error::Result;

/// What one change records about itself.
pub struct AuditRecord<'a> {
    /// e.g. `credits.adjust`, `gift_card.revoke`
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub reason: Option<&'a str>,
    pub details: serde_json::Value,
}

/// Writes the audit row inside the caller's transaction.
pub async fn record(tx: &mut Tx, operator: &Operator, r: AuditRecord<'_>) -> Result<i64> {
    sqlx::query_scalar!(
        r#"insert into admin_audit_log (actor, action, "entityType", "entityId", reason, details)
           values ($1, $2, $3, $4, $5, $6) returning id"#,
        operator.as_str(),
        r.action,
        r.entity_type,
        r.entity_id,
        r.reason,
        r.details,
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// An action (`coupon.create`) or an area (`coupon`, matching `coupon.*`).
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Keyset: entries with a smaller id than this.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Newest first.
pub async fn list(db: &Db, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let mut tx = db.read().await?;
    let rows = sqlx::query_as!(
        AuditEntry,
        r#"select id, "createdAt" as created_at, actor, action, "entityType" as entity_type,
                  "entityId" as entity_id, reason, details
           from admin_audit_log
           where ($1::text is null or actor = $1)
             and ($2::text is null or action = $2 or action like $2 || '.%')
             and ($3::timestamptz is null or "createdAt" >= $3)
             and id < coalesce($4, 9223372036854775807)
           order by id desc
           limit $5"#,
        f.actor,
        f.action,
        f.since,
        f.before_id,
        f.limit,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(rows)
}
