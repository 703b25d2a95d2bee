//! Photo-generation batches: finding stuck ones, what a batch charged and
//! refunded, and failing a batch with an optional refund (one transaction
//! with its audit row).
//!
//! What a batch charged is read from the ledger, not from the batch's own
//! `creditsUsed` counter: the `generation` entries linked to the batch
//! directly (`relatedBatchId`) or through one of its photos
//! (`relatedPhotoId`; the app may link only photos). A refund is one
//! `refund` entry linked by `relatedBatchId`, and the database allows only
//! one per batch.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::credits::LedgerEntry;
use super::{Db, Tx, infra, users};
use crate::domain::Refusal;
use crate::domain::ledger::BatchStatus;
use crate::domain::operator::Operator;
use crate::domain::role::Action;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

/// A batch still `generating` after this long is stuck (the default of
/// `batches list --stuck`).
pub const STUCK_AFTER: Duration = Duration::minutes(15);

/// The most rows one list returns.
pub const MAX_LIMIT: i64 = 10_000;

/// One row of a batch list.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BatchSummary {
    pub id: i32,
    pub user_id: i32,
    pub user_email: String,
    /// `None` when the model was deleted: a batch outlives its model.
    pub model_id: Option<i32>,
    pub model_name: Option<String>,
    pub status: String,
    pub images: i32,
    /// The batch's own `creditsUsed` counter, as the app wrote it.
    pub credits_used: i32,
    pub created_at: DateTime<Utc>,
    /// Seconds since `created_at`, by the database's clock (the same clock
    /// that decides what is stuck).
    pub age_seconds: i64,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct BatchFilter {
    pub status: Option<BatchStatus>,
    /// Only batches `generating` for longer than this, oldest first. Implies
    /// status `generating`.
    pub stuck_older_than: Option<Duration>,
    pub user: Option<UserRef>,
    /// 1 to [`MAX_LIMIT`].
    pub limit: i64,
    /// The next page: the batches after this one (its `created_at` and id)
    /// in the list's order.
    pub after: Option<(DateTime<Utc>, i32)>,
}

/// Batches matching `f`: the stuck view oldest first (the longest stuck is
/// the most urgent), otherwise newest first. Served by the
/// (status, createdAt) and (userId, createdAt desc) indexes.
pub async fn list(db: &Db, f: &BatchFilter) -> Result<Vec<BatchSummary>> {
    if !(1..=MAX_LIMIT).contains(&f.limit) {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let mut tx = db.read().await?;
    let user_id = match &f.user {
        Some(user) => Some(users::resolve(&mut tx, user).await?.id),
        None => None,
    };
    let (after_at, after_id) = match f.after {
        Some((at, id)) => (Some(at), Some(id)),
        None => (None, None),
    };
    let rows = match f.stuck_older_than {
        Some(older_than) => {
            if f.status.is_some_and(|s| s != BatchStatus::Generating) {
                return Err(Error::invalid(
                    "status",
                    "stuck batches are generating ones: leave out the status",
                ));
            }
            if older_than <= Duration::zero() {
                return Err(Error::invalid("older-than", "must be longer than zero"));
            }
            sqlx::query_as!(
                BatchSummary,
                r#"select b.id as "id!", b."userId" as "user_id!", coalesce(u.email, '') as "user_email!",
                          b."modelId" as model_id, m.name as "model_name?", b.status as "status!",
                          b."totalImagesGenerated" as "images!", b."creditsUsed" as "credits_used!",
                          b."createdAt" as "created_at!",
                          extract(epoch from now() - b."createdAt")::int8 as "age_seconds!",
                          b."completedAt" as completed_at
                   from creditdesk.photo_generation_batches b
                   join creditdesk.users u on u.id = b."userId"
                   left join creditdesk.models m on m.id = b."modelId"
                   where b.status = 'generating'
                     and b."createdAt" < now() - $1::int8 * interval '1 second'
                     and ($2::int4 is null or b."userId" = $2)
                     and (b."createdAt", b.id) > (coalesce($4, '-infinity'::timestamptz),
                                                   coalesce($5, (-2147483648)::int4))
                   order by b."createdAt", b.id
                   limit $3"#,
                older_than.num_seconds(),
                user_id,
                f.limit,
                after_at,
                after_id,
            )
            .fetch_all(tx.conn())
            .await
            .map_err(infra)
        }
        None => match user_id {
            Some(user_id) => sqlx::query_as!(
                BatchSummary,
                r#"select b.id as "id!", b."userId" as "user_id!", coalesce(u.email, '') as "user_email!",
                          b."modelId" as model_id, m.name as "model_name?", b.status as "status!",
                          b."totalImagesGenerated" as "images!", b."creditsUsed" as "credits_used!",
                          b."createdAt" as "created_at!",
                          extract(epoch from now() - b."createdAt")::int8 as "age_seconds!",
                          b."completedAt" as completed_at
                   from creditdesk.photo_generation_batches b
                   join creditdesk.users u on u.id = b."userId"
                   left join creditdesk.models m on m.id = b."modelId"
                   where b."userId" = $1 and ($2::text is null or b.status = $2)
                     and (b."createdAt", b.id) < (coalesce($4, 'infinity'::timestamptz),
                                                   coalesce($5, 2147483647::int4))
                   order by b."createdAt" desc, b.id desc
                   limit $3"#,
                user_id,
                f.status.map(BatchStatus::as_str),
                f.limit,
                after_at,
                after_id,
            )
            .fetch_all(tx.conn())
            .await
            .map_err(infra),
            // No index has createdAt first, so the newest of each status
            // are taken from (status, createdAt) and merged: a few index
            // reads instead of sorting the whole table.
            None => {
                let statuses: Vec<String> = match f.status {
                    Some(s) => vec![s.as_str().to_owned()],
                    None => BatchStatus::ALL
                        .iter()
                        .map(|s| s.as_str().to_owned())
                        .collect(),
                };
                sqlx::query_as!(
                    BatchSummary,
                    r#"select b.id as "id!", b."userId" as "user_id!", coalesce(u.email, '') as "user_email!",
                              b."modelId" as model_id, m.name as "model_name?",
                              b.status as "status!", b."totalImagesGenerated" as "images!",
                              b."creditsUsed" as "credits_used!", b."createdAt" as "created_at!",
                              extract(epoch from now() - b."createdAt")::int8 as "age_seconds!",
                              b."completedAt" as completed_at
                       from unnest($1::text[]) s(status)
                       cross join lateral (
                         select * from creditdesk.photo_generation_batches p
                         where p.status = s.status
                           and (p."createdAt", p.id) < (coalesce($3, 'infinity'::timestamptz),
                                                         coalesce($4, 2147483647::int4))
                         order by p."createdAt" desc, p.id desc
                         limit $2) b
                       join creditdesk.users u on u.id = b."userId"
                       left join creditdesk.models m on m.id = b."modelId"
                       order by b."createdAt" desc, b.id desc
                       limit $2"#,
                    &statuses,
                    f.limit,
                    after_at,
                    after_id,
                )
                .fetch_all(tx.conn())
                .await
                .map_err(infra)
            }
        },
    }?;
    tx.finish().await?;
    Ok(rows)
}

/// What was asked of the generator, for a batch or one of its photos.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GenerationOptions {
    pub aspect_ratio: Option<String>,
    pub glasses: Option<String>,
    pub hair_color: Option<String>,
    pub hair_style: Option<String>,
    /// JSON arrays, as stored.
    pub backgrounds: Option<serde_json::Value>,
    pub styles: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BatchUser {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub credits: i32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BatchModel {
    pub id: i32,
    pub name: String,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BatchPhoto {
    pub id: i32,
    pub url: String,
    pub credits_used: i32,
    pub created_at: DateTime<Utc>,
    pub options: GenerationOptions,
}

/// A batch with everything an engineer needs to decide on it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BatchDetail {
    pub id: i32,
    pub status: String,
    pub images: i32,
    pub credits_used: i32,
    pub created_at: DateTime<Utc>,
    pub age_seconds: i64,
    pub completed_at: Option<DateTime<Utc>>,
    pub options: GenerationOptions,
    pub user: BatchUser,
    /// `None` when the model was deleted.
    pub model: Option<BatchModel>,
    pub photos: Vec<BatchPhoto>,
    /// Minus the sum of the `generation` entries linked to the batch or its
    /// photos.
    pub charged: i64,
    /// The sum of the `refund` entries linked to the batch, net of their
    /// reversals.
    pub refunded: i64,
    /// Every ledger entry linked to the batch or its photos, oldest first.
    pub entries: Vec<LedgerEntry>,
}

/// One batch in full. Read in one repeatable-read transaction, so the
/// totals and the entries shown agree with each other.
pub async fn show(db: &Db, id: i32) -> Result<BatchDetail> {
    let mut tx = db.snapshot().await?;
    let b = sqlx::query!(
        r#"select b.id as "id!", b.status as "status!", b."totalImagesGenerated" as "images!",
                  b."creditsUsed" as "credits_used!", b."createdAt" as "created_at!",
                  extract(epoch from now() - b."createdAt")::int8 as "age_seconds!",
                  b."completedAt" as completed_at, b."aspectRatio" as "aspect_ratio!",
                  b.glasses as "glasses!", b."hairColor" as hair_color,
                  b."hairStyle" as hair_style, b.backgrounds, b.styles,
                  u.id as "user_id!", coalesce(u.email, '') as "email!", u.name as user_name,
                  u.credits as "credits!",
                  m.id as "model_id?", m.name as "model_name?", m.status as model_status
           from creditdesk.photo_generation_batches b
           join creditdesk.users u on u.id = b."userId"
           left join creditdesk.models m on m.id = b."modelId"
           where b.id = $1"#,
        id
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?
    .ok_or_else(|| not_found(id))?;
    let photos = sqlx::query!(
        r#"select id as "id!", "imageUrl" as "url!", "creditsUsed" as "credits_used!",
                  "createdAt" as "created_at!", "aspectRatio" as aspect_ratio, glasses,
                  "hairColor" as hair_color, "hairStyle" as hair_style, backgrounds, styles
           from creditdesk.photos where "generationBatchId" = $1
           order by id"#,
        id
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?
    .into_iter()
    .map(|p| BatchPhoto {
        id: p.id,
        url: p.url,
        credits_used: p.credits_used,
        created_at: p.created_at,
        options: GenerationOptions {
            aspect_ratio: p.aspect_ratio,
            glasses: p.glasses,
            hair_color: p.hair_color,
            hair_style: p.hair_style,
            backgrounds: p.backgrounds,
            styles: p.styles,
        },
    })
    .collect();
    let totals = totals(&mut tx, id).await?;
    let entries = entries(&mut tx, id).await?;
    tx.commit().await?;
    Ok(BatchDetail {
        id: b.id,
        status: b.status,
        images: b.images,
        credits_used: b.credits_used,
        created_at: b.created_at,
        age_seconds: b.age_seconds,
        completed_at: b.completed_at,
        options: GenerationOptions {
            aspect_ratio: Some(b.aspect_ratio),
            glasses: Some(b.glasses),
            hair_color: b.hair_color,
            hair_style: b.hair_style,
            backgrounds: b.backgrounds,
            styles: b.styles,
        },
        user: BatchUser {
            id: b.user_id,
            email: b.email,
            name: b.user_name,
            credits: b.credits,
        },
        model: match (b.model_id, b.model_name) {
            (Some(id), Some(name)) => Some(BatchModel {
                id,
                name,
                status: b.model_status,
            }),
            _ => None,
        },
        photos,
        charged: totals.charged,
        refunded: totals.refunded,
        entries,
    })
}

fn not_found(id: i32) -> Error {
    Refusal::NotFound {
        what: "batch",
        key: id.to_string(),
    }
    .into()
}

struct Totals {
    charged: i64,
    refunded: i64,
}

/// What the batch charged and refunded, by the ledger (as
/// `creditdesk.batch_totals` computes it for `fail_batch`, and net of the
/// refund's reversal). An entry linked to another batch directly is that
/// batch's, even if it names one of this batch's photos; each entry counts
/// once. The links are read as separate index scans (an OR over them could
/// use no index).
async fn totals(tx: &mut Tx, id: i32) -> Result<Totals> {
    let t = sqlx::query!(
        r#"select coalesce(-sum(amount) filter (where type = 'generation'), 0)::int8 as "charged!",
                  coalesce(sum(amount) filter (where type = 'refund' and counted), 0)::int8
                    as "refunded!"
           from (select h.amount, h.type::text as type, true as counted
                 from creditdesk.credit_history h where h."relatedBatchId" = $1
                 union all
                 select h.amount, h.type::text, false
                 from creditdesk.photos p
                 join creditdesk.credit_history h on h."relatedPhotoId" = p.id
                 where p."generationBatchId" = $1 and h."relatedBatchId" is null
                 union all
                 select r.amount, r.type::text, true
                 from creditdesk.credit_history o
                 join creditdesk.credit_history r on r."reversesEntryId" = o.id
                 where o."relatedBatchId" = $1 and o.type = 'refund') e"#,
        id
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    Ok(Totals {
        charged: t.charged,
        refunded: t.refunded,
    })
}

/// The ledger entries of a batch, oldest first (same links as `totals`).
async fn entries(tx: &mut Tx, id: i32) -> Result<Vec<LedgerEntry>> {
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
           where h.id in (select x.id from creditdesk.credit_history x where x."relatedBatchId" = $1
                          union all
                          select x.id from creditdesk.photos p
                          join creditdesk.credit_history x on x."relatedPhotoId" = p.id
                          where p."generationBatchId" = $1 and x."relatedBatchId" is null
                          union all
                          select r.id from creditdesk.credit_history o
                          join creditdesk.credit_history r on r."reversesEntryId" = o.id
                          where o."relatedBatchId" = $1 and o.type = 'refund')
           order by h."createdAt", h.id"#,
        id
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    Ok(rows)
}

/// How much to give back when failing a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refund {
    None,
    /// At most what the batch charged.
    Amount(i32),
    /// Everything the batch charged.
    All,
}

/// What `fail` did.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FailedBatch {
    pub batch_id: i32,
    pub user_id: i32,
    pub email: String,
    pub previous_status: String,
    pub status: String,
    /// False when the batch was already failed and only refunded now.
    pub marked_failed: bool,
    pub charged: i64,
    /// Credits given back now (0 without a refund).
    pub refunded: i32,
    /// The refund's ledger entry.
    pub entry_id: Option<i32>,
    pub old_balance: i32,
    pub new_balance: i32,
}

/// Marks a batch failed and/or refunds it, in one transaction with its
/// audit row (`creditdesk.fail_batch`, `batch.fail`).
///
/// - `generating`: marked `failed`, and refunded if asked. `completedAt`
///   stays null: the generator never finished the batch, and when it was
///   failed, and by whom, is in the audit log.
/// - `failed`: only a refund is left to give. Without one there is nothing
///   to do ([`Refusal::BatchAlreadyFailed`]).
/// - `completed`: refused ([`Refusal::BatchNotFailable`]); a completed
///   batch delivered its photos, so a goodwill gesture is a balance
///   adjustment.
///
/// A refund goes to the batch's user as one `refund` entry linked to the
/// batch, never more than the batch charged and never twice. The user's
/// balance and then the batch are locked before anything is checked, so
/// concurrent calls on one batch queue and the later ones see the earlier
/// refund; the one-refund-per-batch index also holds against writers that
/// don't take those locks.
pub async fn fail(
    db: &Db,
    operator: &Operator,
    id: i32,
    reason: &Reason,
    refund: Refund,
) -> Result<FailedBatch> {
    if let Refund::Amount(n) = refund
        && n < 1
    {
        return Err(Error::invalid("refund", "must be at least 1 credit"));
    }
    db.require(Action::BatchFail)?;
    let (mode, amount) = match refund {
        Refund::None => ("none", None),
        Refund::All => ("all", None),
        Refund::Amount(n) => ("amount", Some(n)),
    };
    let mut tx = db.write().await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.fail_batch($1, $2, $3, $4, $5) as "answer!""#,
        id,
        reason.as_str(),
        mode,
        amount,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let done: FailedBatch = serde_json::from_value(answer).map_err(|e| {
        Error::Infrastructure(format!("the database answered in an unexpected form: {e}"))
    })?;
    tx.commit().await?;
    Ok(done)
}
