//! Revoking a card (with a required reason) and redeeming one for a user:
//! two [`Change`]s, each one call to `gift_cards::revoke` or
//! `gift_cards::redeem`.
//!
//! Revoking acts on the selected card, by its id: the operator never sees
//! its full code and doesn't type it. Redeeming takes the code the customer
//! reads out (shown masked while typed) or, left empty, the selected card by
//! its id; a typed code that doesn't end like the selected card's is only a
//! warning, the database finds the card by that code.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::{CardRef, TypedCode, status_text, visible_tail};
use crate::db::gift_cards::{CardKey, GiftCard, GiftCardRedemption};
use crate::db::users::User;
use crate::domain::InvalidInput;
use crate::domain::codes::{GiftCardCode, lookup_key, mask_code};
use crate::domain::gift_card::{check_redeemable, check_revocable};
use crate::domain::text::{Reason, check_free_text};
use crate::domain::user_ref::UserRef;
use crate::error::Error;
use crate::tui::change::{
    Change, Done, Review, both, changed_meanwhile, field, unexpected, unreadable,
};
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::widgets::{Field, Form, UserPicker};

/// A masked code shows its last four letters or digits.
const TAIL: usize = 4;

/// `••••-JKMN`: a masked code cut to its visible end.
pub fn short_masked(masked: &str) -> String {
    format!("••••-{}", visible_tail(masked))
}

/// The card a redemption goes to, from the code field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemTarget {
    pub card: CardRef,
    /// The typed code doesn't end like the selected card's.
    pub warning: Option<String>,
}

/// Reads the redeem form's code field. Empty: the selected card by its id
/// (an error without one). A code: no control characters, longer than a
/// masked code's visible end, and, when a card is selected, compared with
/// its last four (as typed or in its Crockford reading, the two forms
/// `gift_cards` looks up): a difference is a warning, not an error.
pub fn check_code(input: &str, selected: Option<&GiftCard>) -> Result<RedeemTarget, InvalidInput> {
    const F: &str = "code";
    let t = check_free_text(F, input, 256)?;
    if t.is_empty() {
        return match selected {
            Some(card) => Ok(RedeemTarget {
                card: CardRef::Id(card.id),
                warning: None,
            }),
            None => Err(InvalidInput::new(F, "enter the card's full code")),
        };
    }
    let key = lookup_key(&t);
    if key.chars().count() <= TAIL {
        return Err(InvalidInput::new(
            F,
            if selected.is_some() {
                "enter the whole code, not only its last characters, or leave it empty for the \
                 selected card"
            } else {
                "enter the whole code, not only its last characters"
            },
        ));
    }
    let warning = selected.and_then(|card| {
        let tail = visible_tail(&card.code_masked);
        let canonical = GiftCardCode::parse(&t).ok().map(|c| c.lookup_key());
        let matches = key.ends_with(&tail) || canonical.is_some_and(|k| k.ends_with(&tail));
        (!matches).then(|| {
            let typed: String = key.chars().skip(key.chars().count() - TAIL).collect();
            format!(
                "the code typed ends in {typed}, not {tail}: not the selected card #{}. \
                 Applying redeems the card with the code typed.",
                card.id
            )
        })
    });
    Ok(RedeemTarget {
        card: CardRef::Code(TypedCode::new(t)),
        warning,
    })
}

/// `#105  ••••-••••-••••-••••-JKMN  active  100 credits`
fn card_line(c: &GiftCard) -> String {
    format!(
        "#{}  {}  {}  {} credits",
        c.id,
        c.code_masked,
        status_text(c),
        c.credits
    )
}

fn recipient(c: &GiftCard) -> String {
    c.recipient_email
        .clone()
        .unwrap_or_else(|| "none".to_owned())
}

/// Revoking a card, by its id: the form only asks why.
pub struct Revoke {
    pub card: GiftCard,
}

impl Change for Revoke {
    type Input = Reason;

    fn question(&self) -> String {
        "Confirm: revoke gift card".into()
    }

    fn verb(&self) -> &'static str {
        "revoke"
    }

    fn applying(&self) -> &'static str {
        "A gift card is being revoked"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let card = &self.card;
        let mut form = Form::new(
            "Revoke gift card",
            vec![Field::new(
                "reason",
                "Reason",
                "required; kept on the card and in the audit log",
            )],
        );
        form.intro = vec![
            format!("     card  #{}  {}", card.id, card.code_masked),
            format!("   status  {}", status_text(card)),
            format!("  credits  {}", card.credits),
            format!("recipient  {}", recipient(card)),
            String::new(),
        ];
        Some(form)
    }

    fn parse(&self, form: Option<&Form>, _now: DateTime<Utc>) -> Result<Reason, Vec<InvalidInput>> {
        Reason::parse(field(form, "reason")).map_err(|e| vec![e])
    }

    /// The card as it is now: revoked or redeemed meanwhile is said, not
    /// asked.
    fn fresh(&self, _reason: &Reason) -> Vec<Job> {
        vec![Job::GiftCard {
            card: CardKey::Id(self.card.id),
        }]
    }

    fn review(&mut self, reason: &Reason, fresh: Vec<Outcome>, _now: DateTime<Utc>) -> Review {
        match fresh.into_iter().next() {
            Some(Outcome::GiftCard(Ok(card))) => self.card = *card,
            Some(Outcome::GiftCard(Err(e))) => return unreadable("the card", Some(&e)),
            _ => return unreadable("the card", None),
        }
        let c = &self.card;
        if let Err(refusal) = check_revocable(c.stored_status) {
            return Review::Refused(format!("gift card #{}: {refusal}", c.id));
        }
        Review::Confirm(vec![
            ("card".into(), format!("#{}  {}", c.id, c.code_masked)),
            ("status".into(), status_text(c)),
            ("credits".into(), c.credits.to_string()),
            ("recipient".into(), recipient(c)),
            ("reason".into(), reason.as_str().to_owned()),
            ("after".into(), "the card can no longer be redeemed".into()),
        ])
    }

    fn job(&self, reason: &Reason) -> Job {
        Job::RevokeGiftCard {
            card: CardKey::Id(self.card.id),
            reason: reason.clone(),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::GiftCardRevoked(r) => r.map(|card| {
                Done::new(
                    "Gift card revoked",
                    vec![format!(
                        "revoked gift card #{} {} ({} credits)",
                        card.id, card.code_masked, card.credits
                    )],
                )
            }),
            other => Err(unexpected(&other)),
        }
    }
}

/// Redeeming a card for a user: the code the customer reads out, or empty
/// for the selected card (one that can be redeemed).
pub struct Redeem {
    /// The selected card when it can be redeemed, else `None` (a code is
    /// needed).
    pub card: Option<GiftCard>,
    /// The user the review showed.
    pub user: Option<User>,
    /// The user field: picked as you type (id, email or name).
    picker: UserPicker,
}

impl Redeem {
    pub fn new(card: Option<GiftCard>) -> Self {
        Self {
            card,
            user: None,
            picker: UserPicker::new("user"),
        }
    }
}

impl Change for Redeem {
    type Input = (RedeemTarget, UserRef);

    fn question(&self) -> String {
        "Confirm: redeem gift card".into()
    }

    fn verb(&self) -> &'static str {
        "redeem"
    }

    fn applying(&self) -> &'static str {
        "A gift card is being redeemed"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        let code_hint = if self.card.is_some() {
            "empty: the selected card (above); or the full code the customer reads out"
        } else {
            "the full code the customer reads out"
        };
        let code = Field::new("code", "Code", code_hint).secret();
        let user = self.picker.field("User");
        let mut form = Form::new("Redeem gift card", vec![code, user]);
        form.intro = match &self.card {
            Some(card) => vec![
                card_line(card),
                format!(
                    "Leave the code empty to redeem the selected card {}.",
                    short_masked(&card.code_masked)
                ),
                String::new(),
            ],
            None => vec![
                "No card that can be redeemed is selected: type its code.".into(),
                String::new(),
            ],
        };
        Some(form)
    }

    fn parse(
        &self,
        form: Option<&Form>,
        _now: DateTime<Utc>,
    ) -> Result<Self::Input, Vec<InvalidInput>> {
        both(
            check_code(field(form, "code"), self.card.as_ref()),
            self.picker.user(form),
        )
    }

    fn form_key(&mut self, form: &mut Form, key: &KeyEvent, ctx: &mut Ctx) -> bool {
        self.picker.key(form, key, ctx)
    }

    fn form_reply(
        &mut self,
        form: &mut Form,
        id: RequestId,
        outcome: Outcome,
        _ctx: &mut Ctx,
    ) -> Result<(), Outcome> {
        self.picker.reply(form, id, outcome)
    }

    fn form_busy(&self) -> bool {
        self.picker.busy()
    }

    fn form_retry(&mut self, form: &mut Form, ctx: &mut Ctx) {
        self.picker.retry(form, ctx);
    }

    /// The user's balance now, and the selected card as it is now.
    fn fresh(&self, (target, user): &Self::Input) -> Vec<Job> {
        let mut jobs = vec![Job::User { user: user.clone() }];
        if let CardRef::Id(id) = target.card {
            jobs.push(Job::GiftCard {
                card: CardKey::Id(id),
            });
        }
        jobs
    }

    fn review(
        &mut self,
        (target, _user): &Self::Input,
        fresh: Vec<Outcome>,
        now: DateTime<Utc>,
    ) -> Review {
        let mut fresh = fresh.into_iter();
        let u = match fresh.next() {
            Some(Outcome::User(Ok(u))) => u,
            Some(Outcome::User(Err(Error::Refused(r)))) => {
                return Review::Invalid(vec![InvalidInput::new("user", r.to_string())]);
            }
            Some(Outcome::User(Err(e))) => return unreadable("the user", Some(&e)),
            _ => return unreadable("the user", None),
        };
        if let CardRef::Id(_) = target.card {
            match fresh.next() {
                Some(Outcome::GiftCard(Ok(card))) => {
                    if let Err(r) = check_redeemable(card.stored_status, card.expires_at, now) {
                        return Review::Refused(format!("gift card #{}: {r}", card.id));
                    }
                    self.card = Some(*card);
                }
                Some(Outcome::GiftCard(Err(e))) => return unreadable("the card", Some(&e)),
                _ => return unreadable("the card", None),
            }
        }
        let mut lines: Vec<(String, String)> = Vec::new();
        match (&target.card, &self.card) {
            (CardRef::Id(_), Some(c)) => {
                lines.push((
                    "card".into(),
                    format!("#{}  {}  (selected)", c.id, c.code_masked),
                ));
                lines.push(("status".into(), status_text(c)));
                lines.push(("credits".into(), format!("+{}", c.credits)));
            }
            (CardRef::Code(_), Some(c)) if target.warning.is_none() => {
                lines.push(("card".into(), format!("#{}  {}", c.id, c.code_masked)));
                lines.push(("code".into(), "typed, ends like the card's".into()));
                lines.push(("status".into(), status_text(c)));
                lines.push(("credits".into(), format!("+{}", c.credits)));
            }
            (CardRef::Code(code), _) => {
                lines.push((
                    "card".into(),
                    format!("the one with the code {}", mask_code(code.as_str())),
                ));
                lines.push(("credits".into(), "the card's, shown once redeemed".into()));
            }
            (CardRef::Id(id), None) => lines.push(("card".into(), format!("#{id}"))),
        }
        lines.push(("for user".into(), format!("{} (#{})", u.email, u.id)));
        let credits = match (&target.card, &self.card) {
            (CardRef::Id(_), Some(c)) => Some(c.credits),
            (CardRef::Code(_), Some(c)) if target.warning.is_none() => Some(c.credits),
            _ => None,
        };
        lines.push((
            "balance".into(),
            match credits {
                Some(n) => format!("{} → {}", u.credits, i64::from(u.credits) + i64::from(n)),
                None => format!("{} now", u.credits),
            },
        ));
        self.user = Some(u);
        if let Some(w) = &target.warning {
            lines.push(("warning".into(), w.clone()));
        }
        Review::Confirm(lines)
    }

    fn job(&self, (target, user): &Self::Input) -> Job {
        Job::RedeemGiftCard {
            card: target.card.clone(),
            // The user the review showed, by id.
            user: self
                .user
                .as_ref()
                .map_or_else(|| user.clone(), |u| UserRef::Id(u.id)),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        let selected = self.card.as_ref().map(|c| c.id);
        match outcome {
            Outcome::GiftCardRedeemed(r) => r.map(|done| {
                let mut lines = vec![redeemed(&done)];
                if let Some(u) = &self.user
                    && u.credits != done.old_balance
                {
                    lines.push(changed_meanwhile(
                        u.credits,
                        done.old_balance,
                        done.new_balance,
                    ));
                }
                if let Some(selected) = selected
                    && done.card.id != selected
                {
                    lines.push(format!(
                        "note: the code was gift card #{}'s, not the selected #{selected}'s",
                        done.card.id
                    ));
                }
                Done::new("Gift card redeemed", lines)
            }),
            other => Err(unexpected(&other)),
        }
    }
}

/// e.g. `redeemed gift card #105 for ana@example.com (#12): +100 credits,
/// balance 20 → 120 (entry #900)`
fn redeemed(done: &GiftCardRedemption) -> String {
    format!(
        "redeemed gift card #{} for {} (#{}): +{} credits, balance {} → {} (entry #{})",
        done.card.id,
        done.email,
        done.user_id,
        done.credits,
        done.old_balance,
        done.new_balance,
        done.entry_id
    )
}
