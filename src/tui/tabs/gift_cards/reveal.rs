//! Revealing a card's full code (`v`), for an operator who must read it to a
//! customer: a confirmation saying the reveal is recorded in the audit log,
//! one `gift_cards::reveal` call by the card's id, then the code in a popup
//! until Esc or Enter closes it. The code lives in that popup only and is
//! dropped with it; no other screen shows it. Not offered in read-only mode
//! (the database refuses it there: it couldn't record the reveal).

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::change::short_masked;
use super::{RevealedCode, status_text};
use crate::db::gift_cards::{CardKey, GiftCard};
use crate::domain::InvalidInput;
use crate::error::Error;
use crate::tui::change::{Change, Done, Review, unexpected, unreadable};
use crate::tui::command::{Job, Outcome};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialog, Step};
use crate::tui::keymap::{Allow, Bind, Hint, Key, Keymap, always, key_line};
use crate::tui::tabs::Ui;
use crate::tui::widgets::popup::message;
use crate::tui::widgets::{Form, safe_owned, safe_styled};

/// The reveal: nothing to fill in, a confirmation, then the code.
pub struct Reveal {
    pub card: GiftCard,
}

impl Change for Reveal {
    type Input = ();

    fn question(&self) -> String {
        "Confirm: reveal the full code".into()
    }

    fn verb(&self) -> &'static str {
        "reveal"
    }

    fn applying(&self) -> &'static str {
        "A gift card's code is being revealed"
    }

    fn form(&mut self, _ctx: &mut Ctx) -> Option<Form> {
        None
    }

    fn parse(&self, _form: Option<&Form>, _now: DateTime<Utc>) -> Result<(), Vec<InvalidInput>> {
        Ok(())
    }

    fn fresh(&self, _input: &()) -> Vec<Job> {
        vec![Job::GiftCard {
            card: CardKey::Id(self.card.id),
        }]
    }

    fn review(&mut self, _input: &(), fresh: Vec<Outcome>, _now: DateTime<Utc>) -> Review {
        match fresh.into_iter().next() {
            Some(Outcome::GiftCard(Ok(card))) => self.card = *card,
            Some(Outcome::GiftCard(Err(e))) => return unreadable("the card", Some(&e)),
            _ => return unreadable("the card", None),
        }
        let card = &self.card;
        Review::Confirm(vec![
            ("card".into(), format!("#{}  {}", card.id, card.code_masked)),
            ("status".into(), status_text(card)),
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
        ])
    }

    fn job(&self, _input: &()) -> Job {
        Job::RevealGiftCard {
            card: CardKey::Id(self.card.id),
        }
    }

    fn done(&mut self, outcome: Outcome) -> Result<Done, Error> {
        match outcome {
            Outcome::GiftCardRevealed(r) => r.map(|code| {
                let line = format!(
                    "revealed the code of gift card #{} (recorded in the audit log)",
                    self.card.id
                );
                let mut done = Done::new("Code revealed", vec![line]);
                done.then = Some(Box::new(Revealed {
                    card: self.card.clone(),
                    code,
                }));
                done
            }),
            other => Err(unexpected(&other)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    Close,
}

const REVEALED_KEYS: Keymap<Close> = Keymap(&[Bind::new(
    &[Key::Code(KeyCode::Esc), Key::Code(KeyCode::Enter)],
    "Esc Enter",
    "close",
    Close::Close,
)
.footer()]);

/// The full code, until closed; closing drops it.
struct Revealed {
    card: GiftCard,
    code: RevealedCode,
}

impl Dialog for Revealed {
    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Step {
        match REVEALED_KEYS.find(key, ctx.allow, always) {
            Some(Close::Close) => Step::Close,
            None => Step::Ignored,
        }
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        REVEALED_KEYS.hints(allow, always)
    }

    fn holds(&self) -> bool {
        true
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
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
                safe_styled(self.code.as_str(), theme.title()),
            ]),
            Line::raw(""),
            Line::from(Span::styled(
                "Recorded in the audit log. Shown here only, and forgotten once closed.",
                theme.warning(),
            )),
            Line::raw(""),
            key_line(&self.hints(ui.allow), theme),
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
