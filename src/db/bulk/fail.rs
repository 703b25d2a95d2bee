//! Failing and refunding many batches (issue 11 §1): a GPU outage leaves
//! thousands stuck.
//!
//! [`preview`] lists the exact batches a [`Selection`] picks, their users and
//! what each would be refunded; [`run`] fails (and refunds) exactly those,
//! each as the preview saw it: a batch created after the preview is not in
//! it, and one whose status changed since (completed, failed by someone
//! else) is skipped and reported. Each batch is all-or-nothing and audited
//! (`batch.fail`, with the run's id); a batch is refunded at most once, so a
//! run cut short and run again books no refund twice and finishes the rest.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Ended, OnProgress, Sink, Stop, Tracker, in_chunks, run_id};
use crate::db::approvals::pending_in;
use crate::db::{Change, Db, infra};
use crate::domain::ledger::BatchStatus;
use crate::domain::operator::Operator;
use crate::domain::role::Action;
use crate::domain::text::Reason;
use crate::error::{Error, Result};

/// The most batches one run takes; a selection with more is cut there (the
/// preview says so), and a second run takes the next ones.
pub const MAX_BATCHES: usize = 50_000;

/// Which batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Generating for longer than this, oldest first.
    Stuck { older_than: Duration },
    /// With this status (generating or failed), created in [since, until).
    Window {
        status: BatchStatus,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    /// These ids, in this order (a file of ids, or the console's marks).
    Ids(Vec<i32>),
}

impl Selection {
    /// One line for the preview, the audit rows and an approval request.
    pub fn describe(&self) -> String {
        match self {
            Selection::Stuck { older_than } => format!(
                "stuck: generating for more than {}",
                crate::domain::amounts::short_age(older_than.num_seconds())
            ),
            Selection::Window {
                status,
                since,
                until,
            } => format!(
                "{status} batches created from {} to {}",
                crate::domain::error::fmt_time(since),
                crate::domain::error::fmt_time(until)
            ),
            Selection::Ids(ids) => format!(
                "{} listed batch{}",
                ids.len(),
                if ids.len() == 1 { "" } else { "es" }
            ),
        }
    }
}

/// Whether the failed batches are refunded too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundMode {
    /// Everything each batch charged (never twice).
    All,
    None,
}

impl RefundMode {
    fn as_str(self) -> &'static str {
        match self {
            RefundMode::All => "all",
            RefundMode::None => "none",
        }
    }
}

/// What the run would do with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Mark it failed and refund what it charged.
    FailAndRefund,
    /// Mark it failed (no refund asked, already refunded, or it charged
    /// nothing).
    Fail,
    /// It is failed already: refund it.
    Refund,
    /// Nothing (the reason is in `skip_reason`).
    Skip,
}

/// One batch of a preview.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Candidate {
    pub batch_id: i32,
    pub user_id: i32,
    pub email: String,
    /// As the preview saw it; the run touches it only if it still is.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub age_seconds: i64,
    /// By the ledger: minus its generation entries.
    pub charged: i64,
    pub refunded: i64,
    pub plan: Plan,
    pub would_refund: i64,
    pub skip_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Batches the run would change.
    pub batches: usize,
    /// Their distinct users.
    pub users: usize,
    /// Credits it would refund.
    pub credits: i64,
    /// Batches it would leave as they are (`skip_reason`).
    pub skipped: usize,
}

/// The exact batches a run would touch.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub selection: String,
    pub refund: RefundMode,
    pub items: Vec<Candidate>,
    /// Listed ids that no batch has.
    pub missing: Vec<i32>,
    /// More batches matched than [`MAX_BATCHES`]: these are the first.
    pub truncated: bool,
    pub totals: Totals,
    /// `approval.bulk_refund_credits`: above it the run waits for a second
    /// person, as one request.
    pub threshold: i64,
    pub needs_approval: bool,
}

impl Preview {
    /// The ids of the batches the run would change.
    pub fn ids(&self) -> Vec<i32> {
        self.items
            .iter()
            .filter(|c| c.plan != Plan::Skip)
            .map(|c| c.batch_id)
            .collect()
    }
}

/// Lists the batches `selection` picks and what a run would do with each,
/// from one snapshot. Writes nothing.
pub async fn preview(db: &Db, selection: &Selection, refund: RefundMode) -> Result<Preview> {
    let limit = i64::try_from(MAX_BATCHES).unwrap_or(i64::MAX) + 1;
    let mut tx = db.snapshot().await?;
    let mut ids: Vec<i32> = match selection {
        Selection::Stuck { older_than } => {
            if *older_than <= Duration::zero() {
                return Err(Error::invalid("older-than", "must be longer than zero"));
            }
            sqlx::query_scalar!(
                r#"select id as "id!" from creditdesk.photo_generation_batches
                   where status = 'generating'
                     and "createdAt" < now() - $1::int8 * interval '1 second'
                   order by "createdAt", id
                   limit $2"#,
                older_than.num_seconds(),
                limit,
            )
            .fetch_all(tx.conn())
            .await
            .map_err(infra)?
        }
        Selection::Window {
            status,
            since,
            until,
        } => {
            if *status == BatchStatus::Completed {
                return Err(Error::invalid(
                    "status",
                    "completed batches delivered their photos: choose generating or failed",
                ));
            }
            if since >= until {
                return Err(Error::invalid("until", "must be after --since"));
            }
            sqlx::query_scalar!(
                r#"select id as "id!" from creditdesk.photo_generation_batches
                   where status = $1 and "createdAt" >= $2 and "createdAt" < $3
                   order by "createdAt", id
                   limit $4"#,
                status.as_str(),
                since,
                until,
                limit,
            )
            .fetch_all(tx.conn())
            .await
            .map_err(infra)?
        }
        Selection::Ids(ids) => {
            if ids.len() > MAX_BATCHES {
                return Err(Error::invalid(
                    "ids",
                    format!("at most {MAX_BATCHES} batches at once"),
                ));
            }
            let mut seen = std::collections::HashSet::new();
            ids.iter().copied().filter(|id| seen.insert(*id)).collect()
        }
    };
    let truncated = ids.len() > MAX_BATCHES;
    ids.truncate(MAX_BATCHES);
    let rows = sqlx::query!(
        r#"select b.id as "batch_id!", b."userId" as "user_id!", coalesce(u.email, '') as "email!",
                  b.status as "status!", b."createdAt" as "created_at!",
                  extract(epoch from now() - b."createdAt")::int8 as "age_seconds!",
                  t.charged as "charged!", t.refunded as "refunded!", t.refunds as "refunds!"
           from unnest($1::int4[]) with ordinality as s(id, n)
           join creditdesk.photo_generation_batches b on b.id = s.id
           join creditdesk.users u on u.id = b."userId"
           cross join lateral (
             -- creditdesk.batch_totals: the two links as two index scans
             select coalesce(-sum(e.amount) filter (where e.type = 'generation'), 0)::int8 as charged,
                    coalesce(sum(e.amount) filter (where e.type = 'refund' and e.direct), 0)::int8
                      as refunded,
                    count(*) filter (where e.type = 'refund' and e.direct) as refunds
             from (select h.amount, h.type::text as type, true as direct
                   from creditdesk.credit_history h where h."relatedBatchId" = b.id
                   union all
                   select h.amount, h.type::text, false
                   from creditdesk.photos p
                   join creditdesk.credit_history h on h."relatedPhotoId" = p.id
                   where p."generationBatchId" = b.id and h."relatedBatchId" is null) e) t
           order by s.n"#,
        &ids,
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?;
    let threshold = setting(&mut tx, "approval.bulk_refund_credits").await?;
    tx.finish().await?;
    let found: std::collections::HashSet<i32> = rows.iter().map(|r| r.batch_id).collect();
    let missing = ids
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect();
    let items: Vec<Candidate> = rows
        .into_iter()
        .map(|r| {
            let (plan, would_refund, skip) = plan_for(&r.status, r.charged, r.refunds, refund);
            Candidate {
                batch_id: r.batch_id,
                user_id: r.user_id,
                email: r.email,
                status: r.status,
                created_at: r.created_at,
                age_seconds: r.age_seconds,
                charged: r.charged,
                refunded: r.refunded,
                plan,
                would_refund,
                skip_reason: skip.map(str::to_owned),
            }
        })
        .collect();
    let acting: Vec<&Candidate> = items.iter().filter(|c| c.plan != Plan::Skip).collect();
    let totals = Totals {
        batches: acting.len(),
        users: acting
            .iter()
            .map(|c| c.user_id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        credits: acting.iter().map(|c| c.would_refund).sum(),
        skipped: items.len() - acting.len(),
    };
    Ok(Preview {
        selection: selection.describe(),
        refund,
        needs_approval: refund == RefundMode::All && totals.credits > threshold,
        items,
        missing,
        truncated,
        totals,
        threshold,
    })
}

/// What `creditdesk.fail_batches_now` will do with a batch in this state.
fn plan_for(
    status: &str,
    charged: i64,
    refunds: i64,
    refund: RefundMode,
) -> (Plan, i64, Option<&'static str>) {
    let refundable = refund == RefundMode::All && refunds == 0 && charged > 0;
    match status {
        "generating" if refundable => (Plan::FailAndRefund, charged, None),
        "generating" => (Plan::Fail, 0, None),
        "failed" if refund == RefundMode::None => (Plan::Skip, 0, Some("already failed")),
        "failed" if refundable => (Plan::Refund, charged, None),
        "failed" if refunds > 0 => (Plan::Skip, 0, Some("already failed and refunded")),
        "failed" => (Plan::Skip, 0, Some("already failed; it charged nothing")),
        _ => (Plan::Skip, 0, Some("completed: it delivered its photos")),
    }
}

pub(crate) async fn setting(tx: &mut crate::db::Tx, key: &str) -> Result<i64> {
    sqlx::query_scalar!(
        r#"select value as "value!" from creditdesk.current_settings where key = $1"#,
        key
    )
    .fetch_optional(tx.conn())
    .await
    .map_err(infra)?
    .ok_or_else(|| {
        Error::Infrastructure(format!(
            "the setting {key} is missing: run `creditdesk migrate`"
        ))
    })
}

/// A batch the run failed and/or refunded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Done {
    pub batch_id: i32,
    pub user_id: i32,
    pub email: String,
    pub previous_status: String,
    pub marked_failed: bool,
    pub charged: i64,
    pub refunded: i64,
    /// The refund's ledger entry.
    pub entry_id: Option<i32>,
    pub old_balance: i64,
    pub new_balance: i64,
}

/// A batch the run left as it was, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    pub batch_id: i32,
    /// `changed`, `completed`, `already_failed`, `already_refunded`,
    /// `nothing_to_refund`, `not_found`.
    pub reason: String,
    pub message: String,
}

/// A batch the database refused with an error (it was tried on its own).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failed {
    pub batch_id: i32,
    pub error: String,
}

/// What a run did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    /// The run's id, in each of its audit rows (`details.bulk.run`).
    pub run: String,
    pub selection: String,
    pub done: Vec<Done>,
    pub skipped: Vec<Skipped>,
    pub failed: Vec<Failed>,
    /// Credits refunded by this run.
    pub refunded: i64,
    /// Batches not tried: the run was stopped, or `aborted`.
    pub not_run: Vec<i32>,
    pub stopped: bool,
    /// Why the run ended early (the connection, the session): the chunk in
    /// flight may or may not have been applied; running the same preview
    /// again finishes it and books nothing twice.
    pub aborted: Option<String>,
    pub elapsed_ms: u128,
}

impl Report {
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.not_run.is_empty()
    }
}

/// Fails (and refunds) the batches of `preview`, each only if it is still
/// as the preview saw it, in chunks of [`CHUNK`](super::CHUNK) (one transaction each),
/// calling `on_progress` after each and stopping between chunks when `stop`
/// is set. Above the approval threshold the whole preview becomes one
/// pending request instead.
pub async fn run(
    db: &Db,
    operator: &Operator,
    preview: &Preview,
    reason: &Reason,
    on_progress: OnProgress<'_>,
    stop: &Stop,
) -> Result<Change<Report>> {
    db.require(Action::BatchFail)?;
    let run = run_id();
    let mut report = Report {
        run: run.clone(),
        selection: preview.selection.clone(),
        done: Vec::new(),
        skipped: preview
            .items
            .iter()
            .filter(|c| c.plan == Plan::Skip)
            .map(|c| Skipped {
                batch_id: c.batch_id,
                reason: "at_preview".to_owned(),
                message: c.skip_reason.clone().unwrap_or_default(),
            })
            .collect(),
        failed: Vec::new(),
        refunded: 0,
        not_run: Vec::new(),
        stopped: false,
        aborted: None,
        elapsed_ms: 0,
    };
    let items: Vec<serde_json::Value> = preview
        .items
        .iter()
        .filter(|c| c.plan != Plan::Skip)
        .map(|c| serde_json::json!({"batch_id": c.batch_id, "expected_status": c.status}))
        .collect();
    let run_info = serde_json::json!({
        "run": run,
        "selection": preview.selection,
        "total_refund": preview.totals.credits,
    });
    let mut tracker = Tracker::new(items.len(), on_progress);
    if items.is_empty() {
        return Ok(Change::Applied(report));
    }
    if preview.needs_approval {
        let answer = call(db, operator, &items, reason, preview.refund, &run_info).await?;
        if let Some(pending) = pending_in(&answer) {
            return pending.map(Change::Pending);
        }
        absorb(&mut report, &answer)?;
        tracker.add(items.len());
        report.elapsed_ms = tracker.elapsed_ms();
        return Ok(Change::Applied(report));
    }
    let run_info = &run_info;
    let call = |chunk: Vec<serde_json::Value>| async move {
        call(db, operator, &chunk, reason, preview.refund, run_info).await
    };
    match in_chunks(&items, &mut report, &mut tracker, stop, call).await? {
        Ended::Done => {}
        Ended::Stopped => report.stopped = true,
        Ended::Aborted(why) => report.aborted = Some(why),
    }
    report.elapsed_ms = tracker.elapsed_ms();
    Ok(Change::Applied(report))
}

/// The report of a run an approver's transaction made whole
/// (`creditdesk.approve_request` of a `batch.fail_many` request).
pub(crate) fn approved_report(
    payload: &serde_json::Value,
    answer: &serde_json::Value,
) -> Result<Report> {
    let text = |k: &str| {
        payload
            .pointer(&format!("/run/{k}"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut report = Report {
        run: text("run"),
        selection: text("selection"),
        done: Vec::new(),
        skipped: Vec::new(),
        failed: Vec::new(),
        refunded: 0,
        not_run: Vec::new(),
        stopped: false,
        aborted: None,
        elapsed_ms: 0,
    };
    absorb(&mut report, answer)?;
    Ok(report)
}

impl Sink for Report {
    fn absorb(&mut self, answer: &serde_json::Value) -> Result<()> {
        absorb(self, answer)
    }

    fn failed(&mut self, item: &serde_json::Value, error: String) {
        self.failed.push(Failed {
            batch_id: id_of(item),
            error,
        });
    }

    fn not_run(&mut self, items: &[serde_json::Value]) {
        self.not_run.extend(ids_of(items));
    }
}

fn id_of(item: &serde_json::Value) -> i32 {
    item.get("batch_id")
        .and_then(serde_json::Value::as_i64)
        .and_then(|i| i32::try_from(i).ok())
        .unwrap_or_default()
}

fn ids_of(items: &[serde_json::Value]) -> Vec<i32> {
    items.iter().map(id_of).collect()
}

/// One chunk: one transaction, one `creditdesk.fail_batches` call.
async fn call(
    db: &Db,
    operator: &Operator,
    items: &[serde_json::Value],
    reason: &Reason,
    refund: RefundMode,
    run: &serde_json::Value,
) -> Result<serde_json::Value> {
    let items = serde_json::Value::Array(items.to_vec());
    let mut tx = db.write().await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.fail_batches($1, $2, $3, $4, $5) as "answer!""#,
        items,
        reason.as_str(),
        refund.as_str(),
        run,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    tx.commit().await?;
    Ok(answer)
}

/// Adds a chunk's answer to the report.
fn absorb(report: &mut Report, answer: &serde_json::Value) -> Result<()> {
    let decode = |e: serde_json::Error| {
        Error::Infrastructure(format!("the database answered in an unexpected form: {e}"))
    };
    let items = answer
        .get("items")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in items {
        match item.get("outcome").and_then(serde_json::Value::as_str) {
            Some("done") => {
                let done: Done = serde_json::from_value(item).map_err(decode)?;
                report.refunded += done.refunded;
                report.done.push(done);
            }
            _ => {
                let text = |k: &str| {
                    item.get(k)
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let reason = text("reason");
                report.skipped.push(Skipped {
                    batch_id: id_of(&item),
                    message: skip_message(&reason, &text("status"), &text("expected_status")),
                    reason,
                });
            }
        }
    }
    Ok(())
}

fn skip_message(reason: &str, status: &str, expected: &str) -> String {
    let status = crate::domain::text::sanitize(status);
    match reason {
        "changed" => format!("changed since the preview: {status} now, {expected} then"),
        "completed" => "completed: it delivered its photos".to_owned(),
        "already_failed" => "already failed".to_owned(),
        "already_refunded" => "already failed and refunded".to_owned(),
        "nothing_to_refund" => "already failed; it charged nothing".to_owned(),
        "not_found" => "no longer exists".to_owned(),
        other => crate::domain::text::sanitize(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_mirror_the_database() {
        use RefundMode::{All, None};
        assert_eq!(
            plan_for("generating", 20, 0, All),
            (Plan::FailAndRefund, 20, Option::None)
        );
        assert_eq!(plan_for("generating", 20, 0, None).0, Plan::Fail);
        assert_eq!(plan_for("generating", 0, 0, All).0, Plan::Fail);
        assert_eq!(plan_for("generating", 20, 1, All).0, Plan::Fail);
        assert_eq!(
            plan_for("failed", 20, 0, All),
            (Plan::Refund, 20, Option::None)
        );
        assert_eq!(
            plan_for("failed", 20, 1, All).2,
            Some("already failed and refunded")
        );
        assert_eq!(plan_for("failed", 0, 0, All).0, Plan::Skip);
        assert_eq!(plan_for("failed", 20, 0, None).0, Plan::Skip);
        assert_eq!(plan_for("completed", 20, 0, All).0, Plan::Skip);
    }

    #[test]
    fn selections_describe_themselves() {
        assert_eq!(
            Selection::Stuck {
                older_than: Duration::minutes(30)
            }
            .describe(),
            "stuck: generating for more than 30m"
        );
        assert_eq!(Selection::Ids(vec![1]).describe(), "1 listed batch");
        assert_eq!(Selection::Ids(vec![1, 2]).describe(), "2 listed batches");
    }
}
