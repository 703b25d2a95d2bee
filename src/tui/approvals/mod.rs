//! The Approvals view (`P` from every tab, not a numbered tab): the
//! requests waiting for a second person (and, with `f`, the recent ones),
//! a request's detail with its effect computed afresh, and approve (`a`) and
//! reject (`r`) as two [`Change`]s through the one change flow (`decide.rs`).
//! Also what the status line polls (`status.rs`): the login, its role, the
//! pending count and the replica's lag.
//!
//! The view is a [`Tab`] the app holds beside the numbered ones; its
//! requests belong to the app (`Owner::App`), which hands it the replies.

mod decide;
mod status;

use decide::requester;
pub use decide::{ApprovalDone, Approve, Reject, approve};
pub use status::{SessionStatus, status};

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Wrap};

use crate::db::approvals::{Request, RequestDetail, RequestFilter};
use crate::domain::role::Action;
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialogs, Event};
use crate::tui::export::{Export, Source};
use crate::tui::format::{exact, when};
use crate::tui::keymap::{Allow, BACK, Bind, ENTER, Hint, Key, Keymap};
use crate::tui::keys::nav;
use crate::tui::tabs::{Copied, Handled, Tab, Ui};
use crate::tui::widgets::{
    ListNav, ListTable, Poll, id_width, load_status, render_empty, safe_owned, safe_styled,
};

/// Requests listed at most.
pub const LIMIT: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Details,
    Approve,
    Reject,
    Recent,
    Pending,
    Back,
}

const KEYS: Keymap<Act> = Keymap(&[
    Bind::new(ENTER, "Enter", "details", Act::Details).footer(),
    Bind::new(&[Key::Char('a')], "a", "approve", Act::Approve)
        .footer()
        .writes(Action::ApprovalDecide),
    Bind::new(&[Key::Char('r')], "r", "reject", Act::Reject)
        .footer()
        .writes(Action::ApprovalDecide),
    Bind::new(&[Key::Char('f')], "f", "recent too", Act::Recent).footer(),
    Bind::new(&[Key::Char('f')], "f", "pending only", Act::Pending).footer(),
    Bind::new(BACK, "Esc", "back", Act::Back).footer(),
]);

/// One request's page.
struct Detail {
    id: i64,
    loading: Option<RequestId>,
    shown: Option<Box<RequestDetail>>,
    error: Option<String>,
}

#[derive(Default)]
pub struct ApprovalsView {
    rows: Vec<Request>,
    nav: ListNav,
    /// Decided and expired requests too, not only the pending ones.
    recent: bool,
    loading: Option<RequestId>,
    loaded: bool,
    error: Option<String>,
    poll: Poll,
    detail: Option<Detail>,
    dialogs: Dialogs,
    /// The login connected: its own requests get no approve or reject.
    pub me: Option<String>,
    /// Where the codes of an approved gift-card issue go (the app's export
    /// directory: the current one).
    pub files_dir: PathBuf,
    /// What the last change did.
    notice: Option<String>,
    /// A notice not seen yet: the app shows it in the status line when the
    /// view is hidden (a decision Esc stopped waiting for, answered later).
    pub unseen: Option<String>,
}

impl ApprovalsView {
    fn load(&mut self, ctx: &mut Ctx) {
        ctx.cancel(self.loading.take());
        self.loading = Some(ctx.request(Job::Approvals(RequestFilter {
            pending_only: !self.recent,
            limit: LIMIT,
        })));
    }

    fn load_detail(&mut self, ctx: &mut Ctx) {
        if let Some(d) = &mut self.detail {
            ctx.cancel(d.loading.take());
            d.loading = Some(ctx.request(Job::Approval { id: d.id }));
        }
    }

    /// The request the keys act on: the detail's, else the selected row's.
    fn current(&self) -> Option<&Request> {
        match &self.detail {
            Some(d) => d.shown.as_ref().map(|s| &s.request),
            None => self.rows.get(self.nav.selected()),
        }
    }

    /// Pending and someone else's: approve and reject are offered.
    fn decidable(&self) -> bool {
        self.current().is_some_and(|r| {
            r.status == "pending" && self.me.as_deref() != Some(r.requested_by_login.as_str())
        })
    }

    fn offers(&self, a: Act) -> bool {
        match a {
            Act::Details => self.detail.is_none() && !self.rows.is_empty(),
            Act::Approve | Act::Reject => self.decidable(),
            Act::Recent => self.detail.is_none() && !self.recent,
            Act::Pending => self.detail.is_none() && self.recent,
            Act::Back => true,
        }
    }

    fn event(&mut self, event: Option<Event>, ctx: &mut Ctx) {
        match event {
            Some(Event::Changed(notice)) => {
                self.unseen = Some(notice.clone());
                self.notice = Some(notice);
                self.load(ctx);
                self.load_detail(ctx);
            }
            Some(Event::Notice(notice)) => {
                self.unseen = Some(notice.clone());
                self.notice = Some(notice);
            }
            Some(Event::Filter(_)) | None => {}
        }
    }
}

impl Tab for ApprovalsView {
    fn activate(&mut self, ctx: &mut Ctx) {
        self.load(ctx);
        self.load_detail(ctx);
    }

    fn key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Handled {
        if self.dialogs.is_open() {
            let (handled, event) = self.dialogs.key(key, ctx);
            self.event(event, ctx);
            return handled;
        }
        if self.detail.is_none()
            && let Some(n) = nav(key)
        {
            self.nav.apply(n, self.rows.len());
            return Handled::Yes;
        }
        match KEYS.find(key, ctx.allow, |a| self.offers(a)) {
            Some(Act::Details) => {
                if let Some(r) = self.rows.get(self.nav.selected()) {
                    self.detail = Some(Detail {
                        id: r.id,
                        loading: None,
                        shown: None,
                        error: None,
                    });
                    self.load_detail(ctx);
                }
                Handled::Yes
            }
            Some(Act::Approve) => {
                if let Some(r) = self.current() {
                    let change = Approve::new(r.id, self.me.clone(), &self.files_dir, ctx.now);
                    self.dialogs
                        .open(super::change::ChangeDialog::open(change, ctx));
                }
                Handled::Yes
            }
            Some(Act::Reject) => {
                if let Some(r) = self.current() {
                    let change = Reject::new(r.id, self.me.clone());
                    self.dialogs
                        .open(super::change::ChangeDialog::open(change, ctx));
                }
                Handled::Yes
            }
            Some(Act::Recent | Act::Pending) => {
                self.recent = !self.recent;
                self.nav.reset();
                self.load(ctx);
                Handled::Yes
            }
            // Back is the app's: out of the detail, or out of the view.
            Some(Act::Back) | None => Handled::No,
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
        let outcome = match self.dialogs.reply(id, outcome, ctx) {
            Ok(event) => return self.event(event, ctx),
            Err(o) => o,
        };
        match outcome {
            Outcome::Approvals(result) if self.loading == Some(id) => {
                self.loading = None;
                self.loaded = true;
                match result {
                    Ok(rows) => {
                        // The same request stays selected.
                        let was = self.rows.get(self.nav.selected()).map(|r| r.id);
                        self.rows = rows;
                        let at = was
                            .and_then(|w| self.rows.iter().position(|r| r.id == w))
                            .unwrap_or(self.nav.selected());
                        self.nav.select(at, self.rows.len());
                        self.error = None;
                        self.poll.loaded(ctx.now);
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
            }
            Outcome::Approval(result) => {
                if let Some(d) = &mut self.detail
                    && d.loading == Some(id)
                {
                    d.loading = None;
                    match result {
                        Ok(shown) => {
                            d.shown = Some(shown);
                            d.error = None;
                        }
                        Err(e) => d.error = Some(e.to_string()),
                    }
                }
            }
            _ => {}
        }
    }

    fn depth(&self) -> usize {
        usize::from(self.detail.is_some())
    }

    fn back(&mut self, ctx: &mut Ctx) {
        if let Some(d) = self.detail.take() {
            ctx.cancel(d.loading);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.poll.due(ctx.now) && self.loading.is_none() && !self.dialogs.is_open() {
            self.load(ctx);
            if self.detail.as_ref().is_some_and(|d| d.loading.is_none()) {
                self.load_detail(ctx);
            }
        }
    }

    fn polls(&self) -> bool {
        !self.dialogs.is_open()
    }

    fn pause(&mut self) {
        self.poll.toggle();
    }

    fn copy(&self) -> Option<Copied> {
        if self.dialogs.is_open() {
            return None;
        }
        self.current()
            .map(|r| Copied::new("request id", r.id.to_string()))
    }

    fn export(&self) -> Option<Export> {
        (self.detail.is_none() && !self.dialogs.is_open()).then_some(Export {
            list: "approvals",
            source: Source::Approvals(RequestFilter {
                pending_only: !self.recent,
                limit: 1000,
            }),
        })
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        self.load(ctx);
        self.load_detail(ctx);
    }

    fn retry(&mut self, ctx: &mut Ctx) {
        if self.error.is_some() {
            self.load(ctx);
        }
        if self.detail.as_ref().is_some_and(|d| d.error.is_some()) {
            self.load_detail(ctx);
        }
        self.dialogs.retry(ctx);
    }

    fn modal(&self) -> bool {
        self.dialogs.is_open()
    }

    fn unsaved(&self) -> Option<String> {
        self.dialogs.unsaved()
    }

    fn busy(&self) -> bool {
        self.loading.is_some()
            || self.detail.as_ref().is_some_and(|d| d.loading.is_some())
            || self.dialogs.busy()
    }

    fn hints(&self, allow: &Allow) -> Vec<Hint> {
        self.dialogs
            .hints(allow)
            .unwrap_or_else(|| KEYS.hints(allow, |a| self.offers(a)))
    }

    fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        match &self.detail {
            Some(d) => self.render_detail(d, frame, area, ui),
            None => self.render_list(frame, area, ui),
        }
        self.dialogs.render(frame, area, ui);
    }
}

impl ApprovalsView {
    fn title(&self, ui: &Ui, what: String) -> Line<'static> {
        let mut title = vec![Span::raw(format!(" Approvals · {what}"))];
        if self.poll.paused() {
            title.push(Span::styled(" · paused (p)", ui.theme.warning()));
        }
        title.push(Span::raw(" "));
        Line::from(title)
    }

    fn render_list(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let what = if self.recent {
            "recent requests".to_owned()
        } else {
            format!("{} pending", self.rows.len())
        };
        let status = load_status(
            self.error.as_deref(),
            self.loading.is_some(),
            "loading…",
            area.width,
            theme,
            ui.tick,
        )
        .unwrap_or_else(|| Span::raw(""));
        let mut block = Block::bordered()
            .border_style(theme.border())
            .title(self.title(ui, what))
            .title_bottom(Line::from(status).right_aligned());
        if let Some(n) = &self.notice {
            block = block.title_bottom(Line::from(safe_styled(n, theme.success())));
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.is_empty() {
            return;
        }
        if self.rows.is_empty() {
            let text = match (self.loaded, self.recent) {
                (false, _) => "",
                (true, false) => "no request waits for approval",
                (true, true) => "no requests yet",
            };
            render_empty(frame, inner, theme, text);
            return;
        }
        let me = self.me.as_deref();
        let by = |r: &Request| {
            if me == Some(r.requested_by_login.as_str()) {
                format!("{} (you)", r.requested_by)
            } else {
                r.requested_by.clone()
            }
        };
        // As wide as the widest name (it says whose request it is), 6 to 28.
        let by_width = self
            .rows
            .iter()
            .map(|r| by(r).chars().count())
            .max()
            .unwrap_or(0)
            .clamp(6, 28);
        let mut table = ListTable::new(theme)
            .column(
                "id",
                Constraint::Length(id_width(self.rows.iter().map(|r| r.id), 3)),
            )
            .column("kind", Constraint::Length(15))
            .column(
                "by",
                Constraint::Length(u16::try_from(by_width).unwrap_or(6)),
            );
        // Exact times when there is room beside a readable summary, else
        // how long ago and how long left.
        let wide = inner.width >= 100;
        let time_width = if wide { 16 } else { 8 };
        table = table.column("asked", Constraint::Length(time_width));
        if self.recent {
            table = table.column("status", Constraint::Length(9));
        }
        table = table
            .column("summary", Constraint::Fill(1))
            .column("expires", Constraint::Length(time_width));
        let now = ui.now;
        table.render(
            frame,
            inner,
            &self.nav,
            self.rows.len(),
            self.rows.iter(),
            |r| {
                let mut cells = vec![
                    Cell::from(format!("#{}", r.id)),
                    Cell::from(safe_owned(r.kind.clone())),
                    Cell::from(safe_owned(by(r))),
                    Cell::from(if wide {
                        when(r.requested_at)
                    } else {
                        ago(now, r.requested_at)
                    }),
                ];
                if self.recent {
                    cells.push(Cell::from(safe_owned(r.status.clone())));
                }
                cells.push(Cell::from(safe_owned(r.summary.clone())));
                cells.push(Cell::from(if wide {
                    when(r.expires_at)
                } else {
                    left(now, r.expires_at)
                }));
                Row::new(cells)
            },
        );
    }

    fn render_detail(&self, d: &Detail, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let status = load_status(
            d.error.as_deref(),
            d.loading.is_some(),
            "loading…",
            area.width,
            theme,
            ui.tick,
        )
        .unwrap_or_else(|| Span::raw(""));
        let mut block = Block::bordered()
            .border_style(theme.border())
            .title(self.title(ui, format!("request #{}", d.id)))
            .title_bottom(Line::from(status).right_aligned());
        if let Some(n) = &self.notice {
            block = block.title_bottom(Line::from(safe_styled(n, theme.success())));
        }
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.is_empty() {
            return;
        }
        let Some(shown) = &d.shown else {
            return;
        };
        let r = &shown.request;
        let row = |label: &'static str, value: Span<'static>| {
            Line::from(vec![
                Span::styled(format!("{label:>10}  "), theme.dim()),
                value,
            ])
        };
        let mut lines = vec![
            row("kind", safe_owned(r.kind.clone())),
            row("summary", safe_owned(r.summary.clone())),
            row("status", safe_owned(r.status.clone())),
            row("asked by", safe_owned(requester(r))),
            row("asked", Span::raw(exact(r.requested_at))),
            row("expires", Span::raw(exact(r.expires_at))),
            row("reason", safe_owned(r.reason.clone())),
        ];
        if let Some(by) = &r.decided_by {
            let login = r.decided_by_login.as_deref().unwrap_or("");
            let by = if login.is_empty() || login == by {
                by.clone()
            } else {
                format!("{by} (login {login})")
            };
            lines.push(row("decided by", safe_owned(by)));
        }
        if let Some(t) = r.decided_at {
            lines.push(row("decided", Span::raw(exact(t))));
        }
        if let Some(why) = &r.decision_reason {
            lines.push(row("why", safe_owned(why.clone())));
        }
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled("effect now", theme.header())));
        if shown.effect_now.is_empty() {
            lines.push(Line::from(Span::styled(
                "  (nothing to compute)",
                theme.dim(),
            )));
        }
        for e in &shown.effect_now {
            lines.push(Line::from(vec![Span::raw("  "), safe_owned(e.clone())]));
        }
        if r.status == "pending" && self.me.as_deref() == Some(r.requested_by_login.as_str()) {
            lines.push(Line::raw(""));
            lines.push(Line::from(Span::styled(
                "your own request: another person must approve or reject it",
                theme.warning(),
            )));
        } else if r.status == "pending" && !ui.allow.permits(Action::ApprovalDecide) {
            lines.push(Line::raw(""));
            lines.push(Line::from(Span::styled(
                "your role may not approve or reject requests",
                theme.dim(),
            )));
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}

/// `5m ago`, `3h ago`, `2d ago`.
fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    format!("{} ago", span(now - t))
}

/// `in 23h`, or `expired`.
fn left(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    if t <= now {
        "expired".into()
    } else {
        format!("in {}", span(t - now))
    }
}

fn span(d: chrono::Duration) -> String {
    let m = d.num_minutes().max(0);
    match m {
        0..60 => format!("{m}m"),
        60..2880 => format!("{}h", m / 60),
        _ => format!("{}d", m / 1440),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn relative_times_are_short() {
        let t = Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap();
        assert_eq!(ago(t, t), "0m ago");
        assert_eq!(ago(t + chrono::Duration::minutes(90), t), "1h ago");
        assert_eq!(ago(t + chrono::Duration::days(3), t), "3d ago");
        assert_eq!(left(t, t + chrono::Duration::hours(24)), "in 24h");
        assert_eq!(left(t, t - chrono::Duration::seconds(1)), "expired");
    }
}
