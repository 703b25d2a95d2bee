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
use crate::tui::theme::Theme;

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
        match key.code {
            KeyCode::Esc => {
                self.editing = false;
                Typed::Left
            }
            KeyCode::Enter | KeyCode::Down | KeyCode::Tab => {
                self.editing = false;
                Typed::Done
            }
            _ => {
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
