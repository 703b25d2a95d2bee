//! A tab that is not built yet: says so, points at the equivalent
//! commands, and shows what it was asked to open (so links already work).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{Handled, Tab, TabId, Ui};
use crate::tui::command::{Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keys::KeyHint;
use crate::tui::link::Link;

pub struct ComingSoon {
    id: TabId,
    what: &'static str,
    command: &'static str,
    /// The last link followed to this tab.
    requested: Option<Link>,
}

impl ComingSoon {
    pub fn new(id: TabId, what: &'static str, command: &'static str) -> Self {
        Self {
            id,
            what,
            command,
            requested: None,
        }
    }
}

impl Tab for ComingSoon {
    fn key(&mut self, _key: &KeyEvent, _ctx: &mut Ctx) -> Handled {
        Handled::No
    }

    fn reply(&mut self, _id: RequestId, _outcome: Outcome, _ctx: &mut Ctx) {}

    fn open(&mut self, link: &Link, _ctx: &mut Ctx) -> bool {
        self.requested = Some(link.clone());
        true
    }

    fn keys(&self, _read_only: bool) -> Vec<KeyHint> {
        Vec::new()
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let mut lines = vec![
            Line::from(Span::styled(
                format!("{}: coming soon", self.id.title()),
                ui.theme.title(),
            )),
            Line::raw(""),
            Line::raw(self.what),
            Line::from(vec![
                Span::raw("Until then, use the command line: "),
                Span::styled(self.command, ui.theme.key()),
            ]),
        ];
        if let Some(link) = &self.requested {
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                Span::raw("You followed a link to "),
                // Link's Display sanitises the codes it holds.
                Span::styled(link.to_string(), ui.theme.title()),
            ]));
        }
        let block = Block::bordered()
            .border_style(ui.theme.border())
            .title(format!(" {} ", self.id.title()));
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }
}
