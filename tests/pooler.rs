//! Through a real PgBouncer in transaction pooling mode (issue 9 §1), in
//! front of the Supabase-like database, with fewer server connections than
//! clients so that every server connection serves many of them: every
//! command works (no named prepared statements), a read-only run writes
//! nothing, and nothing creditdesk does outlives its transaction on a server
//! connection (the next client, the web app's, gets it clean).

use creditdesk::db::credits::{self, HistoryQuery};
use creditdesk::db::{Db, Mode};
use creditdesk::domain::role::Group;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::error::Error;
use creditdesk::testing::supabase::SupabaseDb;
use creditdesk::testing::{Applied, operator, reason, run_cli};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Row};

/// A pool through the pooler, as the tool makes one with `--pooler`.
async fn pooled(url: &str, read_only: bool) -> Db {
    creditdesk::db::Target::parse(url)
        .expect("url")
        .connect(
            Mode {
                pooled: true,
                read_only,
                ..Mode::default()
            },
            10,
        )
        .await
        .expect("through the pooler")
}

/// What a server connection looks like to the next client: each query in a
/// transaction of its own, so the pooler hands out server connections in
/// turn; none may be read-only, hold a prepared statement or a changed
/// timeout.
async fn server_connections_are_clean(url: &str) {
    let mut conn = sqlx::PgConnection::connect_with(&creditdesk::testing::options(url))
        .await
        .expect("plain client");
    for _ in 0..30 {
        let row = sqlx::raw_sql(
            "select current_setting('default_transaction_read_only'),
                    current_setting('transaction_read_only'),
                    current_setting('lock_timeout'),
                    current_setting('statement_timeout'),
                    (select count(*) from pg_prepared_statements),
                    (select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid())",
        )
        .fetch_one(&mut conn)
        .await
        .expect("probe");
        let read_only: String = row.get(0);
        let tx_read_only: String = row.get(1);
        let lock: String = row.get(2);
        let statement: String = row.get(3);
        let prepared: i64 = row.get(4);
        let advisory: i64 = row.get(5);
        assert_eq!((read_only.as_str(), tx_read_only.as_str()), ("off", "off"));
        assert_eq!((lock.as_str(), statement.as_str()), ("0", "0"));
        assert_eq!((prepared, advisory), (0, 0));
    }
    // And it can write.
    sqlx::raw_sql("create table if not exists public.app_probe (n int); insert into public.app_probe values (1)")
        .execute(&mut conn)
        .await
        .expect("the app writes through the pooler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_writers_and_readers_through_a_transaction_pooler() {
    let db = SupabaseDb::migrated().await;
    let (support, _) = db.login(Group::Support).await;
    let (auditor, _) = db.login(Group::Auditor).await;
    // Three server connections per login for ten clients each.
    let bouncer = db.pooler(3, &["postgres", &support, &auditor]);
    let writers = pooled(&bouncer.url(&support, &db.name), false)
        .await
        .with_session()
        .await
        .expect("support's session");
    let readers = pooled(&bouncer.url(&auditor, &db.name), false)
        .await
        .with_session()
        .await
        .expect("the auditor's session");
    let users: Vec<i32> =
        sqlx::query_scalar("select id from public.users where id > 5 order by id limit 15")
            .fetch_all(&db.admin)
            .await
            .expect("users");
    let mut tasks = Vec::new();
    for (i, &user) in users.iter().enumerate() {
        let w = writers.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..5 {
                credits::adjust(
                    &w,
                    &operator(),
                    &UserRef::Id(user),
                    1 + n,
                    &reason("pooled"),
                    Some(&format!("pool-{i}-{n}")),
                )
                .await
                .applied()?;
            }
            Ok::<_, Error>(())
        }));
        let r = readers.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                credits::history(
                    &r,
                    &HistoryQuery {
                        user_id: user,
                        kind: None,
                        since: None,
                        until: None,
                        before: None,
                        limit: 20,
                    },
                )
                .await?;
                creditdesk::db::coupons::list(&r, &Default::default()).await?;
                creditdesk::db::users::find(&r, "user1", 5).await?;
            }
            Ok(())
        }));
    }
    assert_eq!(tasks.len(), 30);
    for t in tasks {
        t.await
            .expect("join")
            .expect("every command works through the pooler");
    }
    let booked: i64 = sqlx::query_scalar(
        "select count(*) from public.credit_history where description like 'pooled%'",
    )
    .fetch_one(&db.admin)
    .await
    .expect("count");
    assert_eq!(booked, 75);
    assert!(credits::verify(&readers).await.expect("verify").is_empty());
    let chain = creditdesk::db::audit::verify(&readers, None)
        .await
        .expect("chain");
    assert!(chain.is_intact(), "{chain:?}");
    server_connections_are_clean(&bouncer.url("postgres", &db.name)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_run_writes_nothing_and_leaves_no_read_only_connection_behind() {
    let db = SupabaseDb::migrated().await;
    let (support, _) = db.login(Group::Support).await;
    let bouncer = db.pooler(2, &["postgres", &support]);
    let url = bouncer.url(&support, &db.name);
    let before: i64 = sqlx::query_scalar("select count(*) from public.credit_history")
        .fetch_one(&db.admin)
        .await
        .expect("count");
    // 30 read-only runs of the real binary through the pooler, mixed with
    // writing ones on the same server connections.
    let bin = env!("CARGO_BIN_EXE_creditdesk");
    let mut children = Vec::new();
    for i in 0..30 {
        let url = url.clone();
        children.push(std::thread::spawn(move || {
            let mut args = vec!["--pooler"];
            if i % 3 != 0 {
                args.push("--read-only");
            }
            let user = format!("{}", 10 + i);
            let key = format!("ro-{i}");
            args.extend([
                "credits",
                "adjust",
                &user,
                "--amount",
                "5",
                "--reason",
                "pooled",
                "--idempotency-key",
                &key,
            ]);
            (i % 3 != 0, run_cli(bin, &url, "", &args))
        }));
    }
    let mut written = 0;
    for c in children {
        let (read_only, out) = c.join().expect("join");
        if read_only {
            assert_eq!(out.code, 3, "read-only is refused: {out:?}");
            assert!(out.stderr.contains("read-only"), "{out:?}");
        } else {
            assert_eq!(out.code, 0, "{out:?}");
            written += 1;
        }
    }
    let after: i64 = sqlx::query_scalar("select count(*) from public.credit_history")
        .fetch_one(&db.admin)
        .await
        .expect("count");
    assert_eq!(after - before, written, "only the writing runs booked");
    // Read-only through the library too: every transaction is READ ONLY
    // itself, whatever server connection it lands on.
    let ro = pooled(&url, true).await;
    let e = credits::adjust(&ro, &operator(), &UserRef::Id(10), 1, &reason("x"), None)
        .await
        .expect_err("read-only");
    assert!(
        matches!(e, Error::Refused(creditdesk::domain::Refusal::ReadOnly)),
        "{e:?}"
    );
    server_connections_are_clean(&bouncer.url("postgres", &db.name)).await;
}

#[tokio::test]
async fn without_the_pooler_flag_the_error_says_to_use_it() {
    let db = SupabaseDb::migrated().await;
    let bouncer = db.pooler(1, &["postgres"]);
    let url = bouncer.url("postgres", &db.name);
    // Two clients share the one server connection; the second prepares
    // sqlx's first named statement again.
    let a = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(creditdesk::testing::options(&url))
        .await
        .expect("a");
    let b = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(creditdesk::testing::options(&url))
        .await
        .expect("b");
    let da = Db::direct(a);
    let db_b = Db::direct(b);
    let mut last = None;
    for _ in 0..3 {
        let _ = creditdesk::db::users::find(&da, "user", 1).await;
        if let Err(e) = creditdesk::db::users::find(&db_b, "user", 1).await {
            last = Some(e);
        }
    }
    let e = last.expect("named statements collide behind a transaction pooler");
    assert!(e.to_string().contains("--pooler"), "{e}");
}
