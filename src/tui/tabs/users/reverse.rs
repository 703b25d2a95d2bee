//! Reversing a ledger entry (`x`): a required reason; the review reads the
//! user's balance fresh and shows what will be booked (the opposite
//! entry, linked both ways) and the balance after; then one call to
//! `credits::reverse`, which decides (at most once, never more than the
//! original, refused when the balance can't cover it; above the threshold
//! it waits for a second person).

use chrono::{DateTime, Utc};

use crate::db::credits::{LedgerRow, Reversal};
use crate::domain::InvalidInput;
use crate::domain::ledger::{EntryType, reversal_action};
use crate::domain::role::Action;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::Error;
use crate::tui::change::{Change, Done, Review, changed_meanwhile, field, unexpected, unreadable};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::format::{type_label, when};
use crate::tui::widgets::{Field, Form};

/// The right reversing `row` needs, if it can be reversed at all: a kind
/// that can be (adjustments, refunds, coupon and gift-card redemptions),
/// not reversed yet, and not itself a reversal.
pub fn reversal_right(row: &LedgerRow) -> Option<Action> {
    if row.reversed_by_entry_id.is_some() || row.reverses_entry_id.is_some() {
        return None;
    }
    EntryType::parse(&row.entry.kind)
        .ok()
        .and_then(reversal_action)
}

pub struct Reverse {
    pub row: LedgerRow,
    pub user_id: i32,
    /// The balance the confirmation showed.
    reviewed: Option<i32>,
}

impl Reverse {
    pub fn new(user_id: i32, row: LedgerRow) -> Self {
        Self {
            row,
            user_id,
            reviewed: None,
        }
    }
}

impl Change for Reverse {
    type Input = Reason;

    fn question(&self) -> String {
        format!("Reverse entry #{}?", self.row.entry.id)
    }

    fn verb(&self) -> &'static str {
        "reverse"
    }

    fn applying(&self) -> &'static str {
        "A reversal is being booked"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let e = &self.row.entry;
        let mut form = Form::new(
            format!("Reverse entry #{}", e.id),
            vec![Field::new(
                "reason",
                "Reason",
                "required; on the reversal and in the audit log",
            )],
        );
        form.intro = vec![
            format!(
                "{} {:+} {} ({})",
                when(e.created_at),
                e.amount,
                type_label(&e.kind).content,
                e.description.clone().unwrap_or_default()
            ),
            format!("books {:+}, linked both ways", -e.amount),
            String::new(),
        ];
        Some(form)
    }

    fn parse(
        &self,
        form: Option<&Form>,
        _now: DateTime<Utc>,
    ) -> Result<Self::Input, Vec<InvalidInput>> {
        Reason::parse(field(form, "reason")).map_err(|e| vec![e])
    }

    fn fresh(&self, _input: &Self::Input) -> Vec<Job> {
        vec![Job::User {
            user: UserRef::Id(self.user_id),
        }]
    }

    fn review(&mut self, reason: &Self::Input, fresh: Vec<Outcome>, _now: DateTime<Utc>) -> Review {
        let user = match fresh.into_iter().next() {
            Some(Outcome::User(Ok(u))) => u,
            Some(Outcome::User(Err(e))) => return unreadable("the balance", Some(&e)),
            _ => return unreadable("the balance", None),
        };
        let e = &self.row.entry;
        let amount = -i64::from(e.amount);
        let after = i64::from(user.credits) + amount;
        if after < 0 {
            return Review::Refused(format!(
                "the balance is {} now: reversing {:+} would take it below zero",
                user.credits, e.amount
            ));
        }
        self.reviewed = Some(user.credits);
        let mut lines = vec![
            (
                "entry".into(),
                format!(
                    "#{} {} {:+} {}",
                    e.id,
                    when(e.created_at),
                    e.amount,
                    type_label(&e.kind).content
                ),
            ),
            ("user".into(), format!("{} (#{})", user.email, user.id)),
            (
                "books".into(),
                format!("{amount:+} ({}, reverses #{})", e.kind, e.id),
            ),
            ("balance".into(), format!("{} → {after}", user.credits)),
            ("reason".into(), reason.as_str().to_owned()),
        ];
        match EntryType::parse(&e.kind) {
            Ok(EntryType::Coupon) => lines.push((
                "coupon".into(),
                "its use is given back: the user may redeem it again".into(),
            )),
            Ok(EntryType::GiftCard) => lines.push((
                "gift card".into(),
                "active again (refused if it expired since)".into(),
            )),
            _ => {}
        }
        Review::Confirm(lines)
    }

    fn job(&self, reason: &Self::Input) -> Job {
        Job::Reverse {
            entry: self.row.entry.id,
            reason: reason.clone(),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::Reversed(r) => r.map(|booked| {
                Done::of(*booked, |rev: Reversal| {
                    let mut lines = vec![format!(
                        "entry #{} reversed by #{}: {:+} to {}, balance {} → {}",
                        rev.entry_id,
                        rev.reversal_entry_id,
                        rev.amount,
                        rev.email,
                        rev.old_balance,
                        rev.new_balance
                    )];
                    if rev.use_given_back == Some(true) {
                        lines.push(format!(
                            "coupon {}: its use was given back",
                            rev.code.clone().unwrap_or_default()
                        ));
                    }
                    if let Some(status) = &rev.card_status {
                        lines.push(format!(
                            "gift card {}: {status}",
                            rev.code_masked.clone().unwrap_or_default()
                        ));
                    }
                    if let Some(reviewed) = self.reviewed
                        && i64::from(reviewed) != rev.old_balance
                    {
                        lines.push(changed_meanwhile(
                            reviewed,
                            i32::try_from(rev.old_balance).unwrap_or(i32::MAX),
                            i32::try_from(rev.new_balance).unwrap_or(i32::MAX),
                        ));
                    }
                    Done::new("Entry reversed", lines)
                })
            }),
            other => Err(unexpected(&other)),
        }
    }
}
