//! Who may do what (security.md §2), enforced by PostgreSQL: every action as
//! a member of each group, through the library and as raw SQL on a plain
//! connection as that login (what psql would do). Allowed actions succeed;
//! everything else is refused with an error, and nothing is written.

use chrono::{Duration, Utc};
use creditdesk::db::batches::{self, Refund};
use creditdesk::db::coupons;
use creditdesk::db::credits;
use creditdesk::db::gift_cards::{self, CardKey, CardValue, IssueRequest};
use creditdesk::db::{Db, approvals};
use creditdesk::domain::Refusal;
use creditdesk::domain::codes::CouponCode;
use creditdesk::domain::coupon::{DiscountType, NewCoupon};
use creditdesk::domain::role::{Action, Group};
use creditdesk::domain::user_ref::UserRef;
use creditdesk::error::Error;
use creditdesk::testing::{Applied, Login, TestDb, exec, operator, reason, scalar_i64, user};
use rust_decimal::Decimal;
use sqlx::PgPool;

/// Rows of everything an action can write.
async fn footprint(pool: &PgPool) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "select count(*) from admin_audit_log",
        "select count(*) from credit_history",
        "select coalesce(sum(credits), 0)::int8 from users",
        "select count(*) from coupons",
        "select count(*) filter (where \"isActive\") from coupons",
        "select count(*) from coupon_redemptions",
        "select count(*) from gift_cards",
        "select count(*) filter (where status = 'active') from gift_cards",
        "select count(*) filter (where status = 'failed') from photo_generation_batches",
        "select count(*) filter (where status = 'pending') from creditdesk.approval_requests",
        "select count(*) from creditdesk.settings where \"updatedBy\" is not null",
    ] {
        out.push(scalar_i64(pool, sql).await);
    }
    out
}

struct Fixture {
    coupon: String,
    user: i32,
    card: i32,
    batch: i32,
    request: i64,
    /// The finance login that asked for `request`.
    asker: Login,
}

/// A user with 100 credits, a credits coupon, an active card, a generating
/// batch that charged 10, and a pending request someone else asked for; a
/// second set with another `tag` is independent of the first.
async fn fixture(db: &TestDb, tag: &str) -> Fixture {
    let user = user(&db.pool, &format!("ana-{tag}@example.com")).await;
    let coupon = format!("FREE5-{}", tag.to_uppercase());
    exec(
        &db.pool,
        &format!(
            "insert into credit_history (\"userId\", amount, type) values ({user}, 100, 'purchase');
             update users set credits = 100 where id = {user};
             insert into coupons (code, \"discountType\", \"discountValue\") values ('{coupon}', 'credits', 5);
             insert into photo_generation_batches (\"userId\", \"totalImagesGenerated\", \"creditsUsed\",
                 \"aspectRatio\", glasses, status) values ({user}, 4, 10, '1:1', 'no', 'generating');
             insert into credit_history (\"userId\", amount, type, \"relatedBatchId\")
               values ({user}, -10, 'generation', currval(pg_get_serial_sequence('photo_generation_batches', 'id')));
             update users set credits = 90 where id = {user};"
        ),
    )
    .await
    .expect("fixture");
    let card = gift_cards::issue(&db.tool, &operator(), &card_request())
        .await
        .applied()
        .expect("card")[0]
        .id;
    let batch = scalar_i64(
        &db.pool,
        "select max(id)::int8 from photo_generation_batches",
    )
    .await as i32;
    let asker = db.login(Group::Finance).await;
    let pending = credits::adjust(
        &asker.db,
        &operator(),
        &UserRef::Id(user),
        800,
        &reason("goodwill"),
        None,
    )
    .await
    .expect("a request");
    let creditdesk::db::Change::Pending(request) = pending else {
        panic!("800 credits waits for approval")
    };
    Fixture {
        coupon,
        user,
        card,
        batch,
        request: request.id,
        asker,
    }
}

fn card_request() -> IssueRequest {
    IssueRequest {
        value: CardValue::Custom {
            credits: 10,
            price: Decimal::new(100, 2),
        },
        count: 1,
        recipient: None,
        expires_at: None,
        reason: None,
    }
}

/// Tries `action` through the library as `login`; Ok when it was done.
async fn attempt(db: &Db, action: Action, f: &Fixture) -> Result<(), Error> {
    let who = operator();
    let user = UserRef::Id(f.user);
    match action {
        Action::Read => {
            credits::overview(db, &user, 5).await?;
            coupons::list(db, &Default::default()).await?;
            gift_cards::list(db, &Default::default()).await?;
            batches::show(db, f.batch).await?;
            creditdesk::db::audit::list(
                db,
                &creditdesk::db::audit::AuditFilter {
                    limit: 5,
                    ..Default::default()
                },
            )
            .await?;
            credits::verify(db).await?;
            creditdesk::db::audit::verify(db, None).await?;
            approvals::list(db, &Default::default()).await?;
            Ok(())
        }
        Action::CouponCreate => {
            let new = NewCoupon {
                code: CouponCode::parse("NEW-ONE").expect("code"),
                description: None,
                discount_type: DiscountType::Credits,
                value: Decimal::new(5, 0),
                max_uses: None,
                valid_from: Utc::now() - Duration::hours(1),
                valid_until: None,
            };
            coupons::create(db, &who, new).await.map(|_| ())
        }
        Action::CouponDeactivate => coupons::deactivate(db, &who, &f.coupon, &reason("ended"))
            .await
            .map(|_| ()),
        Action::CouponRedeem => coupons::redeem(db, &who, &f.coupon, &user)
            .await
            .map(|_| ()),
        Action::GiftCardRedeem => gift_cards::redeem(db, &who, CardKey::Id(f.card), &user)
            .await
            .map(|_| ()),
        Action::GiftCardReveal => gift_cards::reveal(db, &who, CardKey::Id(f.card))
            .await
            .map(|_| ()),
        Action::GiftCardIssue => gift_cards::issue(db, &who, &card_request())
            .await
            .applied()
            .map(|_| ()),
        Action::GiftCardRevoke => {
            gift_cards::revoke(db, &who, CardKey::Id(f.card), &reason("lost"))
                .await
                .map(|_| ())
        }
        Action::CreditsAdjust => credits::adjust(db, &who, &user, 5, &reason("goodwill"), None)
            .await
            .applied()
            .map(|_| ()),
        Action::BatchFail => batches::fail(db, &who, f.batch, &reason("stuck"), Refund::All)
            .await
            .map(|_| ()),
        Action::ApprovalDecide => approvals::approve(db, &who, f.request, None)
            .await
            .map(|_| ()),
        Action::OperatorsManage => {
            let verifier = creditdesk::db::operators::scram_verifier("a long password 123");
            let name = format!("new_op_{}", rand::random::<u32>());
            creditdesk::db::operators::add(db, &who, &name, Group::Auditor, &verifier)
                .await
                .map(|_| ())
        }
        Action::SettingsChange => {
            creditdesk::db::operators::set_setting(
                db,
                &who,
                "approval.adjustment_credits",
                600,
                &reason("more room"),
            )
            .await
        }
    }
}

/// The same action as one SQL statement, as a login could type it in psql.
fn raw(action: Action, f: &Fixture) -> Vec<String> {
    let (u, c, b, r) = (f.user, f.card, f.batch, f.request);
    match action {
        Action::Read => vec![
            "select count(*) from creditdesk.users".into(),
            "select count(*) from creditdesk.credit_history".into(),
            "select \"codeMasked\" from creditdesk.gift_cards".into(),
            "select count(*) from creditdesk.admin_audit_log".into(),
            "select count(*) from creditdesk.approvals".into(),
        ],
        Action::CouponCreate => vec![format!(
            "select creditdesk.create_coupon('RAW-{}', null, 'credits', 5, null, null, null)",
            f.coupon
        )],
        Action::CouponDeactivate => vec![format!(
            "select creditdesk.deactivate_coupon((select id from creditdesk.coupons where code = '{}'), 'x')",
            f.coupon
        )],
        Action::CouponRedeem => vec![format!(
            "select creditdesk.redeem_coupon((select id from creditdesk.coupons where code = '{}'), {u})",
            f.coupon
        )],
        Action::GiftCardRedeem => vec![format!("select creditdesk.redeem_gift_card({c}, {u})")],
        Action::GiftCardReveal => vec![format!("select creditdesk.reveal_gift_card({c})")],
        Action::GiftCardIssue => {
            vec!["select creditdesk.issue_gift_cards(1, null, 10, 1.00, null, null, null)".into()]
        }
        Action::GiftCardRevoke => vec![format!("select creditdesk.revoke_gift_card({c}, 'x')")],
        Action::CreditsAdjust => vec![format!("select creditdesk.adjust_credits({u}, 5, 'x')")],
        Action::BatchFail => vec![format!("select creditdesk.fail_batch({b}, 'x', 'all')")],
        Action::ApprovalDecide => vec![format!("select creditdesk.approve_request({r})")],
        Action::OperatorsManage => vec![format!(
            "select creditdesk.add_operator('raw_op_{}', 'auditor', 'SCRAM-SHA-256$4096:x$y:z')",
            rand::random::<u32>()
        )],
        Action::SettingsChange => {
            vec!["select creditdesk.set_setting('approval.adjustment_credits', 700, 'x')".into()]
        }
    }
}

/// One cell of the table: `action` as a member of `group`, through the
/// library, then as raw SQL, each on a fresh database.
async fn cell(group: Group, action: Action) {
    let allowed = action.allowed_for(group);
    let db = TestDb::new().await;
    let f = fixture(&db, "lib").await;
    let g = fixture(&db, "sql").await;
    let login = db.login(group).await;
    let before = footprint(&db.pool).await;
    let result = attempt(&login.db, action, &f).await;
    if allowed {
        result.unwrap_or_else(|e| panic!("{group} may {action:?}: {e}"));
        if action.writes() {
            let (by, login_name): (String, String) = sqlx::query_as(
                "select actor, login from admin_audit_log order by seq desc limit 1",
            )
            .fetch_one(&db.pool)
            .await
            .expect("the audit row");
            assert_eq!(
                login_name, login.name,
                "{group} {action:?}: the login is recorded"
            );
            assert_eq!(by, "test-ops");
        }
    } else {
        match result {
            Err(Error::Refused(Refusal::NotPermitted { role, action: what })) => {
                assert_eq!(role, group.label());
                assert_eq!(what, action.describe());
            }
            other => panic!("{group} may not {action:?}, got {other:?}"),
        }
        assert_eq!(footprint(&db.pool).await, before, "{group} {action:?}");
    }

    // The same as plain SQL on the other set: refused by PostgreSQL, not by
    // the tool.
    let before = footprint(&db.pool).await;
    for sql in raw(action, &g) {
        let r = exec(&login.raw, &sql).await;
        if allowed {
            r.unwrap_or_else(|e| panic!("{group} may {action:?} ({sql}): {e}"));
        } else {
            let e = r.expect_err(&format!("{group} may not {action:?}: {sql}"));
            assert!(
                e.starts_with("42501") || e.starts_with("CD001"),
                "{group} {action:?}: {sql}: {e}"
            );
        }
    }
    if !allowed {
        assert_eq!(footprint(&db.pool).await, before, "{group} raw {action:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permission_table_through_the_library_and_as_raw_sql() {
    use futures::StreamExt;
    let cells: Vec<(Group, Action)> = Group::ALL
        .into_iter()
        .flat_map(|g| Action::ALL.into_iter().map(move |a| (g, a)))
        .collect();
    // 65 cells, each on fresh databases; a few at a time.
    let results: Vec<_> = futures::stream::iter(cells)
        .map(|(g, a)| tokio::spawn(cell(g, a)))
        .buffer_unordered(8)
        .collect()
        .await;
    for r in results {
        if let Err(e) = r {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// What no operator may do, whatever their group: the tables are the
/// owner's, and the audit log nobody else's.
#[tokio::test]
async fn no_operator_touches_balances_ledger_audit_log_or_full_codes_directly() {
    let db = TestDb::new().await;
    let f = fixture(&db, "a").await;
    for group in Group::ALL {
        let login = db.login(group).await;
        let before = footprint(&db.pool).await;
        for sql in [
            format!("update users set credits = 1000000 where id = {}", f.user),
            format!("update public.users set credits = credits + 1 where id = {}", f.user),
            format!(
                "insert into credit_history (\"userId\", amount, type) values ({}, 500, 'admin_adjustment')",
                f.user
            ),
            "delete from credit_history".into(),
            "insert into admin_audit_log (actor, action, \"entityType\") values ('x', 'y', 'z')".into(),
            "update admin_audit_log set reason = 'rewritten'".into(),
            "delete from admin_audit_log".into(),
            "truncate admin_audit_log".into(),
            "alter table admin_audit_log disable trigger all".into(),
            "drop table admin_audit_log".into(),
            "select code from gift_cards".into(),
            "select * from public.gift_cards".into(),
            "select code from public.gift_cards where id = 1".into(),
            "update gift_cards set status = 'active'".into(),
            "update creditdesk.approval_requests set status = 'approved'".into(),
            "update creditdesk.settings set value = 100000".into(),
            "update creditdesk.audit_chain_head set seq = 0".into(),
            "create or replace function creditdesk.require(p_action text) returns void language sql as 'select'".into(),
            "select creditdesk.post(1, 100, 'admin_adjustment', 'x')".into(),
            "select creditdesk.audit('x', 'credits.adjust', 'user', '1', null, '{}')".into(),
            "select creditdesk.adjust_now(1, 100, 'x', null, 'x', null)".into(),
            "create table public.sneaky (id int)".into(),
        ] {
            let e = exec(&login.raw, &sql)
                .await
                .expect_err(&format!("{group}: {sql}"));
            assert!(e.starts_with("42501"), "{group}: {sql}: {e}");
        }
        assert_eq!(footprint(&db.pool).await, before, "{group}");
    }
}

#[tokio::test]
async fn nobody_approves_their_own_request_however_they_ask() {
    let db = TestDb::new().await;
    let f = fixture(&db, "a").await;
    // The request of the fixture's finance login, decided by that login:
    // refused through the library and through SQL, with SET ROLE too, even
    // once the login is an admin as well.
    let asker_name = f.asker.name.clone();
    let admin = db.login(Group::Admin).await;
    exec(
        &db.pool,
        &format!("grant creditdesk_admin to \"{asker_name}\""),
    )
    .await
    .expect("the asker becomes an admin too");
    let before = footprint(&db.pool).await;
    let mine = approvals::approve(&f.asker.db, &operator(), f.request, None).await;
    assert!(
        matches!(mine, Err(Error::Refused(Refusal::OwnRequest))),
        "{mine:?}"
    );
    for sql in [
        format!("select creditdesk.approve_request({})", f.request),
        format!(
            "set role creditdesk_admin; select creditdesk.approve_request({})",
            f.request
        ),
        format!("select creditdesk.reject_request({}, 'mine')", f.request),
        format!(
            "update creditdesk.approval_requests set status = 'approved' where id = {}",
            f.request
        ),
    ] {
        let e = exec(&f.asker.raw, &sql).await.expect_err(&sql);
        assert!(
            e.contains("second person") || e.starts_with("42501"),
            "{sql}: {e}"
        );
    }
    assert_eq!(footprint(&db.pool).await, before);

    // A second person approves it; then nobody can approve it again.
    let done = approvals::approve(&admin.db, &operator(), f.request, Some(&reason("ok")))
        .await
        .expect("approved");
    let approvals::Approved::Adjustment(a) = done else {
        panic!("an adjustment")
    };
    assert_eq!((a.old_balance, a.new_balance), (90, 890));
    let other = db.login(Group::Finance).await;
    let again = approvals::approve(&other.db, &operator(), f.request, None).await;
    assert!(
        matches!(
            again,
            Err(Error::Refused(Refusal::AlreadyDecided { ref status, .. })) if status == "approved"
        ),
        "{again:?}"
    );
    // The audit rows name who asked and who approved.
    let details: serde_json::Value = sqlx::query_scalar(
        "select details from admin_audit_log where action = 'credits.adjust' order by seq desc limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("audit");
    assert_eq!(details["requested_by_login"], asker_name.as_str());
    assert_eq!(details["approved_by_login"], admin.name.as_str());
}

#[tokio::test]
async fn the_login_is_recorded_under_set_role_and_forged_values_are_overwritten() {
    let db = TestDb::new().await;
    let f = fixture(&db, "a").await;
    let login: Login = db.login(Group::Admin).await;
    exec(
        &login.raw,
        &format!(
            "set role creditdesk_admin; select creditdesk.adjust_credits({}, 7, 'set role', null, 'ana')",
            f.user
        ),
    )
    .await
    .expect("adjust under set role");
    let (actor, recorded): (String, String) =
        sqlx::query_as("select actor, login from admin_audit_log order by seq desc limit 1")
            .fetch_one(&db.pool)
            .await
            .expect("row");
    assert_eq!(
        (actor.as_str(), recorded.as_str()),
        ("ana", login.name.as_str())
    );

    // The owner may insert directly, but the login it claims is overwritten.
    exec(
        &db.owner,
        "insert into admin_audit_log (actor, login, action, \"entityType\", seq, hash, \"prevHash\", \"createdAt\")
         values ('x', 'someone_else', 'manual.note', 'none', 999, 'h', 'p', '2000-01-01')",
    )
    .await
    .expect("the owner writes");
    let (recorded, seq, year): (String, i64, f64) = sqlx::query_as(
        "select login, seq, extract(year from \"createdAt\")::float8 from admin_audit_log order by seq desc limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("row");
    assert_ne!(recorded, "someone_else");
    assert_ne!(seq, 999);
    assert!(year > 2000.0);
    assert!(
        creditdesk::db::audit::verify(&db.tool, None)
            .await
            .expect("verify")
            .is_intact()
    );

    // Operator names are ASCII: look-alikes are refused by the database too.
    for name in ["\u{0430}na", "ana\u{200b}", "ana maría"] {
        let e = exec(
            &login.raw,
            &format!(
                "select creditdesk.adjust_credits({}, 1, 'x', null, '{name}')",
                f.user
            ),
        )
        .await
        .expect_err(name);
        assert!(e.starts_with("CD002"), "{name}: {e}");
    }
}

#[tokio::test]
async fn a_login_in_no_group_may_read_nothing() {
    let db = TestDb::new().await;
    let _ = fixture(&db, "a").await;
    let (_, stranger) = db.stranger().await;
    for sql in [
        "select count(*) from creditdesk.users",
        "select creditdesk.whoami()",
        "select count(*) from public.admin_audit_log",
        "select count(*) from public.credit_history",
    ] {
        let e = exec(&stranger, sql).await.expect_err(sql);
        assert!(e.starts_with("42501"), "{sql}: {e}");
    }
    let db2 = Db::direct(stranger.clone());
    let e = db2.with_session().await.expect_err("no session");
    assert!(
        matches!(e, Error::Refused(Refusal::NotAnOperator { .. })),
        "{e:?}"
    );
    let _ = Utc::now() + Duration::seconds(1);
}
