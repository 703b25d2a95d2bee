//! The one way credits move: lock the user's balance, apply the domain rule,
//! store the new balance and book the ledger entry, all in the caller's
//! transaction. Every writer (adjustments, coupons, gift cards, refunds)
//! goes through `post`, so `users.credits = sum(credit_history.amount)`.

use super::Tx;

use super::infra;
use crate::domain::Refusal;
use crate::domain::ledger::{EntryType, apply_change};
use crate::error::Result;

/// A ledger entry to book. Links are what the entry points at.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub user_id: i32,
    pub amount: i32,
    pub kind: EntryType,
    pub description: Option<&'a str>,
    pub transaction_id: Option<i32>,
    pub photo_id: Option<i32>,
    pub model_id: Option<i32>,
    pub gift_card_id: Option<i32>,
    pub coupon_id: Option<i32>,
    pub batch_id: Option<i32>,
    pub idempotency_key: Option<&'a str>,
}

impl NewEntry<'_> {
    /// An entry with no links; set the links with struct update syntax.
    pub fn new(user_id: i32, amount: i32, kind: EntryType) -> Self {
        Self {
            user_id,
            amount,
            kind,
            description: None,
            transaction_id: None,
            photo_id: None,
            model_id: None,
            gift_card_id: None,
            coupon_id: None,
            batch_id: None,
            idempotency_key: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Posted {
    pub entry_id: i32,
    pub old_balance: i32,
    pub new_balance: i32,
}

/// Books `entry` and moves the balance. The user's row stays locked until
/// the caller commits, so concurrent changes to one balance queue up.
pub async fn post(tx: &mut Tx, entry: &NewEntry<'_>) -> Result<Posted> {
    let old_balance = lock_balance(tx, entry.user_id).await?;
    let new_balance = apply_change(i64::from(old_balance), i64::from(entry.amount))?;
    let new_balance = i32::try_from(new_balance).map_err(|_| Refusal::BalanceOverflow {
        balance: i64::from(old_balance),
        change: i64::from(entry.amount),
    })?;
    sqlx::query!(
        "update users set credits = $2 where id = $1",
        entry.user_id,
        new_balance
    )
    .execute(tx.conn())
    .await
    .map_err(infra)?;
    let entry_id = sqlx::query_scalar!(
        r#"insert into credit_history
             ("userId", amount, type, description, "relatedTransactionId", "relatedPhotoId",
              "relatedModelId", "relatedGiftCardId", "relatedCouponId", "relatedBatchId", "idempotencyKey")
           values ($1, $2, $3::text::credit_history_type, $4, $5, $6, $7, $8, $9, $10, $11)
           returning id"#,
        entry.user_id,
        entry.amount,
        entry.kind.as_str(),
        entry.description,
        entry.transaction_id,
        entry.photo_id,
        entry.model_id,
        entry.gift_card_id,
        entry.coupon_id,
        entry.batch_id,
        entry.idempotency_key,
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    Ok(Posted {
        entry_id,
        old_balance,
        new_balance,
    })
}

/// Locks the user's row for the rest of the transaction; returns the balance.
pub async fn lock_balance(tx: &mut Tx, user_id: i32) -> Result<i32> {
    sqlx::query_scalar!(
        "select credits from users where id = $1 for update",
        user_id
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?
    .ok_or_else(|| {
        Refusal::NotFound {
            what: "user",
            key: user_id.to_string(),
        }
        .into()
    })
}
