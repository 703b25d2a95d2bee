//! Revealing a card's full code (`v`), for an operator who must read it to a
//! customer: a confirmation saying the reveal is recorded in the audit log,
//! one `gift_cards::reveal` call by the card's id, then the code in a popup
//! until Esc or Enter closes it. The code lives in this dialog only and is
//! dropped with it; no other screen shows it. Not offered in read-only mode
//! (the database refuses it there: it couldn't record the reveal).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::change::short_masked;
use super::{DialogKey, RevealedCode, status_text};
use crate::db::gift_cards::{CardKey, GiftCard};
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::Hint;
use crate::tui::keys::{is_enter, is_esc};
use crate::tui::tabs::Ui;
use crate::tui::widgets::popup::message;
use crate::tui::widgets::{Confirm, ConfirmAction, ConfirmState, safe_owned, safe_styled};

pub struct RevealDialog {
    pub card: GiftCard,
    pub confirm: Confirm,
    /// The answer: shown until the dialog closes.
    code: Option<RevealedCode>,
}

impl RevealDialog {
    pub fn new(card: GiftCard) -> Self {
        let confirm = Confirm::new(
            "Confirm: reveal the full code",
            vec![
                ("card".into(), format!("#{}  {}", card.id, card.code_masked)),
                ("status".into(), status_text(&card)),
                ("credits".into(), card.credits.to_string()),
                (
                    "recipient".into(),
                    card.recipient_email
                        .clone()
                        .unwrap_or_else(|| "none".to_owned()),
                ),
                (
                    "audit".into(),
                    "the reveal is recorded in the audit log, under your name".into(),
                ),
            ],
        );
        Self {
            card,
            confirm,
            code: None,
        }
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        self.confirm.in_flight()
    }

    /// The full code is on screen.
    pub fn is_shown(&self) -> bool {
        self.code.is_some()
    }

    pub fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> DialogKey {
        if self.code.is_some() {
            // Closing drops the dialog, and the code with it.
            return if is_esc(key) || is_enter(key) {
                DialogKey::Close
            } else {
                DialogKey::Ignored
            };
        }
        match self.confirm.key(key) {
            ConfirmAction::Apply => {
                let id = ctx.request(Job::RevealGiftCard {
                    card: CardKey::Id(self.card.id),
                });
                self.confirm.sent(id);
            }
            ConfirmAction::Back | ConfirmAction::Close => return DialogKey::Close,
            ConfirmAction::Abandon => {
                ctx.cancel(self.confirm.in_flight());
                return DialogKey::Abandoned;
            }
            // Enter while in flight: swallowed, so a double press asks once.
            ConfirmAction::None if is_enter(key) => {}
            ConfirmAction::None => return DialogKey::Ignored,
        }
        DialogKey::Stay
    }

    /// The answer to the reveal; false if it isn't the one in flight.
    pub fn finish(&mut self, id: RequestId, result: Result<RevealedCode>) -> bool {
        if self.confirm.in_flight() != Some(id) {
            return false;
        }
        match result {
            Ok(code) => {
                self.confirm.state = ConfirmState::Done(Vec::new());
                self.code = Some(code);
            }
            Err(e) => {
                self.confirm.finish(id, Err(e.to_string()));
            }
        }
        true
    }

    pub fn keys(&self) -> Vec<Hint> {
        if self.code.is_some() {
            return vec![Hint::footer("Esc Enter", "close")];
        }
        match &self.confirm.state {
            ConfirmState::InFlight(_) => vec![Hint::footer("Esc", "stop waiting")],
            ConfirmState::Failed(_) => vec![
                Hint::footer("Enter", "try again"),
                Hint::footer("Esc", "back"),
            ],
            ConfirmState::Ready | ConfirmState::Done(_) => vec![
                Hint::footer("Enter", "reveal"),
                Hint::footer("Esc", "cancel"),
            ],
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let Some(code) = &self.code else {
            self.confirm.render(frame, area, ui.theme, ui.tick);
            return;
        };
        let theme = ui.theme;
        let c = &self.card;
        let lines = vec![
            Line::from(
                safe_owned(format!(
                    "#{}  {}  {}  {} credits",
                    c.id,
                    short_masked(&c.code_masked),
                    status_text(c),
                    c.credits
                ))
                .style(theme.dim()),
            ),
            Line::raw(""),
            Line::from(vec![
                Span::raw("  "),
                safe_styled(code.as_str(), theme.title()),
            ]),
            Line::raw(""),
            Line::from(Span::styled(
                "Recorded in the audit log. Shown here only, and forgotten once closed.",
                theme.warning(),
            )),
            Line::raw(""),
            Line::from(vec![
                Span::styled("Esc", theme.key()),
                Span::raw(" / "),
                Span::styled("Enter", theme.key()),
                Span::raw(" close"),
            ]),
        ];
        message(
            frame,
            area,
            theme,
            &format!("Gift card #{}: full code", c.id),
            lines,
        );
    }
}
