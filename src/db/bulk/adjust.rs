//! Adjusting many balances from a file (issue 11 §2): finance compensates
//! 800 customers from a spreadsheet.
//!
//! [`check`] reads the file's users and balances and says what every row
//! would do, listing each bad row with its line: an unknown or ambiguous
//! user, a malformed or zero amount, a balance that would go below zero
//! (rows for one user count in file order), a duplicate of an earlier row,
//! an idempotency key used for something else. [`run`] books the good rows
//! (all of them, or none when any is bad, unless `skip_invalid`), each an
//! `admin_adjustment` with its idempotency key and its `credits.adjust`
//! audit row, in chunks; rows whose key is booked already are replayed, so
//! running the file again, or after a run was cut short, books nothing
//! twice. A file whose credits in and out exceed the adjustment threshold
//! becomes one pending request showing the file's name, digest and totals.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{Ended, OnProgress, Sink, Stop, Tracker, in_chunks};
use crate::db::approvals::pending_in;
use crate::db::{Change, Db, infra};
use crate::domain::Refusal;
use crate::domain::adjust_file::AdjustFile;
use crate::domain::operator::Operator;
use crate::domain::role::Action;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::{Error, Result};

/// What a row would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// It would be booked.
    Ok,
    /// Its idempotency key booked it already (an earlier run): skipped.
    Replay,
    /// It can't be booked: `problems` says why.
    Bad,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlannedRow {
    pub line: usize,
    /// The user as the file names them.
    pub user: String,
    pub user_id: Option<i32>,
    pub email: Option<String>,
    pub amount: Option<i32>,
    /// The row's reason (else the run's).
    pub reason: Option<String>,
    pub key: String,
    pub status: RowStatus,
    pub problems: Vec<String>,
    /// The user's balance before and after this row, counting the rows
    /// above it.
    pub balance_before: Option<i64>,
    pub balance_after: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PlanTotals {
    pub rows: usize,
    pub ok: usize,
    pub replayed: usize,
    pub bad: usize,
    /// Distinct users of the rows to book.
    pub users: usize,
    pub credited: i64,
    pub debited: i64,
}

/// What a run of the file would do, row by row.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub file: String,
    /// SHA-256 of the file's bytes, hex.
    pub digest: String,
    pub reason: String,
    pub rows: Vec<PlannedRow>,
    pub totals: PlanTotals,
    /// `approval.adjustment_credits`: a file whose credits in and out
    /// exceed it waits for a second person, as one request.
    pub threshold: i64,
    pub needs_approval: bool,
}

impl Plan {
    pub fn bad_rows(&self) -> impl Iterator<Item = &PlannedRow> {
        self.rows.iter().filter(|r| r.status == RowStatus::Bad)
    }

    /// The refusal a run without `skip_invalid` meets when rows are bad.
    pub fn refusal(&self) -> Option<Refusal> {
        let rows: Vec<(usize, String)> = self
            .bad_rows()
            .map(|r| (r.line, r.problems.join("; ")))
            .collect();
        (!rows.is_empty()).then_some(Refusal::RowsRefused {
            count: rows.len(),
            rows,
        })
    }
}

/// Checks every row of `file` against the database (one snapshot): writes
/// nothing. `name` is how the file is shown (its path).
pub async fn check(db: &Db, name: &str, file: &AdjustFile, reason: &Reason) -> Result<Plan> {
    let mut ids: Vec<i32> = Vec::new();
    let mut emails: Vec<String> = Vec::new();
    for r in &file.rows {
        match &r.user {
            Some(UserRef::Id(id)) => ids.push(*id),
            Some(UserRef::Email(e)) => emails.push(e.clone()),
            None => {}
        }
    }
    let keys: Vec<String> = file.rows.iter().map(|r| r.key.clone()).collect();
    let mut tx = db.snapshot().await?;
    let by_id: HashMap<i32, (String, i64)> = sqlx::query!(
        r#"select id as "id!", coalesce(email, '') as "email!", credits::int8 as "credits!"
           from creditdesk.users where id = any($1)"#,
        &ids
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?
    .into_iter()
    .map(|u| (u.id, (u.email, u.credits)))
    .collect();
    let mut by_email: HashMap<String, Vec<(i32, String, i64)>> = HashMap::new();
    for u in sqlx::query!(
        r#"select id as "id!", coalesce(email, '') as "email!", credits::int8 as "credits!",
                  lower(email) as "key!"
           from creditdesk.users where lower(email) = any($1)
           order by id"#,
        &emails
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?
    {
        by_email
            .entry(u.key)
            .or_default()
            .push((u.id, u.email, u.credits));
    }
    let booked: HashMap<String, (i32, i32, i32)> = sqlx::query!(
        r#"select "idempotencyKey" as "key!", id as "id!", "userId" as "user_id!",
                  amount as "amount!"
           from creditdesk.credit_history where "idempotencyKey" = any($1)"#,
        &keys
    )
    .fetch_all(tx.conn())
    .await
    .map_err(infra)?
    .into_iter()
    .map(|h| (h.key, (h.id, h.user_id, h.amount)))
    .collect();
    let threshold = super::fail::setting(&mut tx, "approval.adjustment_credits").await?;
    tx.finish().await?;

    let mut balances: HashMap<i32, i64> = HashMap::new();
    let mut first_key: HashMap<&str, usize> = HashMap::new();
    let mut first_row: HashMap<(i32, i32, Option<&str>), usize> = HashMap::new();
    let mut rows = Vec::with_capacity(file.rows.len());
    for r in &file.rows {
        let mut row = PlannedRow {
            line: r.line,
            user: r.user_text.clone(),
            user_id: None,
            email: None,
            amount: r.amount,
            reason: r.reason.clone(),
            key: r.key.clone(),
            status: RowStatus::Ok,
            problems: r.problems.clone(),
            balance_before: None,
            balance_after: None,
        };
        let found = match &r.user {
            Some(UserRef::Id(id)) => match by_id.get(id) {
                Some((email, credits)) => Some((*id, email.clone(), *credits)),
                None => {
                    row.problems.push(format!("no user matches #{id}"));
                    None
                }
            },
            Some(UserRef::Email(e)) => match by_email.get(e).map(Vec::as_slice) {
                Some([(id, email, credits)]) => Some((*id, email.clone(), *credits)),
                Some(many @ [_, _, ..]) => {
                    let ids: Vec<String> = many.iter().map(|(id, _, _)| format!("#{id}")).collect();
                    row.problems.push(format!(
                        "{} names {} users ({}): give the id of the one you mean",
                        crate::domain::text::sanitize(e),
                        many.len(),
                        ids.join(", ")
                    ));
                    None
                }
                _ => {
                    row.problems.push(format!(
                        "no user matches {}",
                        crate::domain::text::sanitize(e)
                    ));
                    None
                }
            },
            None => None,
        };
        if let Some((id, email, _)) = &found {
            row.user_id = Some(*id);
            row.email = Some(email.clone());
        }
        if let Some(first) = first_key.get(r.key.as_str()) {
            row.problems
                .push(format!("has the same idempotency key as line {first}"));
        } else {
            first_key.insert(&r.key, r.line);
        }
        if let (Some((id, _, _)), Some(amount), false) = (&found, r.amount, r.key_given) {
            let content = (*id, amount, r.reason.as_deref());
            match first_row.get(&content) {
                Some(first) => row.problems.push(format!(
                    "is a duplicate of line {first} (the same user, amount and reason)"
                )),
                None => {
                    first_row.insert(content, r.line);
                }
            }
        }
        if let Some((entry, user, amount)) = booked.get(&r.key) {
            if Some(*user) == row.user_id && Some(*amount) == r.amount {
                row.status = RowStatus::Replay;
            } else {
                row.problems.push(format!(
                    "its idempotency key was already used for a different adjustment (entry {entry})"
                ));
            }
        }
        if row.problems.is_empty()
            && row.status == RowStatus::Ok
            && let (Some((id, _, credits)), Some(amount)) = (&found, r.amount)
        {
            let before = *balances.entry(*id).or_insert(*credits);
            let after = before + i64::from(amount);
            row.balance_before = Some(before);
            if after < 0 {
                row.problems.push(format!(
                    "balance {before} cannot take {amount}: it would go below zero"
                ));
            } else if after > i64::from(i32::MAX) {
                row.problems.push(format!(
                        "balance {before} cannot take {amount}: it would exceed the largest balance ({})",
                        i32::MAX
                    ));
            } else {
                balances.insert(*id, after);
                row.balance_after = Some(after);
            }
        }
        if !row.problems.is_empty() {
            row.status = RowStatus::Bad;
        }
        rows.push(row);
    }
    let ok: Vec<&PlannedRow> = rows.iter().filter(|r| r.status == RowStatus::Ok).collect();
    let totals = PlanTotals {
        rows: rows.len(),
        ok: ok.len(),
        replayed: rows
            .iter()
            .filter(|r| r.status == RowStatus::Replay)
            .count(),
        bad: rows.iter().filter(|r| r.status == RowStatus::Bad).count(),
        users: ok
            .iter()
            .filter_map(|r| r.user_id)
            .collect::<HashSet<_>>()
            .len(),
        credited: ok
            .iter()
            .filter_map(|r| r.amount)
            .filter(|a| *a > 0)
            .map(i64::from)
            .sum(),
        debited: -ok
            .iter()
            .filter_map(|r| r.amount)
            .filter(|a| *a < 0)
            .map(i64::from)
            .sum::<i64>(),
    };
    Ok(Plan {
        file: name.to_owned(),
        digest: file.digest.clone(),
        reason: reason.as_str().to_owned(),
        needs_approval: totals.credited + totals.debited > threshold,
        rows,
        totals,
        threshold,
    })
}

/// A row the run booked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Booked {
    pub line: usize,
    pub user_id: i32,
    pub email: String,
    pub amount: i32,
    pub entry_id: i32,
    pub old_balance: i64,
    pub new_balance: i64,
}

/// A row left out, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Left {
    pub line: usize,
    pub message: String,
}

/// What a run did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    pub file: String,
    pub digest: String,
    pub booked: Vec<Booked>,
    /// Rows an earlier run booked (their keys are in the ledger).
    pub replayed: Vec<usize>,
    /// Bad rows left out (`skip_invalid`).
    pub skipped: Vec<Left>,
    /// Rows the database refused although the check passed them (a
    /// balance changed meanwhile); tried on their own, nothing else lost.
    pub failed: Vec<Left>,
    pub credited: i64,
    pub debited: i64,
    /// Lines not tried: the run was stopped, or `aborted`.
    pub not_run: Vec<usize>,
    pub stopped: bool,
    /// Why the run ended early: the chunk in flight may or may not have been
    /// booked; running the same file again finishes it, booking nothing twice.
    pub aborted: Option<String>,
    pub elapsed_ms: u128,
}

impl Report {
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.not_run.is_empty()
    }
}

/// Books the rows of `plan` that are good (refused whole when any is bad,
/// unless `skip_invalid`), in chunks of [`CHUNK`](super::CHUNK), one transaction each;
/// above the threshold the whole file becomes one pending request instead.
pub async fn run(
    db: &Db,
    operator: &Operator,
    plan: &Plan,
    skip_invalid: bool,
    on_progress: OnProgress<'_>,
    stop: &Stop,
) -> Result<Change<Report>> {
    db.require(Action::CreditsAdjust)?;
    if !skip_invalid && let Some(refusal) = plan.refusal() {
        return Err(refusal.into());
    }
    let reason = Reason::parse(&plan.reason)?;
    let mut report = Report {
        file: plan.file.clone(),
        digest: plan.digest.clone(),
        booked: Vec::new(),
        replayed: plan
            .rows
            .iter()
            .filter(|r| r.status == RowStatus::Replay)
            .map(|r| r.line)
            .collect(),
        skipped: plan
            .bad_rows()
            .map(|r| Left {
                line: r.line,
                message: r.problems.join("; "),
            })
            .collect(),
        failed: Vec::new(),
        credited: 0,
        debited: 0,
        not_run: Vec::new(),
        stopped: false,
        aborted: None,
        elapsed_ms: 0,
    };
    let rows: Vec<serde_json::Value> = plan
        .rows
        .iter()
        .filter(|r| r.status == RowStatus::Ok)
        .filter_map(|r| {
            Some(serde_json::json!({
                "line": r.line,
                "user_id": r.user_id?,
                "amount": r.amount?,
                "reason": r.reason,
                "key": r.key,
            }))
        })
        .collect();
    let file = serde_json::json!({"name": plan.file, "digest": plan.digest});
    let mut tracker = Tracker::new(rows.len(), on_progress);
    if rows.is_empty() {
        return Ok(Change::Applied(report));
    }
    if plan.needs_approval {
        let answer = call(db, operator, &rows, &reason, &file, skip_invalid).await?;
        if let Some(pending) = pending_in(&answer) {
            return pending.map(Change::Pending);
        }
        absorb(&mut report, &answer)?;
        tracker.add(rows.len());
        report.elapsed_ms = tracker.elapsed_ms();
        return Ok(Change::Applied(report));
    }
    let (reason, file) = (&reason, &file);
    let call = |chunk: Vec<serde_json::Value>| async move {
        call(db, operator, &chunk, reason, file, skip_invalid).await
    };
    match in_chunks(&rows, &mut report, &mut tracker, stop, call).await? {
        Ended::Done => {}
        Ended::Stopped => report.stopped = true,
        Ended::Aborted(why) => report.aborted = Some(why),
    }
    report.elapsed_ms = tracker.elapsed_ms();
    Ok(Change::Applied(report))
}

/// The report of a file an approver's transaction booked whole
/// (`creditdesk.approve_request` of a `credits.adjust_many` request).
pub(crate) fn approved_report(
    payload: &serde_json::Value,
    answer: &serde_json::Value,
) -> Result<Report> {
    let text = |k: &str| {
        payload
            .pointer(&format!("/file/{k}"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut report = Report {
        file: text("name"),
        digest: text("digest"),
        booked: Vec::new(),
        replayed: Vec::new(),
        skipped: Vec::new(),
        failed: Vec::new(),
        credited: 0,
        debited: 0,
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

    fn failed(&mut self, row: &serde_json::Value, error: String) {
        self.failed.push(Left {
            line: line_of(row),
            message: error,
        });
    }

    fn not_run(&mut self, rows: &[serde_json::Value]) {
        self.not_run.extend(lines_of(rows));
    }
}

fn line_of(row: &serde_json::Value) -> usize {
    row.get("line")
        .and_then(serde_json::Value::as_u64)
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or_default()
}

fn lines_of(rows: &[serde_json::Value]) -> Vec<usize> {
    rows.iter().map(line_of).collect()
}

async fn call(
    db: &Db,
    operator: &Operator,
    rows: &[serde_json::Value],
    reason: &Reason,
    file: &serde_json::Value,
    skip_invalid: bool,
) -> Result<serde_json::Value> {
    let rows = serde_json::Value::Array(rows.to_vec());
    let mut tx = db.write().await?;
    let answer = sqlx::query_scalar!(
        r#"select creditdesk.adjust_many($1, $2, $3, $4, $5) as "answer!""#,
        rows,
        reason.as_str(),
        file,
        skip_invalid,
        operator.as_str(),
    )
    .fetch_one(tx.conn())
    .await
    .map_err(infra)?;
    tx.commit().await?;
    Ok(answer)
}

fn absorb(report: &mut Report, answer: &serde_json::Value) -> Result<()> {
    let rows = answer
        .get("rows")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    for row in rows {
        match row.get("outcome").and_then(serde_json::Value::as_str) {
            Some("booked") => {
                let b: Booked = serde_json::from_value(row).map_err(|e| {
                    Error::Infrastructure(format!(
                        "the database answered in an unexpected form: {e}"
                    ))
                })?;
                if b.amount > 0 {
                    report.credited += i64::from(b.amount);
                } else {
                    report.debited -= i64::from(b.amount);
                }
                report.booked.push(b);
            }
            Some("replayed") => report.replayed.push(line_of(&row)),
            _ => report.skipped.push(Left {
                line: line_of(&row),
                message: row
                    .get("message")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
        }
    }
    Ok(())
}
