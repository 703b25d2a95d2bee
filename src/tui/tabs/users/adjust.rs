//! The balance adjustment: a signed amount and a required reason, a
//! confirmation with the old and the new balance, then one call to
//! `credits::adjust` with an idempotency key made when the form opened.

use chrono::{DateTime, Utc};

use crate::db::credits::Adjustment;
use crate::db::users::User;
use crate::domain::InvalidInput;
use crate::domain::amounts::parse_credit_change;
use crate::domain::ledger::apply_change;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::Error;
use crate::tui::change::{
    Change, Done, Review, both, changed_meanwhile, field, unexpected, unreadable,
};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::widgets::{Field, Form};

pub struct Adjust {
    /// The user as last read (the form's balance; the review reads it
    /// again).
    user: User,
    /// Made once per opened form: submitting twice books once.
    idempotency_key: String,
    /// The balance the confirmation showed, to compare with what is booked.
    reviewed: Option<i32>,
}

impl Adjust {
    pub fn new(user: User, ctx: &mut Ctx) -> Self {
        Self {
            user,
            idempotency_key: ctx.idempotency_key(),
            reviewed: None,
        }
    }
}

impl Change for Adjust {
    type Input = (i32, Reason);

    fn question(&self) -> String {
        "Confirm adjustment".into()
    }

    fn applying(&self) -> &'static str {
        "An adjustment is being applied"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let mut form = Form::new(
            "Adjust balance",
            vec![
                Field::new("amount", "Amount", "signed credits, like +50 or -20"),
                Field::new("reason", "Reason", "required; kept in the audit log"),
            ],
        );
        form.intro = vec![
            format!("{} (#{})", self.user.email, self.user.id),
            format!("balance now: {}", self.user.credits),
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
            parse_credit_change("amount", field(form, "amount")),
            Reason::parse(field(form, "reason")),
        )
    }

    /// The balance as it is now, not as the form showed it.
    fn fresh(&self, _input: &Self::Input) -> Vec<Job> {
        vec![Job::User {
            user: UserRef::Id(self.user.id),
        }]
    }

    fn review(
        &mut self,
        (amount, reason): &Self::Input,
        fresh: Vec<Outcome>,
        _now: DateTime<Utc>,
    ) -> Review {
        match fresh.into_iter().next() {
            Some(Outcome::User(Ok(u))) => self.user = u,
            Some(Outcome::User(Err(e))) => return unreadable("the balance", Some(&e)),
            _ => return unreadable("the balance", None),
        }
        let u = &self.user;
        self.reviewed = Some(u.credits);
        let old = i64::from(u.credits);
        let new = match apply_change(old, i64::from(*amount)) {
            Ok(n) => n,
            Err(refusal) => {
                return Review::Invalid(vec![InvalidInput::new("amount", refusal.to_string())]);
            }
        };
        Review::Confirm(vec![
            ("user".into(), format!("{} (#{})", u.email, u.id)),
            ("change".into(), format!("{amount:+}")),
            ("old balance".into(), old.to_string()),
            ("new balance".into(), new.to_string()),
            ("reason".into(), reason.as_str().to_owned()),
        ])
    }

    fn job(&self, (amount, reason): &Self::Input) -> Job {
        Job::Adjust {
            user: UserRef::Id(self.user.id),
            amount: *amount,
            reason: reason.clone(),
            idempotency_key: self.idempotency_key.clone(),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::Adjusted(r) => r.map(|b| {
                Done::of(b, |a| {
                    let mut lines = vec![summary(&a)];
                    if let Some(old) = self.reviewed
                        && old != a.old_balance
                    {
                        lines.push(changed_meanwhile(old, a.old_balance, a.new_balance));
                    }
                    Done::new("Balance adjusted", lines)
                })
            }),
            other => Err(unexpected(&other)),
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
