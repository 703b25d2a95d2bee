//! Four-eyes approval (security.md §3) against real PostgreSQL, as operator
//! logins: a large change waits as a request, a second person approves it
//! exactly once, the requester never, an expired request never; thresholds
//! are admins' settings; the CLI exits 5 with the request's number.

use creditdesk::db::approvals::{self, Approved};
use creditdesk::db::gift_cards::{self, CardValue, IssueRequest};
use creditdesk::db::{Change, credits, operators};
use creditdesk::domain::Refusal;
use creditdesk::domain::role::Group;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::error::Error;
use creditdesk::testing::{
    Applied, CliRun, TestDb, operator, reason, refused, run_cli, scalar_i64, user_with_credits,
};
use rust_decimal::Decimal;

async fn ask_adjustment(db: &creditdesk::db::Db, user: i32, amount: i32) -> i64 {
    match credits::adjust(
        db,
        &operator(),
        &UserRef::Id(user),
        amount,
        &reason("big"),
        None,
    )
    .await
    .expect("asked")
    {
        Change::Pending(r) => r.id,
        Change::Applied(a) => panic!("{amount} should wait for approval, got {a:?}"),
    }
}

#[tokio::test]
async fn above_the_threshold_a_change_waits_and_nothing_moves() {
    let db = TestDb::new().await;
    let support = db.login(Group::Support).await;
    let user = user_with_credits(&db.tool, "ana@example.com", 100).await;
    let before = scalar_i64(&db.pool, "select count(*) from credit_history").await;
    // 500 either way is still the operator's own call; 501 is not.
    credits::adjust(
        &support.db,
        &operator(),
        &UserRef::Id(user),
        500,
        &reason("ok"),
        None,
    )
    .await
    .applied()
    .expect("500 is applied");
    let id = ask_adjustment(&support.db, user, 501).await;
    let id2 = ask_adjustment(&support.db, user, -501).await;
    assert_ne!(id, id2);
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from credit_history").await,
        before + 1,
        "only the 500 was booked"
    );
    let shown = approvals::show(&support.db, id).await.expect("show");
    assert_eq!(shown.request.status, "pending");
    assert_eq!(shown.request.requested_by_login, support.name);
    assert!(
        shown.effect_now[0].contains("600 -> 1101"),
        "{:?}",
        shown.effect_now
    );
    // A request that couldn't be booked now is refused, not stored.
    let r = refused(
        credits::adjust(
            &support.db,
            &operator(),
            &UserRef::Id(user),
            -5000,
            &reason("x"),
            None,
        )
        .await,
    );
    assert!(matches!(r, Refusal::InsufficientCredits { .. }), "{r:?}");
    // The session counts what waits.
    let fresh = support.db.clone().with_session().await.expect("session");
    assert_eq!(fresh.session().expect("session").pending_approvals, 2);

    // Support may ask but not approve; finance approves; the balance moves
    // as of now (the 500 above included).
    let r = refused(approvals::approve(&support.db, &operator(), id, None).await);
    assert!(matches!(r, Refusal::NotPermitted { .. }), "{r:?}");
    let finance = db.login(Group::Finance).await;
    let Approved::Adjustment(a) = approvals::approve(&finance.db, &operator(), id, None)
        .await
        .expect("approved")
    else {
        panic!("an adjustment")
    };
    assert_eq!((a.old_balance, a.new_balance), (600, 1101));
    let rejected = approvals::reject(&finance.db, &operator(), id2, &reason("no"))
        .await
        .expect("rejected");
    assert_eq!(rejected.status, "rejected");
    assert!(
        refused(approvals::approve(&finance.db, &operator(), id2, None).await)
            .to_string()
            .contains("already rejected")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_approvers_of_one_request_make_exactly_one_change() {
    let db = TestDb::new().await;
    let asker = db.login(Group::Support).await;
    let user = user_with_credits(&db.tool, "ana@example.com", 10).await;
    let id = ask_adjustment(&asker.db, user, 900).await;
    let mut approvers = Vec::new();
    for i in 0..10 {
        approvers.push(
            db.login(if i % 2 == 0 {
                Group::Finance
            } else {
                Group::Admin
            })
            .await,
        );
    }
    let tasks: Vec<_> = approvers
        .into_iter()
        .map(|a| {
            tokio::spawn(async move { approvals::approve(&a.db, &operator(), id, None).await })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(Approved::Adjustment(a)) => {
                applied += 1;
                assert_eq!(a.new_balance, 910);
            }
            Err(Error::Refused(Refusal::AlreadyDecided { status, .. })) => {
                assert_eq!(status, "approved")
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!("select credits::int8 from users where id = {user}")
        )
        .await,
        910
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history where amount = 900"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'approval.approve'"
        )
        .await,
        1
    );
}

/// An approval racing the expiry of its request: whatever the timing, the
/// request ends approved with its change booked, or expired with nothing
/// booked; never both, never a change without the approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_racing_the_expiry_has_one_outcome() {
    let db = TestDb::new().await;
    let asker = db.login(Group::Support).await;
    let approver = db.login(Group::Finance).await;
    let user = user_with_credits(&db.tool, "ana@example.com", 10).await;
    let mut outcomes = (0, 0);
    for round in 0..12 {
        let id = ask_adjustment(&asker.db, user, 600).await;
        // The request expires a few milliseconds from now; approvals start
        // just before and just after.
        let expires_in_ms = 30;
        sqlx::query(
            "update creditdesk.approval_requests
             set \"expiresAt\" = clock_timestamp() + $2 * interval '1 millisecond' where id = $1",
        )
        .bind(id)
        .bind(f64::from(expires_in_ms))
        .execute(&db.pool)
        .await
        .expect("expiry");
        let mut tasks = Vec::new();
        // Early rounds approve well before the expiry, late ones after it,
        // the middle ones at it.
        let first = 2 + 5 * round;
        for delay in [first, first + 1, first + 2, first + 4] {
            let a = approver.db.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                approvals::approve(&a, &operator(), id, None).await
            }));
        }
        let mut approved = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(_) => approved += 1,
                Err(Error::Refused(Refusal::RequestExpired { .. }))
                | Err(Error::Refused(Refusal::AlreadyDecided { .. })) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        let (status, booked): (String, i64) = sqlx::query_as(
            "select r.status,
                    (select count(*) from admin_audit_log a
                     where a.action = 'credits.adjust' and (a.details->>'approval_request')::int8 = r.id)
             from creditdesk.approvals r where r.id = $1",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .expect("state");
        match status.as_str() {
            "approved" => {
                assert_eq!((approved, booked), (1, 1), "round {round}");
                outcomes.0 += 1;
            }
            "expired" => {
                assert_eq!((approved, booked), (0, 0), "round {round}");
                outcomes.1 += 1;
            }
            other => panic!("round {round}: {other}"),
        }
    }
    assert_eq!(outcomes.0 + outcomes.1, 12);
    // The rounds straddle the expiry: both outcomes happened.
    assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
    let balance = scalar_i64(
        &db.pool,
        &format!("select credits::int8 from users where id = {user}"),
    )
    .await;
    assert_eq!(balance, 10 + 600 * outcomes.0);
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn a_large_gift_card_issue_waits_and_the_approver_gets_the_codes() {
    let db = TestDb::new().await;
    let finance = db.login(Group::Finance).await;
    let other = db.login(Group::Finance).await;
    let req = IssueRequest {
        value: CardValue::Custom {
            credits: 1000,
            price: Decimal::new(5000, 2),
        },
        count: 11,
        recipient: None,
        expires_at: None,
        reason: None,
    };
    let Change::Pending(p) = gift_cards::issue(&finance.db, &operator(), &req)
        .await
        .expect("asked")
    else {
        panic!("11,000 credits in all waits")
    };
    assert!(
        p.summary.contains("11 gift cards of 1000 credits"),
        "{}",
        p.summary
    );
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from gift_cards").await,
        0
    );
    let Approved::GiftCards(cards) = approvals::approve(&other.db, &operator(), p.id, None)
        .await
        .expect("approved")
    else {
        panic!("cards")
    };
    assert_eq!(cards.len(), 11);
    assert!(
        cards
            .iter()
            .all(|c| c.credits == 1000 && c.code.len() == 24)
    );
    // The codes are nowhere but in the answer: not in the request, not in
    // the audit log.
    let stored: String = sqlx::query_scalar(
        "select coalesce(result::text, '') || payload::text from creditdesk.approval_requests",
    )
    .fetch_one(&db.pool)
    .await
    .expect("request");
    let audit: String =
        sqlx::query_scalar("select string_agg(details::text, ' ') from admin_audit_log")
            .fetch_one(&db.pool)
            .await
            .expect("audit");
    for c in &cards {
        assert!(!stored.contains(&c.code) && !audit.contains(&c.code));
    }
}

#[tokio::test]
async fn thresholds_are_settings_only_admins_change_and_each_change_is_audited() {
    let db = TestDb::new().await;
    let admin = db.login(Group::Admin).await;
    let finance = db.login(Group::Finance).await;
    let r = refused(
        operators::set_setting(
            &finance.db,
            &operator(),
            "approval.adjustment_credits",
            5000,
            &reason("x"),
        )
        .await,
    );
    assert!(matches!(r, Refusal::NotPermitted { .. }), "{r:?}");
    operators::set_setting(
        &admin.db,
        &operator(),
        "approval.adjustment_credits",
        1000,
        &reason("busy season"),
    )
    .await
    .expect("set");
    let e = operators::set_setting(&admin.db, &operator(), "approval.bogus", 1, &reason("x"))
        .await
        .expect_err("unknown");
    assert_eq!(e.exit_code(), 2, "{e}");
    let (details, by): (serde_json::Value, String) = sqlx::query_as(
        "select details, login from admin_audit_log where action = 'settings.change'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("audited");
    assert_eq!(
        (details["old"].as_i64(), details["new"].as_i64()),
        (Some(500), Some(1000))
    );
    assert_eq!(by, admin.name);
    // 900 is now the operator's own call.
    let user = user_with_credits(&db.tool, "ana@example.com", 0).await;
    credits::adjust(
        &finance.db,
        &operator(),
        &UserRef::Id(user),
        900,
        &reason("ok"),
        None,
    )
    .await
    .applied()
    .expect("under the new threshold");
}

fn creditdesk(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "", args)
}

#[tokio::test]
async fn the_command_line_exits_5_with_the_request_and_a_second_login_approves_it() {
    let db = TestDb::new().await;
    let support = db.login(Group::Support).await;
    let finance = db.login(Group::Finance).await;
    let user = user_with_credits(&db.tool, "ana@example.com", 10)
        .await
        .to_string();
    let out = creditdesk(
        &support.url,
        &[
            "credits",
            "adjust",
            &user,
            "--amount",
            "750",
            "--reason",
            "refund of a bank fee",
        ],
    );
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("pending approval #"), "{out:?}");
    let id: String = out
        .stderr
        .split("pending approval #")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .expect("id")
        .to_owned();
    let json = creditdesk(&support.url, &["--json", "approvals", "list", "--pending"]);
    assert_eq!(json.code, 0, "{json:?}");
    let listed: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(listed[0]["id"].to_string(), id);
    let mine = creditdesk(&support.url, &["approvals", "approve", &id]);
    assert_eq!(mine.code, 3, "{mine:?}");
    assert!(mine.stderr.contains("support"), "{mine:?}");
    let ok = creditdesk(
        &finance.url,
        &[
            "approvals",
            "approve",
            &id,
            "--reason",
            "checked the ticket",
        ],
    );
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.contains("10 -> 760"), "{ok:?}");
    let again = creditdesk(
        &finance.url,
        &["approvals", "reject", &id, "--reason", "late"],
    );
    assert_eq!(again.code, 3, "{again:?}");
}
