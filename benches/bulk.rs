//! Issue 11's speed targets, measured on a seeded database.
//!
//! ```sh
//! cargo bench --bench bulk -- --users 1000000      # a server of its own, seeded
//! DATABASE_URL=postgres://... cargo bench --bench bulk   # a seeded database
//! ```
//!
//! One line per figure:
//! - §1 `batches fail-many`: 10,000 stuck batches previewed, then failed and
//!   refunded (chunks of 500, every batch audited), target under 10 s;
//! - §2 `credits adjust-many`: a 10,000-row file checked and booked, target
//!   under 5 s; and the same size as one request approved in one transaction;
//! - §4 the whale's ledger with balances: the first page and the page
//!   500,000 entries deep, target at most 2x;
//! - §5 each dashboard query (`report daily`, `report batches`), target at
//!   most 200 ms each;
//! - what the ledger's triggers cost the app: one charge inserted, with and
//!   without them.
//!
//! Every run makes its own batches and file, so it can run again on the
//! same database (it leaves them there, failed and booked).

use std::time::{Duration, Instant};

use creditdesk::db::bulk::{Stop, adjust, fail};
use creditdesk::db::credits::{self, Cursor, HistoryQuery};
use creditdesk::db::{Change, Db, approvals, reports};
use creditdesk::domain::adjust_file;
use creditdesk::domain::operator::Operator;
use creditdesk::domain::text::Reason;
use sqlx::{AssertSqlSafe, PgPool};

const RUNS: usize = 21;

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

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn run(users: u32) {
    let (_url, db) = creditdesk::testing::bench_database(users, 4).await;
    let pool = db.pool().clone();
    // What `creditdesk migrate` does after a seed: track the heavy ledgers.
    let started = Instant::now();
    let tracked = scalar(&pool, "select creditdesk.ledger_track_heavy()::int8").await;
    println!(
        "ledgers tracked after the seed: {tracked} ({:.1} s; `creditdesk migrate` does this)",
        started.elapsed().as_secs_f64()
    );
    // Thresholds out of the way: these figures are about the runs.
    exec(
        &pool,
        "update creditdesk.settings set value = 1000000000
         where key in ('approval.bulk_refund_credits', 'approval.adjustment_credits')",
    )
    .await;
    sqlx::raw_sql("vacuum analyze")
        .execute(&pool)
        .await
        .expect("vacuum");
    let operator = Operator::parse("bench").expect("operator");

    fail_many(&db, &operator).await;
    adjust_many(&db, &operator).await;
    history(&db).await;
    dashboard(&db).await;
    trigger_cost(&pool).await;
}

/// §1: 10,000 stuck batches, each with its generation charge.
async fn fail_many(db: &Db, operator: &Operator) {
    let pool = db.pool();
    let tag = format!("{:08x}", rand::random::<u32>());
    exec(
        pool,
        &format!(
            "create temp table bench_stuck as
             select u.id as user_id from users u where u.credits >= 8
             order by hashint4(u.id + {seed}) limit 10000;
             insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                                                   \"aspectRatio\", glasses, status, \"createdAt\", styles)
               select user_id, 4, 8, '1:1', 'no', 'generating', now() - interval '3 hours',
                      jsonb_build_array('bench-{tag}')
               from bench_stuck;
             insert into credit_history (\"userId\", amount, type, \"relatedBatchId\", description)
               select \"userId\", -8, 'generation', id, 'bench charge'
               from photo_generation_batches where styles = jsonb_build_array('bench-{tag}');
             update users u set credits = credits - 8 from bench_stuck s where s.user_id = u.id;
             drop table bench_stuck;",
            seed = rand::random::<u16>()
        ),
    )
    .await;
    let ids: Vec<i32> = sqlx::query_scalar(AssertSqlSafe(format!(
        "select id from photo_generation_batches where styles = jsonb_build_array('bench-{tag}') order by id"
    )))
    .fetch_all(pool)
    .await
    .expect("ids");
    let reason = Reason::parse("bench: GPU outage").expect("reason");
    let started = Instant::now();
    let preview = fail::preview(
        db,
        &fail::Selection::Ids(ids.clone()),
        fail::RefundMode::All,
    )
    .await
    .expect("preview");
    let previewed = started.elapsed();
    let Change::Applied(report) = fail::run(db, operator, &preview, &reason, &|_| {}, &Stop::new())
        .await
        .expect("run")
    else {
        panic!("no approval")
    };
    let total = started.elapsed();
    assert_eq!(report.done.len(), ids.len(), "{:?}", report.failed);
    println!(
        "batches fail-many, {} batches: preview {:.0} ms, run {:.0} ms ({:.0} batches/s, {} audit rows), \
         {:.2} s in all (target < 10 s)",
        ids.len(),
        ms(previewed),
        ms(total - previewed),
        ids.len() as f64 / (total - previewed).as_secs_f64(),
        report.done.len(),
        total.as_secs_f64()
    );
}

/// §2: a 10,000-row file, run; then another one as one approved request.
async fn adjust_many(db: &Db, operator: &Operator) {
    let pool = db.pool();
    let users: Vec<i32> = sqlx::query_scalar(AssertSqlSafe(format!(
        "select id from users order by hashint4(id + {}) limit 10000",
        rand::random::<u16>()
    )))
    .fetch_all(pool)
    .await
    .expect("users");
    let file = |tag: &str| {
        let mut text = String::from("user,amount,reason\n");
        for (i, u) in users.iter().enumerate() {
            text.push_str(&format!("{u},+{},bench {tag}\n", 1 + i % 5));
        }
        text
    };
    let reason = Reason::parse("bench: compensation").expect("reason");
    let text = file(&format!("{:08x}", rand::random::<u32>()));
    let started = Instant::now();
    let parsed = adjust_file::parse(text.as_bytes()).expect("parse");
    let plan = adjust::check(db, "bench.csv", &parsed, &reason)
        .await
        .expect("check");
    let checked = started.elapsed();
    assert_eq!(plan.totals.ok, users.len());
    let Change::Applied(report) = adjust::run(db, operator, &plan, false, &|_| {}, &Stop::new())
        .await
        .expect("run")
    else {
        panic!("no approval")
    };
    let total = started.elapsed();
    assert_eq!(report.booked.len(), users.len(), "{:?}", report.failed);
    println!(
        "credits adjust-many, {} rows: parse and check {:.0} ms, run {:.0} ms ({:.0} rows/s), \
         {:.2} s in all (target < 5 s)",
        users.len(),
        ms(checked),
        ms(total - checked),
        users.len() as f64 / (total - checked).as_secs_f64(),
        total.as_secs_f64()
    );

    // The same size above the threshold: one request, approved by a second
    // login in one transaction.
    exec(
        pool,
        "update creditdesk.settings set value = 500 where key = 'approval.adjustment_credits'",
    )
    .await;
    let text = file(&format!("{:08x}", rand::random::<u32>()));
    let parsed = adjust_file::parse(text.as_bytes()).expect("parse");
    let plan = adjust::check(db, "bench.csv", &parsed, &reason)
        .await
        .expect("check");
    let asked = Instant::now();
    let Change::Pending(request) = adjust::run(db, operator, &plan, false, &|_| {}, &Stop::new())
        .await
        .expect("request")
    else {
        panic!("above the threshold")
    };
    let requested = asked.elapsed();
    let approver = second_login(db).await;
    let approving = Instant::now();
    let approved = approvals::approve(&approver, operator, request.id, None)
        .await
        .expect("approve");
    let took = approving.elapsed();
    let approvals::Approved::AdjustMany(r) = approved else {
        panic!("a file")
    };
    assert_eq!(r.booked.len(), users.len());
    println!(
        "credits adjust-many above the threshold, {} rows: the request {:.0} ms, approving it \
         (one transaction) {:.2} s",
        users.len(),
        ms(requested),
        took.as_secs_f64()
    );
    exec(
        pool,
        "update creditdesk.settings set value = 1000000000 where key = 'approval.adjustment_credits'",
    )
    .await;
}

/// A finance login other than the one that asked (the server's own role
/// when it may not create roles: then the approval is skipped by the
/// four-eyes rule, and this says so).
async fn second_login(db: &Db) -> Db {
    let pool = db.pool();
    let name = format!("bench_approver_{}", std::process::id());
    let password = format!("pw{:016x}", rand::random::<u64>());
    exec(
        pool,
        &format!(
            "do $$ begin
               if to_regrole('{name}') is null then
                 create role {name} login password '{password}' in role creditdesk_finance;
               else
                 alter role {name} password '{password}';
               end if;
             end $$"
        ),
    )
    .await;
    let mut options: sqlx::postgres::PgConnectOptions = (*pool.connect_options()).clone();
    options = options.username(&name).password(&password);
    let approver = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .expect("connect as the approver");
    Db::direct(approver).with_session().await.expect("session")
}

/// §4: the whale's first page and the page 500,000 entries deep, with
/// balances.
async fn history(db: &Db) {
    let pool = db.pool();
    let (whale, entries): (i32, i64) = sqlx::query_as(
        "select \"userId\", count(*) from credit_history group by 1 order by 2 desc limit 1",
    )
    .fetch_one(pool)
    .await
    .expect("whale");
    let depth = (entries / 2).min(500_000);
    let (at, id): (chrono::DateTime<chrono::Utc>, i32) = sqlx::query_as(
        "select \"createdAt\", id from credit_history where \"userId\" = $1
         order by \"createdAt\" desc, id desc offset $2 limit 1",
    )
    .bind(whale)
    .bind(depth - 1)
    .fetch_one(pool)
    .await
    .expect("deep cursor");
    let deep = Cursor { created_at: at, id };
    let query = |before: Option<Cursor>| HistoryQuery {
        user_id: whale,
        kind: None,
        since: None,
        until: None,
        before,
        limit: 50,
    };
    let first = median(|| async {
        credits::history_with_balances(db, &query(None))
            .await
            .expect("first");
    })
    .await;
    let deep_time = median(|| async {
        credits::history_with_balances(db, &query(Some(deep)))
            .await
            .expect("deep");
    })
    .await;
    let plain = median(|| async {
        credits::history(db, &query(None)).await.expect("plain");
    })
    .await;
    // the balances are right: the deep page's first balance by summing
    let page = credits::history_with_balances(db, &query(Some(deep)))
        .await
        .expect("deep");
    let summed = scalar(
        pool,
        &format!(
            "select sum(amount)::int8 from credit_history where \"userId\" = {whale}
             and (\"createdAt\", id) <= ('{}', {})",
            page.entries[0].entry.created_at.to_rfc3339(),
            page.entries[0].entry.id
        ),
    )
    .await;
    assert_eq!(page.entries[0].balance_after, summed);
    let tracked = scalar(
        pool,
        &format!("select count(*) from creditdesk.ledger_tracked where \"userId\" = {whale}"),
    )
    .await;
    println!(
        "credits history with balances (user {whale}, {entries} entries{}, 50 a page): first page \
         {:.2} ms, {depth} deep {:.2} ms (ratio {:.2}, target <= 2); without balances {:.2} ms",
        if tracked == 1 {
            ", tracked"
        } else {
            ", NOT tracked"
        },
        ms(first),
        ms(deep_time),
        deep_time.as_secs_f64() / first.as_secs_f64(),
        ms(plain)
    );
    let at = median(|| async {
        credits::balance_at(
            db,
            &creditdesk::domain::user_ref::UserRef::Id(whale),
            chrono::Utc::now() - chrono::Duration::days(200),
        )
        .await
        .expect("as of");
    })
    .await;
    println!(
        "credits show --as-of (200 days ago, the whale): {:.2} ms",
        ms(at)
    );
}

/// §5: each dashboard query.
async fn dashboard(db: &Db) {
    let now = chrono::Utc::now();
    let daily = median(|| async {
        reports::daily(db, now - chrono::Duration::days(29))
            .await
            .expect("daily");
    })
    .await;
    let batches = median(|| async {
        reports::batches(db, now - chrono::Duration::hours(47))
            .await
            .expect("batches");
    })
    .await;
    let all = median(|| async {
        reports::dashboard(db).await.expect("dashboard");
    })
    .await;
    // each statement on its own, as the database times it
    let pool = db.pool();
    let mut worst: Vec<(f64, &str)> = Vec::new();
    for (name, sql) in [
        (
            "credits by day and type, 30 days",
            "select day, type, credited, debited from creditdesk.ledger_by_day
             where day >= (now() - interval '29 days')::date and day <= now()::date",
        ),
        (
            "coupon redemptions by day",
            "select (\"redeemedAt\" at time zone 'UTC')::date, count(*) from creditdesk.coupon_redemptions
             where \"redeemedAt\" >= now() - interval '30 days' group by 1",
        ),
        (
            "gift-card redemptions by day",
            "select (\"redeemedAt\" at time zone 'UTC')::date, count(*) from creditdesk.gift_cards
             where \"redeemedAt\" >= now() - interval '30 days' group by 1",
        ),
        (
            "biggest adjustments of the week",
            "select h.id, h.amount, u.email
             from (select id, \"userId\", amount, \"createdAt\" from creditdesk.credit_history
                   where type = 'admin_adjustment' and \"createdAt\" >= now() - interval '7 days'
                   order by abs(amount) desc, \"createdAt\" desc, id desc limit 10) h
             left join creditdesk.users u on u.id = h.\"userId\"",
        ),
        (
            "batches per hour by status, 48 hours",
            "select date_trunc('hour', b.\"createdAt\", 'UTC'), s.status, count(*)
             from unnest(array['generating', 'completed', 'failed']) as s(status)
             cross join lateral (select \"createdAt\" from creditdesk.photo_generation_batches p
                                 where p.status = s.status
                                   and p.\"createdAt\" >= now() - interval '48 hours') b
             group by 1, 2",
        ),
        (
            "stuck now",
            "select count(*) from creditdesk.photo_generation_batches where status = 'generating'",
        ),
    ] {
        worst.push((explain_ms(pool, sql).await, name));
    }
    println!(
        "report daily (30 days, 4 queries): {:.1} ms; report batches (48 hours, 4 queries): {:.1} ms; \
         the whole dashboard in one snapshot: {:.1} ms (target <= 200 ms a query)",
        ms(daily),
        ms(batches),
        ms(all)
    );
    let parts: Vec<String> = worst
        .iter()
        .map(|(t, name)| format!("{name} {t:.2} ms"))
        .collect();
    println!(
        "  each in the database (EXPLAIN ANALYZE, median): {}",
        parts.join("; ")
    );
}

async fn explain_ms(pool: &PgPool, sql: &str) -> f64 {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let plan: serde_json::Value = sqlx::query_scalar(AssertSqlSafe(format!(
            "explain (analyze, format json) {sql}"
        )))
        .fetch_one(pool)
        .await
        .expect("explain");
        times.push(
            plan[0]["Execution Time"].as_f64().unwrap_or(f64::NAN)
                + plan[0]["Planning Time"].as_f64().unwrap_or(0.0),
        );
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// What the triggers cost the app's own write: one generation charge and
/// its balance update, as the app books it, with and without them.
async fn trigger_cost(pool: &PgPool) {
    let user: i32 = sqlx::query_scalar("select id from users where credits > 1000 limit 1")
        .fetch_one(pool)
        .await
        .expect("user");
    let charge = || async {
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("update users set credits = credits - 1 where id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await
            .expect("update");
        sqlx::query(
            "insert into credit_history (\"userId\", amount, type, description)
             values ($1, -1, 'generation', 'bench trigger charge')",
        )
        .bind(user)
        .execute(&mut *tx)
        .await
        .expect("insert");
        tx.commit().await.expect("commit");
    };
    let with = median(charge).await;
    exec(
        pool,
        "alter table credit_history disable trigger credit_history_rollup_insert",
    )
    .await;
    let without = median(charge).await;
    exec(
        pool,
        "alter table credit_history enable trigger credit_history_rollup_insert",
    )
    .await;
    // the charges booked without the trigger are missing from the sums: put them back
    exec(pool, "select creditdesk.ledger_apply(array_agg(\"userId\"), array_agg(\"createdAt\"), array_agg(type::text), array_agg(amount), array_agg(1)) from (select * from credit_history where description = 'bench trigger charge' order by id desc limit 22) s").await;
    println!(
        "the app's charge (update the balance, insert the entry, commit): {:.3} ms with the ledger's \
         triggers, {:.3} ms without",
        ms(with),
        ms(without)
    );
}

async fn median<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed());
    }
    times.sort();
    times[RUNS / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
