//! Failing a batch (and refunding it): a form (required reason; refund
//! none, all or an amount), a confirmation summing it up, then one call to
//! `batches::fail`, which decides what may be done (see `creditdesk batches
//! fail --help`): the dialog shows its result or its refusal.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::age;
use crate::db::batches::{BatchDetail, FailedBatch, Refund};
use crate::domain::InvalidInput;
use crate::domain::amounts::parse_positive_credits;
use crate::domain::text::Reason;
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Hint;
use crate::tui::tabs::Ui;
use crate::tui::widgets::{Confirm, ConfirmState, DialogKey, Field, Form, FormAction};

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

pub struct FailDialog {
    pub batch_id: i32,
    pub form: Form,
    /// After a valid form: the summary to confirm, and what it will send.
    pub confirm: Option<(Confirm, Reason, Refund)>,
}

impl FailDialog {
    /// `age_seconds` is the batch's age now.
    pub fn new(b: &BatchDetail, age_seconds: i64) -> Self {
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
                age(age_seconds),
                b.images
            ),
            format!(
                "user {} (#{}), balance {}",
                b.user.email, b.user.id, b.user.credits
            ),
            format!("charged {}, refunded {}", b.charged, b.refunded),
            String::new(),
        ];
        Self {
            batch_id: b.id,
            form,
            confirm: None,
        }
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        self.confirm.as_ref().and_then(|(c, _, _)| c.in_flight())
    }

    pub fn is_dirty(&self) -> bool {
        self.form.is_dirty()
    }

    /// The footer while the dialog shows.
    pub fn keys(&self) -> Vec<Hint> {
        match self.confirm.as_ref().map(|(c, _, _)| &c.state) {
            None => vec![
                Hint::footer("Tab", "next field"),
                Hint::footer("Enter", "review"),
                Hint::footer("Esc", "cancel"),
            ],
            Some(ConfirmState::InFlight(_)) => vec![Hint::footer("Esc", "stop waiting")],
            Some(ConfirmState::Done(_)) => vec![Hint::footer("Enter", "close")],
            Some(ConfirmState::Failed(_)) => vec![
                Hint::footer("Enter", "try again"),
                Hint::footer("Esc", "back"),
            ],
            Some(ConfirmState::Ready) => {
                vec![Hint::footer("Enter", "apply"), Hint::footer("Esc", "back")]
            }
        }
    }

    /// `batch` is the freshest known state (for the summary).
    pub(super) fn key(
        &mut self,
        key: &KeyEvent,
        batch: &BatchDetail,
        age_seconds: i64,
        ctx: &mut Ctx,
    ) -> DialogKey {
        if let Some((confirm, reason, refund)) = &mut self.confirm {
            let done = confirm.dialog_key(key, ctx, |ctx| {
                ctx.request(Job::FailBatch {
                    id: self.batch_id,
                    reason: reason.clone(),
                    refund: *refund,
                })
            });
            return done.unwrap_or_else(|| {
                self.confirm = None;
                DialogKey::Stay
            });
        }
        match self.form.key(key) {
            FormAction::Cancel => return DialogKey::Close,
            FormAction::Submit => self.review(batch, age_seconds),
            FormAction::None => {}
        }
        DialogKey::Stay
    }

    /// Checks the form; if valid, shows the confirmation. What may be done
    /// is `batches::fail`'s to decide: a refusal comes back as the result.
    fn review(&mut self, b: &BatchDetail, age_seconds: i64) {
        self.form.clear_errors();
        let reason = Reason::parse(self.form.value("reason"));
        let refund = parse_refund(self.form.value("refund"));
        let (reason, refund) = match (reason, refund) {
            (Ok(r), Ok(f)) => (r, f),
            (r, f) => {
                let errors: Vec<InvalidInput> = [r.err(), f.err()].into_iter().flatten().collect();
                self.form.set_errors(&errors);
                return;
            }
        };
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
        let confirm = Confirm::new(
            format!("Fail batch #{}?", b.id),
            vec![
                (
                    "batch".into(),
                    format!("#{}, {} old, {} images", b.id, age(age_seconds), b.images),
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
            ],
        );
        self.confirm = Some((confirm, reason, refund));
    }

    /// The answer to the fail; false if it isn't the one in flight.
    pub(super) fn finish(&mut self, id: RequestId, result: &Result<FailedBatch>) -> bool {
        let Some((confirm, _, _)) = &mut self.confirm else {
            return false;
        };
        let result = match result {
            Ok(done) => Ok(summary(done)),
            Err(e) => Err(e.to_string()),
        };
        confirm.finish(id, result)
    }

    pub fn paste(&mut self, text: &str) {
        if self.confirm.is_none() {
            self.form.paste(text);
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.confirm {
            Some((confirm, _, _)) => confirm.render(frame, area, ui.theme, ui.tick),
            None => self.form.render(frame, area, ui.theme),
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
