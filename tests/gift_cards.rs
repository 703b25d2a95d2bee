//! Gift cards against real PostgreSQL: issuing (one, thousands, from a
//! pack), masked reads, audited reveals, revocation and redemption rules,
//! one card redeemed by many connections at once, and bad input through the
//! real binary.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use creditdesk::db::gift_cards::{
    self, CardValue, GiftCardFilter, IssueRequest, IssuedCard, RecipientEmail,
};
use creditdesk::db::{Db, Mode, Target, credits};
use creditdesk::domain::Refusal;
use creditdesk::domain::codes::{GiftCardCode, lookup_key};
use creditdesk::domain::gift_card::GiftCardStatus;
use creditdesk::domain::role::Group;
use creditdesk::domain::user_ref::UserRef;
use creditdesk::error::Error;
use creditdesk::testing::{
    Applied, CliRun, TestDb, assert_no_panic_or_escape, operator, reason, refusal, run_cli,
    scalar_i64, set_setting, user,
};
use rust_decimal::Decimal;
use sqlx::{AssertSqlSafe, PgPool};

fn custom(credits: i32, cents: i64, count: u32) -> IssueRequest {
    IssueRequest {
        value: CardValue::Custom {
            credits,
            price: Decimal::new(cents, 2),
        },
        count,
        recipient: None,
        expires_at: None,
        reason: None,
    }
}

async fn issue_one(db: &Db, credits: i32) -> IssuedCard {
    let mut cards = gift_cards::issue(db, &operator(), &custom(credits, 999, 1))
        .await
        .applied()
        .expect("issue");
    cards.pop().expect("one card")
}

async fn exec(pool: &PgPool, sql: &str, id: i32) {
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .execute(pool)
        .await
        .expect(sql);
}

async fn add_packs(pool: &PgPool) {
    sqlx::raw_sql(
        r#"insert into credit_packs (name, credits, price) values ('Starter', 50, 9.99), ('Pro', 200, 29.99);
           insert into credit_packs (name, credits, price, "isActive") values ('Legacy', 10, 1.00, false);"#,
    )
    .execute(pool)
    .await
    .expect("packs");
}

/// Everything the database holds that a failed command must not have added.
async fn written(pool: &PgPool) -> (i64, i64, i64) {
    (
        scalar_i64(pool, "select count(*) from gift_cards").await,
        scalar_i64(pool, "select count(*) from admin_audit_log").await,
        scalar_i64(pool, "select count(*) from credit_history").await,
    )
}

#[tokio::test]
async fn issue_one_card_active_with_its_audit_row() {
    let db = TestDb::new().await;
    let expires = Utc::now() + Duration::days(30);
    let req = IssueRequest {
        recipient: Some(RecipientEmail::parse("Zoe@Example.com").expect("email")),
        expires_at: Some(expires),
        reason: Some(reason("spring campaign")),
        ..custom(100, 950, 1)
    };
    let cards = gift_cards::issue(&db.tool, &operator(), &req)
        .await
        .applied()
        .expect("issue");
    assert_eq!(cards.len(), 1);
    let card = &cards[0];
    assert_eq!(
        GiftCardCode::parse(&card.code).expect("format").as_str(),
        card.code
    );
    assert_eq!(card.code.len(), 24);
    assert_eq!((card.credits, card.price), (100, Decimal::new(950, 2)));
    let row: (String, i32, Decimal, Option<String>, i64) = sqlx::query_as(
        r#"select status::text, credits, price, "recipientEmail",
                  (extract(epoch from "expiresAt") * 1000000)::int8 from gift_cards where id = $1"#,
    )
    .bind(card.id)
    .fetch_one(&db.pool)
    .await
    .expect("row");
    assert_eq!(row.0, "active");
    assert_eq!((row.1, row.2), (100, Decimal::new(950, 2)));
    assert_eq!(row.3.as_deref(), Some("zoe@example.com"));
    assert_eq!(Some(row.4), card.expires_at.map(|t| t.timestamp_micros()));

    let audit: (String, String, Option<String>, serde_json::Value) = sqlx::query_as(
        r#"select actor, "entityId", reason, details from admin_audit_log where action = 'gift_card.issue'"#,
    )
    .fetch_one(&db.pool)
    .await
    .expect("one audit row");
    assert_eq!(audit.0, "test-ops");
    assert_eq!(audit.1, card.id.to_string());
    assert_eq!(audit.2.as_deref(), Some("spring campaign"));
    assert_eq!(audit.3["count"], 1);
    assert_eq!(audit.3["credits"], 100);
    assert_eq!(audit.3["recipient"], "zoe@example.com");
    let text = audit.3.to_string();
    assert!(!text.contains(&card.code) && !text.contains(&lookup_key(&card.code)));
}

#[tokio::test]
async fn issue_ten_thousand_in_one_go_with_unique_codes_and_one_audit_row() {
    let db = TestDb::new().await;
    // 250,000 credits in all: above the four-eyes threshold, which is not
    // what this test is about.
    set_setting(&db.pool, "approval.gift_card_issue_credits", 1_000_000).await;
    let cards = gift_cards::issue(&db.tool, &operator(), &custom(25, 500, 10_000))
        .await
        .applied()
        .expect("issue");
    assert_eq!(cards.len(), 10_000);
    let keys: HashSet<String> = cards.iter().map(|c| lookup_key(&c.code)).collect();
    assert_eq!(keys.len(), 10_000);
    assert!(cards.iter().all(|c| GiftCardCode::parse(&c.code).is_ok()));
    assert!(cards.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from gift_cards where status = 'active' and credits = 25"
        )
        .await,
        10_000
    );
    let details: serde_json::Value =
        sqlx::query_scalar("select details from admin_audit_log where action = 'gift_card.issue'")
            .fetch_one(&db.pool)
            .await
            .expect("exactly one audit row");
    assert_eq!(details["count"], 10_000);
    assert_eq!(details["first_id"], cards[0].id);
    assert_eq!(details["last_id"], cards[9_999].id);
    // Compact: ids as a range (they are consecutive here), and no codes.
    assert!(details.get("ids").is_none());
    assert!(details.to_string().len() < 1_000);
}

#[tokio::test]
async fn issue_from_a_pack_in_any_case() {
    let db = TestDb::new().await;
    add_packs(&db.pool).await;
    let req = IssueRequest {
        value: CardValue::Pack("pRO".into()),
        ..custom(1, 0, 3)
    };
    let cards = gift_cards::issue(&db.tool, &operator(), &req)
        .await
        .applied()
        .expect("issue");
    assert_eq!(cards.len(), 3);
    let pro: i32 = sqlx::query_scalar("select id from credit_packs where name = 'Pro'")
        .fetch_one(&db.pool)
        .await
        .expect("pack");
    for c in &cards {
        assert_eq!(
            (c.credits, c.price, c.credit_pack_id),
            (200, Decimal::new(2999, 2), Some(pro))
        );
    }
    assert_eq!(
        scalar_i64(&db.pool, r#"select count(*) from gift_cards where "creditPackId" is not null and credits = 200 and price = 29.99"#).await,
        3
    );
    let shown = gift_cards::show(&db.tool, &cards[0].code)
        .await
        .expect("show");
    assert_eq!(shown.pack_name.as_deref(), Some("Pro"));
    let packs = gift_cards::packs(&db.tool).await.expect("packs");
    assert_eq!(packs.len(), 3);
    assert!(!packs.last().expect("a pack").is_active);
}

#[tokio::test]
async fn unknown_and_inactive_packs_are_refused_naming_the_active_ones() {
    let db = TestDb::new().await;
    add_packs(&db.pool).await;
    let before = written(&db.pool).await;
    for (name, inactive) in [("legacy", true), ("Platinum", false)] {
        let req = IssueRequest {
            value: CardValue::Pack(name.into()),
            ..custom(1, 0, 1)
        };
        let e = gift_cards::issue(&db.tool, &operator(), &req)
            .await
            .applied()
            .expect_err(name);
        let r = refusal(e);
        assert!(
            matches!(&r, Refusal::CreditPackUnavailable { inactive: i, .. } if *i == inactive),
            "{r:?}"
        );
        let m = r.to_string();
        assert!(m.contains("choose Starter, Pro"), "{m}");
    }
    assert_eq!(written(&db.pool).await, before);
}

#[tokio::test]
async fn lists_and_show_mask_codes_and_filter() {
    let db = TestDb::new().await;
    let mine = gift_cards::issue(
        &db.tool,
        &operator(),
        &IssueRequest {
            recipient: Some(RecipientEmail::parse("ana@example.com").expect("email")),
            ..custom(10, 100, 2)
        },
    )
    .await
    .applied()
    .expect("issue");
    let other = issue_one(&db.tool, 20).await;
    let all = gift_cards::list(&db.tool, &GiftCardFilter::default())
        .await
        .expect("list");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].id, other.id, "newest first");
    let full_codes: Vec<&str> = mine
        .iter()
        .chain([&other])
        .map(|c| c.code.as_str())
        .collect();
    let listed = serde_json::to_string(&all).expect("json") + &format!("{all:?}");
    for code in &full_codes {
        assert!(!listed.contains(code) && !listed.contains(&lookup_key(code)));
        assert!(!listed.contains(&code[..9]), "no unmasked prefix");
    }
    for c in &all {
        let full = full_codes
            .iter()
            .find(|f| f.ends_with(&c.code_masked[c.code_masked.len() - 4..]))
            .expect("tail matches");
        assert_eq!(c.code_masked, creditdesk::domain::codes::mask_code(full));
    }

    let by_recipient = gift_cards::list(
        &db.tool,
        &GiftCardFilter {
            recipient: Some(RecipientEmail::parse("ANA@example.com").expect("email")),
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(by_recipient.len(), 2);
    let tail = &other.code[other.code.len() - 4..];
    let by_suffix = gift_cards::list(
        &db.tool,
        &GiftCardFilter {
            code_suffix: Some(gift_cards::parse_code_suffix(&tail.to_lowercase()).expect("suffix")),
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert!(by_suffix.iter().any(|c| c.id == other.id));
    let page = gift_cards::list(
        &db.tool,
        &GiftCardFilter {
            limit: 2,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    let rest = gift_cards::list(
        &db.tool,
        &GiftCardFilter {
            before: page.last().map(|c| c.cursor()),
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!((page.len(), rest.len()), (2, 1));

    // show finds a code typed any way: lower case, no dashes, spaces, O for 0.
    let code = &other.code;
    let typed = [
        code.to_lowercase(),
        lookup_key(code),
        code.replace('-', " "),
        code.replace('0', "O"),
    ];
    for t in typed {
        let shown = gift_cards::show(&db.tool, &t).await.expect("show");
        assert_eq!(shown.id, other.id, "{t}");
        let text = serde_json::to_string(&shown).expect("json") + &format!("{shown:?}");
        assert!(!text.contains(code.as_str()) && !text.contains(&lookup_key(code)));
    }
}

#[tokio::test]
async fn status_filter_uses_the_status_as_shown() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Admin, 4).await;
    let fresh = issue_one(&db.tool, 5).await;
    let stale = issue_one(&db.tool, 5).await;
    let revoked = issue_one(&db.tool, 5).await;
    exec(
        &db.pool,
        r#"update gift_cards set "expiresAt" = now() - interval '1 day' where id = $1"#,
        stale.id,
    )
    .await;
    gift_cards::revoke(&db.tool, &operator(), &revoked.code, &reason("test"))
        .await
        .expect("revoke");
    let ids = |status| {
        let pool = ops.next();
        async move {
            gift_cards::list(
                &pool,
                &GiftCardFilter {
                    status: Some(status),
                    ..Default::default()
                },
            )
            .await
            .expect("list")
        }
    };
    let expired = ids(GiftCardStatus::Expired).await;
    assert_eq!(expired.iter().map(|c| c.id).collect::<Vec<_>>(), [stale.id]);
    assert_eq!(
        (expired[0].status, expired[0].stored_status),
        (GiftCardStatus::Expired, GiftCardStatus::Active)
    );
    let active = ids(GiftCardStatus::Active).await;
    assert_eq!(active.iter().map(|c| c.id).collect::<Vec<_>>(), [fresh.id]);
    let gone = ids(GiftCardStatus::Revoked).await;
    assert_eq!(gone.iter().map(|c| c.id).collect::<Vec<_>>(), [revoked.id]);
    let shown = gift_cards::show(&db.tool, &stale.code).await.expect("show");
    assert_eq!(shown.status, GiftCardStatus::Expired);
}

#[tokio::test]
async fn reveal_is_audited_and_refused_read_only() {
    let db = TestDb::new().await;
    let card = issue_one(&db.tool, 5).await;
    let full = gift_cards::reveal(
        &db.tool,
        &operator(),
        &lookup_key(&card.code).to_lowercase(),
    )
    .await
    .expect("reveal");
    assert_eq!(full, card.code);
    let (entity, details): (String, serde_json::Value) = sqlx::query_as(
        r#"select "entityId", details from admin_audit_log where action = 'gift_card.reveal'"#,
    )
    .fetch_one(&db.pool)
    .await
    .expect("audit row");
    assert_eq!(entity, card.id.to_string());
    assert!(!details.to_string().contains(&card.code));

    let read_only = Target::parse(&db.url)
        .expect("url")
        .connect(
            Mode {
                read_only: true,
                ..Mode::default()
            },
            2,
        )
        .await
        .expect("read-only pool");
    let e = gift_cards::reveal(&read_only, &operator(), &card.code)
        .await
        .expect_err("read-only");
    assert_eq!(refusal(e), Refusal::ReadOnly);
    // Reading masked cards still works read-only.
    assert!(gift_cards::show(&read_only, &card.code).await.is_ok());
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'gift_card.reveal'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn revoke_pending_and_active_but_not_redeemed_or_twice() {
    let db = TestDb::new().await;
    let uid = user(&db.pool, "ana@example.com").await;
    let pending = issue_one(&db.tool, 5).await;
    exec(
        &db.pool,
        "update gift_cards set status = 'pending' where id = $1",
        pending.id,
    )
    .await;
    let active = issue_one(&db.tool, 5).await;
    for card in [&pending, &active] {
        let done = gift_cards::revoke(&db.tool, &operator(), &card.code, &reason("fraud report"))
            .await
            .expect("revoke");
        assert_eq!(done.status, GiftCardStatus::Revoked);
        assert_eq!(done.revoked_by.as_deref(), Some("test-ops"));
        assert_eq!(done.revoke_reason.as_deref(), Some("fraud report"));
        assert!(done.revoked_at.is_some());
    }
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'gift_card.revoke'"
        )
        .await,
        2
    );

    let before = written(&db.pool).await;
    let e = gift_cards::revoke(&db.tool, &operator(), &active.code, &reason("again"))
        .await
        .expect_err("twice");
    assert_eq!(
        refusal(e),
        Refusal::GiftCardNotRevocable {
            status: "revoked".into()
        }
    );

    let redeemed = issue_one(&db.tool, 5).await;
    gift_cards::redeem(&db.tool, &operator(), &redeemed.code, &UserRef::Id(uid))
        .await
        .expect("redeem");
    let before_redeemed = written(&db.pool).await;
    let e = gift_cards::revoke(&db.tool, &operator(), &redeemed.code, &reason("oops"))
        .await
        .expect_err("redeemed");
    let m = refusal(e).to_string();
    assert!(m.contains("use a balance adjustment"), "{m}");
    assert_eq!(written(&db.pool).await, before_redeemed);
    assert_eq!(before.0 + 1, before_redeemed.0);
}

#[tokio::test]
async fn redeem_books_credits_linked_to_the_card() {
    let db = TestDb::new().await;
    let uid = user(&db.pool, "Bo@Example.com").await;
    let card = issue_one(&db.tool, 120).await;
    let done = gift_cards::redeem(
        &db.tool,
        &operator(),
        &card.code.to_lowercase(),
        &UserRef::Email("bo@example.com".into()),
    )
    .await
    .expect("redeem");
    assert_eq!(
        (
            done.user_id,
            done.credits,
            done.old_balance,
            done.new_balance
        ),
        (uid, 120, 0, 120)
    );
    assert_eq!(done.card.status, GiftCardStatus::Redeemed);
    assert_eq!(done.card.redeemed_by_user_id, Some(uid));
    assert!(done.card.redeemed_at.is_some());
    let (kind, amount, link, description): (String, i32, Option<i32>, String) = sqlx::query_as(
        r#"select type::text, amount, "relatedGiftCardId", description from credit_history where id = $1"#,
    )
    .bind(done.entry_id)
    .fetch_one(&db.pool)
    .await
    .expect("entry");
    assert_eq!(
        (kind.as_str(), amount, link),
        ("gift_card", 120, Some(card.id))
    );
    assert!(
        description.contains(&done.card.code_masked),
        "{description}"
    );
    assert!(!description.contains(&card.code) && !description.contains(&lookup_key(&card.code)));
    assert_eq!(
        scalar_i64(&db.pool, "select credits::int8 from users").await,
        120
    );
    let details: serde_json::Value =
        sqlx::query_scalar("select details from admin_audit_log where action = 'gift_card.redeem'")
            .fetch_one(&db.pool)
            .await
            .expect("audit");
    assert_eq!(details["entry_id"], done.entry_id);
    assert!(!details.to_string().contains(&card.code));
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn redeem_refusals_write_nothing() {
    let db = TestDb::new().await;
    let uid = user(&db.pool, "cy@example.com").await;
    let someone = UserRef::Id(uid);
    let pending = issue_one(&db.tool, 5).await;
    exec(
        &db.pool,
        "update gift_cards set status = 'pending' where id = $1",
        pending.id,
    )
    .await;
    let stale = issue_one(&db.tool, 5).await;
    exec(
        &db.pool,
        r#"update gift_cards set "expiresAt" = now() - interval '1 second' where id = $1"#,
        stale.id,
    )
    .await;
    let revoked = issue_one(&db.tool, 5).await;
    gift_cards::revoke(&db.tool, &operator(), &revoked.code, &reason("test"))
        .await
        .expect("revoke");
    let redeemed = issue_one(&db.tool, 5).await;
    gift_cards::redeem(&db.tool, &operator(), &redeemed.code, &someone)
        .await
        .expect("first redemption");
    let fine = issue_one(&db.tool, 5).await;

    let before = written(&db.pool).await;
    let balance = scalar_i64(&db.pool, "select credits::int8 from users").await;
    type Expect = fn(&Refusal) -> bool;
    let cases: Vec<(&str, UserRef, Expect)> = vec![
        (&pending.code, someone.clone(), |r| {
            *r == Refusal::GiftCardPending
        }),
        (&stale.code, someone.clone(), |r| {
            matches!(
                r,
                Refusal::GiftCardExpired {
                    expires_at: Some(_)
                }
            )
        }),
        (&revoked.code, someone.clone(), |r| {
            *r == Refusal::GiftCardRevoked
        }),
        (&redeemed.code, someone.clone(), |r| {
            *r == Refusal::GiftCardAlreadyRedeemed
        }),
        ("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ", someone.clone(), |r| {
            matches!(
                r,
                Refusal::NotFound {
                    what: "gift card",
                    ..
                }
            )
        }),
        ("'; drop table users; --", someone.clone(), |r| {
            matches!(
                r,
                Refusal::NotFound {
                    what: "gift card",
                    ..
                }
            )
        }),
        (&fine.code, UserRef::Id(999_999), |r| {
            matches!(r, Refusal::NotFound { what: "user", .. })
        }),
        (
            &fine.code,
            UserRef::Email("nobody@example.com".into()),
            |r| matches!(r, Refusal::NotFound { what: "user", .. }),
        ),
    ];
    for (code, who, expected) in cases {
        let e = gift_cards::redeem(&db.tool, &operator(), code, &who)
            .await
            .expect_err(code);
        let r = refusal(e);
        assert!(expected(&r), "{code}: {r:?}");
        assert_eq!(written(&db.pool).await, before, "{code}");
    }
    // The not-found message doesn't echo a full code.
    let e = gift_cards::redeem(&db.tool, &operator(), "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ABCD", &someone)
        .await
        .expect_err("unknown");
    let m = e.to_string();
    assert!(m.contains("ABCD") && !m.contains("ZZZZ"), "{m}");
    let e = gift_cards::redeem(&db.tool, &operator(), "AB\u{1b}[2J", &someone)
        .await
        .expect_err("control characters");
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    assert_eq!(
        scalar_i64(&db.pool, "select credits::int8 from users").await,
        balance
    );
    let statuses: Vec<String> =
        sqlx::query_scalar("select status::text from gift_cards order by id")
            .fetch_all(&db.pool)
            .await
            .expect("statuses");
    assert_eq!(
        statuses,
        ["pending", "active", "revoked", "redeemed", "active"]
    );
}

#[tokio::test]
async fn one_card_redeemed_by_twenty_connections_at_once_pays_once() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Admin, 4).await;
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(user(&db.pool, &format!("u{i}@example.com")).await);
    }
    let card = issue_one(&db.tool, 75).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let pool = ops.next();
        let code = card.code.clone();
        // Half the tasks for ten different users, half for the same one.
        let who = UserRef::Id(if i % 2 == 0 { users[i / 2] } else { users[0] });
        tasks.push(tokio::spawn(async move {
            gift_cards::redeem(&pool, &operator(), &code, &who).await
        }));
    }
    let mut wins = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(done) => wins.push(done),
            Err(e) => assert_eq!(refusal(e), Refusal::GiftCardAlreadyRedeemed),
        }
    }
    assert_eq!(wins.len(), 1);
    assert_eq!(
        scalar_i64(
            &db.pool,
            &format!(
                r#"select count(*) from credit_history where "relatedGiftCardId" = {}"#,
                card.id
            )
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select coalesce(sum(credits), 0)::int8 from users"
        )
        .await,
        75
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from admin_audit_log where action = 'gift_card.redeem'"
        )
        .await,
        1
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

#[tokio::test]
async fn racing_revocations_and_redemptions_end_in_exactly_one_state() {
    let db = TestDb::new().await;
    let ops = db.logins(Group::Admin, 4).await;
    let uid = user(&db.pool, "race@example.com").await;
    let card = issue_one(&db.tool, 30).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let pool = ops.next();
        let code = card.code.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                gift_cards::redeem(&pool, &operator(), &code, &UserRef::Id(uid))
                    .await
                    .map(|_| "redeemed")
            } else {
                gift_cards::revoke(&pool, &operator(), &code, &reason("race"))
                    .await
                    .map(|_| "revoked")
            }
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        if let Ok(what) = t.await.expect("task") {
            outcomes.push(what);
        }
    }
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let status: String = sqlx::query_scalar("select status::text from gift_cards")
        .fetch_one(&db.pool)
        .await
        .expect("status");
    assert_eq!(status, outcomes[0]);
    let entries = scalar_i64(&db.pool, "select count(*) from credit_history").await;
    assert_eq!(entries, i64::from(status == "redeemed"));
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
}

// ---------------------------------------------------------------------------
// The real binary
// ---------------------------------------------------------------------------

/// Runs the real binary against the test database.
fn run(db: &TestDb, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), &db.url, "test", args)
}

#[tokio::test]
async fn bad_input_exits_2_or_3_and_writes_nothing() {
    let db = TestDb::new().await;
    add_packs(&db.pool).await;
    let uid = user(&db.pool, "ana@example.com").await.to_string();
    let card = issue_one(&db.tool, 5).await;
    let before = written(&db.pool).await;
    let cases: Vec<Vec<&str>> = vec![
        vec!["issue", "--credits", "5", "--price", "1", "--count", "0"],
        vec![
            "issue",
            "--credits",
            "5",
            "--price",
            "1",
            "--count",
            "10001",
        ],
        vec!["issue", "--credits", "5", "--price", "1", "--count", "-3"],
        vec![
            "issue",
            "--credits",
            "5",
            "--price",
            "1",
            "--count",
            "99999999999999999999",
        ],
        vec!["issue", "--credits", "abc", "--price", "1"],
        vec!["issue", "--credits", "0", "--price", "1"],
        vec!["issue", "--credits", "5", "--price", "-1"],
        vec!["issue", "--credits", "5", "--price", "1.234"],
        vec!["issue", "--credits", "5", "--price", "NaN"],
        vec!["issue", "--credits", "5"],
        vec!["issue", "--credits", "5", "--price", "1", "--pack", "Pro"],
        vec!["issue", "--pack", "Pro", "--price", "1"],
        vec!["issue"],
        vec!["issue", "--pack", "Nope"],
        vec!["issue", "--pack", "Legacy"],
        vec!["issue", "--pack", "'; drop table gift_cards; --"],
        vec!["issue", "--pack", "Pro", "--expires-in", "3x"],
        vec!["issue", "--pack", "Pro", "--expires-in", "-5d"],
        vec!["issue", "--pack", "Pro", "--expires-at", "2001-01-01"],
        vec!["issue", "--pack", "Pro", "--expires-at", "tomorrow"],
        vec![
            "issue",
            "--pack",
            "Pro",
            "--expires-at",
            "+1d",
            "--expires-in",
            "1d",
        ],
        vec!["issue", "--pack", "Pro", "--recipient", "not-an-email"],
        vec!["issue", "--pack", "Pro", "--recipient", "a@b\u{1b}[2J"],
        vec!["issue", "--pack", "Pro", "--reason", "bad\u{7}reason"],
        vec!["show", "'; drop table users; --", "--reveal"],
        vec!["show", ""],
        vec!["redeem", "'; drop table users; --", "--user", &uid],
        vec!["redeem", &card.code, "--user", "nobody"],
        vec!["redeem", &card.code, "--user", "0"],
        vec!["redeem", &card.code, "--user", "424242"],
        vec!["redeem", "AB\u{1b}CD", "--user", &uid],
        vec!["revoke", &card.code, "--reason", "line\nbreak"],
        vec!["revoke", &card.code, "--reason", "esc\u{1b}[31m"],
        vec!["revoke", &card.code, "--reason", "   "],
        vec!["revoke", "'; drop table users; --", "--reason", "x"],
        vec!["list", "--status", "void"],
        vec!["list", "--limit", "0"],
        vec!["list", "--code-suffix", "%"],
        vec!["list", "--recipient", "'; drop table users; --"],
    ];
    for case in cases {
        let mut args = vec!["gift-cards"];
        args.extend(&case);
        let CliRun { code, stderr, .. } = run(&db, &args);
        assert!(matches!(code, 2 | 3), "{case:?}: exit {code}\n{stderr}");
        assert_eq!(written(&db.pool).await, before, "{case:?}");
        assert_no_panic_or_escape(&stderr, &case);
    }
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from users").await,
        1,
        "users survived"
    );
}

#[tokio::test]
async fn the_binary_shows_full_codes_only_when_issuing_or_revealing() {
    let db = TestDb::new().await;
    let out = run(
        &db,
        &[
            "gift-cards",
            "issue",
            "--credits",
            "40",
            "--price",
            "4.99",
            "--count",
            "3",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let printed = out.stdout;
    let codes: Vec<String> = sqlx::query_scalar("select code from gift_cards order by id")
        .fetch_all(&db.pool)
        .await
        .expect("codes");
    assert_eq!(codes.len(), 3);
    for c in &codes {
        assert!(printed.contains(c.as_str()), "issue prints {c}");
    }
    for format in [&[][..], &["--json"], &["--csv"]] {
        let mut args = vec!["gift-cards", "list"];
        args.extend(format);
        let listed = run(&db, &args).stdout;
        assert!(listed.contains(&codes[0][20..]), "{listed}");
        let mut args = vec!["gift-cards", "show", &codes[0]];
        args.extend(format);
        let shown = run(&db, &args).stdout;
        for text in [&listed, &shown] {
            for c in &codes {
                assert!(!text.contains(c.as_str()) && !text.contains(&lookup_key(c)));
                assert!(!text.contains(&c[..9]), "{text}");
            }
        }
    }
    let revealed = run(
        &db,
        &["gift-cards", "show", &codes[1].to_lowercase(), "--reveal"],
    );
    assert_eq!(revealed.code, 0);
    assert!(revealed.stdout.contains(&codes[1]));
    let refused = run(
        &db,
        &["--read-only", "gift-cards", "show", &codes[1], "--reveal"],
    );
    assert_eq!(refused.code, 3);
    assert!(!refused.stdout.contains(&codes[1]));
    let json = run(
        &db,
        &[
            "--json",
            "gift-cards",
            "issue",
            "--credits",
            "1",
            "--price",
            "0",
        ],
    );
    let issued: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(issued.as_array().map(Vec::len), Some(1));
    assert!(
        GiftCardCode::parse(issued[0]["code"].as_str().expect("code")).is_ok(),
        "{issued}"
    );
    let csv = run(
        &db,
        &[
            "--csv",
            "gift-cards",
            "issue",
            "--credits",
            "1",
            "--price",
            "0",
            "--count",
            "2",
        ],
    )
    .stdout;
    assert!(csv.starts_with("id,code,credits,price,expires"), "{csv}");
    assert_eq!(csv.lines().count(), 3);
}

#[tokio::test]
async fn output_writes_a_private_new_file_and_never_overwrites() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("creditdesk-gc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("codes.csv");
    let _ = std::fs::remove_file(&path);
    let p = path.to_str().expect("utf-8 path");
    let out = run(
        &db,
        &[
            "gift-cards",
            "issue",
            "--credits",
            "10",
            "--price",
            "1",
            "--count",
            "5",
            "--output",
            p,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let codes: Vec<String> = sqlx::query_scalar("select code from gift_cards order by id")
        .fetch_all(&db.pool)
        .await
        .expect("codes");
    let text = std::fs::read_to_string(&path).expect("file");
    assert_eq!(text.lines().count(), 6);
    for c in &codes {
        assert!(text.contains(c.as_str()));
        assert!(
            !out.stdout.contains(c.as_str()),
            "codes go to the file only"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = written(&db.pool).await;
    let again = run(
        &db,
        &[
            "gift-cards",
            "issue",
            "--credits",
            "10",
            "--price",
            "1",
            "--output",
            p,
        ],
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"));
    assert_eq!(written(&db.pool).await, before);
    assert_eq!(std::fs::read_to_string(&path).expect("file"), text);
    // A refused issue leaves no file behind.
    let other = dir.join("refused.csv");
    let refused = run(
        &db,
        &[
            "gift-cards",
            "issue",
            "--pack",
            "Nope",
            "--output",
            other.to_str().expect("path"),
        ],
    );
    assert_eq!(refused.code, 3);
    assert!(!other.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
