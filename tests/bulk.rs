//! Bulk work against real PostgreSQL (issue 11 §1, §2): failing and
//! refunding many batches, adjusting many balances from a file; the preview
//! and exactly the preview; runs stopped, killed and raced, then run again
//! (nothing booked twice); one request above the threshold; the roles; and
//! the binary's output and exit codes.

use std::time::Duration;

use creditdesk::db::bulk::{self, CHUNK, Progress, Stop, adjust, fail};
use creditdesk::db::{Change, Db, approvals, credits};
use creditdesk::domain::Refusal;
use creditdesk::domain::adjust_file;
use creditdesk::domain::role::Group;
use creditdesk::error::Error;
use creditdesk::testing::{
    CliRun, TestDb, operator, reason, refused, run_cli, scalar_i64, set_setting,
};
use sqlx::{AssertSqlSafe, PgPool};

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn cli(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "test-ops", args)
}

fn quiet(_: Progress) {}

/// `users` users with 1000 credits each (a purchase), each with `per_user`
/// batches generating for 2 hours that charged 8 credits. Returns the
/// batch ids, oldest first.
async fn stuck_batches(pool: &PgPool, users: i32, per_user: i32) -> Vec<i32> {
    exec(
        pool,
        &format!(
            "insert into users (email, name, credits)
               select 'bulk' || g || '@example.com', 'Bulk', 1000 from generate_series(1, {users}) g;
             insert into credit_history (\"userId\", amount, type, description)
               select id, 1000, 'purchase', 'pack' from users where email like 'bulk%';
             insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                                                   \"aspectRatio\", glasses, status, \"createdAt\")
               select u.id, 4, 8, '1:1', 'no', 'generating',
                      now() - interval '2 hours' - (u.id * {per_user} + k) * interval '1 second'
               from users u cross join generate_series(1, {per_user}) k where u.email like 'bulk%';
             insert into credit_history (\"userId\", amount, type, \"relatedBatchId\")
               select \"userId\", -8, 'generation', id from photo_generation_batches;
             update users u set credits = u.credits - s.c
               from (select \"userId\", sum(\"creditsUsed\") as c from photo_generation_batches
                     group by 1) s where s.\"userId\" = u.id;"
        ),
    )
    .await;
    sqlx::query_scalar("select id from photo_generation_batches order by \"createdAt\", id")
        .fetch_all(pool)
        .await
        .expect("batches")
}

async fn refunds_per_batch_at_most_one(pool: &PgPool) {
    assert_eq!(
        scalar_i64(
            pool,
            "select count(*) from (select \"relatedBatchId\" from credit_history
             where type = 'refund' group by 1 having count(*) > 1) s"
        )
        .await,
        0
    );
}

async fn ledger_agrees(db: &Db) {
    assert!(credits::verify(db).await.expect("verify").is_empty());
}

fn stuck() -> fail::Selection {
    fail::Selection::Stuck {
        older_than: chrono::Duration::minutes(15),
    }
}

#[tokio::test]
async fn the_preview_lists_the_exact_batches_and_the_run_touches_only_them() {
    let db = TestDb::new().await;
    let ids = stuck_batches(&db.pool, 3, 2).await;
    let oncall = db.login(Group::Oncall).await;
    let preview = fail::preview(&oncall.db, &stuck(), fail::RefundMode::All)
        .await
        .expect("preview");
    assert_eq!(preview.ids(), ids, "oldest first");
    assert_eq!(preview.totals.batches, 6);
    assert_eq!(preview.totals.users, 3);
    assert_eq!(preview.totals.credits, 48);
    assert!(!preview.needs_approval);
    assert!(
        preview
            .items
            .iter()
            .all(|c| c.plan == fail::Plan::FailAndRefund && c.would_refund == 8)
    );

    // After the preview: one batch completes, one is failed by someone else,
    // and a new one gets stuck.
    exec(
        &db.pool,
        &format!(
            "update photo_generation_batches set status = 'completed', \"completedAt\" = now() where id = {};
             update photo_generation_batches set status = 'failed' where id = {};
             insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                                                   \"aspectRatio\", glasses, status, \"createdAt\")
               select \"userId\", 4, 8, '1:1', 'no', 'generating', now() - interval '3 hours'
               from photo_generation_batches where id = {};",
            ids[0], ids[1], ids[2]
        ),
    )
    .await;
    let Change::Applied(report) = fail::run(
        &oncall.db,
        &operator(),
        &preview,
        &reason("gpu outage"),
        &quiet,
        &Stop::new(),
    )
    .await
    .expect("run") else {
        panic!("no approval needed")
    };
    assert_eq!(report.done.len(), 4);
    assert_eq!(report.refunded, 32);
    let skipped: Vec<(i32, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.batch_id, s.reason.as_str()))
        .collect();
    assert_eq!(skipped, [(ids[0], "changed"), (ids[1], "changed")]);
    assert!(
        report.skipped[0].message.contains("completed now"),
        "{:?}",
        report.skipped
    );
    assert!(report.is_complete());
    // the batch stuck after the preview is untouched
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from photo_generation_batches where status = 'generating'"
        )
        .await,
        1
    );
    // every batch done is audited, with the run's id
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!(
                "select count(*) from admin_audit_log where action = 'batch.fail'
                 and details->'bulk'->>'run' = '{}' and login = '{}'",
                report.run, oncall.name
            )
        )
        .await,
        4
    );
    refunds_per_batch_at_most_one(&db.pool).await;
    ledger_agrees(&db.tool).await;
}

#[tokio::test]
async fn a_run_stopped_half_way_and_run_again_refunds_nothing_twice() {
    let db = TestDb::new().await;
    let ids = stuck_batches(&db.pool, 50, 25).await; // 1250: three chunks
    assert!(ids.len() > 2 * CHUNK);
    let oncall = db.login(Group::Oncall).await;
    let preview = fail::preview(
        &oncall.db,
        &fail::Selection::Ids(ids.clone()),
        fail::RefundMode::All,
    )
    .await
    .expect("preview");
    let stop = Stop::new();
    let seen = std::sync::Mutex::new(Vec::new());
    let on_progress = |p: Progress| {
        seen.lock().unwrap().push(p.done);
        if p.done >= CHUNK {
            stop.stop();
        }
    };
    let Change::Applied(first) = fail::run(
        &oncall.db,
        &operator(),
        &preview,
        &reason("outage"),
        &on_progress,
        &stop,
    )
    .await
    .expect("run") else {
        panic!("no approval")
    };
    assert!(first.stopped);
    assert_eq!(first.done.len(), CHUNK);
    assert_eq!(first.not_run.len(), ids.len() - CHUNK);
    assert_eq!(*seen.lock().unwrap(), [0, CHUNK]);
    // The same list again: what was done is skipped, the rest is done.
    let again = fail::preview(
        &oncall.db,
        &fail::Selection::Ids(ids.clone()),
        fail::RefundMode::All,
    )
    .await
    .expect("preview");
    assert_eq!(again.totals.batches, ids.len() - CHUNK);
    let Change::Applied(second) = fail::run(
        &oncall.db,
        &operator(),
        &again,
        &reason("outage"),
        &quiet,
        &Stop::new(),
    )
    .await
    .expect("run") else {
        panic!("no approval")
    };
    assert_eq!(second.done.len(), ids.len() - CHUNK);
    assert_eq!(second.skipped.len(), CHUNK);
    assert!(
        second
            .skipped
            .iter()
            .all(|s| s.message == "already failed and refunded")
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history where type = 'refund'"
        )
        .await,
        i64::try_from(ids.len()).unwrap()
    );
    refunds_per_batch_at_most_one(&db.pool).await;
    ledger_agrees(&db.tool).await;
}

#[tokio::test]
async fn a_killed_run_run_again_books_each_refund_once() {
    let db = TestDb::new().await;
    let ids = stuck_batches(&db.pool, 60, 30).await; // 1800 batches
    set_setting(&db.pool, "approval.bulk_refund_credits", 1_000_000).await;
    let oncall = db.login(Group::Oncall).await;
    let dir = std::env::temp_dir().join(format!("cd-bulk-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ids");
    std::fs::write(
        &file,
        ids.iter().map(|i| format!("{i}\n")).collect::<String>(),
    )
    .unwrap();
    let file = file.to_string_lossy().into_owned();
    let args = [
        "batches",
        "fail-many",
        "--ids",
        &file,
        "--reason",
        "outage",
        "--json",
    ];
    // Killed as soon as the first chunk is committed.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_creditdesk"))
        .args(args)
        .env("DATABASE_URL", &oncall.url)
        .env("CREDITDESK_OPERATOR", "test-ops")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let refunds = scalar_i64(
            &db.pool,
            "select count(*) from credit_history where type = 'refund'",
        )
        .await;
        if refunds > 0 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait");
    let refunded_before = scalar_i64(
        &db.pool,
        "select count(*) from credit_history where type = 'refund'",
    )
    .await;
    assert!(
        refunded_before > 0 && refunded_before < ids.len() as i64,
        "killed half-way: {refunded_before} refunded; {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Run again: the rest is done, nothing twice.
    let again = cli(&oncall.url, &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let report: serde_json::Value = serde_json::from_str(&again.stdout).expect("json");
    let done = report["done"].as_array().unwrap().len() as i64;
    assert_eq!(done + refunded_before, ids.len() as i64, "{}", again.stdout);
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history where type = 'refund'"
        )
        .await,
        ids.len() as i64
    );
    refunds_per_batch_at_most_one(&db.pool).await;
    ledger_agrees(&db.tool).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runs_of_one_preview_at_once_refund_each_batch_once() {
    let db = TestDb::new().await;
    let ids = stuck_batches(&db.pool, 40, 20).await;
    let logins = db.logins(Group::Oncall, 2).await;
    let (a, b) = (logins.next(), logins.next());
    let preview = fail::preview(&a, &stuck(), fail::RefundMode::All)
        .await
        .expect("preview");
    let run = |db: Db, preview: fail::Preview| async move {
        match fail::run(
            &db,
            &operator(),
            &preview,
            &reason("outage"),
            &quiet,
            &Stop::new(),
        )
        .await
        .expect("run")
        {
            Change::Applied(r) => r,
            Change::Pending(_) => panic!("no approval"),
        }
    };
    let (ra, rb) = tokio::join!(
        tokio::spawn(run(a, preview.clone())),
        tokio::spawn(run(b, preview.clone()))
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.done.len() + rb.done.len(), ids.len());
    assert_eq!(ra.skipped.len() + rb.skipped.len(), ids.len());
    assert!(ra.failed.is_empty() && rb.failed.is_empty());
    refunds_per_batch_at_most_one(&db.pool).await;
    ledger_agrees(&db.tool).await;
}

#[tokio::test]
async fn a_refund_above_the_threshold_is_one_request_that_another_person_runs() {
    let db = TestDb::new().await;
    let ids = stuck_batches(&db.pool, 10, 10).await; // 800 credits
    set_setting(&db.pool, "approval.bulk_refund_credits", 500).await;
    let oncall = db.login(Group::Oncall).await;
    let preview = fail::preview(&oncall.db, &stuck(), fail::RefundMode::All)
        .await
        .expect("preview");
    assert!(preview.needs_approval);
    let (who, why, stop) = (operator(), reason("outage"), Stop::new());
    let ask = || fail::run(&oncall.db, &who, &preview, &why, &quiet, &stop);
    let Change::Pending(request) = ask().await.expect("run") else {
        panic!("above the threshold")
    };
    assert_eq!(request.kind, "batch.fail_many");
    // asked again: the same request
    let Change::Pending(again) = ask().await.expect("run") else {
        panic!("pending")
    };
    assert_eq!(again.id, request.id);
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history where type = 'refund'"
        )
        .await,
        0
    );
    // A chunk that tries to refund more than the threshold without approval
    // is refused by the database whatever the client says.
    let raw = sqlx::query(
        "select creditdesk.fail_batches($1, 'x', 'all', '{\"total_refund\": 0}'::jsonb)",
    )
    .bind(serde_json::Value::Array(
        ids.iter()
            .map(|i| serde_json::json!({"batch_id": i, "expected_status": "generating"}))
            .collect(),
    ))
    .execute(&oncall.raw)
    .await
    .expect_err("over the threshold");
    assert!(raw.to_string().contains("second person"), "{raw}");

    let finance = db.login(Group::Finance).await;
    let shown = approvals::show(&finance.db, request.id)
        .await
        .expect("show");
    assert!(
        shown
            .effect_now
            .iter()
            .any(|l| l.contains("100 still as the preview saw them")),
        "{:?}",
        shown.effect_now
    );
    let approvals::Approved::FailMany(report) =
        approvals::approve(&finance.db, &operator(), request.id, None)
            .await
            .expect("approve")
    else {
        panic!("a bulk fail")
    };
    assert_eq!(report.done.len(), ids.len());
    assert_eq!(report.refunded, 800);
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!(
                "select count(*) from admin_audit_log where action = 'batch.fail'
                 and details->>'approved_by_login' = '{}'
                 and details->>'requested_by_login' = '{}'",
                finance.name, oncall.name
            )
        )
        .await,
        100
    );
    refunds_per_batch_at_most_one(&db.pool).await;
    ledger_agrees(&db.tool).await;
}

#[tokio::test]
async fn only_oncall_and_admin_fail_many_however_they_ask() {
    let db = TestDb::new().await;
    let ids = stuck_batches(&db.pool, 2, 2).await;
    for group in [Group::Support, Group::Finance, Group::Auditor] {
        let login = db.login(group).await;
        let preview = fail::preview(&login.db, &stuck(), fail::RefundMode::All)
            .await
            .expect("anyone may look");
        let r = fail::run(
            &login.db,
            &operator(),
            &preview,
            &reason("x"),
            &quiet,
            &Stop::new(),
        )
        .await;
        assert!(
            matches!(refused(r), Refusal::NotPermitted { .. }),
            "{group}"
        );
        let raw = sqlx::query("select creditdesk.fail_batches($1, 'x', 'all', null)")
            .bind(serde_json::json!([{"batch_id": ids[0]}]))
            .execute(&login.raw)
            .await
            .expect_err("refused");
        assert!(
            raw.to_string().contains("permission denied"),
            "{group}: {raw}"
        );
    }
    let admin = db.login(Group::Admin).await;
    let preview = fail::preview(&admin.db, &stuck(), fail::RefundMode::None)
        .await
        .expect("preview");
    let Change::Applied(r) = fail::run(
        &admin.db,
        &operator(),
        &preview,
        &reason("x"),
        &quiet,
        &Stop::new(),
    )
    .await
    .expect("admin may") else {
        panic!()
    };
    assert_eq!(r.done.len(), 4);
    assert_eq!(r.refunded, 0);
}

#[tokio::test]
async fn fail_many_from_the_command_line() {
    let db = TestDb::new().await;
    let ids = stuck_batches(&db.pool, 3, 2).await;
    let oncall = db.login(Group::Oncall).await;
    // The dry run's JSON lists the ids a script writes to a file.
    let dry = cli(
        &oncall.url,
        &["batches", "fail-many", "--stuck", "--dry-run", "--json"],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stderr.is_empty(),
        "no progress with --json: {}",
        dry.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&dry.stdout).expect("json");
    let listed: Vec<i64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["batch_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        listed,
        ids.iter().map(|i| i64::from(*i)).collect::<Vec<_>>()
    );
    assert_eq!(v["totals"]["credits"], 48);
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history where type = 'refund'"
        )
        .await,
        0,
        "a dry run writes nothing"
    );
    let csv = cli(
        &oncall.url,
        &["batches", "fail-many", "--stuck", "--dry-run", "--csv"],
    );
    assert!(
        csv.stdout.starts_with(
            "id,user_id,email,status,created_at,charged,refunded,would_refund,plan\r\n"
        ),
        "{}",
        csv.stdout
    );

    let file = std::env::temp_dir().join(format!("cd-bulk-ids-{}", std::process::id()));
    std::fs::write(&file, format!("{}\n{}\n999999\n", ids[0], ids[1])).unwrap();
    let file_arg = file.to_string_lossy().into_owned();
    let no_reason = cli(&oncall.url, &["batches", "fail-many", "--ids", &file_arg]);
    assert_eq!(no_reason.code, 2, "{}", no_reason.stderr);
    let run = cli(
        &oncall.url,
        &[
            "batches",
            "fail-many",
            "--ids",
            &file_arg,
            "--reason",
            "outage",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("done 2, skipped 0, failed 0; refunded 16 credits"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("1 listed id(s) match no batch"),
        "{}",
        run.stderr
    );
    // again: both skipped
    let again = cli(
        &oncall.url,
        &[
            "batches",
            "fail-many",
            "--ids",
            &file_arg,
            "--reason",
            "outage",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("done 0, skipped 2"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("skipped 2: already failed and refunded"),
        "{}",
        again.stdout
    );
    // the rest, without refunds, then nothing left
    let rest = cli(
        &oncall.url,
        &[
            "batches",
            "fail-many",
            "--stuck",
            "--refund-none",
            "--reason",
            "outage",
        ],
    );
    assert_eq!(rest.code, 0, "{}", rest.stderr);
    assert!(rest.stdout.contains("done 4"), "{}", rest.stdout);
    let bad = cli(
        &oncall.url,
        &[
            "batches",
            "fail-many",
            "--status",
            "completed",
            "--since",
            "-1d",
            "--until",
            "now",
            "--dry-run",
        ],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let none = cli(&oncall.url, &["batches", "fail-many", "--reason", "x"]);
    assert_eq!(none.code, 2, "{}", none.stderr);
    let _ = std::fs::remove_file(&file);
}

// ---------------------------------------------------------------------------
// adjust-many
// ---------------------------------------------------------------------------

async fn users(pool: &PgPool, n: i32, credits: i32) -> Vec<i32> {
    exec(
        pool,
        &format!(
            "insert into users (email, name, credits)
               select 'file' || g || '@example.com', 'File', {credits} from generate_series(1, {n}) g;
             insert into credit_history (\"userId\", amount, type)
               select id, {credits}, 'purchase' from users where email like 'file%' and {credits} > 0;"
        ),
    )
    .await;
    sqlx::query_scalar("select id from users where email like 'file%' order by id")
        .fetch_all(pool)
        .await
        .expect("users")
}

fn plan_file(text: &str) -> adjust_file::AdjustFile {
    adjust_file::parse(text.as_bytes()).expect("file")
}

async fn check(db: &Db, text: &str) -> adjust::Plan {
    adjust::check(db, "f.csv", &plan_file(text), &reason("compensation"))
        .await
        .expect("check")
}

#[tokio::test]
async fn the_dry_run_names_every_bad_row_by_its_line_and_a_bad_file_is_refused_whole() {
    let db = TestDb::new().await;
    let ids = users(&db.pool, 3, 10).await;
    let support = db.login(Group::Support).await;
    let text = format!(
        "user,amount,reason\n{a},+5,late\n{b},-11,\nnobody@example.com,3,\n{a},0,\n{a},+5,late\n\
         file2@example.com,-5,\n{b},abc,\n{c},-10,\n{c},-1,\n",
        a = ids[0],
        b = ids[1],
        c = ids[2]
    );
    let plan = check(&support.db, &text).await;
    let bad: Vec<(usize, String)> = plan
        .bad_rows()
        .map(|r| (r.line, r.problems.join("; ")))
        .collect();
    let lines: Vec<usize> = bad.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [3, 4, 5, 6, 8, 10], "{bad:?}");
    assert!(bad[0].1.contains("balance 10 cannot take -11"), "{bad:?}");
    assert!(bad[1].1.contains("no user matches nobody@example.com"));
    assert!(bad[2].1.contains("must not be zero"));
    assert!(bad[3].1.contains("duplicate of line 2"));
    assert!(bad[4].1.contains("amount:"));
    // rows for one user count in file order: 10 - 10 leaves nothing for -1
    assert!(bad[5].1.contains("balance 0 cannot take -1"), "{bad:?}");
    let row7 = plan.rows.iter().find(|r| r.line == 7).unwrap();
    assert_eq!(
        (row7.balance_before, row7.balance_after),
        (Some(10), Some(5))
    );
    assert_eq!(plan.totals.ok, 3);
    // A real run with a bad row is refused whole: nothing written.
    let before = scalar_i64(&db.pool, "select count(*) from credit_history").await;
    let r = adjust::run(&support.db, &operator(), &plan, false, &quiet, &Stop::new()).await;
    assert!(matches!(refused(r), Refusal::RowsRefused { count: 6, .. }));
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from credit_history").await,
        before
    );
    // The binary says the same, with the lines, and exits 3.
    let path = std::env::temp_dir().join(format!("cd-adjust-{}.csv", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let p = path.to_string_lossy().into_owned();
    let dry = cli(
        &support.url,
        &[
            "credits",
            "adjust-many",
            "--file",
            &p,
            "--reason",
            "comp",
            "--dry-run",
        ],
    );
    assert_eq!(dry.code, 3, "{}", dry.stderr);
    assert!(dry.stdout.starts_with("line  user"), "{}", dry.stdout);
    assert!(dry.stdout.contains("\n10    "), "{}", dry.stdout);
    let real = cli(
        &support.url,
        &["credits", "adjust-many", "--file", &p, "--reason", "comp"],
    );
    assert_eq!(real.code, 3, "{}", real.stderr);
    assert!(
        real.stderr
            .contains("6 rows of the file can't be booked (line 3:"),
        "{}",
        real.stderr
    );
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from credit_history").await,
        before
    );
    // --skip-invalid books the good ones; again, it books nothing new
    let skip = cli(
        &support.url,
        &[
            "credits",
            "adjust-many",
            "--file",
            &p,
            "--reason",
            "comp",
            "--skip-invalid",
        ],
    );
    assert_eq!(skip.code, 0, "{}", skip.stderr);
    assert!(
        skip.stdout.contains("booked 3 row(s), +5 / -15 credits"),
        "{}",
        skip.stdout
    );
    let again = cli(
        &support.url,
        &[
            "credits",
            "adjust-many",
            "--file",
            &p,
            "--reason",
            "comp",
            "--skip-invalid",
            "--json",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let v: serde_json::Value = serde_json::from_str(&again.stdout).expect("json");
    assert_eq!(v["booked"].as_array().unwrap().len(), 0);
    assert_eq!(v["replayed"].as_array().unwrap().len(), 3);
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from credit_history").await,
        before + 3
    );
    ledger_agrees(&db.tool).await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_file_run_stopped_or_raced_books_each_row_once() {
    let db = TestDb::new().await;
    let ids = users(&db.pool, 1200, 0).await;
    set_setting(&db.pool, "approval.adjustment_credits", 1_000_000).await;
    let mut text = String::from("user,amount\n");
    for id in &ids {
        text.push_str(&format!("{id},+3\n"));
    }
    let finance = db.logins(Group::Finance, 2).await;
    let a = finance.next();
    let plan = check(&a, &text).await;
    assert_eq!(plan.totals.ok, 1200);
    let stop = Stop::new();
    let on_progress = |p: Progress| {
        if p.done >= CHUNK {
            stop.stop();
        }
    };
    let Change::Applied(first) = adjust::run(&a, &operator(), &plan, false, &on_progress, &stop)
        .await
        .expect("run")
    else {
        panic!()
    };
    assert!(first.stopped);
    assert_eq!(first.booked.len(), CHUNK);
    // The same file, twice at once: the rest once.
    let b = finance.next();
    let plan = check(&a, &text).await;
    assert_eq!(plan.totals.replayed, CHUNK);
    let run = |db: Db, plan: adjust::Plan| async move {
        adjust::run(&db, &operator(), &plan, false, &quiet, &Stop::new())
            .await
            .expect("run")
    };
    let (ra, rb) = tokio::join!(run(a, plan.clone()), run(b, plan.clone()));
    let (Change::Applied(ra), Change::Applied(rb)) = (ra, rb) else {
        panic!()
    };
    assert_eq!(ra.booked.len() + rb.booked.len(), 1200 - CHUNK);
    assert!(
        ra.failed.is_empty() && rb.failed.is_empty(),
        "{:?} {:?}",
        ra.failed,
        rb.failed
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history where type = 'admin_adjustment'"
        )
        .await,
        1200
    );
    assert_eq!(
        scalar_i64(&db.pool, "select sum(credits)::int8 from users").await,
        3600
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'credits.adjust'"
        )
        .await,
        1200
    );
    ledger_agrees(&db.tool).await;
}

#[tokio::test]
async fn a_file_above_the_threshold_is_one_request_with_its_digest() {
    let db = TestDb::new().await;
    let ids = users(&db.pool, 200, 0).await;
    let support = db.login(Group::Support).await;
    let mut text = String::from("user,amount,idempotency_key\n");
    for id in &ids {
        text.push_str(&format!("{id},+5,T-{id}\n"));
    }
    let plan = check(&support.db, &text).await;
    assert!(plan.needs_approval, "1000 credits > 500");
    let (who, stop) = (operator(), Stop::new());
    let ask = || adjust::run(&support.db, &who, &plan, false, &quiet, &stop);
    let Change::Pending(request) = ask().await.expect("run") else {
        panic!("pending")
    };
    assert_eq!(request.kind, "credits.adjust_many");
    assert!(
        request.summary.contains(&plan.digest),
        "{}",
        request.summary
    );
    assert!(request.summary.contains("f.csv") && request.summary.contains("+1000"));
    let Change::Pending(again) = ask().await.expect("run") else {
        panic!()
    };
    assert_eq!(again.id, request.id, "one file, one request");
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from credit_history").await,
        0
    );
    // The requester can't approve it; finance can.
    let own = approvals::approve(&support.db, &operator(), request.id, None).await;
    assert!(matches!(refused(own), Refusal::NotPermitted { .. }));
    let finance = db.login(Group::Finance).await;
    let shown = approvals::show(&finance.db, request.id)
        .await
        .expect("show");
    assert!(
        shown.effect_now[0].contains(&plan.digest),
        "{:?}",
        shown.effect_now
    );
    assert!(
        shown.effect_now[1].starts_with("200 rows would be booked"),
        "{:?}",
        shown.effect_now
    );
    let approvals::Approved::AdjustMany(report) =
        approvals::approve(&finance.db, &operator(), request.id, None)
            .await
            .expect("approve")
    else {
        panic!()
    };
    assert_eq!(report.booked.len(), 200);
    assert_eq!(report.credited, 1000);
    assert_eq!(
        scalar_i64(&db.pool, "select sum(credits)::int8 from users").await,
        1000
    );
    // the keys of the file are in the ledger: a single adjust with one replays it
    let replay = credits::adjust(
        &support.db,
        &operator(),
        &creditdesk::domain::user_ref::UserRef::Id(ids[0]),
        5,
        &reason("again"),
        Some(&format!("T-{}", ids[0])),
    )
    .await
    .expect("adjust");
    assert!(matches!(replay, Change::Applied(a) if a.replayed && a.old_balance == 0));
    // run again after the approval: everything is booked already
    let plan = check(&support.db, &text).await;
    assert_eq!(plan.totals.replayed, 200);
    let Change::Applied(r) =
        adjust::run(&support.db, &operator(), &plan, false, &quiet, &Stop::new())
            .await
            .expect("run")
    else {
        panic!()
    };
    assert!(r.booked.is_empty() && r.replayed.len() == 200);
    // a key used for something else is a bad row
    let other = format!("user,amount,idempotency_key\n{},+6,T-{}\n", ids[1], ids[1]);
    let plan = check(&support.db, &other).await;
    assert!(plan.rows[0].problems[0].contains("already used for a different adjustment"));
    ledger_agrees(&db.tool).await;
}

#[tokio::test]
async fn the_database_checks_a_file_whatever_the_client_sends() {
    let db = TestDb::new().await;
    let ids = users(&db.pool, 2, 0).await;
    let support = db.login(Group::Support).await;
    let digest = "0".repeat(64);
    for (rows, words) in [
        (serde_json::json!([]), "has no rows"),
        (
            serde_json::json!([{"line": 2, "user_id": ids[0], "amount": 0, "key": "k"}]),
            "line 2",
        ),
        (
            serde_json::json!([{"line": 2, "user_id": ids[0], "amount": 5, "key": "k\u{1b}"}]),
            "line 2",
        ),
        (
            serde_json::json!([{"line": 2, "user_id": ids[0], "amount": "5", "key": "k"}]),
            "line 2",
        ),
        (
            serde_json::json!([{"line": 2, "user_id": ids[0], "amount": 5, "key": "k"},
                            {"line": 3, "user_id": ids[1], "amount": 5, "key": "k"}]),
            "same idempotency key",
        ),
    ] {
        let e = sqlx::query("select creditdesk.adjust_many($1, 'x', $2)")
            .bind(&rows)
            .bind(serde_json::json!({"name": "f", "digest": digest}))
            .execute(&support.raw)
            .await
            .expect_err("refused");
        assert!(e.to_string().contains(words), "{rows}: {e}");
    }
    let auditor = db.login(Group::Auditor).await;
    let plan = check(&auditor.db, &format!("user,amount\n{},5\n", ids[0])).await;
    let r = adjust::run(&auditor.db, &operator(), &plan, false, &quiet, &Stop::new()).await;
    assert!(matches!(refused(r), Refusal::NotPermitted { .. }));
    let _ = bulk::Stop::new();
    assert!(matches!(
        adjust_file::parse(b"amount\n5\n").map_err(Error::from),
        Err(Error::Invalid(_))
    ));
}
