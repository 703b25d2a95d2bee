//! The migrations against real PostgreSQL: both install paths, every rule of
//! the seed and of schema.md, the delete rules, the audit log's append-only
//! guarantee and the opening balances.

use creditdesk::db;
use creditdesk::testing::{TestDb, scalar_i64};
use sqlx::{AssertSqlSafe, PgPool, Row};

/// Every table and column the seed names, under its exact name.
const SEED_COLUMNS: &[(&str, &[&str])] = &[
    (
        "models",
        &[
            "gender",
            "previewImageUrl",
            "trainingCreditsUsed",
            "imagesCount",
        ],
    ),
    (
        "model_training_images",
        &[
            "id",
            "modelId",
            "imageUrl",
            "imageOrder",
            "fileSize",
            "fileName",
            "createdAt",
        ],
    ),
    (
        "photos",
        &[
            "creditsUsed",
            "aspectRatio",
            "glasses",
            "hairColor",
            "hairStyle",
            "backgrounds",
            "styles",
            "referenceImageId",
            "downloadCount",
            "isFavorite",
            "generationBatchId",
        ],
    ),
    (
        "photo_generation_batches",
        &[
            "id",
            "userId",
            "modelId",
            "totalImagesGenerated",
            "creditsUsed",
            "aspectRatio",
            "glasses",
            "hairColor",
            "hairStyle",
            "backgrounds",
            "styles",
            "status",
            "createdAt",
            "completedAt",
        ],
    ),
    (
        "coupons",
        &[
            "id",
            "code",
            "description",
            "discountType",
            "discountValue",
            "maxUses",
            "usedCount",
            "validFrom",
            "validUntil",
            "isActive",
            "createdAt",
        ],
    ),
    (
        "coupon_redemptions",
        &[
            "id",
            "userId",
            "couponId",
            "creditsAwarded",
            "discountApplied",
            "transactionId",
            "redeemedAt",
        ],
    ),
    (
        "gift_cards",
        &[
            "id",
            "code",
            "purchasedByUserId",
            "purchasedByEmail",
            "recipientEmail",
            "creditPackId",
            "credits",
            "price",
            "status",
            "redeemedByUserId",
            "redeemedAt",
            "expiresAt",
            "transactionId",
            "createdAt",
            "revokedAt",
            "revokedBy",
            "revokeReason",
        ],
    ),
    (
        "credit_history",
        &[
            "id",
            "userId",
            "amount",
            "type",
            "description",
            "relatedTransactionId",
            "relatedPhotoId",
            "relatedModelId",
            "relatedGiftCardId",
            "relatedCouponId",
            "relatedBatchId",
            "createdAt",
        ],
    ),
    (
        "transactions",
        &["couponId", "giftCardId", "creditsAwarded"],
    ),
    (
        "admin_audit_log",
        &[
            "id",
            "actor",
            "action",
            "entityType",
            "entityId",
            "reason",
            "details",
            "createdAt",
        ],
    ),
];

/// (table, column, referenced table, ON DELETE rule as pg_constraint codes it)
const FOREIGN_KEYS: &[(&str, &str, &str, &str)] = &[
    ("model_training_images", "modelId", "models", "c"),
    ("photo_generation_batches", "userId", "users", "c"),
    ("photo_generation_batches", "modelId", "models", "n"),
    ("coupon_redemptions", "userId", "users", "c"),
    ("coupon_redemptions", "couponId", "coupons", "c"),
    ("coupon_redemptions", "transactionId", "transactions", "n"),
    ("gift_cards", "purchasedByUserId", "users", "n"),
    ("gift_cards", "creditPackId", "credit_packs", "n"),
    ("gift_cards", "redeemedByUserId", "users", "n"),
    ("gift_cards", "transactionId", "transactions", "n"),
    ("credit_history", "userId", "users", "c"),
    (
        "credit_history",
        "relatedTransactionId",
        "transactions",
        "n",
    ),
    ("credit_history", "relatedPhotoId", "photos", "n"),
    ("credit_history", "relatedModelId", "models", "n"),
    ("credit_history", "relatedGiftCardId", "gift_cards", "n"),
    ("credit_history", "relatedCouponId", "coupons", "n"),
    (
        "credit_history",
        "relatedBatchId",
        "photo_generation_batches",
        "n",
    ),
    (
        "photos",
        "generationBatchId",
        "photo_generation_batches",
        "n",
    ),
    ("photos", "referenceImageId", "example_images", "n"),
    ("photos", "userId", "users", "c"),
    ("photos", "modelId", "models", "n"),
    ("models", "userId", "users", "c"),
    ("transactions", "couponId", "coupons", "n"),
    ("transactions", "giftCardId", "gift_cards", "n"),
    ("transactions", "userId", "users", "n"),
    ("transactions", "creditPackId", "credit_packs", "n"),
];

async fn exec(pool: &PgPool, sql: &str) -> Result<(), String> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| {
            e.as_database_error()
                .and_then(|d| d.constraint().map(str::to_owned))
                .unwrap_or_else(|| e.to_string())
        })
}

/// A user, a model, an example image, a pack, a transaction, a batch, a photo.
const FIXTURE: &str = r#"
insert into users (id, email, name, credits) values (1, 'ana@example.com', 'Ana', 50), (2, 'bo@example.com', 'Bo', 0);
insert into credit_history ("userId", amount, type, description) values (1, 50, 'purchase', 'fixture');
insert into credit_packs (id, name, credits, price) values (1, 'Starter', 100, 9.99);
insert into models (id, "userId", name, status, gender, "imagesCount") values (1, 1, 'Ana 1', 'ready', 'mujer', 2);
insert into model_training_images ("modelId", "imageUrl", "imageOrder") values (1, 'https://x/1.jpg', 1), (1, 'https://x/2.jpg', 2);
insert into example_images (id, "imageUrl") values (1, 'https://x/e.jpg');
insert into transactions (id, "userId", "creditPackId", amount, currency, status) values (1, 1, 1, 9.99, 'USD', 'completed');
insert into photo_generation_batches (id, "userId", "modelId", "totalImagesGenerated", "creditsUsed", "aspectRatio", glasses)
  values (1, 1, 1, 4, 4, '1:1', 'no');
insert into photos (id, "userId", "modelId", "imageUrl", "generationBatchId", "referenceImageId", "aspectRatio")
  values (1, 1, 1, 'https://x/p.jpg', 1, 1, '1:1');
insert into coupons (id, code, "discountType", "discountValue", "maxUses") values (1, 'FREE10', 'credits', 10, 5);
insert into coupon_redemptions ("userId", "couponId", "creditsAwarded") values (1, 1, 10);
insert into gift_cards (id, code, credits, price, "purchasedByUserId") values (1, 'AAAA-BBBB-CCCC-DDDD-EEEE', 100, 9.99, 1);
do $$
declare t text;
begin
  foreach t in array array['users', 'credit_packs', 'models', 'example_images', 'transactions',
                           'photo_generation_batches', 'photos', 'coupons', 'gift_cards'] loop
    execute format('select setval(pg_get_serial_sequence(%L, ''id''), (select max(id) from %I))', t, t);
  end loop;
end $$;
"#;

#[tokio::test]
async fn fresh_install_has_every_seed_column_and_enum() {
    let db = TestDb::new().await;
    for (table, columns) in SEED_COLUMNS {
        for column in *columns {
            let found: bool = sqlx::query_scalar(
                "select exists (select 1 from information_schema.columns
                 where table_schema = 'public' and table_name = $1 and column_name = $2)",
            )
            .bind(table)
            .bind(column)
            .fetch_one(&db.pool)
            .await
            .expect("query");
            assert!(found, "missing column {table}.\"{column}\"");
        }
    }
    for (table, column, udt) in [
        ("coupons", "discountType", "coupon_discount_type"),
        ("gift_cards", "status", "gift_card_status"),
        ("credit_history", "type", "credit_history_type"),
    ] {
        let found: String = sqlx::query_scalar(
            "select udt_name::text from information_schema.columns
             where table_schema = 'public' and table_name = $1 and column_name = $2",
        )
        .bind(table)
        .bind(column)
        .fetch_one(&db.pool)
        .await
        .expect("query");
        assert_eq!(found, udt, "{table}.{column}");
    }
    let statuses: Vec<String> = sqlx::query_scalar(
        "select e.enumlabel::text from pg_enum e join pg_type t on t.oid = e.enumtypid
         where t.typname = 'gift_card_status' order by e.enumsortorder",
    )
    .fetch_all(&db.pool)
    .await
    .expect("query");
    assert_eq!(
        statuses,
        ["pending", "active", "redeemed", "expired", "revoked"]
    );
    let nullable: String = sqlx::query_scalar(
        "select is_nullable::text from information_schema.columns
         where table_name = 'photo_generation_batches' and column_name = 'modelId'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("query");
    assert_eq!(nullable, "YES", "a batch outlives its model");
}

#[tokio::test]
async fn every_foreign_key_has_its_delete_rule_and_an_index() {
    let db = TestDb::new().await;
    for (table, column, target, rule) in FOREIGN_KEYS {
        let row = sqlx::query(
            "select c.confrelid::regclass::text as target, c.confdeltype::text as rule
             from pg_constraint c
             join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
             where c.contype = 'f' and c.conrelid = $1::regclass and a.attname = $2",
        )
        .bind(format!("public.{table}"))
        .bind(column)
        .fetch_optional(&db.pool)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no foreign key on {table}.{column}"));
        assert_eq!(row.get::<String, _>("target"), *target, "{table}.{column}");
        assert_eq!(
            row.get::<String, _>("rule"),
            *rule,
            "{table}.{column} on delete"
        );
    }
    // Every foreign key in the schema, not only the listed ones, leads an index.
    let unindexed: Vec<String> = sqlx::query_scalar(
        "select c.conrelid::regclass::text || '.' || a.attname
         from pg_constraint c
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
         where c.contype = 'f' and c.connamespace = 'public'::regnamespace
           and not exists (select 1 from pg_index i
                           where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1])",
    )
    .fetch_all(&db.pool)
    .await
    .expect("query");
    assert!(
        unindexed.is_empty(),
        "foreign keys without an index: {unindexed:?}"
    );
}

#[tokio::test]
async fn every_value_list_and_range_refuses_a_bad_value() {
    let db = TestDb::new().await;
    exec(&db.pool, FIXTURE).await.expect("fixture");
    let cases: &[(&str, &str)] = &[
        (
            "update users set credits = -1 where id = 1",
            "users_credits_check",
        ),
        (
            "insert into users (email) values ('ANA@example.com')",
            "users_email_lower_idx",
        ),
        (
            "update models set gender = 'other' where id = 1",
            "models_gender_check",
        ),
        (
            "update models set \"imagesCount\" = 6 where id = 1",
            "models_imagesCount_check",
        ),
        (
            "update models set \"imagesCount\" = 0 where id = 1",
            "models_imagesCount_check",
        ),
        (
            "update models set status = 'done' where id = 1",
            "models_status_check",
        ),
        (
            "update models set \"trainingCreditsUsed\" = -1 where id = 1",
            "models_trainingCreditsUsed_check",
        ),
        (
            "update model_training_images set \"imageOrder\" = 6 where \"imageOrder\" = 1",
            "model_training_images_imageOrder_check",
        ),
        (
            "update model_training_images set \"imageOrder\" = 2 where \"imageOrder\" = 1",
            "model_training_images_modelId_imageOrder_key",
        ),
        (
            "update photos set \"aspectRatio\" = '4:3'",
            "photos_aspectRatio_check",
        ),
        (
            "update photos set glasses = 'maybe'",
            "photos_glasses_check",
        ),
        (
            "update photos set \"hairColor\" = 'green'",
            "photos_hairColor_check",
        ),
        (
            "update photos set \"hairStyle\" = 'bald'",
            "photos_hairStyle_check",
        ),
        (
            "update photos set backgrounds = '{\"a\": 1}'",
            "photos_backgrounds_check",
        ),
        (
            "update photos set styles = '\"cinematic\"'",
            "photos_styles_check",
        ),
        (
            "update photos set \"creditsUsed\" = -1",
            "photos_creditsUsed_check",
        ),
        (
            "update photos set \"downloadCount\" = -1",
            "photos_downloadCount_check",
        ),
        (
            "update photo_generation_batches set status = 'stuck'",
            "photo_generation_batches_status_check",
        ),
        (
            "update photo_generation_batches set \"aspectRatio\" = '2:1'",
            "photo_generation_batches_aspectRatio_check",
        ),
        (
            "update photo_generation_batches set glasses = 'si'",
            "photo_generation_batches_glasses_check",
        ),
        (
            "update photo_generation_batches set \"hairColor\" = 'blue'",
            "photo_generation_batches_hairColor_check",
        ),
        (
            "update photo_generation_batches set \"hairStyle\" = 'mohawk'",
            "photo_generation_batches_hairStyle_check",
        ),
        (
            "update photo_generation_batches set backgrounds = '1'",
            "photo_generation_batches_backgrounds_check",
        ),
        (
            "update photo_generation_batches set \"creditsUsed\" = -4",
            "photo_generation_batches_creditsUsed_check",
        ),
        (
            "update coupons set \"discountValue\" = 0",
            "coupons_discountValue_check",
        ),
        (
            "update coupons set \"discountValue\" = 10.5",
            "coupons_discountValue_check",
        ),
        (
            "update coupons set \"discountType\" = 'percentage', \"discountValue\" = 101",
            "coupons_discountValue_check",
        ),
        (
            "update coupons set \"maxUses\" = 0",
            "coupons_maxUses_check",
        ),
        (
            "update coupons set \"usedCount\" = 6",
            "coupons_usedCount_check",
        ),
        (
            "update coupons set \"usedCount\" = -1",
            "coupons_usedCount_check",
        ),
        (
            "update coupons set \"validUntil\" = \"validFrom\" - interval '1 day'",
            "coupons_validity_check",
        ),
        ("update coupons set code = 'free10b'", "coupons_code_check"),
        (
            "insert into coupons (code, \"discountType\", \"discountValue\") values ('FREE-10', 'credits', 5)",
            "coupons_code_lookup_key",
        ),
        (
            "insert into coupon_redemptions (\"userId\", \"couponId\") values (1, 1)",
            "coupon_redemptions_couponId_userId_key",
        ),
        (
            "update gift_cards set credits = 0",
            "gift_cards_credits_check",
        ),
        (
            "update gift_cards set price = -0.01",
            "gift_cards_price_check",
        ),
        (
            "update gift_cards set status = 'redeemed'",
            "gift_cards_redeemedAt_check",
        ),
        (
            "update gift_cards set status = 'revoked'",
            "gift_cards_revocation_check",
        ),
        (
            "update gift_cards set status = 'revoked', \"revokedAt\" = now(), \"revokedBy\" = ' ', \"revokeReason\" = 'x'",
            "gift_cards_revocation_check",
        ),
        (
            "insert into gift_cards (code, credits, price) values ('aaaa-bbbb-cccc-dddd-eeee', 1, 0)",
            "gift_cards_code_check",
        ),
        (
            "insert into gift_cards (code, credits, price) values ('AAAABBBBCCCCDDDDEEEE', 1, 0)",
            "gift_cards_code_lookup_key",
        ),
        (
            "insert into credit_history (\"userId\", amount, type) values (1, 0, 'admin_adjustment')",
            "credit_history_amount_check",
        ),
        (
            "insert into credit_history (\"userId\", amount, type, \"relatedBatchId\") values (1, 2, 'refund', 1), (1, 2, 'refund', 1)",
            "credit_history_one_refund_per_batch",
        ),
        (
            "update transactions set status = 'lost'",
            "transactions_status_check",
        ),
        (
            "update transactions set \"creditsAwarded\" = -5",
            "transactions_creditsAwarded_check",
        ),
        (
            "insert into credit_packs (name, credits, price) values ('Starter', 1, 1)",
            "credit_packs_name_key",
        ),
        (
            "insert into credit_packs (name, credits, price) values ('Zero', 0, 1)",
            "credit_packs_credits_check",
        ),
    ];
    for (sql, constraint) in cases {
        let err = exec(&db.pool, sql).await.expect_err(sql);
        assert_eq!(&err, constraint, "{sql}");
    }
    // Enum columns refuse strings outside their lists.
    for sql in [
        "update coupons set \"discountType\" = 'bogus'",
        "update gift_cards set status = 'lost'",
        "insert into credit_history (\"userId\", amount, type) values (1, 1, 'bonus')",
    ] {
        let err = exec(&db.pool, sql).await.expect_err(sql);
        assert!(err.contains("invalid input value for enum"), "{sql}: {err}");
    }
    // A legal revocation passes: the refusals above are the rules, not a broken table.
    exec(
        &db.pool,
        "update gift_cards set status = 'revoked', \"revokedAt\" = now(), \"revokedBy\" = 'ops', \"revokeReason\" = 'fraud'",
    )
    .await
    .expect("a complete revocation is allowed");
}

#[tokio::test]
async fn deleting_a_model_keeps_its_batches_and_photos() {
    let db = TestDb::new().await;
    exec(&db.pool, FIXTURE).await.expect("fixture");
    exec(&db.pool, "delete from models where id = 1")
        .await
        .expect("delete model");
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from photo_generation_batches where id = 1 and \"modelId\" is null"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from photos where \"modelId\" is null"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from model_training_images").await,
        0
    );
}

#[tokio::test]
async fn deleting_a_user_cascades_as_the_seed_says() {
    let db = TestDb::new().await;
    exec(&db.pool, FIXTURE).await.expect("fixture");
    exec(&db.pool, "update gift_cards set \"redeemedByUserId\" = 1")
        .await
        .expect("link");
    exec(&db.pool, "delete from users where id = 1")
        .await
        .expect("delete user");
    for table in [
        "models",
        "model_training_images",
        "photos",
        "photo_generation_batches",
        "coupon_redemptions",
        "credit_history",
    ] {
        assert_eq!(
            scalar_i64(&db.pool, &format!("select count(*) from {table}")).await,
            0,
            "{table} rows of the user are deleted"
        );
    }
    // Money records outlive the account.
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from transactions where \"userId\" is null"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from gift_cards where \"purchasedByUserId\" is null and \"redeemedByUserId\" is null"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from coupons").await,
        1
    );
}

#[tokio::test]
async fn the_audit_log_is_append_only() {
    let db = TestDb::new().await;
    exec(
        &db.pool,
        "insert into admin_audit_log (actor, action, \"entityType\", \"entityId\", reason)
         values ('ops', 'credits.adjust', 'user', '1', 'test')",
    )
    .await
    .expect("insert is allowed");
    for sql in [
        "update admin_audit_log set reason = 'rewritten'",
        "delete from admin_audit_log",
        "truncate admin_audit_log",
    ] {
        let err = exec(&db.pool, sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from admin_audit_log").await,
        1
    );
}

/// The production path: base tables with only their basic fields, full of
/// rows; the migrations add the rest and open every balance.
#[tokio::test]
async fn installs_onto_existing_base_tables_with_rows_and_opens_balances() {
    let db = TestDb::unmigrated().await;
    // The app's tables belong to the role that migrates (as on Supabase).
    exec(
        &db.owner,
        r#"
        create table users (id serial primary key, email text not null, name text,
                            credits integer not null default 0, "createdAt" timestamptz not null default now());
        create table credit_packs (id serial primary key, name text not null, credits integer not null,
                                   price numeric(10,2) not null, "isActive" boolean not null default true,
                                   "createdAt" timestamptz not null default now());
        create table models (id serial primary key, "userId" integer not null references users (id) on delete cascade,
                             name text not null, status text, "createdAt" timestamptz not null default now());
        create table example_images (id serial primary key, "imageUrl" text not null, category text,
                                     "createdAt" timestamptz not null default now());
        create table photos (id serial primary key, "userId" integer not null, "modelId" integer,
                             "imageUrl" text not null, prompt text, "createdAt" timestamptz not null default now());
        create table transactions (id serial primary key, "userId" integer, "creditPackId" integer,
                                   amount numeric(10,2) not null, currency text not null, status text,
                                   "createdAt" timestamptz not null default now());
        insert into users (email, name, credits)
          select 'user' || g || '@example.com', 'User ' || g, (g % 4) * 25 from generate_series(1, 500) g;
        insert into credit_packs (name, credits, price) values ('Starter', 100, 9.99), ('Pro', 500, 39.99);
        insert into models ("userId", name, status) select g, 'm' || g, 'ready' from generate_series(1, 100) g;
        insert into photos ("userId", "modelId", "imageUrl") select g, g, 'https://x/' || g from generate_series(1, 100) g;
        insert into transactions ("userId", "creditPackId", amount, currency, status)
          select g, 1, 9.99, 'USD', 'completed' from generate_series(1, 50) g;
        "#,
    )
    .await
    .expect("production-like base tables");

    let applied = db::migrate(&db.tool)
        .await
        .expect("migrations apply")
        .applied;
    assert_eq!(applied.len(), db::MIGRATOR.iter().count());
    let mismatched = scalar_i64(
        &db.pool,
        "select count(*) from users u
         where u.credits <> coalesce((select sum(amount) from credit_history h where h.\"userId\" = u.id), 0)",
    )
    .await;
    assert_eq!(
        mismatched, 0,
        "users.credits = sum(credit_history.amount) for every user"
    );
    assert_eq!(
        scalar_i64(&db.pool, "select count(*) from credit_history where description = 'opening balance' and type = 'admin_adjustment'").await,
        375,
        "one opening entry per user with a non-zero balance"
    );
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from photos where \"downloadCount\" = 0 and not \"isFavorite\""
        )
        .await,
        100
    );
    // The app's tables are the app's: no rule was added to them, so the
    // app's own writes keep working (tests/supabase.rs covers more).
    exec(
        &db.pool,
        "update models set status = 'processing' where id = 1",
    )
    .await
    .expect("the app's own model status");
    assert_eq!(
        scalar_i64(
            &db.pool,
            "select count(*) from pg_constraint
             where conrelid in ('public.users'::regclass, 'public.models'::regclass)
               and contype in ('c', 'u')"
        )
        .await,
        0,
        "no check or unique constraint on the app's tables"
    );

    // Running them again changes nothing.
    let before = schema_fingerprint(&db.pool).await;
    let applied = db::migrate(&db.tool).await.expect("second run").applied;
    assert!(applied.is_empty(), "second run applied {applied:?}");
    assert_eq!(schema_fingerprint(&db.pool).await, before);
}

#[tokio::test]
async fn migrating_again_changes_nothing() {
    let fresh = TestDb::new().await;
    let before = schema_fingerprint(&fresh.pool).await;
    let applied = db::migrate(&fresh.tool).await.expect("re-run").applied;
    assert!(applied.is_empty());
    assert_eq!(schema_fingerprint(&fresh.pool).await, before);
}

#[tokio::test]
async fn codes_are_unique_regardless_of_case() {
    let db = TestDb::new().await;
    exec(&db.pool, "insert into coupons (code, \"discountType\", \"discountValue\") values ('WELCOME10', 'percentage', 10)")
        .await
        .expect("first");
    // Stored upper-case: a lower-case duplicate is refused by the check, and
    // upper-casing it hits the unique key.
    assert_eq!(
        exec(&db.pool, "insert into coupons (code, \"discountType\", \"discountValue\") values ('welcome10', 'percentage', 10)").await,
        Err("coupons_code_check".to_owned())
    );
    assert_eq!(
        exec(&db.pool, "insert into coupons (code, \"discountType\", \"discountValue\") values (upper('welcome10'), 'percentage', 10)").await,
        Err("coupons_code_key".to_owned())
    );
}

/// Columns, constraints, indexes, triggers, functions and privileges of the
/// public and creditdesk schemas, as text.
async fn schema_fingerprint(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select 'col ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
           from information_schema.columns where table_schema in ('public', 'creditdesk')
         union all
         select 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
           from pg_constraint where connamespace in ('public'::regnamespace, 'creditdesk'::regnamespace)
         union all
         select 'idx ' || indexdef from pg_indexes where schemaname in ('public', 'creditdesk')
         union all
         select 'trg ' || tgname from pg_trigger where not tgisinternal
         union all
         select 'fn ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc) || ' ' || coalesce(p.proacl::text, '')
           from pg_proc p where p.pronamespace = 'creditdesk'::regnamespace
         union all
         select 'rel ' || c.oid::regclass::text || ' ' || c.relrowsecurity || ' ' || coalesce(c.relacl::text, '')
           from pg_class c where c.relnamespace in ('public'::regnamespace, 'creditdesk'::regnamespace)
         order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("fingerprint")
}
