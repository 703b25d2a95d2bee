//! The console's speed targets, on a seeded database:
//! - a full frame of each screen at 200x60 renders in under 1 ms;
//! - scrolling through a user with a million ledger entries keeps memory
//!   flat (only a window of rows held);
//! - a keypress that needs no query is on screen within one frame (16 ms).
//!
//! ```sh
//! DATABASE_URL=postgres://... cargo bench --bench console   # a database seeded with `creditdesk seed`
//! cargo bench --bench console -- --users 100000             # or a throwaway server seeded here
//! ```

use std::time::{Duration, Instant};

use creditdesk::db::Target;
use creditdesk::domain::operator::Operator;
use creditdesk::tui::{App, Command, ConsoleConfig, Effects, Msg, Theme, update, view};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    let users = std::env::args()
        .skip_while(|a| a != "--users")
        .nth(1)
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(100_000);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(users));
}

async fn run(users: u32) {
    let (url, db) = creditdesk::testing::bench_database(users, 8).await;
    let pool = db.pool().clone();
    let target = Target::parse(&url).expect("url");
    let operator = Operator::parse("bench").expect("operator");
    let config = ConsoleConfig {
        target,
        operator: operator.clone(),
        read_only: true,
        env_label: Some("BENCH".into()),
        frame_colour: None,
        confirm_first_change: false,
        permissions: creditdesk::domain::role::Permissions::owner(),
    };
    let mut app = App::new(&config, chrono::Utc::now(), Theme::COLOR, "bench");
    let mut effects = Effects::new(db.clone(), operator);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");

    let c = update(&mut app, Msg::Start);
    settle(&mut app, &mut effects, c).await;

    // Each tab, loaded from the database, then drawn many times.
    for (digit, name) in [
        ('1', "Coupons"),
        ('2', "Gift cards"),
        ('4', "Batches"),
        ('5', "Audit"),
        ('3', "Users"),
    ] {
        let c = update(&mut app, key(KeyCode::Char(digit)));
        settle(&mut app, &mut effects, c).await;
        let per_frame = frame_time(&mut terminal, &app, 2000);
        println!(
            "render {name} at 200x60: {:.3} ms a frame (mean of 2000)",
            ms(per_frame)
        );
    }

    // The whale: open the user with the longest ledger.
    let (whale, entries): (i32, i64) = sqlx::query_as(
        "select \"userId\", count(*) from credit_history group by \"userId\" order by 2 desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("whale");
    let email: String = sqlx::query_scalar("select email from users where id = $1")
        .bind(whale)
        .fetch_one(&pool)
        .await
        .expect("whale email");
    update(&mut app, key(KeyCode::Char('/')));
    let mut c = Vec::new();
    for ch in email.chars() {
        c.extend(update(&mut app, key(KeyCode::Char(ch))));
    }
    settle(&mut app, &mut effects, c).await;
    update(&mut app, key(KeyCode::Enter)); // leave the search field
    let c = update(&mut app, key(KeyCode::Enter)); // open the one match
    settle(&mut app, &mut effects, c).await;
    assert!(
        screen(&mut terminal, &app).contains(&format!("#{whale} ")),
        "opened the whale"
    );
    let per_frame = frame_time(&mut terminal, &app, 2000);
    println!(
        "render Users: a user's ledger at 200x60: {:.3} ms a frame (mean of 2000)",
        ms(per_frame)
    );

    // Keypresses that need no query: update + a full frame.
    let mut worst = Duration::ZERO;
    let mut times = Vec::new();
    for i in 0..2000 {
        let code = if i % 2 == 0 {
            KeyCode::Down
        } else {
            KeyCode::Up
        };
        let started = Instant::now();
        let c = update(&mut app, key(code));
        terminal.draw(|f| view(&app, f)).expect("draw");
        let t = started.elapsed();
        assert!(c.is_empty(), "moving inside a loaded page needs no query");
        worst = worst.max(t);
        times.push(t);
    }
    times.sort();
    println!(
        "keypress to frame (no query, 200x60): median {:.3} ms, p99 {:.3} ms, worst {:.3} ms (budget 16 ms)",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100]),
        ms(worst)
    );

    // Scroll through the whole ledger with PageDown, loading pages as the
    // selection nears the end; rows held and memory are sampled on the way.
    let started = Instant::now();
    let rss_start = rss_kib();
    let mut max_rows = 0;
    let mut scrolled = 0usize;
    let mut next_report = entries as usize / 10;
    loop {
        let before = window(&mut terminal, &app);
        let c = update(&mut app, key(KeyCode::PageDown));
        settle(&mut app, &mut effects, c).await;
        let (first, last) = window(&mut terminal, &app);
        let rows = last + 1 - first;
        max_rows = max_rows.max(rows);
        let after = (first, last);
        if after == before {
            break; // the end of the ledger
        }
        scrolled = last;
        if scrolled >= next_report {
            println!(
                "  scrolled {scrolled} of {entries} entries: {rows} rows held, RSS {} KiB",
                rss_kib()
            );
            next_report += entries as usize / 10;
        }
    }
    println!(
        "scrolled {scrolled} of {entries} ledger entries in {:.1} s: at most {max_rows} rows held; RSS {} KiB at the start, {} KiB at the end",
        started.elapsed().as_secs_f64(),
        rss_start,
        rss_kib()
    );
}

/// The screen as text.
fn screen(terminal: &mut Terminal<TestBackend>, app: &App) -> String {
    terminal.draw(|f| view(app, f)).expect("draw");
    let buf = terminal.backend().buffer();
    buf.content().iter().map(|c| c.symbol()).collect()
}

/// The ledger rows held, as its bottom border numbers them (`2401–3000+`).
fn window(terminal: &mut Terminal<TestBackend>, app: &App) -> (usize, usize) {
    terminal.draw(|f| view(app, f)).expect("draw");
    let buf = terminal.backend().buffer();
    let w = buf.area.width;
    let bottom: String = (0..buf.area.height)
        .rev()
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .find(|r| r.starts_with('└') && r.contains('–'))
        .unwrap_or_default();
    let range = bottom.trim_matches(|c| matches!(c, '└' | '┘' | '─' | ' ' | '+'));
    let (a, b) = range.split_once('–').unwrap_or(("0", "0"));
    (
        a.trim().parse().unwrap_or(0),
        b.trim().trim_end_matches('+').parse().unwrap_or(0),
    )
}

fn frame_time(terminal: &mut Terminal<TestBackend>, app: &App, frames: u32) -> Duration {
    terminal.draw(|f| view(app, f)).expect("draw");
    let started = Instant::now();
    for _ in 0..frames {
        terminal.draw(|f| view(app, f)).expect("draw");
    }
    started.elapsed() / frames
}

async fn settle(app: &mut App, effects: &mut Effects, commands: Vec<Command>) {
    effects.apply(commands);
    while effects.pending() > 0 {
        let msg = tokio::time::timeout(Duration::from_secs(60), effects.next())
            .await
            .expect("a reply in time");
        let next = update(app, msg);
        effects.apply(next);
    }
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
