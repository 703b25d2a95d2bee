//! Balances, the ledger and adjustments against real PostgreSQL, including
//! many connections changing one balance at once.

use creditdesk::db::credits::{self, Cursor, HistoryQuery};
use creditdesk::db::{audit, users};
use creditdesk::domain::Refusal;
use creditdesk::domain::role::Group;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::error::Error;
use creditdesk::testing::{
    Applied, CliRun, TestDb, assert_no_panic_or_escape, assert_one_line, operator, reason, run_cli,
    scalar_i64, user_with_credits,
};

#[tokio::test]
async fn adjust_books_entry_balance_and_audit_in_one_go() {
    let db = TestDb::new().await;
    let id = user_with_credits(&db.tool, "Ana@Example.com", 0).await;
    let done = credits::adjust(
        &db.tool,
        &operator(),
        &UserRef::Email("ana@example.com".into()),
        25,
        &reason("goodwill: slow batch"),
        None,
    )
    .await
    .applied()
    .expect("adjust");
    assert_eq!(
        (done.old_balance, done.new_balance, done.user_id),
        (0, 25, id)
    );
    let description: String = sqlx::query_scalar(
        "select description from credit_history where id = $1 and type = 'admin_adjustment'",
    )
    .bind(done.entry_id)
    .fetch_one(&db.pool)
    .await
    .expect("entry");
    assert!(description.contains("goodwill: slow batch") && description.contains("test-ops"));
    let log = audit::list(
        &db.tool,
        &audit::AuditFilter {
            action: Some("credits".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].actor, "test-ops");
    assert_eq!(log[0].reason.as_deref(), Some("goodwill: slow batch"));
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn adjust_refuses_below_zero_unknown_users_and_zero_writing_nothing() {
    let db = TestDb::new().await;
    let id = user_with_credits(&db.tool, "bo@example.com", 10).await;
    let before = scalar_i64(&db.pool, "select count(*) from credit_history").await;
    let err = credits::adjust(
        &db.tool,
        &operator(),
        &UserRef::Id(id),
        -11,
        &reason("x"),
        None,
    )
    .await
    .applied()
    .expect_err("below zero");
    assert!(
        matches!(err, Error::Refused(Refusal::InsufficientCredits { .. })),
        "{err}"
    );
    let err = credits::adjust(
        &db.tool,
        &operator(),
        &UserRef::Id(999_999),
        5,
        &reason("x"),
        None,
    )
    .await
    .applied()
    .expect_err("unknown");
    assert!(
        matches!(err, Error::Refused(Refusal::NotFound { .. })),
        "{err}"
    );
    let err = credits::adjust(
        &db.tool,
        &operator(),
        &UserRef::Id(id),
        0,
        &reason("x"),
        None,
    )
    .await
    .applied()
    .expect_err("zero");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from credit_history").await,
        before
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'credits.adjust'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(&db.pool, "select credits::int8 from users").await,
        10
    );
}

#[tokio::test]
async fn the_same_idempotency_key_books_once_and_answers_the_same() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Support, 4).await;
    let id = user_with_credits(&db.tool, "cy@example.com", 0).await;
    let user = UserRef::Id(id);
    let first = credits::adjust(
        &db.tool,
        &operator(),
        &user,
        40,
        &reason("promo"),
        Some("ticket-77"),
    )
    .await
    .applied()
    .expect("first");
    let again = credits::adjust(
        &db.tool,
        &operator(),
        &user,
        40,
        &reason("promo"),
        Some("ticket-77"),
    )
    .await
    .applied()
    .expect("again");
    assert!(again.replayed);
    assert_eq!(
        (again.entry_id, again.old_balance, again.new_balance),
        (first.entry_id, first.old_balance, first.new_balance)
    );
    let err = credits::adjust(
        &db.tool,
        &operator(),
        &user,
        41,
        &reason("promo"),
        Some("ticket-77"),
    )
    .await
    .applied()
    .expect_err("same key, other amount");
    assert!(
        matches!(err, Error::Refused(Refusal::IdempotencyKeyReused)),
        "{err}"
    );
    assert_eq!(
        scalar_i64(&db.pool, "select credits::int8 from users").await,
        40
    );

    // Many at once with one key (a key pressed twice, a retried command).
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let pool = ops.next();
            tokio::spawn(async move {
                credits::adjust(
                    &pool,
                    &operator(),
                    &UserRef::Id(id),
                    5,
                    &reason("retry"),
                    Some("k-2"),
                )
                .await
                .applied()
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("each call succeeds");
    }
    assert_eq!(
        scalar_i64(&db.pool, "select credits::int8 from users").await,
        45
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history where \"idempotencyKey\" = 'k-2'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn concurrent_adjustments_neither_lose_nor_overdraw() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Support, 4).await;
    let id = user_with_credits(&db.tool, "dee@example.com", 0).await;
    let n = 200;
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let pool = ops.next();
            tokio::spawn(async move {
                credits::adjust(&pool, &operator(), &UserRef::Id(id), 1, &reason("+1"), None)
                    .await
                    .applied()
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("+1");
    }
    assert_eq!(
        scalar_i64(&db.pool, "select credits::int8 from users").await,
        n
    );

    // 300 debits of 1 against a balance of 200: exactly 200 succeed.
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let pool = ops.next();
            tokio::spawn(async move {
                credits::adjust(
                    &pool,
                    &operator(),
                    &UserRef::Id(id),
                    -1,
                    &reason("-1"),
                    None,
                )
                .await
                .applied()
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => ok += 1,
            Err(Error::Refused(Refusal::InsufficientCredits { .. })) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(ok, 200);
    assert_eq!(
        scalar_i64(&db.pool, "select credits::int8 from users").await,
        0
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn history_pages_by_keyset_and_filters() {
    let db = TestDb::new().await;
    let id = user_with_credits(&db.tool, "eve@example.com", 0).await;
    sqlx::query(
        "insert into credit_history (\"userId\", amount, type, \"createdAt\")
         select $1, case when g % 3 = 0 then -1 else 2 end,
                (case when g % 3 = 0 then 'generation' else 'purchase' end)::credit_history_type,
                timestamptz '2026-01-01' + (g / 2) * interval '1 minute'
         from generate_series(1, 250) g",
    )
    .bind(id)
    .execute(&db.pool)
    .await
    .expect("entries");
    let mut seen = Vec::new();
    let mut before: Option<Cursor> = None;
    loop {
        let page = credits::history(
            &db.tool,
            &HistoryQuery {
                user_id: id,
                kind: None,
                since: None,
                until: None,
                before,
                limit: 40,
            },
        )
        .await
        .expect("page");
        seen.extend(page.entries.iter().map(|e| (e.created_at, e.id)));
        match page.next {
            Some(next) => before = Some(Cursor::parse(&next.encode()).expect("round trip")),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250, "every entry once, across equal timestamps");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");

    let generations = credits::history(
        &db.tool,
        &HistoryQuery {
            user_id: id,
            kind: Some(creditdesk::domain::ledger::EntryType::Generation),
            since: None,
            until: None,
            before: None,
            limit: 1000,
        },
    )
    .await
    .expect("filtered");
    assert_eq!(generations.entries.len(), 83);
    assert!(generations.entries.iter().all(|e| e.kind == "generation"));
}

#[tokio::test]
async fn verify_finds_a_balance_that_drifted() {
    let db = TestDb::new().await;
    let id = user_with_credits(&db.tool, "fay@example.com", 30).await;
    sqlx::query("update users set credits = credits + 7 where id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .expect("drift");
    let mismatches = credits::verify(&db.tool).await.expect("verify");
    assert_eq!(mismatches.len(), 1);
    assert_eq!(
        (mismatches[0].balance, mismatches[0].ledger_total),
        (37, 30)
    );
}

#[tokio::test]
async fn find_matches_id_email_and_name_substrings_newest_first() {
    let db = TestDb::new().await;
    let first = user_with_credits(&db.tool, "gina.lopez@example.com", 0).await;
    let second = user_with_credits(&db.tool, "hal@lopez.dev", 0).await;
    let found = users::find(&db.tool, "LOPEZ", 10).await.expect("find");
    assert_eq!(
        found.iter().map(|u| u.id).collect::<Vec<_>>(),
        [second, first]
    );
    let by_id = users::find(&db.tool, &first.to_string(), 10)
        .await
        .expect("by id");
    assert!(by_id.iter().any(|u| u.id == first));
    // LIKE metacharacters match themselves.
    assert!(
        users::find(&db.tool, "%", 10)
            .await
            .expect("percent")
            .is_empty()
    );
}

/// Runs the real binary against the database at `url`.
fn creditdesk(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "cli-test", args)
}

#[tokio::test]
async fn bad_input_of_every_kind_is_refused_by_the_binary_and_writes_nothing() {
    let db = TestDb::new().await;
    let id = user_with_credits(&db.tool, "gus@example.com", 5).await;
    let user = id.to_string();
    let written = || async {
        (
            scalar_i64(&db.pool, "select count(*) from credit_history").await,
            scalar_i64(&db.pool, "select count(*) from admin_audit_log").await,
            scalar_i64(&db.pool, "select sum(credits)::int8 from users").await,
        )
    };
    let before = written().await;
    let cases: &[(&[&str], i32)] = &[
        (
            &[
                "credits", "adjust", &user, "--amount", "abc", "--reason", "x",
            ],
            2,
        ),
        (
            &["credits", "adjust", &user, "--amount", "0", "--reason", "x"],
            2,
        ),
        (
            &[
                "credits", "adjust", &user, "--amount", "1.5", "--reason", "x",
            ],
            2,
        ),
        (
            &[
                "credits",
                "adjust",
                &user,
                "--amount",
                "99999999999999999999",
                "--reason",
                "x",
            ],
            2,
        ),
        (
            &[
                "credits", "adjust", &user, "--amount", "-6", "--reason", "x",
            ],
            3,
        ),
        (
            &[
                "credits", "adjust", &user, "--amount", "5", "--reason", "  ",
            ],
            2,
        ),
        (
            &[
                "credits",
                "adjust",
                &user,
                "--amount",
                "5",
                "--reason",
                "evil\x1b[2J",
            ],
            2,
        ),
        (
            &[
                "credits",
                "adjust",
                "nobody@example.com",
                "--amount",
                "5",
                "--reason",
                "x",
            ],
            3,
        ),
        (
            &[
                "credits",
                "adjust",
                "'; drop table users; --",
                "--amount",
                "5",
                "--reason",
                "x",
            ],
            2,
        ),
        (
            &[
                "credits",
                "adjust",
                "99999999999",
                "--amount",
                "5",
                "--reason",
                "x",
            ],
            2,
        ),
        (
            &[
                "--read-only",
                "credits",
                "adjust",
                &user,
                "--amount",
                "5",
                "--reason",
                "x",
            ],
            3,
        ),
        (&["credits", "history", &user, "--before", "garbage"], 2),
        (&["credits", "history", &user, "--type", "bonus"], 2),
        (&["credits", "history", &user, "--limit", "0"], 2),
        (&["credits", "show", "999999"], 3),
        (&["users", "find", ""], 2),
        (
            &[
                "--operator",
                " ",
                "credits",
                "adjust",
                &user,
                "--amount",
                "5",
                "--reason",
                "x",
            ],
            2,
        ),
    ];
    for (args, expected) in cases {
        let CliRun { code, stderr, .. } = creditdesk(&db.url, args);
        assert_eq!(code, *expected, "{args:?}: {stderr}");
        assert_one_line(&stderr, args);
        assert_no_panic_or_escape(&stderr, args);
    }
    assert_eq!(written().await, before, "nothing was written");

    // And the happy path through the same binary, with --json.
    let out = creditdesk(
        &db.url,
        &[
            "credits",
            "adjust",
            "GUS@example.com",
            "--amount",
            "+3",
            "--reason",
            "goodwill",
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let done: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        (done["old_balance"].as_i64(), done["new_balance"].as_i64()),
        (Some(5), Some(8))
    );
    let out = creditdesk(&db.url, &["credits", "verify"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
