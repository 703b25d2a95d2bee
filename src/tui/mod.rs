//! The console: a tabbed terminal UI over the same `db` operations the
//! commands use.
//!
//! The Elm loop: a key becomes a [`Msg`]; [`update`] changes the [`App`]
//! and returns [`Command`]s (no IO); the [`Effects`] runner turns each into
//! a task calling `crate::db` and sends the result back as a `Msg`; [`view`]
//! draws the app. [`run_loop`] wires them over any ratatui backend, so tests
//! run the whole console on `TestBackend`. How to add a tab: `README.md`
//! beside this file.

pub mod app;
pub mod approvals;
pub mod change;
pub mod clipboard;
pub mod command;
pub mod ctx;
pub mod dialog;
pub mod effects;
pub mod export;
pub mod format;
pub mod keymap;
pub mod keys;
pub mod link;
pub mod logging;
pub mod secret;
pub mod tabs;
pub mod theme;
pub mod view;
pub mod widgets;

use std::io::IsTerminal;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste, Event, EventStream};
use std::task::Poll;

use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::db::{Db, Target};
use crate::domain::operator::Operator;
use crate::domain::role::Permissions;
use crate::error::{Error, Result};

pub use app::{App, DbHealth, Msg, Popup, update};
pub use command::{Command, Job, Outcome, Owner, Reply, Request, RequestId};
pub use effects::Effects;
pub use link::Link;
pub use tabs::TabId;
pub use theme::Theme;
pub use view::view;

/// What the console shows in its status line and how it may act.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Where we are connected (shown as host/name, never the password).
    pub target: Target,
    pub operator: Operator,
    /// No change is offered, and the session itself refuses changes.
    pub read_only: bool,
    /// e.g. PRODUCTION, shown in red.
    pub env_label: Option<String>,
    /// The colour of a frame drawn around the whole console (a profile's
    /// `colour`, red for production); `None`: no frame.
    pub frame_colour: Option<ratatui::style::Color>,
    /// `--write` on a profile that is read-only by default: the console
    /// asks again before the first change of the session.
    pub confirm_first_change: bool,
    /// What the operator's role may do: the console offers only that.
    pub permissions: Permissions,
}

impl ConsoleConfig {
    /// The environment label says production (`PRODUCTION`, `prod-eu`):
    /// confirmations then need `y`.
    pub fn is_production(&self) -> bool {
        self.env_label
            .as_deref()
            .is_some_and(|l| l.to_ascii_lowercase().contains("prod"))
    }
}

/// Redraw often while something spins, rarely otherwise.
const TICK_BUSY: Duration = Duration::from_millis(100);
const TICK_IDLE: Duration = Duration::from_secs(1);

/// Runs the console until the user quits, restoring the terminal however it ends.
pub async fn run(db: Db, config: ConsoleConfig) -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Error::invalid(
            "console",
            "the console needs a terminal: run the commands instead (creditdesk --help)",
        ));
    }
    let log = logging::init();
    tracing::info!(
        target = %config.target,
        operator = %config.operator,
        read_only = config.read_only,
        "console starting"
    );
    let session = format!("{:016x}", rand::random::<u64>());
    let mut app = App::new(&config, Utc::now(), Theme::from_env(), session);
    if let Some(s) = db.session() {
        app.watch_session(approvals::SessionStatus::of(s));
    }
    app.log_path = log.as_ref().map(|l| l.path.display().to_string());
    let in_tmux = std::env::var_os("TMUX").is_some();
    let mut effects =
        Effects::new(db, config.operator.clone()).with_clipboard(Box::new(move |text: &str| {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(clipboard::osc52(text, in_tmux).as_bytes());
            let _ = out.flush();
        }));

    install_panic_hook();
    // Also installs a panic hook that restores the terminal first.
    let mut terminal = ratatui::try_init().map_err(|e| {
        // Whatever part of the set-up succeeded is undone.
        ratatui::restore();
        Error::Infrastructure(format!("cannot set up the terminal: {e}"))
    })?;
    // Pasted text arrives as one event, so a pasted line break can't press
    // Enter in a form or a confirmation.
    let _ = crossterm::execute!(std::io::stdout(), EnableBracketedPaste);
    let result = run_loop(&mut terminal, &mut app, &mut effects, EventStream::new()).await;
    let _ = crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
    ratatui::restore();
    effects.abort_all();
    if let Err(e) = &result {
        tracing::error!(error = %e, "console stopped");
    } else {
        tracing::info!("console closed");
    }
    result
}

/// Logs a panic (the terminal is restored by ratatui's hook, which runs
/// before this one and then the default printer).
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
        tracing::error!(panic = %info, "the console panicked");
        previous(info);
    }));
}

fn to_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(key)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

/// The main loop over any backend: handle every queued message, then draw
/// once, then wait for the next event, reply or tick.
pub async fn run_loop<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    effects: &mut Effects,
    events: S,
) -> Result<()>
where
    B: Backend,
    S: Stream<Item = std::io::Result<Event>> + Unpin,
{
    let mut events = events.fuse();
    let mut inbox = vec![Msg::Start];
    loop {
        for msg in inbox.drain(..) {
            effects.apply(update(app, msg));
            if app.should_quit() {
                return Ok(());
            }
        }
        terminal
            .draw(|frame| view(app, frame))
            .map_err(|e| Error::Infrastructure(format!("drawing the screen: {e}")))?;
        let wait = if app.busy() || app.db != DbHealth::Ok {
            TICK_BUSY
        } else {
            TICK_IDLE
        };
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => inbox.extend(to_msg(event)),
                Some(Err(e)) => {
                    return Err(Error::Infrastructure(format!("reading the terminal: {e}")));
                }
                // The terminal is gone.
                None => return Ok(()),
            },
            msg = effects.next() => inbox.push(msg),
            () = tokio::time::sleep(wait) => inbox.push(Msg::Tick(Utc::now())),
        }
        // Take everything already queued before drawing again. `poll!` polls
        // with this task's waker: crossterm's EventStream keeps the waker of
        // the first poll that found nothing, so polling it with a dummy
        // waker (`now_or_never`) would leave keys unnoticed until a tick.
        while let Poll::Ready(Some(Ok(event))) = futures::poll!(events.next()) {
            inbox.extend(to_msg(event));
        }
        // Keys are judged by when they came (a confirmation applies only
        // with a key pressed a moment after it appeared).
        if inbox.iter().any(|m| matches!(m, Msg::Key(_))) {
            inbox.insert(0, Msg::Now(Utc::now()));
        }
        while let Some(msg) = effects.try_next() {
            inbox.push(msg);
        }
    }
}
