//! `creditdesk batches list|show|fail`

use clap::Subcommand;

use super::context::{Ctx, opt, when};
use super::output::{self, Cell, Format, Table, both, csv, human};
use crate::db::batches::{self, BatchFilter, BatchSummary, Refund};
use crate::domain::amounts::{parse_count, parse_duration, parse_positive_credits, short_age};
use crate::domain::batch_options::full_text;
use crate::domain::ledger::BatchStatus;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

const FAIL_HELP: &str = "\
What happens, by the batch's status (all in one transaction, with a batch.fail audit row):
  generating  marked failed; refunded too if --refund or --refund-all is given.
              completedAt stays empty: the batch never completed (when it was
              failed, and by whom, is in the audit log).
  failed      not marked again; --refund or --refund-all refunds it if it never
              was refunded; without them there is nothing to do (refused).
  completed   refused: a completed batch delivered its photos (use `credits adjust`
              for a goodwill gesture).
The refund is one `refund` ledger entry to the batch's user, linked to the batch.
A batch is refunded at most once, never more than it charged: minus the sum of its
`generation` entries, linked to the batch or to its photos.
If the refund is refused (already refunded, nothing charged, too much), the batch
is not marked failed either: nothing is written when a command fails.";

#[derive(Debug, Subcommand)]
pub enum BatchesCmd {
    /// Batches newest first; with --stuck, the ones generating too long, oldest first
    List {
        /// Only batches with this status (generating, completed, failed)
        #[arg(long, conflicts_with = "stuck")]
        status: Option<String>,
        /// Only batches generating for longer than --older-than (default 15m), oldest first
        #[arg(long)]
        stuck: bool,
        /// How long generating counts as stuck, like 30m, 2h or 1d (with --stuck)
        #[arg(long, requires = "stuck", allow_hyphen_values = true)]
        older_than: Option<String>,
        /// Only this user's batches: a numeric id or an email
        #[arg(long)]
        user: Option<String>,
        /// At most this many batches (1 to 10000)
        #[arg(long, default_value = "50", allow_hyphen_values = true)]
        limit: String,
    },
    /// A batch with its options, user, model, photos, credits charged and refunded, and ledger entries
    Show {
        /// The batch id
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Mark a batch failed and, if asked, refund its credits to its user
    #[command(after_help = FAIL_HELP)]
    Fail {
        /// The batch id
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Why: recorded on the refund entry and in the audit log
        #[arg(long)]
        reason: String,
        /// Refund this many credits (at most what the batch charged)
        #[arg(long, allow_hyphen_values = true, conflicts_with = "refund_all")]
        refund: Option<String>,
        /// Refund everything the batch charged
        #[arg(long)]
        refund_all: bool,
    },
    /// Fail and refund many batches: the stuck ones, a window of them, or a list
    #[command(after_help = super::bulk::FailManyArgs::help())]
    FailMany(super::bulk::FailManyArgs),
}

impl BatchesCmd {
    /// Prints a list (so `--csv` applies).
    pub(super) fn prints_list(&self) -> bool {
        match self {
            BatchesCmd::FailMany(a) => a.prints_list(),
            other => matches!(other, BatchesCmd::List { .. }),
        }
    }
}

pub async fn run(ctx: &Ctx, cmd: &BatchesCmd) -> Result<()> {
    match cmd {
        BatchesCmd::List {
            status,
            stuck,
            older_than,
            user,
            limit,
        } => {
            let filter = BatchFilter {
                status: status.as_deref().map(BatchStatus::parse).transpose()?,
                stuck_older_than: match (stuck, older_than) {
                    (true, Some(d)) => Some(parse_duration("older-than", d)?),
                    (true, None) => Some(batches::STUCK_AFTER),
                    (false, _) => None,
                },
                user: user.as_deref().map(UserRef::parse).transpose()?,
                limit: parse_count("limit", limit, 10_000)?.into(),
                after: None,
            };
            let found = batches::list(&ctx.db, &filter).await?;
            output::list(ctx.format, &found, &summary_table(&found))
        }
        BatchesCmd::Show { id } => show(ctx, parse_id(id)?).await,
        BatchesCmd::FailMany(args) => super::bulk::fail_many(ctx, args).await,
        BatchesCmd::Fail {
            id,
            reason,
            refund,
            refund_all,
        } => {
            let id = parse_id(id)?;
            let reason = Reason::parse(reason)?;
            let refund = match (refund, refund_all) {
                (Some(n), _) => Refund::Amount(parse_positive_credits("refund", n)?),
                (None, true) => Refund::All,
                (None, false) => Refund::None,
            };
            let done = batches::fail(&ctx.db, &ctx.operator, id, &reason, refund).await?;
            let what = if done.marked_failed {
                format!("batch {} marked failed (was {})", id, done.previous_status)
            } else {
                format!("batch {id} was already failed")
            };
            let refund = match done.entry_id {
                Some(entry) => format!(
                    "; refunded {} of {} charged credits to {}: balance {} -> {} (entry {entry})",
                    done.refunded, done.charged, done.email, done.old_balance, done.new_balance
                ),
                None => format!("; no refund ({} credits charged)", done.charged),
            };
            output::record(ctx.format, &done, &format!("{what}{refund}"))
        }
    }
}

/// Batch ids are `serial`: 1 to i32::MAX.
fn parse_id(s: &str) -> Result<i32> {
    parse_count("batch", s, i32::MAX.unsigned_abs())
        .ok()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| {
            Error::invalid(
                "batch",
                format!("a batch id is a whole number from 1 to {}", i32::MAX),
            )
        })
}

fn summary_table(found: &[BatchSummary]) -> Table {
    let mut table = Table::with(&[
        both("id"),
        human("user"),
        csv("user_id"),
        csv("user_email"),
        human("model"),
        csv("model_id"),
        csv("model_name"),
        both("status"),
        both("images"),
        both("credits"),
        both("created"),
        human("age"),
        csv("age_seconds"),
        both("completed"),
    ]);
    for b in found {
        table.row([
            Cell::show(b.id),
            Cell::Text(format!("{} {}", b.user_id, b.user_email)),
            Cell::show(b.user_id),
            Cell::from(b.user_email.as_str()),
            match (b.model_id, &b.model_name) {
                (Some(id), Some(name)) => Cell::Text(format!("{id} {name}")),
                _ => Cell::Missing,
            },
            Cell::opt_show(&b.model_id),
            Cell::opt(&b.model_name),
            Cell::from(b.status.as_str()),
            Cell::show(b.images),
            Cell::show(b.credits_used),
            Cell::Time(b.created_at),
            Cell::Text(short_age(b.age_seconds)),
            Cell::show(b.age_seconds),
            Cell::opt(&b.completed_at),
        ]);
    }
    table
}

async fn show(ctx: &Ctx, id: i32) -> Result<()> {
    let b = batches::show(&ctx.db, id).await?;
    if ctx.format == Format::Json {
        return output::json(&b);
    }
    let model = match &b.model {
        Some(m) => format!("{} {} ({})", m.id, m.name, opt(&m.status)),
        None => "- (deleted)".to_owned(),
    };
    let mut text = format!(
        "batch {}: {}, {} images, creditsUsed {}\n\
         created {} ({} ago); completed {}\n\
         user {} {} ({}), balance {}\n\
         model {model}\n\
         options: {}\n\
         charged {} credits; refunded {}\n\n\
         photos ({}):\n",
        b.id,
        b.status,
        b.images,
        b.credits_used,
        when(b.created_at),
        short_age(b.age_seconds),
        b.completed_at.map(when).unwrap_or_else(|| "-".to_owned()),
        b.user.id,
        b.user.email,
        opt(&b.user.name),
        b.user.credits,
        full_text(&b.options),
        b.charged,
        b.refunded,
        b.photos.len(),
    );
    let mut photos = Table::new(&["id", "credits", "created", "options", "url"]);
    for p in &b.photos {
        photos.row([
            Cell::show(p.id),
            Cell::show(p.credits_used),
            Cell::Time(p.created_at),
            Cell::Text(full_text(&p.options)),
            Cell::from(p.url.as_str()),
        ]);
    }
    text.push_str(&photos.render());
    text.push_str("\nledger entries:\n");
    text.push_str(&super::credits::ledger_table(&b.entries).render());
    output::record(ctx.format, &b, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids() {
        assert_eq!(parse_id(" 12 ").ok(), Some(12));
        assert_eq!(parse_id("2147483647").ok(), Some(i32::MAX));
        for bad in [
            "abc",
            "",
            "0",
            "-5",
            "2147483648",
            "1.5",
            "'; drop table users; --",
        ] {
            assert!(
                matches!(parse_id(bad), Err(crate::Error::Invalid(_))),
                "{bad:?}"
            );
        }
    }
}
