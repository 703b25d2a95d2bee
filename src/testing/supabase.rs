//! A Supabase-like database on a cluster of its own, as Supabase's init
//! scripts leave one (github.com/supabase/postgres, migrations/db): the
//! superuser is `supabase_admin`; `postgres` is an ordinary login with
//! CREATEDB, CREATEROLE, REPLICATION and BYPASSRLS that owns the app's
//! tables; the API roles `anon`, `authenticated` and `service_role` (the
//! last with BYPASSRLS), and `authenticator` that PostgREST logs in as; an
//! `extensions` schema; default privileges that grant ALL on every new
//! table, sequence and function in `public` to the API roles. Then the
//! app's own tables, with row level security on, the app's policies, and
//! rows that the first creditdesk's constraints broke (a model
//! `processing`, a transaction `succeeded`, `Ana@x` beside `ana@x`, a null
//! and a negative balance).
//!
//! Roles belong to a cluster, so this is one cluster per test binary,
//! separate from the plain one of [`super::TestDb`]; every test gets its
//! own database, copied from a template that holds the app but not yet
//! creditdesk.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};

use super::pgbouncer::PgBouncer;
use crate::db::Db;
use crate::domain::role::Group;
use crate::pg_local::{self, Durability, LocalServer, PgBinaries};

struct Cluster {
    server: LocalServer,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// Supabase's roles and grants, once per cluster (as supabase_admin).
const ROLES: &str = r#"
create role postgres login createdb createrole replication bypassrls;
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit;
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;
alter role anon inherit;
alter role authenticated inherit;
alter role service_role inherit;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role postgres set search_path to "$user", public, extensions;
"#;

/// Per database, as supabase_admin: the schemas and default privileges.
const DATABASE: &str = r#"
create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant all on schema public to postgres;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges in schema extensions grant all on tables to postgres with grant option;
alter default privileges in schema extensions grant all on routines to postgres with grant option;
"#;

/// The app's tables and rows, as postgres (the dashboard's role). Their
/// types are the seed's "basic fields"; their value lists and rows are the
/// app's own, wider than schema.md's.
pub const APP: &str = r#"
create table public.users (
  id serial primary key, email text not null, name text, credits integer default 0,
  "createdAt" timestamptz not null default now());
create table public.credit_packs (
  id serial primary key, name text not null, credits integer not null,
  price numeric(10, 2) not null, "isActive" boolean not null default true,
  "createdAt" timestamptz not null default now());
create table public.models (
  id serial primary key, "userId" integer not null references public.users (id) on delete cascade,
  name text not null, status text not null default 'queued',
  "createdAt" timestamptz not null default now());
create table public.example_images (
  id serial primary key, "imageUrl" text not null, category text,
  "createdAt" timestamptz not null default now());
create table public.photos (
  id serial primary key, "userId" integer not null references public.users (id) on delete cascade,
  "modelId" integer references public.models (id) on delete set null,
  "imageUrl" text not null, prompt text, "createdAt" timestamptz not null default now());
create table public.transactions (
  id serial primary key, "userId" integer references public.users (id),
  "creditPackId" integer references public.credit_packs (id),
  amount numeric(10, 2) not null, currency text not null, status text not null,
  "createdAt" timestamptz not null default now());

-- The app's auth model: a signed-in user reads their own rows.
alter table public.users enable row level security;
alter table public.models enable row level security;
alter table public.photos enable row level security;
alter table public.transactions enable row level security;
alter table public.credit_packs enable row level security;
alter table public.example_images enable row level security;
create policy "own profile" on public.users for select to authenticated
  using (id = nullif(current_setting('request.jwt.claim.sub', true), '')::int);
create policy "own models" on public.models for all to authenticated
  using ("userId" = nullif(current_setting('request.jwt.claim.sub', true), '')::int);
create policy "own photos" on public.photos for select to authenticated
  using ("userId" = nullif(current_setting('request.jwt.claim.sub', true), '')::int);
create policy "packs are public" on public.credit_packs for select to anon, authenticated using (true);

insert into public.users (email, name, credits) values
  ('Ana@x.com', 'Ana', 120), ('ana@x.com', 'Ana again', 30), ('bo@x.com', 'Bo', null),
  ('cy@x.com', 'Cy', -5), ('di@x.com', 'Di', 0);
insert into public.users (email, name, credits)
  select 'user' || g || '@example.com', 'User ' || g, g % 7 * 10 from generate_series(1, 300) g;
insert into public.credit_packs (name, credits, price) values
  ('Starter', 100, 9.99), ('Pro', 500, 39.99), ('Premium', 1200, 79.99);
insert into public.models ("userId", name, status) values
  (1, 'Ana v1', 'processing'), (1, 'Ana v2', 'ready'), (3, 'Bo', 'queued');
insert into public.photos ("userId", "modelId", "imageUrl")
  select 1 + g % 5, 1 + g % 3, 'https://cdn.example.com/p/' || g || '.jpg' from generate_series(1, 200) g;
insert into public.transactions ("userId", "creditPackId", amount, currency, status) values
  (1, 1, 9.99, 'USD', 'succeeded'), (2, 2, 39.99, 'EUR', 'requires_payment_method');
"#;

/// The same app, but its users have uuid ids (a Supabase app keyed on
/// auth.users): creditdesk can't be installed on it.
pub const UUID_APP: &str = r#"
create table public.users (
  id uuid primary key default gen_random_uuid(), email text not null, name text,
  credits integer not null default 0, "createdAt" timestamptz not null default now());
create table public.credit_packs (
  id serial primary key, name text not null, credits integer not null,
  price numeric(10, 2) not null, "isActive" boolean not null default true,
  "createdAt" timestamptz not null default now());
create table public.models (
  id serial primary key, "userId" uuid not null references public.users (id),
  name text not null, status text, "createdAt" timestamptz not null default now());
create table public.example_images (id serial primary key, "imageUrl" text not null);
create table public.photos (
  id serial primary key, "userId" uuid not null references public.users (id),
  "modelId" integer, "imageUrl" text not null, "createdAt" timestamptz not null default now());
create table public.transactions (
  id serial primary key, "userId" uuid, amount numeric(10, 2) not null, currency text not null,
  status text, "createdAt" timestamptz not null default now());
alter table public.users enable row level security;
insert into public.users (email, name) values ('ana@x.com', 'Ana'), ('bo@x.com', 'Bo');
"#;

fn cluster() -> Result<&'static Cluster, &'static str> {
    CLUSTER
        .get_or_init(|| {
            std::thread::spawn(|| super::block_on(start()))
                .join()
                .unwrap_or_else(|_| Err("the set-up thread panicked".to_owned()))
        })
        .as_ref()
        .map_err(String::as_str)
}

async fn start() -> Result<Cluster, String> {
    let setup = || -> anyhow::Result<LocalServer> {
        let dir = pg_local::throwaway_dir("creditdesk-supabase")?;
        let server = LocalServer::new(PgBinaries::find()?, dir, Durability::Throwaway)
            .with_superuser("supabase_admin");
        server.remove_when_process_exits(std::process::id())?;
        server.init_if_needed()?;
        server.start()?;
        Ok(server)
    };
    let server = setup().map_err(|e| format!("{e:#}"))?;
    let admin = pool(&server.url("postgres"), 2).await?;
    exec(&admin, ROLES).await?;
    admin.close().await;
    Ok(Cluster { server })
}

async fn pool(url: &str, max: u32) -> Result<PgPool, String> {
    PgPoolOptions::new()
        .max_connections(max)
        .connect(url)
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))
}

async fn exec(pool: &PgPool, sql: &str) -> Result<(), String> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e}"))
}

/// One test's Supabase-like database.
pub struct SupabaseDb {
    pub name: String,
    /// supabase_admin: the superuser, for checking anything.
    pub admin: PgPool,
    /// postgres: the app's owner and the role creditdesk migrates as.
    pub postgres: PgPool,
    /// The URL of `postgres` (no password: trust on the socket).
    pub postgres_url: String,
}

impl SupabaseDb {
    /// A new database with the app's tables and rows; creditdesk not yet
    /// installed.
    pub async fn new() -> SupabaseDb {
        Self::with_app(APP).await
    }

    /// A database whose app is `app` (SQL run as postgres).
    pub async fn with_app(app: &str) -> SupabaseDb {
        let cluster = match cluster() {
            Ok(c) => c,
            Err(e) => panic!("no Supabase-like cluster: {e}"),
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("supa_{}_{n}", std::process::id());
        let maintenance = pool(&cluster.server.url("postgres"), 1)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for sql in [
            format!("create database {name}"),
            format!("grant all on database {name} to postgres"),
        ] {
            exec(&maintenance, &sql)
                .await
                .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        }
        maintenance.close().await;
        let admin = pool(&cluster.server.url(&name), 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        exec(&admin, DATABASE)
            .await
            .unwrap_or_else(|e| panic!("Supabase's schemas and grants: {e}"));
        let postgres_url = cluster.server.url_as("postgres", &name);
        let postgres = pool(&postgres_url, 20)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        exec(&postgres, app)
            .await
            .unwrap_or_else(|e| panic!("the app's tables: {e}"));
        SupabaseDb {
            name,
            admin,
            postgres,
            postgres_url,
        }
    }

    /// As [`SupabaseDb::new`], then migrated as postgres.
    pub async fn migrated() -> SupabaseDb {
        let db = Self::new().await;
        crate::db::migrate(&db.tool())
            .await
            .unwrap_or_else(|e| panic!("migrating as postgres: {e}"));
        db
    }

    /// creditdesk as postgres uses it (a shared login: the owner).
    pub fn tool(&self) -> Db {
        Db::direct(self.postgres.clone())
    }

    /// The cluster's server (for a pooler or a replica in front of it).
    pub fn server(&self) -> &'static LocalServer {
        match cluster() {
            Ok(c) => &c.server,
            Err(e) => panic!("no Supabase-like cluster: {e}"),
        }
    }

    /// A URL of this database as `user` (trust on the socket).
    pub fn url_as(&self, user: &str) -> String {
        self.server().url_as(user, &self.name)
    }

    /// A personal operator login in `group`: its name and plain connection.
    pub async fn login(&self, group: Group) -> (String, PgPool) {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("op_{}_{n}_{}", std::process::id(), group.label());
        exec(
            &self.admin,
            &format!("create role {name} login in role {}", group.role_name()),
        )
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        let raw = pool(&self.url_as(&name), 20)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (name, raw)
    }

    /// A PgBouncer in transaction mode in front of the cluster, letting in
    /// `users`, with `pool_size` server connections per user and database.
    pub fn pooler(&self, pool_size: u32, users: &[&str]) -> PgBouncer {
        PgBouncer::start(self.server(), pool_size, users)
            .unwrap_or_else(|e| panic!("starting pgbouncer: {e:#}"))
    }
}
