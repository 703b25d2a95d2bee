//! The coupon list: newest first, the ones redeemable now or all of them
//! (`a`), narrowed as you type (`/`: a piece of the code or description),
//! like `coupons list [--all] [--search]`.

use chrono::{DateTime, Utc};

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row};

use super::{short_type, short_validity, short_value, status_style};
use crate::db::coupons::{Coupon, CouponFilter};
use crate::domain::role::Action;
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::keymap::{Allow, Bind, ENTER, Hint, Key, Keymap};
use crate::tui::keys::nav;
use crate::tui::tabs::Ui;
use crate::tui::widgets::search::{SearchField, Typed, clear_key, search_key};
use crate::tui::widgets::{
    ListNav, ListTable, Poll, fit, load_status, render_empty, safe, safe_opt, safe_owned,
};

/// Coupons shown at most; a longer list means "type more".
pub const LIMIT: i64 = 500;
/// From this width the list shows validity to the minute and descriptions.
const WIDE: u16 = 120;

/// What a key does on the coupon list (the changes act on the selected
/// coupon; the tab carries them out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Act {
    Open,
    Search,
    All,
    Valid,
    New,
    Deactivate,
    Redeem,
    Clear,
}

pub(super) const KEYS: Keymap<Act> = Keymap(&[
    Bind::new(ENTER, "Enter", "open", Act::Open).footer(),
    search_key(Act::Search),
    Bind::new(&[Key::Char('a')], "a", "all", Act::All).footer(),
    Bind::new(&[Key::Char('a')], "a", "valid", Act::Valid).footer(),
    Bind::new(&[Key::Char('n')], "n", "new", Act::New)
        .footer()
        .writes(Action::CouponCreate),
    Bind::new(&[Key::Char('d')], "d", "deactivate", Act::Deactivate)
        .footer()
        .writes(Action::CouponDeactivate),
    Bind::new(&[Key::Char('r')], "r", "redeem", Act::Redeem)
        .footer()
        .writes(Action::CouponRedeem),
    clear_key(Act::Clear),
]);

pub(super) enum KeyResult {
    Handled,
    Ignored,
    Open(Coupon),
    /// A change for the tab to open (on the selected coupon).
    Change(Act),
}

/// What a list shows: the text searched for and whether all coupons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Query {
    text: String,
    all: bool,
}

#[derive(Default)]
pub struct CouponList {
    search: SearchField,
    /// `a`: every coupon, not only those redeemable now.
    pub all: bool,
    coupons: Vec<Coupon>,
    pub nav: ListNav,
    /// The newest request on its way (older ones were cancelled).
    pending: Option<RequestId>,
    asked: Query,
    shown: Option<Query>,
    error: Option<String>,
    failed: bool,
    started: bool,
    poll: Poll,
}

impl CouponList {
    pub fn editing(&self) -> bool {
        self.search.editing
    }

    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    pub fn selected(&self) -> Option<&Coupon> {
        self.coupons.get(self.nav.selected())
    }

    pub fn coupon(&self, id: i32) -> Option<&Coupon> {
        self.coupons.iter().find(|c| c.id == id)
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// Loads again by itself when due (shown, not typing, nothing loading).
    pub(super) fn tick(&mut self, ctx: &mut Ctx) {
        if self.poll.due(ctx.now) && self.pending.is_none() && !self.search.editing {
            self.load(ctx);
        }
    }

    pub(super) fn pause(&mut self) {
        self.poll.toggle();
    }

    /// First time shown: list what is redeemable now.
    pub(super) fn start(&mut self, ctx: &mut Ctx) {
        if !self.started {
            self.started = true;
            self.load(ctx);
        }
    }

    /// Asks for the current query now, replacing (cancelling) the request
    /// not answered yet (on the server too): only the newest one matters.
    fn load(&mut self, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.asked = Query {
            text: self.search.value().trim().to_owned(),
            all: self.all,
        };
        let job = Job::Coupons(CouponFilter {
            all: self.asked.all,
            search: Some(self.asked.text.clone()).filter(|t| !t.is_empty()),
            limit: LIMIT,
        });
        self.pending = Some(ctx.request(job));
        self.error = None;
        self.failed = false;
    }

    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.started = true;
        self.load(ctx);
    }

    /// The filter of the list shown (`e` exports it).
    pub(super) fn shown_filter(&self) -> CouponFilter {
        let q = self.shown.as_ref().unwrap_or(&self.asked);
        CouponFilter {
            all: q.all,
            search: Some(q.text.clone()).filter(|t| !t.is_empty()),
            limit: LIMIT,
        }
    }

    pub(super) fn retry(&mut self, ctx: &mut Ctx) {
        if self.failed {
            self.load(ctx);
        }
    }

    pub(super) fn paste(&mut self, text: &str, ctx: &mut Ctx) -> bool {
        if !self.search.paste(text) {
            return false;
        }
        self.load(ctx);
        true
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        if self.search.editing {
            if let Typed::Changed = self.search.key(key) {
                self.load(ctx);
            }
            return KeyResult::Handled;
        }
        if let Some(n) = nav(key) {
            self.nav.apply(n, self.coupons.len());
            return KeyResult::Handled;
        }
        match KEYS.find(key, ctx.allow, |a| self.offers(a)) {
            Some(Act::Search) => {
                self.search.editing = true;
                KeyResult::Handled
            }
            Some(Act::All | Act::Valid) => {
                self.all = !self.all;
                self.load(ctx);
                KeyResult::Handled
            }
            Some(Act::Open) => match self.selected() {
                Some(c) => KeyResult::Open(c.clone()),
                None => KeyResult::Handled,
            },
            Some(Act::Clear) if self.pending.is_some() => {
                ctx.cancel(self.pending.take());
                KeyResult::Handled
            }
            Some(Act::Clear) if !self.search.value().is_empty() => {
                self.search.input.reset();
                self.load(ctx);
                KeyResult::Handled
            }
            Some(act @ (Act::New | Act::Deactivate | Act::Redeem)) => KeyResult::Change(act),
            Some(Act::Clear) | None => KeyResult::Ignored,
        }
    }

    /// What the list can do now.
    fn offers(&self, act: Act) -> bool {
        match act {
            Act::All => !self.all,
            Act::Valid => self.all,
            Act::Deactivate | Act::Redeem => self.selected().is_some_and(|c| super::can(act, c)),
            _ => true,
        }
    }

    pub(super) fn hints(&self, allow: &Allow) -> Vec<Hint> {
        if self.search.editing {
            return crate::tui::widgets::search::TYPING_KEYS.hints(allow, |_| true);
        }
        KEYS.hints(allow, |a| self.offers(a))
    }

    pub(super) fn reply(&mut self, id: RequestId, result: Result<Vec<Coupon>>, now: DateTime<Utc>) {
        if self.pending != Some(id) {
            return; // an older request: its answer no longer matters
        }
        self.pending = None;
        match result {
            Ok(coupons) => {
                self.poll.loaded(now);
                let same = self.shown.as_ref() == Some(&self.asked);
                // Keep the same coupon selected when the list is reloaded.
                let keep = self.selected().map(|c| c.id);
                self.coupons = coupons;
                self.shown = Some(self.asked.clone());
                match keep.and_then(|id| self.coupons.iter().position(|c| c.id == id)) {
                    Some(i) if same => self.nav.select(i, self.coupons.len()),
                    _ if same => {
                        let i = self.nav.selected();
                        self.nav.select(i, self.coupons.len());
                    }
                    _ => self.nav.reset(),
                }
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.failed = true;
            }
        }
    }

    /// The list with its search line; `notice` is the last change made.
    pub(super) fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui, notice: Option<&str>) {
        let theme = ui.theme;
        let [search_row, list] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        self.search.render(
            frame,
            search_row,
            theme,
            " Search: ",
            "press / to search codes and descriptions, a for all coupons",
            None,
        );

        let status = load_status(
            self.error.as_deref(),
            self.pending.is_some(),
            "loading…",
            list.width,
            theme,
            ui.tick,
        )
        .unwrap_or_else(|| {
            if let Some(n) = notice {
                return safe_owned(fit(&format!(" {n} "), list.width)).style(theme.success());
            }
            if self.shown.is_none() {
                return Span::raw("");
            }
            let n = self.coupons.len();
            let more = if n as i64 >= LIMIT {
                " (type more to narrow)"
            } else {
                ""
            };
            let plural = if n == 1 { "" } else { "s" };
            Span::raw(fit(&format!(" {n} coupon{plural}{more} "), list.width))
        });
        let which = if self.all {
            " All coupons"
        } else {
            " Coupons redeemable now"
        };
        let mut title = vec![Span::raw(which)];
        if let Some(q) = self.shown.as_ref().filter(|q| !q.text.is_empty()) {
            title.push(Span::raw(" matching “"));
            title.push(safe(&q.text));
            title.push(Span::raw("”"));
        }
        if self.poll.paused() {
            title.push(Span::styled(" · paused (p)", theme.warning()));
        }
        title.push(Span::raw(" "));
        let block = Block::bordered()
            .border_style(theme.border())
            .title(Line::from(title))
            .title_bottom(Line::from(status).right_aligned());
        let inner = block.inner(list);
        frame.render_widget(block, list);
        if inner.is_empty() {
            return;
        }
        if self.coupons.is_empty() {
            let text = match (&self.shown, self.pending) {
                (_, Some(_)) | (None, _) => "",
                (Some(q), None) if q.text.is_empty() && !q.all => {
                    "no coupon is redeemable now — a shows all coupons"
                }
                (Some(q), None) if q.text.is_empty() => "no coupons yet — n creates one",
                (Some(_), None) => "no coupon matches",
            };
            render_empty(frame, inner, theme, text);
            return;
        }
        let wide = inner.width >= WIDE;
        let (code_w, validity_w) = column_widths(
            inner.width,
            wide,
            self.coupons.iter().map(|c| safe(&c.code).width()).max(),
        );
        let mut table = ListTable::new(theme)
            .column("code", Constraint::Length(code_w))
            .column("type", Constraint::Length(7))
            .column(Line::from("value").right_aligned(), Constraint::Length(10))
            .column(
                Line::from("used/max").right_aligned(),
                Constraint::Length(11),
            )
            .column("validity", Constraint::Length(validity_w))
            .column("state", Constraint::Length(9));
        if wide {
            table = table.column("description", Constraint::Fill(2));
        }
        let len = self.coupons.len();
        table.render(frame, inner, &self.nav, len, self.coupons.iter(), |c| {
            let status = c.status(ui.now);
            let mut cells = vec![
                Cell::from(safe(&c.code)),
                Cell::from(short_type(&c.discount_type)),
                Cell::from(Line::from(short_value(c)).right_aligned()),
                Cell::from(Line::from(c.usage_display()).right_aligned()),
                Cell::from(if wide {
                    c.validity_display()
                } else {
                    short_validity(c, ui.now)
                }),
                Cell::from(Span::styled(status.as_str(), status_style(status, theme))),
            ];
            if wide {
                cells.push(Cell::from(safe_opt(c.description.as_deref())));
            }
            Row::new(cells)
        });
    }
}

/// The code and validity columns' widths: a code is never cut (it names
/// the coupon), the validity gives way first; the columns between them
/// keep their widths. The code takes what is left when codes are short.
fn column_widths(width: u16, wide: bool, widest_code: Option<usize>) -> (u16, u16) {
    // type, value, used/max, state, and a space between columns.
    let fixed = 7 + 10 + 11 + 9 + if wide { 6 } else { 5 };
    let validity = if wide { 36 } else { 16 };
    let code = u16::try_from(widest_code.unwrap_or(0))
        .unwrap_or(u16::MAX)
        .max(4);
    if wide {
        // The description takes the rest.
        let room = width.saturating_sub(fixed + validity);
        return (code.max(32).min(room.max(4)), validity);
    }
    let room = width.saturating_sub(fixed);
    if code + validity <= room {
        (room - validity, validity)
    } else {
        let code = code.min(room);
        (code, room - code)
    }
}
