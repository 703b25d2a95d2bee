//! The batch list: newest first by status (all, generating, completed,
//! failed), or the stuck view (generating longer than a threshold, oldest
//! first), either of them for one user.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row};

use super::{age, duration_label};
use crate::db::batches::{BatchFilter, BatchSummary, STUCK_AFTER};
use crate::domain::InvalidInput;
use crate::domain::amounts::parse_duration;
use crate::domain::ledger::BatchStatus;
use crate::domain::role::Action;
use crate::domain::user_ref::UserRef;
use crate::error::Result;
use crate::tui::command::{Job, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::format::when;
use crate::tui::keymap::{Allow, Bind, ENTER, ESC, Hint, Key, Keymap};
use crate::tui::keys::nav;
use crate::tui::tabs::Ui;
use crate::tui::widgets::{
    Field, Form, FormAction, ListNav, ListTable, Poll, fit, id_width, load_status, render_empty,
    safe, safe_owned,
};

/// Batches shown at most; a full list says "narrow it".
pub const LIMIT: i64 = 500;
/// Stuck batches shown at most: an outage's worth, to mark all at once
/// and fail them as one change.
pub const STUCK_LIMIT: i64 = 5_000;

/// The stuck thresholds `+` and `-` step through, in minutes.
const STEPS: [i64; 13] = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10_080];

/// Which statuses the (not stuck) list shows; `f` cycles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    All,
    Generating,
    Completed,
    Failed,
}

impl StatusFilter {
    pub fn next(self) -> Self {
        match self {
            StatusFilter::All => StatusFilter::Generating,
            StatusFilter::Generating => StatusFilter::Completed,
            StatusFilter::Completed => StatusFilter::Failed,
            StatusFilter::Failed => StatusFilter::All,
        }
    }

    pub fn status(self) -> Option<BatchStatus> {
        match self {
            StatusFilter::All => None,
            StatusFilter::Generating => Some(BatchStatus::Generating),
            StatusFilter::Completed => Some(BatchStatus::Completed),
            StatusFilter::Failed => Some(BatchStatus::Failed),
        }
    }
}

/// What the list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub status: StatusFilter,
    /// The stuck view: generating longer than `stuck_after`, oldest first.
    pub stuck: bool,
    pub stuck_after: Duration,
    pub user: Option<UserRef>,
}

impl Default for View {
    fn default() -> Self {
        Self {
            status: StatusFilter::All,
            stuck: false,
            stuck_after: STUCK_AFTER,
            user: None,
        }
    }
}

impl View {
    pub fn filter(&self) -> BatchFilter {
        BatchFilter {
            status: if self.stuck {
                None
            } else {
                self.status.status()
            },
            stuck_older_than: self.stuck.then_some(self.stuck_after),
            user: self.user.clone(),
            limit: if self.stuck { STUCK_LIMIT } else { LIMIT },
            after: None,
        }
    }

    /// Only the filters, not the stuck view or its threshold.
    fn is_filtered(&self) -> bool {
        self.user.is_some() || (!self.stuck && self.status != StatusFilter::All)
    }

    fn form(&self) -> Form {
        let mut form = Form::new(
            "Filter batches",
            vec![
                Field::new("user", "User", "blank for everyone; an id or an email")
                    .with_value(self.user.as_ref().map(user_text).unwrap_or_default()),
                Field::new(
                    "stuck_after",
                    "Stuck after",
                    "generating this long is stuck: 15m, 2h, 1d",
                )
                .with_value(duration_label(self.stuck_after)),
            ],
        );
        form.keys = crate::tui::widgets::form::FILTER_KEYS;
        form
    }

    /// The form applied to this view; a changed threshold opens the stuck
    /// view.
    fn parse(&self, form: &Form) -> Result<Self, Vec<InvalidInput>> {
        let user = match form.value("user").trim() {
            "" => Ok(None),
            t => UserRef::parse(t).map(Some),
        };
        let stuck_after = parse_duration("stuck_after", form.value("stuck_after"));
        match (user, stuck_after) {
            (Ok(user), Ok(stuck_after)) => Ok(Self {
                stuck: self.stuck || stuck_after != self.stuck_after,
                stuck_after,
                user,
                status: self.status,
            }),
            (a, b) => Err([a.err(), b.err()].into_iter().flatten().collect()),
        }
    }

    /// The threshold one step up (`up`) or down.
    fn step(&self, up: bool) -> Duration {
        let now = self.stuck_after.num_minutes();
        let next = if up {
            STEPS.iter().copied().find(|m| *m > now)
        } else {
            STEPS.iter().rev().copied().find(|m| *m < now)
        };
        next.map_or(self.stuck_after, Duration::minutes)
    }
}

/// How the operator would type the user again.
fn user_text(u: &UserRef) -> String {
    match u {
        UserRef::Id(id) => id.to_string(),
        UserRef::Email(e) => e.clone(),
    }
}

/// What a key does on the batch list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Details,
    Stuck,
    All,
    Threshold,
    /// The help's note about the threshold, outside the stuck view.
    ThresholdNote,
    Status,
    Leave,
    Filter,
    Fail,
    Clear,
    /// The stuck view: mark or unmark the selected batch (for fail-many).
    Mark,
    /// The stuck view: mark all shown, or clear the marks.
    MarkAll,
}

const KEYS: Keymap<Act> = Keymap(&[
    Bind::new(ENTER, "Enter", "details", Act::Details).footer(),
    Bind::new(&[Key::Char('s')], "s", "all", Act::All).footer(),
    Bind::new(&[Key::Char('s')], "s", "stuck", Act::Stuck).footer(),
    Bind::new(
        &[Key::Char('+'), Key::Char('='), Key::Char('-')],
        "+ -",
        "threshold",
        Act::Threshold,
    )
    .footer(),
    Bind::new(&[Key::Char('f')], "f", "status", Act::Status).footer(),
    Bind::new(&[Key::Char(' ')], "Space", "mark", Act::Mark)
        .footer()
        .writes(Action::BatchFail),
    Bind::new(&[Key::Char('F'), Key::Char('x')], "F x", "fail", Act::Fail)
        .footer()
        .writes(Action::BatchFail),
    Bind::new(&[Key::Char('/')], "/", "filter", Act::Filter).footer(),
    Bind::new(
        &[Key::Char('A')],
        "A",
        "mark all shown / clear",
        Act::MarkAll,
    )
    .writes(Action::BatchFail),
    Bind::new(
        &[Key::Char('f')],
        "f",
        "leave the stuck view: by status",
        Act::Leave,
    ),
    Bind::new(
        &[],
        "+ -",
        "stuck threshold (in the stuck view)",
        Act::ThresholdNote,
    ),
    Bind::new(ESC, "Esc", "clear the filters / stop loading", Act::Clear),
]);

pub(super) enum KeyResult {
    Handled,
    Ignored,
    Open(BatchSummary),
    Fail(BatchSummary),
    /// `F` with batches marked: fail them as one change.
    FailMany(Vec<i32>),
}

#[derive(Default)]
pub struct List {
    pub view: View,
    pub batches: Vec<BatchSummary>,
    pub nav: ListNav,
    /// The newest request on its way (older ones were cancelled).
    pending: Option<RequestId>,
    /// The view of the pending (or failed) request.
    asked: View,
    /// The view the rows are for.
    shown: Option<View>,
    /// When the rows arrived: ages shown keep counting from there.
    loaded_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    failed: bool,
    started: bool,
    /// The filter form (`/`).
    pub form: Option<Form>,
    poll: Poll,
    /// The batches marked in the stuck view; kept across refreshes while
    /// they are shown.
    pub marks: std::collections::HashSet<i32>,
    /// What the last fail-many did.
    pub notice: Option<String>,
}

impl List {
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    pub fn selected(&self) -> Option<&BatchSummary> {
        self.batches.get(self.nav.selected())
    }

    pub fn batch(&self, id: i32) -> Option<&BatchSummary> {
        self.batches.iter().find(|b| b.id == id)
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// Loads again by itself when due (the list or the stuck view, shown,
    /// nothing loading, no form over it).
    pub(super) fn tick(&mut self, ctx: &mut Ctx) {
        if self.poll.due(ctx.now) && self.pending.is_none() && self.form.is_none() {
            self.load(None, ctx);
        }
    }

    pub(super) fn pause(&mut self) {
        self.poll.toggle();
    }

    /// First time shown: load.
    pub(super) fn start(&mut self, ctx: &mut Ctx) {
        if !self.started {
            self.started = true;
            self.load(None, ctx);
        }
    }

    /// Asks for the view in force, replacing the request not answered yet.
    pub(super) fn load(&mut self, delay: Option<StdDuration>, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.asked = self.view.clone();
        let job = Job::Batches(self.view.filter());
        self.pending = Some(ctx.request_in(delay, job));
        self.error = None;
        self.failed = false;
    }

    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.started = true;
        self.load(None, ctx);
    }

    pub(super) fn retry(&mut self, ctx: &mut Ctx) {
        if self.failed {
            self.load(None, ctx);
        }
    }

    pub(super) fn paste(&mut self, text: &str) -> bool {
        match &mut self.form {
            Some(form) => {
                form.paste(text);
                true
            }
            None => false,
        }
    }

    fn set_view(&mut self, view: View, delay: Option<StdDuration>, ctx: &mut Ctx) {
        if view != self.view {
            self.view = view;
            self.load(delay, ctx);
        }
    }

    pub(super) fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> KeyResult {
        if let Some(form) = &mut self.form {
            match form.key(key) {
                FormAction::Cancel => self.form = None,
                FormAction::Submit => match self.view.parse(form) {
                    Ok(view) => {
                        self.form = None;
                        self.set_view(view, None, ctx);
                    }
                    Err(errors) => {
                        form.clear_errors();
                        form.set_errors(&errors);
                    }
                },
                FormAction::None => {}
            }
            return KeyResult::Handled;
        }
        if let Some(n) = nav(key) {
            self.nav.apply(n, self.batches.len());
            return KeyResult::Handled;
        }
        let stuck = self.view.stuck;
        match KEYS.find(key, ctx.allow, |a| self.offers(a)) {
            Some(Act::Details) => match self.selected() {
                Some(b) => KeyResult::Open(b.clone()),
                None => KeyResult::Handled,
            },
            Some(Act::Stuck | Act::All) => {
                let view = View {
                    stuck: !self.view.stuck,
                    ..self.view.clone()
                };
                self.set_view(view, None, ctx);
                KeyResult::Handled
            }
            Some(Act::Status | Act::Leave) => {
                // From the stuck view, back to the list by status.
                let status = if stuck {
                    self.view.status
                } else {
                    self.view.status.next()
                };
                let view = View {
                    stuck: false,
                    status,
                    ..self.view.clone()
                };
                self.set_view(view, None, ctx);
                KeyResult::Handled
            }
            Some(Act::Threshold) => {
                let down = key.code == crossterm::event::KeyCode::Char('-');
                let view = View {
                    stuck_after: self.view.step(!down),
                    ..self.view.clone()
                };
                self.set_view(view, None, ctx);
                KeyResult::Handled
            }
            Some(Act::Filter) => {
                self.form = Some(self.view.form());
                KeyResult::Handled
            }
            Some(Act::Fail) if stuck && !self.marks.is_empty() => {
                KeyResult::FailMany(self.marked_in_order())
            }
            Some(Act::Fail) => match self.selected() {
                Some(b) => KeyResult::Fail(b.clone()),
                None => KeyResult::Handled,
            },
            Some(Act::Mark) => {
                if let Some(id) = self.selected().map(|b| b.id) {
                    if !self.marks.remove(&id) {
                        self.marks.insert(id);
                    }
                    // On to the next, as a file manager does.
                    self.nav
                        .apply(crate::tui::keys::Nav::Down, self.batches.len());
                }
                KeyResult::Handled
            }
            Some(Act::MarkAll) => {
                if self.batches.iter().all(|b| self.marks.contains(&b.id)) {
                    self.marks.clear();
                } else {
                    self.marks.extend(self.batches.iter().map(|b| b.id));
                }
                KeyResult::Handled
            }
            Some(Act::Clear) if self.pending.is_some() => {
                ctx.cancel(self.pending.take());
                KeyResult::Handled
            }
            Some(Act::Clear) if self.view.is_filtered() => {
                let view = View {
                    user: None,
                    status: StatusFilter::All,
                    ..self.view.clone()
                };
                self.set_view(view, None, ctx);
                KeyResult::Handled
            }
            Some(Act::Clear | Act::ThresholdNote) | None => KeyResult::Ignored,
        }
    }

    pub(super) fn reply(&mut self, id: RequestId, result: Result<Vec<BatchSummary>>, ctx: &Ctx) {
        if self.pending != Some(id) {
            return; // an older request: its answer no longer matters
        }
        self.pending = None;
        match result {
            Ok(batches) => {
                self.poll.loaded(ctx.now);
                let same = self.shown.as_ref() == Some(&self.asked);
                // Keep the selected batch selected when it is still there.
                let selected = self.selected().map(|b| b.id);
                self.batches = batches;
                self.shown = Some(self.asked.clone());
                // Marks stay on the batches still shown (a batch that
                // finished meanwhile leaves the stuck view and its mark).
                if self.asked.stuck {
                    let shown: std::collections::HashSet<i32> =
                        self.batches.iter().map(|b| b.id).collect();
                    self.marks.retain(|id| shown.contains(id));
                } else {
                    self.marks.clear();
                }
                self.loaded_at = Some(ctx.now);
                match selected.and_then(|id| self.batches.iter().position(|b| b.id == id)) {
                    Some(i) if same => self.nav.select(i, self.batches.len()),
                    _ if same => {
                        let i = self.nav.selected();
                        self.nav.select(i, self.batches.len());
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

    pub(super) fn hints(&self, allow: &Allow) -> Vec<Hint> {
        if let Some(form) = &self.form {
            return form.hints();
        }
        KEYS.hints(allow, |a| self.offers(a))
    }

    fn title(&self, ui: &Ui) -> Line<'static> {
        let theme = ui.theme;
        let view = &self.view;
        let mut spans = if view.stuck {
            vec![
                Span::styled(" Stuck batches", theme.title()),
                Span::raw(format!(
                    " · generating > {} · oldest first",
                    duration_label(view.stuck_after)
                )),
            ]
        } else {
            let mut s = vec![Span::raw(" Batches")];
            if let Some(status) = view.status.status() {
                s.push(Span::styled(format!(" · {status}"), theme.warning()));
            }
            s
        };
        if let Some(u) = &view.user {
            spans.push(Span::styled(" · user ", theme.warning()));
            spans.push(safe_owned(user_text(u)));
        }
        if self.poll.paused() {
            spans.push(Span::styled(" · paused (p)", theme.warning()));
        }
        spans.push(Span::raw(" "));
        Line::from(spans)
    }

    pub(super) fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let status = load_status(
            self.error.as_deref(),
            self.pending.is_some(),
            "loading…",
            area.width,
            theme,
            ui.tick,
        )
        .unwrap_or_else(|| {
            if self.shown.is_none() {
                return Span::raw("");
            }
            let n = self.batches.len();
            let plural = if n == 1 { "" } else { "es" };
            let limit = self.shown.as_ref().map_or(LIMIT, |v| v.filter().limit);
            let more = if n as i64 >= limit {
                " (the most shown: narrow with /)"
            } else {
                ""
            };
            let marked = if self.marks.is_empty() {
                String::new()
            } else {
                format!(" · {} marked", self.marks.len())
            };
            Span::raw(fit(
                &format!(" {n} batch{plural}{more}{marked} "),
                area.width,
            ))
        });
        let notice = self.notice.as_ref().map(|n| {
            let first = n.lines().next().unwrap_or_default();
            fit(&format!(" {first} "), area.width / 2)
        });
        let mut block = Block::bordered()
            .border_style(theme.border())
            .title(self.title(ui))
            .title_bottom(Line::from(status).right_aligned());
        if let Some(n) = &notice {
            block = block.title_bottom(Line::from(crate::tui::widgets::safe_styled(
                n,
                theme.success(),
            )));
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if !inner.is_empty() {
            self.render_rows(frame, inner, ui);
        }
        if let Some(form) = &self.form {
            form.render(frame, area, theme);
        }
    }

    fn render_rows(&self, frame: &mut Frame, inner: Rect, ui: &Ui) {
        let theme = ui.theme;
        if self.batches.is_empty() {
            let text = match (&self.shown, self.pending) {
                (_, Some(_)) | (None, _) => String::new(),
                (Some(v), None) if v.stuck => format!(
                    "no stuck batches: none has been generating longer than {}",
                    duration_label(v.stuck_after)
                ),
                (Some(v), None) if v.is_filtered() => "no batches match the filter".into(),
                (Some(_), None) => "no batches yet".into(),
            };
            render_empty(frame, inner, theme, &text);
            return;
        }
        // Ages keep counting from when the rows arrived.
        let since = self
            .loaded_at
            .map_or(0, |t| (ui.now - t).num_seconds().max(0));
        let stuck_after = self.view.stuck_after.num_seconds();
        let wide = inner.width >= 120;
        let marking = !self.marks.is_empty();
        let id_w =
            id_width(self.batches.iter().map(|b| i64::from(b.id)), 7) + 2 * u16::from(marking);
        let mut table = ListTable::new(theme)
            .column("id", Constraint::Length(id_w))
            .column("status", Constraint::Length(10))
            .column(Line::from("age").right_aligned(), Constraint::Length(7))
            .column("user", Constraint::Fill(3))
            .column("model", Constraint::Fill(2))
            .column(Line::from("imgs").right_aligned(), Constraint::Length(4))
            .column(Line::from("credits").right_aligned(), Constraint::Length(7));
        if wide {
            table = table
                .column("created", Constraint::Length(16))
                .column("completed", Constraint::Length(16));
        }
        let len = self.batches.len();
        table.render(frame, inner, &self.nav, len, self.batches.iter(), |b| {
            let secs = b.age_seconds.saturating_add(since);
            let stuck = b.status == BatchStatus::Generating.as_str() && secs > stuck_after;
            let status_style = match b.status.as_str() {
                "failed" => theme.error(),
                "generating" if stuck => theme.warning(),
                _ => theme.base(),
            };
            let id = match (marking, self.marks.contains(&b.id)) {
                (false, _) => Cell::from(format!("#{}", b.id)),
                (true, true) => Cell::from(Span::styled(format!("● #{}", b.id), theme.warning())),
                (true, false) => Cell::from(format!("  #{}", b.id)),
            };
            let mut cells = vec![
                id,
                Cell::from(safe(&b.status).style(status_style)),
                Cell::from(
                    Line::from(Span::styled(
                        age(secs),
                        if stuck { theme.warning() } else { theme.base() },
                    ))
                    .right_aligned(),
                ),
                Cell::from(safe(&b.user_email)),
                Cell::from(match (b.model_id, &b.model_name) {
                    (Some(id), Some(name)) => safe_owned(format!("#{id} {name}")),
                    _ => Span::styled("deleted", theme.dim()),
                }),
                Cell::from(Line::from(b.images.to_string()).right_aligned()),
                Cell::from(Line::from(b.credits_used.to_string()).right_aligned()),
            ];
            if wide {
                cells.push(Cell::from(when(b.created_at)));
                cells.push(Cell::from(
                    b.completed_at.map_or_else(|| "-".to_owned(), when),
                ));
            }
            Row::new(cells)
        });
    }
}

impl List {
    /// The marked batches in the order shown (oldest first).
    fn marked_in_order(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .batches
            .iter()
            .map(|b| b.id)
            .filter(|id| self.marks.contains(id))
            .collect();
        if ids.len() < self.marks.len() {
            let shown: std::collections::HashSet<i32> = ids.iter().copied().collect();
            let mut rest: Vec<i32> = self.marks.difference(&shown).copied().collect();
            rest.sort_unstable();
            ids.extend(rest);
        }
        ids
    }

    /// What the list offers now: its view's keys, and failing only a batch
    /// that can still be failed or refunded.
    fn offers(&self, act: Act) -> bool {
        match act {
            Act::Fail if self.view.stuck && !self.marks.is_empty() => true,
            Act::Fail => self
                .selected()
                .is_some_and(|b| matches!(b.status.as_str(), "generating" | "failed")),
            Act::Mark | Act::MarkAll => self.view.stuck && !self.batches.is_empty(),
            other => offers(self.view.stuck, other),
        }
    }
}

/// What the list offers in the stuck view (`stuck`) or by status.
fn offers(stuck: bool, act: Act) -> bool {
    match act {
        Act::All | Act::Leave | Act::Threshold => stuck,
        Act::Stuck | Act::Status | Act::ThresholdNote => !stuck,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_cycle() {
        let mut s = StatusFilter::All;
        let mut seen = Vec::new();
        for _ in 0..4 {
            s = s.next();
            seen.push(s.status().map(BatchStatus::as_str));
        }
        assert_eq!(
            seen,
            [Some("generating"), Some("completed"), Some("failed"), None]
        );
    }

    #[test]
    fn thresholds_step_and_stop_at_the_ends() {
        let mut v = View::default();
        assert_eq!(v.step(true), Duration::minutes(30));
        assert_eq!(v.step(false), Duration::minutes(10));
        v.stuck_after = Duration::minutes(1);
        assert_eq!(v.step(false), Duration::minutes(1));
        v.stuck_after = Duration::minutes(7);
        assert_eq!(v.step(true), Duration::minutes(10));
        assert_eq!(v.step(false), Duration::minutes(5));
        v.stuck_after = Duration::days(7);
        assert_eq!(v.step(true), Duration::days(7));
    }

    #[test]
    fn the_stuck_view_asks_for_generating_only() {
        let v = View {
            stuck: true,
            status: StatusFilter::Failed,
            ..View::default()
        };
        let f = v.filter();
        assert_eq!(f.status, None);
        assert_eq!(f.stuck_older_than, Some(STUCK_AFTER));
        assert_eq!(f.limit, STUCK_LIMIT);
    }
}
