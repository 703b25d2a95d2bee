//! Revoking a card (with a required reason) and redeeming one for a user:
//! a form, a confirmation summing it up, one call to `gift_cards::revoke` or
//! `gift_cards::redeem`, then the result or the refusal.
//!
//! Revoking acts on the selected card, by its id: the operator never sees
//! its full code and doesn't type it. Redeeming takes the code the customer
//! reads out (shown masked while typed) or, left empty, the selected card by
//! its id; a typed code that doesn't end like the selected card's is only a
//! warning, the database finds the card by that code.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::{CardRef, DialogKey, TypedCode, status_text, visible_tail};
use crate::db::gift_cards::{CardKey, GiftCard, GiftCardRedemption};
use crate::domain::InvalidInput;
use crate::domain::codes::{GiftCardCode, lookup_key, mask_code};
use crate::domain::text::{Reason, check_free_text};
use crate::domain::user_ref::UserRef;
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Hint;
use crate::tui::tabs::Ui;
use crate::tui::widgets::{Confirm, ConfirmState, Field, Form, FormAction};

/// A masked code shows its last four letters or digits.
const TAIL: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Revoke,
    Redeem,
}

impl ChangeKind {
    pub fn past(self) -> &'static str {
        match self {
            ChangeKind::Revoke => "revoked",
            ChangeKind::Redeem => "redeemed",
        }
    }

    pub fn in_flight(self) -> &'static str {
        match self {
            ChangeKind::Revoke => "A gift card is being revoked",
            ChangeKind::Redeem => "A gift card is being redeemed",
        }
    }

    pub fn unsaved(self) -> &'static str {
        match self {
            ChangeKind::Revoke => "The revoke form holds input not applied",
            ChangeKind::Redeem => "The redeem form holds input not applied",
        }
    }
}

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

pub struct ChangeDialog {
    pub kind: ChangeKind,
    /// Revoke: the card revoked. Redeem: the selected card when it can be
    /// redeemed (an empty code means it), else `None` and a code is needed.
    pub card: Option<GiftCard>,
    pub form: Form,
    /// After a valid form: the summary, and the request it sends.
    pub confirm: Option<(Confirm, Job)>,
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

impl ChangeDialog {
    /// Revoking `card`, by its id: the form only asks why.
    pub fn revoke(card: GiftCard) -> Self {
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
            format!("   status  {}", status_text(&card)),
            format!("  credits  {}", card.credits),
            format!("recipient  {}", recipient(&card)),
            String::new(),
        ];
        Self {
            kind: ChangeKind::Revoke,
            card: Some(card),
            form,
            confirm: None,
        }
    }

    /// Redeeming for a user: the code the customer reads out, or empty for
    /// `selected` (a card that can be redeemed). `note` says why a selected
    /// card can't be (then a code is needed).
    pub fn redeem(selected: Option<GiftCard>, note: Option<String>) -> Self {
        let code_hint = if selected.is_some() {
            "empty: the selected card (above); or the full code the customer reads out"
        } else {
            "the full code the customer reads out"
        };
        let code = Field::new("code", "Code", code_hint).secret();
        let user = Field::new("user", "User", "a numeric id or an email");
        let mut form = Form::new("Redeem gift card", vec![code, user]);
        form.intro = match (&selected, note) {
            (Some(card), _) => vec![
                card_line(card),
                format!(
                    "Leave the code empty to redeem the selected card {}.",
                    short_masked(&card.code_masked)
                ),
                String::new(),
            ],
            (None, Some(note)) => vec![note, String::new()],
            (None, None) => vec!["No card selected: type its code.".into(), String::new()],
        };
        Self {
            kind: ChangeKind::Redeem,
            card: selected,
            form,
            confirm: None,
        }
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        self.confirm.as_ref().and_then(|(c, _)| c.in_flight())
    }

    pub fn is_dirty(&self) -> bool {
        self.confirm.is_some() || self.form.is_dirty()
    }

    pub fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> DialogKey {
        if let Some((confirm, job)) = &mut self.confirm {
            let done = confirm.dialog_key(key, ctx, |ctx| ctx.request(job.clone()));
            return done.unwrap_or_else(|| {
                self.confirm = None;
                DialogKey::Stay
            });
        }
        match self.form.key(key) {
            FormAction::Cancel => return DialogKey::Close,
            FormAction::Submit => self.review(),
            FormAction::None => {}
        }
        DialogKey::Stay
    }

    pub fn paste(&mut self, text: &str) {
        if self.confirm.is_none() {
            self.form.paste(text);
        }
    }

    fn review(&mut self) {
        self.form.clear_errors();
        let reviewed = match self.kind {
            ChangeKind::Revoke => self.review_revoke(),
            ChangeKind::Redeem => self.review_redeem(),
        };
        match reviewed {
            Ok(confirm) => self.confirm = Some(confirm),
            Err(errors) => self.form.set_errors(&errors),
        }
    }

    fn review_revoke(&self) -> Result<(Confirm, Job), Vec<InvalidInput>> {
        let reason = Reason::parse(self.form.value("reason")).map_err(|e| vec![e])?;
        let Some(c) = &self.card else {
            return Err(vec![InvalidInput::new("card", "no card selected")]);
        };
        Ok((
            Confirm::new(
                "Confirm: revoke gift card",
                vec![
                    ("card".into(), format!("#{}  {}", c.id, c.code_masked)),
                    ("status".into(), status_text(c)),
                    ("credits".into(), c.credits.to_string()),
                    ("recipient".into(), recipient(c)),
                    ("reason".into(), reason.as_str().to_owned()),
                    ("after".into(), "the card can no longer be redeemed".into()),
                ],
            ),
            Job::RevokeGiftCard {
                card: CardKey::Id(c.id),
                reason,
            },
        ))
    }

    fn review_redeem(&self) -> Result<(Confirm, Job), Vec<InvalidInput>> {
        let target = check_code(self.form.value("code"), self.card.as_ref());
        let user = UserRef::parse(self.form.value("user"));
        let (target, user) = match (target, user) {
            (Ok(t), Ok(u)) => (t, u),
            (a, b) => return Err([a.err(), b.err()].into_iter().flatten().collect()),
        };
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
        lines.push((
            "for user".into(),
            match &user {
                UserRef::Id(id) => format!("#{id}"),
                UserRef::Email(e) => e.clone(),
            },
        ));
        if let Some(w) = &target.warning {
            lines.push(("warning".into(), w.clone()));
        }
        Ok((
            Confirm::new("Confirm: redeem gift card", lines),
            Job::RedeemGiftCard {
                card: target.card,
                user,
            },
        ))
    }

    /// The answer to the revocation; false if it isn't the one in flight.
    pub fn finish_revoke(&mut self, id: RequestId, result: &Result<Box<GiftCard>>) -> bool {
        let Some((confirm, _)) = &mut self.confirm else {
            return false;
        };
        let result = match result {
            Ok(card) => Ok(vec![format!(
                "revoked gift card #{} {} ({} credits)",
                card.id, card.code_masked, card.credits
            )]),
            Err(e) => Err(e.to_string()),
        };
        confirm.finish(id, result)
    }

    /// The answer to the redemption; false if it isn't the one in flight.
    pub fn finish_redeem(
        &mut self,
        id: RequestId,
        result: &Result<Box<GiftCardRedemption>>,
    ) -> bool {
        let selected = self.card.as_ref().map(|c| c.id);
        let Some((confirm, _)) = &mut self.confirm else {
            return false;
        };
        let result = match result {
            Ok(done) => {
                let mut lines = vec![format!(
                    "redeemed gift card #{} for {} (#{}): +{} credits, balance {} → {} (entry #{})",
                    done.card.id,
                    done.email,
                    done.user_id,
                    done.credits,
                    done.old_balance,
                    done.new_balance,
                    done.entry_id
                )];
                if let Some(selected) = selected
                    && done.card.id != selected
                {
                    lines.push(format!(
                        "note: the code was gift card #{}'s, not the selected #{selected}'s",
                        done.card.id
                    ));
                }
                Ok(lines)
            }
            Err(e) => Err(e.to_string()),
        };
        confirm.finish(id, result)
    }

    /// The result line once done, for the list's notice.
    pub fn done_summary(&self) -> Option<String> {
        match self.confirm.as_ref().map(|(c, _)| &c.state) {
            Some(ConfirmState::Done(lines)) => lines.first().cloned(),
            _ => None,
        }
    }

    pub fn keys(&self) -> Vec<Hint> {
        match self.confirm.as_ref().map(|(c, _)| &c.state) {
            Some(ConfirmState::InFlight(_)) => vec![Hint::footer("Esc", "stop waiting")],
            Some(ConfirmState::Done(_)) => vec![Hint::footer("Enter", "close")],
            Some(ConfirmState::Failed(_)) => vec![
                Hint::footer("Enter", "try again"),
                Hint::footer("Esc", "back"),
            ],
            Some(ConfirmState::Ready) => vec![
                Hint::footer(
                    "Enter",
                    match self.kind {
                        ChangeKind::Revoke => "revoke",
                        ChangeKind::Redeem => "redeem",
                    },
                ),
                Hint::footer("Esc", "back"),
            ],
            None if self.form.fields.len() > 1 => vec![
                Hint::footer("Tab", "next field"),
                Hint::footer("Enter", "review"),
                Hint::footer("Esc", "cancel"),
            ],
            None => vec![
                Hint::footer("Enter", "review"),
                Hint::footer("Esc", "cancel"),
            ],
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.confirm {
            Some((confirm, _)) => confirm.render(frame, area, ui.theme, ui.tick),
            None => self.form.render(frame, area, ui.theme),
        }
    }
}
