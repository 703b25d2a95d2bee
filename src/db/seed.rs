//! Demo and scale data: fills an empty, migrated database with plausible
//! users, credit packs, coupons, gift cards, models, generation batches,
//! photos, transactions and each user's credit ledger.
//!
//! Everything happens in one transaction with set-based SQL (the statements
//! live in `seed/*.sql`, run in order). The data is a function of the number
//! of users only: pseudo-random values are hashes of ids, so every run gives
//! the same database (timestamps are relative to the time of the run).
//!
//! Invariants the data keeps: `users.credits` is the sum of the user's
//! `credit_history`, the running balance of every ledger in
//! (`createdAt`, `id`) order never goes below zero, a batch has at most one
//! refund and never more than its `creditsUsed`, `coupons.usedCount` is the
//! number of redemptions and never above `maxUses`.

use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;
use sqlx::PgPool;

/// What [`seed`] created, counted in the database after the commit.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub users: i64,
    pub ledger_entries: i64,
    pub coupons: i64,
    pub gift_cards: i64,
    pub batches: i64,
    pub photos: i64,
    pub transactions: i64,
    pub elapsed_ms: u128,
}

/// Tables the seed writes; locked for the whole transaction so nothing else
/// writes to them between the emptiness check and the commit.
const LOCK_TABLES: &str = "lock table public.users, public.credit_packs, public.example_images, \
     public.coupons, public.models, public.model_training_images, public.transactions, \
     public.coupon_redemptions, public.gift_cards, public.photo_generation_batches, \
     public.photos, public.credit_history in exclusive mode";

/// The other tables must be empty too, or the seed's explicit ids and unique
/// codes would collide with what is there. Lists the ones that are not.
const NON_EMPTY_TABLES: &str = "select coalesce(string_agg(name, ', ' order by name), '') from (
       select 'credit_packs' as name where exists (select 1 from public.credit_packs)
       union all select 'example_images' where exists (select 1 from public.example_images)
       union all select 'coupons' where exists (select 1 from public.coupons)
       union all select 'models' where exists (select 1 from public.models)
       union all select 'transactions' where exists (select 1 from public.transactions)
       union all select 'gift_cards' where exists (select 1 from public.gift_cards)
       union all select 'photo_generation_batches'
         where exists (select 1 from public.photo_generation_batches)
       union all select 'photos' where exists (select 1 from public.photos)
       union all select 'credit_history' where exists (select 1 from public.credit_history)
     ) as t";

/// The steps, in order: what the progress callback shows, and the SQL.
const STEPS: &[(&str, &str)] = &[
    ("preparing…", include_str!("seed/00_setup.sql")),
    (
        "dropping indexes for the load…",
        include_str!("seed/01_defer_keys.sql"),
    ),
    (
        "credit packs, coupons…",
        include_str!("seed/02_catalog.sql"),
    ),
    ("profiles…", include_str!("seed/03_profiles.sql")),
    ("planning ledgers…", include_str!("seed/04_plan.sql")),
    ("users…", include_str!("seed/05_users.sql")),
    ("models…", include_str!("seed/06_models.sql")),
    (
        "purchases, coupon redemptions…",
        include_str!("seed/07_purchases.sql"),
    ),
    ("gift cards…", include_str!("seed/08_gift_cards.sql")),
    ("batches…", include_str!("seed/09_batches.sql")),
    ("photos…", include_str!("seed/10_photos.sql")),
    ("ledger…", include_str!("seed/11_ledger.sql")),
    (
        "coupon counters, sequences…",
        include_str!("seed/12_finish.sql"),
    ),
    (
        "indexes and foreign keys…",
        include_str!("seed/13_restore_keys.sql"),
    ),
];

const COUNTS: &str = "select (select count(*) from public.users),
            (select count(*) from public.credit_history),
            (select count(*) from public.coupons),
            (select count(*) from public.gift_cards),
            (select count(*) from public.photo_generation_batches),
            (select count(*) from public.photos),
            (select count(*) from public.transactions)";

/// Fills an empty, migrated database with demo data for `users` users
/// (about ten ledger entries each; user 1 has `users` entries, users 2 and 3
/// `users / 10`). All or nothing: on any error the database is unchanged.
///
/// Refuses a database that already has users (or rows in the other tables
/// it fills). `progress` is called with a short label before each step.
pub async fn seed(
    pool: &PgPool,
    users: u32,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let mut tx = pool
        .begin()
        .await
        .context("starting the seed transaction")?;

    progress("checking the database is empty…");
    sqlx::raw_sql(LOCK_TABLES)
        .execute(&mut *tx)
        .await
        .context("locking the tables to seed (are the migrations applied?)")?;
    let existing: i64 = sqlx::query_scalar("select count(*) from public.users")
        .fetch_one(&mut *tx)
        .await
        .context("counting users")?;
    if existing > 0 {
        bail!("the database already has {existing} users; seed only loads an empty database");
    }
    let non_empty: String = sqlx::query_scalar(NON_EMPTY_TABLES)
        .fetch_one(&mut *tx)
        .await
        .context("checking the tables to seed are empty")?;
    if !non_empty.is_empty() {
        bail!("the database already has rows in {non_empty}; seed only loads an empty database");
    }

    // Read by pg_temp.n() in the SQL steps; local to the transaction.
    sqlx::query("select set_config('seed.users', $1, true)")
        .bind(users.to_string())
        .execute(&mut *tx)
        .await
        .context("setting the number of users")?;

    for (label, sql) in STEPS {
        progress(label);
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("seed step {label}"))?;
    }

    progress("committing…");
    tx.commit().await.context("committing the seed")?;
    // The heavy ledgers start keeping their sums now, as `migrate` would
    // make them, so the demo's whale opens and pages as fast as production's.
    progress("keeping sums of the heavy ledgers…");
    sqlx::query("select creditdesk.ledger_track_heavy()")
        .execute(pool)
        .await
        .context("tracking the heavy ledgers")?;

    let (users, ledger_entries, coupons, gift_cards, batches, photos, transactions): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = sqlx::query_as(COUNTS)
        .fetch_one(pool)
        .await
        .context("counting the seeded rows")?;
    Ok(SeedReport {
        users,
        ledger_entries,
        coupons,
        gift_cards,
        batches,
        photos,
        transactions,
        elapsed_ms: started.elapsed().as_millis(),
    })
}
