//! Four-eyes approval (security.md §3): a change above a threshold is stored
//! as a pending request, nothing moves, and a second person (finance or
//! admin, never the login that asked) approves it, which runs the change in
//! the approver's transaction, or rejects it. The database enforces all of
//! it (`creditdesk.approve_request`); this module reads and calls.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::credits::Adjustment;
use super::gift_cards::IssuedCard;
use super::{Db, infra};
use crate::domain::Refusal;
use crate::domain::operator::Operator;
use crate::domain::role::Action;
use crate::domain::text::Reason;
use crate::error::{Error, Result};

/// What a change that may need a second person did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Change<T> {
    /// Done, in this call's transaction.
    Applied(T),
    /// Above the approval threshold: nothing moved; the request waits.
    Pending(PendingRequest),
}

impl<T> Change<T> {
    /// The applied value, if the change was applied.
    pub fn applied(self) -> Option<T> {
        match self {
            Change::Applied(v) => Some(v),
            Change::Pending(_) => None,
        }
    }
}

/// A stored request that waits for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    pub id: i64,
    /// `credits.adjust`, `gift_card.issue`.
    pub kind: String,
    /// One line, e.g. `adjust user #12 by -800 credits`.
    pub summary: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

fn decode_error(e: serde_json::Error) -> Error {
    Error::Infrastructure(format!("the database answered in an unexpected form: {e}"))
}

/// The request in a function's answer when it is `{"outcome": "pending",
/// "request": {...}}`.
pub(super) fn pending_in(v: &serde_json::Value) -> Option<Result<PendingRequest>> {
    (v.get("outcome").and_then(|o| o.as_str()) == Some("pending")).then(|| {
        serde_json::from_value(v.get("request").cloned().unwrap_or_default()).map_err(decode_error)
    })
}

/// A function's answer (`{"outcome": "applied", ...}` or pending) as a
/// [`Change`].
pub(super) fn change_from<T: DeserializeOwned>(v: serde_json::Value) -> Result<Change<T>> {
    if let Some(pending) = pending_in(&v) {
        return pending.map(Change::Pending);
    }
    serde_json::from_value(v)
        .map(Change::Applied)
        .map_err(decode_error)
}

/// A request as lists and the console show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub id: i64,
    pub kind: String,
    pub summary: String,
    pub reason: String,
    /// The login that asked, and the name it gave.
    pub requested_by_login: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `approved`, `rejected`, or `expired` (pending past its time).
    pub status: String,
    pub decided_by_login: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    /// What was asked, as stored (user and amount, cards and value).
    pub payload: serde_json::Value,
}

/// A request with its effect computed afresh: the state now, not when it
/// was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestDetail {
    pub request: Request,
    /// e.g. `user #12 ana@example.com: balance 1200 -> 400`.
    pub effect_now: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only these statuses (as shown); empty: all.
    pub pending_only: bool,
    pub limit: i64,
}

/// Newest first.
pub async fn list(db: &Db, f: &RequestFilter) -> Result<Vec<Request>> {
    let mut tx = db.read().await?;
    let rows = sqlx::query_as!(
        Request,
        r#"select id as "id!", kind as "kind!", summary as "summary!", reason as "reason!",
                  "requestedByLogin" as "requested_by_login!", "requestedBy" as "requested_by!",
                  "requestedAt" as "requested_at!", "expiresAt" as "expires_at!",
                  status as "status!", "decidedByLogin" as decided_by_login,
                  "decidedBy" as decided_by, "decidedAt" as decided_at,
                  "decisionReason" as decision_reason, payload as "payload!"
           from creditdesk.approvals
           where (not $1 or status = 'pending')
           order by "requestedAt" desc, id desc
           limit $2"#,
        f.pending_only,
        f.limit.clamp(1, 1000),
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(rows)
}

/// One request, and what approving it would do now.
pub async fn show(db: &Db, id: i64) -> Result<RequestDetail> {
    let mut tx = db.snapshot().await?;
    let request = sqlx::query_as!(
        Request,
        r#"select id as "id!", kind as "kind!", summary as "summary!", reason as "reason!",
                  "requestedByLogin" as "requested_by_login!", "requestedBy" as "requested_by!",
                  "requestedAt" as "requested_at!", "expiresAt" as "expires_at!",
                  status as "status!", "decidedByLogin" as decided_by_login,
                  "decidedBy" as decided_by, "decidedAt" as decided_at,
                  "decisionReason" as decision_reason, payload as "payload!"
           from creditdesk.approvals where id = $1"#,
        id
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?
    .ok_or_else(|| not_found(id))?;
    let mut effect_now = Vec::new();
    if request.kind == "credits.adjust" {
        let user = request.payload.get("user_id").and_then(|v| v.as_i64());
        let amount = request
            .payload
            .get("amount")
            .and_then(|v| v.as_i64())
            .unwrap_or_default();
        if let Some(user) = user.and_then(|u| i32::try_from(u).ok()) {
            let now = sqlx::query!(
                r#"select coalesce(email, '') as "email!", credits as "credits!"
                   from creditdesk.users where id = $1"#,
                user
            )
            .fetch_optional(tx.conn())
            .await
            .map_err(infra)?;
            effect_now.push(match now {
                Some(u) => {
                    let after = i64::from(u.credits) + amount;
                    let note = if after < 0 {
                        " (would go below zero: approving is refused)"
                    } else {
                        ""
                    };
                    format!(
                        "user #{user} {}: balance now {} -> {after}{note}",
                        u.email, u.credits
                    )
                }
                None => format!("user #{user} no longer exists: approving is refused"),
            });
        }
    } else if request.kind == "credits.adjust_many" {
        effect_now = adjust_many_now(&mut tx, &request.payload).await?;
    } else if request.kind == "batch.fail_many" {
        effect_now = fail_many_now(&mut tx, &request.payload).await?;
    } else if request.kind == "credits.reverse" {
        effect_now = reverse_now(&mut tx, &request.payload).await?;
    } else if request.kind == "gift_card.issue" {
        let count = request.payload.get("count").and_then(|v| v.as_i64());
        let credits = request.payload.get("credits").and_then(|v| v.as_i64());
        if let (Some(count), Some(credits)) = (count, credits) {
            effect_now.push(format!(
                "{count} active card(s) of {credits} credits, {} credits in all",
                count * credits
            ));
        }
    }
    tx.finish().await?;
    Ok(RequestDetail {
        request,
        effect_now,
    })
}

/// A file of adjustments as it would book now: its summary and digest, and
/// how many rows the balances now let through (rows for one user count in
/// file order, as the approval books them).
async fn adjust_many_now(tx: &mut super::Tx, p: &serde_json::Value) -> Result<Vec<String>> {
    let int = |k: &str| {
        p.get(k)
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_default()
    };
    let file = |k: &str| {
        p.pointer(&format!("/file/{k}"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut lines = vec![format!(
        "file {} (sha256 {}): {} rows for {} users, +{} / -{} credits{}",
        crate::domain::text::sanitize(&file("name")),
        file("digest"),
        int("count"),
        int("users"),
        int("credited"),
        int("debited"),
        if p.get("skip_invalid").and_then(serde_json::Value::as_bool) == Some(true) {
            "; rows that can't be booked are skipped"
        } else {
            "; any row that can't be booked refuses the whole file"
        }
    )];
    let rows = p.get("rows").cloned().unwrap_or_default();
    let counts = sqlx::query!(
        r#"with r as (
             select (e->>'line')::int as line, (e->>'user_id')::int as user_id,
                    (e->>'amount')::int as amount, e->>'key' as key, n
             from jsonb_array_elements($1::jsonb) with ordinality as x(e, n)),
           booked as (
             select r.* , exists (select 1 from creditdesk.credit_history h
                                  where h."idempotencyKey" = r.key) as done
             from r),
           running as (
             select b.*, u.credits::int8 + sum(b.amount) filter (where not b.done)
                      over (partition by b.user_id order by b.n) as after,
                    u.id is null as missing
             from booked b left join creditdesk.users u on u.id = b.user_id)
           select count(*) filter (where done) as "replayed!",
                  count(*) filter (where not done and (missing or after < 0)) as "refused!",
                  min(line) filter (where not done and (missing or after < 0)) as first_refused
           from running"#,
        rows
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let mut now = format!(
        "{} rows would be booked, {} are booked already",
        int("count") - counts.replayed - counts.refused,
        counts.replayed
    );
    if counts.refused > 0 {
        now.push_str(&format!(
            ", {} can't be (an unknown user or a balance below zero; the first at line {})",
            counts.refused,
            counts.first_refused.unwrap_or_default()
        ));
    }
    lines.push(now);
    Ok(lines)
}

/// A bulk fail as it would run now: which of its batches are still as the
/// preview saw them.
async fn fail_many_now(tx: &mut super::Tx, p: &serde_json::Value) -> Result<Vec<String>> {
    let items = p.get("items").cloned().unwrap_or_default();
    let c = sqlx::query!(
        r#"select count(*) filter (where b.status = i.expected) as "unchanged!",
                  count(*) filter (where b.status is distinct from i.expected) as "changed!"
           from (select (e->>'batch_id')::int as id, e->>'expected_status' as expected
                 from jsonb_array_elements($1::jsonb) e) i
           left join creditdesk.photo_generation_batches b on b.id = i.id"#,
        items
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let selection = p
        .pointer("/run/selection")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    Ok(vec![
        format!(
            "{} batches ({}), refund {}, {} credits at the preview",
            p.get("count")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or_default(),
            crate::domain::text::sanitize(selection),
            p.get("refund")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default(),
            p.get("total_refund")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or_default(),
        ),
        format!(
            "{} still as the preview saw them; {} changed since (they would be skipped)",
            c.unchanged, c.changed
        ),
    ])
}

/// A reversal as it would book now: the entry, the balance now and after.
async fn reverse_now(tx: &mut super::Tx, p: &serde_json::Value) -> Result<Vec<String>> {
    let entry = p
        .get("entry_id")
        .and_then(serde_json::Value::as_i64)
        .and_then(|e| i32::try_from(e).ok())
        .unwrap_or_default();
    let amount = p
        .get("amount")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or_default();
    let row = sqlx::query!(
        r#"select h.type::text as "kind!", h.amount as "amount!", h."reversedByEntryId" as by,
                  u.id as "user_id?", coalesce(u.email, '') as "email!", u.credits as "credits?"
           from creditdesk.credit_history h left join creditdesk.users u on u.id = h."userId"
           where h.id = $1"#,
        entry
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?;
    Ok(vec![match row {
        None => format!("entry #{entry} no longer exists: approving is refused"),
        Some(r) if r.by.is_some() => format!(
            "entry #{entry} was reversed meanwhile by entry #{}: approving is refused",
            r.by.unwrap_or_default()
        ),
        Some(r) => {
            let now = i64::from(r.credits.unwrap_or_default());
            let after = now + amount;
            format!(
                "entry #{entry} ({} {:+}) of user #{} {}: balance now {now} -> {after}{}",
                r.kind,
                r.amount,
                r.user_id.unwrap_or_default(),
                r.email,
                if after < 0 {
                    " (would go below zero: approving is refused)"
                } else {
                    ""
                }
            )
        }
    }])
}

fn not_found(id: i64) -> Error {
    Refusal::NotFound {
        what: "approval request",
        key: format!("#{id}"),
    }
    .into()
}

/// What approving did: the change, as if it had been applied when asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Approved {
    Adjustment(Adjustment),
    /// With their full codes: the approver hands them out.
    GiftCards(Vec<IssuedCard>),
    /// A file of adjustments, booked whole in the approver's transaction.
    AdjustMany(super::bulk::adjust::Report),
    /// A bulk fail-and-refund, run whole in the approver's transaction.
    FailMany(super::bulk::fail::Report),
    Reversal(super::credits::Reversal),
}

/// Approves someone else's pending request; the change runs now, in this
/// transaction, and is refused as it would be if asked now.
pub async fn approve(
    db: &Db,
    operator: &Operator,
    id: i64,
    reason: Option<&Reason>,
) -> Result<Approved> {
    db.require(Action::ApprovalDecide)?;
    let mut tx = db.write().await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.approve_request($1, $2, $3) as "answer!""#,
        id,
        reason.map(Reason::as_str),
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let kind = answer
        .pointer("/request/kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default()
        .to_owned();
    let result = answer.get("result").cloned().unwrap_or_default();
    let payload = sqlx::query_scalar!(
        r#"select payload as "payload!" from creditdesk.approvals where id = $1"#,
        id
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let approved = if kind == "gift_card.issue" {
        Approved::GiftCards(super::gift_cards::issued_from(&result)?)
    } else if kind == "credits.adjust_many" {
        Approved::AdjustMany(super::bulk::adjust::approved_report(&payload, &result)?)
    } else if kind == "batch.fail_many" {
        Approved::FailMany(super::bulk::fail::approved_report(&payload, &result)?)
    } else if kind == "credits.reverse" {
        match change_from(result)? {
            Change::Applied(r) => Approved::Reversal(r),
            Change::Pending(_) => {
                return Err(Error::Infrastructure(
                    "approving answered with another pending request".into(),
                ));
            }
        }
    } else {
        match change_from::<Adjustment>(result)? {
            Change::Applied(a) => Approved::Adjustment(a),
            Change::Pending(_) => {
                return Err(Error::Infrastructure(
                    "approving answered with another pending request".into(),
                ));
            }
        }
    };
    tx.commit().await?;
    Ok(approved)
}

/// Rejects someone else's pending request, with the reason.
pub async fn reject(db: &Db, operator: &Operator, id: i64, reason: &Reason) -> Result<Request> {
    db.require(Action::ApprovalDecide)?;
    let mut tx = db.write().await?;
    sqlx::query_scalar!(
        r#"select creditdesk.reject_request($1, $2, $3) as "answer!""#,
        id,
        reason.as_str(),
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    tx.commit().await?;
    Ok(show(db, id).await?.request)
}
