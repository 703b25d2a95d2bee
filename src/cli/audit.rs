//! `creditdesk audit`

use clap::Args;

use super::context::Ctx;
use super::output::{self, Cell, Table, both, csv, human};
use crate::db::audit::{self, AuditFilter};
use crate::domain::amounts::parse_time;
use crate::domain::text::check_free_text;
use crate::error::Result;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only changes by this operator
    #[arg(long)]
    actor: Option<String>,
    /// Only this action (e.g. credits.adjust) or area (e.g. coupon)
    #[arg(long)]
    action: Option<String>,
    /// Only changes at or after this time: 2026-01-02, "2026-01-02 15:04" (UTC),
    /// RFC 3339, or relative: -7d (ago), -12h, now
    #[arg(long, allow_hyphen_values = true)]
    since: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: i64,
}

pub async fn run(ctx: &Ctx, args: &AuditArgs) -> Result<()> {
    let filter = AuditFilter {
        actor: args
            .actor
            .as_deref()
            .map(|a| check_free_text("actor", a, 100))
            .transpose()?,
        action: args
            .action
            .as_deref()
            .map(|a| check_free_text("action", a, 100))
            .transpose()?,
        since: args
            .since
            .as_deref()
            .map(|s| parse_time("since", s, ctx.now))
            .transpose()?,
        before_id: None,
        limit: args.limit.clamp(1, 10_000),
    };
    let entries = audit::list(&ctx.db, &filter).await?;
    let mut table = Table::with(&[
        both("id"),
        both("when"),
        both("actor"),
        both("action"),
        human("entity"),
        csv("entity_type"),
        csv("entity_id"),
        both("reason"),
        both("details"),
    ]);
    for e in &entries {
        let entity = match &e.entity_id {
            Some(id) => format!("{} {id}", e.entity_type),
            None => e.entity_type.clone(),
        };
        table.row([
            Cell::show(e.id),
            Cell::Time(e.created_at),
            Cell::from(e.actor.as_str()),
            Cell::from(e.action.as_str()),
            Cell::from(entity),
            Cell::from(e.entity_type.as_str()),
            Cell::opt(&e.entity_id),
            Cell::opt(&e.reason),
            Cell::show(&e.details),
        ]);
    }
    output::list(ctx.format, &entries, &table)
}
