//! What the checks of issue 8 cost a change, measured side by side on a
//! seeded database.
//!
//! ```sh
//! cargo bench --bench security -- --users 1000000
//! DATABASE_URL=postgres://... cargo bench --bench security    # a seeded database (superuser)
//! ```
//!
//! 1. One balance adjustment, the path before the operator roles (the
//!    statements the first creditdesk ran as one role that owned
//!    everything: lock the user, update, insert the ledger entry, insert an
//!    audit row into a log without a hash chain) against today's path (an
//!    operator login; the view to find the user, `creditdesk.adjust_credits`
//!    checking the group, locking, booking, and the audit row appended to
//!    the hash chain). Alternated, on different users, median and p90 of
//!    each; the ratio is what the issue bounds (at most 1.5x).
//! 2. 100 adjustments at once by ten operators' logins on 100 users: the
//!    time they take, and the audit chain verified whole and gapless after.

use std::time::{Duration, Instant};

use creditdesk::db::credits;
use creditdesk::db::{Db, Mode, Target, audit};
use creditdesk::domain::operator::Operator;
use creditdesk::domain::role::Group;
use creditdesk::domain::text::Reason;
use creditdesk::domain::user_ref::UserRef;
use sqlx::{AssertSqlSafe, PgPool, Row};

const RUNS: usize = 400;

fn main() {
    let users = std::env::args()
        .skip_while(|a| a != "--users")
        .nth(1)
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(users));
}

async fn run(users: u32) {
    let (url, db) = creditdesk::testing::bench_database(users, 4).await;
    let pool = db.pool().clone();
    let logins = operators(&pool, &url, 10).await;
    // The log the first creditdesk wrote: no chain, no trigger but its own.
    exec(
        &pool,
        "drop table if exists bench_old_audit_log;
         create table bench_old_audit_log (
           id bigserial primary key, actor text not null, action text not null,
           \"entityType\" text not null, \"entityId\" text, reason text,
           details jsonb not null default '{}', \"createdAt\" timestamptz not null default now())",
    )
    .await;
    let ids: Vec<i32> =
        sqlx::query_scalar("select id from users where credits >= 100 order by id limit 5000")
            .fetch_all(&pool)
            .await
            .expect("users");
    assert!(
        ids.len() > 2 * RUNS,
        "the seed has too few users with credits"
    );

    one_adjustment(&pool, &logins[0], &ids).await;
    a_hundred_at_once(&pool, &logins, &ids[2 * RUNS..]).await;
    exec(&pool, "drop table bench_old_audit_log").await;
}

/// Ten logins in the support group (made once, kept for reruns).
async fn operators(pool: &PgPool, url: &str, n: usize) -> Vec<Db> {
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("bench_support_{i}");
        exec(
            pool,
            &format!(
                "do $$ begin
                   if to_regrole('{name}') is null then
                     create role {name} login password 'bench-{name}' in role {};
                   end if;
                 end $$",
                Group::Support.role_name()
            ),
        )
        .await;
        let mut u = url::Url::parse(url).expect("url");
        u.set_username(&name).expect("user");
        u.set_password(Some(&format!("bench-{name}")))
            .expect("password");
        let db = Target::parse(u.as_str())
            .expect("target")
            .connect(Mode::default(), 4)
            .await
            .expect("connect")
            .with_session()
            .await
            .expect("session");
        out.push(db);
    }
    out
}

async fn one_adjustment(pool: &PgPool, login: &Db, ids: &[i32]) {
    let ops = Operator::parse("bench").expect("operator");
    let why = Reason::parse("bench").expect("reason");
    let mut before = Vec::with_capacity(RUNS);
    let mut now = Vec::with_capacity(RUNS);
    // A warm-up of each, then alternate so both see the same machine.
    old_path(pool, ids[0]).await;
    credits::adjust(login, &ops, &UserRef::Id(ids[1]), -1, &why, None)
        .await
        .expect("warm-up");
    for i in 0..RUNS {
        let (a, b) = (ids[2 + 2 * i], ids[3 + 2 * i]);
        let started = Instant::now();
        old_path(pool, a).await;
        before.push(started.elapsed());
        let started = Instant::now();
        credits::adjust(login, &ops, &UserRef::Id(b), -1, &why, None)
            .await
            .expect("adjust");
        now.push(started.elapsed());
    }
    let (b50, b90) = (percentile(&mut before, 50), percentile(&mut before, 90));
    let (n50, n90) = (percentile(&mut now, 50), percentile(&mut now, 90));
    println!(
        "one adjustment, the path before the roles: median {:.3} ms, p90 {:.3} ms ({RUNS} runs)",
        ms(b50),
        ms(b90)
    );
    println!(
        "one adjustment, today's path (operator login, SECURITY DEFINER function, hash chain): \
         median {:.3} ms, p90 {:.3} ms",
        ms(n50),
        ms(n90)
    );
    println!(
        "ratio today / before: median {:.2}x, p90 {:.2}x (target: at most 1.5x)",
        ms(n50) / ms(b50),
        ms(n90) / ms(b90)
    );
}

/// What `credits::adjust` did before the roles, statement by statement, as
/// the one role that owned everything.
async fn old_path(pool: &PgPool, user: i32) {
    let mut tx = pool.begin().await.expect("begin");
    let row =
        sqlx::query("select id, email, name, credits, \"createdAt\" from users where id = $1")
            .bind(user)
            .fetch_one(&mut *tx)
            .await
            .expect("resolve");
    let _: String = row.get("email");
    let balance: i32 = sqlx::query_scalar("select credits from users where id = $1 for update")
        .bind(user)
        .fetch_one(&mut *tx)
        .await
        .expect("lock");
    sqlx::query("update users set credits = $2 where id = $1")
        .bind(user)
        .bind(balance - 1)
        .execute(&mut *tx)
        .await
        .expect("update");
    let entry: i32 = sqlx::query_scalar(
        "insert into credit_history (\"userId\", amount, type, description, \"relatedTransactionId\",
           \"relatedPhotoId\", \"relatedModelId\", \"relatedGiftCardId\", \"relatedCouponId\",
           \"relatedBatchId\", \"idempotencyKey\")
         values ($1, $2, 'admin_adjustment', $3, null, null, null, null, null, null, null) returning id",
    )
    .bind(user)
    .bind(-1)
    .bind("bench (by bench)")
    .fetch_one(&mut *tx)
    .await
    .expect("entry");
    sqlx::query(
        "insert into bench_old_audit_log (actor, action, \"entityType\", \"entityId\", reason, details)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind("bench")
    .bind("credits.adjust")
    .bind("user")
    .bind(user.to_string())
    .bind("bench")
    .bind(serde_json::json!({"amount": -1, "entry_id": entry, "old_balance": balance,
                             "new_balance": balance - 1, "idempotency_key": null}))
    .execute(&mut *tx)
    .await
    .expect("audit");
    tx.commit().await.expect("commit");
}

async fn a_hundred_at_once(pool: &PgPool, logins: &[Db], ids: &[i32]) {
    let rows_before: i64 = sqlx::query_scalar("select count(*) from admin_audit_log")
        .fetch_one(pool)
        .await
        .expect("count");
    let started = Instant::now();
    let tasks: Vec<_> = ids
        .iter()
        .take(100)
        .enumerate()
        .map(|(i, &user)| {
            let login = logins[i % logins.len()].clone();
            tokio::spawn(async move {
                let ops = Operator::parse(&format!("bench-{}", i % 10)).expect("operator");
                credits::adjust(
                    &login,
                    &ops,
                    &UserRef::Id(user),
                    -1,
                    &Reason::parse("at once").expect("reason"),
                    None,
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("adjusted");
    }
    let took = started.elapsed();
    let rows_after: i64 = sqlx::query_scalar("select count(*) from admin_audit_log")
        .fetch_one(pool)
        .await
        .expect("count");
    let started = Instant::now();
    let v = audit::verify(&Db::direct(pool.clone()), None)
        .await
        .expect("verify");
    let verify_took = started.elapsed();
    println!(
        "100 adjustments at once by 10 operators on 100 users: {:.1} ms in all; audit rows {} -> {} \
         ({} new), chain {} over {} rows (verified in {:.1} ms)",
        ms(took),
        rows_before,
        rows_after,
        rows_after - rows_before,
        if v.is_intact() { "intact" } else { "BROKEN" },
        v.rows,
        ms(verify_took)
    );
    assert_eq!(rows_after - rows_before, 100, "no audit row lost");
    assert!(v.is_intact(), "{v:?}");
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn percentile(v: &mut [Duration], p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
