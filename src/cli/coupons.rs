//! `creditdesk coupons create|list|show|deactivate|redeem`

use clap::{ArgGroup, Subcommand};
use rust_decimal::Decimal;

use super::context::{Ctx, opt, when};
use super::output::{self, Format, Table};
use crate::db::coupons::{self, Coupon, CouponFilter};
use crate::domain::InvalidInput;
use crate::domain::amounts::{parse_count, parse_price, parse_time};
use crate::domain::codes::CouponCode;
use crate::domain::coupon::{DiscountType, NewCoupon};
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

#[derive(Debug, Subcommand)]
pub enum CouponsCmd {
    /// Create a coupon (percentage and fixed_amount apply at checkout in the
    /// web app; credits coupons are redeemed here)
    #[command(group(ArgGroup::new("which_code").required(true).args(["code", "generate"])))]
    Create {
        /// The code customers type: 3 to 32 of A-Z, 0-9, '-' and '_' (stored upper-case)
        #[arg(long)]
        code: Option<String>,
        /// Generate a random code instead, like 7KQ2M-XF9AB
        #[arg(long)]
        generate: bool,
        /// percentage, fixed_amount or credits
        #[arg(long = "type")]
        kind: String,
        /// Percent (at most 100), an amount of money, or whole credits
        #[arg(long, allow_hyphen_values = true)]
        value: String,
        /// How many times it can be used in all (default: no limit)
        #[arg(long, allow_hyphen_values = true)]
        max_uses: Option<String>,
        /// When it starts: 2026-01-02, 2026-01-02 03:04 (UTC), RFC 3339, +7d, now (default: now)
        #[arg(long)]
        valid_from: Option<String>,
        /// When it ends (exclusive), same forms (default: never)
        #[arg(long)]
        valid_until: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Coupons redeemable now, newest first (--all: every coupon)
    List {
        #[arg(long)]
        all: bool,
        /// Only coupons whose code (any case, dashes ignored) or description contains this
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 200)]
        limit: i64,
    },
    /// A coupon and its redemptions, newest first
    Show { code: String },
    /// Turn a coupon off; the reason goes to the audit log
    Deactivate {
        code: String,
        #[arg(long)]
        reason: String,
    },
    /// Redeem a credits coupon for a user: awards its credits
    Redeem {
        code: String,
        /// A numeric id or an email
        #[arg(long)]
        user: String,
    },
}

pub async fn run(ctx: &Ctx, cmd: &CouponsCmd) -> Result<()> {
    match cmd {
        CouponsCmd::Create {
            code,
            generate,
            kind,
            value,
            max_uses,
            valid_from,
            valid_until,
            description,
        } => {
            let code = if *generate { None } else { code.as_deref() };
            let fields = CreateFields {
                code,
                kind,
                value,
                max_uses: max_uses.as_deref(),
                valid_from: valid_from.as_deref(),
                valid_until: valid_until.as_deref(),
                description: description.as_deref(),
            };
            let new = fields.parse(ctx)?;
            let created = if *generate {
                coupons::create_generated(&ctx.pool, &ctx.operator, new).await?
            } else {
                coupons::create(&ctx.pool, &ctx.operator, new).await?
            };
            output::record(
                ctx.format,
                &created,
                &format!(
                    "created {} coupon {} (id {}): {}, uses {}, valid {}",
                    created.discount_type,
                    created.code,
                    created.id,
                    created.value_display(),
                    created.usage_display(),
                    created.validity_display()
                ),
            )
        }
        CouponsCmd::List { all, search, limit } => {
            if !(1..=10_000).contains(limit) {
                return Err(Error::invalid("limit", "must be between 1 and 10000"));
            }
            let found = coupons::list(
                &ctx.pool,
                &CouponFilter {
                    all: *all,
                    search: search.clone(),
                    limit: *limit,
                },
            )
            .await?;
            output::list(ctx.format, &found, &coupon_table(ctx, &found))
        }
        CouponsCmd::Show { code } => show(ctx, code).await,
        CouponsCmd::Deactivate { code, reason } => {
            let reason = Reason::parse(reason)?;
            let c = coupons::deactivate(&ctx.pool, &ctx.operator, code, &reason).await?;
            output::record(
                ctx.format,
                &c,
                &format!(
                    "deactivated coupon {} (id {}); it had been used {}",
                    c.code,
                    c.id,
                    c.usage_display()
                ),
            )
        }
        CouponsCmd::Redeem { code, user } => {
            let user = UserRef::parse(user)?;
            let r = coupons::redeem(&ctx.pool, &ctx.operator, code, &user).await?;
            let max = r.max_uses.map_or_else(|| "-".to_owned(), |m| m.to_string());
            output::record(
                ctx.format,
                &r,
                &format!(
                    "redeemed coupon {} for {} (user {}): +{} credits, balance {} -> {} (entry {}); uses {}/{max}",
                    r.code,
                    r.email,
                    r.user_id,
                    r.credits,
                    r.old_balance,
                    r.new_balance,
                    r.entry_id,
                    r.used_count
                ),
            )
        }
    }
}

/// The arguments of `coupons create` as typed.
struct CreateFields<'a> {
    /// `None`: generate one.
    code: Option<&'a str>,
    kind: &'a str,
    value: &'a str,
    max_uses: Option<&'a str>,
    valid_from: Option<&'a str>,
    valid_until: Option<&'a str>,
    description: Option<&'a str>,
}

impl CreateFields<'_> {
    /// Parses every field and applies `NewCoupon::validate`, reporting every
    /// problem at once: a field that doesn't parse gets a stand-in so the
    /// rules still check the others (and the rules that depend on it are
    /// left out).
    fn parse(&self, ctx: &Ctx) -> Result<NewCoupon> {
        let mut errors = Vec::new();
        let code = match self.code {
            Some(c) => keep(&mut errors, CouponCode::parse(c)),
            None => Some(CouponCode::generate()),
        };
        let kind = keep(&mut errors, DiscountType::parse("type", self.kind));
        let value = keep(&mut errors, parse_value(self.value));
        let max_uses = self.max_uses.and_then(|m| {
            keep(
                &mut errors,
                parse_count("max_uses", m, i32::MAX.unsigned_abs())
                    .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            )
        });
        let valid_from = self
            .valid_from
            .map(|t| keep(&mut errors, parse_time("valid_from", t, ctx.now)));
        let valid_until = self
            .valid_until
            .and_then(|t| keep(&mut errors, parse_time("valid_until", t, ctx.now)));
        let draft = NewCoupon {
            code: code.unwrap_or_else(CouponCode::generate),
            description: self.description.map(str::to_owned),
            discount_type: kind.unwrap_or(DiscountType::Credits),
            value: value.unwrap_or(Decimal::ONE),
            max_uses,
            valid_from: valid_from.flatten().unwrap_or(ctx.now),
            valid_until,
        };
        let rules = match draft.validate() {
            Ok(new) if errors.is_empty() => return Ok(new),
            Ok(_) => Vec::new(),
            Err(rules) => rules,
        };
        // Rules about a field that didn't parse, or that compare with one.
        let mut moot: Vec<&str> = errors.iter().map(|e| e.field).collect();
        if kind.is_none() {
            moot.push("value");
        }
        if matches!(valid_from, Some(None)) {
            moot.push("valid_until");
        }
        errors.extend(rules.into_iter().filter(|e| !moot.contains(&e.field)));
        Err(Error::Invalid(errors))
    }
}

/// The value, or `None` with its error added to `errors`.
fn keep<T>(errors: &mut Vec<InvalidInput>, r: std::result::Result<T, InvalidInput>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// A coupon value: percent, money or credits; the type's own limits are
/// checked by `NewCoupon::validate`.
fn parse_value(s: &str) -> std::result::Result<Decimal, InvalidInput> {
    parse_price("value", s).map_err(|e| {
        if e.message.starts_with("is not a price") {
            InvalidInput::new(
                "value",
                "is not a number: use digits and a '.', like 25 or 9.99",
            )
        } else if e.message.starts_with("enter a price") {
            InvalidInput::new("value", "enter a value, like 25 or 9.99")
        } else {
            e
        }
    })
}

fn coupon_table(ctx: &Ctx, list: &[Coupon]) -> Table {
    let mut table = Table::new(&[
        "code", "type", "value", "used/max", "validity", "active", "status",
    ]);
    for c in list {
        table.row(vec![
            c.code.clone(),
            c.discount_type.clone(),
            c.value_display(),
            c.usage_display(),
            c.validity_display(),
            if c.is_active { "yes" } else { "no" }.to_owned(),
            c.status(ctx.now).as_str().to_owned(),
        ]);
    }
    table
}

async fn show(ctx: &Ctx, code: &str) -> Result<()> {
    let d = coupons::show(&ctx.pool, code).await?;
    if ctx.format == Format::Json {
        return output::json(&d);
    }
    let c = &d.coupon;
    let mut text = format!(
        "{} coupon {} (id {}): {}\n\
         description: {}\n\
         uses {}; valid {}; {}\n\
         created {}\n\n\
         redemptions ({}):\n",
        c.discount_type,
        c.code,
        c.id,
        c.value_display(),
        opt(&c.description),
        c.usage_display(),
        c.validity_display(),
        c.status(ctx.now).as_str(),
        when(c.created_at),
        d.redemptions_total,
    );
    let mut table = Table::new(&[
        "when",
        "user",
        "email",
        "credits",
        "discount",
        "transaction",
    ]);
    for r in &d.redemptions {
        table.row(vec![
            when(r.redeemed_at),
            r.user_id.to_string(),
            r.email.clone(),
            opt(&r.credits_awarded),
            opt(&r.discount_applied),
            opt(&r.transaction_id),
        ]);
    }
    if table.is_empty() {
        text.push_str("(none)\n");
    } else {
        text.push_str(&table.render());
        if d.redemptions_total > d.redemptions.len() as i64 {
            text.push_str(&format!(
                "(the newest {} of {} shown)\n",
                d.redemptions.len(),
                d.redemptions_total
            ));
        }
    }
    output::record(ctx.format, &d, &text)
}
