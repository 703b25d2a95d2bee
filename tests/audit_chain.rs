//! The audit log proves it wasn't altered (security.md §4): a superuser who
//! disables its triggers and edits, deletes or re-inserts rows is caught by
//! `audit verify`, which names the first bad row; rows cut off the end are
//! caught against a saved digest. Many operators at once keep the chain
//! whole and gapless.

use creditdesk::db::audit::{self, Digest};
use creditdesk::db::credits;
use creditdesk::domain::role::Group;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::testing::{
    Applied, CliRun, TestDb, operator, reason, run_cli, scalar_i64, user, user_with_credits,
};
use sqlx::{AssertSqlSafe, PgPool};

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A database with `n` audit rows (adjustments of one user), and its digest.
async fn with_rows(n: i32) -> (TestDb, Digest) {
    let db = TestDb::new().await;
    let id = user_with_credits(&db.tool, "ana@example.com", 0).await;
    for i in 0..n {
        credits::adjust(
            &db.tool,
            &operator(),
            &UserRef::Id(id),
            1,
            &reason(&format!("row {i}")),
            None,
        )
        .await
        .applied()
        .expect("adjust");
    }
    let digest = audit::digest(&db.tool)
        .await
        .expect("digest")
        .expect("rows");
    assert_eq!(digest.seq, i64::from(n));
    (db, digest)
}

/// As a superuser who turns the log's triggers off first.
async fn tamper(db: &TestDb, sql: &str) {
    exec(
        &db.pool,
        &format!(
            "begin; alter table admin_audit_log disable trigger user; {sql};
             alter table admin_audit_log enable trigger user; commit;"
        ),
    )
    .await;
}

async fn first_bad(db: &TestDb, digest: Option<&Digest>) -> (i64, String) {
    let v = audit::verify(&db.tool, digest).await.expect("verify");
    let bad = v.first_bad.expect("altered");
    (bad.seq, bad.problem)
}

#[tokio::test]
async fn an_intact_log_verifies_and_its_digest_is_the_head() {
    let (db, digest) = with_rows(5).await;
    let v = audit::verify(&db.tool, Some(&digest))
        .await
        .expect("verify");
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.rows, 5);
    assert_eq!(v.head.as_deref(), Some(digest.to_string().as_str()));
    assert_eq!(
        Digest::parse(&digest.to_string()).expect("round trip"),
        digest
    );
    let seqs = scalar_i64(
        &db.pool,
        "select count(*) from admin_audit_log where seq between 1 and 5",
    )
    .await;
    assert_eq!(seqs, 5);
}

#[tokio::test]
async fn an_edited_row_is_named() {
    let (db, _) = with_rows(6).await;
    tamper(
        &db,
        "update admin_audit_log set reason = 'nothing to see' where seq = 3",
    )
    .await;
    let (seq, problem) = first_bad(&db, None).await;
    assert_eq!(seq, 3);
    assert!(problem.contains("content does not match"), "{problem}");
    // Editing a row and recomputing its hash breaks the next row's link.
    let (db, _) = with_rows(6).await;
    tamper(
        &db,
        "update admin_audit_log set details = details || '{\"amount\": 1000}',
           hash = creditdesk.audit_hash(seq, id, \"prevHash\", login, actor, action, \"entityType\",
                                        \"entityId\", reason, details || '{\"amount\": 1000}', \"createdAt\")
         where seq = 2",
    )
    .await;
    let (seq, problem) = first_bad(&db, None).await;
    assert_eq!(seq, 3, "{problem}");
    assert!(problem.contains("does not follow"), "{problem}");
}

#[tokio::test]
async fn a_deleted_row_and_a_reinserted_one_are_named() {
    let (db, _) = with_rows(6).await;
    tamper(&db, "delete from admin_audit_log where seq = 4").await;
    let (seq, problem) = first_bad(&db, None).await;
    assert_eq!(seq, 5);
    assert!(problem.contains("4 to 4 are missing"), "{problem}");

    // Deleted and inserted again, under its number and id, with another
    // operator's name.
    let (db, _) = with_rows(6).await;
    tamper(
        &db,
        "create temp table copy as select * from admin_audit_log where seq = 2;
         delete from admin_audit_log where seq = 2;
         insert into admin_audit_log select id, seq, login, 'someone else', action, \"entityType\",
           \"entityId\", reason, details, \"createdAt\", \"prevHash\", hash from copy",
    )
    .await;
    let (seq, problem) = first_bad(&db, None).await;
    assert_eq!(seq, 2);
    assert!(problem.contains("content does not match"), "{problem}");

    // A row inserted out of order: a number far past the head, linked and
    // hashed as the database would.
    let (db, _) = with_rows(4).await;
    tamper(
        &db,
        "insert into admin_audit_log (seq, login, actor, action, \"entityType\", details, \"createdAt\",
                                      \"prevHash\", hash)
         select 10, 'postgres', 'x', 'credits.adjust', 'user', '{}', now(), hash, 'h'
         from admin_audit_log where seq = 4;
         update admin_audit_log set hash = creditdesk.audit_hash(seq, id, \"prevHash\", login, actor,
           action, \"entityType\", \"entityId\", reason, details, \"createdAt\") where seq = 10",
    )
    .await;
    let (seq, problem) = first_bad(&db, None).await;
    assert_eq!(seq, 10, "{problem}");
    assert!(problem.contains("5 to 9 are missing"), "{problem}");
}

#[tokio::test]
async fn rows_cut_off_the_end_are_caught_against_a_saved_digest() {
    let (db, saved) = with_rows(5).await;
    // More rows after the digest was saved, then the last three removed:
    // what is left is a consistent chain, but shorter than what was seen.
    let id = scalar_i64(&db.pool, "select min(id)::int8 from users").await as i32;
    credits::adjust(
        &db.tool,
        &operator(),
        &UserRef::Id(id),
        1,
        &reason("later"),
        None,
    )
    .await
    .applied()
    .expect("later");
    tamper(&db, "delete from admin_audit_log where seq >= 4").await;
    assert!(
        audit::verify(&db.tool, None)
            .await
            .expect("verify")
            .is_intact()
    );
    let (seq, problem) = first_bad(&db, Some(&saved)).await;
    assert_eq!(seq, 5);
    assert!(problem.contains("gone"), "{problem}");
}

fn creditdesk(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "", args)
}

#[tokio::test]
async fn audit_verify_and_digest_from_the_command_line_as_an_auditor() {
    let (db, _) = with_rows(3).await;
    let auditor = db.login(Group::Auditor).await;
    let digest = creditdesk(&auditor.url, &["audit", "digest"]);
    assert_eq!(digest.code, 0, "{digest:?}");
    let saved = digest.stdout.trim().to_owned();
    assert!(saved.starts_with("3:"), "{saved}");
    let ok = creditdesk(&auditor.url, &["audit", "verify", "--digest", &saved]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("intact"), "{ok:?}");
    tamper(
        &db,
        "update admin_audit_log set actor = 'nobody' where seq = 2",
    )
    .await;
    let bad = creditdesk(&auditor.url, &["audit", "verify", "--digest", &saved]);
    assert_eq!(bad.code, 3, "{bad:?}");
    assert!(bad.stdout.contains("row 2"), "{bad:?}");
    let doctor = creditdesk(&db.url, &["doctor"]);
    assert_eq!(doctor.code, 3, "{doctor:?}");
    assert!(doctor.stdout.contains("altered at row 2"), "{doctor:?}");
    let malformed = creditdesk(&auditor.url, &["audit", "verify", "--digest", "3:xyz"]);
    assert_eq!(malformed.code, 2, "{malformed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_operators_at_once_keep_the_chain_whole_and_gapless() {
    let db = TestDb::new().await;
    let mut logins = Vec::new();
    for i in 0..10 {
        logins.push(
            db.login(if i % 2 == 0 {
                Group::Support
            } else {
                Group::Finance
            })
            .await,
        );
    }
    let mut users = Vec::new();
    for i in 0..100 {
        users.push(user(&db.pool, &format!("u{i}@example.com")).await);
    }
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, &u)| {
            let login = logins[i % logins.len()].db.clone();
            tokio::spawn(async move {
                credits::adjust(
                    &login,
                    &operator(),
                    &UserRef::Id(u),
                    5,
                    &reason("at once"),
                    None,
                )
                .await
                .applied()
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("adjusted");
    }
    let v = audit::verify(&db.tool, None).await.expect("verify");
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.rows, 100);
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select max(seq) - min(seq) + 1 from admin_audit_log"
        )
        .await,
        100
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}
