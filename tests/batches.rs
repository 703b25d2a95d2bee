//! Generation batches against real PostgreSQL: the stuck view, what a batch
//! charged (through both ledger links), failing and refunding, many
//! operators failing one batch at once, and bad input through the binary.

use creditdesk::db::batches::{self, BatchFilter, Refund};
use creditdesk::db::{Db, credits};
use creditdesk::domain::Refusal;
use creditdesk::domain::ledger::BatchStatus;
use creditdesk::domain::role::Group;
use creditdesk::domain::text::Reason;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::error::Error;
use creditdesk::testing::{
    self, CliRun, TestDb, assert_no_panic_or_escape, operator, reason, refused, run_cli, scalar_i64,
};
use sqlx::{AssertSqlSafe, PgPool};

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn text(pool: &PgPool, sql: &str) -> String {
    sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn balance(pool: &PgPool, user: i32) -> i64 {
    scalar_i64(
        pool,
        &format!("select credits::int8 from users where id = {user}"),
    )
    .await
}

/// A user whose balance comes from a purchase entry, so `credits verify`
/// stays clean. Unlike `testing::user_with_credits` it leaves no audit row:
/// these tests read the audit log whole.
async fn user(pool: &PgPool, email: &str, purchased: i32) -> i32 {
    let id = testing::user(pool, email).await;
    exec(
        pool,
        &format!(
            "insert into credit_history (\"userId\", amount, type, description)
             values ({id}, {purchased}, 'purchase', 'pack');
             update users set credits = {purchased} where id = {id};"
        ),
    )
    .await;
    id
}

/// A batch created `age` ago (an SQL interval) with `status`.
async fn batch(pool: &PgPool, user: i32, model: Option<i32>, status: &str, age: &str) -> i32 {
    let completed = if status == "completed" {
        "now()"
    } else {
        "null"
    };
    sqlx::query_scalar(AssertSqlSafe(format!(
        "insert into photo_generation_batches
           (\"userId\", \"modelId\", \"totalImagesGenerated\", \"creditsUsed\", \"aspectRatio\",
            glasses, \"hairColor\", \"hairStyle\", backgrounds, styles, status, \"createdAt\", \"completedAt\")
         values ($1, $2, 4, 40, '9:16', 'no', 'brown', 'long', '[\"beach\", \"city\"]', '[\"linkedin\"]',
                 $3, now() - interval '{age}', {completed})
         returning id"
    )))
    .bind(user)
    .bind(model)
    .bind(status)
    .fetch_one(pool)
    .await
    .expect("batch")
}

/// A generation charge linked to the batch directly; the balance follows.
async fn charge_batch(pool: &PgPool, user: i32, batch: i32, credits: i32) {
    exec(
        pool,
        &format!(
            "insert into credit_history (\"userId\", amount, type, \"relatedBatchId\")
             values ({user}, -{credits}, 'generation', {batch});
             update users set credits = credits - {credits} where id = {user};"
        ),
    )
    .await;
}

/// A photo of the batch and its generation charge, linked only through the
/// photo (as the production app may do); `also_batch` links the batch too.
async fn charge_photo(pool: &PgPool, user: i32, batch: i32, credits: i32, also_batch: bool) -> i32 {
    let photo: i32 = scalar_i64(
        pool,
        &format!(
            "insert into photos (\"userId\", \"imageUrl\", \"creditsUsed\", \"aspectRatio\", glasses,
                                 backgrounds, \"generationBatchId\")
             values ({user}, 'https://cdn.example.com/p.jpg', {credits}, '9:16', 'no', '[\"beach\"]', {batch})
             returning id::int8"
        ),
    )
    .await
    .try_into()
    .expect("photo id");
    let batch_link = if also_batch {
        batch.to_string()
    } else {
        "null".to_owned()
    };
    exec(
        pool,
        &format!(
            "insert into credit_history (\"userId\", amount, type, \"relatedPhotoId\", \"relatedBatchId\")
             values ({user}, -{credits}, 'generation', {photo}, {batch_link});
             update users set credits = credits - {credits} where id = {user};"
        ),
    )
    .await;
    photo
}

struct Fixture {
    ana: i32,
    bo: i32,
    /// generating for 3 hours, charged 40 through the batch link
    old: i32,
    /// generating for 2 hours, no model, charged 30 through its photos
    via_photos: i32,
    /// generating for 20 minutes, charged 10
    recent: i32,
    /// generating for 5 minutes, charged 10: not stuck yet
    fresh: i32,
    /// completed a day ago, charged 20
    done: i32,
    /// failed 4 hours ago, charged 15, never refunded
    failed: i32,
    /// bo's, generating for 5 hours, charged 5
    other: i32,
}

async fn fixture(pool: &PgPool) -> Fixture {
    let ana = user(pool, "ana@example.com", 1000).await;
    let bo = user(pool, "bo@example.com", 100).await;
    let model: i32 = scalar_i64(
        pool,
        &format!(
            "insert into models (\"userId\", name, status) values ({ana}, 'Ana v1', 'ready') returning id::int8"
        ),
    )
    .await
    .try_into()
    .expect("model id");
    let done = batch(pool, ana, Some(model), "completed", "1 day").await;
    let failed = batch(pool, ana, Some(model), "failed", "4 hours").await;
    let other = batch(pool, bo, None, "generating", "5 hours").await;
    let old = batch(pool, ana, Some(model), "generating", "3 hours").await;
    let via_photos = batch(pool, ana, None, "generating", "2 hours").await;
    let recent = batch(pool, ana, Some(model), "generating", "20 minutes").await;
    let fresh = batch(pool, ana, Some(model), "generating", "5 minutes").await;
    charge_batch(pool, ana, old, 25).await;
    charge_batch(pool, ana, old, 15).await;
    charge_photo(pool, ana, via_photos, 10, false).await;
    charge_photo(pool, ana, via_photos, 10, false).await;
    charge_photo(pool, ana, via_photos, 10, true).await;
    charge_batch(pool, ana, recent, 10).await;
    charge_batch(pool, ana, fresh, 10).await;
    charge_batch(pool, ana, done, 20).await;
    charge_batch(pool, ana, failed, 15).await;
    charge_batch(pool, bo, other, 5).await;
    assert!(
        credits::verify(&Db::direct(pool.clone()))
            .await
            .expect("verify")
            .is_empty()
    );
    Fixture {
        ana,
        bo,
        old,
        via_photos,
        recent,
        fresh,
        done,
        failed,
        other,
    }
}

fn filter() -> BatchFilter {
    BatchFilter {
        limit: 100,
        ..Default::default()
    }
}

async fn ids(db: &Db, f: &BatchFilter) -> Vec<i32> {
    batches::list(db, f)
        .await
        .expect("list")
        .iter()
        .map(|b| b.id)
        .collect()
}

/// Everything a failed command must leave alone.
async fn fingerprint(pool: &PgPool) -> String {
    text(
        pool,
        "select concat_ws(' | ',
           (select count(*) from credit_history),
           (select count(*) from admin_audit_log),
           (select string_agg(id || ':' || status || ':' || coalesce(\"completedAt\"::text, '-'), ','
                              order by id) from photo_generation_batches),
           (select string_agg(id || ':' || credits, ',' order by id) from users))",
    )
    .await
}

#[tokio::test]
async fn stuck_view_is_oldest_first_with_a_threshold() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;
    let stuck = BatchFilter {
        stuck_older_than: Some(batches::STUCK_AFTER),
        ..filter()
    };
    assert_eq!(
        ids(&db.tool, &stuck).await,
        [f.other, f.old, f.via_photos, f.recent]
    );
    let over_an_hour = BatchFilter {
        stuck_older_than: Some(chrono::Duration::hours(1)),
        ..filter()
    };
    assert_eq!(
        ids(&db.tool, &over_an_hour).await,
        [f.other, f.old, f.via_photos]
    );
    let anas = BatchFilter {
        user: Some(UserRef::Email("ANA@example.com".to_lowercase())),
        ..stuck.clone()
    };
    assert_eq!(ids(&db.tool, &anas).await, [f.old, f.via_photos, f.recent]);
    let first_two = BatchFilter {
        limit: 2,
        ..stuck.clone()
    };
    assert_eq!(ids(&db.tool, &first_two).await, [f.other, f.old]);

    let rows = batches::list(&db.tool, &stuck).await.expect("list");
    let old = rows.iter().find(|b| b.id == f.old).expect("old");
    assert_eq!(old.user_email, "ana@example.com");
    assert_eq!(old.model_name.as_deref(), Some("Ana v1"));
    assert!(
        (3 * 3600..3 * 3600 + 600).contains(&old.age_seconds),
        "{}",
        old.age_seconds
    );
    let no_model = rows
        .iter()
        .find(|b| b.id == f.via_photos)
        .expect("via photos");
    assert_eq!(
        (no_model.model_id, no_model.model_name.as_deref()),
        (None, None)
    );

    let contradictory = BatchFilter {
        status: Some(BatchStatus::Completed),
        ..stuck
    };
    assert!(matches!(
        batches::list(&db.tool, &contradictory).await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn lists_by_status_and_by_user_newest_first() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;
    let by_status = |s| BatchFilter {
        status: Some(s),
        ..filter()
    };
    assert_eq!(
        ids(&db.tool, &by_status(BatchStatus::Completed)).await,
        [f.done]
    );
    assert_eq!(
        ids(&db.tool, &by_status(BatchStatus::Failed)).await,
        [f.failed]
    );
    assert_eq!(
        ids(&db.tool, &by_status(BatchStatus::Generating)).await,
        [f.fresh, f.recent, f.via_photos, f.old, f.other]
    );
    let anas = BatchFilter {
        user: Some(UserRef::Id(f.ana)),
        ..filter()
    };
    assert_eq!(
        ids(&db.tool, &anas).await,
        [f.fresh, f.recent, f.via_photos, f.old, f.failed, f.done]
    );
    let bos = BatchFilter {
        user: Some(UserRef::Id(f.bo)),
        status: Some(BatchStatus::Generating),
        ..filter()
    };
    assert_eq!(ids(&db.tool, &bos).await, [f.other]);
    assert_eq!(ids(&db.tool, &filter()).await.len(), 7);

    let nobody = BatchFilter {
        user: Some(UserRef::Email("nobody@example.com".into())),
        ..filter()
    };
    assert!(matches!(
        refused(batches::list(&db.tool, &nobody).await),
        Refusal::NotFound { what: "user", .. }
    ));
    for limit in [0, -1, batches::MAX_LIMIT + 1] {
        let bad = BatchFilter { limit, ..filter() };
        assert!(matches!(
            batches::list(&db.tool, &bad).await,
            Err(Error::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn show_totals_charges_through_both_links() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;

    let b = batches::show(&db.tool, f.old).await.expect("show");
    assert_eq!((b.charged, b.refunded), (40, 0));
    assert_eq!(b.entries.len(), 2);
    assert!(
        b.entries
            .iter()
            .all(|e| e.kind == "generation" && e.batch_id == Some(f.old))
    );
    assert_eq!(b.user.email, "ana@example.com");
    assert_eq!(b.model.as_ref().map(|m| m.name.as_str()), Some("Ana v1"));
    assert_eq!(b.options.aspect_ratio.as_deref(), Some("9:16"));
    assert_eq!(b.options.hair_style.as_deref(), Some("long"));
    assert_eq!(
        b.options.backgrounds,
        Some(serde_json::json!(["beach", "city"]))
    );
    assert!(b.photos.is_empty());

    let p = batches::show(&db.tool, f.via_photos).await.expect("show");
    assert_eq!(
        (p.charged, p.refunded),
        (30, 0),
        "each entry once, by either link"
    );
    assert_eq!(p.entries.len(), 3);
    assert_eq!(p.photos.len(), 3);
    assert!(p.photos.iter().all(|ph| ph.credits_used == 10));
    assert!(p.model.is_none(), "a batch outlives its model");

    batches::fail(
        &db.tool,
        &operator(),
        f.via_photos,
        &reason("stuck"),
        Refund::Amount(12),
    )
    .await
    .expect("fail");
    let p = batches::show(&db.tool, f.via_photos).await.expect("show");
    assert_eq!(
        (p.status.as_str(), p.charged, p.refunded),
        ("failed", 30, 12)
    );
    assert_eq!(p.entries.len(), 4);
    assert_eq!(p.entries.last().map(|e| e.kind.as_str()), Some("refund"));

    assert!(matches!(
        refused(batches::show(&db.tool, 999_999).await),
        Refusal::NotFound { what: "batch", .. }
    ));
}

#[tokio::test]
async fn fail_with_refund_all_books_the_refund_and_marks_failed() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;
    let before = balance(&db.pool, f.ana).await;
    let done = batches::fail(
        &db.tool,
        &operator(),
        f.old,
        &reason("stuck since the outage"),
        Refund::All,
    )
    .await
    .expect("fail");
    assert_eq!(
        (
            done.previous_status.as_str(),
            done.status.as_str(),
            done.marked_failed
        ),
        ("generating", "failed", true)
    );
    assert_eq!((done.charged, done.refunded), (40, 40));
    assert_eq!(i64::from(done.old_balance), before);
    assert_eq!(i64::from(done.new_balance), before + 40);
    assert_eq!(balance(&db.pool, f.ana).await, before + 40);
    let entry = done.entry_id.expect("entry");
    assert_eq!(
        text(
            &db.pool,
            &format!(
                "select concat_ws(',', \"userId\", amount, type, \"relatedBatchId\") from credit_history where id = {entry}"
            )
        )
        .await,
        format!("{},40,refund,{}", f.ana, f.old)
    );
    assert_eq!(
        text(
            &db.pool,
            &format!(
                "select status || ',' || coalesce(\"completedAt\"::text, 'null') from photo_generation_batches where id = {}",
                f.old
            )
        )
        .await,
        "failed,null"
    );
    assert_eq!(
        text(
            &db.pool,
            "select concat_ws(',', actor, action, \"entityType\", \"entityId\", reason,
                    details->>'previous_status', details->>'refund', details->>'charged')
             from admin_audit_log"
        )
        .await,
        format!(
            "test-ops,batch.fail,batch,{},stuck since the outage,generating,40,40",
            f.old
        )
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn partial_refund_then_no_second_refund() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;
    let before = balance(&db.pool, f.ana).await;
    let done = batches::fail(
        &db.tool,
        &operator(),
        f.via_photos,
        &reason("half done"),
        Refund::Amount(10),
    )
    .await
    .expect("partial");
    assert_eq!((done.charged, done.refunded), (30, 10));
    assert_eq!(balance(&db.pool, f.ana).await, before + 10);

    let snapshot = fingerprint(&db.pool).await;
    for refund in [Refund::Amount(5), Refund::All] {
        assert_eq!(
            refused(
                batches::fail(
                    &db.tool,
                    &operator(),
                    f.via_photos,
                    &reason("again"),
                    refund
                )
                .await
            ),
            Refusal::BatchAlreadyRefunded
        );
    }
    assert_eq!(
        refused(
            batches::fail(
                &db.tool,
                &operator(),
                f.via_photos,
                &reason("again"),
                Refund::None
            )
            .await
        ),
        Refusal::BatchAlreadyFailed
    );
    assert_eq!(fingerprint(&db.pool).await, snapshot, "nothing written");
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn refusals_write_nothing() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;
    let nothing_charged = batch(&db.pool, f.ana, None, "generating", "1 hour").await;
    let snapshot = fingerprint(&db.pool).await;
    let (operator, why) = (operator(), reason("x"));
    let fail = |id, refund| batches::fail(&db.tool, &operator, id, &why, refund);

    assert_eq!(
        refused(fail(f.old, Refund::Amount(41)).await),
        Refusal::RefundExceedsCharge {
            charged: 40,
            requested: 41
        }
    );
    for refund in [Refund::None, Refund::All, Refund::Amount(1)] {
        assert_eq!(
            refused(fail(f.done, refund).await),
            Refusal::BatchNotFailable {
                status: "completed".into()
            }
        );
    }
    assert_eq!(
        refused(fail(f.failed, Refund::None).await),
        Refusal::BatchAlreadyFailed
    );
    assert_eq!(
        refused(fail(nothing_charged, Refund::All).await),
        Refusal::NothingToRefund
    );
    assert!(matches!(
        refused(fail(999_999, Refund::All).await),
        Refusal::NotFound { what: "batch", .. }
    ));
    for n in [0, -5, i32::MIN] {
        assert!(matches!(
            fail(f.old, Refund::Amount(n)).await,
            Err(Error::Invalid(_))
        ));
    }
    assert_eq!(fingerprint(&db.pool).await, snapshot);

    // The reason is parsed before any call: empty and control characters never get in.
    for bad in ["", "   ", "a\u{1b}[2Jb", "x\ny", "a\u{202e}b"] {
        assert!(Reason::parse(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn an_already_failed_batch_can_still_be_refunded_once() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;
    let before = balance(&db.pool, f.ana).await;
    let done = batches::fail(
        &db.tool,
        &operator(),
        f.failed,
        &reason("failed, never refunded"),
        Refund::All,
    )
    .await
    .expect("refund");
    assert!(!done.marked_failed);
    assert_eq!(done.previous_status, "failed");
    assert_eq!((done.charged, done.refunded), (15, 15));
    assert_eq!(balance(&db.pool, f.ana).await, before + 15);

    // Failing without a refund, then refunding later, works the same way.
    batches::fail(
        &db.tool,
        &operator(),
        f.recent,
        &reason("stuck"),
        Refund::None,
    )
    .await
    .expect("mark only");
    assert_eq!(balance(&db.pool, f.ana).await, before + 15);
    batches::fail(
        &db.tool,
        &operator(),
        f.recent,
        &reason("refund too"),
        Refund::All,
    )
    .await
    .expect("refund later");
    assert_eq!(balance(&db.pool, f.ana).await, before + 25);
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'batch.fail'"
        )
        .await,
        3
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn twenty_operators_failing_one_batch_refund_it_once() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Oncall, 4).await;
    let f = fixture(&db.pool).await;
    let before = balance(&db.pool, f.ana).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let pool = ops.next();
            let refund = if i % 2 == 0 {
                Refund::All
            } else {
                Refund::Amount(40)
            };
            tokio::spawn(async move {
                batches::fail(&pool, &operator(), f.old, &reason("on-call sweep"), refund).await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(done) => {
                ok += 1;
                assert_eq!(done.refunded, 40);
            }
            Err(Error::Refused(Refusal::BatchAlreadyRefunded)) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!(
                "select count(*) from credit_history where type = 'refund' and \"relatedBatchId\" = {}",
                f.old
            )
        )
        .await,
        1
    );
    assert_eq!(balance(&db.pool, f.ana).await, before + 40);
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from admin_audit_log").await,
        1
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn refunds_of_many_batches_of_one_user_at_once_all_land() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Oncall, 4).await;
    let f = fixture(&db.pool).await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        let id = batch(&db.pool, f.bo, None, "generating", "1 hour").await;
        charge_batch(&db.pool, f.bo, id, 3).await;
        ids.push(id);
    }
    let before = balance(&db.pool, f.bo).await;
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let pool = ops.next();
            tokio::spawn(async move {
                batches::fail(&pool, &operator(), id, &reason("sweep"), Refund::All).await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("each refund");
    }
    assert_eq!(balance(&db.pool, f.bo).await, before + 60);
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

/// Runs the real binary against the test database.
fn cli(db: &TestDb, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), &db.url, "test", args)
}

#[tokio::test]
async fn bad_input_through_the_binary_writes_nothing() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;
    let old = f.old.to_string();
    let snapshot = fingerprint(&db.pool).await;
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (
            vec!["batches", "fail", "abc", "--reason", "x", "--refund-all"],
            2,
        ),
        (vec!["batches", "fail", "-1", "--reason", "x"], 2),
        (vec!["batches", "fail", "0", "--reason", "x"], 2),
        (vec!["batches", "fail", "99999999999", "--reason", "x"], 2),
        (
            vec![
                "batches",
                "fail",
                "1; drop table users; --",
                "--reason",
                "x",
            ],
            2,
        ),
        (vec!["batches", "fail", &old, "--reason", ""], 2),
        (vec!["batches", "fail", &old, "--reason", "   "], 2),
        (vec!["batches", "fail", &old, "--reason", "a\u{1b}[2Jb"], 2),
        (vec!["batches", "fail", &old, "--reason", "two\nlines"], 2),
        (vec!["batches", "fail", &old], 2),
        (
            vec!["batches", "fail", &old, "--reason", "x", "--refund", "0"],
            2,
        ),
        (
            vec!["batches", "fail", &old, "--reason", "x", "--refund", "-5"],
            2,
        ),
        (
            vec![
                "batches",
                "fail",
                &old,
                "--reason",
                "x",
                "--refund",
                "99999999999",
            ],
            2,
        ),
        (
            vec!["batches", "fail", &old, "--reason", "x", "--refund", "1.5"],
            2,
        ),
        (
            vec!["batches", "fail", &old, "--reason", "x", "--refund", "ten"],
            2,
        ),
        (
            vec![
                "batches",
                "fail",
                &old,
                "--reason",
                "x",
                "--refund",
                "5",
                "--refund-all",
            ],
            2,
        ),
        (
            vec!["batches", "fail", "999999", "--reason", "x", "--refund-all"],
            3,
        ),
        (
            vec!["batches", "fail", &old, "--reason", "x", "--refund", "41"],
            3,
        ),
        (vec!["batches", "list", "--stuck", "--older-than", "5x"], 2),
        (vec!["batches", "list", "--stuck", "--older-than", "-5m"], 2),
        (vec!["batches", "list", "--older-than", "5m"], 2),
        (vec!["batches", "list", "--status", "stuck"], 2),
        (vec!["batches", "list", "--stuck", "--status", "failed"], 2),
        (vec!["batches", "list", "--limit", "0"], 2),
        (
            vec!["batches", "list", "--user", "'; drop table users; --"],
            2,
        ),
        (vec!["batches", "list", "--user", "nobody@example.com"], 3),
        (vec!["batches", "show", "abc"], 2),
        (vec!["batches", "show", "999999"], 3),
        (
            vec![
                "--read-only",
                "batches",
                "fail",
                &old,
                "--reason",
                "x",
                "--refund-all",
            ],
            3,
        ),
    ];
    for (args, code) in cases {
        let out = cli(&db, &args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?} printed {}", out.stdout);
        assert_no_panic_or_escape(&out.stderr, &args);
    }
    assert_eq!(fingerprint(&db.pool).await, snapshot);
}

#[tokio::test]
async fn the_binary_lists_shows_and_fails() {
    let db = TestDb::new().await;
    let f = fixture(&db.pool).await;
    let out = cli(&db, &["batches", "list", "--stuck", "--older-than", "1h"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("id"), "{}", out.stdout);
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(lines[1].starts_with(&f.other.to_string()), "{}", out.stdout);

    let out = cli(&db, &["batches", "list", "--csv", "--status", "failed"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);

    let out = cli(&db, &["batches", "show", &f.via_photos.to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("charged 30 credits; refunded 0"),
        "{}",
        out.stdout
    );

    let out = cli(
        &db,
        &[
            "batches",
            "fail",
            &f.old.to_string(),
            "--reason",
            "'; drop table users; --",
            "--refund-all",
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let done: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(done["refunded"], 40);
    assert_eq!(done["status"], "failed");
    assert_eq!(
        text(&db.pool, "select reason from admin_audit_log").await,
        "'; drop table users; --"
    );
    assert_eq!(scalar_i64(&db.pool, "select count(*) from users").await, 2);

    let out = cli(
        &db,
        &[
            "batches",
            "fail",
            &f.old.to_string(),
            "--reason",
            "x",
            "--refund-all",
        ],
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("already been refunded"),
        "{}",
        out.stderr
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

/// Page after page (`after`: the last row's time and id) gives the whole
/// list once, in its order, for each of its three shapes: the stuck view
/// (oldest first), every status and one user's (newest first).
#[tokio::test]
async fn pages_after_the_last_row_give_the_whole_list_once() {
    let db = TestDb::new().await;
    fixture(&db.pool).await;
    let shapes = [
        BatchFilter {
            stuck_older_than: Some(batches::STUCK_AFTER),
            ..filter()
        },
        filter(),
        BatchFilter {
            user: Some(UserRef::Email("ana@example.com".into())),
            ..filter()
        },
    ];
    for whole in shapes {
        let all = ids(&db.tool, &whole).await;
        assert!(all.len() >= 3, "{all:?}");
        let mut paged = Vec::new();
        let mut f = BatchFilter {
            limit: 2,
            ..whole.clone()
        };
        loop {
            let page = batches::list(&db.tool, &f).await.expect("page");
            paged.extend(page.iter().map(|b| b.id));
            match page.last() {
                Some(last) if page.len() == 2 => f.after = Some((last.created_at, last.id)),
                _ => break,
            }
        }
        assert_eq!(paged, all, "{whole:?}");
    }
}
