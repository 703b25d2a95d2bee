//! Fresh databases for tests and benchmarks, against real PostgreSQL.
//!
//! With `DATABASE_URL` set, databases are created on that server (the role
//! needs CREATEDB, and CREATEROLE for the owner and operator logins).
//! Without it, the first test of a test binary starts one throwaway server
//! from the machine's binaries (as the `postgres` user when run as root),
//! which a watchdog stops and deletes when the process exits, however it
//! exits. Either way the schema is migrated once into a template database,
//! by a role that owns it and is no superuser (as Supabase's `postgres`),
//! and each test gets `CREATE DATABASE ... TEMPLATE`: a file copy,
//! milliseconds, isolated from every other test. Operators are logins of
//! their own in the creditdesk groups ([`TestDb::login`]).
//!
//! Beside the databases, the small things every integration test repeats:
//! an operator and reasons, a scalar query, a user with credits, refusals
//! unwrapped, and the real binary run with its exit code and output. The
//! production situations have modules of their own: [`supabase`] (a
//! Supabase-like cluster), [`pgbouncer`] (a transaction-mode pooler).

use std::fmt::Debug;
use std::process::Command;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};

use crate::db::{Change, Db, credits};
use crate::domain::Refusal;
use crate::domain::operator::Operator;
use crate::domain::role::Group;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
use crate::error::Error;
use crate::pg_local::{self, Durability, LocalServer, PgBinaries};

pub mod pgbouncer;
pub mod replica;
pub mod supabase;

struct Shared {
    /// A URL of the server's maintenance database; other databases are
    /// reached by swapping the name.
    admin_url: String,
    template: String,
    /// The throwaway server, if we started one (the watchdog removes it).
    own_server: bool,
    /// The role that owns the schema: a login with CREATEROLE and CREATEDB,
    /// no superuser (when the test server's role may create it).
    owner: Role,
}

/// A role the tests made, with the password it logs in with.
#[derive(Debug, Clone)]
struct Role {
    name: String,
    password: String,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);
/// Roles made on a server we don't own, dropped when the process ends.
static MADE_ROLES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// One test's own database, dropped when the value is dropped.
pub struct TestDb {
    /// The test server's superuser (or `DATABASE_URL`'s role): for setting
    /// up and checking rows, as the app would.
    pub pool: PgPool,
    /// The schema's owner, connected as the tool connects.
    pub tool: Db,
    /// The owner, as a plain connection (the app's tables belong to it).
    pub owner: PgPool,
    /// A URL for this database (as `pool`'s role), for a child process.
    pub url: String,
    /// A URL for this database as the owner.
    pub owner_url: String,
    name: String,
}

/// Several operators' logins ([`TestDb::logins`]).
pub struct Logins {
    dbs: Vec<Db>,
    next: AtomicU32,
}

impl Logins {
    /// The next login's connection, round robin.
    pub fn next(&self) -> Db {
        let i = self.next.fetch_add(1, Ordering::Relaxed) as usize;
        self.dbs[i % self.dbs.len()].clone()
    }
}

/// An operator's own login in one creditdesk group, on one test database.
pub struct Login {
    pub name: String,
    /// For the real binary: `DATABASE_URL` as this login.
    pub url: String,
    /// As the tool connects (the session read: role, thresholds).
    pub db: Db,
    /// A plain connection as this login: what it could do with psql.
    pub raw: PgPool,
}

impl TestDb {
    /// A freshly migrated, empty database. Panics with the reason when no
    /// server can be had: a test can't go on without one.
    pub async fn new() -> TestDb {
        let template = shared_or_panic().template.clone();
        Self::from_template(&template).await
    }

    /// An empty database with no schema at all, to test installing onto
    /// what production already has.
    pub async fn unmigrated() -> TestDb {
        Self::from_template("template0").await
    }

    async fn from_template(template: &str) -> TestDb {
        let shared = shared_or_panic();
        let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
        let name = format!("creditdesk_test_{}_{n}", std::process::id());
        let admin = admin_pool(&shared.admin_url).await;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "create database {name} template {template} owner \"{}\"",
            shared.owner.name
        )))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        admin.close().await;
        let url = database_url(&shared.admin_url, &name);
        let pool = PgPoolOptions::new()
            .max_connections(40)
            .connect_with(options(&url))
            .await
            .unwrap_or_else(|e| panic!("connecting to {name}: {e}"));
        let owner_url = login_url(&url, &shared.owner);
        let owner = PgPoolOptions::new()
            .max_connections(40)
            .connect_with(options(&owner_url))
            .await
            .unwrap_or_else(|e| panic!("connecting to {name} as the owner: {e}"));
        let mut tool = Db::direct(owner.clone());
        if template != "template0" {
            tool = tool
                .with_session()
                .await
                .unwrap_or_else(|e| panic!("the owner's session on {name}: {e}"));
        }
        TestDb {
            pool,
            tool,
            owner,
            url,
            owner_url,
            name,
        }
    }

    /// A new login of an operator in `group` (a personal login: it is what
    /// the audit log names), connected both as the tool connects and
    /// plainly.
    pub async fn login(&self, group: Group) -> Login {
        let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
        let role = Role {
            name: format!("op_{}_{n}_{}", std::process::id(), group.label()),
            password: format!("pw-{:016x}", rand::random::<u64>()),
        };
        self.create_login(&role, &format!("in role {}", group.role_name()))
            .await;
        let url = login_url(&self.url, &role);
        let raw = PgPoolOptions::new()
            .max_connections(20)
            .connect_with(options(&url))
            .await
            .unwrap_or_else(|e| panic!("connecting as {}: {e}", role.name));
        let db = Db::direct(raw.clone())
            .with_session()
            .await
            .unwrap_or_else(|e| panic!("the session of {}: {e}", role.name));
        Login {
            name: role.name,
            url,
            db,
            raw,
        }
    }

    /// `n` logins in `group`, handed out in turn: several operators acting
    /// at once, each with their own connection pool.
    pub async fn logins(&self, group: Group, n: usize) -> Logins {
        let mut dbs = Vec::with_capacity(n);
        for _ in 0..n {
            dbs.push(self.login(group).await.db);
        }
        Logins {
            dbs,
            next: AtomicU32::new(0),
        }
    }

    /// A login in no creditdesk group (like the app's own roles): shared.
    pub async fn stranger(&self) -> (String, PgPool) {
        let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
        let role = Role {
            name: format!("stranger_{}_{n}", std::process::id()),
            password: format!("pw-{:016x}", rand::random::<u64>()),
        };
        self.create_login(&role, "").await;
        let url = login_url(&self.url, &role);
        let raw = PgPoolOptions::new()
            .max_connections(5)
            .connect_with(options(&url))
            .await
            .unwrap_or_else(|e| panic!("connecting as {}: {e}", role.name));
        (url, raw)
    }

    async fn create_login(&self, role: &Role, rest: &str) {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "create role \"{}\" login password '{}' {rest}",
            role.name, role.password
        )))
        .execute(&self.pool)
        .await
        .unwrap_or_else(|e| panic!("creating the login {}: {e}", role.name));
        remember_role(&role.name);
    }
}

fn remember_role(name: &str) {
    if let Ok(Shared {
        own_server: false, ..
    }) = shared()
        && let Ok(mut roles) = MADE_ROLES.lock()
    {
        roles.push(name.to_owned());
    }
}

/// The same server and database, as another role with its password.
fn login_url(url: &str, role: &Role) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username(&role.name);
            let _ = u.set_password(Some(&role.password));
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Ok(shared) = shared() else { return };
        if shared.own_server {
            return; // the whole server goes away with the process
        }
        let admin_url = shared.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which can't be blocked on:
        // a thread of its own does the async work.
        let _ = std::thread::spawn(move || {
            block_on(async move {
                let admin = admin_pool(&admin_url).await;
                let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                    "drop database if exists {name} with (force)"
                )))
                .execute(&admin)
                .await;
                admin.close().await;
            })
        })
        .join();
    }
}

// ---------------------------------------------------------------------------
// Helpers the integration tests share
// ---------------------------------------------------------------------------

/// The operator the tests act as: `test-ops`, the actor their audit rows
/// name.
pub fn operator() -> Operator {
    Operator::parse("test-ops").expect("operator")
}

/// A reason; panics if `text` is not a valid one.
pub fn reason(text: &str) -> Reason {
    Reason::parse(text).expect("reason")
}

/// The single `int8` value `sql` selects (a count, a balance, a sum cast to
/// `int8`); panics with the query if it fails.
pub async fn scalar_i64(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs `sql` (one or more statements); a refusal comes back as
/// "SQLSTATE message", for tests that expect PostgreSQL to say no.
pub async fn exec(pool: &PgPool, sql: &str) -> Result<(), String> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| sql_error(&e))
}

/// `sql` as `role` (`set local role`, as PostgREST does), in a transaction
/// that is rolled back whatever happens.
pub async fn as_role(pool: &PgPool, role: &str, sql: &str) -> Result<(), String> {
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    sqlx::raw_sql(AssertSqlSafe(format!("set local role {role}")))
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    let r = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await
        .map(|_| ())
        .map_err(|e| sql_error(&e));
    let _ = tx.rollback().await;
    r
}

fn sql_error(e: &sqlx::Error) -> String {
    e.as_database_error()
        .map(|d| format!("{} {}", d.code().unwrap_or_default(), d.message()))
        .unwrap_or_else(|| e.to_string())
}

/// Sets an approval threshold (`approval.adjustment_credits`,
/// `approval.gift_card_issue_credits`) directly, as the owner: for tests of
/// changes above today's threshold that are not about approval.
pub async fn set_setting(pool: &PgPool, key: &str, value: i64) {
    let n = sqlx::query("update creditdesk.settings set value = $2 where key = $1")
        .bind(key)
        .bind(value)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("setting {key}: {e}"))
        .rows_affected();
    assert_eq!(n, 1, "no setting {key}");
}

/// A new user named `Test` with `email`, no credits and nothing else: its
/// id.
pub async fn user(pool: &PgPool, email: &str) -> i32 {
    sqlx::query_scalar("insert into users (email, name) values ($1, 'Test') returning id")
        .bind(email)
        .fetch_one(pool)
        .await
        .expect("user")
}

/// A new user (see [`user`]) whose opening balance of `credits` is booked
/// as the console books one: `credits::adjust` by [`operator`] with the
/// reason `opening`. The ledger entry, the balance and an audit row agree,
/// so `credits::verify` stays clean. With 0 credits, only the user.
pub async fn user_with_credits(db: &Db, email: &str, credits: i32) -> i32 {
    let id = user(db.pool(), email).await;
    if credits != 0 {
        credits::adjust(
            db,
            &operator(),
            &UserRef::Id(id),
            credits,
            &reason("opening"),
            None,
        )
        .await
        .applied()
        .expect("opening credits");
    }
    id
}

/// A change that may wait for approval, as a plain result: `Pending` becomes
/// [`Error::PendingApproval`], so tests that expect the change applied say
/// `.await.applied()`.
pub trait Applied<T> {
    fn applied(self) -> Result<T, Error>;
}

impl<T> Applied<T> for Result<Change<T>, Error> {
    fn applied(self) -> Result<T, Error> {
        match self? {
            Change::Applied(v) => Ok(v),
            Change::Pending(p) => Err(Error::PendingApproval {
                id: p.id,
                summary: p.summary,
            }),
        }
    }
}

/// The refusal in `e`; panics on any other error.
pub fn refusal(e: Error) -> Refusal {
    match e {
        Error::Refused(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The refusal `r` ended in; panics on success or any other error.
pub fn refused<T: Debug>(r: Result<T, Error>) -> Refusal {
    match r {
        Err(e) => refusal(e),
        ok => panic!("expected a refusal, got {ok:?}"),
    }
}

/// What one run of the real binary did.
#[derive(Debug)]
pub struct CliRun {
    /// The exit code, or -1 when a signal ended the process.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary at `bin` with `args` against the database at `url`
/// (`DATABASE_URL`) as `operator` (`CREDITDESK_OPERATOR`), and waits for it.
///
/// Only an integration test knows where cargo built the binary, so it passes
/// `env!("CARGO_BIN_EXE_creditdesk")`, usually from a one-line wrapper.
/// An empty `operator` gives none: the login is the operator.
pub fn run_cli(bin: &str, url: &str, operator: &str, args: &[&str]) -> CliRun {
    let mut cmd = Command::new(bin);
    cmd.args(args).env("DATABASE_URL", url);
    if operator.is_empty() {
        cmd.env_remove("CREDITDESK_OPERATOR");
    } else {
        cmd.env("CREDITDESK_OPERATOR", operator);
    }
    let out = cmd.output().expect("run creditdesk");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts that `stderr` is one line (a final newline aside), naming
/// `context` (the arguments, say) if not.
#[track_caller]
pub fn assert_one_line(stderr: &str, context: impl Debug) {
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{context:?}: one line: {stderr}"
    );
}

/// Asserts that `stderr` shows no panic and no escape character (nothing
/// typed in may reach the terminal as a control sequence), naming `context`
/// if it does.
#[track_caller]
pub fn assert_no_panic_or_escape(stderr: &str, context: impl Debug) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains('\x1b'),
        "{context:?}: {stderr:?}"
    );
}

fn shared_or_panic() -> &'static Shared {
    match shared() {
        Ok(s) => s,
        Err(e) => panic!("no test database: {e}"),
    }
}

fn shared() -> Result<&'static Shared, &'static str> {
    SHARED
        .get_or_init(|| {
            std::thread::spawn(|| block_on(init()))
                .join()
                .unwrap_or_else(|_| Err("the set-up thread panicked".to_owned()))
        })
        .as_ref()
        .map_err(String::as_str)
}

async fn init() -> Result<Shared, String> {
    let (admin_url, own_server) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => (url, false),
        _ => (
            start_throwaway_server().map_err(|e| format!("{e:#}"))?,
            true,
        ),
    };
    let template = format!("creditdesk_template_{}", std::process::id());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options(&admin_url))
        .await
        .map_err(|e| format!("connecting to the test server: {e}"))?;
    let owner = make_owner(&admin).await?;
    for sql in [
        format!("drop database if exists {template} with (force)"),
        format!("create database {template} owner \"{}\"", owner.name),
    ] {
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .map_err(|e| format!("creating the template database: {e}"))?;
    }
    admin.close().await;
    if !own_server {
        // SAFETY: registering a plain extern "C" fn with no captured state.
        unsafe { libc::atexit(drop_template_at_exit) };
    }

    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options(&login_url(
            &database_url(&admin_url, &template),
            &owner,
        )))
        .await
        .map_err(|e| format!("connecting to the template database as its owner: {e}"))?;
    crate::db::migrate(&Db::direct(pool.clone()))
        .await
        .map_err(|e| format!("migrating the template database: {e}"))?;
    pool.close().await;

    Ok(Shared {
        admin_url,
        template,
        own_server,
        owner,
    })
}

/// The schema's owner: a login that may create roles and databases and is
/// no superuser, like Supabase's `postgres`. When the test server's role
/// can't make one, it is the owner itself.
async fn make_owner(admin: &PgPool) -> Result<Role, String> {
    let (me, can): (String, bool) = sqlx::query_as(
        "select current_user::text, rolsuper or rolcreaterole from pg_roles where rolname = current_user",
    )
    .fetch_one(admin)
    .await
    .map_err(|e| format!("reading the test role: {e}"))?;
    if !can {
        let password = std::env::var("PGPASSWORD").unwrap_or_default();
        return Ok(Role { name: me, password });
    }
    let role = Role {
        name: format!("creditdesk_test_owner_{}", std::process::id()),
        password: format!("pw-{:016x}", rand::random::<u64>()),
    };
    sqlx::raw_sql(AssertSqlSafe(format!(
        "create role \"{}\" login createrole createdb password '{}'",
        role.name, role.password
    )))
    .execute(admin)
    .await
    .map_err(|e| format!("creating the owner role: {e}"))?;
    if let Ok(mut roles) = MADE_ROLES.lock() {
        roles.push(role.name.clone());
    }
    Ok(role)
}

extern "C" fn drop_template_at_exit() {
    let Some(Ok(shared)) = SHARED.get() else {
        return;
    };
    let admin_url = shared.admin_url.clone();
    let template = shared.template.clone();
    let roles = MADE_ROLES.lock().map(|r| r.clone()).unwrap_or_default();
    let _ = std::thread::spawn(move || {
        block_on(async move {
            let admin = admin_pool(&admin_url).await;
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "drop database if exists {template} with (force)"
            )))
            .execute(&admin)
            .await;
            // Operators first, then the owner (who made the group roles,
            // which other test runs on this server may still use).
            for role in roles.iter().rev() {
                let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                    "drop owned by \"{role}\"; drop role if exists \"{role}\""
                )))
                .execute(&admin)
                .await;
            }
        })
    })
    .join();
}

fn start_throwaway_server() -> anyhow::Result<String> {
    let dir = pg_local::throwaway_dir("creditdesk-test")?;
    let server = LocalServer::new(PgBinaries::find()?, dir, Durability::Throwaway);
    server.remove_when_process_exits(std::process::id())?;
    server.init_if_needed()?;
    server.start()?;
    Ok(server.url("postgres"))
}

async fn admin_pool(admin_url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options(admin_url))
        .await
        .unwrap_or_else(|e| panic!("connecting to the test server: {e}"))
}

/// A plain client's options (as psql connects: no `extra_float_digits`,
/// which a default PgBouncer refuses).
pub fn options(url: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(url)
        .unwrap_or_else(|e| panic!("bad test database URL: {e}"))
        .extra_float_digits(None)
}

/// The same server and credentials, another database.
fn database_url(url: &str, database: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_path(&format!("/{database}"));
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => panic!("cannot start a runtime: {e}"),
    }
}

/// A seeded database for a benchmark: `DATABASE_URL` if set (seeded here
/// when it has no users), else a server of our own with durable settings
/// (figures should be what a real server does), removed when the process
/// exits. Returns the URL and the pool; prints the seed time when it seeds.
pub async fn bench_database(users: u32, max_connections: u32) -> (String, Db) {
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let dir = pg_local::throwaway_dir("creditdesk-bench").expect("dir");
            let server = LocalServer::new(
                PgBinaries::find().expect("binaries"),
                &dir,
                Durability::Durable,
            );
            server
                .remove_when_process_exits(std::process::id())
                .expect("watchdog");
            server.init_if_needed().expect("initdb");
            server
                .start_with("-c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min")
                .expect("start");
            server.url("postgres")
        }
    };
    let db = crate::db::Target::parse(&url)
        .expect("url")
        .connect(crate::db::Mode::default(), max_connections)
        .await
        .expect("connect");
    let pool = db.pool();
    crate::db::migrate(&db).await.expect("migrate");
    if scalar_i64(pool, "select count(*) from users").await == 0 {
        let started = std::time::Instant::now();
        let report =
            crate::db::seed::seed(pool, users, &|step: &str| eprintln!("  seeding: {step}"))
                .await
                .expect("seed");
        println!(
            "seed --users {users}: {:.1} s ({} users, {} ledger rows)",
            started.elapsed().as_secs_f64(),
            report.users,
            report.ledger_entries
        );
    }
    (url, db)
}
