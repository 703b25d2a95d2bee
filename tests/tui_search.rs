//! Search as you type, on a real database: the order of the matches (an
//! exact id or email first), and each key's query at once, the one before
//! it cancelled on the server.

mod common;

use std::time::{Duration, Instant};

use common::*;
use creditdesk::db::users;
use creditdesk::domain::operator::Operator;
use creditdesk::testing::TestDb;
use creditdesk::tui::{App, Effects, Msg, TabId, Theme, update};
use sqlx::PgPool;

async fn add_user(pool: &PgPool, email: &str, name: Option<&str>, days_ago: i32) -> i32 {
    sqlx::query_scalar(
        "insert into users (email, name, credits, \"createdAt\")
         values ($1, $2, 0, now() - make_interval(days => $3)) returning id",
    )
    .bind(email)
    .bind(name)
    .bind(days_ago)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn emails(found: &[users::User]) -> Vec<&str> {
    found.iter().map(|u| u.email.as_str()).collect()
}

#[tokio::test]
async fn an_exact_email_then_prefixes_in_order_then_the_rest_newest_first() {
    let db = TestDb::new().await;
    // The exact match is the oldest of all, and the limit is small: it still
    // comes first.
    add_user(&db.pool, "Ann@Example.com", Some("Ann"), 900).await;
    add_user(&db.pool, "ann@example.com.au", None, 500).await;
    add_user(&db.pool, "anna@example.org", None, 100).await;
    add_user(&db.pool, "joann@example.com", None, 5).await;
    add_user(&db.pool, "zed@example.com", Some("Ann Zed"), 1).await;
    add_user(&db.pool, "bo@example.com", None, 0).await;

    let found = users::find(&db.tool, "ann@example.com", 10).await.unwrap();
    assert_eq!(
        emails(&found),
        ["Ann@Example.com", "ann@example.com.au", "joann@example.com"],
        "exact (any case) first, then the prefix, then the rest"
    );
    let found = users::find(&db.tool, "ANN", 10).await.unwrap();
    assert_eq!(
        emails(&found),
        [
            // emails starting with it, in email order
            "Ann@Example.com",
            "ann@example.com.au",
            "anna@example.org",
            // then the rest (email or name containing it), newest first
            "zed@example.com",
            "joann@example.com",
        ]
    );
    // The prefixes fill the list: the newer substring matches wait.
    let found = users::find(&db.tool, "ann", 3).await.unwrap();
    assert_eq!(
        emails(&found),
        ["Ann@Example.com", "ann@example.com.au", "anna@example.org"]
    );
    let found = users::find(&db.tool, "ann@example.com", 1).await.unwrap();
    assert_eq!(emails(&found), ["Ann@Example.com"], "never pushed out");
    // `%` and `_` are matched as themselves.
    assert!(users::find(&db.tool, "a_n", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_exact_id_comes_first() {
    let db = TestDb::new().await;
    let first = add_user(&db.pool, "first@example.com", None, 900).await;
    // Newer users whose email contains the id's digits.
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(add_user(&db.pool, &format!("u{first}{i}@example.com"), None, i).await);
    }
    let found = users::find(&db.tool, &first.to_string(), 3).await.unwrap();
    assert_eq!(found[0].id, first, "{found:?}");
    assert_eq!(found.len(), 3);
    assert_eq!(found[1].id, others[0], "then the newest containing it");
    // Empty text: the newest users.
    let found = users::find(&db.tool, "", 2).await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id).collect::<Vec<_>>(),
        [others[0], others[1]]
    );
}

async fn waiting_reads(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity
         where wait_event_type = 'Lock' and datname = current_database()",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Ten keys typed at once against a table that makes every search wait:
/// only the last key's search is left on the server, and once the table is
/// free the list shows the matches for the whole text.
#[tokio::test]
async fn typing_fast_leaves_one_query_on_the_server_and_shows_the_last_text() {
    let db = TestDb::new().await;
    let target = add_user(&db.pool, "typed.fast@example.com", Some("Fast"), 3).await;
    add_user(&db.pool, "typed.slow@example.com", None, 2).await;
    add_user(&db.pool, "other@example.com", None, 1).await;

    let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
    app.active = TabId::Users;
    let mut effects = Effects::new(db.tool.clone(), Operator::parse("ana").unwrap());
    let c = update(&mut app, Msg::Start);
    settle(&mut app, &mut effects, c).await;

    // Every search waits for this lock until it is released.
    let mut holder = db.pool.begin().await.unwrap();
    sqlx::query("lock table users in access exclusive mode")
        .execute(&mut *holder)
        .await
        .unwrap();

    effects.apply(update(&mut app, ch('/')));
    for c in "typed.fast".chars() {
        effects.apply(update(&mut app, ch(c)));
        // Keys a few ms apart: each search reaches the server.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // The superseded searches are cancelled on the server, not only
    // forgotten: soon only the last one waits there.
    let started = Instant::now();
    let mut seen = i64::MAX;
    while started.elapsed() < Duration::from_secs(5) {
        seen = waiting_reads(&db.pool).await;
        if seen <= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen <= 1, "{seen} searches still wait on the server");
    // It stays so (nothing cancelled comes back).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(waiting_reads(&db.pool).await <= 1);
    assert_eq!(effects.pending(), 1, "one search wanted");

    holder.rollback().await.unwrap();
    settle(&mut app, &mut effects, Vec::new()).await;
    let screen = rows(&app, 80, 24).join("\n");
    assert!(screen.contains("Users matching “typed.fast”"), "{screen}");
    assert!(screen.contains(&format!("#{target}")), "{screen}");
    assert!(screen.contains("typed.fast@example.com"), "{screen}");
    assert!(!screen.contains("typed.slow@example.com"), "{screen}");
    assert!(!screen.contains("other@example.com"), "{screen}");
    assert_eq!(waiting_reads(&db.pool).await, 0);
}

// ------------------------------------------------- hostile text at 80x24

mod widths {
    use super::*;
    use chrono::Duration as Days;
    use creditdesk::db::users::User;
    use creditdesk::tui::{Job, Outcome, view};
    use ratatui::backend::{CrosstermBackend, TestBackend};
    use ratatui::layout::Rect;
    use ratatui::{Terminal, TerminalOptions, Viewport};
    use unicode_width::UnicodeWidthStr;

    fn user(id: i32, email: &str, name: &str) -> User {
        User {
            id,
            email: email.into(),
            name: Some(name.into()),
            credits: 5,
            created_at: t0() - Days::days(3),
        }
    }

    fn hostile() -> Vec<User> {
        vec![
            user(1_000_001, "李小龙李小龙@例え.jp", &"李小龙".repeat(20)),
            user(
                1_000_002,
                "fam👨\u{200D}👩\u{200D}👧\u{200D}👦@x.io",
                "👨\u{200D}👩\u{200D}👧\u{200D}👦 ❤\u{FE0F} 🇩🇪🇫🇷 👍\u{1F3FD} 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            ),
            user(
                1_000_003,
                "z\u{200B}w\u{FEFF}j\u{00AD}@x.io",
                "\u{0301}Z\u{0336}\u{0337}\u{0338}\u{0339}a\u{0335}l\u{0334}g\u{0333}o",
            ),
            user(
                1_000_004,
                "evil@x.io",
                "tab\tnew\nline\u{1b}[31m\u{7}\u{202e}red",
            ),
            user(1_000_005, "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀@x.io", "😀"),
        ]
    }

    /// What the backend wrote, taken by the test.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn short() -> Vec<User> {
        vec![user(7, "a@x.io", "A"), user(8, "b@x.io", "B")]
    }

    /// The users list showing `users` (a search answered).
    fn listing(app: &mut App, users: Vec<User>) {
        update(app, ch('/'));
        let c = update(app, ch('x'));
        answer(app, c, |job| {
            matches!(job, Job::FindUsers { .. }).then(|| Outcome::Users(Ok(users.clone())))
        });
        update(app, key(crossterm::event::KeyCode::Backspace));
        update(app, key(crossterm::event::KeyCode::Esc));
    }

    /// Each row of a fresh frame as a terminal shows it (a wide character
    /// once, its second cell not repeated).
    fn fresh_rows(app: &App) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| view(app, f)).unwrap();
        let buf = t.backend().buffer();
        (0..24)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < 80 {
                    let s = buf[(x, y)].symbol();
                    row.push_str(s);
                    x += u16::try_from(s.width().max(1)).unwrap();
                }
                row.trim_end().replace('\u{FFFD}', "?")
            })
            .collect()
    }

    fn emulated_rows(parser: &vt100::Parser) -> Vec<String> {
        (0..24)
            .map(|y| {
                parser
                    .screen()
                    .contents_between(y, 0, y, 80)
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    /// Hostile names drawn, then short ones over them, through the real
    /// terminal backend into a terminal emulator: the emulator's screen is
    /// the fresh frame, cell for cell (no leftover cells, no shifted
    /// columns), and every id shows in full.
    #[test]
    fn wide_and_invisible_characters_leave_no_stale_cells() {
        let mut app = App::new(&config(false, None), t0(), Theme::COLOR, "test");
        app.active = TabId::Users;
        update(&mut app, Msg::Start);
        let out = Shared::default();
        let backend = CrosstermBackend::new(out.clone());
        let mut term = Terminal::with_options(
            backend,
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, 80, 24)),
            },
        )
        .unwrap();
        let mut parser = vt100::Parser::new(24.try_into().unwrap(), 80.try_into().unwrap(), 0);
        let mut frame = |app: &App, term: &mut Terminal<CrosstermBackend<Shared>>| {
            term.draw(|f| view(app, f)).unwrap();
            let bytes = std::mem::take(&mut *out.0.lock().unwrap());
            // vt100 skips U+FFFD (sanitised controls) where a terminal
            // draws it in one cell: given to it as '?' instead.
            let bytes = String::from_utf8(bytes).unwrap().replace('\u{FFFD}', "?");
            parser.process(bytes.as_bytes());
            emulated_rows(&parser)
        };

        listing(&mut app, hostile());
        let first = frame(&app, &mut term);
        assert_eq!(first, fresh_rows(&app), "the hostile frame as drawn");
        let s = first.join("\n");
        for id in 1_000_001..=1_000_005 {
            assert!(s.contains(&format!("#{id} ")), "#{id} in full:\n{s}");
        }
        assert!(s.contains("DEFR"), "flags as letters:\n{s}");
        for (y, row) in first.iter().enumerate().skip(3).take(5) {
            assert!(row.ends_with('│'), "row {y} keeps its right border: {row}");
            assert_eq!(row.width(), 80, "row {y}: {row}");
        }

        listing(&mut app, short());
        let second = frame(&app, &mut term);
        assert_eq!(second, fresh_rows(&app), "nothing of the first frame left");
        let s = second.join("\n");
        assert!(
            !s.contains('李') && !s.contains('😀') && !s.contains("1000001"),
            "{s}"
        );
    }
}
