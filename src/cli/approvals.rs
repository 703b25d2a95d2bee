//! `creditdesk approvals list|show|approve|reject`: the second person of a
//! four-eyes change.

use clap::Subcommand;

use super::context::{Ctx, opt, when};
use super::output::{self, Cell, Table, both, csv, human};
use crate::db::approvals::{self, Approved, RequestFilter};
use crate::domain::text::Reason;
use crate::error::Result;

#[derive(Debug, Subcommand)]
pub enum ApprovalsCmd {
    /// Requests, newest first (pending ones only with --pending)
    List {
        #[arg(long)]
        pending: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One request, and what approving it would do now
    Show { id: i64 },
    /// Approve someone else's pending request: the change runs now
    Approve {
        id: i64,
        /// Why (kept in the audit log)
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reject someone else's pending request
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

impl ApprovalsCmd {
    pub(super) fn prints_list(&self) -> bool {
        matches!(self, ApprovalsCmd::List { .. })
    }
}

pub async fn run(ctx: &Ctx, cmd: &ApprovalsCmd) -> Result<()> {
    match cmd {
        ApprovalsCmd::List { pending, limit } => {
            let found = approvals::list(
                &ctx.db,
                &RequestFilter {
                    pending_only: *pending,
                    limit: (*limit).clamp(1, 1000),
                },
            )
            .await?;
            let mut table = Table::with(&[
                both("id"),
                both("status"),
                both("requested"),
                human("by"),
                csv("requested_by"),
                csv("requested_by_login"),
                both("summary"),
                both("expires"),
                both("decided_by"),
            ]);
            for r in &found {
                table.row([
                    Cell::show(r.id),
                    Cell::from(r.status.as_str()),
                    Cell::Time(r.requested_at),
                    Cell::from(if r.requested_by == r.requested_by_login {
                        r.requested_by.clone()
                    } else {
                        format!("{} (login {})", r.requested_by, r.requested_by_login)
                    }),
                    Cell::from(r.requested_by.as_str()),
                    Cell::from(r.requested_by_login.as_str()),
                    Cell::from(r.summary.as_str()),
                    Cell::Time(r.expires_at),
                    Cell::opt(&r.decided_by),
                ]);
            }
            output::list(ctx.format, &found, &table)
        }
        ApprovalsCmd::Show { id } => {
            let d = approvals::show(&ctx.db, *id).await?;
            let r = &d.request;
            let mut text = format!(
                "request #{} ({}): {}\nstatus: {}\nasked by {} (login {}) at {}: {}\nexpires: {}",
                r.id,
                r.kind,
                r.summary,
                r.status,
                r.requested_by,
                r.requested_by_login,
                when(r.requested_at),
                r.reason,
                when(r.expires_at),
            );
            if let (Some(by), Some(at)) = (&r.decided_by, r.decided_at) {
                text.push_str(&format!(
                    "\ndecided by {by} at {}: {}",
                    when(at),
                    opt(&r.decision_reason)
                ));
            }
            for line in &d.effect_now {
                text.push_str(&format!("\nnow: {line}"));
            }
            output::record(ctx.format, &d, &text)
        }
        ApprovalsCmd::Approve { id, reason } => {
            let reason = reason.as_deref().map(Reason::parse).transpose()?;
            let done = approvals::approve(&ctx.db, &ctx.operator, *id, reason.as_ref()).await?;
            let text = match &done {
                Approved::Adjustment(a) => format!(
                    "approved request #{id}: adjusted {} by {:+}: balance {} -> {} (entry {})",
                    a.email, a.amount, a.old_balance, a.new_balance, a.entry_id
                ),
                Approved::GiftCards(cards) => {
                    let mut t = format!(
                        "approved request #{id}: issued {} gift card(s); their codes, shown once:",
                        cards.len()
                    );
                    for c in cards {
                        t.push_str(&format!("\n{}  {}  {} credits", c.id, c.code, c.credits));
                    }
                    t
                }
                Approved::AdjustMany(r) => format!(
                    "approved request #{id}: {}",
                    super::bulk::adjust_report_text(r)
                ),
                Approved::FailMany(r) => format!(
                    "approved request #{id}: {}",
                    super::bulk::fail_report_text(r)
                ),
                Approved::Reversal(r) => format!(
                    "approved request #{id}: {}",
                    super::credits::reversal_text(r)
                ),
            };
            output::record(ctx.format, &done, &text)
        }
        ApprovalsCmd::Reject { id, reason } => {
            let reason = Reason::parse(reason)?;
            let r = approvals::reject(&ctx.db, &ctx.operator, *id, &reason).await?;
            output::record(
                ctx.format,
                &r,
                &format!("rejected request #{}: {}", r.id, r.summary),
            )
        }
    }
}
