//! The search line above a list: a label, then the text typed (or a hint
//! while it is empty and not being typed in), the cursor while typing.

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_input::backend::crossterm::EventHandler;
use tui_input::{Input, InputRequest};

use super::{safe, safe_owned};
use crate::tui::keymap::{Allow, Bind, ENTER, ESC, Key, Keymap};
use crate::tui::theme::Theme;

/// What a key does while typing in a list's search line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingKey {
    Done,
    Leave,
}

/// The keys of a search line that searches as you type.
pub const TYPING_KEYS: Keymap<TypingKey> = Keymap(&[
    Bind::new(
        &[
            Key::Code(KeyCode::Enter),
            Key::Code(KeyCode::Down),
            Key::Code(KeyCode::Tab),
        ],
        "Enter",
        "to the list",
        TypingKey::Done,
    )
    .footer(),
    Bind::new(ESC, "Esc", "stop typing", TypingKey::Leave).footer(),
]);

/// `/` (or `s`) on a list that searches as you type.
pub const fn search_key<A>(act: A) -> Bind<A> {
    Bind::new(&[Key::Char('/'), Key::Char('s')], "/", "search", act).footer()
}

/// Esc on such a list.
pub const fn clear_key<A>(act: A) -> Bind<A> {
    Bind::new(ESC, "Esc", "clear the search / stop loading", act)
}

/// The keys of a search line applied with Enter.
pub const APPLY_KEYS: Keymap<TypingKey> = Keymap(&[
    Bind::new(ENTER, "Enter", "search", TypingKey::Done).footer(),
    Bind::new(ESC, "Esc", "cancel", TypingKey::Leave).footer(),
]);

#[derive(Debug, Default)]
pub struct SearchField {
    pub input: Input,
    /// The field has the keys.
    pub editing: bool,
}

/// A key typed in a list's search line (see `SearchField::key`).
pub enum Typed {
    /// Enter, Down or Tab: back to the list.
    Done,
    /// Esc: back to the list.
    Left,
    Changed,
    Unchanged,
}

impl SearchField {
    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// Pasted text goes in (sanitised) while typing; false otherwise.
    pub fn paste(&mut self, text: &str) -> bool {
        if !self.editing {
            return false;
        }
        for c in crate::domain::text::sanitize(text).chars() {
            self.input.handle(InputRequest::InsertChar(c));
        }
        true
    }

    /// A key while typing, for a list that searches as you type.
    pub fn key(&mut self, key: &KeyEvent) -> Typed {
        match TYPING_KEYS.find(key, &Allow::all(), |_| true) {
            Some(TypingKey::Leave) => {
                self.editing = false;
                Typed::Left
            }
            Some(TypingKey::Done) => {
                self.editing = false;
                Typed::Done
            }
            None => {
                let before = self.input.value().to_owned();
                self.input.handle_event(&Event::Key(*key));
                if self.input.value() != before {
                    Typed::Changed
                } else {
                    Typed::Unchanged
                }
            }
        }
    }

    /// `label`, then the text, or `error` after it, or `hint` while empty
    /// and not typing.
    pub fn render(
        &self,
        frame: &mut Frame,
        row: Rect,
        theme: &Theme,
        label: &str,
        hint: &str,
        error: Option<&str>,
    ) {
        let lw = u16::try_from(label.chars().count()).unwrap_or(0);
        let label_style = if self.editing {
            theme.title()
        } else {
            theme.dim()
        };
        frame.render_widget(Paragraph::new(Span::styled(label, label_style)), row);
        let area = Rect {
            x: row.x.saturating_add(lw),
            width: row.width.saturating_sub(lw),
            ..row
        };
        if area.is_empty() {
            return;
        }
        let width = usize::from(area.width.saturating_sub(1));
        let scroll = self.input.visual_scroll(width);
        let value = self.input.value();
        let text = if let Some(e) = error {
            // The error after the text, both in one line.
            Paragraph::new(Line::from(safe_owned(format!("{value}  ↳ {e}")))).style(theme.error())
        } else if value.is_empty() && !self.editing {
            Paragraph::new(Span::styled(hint, theme.dim()))
        } else {
            Paragraph::new(Line::from(safe(value)))
                .style(if self.editing {
                    theme.input_focused()
                } else {
                    theme.base()
                })
                .scroll((0, u16::try_from(scroll).unwrap_or(u16::MAX)))
        };
        frame.render_widget(text, area);
        if self.editing {
            let cx = self.input.visual_cursor().saturating_sub(scroll);
            let cx = area.x.saturating_add(u16::try_from(cx).unwrap_or(u16::MAX));
            if cx < area.right() {
                frame.set_cursor_position(Position::new(cx, area.y));
            }
        }
    }
}
