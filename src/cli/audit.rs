//! `creditdesk audit`

use clap::Args;

use super::context::{Ctx, opt, when};
use super::output::{self, Table};
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
    /// Only changes at or after this time (RFC 3339, "2026-01-02" or "2026-01-02 15:04")
    #[arg(long)]
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
        until: None,
        before_id: None,
        limit: args.limit.clamp(1, 10_000),
    };
    let entries = audit::list(&ctx.db, &filter).await?;
    let mut table = Table::new(&[
        "id", "when", "actor", "action", "entity", "reason", "details",
    ]);
    for e in &entries {
        table.row(vec![
            e.id.to_string(),
            when(e.created_at),
            e.actor.clone(),
            e.action.clone(),
            format!("{} {}", e.entity_type, opt(&e.entity_id)),
            opt(&e.reason),
            e.details.to_string(),
        ]);
    }
    output::list(ctx.format, &entries, &table)
}
