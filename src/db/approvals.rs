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
    let approved = if kind == "gift_card.issue" {
        Approved::GiftCards(super::gift_cards::issued_from(&result)?)
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
