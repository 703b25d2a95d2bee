//! One user: balance, totals by type, and the ledger read page by page as
//! the operator scrolls (a bounded window, see `widgets::paged`), with a
//! filter by type and dates, the entry detail with its links, and the
//! adjust dialog.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::adjust::Adjust;
use super::reverse::{Reverse, reversal_right};
use crate::db::credits::{Cursor, HistoryQuery, LedgerRow, Overview};
use crate::db::users::User;
use crate::domain::InvalidInput;
use crate::domain::amounts::parse_time;
use crate::domain::ledger::EntryType;
use crate::domain::role::Action;
use crate::domain::user_ref::UserRef;
use crate::tui::change::ChangeDialog;
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialogs, Event, Filter, FilterDialog, Record};
use crate::tui::format::{date, entry_label, exact, parse_entry_label, type_label, when};
use crate::tui::keymap::{Allow, Bind, ENTER, ESC, Hint, Key, Keymap, always};
use crate::tui::keys::nav;
use crate::tui::link::Link;
use crate::tui::tabs::Ui;
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    Fetch, Field, Form, PagedWindow, Received, fit, safe_opt, safe_owned, safe_styled, spinner,
};

/// Ledger entries per page.
pub const PAGE: i64 = 100;
/// Pages held at most: the window never holds more than PAGE * MAX_PAGES rows.
pub const MAX_PAGES: usize = 6;
/// Fetch the next page when the selection is this close to the window's edge.
const MARGIN: usize = 20;

pub(super) enum KeyResult {
    Handled,
    Ignored,
    /// Esc with nothing to cancel: back to the search.
    Back,
}

/// What a key does on a user's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Entry,
    /// Enter on an entry with a reversal link: to the other entry.
    Follow,
    /// The entry and its links, also on an entry whose Enter follows.
    Info,
    Adjust,
    /// Reverse the selected entry (its kind decides the right it needs).
    Reverse,
    Filter,
    /// Back to the entry a reversal link was followed from.
    JumpBack,
    Back,
}

const KEYS: Keymap<Act> = Keymap(&[
    Bind::new(ENTER, "Enter", "follow the reversal", Act::Follow).footer(),
    Bind::new(ENTER, "Enter", "entry & links", Act::Entry).footer(),
    Bind::new(&[Key::Char('i')], "i", "entry & links", Act::Info),
    Bind::new(&[Key::Char('a')], "a", "adjust", Act::Adjust)
        .footer()
        .writes(Action::CreditsAdjust),
    Bind::new(&[Key::Char('x')], "x", "reverse", Act::Reverse).footer(),
    Bind::new(
        &[Key::Char('f'), Key::Char('/')],
        "f /",
        "filter",
        Act::Filter,
    )
    .footer(),
    Bind::new(
        &[
            Key::Code(crossterm::event::KeyCode::Esc),
            Key::Code(crossterm::event::KeyCode::Backspace),
        ],
        "Esc",
        "back to the entry",
        Act::JumpBack,
    )
    .footer(),
    Bind::new(ESC, "Esc", "back", Act::Back).footer(),
]);

/// The ledger filter in force (`f` or `/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerFilter {
    pub kind: Option<EntryType>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl LedgerFilter {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = self.kind {
            parts.push(format!("type {}", entry_label(k)));
        }
        if let Some(t) = self.since {
            parts.push(format!("since {}", when(t)));
        }
        if let Some(t) = self.until {
            parts.push(format!("until {}", when(t)));
        }
        parts.join(", ")
    }
}

impl Filter for LedgerFilter {
    fn form(&self) -> Form {
        Form::new(
            "Filter the ledger",
            vec![
                Field::new(
                    "type",
                    "Type",
                    "blank for all: purchase, gift card, coupon, generation…",
                )
                .with_value(self.kind.map(entry_label).unwrap_or_default()),
                Field::new(
                    "since",
                    "Since",
                    "blank, 2026-01-02 or 2026-01-02 15:04 (UTC)",
                )
                .with_value(self.since.map(when).unwrap_or_default()),
                Field::new("until", "Until", "blank or a time (exclusive), UTC")
                    .with_value(self.until.map(when).unwrap_or_default()),
            ],
        )
    }

    /// Reads the form; every invalid field gets its message.
    fn parse(form: &Form, now: DateTime<Utc>) -> Result<Self, Vec<InvalidInput>> {
        let mut errors = Vec::new();
        let text = |name| form.value(name).trim();
        let kind = match text("type") {
            "" => None,
            t => parse_entry_label(t).map_err(|e| errors.push(e)).ok(),
        };
        let mut time = |name: &'static str| match text(name) {
            "" => None,
            t => parse_time(name, t, now).map_err(|e| errors.push(e)).ok(),
        };
        let since = time("since");
        let until = time("until");
        if let (Some(s), Some(u)) = (since, until)
            && u <= s
        {
            errors.push(InvalidInput::new("until", "must be after since"));
        }
        if errors.is_empty() {
            Ok(Self { kind, since, until })
        } else {
            Err(errors)
        }
    }
}

pub struct Detail {
    pub user_id: i32,
    /// What we know of the user: the search row until the overview arrives.
    pub user: Option<User>,
    pub overview: Option<Overview>,
    overview_pending: Option<RequestId>,
    overview_error: Option<String>,
    overview_failed: bool,
    pub ledger: PagedWindow<LedgerRow, Cursor>,
    /// Entries left by following a reversal link (Enter), nearest last:
    /// Esc goes back to them.
    jumps: Vec<i32>,
    pub filter: LedgerFilter,
    /// The limit of the ledger request on its way.
    limit: i64,
    /// The entry, the filter, the adjustment.
    dialogs: Dialogs,
    /// The last thing done here, e.g. the adjustment booked.
    pub notice: Option<String>,
}

impl Detail {
    /// Opens user `user_id` and asks for the overview and the first page.
    pub fn open(user_id: i32, user: Option<User>, ctx: &mut Ctx) -> Self {
        let mut d = Self {
            user_id,
            user,
            overview: None,
            overview_pending: None,
            overview_error: None,
            overview_failed: false,
            ledger: PagedWindow::new(MAX_PAGES, MARGIN, PAGE as usize, |r| r.entry.cursor()),
            jumps: Vec::new(),
            limit: PAGE,
            filter: LedgerFilter::default(),
            dialogs: Dialogs::default(),
            notice: None,
        };
        d.load_overview(ctx);
        d.load_ledger(Fetch::First, ctx);
        d
    }

    /// Leaving the user: stop what is loading.
    pub(super) fn close(&self, ctx: &mut Ctx) {
        ctx.cancel(self.overview_pending);
        ctx.cancel(self.ledger.pending());
    }

    fn load_overview(&mut self, ctx: &mut Ctx) {
        ctx.cancel(self.overview_pending.take());
        self.overview_pending = Some(ctx.request(Job::Overview {
            user: UserRef::Id(self.user_id),
        }));
        self.overview_error = None;
        self.overview_failed = false;
    }

    fn load_ledger(&mut self, fetch: Fetch<Cursor>, ctx: &mut Ctx) {
        self.limit = self.ledger.limit(fetch);
        let id = ctx.request(Job::Ledger(HistoryQuery {
            user_id: self.user_id,
            kind: self.filter.kind,
            since: self.filter.since,
            until: self.filter.until,
            before: fetch.before(),
            limit: self.limit,
        }));
        ctx.cancel(self.ledger.begin(id, fetch));
    }

    /// Loads the page the selection calls for, if any.
    fn more(&mut self, ctx: &mut Ctx) {
        if let Some(fetch) = self.ledger.wanted() {
            self.load_ledger(fetch, ctx);
        }
    }

    /// Loads the user again; the ledger in place when it can (the
    /// selection and scroll position stay).
    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.load_overview(ctx);
        self.load_ledger(self.ledger.refresh(), ctx);
    }

    pub(super) fn retry(&mut self, ctx: &mut Ctx) {
        if self.overview_failed {
            self.load_overview(ctx);
        }
        if let Some(fetch) = self.ledger.take_failed() {
            self.load_ledger(fetch, ctx);
        }
    }

    pub fn modal(&self) -> bool {
        self.dialogs.is_open()
    }

    pub fn busy(&self) -> bool {
        self.overview_pending.is_some() || self.ledger.is_loading() || self.dialogs.busy()
    }

    pub fn unsaved(&self) -> Option<String> {
        self.dialogs.unsaved()
    }

    /// The freshest known user row.
    pub fn current_user(&self) -> Option<&User> {
        self.overview
            .as_ref()
            .map(|o| &o.user)
            .or(self.user.as_ref())
    }

    pub(super) fn paste(&mut self, text: &str) -> bool {
        self.dialogs.paste(text)
    }

    fn event(&mut self, event: Option<Event>, ctx: &mut Ctx) {
        match event {
            Some(Event::Changed(notice)) => {
                self.notice = Some(notice);
                self.refresh(ctx);
            }
            Some(Event::Notice(notice)) => self.notice = Some(notice),
            Some(Event::Filter(f)) => {
                if let Ok(filter) = f.downcast::<LedgerFilter>()
                    && *filter != self.filter
                {
                    self.filter = *filter;
                    self.ledger.nav.reset();
                    self.load_ledger(Fetch::First, ctx);
                }
            }
            None => {}
        }
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        if self.dialogs.is_open() {
            let (handled, event) = self.dialogs.key(key, ctx);
            self.event(event, ctx);
            return match handled {
                crate::tui::tabs::Handled::Yes => KeyResult::Handled,
                crate::tui::tabs::Handled::No => KeyResult::Ignored,
            };
        }
        if let Some(n) = nav(key) {
            if let Some(fetch) = self.ledger.apply(n) {
                self.load_ledger(fetch, ctx);
            }
            self.more(ctx);
            return KeyResult::Handled;
        }
        let allow = ctx.allow;
        match KEYS.find(key, allow, |a| self.offers(a, allow)) {
            Some(Act::Follow) => {
                if let Some(to) = self.ledger.selected().and_then(link_of)
                    && let Some(from) = self.ledger.selected().map(|r| r.entry.id)
                {
                    if self.select_entry(to) {
                        self.jumps.push(from);
                    } else {
                        self.notice = Some(format!(
                            "entry #{to} is outside the pages loaded: scroll to it, or filter by date"
                        ));
                    }
                }
                KeyResult::Handled
            }
            Some(Act::Reverse) => {
                if let Some(row) = self.ledger.selected().cloned() {
                    let dialog = ChangeDialog::open(Reverse::new(self.user_id, row), ctx);
                    self.dialogs.open(dialog);
                    self.notice = None;
                }
                KeyResult::Handled
            }
            Some(Act::JumpBack) => {
                if let Some(back) = self.jumps.pop() {
                    self.select_entry(back);
                }
                KeyResult::Handled
            }
            Some(Act::Entry | Act::Info) => {
                if let Some(r) = self.ledger.selected() {
                    let title = format!("Ledger entry #{}", r.entry.id);
                    let links = Link::from_ledger(&r.entry);
                    let r = r.clone();
                    let record = Record::new(title, move |theme| entry_lines(&r, theme), links);
                    self.dialogs.open(record);
                }
                KeyResult::Handled
            }
            Some(Act::Filter) => {
                self.dialogs.open(FilterDialog::new(&self.filter));
                KeyResult::Handled
            }
            Some(Act::Adjust) => {
                if let Some(user) = self.current_user().cloned() {
                    let dialog = ChangeDialog::open(Adjust::new(user, ctx), ctx);
                    self.dialogs.open(dialog);
                    self.notice = None;
                }
                KeyResult::Handled
            }
            Some(Act::Back) => {
                let loading = self.overview_pending.is_some() || self.ledger.is_loading();
                if !loading {
                    return KeyResult::Back;
                }
                ctx.cancel(self.overview_pending.take());
                ctx.cancel(self.ledger.cancel());
                KeyResult::Handled
            }
            None => KeyResult::Ignored,
        }
    }

    pub(super) fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        let outcome = match self.dialogs.reply(id, outcome, ctx) {
            Ok(event) => return self.event(event, ctx),
            Err(outcome) => outcome,
        };
        match outcome {
            Outcome::Overview(result) => {
                if self.overview_pending != Some(id) {
                    return;
                }
                self.overview_pending = None;
                match result {
                    Ok(o) => {
                        self.user = Some(o.user.clone());
                        self.overview = Some(o);
                    }
                    Err(e) => {
                        self.overview_error = Some(e.to_string());
                        self.overview_failed = true;
                    }
                }
            }
            Outcome::Ledger(result) => {
                let page = result
                    .map(|p| (p.entries, p.next))
                    .map_err(|e| e.to_string());
                match self.ledger.receive(id, page) {
                    Received::Applied => self.more(ctx),
                    Received::Restart => {
                        self.ledger.nav.reset();
                        self.load_ledger(Fetch::First, ctx);
                    }
                    Received::Stale | Received::Failed => {}
                }
            }
            _ => {}
        }
    }

    pub(super) fn hints(&self, allow: &Allow) -> Vec<Hint> {
        self.dialogs
            .hints(allow)
            .unwrap_or_else(|| KEYS.hints(allow, |a| self.offers(a, allow)))
    }

    /// What the screen offers now: following a reversal link only on an
    /// entry that has one, reversing only an entry that can be reversed,
    /// is not yet, and whose right the session has.
    fn offers(&self, act: Act, allow: &Allow) -> bool {
        let row = self.ledger.selected();
        match act {
            Act::Follow => row.and_then(link_of).is_some(),
            Act::JumpBack => !self.jumps.is_empty(),
            Act::Back => self.jumps.is_empty(),
            Act::Entry => row.and_then(link_of).is_none(),
            Act::Reverse => row
                .and_then(reversal_right)
                .is_some_and(|a| allow.permits(a)),
            _ => always(act),
        }
    }

    /// Selects entry `id` if it is in the window.
    fn select_entry(&mut self, id: i32) -> bool {
        let found = self.ledger.iter().position(|r| r.entry.id == id);
        match found {
            Some(i) => {
                let len = self.ledger.len();
                self.ledger.nav.select(i, len);
                true
            }
            None => false,
        }
    }

    pub(super) fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let header_lines = self.header_lines(ui, usize::from(area.width.saturating_sub(2)));
        let header_height = u16::try_from(header_lines.len() + 2)
            .unwrap_or(u16::MAX)
            .min(area.height / 2);
        let [header, ledger] =
            Layout::vertical([Constraint::Length(header_height), Constraint::Fill(1)]).areas(area);
        let title = match self.current_user() {
            Some(u) => Line::from(vec![
                Span::raw(format!(" #{} ", u.id)),
                safe_styled(&u.email, ui.theme.title()),
                match &u.name {
                    Some(n) => safe_owned(format!(" — {n} ")),
                    None => Span::raw(" "),
                },
            ]),
            None => Line::raw(format!(" user #{} ", self.user_id)),
        };
        let block = Block::bordered()
            .border_style(ui.theme.border())
            .title(title);
        frame.render_widget(Paragraph::new(header_lines).block(block), header);
        self.render_ledger(frame, ledger, ui);
        self.dialogs.render(frame, area, ui);
    }

    fn header_lines(&self, ui: &Ui, width: usize) -> Vec<Line<'_>> {
        let theme = ui.theme;
        let mut lines = Vec::new();
        let balance_line = match (&self.overview, self.current_user()) {
            (Some(o), _) => {
                let mut spans = vec![
                    Span::raw("balance "),
                    Span::styled(o.user.credits.to_string(), theme.title()),
                    Span::raw(" credits   "),
                ];
                if o.ledger_total == i64::from(o.user.credits) {
                    spans.push(Span::styled(
                        format!("ledger total {} ✓", o.ledger_total),
                        theme.dim(),
                    ));
                } else {
                    spans.push(Span::styled(
                        format!("ledger total {} ≠ balance", o.ledger_total),
                        theme.error(),
                    ));
                }
                spans.push(Span::styled(
                    format!("   user since {}", date(o.user.created_at)),
                    theme.dim(),
                ));
                Line::from(spans)
            }
            (None, Some(u)) => Line::from(vec![
                Span::raw("balance "),
                Span::styled(u.credits.to_string(), theme.title()),
                Span::raw(" credits"),
            ]),
            (None, None) => Line::raw(""),
        };
        lines.push(balance_line);
        if let Some(e) = &self.overview_error {
            lines.push(Line::from(safe_styled(e, theme.error())));
        } else if self.overview_pending.is_some() {
            lines.push(Line::from(Span::styled(
                spinner::loading(ui.tick, "loading totals…"),
                theme.warning(),
            )));
        } else if let Some(o) = &self.overview {
            // One chunk per type, wrapped between chunks (never inside one).
            let mut line: Vec<Span> = Vec::new();
            let mut used = 0;
            for t in &o.totals {
                let chunk = vec![
                    type_label(&t.kind).style(theme.dim()),
                    Span::raw(" "),
                    Span::styled(format!("{:+}", t.total), theme.amount(t.total)),
                    Span::styled(format!(" ({})", t.entries), theme.dim()),
                ];
                let w: usize = chunk.iter().map(Span::width).sum();
                if used > 0 && used + 2 + w > width {
                    lines.push(Line::from(std::mem::take(&mut line)));
                    used = 0;
                }
                if used > 0 {
                    line.push(Span::raw("  "));
                    used += 2;
                }
                line.extend(chunk);
                used += w;
            }
            if o.totals.is_empty() {
                line.push(Span::styled("no ledger entries", theme.dim()));
            }
            lines.push(Line::from(line));
        }
        if let Some(n) = &self.notice {
            lines.push(Line::from(safe_styled(n, theme.success())));
        }
        lines
    }

    fn render_ledger(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let mut title = vec![Span::raw(" Ledger")];
        let filter = self.filter.describe();
        if !filter.is_empty() {
            title.push(Span::styled(format!(" · {filter}"), theme.warning()));
        }
        title.push(Span::raw(" "));
        let w = &self.ledger;
        let status = if let Some(e) = w.error() {
            Span::styled(
                fit(&format!(" {e} — R to retry "), area.width),
                theme.error(),
            )
        } else if w.is_loading() {
            Span::styled(
                format!(" {} ", spinner::loading(ui.tick, "loading…")),
                theme.warning(),
            )
        } else if w.is_empty() {
            Span::raw("")
        } else {
            let first = w.rows_above() + 1;
            let last = w.rows_above() + w.len();
            let more = if w.has_older() { "+" } else { "" };
            Span::raw(format!(" {first}–{last}{more} "))
        };
        let block = Block::bordered()
            .border_style(theme.border())
            .title(Line::from(title))
            .title_bottom(Line::from(status).right_aligned());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.is_empty() {
            return;
        }
        if w.is_empty() {
            let text = if w.loaded() && w.error().is_none() {
                if self.filter == LedgerFilter::default() {
                    "no ledger entries"
                } else {
                    "no entries match the filter"
                }
            } else {
                ""
            };
            frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
            return;
        }
        let height = usize::from(inner.height.saturating_sub(1));
        let from = w.nav.visible_from(w.len(), height);
        let rows = w.iter().skip(from).take(height).map(|r| {
            let e = &r.entry;
            let mut links = e.links();
            let reversal = match (r.reverses_entry_id, r.reversed_by_entry_id) {
                (Some(k), _) => Some(format!("reverses #{k}")),
                (None, Some(m)) => Some(format!("reversed by #{m}")),
                (None, None) => None,
            };
            if let Some(rev) = reversal {
                links = if links.is_empty() {
                    rev
                } else {
                    format!("{rev}; {links}")
                };
            }
            Row::new(vec![
                Cell::from(when(e.created_at)),
                Cell::from(
                    Line::from(Span::styled(
                        format!("{:+}", e.amount),
                        theme.amount(i64::from(e.amount)),
                    ))
                    .right_aligned(),
                ),
                Cell::from(Line::from(r.balance_after.to_string()).right_aligned()),
                Cell::from(type_label(&e.kind)),
                Cell::from(safe_opt(e.description.as_deref())),
                Cell::from(safe_owned(links)),
            ])
        });
        let header = Row::new(vec![
            Cell::from("when"),
            Cell::from(Line::from("amount").right_aligned()),
            Cell::from(Line::from("balance").right_aligned()),
            Cell::from("type"),
            Cell::from("description"),
            Cell::from("links"),
        ])
        .style(theme.header());
        let table = Table::new(
            rows,
            [
                Constraint::Length(16),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(10),
                Constraint::Fill(3),
                Constraint::Fill(2),
            ],
        )
        .header(header)
        .row_highlight_style(theme.selected());
        let mut state =
            TableState::new().with_selected(Some(w.nav.selected().saturating_sub(from)));
        frame.render_stateful_widget(table, inner, &mut state);
    }
}

/// The other side of an entry's reversal link, if it has one.
fn link_of(r: &LedgerRow) -> Option<i32> {
    r.reverses_entry_id.or(r.reversed_by_entry_id)
}

/// One ledger entry, for its dialog (the links are listed by it).
fn entry_lines(r: &LedgerRow, theme: &Theme) -> Vec<Line<'static>> {
    let e = &r.entry;
    let field = |label: &'static str, value: Span<'static>| {
        Line::from(vec![
            Span::styled(format!("{label:>13}  "), theme.dim()),
            value,
        ])
    };
    let mut lines = vec![
        field("when", Span::raw(exact(e.created_at))),
        field(
            "amount",
            Span::styled(format!("{:+}", e.amount), theme.amount(i64::from(e.amount))),
        ),
        field("balance after", Span::raw(r.balance_after.to_string())),
        field("type", Span::raw(type_label(&e.kind).content.into_owned())),
        field(
            "description",
            safe_owned(e.description.clone().unwrap_or_else(|| "-".into())),
        ),
    ];
    for (label, id) in [
        ("reverses", r.reverses_entry_id),
        ("reversed by", r.reversed_by_entry_id),
        ("transaction", e.transaction_id),
        ("photo", e.photo_id),
        ("model", e.model_id),
    ] {
        if let Some(id) = id {
            lines.push(field(label, Span::raw(format!("#{id}"))));
        }
    }
    if e.coupon_id.is_none() && e.gift_card_id.is_none() && e.batch_id.is_none() {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            "no coupon, gift card or batch linked",
            theme.dim(),
        )));
    }
    lines
}
