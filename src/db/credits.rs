//! Balances and the ledger: the overview, keyset-paginated history, balance
//! adjustments and the reconciliation check.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::approvals::change_from;
use super::infra;
use super::users::{self, User};
use super::{Change, Db, Tx};
use crate::domain::ledger::{EntryType, reversal_action, reversal_amount};
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
        // creditdesk.ledger_totals_by_type: kept totals for a heavy ledger.
        r#"select type as "kind!", entries as "entries!", total as "total!"
           from creditdesk.ledger_totals_by_type where "userId" = $1
           order by type"#,
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

// ---------------------------------------------------------------------------
// The ledger as an auditor reads it: the balance after every entry
// ---------------------------------------------------------------------------

/// A ledger row with the balance right after it, by the ledger (the running
/// sum of the user's entries in (createdAt, id) order), and its reversal
/// links: the entry it reverses, and the entry that reversed it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LedgerRow {
    #[serde(flatten)]
    pub entry: LedgerEntry,
    pub balance_after: i64,
    pub reverses_entry_id: Option<i32>,
    pub reversed_by_entry_id: Option<i32>,
}

/// A page of [`LedgerRow`]s, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerPage {
    pub entries: Vec<LedgerRow>,
    #[serde(serialize_with = "serialize_cursor")]
    pub next: Option<Cursor>,
}

/// [`history`] with the balance after each entry, page and balances from one
/// snapshot. The balance comes from `creditdesk.ledger_balance_before` once
/// per page (the entries of a page follow each other, so each balance is the
/// one before minus its amount); with a type filter the rows shown are not
/// neighbours, so each gets its own. A heavy ledger is read as sums of
/// months, days and hours (see migration 0033), so the page 500,000 entries
/// deep costs what the first one does.
pub async fn history_with_balances(db: &Db, q: &HistoryQuery) -> Result<LedgerPage> {
    let (before_at, before_id) = match q.before {
        Some(c) => (c.created_at, c.id),
        None => (DateTime::<Utc>::MAX_UTC, i32::MAX),
    };
    let limit = q.limit.clamp(1, 10_000);
    let mut tx = db.heavy_snapshot().await?;
    let rows = sqlx::query!(
        r#"select h.id as "id!", h."createdAt" as "created_at!", h.amount as "amount!",
                  h.type::text as "kind!", h.description,
                  h."relatedTransactionId" as transaction_id, h."relatedPhotoId" as photo_id,
                  h."relatedModelId" as model_id, h."relatedGiftCardId" as gift_card_id,
                  g."codeMasked" as "gift_card_code?", h."relatedCouponId" as coupon_id,
                  c.code as "coupon_code?", h."relatedBatchId" as batch_id,
                  h."reversesEntryId" as reverses_entry_id,
                  h."reversedByEntryId" as reversed_by_entry_id
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
    let befores: Vec<i64> = match (rows.first(), q.kind) {
        (None, _) => Vec::new(),
        (Some(top), None) => {
            let before = balance_before(&mut tx, q.user_id, top.created_at, top.id).await?;
            // newest first: each entry's balance before is the next one's after
            let mut balance = before + i64::from(top.amount);
            rows.iter()
                .map(|r| {
                    balance -= i64::from(r.amount);
                    balance
                })
                .collect()
        }
        (Some(_), Some(_)) => {
            let times: Vec<DateTime<Utc>> = rows.iter().map(|r| r.created_at).collect();
            let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
            sqlx::query_scalar!(
                r#"select creditdesk.ledger_balance_before($1, t.at, t.id) as "before!"
                   from unnest($2::timestamptz[], $3::int4[]) with ordinality as t(at, id, n)
                   order by t.n"#,
                q.user_id,
                &times,
                &ids,
            )
            .fetch_all(tx.conn())
            .await
            .map_err(infra)?
        }
    };
    tx.finish().await?;
    let entries: Vec<LedgerRow> = rows
        .into_iter()
        .zip(befores)
        .map(|(r, before)| LedgerRow {
            balance_after: before + i64::from(r.amount),
            entry: LedgerEntry {
                id: r.id,
                created_at: r.created_at,
                amount: r.amount,
                kind: r.kind,
                description: r.description,
                transaction_id: r.transaction_id,
                photo_id: r.photo_id,
                model_id: r.model_id,
                gift_card_id: r.gift_card_id,
                gift_card_code: r.gift_card_code,
                coupon_id: r.coupon_id,
                coupon_code: r.coupon_code,
                batch_id: r.batch_id,
            },
            reverses_entry_id: r.reverses_entry_id,
            reversed_by_entry_id: r.reversed_by_entry_id,
        })
        .collect();
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|r| r.entry.cursor()))
        .flatten();
    Ok(LedgerPage { entries, next })
}

/// The sum of the user's entries before (at, id) in ledger order.
async fn balance_before(tx: &mut Tx, user: i32, at: DateTime<Utc>, id: i32) -> Result<i64> {
    sqlx::query_scalar!(
        r#"select creditdesk.ledger_balance_before($1, $2, $3) as "before!""#,
        user,
        at,
        id
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)
}

/// A balance at a moment, by the ledger.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BalanceAt {
    pub user: User,
    pub as_of: DateTime<Utc>,
    /// The sum of the user's entries made at or before `as_of`.
    pub balance: i64,
}

/// `credits show USER --as-of T`: the balance after every entry made at or
/// before `at` (to the microsecond).
pub async fn balance_at(db: &Db, user: &UserRef, at: DateTime<Utc>) -> Result<BalanceAt> {
    let mut tx = db.heavy_snapshot().await?;
    let user = users::resolve(&mut tx, user).await?;
    let just_after = at
        .checked_add_signed(chrono::Duration::microseconds(1))
        .unwrap_or(at);
    let balance = balance_before(&mut tx, user.id, just_after, i32::MIN).await?;
    tx.finish().await?;
    Ok(BalanceAt {
        user,
        as_of: at,
        balance,
    })
}

// ---------------------------------------------------------------------------
// Reversing a mistake
// ---------------------------------------------------------------------------

/// What `reverse` did.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Reversal {
    /// The entry reversed.
    pub entry_id: i32,
    /// The new entry, which names the one it reverses.
    pub reversal_entry_id: i32,
    pub user_id: i32,
    pub email: String,
    /// The type of both entries.
    #[serde(rename = "type")]
    pub kind: String,
    pub original_amount: i32,
    /// The reversal's signed amount: the original's, the other way (or part
    /// of it).
    pub amount: i32,
    pub old_balance: i64,
    pub new_balance: i64,
    /// A coupon redemption: the coupon, and whether its use was given back
    /// (the user may redeem it again).
    pub coupon_id: Option<i32>,
    pub code: Option<String>,
    pub use_given_back: Option<bool>,
    /// A gift-card redemption: the card, active again.
    pub gift_card_id: Option<i32>,
    pub code_masked: Option<String>,
    pub card_status: Option<String>,
}

/// Books the opposite of a ledger entry, linked both ways, at most once
/// (`creditdesk.reverse_entry`): admin adjustments and batch refunds (whole,
/// or `part` of them), coupon redemptions (the coupon's use is given back)
/// and gift-card redemptions (the card is active again; refused if it
/// expired since). Refused when the balance can't cover it. Needs the right
/// to book what it reverses ([`reversal_action`]); above the adjustment
/// threshold it waits for a second person.
pub async fn reverse(
    db: &Db,
    operator: &Operator,
    entry: i32,
    reason: &Reason,
    part: Option<i32>,
) -> Result<Change<Reversal>> {
    let mut tx = db.write().await?;
    let found = sqlx::query!(
        r#"select type::text as "kind!", amount as "amount!"
           from creditdesk.credit_history where id = $1"#,
        entry
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?
    .ok_or_else(|| {
        Error::from(crate::domain::Refusal::NotFound {
            what: "ledger entry",
            key: format!("#{entry}"),
        })
    })?;
    if let Ok(kind) = EntryType::parse(&found.kind) {
        if let Some(action) = reversal_action(kind) {
            db.require(action)?;
        }
        reversal_amount(kind, entry, found.amount, part)?;
    }
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.reverse_entry($1, $2, $3, $4) as "answer!""#,
        entry,
        reason.as_str(),
        part,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let change = change_from(answer)?;
    tx.commit().await?;
    Ok(change)
}
