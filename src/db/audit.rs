//! The audit log: the query behind `creditdesk audit` and the Audit tab, and
//! the proof that it wasn't altered (security.md §4).
//!
//! Rows are appended by the database itself, in the transaction of the
//! change they record (`creditdesk.audit`), with a gapless sequence number,
//! the previous row's hash and their own. [`verify`] recomputes the chain
//! with its own copy of the canonical encoding (only PostgreSQL's built-in
//! functions, schema-qualified), so a replaced database function can't
//! vouch for rows it altered.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, infra};
use crate::domain::Refusal;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub seq: i64,
    pub created_at: DateTime<Utc>,
    /// The name the operator gave (or the login).
    pub actor: String,
    /// The login that connected, recorded by the database.
    pub login: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The operator name given or the login.
    pub actor: Option<String>,
    /// An action (`coupon.create`) or an area (`coupon`, matching `coupon.*`).
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Keyset: entries with a smaller id than this.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Newest first.
pub async fn list(db: &Db, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let mut tx = db.heavy_read().await?;
    let rows = sqlx::query_as!(
        AuditEntry,
        r#"select id as "id!", seq as "seq!", "createdAt" as "created_at!", actor as "actor!",
                  login as "login!", action as "action!", "entityType" as "entity_type!",
                  "entityId" as entity_id, reason, details as "details!"
           from creditdesk.admin_audit_log
           where ($1::text is null or actor = $1 or login = $1)
             and ($2::text is null or action = $2 or action like $2 || '.%')
             and ($3::timestamptz is null or "createdAt" >= $3)
             and ($4::timestamptz is null or "createdAt" < $4)
             and id < coalesce($5, 9223372036854775807)
           order by id desc
           limit $6"#,
        f.actor,
        f.action,
        f.since,
        f.until,
        f.before_id,
        f.limit,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(rows)
}

/// The head of the chain: `SEQ:HASH`, to keep outside the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Digest {
    pub seq: i64,
    #[serde(serialize_with = "hex")]
    pub hash: [u8; 32],
}

fn hex<S: serde::Serializer>(h: &[u8; 32], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(h))
}

fn to_hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, to_hex(&self.hash))
    }
}

impl Digest {
    /// `SEQ:HASH` as `audit digest` prints it.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "digest",
                "a digest is SEQ:HASH as `creditdesk audit digest` prints it",
            )
        };
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        if seq < 1 || hash.len() != 64 {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(hash.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
        }
        Ok(Self { seq, hash: bytes })
    }
}

/// The newest row's number and hash (`None` while the log is empty).
pub async fn digest(db: &Db) -> Result<Option<Digest>> {
    let mut tx = db.read().await?;
    let row = sqlx::query!(
        r#"select seq as "seq!", hash as "hash!" from creditdesk.admin_audit_log
           order by seq desc limit 1"#
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    row.map(|r| {
        Digest::parse(&format!("{}:{}", r.seq, r.hash))
            .map_err(|_| Error::Infrastructure(format!("row {} has a malformed hash", r.seq)))
    })
    .transpose()
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub rows: i64,
    /// The head, when the log has rows.
    pub head: Option<String>,
    /// The first row that doesn't fit the chain, and why; `None` when intact.
    pub first_bad: Option<BadRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub seq: i64,
    pub id: Option<i64>,
    pub problem: String,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// Recomputes the whole chain in one scan, in sequence order: each row's
/// hash over its fields, its link to the row before, its number one more
/// than the last. With a saved digest, the row it names must still be there
/// with that hash, which also catches rows cut off the end.
pub async fn verify(db: &Db, saved: Option<&Digest>) -> Result<Verification> {
    let mut tx = db.heavy_snapshot().await?;
    let totals = sqlx::query!(
        r#"select count(*) as "rows!", max(seq) as head_seq
           from creditdesk.admin_audit_log"#
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    // The canonical encoding, as creditdesk.audit_hash() computes it.
    let bad = sqlx::query!(
        r#"select seq as "seq!", id as "id!", problem as "problem!" from (
             select seq, id,
                    case
                      when seq <> coalesce(lag(seq) over w, 0) + 1 then
                        case when lag(seq) over w is null then 'the chain starts at ' || seq || ', not 1'
                             when seq = lag(seq) over w then 'a second row with this number'
                             else 'rows ' || (lag(seq) over w + 1) || ' to ' || (seq - 1)
                                  || ' are missing' end
                      when "prevHash" is distinct from coalesce(lag(hash) over w, repeat('0', 64)) then
                        'it does not follow the row before (prevHash differs): a row was removed, '
                        || 'added or changed before it'
                      when hash is distinct from pg_catalog.encode(pg_catalog.sha256(
                             pg_catalog.convert_to(pg_catalog.jsonb_build_array(
                               seq, id, "prevHash", login, actor, action, "entityType", "entityId",
                               reason, details,
                               pg_catalog.to_char("createdAt" at time zone 'UTC',
                                                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
                             'UTF8')), 'hex') then
                        'its content does not match its hash: the row was changed'
                    end as problem
             from creditdesk.admin_audit_log
             window w as (order by seq, id)
           ) t
           where problem is not null
           order by seq, id
           limit 1"#
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?;
    let mut first_bad = bad.map(|b| BadRow {
        seq: b.seq,
        id: Some(b.id),
        problem: b.problem,
    });
    if let Some(saved) = saved {
        let at = sqlx::query_scalar!(
            r#"select hash as "hash!" from creditdesk.admin_audit_log where seq = $1 limit 1"#,
            saved.seq
        )
        .fetch_optional(tx.conn())
        .await
        .map_err(infra)?;
        let problem = match at {
            None => Some(format!(
                "the saved digest names row {}, which is gone: rows were cut off the end (the \
                 log now ends at {})",
                saved.seq,
                totals.head_seq.unwrap_or(0)
            )),
            Some(h) if h != to_hex(&saved.hash) => Some(format!(
                "row {} no longer has the saved hash: the chain was rewritten up to it",
                saved.seq
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem
            && first_bad.as_ref().is_none_or(|b| b.seq > saved.seq)
        {
            first_bad = Some(BadRow {
                seq: saved.seq,
                id: None,
                problem,
            });
        }
    }
    let head = match totals.head_seq {
        Some(seq) => sqlx::query_scalar!(
            r#"select hash as "hash!" from creditdesk.admin_audit_log where seq = $1 limit 1"#,
            seq
        )
        .fetch_optional(tx.conn())
        .await
        .map_err(infra)?
        .map(|h| format!("{seq}:{h}")),
        None => None,
    };
    tx.finish().await?;
    Ok(Verification {
        rows: totals.rows,
        head,
        first_bad,
    })
}

/// `verify`, as a refusal when the chain is broken (for `doctor` and exit 3).
pub fn broken(v: &Verification) -> Option<Refusal> {
    v.first_bad.as_ref().map(|b| Refusal::Other {
        message: format!("the audit log was altered at row {}: {}", b.seq, b.problem),
    })
}
