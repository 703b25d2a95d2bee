//! The confirmation every change goes through: a summary, then Enter to
//! apply. While the request is in flight the dialog ignores Enter, so a
//! double press applies the change once; then it shows the result or the
//! error (Enter tries again with the same idempotency key, so a retry can't
//! book twice either).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::popup::message;
use super::safe::{safe, safe_styled};
use super::spinner;
use crate::tui::command::RequestId;
use crate::tui::ctx::Ctx;
use crate::tui::keys::is_enter;
use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmState {
    Ready,
    InFlight(RequestId),
    Done(Vec<String>),
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmAction {
    None,
    /// Enter when ready (or after a failure): the owner sends the request
    /// and calls [`Confirm::sent`].
    Apply,
    /// Esc before applying: back to the form.
    Back,
    /// Esc while in flight: stop waiting (the owner cancels the request).
    Abandon,
    /// Enter or Esc once done.
    Close,
}

/// What a key did to a dialog that ends in a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKey {
    Stay,
    /// Not a key of the dialog (q, ?): the app's.
    Ignored,
    Close,
    /// Stopped waiting for a change: it may or may not be applied.
    Abandoned,
}

#[derive(Debug, Clone)]
pub struct Confirm {
    pub title: String,
    /// `label: value` lines; values may hold database text (sanitised here).
    pub lines: Vec<(String, String)>,
    pub state: ConfirmState,
}

impl Confirm {
    pub fn new(title: impl Into<String>, lines: Vec<(String, String)>) -> Self {
        Self {
            title: title.into(),
            lines,
            state: ConfirmState::Ready,
        }
    }

    /// A key for the dialog holding this confirmation: `send` makes the
    /// request when the operator applies; `None` means back to the form.
    pub fn dialog_key(
        &mut self,
        key: &KeyEvent,
        ctx: &mut Ctx,
        send: impl FnOnce(&mut Ctx) -> RequestId,
    ) -> Option<DialogKey> {
        match self.key(key) {
            ConfirmAction::Apply => {
                let id = send(ctx);
                self.sent(id);
                Some(DialogKey::Stay)
            }
            ConfirmAction::Back => None,
            ConfirmAction::Abandon => {
                ctx.cancel(self.in_flight());
                Some(DialogKey::Abandoned)
            }
            ConfirmAction::Close => Some(DialogKey::Close),
            // Enter while in flight: swallowed, so a double press acts once.
            ConfirmAction::None if is_enter(key) => Some(DialogKey::Stay),
            ConfirmAction::None => Some(DialogKey::Ignored),
        }
    }

    pub fn in_flight(&self) -> Option<RequestId> {
        match self.state {
            ConfirmState::InFlight(id) => Some(id),
            _ => None,
        }
    }

    pub fn key(&self, key: &KeyEvent) -> ConfirmAction {
        match (&self.state, key.code) {
            (ConfirmState::Ready | ConfirmState::Failed(_), KeyCode::Enter) => ConfirmAction::Apply,
            (ConfirmState::Ready | ConfirmState::Failed(_), KeyCode::Esc) => ConfirmAction::Back,
            (ConfirmState::InFlight(_), KeyCode::Esc) => ConfirmAction::Abandon,
            (ConfirmState::Done(_), KeyCode::Enter | KeyCode::Esc) => ConfirmAction::Close,
            _ => ConfirmAction::None,
        }
    }

    /// The request is on its way: Enter does nothing until it answers.
    pub fn sent(&mut self, id: RequestId) {
        self.state = ConfirmState::InFlight(id);
    }

    /// The answer to `id`; false (and nothing changes) for any other id.
    pub fn finish(&mut self, id: RequestId, result: Result<Vec<String>, String>) -> bool {
        if self.in_flight() != Some(id) {
            return false;
        }
        self.state = match result {
            Ok(lines) => ConfirmState::Done(lines),
            Err(e) => ConfirmState::Failed(e),
        };
        true
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme, tick: u64) {
        let label_width = self
            .lines
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        let mut lines: Vec<Line> = self
            .lines
            .iter()
            .map(|(label, value)| {
                Line::from(vec![
                    Span::styled(format!("{label:>label_width$}  "), theme.dim()),
                    safe(value),
                ])
            })
            .collect();
        lines.push(Line::raw(""));
        match &self.state {
            ConfirmState::Ready => lines.push(Line::from(vec![
                Span::styled("Enter", theme.key()),
                Span::raw(" apply   "),
                Span::styled("Esc", theme.key()),
                Span::raw(" back"),
            ])),
            ConfirmState::InFlight(_) => lines.push(Line::from(vec![
                Span::styled(spinner::loading(tick, "applying…"), theme.warning()),
                Span::styled("   Esc stop waiting", theme.dim()),
            ])),
            ConfirmState::Done(done) => {
                for d in done {
                    lines.push(Line::from(safe_styled(d, theme.success())));
                }
                lines.push(Line::from(vec![
                    Span::styled("Enter", theme.key()),
                    Span::raw(" close"),
                ]));
            }
            ConfirmState::Failed(e) => {
                lines.push(Line::from(safe_styled(e, theme.error())));
                lines.push(Line::from(vec![
                    Span::styled("Enter", theme.key()),
                    Span::raw(" try again   "),
                    Span::styled("Esc", theme.key()),
                    Span::raw(" back"),
                ]));
            }
        }
        message(frame, area, theme, &self.title, lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    #[test]
    fn enter_in_flight_is_ignored() {
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        let mut c = Confirm::new("t", vec![]);
        assert_eq!(c.key(&enter), ConfirmAction::Apply);
        c.sent(RequestId(7));
        assert_eq!(c.key(&enter), ConfirmAction::None);
        assert!(!c.finish(RequestId(6), Ok(vec![])));
        assert!(c.finish(RequestId(7), Err("no".into())));
        assert_eq!(c.key(&enter), ConfirmAction::Apply);
    }
}
