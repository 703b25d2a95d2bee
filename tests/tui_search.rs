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
async fn an_exact_email_then_prefixes_then_the_rest_newest_first() {
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
            // emails starting with it, newest first
            "anna@example.org",
            "ann@example.com.au",
            "Ann@Example.com",
            // then the rest (email or name containing it), newest first
            "zed@example.com",
            "joann@example.com",
        ]
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
