//! Finding a user: type to search (id, email or name), debounced, and a
//! list of matches, newest users first.

use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::date;
use crate::db::users::User;
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keys::{KeyHint, is_char, is_enter, is_esc, nav};
use crate::tui::tabs::Ui;
use crate::tui::widgets::{ListNav, fit, safe, safe_opt, spinner};

/// Typing waits this long for the next key before searching.
pub const DEBOUNCE: Duration = Duration::from_millis(250);
/// Matches shown at most; a longer list means "type more".
pub const LIMIT: i64 = 200;

pub(super) enum KeyResult {
    Handled,
    Ignored,
    Open(User),
}

#[derive(Default)]
pub struct Search {
    input: Input,
    editing: bool,
    users: Vec<User>,
    nav: ListNav,
    /// The newest search on its way (older ones were cancelled).
    pending: Option<RequestId>,
    /// The text of the pending (or failed) search.
    asked: String,
    /// The text the list shows matches for.
    shown: Option<String>,
    error: Option<String>,
    failed: bool,
    started: bool,
}

impl Search {
    pub fn editing(&self) -> bool {
        self.editing
    }

    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn text(&self) -> &str {
        self.input.value()
    }

    pub fn user(&self, id: i32) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn selected(&self) -> Option<&User> {
        self.users.get(self.nav.selected())
    }

    /// First time shown: list the newest users.
    pub(super) fn start(&mut self, ctx: &mut Ctx) {
        if !self.started {
            self.started = true;
            self.search(None, ctx);
        }
    }

    /// Asks for the current text after `delay`, replacing (cancelling) the
    /// search not answered yet: only the newest one matters.
    fn search(&mut self, delay: Option<Duration>, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.asked = self.input.value().trim().to_owned();
        let job = Job::FindUsers {
            text: self.asked.clone(),
            limit: LIMIT,
        };
        self.pending = Some(match delay {
            Some(d) => ctx.request_after(d, job),
            None => ctx.request(job),
        });
        self.error = None;
        self.failed = false;
    }

    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.started = true;
        self.search(None, ctx);
    }

    pub(super) fn retry(&mut self, ctx: &mut Ctx) {
        if self.failed {
            self.search(None, ctx);
        }
    }

    pub(super) fn paste(&mut self, text: &str) -> bool {
        if !self.editing {
            return false;
        }
        for c in crate::domain::text::sanitize(text).chars() {
            self.input.handle(tui_input::InputRequest::InsertChar(c));
        }
        true
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        if self.editing {
            match key.code {
                KeyCode::Esc => self.editing = false,
                KeyCode::Enter | KeyCode::Down | KeyCode::Tab => {
                    self.editing = false;
                    // Don't make Enter wait for the debounce.
                    if self.pending.is_some() {
                        self.search(None, ctx);
                    }
                }
                _ => {
                    let before = self.input.value().to_owned();
                    self.input.handle_event(&Event::Key(*key));
                    if self.input.value() != before {
                        self.search(Some(DEBOUNCE), ctx);
                    }
                }
            }
            return KeyResult::Handled;
        }
        if is_char(key, '/') || is_char(key, 's') {
            self.editing = true;
            return KeyResult::Handled;
        }
        if let Some(n) = nav(key) {
            self.nav.apply(n, self.users.len());
            return KeyResult::Handled;
        }
        if is_enter(key) {
            return match self.selected() {
                Some(u) => KeyResult::Open(u.clone()),
                None => KeyResult::Handled,
            };
        }
        if is_esc(key) {
            if self.pending.is_some() {
                ctx.cancel(self.pending.take());
                return KeyResult::Handled;
            }
            if !self.input.value().is_empty() {
                self.input.reset();
                self.search(None, ctx);
                return KeyResult::Handled;
            }
        }
        KeyResult::Ignored
    }

    pub(super) fn reply(&mut self, id: RequestId, result: Result<Vec<User>>, _ctx: &mut Ctx) {
        if self.pending != Some(id) {
            return; // an older search: its answer no longer matters
        }
        self.pending = None;
        match result {
            Ok(users) => {
                let changed = self.shown.as_deref() != Some(self.asked.as_str());
                self.users = users;
                self.shown = Some(self.asked.clone());
                if changed {
                    self.nav.reset();
                } else {
                    let i = self.nav.selected();
                    self.nav.select(i, self.users.len());
                }
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.failed = true;
            }
        }
    }

    pub(super) fn keys(&self) -> Vec<KeyHint> {
        if self.editing {
            return vec![
                KeyHint::footer("Enter", "to the list"),
                KeyHint::footer("Esc", "stop typing"),
            ];
        }
        vec![
            KeyHint::footer("/", "search"),
            KeyHint::footer("Enter", "open user"),
            KeyHint::help("Esc", "clear the search / stop loading"),
        ]
    }

    pub(super) fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let [search_row, list] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        // The search line: label, the text, and where the list stands.
        let label = " Search: ";
        let lw = u16::try_from(label.len()).unwrap_or(0);
        frame.render_widget(
            Paragraph::new(Span::styled(
                label,
                if self.editing {
                    theme.title()
                } else {
                    theme.dim()
                },
            )),
            search_row,
        );
        let input_area = Rect {
            x: search_row.x.saturating_add(lw),
            width: search_row.width.saturating_sub(lw),
            ..search_row
        };
        if !input_area.is_empty() {
            let width = usize::from(input_area.width.saturating_sub(1));
            let scroll = self.input.visual_scroll(width);
            let text = if self.input.value().is_empty() && !self.editing {
                Span::styled("press / to search by id, email or name", theme.dim())
            } else {
                safe(self.input.value())
            };
            frame.render_widget(
                Paragraph::new(Line::from(text))
                    .style(if self.editing {
                        theme.input_focused()
                    } else {
                        theme.base()
                    })
                    .scroll((0, u16::try_from(scroll).unwrap_or(u16::MAX))),
                input_area,
            );
            if self.editing {
                let cx = self.input.visual_cursor().saturating_sub(scroll);
                let cx = input_area
                    .x
                    .saturating_add(u16::try_from(cx).unwrap_or(u16::MAX));
                if cx < input_area.right() {
                    frame.set_cursor_position(Position::new(cx, input_area.y));
                }
            }
        }

        let status = if let Some(e) = &self.error {
            Span::styled(
                fit(&format!(" {e} — R to retry "), list.width),
                theme.error(),
            )
        } else if self.pending.is_some() {
            Span::styled(
                format!(" {} ", spinner::loading(ui.tick, "searching…")),
                theme.warning(),
            )
        } else {
            let n = self.users.len();
            let more = if n as i64 >= LIMIT {
                " (type more to narrow)"
            } else {
                ""
            };
            let plural = if n == 1 { "" } else { "s" };
            Span::raw(fit(&format!(" {n} user{plural}{more} "), list.width))
        };
        let title = match self.shown.as_deref() {
            Some("") | None => Line::from(" Newest users "),
            Some(q) => Line::from(vec![
                Span::raw(" Users matching “"),
                safe(q),
                Span::raw("” "),
            ]),
        };
        let block = Block::bordered()
            .border_style(theme.border())
            .title(title)
            .title_bottom(Line::from(status).right_aligned());
        let inner = block.inner(list);
        frame.render_widget(block, list);
        if inner.is_empty() {
            return;
        }
        if self.users.is_empty() {
            let text = match (&self.shown, self.pending) {
                (_, Some(_)) | (None, _) => "",
                (Some(q), None) if q.is_empty() => "no users yet",
                (Some(_), None) => "no user matches",
            };
            frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
            return;
        }
        let height = usize::from(inner.height.saturating_sub(1));
        let from = self.nav.visible_from(self.users.len(), height);
        let rows = self.users.iter().skip(from).take(height).map(|u| {
            Row::new(vec![
                Cell::from(format!("#{}", u.id)),
                Cell::from(safe(&u.email)),
                Cell::from(safe_opt(u.name.as_deref())),
                Cell::from(Line::from(u.credits.to_string()).right_aligned()),
                Cell::from(date(u.created_at)),
            ])
        });
        let header = Row::new(vec![
            Cell::from("id"),
            Cell::from("email"),
            Cell::from("name"),
            Cell::from(Line::from("credits").right_aligned()),
            Cell::from("since"),
        ])
        .style(theme.header());
        let table = Table::new(
            rows,
            [
                Constraint::Length(8),
                Constraint::Fill(3),
                Constraint::Fill(2),
                Constraint::Length(8),
                Constraint::Length(10),
            ],
        )
        .header(header)
        .row_highlight_style(theme.selected());
        let mut state =
            TableState::new().with_selected(Some(self.nav.selected().saturating_sub(from)));
        frame.render_stateful_widget(table, inner, &mut state);
    }
}
