//! A read replica (issue 9 §7): a real streaming replica of a throwaway
//! primary. Heavy reads (history, `credits verify`, the audit log) go to it;
//! changes and the reads that decide them stay on the primary; the lag is
//! measured.

use chrono::Utc;
use creditdesk::db::credits::{self, HistoryQuery};
use creditdesk::db::session::replica_lag;
use creditdesk::db::users;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::testing::replica::ReplicatedDb;
use creditdesk::testing::{Applied, CliRun, operator, reason, run_cli};

fn history(user: i32) -> HistoryQuery {
    HistoryQuery {
        user_id: user,
        kind: None,
        since: None,
        until: None,
        before: None,
        limit: 50,
    }
}

#[tokio::test]
async fn heavy_reads_follow_the_replica_and_changes_go_to_the_primary() {
    let db = ReplicatedDb::new().await;
    let tool = db.tool();
    let id: i32 =
        sqlx::query_scalar("insert into users (email) values ('ana@example.com') returning id")
            .fetch_one(&db.primary)
            .await
            .expect("user");
    credits::adjust(
        &tool,
        &operator(),
        &UserRef::Id(id),
        40,
        &reason("first"),
        None,
    )
    .await
    .applied()
    .expect("a change, through a Db with a replica: on the primary");
    db.caught_up().await;
    assert_eq!(
        credits::history(&tool, &history(id))
            .await
            .expect("history")
            .entries
            .len(),
        1
    );
    assert_eq!(
        replica_lag(&tool).await.expect("lag"),
        Some(std::time::Duration::ZERO)
    );

    // The replica stops applying: a change on the primary is not there yet.
    db.pause_replay(true).await;
    credits::adjust(
        &tool,
        &operator(),
        &UserRef::Id(id),
        2,
        &reason("second"),
        None,
    )
    .await
    .applied()
    .expect("the primary takes changes while the replica lags");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let lagging = credits::history(&tool, &history(id))
        .await
        .expect("history");
    assert_eq!(lagging.entries.len(), 1, "history is read on the replica");
    // The reads that decide a change are the primary's.
    assert_eq!(
        users::get(&tool, &UserRef::Id(id))
            .await
            .expect("user")
            .credits,
        42
    );
    let lag = replica_lag(&tool).await.expect("lag").expect("a replica");
    assert!(lag > std::time::Duration::from_millis(100), "{lag:?}");

    // The CLI with --replica-url reads history there too, and writes on the
    // primary.
    let bin = env!("CARGO_BIN_EXE_creditdesk");
    let out: CliRun = run_cli(
        bin,
        &db.primary_url,
        "",
        &[
            "--replica-url",
            &db.replica_url,
            "--json",
            "credits",
            "history",
            &id.to_string(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let page: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1), "{page}");
    // So is a balance as of a moment, and the reports.
    let as_of = Utc::now().to_rfc3339();
    let out = run_cli(
        bin,
        &db.primary_url,
        "",
        &[
            "--replica-url",
            &db.replica_url,
            "--json",
            "credits",
            "show",
            &id.to_string(),
            "--as-of",
            &as_of,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(shown["balance"], 40, "the replica's balance then: {shown}");
    let out = run_cli(
        bin,
        &db.primary_url,
        "",
        &["--replica-url", &db.replica_url, "report", "daily"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let out = run_cli(
        bin,
        &db.primary_url,
        "",
        &[
            "--replica-url",
            &db.replica_url,
            "credits",
            "adjust",
            &id.to_string(),
            "--amount",
            "3",
            "--reason",
            "cli",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let out = run_cli(
        bin,
        &db.primary_url,
        "",
        &["--replica-url", &db.replica_url, "credits", "verify"],
    );
    assert_eq!(
        out.code, 0,
        "the replica's balances agree with its ledger: {out:?}"
    );

    // Replay resumes: the replica shows everything, lag is back to zero.
    db.pause_replay(false).await;
    db.caught_up().await;
    assert_eq!(
        credits::history(&tool, &history(id))
            .await
            .expect("history")
            .entries
            .len(),
        3
    );
    assert_eq!(
        replica_lag(&tool).await.expect("lag"),
        Some(std::time::Duration::ZERO)
    );
    assert!(credits::verify(&tool).await.expect("verify").is_empty());
}
