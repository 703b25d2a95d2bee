//! `creditdesk credits show|history|adjust|verify`

use clap::Subcommand;

use super::context::{Ctx, opt};
use super::output::{self, Cell, Format, Table, both, csv, human};
use crate::db::Change;
use crate::db::credits::{self, Cursor, HistoryQuery, LedgerEntry, LedgerRow, Reversal};
use crate::db::users;
use crate::domain::Refusal;
use crate::domain::amounts::{parse_credit_change, parse_time};
use crate::domain::ledger::EntryType;
use crate::domain::text::{Reason, check_free_text};
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

#[derive(Debug, Subcommand)]
pub enum CreditsCmd {
    /// Balance, totals by type and the latest entries of a user; with
    /// --as-of, the balance at a moment
    Show {
        /// A numeric id or an email
        user: String,
        /// The balance after every entry made at or before this time, by the
        /// ledger (2026-01-02, 2026-01-02 03:04, RFC 3339, -7d)
        #[arg(long, allow_hyphen_values = true)]
        as_of: Option<String>,
    },
    /// A user's ledger, newest first, a page at a time
    History {
        user: String,
        /// Only entries of this type (purchase, gift_card, coupon, generation, training, refund, admin_adjustment)
        #[arg(long = "type")]
        kind: Option<String>,
        /// Entries at or after this time: 2026-01-02, RFC 3339, or -7d (ago)
        #[arg(long, allow_hyphen_values = true)]
        since: Option<String>,
        /// Entries before this time, same forms
        #[arg(long, allow_hyphen_values = true)]
        until: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// The cursor printed at the end of the previous page
        #[arg(long)]
        before: Option<String>,
    },
    /// Correct a balance with a signed admin_adjustment entry
    Adjust {
        user: String,
        /// Signed, non-zero: +50 adds, -20 takes away
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Why: recorded on the ledger entry and in the audit log
        #[arg(long)]
        reason: String,
        /// Repeating a call with the same key books it once and answers the same
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List every user whose balance differs from the sum of their ledger
    Verify,
    /// Adjust many balances from a CSV file (user,amount[,reason,idempotency_key])
    #[command(after_help = super::bulk::AdjustManyArgs::help())]
    AdjustMany(super::bulk::AdjustManyArgs),
    /// Book the opposite of a ledger entry, once (admin adjustments, batch
    /// refunds, coupon and gift-card redemptions)
    #[command(after_help = REVERSE_HELP)]
    Reverse {
        /// The entry's id (the first column of `credits history`)
        #[arg(allow_hyphen_values = true)]
        entry: String,
        /// Why: on the reversal's ledger entry and in the audit log
        #[arg(long)]
        reason: String,
        /// Reverse only this many credits (admin adjustments and refunds)
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
    },
}

const REVERSE_HELP: &str = "\
The reversal is a new entry of the same type with the opposite amount, naming the entry it
reverses; the original shows it was reversed (`credits history`, reversed_by). An entry is
reversed at most once, never by more than it booked, and not when the balance can't cover it.
  admin_adjustment  needs the right to adjust balances (support, finance, admin)
  refund            needs the right to fail batches (oncall, admin); the batch keeps its refund
  coupon            the coupon's use is given back: the user may redeem it again
  gift_card         the card is active again (refused if it expired since: the credits would
                    be lost; use an adjustment)
Purchases, generation and training charges are not reversed here (a refund through the
payment system, `batches fail`, an adjustment). A reversal above the adjustment threshold
waits for a second person (exit 5).";

impl CreditsCmd {
    /// Prints a list (so `--csv` applies).
    pub(super) fn prints_list(&self) -> bool {
        match self {
            CreditsCmd::AdjustMany(a) => a.prints_list(),
            other => matches!(other, CreditsCmd::History { .. } | CreditsCmd::Verify),
        }
    }
}

pub async fn run(ctx: &Ctx, cmd: &CreditsCmd) -> Result<()> {
    match cmd {
        CreditsCmd::Show { user, as_of: None } => show(ctx, &UserRef::parse(user)?).await,
        CreditsCmd::Show {
            user,
            as_of: Some(at),
        } => {
            let user = UserRef::parse(user)?;
            let at = parse_time("as-of", at, ctx.now)?;
            let b = credits::balance_at(&ctx.db, &user, at).await?;
            output::record(
                ctx.format,
                &b,
                &format!(
                    "user {} {}: balance {} credits at {} UTC (the sum of the ledger's entries up \
                     to then; {} now)",
                    b.user.id,
                    b.user.email,
                    b.balance,
                    super::context::when(b.as_of),
                    b.user.credits
                ),
            )
        }
        CreditsCmd::AdjustMany(args) => super::bulk::adjust_many(ctx, args).await,
        CreditsCmd::Reverse {
            entry,
            reason,
            amount,
        } => {
            let entry = parse_entry(entry)?;
            let reason = Reason::parse(reason)?;
            let part = amount
                .as_deref()
                .map(|a| crate::domain::amounts::parse_positive_credits("amount", a))
                .transpose()?;
            match credits::reverse(&ctx.db, &ctx.operator, entry, &reason, part).await? {
                Change::Applied(r) => output::record(ctx.format, &r, &reversal_text(&r)),
                Change::Pending(request) => output::pending(ctx.format, &request),
            }
        }
        CreditsCmd::History {
            user,
            kind,
            since,
            until,
            limit,
            before,
        } => {
            let user = UserRef::parse(user)?;
            let kind = kind.as_deref().map(EntryType::parse).transpose()?;
            let since = since
                .as_deref()
                .map(|s| parse_time("since", s, ctx.now))
                .transpose()?;
            let until = until
                .as_deref()
                .map(|s| parse_time("until", s, ctx.now))
                .transpose()?;
            if !(1..=10_000).contains(limit) {
                return Err(Error::invalid("limit", "must be between 1 and 10000"));
            }
            let before = before.as_deref().map(Cursor::parse).transpose()?;
            let found = users::get(&ctx.db, &user).await?;
            let page = credits::history_with_balances(
                &ctx.db,
                &HistoryQuery {
                    user_id: found.id,
                    kind,
                    since,
                    until,
                    before,
                    limit: *limit,
                },
            )
            .await?;
            match ctx.format {
                Format::Json => output::json(&page),
                format => {
                    output::list(format, &page.entries, &ledger_rows_table(&page.entries))?;
                    if let Some(next) = page.next {
                        eprintln!("next page: --before {}", next.encode());
                    }
                    Ok(())
                }
            }
        }
        CreditsCmd::Adjust {
            user,
            amount,
            reason,
            idempotency_key,
        } => {
            let user = UserRef::parse(user)?;
            let amount = parse_credit_change("amount", amount)?;
            let reason = Reason::parse(reason)?;
            let key = idempotency_key
                .as_deref()
                .map(|k| check_free_text("idempotency-key", k, 200))
                .transpose()?
                .filter(|k| !k.is_empty());
            let done = match credits::adjust(
                &ctx.db,
                &ctx.operator,
                &user,
                amount,
                &reason,
                key.as_deref(),
            )
            .await?
            {
                Change::Applied(done) => done,
                Change::Pending(request) => return output::pending(ctx.format, &request),
            };
            let note = if done.replayed {
                " (already applied with this idempotency key; nothing new booked)"
            } else {
                ""
            };
            output::record(
                ctx.format,
                &done,
                &format!(
                    "adjusted {} by {:+}: balance {} -> {} (entry {}){note}",
                    done.email, done.amount, done.old_balance, done.new_balance, done.entry_id
                ),
            )
        }
        CreditsCmd::Verify => {
            let mismatches = credits::verify(&ctx.db).await?;
            let mut table = Table::new(&["user", "email", "balance", "ledger", "difference"]);
            for m in &mismatches {
                table.row([
                    Cell::show(m.user_id),
                    Cell::from(m.email.as_str()),
                    Cell::show(m.balance),
                    Cell::show(m.ledger_total),
                    Cell::show(i64::from(m.balance) - m.ledger_total),
                ]);
            }
            if mismatches.is_empty() && ctx.format == Format::Table {
                println!("every balance equals the sum of its ledger");
                return Ok(());
            }
            output::list(ctx.format, &mismatches, &table)?;
            if mismatches.is_empty() {
                Ok(())
            } else {
                Err(Refusal::LedgerMismatch {
                    users: mismatches.len(),
                }
                .into())
            }
        }
    }
}

async fn show(ctx: &Ctx, user: &UserRef) -> Result<()> {
    let o = credits::overview(&ctx.db, user, 10).await?;
    if ctx.format == Format::Json {
        return output::json(&o);
    }
    let mut text = format!(
        "user {} {} ({})\nbalance {} credits; ledger total {}{}\n\ntotals by type:\n",
        o.user.id,
        o.user.email,
        opt(&o.user.name),
        o.user.credits,
        o.ledger_total,
        if i64::from(o.user.credits) == o.ledger_total {
            ""
        } else {
            "  (MISMATCH: run `credits verify`)"
        }
    );
    let mut totals = Table::new(&["type", "entries", "total"]);
    for t in &o.totals {
        totals.row([t.kind.clone(), t.entries.to_string(), t.total.to_string()]);
    }
    text.push_str(&totals.render());
    text.push_str("\nlatest entries:\n");
    text.push_str(&ledger_table(&o.latest).render());
    output::record(ctx.format, &o, &text)
}

/// Ledger entry ids are `serial`: 1 to i32::MAX.
fn parse_entry(s: &str) -> Result<i32> {
    crate::domain::amounts::parse_count("entry", s, i32::MAX.unsigned_abs())
        .ok()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| {
            Error::invalid(
                "entry",
                format!("an entry id is a whole number from 1 to {}", i32::MAX),
            )
        })
}

/// What a reversal did, in a line (and `approvals approve` says the same).
pub(super) fn reversal_text(r: &Reversal) -> String {
    let mut text = format!(
        "reversed entry {} ({} {:+}) with entry {} ({:+}) for {}: balance {} -> {}",
        r.entry_id,
        r.kind,
        r.original_amount,
        r.reversal_entry_id,
        r.amount,
        r.email,
        r.old_balance,
        r.new_balance
    );
    if let Some(code) = &r.code {
        text.push_str(&match r.use_given_back {
            Some(true) => format!("; coupon {code}: its use is given back"),
            _ => format!("; coupon {code}: no redemption was left to give back"),
        });
    }
    if let Some(card) = &r.code_masked {
        text.push_str(&format!("; gift card {card} is active again"));
    }
    text
}

/// A page of `credits history`: each entry with the balance after it and
/// its reversal links.
pub(super) fn ledger_rows_table(rows: &[LedgerRow]) -> Table {
    let mut table = Table::with(&[
        both("id"),
        both("when"),
        both("type"),
        both("amount"),
        both("balance"),
        human("links"),
        csv("transaction_id"),
        csv("gift_card_id"),
        csv("gift_card_code"),
        csv("coupon_id"),
        csv("coupon_code"),
        csv("batch_id"),
        csv("photo_id"),
        csv("model_id"),
        csv("reverses_entry_id"),
        csv("reversed_by_entry_id"),
        both("description"),
    ]);
    for r in rows {
        let e = &r.entry;
        let mut links = e.links();
        for (word, id) in [
            ("reverses", r.reverses_entry_id),
            ("reversed by", r.reversed_by_entry_id),
        ] {
            if let Some(id) = id {
                if !links.is_empty() {
                    links.push_str(", ");
                }
                links.push_str(&format!("{word} {id}"));
            }
        }
        table.row([
            Cell::show(e.id),
            Cell::Time(e.created_at),
            Cell::from(e.kind.as_str()),
            Cell::Text(format!("{:+}", e.amount)),
            Cell::show(r.balance_after),
            Cell::Text(links),
            Cell::opt_show(&e.transaction_id),
            Cell::opt_show(&e.gift_card_id),
            Cell::opt(&e.gift_card_code),
            Cell::opt_show(&e.coupon_id),
            Cell::opt(&e.coupon_code),
            Cell::opt_show(&e.batch_id),
            Cell::opt_show(&e.photo_id),
            Cell::opt_show(&e.model_id),
            Cell::opt_show(&r.reverses_entry_id),
            Cell::opt_show(&r.reversed_by_entry_id),
            Cell::opt(&e.description),
        ]);
    }
    table
}

/// A ledger as a table; `batches show` prints a batch's entries the same way.
pub(super) fn ledger_table(entries: &[LedgerEntry]) -> Table {
    let mut table = Table::with(&[
        both("id"),
        both("when"),
        both("type"),
        both("amount"),
        human("links"),
        csv("transaction_id"),
        csv("gift_card_id"),
        csv("gift_card_code"),
        csv("coupon_id"),
        csv("coupon_code"),
        csv("batch_id"),
        csv("photo_id"),
        csv("model_id"),
        both("description"),
    ]);
    for e in entries {
        table.row([
            Cell::show(e.id),
            Cell::Time(e.created_at),
            Cell::from(e.kind.as_str()),
            Cell::Text(format!("{:+}", e.amount)),
            Cell::Text(e.links()),
            Cell::opt_show(&e.transaction_id),
            Cell::opt_show(&e.gift_card_id),
            Cell::opt(&e.gift_card_code),
            Cell::opt_show(&e.coupon_id),
            Cell::opt(&e.coupon_code),
            Cell::opt_show(&e.batch_id),
            Cell::opt_show(&e.photo_id),
            Cell::opt_show(&e.model_id),
            Cell::opt(&e.description),
        ]);
    }
    table
}
