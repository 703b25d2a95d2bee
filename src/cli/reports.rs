//! `creditdesk report daily|batches`: the dashboard's figures as text, JSON
//! or CSV.

use chrono::Duration;
use clap::Subcommand;

use super::context::{Ctx, when};
use super::output::{self, Cell, Format, Table, both};
use crate::db::reports::{self, BatchReport, DailyReport};
use crate::domain::amounts::{parse_time, short_age};
use crate::domain::ledger::EntryType;
use crate::error::Result;

#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// Credits granted and spent per UTC day, by type; coupon and gift-card
    /// redemptions per day; the week's biggest adjustments
    Daily {
        /// From this day on (2026-01-02, RFC 3339, -30d; default 30 days)
        #[arg(long, allow_hyphen_values = true)]
        since: Option<String>,
    },
    /// Batches per hour by status, the failure rate, batches stuck now
    Batches {
        /// From this hour on (default 48 hours)
        #[arg(long, allow_hyphen_values = true)]
        since: Option<String>,
    },
}

impl ReportCmd {
    pub(super) fn prints_list(&self) -> bool {
        true
    }
}

pub async fn run(ctx: &Ctx, cmd: &ReportCmd) -> Result<()> {
    match cmd {
        ReportCmd::Daily { since } => {
            let since = match since {
                Some(s) => parse_time("since", s, ctx.now)?,
                None => ctx.now - Duration::days(29),
            };
            let r = reports::daily(&ctx.db, since).await?;
            match ctx.format {
                Format::Json => output::json(&r),
                Format::Csv => output::list(ctx.format, &r.days, &days_table(&r)),
                Format::Table => output::record(ctx.format, &r, &daily_text(&r)),
            }
        }
        ReportCmd::Batches { since } => {
            let since = match since {
                Some(s) => parse_time("since", s, ctx.now)?,
                None => ctx.now - Duration::hours(47),
            };
            let r = reports::batches(&ctx.db, since).await?;
            match ctx.format {
                Format::Json => output::json(&r),
                Format::Csv => output::list(ctx.format, &r.hours, &hours_table(&r)),
                Format::Table => output::record(ctx.format, &r, &batches_text(&r)),
            }
        }
    }
}

fn days_table(r: &DailyReport) -> Table {
    let mut columns = vec![both("day"), both("credited"), both("debited"), both("net")];
    columns.extend(EntryType::ALL.iter().map(|k| both(k.as_str())));
    columns.extend([both("coupon_redemptions"), both("gift_card_redemptions")]);
    let mut table = Table::with(&columns);
    for d in &r.days {
        let mut row = vec![
            Cell::show(d.day),
            Cell::show(d.credited),
            Cell::show(d.debited),
            Cell::show(d.credited - d.debited),
        ];
        row.extend(EntryType::ALL.iter().map(|k| Cell::show(d.net(*k))));
        row.extend([
            Cell::show(d.coupon_redemptions),
            Cell::show(d.gift_card_redemptions),
        ]);
        table.row(row);
    }
    table
}

fn daily_text(r: &DailyReport) -> String {
    let mut text = format!(
        "credits per UTC day, {} to {} (net by type: + granted, - spent){}\n",
        r.since,
        r.until,
        if r.complete {
            ""
        } else {
            " -- INCOMPLETE: the ledger's daily sums are still being filled in (creditdesk migrate)"
        }
    );
    text.push_str(&days_table(r).render());
    text.push_str("\nbiggest adjustments of the last 7 days:\n");
    let mut big = Table::new(&["entry", "when", "user", "amount", "description"]);
    for a in &r.biggest_adjustments {
        big.row([
            Cell::show(a.entry_id),
            Cell::Time(a.created_at),
            Cell::Text(format!("{} {}", a.user_id, a.email)),
            Cell::Text(format!("{:+}", a.amount)),
            Cell::opt(&a.description),
        ]);
    }
    if big.is_empty() {
        text.push_str("(none)\n");
    } else {
        text.push_str(&big.render());
    }
    text
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn hours_table(r: &BatchReport) -> Table {
    let mut table = Table::new(&["hour", "generating", "completed", "failed", "failure_rate"]);
    for h in &r.hours {
        table.row([
            Cell::Time(h.hour),
            Cell::show(h.generating),
            Cell::show(h.completed),
            Cell::show(h.failed),
            Cell::Text(
                h.failure_rate()
                    .map_or_else(String::new, |f| format!("{f:.4}")),
            ),
        ]);
    }
    table
}

fn batches_text(r: &BatchReport) -> String {
    let s = &r.stuck;
    let mut text = format!(
        "batches per hour since {} (by creation); failure rate {} over the period, {} over 24 hours\n",
        when(r.since),
        pct(r.failure_rate),
        pct(r.failure_rate_24h),
    );
    text.push_str(&hours_table(r).render());
    text.push_str(&format!(
        "\nstuck now: {} generating, {} for more than {} (warn), {} for more than {} (alert)\n",
        s.generating,
        s.over_warn,
        short_age(reports::STUCK_WARN.num_seconds()),
        s.over_alert,
        short_age(reports::STUCK_ALERT.num_seconds()),
    ));
    if !s.oldest.is_empty() {
        let mut t = Table::new(&["batch", "user", "age", "credits"]);
        for b in &s.oldest {
            t.row([
                Cell::show(b.batch_id),
                Cell::show(b.user_id),
                Cell::Text(short_age(b.age_seconds)),
                Cell::show(b.credits_used),
            ]);
        }
        text.push_str(&t.render());
    }
    text
}
