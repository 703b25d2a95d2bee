//! Tab 5, Audit: every change made with this tool, newest first, paged as
//! you scroll (keyset on the id), filtered by operator and action.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row};

use super::{Copied, Handled, Tab, Ui};
use crate::db::audit::{AuditEntry, AuditFilter};
use crate::domain::InvalidInput;
use crate::domain::amounts::parse_time;
use crate::domain::text::check_free_text;
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialogs, Event, Filter as DialogFilter, FilterDialog, Record};
use crate::tui::format::{exact, when};
use crate::tui::keymap::{Allow, Bind, ENTER, ESC, Hint, Key, Keymap, always};
use crate::tui::keys::nav;
use crate::tui::link::Link;
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    Fetch, Field, Form, ListTable, PagedWindow, Poll, Received, paged_status, render_empty, safe,
    safe_opt, safe_owned,
};

pub const PAGE: i64 = 100;
pub const MAX_PAGES: usize = 6;
const MARGIN: usize = 20;
/// Lines of the details JSON shown in the entry dialog.
const DETAIL_LINES: usize = 14;

/// What a key does in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Details,
    Filter,
    Clear,
}

const LIST_KEYS: Keymap<Act> = Keymap(&[
    Bind::new(ENTER, "Enter", "details", Act::Details).footer(),
    Bind::new(
        &[Key::Char('f'), Key::Char('/')],
        "f /",
        "filter",
        Act::Filter,
    )
    .footer(),
    Bind::new(ESC, "Esc", "clear the filter / stop loading", Act::Clear),
]);

/// The filter in force, as `creditdesk audit --actor --action --since --until`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub actor: Option<String>,
    /// An action (`credits.adjust`) or an area (`coupon`).
    pub action: Option<String>,
    /// Entries from this time on.
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub until: Option<DateTime<Utc>>,
}

impl Filter {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = &self.actor {
            parts.push(format!("by {a}"));
        }
        if let Some(a) = &self.action {
            parts.push(format!("action {a}"));
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

impl DialogFilter for Filter {
    fn form(&self) -> Form {
        Form::new(
            "Filter the audit log",
            vec![
                Field::new("actor", "Operator", "blank for everyone")
                    .with_value(self.actor.clone().unwrap_or_default()),
                Field::new(
                    "action",
                    "Action",
                    "blank for all; credits.adjust, or an area: coupon, batch…",
                )
                .with_value(self.action.clone().unwrap_or_default()),
                Field::new(
                    "since",
                    "Since",
                    "blank for all time; 2026-01-02 or 2026-01-02 15:04 (UTC)",
                )
                .with_value(self.since.map(when).unwrap_or_default()),
                Field::new(
                    "until",
                    "Until",
                    "blank for now; a time as above, or -1d (a day ago)",
                )
                .with_value(self.until.map(when).unwrap_or_default()),
            ],
        )
    }

    fn parse(form: &Form, now: DateTime<Utc>) -> Result<Self, Vec<InvalidInput>> {
        let text = |name: &'static str| check_free_text(name, form.value(name), 100);
        let time = |name: &'static str| match form.value(name).trim() {
            "" => Ok(None),
            t => parse_time(name, t, now).map(Some),
        };
        let (since, until) = (time("since"), time("until"));
        let mut errors = Vec::new();
        let mut keep = |r: Result<String, InvalidInput>| {
            r.map_err(|e| errors.push(e)).ok().filter(|v| !v.is_empty())
        };
        let actor = keep(text("actor"));
        let action = keep(text("action"));
        let since = since.map_err(|e| errors.push(e)).ok().flatten();
        let until = until.map_err(|e| errors.push(e)).ok().flatten();
        if let (Some(s), Some(u)) = (since, until)
            && u <= s
        {
            errors.push(InvalidInput::new("until", "must be after since"));
        }
        if errors.is_empty() {
            Ok(Self {
                actor,
                action,
                since,
                until,
            })
        } else {
            Err(errors)
        }
    }
}

pub struct AuditTab {
    window: PagedWindow<AuditEntry, i64>,
    filter: Filter,
    dialogs: Dialogs,
    poll: Poll,
    /// The limit of the request on its way.
    limit: i64,
    started: bool,
}

impl Default for AuditTab {
    fn default() -> Self {
        Self {
            window: PagedWindow::new(MAX_PAGES, MARGIN, PAGE as usize, |e| e.id),
            filter: Filter::default(),
            dialogs: Dialogs::default(),
            poll: Poll::default(),
            limit: PAGE,
            started: false,
        }
    }
}

impl AuditTab {
    fn load(&mut self, fetch: Fetch<i64>, ctx: &mut Ctx) {
        self.limit = self.window.limit(fetch);
        let id = ctx.request(Job::Audit(AuditFilter {
            actor: self.filter.actor.clone(),
            action: self.filter.action.clone(),
            since: self.filter.since,
            until: self.filter.until,
            before_id: fetch.before(),
            limit: self.limit,
        }));
        ctx.cancel(self.window.begin(id, fetch));
    }

    /// Loads again what is shown: in place when it can (the selection and
    /// scroll position stay), else from the newest entry.
    fn reload(&mut self, ctx: &mut Ctx) {
        self.load(self.window.refresh(), ctx);
    }

    fn restart(&mut self, ctx: &mut Ctx) {
        self.window.nav.reset();
        self.load(Fetch::First, ctx);
    }

    fn more(&mut self, ctx: &mut Ctx) {
        if let Some(fetch) = self.window.wanted() {
            self.load(fetch, ctx);
        }
    }

    fn event(&mut self, event: Option<Event>, ctx: &mut Ctx) {
        if let Some(Event::Filter(f)) = event
            && let Ok(filter) = f.downcast::<Filter>()
            && *filter != self.filter
        {
            self.filter = *filter;
            self.restart(ctx);
        }
    }
}

impl Tab for AuditTab {
    /// The first time, the newest entries; shown again, loaded again.
    fn activate(&mut self, ctx: &mut Ctx) {
        if self.started {
            self.reload(ctx);
        } else {
            self.started = true;
            self.load(Fetch::First, ctx);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.poll.due(ctx.now) && self.window.reloadable() && !self.dialogs.is_open() {
            self.load(Fetch::Reload, ctx);
        }
    }

    fn polls(&self) -> bool {
        !self.dialogs.is_open()
    }

    fn pause(&mut self) {
        self.poll.toggle();
    }

    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        if self.dialogs.is_open() {
            let (handled, event) = self.dialogs.key(key, ctx);
            self.event(event, ctx);
            return handled;
        }
        if let Some(n) = nav(key) {
            if let Some(fetch) = self.window.apply(n) {
                self.load(fetch, ctx);
            }
            self.more(ctx);
            return Handled::Yes;
        }
        match LIST_KEYS.find(key, ctx.allow, always) {
            Some(Act::Details) => {
                if let Some(e) = self.window.selected().cloned() {
                    let title = format!("Audit entry #{}", e.id);
                    let links = Link::from_audit(&e).into_iter().collect();
                    self.dialogs.open(Record::new(
                        title,
                        move |theme| entry_lines(&e, theme),
                        links,
                    ));
                }
                Handled::Yes
            }
            Some(Act::Filter) => {
                self.dialogs.open(FilterDialog::new(&self.filter));
                Handled::Yes
            }
            Some(Act::Clear) if self.window.is_loading() => {
                ctx.cancel(self.window.cancel());
                Handled::Yes
            }
            Some(Act::Clear) if self.filter != Filter::default() => {
                self.filter = Filter::default();
                self.restart(ctx);
                Handled::Yes
            }
            Some(Act::Clear) | None => Handled::No,
        }
    }

    fn paste(&mut self, text: &str, _ctx: &mut Ctx) -> Handled {
        if self.dialogs.paste(text) {
            Handled::Yes
        } else {
            Handled::No
        }
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        let Outcome::Audit(result) = outcome else {
            return;
        };
        let limit = self.limit;
        let page = result
            .map(|rows| {
                let next = (rows.len() as i64 >= limit)
                    .then(|| rows.last().map(|e| e.id))
                    .flatten();
                (rows, next)
            })
            .map_err(|e| e.to_string());
        match self.window.receive(id, page) {
            Received::Applied => {
                self.poll.loaded(ctx.now);
                self.more(ctx);
            }
            Received::Restart => self.restart(ctx),
            Received::Stale | Received::Failed => {}
        }
    }

    fn copy(&self) -> Option<Copied> {
        if self.dialogs.is_open() {
            return None;
        }
        let e = self.window.selected()?;
        Some(Copied::new("audit entry id", e.id.to_string()))
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        self.started = true;
        self.reload(ctx);
    }

    fn retry(&mut self, ctx: &mut Ctx) {
        if let Some(fetch) = self.window.take_failed() {
            self.load(fetch, ctx);
        }
    }

    fn modal(&self) -> bool {
        self.dialogs.is_open()
    }

    fn busy(&self) -> bool {
        self.window.is_loading()
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        self.dialogs
            .hints(allow)
            .unwrap_or_else(|| LIST_KEYS.hints(allow, always))
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let w = &self.window;
        let mut title = vec![Span::raw(" Audit log")];
        let filter = self.filter.describe();
        if !filter.is_empty() {
            title.push(Span::styled(" · ", theme.warning()));
            title.push(safe_owned(filter));
        }
        if self.poll.paused() {
            title.push(Span::styled(" · paused (p)", theme.warning()));
        }
        title.push(Span::raw(" "));
        let status = paged_status(w, area.width, theme, ui.tick);
        let block = Block::bordered()
            .border_style(theme.border())
            .title(Line::from(title))
            .title_bottom(Line::from(status).right_aligned());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if !inner.is_empty() {
            if w.is_empty() {
                let text = if w.loaded() && w.error().is_none() {
                    if self.filter == Filter::default() {
                        "no changes recorded yet"
                    } else {
                        "no changes match the filter"
                    }
                } else {
                    ""
                };
                render_empty(frame, inner, theme, text);
            } else {
                ListTable::new(theme)
                    .column("when", Constraint::Length(16))
                    .column("operator", Constraint::Length(12))
                    .column("action", Constraint::Length(17))
                    .column("entity", Constraint::Length(entity_width(w.iter())))
                    .column("reason", Constraint::Fill(1))
                    .render(frame, inner, &w.nav, w.len(), w.iter(), |e| {
                        Row::new(vec![
                            Cell::from(when(e.created_at)),
                            Cell::from(safe(&e.actor)),
                            Cell::from(safe(&e.action)),
                            Cell::from(safe_owned(entity(e))),
                            Cell::from(safe_opt(e.reason.as_deref())),
                        ])
                    });
            }
        }
        self.dialogs.render(frame, area, ui);
    }
}

/// `gift_card 123456`: an audit row's entity, whole.
fn entity(e: &AuditEntry) -> String {
    format!(
        "{} {}",
        e.entity_type,
        e.entity_id.as_deref().unwrap_or("-")
    )
}

/// The entity column as wide as its widest row (it identifies the row),
/// 12 to 28.
fn entity_width<'a>(rows: impl Iterator<Item = &'a AuditEntry>) -> u16 {
    let widest = rows.map(|e| entity(e).chars().count()).max().unwrap_or(0);
    u16::try_from(widest.clamp(12, 28)).unwrap_or(12)
}

/// One entry, for its dialog: who did what, why, and the details.
fn entry_lines(e: &AuditEntry, theme: &Theme) -> Vec<Line<'static>> {
    let field = |label: &'static str, value: Span<'static>| {
        Line::from(vec![
            Span::styled(format!("{label:>9}  "), theme.dim()),
            value,
        ])
    };
    let mut lines = vec![
        field("when", Span::raw(exact(e.created_at))),
        field("operator", safe_owned(e.actor.clone())),
        field("action", safe_owned(e.action.clone())),
        field("entity", safe_owned(entity(e))),
        field(
            "reason",
            safe_owned(e.reason.clone().unwrap_or_else(|| "-".into())),
        ),
        Line::raw(""),
    ];
    // serde_json escapes control characters; sanitising also drops bidi
    // controls, which JSON leaves as they are.
    let pretty = serde_json::to_string_pretty(&e.details).unwrap_or_default();
    let total = pretty.lines().count();
    for l in pretty.lines().take(DETAIL_LINES) {
        lines.push(Line::from(safe_owned(l.to_owned())));
    }
    if total > DETAIL_LINES {
        lines.push(Line::from(Span::styled(
            format!("… {} more lines", total - DETAIL_LINES),
            theme.dim(),
        )));
    }
    lines
}
