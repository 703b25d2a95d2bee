//! The issue's speed targets, measured on a seeded database.
//!
//! ```sh
//! # a throwaway server seeded with 1,000,000 users (~10M ledger rows):
//! cargo bench --bench scale -- --users 1000000
//! # or an existing seeded database:
//! DATABASE_URL=postgres://... cargo bench --bench scale
//! ```
//!
//! Prints one line per figure: the seed time, `credits history` first page
//! vs 10,000 entries deep vs the same SQL through psql, `users find` by email
//! substring (EXPLAIN ANALYZE), `gift-cards issue --count 10000` end to end,
//! and `credits verify` vs the raw aggregate through psql.

use std::process::Command;
use std::time::{Duration, Instant};

use creditdesk::db::Db;
use creditdesk::db::credits::{self, Cursor, HistoryQuery};
use sqlx::{AssertSqlSafe, PgPool};

const RUNS: usize = 101;

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
    sqlx::raw_sql("vacuum analyze")
        .execute(&pool)
        .await
        .expect("vacuum");

    history(&db, &url).await;
    find(&pool).await;
    issue(&url);
    verify(&db, &url).await;
}

/// The whale's ledger: first page, the page 10,000 entries deep, and the same
/// SQL through psql.
async fn history(db: &Db, url: &str) {
    let pool = db.pool();
    let (whale, entries): (i32, i64) = sqlx::query_as(
        "select \"userId\", count(*) from credit_history group by \"userId\" order by 2 desc limit 1",
    )
    .fetch_one(pool)
    .await
    .expect("whale");
    let query = |before: Option<Cursor>| HistoryQuery {
        user_id: whale,
        kind: None,
        since: None,
        until: None,
        before,
        limit: 50,
    };
    // Walk 10,000 entries deep to find that page's cursor.
    let mut before = None;
    for _ in 0..200 {
        let page = credits::history(db, &query(before)).await.expect("page");
        before = page.next;
    }
    let deep = before.expect("a deep cursor");
    let first = median(RUNS, || async {
        credits::history(db, &query(None)).await.expect("first");
    })
    .await;
    let deep_time = median(RUNS, || async {
        credits::history(db, &query(Some(deep)))
            .await
            .expect("deep");
    })
    .await;
    // The statement credits::history prepares, prepared the same way in
    // psql, so both sides run the same SQL with the same kind of plan.
    let prepare =
        "prepare history(int4, text, timestamptz, timestamptz, timestamptz, int4, int8) as
        select h.id, h.\"createdAt\" as created_at, h.amount, h.type::text as kind,
               h.description, h.\"relatedTransactionId\" as transaction_id,
               h.\"relatedPhotoId\" as photo_id, h.\"relatedModelId\" as model_id,
               h.\"relatedGiftCardId\" as gift_card_id, g.code as gift_card_code,
               h.\"relatedCouponId\" as coupon_id, c.code as coupon_code,
               h.\"relatedBatchId\" as batch_id
        from credit_history h
        left join gift_cards g on g.id = h.\"relatedGiftCardId\"
        left join coupons c on c.id = h.\"relatedCouponId\"
        where h.\"userId\" = $1
          and ($2::text is null or h.type::text = $2)
          and ($3::timestamptz is null or h.\"createdAt\" >= $3)
          and ($4::timestamptz is null or h.\"createdAt\" < $4)
          and (h.\"createdAt\", h.id) < ($5, $6)
        order by h.\"createdAt\" desc, h.id desc
        limit $7";
    let execute = format!(
        "execute history({whale}, null, null, null, '{}', {}, 50)",
        deep.created_at.to_rfc3339(),
        deep.id
    );
    let psql = psql_median_prepared(url, prepare, &execute);
    println!(
        "credits history (user {whale}, {entries} entries, 50 a page): first page {:.2} ms, \
         10,000 deep {:.2} ms (ratio {:.2}), same SQL through psql {:.2} ms (ratio {:.2})",
        ms(first),
        ms(deep_time),
        deep_time.as_secs_f64() / first.as_secs_f64(),
        ms(psql),
        deep_time.as_secs_f64() / psql.as_secs_f64()
    );
}

/// `users find` by an email substring: the database's own timing.
async fn find(pool: &PgPool) {
    for text in ["lopez", "son4", "@outlook"] {
        let pattern = format!("%{text}%");
        let sql = format!(
            "explain (analyze, format json)
             select id, email, name, credits, \"createdAt\" from users
             where id = null::int4 or email ilike '{pattern}' or name ilike '{pattern}'
             order by \"createdAt\" desc, id desc limit 50"
        );
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let plan: serde_json::Value = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                .fetch_one(pool)
                .await
                .expect("explain");
            let t = plan[0]["Execution Time"].as_f64().unwrap_or(f64::NAN)
                + plan[0]["Planning Time"].as_f64().unwrap_or(0.0);
            times.push(t);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "users find {text:?}: {:.2} ms in the database (EXPLAIN ANALYZE, planning + execution, median)",
            times[times.len() / 2]
        );
    }
}

/// `gift-cards issue --count 10000`, the real binary, end to end.
fn issue(url: &str) {
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_creditdesk"))
            .args([
                "gift-cards",
                "issue",
                "--credits",
                "100",
                "--price",
                "9.99",
                "--count",
                "10000",
                "--json",
            ])
            .env("DATABASE_URL", url)
            .env("CREDITDESK_OPERATOR", "bench")
            .output()
            .expect("creditdesk runs");
        let elapsed = started.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        times.push(elapsed);
    }
    times.sort();
    println!(
        "gift-cards issue --count 10000 (end to end, process start to exit): {:.0} ms (median of 3)",
        ms(times[1])
    );
}

/// `credits verify` against the raw aggregate through psql.
async fn verify(db: &Db, url: &str) {
    let ours = median(5, || async {
        credits::verify(db).await.expect("verify");
    })
    .await;
    let psql = {
        let sql = "select u.id, u.email, u.credits, coalesce(s.total, 0) from users u
                   left join (select \"userId\", sum(amount) as total from credit_history group by \"userId\") s
                     on s.\"userId\" = u.id
                   where u.credits <> coalesce(s.total, 0) order by u.id";
        psql_median_runs(url, sql, 5)
    };
    println!(
        "credits verify: {:.0} ms, raw aggregate through psql {:.0} ms (ratio {:.2})",
        ms(ours),
        ms(psql),
        ours.as_secs_f64() / psql.as_secs_f64()
    );
}

async fn median<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await; // warm the cache and the prepared statement
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed());
    }
    times.sort();
    times[runs / 2]
}

/// `execute` timed by psql after `prepare` (not timed), median.
fn psql_median_prepared(url: &str, prepare: &str, execute: &str) -> Duration {
    psql_timings(url, &format!("{prepare};\n"), execute, RUNS)
}

/// psql's own `\timing` of the statement (client round trip), median.
fn psql_median_runs(url: &str, sql: &str, runs: usize) -> Duration {
    psql_timings(url, "", sql, runs)
}

fn psql_timings(url: &str, setup: &str, sql: &str, runs: usize) -> Duration {
    let mut script = format!("{setup}\\timing on\n");
    for _ in 0..=runs {
        script.push_str(sql);
        script.push_str(";\n");
    }
    let mut child = Command::new("psql")
        .arg(url)
        .args(["-X", "-q", "-o", "/dev/null", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql runs");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(script.as_bytes()).expect("psql stdin");
    }
    let out = child.wait_with_output().expect("psql finishes");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut times: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Time: "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .skip(1) // the warm-up run
        .collect();
    assert!(!times.is_empty(), "psql printed no timings: {text}");
    times.sort_by(f64::total_cmp);
    Duration::from_secs_f64(times[times.len() / 2] / 1000.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
