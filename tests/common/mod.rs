//! What the console tests (`tests/tui*.rs`) share: a fixed clock and
//! config, keys, answering requests, rendering, and the effect runner.
//! Each test file uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use creditdesk::db::Target;
use creditdesk::domain::operator::Operator;
use creditdesk::tui::{
    App, Command, ConsoleConfig, Effects, Job, Msg, Outcome, Reply, Request, update, view,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap()
}

pub fn config(read_only: bool, env: Option<&str>) -> ConsoleConfig {
    ConsoleConfig {
        target: Target::parse("postgres://app:s3cret@db.example.com:5432/photos").unwrap(),
        operator: Operator::parse("ana").unwrap(),
        read_only,
        env_label: env.map(str::to_owned),
        frame_colour: None,
        confirm_first_change: false,
        permissions: creditdesk::domain::role::Permissions::owner(),
    }
}

/// A session whose role allows what `groups` allow (not the owner).
pub fn config_as(groups: &[creditdesk::domain::role::Group]) -> ConsoleConfig {
    ConsoleConfig {
        permissions: creditdesk::domain::role::Permissions::of(groups),
        ..config(false, None)
    }
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// `c` typed as a terminal reports it: capitals come with SHIFT.
pub fn ch(c: char) -> Msg {
    let m = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Msg::Key(KeyEvent::new(KeyCode::Char(c), m))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Lets `ms` milliseconds pass (the clock `update` sees).
pub fn wait(app: &mut App, ms: i64) {
    let now = app.now + chrono::Duration::milliseconds(ms);
    update(app, Msg::Now(now));
}

/// Applies the confirmation on screen as an operator does: a moment after
/// it appeared, `y` (which applies in production too).
pub fn apply(app: &mut App) -> Vec<Command> {
    wait(app, 400);
    update(app, ch('y'))
}

pub fn typed(app: &mut App, text: &str) -> Vec<Command> {
    text.chars().flat_map(|c| update(app, ch(c))).collect()
}

/// Answers every request in `commands` with `answer(job)`, feeding the
/// replies to `update`; returns the commands those produce.
pub fn answer(
    app: &mut App,
    commands: Vec<Command>,
    answer: impl Fn(&Job) -> Option<Outcome>,
) -> Vec<Command> {
    let mut next = Vec::new();
    for c in commands {
        if let Command::Run(Request { id, owner, job, .. }) = c
            && let Some(outcome) = answer(&job)
        {
            next.extend(update(app, Msg::Reply(Reply { id, owner, outcome })));
        }
    }
    next
}

pub fn runs(commands: &[Command]) -> Vec<&Request> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Run(r) => Some(r),
            Command::Cancel(_) | Command::Copy(_) => None,
        })
        .collect()
}

pub fn cancels(commands: &[Command]) -> usize {
    commands
        .iter()
        .filter(|c| matches!(c, Command::Cancel(_)))
        .count()
}

/// How many of the requests write.
pub fn changes(commands: &[Command]) -> usize {
    runs(commands).iter().filter(|r| r.job.is_change()).count()
}

pub fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view(app, f)).unwrap();
    terminal
}

/// What a snapshot holds: the screen below the tab bar (the body, the key
/// hints and the status line), one quoted row per line as `TestBackend`
/// prints them. The tab bar has a snapshot of its own, so adding a tab
/// doesn't change every other snapshot.
pub fn body(app: &App, w: u16, h: u16) -> String {
    let t = render(app, w, h);
    let buf = t.backend().buffer();
    (1..buf.area.height)
        .map(|y| {
            let row: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect();
            format!("\"{row}\"\n")
        })
        .collect()
}

/// The screen's rows, cell by cell (no quotes, unlike the backend's
/// `Display`).
pub fn rows(app: &App, w: u16, h: u16) -> Vec<String> {
    let t = render(app, w, h);
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect::<String>()
        })
        .collect()
}

/// The row of a list drawn selected (reversed, from its first column), its
/// text: `None` when no row is.
pub fn selected_row(app: &App, w: u16, h: u16) -> Option<String> {
    use ratatui::style::Modifier;
    let t = render(app, w, h);
    let buf = t.backend().buffer();
    // Below the tab bar and the lines a tab puts above its list.
    (3..buf.area.height.saturating_sub(2))
        .find(|&y| buf[(1, y)].modifier.contains(Modifier::REVERSED))
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect()
        })
}

/// Database text on `screen` is defused: an escape shows as U+FFFD and no
/// control or bidi character reaches the terminal.
pub fn assert_defused(screen: &str) {
    assert!(screen.contains('\u{FFFD}'), "the escape is shown defused");
    for c in screen.chars() {
        assert!(
            !c.is_control() && !creditdesk::domain::text::is_bidi_control(c),
            "{c:?} reached the screen"
        );
    }
}

/// Draws each of `screens` at every size from 0x0 to 24x12 and at some
/// extreme ones: none may panic.
pub fn renders_at_any_size(screens: &[App]) {
    let mut sizes: Vec<(u16, u16)> = Vec::new();
    for w in 0..=24 {
        for h in 0..=12 {
            sizes.push((w, h));
        }
    }
    sizes.extend([
        (1, 1),
        (10, 3),
        (40, 10),
        (80, 24),
        (200, 60),
        (500, 3),
        (3, 200),
        (1, 100),
        (100, 1),
    ]);
    for app in screens {
        let mut terminal = Terminal::new(TestBackend::new(1, 1)).unwrap();
        for (w, h) in &sizes {
            terminal.backend_mut().resize(*w, *h);
            terminal.draw(|f| view(app, f)).unwrap();
        }
    }
}

/// Runs commands until nothing is pending, feeding replies to `update`.
pub async fn settle(app: &mut App, effects: &mut Effects, commands: Vec<Command>) {
    effects.apply(commands);
    while effects.pending() > 0 {
        let msg = tokio::time::timeout(Duration::from_secs(20), effects.next())
            .await
            .expect("a reply in time");
        let next = update(app, msg);
        effects.apply(next);
    }
}
