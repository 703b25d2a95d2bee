//! `creditdesk coupons create|list|show|deactivate|redeem`

use super::context::{Ctx, opt, when};
use super::output::{self, Cell, Format, Table, both, csv, human};
use crate::db::coupons::{self, Coupon, CouponFilter};
use crate::domain::coupon::CouponFields;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};
use clap::{ArgGroup, Subcommand};

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
        /// When it starts: 2026-01-02, 2026-01-02 03:04 (UTC), RFC 3339, +7d, -1d, now (default: now)
        #[arg(long, allow_hyphen_values = true)]
        valid_from: Option<String>,
        /// When it ends (exclusive), same forms (default: never)
        #[arg(long, allow_hyphen_values = true)]
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

impl CouponsCmd {
    /// Prints a list (so `--csv` applies).
    pub(super) fn prints_list(&self) -> bool {
        matches!(self, CouponsCmd::List { .. })
    }
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
            let fields = CouponFields {
                code,
                kind,
                value,
                max_uses: max_uses.as_deref(),
                valid_from: valid_from.as_deref(),
                valid_until: valid_until.as_deref(),
                description: description.as_deref(),
            };
            let new = fields.parse(ctx.now).map_err(Error::Invalid)?;
            let created = if *generate {
                coupons::create_generated(&ctx.db, &ctx.operator, new).await?
            } else {
                coupons::create(&ctx.db, &ctx.operator, new).await?
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
                &ctx.db,
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
            let c = coupons::deactivate(&ctx.db, &ctx.operator, code, &reason).await?;
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
            let r = coupons::redeem(&ctx.db, &ctx.operator, code, &user).await?;
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

fn coupon_table(ctx: &Ctx, list: &[Coupon]) -> Table {
    let mut table = Table::with(&[
        csv("id"),
        both("code"),
        both("type"),
        human("value"),
        csv("value"),
        human("used/max"),
        csv("used"),
        csv("max_uses"),
        human("validity"),
        csv("valid_from"),
        csv("valid_until"),
        both("active"),
        both("status"),
        csv("description"),
        csv("created"),
    ]);
    for c in list {
        table.row([
            Cell::show(c.id),
            Cell::from(c.code.as_str()),
            Cell::from(c.discount_type.as_str()),
            Cell::Text(c.value_display()),
            Cell::show(c.discount_value.normalize()),
            Cell::Text(c.usage_display()),
            Cell::show(c.used_count),
            Cell::opt_show(&c.max_uses),
            Cell::Text(c.validity_display()),
            Cell::Time(c.valid_from),
            Cell::opt(&c.valid_until),
            Cell::from(if c.is_active { "yes" } else { "no" }),
            Cell::from(c.status(ctx.now).as_str()),
            Cell::opt(&c.description),
            Cell::Time(c.created_at),
        ]);
    }
    table
}

async fn show(ctx: &Ctx, code: &str) -> Result<()> {
    let d = coupons::show(&ctx.db, code).await?;
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
        table.row([
            Cell::Time(r.redeemed_at),
            Cell::show(r.user_id),
            Cell::from(r.email.as_str()),
            Cell::opt_show(&r.credits_awarded),
            Cell::opt_show(&r.discount_applied),
            Cell::opt_show(&r.transaction_id),
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
