//! Failing a batch (and refunding it): a form (required reason; refund
//! none, all or an amount), a confirmation summing it up, then one call to
//! `batches::fail`, which decides what may be done (see `creditdesk batches
//! fail --help`): the dialog shows its result or its refusal.

use chrono::{DateTime, Utc};

use super::age;
use crate::db::batches::{BatchDetail, FailedBatch, Refund};
use crate::domain::InvalidInput;
use crate::domain::Refusal;
use crate::domain::amounts::parse_positive_credits;
use crate::domain::ledger::{BatchStatus, check_failable, refundable};
use crate::domain::text::Reason;
use crate::error::Error;
use crate::tui::change::{
    Change, Done, Review, both, changed_meanwhile, field, unexpected, unreadable,
};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::widgets::{Field, Form};

/// `none`, `all` or a number of credits (1 to 1,000,000).
pub fn parse_refund(s: &str) -> Result<Refund, InvalidInput> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("none") {
        Ok(Refund::None)
    } else if t.eq_ignore_ascii_case("all") {
        Ok(Refund::All)
    } else if t.bytes().any(|b| b.is_ascii_digit()) {
        parse_positive_credits("refund", t).map(Refund::Amount)
    } else {
        Err(InvalidInput::new(
            "refund",
            "choose none, all, or a number of credits like 8",
        ))
    }
}

/// Failing batch `batch` (as read when the dialog opened).
pub struct Fail {
    pub batch: BatchDetail,
    /// Its age now.
    pub age_seconds: i64,
    /// What the confirmation showed: the balance, and the refund.
    pub reviewed: Option<(i32, i64)>,
}

/// What the rules refuse about failing `b` with `refund`, as
/// `batches::fail` would.
fn failable(b: &BatchDetail, refund: Refund) -> Result<(), Refusal> {
    let status = BatchStatus::parse(&b.status).map_err(|_| Refusal::BatchNotFailable {
        status: b.status.clone(),
    })?;
    match (status, refund) {
        (BatchStatus::Failed, Refund::None) => return Err(Refusal::BatchAlreadyFailed),
        (BatchStatus::Failed, _) => {}
        (other, _) => check_failable(other)?,
    }
    match refund {
        Refund::None => Ok(()),
        Refund::All => refundable(b.charged, b.refunded, None).map(|_| ()),
        Refund::Amount(n) => refundable(b.charged, b.refunded, Some(i64::from(n))).map(|_| ()),
    }
}

/// The credits `refund` gives back for `b`.
fn refund_amount(b: &BatchDetail, refund: Refund) -> i64 {
    match refund {
        Refund::None => 0,
        Refund::All => b.charged,
        Refund::Amount(n) => i64::from(n),
    }
}

impl Change for Fail {
    type Input = (Reason, Refund);

    fn question(&self) -> String {
        format!("Fail batch #{}?", self.batch.id)
    }

    fn applying(&self) -> &'static str {
        "A batch is being failed"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let b = &self.batch;
        // Refunding a batch that charged and was never refunded is the
        // usual case; anything else starts at none.
        let refund = if b.charged > 0 && b.refunded == 0 {
            "all"
        } else {
            "none"
        };
        let mut form = Form::new(
            format!("Fail batch #{}", b.id),
            vec![
                Field::new(
                    "reason",
                    "Reason",
                    "required; on the refund and in the audit log",
                ),
                Field::new("refund", "Refund", "none, all, or a number of credits")
                    .with_value(refund),
            ],
        );
        form.intro = vec![
            format!(
                "{}, {} old, {} images",
                b.status,
                age(self.age_seconds),
                b.images
            ),
            format!(
                "user {} (#{}), balance {}",
                b.user.email, b.user.id, b.user.credits
            ),
            format!("charged {}, refunded {}", b.charged, b.refunded),
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
            parse_refund(field(form, "refund")),
        )
    }

    /// The batch as it is now: its status, what it charged and refunded,
    /// its user's balance.
    fn fresh(&self, _input: &Self::Input) -> Vec<Job> {
        vec![Job::Batch { id: self.batch.id }]
    }

    /// `batches::fail` decides; what the rules already refuse on the fresh
    /// numbers is said instead of asked.
    fn review(
        &mut self,
        (reason, refund): &Self::Input,
        fresh: Vec<Outcome>,
        _now: DateTime<Utc>,
    ) -> Review {
        match fresh.into_iter().next() {
            Some(Outcome::Batch(Ok(b))) => {
                // The age counts on from the fresh read.
                self.age_seconds = b.age_seconds;
                self.batch = *b;
            }
            Some(Outcome::Batch(Err(e))) => return unreadable("the batch", Some(&e)),
            _ => return unreadable("the batch", None),
        }
        let b = &self.batch;
        if let Err(r) = failable(b, *refund) {
            return Review::Refused(format!("batch #{}: {r}", b.id));
        }
        self.reviewed = Some((b.user.credits, refund_amount(b, *refund)));
        let status = if b.status == "failed" {
            "failed (stays failed)".to_owned()
        } else {
            format!("{} → failed", b.status)
        };
        let refund_text = match refund {
            Refund::None => "none".to_owned(),
            Refund::All => format!("all that was charged ({} credits)", b.charged),
            Refund::Amount(n) => format!("{n} credits"),
        };
        let mut charged = format!("{} credits by the ledger", b.charged);
        if i64::from(b.credits_used) != b.charged {
            charged.push_str(&format!(" (creditsUsed says {})", b.credits_used));
        }
        Review::Confirm(vec![
            (
                "batch".into(),
                format!(
                    "#{}, {} old, {} images",
                    b.id,
                    age(self.age_seconds),
                    b.images
                ),
            ),
            (
                "user".into(),
                format!(
                    "{} (#{}), balance {}",
                    b.user.email, b.user.id, b.user.credits
                ),
            ),
            ("status".into(), status),
            ("refund".into(), refund_text),
            ("charged".into(), charged),
            ("already refunded".into(), b.refunded.to_string()),
            ("reason".into(), reason.as_str().to_owned()),
        ])
    }

    fn job(&self, (reason, refund): &Self::Input) -> Job {
        Job::FailBatch {
            id: self.batch.id,
            reason: reason.clone(),
            refund: *refund,
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::BatchFailed(r) => r.map(|done| {
                let mut lines = summary(&done);
                if let Some((balance, refund)) = self.reviewed {
                    if i64::from(done.refunded) != refund {
                        lines.push(format!(
                            "note: {} credits were refunded, not {refund} as reviewed",
                            done.refunded
                        ));
                    }
                    if done.entry_id.is_some() && done.old_balance != balance {
                        lines.push(changed_meanwhile(
                            balance,
                            done.old_balance,
                            done.new_balance,
                        ));
                    }
                }
                let mut d = Done::new("Batch failed", lines);
                d.notice = summary(&done).join("\n");
                d
            }),
            other => Err(unexpected(&other)),
        }
    }
}

/// What was done, e.g. `batch #1827 marked failed (was generating)` and
/// `refunded 8 of 8 charged credits to ana@example.com: balance 170 → 178`.
pub fn summary(done: &FailedBatch) -> Vec<String> {
    let what = if done.marked_failed {
        format!(
            "batch #{} marked failed (was {})",
            done.batch_id, done.previous_status
        )
    } else {
        format!("batch #{} was already failed", done.batch_id)
    };
    let refund = match done.entry_id {
        Some(entry) => format!(
            "refunded {} of {} charged credits to {}: balance {} → {} (entry #{entry})",
            done.refunded, done.charged, done.email, done.old_balance, done.new_balance
        ),
        None => format!(
            "no refund ({} credits charged); balance stays {}",
            done.charged, done.new_balance
        ),
    };
    vec![what, refund]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_choices() {
        assert_eq!(parse_refund(" none "), Ok(Refund::None));
        assert_eq!(parse_refund("ALL"), Ok(Refund::All));
        assert_eq!(parse_refund("8"), Ok(Refund::Amount(8)));
        for bad in ["", "some", "0", "-3", "1.5", "99999999999", "8 credits"] {
            assert!(parse_refund(bad).is_err(), "{bad:?}");
        }
    }
}
