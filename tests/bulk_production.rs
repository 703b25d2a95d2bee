//! Issue 11 as production runs it: on a Supabase-like database (the app's
//! tables and rows, `postgres` owning them and migrating), the app writing
//! its ledger straight into the tables, and operator logins with the least
//! role that may act, through PgBouncer in transaction mode.

use creditdesk::domain::role::Group;
use creditdesk::testing::supabase::SupabaseDb;
use creditdesk::testing::{CliRun, run_cli};
use sqlx::{AssertSqlSafe, PgPool};

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

fn cli(url: &str, args: &[&str]) -> CliRun {
    let mut all = vec!["--pooler"];
    all.extend_from_slice(args);
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "", &all)
}

#[tokio::test]
async fn bulk_work_through_a_transaction_pooler_as_the_least_roles() {
    let db = SupabaseDb::migrated().await;
    // The app books purchases and charges itself, straight into the tables.
    exec(
        &db.postgres,
        "insert into users (email, credits) select 'app' || g || '@example.com', 100
           from generate_series(1, 30) g;
         insert into credit_history (\"userId\", amount, type)
           select id, 100, 'purchase' from users where email like 'app%';
         insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                                               \"aspectRatio\", glasses, status, \"createdAt\")
           select id, 4, 8, '1:1', 'no', 'generating', now() - interval '1 hour'
           from users where email like 'app%';
         insert into credit_history (\"userId\", amount, type, \"relatedBatchId\")
           select \"userId\", -8, 'generation', id from photo_generation_batches;
         update users set credits = credits - 8 where email like 'app%';",
    )
    .await;
    let (oncall, _) = db.login(Group::Oncall).await;
    let (support, _) = db.login(Group::Support).await;
    let (auditor, _) = db.login(Group::Auditor).await;
    let pooler = db.pooler(2, &[&oncall, &support, &auditor]);
    let url = |who: &str| pooler.url(who, &db.name);

    let run = cli(
        &url(&oncall),
        &["batches", "fail-many", "--stuck", "--reason", "GPU outage"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("done 30, skipped 0, failed 0; refunded 240 credits"),
        "{}",
        run.stdout
    );

    let file = std::env::temp_dir().join(format!("cd-supa-{}.csv", std::process::id()));
    std::fs::write(
        &file,
        "user,amount\napp1@example.com,+5\napp2@example.com,-5\n",
    )
    .unwrap();
    let f = file.to_string_lossy().into_owned();
    let adjust = cli(
        &url(&support),
        &[
            "credits",
            "adjust-many",
            "--file",
            &f,
            "--reason",
            "goodwill",
        ],
    );
    assert_eq!(adjust.code, 0, "{}", adjust.stderr);
    let again = cli(
        &url(&support),
        &[
            "credits",
            "adjust-many",
            "--file",
            &f,
            "--reason",
            "goodwill",
        ],
    );
    assert!(again.stdout.contains("booked 0 row(s)"), "{}", again.stdout);
    let entry = scalar(
        &db.admin,
        "select max(id)::int8 from credit_history where type = 'admin_adjustment'",
    )
    .await;
    let reverse = cli(
        &url(&support),
        &[
            "credits",
            "reverse",
            &entry.to_string(),
            "--reason",
            "wrong user",
        ],
    );
    assert_eq!(reverse.code, 0, "{}", reverse.stderr);

    // What the auditor reads agrees with the rows the app and the tool wrote.
    let history = cli(
        &url(&auditor),
        &["credits", "history", "app2@example.com", "--json"],
    );
    assert_eq!(history.code, 0, "{}", history.stderr);
    let v: serde_json::Value = serde_json::from_str(&history.stdout).expect("json");
    assert_eq!(v["entries"][0]["balance_after"], 100);
    let report = cli(&url(&auditor), &["report", "daily", "--json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let r: serde_json::Value = serde_json::from_str(&report.stdout).expect("json");
    let today = r["days"].as_array().unwrap().last().unwrap().clone();
    let credited = scalar(
        &db.admin,
        "select sum(amount) filter (where amount > 0)::int8 from credit_history
         where \"createdAt\" >= date_trunc('day', now(), 'UTC')",
    )
    .await;
    assert_eq!(today["credited"], credited);
    // The auditor may read but not change.
    let refused = cli(
        &url(&auditor),
        &["credits", "reverse", &entry.to_string(), "--reason", "x"],
    );
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    let mismatches = cli(&url(&auditor), &["credits", "verify"]);
    assert_eq!(
        mismatches.code, 0,
        "{}{}",
        mismatches.stdout, mismatches.stderr
    );
    let _ = std::fs::remove_file(&file);
}
