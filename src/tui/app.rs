//! The state of the whole console and `update`, the one place it changes.
//!
//! `update(&mut App, Msg) -> Vec<Command>` does no IO: keys, replies and
//! ticks come in as [`Msg`]s, requests go out as [`Command`]s for the
//! effect runner. Global keys and the database health live here; the rest
//! is routed to the active tab.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};

use super::ConsoleConfig;
use super::approvals::{ApprovalsView, SessionStatus};
use super::change::ARM_AFTER;
use super::command::{Command, Job, Outcome, Owner, Reply, RequestId};
use super::ctx::{Ctx, Ids, Outbox};
use super::export::{ExportJob, Progress};
use super::keymap::{Allow, BACK, Bind, Hint, Key, Keymap};
use super::keys::{is_char, is_ctrl, is_esc, is_press};
use super::link::Link;
use super::tabs::{Handled, Tab, TabId, Tabs};
use super::theme::Theme;
use super::widgets::Poll;
use crate::domain::operator::Operator;

/// The tab shown at start-up.
pub const FIRST_TAB: TabId = TabId::Coupons;

/// How long to wait between health checks while the database is away.
pub const RETRY_EVERY: Duration = Duration::from_secs(3);

/// Everything that can happen to the console.
#[derive(Debug)]
pub enum Msg {
    /// The console starts: the first tab loads.
    Start,
    Key(KeyEvent),
    /// Bracketed paste: text for the focused field, never keys.
    Paste(String),
    Resize(u16, u16),
    /// The clock moved (spinner, times typed as "now" or "+7d").
    Tick(DateTime<Utc>),
    /// The time, given before the keys that come with it (how long a
    /// confirmation has been on screen).
    Now(DateTime<Utc>),
    Reply(Reply),
    /// Follow a link: switch to the tab that shows it.
    Open(Link),
    /// A change's confirmation appeared (the first of a session on a
    /// profile that is read-only by default asks once more first).
    Confirming,
    Quit,
}

/// Whether the database answers. A request that fails for infrastructure
/// reasons triggers a health check; while it fails, the status line says so
/// and the check repeats every [`RETRY_EVERY`]; when it succeeds, the tabs
/// repeat the reads that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbHealth {
    Ok,
    Checking(RequestId),
    Unreachable(RequestId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
    /// Quit although something would be lost (the reason).
    ConfirmQuit(String),
    /// The first change of a session on a profile that is read-only by
    /// default (`--write`): continue? (the question's first line).
    FirstChange(String),
}

pub struct App {
    /// `host:port/db` or `socket/db`: never the password.
    pub target: String,
    pub operator: Operator,
    /// Read-only mode, the role's permissions, production.
    pub allow: Allow,
    pub env_label: Option<String>,
    /// A frame around the whole console in this colour (see `ConsoleConfig`).
    pub frame_colour: Option<ratatui::style::Color>,
    pub theme: Theme,
    pub now: DateTime<Utc>,
    pub tick: u64,
    pub active: TabId,
    pub tabs: Tabs,
    pub popup: Option<Popup>,
    pub db: DbHealth,
    /// Shown in the help screen, so the operator can find the log.
    pub log_path: Option<String>,
    ids: Ids,
    /// The links followed, newest last: where back returns.
    trail: Vec<Mark>,
    /// What was just done (a copy), shown in the status line until then.
    pub flash: Option<(String, DateTime<Utc>)>,
    /// The flash says something failed (an export).
    pub flash_error: bool,
    /// The login, its role, the pending requests and the replica lag, once
    /// known ([`App::watch_session`]); polled every few seconds.
    pub status: Option<SessionStatus>,
    status_poll: Poll,
    status_request: Option<RequestId>,
    /// The Approvals view (`P`), shown over the active tab when `approvals_shown`.
    pub approvals: ApprovalsView,
    pub approvals_shown: bool,
    /// A list being written to a CSV file (`e`).
    pub export: Option<Exporting>,
    /// Where exports go: the current directory (tests change it).
    pub export_dir: std::path::PathBuf,
    /// Ask before the first change of the session (`--write` on a profile
    /// that is read-only by default); false once answered yes.
    first_change: bool,
    /// Keys before this are dropped (right after the first-change question,
    /// so its `y` can't also apply the confirmation under it).
    keys_after: Option<DateTime<Utc>>,
    quit: bool,
}

/// An export on its way.
#[derive(Debug, Clone)]
pub struct Exporting {
    pub id: RequestId,
    pub list: &'static str,
    pub progress: Progress,
}

/// A link followed: from tab `from` to a page of tab `to`, which then had
/// `depth` pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    from: TabId,
    to: TabId,
    depth: usize,
}

/// How long the status line says what was just done.
const FLASH_FOR: chrono::Duration = chrono::Duration::seconds(3);

/// How long it says where an export went (long enough to read the path).
const EXPORTED_FOR: chrono::Duration = chrono::Duration::seconds(15);

/// Links remembered at most.
const MAX_TRAIL: usize = 64;

/// What a key does on every screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    Switch,
    Refresh,
    Help,
    Back,
    Pause,
    Copy,
    Approvals,
    Export,
    Quit,
}

/// `1-5  Tab  Shift-Tab`, for as many tabs as there are.
const SWITCH_LABEL: &str = [
    "Tab  Shift-Tab",
    "1  Tab  Shift-Tab",
    "1-2  Tab  Shift-Tab",
    "1-3  Tab  Shift-Tab",
    "1-4  Tab  Shift-Tab",
    "1-5  Tab  Shift-Tab",
    "1-6  Tab  Shift-Tab",
    "1-7  Tab  Shift-Tab",
    "1-8  Tab  Shift-Tab",
    "1-9  Tab  Shift-Tab",
][TabId::ALL.len()];

/// The keys that work on every screen (after the screen's own).
pub const GLOBAL_KEYS: Keymap<Global> = Keymap(&[
    Bind::new(
        &[
            Key::Digit,
            Key::Code(KeyCode::Tab),
            Key::Code(KeyCode::BackTab),
        ],
        SWITCH_LABEL,
        "switch tab",
        Global::Switch,
    ),
    Bind::new(
        &[Key::Char('R'), Key::Code(KeyCode::F(5))],
        "R  F5",
        "refresh",
        Global::Refresh,
    ),
    Bind::new(&[Key::Char('?')], "?", "keys", Global::Help).footer(),
    Bind::new(BACK, "Esc  Backspace", "back / cancel", Global::Back),
    Bind::new(
        &[Key::Char('p')],
        "p",
        "pause / resume refreshing this list",
        Global::Pause,
    ),
    Bind::new(
        &[Key::Char('c')],
        "c",
        "copy code, email or id",
        Global::Copy,
    ),
    Bind::new(
        &[Key::Char('P')],
        "P",
        "approvals (back: Esc)",
        Global::Approvals,
    ),
    Bind::new(
        &[Key::Char('e')],
        "e",
        "export to a CSV file",
        Global::Export,
    ),
    Bind::new(
        &[Key::Char('q'), Key::Ctrl('c')],
        "q  Ctrl-C",
        "quit",
        Global::Quit,
    )
    .footer(),
]);

/// The footer's short forms of the global keys.
pub const GLOBAL_FOOTER: [Hint; 2] = [Hint::footer("?", "keys"), Hint::footer("q", "quit")];

impl App {
    /// `now` and `session` are given so tests can fix them; `session` makes
    /// this run's idempotency keys unique.
    pub fn new(
        config: &ConsoleConfig,
        now: DateTime<Utc>,
        theme: Theme,
        session: impl Into<String>,
    ) -> Self {
        Self {
            target: config.target.to_string(),
            operator: config.operator.clone(),
            allow: Allow {
                read_only: config.read_only,
                permissions: config.permissions.clone(),
                production: config.is_production(),
            },
            env_label: config.env_label.clone().filter(|l| !l.trim().is_empty()),
            frame_colour: config.frame_colour,
            theme,
            now,
            tick: 0,
            active: FIRST_TAB,
            tabs: Tabs::default(),
            popup: None,
            db: DbHealth::Ok,
            log_path: None,
            ids: Ids::new(session),
            trail: Vec::new(),
            flash: None,
            flash_error: false,
            status: None,
            status_poll: Poll::default(),
            status_request: None,
            approvals: ApprovalsView::default(),
            approvals_shown: false,
            export: None,
            export_dir: std::path::PathBuf::from("."),
            first_change: config.confirm_first_change && !config.read_only,
            keys_after: None,
            quit: false,
        }
    }

    /// The session as read at connect time: the status line shows it and
    /// reads it again every few seconds (the pending count, the lag).
    pub fn watch_session(&mut self, status: SessionStatus) {
        self.approvals.me = Some(status.login.clone());
        self.status = Some(status);
    }

    /// `p` paused the status line's readings.
    pub fn status_paused(&self) -> bool {
        self.status_poll.paused()
    }

    /// The screen shown: the Approvals view, or the active tab.
    pub fn screen(&self) -> &dyn Tab {
        if self.approvals_shown {
            &self.approvals
        } else {
            self.tabs.get(self.active)
        }
    }

    /// The title of the screen shown (for the help).
    pub fn screen_title(&self) -> &'static str {
        if self.approvals_shown {
            "Approvals"
        } else {
            self.active.title()
        }
    }

    fn with_screen<R>(
        &mut self,
        out: &mut Outbox,
        f: impl FnOnce(&mut dyn Tab, &mut Ctx) -> R,
    ) -> R {
        if self.approvals_shown {
            self.with_approvals(out, f)
        } else {
            self.with_tab(self.active, out, f)
        }
    }

    fn with_approvals<R>(
        &mut self,
        out: &mut Outbox,
        f: impl FnOnce(&mut dyn Tab, &mut Ctx) -> R,
    ) -> R {
        let mut ctx = Ctx::new(Owner::App, self.now, &self.allow, &mut self.ids, out);
        f(&mut self.approvals, &mut ctx)
    }

    fn poll_status(&mut self, out: &mut Outbox) {
        if self.status.is_some() && self.status_request.is_none() {
            let id = self.app_ctx(out).request(Job::Status);
            self.status_request = Some(id);
        }
    }

    fn show_approvals(&mut self, out: &mut Outbox) {
        self.approvals.files_dir.clone_from(&self.export_dir);
        self.approvals_shown = true;
        self.popup = None;
        self.with_approvals(out, |t, ctx| t.activate(ctx));
    }

    /// Back to the tab the view was opened from, shown again.
    fn close_approvals(&mut self, out: &mut Outbox) {
        self.approvals_shown = false;
        self.with_tab(self.active, out, |t, ctx| t.activate(ctx));
    }

    fn start_export(&mut self, out: &mut Outbox) {
        let Some(export) = self.screen().export() else {
            return;
        };
        let list = export.list;
        let path = self.export_dir.join(format!(
            "creditdesk-{list}-{}.csv",
            self.now.format("%Y%m%d-%H%M%S")
        ));
        let progress = Progress::default();
        let id = self.app_ctx(out).request(Job::Export(ExportJob {
            export,
            path,
            progress: progress.clone(),
        }));
        self.export = Some(Exporting { id, list, progress });
    }

    fn say(&mut self, text: String, error: bool, for_: chrono::Duration) {
        self.flash = Some((text, self.now + for_));
        self.flash_error = error;
    }

    pub fn read_only(&self) -> bool {
        self.allow.read_only
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Some request is on its way (the status line shows a spinner).
    pub fn busy(&self) -> bool {
        TabId::ALL.iter().any(|t| self.tabs.get(*t).busy())
            || self.approvals.busy()
            || self.export.is_some()
    }

    pub fn active_tab(&self) -> &dyn Tab {
        self.tabs.get(self.active)
    }

    fn with_tab<R>(
        &mut self,
        id: TabId,
        out: &mut Outbox,
        f: impl FnOnce(&mut dyn Tab, &mut Ctx) -> R,
    ) -> R {
        let mut ctx = Ctx::new(Owner::Tab(id), self.now, &self.allow, &mut self.ids, out);
        f(self.tabs.get_mut(id), &mut ctx)
    }

    fn app_ctx<'a>(&'a mut self, out: &'a mut Outbox) -> Ctx<'a> {
        Ctx::new(Owner::App, self.now, &self.allow, &mut self.ids, out)
    }

    fn handle(&mut self, msg: Msg, out: &mut Outbox) {
        match msg {
            Msg::Start => {
                self.with_tab(self.active, out, |t, ctx| t.activate(ctx));
                self.poll_status(out);
            }
            Msg::Tick(now) => {
                self.now = now;
                self.tick = self.tick.wrapping_add(1);
                if self.flash.as_ref().is_some_and(|(_, until)| now >= *until) {
                    self.flash = None;
                }
                if self.popup.is_none() && self.db == DbHealth::Ok {
                    self.with_screen(out, |t, ctx| t.tick(ctx));
                }
                if self.db == DbHealth::Ok && self.status_poll.due(now) {
                    self.poll_status(out);
                }
            }
            Msg::Confirming => {
                if self.first_change {
                    let place = match &self.env_label {
                        Some(label) => format!(
                            "This is {}, a profile read-only by default.",
                            crate::domain::text::sanitize(label.trim())
                        ),
                        None => "This profile is read-only by default.".to_owned(),
                    };
                    self.popup = Some(Popup::FirstChange(place));
                }
            }
            Msg::Now(now) => self.now = now,
            Msg::Resize(..) => {}
            Msg::Quit => self.quit = true,
            Msg::Key(key) if is_press(&key) => self.key(&key, out),
            Msg::Key(_) => {}
            Msg::Paste(text) => {
                if self.popup.is_none() {
                    self.with_screen(out, |t, ctx| t.paste(&text, ctx));
                }
            }
            Msg::Reply(reply) => self.reply(reply, out),
            Msg::Open(link) => {
                // A link leaves the Approvals view for the tab that shows it.
                self.approvals_shown = false;
                let from = self.active;
                let target = link.tab();
                self.switch(target, out);
                let depth = self.tabs.get(target).depth();
                let shown = self.with_tab(target, out, |t, ctx| t.open(&link, ctx));
                if !shown {
                    tracing::warn!(%link, "no tab could open the link");
                }
                // The page the link put on top: back returns to `from`.
                let now = self.tabs.get(target).depth();
                if now > depth {
                    self.trail.push(Mark {
                        from,
                        to: target,
                        depth: now,
                    });
                    if self.trail.len() > MAX_TRAIL {
                        self.trail.remove(0);
                    }
                }
            }
        }
    }

    fn key(&mut self, key: &KeyEvent, out: &mut Outbox) {
        if is_ctrl(key, 'c') {
            if matches!(self.popup, Some(Popup::ConfirmQuit(_))) {
                self.quit = true;
            } else {
                self.request_quit();
            }
            return;
        }
        if let Some(popup) = &self.popup {
            match popup {
                Popup::Help => {
                    if is_esc(key)
                        || is_char(key, '?')
                        || is_char(key, 'q')
                        || key.code == KeyCode::Enter
                    {
                        self.popup = None;
                    }
                }
                Popup::ConfirmQuit(_) => {
                    if is_char(key, 'y') || is_char(key, 'q') || key.code == KeyCode::Enter {
                        self.quit = true;
                    } else if is_esc(key) || is_char(key, 'n') {
                        self.popup = None;
                    }
                }
                // Only `y` goes on (Enter is pressed by habit); anything
                // else goes back from the confirmation.
                Popup::FirstChange(_) => {
                    self.popup = None;
                    if is_char(key, 'y') {
                        self.first_change = false;
                        self.keys_after = Some(
                            self.now + chrono::Duration::from_std(ARM_AFTER).unwrap_or_default(),
                        );
                    } else {
                        let esc = KeyEvent::new(KeyCode::Esc, crossterm::event::KeyModifiers::NONE);
                        self.with_screen(out, |t, ctx| t.key(&esc, ctx));
                    }
                }
            }
            return;
        }
        if let Some(after) = self.keys_after {
            if self.now < after {
                return;
            }
            self.keys_after = None;
        }
        let active = self.active;
        // The screen's own keys come first; a dialog or a text field keeps
        // every key but quit and help.
        let modal = self.screen().modal();
        if self.with_screen(out, |t, ctx| t.key(key, ctx)) == Handled::Yes {
            return;
        }
        let polls = self.screen().polls();
        let copy = self.screen().copy();
        let exports = self.export.is_none() && self.screen().export().is_some();
        let offers = |g: Global| match g {
            // Back when the screen had nothing left to close or cancel.
            Global::Quit | Global::Help | Global::Back => true,
            Global::Pause => !modal && polls,
            Global::Copy => copy.is_some(),
            Global::Export => !modal && exports,
            _ => !modal,
        };
        match GLOBAL_KEYS.find(key, &self.allow, offers) {
            Some(Global::Copy) => {
                if let Some(c) = copy {
                    self.say(
                        format!("copied the {} {}", c.what, c.value),
                        false,
                        FLASH_FOR,
                    );
                    out.commands.push(Command::Copy(c.value));
                }
            }
            Some(Global::Pause) => {
                if self.approvals_shown {
                    self.approvals.pause();
                } else {
                    self.tabs.get_mut(active).pause();
                }
                // The status line's count pauses with the list.
                self.status_poll.toggle();
            }
            Some(Global::Quit) => self.request_quit(),
            Some(Global::Help) => self.popup = Some(Popup::Help),
            Some(Global::Switch) => {
                let tab = match key.code {
                    KeyCode::Char(c) => TabId::from_digit(c),
                    KeyCode::BackTab => Some(active.prev()),
                    _ => Some(active.next()),
                };
                if let Some(tab) = tab {
                    if self.approvals_shown {
                        self.approvals_shown = false;
                        if tab == active {
                            self.with_tab(tab, out, |t, ctx| t.activate(ctx));
                        }
                    }
                    self.switch(tab, out);
                }
            }
            Some(Global::Refresh) => self.with_screen(out, |t, ctx| t.refresh(ctx)),
            Some(Global::Back) if self.approvals_shown => {
                if self.approvals.depth() > 0 {
                    self.with_approvals(out, |t, ctx| t.back(ctx));
                } else {
                    self.close_approvals(out);
                }
            }
            Some(Global::Back) => self.back(out),
            Some(Global::Approvals) if self.approvals_shown => self.close_approvals(out),
            Some(Global::Approvals) => self.show_approvals(out),
            Some(Global::Export) => self.start_export(out),
            None => {}
        }
    }

    /// Back one page, as a browser's back button: the page a link opened
    /// returns to where the link was followed (that tab, as it was); else
    /// the tab's own page below.
    fn back(&mut self, out: &mut Outbox) {
        let active = self.active;
        let depth = self.tabs.get(active).depth();
        // Marks of pages left some other way (closed, replaced) are stale.
        while self
            .trail
            .last()
            .is_some_and(|m| m.to == active && m.depth > depth)
        {
            self.trail.pop();
        }
        if depth == 0 {
            return;
        }
        let came_from = match self.trail.last() {
            Some(m) if m.to == active && m.depth == depth => {
                let from = m.from;
                self.trail.pop();
                Some(from)
            }
            _ => None,
        };
        self.with_tab(active, out, |t, ctx| t.back(ctx));
        if let Some(from) = came_from
            && from != active
        {
            self.switch(from, out);
        }
    }

    fn request_quit(&mut self) {
        let reason = TabId::ALL
            .iter()
            .find_map(|t| self.tabs.get(*t).unsaved())
            .or_else(|| self.approvals.unsaved());
        match reason {
            Some(reason) => self.popup = Some(Popup::ConfirmQuit(reason)),
            None => self.quit = true,
        }
    }

    fn switch(&mut self, tab: TabId, out: &mut Outbox) {
        if tab != self.active {
            self.active = tab;
            self.popup = None;
            self.with_tab(tab, out, |t, ctx| t.activate(ctx));
        }
    }

    fn reply(&mut self, reply: Reply, out: &mut Outbox) {
        let Reply { id, owner, outcome } = reply;
        match owner {
            Owner::App if self.status_request == Some(id) => self.status_reply(outcome),
            Owner::App if self.export.as_ref().is_some_and(|e| e.id == id) => {
                self.export_reply(outcome);
            }
            Owner::App if matches!(self.db, DbHealth::Checking(c) | DbHealth::Unreachable(c) if c == id) =>
            {
                self.health(id, outcome, out);
            }
            // The rest of the app's requests are the Approvals view's.
            Owner::App => {
                if outcome.is_infrastructure_error() {
                    self.suspect_database(out);
                }
                self.with_approvals(out, |t, ctx| t.reply(id, outcome, ctx));
                if let Some(notice) = self.approvals.unseen.take()
                    && !self.approvals_shown
                {
                    self.say(notice, false, EXPORTED_FOR);
                }
            }
            Owner::Tab(tab) => {
                if outcome.is_infrastructure_error() {
                    self.suspect_database(out);
                } else if matches!(self.db, DbHealth::Unreachable(_)) && outcome.error().is_none() {
                    // Something got through: the database is back.
                    self.database_back(out);
                }
                self.with_tab(tab, out, |t, ctx| t.reply(id, outcome, ctx));
            }
        }
    }

    fn suspect_database(&mut self, out: &mut Outbox) {
        if self.db == DbHealth::Ok {
            let id = self.app_ctx(out).request(Job::Ping);
            self.db = DbHealth::Checking(id);
        }
    }

    fn database_back(&mut self, out: &mut Outbox) {
        if let DbHealth::Unreachable(retry) = self.db {
            self.app_ctx(out).cancel(Some(retry));
        }
        self.db = DbHealth::Ok;
        tracing::info!("the database answers again");
        for tab in TabId::ALL {
            self.with_tab(tab, out, |t, ctx| t.retry(ctx));
        }
        self.with_approvals(out, |t, ctx| t.retry(ctx));
    }

    fn status_reply(&mut self, outcome: Outcome) {
        self.status_request = None;
        // The next reading in a few seconds, whatever this one was.
        self.status_poll.loaded(self.now);
        match outcome {
            Outcome::Status(Ok(s)) => {
                self.approvals.me = Some(s.login.clone());
                self.status = Some(s);
            }
            Outcome::Status(Err(e)) => tracing::debug!(error = %e, "reading the session failed"),
            _ => {}
        }
    }

    fn export_reply(&mut self, outcome: Outcome) {
        let Some(export) = self.export.take() else {
            return;
        };
        match outcome {
            Outcome::Exported(Ok(done)) => {
                let text = format!(
                    "wrote {} rows to {}{}",
                    super::export::thousands(done.rows),
                    done.path.display(),
                    done.note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                );
                tracing::info!(list = export.list, rows = done.rows, path = %done.path.display(), "exported");
                self.say(text, false, EXPORTED_FOR);
            }
            Outcome::Exported(Err(e)) => {
                self.say(
                    format!("export of {} failed: {e}", export.list),
                    true,
                    EXPORTED_FOR,
                );
            }
            _ => {}
        }
    }

    fn health(&mut self, id: RequestId, outcome: Outcome, out: &mut Outbox) {
        let ours = matches!(self.db, DbHealth::Checking(c) | DbHealth::Unreachable(c) if c == id);
        if !ours {
            return;
        }
        match outcome {
            Outcome::Ping(Ok(())) => {
                if matches!(self.db, DbHealth::Unreachable(_)) {
                    self.database_back(out);
                } else {
                    // It answers: the failure was something else, which the
                    // tab shows; `r` tries again.
                    self.db = DbHealth::Ok;
                }
            }
            other => {
                if let Some(e) = other.error() {
                    tracing::warn!(error = %e, "database unreachable");
                }
                let retry = self.app_ctx(out).request_after(RETRY_EVERY, Job::Ping);
                self.db = DbHealth::Unreachable(retry);
            }
        }
    }
}

/// Applies one message and returns what to run. Messages a handler emits
/// (e.g. `Msg::Open`) are handled before returning, in order.
pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    let mut out = Outbox::default();
    let mut queue = VecDeque::from([msg]);
    // A handler emitting messages that emit messages forever is a bug; stop
    // it rather than hang the console.
    let mut budget = 64;
    while let Some(msg) = queue.pop_front() {
        app.handle(msg, &mut out);
        queue.extend(out.msgs.drain(..));
        budget -= 1;
        if budget == 0 {
            tracing::error!("message loop: too many follow-up messages, dropped the rest");
            break;
        }
    }
    out.commands
}
