//! One batch: its user, model (which may be gone), options, photos, what it
//! charged and refunded by the ledger (beside its own `creditsUsed`), its
//! ledger entries, and the fail-and-refund dialog.

use std::cell::Cell;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::age;
use super::fail::Fail;
use crate::db::batches::{BatchDetail, BatchSummary};
use crate::domain::batch_options::{list_text, options_text};
use crate::domain::role::Action;
use crate::domain::text::truncate_width;
use crate::tui::app::Msg;
use crate::tui::change::ChangeDialog;
use crate::tui::command::{Job, Outcome, RequestId};
use crate::tui::ctx::Ctx;
use crate::tui::dialog::{Dialogs, Event};
use crate::tui::format::{type_label, when};
use crate::tui::keymap::{Allow, Bind, ESC, Hint, Key, Keymap};
use crate::tui::keys::{Nav, nav};
use crate::tui::link::Link;
use crate::tui::tabs::Ui;
use crate::tui::theme::Theme;
use crate::tui::widgets::{fit, safe_owned, spinner};

/// Width of the labels on the left.
const LABEL: usize = 12;

/// What a key does on a batch's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Fail,
    User,
    Scroll,
    Back,
}

const KEYS: Keymap<Act> = Keymap(&[
    Bind::new(
        &[Key::Char('F'), Key::Char('x')],
        "F x",
        "fail & refund",
        Act::Fail,
    )
    .footer()
    .writes(Action::BatchFail),
    Bind::new(&[Key::Char('u')], "u", "open user", Act::User).footer(),
    Bind::new(&[], "↑↓", "scroll", Act::Scroll).footer(),
    Bind::new(ESC, "Esc", "back", Act::Back).footer(),
]);

pub(super) enum KeyResult {
    Handled,
    Ignored,
    /// Esc with nothing to cancel: back to the list.
    Back,
}

pub struct Detail {
    pub id: i32,
    /// The list's row, shown until the batch arrives.
    pub summary: Option<BatchSummary>,
    pub batch: Option<BatchDetail>,
    pending: Option<RequestId>,
    /// When the batch arrived: its age keeps counting from there.
    loaded_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    failed: bool,
    /// The first line shown.
    scroll: usize,
    /// Rows seen at the last render: a page.
    height: Cell<usize>,
    /// Generating longer than this is stuck (the list's threshold).
    stuck_after: Duration,
    /// The fail-and-refund dialog.
    dialogs: Dialogs,
    /// Open the fail dialog once the batch arrives (`F` in the list).
    fail_on_load: bool,
    /// The last thing done here, e.g. the batch failed (one line each).
    pub notice: Option<String>,
    /// Something was changed: the list should load again.
    pub(super) changed: bool,
}

impl Detail {
    pub fn open(
        id: i32,
        summary: Option<BatchSummary>,
        stuck_after: Duration,
        ctx: &mut Ctx,
    ) -> Self {
        let mut d = Self {
            id,
            summary,
            batch: None,
            pending: None,
            loaded_at: None,
            error: None,
            failed: false,
            scroll: 0,
            height: Cell::new(0),
            stuck_after,
            dialogs: Dialogs::default(),
            fail_on_load: false,
            notice: None,
            changed: false,
        };
        d.load(ctx);
        d
    }

    /// Opens the fail dialog as soon as the batch is loaded.
    pub(super) fn fail_when_loaded(&mut self, ctx: &Ctx) {
        if ctx.permits(Action::BatchFail) {
            self.fail_on_load = true;
        }
    }

    /// Leaving the batch: stop what is loading.
    pub(super) fn close(&self, ctx: &mut Ctx) {
        ctx.cancel(self.pending);
    }

    fn load(&mut self, ctx: &mut Ctx) {
        ctx.cancel(self.pending.take());
        self.pending = Some(ctx.request(Job::Batch { id: self.id }));
        self.error = None;
        self.failed = false;
    }

    pub(super) fn refresh(&mut self, ctx: &mut Ctx) {
        self.load(ctx);
    }

    pub(super) fn retry(&mut self, ctx: &mut Ctx) {
        if self.failed {
            self.load(ctx);
        }
    }

    pub fn modal(&self) -> bool {
        self.dialogs.is_open()
    }

    pub fn busy(&self) -> bool {
        self.pending.is_some() || self.dialogs.busy()
    }

    pub fn unsaved(&self) -> Option<String> {
        self.dialogs.unsaved()
    }

    /// What the batch screen offers: failing only a batch that can still be
    /// failed (generating) or refunded (failed, charged, never refunded).
    fn offers(&self, act: Act) -> bool {
        if act != Act::Fail {
            return true;
        }
        match (&self.batch, &self.summary) {
            (Some(b), _) => match b.status.as_str() {
                "generating" => true,
                "failed" => b.charged > 0 && b.refunded == 0,
                _ => false,
            },
            (None, Some(s)) => matches!(s.status.as_str(), "generating" | "failed"),
            (None, None) => false,
        }
    }

    /// The batch's age now, by the database's clock when it was read.
    fn age_now(&self, now: DateTime<Utc>) -> Option<i64> {
        let since = self.loaded_at.map_or(0, |t| (now - t).num_seconds().max(0));
        match (&self.batch, &self.summary) {
            (Some(b), _) => Some(b.age_seconds.saturating_add(since)),
            (None, Some(s)) => Some(s.age_seconds),
            (None, None) => None,
        }
    }

    fn open_fail(&mut self, ctx: &mut Ctx) {
        if !ctx.permits(Action::BatchFail) || !self.offers(Act::Fail) {
            return;
        }
        if let Some(b) = &self.batch {
            let age = self.age_now(ctx.now).unwrap_or(b.age_seconds);
            let fail = Fail {
                batch: b.clone(),
                age_seconds: age,
                reviewed: None,
            };
            self.dialogs.open(ChangeDialog::open(fail, ctx));
            self.notice = None;
        }
    }

    pub(super) fn paste(&mut self, text: &str) -> bool {
        self.dialogs.paste(text)
    }

    fn event(&mut self, event: Option<Event>, ctx: &mut Ctx) {
        match event {
            Some(Event::Changed(notice)) => {
                self.notice = Some(notice);
                self.changed = true;
                self.load(ctx);
            }
            Some(Event::Notice(notice)) => self.notice = Some(notice),
            Some(Event::Filter(_)) | None => {}
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
            let page = self.height.get().max(2) - 1;
            // The last line at the bottom of the last height seen.
            let last = self.line_count().saturating_sub(self.height.get().max(1));
            self.scroll = match n {
                Nav::Up => self.scroll.saturating_sub(1),
                Nav::Down => self.scroll + 1,
                Nav::PageUp => self.scroll.saturating_sub(page),
                Nav::PageDown => self.scroll + page,
                Nav::Home => 0,
                Nav::End => last,
            }
            .min(last);
            return KeyResult::Handled;
        }
        match KEYS.find(key, ctx.allow, |a| self.offers(a)) {
            Some(Act::Fail) => {
                self.open_fail(ctx);
                KeyResult::Handled
            }
            Some(Act::User) => {
                let user = match (&self.batch, &self.summary) {
                    (Some(b), _) => Some(b.user.id),
                    (None, Some(s)) => Some(s.user_id),
                    (None, None) => None,
                };
                if let Some(id) = user {
                    ctx.emit(Msg::Open(Link::User(id)));
                }
                KeyResult::Handled
            }
            Some(Act::Back) if self.pending.is_some() => {
                ctx.cancel(self.pending.take());
                self.fail_on_load = false;
                KeyResult::Handled
            }
            Some(Act::Back) => KeyResult::Back,
            Some(Act::Scroll) | None => KeyResult::Ignored,
        }
    }

    pub(super) fn reply(&mut self, id: RequestId, outcome: Outcome, ctx: &mut Ctx) {
        let outcome = match self.dialogs.reply(id, outcome, ctx) {
            Ok(event) => return self.event(event, ctx),
            Err(outcome) => outcome,
        };
        let Outcome::Batch(result) = outcome else {
            return;
        };
        if self.pending != Some(id) {
            return;
        }
        self.pending = None;
        match result {
            Ok(b) => {
                self.batch = Some(*b);
                self.loaded_at = Some(ctx.now);
                if std::mem::take(&mut self.fail_on_load) {
                    self.open_fail(ctx);
                }
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.failed = true;
                self.fail_on_load = false;
            }
        }
    }

    pub(super) fn hints(&self, allow: &Allow) -> Vec<Hint> {
        self.dialogs
            .hints(allow)
            .unwrap_or_else(|| KEYS.hints(allow, |a| self.offers(a)))
    }

    /// Lines of the body; they never wrap, so their number doesn't depend
    /// on the width.
    fn line_count(&self) -> usize {
        // Only the count matters here: the theme and clock don't change it.
        self.lines(&Theme::NO_COLOR, DateTime::<Utc>::MIN_UTC, 0)
            .len()
    }

    pub(super) fn render(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let theme = ui.theme;
        let mut title = vec![Span::styled(format!(" Batch #{}", self.id), theme.title())];
        let status = self
            .batch
            .as_ref()
            .map(|b| b.status.as_str())
            .or(self.summary.as_ref().map(|s| s.status.as_str()));
        if let Some(s) = status {
            title.push(Span::raw(" · "));
            title.push(safe_owned(s.to_owned()));
        }
        title.push(Span::raw(" "));
        let bottom = if let Some(e) = &self.error {
            Span::styled(
                fit(&format!(" {e} — R to retry "), area.width),
                theme.error(),
            )
        } else if self.pending.is_some() {
            Span::styled(
                format!(" {} ", spinner::loading(ui.tick, "loading…")),
                theme.warning(),
            )
        } else {
            Span::raw("")
        };
        let block = Block::bordered()
            .border_style(theme.border())
            .title(Line::from(title))
            .title_bottom(Line::from(bottom).right_aligned());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if !inner.is_empty() {
            let inner = Rect {
                x: inner.x.saturating_add(1),
                width: inner.width.saturating_sub(1),
                ..inner
            };
            let lines = self.lines(theme, ui.now, usize::from(inner.width));
            let height = usize::from(inner.height);
            self.height.set(height);
            // Never scroll past the point where the last line is at the bottom.
            let scroll = self.scroll.min(lines.len().saturating_sub(height));
            let shown: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
            frame.render_widget(Paragraph::new(shown), inner);
        }
        self.dialogs.render(frame, area, ui);
    }

    fn lines(&self, theme: &Theme, now: DateTime<Utc>, width: usize) -> Vec<Line<'static>> {
        let field = |label: &'static str, value: Vec<Span<'static>>| {
            let mut spans = vec![Span::styled(format!("{label:<LABEL$}"), theme.dim())];
            spans.extend(value);
            Line::from(spans)
        };
        let mut lines = Vec::new();
        if let Some(n) = &self.notice {
            for part in n.lines() {
                lines.push(Line::from(
                    safe_owned(part.to_owned()).style(theme.success()),
                ));
            }
        }
        let Some(b) = &self.batch else {
            // The list's row until the batch arrives.
            if let Some(s) = &self.summary {
                lines.push(field(
                    "status",
                    vec![safe_owned(format!(
                        "{}, {} images, {} old",
                        s.status,
                        s.images,
                        age(s.age_seconds)
                    ))],
                ));
                lines.push(field(
                    "user",
                    vec![safe_owned(format!("#{} {}", s.user_id, s.user_email))],
                ));
            }
            return lines;
        };
        let age_now = self.age_now(now).unwrap_or(b.age_seconds);
        let stuck = b.status == "generating" && age_now > self.stuck_after.num_seconds();
        let mut status = vec![
            safe_owned(b.status.clone()),
            Span::raw(format!(", {} images", b.images)),
        ];
        if stuck {
            status.push(Span::styled(
                format!("  stuck: generating for {}", age(age_now)),
                theme.warning(),
            ));
        }
        lines.push(field("status", status));
        let completed = match b.completed_at {
            Some(t) => format!(", completed {}", when(t)),
            None => ", not completed".to_owned(),
        };
        lines.push(field(
            "created",
            vec![Span::raw(format!(
                "{} ({} ago){completed}",
                when(b.created_at),
                age(age_now)
            ))],
        ));
        let mut user = vec![safe_owned(format!("#{} {}", b.user.id, b.user.email))];
        if let Some(name) = &b.user.name {
            user.push(safe_owned(format!(" ({name})")));
        }
        user.push(Span::raw(format!(", balance {}", b.user.credits)));
        lines.push(field("user", user));
        lines.push(field(
            "model",
            match &b.model {
                Some(m) => vec![safe_owned(format!(
                    "#{} {} ({})",
                    m.id,
                    m.name,
                    m.status.as_deref().unwrap_or("-")
                ))],
                None => vec![Span::styled(
                    "deleted (the batch outlived its model)",
                    theme.dim(),
                )],
            },
        ));
        let o = &b.options;
        lines.push(field("options", vec![safe_owned(options_text(o))]));
        lines.push(field(
            "backgrounds",
            vec![safe_owned(list_text(o.backgrounds.as_ref()))],
        ));
        lines.push(field(
            "styles",
            vec![safe_owned(list_text(o.styles.as_ref()))],
        ));
        let mut credits = vec![
            Span::raw("charged "),
            Span::styled(b.charged.to_string(), theme.title()),
            Span::raw(", refunded "),
            Span::styled(b.refunded.to_string(), theme.title()),
        ];
        if i64::from(b.credits_used) != b.charged {
            credits.push(Span::styled(
                format!("  (the batch's creditsUsed says {})", b.credits_used),
                theme.warning(),
            ));
        }
        lines.push(field("credits", credits));

        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!("Photos ({})", b.photos.len()),
            theme.header(),
        )));
        if b.photos.is_empty() {
            lines.push(Line::from(Span::styled("  none", theme.dim())));
        } else {
            lines.push(Line::from(Span::styled(
                format!("  {:<8}{:>7}  {:<16}  url", "id", "credits", "created"),
                theme.dim(),
            )));
        }
        for p in &b.photos {
            let mut spans = vec![Span::raw(format!(
                "  {:<8}{:>7}  {:<16}  ",
                format!("#{}", p.id),
                p.credits_used,
                when(p.created_at)
            ))];
            let url_room = width.saturating_sub(37).max(12);
            spans.push(safe_owned(truncate_width(&p.url, url_room)));
            lines.push(Line::from(spans));
            // A photo asked for something else than its batch: on a line of
            // its own, so it shows on a narrow screen too.
            if p.options != *o {
                lines.push(Line::from(vec![
                    Span::raw("    "),
                    safe_owned(format!(
                        "{}; backgrounds {}; styles {}",
                        options_text(&p.options),
                        list_text(p.options.backgrounds.as_ref()),
                        list_text(p.options.styles.as_ref())
                    ))
                    .style(theme.dim()),
                ]));
            }
        }

        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!("Ledger entries ({})", b.entries.len()),
            theme.header(),
        )));
        if b.entries.is_empty() {
            lines.push(Line::from(Span::styled("  none", theme.dim())));
        } else {
            lines.push(Line::from(Span::styled(
                format!(
                    "  {:<8}{:<16}  {:>7}  {:<10}  description",
                    "id", "when", "amount", "type"
                ),
                theme.dim(),
            )));
        }
        for e in &b.entries {
            let kind = type_label(&e.kind).content.into_owned();
            let mut spans = vec![
                Span::raw(format!(
                    "  {:<8}{:<16}  ",
                    format!("#{}", e.id),
                    when(e.created_at)
                )),
                Span::styled(
                    format!("{:>+7}", e.amount),
                    theme.amount(i64::from(e.amount)),
                ),
                Span::raw("  "),
                safe_owned(format!("{:<10}", truncate_width(&kind, 10))),
                Span::raw("  "),
                safe_owned(e.description.clone().unwrap_or_else(|| "-".into())),
            ];
            // The batch itself needs no mention here.
            let mut other = e.clone();
            if other.batch_id == Some(b.id) {
                other.batch_id = None;
            }
            let links = other.links();
            if !links.is_empty() {
                spans.push(Span::styled("  ", theme.dim()));
                spans.push(safe_owned(links).style(theme.dim()));
            }
            lines.push(Line::from(spans));
        }
        lines
    }
}
