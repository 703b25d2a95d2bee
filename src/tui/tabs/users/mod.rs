//! Tab 3, Users & credits: find a user as you type, open them to see the
//! balance, totals by type and the ledger (paged as you scroll), follow a
//! ledger entry's link, and adjust the balance with a reason.

mod adjust;
mod detail;
mod search;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Below, Copied, Handled, Tab, Ui};
use crate::tui::command::{Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::{Allow, Hint};
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
        match self.search.key(key, ctx) {
            search::KeyResult::Handled => Handled::Yes,
            search::KeyResult::Ignored => Handled::No,
            search::KeyResult::Open(user) => {
                self.detail = Some(Detail::open(user.id, Some(user), ctx));
                Handled::Yes
            }
        }
    }

    fn paste(&mut self, text: &str, _ctx: &mut Ctx) -> Handled {
        let used = match &mut self.detail {
            Some(d) => d.paste(text),
            None => self.search.paste(text),
        };
        if used { Handled::Yes } else { Handled::No }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        match outcome {
            Outcome::Users(result) => self.search.reply(id, result, ctx),
            other => {
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
            None if self.search.editing() => return None,
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
        if let Some(d) = &mut self.detail {
            d.retry(ctx);
        }
    }

    fn modal(&self) -> bool {
        match &self.detail {
            Some(d) => d.modal(),
            None => self.search.editing(),
        }
    }

    fn unsaved(&self) -> Option<String> {
        self.detail.as_ref().and_then(Detail::unsaved)
    }

    fn busy(&self) -> bool {
        self.search.busy() || self.detail.as_ref().is_some_and(Detail::busy)
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        match &self.detail {
            Some(d) => d.hints(allow),
            None => self.search.hints(allow),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.detail {
            Some(d) => d.render(frame, area, ui),
            None => self.search.render(frame, area, ui),
        }
    }
}
