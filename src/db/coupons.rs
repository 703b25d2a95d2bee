//! Coupons: create, list, show with redemptions, deactivate, and redeem a
//! credits coupon for a user. Each change is one transaction with its audit
//! row; the CLI and the console call these same functions.
//!
//! Codes are looked up by `replace(replace(code, '-', ''), ' ', '')`, the
//! expression of the unique index `coupons_code_lookup_key`, so "summer-25",
//! "SUMMER 25" and "summer25" name the same coupon and the index is used.

use super::{Db, Tx};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::infra;
use super::users::{self, escape_like};
use crate::domain::Refusal;
use crate::domain::codes::{CouponCode, lookup_key};
use crate::domain::coupon::{CouponState, DiscountType, NewCoupon};
use crate::domain::operator::Operator;
use crate::domain::role::Action;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

/// A stored coupon.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Coupon {
    pub id: i32,
    pub code: String,
    pub description: Option<String>,
    /// `percentage`, `fixed_amount` or `credits`.
    pub discount_type: String,
    pub discount_value: Decimal,
    pub max_uses: Option<i32>,
    pub used_count: i32,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

/// Where a coupon stands at a moment, for lists and the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponStatus {
    Active,
    Inactive,
    /// Not valid yet.
    Scheduled,
    Expired,
    UsedUp,
}

impl CouponStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CouponStatus::Active => "active",
            CouponStatus::Inactive => "inactive",
            CouponStatus::Scheduled => "scheduled",
            CouponStatus::Expired => "expired",
            CouponStatus::UsedUp => "used up",
        }
    }
}

impl Coupon {
    /// The stored type as the domain enum (`None` only if the database enum
    /// gained a label this tool doesn't know).
    pub fn kind(&self) -> Option<DiscountType> {
        DiscountType::parse("type", &self.discount_type).ok()
    }

    /// What redemption checks, for `coupon::check_redeemable`.
    pub fn state(&self) -> Option<CouponState> {
        Some(CouponState {
            discount_type: self.kind()?,
            is_active: self.is_active,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            max_uses: self.max_uses,
            used_count: self.used_count,
        })
    }

    /// Inactive first, then timing, then usage: the order `check_redeemable`
    /// reports them in. `coupons list` without `--all` shows the active ones.
    pub fn status(&self, now: DateTime<Utc>) -> CouponStatus {
        if !self.is_active {
            CouponStatus::Inactive
        } else if now < self.valid_from {
            CouponStatus::Scheduled
        } else if self.valid_until.is_some_and(|until| now >= until) {
            CouponStatus::Expired
        } else if self.max_uses.is_some_and(|max| self.used_count >= max) {
            CouponStatus::UsedUp
        } else {
            CouponStatus::Active
        }
    }

    /// The value as people read it: `25%`, `9.99`, `50 credits`.
    pub fn value_display(&self) -> String {
        match self.kind() {
            Some(DiscountType::Percentage) => format!("{}%", self.discount_value.normalize()),
            Some(DiscountType::Credits) => format!("{} credits", self.discount_value.normalize()),
            _ => format!("{:.2}", self.discount_value),
        }
    }

    /// `3/10`, or `3/-` when there is no limit.
    pub fn usage_display(&self) -> String {
        match self.max_uses {
            Some(max) => format!("{}/{max}", self.used_count),
            None => format!("{}/-", self.used_count),
        }
    }

    /// `2026-01-01 00:00 .. 2026-02-01 00:00`, or `from 2026-01-01 00:00`
    /// when it never ends (UTC, to the minute).
    pub fn validity_display(&self) -> String {
        let minute = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
        match self.valid_until {
            Some(until) => format!("{} .. {}", minute(self.valid_from), minute(until)),
            None => format!("from {}", minute(self.valid_from)),
        }
    }
}

/// Which coupons `list` returns.
#[derive(Debug, Clone)]
pub struct CouponFilter {
    /// Every coupon; otherwise only those redeemable now (active, within
    /// their validity, not used up).
    pub all: bool,
    /// A piece of the code (any case, dashes and spaces ignored) or of the
    /// description.
    pub search: Option<String>,
    pub limit: i64,
}

impl Default for CouponFilter {
    fn default() -> Self {
        Self {
            all: false,
            search: None,
            limit: 200,
        }
    }
}

/// One use of a coupon.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Redemption {
    pub id: i32,
    pub user_id: i32,
    pub email: String,
    pub credits_awarded: Option<i32>,
    pub discount_applied: Option<Decimal>,
    pub transaction_id: Option<i32>,
    pub redeemed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CouponDetail {
    pub coupon: Coupon,
    /// Newest first, at most [`SHOW_REDEMPTIONS`].
    pub redemptions: Vec<Redemption>,
    /// All redemptions rows, even those not listed.
    pub redemptions_total: i64,
}

/// How many redemptions `show` lists; a popular coupon may have thousands.
pub const SHOW_REDEMPTIONS: i64 = 500;

/// What a credits-coupon redemption did.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct CouponRedemption {
    pub redemption_id: i32,
    pub coupon_id: i32,
    pub code: String,
    pub user_id: i32,
    pub email: String,
    pub credits: i32,
    pub entry_id: i32,
    pub old_balance: i32,
    pub new_balance: i32,
    pub used_count: i32,
    pub max_uses: Option<i32>,
    pub redeemed_at: DateTime<Utc>,
}

/// Tries to generate a free code this many times: at 50 bits a single clash
/// is astronomically unlikely, several in a row mean something else is wrong.
const GENERATE_ATTEMPTS: usize = 5;

/// Typed code input longer than this is no stored code: refused before the
/// query (the message would otherwise echo a huge paste).
const MAX_LOOKUP_BYTES: usize = 256;

/// Creates a coupon after `NewCoupon::validate` (every field error at once).
/// A code already in use, in any case or with other dashes or spaces, is
/// `Refusal::DuplicateCode`.
pub async fn create(db: &Db, operator: &Operator, new: NewCoupon) -> Result<Coupon> {
    let new = new.validate().map_err(Error::Invalid)?;
    insert(db, operator, &new, false).await
}

/// Like [`create`] for a code the operator didn't choose (start from
/// `CouponCode::generate()`): on a clash it draws a new code and tries again.
pub async fn create_generated(db: &Db, operator: &Operator, new: NewCoupon) -> Result<Coupon> {
    let mut new = new.validate().map_err(Error::Invalid)?;
    let mut attempt = 1;
    loop {
        match insert(db, operator, &new, true).await {
            Err(Error::Refused(Refusal::DuplicateCode { .. })) if attempt < GENERATE_ATTEMPTS => {
                attempt += 1;
                new.code = CouponCode::generate();
            }
            other => return other,
        }
    }
}

async fn insert(db: &Db, operator: &Operator, new: &NewCoupon, generated: bool) -> Result<Coupon> {
    db.require(Action::CouponCreate)?;
    let mut tx = db.write().await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.create_coupon($1, $2, $3, $4, $5, $6, $7, $8, $9) as "answer!""#,
        new.code.as_str(),
        new.description,
        new.discount_type.as_str(),
        new.value,
        new.max_uses,
        new.valid_from,
        new.valid_until,
        generated,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(|e| match infra(e) {
        // The database knows the code it normalised; say the one typed.
        Error::Refused(Refusal::DuplicateCode { .. }) => Refusal::DuplicateCode {
            code: new.code.to_string(),
        }
        .into(),
        other => other,
    })?;
    let id = id_of(&answer, "coupon_id")?;
    let coupon = by_id(&mut tx, id).await?;
    tx.commit().await?;
    Ok(coupon)
}

fn id_of(answer: &serde_json::Value, key: &str) -> Result<i32> {
    answer
        .get(key)
        .and_then(serde_json::Value::as_i64)
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| Error::Infrastructure(format!("the database answered without {key}")))
}

async fn by_id(tx: &mut Tx, id: i32) -> Result<Coupon> {
    sqlx::query_as!(
        Coupon,
        r#"select id as "id!", code as "code!", description,
                  "discountType"::text as "discount_type!", "discountValue" as "discount_value!",
                  "maxUses" as max_uses, "usedCount" as "used_count!",
                  "validFrom" as "valid_from!", "validUntil" as valid_until,
                  "isActive" as "is_active!", "createdAt" as "created_at!"
           from creditdesk.coupons where id = $1"#,
        id
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)
}

/// Newest first. Without `all`, only coupons redeemable now (by the
/// database clock).
pub async fn list(db: &Db, filter: &CouponFilter) -> Result<Vec<Coupon>> {
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let code_pattern = search.map(|s| format!("%{}%", escape_like(&lookup_key(s))));
    let text_pattern = search.map(|s| format!("%{}%", escape_like(s)));
    let mut tx = db.read().await?;
    let rows = sqlx::query_as!(
        Coupon,
        r#"select id as "id!", code as "code!", description,
                  "discountType"::text as "discount_type!", "discountValue" as "discount_value!",
                  "maxUses" as max_uses, "usedCount" as "used_count!",
                  "validFrom" as "valid_from!", "validUntil" as valid_until,
                  "isActive" as "is_active!", "createdAt" as "created_at!"
           from creditdesk.coupons
           where ($1 or ("isActive" and "validFrom" <= now()
                         and ("validUntil" is null or "validUntil" > now())
                         and ("maxUses" is null or "usedCount" < "maxUses")))
             and ($2::text is null
                  or replace(replace(code, '-', ''), ' ', '') like $2
                  or description ilike $3)
           order by "createdAt" desc, id desc
           limit $4"#,
        filter.all,
        code_pattern,
        text_pattern,
        filter.limit.clamp(1, 10_000),
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    tx.finish().await?;
    Ok(rows)
}

/// The coupon a typed code names, with its latest redemptions.
pub async fn show(db: &Db, code: &str) -> Result<CouponDetail> {
    let mut tx = db.read().await?;
    let coupon = find(&mut tx, code).await?;
    let redemptions = sqlx::query_as!(
        Redemption,
        r#"select r.id as "id!", r."userId" as "user_id!", coalesce(u.email, '') as "email!",
                  r."creditsAwarded" as credits_awarded, r."discountApplied" as discount_applied,
                  r."transactionId" as transaction_id, r."redeemedAt" as "redeemed_at!"
           from creditdesk.coupon_redemptions r
           join creditdesk.users u on u.id = r."userId"
           where r."couponId" = $1
           order by r."redeemedAt" desc, r.id desc
           limit $2"#,
        coupon.id,
        SHOW_REDEMPTIONS,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let redemptions_total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from creditdesk.coupon_redemptions where "couponId" = $1"#,
        coupon.id
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    Ok(CouponDetail {
        coupon,
        redemptions,
        redemptions_total,
    })
}

/// Turns a coupon off for good, with the reason in the audit log. An
/// inactive coupon is refused (`CouponAlreadyInactive`).
pub async fn deactivate(
    db: &Db,
    operator: &Operator,
    code: &str,
    reason: &Reason,
) -> Result<Coupon> {
    db.require(Action::CouponDeactivate)?;
    let mut tx = db.write().await?;
    let found = find(&mut tx, code).await?;
    sqlx::query_scalar!(
        r#"select creditdesk.deactivate_coupon($1, $2, $3) as "answer!""#,
        found.id,
        reason.as_str(),
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let coupon = by_id(&mut tx, found.id).await?;
    tx.commit().await?;
    Ok(coupon)
}

/// Redeems a credits coupon for a user in one transaction
/// (`creditdesk.redeem_coupon`): the coupon's row locked (redemptions of one
/// coupon queue up and `usedCount` never passes `maxUses`), the rules
/// checked, one redemption per user, the credits booked as a `coupon` entry
/// and the audit row written. Percentage and fixed-amount coupons are
/// refused: they apply at checkout.
pub async fn redeem(
    db: &Db,
    operator: &Operator,
    code: &str,
    user: &UserRef,
) -> Result<CouponRedemption> {
    db.require(Action::CouponRedeem)?;
    let mut tx = db.write().await?;
    let target = users::resolve(&mut tx, user).await?;
    let coupon = find(&mut tx, code).await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.redeem_coupon($1, $2, $3) as "answer!""#,
        coupon.id,
        target.id,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    let done: CouponRedemption = serde_json::from_value(answer).map_err(|e| {
        Error::Infrastructure(format!("the database answered in an unexpected form: {e}"))
    })?;
    tx.commit().await?;
    Ok(done)
}

/// The coupon a typed code names (any case, dashes and spaces ignored), or
/// `NotFound`. Changes lock it by id in the database.
async fn find(tx: &mut Tx, code: &str) -> Result<Coupon> {
    let typed = code.trim();
    if typed.len() > MAX_LOOKUP_BYTES {
        return Err(Error::invalid("code", "is too long to be a coupon code"));
    }
    let key = lookup_key(typed);
    if key.is_empty() {
        return Err(Error::invalid("code", "enter a code"));
    }
    let found = sqlx::query_as!(
        Coupon,
        r#"select id as "id!", code as "code!", description,
                  "discountType"::text as "discount_type!", "discountValue" as "discount_value!",
                  "maxUses" as max_uses, "usedCount" as "used_count!",
                  "validFrom" as "valid_from!", "validUntil" as valid_until,
                  "isActive" as "is_active!", "createdAt" as "created_at!"
           from creditdesk.coupons where replace(replace(code, '-', ''), ' ', '') = $1"#,
        key
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?;
    found.ok_or_else(|| {
        Refusal::NotFound {
            what: "coupon",
            key: typed.to_owned(),
        }
        .into()
    })
}
