//! `creditdesk audit [--actor ...]`, `audit verify [--digest SEQ:HASH]`,
//! `audit digest`.

use clap::{Args, Subcommand};

use super::context::Ctx;
use super::output::{self, Cell, Table, both, csv, human};
use crate::db::audit::{self, AuditFilter, Digest};
use crate::domain::amounts::parse_time;
use crate::domain::text::check_free_text;
use crate::error::Result;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    cmd: Option<AuditCmd>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Debug, Subcommand)]
enum AuditCmd {
    /// Recompute the hash chain: exit 3 naming the first row that was
    /// changed, removed or inserted out of order
    Verify {
        /// A digest saved earlier (`audit digest`): also catches rows cut off
        /// the end
        #[arg(long)]
        digest: Option<String>,
    },
    /// Print the head of the chain as SEQ:HASH, to keep outside the database
    Digest,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only changes by this operator (the name given, or the login)
    #[arg(long)]
    actor: Option<String>,
    /// Only this action (e.g. credits.adjust) or area (e.g. coupon)
    #[arg(long)]
    action: Option<String>,
    /// Only changes at or after this time: 2026-01-02, "2026-01-02 15:04" (UTC),
    /// RFC 3339, or relative: -7d (ago), -12h, now
    #[arg(long, allow_hyphen_values = true)]
    since: Option<String>,
    /// Only changes before this time (the same forms)
    #[arg(long, allow_hyphen_values = true)]
    until: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: i64,
}

impl AuditArgs {
    /// Only the log itself is a list (`--csv`).
    pub(super) fn prints_list(&self) -> bool {
        self.cmd.is_none()
    }
}

pub async fn run(ctx: &Ctx, args: &AuditArgs) -> Result<()> {
    match &args.cmd {
        Some(AuditCmd::Verify { digest }) => verify(ctx, digest.as_deref()).await,
        Some(AuditCmd::Digest) => {
            let head = audit::digest(&ctx.db).await?;
            let text = match &head {
                Some(d) => d.to_string(),
                None => "the audit log is empty".to_owned(),
            };
            output::record(ctx.format, &head, &text)
        }
        None => list(ctx, &args.list).await,
    }
}

async fn verify(ctx: &Ctx, digest: Option<&str>) -> Result<()> {
    let saved = digest.map(Digest::parse).transpose()?;
    let v = audit::verify(&ctx.db, saved.as_ref()).await?;
    let text = match (&v.first_bad, &v.head) {
        (Some(bad), _) => format!(
            "the audit log was altered: row {} ({}): {}",
            bad.seq,
            bad.id
                .map_or_else(|| "gone".to_owned(), |id| format!("id {id}")),
            bad.problem
        ),
        (None, Some(head)) => {
            let against = saved
                .as_ref()
                .map(|d| format!(", and holds the saved digest's row {}", d.seq))
                .unwrap_or_default();
            format!(
                "the audit log is intact: {} rows, each following the one before{against}; head {head}",
                v.rows
            )
        }
        (None, None) => "the audit log is empty".to_owned(),
    };
    output::record(ctx.format, &v, &text)?;
    match audit::broken(&v) {
        Some(refusal) => Err(refusal.into()),
        None => Ok(()),
    }
}

async fn list(ctx: &Ctx, args: &ListArgs) -> Result<()> {
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
        until: args
            .until
            .as_deref()
            .map(|s| parse_time("until", s, ctx.now))
            .transpose()?,
        before_id: None,
        limit: args.limit.clamp(1, 10_000),
    };
    let entries = audit::list(&ctx.db, &filter).await?;
    let mut table = Table::with(&[
        both("seq"),
        both("when"),
        both("operator"),
        both("login"),
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
            Cell::show(e.seq),
            Cell::Time(e.created_at),
            Cell::from(e.actor.as_str()),
            Cell::from(e.login.as_str()),
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
