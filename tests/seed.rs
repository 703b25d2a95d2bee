//! The demo and scale generator: everything it loads obeys the rules the
//! tool enforces, so the demo shows what production looks like.

use creditdesk::db::{credits, seed};
use creditdesk::testing::{TestDb, scalar_i64};

/// Each query counts rows that break a rule; all must be zero.
const BROKEN_RULES: &[(&str, &str)] = &[
    (
        "balance = ledger sum",
        "select count(*) from users u left join (select \"userId\", sum(amount) s from credit_history group by 1) l on l.\"userId\" = u.id where u.credits <> coalesce(l.s, 0)",
    ),
    (
        "running balance never negative",
        "select count(*) from (select sum(amount) over (partition by \"userId\" order by \"createdAt\", id) r from credit_history) x where r < 0",
    ),
    (
        "one refund per batch",
        "select count(*) from (select \"relatedBatchId\" from credit_history where type = 'refund' group by 1 having count(*) > 1) x",
    ),
    (
        "refund within the charge, failed batches only",
        "select count(*) from credit_history r join photo_generation_batches b on b.id = r.\"relatedBatchId\" where r.type = 'refund' and (r.amount > b.\"creditsUsed\" or b.status <> 'failed')",
    ),
    (
        "one generation charge per batch equal to creditsUsed",
        "select count(*) from photo_generation_batches b left join (select \"relatedBatchId\" id, count(*) n, sum(-amount) s from credit_history where type = 'generation' group by 1) g on g.id = b.id where g.n is distinct from 1 or g.s <> b.\"creditsUsed\"",
    ),
    (
        "each entry type carries its link and sign",
        "select count(*) from credit_history where (type = 'purchase' and (\"relatedTransactionId\" is null or amount <= 0)) or (type = 'gift_card' and (\"relatedGiftCardId\" is null or amount <= 0)) or (type = 'coupon' and (\"relatedCouponId\" is null or amount <= 0)) or (type = 'training' and (\"relatedModelId\" is null or amount >= 0)) or (type = 'generation' and (\"relatedBatchId\" is null or amount >= 0)) or (type = 'refund' and (\"relatedBatchId\" is null or amount <= 0))",
    ),
    (
        "usedCount = redemptions, within maxUses",
        "select count(*) from coupons c left join (select \"couponId\", count(*) n from coupon_redemptions group by 1) r on r.\"couponId\" = c.id where c.\"usedCount\" <> coalesce(r.n, 0) or c.\"usedCount\" > coalesce(c.\"maxUses\", c.\"usedCount\")",
    ),
    (
        "redemptions inside the coupon's validity",
        "select count(*) from coupon_redemptions r join coupons c on c.id = r.\"couponId\" where r.\"redeemedAt\" < c.\"validFrom\" or r.\"redeemedAt\" >= coalesce(c.\"validUntil\", 'infinity')",
    ),
    (
        "gift-card entries match a redeemed card",
        "select count(*) from credit_history h join gift_cards g on g.id = h.\"relatedGiftCardId\" where h.type = 'gift_card' and (g.status <> 'redeemed' or g.\"redeemedByUserId\" <> h.\"userId\" or g.credits <> h.amount)",
    ),
    (
        "imagesCount matches the training images",
        "select count(*) from models m left join (select \"modelId\", count(*) n from model_training_images group by 1) i on i.\"modelId\" = m.id where m.\"imagesCount\" is distinct from i.n",
    ),
    (
        "gift-card codes in the issued format",
        "select count(*) from gift_cards where code !~ '^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{4}(-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{4}){4}$'",
    ),
    (
        "no entry before sign-up or in the future",
        "select count(*) from credit_history h join users u on u.id = h.\"userId\" where h.\"createdAt\" < u.\"createdAt\" or h.\"createdAt\" > now()",
    ),
    (
        "the audit log is left empty",
        "select count(*) from admin_audit_log",
    ),
];

/// Each query counts what must exist; all must be positive.
const VARIETY: &[(&str, &str)] = &[
    (
        "the three packs",
        "select count(*) from credit_packs where name in ('Starter', 'Pro', 'Premium') having count(*) = 3",
    ),
    (
        "expired coupons",
        "select count(*) from coupons where \"validUntil\" < now()",
    ),
    (
        "exhausted coupons",
        "select count(*) from coupons where \"usedCount\" = \"maxUses\"",
    ),
    (
        "inactive coupons",
        "select count(*) from coupons where not \"isActive\"",
    ),
    (
        "every coupon type",
        "select count(distinct \"discountType\") from coupons having count(distinct \"discountType\") = 3",
    ),
    (
        "every gift-card status",
        "select count(distinct status) from gift_cards having count(distinct status) = 5",
    ),
    (
        "active cards past their date",
        "select count(*) from gift_cards where status = 'active' and \"expiresAt\" < now()",
    ),
    (
        "batches stuck for hours",
        "select count(*) from photo_generation_batches where status = 'generating' and \"createdAt\" < now() - interval '1 hour'",
    ),
    (
        "failed batches",
        "select count(*) from photo_generation_batches where status = 'failed'",
    ),
    (
        "photos with their options",
        "select count(*) from photos where \"aspectRatio\" is not null and jsonb_typeof(styles) = 'array'",
    ),
    (
        "every ledger type",
        "select count(distinct type) from credit_history having count(distinct type) = 7",
    ),
];

#[tokio::test]
async fn the_generated_data_obeys_every_rule_and_shows_every_case() {
    let db = TestDb::new().await;
    let report = seed::seed(&db.pool, 500, &|_: &str| {})
        .await
        .expect("seed");
    assert_eq!(report.users, 500);
    for (rule, sql) in BROKEN_RULES {
        assert_eq!(scalar_i64(&db.pool, sql).await, 0, "{rule}");
    }
    for (case, sql) in VARIETY {
        let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_optional(&db.pool)
            .await
            .expect(case);
        assert!(found.unwrap_or(0) > 0, "{case}");
    }
    // A whale: the longest ledger is as long as there are users.
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from credit_history group by \"userId\" order by 1 desc limit 1"
        )
        .await,
        500
    );
    assert!(credits::verify(&db.tool).await.expect("verify").is_empty());
    // The serial sequences continue past the seeded rows.
    sqlx::query("insert into users (email) values ('after-seed@example.com')")
        .execute(&db.pool)
        .await
        .expect("a new user after the seed");
}

#[tokio::test]
async fn seed_refuses_a_database_that_has_users() {
    let db = TestDb::new().await;
    sqlx::query("insert into users (email) values ('someone@example.com')")
        .execute(&db.pool)
        .await
        .expect("user");
    let err = seed::seed(&db.pool, 10, &|_: &str| {})
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("already has 1 users"), "{err}");
    assert_eq!(scalar_i64(&db.pool, "select count(*) from users").await, 1);
}
