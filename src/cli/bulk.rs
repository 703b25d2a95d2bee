//! `creditdesk batches fail-many` and `creditdesk credits adjust-many`: a
//! preview (`--dry-run` stops there), then the run of exactly that preview,
//! with a progress bar on stderr and a summary of what was done, skipped
//! and failed.

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};

use super::context::Ctx;
use super::output::{self, Cell, Format, Table, both, csv, human};
use super::progress::Bar;
use crate::db::Change;
use crate::db::bulk::{Stop, adjust, fail};
use crate::domain::adjust_file;
use crate::domain::amounts::{parse_duration, parse_time, short_age};
use crate::domain::ledger::BatchStatus;
use crate::domain::text::{Reason, sanitize};
use crate::error::{Error, Result};

const FAIL_MANY_HELP: &str = "\
Choose the batches one way: --stuck [--older-than D] (generating for longer than D, default
15m), --status generating|failed --since T --until T (created in that window), or --ids FILE
(one batch id a line; `-` reads stdin; `--dry-run --json | jq -r '.items[].batch_id'` writes
one). --dry-run lists the exact batches, their users and what each would be refunded, with
totals, and changes nothing.

The run touches only the batches of its preview, each only if its status is still the one
the preview saw: a batch created later is not in it, one that changed since is skipped and
reported. Each batch is all-or-nothing (failed and refunded, or neither) and audited
(batch.fail). A batch is refunded at most once: a run cut short and run again refunds
nothing twice and finishes the rest. Refunds above approval.bulk_refund_credits in all wait
for a second person, as one request (exit 5).
Exit 0 when every batch was done or skipped; 3 when some failed; 4 when the run ended early.";

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("pick").required(true).args(["stuck", "status", "ids"])))]
pub struct FailManyArgs {
    /// The batches generating for longer than --older-than, oldest first
    #[arg(long)]
    stuck: bool,
    /// With --stuck: how long generating counts as stuck (default 15m)
    #[arg(long, requires = "stuck", allow_hyphen_values = true)]
    older_than: Option<String>,
    /// The batches with this status (generating or failed), with --since and --until
    #[arg(long, requires_all = ["since", "until"])]
    status: Option<String>,
    /// With --status: created at or after this time (2026-01-02, RFC 3339, -2h)
    #[arg(long, requires = "status", allow_hyphen_values = true)]
    since: Option<String>,
    /// With --status: created before this time
    #[arg(long, requires = "status", allow_hyphen_values = true)]
    until: Option<String>,
    /// These batches: a file of ids, one a line (`-`: stdin)
    #[arg(long, value_name = "FILE")]
    ids: Option<PathBuf>,
    /// Why: on every refund entry and audit row (not needed with --dry-run)
    #[arg(long)]
    reason: Option<String>,
    /// Refund what each batch charged (the default)
    #[arg(long, conflicts_with = "refund_none")]
    refund_all: bool,
    /// Only mark them failed
    #[arg(long)]
    refund_none: bool,
    /// List what would be done, change nothing
    #[arg(long)]
    dry_run: bool,
}

impl FailManyArgs {
    pub(super) fn prints_list(&self) -> bool {
        self.dry_run
    }

    pub fn help() -> &'static str {
        FAIL_MANY_HELP
    }
}

/// Batch ids from a file: one a line; blank lines and `#` comments skipped.
fn read_ids(path: &Path) -> Result<Vec<i32>> {
    let text = read_input(path, "ids", 16 * 1024 * 1024)?;
    let text =
        String::from_utf8(text).map_err(|_| Error::invalid("ids", "the file is not UTF-8 text"))?;
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.split('#').next().unwrap_or_default().trim();
        if t.is_empty() {
            continue;
        }
        let id = t.parse::<i32>().ok().filter(|id| *id > 0).ok_or_else(|| {
            Error::invalid(
                "ids",
                format!(
                    "line {}: {:?} is not a batch id (one whole number a line)",
                    n + 1,
                    sanitize(&t.chars().take(40).collect::<String>())
                ),
            )
        })?;
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(Error::invalid("ids", "the file lists no batch"));
    }
    Ok(ids)
}

/// A file's bytes (`-`: stdin), at most `max`.
fn read_input(path: &Path, field: &'static str, max: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let shown = sanitize(&path.to_string_lossy());
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX) + 1;
    let read = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| Error::invalid(field, format!("cannot read {shown}: {e}")))?;
    if bytes.len() > max {
        return Err(Error::invalid(
            field,
            format!("{shown} is larger than {} MB", max / 1024 / 1024),
        ));
    }
    Ok(bytes)
}

pub async fn fail_many(ctx: &Ctx, a: &FailManyArgs) -> Result<()> {
    let selection = if a.stuck {
        fail::Selection::Stuck {
            older_than: match &a.older_than {
                Some(d) => parse_duration("older-than", d)?,
                None => crate::db::batches::STUCK_AFTER,
            },
        }
    } else if let Some(status) = &a.status {
        let (Some(since), Some(until)) = (&a.since, &a.until) else {
            return Err(Error::invalid(
                "since",
                "--status needs --since and --until",
            ));
        };
        fail::Selection::Window {
            status: BatchStatus::parse(status)?,
            since: parse_time("since", since, ctx.now)?,
            until: parse_time("until", until, ctx.now)?,
        }
    } else if let Some(path) = &a.ids {
        fail::Selection::Ids(read_ids(path)?)
    } else {
        return Err(Error::invalid("stuck", "give --stuck, --status or --ids"));
    };
    let reason = match (&a.reason, a.dry_run) {
        (Some(r), _) => Some(Reason::parse(r)?),
        (None, true) => None,
        (None, false) => return Err(Error::invalid("reason", "a reason is required")),
    };
    let refund = if a.refund_none {
        fail::RefundMode::None
    } else {
        fail::RefundMode::All
    };
    let preview = fail::preview(&ctx.db, &selection, refund).await?;
    let Some(reason) = reason.filter(|_| !a.dry_run) else {
        return print_preview(ctx.format, &preview);
    };
    if ctx.format != Format::Json {
        eprintln!("{}", preview_summary(&preview));
    }
    let bar = Bar::new("failing batches", ctx.format != Format::Json);
    let on_progress = |p| bar.update(p);
    let change = fail::run(
        &ctx.db,
        &ctx.operator,
        &preview,
        &reason,
        &on_progress,
        &Stop::new(),
    )
    .await;
    bar.finish();
    let report = match change? {
        Change::Applied(report) => report,
        Change::Pending(request) => return output::pending(ctx.format, &request),
    };
    output::record(ctx.format, &report, &fail_report_text(&report))?;
    fail_outcome(&report)
}

fn fail_outcome(report: &fail::Report) -> Result<()> {
    if let Some(why) = &report.aborted {
        return Err(Error::Infrastructure(format!(
            "the run ended early ({why}): {} batch(es) not done; run the same command again to \
             finish: nothing is refunded twice",
            report.not_run.len()
        )));
    }
    if !report.failed.is_empty() {
        return Err(crate::domain::Refusal::Other {
            message: format!(
                "{} batch(es) failed (listed above); the others were done or skipped",
                report.failed.len()
            ),
        }
        .into());
    }
    Ok(())
}

fn preview_summary(p: &fail::Preview) -> String {
    let mut s = format!(
        "{}: {} batch(es) to {}, {} credits to refund to {} user(s); {} left as they are",
        p.selection,
        p.totals.batches,
        match p.refund {
            fail::RefundMode::All => "fail and refund",
            fail::RefundMode::None => "fail",
        },
        p.totals.credits,
        p.totals.users,
        p.totals.skipped
    );
    if !p.missing.is_empty() {
        s.push_str(&format!(
            "; {} listed id(s) match no batch",
            p.missing.len()
        ));
    }
    if p.truncated {
        s.push_str(&format!(
            "; more batches match: these are the first {} (run again for the rest)",
            fail::MAX_BATCHES
        ));
    }
    if p.needs_approval {
        s.push_str(&format!(
            "; above the {} credits a bulk refund gives alone: it will wait for a second person",
            p.threshold
        ));
    }
    s
}

fn print_preview(format: Format, p: &fail::Preview) -> Result<()> {
    let mut table = Table::with(&[
        both("id"),
        human("user"),
        csv("user_id"),
        csv("email"),
        both("status"),
        human("age"),
        csv("created_at"),
        both("charged"),
        both("refunded"),
        both("would_refund"),
        both("plan"),
    ]);
    for c in &p.items {
        table.row([
            Cell::show(c.batch_id),
            Cell::Text(format!("{} {}", c.user_id, c.email)),
            Cell::show(c.user_id),
            Cell::from(c.email.as_str()),
            Cell::from(c.status.as_str()),
            Cell::Text(short_age(c.age_seconds)),
            Cell::Time(c.created_at),
            Cell::show(c.charged),
            Cell::show(c.refunded),
            Cell::show(c.would_refund),
            Cell::Text(match c.plan {
                fail::Plan::FailAndRefund => "fail and refund".to_owned(),
                fail::Plan::Fail => "fail".to_owned(),
                fail::Plan::Refund => "refund".to_owned(),
                fail::Plan::Skip => format!("skip: {}", c.skip_reason.as_deref().unwrap_or("")),
            }),
        ]);
    }
    match format {
        Format::Table => {
            output::list(format, &p.items, &table)?;
            println!(
                "{} (dry run: nothing was changed)",
                sanitize(&preview_summary(p))
            );
            Ok(())
        }
        Format::Json => output::json(p),
        Format::Csv => output::list(format, &p.items, &table),
    }
}

/// The summary of a fail run, as the CLI and `approvals approve` print it.
pub(super) fn fail_report_text(r: &fail::Report) -> String {
    let mut text = format!(
        "{}: done {}, skipped {}, failed {}; refunded {} credits (run {}, {:.1} s)",
        r.selection,
        r.done.len(),
        r.skipped.len(),
        r.failed.len(),
        r.refunded,
        r.run,
        r.elapsed_ms as f64 / 1000.0
    );
    let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &r.skipped {
        *reasons.entry(s.message.as_str()).or_default() += 1;
    }
    for (why, n) in reasons {
        text.push_str(&format!("\n  skipped {n}: {why}"));
    }
    for f in &r.failed {
        text.push_str(&format!("\n  failed batch {}: {}", f.batch_id, f.error));
    }
    if r.stopped {
        text.push_str(&format!(
            "\n  stopped: {} batch(es) not tried",
            r.not_run.len()
        ));
    }
    text
}

// ---------------------------------------------------------------------------
// credits adjust-many
// ---------------------------------------------------------------------------

const ADJUST_MANY_HELP: &str = "\
The file is CSV with a header: user,amount and optionally reason,idempotency_key (any order).
user is an id or an email; amount is signed and not zero (+50, -20); a row's reason, if
given, replaces --reason on its ledger entry. --dry-run checks every row and writes nothing:
it lists each bad row with its line number (the header is line 1): an unknown user, a zero
or malformed amount, a balance that would go below zero (rows for one user count in file
order), a duplicate row, a key used for another adjustment. A run with any bad row is refused
whole, unless --skip-invalid.
Each row is booked once: its key is the idempotency_key column, or else derived from the
file's content (SHA-256) and the row's line, so running the same file again, or after a run
was cut short, books nothing twice (an edited file is a new file: give keys to carry rows
across edits). A file whose credits in and out exceed approval.adjustment_credits becomes one
pending request showing the file's name and digest (exit 5).
Exit 0 when every row was booked or was already; 3 when rows are bad or failed; 4 when the run
ended early.";

#[derive(Debug, Args)]
pub struct AdjustManyArgs {
    /// The CSV file (`-`: stdin)
    #[arg(long)]
    file: PathBuf,
    /// Why: on every ledger entry and audit row (a row's own reason wins)
    #[arg(long)]
    reason: String,
    /// Check every row and write nothing
    #[arg(long)]
    dry_run: bool,
    /// Book the good rows and leave out the bad ones
    #[arg(long)]
    skip_invalid: bool,
}

impl AdjustManyArgs {
    pub(super) fn prints_list(&self) -> bool {
        self.dry_run
    }

    pub fn help() -> &'static str {
        ADJUST_MANY_HELP
    }
}

pub async fn adjust_many(ctx: &Ctx, a: &AdjustManyArgs) -> Result<()> {
    let reason = Reason::parse(&a.reason)?;
    let bytes = read_input(&a.file, "file", adjust_file::MAX_FILE_BYTES)?;
    let parsed = adjust_file::parse(&bytes)?;
    let name = a.file.to_string_lossy().into_owned();
    let plan = adjust::check(&ctx.db, &name, &parsed, &reason).await?;
    if a.dry_run {
        print_plan(ctx.format, &plan, a.skip_invalid)?;
        return match plan.refusal() {
            Some(r) if !a.skip_invalid => Err(r.into()),
            _ => Ok(()),
        };
    }
    if !a.skip_invalid && plan.totals.bad > 0 {
        if ctx.format == Format::Table {
            eprint!(
                "{}",
                output::sanitize_lines(&bad_rows_table(&plan).render())
            );
        }
        if let Some(r) = plan.refusal() {
            return Err(r.into());
        }
    }
    if ctx.format != Format::Json {
        eprintln!("{}", plan_summary(&plan, a.skip_invalid));
    }
    let bar = Bar::new("booking rows", ctx.format != Format::Json);
    let on_progress = |p| bar.update(p);
    let change = adjust::run(
        &ctx.db,
        &ctx.operator,
        &plan,
        a.skip_invalid,
        &on_progress,
        &Stop::new(),
    )
    .await;
    bar.finish();
    let report = match change? {
        Change::Applied(report) => report,
        Change::Pending(request) => return output::pending(ctx.format, &request),
    };
    output::record(ctx.format, &report, &adjust_report_text(&report))?;
    if let Some(why) = &report.aborted {
        return Err(Error::Infrastructure(format!(
            "the run ended early ({why}): {} row(s) not booked; run the same file again to \
             finish: nothing is booked twice",
            report.not_run.len()
        )));
    }
    if !report.failed.is_empty() {
        return Err(crate::domain::Refusal::Other {
            message: format!(
                "{} row(s) failed (listed above); the others were booked",
                report.failed.len()
            ),
        }
        .into());
    }
    Ok(())
}

fn plan_summary(p: &adjust::Plan, skip_invalid: bool) -> String {
    let mut s = format!(
        "{} (sha256 {}): {} row(s): {} to book for {} user(s), +{} / -{} credits; {} booked \
         already; {} bad{}",
        p.file,
        p.digest,
        p.totals.rows,
        p.totals.ok,
        p.totals.users,
        p.totals.credited,
        p.totals.debited,
        p.totals.replayed,
        p.totals.bad,
        if p.totals.bad > 0 && skip_invalid {
            " (left out)"
        } else {
            ""
        }
    );
    if p.needs_approval {
        s.push_str(&format!(
            "; above the {} credits of an adjustment: the file waits for a second person",
            p.threshold
        ));
    }
    sanitize(&s)
}

fn bad_rows_table(p: &adjust::Plan) -> Table {
    let mut table = Table::new(&["line", "user", "amount", "problem"]);
    for r in p.bad_rows() {
        table.row([
            Cell::show(r.line),
            Cell::from(r.user.as_str()),
            Cell::opt_show(&r.amount),
            Cell::Text(r.problems.join("; ")),
        ]);
    }
    table
}

fn print_plan(format: Format, p: &adjust::Plan, skip_invalid: bool) -> Result<()> {
    match format {
        Format::Json => output::json(p),
        Format::Csv => {
            let mut table = Table::with(&[
                both("line"),
                both("user"),
                both("user_id"),
                both("email"),
                both("amount"),
                both("status"),
                both("balance_before"),
                both("balance_after"),
                both("problems"),
            ]);
            for r in &p.rows {
                table.row([
                    Cell::show(r.line),
                    Cell::from(r.user.as_str()),
                    Cell::opt_show(&r.user_id),
                    Cell::opt(&r.email),
                    Cell::opt_show(&r.amount),
                    Cell::from(match r.status {
                        adjust::RowStatus::Ok => "ok",
                        adjust::RowStatus::Replay => "booked already",
                        adjust::RowStatus::Bad => "bad",
                    }),
                    Cell::opt_show(&r.balance_before),
                    Cell::opt_show(&r.balance_after),
                    Cell::Text(r.problems.join("; ")),
                ]);
            }
            output::list(format, &p.rows, &table)
        }
        Format::Table => {
            let table = bad_rows_table(p);
            if !table.is_empty() {
                output::list(format, &p.rows, &table)?;
            }
            println!(
                "{} (dry run: nothing was written)",
                plan_summary(p, skip_invalid)
            );
            Ok(())
        }
    }
}

/// The summary of an adjust-many run, as the CLI and `approvals approve` print it.
pub(super) fn adjust_report_text(r: &adjust::Report) -> String {
    let mut text = format!(
        "{} (sha256 {}): booked {} row(s), +{} / -{} credits; {} booked already by an earlier \
         run; {} left out; {} failed ({:.1} s)",
        r.file,
        r.digest,
        r.booked.len(),
        r.credited,
        r.debited,
        r.replayed.len(),
        r.skipped.len(),
        r.failed.len(),
        r.elapsed_ms as f64 / 1000.0
    );
    for s in r.skipped.iter().take(20) {
        text.push_str(&format!("\n  line {} left out: {}", s.line, s.message));
    }
    if r.skipped.len() > 20 {
        text.push_str(&format!("\n  and {} more left out", r.skipped.len() - 20));
    }
    for f in &r.failed {
        text.push_str(&format!("\n  line {} failed: {}", f.line, f.message));
    }
    if r.stopped {
        text.push_str(&format!(
            "\n  stopped: {} row(s) not tried",
            r.not_run.len()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_files() {
        let dir = std::env::temp_dir().join(format!("cd-ids-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ok = dir.join("ok");
        std::fs::write(&ok, "12\n\n# a comment\n 13 # stuck\r\n").unwrap();
        assert_eq!(read_ids(&ok).unwrap(), [12, 13]);
        let bad = dir.join("bad");
        std::fs::write(&bad, "12\nabc\n").unwrap();
        let e = read_ids(&bad).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n# none\n").unwrap();
        assert!(read_ids(&empty).is_err());
        assert!(read_ids(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
