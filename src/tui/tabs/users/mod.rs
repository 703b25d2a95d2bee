//! Tab 3, Users & credits: find a user as you type, open them to see the
//! balance, totals by type and the ledger (paged as you scroll), follow a
//! ledger entry's link, and adjust the balance with a reason.

mod adjust;
mod adjust_many;
mod detail;
mod reverse;
mod search;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Below, Copied, Handled, Tab, Ui};
use crate::domain::role::Action;
use crate::tui::change::ChangeDialog;
use crate::tui::command::{Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialogs, Event};
use crate::tui::keymap::{Allow, Bind, Hint, Key, Keymap};
use crate::tui::link::Link;

use detail::Detail;
use search::Search;

#[derive(Default)]
pub struct UsersTab {
    pub search: Search,
    /// The user opened from the search (Esc goes back to it).
    pub detail: Option<Detail>,
    /// Users opened before, by links: back returns to them.
    below: Below<Detail>,
    /// Over the user list: adjusting many balances from a file.
    dialogs: Dialogs,
    /// What the last adjust-many did.
    pub notice: Option<String>,
}

/// What a key does on the user list, besides the search's own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    AdjustMany,
}

const LIST_KEYS: Keymap<Act> =
    Keymap(&[
        Bind::new(&[Key::Char('M')], "M", "adjust many", Act::AdjustMany)
            .footer()
            .writes(Action::CreditsAdjust),
    ]);

impl UsersTab {
    fn event(&mut self, event: Option<Event>, ctx: &mut Ctx) {
        match event {
            Some(Event::Changed(notice)) => {
                self.notice = Some(notice);
                self.search.refresh(ctx);
            }
            Some(Event::Notice(notice)) => self.notice = Some(notice),
            Some(Event::Filter(_)) | None => {}
        }
    }
}

impl Tab for UsersTab {
    /// The first time, the newest users; shown again, what is shown is
    /// loaded again.
    fn activate(&mut self, ctx: &mut Ctx) {
        if self.search.started() {
            self.refresh(ctx);
        } else {
            self.search.start(ctx);
        }
    }

    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        if let Some(detail) = &mut self.detail {
            return match detail.key(key, ctx) {
                detail::KeyResult::Handled => Handled::Yes,
                detail::KeyResult::Ignored => Handled::No,
                // The app goes back (through the links followed).
                detail::KeyResult::Back => Handled::No,
            };
        }
        if self.dialogs.is_open() {
            let (handled, event) = self.dialogs.key(key, ctx);
            self.event(event, ctx);
            return handled;
        }
        match self.search.key(key, ctx) {
            search::KeyResult::Handled => Handled::Yes,
            search::KeyResult::Ignored => match LIST_KEYS.find(key, ctx.allow, |_| true) {
                Some(Act::AdjustMany) => {
                    let dialog = ChangeDialog::open(adjust_many::AdjustMany::default(), ctx);
                    self.dialogs.open(dialog);
                    self.notice = None;
                    Handled::Yes
                }
                None => Handled::No,
            },
            search::KeyResult::Open(user) => {
                self.detail = Some(Detail::open(user.id, Some(user), ctx));
                Handled::Yes
            }
        }
    }

    fn paste(&mut self, text: &str, ctx: &mut Ctx) -> Handled {
        let used = match &mut self.detail {
            Some(d) => d.paste(text),
            None if self.dialogs.is_open() => self.dialogs.paste(text),
            None => self.search.paste(text, ctx),
        };
        if used { Handled::Yes } else { Handled::No }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        match outcome {
            Outcome::Users(result) => self.search.reply(id, result, ctx),
            other => {
                let other = match self.dialogs.reply(id, other, ctx) {
                    Ok(event) => return self.event(event, ctx),
                    Err(other) => other,
                };
                if let Some(d) = &mut self.detail {
                    d.reply(id, other, ctx);
                }
            }
        }
    }

    fn open(&mut self, link: &Link, ctx: &mut Ctx) -> bool {
        let Link::User(id) = link else {
            return false;
        };
        if let Some(d) = &self.detail {
            d.close(ctx);
        }
        let known = self.search.user(*id).cloned();
        let page = Detail::open(*id, known, ctx);
        self.below.push(&mut self.detail, page);
        true
    }

    fn depth(&self) -> usize {
        self.below.depth(&self.detail)
    }

    fn back(&mut self, ctx: &mut Ctx) {
        if let Some(left) = self.below.pop(&mut self.detail) {
            left.close(ctx);
        }
        match &mut self.detail {
            Some(d) => d.refresh(ctx),
            None => self.search.refresh(ctx),
        }
    }

    /// The search shown, or the user's ledger with its filter.
    fn export(&self) -> Option<crate::tui::export::Export> {
        use crate::tui::export::{Export, Source};
        match &self.detail {
            Some(d) if d.modal() => None,
            Some(d) => Some(Export {
                list: "ledger",
                source: Source::Ledger(crate::db::credits::HistoryQuery {
                    user_id: d.user_id,
                    kind: d.filter.kind,
                    since: d.filter.since,
                    until: d.filter.until,
                    before: None,
                    limit: 0,
                }),
            }),
            None if self.search.editing() => None,
            None => Some(Export {
                list: "users",
                source: Source::Users {
                    text: self.search.shown_text().to_owned(),
                },
            }),
        }
    }

    fn copy(&self) -> Option<Copied> {
        let user = match &self.detail {
            Some(d) if d.modal() => return None,
            Some(d) => d.current_user(),
            None if self.search.editing() || self.dialogs.is_open() => return None,
            None => self.search.selected(),
        };
        user.map(|u| Copied::new("email", u.email.clone()))
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        match &mut self.detail {
            Some(d) => d.refresh(ctx),
            None => self.search.refresh(ctx),
        }
    }

    fn retry(&mut self, ctx: &mut Ctx) {
        self.search.retry(ctx);
        self.dialogs.retry(ctx);
        if let Some(d) = &mut self.detail {
            d.retry(ctx);
        }
    }

    fn modal(&self) -> bool {
        match &self.detail {
            Some(d) => d.modal(),
            None => self.search.editing() || self.dialogs.is_open(),
        }
    }

    fn unsaved(&self) -> Option<String> {
        self.detail
            .as_ref()
            .and_then(Detail::unsaved)
            .or_else(|| self.dialogs.unsaved())
    }

    fn busy(&self) -> bool {
        self.search.busy() || self.detail.as_ref().is_some_and(Detail::busy) || self.dialogs.busy()
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        match &self.detail {
            Some(d) => d.hints(allow),
            None => match self.dialogs.hints(allow) {
                Some(h) => h,
                None => {
                    let mut h = self.search.hints(allow);
                    if !self.search.editing() {
                        h.extend(LIST_KEYS.hints(allow, |_| true));
                    }
                    h
                }
            },
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.detail {
            Some(d) => d.render(frame, area, ui),
            None => {
                self.search.render(frame, area, ui);
                if let Some(n) = &self.notice
                    && area.height > 2
                {
                    let line = ratatui::text::Line::from(crate::tui::widgets::safe_styled(
                        n.lines().next().unwrap_or_default(),
                        ui.theme.success(),
                    ));
                    let at = Rect::new(
                        area.x + 2,
                        area.bottom() - 1,
                        area.width.saturating_sub(4),
                        1,
                    );
                    frame.render_widget(ratatui::widgets::Paragraph::new(line), at);
                }
                self.dialogs.render(frame, area, ui);
            }
        }
    }
}
