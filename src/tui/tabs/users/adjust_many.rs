//! Adjusting many balances from a file (`M` on the user list): a form
//! with the file's path and the reason; the review is the dry run
//! (`bulk::adjust::check`): the totals, and every bad row with its line
//! (a file with bad rows is refused whole); the run books the rows in
//! chunks with a progress bar, stopped between chunks by `s`/Esc. A file
//! above the approval threshold becomes one pending request.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::db::bulk::adjust::{Plan, Report};
use crate::domain::InvalidInput;
use crate::domain::text::Reason;
use crate::error::Error;
use crate::tui::change::{Change, Done, Lines, Review, both, field, unexpected, unreadable};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::widgets::progress::BulkRun;
use crate::tui::widgets::{Field, Form};

/// Bad rows listed in the review at most (the count says how many).
pub const BAD_LISTED: usize = 12;

#[derive(Default)]
pub struct AdjustMany {
    plan: Option<Plan>,
    run: BulkRun,
}

fn parse_path(s: &str) -> Result<PathBuf, InvalidInput> {
    let t = s.trim();
    if t.is_empty() {
        return Err(InvalidInput::new(
            "file",
            "required: a CSV file with the columns user,amount (and optionally reason,idempotency_key)",
        ));
    }
    let expanded = match (t.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(t),
    };
    Ok(expanded)
}

impl Change for AdjustMany {
    type Input = (PathBuf, Reason);

    fn question(&self) -> String {
        "Adjust these balances?".into()
    }

    fn verb(&self) -> &'static str {
        "book"
    }

    fn applying(&self) -> &'static str {
        "Balances are being adjusted from a file"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let mut form = Form::new(
            "Adjust many from a file",
            vec![
                Field::new(
                    "file",
                    "File",
                    "a CSV: user,amount[,reason,idempotency_key]",
                ),
                Field::new("reason", "Reason", "required; for rows without their own"),
            ],
        );
        form.intro = vec![
            "the review checks every row and writes nothing".into(),
            String::new(),
        ];
        Some(form)
    }

    fn parse(
        &self,
        form: Option<&Form>,
        _now: DateTime<Utc>,
    ) -> Result<Self::Input, Vec<InvalidInput>> {
        both(
            parse_path(field(form, "file")),
            Reason::parse(field(form, "reason")),
        )
    }

    fn fresh(&self, (path, reason): &Self::Input) -> Vec<Job> {
        vec![Job::AdjustManyCheck {
            path: path.clone(),
            reason: reason.clone(),
        }]
    }

    fn review(&mut self, _input: &Self::Input, fresh: Vec<Outcome>, _now: DateTime<Utc>) -> Review {
        let plan = match fresh.into_iter().next() {
            Some(Outcome::AdjustManyChecked(Ok(p))) => *p,
            Some(Outcome::AdjustManyChecked(Err(e))) => {
                let fields = e.field_errors().to_vec();
                if !fields.is_empty() {
                    return Review::Invalid(fields);
                }
                return unreadable("the file", Some(&e));
            }
            _ => return unreadable("the file", None),
        };
        let t = &plan.totals;
        let mut lines: Lines = vec![
            (
                "file".into(),
                format!(
                    "{} (sha256 {}…)",
                    plan.file,
                    &plan.digest[..plan.digest.len().min(12)]
                ),
            ),
            (
                "rows".into(),
                format!(
                    "{}: {} to book, {} booked already, {} bad",
                    t.rows, t.ok, t.replayed, t.bad
                ),
            ),
            ("users".into(), t.users.to_string()),
            (
                "credits".into(),
                format!("+{} / -{}", t.credited, t.debited),
            ),
            ("reason".into(), plan.reason.clone()),
        ];
        if plan.needs_approval {
            lines.push((
                "approval".into(),
                format!(
                    "over {} credits: one request for a second person",
                    plan.threshold
                ),
            ));
        }
        if t.bad > 0 {
            let mut why: Vec<String> = plan
                .bad_rows()
                .take(BAD_LISTED)
                .map(|r| format!("line {}: {}", r.line, r.problems.join("; ")))
                .collect();
            if t.bad > BAD_LISTED {
                why.push(format!(
                    "… and {} more bad rows (see `credits adjust-many --dry-run`)",
                    t.bad - BAD_LISTED
                ));
            }
            return Review::Refused(format!(
                "{} of {} rows are bad, so nothing is booked (fix the file and review again):\n{}",
                t.bad,
                t.rows,
                why.join("\n")
            ));
        }
        if t.ok == 0 {
            return Review::Refused(format!(
                "nothing to book: {} rows, {} booked already",
                t.rows, t.replayed
            ));
        }
        self.plan = Some(plan);
        Review::Confirm(lines)
    }

    fn job(&self, _input: &Self::Input) -> Job {
        Job::AdjustMany {
            plan: Box::new(self.plan.clone().unwrap_or_else(|| Plan {
                file: String::new(),
                digest: String::new(),
                reason: String::new(),
                rows: Vec::new(),
                totals: Default::default(),
                threshold: 0,
                needs_approval: false,
            })),
            run: self.run.clone(),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::AdjustedMany(r) => r.map(|booked| {
                Done::of(*booked, |report| {
                    let title = if report.stopped {
                        "Stopped: rows booked in part"
                    } else if report.aborted.is_some() {
                        "Ended early: rows booked in part"
                    } else {
                        "Balances adjusted"
                    };
                    Done::new(title, report_lines(&report))
                })
            }),
            other => Err(unexpected(&other)),
        }
    }

    fn run(&self) -> Option<&BulkRun> {
        Some(&self.run)
    }
}

pub fn report_lines(r: &Report) -> Vec<String> {
    let mut lines = vec![format!(
        "{} rows booked (+{} / -{}), {} booked before, {} failed",
        r.booked.len(),
        r.credited,
        r.debited,
        r.replayed.len(),
        r.failed.len()
    )];
    for f in r.failed.iter().take(5) {
        lines.push(format!("line {}: {}", f.line, f.message));
    }
    if r.stopped {
        lines.push(format!(
            "stopped: {} rows not run; run the same file again (nothing is booked twice)",
            r.not_run.len()
        ));
    }
    if let Some(why) = &r.aborted {
        lines.push(format!(
            "ended early ({why}): {} rows not run; run the same file again (nothing is booked twice)",
            r.not_run.len()
        ));
    }
    lines
}
