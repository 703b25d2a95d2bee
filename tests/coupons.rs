//! Coupons against real PostgreSQL: creating, listing, deactivating and
//! redeeming, with many connections redeeming one coupon at once, and bad
//! input through the real binary.

use std::str::FromStr;

use chrono::{Duration, Utc};
use creditdesk::db::coupons::{self, CouponFilter, CouponStatus};
use creditdesk::db::{audit, credits};
use creditdesk::domain::Refusal;
use creditdesk::domain::codes::CouponCode;
use creditdesk::domain::coupon::{DiscountType, NewCoupon};
use creditdesk::domain::role::Group;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::error::Error;
use creditdesk::testing::{
    CliRun, TestDb, operator, reason, refused, run_cli, scalar_i64, user_with_credits,
};
use rust_decimal::Decimal;
use sqlx::PgPool;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

/// A coupon valid since an hour ago, with no end and no limit.
fn coupon(code: &str, kind: DiscountType, value: &str) -> NewCoupon {
    NewCoupon {
        code: CouponCode::parse(code).expect("code"),
        description: None,
        discount_type: kind,
        value: dec(value),
        max_uses: None,
        valid_from: Utc::now() - Duration::hours(1),
        valid_until: None,
    }
}

fn credits_coupon(code: &str, value: &str, max_uses: Option<i32>) -> NewCoupon {
    NewCoupon {
        max_uses,
        ..coupon(code, DiscountType::Credits, value)
    }
}

/// Rows in every table a coupon command writes to, and the sums it changes,
/// to prove nothing was written.
async fn footprint(pool: &PgPool) -> [i64; 6] {
    [
        scalar_i64(pool, "select count(*) from coupons").await,
        scalar_i64(pool, "select count(*) from coupon_redemptions").await,
        scalar_i64(pool, "select count(*) from credit_history").await,
        scalar_i64(pool, "select count(*) from admin_audit_log").await,
        scalar_i64(pool, "select coalesce(sum(credits), 0)::int8 from users").await,
        scalar_i64(
            pool,
            "select coalesce(sum(\"usedCount\"), 0)::int8 + count(*) filter (where \"isActive\") \
             from coupons",
        )
        .await,
    ]
}

fn invalid_fields<T: std::fmt::Debug>(r: Result<T, Error>) -> Vec<&'static str> {
    match r {
        Err(Error::Invalid(errors)) => errors.iter().map(|e| e.field).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn create_show_list_and_deactivate_with_audit() {
    let db = TestDb::new().await;
    let summer = coupons::create(
        &db.tool,
        &operator(),
        NewCoupon {
            description: Some("  summer promo ".into()),
            ..credits_coupon("summer-25", "50", Some(10))
        },
    )
    .await
    .expect("create");
    assert_eq!(summer.code, "SUMMER-25");
    assert_eq!(summer.description.as_deref(), Some("summer promo"));
    assert_eq!(
        (summer.discount_value, summer.max_uses, summer.used_count),
        (dec("50"), Some(10), 0)
    );
    assert!(summer.is_active);
    assert_eq!(summer.value_display(), "50 credits");
    assert_eq!(summer.usage_display(), "0/10");
    let pct = coupons::create(
        &db.tool,
        &operator(),
        coupon("PCT-10", DiscountType::Percentage, "12.5"),
    )
    .await
    .expect("percentage");
    assert_eq!(pct.value_display(), "12.5%");
    let old = coupons::create(
        &db.tool,
        &operator(),
        NewCoupon {
            valid_from: Utc::now() - Duration::days(10),
            valid_until: Some(Utc::now() - Duration::days(1)),
            ..coupon("OLD-1", DiscountType::FixedAmount, "5")
        },
    )
    .await
    .expect("expired");
    assert_eq!(old.value_display(), "5.00");
    assert_eq!(old.status(Utc::now()), CouponStatus::Expired);
    let later = coupons::create(
        &db.tool,
        &operator(),
        NewCoupon {
            valid_from: Utc::now() + Duration::days(1),
            ..credits_coupon("LATER", "5", None)
        },
    )
    .await
    .expect("scheduled");
    assert_eq!(later.status(Utc::now()), CouponStatus::Scheduled);

    let creates = audit::list(
        &db.tool,
        &audit::AuditFilter {
            action: Some("coupon.create".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    assert_eq!(creates.len(), 4);
    assert!(creates.iter().all(|a| a.actor == "test-ops"));
    assert_eq!(
        creates[3].entity_id.as_deref(),
        Some(&*summer.id.to_string())
    );
    assert_eq!(creates[3].details["code"], "SUMMER-25");

    let codes = |list: Vec<coupons::Coupon>| list.into_iter().map(|c| c.code).collect::<Vec<_>>();
    let current = coupons::list(&db.tool, &CouponFilter::default())
        .await
        .expect("list");
    assert_eq!(codes(current), ["PCT-10", "SUMMER-25"], "newest first");
    let all = coupons::list(
        &db.tool,
        &CouponFilter {
            all: true,
            ..Default::default()
        },
    )
    .await
    .expect("list all");
    assert_eq!(codes(all), ["LATER", "OLD-1", "PCT-10", "SUMMER-25"]);
    for (search, expect) in [
        ("summer25", vec!["SUMMER-25"]),
        ("MER 2", vec!["SUMMER-25"]),
        ("promo", vec!["SUMMER-25"]),
        ("-", vec!["LATER", "OLD-1", "PCT-10", "SUMMER-25"]),
        ("%", vec![]),
        ("_", vec![]),
    ] {
        let found = coupons::list(
            &db.tool,
            &CouponFilter {
                all: true,
                search: Some(search.into()),
                limit: 50,
            },
        )
        .await
        .expect("search");
        assert_eq!(codes(found), expect, "{search:?}");
    }

    let detail = coupons::show(&db.tool, " Summer 25 ").await.expect("show");
    assert_eq!(detail.coupon, summer);
    assert!(detail.redemptions.is_empty());
    assert_eq!(detail.redemptions_total, 0);

    let off = coupons::deactivate(&db.tool, &operator(), "summer25", &reason("campaign over"))
        .await
        .expect("deactivate");
    assert!(!off.is_active);
    assert_eq!(off.status(Utc::now()), CouponStatus::Inactive);
    let again = coupons::deactivate(&db.tool, &operator(), "SUMMER-25", &reason("twice")).await;
    assert_eq!(refused(again), Refusal::CouponAlreadyInactive);
    let log = audit::list(
        &db.tool,
        &audit::AuditFilter {
            action: Some("coupon.deactivate".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].reason.as_deref(), Some("campaign over"));
    assert_eq!(log[0].entity_id.as_deref(), Some(&*summer.id.to_string()));
    let current = coupons::list(&db.tool, &CouponFilter::default())
        .await
        .expect("list");
    assert_eq!(codes(current), ["PCT-10"]);
    let missing = coupons::deactivate(&db.tool, &operator(), "NOPE", &reason("x")).await;
    assert!(matches!(
        refused(missing),
        Refusal::NotFound { what: "coupon", .. }
    ));
}

#[tokio::test]
async fn a_code_that_differs_only_by_case_dashes_or_spaces_is_a_duplicate() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Support, 4).await;
    coupons::create(
        &db.tool,
        &operator(),
        credits_coupon("WELCOME-10", "5", None),
    )
    .await
    .expect("first");
    let before = footprint(&db.pool).await;
    for code in [
        "welcome-10",
        "WELCOME10",
        "w-e-l-c-o-m-e-1-0",
        "Welcome--10",
    ] {
        let r = coupons::create(&db.tool, &operator(), credits_coupon(code, "5", None)).await;
        assert_eq!(
            refused(r),
            Refusal::DuplicateCode {
                code: code.to_ascii_uppercase()
            },
            "{code}"
        );
    }
    // A different code ('_' is not a separator) is fine.
    coupons::create(
        &db.tool,
        &operator(),
        credits_coupon("WELCOME_10", "5", None),
    )
    .await
    .expect("underscore is its own code");
    let after = footprint(&db.pool).await;
    assert_eq!(after[0], before[0] + 1);
    assert_eq!(after[3], before[3] + 1);

    // Ten operators creating the same code at once: exactly one wins.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let pool = ops.next();
            tokio::spawn(async move {
                let code = if i % 2 == 0 { "RACE-1" } else { "race1" };
                coupons::create(&pool, &operator(), credits_coupon(code, "5", None)).await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => ok += 1,
            Err(Error::Refused(Refusal::DuplicateCode { .. })) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn generated_codes_are_created_and_parse_back() {
    let db = TestDb::new().await;
    let c = coupons::create_generated(
        &db.tool,
        &operator(),
        credits_coupon(CouponCode::generate().as_str(), "5", None),
    )
    .await
    .expect("generated");
    assert_eq!(c.code.len(), 11);
    assert_eq!(CouponCode::parse(&c.code).expect("parses").as_str(), c.code);
    let log = scalar_i64(
        &db.pool,
        "select count(*) from admin_audit_log where action = 'coupon.create' \
         and details->>'generated' = 'true'",
    )
    .await;
    assert_eq!(log, 1);
}

#[tokio::test]
async fn field_errors_are_reported_together_and_nothing_is_written() {
    let db = TestDb::new().await;
    let before = footprint(&db.pool).await;
    let now = Utc::now();
    let everything_wrong = NewCoupon {
        description: Some("bad\u{7}text".into()),
        max_uses: Some(0),
        valid_from: now,
        valid_until: Some(now - Duration::days(1)),
        ..coupon("ALLBAD", DiscountType::Percentage, "150")
    };
    assert_eq!(
        invalid_fields(coupons::create(&db.tool, &operator(), everything_wrong).await),
        ["description", "value", "max_uses", "valid_until"]
    );
    for (kind, value, message) in [
        (DiscountType::Credits, "0", "must be greater than zero"),
        (
            DiscountType::Percentage,
            "150",
            "a percentage is at most 100",
        ),
        (
            DiscountType::Credits,
            "2.5",
            "must be a whole number of credits",
        ),
        (
            DiscountType::FixedAmount,
            "1.001",
            "must have at most 2 decimal places",
        ),
    ] {
        let r = coupons::create(&db.tool, &operator(), coupon("VALUE", kind, value)).await;
        match r {
            Err(Error::Invalid(errors)) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(
                    (errors[0].field, errors[0].message.as_str()),
                    ("value", message)
                );
            }
            other => panic!("{kind} {value}: {other:?}"),
        }
    }
    let same_instant = NewCoupon {
        valid_until: Some(now),
        valid_from: now,
        ..credits_coupon("EDGE", "5", None)
    };
    assert_eq!(
        invalid_fields(coupons::create(&db.tool, &operator(), same_instant).await),
        ["valid_until"]
    );
    for bad in ["SUM MER", "a.b.c", "ab", "x'; drop table users; --", "ÜBER"] {
        let e = CouponCode::parse(bad).expect_err(bad);
        assert_eq!(e.field, "code");
    }
    assert_eq!(footprint(&db.pool).await, before);
}

#[tokio::test]
async fn redeeming_a_credits_coupon_awards_its_credits() {
    let db = TestDb::new().await;
    let user = user_with_credits(&db.tool, "Ana@Example.com", 5).await;
    let c = coupons::create(
        &db.tool,
        &operator(),
        credits_coupon("FREE-50", "50", Some(5)),
    )
    .await
    .expect("create");
    let done = coupons::redeem(
        &db.tool,
        &operator(),
        "free50",
        &UserRef::parse("ANA@example.com").expect("user"),
    )
    .await
    .expect("redeem");
    assert_eq!(
        (
            done.user_id,
            done.coupon_id,
            done.credits,
            done.old_balance,
            done.new_balance
        ),
        (user, c.id, 50, 5, 55)
    );
    assert_eq!((done.used_count, done.max_uses), (1, Some(5)));
    assert_eq!(done.code, "FREE-50");
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!("select credits::int8 from users where id = {user}")
        )
        .await,
        55
    );
    let (amount, kind, coupon_id): (i32, String, Option<i32>) = sqlx::query_as(
        "select amount, type::text, \"relatedCouponId\" from credit_history where id = $1",
    )
    .bind(done.entry_id)
    .fetch_one(&db.pool)
    .await
    .expect("entry");
    assert_eq!(
        (amount, kind.as_str(), coupon_id),
        (50, "coupon", Some(c.id))
    );
    let (r_user, r_coupon, awarded): (i32, i32, Option<i32>) = sqlx::query_as(
        "select \"userId\", \"couponId\", \"creditsAwarded\" from coupon_redemptions where id = $1",
    )
    .bind(done.redemption_id)
    .fetch_one(&db.pool)
    .await
    .expect("redemption");
    assert_eq!((r_user, r_coupon, awarded), (user, c.id, Some(50)));

    let detail = coupons::show(&db.tool, "FREE-50").await.expect("show");
    assert_eq!(detail.coupon.used_count, 1);
    assert_eq!(detail.redemptions_total, 1);
    assert_eq!(detail.redemptions[0].email, "Ana@Example.com");
    assert_eq!(detail.redemptions[0].credits_awarded, Some(50));
    assert_eq!(detail.redemptions[0].user_id, user);

    let log = audit::list(
        &db.tool,
        &audit::AuditFilter {
            action: Some("coupon.redeem".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].details["user_id"], user);
    assert_eq!(log[0].details["entry_id"], done.entry_id);
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn redemption_refusals_write_nothing() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Support, 4).await;
    let ana = user_with_credits(&db.tool, "ana@example.com", 0).await;
    let bo = user_with_credits(&db.tool, "bo@example.com", 0).await;
    let now = Utc::now();
    for c in [
        coupon("PCT", DiscountType::Percentage, "10"),
        coupon("FIXED", DiscountType::FixedAmount, "9.99"),
        NewCoupon {
            valid_from: now - Duration::days(10),
            valid_until: Some(now - Duration::seconds(1)),
            ..credits_coupon("EXPIRED", "5", None)
        },
        NewCoupon {
            valid_from: now + Duration::days(1),
            ..credits_coupon("SOON", "5", None)
        },
        credits_coupon("OFF", "5", None),
        credits_coupon("ONCE", "5", Some(1)),
        credits_coupon("TWICE", "5", None),
    ] {
        coupons::create(&db.tool, &operator(), c)
            .await
            .expect("create");
    }
    coupons::deactivate(&db.tool, &operator(), "OFF", &reason("test"))
        .await
        .expect("deactivate");
    coupons::redeem(&db.tool, &operator(), "ONCE", &UserRef::Id(bo))
        .await
        .expect("bo uses ONCE up");
    coupons::redeem(&db.tool, &operator(), "TWICE", &UserRef::Id(ana))
        .await
        .expect("ana's first");
    let before = footprint(&db.pool).await;
    let redeem = |code: &'static str, user: UserRef| {
        let pool = ops.next();
        async move { coupons::redeem(&pool, &operator(), code, &user).await }
    };
    let ana_ref = || UserRef::Id(ana);

    let r = refused(redeem("pct", ana_ref()).await);
    assert_eq!(
        r,
        Refusal::CouponAppliesAtCheckout {
            discount_type: "percentage".into()
        }
    );
    assert!(r.to_string().contains("applies at checkout in the web app"));
    assert_eq!(
        refused(redeem("fixed", ana_ref()).await),
        Refusal::CouponAppliesAtCheckout {
            discount_type: "fixed_amount".into()
        }
    );
    assert!(matches!(
        refused(redeem("EXPIRED", ana_ref()).await),
        Refusal::CouponExpired { .. }
    ));
    assert!(matches!(
        refused(redeem("SOON", ana_ref()).await),
        Refusal::CouponNotYetValid { .. }
    ));
    assert_eq!(
        refused(redeem("OFF", ana_ref()).await),
        Refusal::CouponInactive
    );
    assert_eq!(
        refused(redeem("ONCE", ana_ref()).await),
        Refusal::CouponExhausted { max_uses: 1 }
    );
    assert_eq!(
        refused(redeem("TWICE", ana_ref()).await),
        Refusal::CouponAlreadyRedeemed
    );
    for code in ["NOPE", "'; drop table users; --", "ONCE\u{1b}[2J", "日本"] {
        let r = refused(redeem(code, ana_ref()).await);
        assert!(
            matches!(r, Refusal::NotFound { what: "coupon", .. }),
            "{code:?}: {r}"
        );
        assert!(!r.to_string().contains('\u{1b}'));
    }
    for code in ["", " - ", &"A".repeat(100_000)] {
        let r = coupons::redeem(&db.tool, &operator(), code, &ana_ref()).await;
        assert_eq!(invalid_fields(r), ["code"]);
    }
    for user in [
        UserRef::Id(999_999),
        UserRef::Email("nobody@example.com".into()),
    ] {
        assert!(matches!(
            refused(redeem("TWICE", user).await),
            Refusal::NotFound { what: "user", .. }
        ));
    }
    assert_eq!(footprint(&db.pool).await, before);
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from users").await,
        2,
        "the users table is still there"
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn a_stored_value_outside_the_rules_is_not_paid_out() {
    let db = TestDb::new().await;
    let ana = user_with_credits(&db.tool, "ana@example.com", 0).await;
    // Written by another tool: whole, so the table's checks let it in.
    sqlx::query(
        "insert into coupons (code, \"discountType\", \"discountValue\") \
         values ('HUGE', 'credits', 2000000)",
    )
    .execute(&db.pool)
    .await
    .expect("coupon");
    let before = footprint(&db.pool).await;
    let r = coupons::redeem(&db.tool, &operator(), "huge", &UserRef::Id(ana)).await;
    assert_eq!(
        refused(r),
        Refusal::CouponValueNotPayable {
            value: "2000000".into()
        }
    );
    assert_eq!(footprint(&db.pool).await, before);
}

#[tokio::test]
async fn many_redemptions_at_once_never_pass_max_uses() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Support, 4).await;
    let k = 5;
    let c = coupons::create(&db.tool, &operator(), credits_coupon("RUSH", "20", Some(k)))
        .await
        .expect("create");
    let mut users = Vec::new();
    for i in 0..30 {
        users.push(user_with_credits(&db.tool, &format!("u{i}@example.com"), 0).await);
    }
    let tasks: Vec<_> = users
        .iter()
        .map(|&id| {
            let pool = ops.next();
            tokio::spawn(async move {
                coupons::redeem(&pool, &operator(), "rush", &UserRef::Id(id)).await
            })
        })
        .collect();
    let mut ok = 0;
    let mut exhausted = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => ok += 1,
            Err(Error::Refused(Refusal::CouponExhausted { max_uses })) => {
                assert_eq!(max_uses, k);
                exhausted += 1;
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!((ok, exhausted), (5, 25));
    let id = c.id;
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!("select \"usedCount\"::int8 from coupons where id = {id}")
        )
        .await,
        5
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!("select count(*) from coupon_redemptions where \"couponId\" = {id}")
        )
        .await,
        5
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!(
                "select count(*) from credit_history where type = 'coupon' and \"relatedCouponId\" = {id}"
            )
        )
        .await,
        5
    );
    assert_eq!(
        scalar_i64(&db.pool, "select sum(credits)::int8 from users").await,
        100
    );

    // One user, ten tasks, an unlimited coupon: one redemption.
    let open = coupons::create(&db.tool, &operator(), credits_coupon("OPEN", "7", None))
        .await
        .expect("create");
    let who = users[0];
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let pool = ops.next();
            tokio::spawn(async move {
                coupons::redeem(&pool, &operator(), "OPEN", &UserRef::Id(who)).await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => ok += 1,
            Err(Error::Refused(Refusal::CouponAlreadyRedeemed)) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(ok, 1);
    let detail = coupons::show(&db.tool, "OPEN").await.expect("show");
    assert_eq!((detail.coupon.used_count, detail.redemptions_total), (1, 1));
    assert_eq!(detail.coupon.id, open.id);
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

/// Runs the real binary against the test database.
fn creditdesk(db: &TestDb, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), &db.url, "test", args)
}

#[tokio::test]
async fn bad_input_through_the_binary_exits_with_the_right_code_and_writes_nothing() {
    let db = TestDb::new().await;
    let ana = user_with_credits(&db.tool, "ana@example.com", 0).await;
    coupons::create(&db.tool, &operator(), credits_coupon("REAL-1", "5", None))
        .await
        .expect("create");
    let before = footprint(&db.pool).await;
    let ana_id = ana.to_string();
    let create = |extra: &[&str]| {
        let mut args = vec!["coupons", "create", "--code", "NEW-1", "--type", "credits"];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, &[i32])> = vec![
        (
            [
                "coupons",
                "redeem",
                "'; drop table users; --",
                "--user",
                "1",
            ]
            .map(String::from)
            .to_vec(),
            &[2, 3],
        ),
        (
            [
                "coupons",
                "redeem",
                "REAL-1",
                "--user",
                "'; drop table users; --",
            ]
            .map(String::from)
            .to_vec(),
            &[2],
        ),
        (
            ["coupons", "redeem", "REAL-1", "--user", "99999999999"]
                .map(String::from)
                .to_vec(),
            &[2],
        ),
        (
            ["coupons", "redeem", "NOPE", "--user", &ana_id]
                .map(String::from)
                .to_vec(),
            &[3],
        ),
        (
            create(&["--value", "5", "--description", "bad\u{7}text"]),
            &[2],
        ),
        (
            create(&["--value", "5", "--description", "line\nbreak"]),
            &[2],
        ),
        (create(&["--value", "abc"]), &[2]),
        (create(&["--value", "-5"]), &[2]),
        (create(&["--value", "0"]), &[2]),
        (create(&["--value", "2.5"]), &[2]),
        (create(&["--value", "5", "--max-uses", "0"]), &[2]),
        (create(&["--value", "5", "--max-uses", "99999999999"]), &[2]),
        (create(&["--value", "5", "--max-uses", "-3"]), &[2]),
        (
            create(&[
                "--value",
                "5",
                "--valid-from",
                "2026-02-01",
                "--valid-until",
                "2026-01-01",
            ]),
            &[2],
        ),
        (create(&["--value", "5", "--valid-until", "tomorrow"]), &[2]),
        (
            [
                "coupons",
                "create",
                "--code",
                "bad code!",
                "--type",
                "credits",
                "--value",
                "5",
            ]
            .map(String::from)
            .to_vec(),
            &[2],
        ),
        (
            [
                "coupons", "create", "--code", "REAL1", "--type", "credits", "--value", "5",
            ]
            .map(String::from)
            .to_vec(),
            &[3],
        ),
        (
            [
                "coupons", "create", "--code", "X-1", "--type", "free", "--value", "5",
            ]
            .map(String::from)
            .to_vec(),
            &[2],
        ),
        (
            ["coupons", "deactivate", "REAL-1", "--reason", "   "]
                .map(String::from)
                .to_vec(),
            &[2],
        ),
    ];
    for (args, expected) in &cases {
        let CliRun { code, stderr, .. } =
            creditdesk(&db, &args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            expected.contains(&code),
            "{args:?}: exit {code}, stderr {stderr}"
        );
        assert!(!stderr.trim().is_empty(), "{args:?}: says why");
        assert!(
            !stderr.contains('\u{7}') && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(footprint(&db.pool).await, before);
    assert_eq!(scalar_i64(&db.pool, "select count(*) from users").await, 1);

    // Every field error at once.
    let out = creditdesk(
        &db,
        &[
            "coupons",
            "create",
            "--code",
            "bad code",
            "--type",
            "percentage",
            "--value",
            "150",
            "--max-uses",
            "0",
            "--description",
            "x\u{1b}y",
        ],
    );
    assert_eq!(out.code, 2);
    let stderr = out.stderr;
    for field in ["code:", "value:", "max_uses:", "description:"] {
        assert!(stderr.contains(field), "{field} in {stderr}");
    }

    // And the happy path, as JSON.
    let out = creditdesk(
        &db,
        &[
            "coupons",
            "create",
            "--generate",
            "--type",
            "credits",
            "--value",
            "15",
            "--max-uses",
            "3",
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let code = created["code"].as_str().expect("code").to_owned();
    let out = creditdesk(
        &db,
        &["coupons", "redeem", &code, "--user", "ANA@example.com"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("balance 0 -> 15"));
    let out = creditdesk(&db, &["coupons", "list", "--csv"]);
    assert_eq!(out.code, 0);
    // One value per field: the use count and its limit apart.
    assert!(
        out.stdout
            .starts_with("id,code,type,value,used,max_uses,valid_from")
    );
    let out = creditdesk(&db, &["coupons", "show", &code.to_lowercase()]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("ana@example.com"));
    let out = creditdesk(&db, &["coupons", "deactivate", &code, "--reason", "done"]);
    assert_eq!(out.code, 0);
    let out = creditdesk(&db, &["coupons", "deactivate", &code, "--reason", "again"]);
    assert_eq!(out.code, 3);
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}
