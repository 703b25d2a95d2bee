//! Failing (and refunding) the batches marked in the stuck view: one
//! change. The form takes the reason and whether to refund all or none;
//! the review is `bulk::fail::preview` of exactly the marked ids (totals
//! and the first rows); the run is `bulk::fail::run` of that preview, in
//! chunks, with a progress bar, stopped between chunks by `s`/Esc. Above
//! the approval threshold it becomes one pending request.

use chrono::{DateTime, Utc};

use crate::db::bulk::fail::{Plan, Preview, RefundMode, Report};
use crate::domain::InvalidInput;
use crate::domain::text::Reason;
use crate::error::Error;
use crate::tui::change::{Change, Done, Lines, Review, both, field, unexpected, unreadable};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::widgets::progress::BulkRun;
use crate::tui::widgets::{Field, Form};

/// Rows of the preview listed in the review (the totals count them all).
pub const LISTED: usize = 5;
/// Lines of a report's skipped and failed batches shown (the rest counted).
const REPORTED: usize = 5;

/// `all` or `none`.
pub fn parse_refund_mode(s: &str) -> Result<RefundMode, InvalidInput> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("all") {
        Ok(RefundMode::All)
    } else if t.eq_ignore_ascii_case("none") {
        Ok(RefundMode::None)
    } else {
        Err(InvalidInput::new(
            "refund",
            "all (what each batch charged, never twice) or none",
        ))
    }
}

pub struct FailMany {
    /// The marked batches, in the order shown.
    pub ids: Vec<i32>,
    /// The preview the confirmation showed: the run is of exactly it.
    preview: Option<Preview>,
    run: BulkRun,
}

impl FailMany {
    pub fn new(ids: Vec<i32>) -> Self {
        Self {
            ids,
            preview: None,
            run: BulkRun::new(),
        }
    }
}

fn plan_label(p: Plan) -> &'static str {
    match p {
        Plan::FailAndRefund => "fail + refund",
        Plan::Fail => "fail",
        Plan::Refund => "refund",
        Plan::Skip => "skip",
    }
}

impl Change for FailMany {
    type Input = (Reason, RefundMode);

    fn question(&self) -> String {
        format!("Fail {} marked batches?", self.ids.len())
    }

    fn applying(&self) -> &'static str {
        "Batches are being failed"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let mut form = Form::new(
            format!("Fail {} marked batches", self.ids.len()),
            vec![
                Field::new(
                    "reason",
                    "Reason",
                    "required; on each refund and in the audit log",
                ),
                Field::new("refund", "Refund", "all or none").with_value("all"),
            ],
        );
        form.intro = vec![
            "the review lists exactly the marked batches as they are now".into(),
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
            Reason::parse(field(form, "reason")),
            parse_refund_mode(field(form, "refund")),
        )
    }

    fn fresh(&self, (_, refund): &Self::Input) -> Vec<Job> {
        vec![Job::FailManyPreview {
            ids: self.ids.clone(),
            refund: *refund,
        }]
    }

    fn review(
        &mut self,
        (reason, _): &Self::Input,
        fresh: Vec<Outcome>,
        _now: DateTime<Utc>,
    ) -> Review {
        let p = match fresh.into_iter().next() {
            Some(Outcome::FailManyPreviewed(Ok(p))) => *p,
            Some(Outcome::FailManyPreviewed(Err(e))) => return unreadable("the batches", Some(&e)),
            _ => return unreadable("the batches", None),
        };
        if p.totals.batches == 0 {
            return Review::Refused(format!(
                "none of the {} marked batches can be failed now ({} skipped{})",
                self.ids.len(),
                p.totals.skipped,
                if p.missing.is_empty() {
                    String::new()
                } else {
                    format!(", {} no longer exist", p.missing.len())
                }
            ));
        }
        let t = &p.totals;
        let mut lines: Lines = vec![
            (
                "batches".into(),
                format!(
                    "{} to change, {} skipped{}",
                    t.batches,
                    t.skipped,
                    if p.missing.is_empty() {
                        String::new()
                    } else {
                        format!(", {} missing", p.missing.len())
                    }
                ),
            ),
            ("users".into(), t.users.to_string()),
            (
                "refund".into(),
                match p.refund {
                    RefundMode::All => format!("{} credits", t.credits),
                    RefundMode::None => "none".into(),
                },
            ),
            ("reason".into(), reason.as_str().to_owned()),
        ];
        if p.needs_approval {
            lines.push((
                "approval".into(),
                format!(
                    "over {} credits: one request for a second person",
                    p.threshold
                ),
            ));
        }
        for c in p.items.iter().take(LISTED) {
            let what = match &c.skip_reason {
                Some(why) => format!("skip: {why}"),
                None if c.would_refund > 0 => {
                    format!("{} {}", plan_label(c.plan), c.would_refund)
                }
                None => plan_label(c.plan).to_owned(),
            };
            lines.push((
                format!("#{}", c.batch_id),
                format!(
                    "{} · {} · {what}",
                    c.email,
                    crate::domain::amounts::short_age(c.age_seconds),
                ),
            ));
        }
        if p.items.len() > LISTED {
            lines.push((
                String::new(),
                format!("… and {} more", p.items.len() - LISTED),
            ));
        }
        self.preview = Some(p);
        Review::Confirm(lines)
    }

    fn job(&self, (reason, _): &Self::Input) -> Job {
        Job::FailMany {
            preview: Box::new(self.preview.clone().unwrap_or_else(|| empty(&self.ids))),
            reason: reason.clone(),
            run: self.run.clone(),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::FailedMany(r) => r.map(|booked| {
                Done::of(*booked, |report| {
                    let lines = report_lines(&report);
                    let title = if report.stopped {
                        "Stopped: batches failed in part"
                    } else if report.aborted.is_some() {
                        "Ended early: batches failed in part"
                    } else {
                        "Batches failed"
                    };
                    Done::new(title, lines)
                })
            }),
            other => Err(unexpected(&other)),
        }
    }

    fn run(&self) -> Option<&BulkRun> {
        Some(&self.run)
    }
}

/// A preview of nothing (the job is only asked for after a review).
fn empty(ids: &[i32]) -> Preview {
    Preview {
        selection: format!("{} listed batches", ids.len()),
        refund: RefundMode::None,
        items: Vec::new(),
        missing: Vec::new(),
        truncated: false,
        totals: Default::default(),
        threshold: 0,
        needs_approval: false,
    }
}

/// done / skipped / failed with reasons, and what was not run.
pub fn report_lines(r: &Report) -> Vec<String> {
    let mut lines = vec![format!(
        "{} done, {} skipped, {} failed: {} credits refunded",
        r.done.len(),
        r.skipped.len(),
        r.failed.len(),
        r.refunded
    )];
    for s in r.skipped.iter().take(REPORTED) {
        lines.push(format!("skipped #{}: {}", s.batch_id, s.message));
    }
    if r.skipped.len() > REPORTED {
        lines.push(format!("… and {} more skipped", r.skipped.len() - REPORTED));
    }
    for f in r.failed.iter().take(REPORTED) {
        lines.push(format!("failed #{}: {}", f.batch_id, f.error));
    }
    if r.failed.len() > REPORTED {
        lines.push(format!("… and {} more failed", r.failed.len() - REPORTED));
    }
    if r.stopped {
        lines.push(format!(
            "stopped: {} not run; mark them and run again (nothing is refunded twice)",
            r.not_run.len()
        ));
    }
    if let Some(why) = &r.aborted {
        lines.push(format!(
            "ended early ({why}): {} not run; run again to finish (nothing is refunded twice)",
            r.not_run.len()
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_modes() {
        assert_eq!(parse_refund_mode(" ALL "), Ok(RefundMode::All));
        assert_eq!(parse_refund_mode("none"), Ok(RefundMode::None));
        assert!(parse_refund_mode("8").is_err());
    }
}
