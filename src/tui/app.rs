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
use super::command::{Command, Job, Outcome, Owner, Reply, RequestId};
use super::ctx::{Ctx, Ids, Outbox};
use super::keymap::{Allow, BACK, Bind, Hint, Key, Keymap};
use super::keys::{is_char, is_ctrl, is_esc, is_press};
use super::link::Link;
use super::tabs::{Handled, Tab, TabId, Tabs};
use super::theme::Theme;
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
    quit: bool,
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
            quit: false,
        }
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
            Msg::Start => self.with_tab(self.active, out, |t, ctx| t.activate(ctx)),
            Msg::Tick(now) => {
                self.now = now;
                self.tick = self.tick.wrapping_add(1);
                if self.flash.as_ref().is_some_and(|(_, until)| now >= *until) {
                    self.flash = None;
                }
                if self.popup.is_none() && self.db == DbHealth::Ok {
                    self.with_tab(self.active, out, |t, ctx| t.tick(ctx));
                }
            }
            Msg::Now(now) => self.now = now,
            Msg::Resize(..) => {}
            Msg::Quit => self.quit = true,
            Msg::Key(key) if is_press(&key) => self.key(&key, out),
            Msg::Key(_) => {}
            Msg::Paste(text) => {
                if self.popup.is_none() {
                    self.with_tab(self.active, out, |t, ctx| t.paste(&text, ctx));
                }
            }
            Msg::Reply(reply) => self.reply(reply, out),
            Msg::Open(link) => {
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
            }
            return;
        }
        let active = self.active;
        // The screen's own keys come first; a dialog or a text field keeps
        // every key but quit and help.
        let modal = self.tabs.get(active).modal();
        if self.with_tab(active, out, |t, ctx| t.key(key, ctx)) == Handled::Yes {
            return;
        }
        let polls = self.tabs.get(active).polls();
        let copy = self.tabs.get(active).copy();
        let offers = |g: Global| match g {
            // Back when the screen had nothing left to close or cancel.
            Global::Quit | Global::Help | Global::Back => true,
            Global::Pause => !modal && polls,
            Global::Copy => copy.is_some(),
            _ => !modal,
        };
        match GLOBAL_KEYS.find(key, &self.allow, offers) {
            Some(Global::Copy) => {
                if let Some(c) = copy {
                    self.flash = Some((
                        format!("copied the {} {}", c.what, c.value),
                        self.now + FLASH_FOR,
                    ));
                    out.commands.push(Command::Copy(c.value));
                }
            }
            Some(Global::Pause) => self.tabs.get_mut(active).pause(),
            Some(Global::Quit) => self.request_quit(),
            Some(Global::Help) => self.popup = Some(Popup::Help),
            Some(Global::Switch) => {
                let tab = match key.code {
                    KeyCode::Char(c) => TabId::from_digit(c),
                    KeyCode::BackTab => Some(active.prev()),
                    _ => Some(active.next()),
                };
                if let Some(tab) = tab {
                    self.switch(tab, out);
                }
            }
            Some(Global::Refresh) => self.with_tab(active, out, |t, ctx| t.refresh(ctx)),
            Some(Global::Back) => self.back(out),
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
        let reason = TabId::ALL.iter().find_map(|t| self.tabs.get(*t).unsaved());
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
            Owner::App => self.health(id, outcome, out),
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
