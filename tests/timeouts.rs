//! Nothing waits forever (issue 9 §4): a change that needs a row another
//! session holds gives up after the lock timeout, saying what was busy and
//! that nothing was written (exit 6); a read gives up after the statement
//! timeout; a read in flight can be cancelled on the server.

use std::time::{Duration, Instant};

use creditdesk::db::{CancelSlot, users};
use creditdesk::testing::{CliRun, TestDb, run_cli, user_with_credits};
use sqlx::{AssertSqlSafe, PgPool};

fn creditdesk(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "ops", args)
}

/// Holds `sql`'s locks in a transaction until the returned one is dropped.
async fn hold(pool: &PgPool, sql: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await
        .expect("lock");
    tx
}

#[tokio::test]
async fn a_change_waits_no_longer_than_the_lock_timeout_and_says_what_was_busy() {
    let db = TestDb::new().await;
    let id = user_with_credits(&db.tool, "ana@example.com", 10).await;
    sqlx::query("insert into coupons (code, \"discountType\", \"discountValue\") values ('FREE5', 'credits', 5)")
        .execute(&db.pool)
        .await
        .expect("coupon");
    let before: i64 = sqlx::query_scalar("select count(*) from credit_history")
        .fetch_one(&db.pool)
        .await
        .expect("count");

    let held = hold(
        &db.pool,
        &format!("select * from users where id = {id} for update"),
    )
    .await;
    let started = Instant::now();
    let out = creditdesk(
        &db.url,
        &[
            "--lock-timeout",
            "1s",
            "credits",
            "adjust",
            &id.to_string(),
            "--amount",
            "5",
            "--reason",
            "x",
        ],
    );
    let took = started.elapsed();
    assert_eq!(out.code, 6, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "user #{id} is being changed by another session; nothing was written"
        )),
        "{out:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(held);

    let held = hold(&db.pool, "select * from coupons for update").await;
    let out = creditdesk(
        &db.url,
        &[
            "--lock-timeout",
            "500ms",
            "coupons",
            "redeem",
            "FREE5",
            "--user",
            &id.to_string(),
        ],
    );
    assert_eq!(out.code, 6, "{out:?}");
    assert!(out.stderr.contains("coupon #"), "{out:?}");
    drop(held);

    let after: i64 = sqlx::query_scalar("select count(*) from credit_history")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(after, before, "nothing was written");

    // Free again: the same command goes through.
    let out = creditdesk(
        &db.url,
        &[
            "credits",
            "adjust",
            &id.to_string(),
            "--amount",
            "5",
            "--reason",
            "x",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
}

#[tokio::test]
async fn a_read_gives_up_after_the_statement_timeout() {
    let db = TestDb::new().await;
    let id = user_with_credits(&db.tool, "ana@example.com", 10).await;
    // A migration (say) holds the ledger: every read of it waits.
    let held = hold(
        &db.pool,
        "lock table credit_history in access exclusive mode",
    )
    .await;
    let started = Instant::now();
    let out = creditdesk(
        &db.url,
        &[
            "--statement-timeout",
            "1s",
            "credits",
            "history",
            &id.to_string(),
        ],
    );
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stderr.contains("cancelled"), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(6));
    drop(held);
}

#[tokio::test]
async fn a_read_in_flight_is_cancelled_on_the_server() {
    let db = TestDb::new().await;
    let held = hold(&db.pool, "lock table users in access exclusive mode").await;
    let slot = CancelSlot::new();
    let reader = db.tool.cancellable(&slot);
    let started = Instant::now();
    let task = tokio::spawn(async move { users::find(&reader, "ana", 10).await });
    // The read is waiting on the server; the console's Esc cancels it there.
    let mut waiting = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let n: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
        )
        .fetch_one(&db.pool)
        .await
        .expect("activity");
        if n > 0 {
            waiting = true;
            break;
        }
    }
    assert!(waiting, "the read waits for the lock");
    slot.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the read ends at once, long before the 30 s statement timeout")
        .expect("join");
    let e = result.expect_err("cancelled");
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let still: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
    )
    .fetch_one(&db.pool)
    .await
    .expect("activity");
    assert_eq!(still, 0, "nothing left waiting on the server");
    drop(held);
    // A slot whose read ended cancels nothing (its server connection may
    // serve someone else by now).
    slot.cancel();
}

/// A pool whose every connection holds a read stuck on a lock can still
/// cancel them: the cancel doesn't wait for one of those connections (it
/// takes an idle one, else one of its own).
#[tokio::test]
async fn reads_filling_the_whole_pool_are_still_cancelled() {
    let db = TestDb::new().await;
    let small = creditdesk::db::Target::parse(&db.owner_url)
        .expect("url")
        .connect(creditdesk::db::Mode::default(), 2)
        .await
        .expect("a pool of two");
    let held = hold(&db.pool, "lock table users in access exclusive mode").await;
    let slots = [CancelSlot::new(), CancelSlot::new()];
    let tasks: Vec<_> = slots
        .iter()
        .map(|slot| {
            let reader = small.cancellable(slot);
            tokio::spawn(async move { users::find(&reader, "ana", 10).await })
        })
        .collect();
    let mut waiting = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiting = sqlx::query_scalar::<_, i64>(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
        )
        .fetch_one(&db.pool)
        .await
        .expect("activity");
        if waiting == 2 {
            break;
        }
    }
    assert_eq!(waiting, 2, "both connections of the pool wait for the lock");
    let started = Instant::now();
    for slot in &slots {
        slot.cancel();
    }
    for task in tasks {
        let result = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("cancelled at once, though no pooled connection is free")
            .expect("join");
        assert!(
            result
                .expect_err("cancelled")
                .to_string()
                .contains("cancelled")
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(held);
}
