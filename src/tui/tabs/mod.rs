//! The tabs. Each is a private module with a struct implementing [`Tab`];
//! [`TabId`] lists them, in the order of the tab bar, and builds each one
//! ([`TabId::build`]); [`Tabs`] holds one of each. The modules are private,
//! so the compiler keeps the walls: a tab reaches another only through a
//! [`Link`] (`Msg::Open`), shared formatting through `tui::format`. To add a
//! tab see `src/tui/README.md`.

mod audit;
mod batches;
mod coupons;
mod dashboard;
mod gift_cards;
mod users;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::command::{Outcome, RequestId};
use super::ctx::Ctx;
use super::keymap::{Allow, Hint};
use super::link::Link;
use super::theme::Theme;

pub use super::change::pending_summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TabId {
    Coupons,
    GiftCards,
    Users,
    Batches,
    Audit,
    Dashboard,
}

impl TabId {
    /// In the order of the tab bar; the number key is the position + 1.
    pub const ALL: [TabId; 6] = [
        TabId::Coupons,
        TabId::GiftCards,
        TabId::Users,
        TabId::Batches,
        TabId::Audit,
        TabId::Dashboard,
    ];

    /// A new, empty tab of this kind.
    fn build(self) -> Box<dyn Tab> {
        match self {
            TabId::Coupons => Box::<coupons::CouponsTab>::default(),
            TabId::GiftCards => Box::<gift_cards::GiftCardsTab>::default(),
            TabId::Users => Box::<users::UsersTab>::default(),
            TabId::Batches => Box::<batches::BatchesTab>::default(),
            TabId::Audit => Box::<audit::AuditTab>::default(),
            TabId::Dashboard => Box::<dashboard::DashboardTab>::default(),
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            TabId::Coupons => "Coupons",
            TabId::GiftCards => "Gift cards",
            TabId::Users => "Users & credits",
            TabId::Batches => "Batches",
            TabId::Audit => "Audit",
            TabId::Dashboard => "Health",
        }
    }

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// `'1'` → Coupons ...
    pub fn from_digit(c: char) -> Option<TabId> {
        let n = c.to_digit(10)? as usize;
        Self::ALL.get(n.checked_sub(1)?).copied()
    }

    pub fn next(self) -> TabId {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    pub fn prev(self) -> TabId {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// The pages under a tab's top page (a detail opened by a link over
/// another one): `Esc`/`Backspace` comes back to them as they were, as a
/// browser's back button does.
pub(super) struct Below<T>(Vec<T>);

impl<T> Default for Below<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> Below<T> {
    /// Pages kept at most; the oldest go first.
    const MAX: usize = 32;

    /// `new` on top; what was on top waits below.
    pub fn push(&mut self, top: &mut Option<T>, new: T) {
        if let Some(old) = top.replace(new) {
            self.0.push(old);
            if self.0.len() > Self::MAX {
                self.0.remove(0);
            }
        }
    }

    /// Back one: returns the page left; the one below is on top again.
    pub fn pop(&mut self, top: &mut Option<T>) -> Option<T> {
        let left = top.take();
        *top = self.0.pop();
        left
    }

    /// Pages above the root: `top` and those below it.
    pub fn depth(&self, top: &Option<T>) -> usize {
        usize::from(top.is_some()) + self.0.len()
    }
}

/// What `c` copies from a screen: the selected row's main value (never a
/// full gift-card code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// For the status line: `code`, `email`, `batch id`.
    pub what: &'static str,
    pub value: String,
}

impl Copied {
    pub fn new(what: &'static str, value: impl Into<String>) -> Self {
        Self {
            what,
            value: value.into(),
        }
    }
}

/// Whether a tab used a key; an unused one falls through to the global keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Yes,
    No,
}

/// What a tab may read while drawing.
pub struct Ui<'a> {
    pub theme: &'a Theme,
    /// Advances with the clock; picks the spinner frame.
    pub tick: u64,
    pub now: DateTime<Utc>,
    pub allow: &'a Allow,
}

/// One tab. Handlers only change state and ask `ctx` for requests; `render`
/// only reads.
pub trait Tab {
    /// The tab became visible (also at start-up for the first tab): load
    /// what it shows if not loaded yet.
    fn activate(&mut self, _ctx: &mut Ctx) {}

    /// A key press while this tab is shown. Return `Handled::No` for keys it
    /// doesn't use, so the global ones (q, ?, 1-5, Tab) work.
    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled;

    /// Pasted text (bracketed paste), for the focused text field.
    fn paste(&mut self, _text: &str, _ctx: &mut Ctx) -> Handled {
        Handled::No
    }

    /// The answer to one of this tab's requests. Compare `id` with the
    /// request you wait for and ignore anything else (it is stale).
    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx);

    /// Pages shown over the tab's root (a detail; links followed): what
    /// `back` goes back through.
    fn depth(&self) -> usize {
        0
    }

    /// `Esc`/`Backspace` with nothing else to do: back one page, to the
    /// one below as it was (and loaded again).
    fn back(&mut self, _ctx: &mut Ctx) {}

    /// Show what `link` points to (the app has switched to this tab), as a
    /// page on top of what was shown, so `back` returns there. Return false
    /// if this tab can't.
    fn open(&mut self, _link: &Link, _ctx: &mut Ctx) -> bool {
        false
    }

    /// The clock moved while this tab is shown: a list loads again by
    /// itself when its [`Poll`](crate::tui::widgets::Poll) is due.
    fn tick(&mut self, _ctx: &mut Ctx) {}

    /// Whether the screen shown refreshes by itself (`p` pauses it).
    fn polls(&self) -> bool {
        false
    }

    /// `p`: pauses or resumes the refreshing.
    fn pause(&mut self) {}

    /// `c`: what the screen's selected row would copy, if anything.
    fn copy(&self) -> Option<Copied> {
        None
    }

    /// `R` (or F5): load again what is shown.
    fn refresh(&mut self, ctx: &mut Ctx) {
        self.retry(ctx);
    }

    /// The database is back: repeat the reads that failed (never a change).
    fn retry(&mut self, _ctx: &mut Ctx) {}

    /// A dialog, form or text field has the keys: number keys and Tab are
    /// the tab's, not tab switches.
    fn modal(&self) -> bool {
        false
    }

    /// What would be lost by quitting now, e.g. "the adjust form holds
    /// unsaved input"; the app asks before quitting.
    fn unsaved(&self) -> Option<String> {
        None
    }

    /// A request of this tab is on its way (the status line spins).
    fn busy(&self) -> bool {
        false
    }

    /// The keys of the current screen, for the footer and `?`: from the
    /// screen's keymap, filtered by `allow` and by what can be done now.
    fn hints(&self, allow: &Allow) -> Vec<Hint>;

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui);
}

/// One of each tab, in the order of [`TabId::ALL`].
pub struct Tabs(Vec<Box<dyn Tab>>);

impl Default for Tabs {
    fn default() -> Self {
        Self(TabId::ALL.iter().map(|t| t.build()).collect())
    }
}

impl Tabs {
    pub fn get(&self, id: TabId) -> &dyn Tab {
        self.0[id.index()].as_ref()
    }

    pub fn get_mut(&mut self, id: TabId) -> &mut dyn Tab {
        self.0[id.index()].as_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_cycling() {
        assert_eq!(TabId::from_digit('1'), Some(TabId::Coupons));
        assert_eq!(TabId::from_digit('5'), Some(TabId::Audit));
        assert_eq!(TabId::from_digit('0'), None);
        assert_eq!(TabId::from_digit('6'), Some(TabId::Dashboard));
        assert_eq!(TabId::from_digit('7'), None);
        assert_eq!(TabId::Audit.next(), TabId::Dashboard);
        assert_eq!(TabId::Dashboard.next(), TabId::Coupons);
        assert_eq!(TabId::Coupons.prev(), TabId::Dashboard);
    }
}
