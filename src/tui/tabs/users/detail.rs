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

use super::adjust::{AdjustDialog, summary};
use crate::db::credits::{Cursor, HistoryQuery, LedgerEntry, Overview};
use crate::db::users::User;
use crate::domain::InvalidInput;
use crate::domain::amounts::parse_time;
use crate::domain::ledger::EntryType;
use crate::domain::role::Action;
use crate::domain::user_ref::UserRef;
use crate::tui::app::Msg;
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::format::{date, exact, type_label, when};
use crate::tui::keymap::{Allow, Bind, ENTER, ESC, Hint, Key, Keymap, always, key_line};
use crate::tui::keys::nav;
use crate::tui::link::Link;
use crate::tui::tabs::Ui;
use crate::tui::widgets::popup::message;
use crate::tui::widgets::{
    DialogKey, Fetch, Field, Form, FormAction, PagedWindow, Received, fit, safe_opt, safe_owned,
    safe_styled, spinner,
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
    Adjust,
    Filter,
    Back,
}

const KEYS: Keymap<Act> = Keymap(&[
    Bind::new(ENTER, "Enter", "entry & links", Act::Entry).footer(),
    Bind::new(&[Key::Char('a')], "a", "adjust", Act::Adjust)
        .footer()
        .writes(Action::CreditsAdjust),
    Bind::new(
        &[Key::Char('f'), Key::Char('/')],
        "f /",
        "filter",
        Act::Filter,
    )
    .footer(),
    Bind::new(ESC, "Esc", "back", Act::Back).footer(),
]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryAct {
    Open,
    Choose,
    Close,
}

const ENTRY_KEYS: Keymap<EntryAct> = Keymap(&[
    Bind::new(
        &[Key::Code(crossterm::event::KeyCode::Enter), Key::Char('o')],
        "Enter",
        "open link",
        EntryAct::Open,
    )
    .footer(),
    Bind::new(&[], "↑↓", "choose link", EntryAct::Choose).footer(),
    Bind::new(ESC, "Esc", "close", EntryAct::Close).footer(),
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
            parts.push(format!("type {k}"));
        }
        if let Some(t) = self.since {
            parts.push(format!("since {}", when(t)));
        }
        if let Some(t) = self.until {
            parts.push(format!("until {}", when(t)));
        }
        parts.join(", ")
    }

    fn form(&self) -> Form {
        let mut form = Form::new(
            "Filter the ledger",
            vec![
                Field::new(
                    "type",
                    "Type",
                    "blank for all: purchase, gift_card, coupon, generation…",
                )
                .with_value(self.kind.map(|k| k.as_str()).unwrap_or_default()),
                Field::new(
                    "since",
                    "Since",
                    "blank, 2026-01-02 or 2026-01-02 15:04 (UTC)",
                )
                .with_value(self.since.map(when).unwrap_or_default()),
                Field::new("until", "Until", "blank or a time (exclusive), UTC")
                    .with_value(self.until.map(when).unwrap_or_default()),
            ],
        );
        form.keys = crate::tui::widgets::form::FILTER_KEYS;
        form
    }

    /// Reads the form; every invalid field gets its message.
    fn parse(form: &Form, now: DateTime<Utc>) -> Result<Self, Vec<InvalidInput>> {
        let mut errors = Vec::new();
        let text = |name| form.value(name).trim();
        let kind = match text("type") {
            "" => None,
            t => EntryType::parse(t).map_err(|e| errors.push(e)).ok(),
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

/// A dialog over the user screen.
pub enum Modal {
    /// One ledger entry and its links (the selected one opens on Enter).
    Entry {
        entry: Box<LedgerEntry>,
        links: Vec<Link>,
        selected: usize,
    },
    Filter(Form),
    Adjust(Box<AdjustDialog>),
}

pub struct Detail {
    pub user_id: i32,
    /// What we know of the user: the search row until the overview arrives.
    pub user: Option<User>,
    pub overview: Option<Overview>,
    overview_pending: Option<RequestId>,
    overview_error: Option<String>,
    overview_failed: bool,
    pub ledger: PagedWindow<LedgerEntry, Cursor>,
    pub filter: LedgerFilter,
    pub modal: Option<Modal>,
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
            ledger: PagedWindow::new(MAX_PAGES, MARGIN),
            filter: LedgerFilter::default(),
            modal: None,
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
        let id = ctx.request(Job::History(HistoryQuery {
            user_id: self.user_id,
            kind: self.filter.kind,
            since: self.filter.since,
            until: self.filter.until,
            before: fetch.before(),
            limit: PAGE,
        }));
        ctx.cancel(self.ledger.begin(id, fetch));
    }

    /// Loads the page the selection calls for, if any.
    fn more(&mut self, ctx: &mut Ctx) {
        if let Some(fetch) = self.ledger.wanted() {
            self.load_ledger(fetch, ctx);
        }
    }

    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.load_overview(ctx);
        self.load_ledger(Fetch::First, ctx);
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
        self.modal.is_some()
    }

    pub fn busy(&self) -> bool {
        self.overview_pending.is_some()
            || self.ledger.is_loading()
            || matches!(&self.modal, Some(Modal::Adjust(a)) if a.in_flight().is_some())
    }

    pub fn unsaved(&self) -> Option<&'static str> {
        match &self.modal {
            Some(Modal::Adjust(a)) if a.in_flight().is_some() => {
                Some("An adjustment is being applied")
            }
            Some(Modal::Adjust(a)) if a.confirm.is_some() || a.is_dirty() => {
                Some("The adjust form holds input not applied")
            }
            _ => None,
        }
    }

    /// The freshest known user row.
    pub fn current_user(&self) -> Option<&User> {
        self.overview
            .as_ref()
            .map(|o| &o.user)
            .or(self.user.as_ref())
    }

    pub(super) fn paste(&mut self, text: &str) -> bool {
        match &mut self.modal {
            Some(Modal::Filter(form)) => form.paste(text),
            Some(Modal::Adjust(a)) => a.paste(text),
            _ => return false,
        }
        true
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        if self.modal.is_some() {
            return self.modal_key(key, ctx);
        }
        if let Some(n) = nav(key) {
            if let Some(fetch) = self.ledger.apply(n) {
                self.load_ledger(fetch, ctx);
            }
            self.more(ctx);
            return KeyResult::Handled;
        }
        match KEYS.find(key, ctx.allow, always) {
            Some(Act::Entry) => {
                if let Some(entry) = self.ledger.selected() {
                    self.modal = Some(Modal::Entry {
                        links: Link::from_ledger(entry),
                        entry: Box::new(entry.clone()),
                        selected: 0,
                    });
                }
                KeyResult::Handled
            }
            Some(Act::Filter) => {
                self.modal = Some(Modal::Filter(self.filter.form()));
                KeyResult::Handled
            }
            Some(Act::Adjust) => {
                if let Some(user) = self.current_user() {
                    self.modal = Some(Modal::Adjust(Box::new(AdjustDialog::new(user, ctx))));
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

    /// Forms take every key; the other dialogs leave the keys they don't
    /// use (q, ?) to the app.
    fn modal_key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        let Some(modal) = &mut self.modal else {
            return KeyResult::Ignored;
        };
        match modal {
            Modal::Entry {
                links, selected, ..
            } => {
                if let Some(n) = nav(key) {
                    let mut nav = crate::tui::widgets::ListNav::default();
                    nav.select(*selected, links.len());
                    nav.apply(n, links.len());
                    *selected = nav.selected();
                    return KeyResult::Handled;
                }
                match ENTRY_KEYS.find(key, ctx.allow, always) {
                    Some(EntryAct::Close) => self.modal = None,
                    Some(EntryAct::Open) => {
                        if let Some(link) = links.get(*selected) {
                            ctx.emit(Msg::Open(link.clone()));
                        }
                        self.modal = None;
                    }
                    Some(EntryAct::Choose) | None => return KeyResult::Ignored,
                }
            }
            Modal::Filter(form) => match form.key(key) {
                FormAction::Cancel => self.modal = None,
                FormAction::Submit => match LedgerFilter::parse(form, ctx.now) {
                    Ok(filter) => {
                        self.modal = None;
                        if filter != self.filter {
                            self.filter = filter;
                            self.ledger.nav.reset();
                            self.load_ledger(Fetch::First, ctx);
                        }
                    }
                    Err(errors) => {
                        form.clear_errors();
                        form.set_errors(&errors);
                    }
                },
                FormAction::None => {}
            },
            Modal::Adjust(dialog) => {
                let Some(user) = self
                    .overview
                    .as_ref()
                    .map(|o| &o.user)
                    .or(self.user.as_ref())
                else {
                    return KeyResult::Handled;
                };
                match dialog.key(key, user, ctx) {
                    DialogKey::Stay => {}
                    DialogKey::Ignored => return KeyResult::Ignored,
                    DialogKey::Close => self.modal = None,
                    DialogKey::Abandoned => {
                        self.modal = None;
                        self.notice = Some(
                            "stopped waiting: the adjustment may or may not be booked; reloaded"
                                .into(),
                        );
                        self.refresh(ctx);
                    }
                }
            }
        }
        KeyResult::Handled
    }

    pub(super) fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
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
            Outcome::History(result) => {
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
            Outcome::Adjusted(result) => {
                let Some(Modal::Adjust(dialog)) = &mut self.modal else {
                    return;
                };
                if !dialog.finish(id, &result) {
                    return;
                }
                match &result {
                    Ok(crate::db::Change::Applied(done)) => {
                        self.notice = Some(summary(done));
                        self.refresh(ctx);
                    }
                    Ok(crate::db::Change::Pending(p)) => {
                        self.notice = Some(crate::tui::tabs::pending_summary(p));
                    }
                    Err(_) => {}
                }
            }
            _ => {}
        }
    }

    pub(super) fn hints(&self, allow: &Allow) -> Vec<Hint> {
        match &self.modal {
            Some(Modal::Entry { .. }) => ENTRY_KEYS.hints(allow, always),
            Some(Modal::Filter(form)) => form.hints(),
            Some(Modal::Adjust(a)) if a.confirm.is_some() => a.confirm_keys(),
            Some(Modal::Adjust(a)) => a.form.hints(),
            None => KEYS.hints(allow, always),
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
        match &self.modal {
            Some(Modal::Entry {
                entry,
                links,
                selected,
            }) => render_entry(frame, area, ui, entry, links, *selected),
            Some(Modal::Filter(form)) => form.render(frame, area, ui.theme),
            Some(Modal::Adjust(dialog)) => dialog.render(frame, area, ui),
            None => {}
        }
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
        let rows = w.iter().skip(from).take(height).map(|e| {
            Row::new(vec![
                Cell::from(when(e.created_at)),
                Cell::from(
                    Line::from(Span::styled(
                        format!("{:+}", e.amount),
                        theme.amount(i64::from(e.amount)),
                    ))
                    .right_aligned(),
                ),
                Cell::from(type_label(&e.kind)),
                Cell::from(safe_opt(e.description.as_deref())),
                Cell::from(safe_owned(e.links())),
            ])
        });
        let header = Row::new(vec![
            Cell::from("when"),
            Cell::from(Line::from("amount").right_aligned()),
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

fn render_entry(
    frame: &mut Frame,
    area: Rect,
    ui: &Ui,
    e: &LedgerEntry,
    links: &[Link],
    selected: usize,
) {
    let theme = ui.theme;
    let field = |label: &'static str, value: Span<'static>| {
        Line::from(vec![
            Span::styled(format!("{label:>12}  "), theme.dim()),
            value,
        ])
    };
    let mut lines = vec![
        field("when", Span::raw(exact(e.created_at))),
        field(
            "amount",
            Span::styled(format!("{:+}", e.amount), theme.amount(i64::from(e.amount))),
        ),
        field("type", Span::raw(type_label(&e.kind).content.into_owned())),
        field(
            "description",
            safe_owned(e.description.clone().unwrap_or_else(|| "-".into())),
        ),
    ];
    for (label, id) in [
        ("transaction", e.transaction_id),
        ("photo", e.photo_id),
        ("model", e.model_id),
    ] {
        if let Some(id) = id {
            lines.push(field(label, Span::raw(format!("#{id}"))));
        }
    }
    lines.push(Line::raw(""));
    if links.is_empty() {
        lines.push(Line::from(Span::styled(
            "no coupon, gift card or batch linked",
            theme.dim(),
        )));
    } else {
        lines.push(Line::from(Span::styled("links", theme.header())));
        for (i, link) in links.iter().enumerate() {
            let style = if i == selected {
                theme.selected()
            } else {
                theme.base()
            };
            // Link's Display sanitises the codes it holds.
            lines.push(Line::from(Span::styled(format!("  {link}  "), style)));
        }
        lines.push(Line::raw(""));
        let keys: Vec<Hint> = ENTRY_KEYS
            .hints(ui.allow, |a| a != EntryAct::Choose || links.len() > 1)
            .into_iter()
            .collect();
        lines.push(key_line(&keys, theme));
    }
    message(
        frame,
        area,
        theme,
        &format!("Ledger entry #{}", e.id),
        lines,
    );
}
