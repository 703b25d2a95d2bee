//! Installing onto the database creditdesk is made for: a Supabase-like one
//! (`creditdesk::testing::supabase`), whose app already has its tables,
//! rows, policies and the API roles anon and authenticated that Supabase's
//! default privileges grant everything new in public.

use creditdesk::db;
use creditdesk::db::install::{self, TOOL_TABLES};
use creditdesk::error::Error;
use creditdesk::testing::supabase::{SupabaseDb, UUID_APP};
use creditdesk::testing::{CliRun, as_role, exec, run_cli};
use sqlx::{PgPool, Row};

/// What the catalog says of the database's objects, privileges, row level
/// security and roles: equal before and after means nothing changed.
async fn catalog(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select 'rel ' || c.oid::regclass::text || ' ' || c.relkind::text || ' ' || c.relrowsecurity
                || ' ' || coalesce(c.relacl::text, '') || ' ' || c.relnatts
           from pg_class c
           where c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
             and c.relnamespace::regnamespace::text not like 'pg_toast%'
         union all
         select 'att ' || a.attrelid::regclass::text || '.' || a.attname || ' '
                || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
           from pg_attribute a join pg_class c on c.oid = a.attrelid
           where c.relnamespace = 'public'::regnamespace and a.attnum > 0 and not a.attisdropped
         union all
         select 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
           from pg_constraint where connamespace = 'public'::regnamespace
         union all
         select 'nsp ' || nspname || ' ' || coalesce(nspacl::text, '') from pg_namespace
         union all
         select 'fn ' || oid::regprocedure::text from pg_proc
           where pronamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
         union all
         select 'ext ' || extname || ' ' || extnamespace::regnamespace::text from pg_extension
         union all
         select 'type ' || oid::regtype::text from pg_type where typnamespace = 'public'::regnamespace
         union all
         select 'role ' || rolname from pg_roles
         union all
         select 'pol ' || polrelid::regclass::text || ' ' || polname from pg_policy
         order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("catalog")
}

fn creditdesk(url: &str, args: &[&str]) -> CliRun {
    run_cli(env!("CARGO_BIN_EXE_creditdesk"), url, "", args)
}

#[tokio::test]
async fn nothing_the_tool_creates_is_exposed_to_the_api_roles() {
    let db = SupabaseDb::migrated().await;
    let api = db.url_as("authenticator");
    let authenticator = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&api)
        .await
        .expect("authenticator");
    // Default privileges were in force: an app table made now is granted.
    exec(&db.postgres, "create table public.app_later (id int)")
        .await
        .expect("a new app table");
    assert!(
        as_role(&authenticator, "anon", "select * from public.app_later")
            .await
            .is_ok()
    );

    for role in ["anon", "authenticated"] {
        for table in TOOL_TABLES {
            for sql in [
                format!("select * from public.{table}"),
                format!("select count(*) from public.{table}"),
                format!("insert into public.{table} default values"),
                format!("update public.{table} set id = id"),
                format!("delete from public.{table}"),
                format!("truncate public.{table}"),
            ] {
                let e = as_role(&authenticator, role, &sql)
                    .await
                    .expect_err(&format!("{role}: {sql}"));
                assert!(e.starts_with("42501"), "{role}: {sql}: {e}");
            }
        }
        for sql in [
            "select code from public.gift_cards",
            "select * from creditdesk.users",
            "select * from creditdesk.gift_cards",
            "select * from creditdesk._sqlx_migrations",
            "select * from creditdesk.audit_chain_head",
            "select creditdesk.whoami()",
            "select creditdesk.adjust_credits(1, 5, 'x')",
            "select creditdesk.mask_code('x')",
            "select nextval('public.coupons_id_seq')",
            "select nextval('public.admin_audit_log_id_seq')",
        ] {
            let e = as_role(&authenticator, role, sql)
                .await
                .expect_err(&format!("{role}: {sql}"));
            assert!(e.starts_with("42501"), "{role}: {sql}: {e}");
        }
    }
    // The app's service role keeps the app's tables, but not the audit log.
    for sql in [
        "select * from public.admin_audit_log",
        "insert into public.admin_audit_log (actor, action, \"entityType\") values ('x', 'y', 'z')",
        "select * from creditdesk.approval_requests",
    ] {
        let e = as_role(&authenticator, "service_role", sql)
            .await
            .expect_err(sql);
        assert!(e.starts_with("42501"), "service_role: {sql}: {e}");
    }

    // Row level security is on for every table the tool made.
    let without_rls: Vec<String> = sqlx::query_scalar(
        "select c.oid::regclass::text from pg_class c
         where c.relkind = 'r' and not c.relrowsecurity
           and (c.relnamespace = 'creditdesk'::regnamespace
                or (c.relnamespace = 'public'::regnamespace and c.relname = any($1)))",
    )
    .bind(TOOL_TABLES)
    .fetch_all(&db.admin)
    .await
    .expect("rls");
    assert!(without_rls.is_empty(), "without RLS: {without_rls:?}");

    // pg_trgm went to Supabase's extensions schema, and search works.
    let schema: String = sqlx::query_scalar(
        "select extnamespace::regnamespace::text from pg_extension where extname = 'pg_trgm'",
    )
    .fetch_one(&db.admin)
    .await
    .expect("pg_trgm");
    assert_eq!(schema, "extensions");
    let found = db::users::find(&db.tool(), "user12@", 10)
        .await
        .expect("find");
    assert!(found.iter().any(|u| u.email == "user12@example.com"));

    // The tool's own connection (postgres, the owner) works.
    let report = install::check(&db.tool()).await.expect("check");
    assert!(report.pending.is_empty() && report.is_clean(), "{report:?}");
}

/// Constraints on the app's tables, with the columns they cover.
async fn app_constraints(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select c.conrelid::regclass::text || ' ' || c.contype::text || ' ' || c.conname
         from pg_constraint c
         where c.conrelid in ('public.users'::regclass, 'public.models'::regclass,
                              'public.photos'::regclass, 'public.transactions'::regclass,
                              'public.credit_packs'::regclass, 'public.example_images'::regclass)
         order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("constraints")
}

#[tokio::test]
async fn the_apps_own_writes_keep_working_after_the_migration() {
    let db = SupabaseDb::new().await;
    let before = app_constraints(&db.admin).await;
    db::migrate(&db.tool()).await.expect("migrate");
    for sql in [
        // a status the app invented after the seed was written
        "insert into public.models (\"userId\", name, status) values (1, 'Ana v3', 'exploding')",
        "update public.models set status = 'processing' where id = 2",
        "insert into public.transactions (\"userId\", \"creditPackId\", amount, currency, status)
           values (2, 1, 9.99, 'USD', 'succeeded')",
        // differs from Ana@x.com and ana@x.com only in case
        "insert into public.users (email, name) values ('ANA@X.COM', 'Ana thrice')",
        // none of the new columns
        "insert into public.photos (\"userId\", \"imageUrl\") values (1, 'https://cdn.example.com/new.jpg')",
        "update public.users set credits = credits - 1000 where id = 4",
        "update public.users set credits = null where id = 5",
        "delete from public.photos where id = 1",
        "delete from public.models where id = 3",
    ] {
        exec(&db.postgres, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // The rows the seed adds columns to got their defaults.
    let (rows, defaults): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where \"downloadCount\" = 0 and not \"isFavorite\"
                                           and \"creditsUsed\" = 0)
         from public.photos",
    )
    .fetch_one(&db.admin)
    .await
    .expect("defaults");
    assert_eq!(rows, defaults);

    // The only constraints added to the app's tables are the seed's foreign
    // keys on the columns the tool added; the app's own are as they were.
    let after = app_constraints(&db.admin).await;
    let added: Vec<&String> = after.iter().filter(|c| !before.contains(c)).collect();
    assert_eq!(
        added,
        [
            "photos f photos_generationBatchId_fkey",
            "photos f photos_referenceImageId_fkey",
            "transactions f transactions_couponId_fkey",
            "transactions f transactions_giftCardId_fkey",
        ]
    );
    assert!(before.iter().all(|c| after.contains(c)));

    // The ledger opened every balance; a null one counts as zero.
    let mismatched: i64 = sqlx::query_scalar(
        "select count(*) from public.users u
         where coalesce(u.credits, 0) <> coalesce((select sum(amount) from public.credit_history h
                                                   where h.\"userId\" = u.id), 0)
           and u.id < 6",
    )
    .fetch_one(&db.admin)
    .await
    .expect("opening balances");
    // user 4's balance was changed by the app above, after the ledger opened
    // (user 5's null still counts as its zero)
    assert_eq!(mismatched, 1);
}

#[tokio::test]
async fn migrating_again_changes_nothing() {
    let db = SupabaseDb::migrated().await;
    let before = catalog(&db.admin).await;
    let again = db::migrate(&db.tool()).await.expect("again");
    assert!(again.applied.is_empty(), "{:?}", again.applied);
    assert_eq!(catalog(&db.admin).await, before);
}

#[tokio::test]
async fn a_uuid_user_id_is_refused_before_anything_is_written() {
    let db = SupabaseDb::with_app(UUID_APP).await;
    let before = catalog(&db.admin).await;

    let check = creditdesk(&db.postgres_url, &["migrate", "--check"]);
    assert_eq!(check.code, 3, "{check:?}");
    assert!(
        check.stdout.contains("users") && check.stdout.contains("uuid"),
        "{check:?}"
    );
    let json = creditdesk(&db.postgres_url, &["migrate", "--check", "--json"]);
    assert_eq!(json.code, 3, "{json:?}");
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert!(
        report["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .any(|p| p["code"] == "incompatible_id"),
        "{report}"
    );
    assert_eq!(catalog(&db.admin).await, before, "--check changed nothing");

    let run = creditdesk(&db.postgres_url, &["migrate"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("uuid"), "{run:?}");
    assert_eq!(catalog(&db.admin).await, before, "migrate changed nothing");

    let e = db::migrate(&db.tool()).await.expect_err("refused");
    assert!(matches!(e, Error::MigrationRefused(_)), "{e:?}");
}

#[tokio::test]
async fn a_busy_table_stops_the_migration_with_its_name_and_a_later_run_continues() {
    let db = SupabaseDb::new().await;
    // The app reads models in a long transaction: ALTER TABLE can't have it.
    let mut app = db.postgres.begin().await.expect("app transaction");
    sqlx::query("select count(*) from public.models")
        .execute(&mut *app)
        .await
        .expect("app read");
    let e = db::migrate(&db.tool()).await.expect_err("busy");
    let Error::Busy(message) = &e else {
        panic!("expected busy, got {e:?}")
    };
    assert!(message.contains("public.models"), "{message}");
    assert!(message.contains("changed nothing"), "{message}");
    assert!(message.contains("0004"), "{message}");
    // That migration left nothing behind; the ones before it are recorded.
    let (done, gender): (i64, bool) = sqlx::query_as(
        "select (select max(version) from creditdesk._sqlx_migrations),
                exists (select 1 from pg_attribute where attrelid = 'public.models'::regclass
                        and attname = 'gender')",
    )
    .fetch_one(&db.admin)
    .await
    .expect("state");
    assert_eq!((done, gender), (3, false));
    // The app's transaction was never in danger.
    app.commit().await.expect("the app commits");

    let later = db::migrate(&db.tool()).await.expect("later");
    assert_eq!(later.applied.first().map(|s| s.version), Some(4));
    assert_eq!(
        later.applied.last().map(|s| s.version),
        db::MIGRATOR.iter().map(|m| m.version).max()
    );
}

#[tokio::test]
async fn an_index_left_invalid_by_an_interrupted_build_is_built_again() {
    let db = SupabaseDb::new().await;
    // A concurrent build that failed half-way leaves an INVALID index under
    // the name the migration uses (here: unique on a column with duplicates).
    let e = exec(
        &db.postgres,
        "create unique index concurrently users_created_idx on public.users (credits)",
    )
    .await;
    assert!(e.is_err(), "the build fails");
    let row = sqlx::query(
        "select indisvalid from pg_index where indexrelid = 'public.users_created_idx'::regclass",
    )
    .fetch_one(&db.admin)
    .await
    .expect("left behind");
    assert!(!row.get::<bool, _>(0), "invalid");

    let done = db::migrate(&db.tool()).await.expect("migrate");
    assert_eq!(done.rebuilt_indexes, ["users_created_idx"]);
    let (valid, def): (bool, String) = sqlx::query_as(
        "select indisvalid, pg_get_indexdef(indexrelid) from pg_index
         where indexrelid = 'public.users_created_idx'::regclass",
    )
    .fetch_one(&db.admin)
    .await
    .expect("rebuilt");
    assert!(valid);
    assert!(def.contains("\"createdAt\" DESC, id DESC"), "{def}");
}

#[tokio::test]
async fn doctor_finds_what_was_exposed_or_switched_off_and_migrate_mends_it() {
    let db = SupabaseDb::migrated().await;
    let clean = creditdesk(&db.postgres_url, &["doctor"]);
    assert_eq!(clean.code, 0, "{clean:?}");
    // Someone grants the app's public key the gift cards, turns row level
    // security off on the ledger and moves pg_trgm to public.
    exec(
        &db.postgres,
        "grant select on public.gift_cards to anon;
         alter table public.credit_history disable row level security;
         grant execute on function creditdesk.whoami() to authenticated",
    )
    .await
    .expect("the mistakes");
    exec(&db.admin, "alter extension pg_trgm set schema public")
        .await
        .expect("moved");
    // And a million ledger entries were written since migrate last looked
    // for ledgers grown heavy.
    exec(
        &db.admin,
        &format!(
            r#"update creditdesk.ledger_scan set "lastEntryId" = -{}"#,
            creditdesk::db::install::LEDGER_SCAN_BEHIND
        ),
    )
    .await
    .expect("behind");
    let out = creditdesk(&db.postgres_url, &["doctor", "--json"]);
    assert_eq!(out.code, 3, "{out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    for code in [
        "exposed_to_api",
        "rls_disabled",
        "extension_schema",
        "ledger_scan_behind",
    ] {
        assert!(codes.contains(&code), "{code}: {report}");
    }
    let exposed = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "exposed_to_api")
        .expect("exposed")
        .to_string();
    assert!(
        exposed.contains("public.gift_cards") && exposed.contains("whoami"),
        "{exposed}"
    );
    // migrate puts privileges and row level security back (the extension
    // stays where someone put it: doctor says how to move it).
    let again = creditdesk(&db.postgres_url, &["migrate"]);
    assert_eq!(again.code, 0, "{again:?}");
    let out = creditdesk(&db.postgres_url, &["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(codes, ["extension_schema"], "{report}");
}

#[tokio::test]
async fn an_email_of_two_users_is_refused_and_database_errors_read_as_postgresql_wrote_them() {
    let db = SupabaseDb::migrated().await;
    // Ana@x.com and ana@x.com: the app allows it, creditdesk won't guess.
    let out = creditdesk(&db.postgres_url, &["credits", "show", "ana@x.com"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("names 2 users (#1, #2): give the id"),
        "{out:?}"
    );
    let out = creditdesk(&db.postgres_url, &["credits", "show", "1"]);
    assert_eq!(out.code, 0, "{out:?}");

    // A database error keeps PostgreSQL's message, detail and hint, without
    // the line of PostgreSQL's C source sqlx adds: here the app's own
    // trigger refuses the balance change.
    exec(
        &db.postgres,
        "create function public.app_guard() returns trigger language plpgsql as $$
         begin
           raise exception 'balances are frozen during the audit'
             using detail = 'frozen since 09:00', hint = 'ask finance';
         end $$;
         create trigger app_guard before update of credits on public.users
           for each row execute function public.app_guard();",
    )
    .await
    .expect("the app's trigger");
    let out = creditdesk(
        &db.postgres_url,
        &["credits", "adjust", "1", "--amount", "5", "--reason", "x"],
    );
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains(
            "balances are frozen during the audit (frozen since 09:00); hint: ask finance"
        ),
        "{out:?}"
    );
    assert!(!out.stderr.contains(" at line "), "{out:?}");
}
