//! Finding a user: type to search (id, email or name), each key at once
//! (the search before it is cancelled, on the server too), and a list of
//! matches: an exact id or email first, then emails starting with the
//! text, then the rest, newest first.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row};

use crate::db::users::User;
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::format::date;
use crate::tui::keymap::{Allow, Bind, ENTER, Hint, Keymap, always};
use crate::tui::keys::nav;
use crate::tui::tabs::Ui;
use crate::tui::widgets::search::{SearchField, Typed, clear_key, search_key};
use crate::tui::widgets::{
    ListNav, ListTable, fit, id_width, load_status, render_empty, safe, safe_opt,
};

/// Matches shown at most; a longer list means "type more".
pub const LIMIT: i64 = 200;

/// What a key does on the user list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Search,
    Open,
    Clear,
}

const KEYS: Keymap<Act> = Keymap(&[
    search_key(Act::Search),
    Bind::new(ENTER, "Enter", "open user", Act::Open).footer(),
    clear_key(Act::Clear),
]);

pub(super) enum KeyResult {
    Handled,
    Ignored,
    Open(User),
}

#[derive(Default)]
pub struct Search {
    field: SearchField,
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
    /// The text the list shows matches for (`e` exports them).
    pub fn shown_text(&self) -> &str {
        self.shown.as_deref().unwrap_or("")
    }

    pub fn editing(&self) -> bool {
        self.field.editing
    }

    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    pub fn user(&self, id: i32) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn selected(&self) -> Option<&User> {
        self.users.get(self.nav.selected())
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// First time shown: list the newest users.
    pub(super) fn start(&mut self, ctx: &mut Ctx) {
        if !self.started {
            self.started = true;
            self.search(ctx);
        }
    }

    /// Asks for the current text now, replacing (cancelling) the search not
    /// answered yet: only the newest one matters.
    fn search(&mut self, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.asked = self.field.value().trim().to_owned();
        let job = Job::FindUsers {
            text: self.asked.clone(),
            limit: LIMIT,
        };
        self.pending = Some(ctx.request(job));
        self.error = None;
        self.failed = false;
    }

    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.started = true;
        self.search(ctx);
    }

    pub(super) fn retry(&mut self, ctx: &mut Ctx) {
        if self.failed {
            self.search(ctx);
        }
    }

    /// Pasted text while typing goes in, and is searched for at once.
    pub(super) fn paste(&mut self, text: &str, ctx: &mut Ctx) -> bool {
        if !self.field.paste(text) {
            return false;
        }
        self.search(ctx);
        true
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        if self.field.editing {
            if let Typed::Changed = self.field.key(key) {
                self.search(ctx);
            }
            return KeyResult::Handled;
        }
        if let Some(n) = nav(key) {
            self.nav.apply(n, self.users.len());
            return KeyResult::Handled;
        }
        match KEYS.find(key, ctx.allow, always) {
            Some(Act::Search) => {
                self.field.editing = true;
                KeyResult::Handled
            }
            Some(Act::Open) => match self.selected() {
                Some(u) => KeyResult::Open(u.clone()),
                None => KeyResult::Handled,
            },
            Some(Act::Clear) if self.pending.is_some() => {
                ctx.cancel(self.pending.take());
                KeyResult::Handled
            }
            Some(Act::Clear) if !self.field.value().is_empty() => {
                self.field.input.reset();
                self.search(ctx);
                KeyResult::Handled
            }
            Some(Act::Clear) | None => KeyResult::Ignored,
        }
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

    pub(super) fn hints(&self, allow: &Allow) -> Vec<Hint> {
        if self.field.editing {
            return crate::tui::widgets::search::TYPING_KEYS.hints(allow, always);
        }
        KEYS.hints(allow, always)
    }

    pub(super) fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let [search_row, list] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        self.field.render(
            frame,
            search_row,
            theme,
            " Search: ",
            "press / to search by id, email or name",
            None,
        );

        let status = load_status(
            self.error.as_deref(),
            self.pending.is_some(),
            "searching…",
            list.width,
            theme,
            ui.tick,
        )
        .unwrap_or_else(|| {
            let n = self.users.len();
            let more = if n as i64 >= LIMIT {
                " (type more to narrow)"
            } else {
                ""
            };
            let plural = if n == 1 { "" } else { "s" };
            Span::raw(fit(&format!(" {n} user{plural}{more} "), list.width))
        });
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
            render_empty(frame, inner, theme, text);
            return;
        }
        let table = ListTable::new(theme)
            .column(
                "id",
                Constraint::Length(id_width(self.users.iter().map(|u| i64::from(u.id)), 8)),
            )
            .column("email", Constraint::Fill(3))
            .column("name", Constraint::Fill(2))
            .column(Line::from("credits").right_aligned(), Constraint::Length(8))
            .column("since", Constraint::Length(10));
        let len = self.users.len();
        table.render(frame, inner, &self.nav, len, self.users.iter(), |u| {
            Row::new(vec![
                Cell::from(format!("#{}", u.id)),
                Cell::from(safe(&u.email)),
                Cell::from(safe_opt(u.name.as_deref())),
                Cell::from(Line::from(u.credits.to_string()).right_aligned()),
                Cell::from(date(u.created_at)),
            ])
        });
    }
}
