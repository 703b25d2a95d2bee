//! Balances and the ledger: the overview, keyset-paginated history, balance
//! adjustments and the reconciliation check.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::approvals::change_from;
use super::infra;
use super::users::{self, User};
use super::{Change, Db, Tx};
use crate::domain::ledger::EntryType;
use crate::domain::operator::Operator;
use crate::domain::role::Action;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct TypeTotal {
    pub kind: String,
    pub entries: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub user: User,
    pub ledger_total: i64,
    pub totals: Vec<TypeTotal>,
    pub latest: Vec<LedgerEntry>,
}

/// One ledger row and what it links to (gift-card codes masked: the view
/// that serves them has no full code).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: i32,
    pub created_at: DateTime<Utc>,
    pub amount: i32,
    pub kind: String,
    pub description: Option<String>,
    pub transaction_id: Option<i32>,
    pub photo_id: Option<i32>,
    pub model_id: Option<i32>,
    pub gift_card_id: Option<i32>,
    pub gift_card_code: Option<String>,
    pub coupon_id: Option<i32>,
    pub coupon_code: Option<String>,
    pub batch_id: Option<i32>,
}

impl LedgerEntry {
    /// A short human description of the links, e.g. `batch 12, photo 40`.
    pub fn links(&self) -> String {
        let mut parts = Vec::new();
        if let Some(id) = self.transaction_id {
            parts.push(format!("transaction {id}"));
        }
        if let Some(code) = &self.gift_card_code {
            parts.push(format!("gift card {code}"));
        }
        if let Some(code) = &self.coupon_code {
            parts.push(format!("coupon {code}"));
        }
        if let Some(id) = self.batch_id {
            parts.push(format!("batch {id}"));
        }
        if let Some(id) = self.photo_id {
            parts.push(format!("photo {id}"));
        }
        if let Some(id) = self.model_id {
            parts.push(format!("model {id}"));
        }
        parts.join(", ")
    }

    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

/// A position in a user's ledger: entries strictly older than it come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: i32,
}

impl Cursor {
    /// `<microseconds since the epoch>-<id>`, opaque to users.
    pub fn encode(&self) -> String {
        format!("{}-{}", self.created_at.timestamp_micros(), self.id)
    }

    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::invalid("before", "not a cursor printed by `credits history`");
        let (micros, id) = s.trim().split_once('-').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let id: i32 = id.parse().map_err(|_| bad())?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        Ok(Self { created_at, id })
    }
}

#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub user_id: i32,
    pub kind: Option<EntryType>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub before: Option<Cursor>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryPage {
    pub entries: Vec<LedgerEntry>,
    /// Where the next page starts, if there may be one.
    #[serde(serialize_with = "serialize_cursor")]
    pub next: Option<Cursor>,
}

fn serialize_cursor<S: serde::Serializer>(c: &Option<Cursor>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_some(&c.encode()),
        None => s.serialize_none(),
    }
}

/// A page of a user's ledger, newest first. Keyset pagination on
/// (createdAt, id) walks the (userId, createdAt desc, id desc) index, so the
/// page 10,000 entries deep costs what the first one does.
pub async fn history(db: &Db, q: &HistoryQuery) -> Result<HistoryPage> {
    let mut tx = db.heavy_read().await?;
    let page = history_in(&mut tx, q).await?;
    tx.finish().await?;
    Ok(page)
}

async fn history_in(tx: &mut Tx, q: &HistoryQuery) -> Result<HistoryPage> {
    let (before_at, before_id) = match q.before {
        Some(c) => (c.created_at, c.id),
        None => (DateTime::<Utc>::MAX_UTC, i32::MAX),
    };
    let limit = q.limit.clamp(1, 10_000);
    let rows = sqlx::query_as!(
        LedgerEntry,
        r#"select h.id as "id!", h."createdAt" as "created_at!", h.amount as "amount!",
                  h.type::text as "kind!", h.description,
                  h."relatedTransactionId" as transaction_id, h."relatedPhotoId" as photo_id,
                  h."relatedModelId" as model_id, h."relatedGiftCardId" as gift_card_id,
                  g."codeMasked" as "gift_card_code?", h."relatedCouponId" as coupon_id,
                  c.code as "coupon_code?", h."relatedBatchId" as batch_id
           from creditdesk.credit_history h
           left join creditdesk.gift_cards g on g.id = h."relatedGiftCardId"
           left join creditdesk.coupons c on c.id = h."relatedCouponId"
           where h."userId" = $1
             and ($2::text is null or h.type::text = $2)
             and ($3::timestamptz is null or h."createdAt" >= $3)
             and ($4::timestamptz is null or h."createdAt" < $4)
             and (h."createdAt", h.id) < ($5, $6)
           order by h."createdAt" desc, h.id desc
           limit $7"#,
        q.user_id,
        q.kind.map(|k| k.as_str()),
        q.since,
        q.until,
        before_at,
        before_id,
        limit,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let entries = rows;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(LedgerEntry::cursor))
        .flatten();
    Ok(HistoryPage { entries, next })
}

/// Balance, totals by type and the latest entries, from one snapshot so
/// they agree with each other.
pub async fn overview(db: &Db, user: &UserRef, latest: i64) -> Result<Overview> {
    let mut tx = db.snapshot().await?;
    let user = users::resolve(&mut tx, user).await?;
    let totals = sqlx::query_as!(
        TypeTotal,
        r#"select type::text as "kind!", count(*) as "entries!",
                  coalesce(sum(amount), 0)::int8 as "total!"
           from creditdesk.credit_history where "userId" = $1
           group by type order by type"#,
        user.id
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let ledger_total = totals.iter().map(|t| t.total).sum();
    let page = history_in(
        &mut tx,
        &HistoryQuery {
            user_id: user.id,
            kind: None,
            since: None,
            until: None,
            before: None,
            limit: latest,
        },
    )
    .await?;
    tx.finish().await?;
    Ok(Overview {
        user,
        ledger_total,
        totals,
        latest: page.entries,
    })
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Adjustment {
    pub user_id: i32,
    pub email: String,
    pub amount: i32,
    pub entry_id: i32,
    pub old_balance: i32,
    pub new_balance: i32,
    /// True when an earlier call with the same idempotency key made this change.
    pub replayed: bool,
}

/// A signed `admin_adjustment` with its reason: balance, ledger entry and
/// audit row in one transaction (`creditdesk.adjust_credits`). Above the
/// approval threshold it is stored as a pending request instead. With an
/// idempotency key, repeating the call books nothing new and answers as the
/// first call did.
pub async fn adjust(
    db: &Db,
    operator: &Operator,
    user: &UserRef,
    amount: i32,
    reason: &Reason,
    idempotency_key: Option<&str>,
) -> Result<Change<Adjustment>> {
    if amount == 0 {
        return Err(Error::invalid("amount", "must not be zero"));
    }
    db.require(Action::CreditsAdjust)?;
    let mut tx = db.write().await?;
    // An id goes straight to the function (which refuses one that names no
    // user): one round trip less on the common path.
    let target = match user {
        UserRef::Id(id) => *id,
        UserRef::Email(_) => users::resolve(&mut tx, user).await?.id,
    };
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.adjust_credits($1, $2, $3, $4, $5) as "answer!""#,
        target,
        amount,
        reason.as_str(),
        idempotency_key,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let change = change_from(answer)?;
    tx.commit().await?;
    Ok(change)
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Mismatch {
    pub user_id: i32,
    pub email: String,
    pub balance: i32,
    pub ledger_total: i64,
}

/// Every user whose balance differs from the sum of their ledger: one
/// aggregate over the ledger, joined to the users.
pub async fn verify(db: &Db) -> Result<Vec<Mismatch>> {
    let mut tx = db.heavy_read().await?;
    let rows = sqlx::query_as!(
        Mismatch,
        r#"select u.id as "user_id!", coalesce(u.email, '') as "email!",
                  u.credits as "balance!", coalesce(s.total, 0)::int8 as "ledger_total!"
           from creditdesk.users u
           left join (select "userId", sum(amount) as total
                      from creditdesk.credit_history group by "userId") s on s."userId" = u.id
           where u.credits <> coalesce(s.total, 0)
           order by u.id"#
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(rows)
}
