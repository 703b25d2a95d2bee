//! The balance adjustment: a form (signed amount, required reason), then a
//! confirmation with the old and the new balance, then one call to
//! `credits::adjust` with an idempotency key made when the form opened.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::db::Change;
use crate::db::credits::Adjustment;
use crate::db::users::User;
use crate::domain::InvalidInput;
use crate::domain::amounts::parse_credit_change;
use crate::domain::ledger::apply_change;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Hint;
use crate::tui::tabs::Ui;
use crate::tui::widgets::{Confirm, ConfirmState, DialogKey, Field, Form, FormAction};

pub struct AdjustDialog {
    user_id: i32,
    /// Made once per opened form: submitting twice books once.
    pub idempotency_key: String,
    pub form: Form,
    /// After a valid form: the summary to confirm, and what it will send.
    pub confirm: Option<(Confirm, i32, Reason)>,
}

impl AdjustDialog {
    pub fn new(user: &User, ctx: &mut Ctx) -> Self {
        let mut form = Form::new(
            "Adjust balance",
            vec![
                Field::new("amount", "Amount", "signed credits, like +50 or -20"),
                Field::new("reason", "Reason", "required; kept in the audit log"),
            ],
        );
        form.intro = vec![
            format!("{} (#{})", user.email, user.id),
            format!("balance now: {}", user.credits),
            String::new(),
        ];
        Self {
            user_id: user.id,
            idempotency_key: ctx.idempotency_key(),
            form,
            confirm: None,
        }
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        self.confirm.as_ref().and_then(|(c, _, _)| c.in_flight())
    }

    /// The footer while the confirmation shows.
    pub fn confirm_keys(&self) -> Vec<Hint> {
        match self.confirm.as_ref().map(|(c, _, _)| &c.state) {
            Some(ConfirmState::InFlight(_)) => vec![Hint::footer("Esc", "stop waiting")],
            Some(ConfirmState::Done(_)) => vec![Hint::footer("Enter", "close")],
            Some(ConfirmState::Failed(_)) => vec![
                Hint::footer("Enter", "try again"),
                Hint::footer("Esc", "back"),
            ],
            _ => vec![Hint::footer("Enter", "apply"), Hint::footer("Esc", "back")],
        }
    }

    pub fn is_dirty(&self) -> bool {
        self.form.is_dirty()
    }

    /// `user` is the freshest known state (for the old balance).
    pub(super) fn key(&mut self, key: &KeyEvent, user: &User, ctx: &mut Ctx) -> DialogKey {
        if let Some((confirm, amount, reason)) = &mut self.confirm {
            let done = confirm.dialog_key(key, ctx, |ctx| {
                ctx.request(Job::Adjust {
                    user: UserRef::Id(self.user_id),
                    amount: *amount,
                    reason: reason.clone(),
                    idempotency_key: self.idempotency_key.clone(),
                })
            });
            return done.unwrap_or_else(|| {
                self.confirm = None;
                DialogKey::Stay
            });
        }
        match self.form.key(key) {
            FormAction::Cancel => return DialogKey::Close,
            FormAction::Submit => self.review(user),
            FormAction::None => {}
        }
        DialogKey::Stay
    }

    /// Checks the form; if valid, shows the confirmation.
    fn review(&mut self, user: &User) {
        self.form.clear_errors();
        let amount = parse_credit_change("amount", self.form.value("amount"));
        let reason = Reason::parse(self.form.value("reason"));
        let (amount, reason) = match (amount, reason) {
            (Ok(a), Ok(r)) => (a, r),
            (a, r) => {
                let errors: Vec<InvalidInput> = [a.err(), r.err()].into_iter().flatten().collect();
                self.form.set_errors(&errors);
                return;
            }
        };
        let old = i64::from(user.credits);
        let new = match apply_change(old, i64::from(amount)) {
            Ok(n) => n,
            Err(refusal) => {
                self.form
                    .set_errors(&[InvalidInput::new("amount", refusal.to_string())]);
                return;
            }
        };
        let confirm = Confirm::new(
            "Confirm adjustment",
            vec![
                ("user".into(), format!("{} (#{})", user.email, user.id)),
                ("change".into(), format!("{amount:+}")),
                ("old balance".into(), old.to_string()),
                ("new balance".into(), new.to_string()),
                ("reason".into(), reason.as_str().to_owned()),
            ],
        );
        self.confirm = Some((confirm, amount, reason));
    }

    /// The answer to the adjustment; false if it isn't the one in flight.
    pub(super) fn finish(&mut self, id: RequestId, result: &Result<Change<Adjustment>>) -> bool {
        let Some((confirm, _, _)) = &mut self.confirm else {
            return false;
        };
        let result = match result {
            Ok(Change::Applied(done)) => Ok(vec![summary(done)]),
            Ok(Change::Pending(p)) => Ok(vec![crate::tui::tabs::pending_summary(p)]),
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

/// e.g. `booked entry #812: balance 120 → 170`
pub fn summary(done: &Adjustment) -> String {
    let mut s = format!(
        "booked entry #{}: balance {} → {}",
        done.entry_id, done.old_balance, done.new_balance
    );
    if done.replayed {
        s.push_str(" (already booked by this form; nothing new)");
    }
    s
}
