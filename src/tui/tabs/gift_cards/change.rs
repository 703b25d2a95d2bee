//! Revoking a card (with a required reason) and redeeming it for a user:
//! a form, a confirmation summing it up, one call to `gift_cards::revoke` or
//! `gift_cards::redeem`, then the result or the refusal.
//!
//! Both functions find the card by its code, and the list only knows the
//! masked one, so the form asks for the code (shown masked while typed) and
//! checks that it ends like the selected card's before anything is sent.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::{DialogKey, TypedCode, status_text, visible_tail};
use crate::db::gift_cards::{GiftCard, GiftCardRedemption};
use crate::domain::InvalidInput;
use crate::domain::codes::{GiftCardCode, lookup_key};
use crate::domain::text::{Reason, check_free_text};
use crate::domain::user_ref::UserRef;
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keys::{KeyHint, is_enter};
use crate::tui::tabs::Ui;
use crate::tui::widgets::{Confirm, ConfirmAction, ConfirmState, Field, Form, FormAction};

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

/// Checks a typed code against the card it is meant for: no control
/// characters, longer than the visible tail, and ending with it (as typed
/// or in its Crockford reading, the two forms `gift_cards` looks up).
pub fn check_code(input: &str, card: &GiftCard) -> Result<TypedCode, InvalidInput> {
    const F: &str = "code";
    let t = check_free_text(F, input, 256)?;
    if t.is_empty() {
        return Err(InvalidInput::new(F, "enter the card's full code"));
    }
    let tail = visible_tail(&card.code_masked);
    let key = lookup_key(&t);
    if key.len() <= tail.len() {
        return Err(InvalidInput::new(
            F,
            "enter the whole code, not only its last characters",
        ));
    }
    let canonical = GiftCardCode::parse(&t).ok().map(|c| c.lookup_key());
    let matches = key.ends_with(&tail) || canonical.is_some_and(|k| k.ends_with(&tail));
    if !matches {
        return Err(InvalidInput::new(
            F,
            format!(
                "this code does not end in {tail}: it is not gift card #{}",
                card.id
            ),
        ));
    }
    Ok(TypedCode::new(t))
}

pub struct ChangeDialog {
    pub kind: ChangeKind,
    pub card: GiftCard,
    pub form: Form,
    /// After a valid form: the summary, and the request it sends.
    pub confirm: Option<(Confirm, Job)>,
}

impl ChangeDialog {
    pub fn new(kind: ChangeKind, card: GiftCard) -> Self {
        let code = Field::new(
            "code",
            "Code",
            "the full code, from the card or the codes file",
        )
        .secret();
        let (title, second) = match kind {
            ChangeKind::Revoke => (
                "Revoke gift card",
                Field::new(
                    "reason",
                    "Reason",
                    "required; kept on the card and in the audit log",
                ),
            ),
            ChangeKind::Redeem => (
                "Redeem gift card",
                Field::new("user", "User", "a numeric id or an email"),
            ),
        };
        let mut form = Form::new(title, vec![code, second]);
        form.intro = vec![
            format!(
                "#{}  {}  {}  {} credits",
                card.id,
                card.code_masked,
                status_text(&card),
                card.credits
            ),
            String::new(),
        ];
        form.help = "Tab next field   Enter review   Esc cancel";
        Self {
            kind,
            card,
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
            match confirm.key(key) {
                ConfirmAction::Apply => {
                    let id = ctx.request(job.clone());
                    confirm.sent(id);
                }
                ConfirmAction::Back => self.confirm = None,
                ConfirmAction::Abandon => {
                    ctx.cancel(confirm.in_flight());
                    return DialogKey::Abandoned;
                }
                ConfirmAction::Close => return DialogKey::Close,
                // Enter while in flight: swallowed, so a double press acts once.
                ConfirmAction::None if is_enter(key) => {}
                ConfirmAction::None => return DialogKey::Ignored,
            }
            return DialogKey::Stay;
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
        let code = check_code(self.form.value("code"), &self.card);
        let c = &self.card;
        let card_line = format!("#{}  {}", c.id, c.code_masked);
        let recipient = c
            .recipient_email
            .clone()
            .unwrap_or_else(|| "none".to_owned());
        let (confirm, job) = match self.kind {
            ChangeKind::Revoke => match (code, Reason::parse(self.form.value("reason"))) {
                (Ok(code), Ok(reason)) => (
                    Confirm::new(
                        "Confirm: revoke gift card",
                        vec![
                            ("card".into(), card_line),
                            ("status".into(), status_text(c)),
                            ("credits".into(), c.credits.to_string()),
                            ("recipient".into(), recipient),
                            ("reason".into(), reason.as_str().to_owned()),
                            ("after".into(), "the card can no longer be redeemed".into()),
                        ],
                    ),
                    Job::RevokeGiftCard { code, reason },
                ),
                (a, b) => {
                    let errors: Vec<InvalidInput> =
                        [a.err(), b.err()].into_iter().flatten().collect();
                    self.form.set_errors(&errors);
                    return;
                }
            },
            ChangeKind::Redeem => match (code, UserRef::parse(self.form.value("user"))) {
                (Ok(code), Ok(user)) => (
                    Confirm::new(
                        "Confirm: redeem gift card",
                        vec![
                            ("card".into(), card_line),
                            ("status".into(), status_text(c)),
                            ("credits".into(), format!("+{}", c.credits)),
                            (
                                "for user".into(),
                                match &user {
                                    UserRef::Id(id) => format!("#{id}"),
                                    UserRef::Email(e) => e.clone(),
                                },
                            ),
                        ],
                    ),
                    Job::RedeemGiftCard { code, user },
                ),
                (a, b) => {
                    let errors: Vec<InvalidInput> =
                        [a.err(), b.err()].into_iter().flatten().collect();
                    self.form.set_errors(&errors);
                    return;
                }
            },
        };
        self.confirm = Some((confirm, job));
    }

    /// The answer to the revocation; false if it isn't the one in flight.
    pub fn finish_revoke(&mut self, id: RequestId, result: &Result<Box<GiftCard>>) -> bool {
        let selected = self.card.id;
        let Some((confirm, _)) = &mut self.confirm else {
            return false;
        };
        let result = match result {
            Ok(card) => {
                let mut lines = vec![format!(
                    "revoked gift card #{} {} ({} credits)",
                    card.id, card.code_masked, card.credits
                )];
                if card.id != selected {
                    lines.push(format!(
                        "note: the code was gift card #{}'s, not #{selected}'s",
                        card.id
                    ));
                }
                Ok(lines)
            }
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
        let selected = self.card.id;
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
                if done.card.id != selected {
                    lines.push(format!(
                        "note: the code was gift card #{}'s, not #{selected}'s",
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

    pub fn keys(&self) -> Vec<KeyHint> {
        match self.confirm.as_ref().map(|(c, _)| &c.state) {
            Some(ConfirmState::InFlight(_)) => vec![KeyHint::footer("Esc", "stop waiting")],
            Some(ConfirmState::Done(_)) => vec![KeyHint::footer("Enter", "close")],
            Some(ConfirmState::Failed(_)) => vec![
                KeyHint::footer("Enter", "try again"),
                KeyHint::footer("Esc", "back"),
            ],
            Some(ConfirmState::Ready) => vec![
                KeyHint::footer(
                    "Enter",
                    match self.kind {
                        ChangeKind::Revoke => "revoke",
                        ChangeKind::Redeem => "redeem",
                    },
                ),
                KeyHint::footer("Esc", "back"),
            ],
            None => vec![
                KeyHint::footer("Tab", "next field"),
                KeyHint::footer("Enter", "review"),
                KeyHint::footer("Esc", "cancel"),
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
