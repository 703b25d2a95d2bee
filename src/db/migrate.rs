//! Applying the schema changes to a live database without stopping the app.
//!
//! sqlx embeds the migrations and their checksums and its table format is
//! kept (`creditdesk._sqlx_migrations`, so `sqlx migrate info` can read it),
//! but they are run here, because production needs more than sqlx's runner:
//! - the compatibility check runs first, and an incompatible database is
//!   refused before anything is written ([`super::install::check`]);
//! - each transactional migration runs under the short `lock_timeout` it
//!   sets itself; when it times out, the error names the table that was
//!   busy (a second connection watches what the migration waits for) and
//!   says that nothing of that migration was applied;
//! - a `-- no-transaction` migration (indexes built `CONCURRENTLY`) runs one
//!   statement at a time, and an index left invalid by an interrupted build
//!   is dropped and built again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::migrate::{Migration, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, Postgres};

use super::install;
use super::{Db, describe_error};
use crate::error::{Error, Result};

/// The schema changes this tool owns, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Where sqlx's bookkeeping lives: in the tool's schema, out of the API's reach.
pub const MIGRATIONS_TABLE: &str = "creditdesk._sqlx_migrations";

/// Serialises concurrent `migrate` runs on one database (session-level, on
/// the runner's own direct connection).
const LOCK_KEY: i64 = 0x6372_6564_6974_6d67; // "creditmg"

/// One migration, as the reports name it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub version: i64,
    pub description: String,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04} {}", self.version, self.description)
    }
}

impl From<&Migration> for Step {
    fn from(m: &Migration) -> Self {
        Step {
            version: m.version,
            description: m.description.to_string(),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub applied: Vec<Step>,
    /// Invalid indexes (left by an interrupted concurrent build) rebuilt.
    pub rebuilt_indexes: Vec<String>,
}

/// Checks the database, then applies the migrations not yet applied, in
/// order. Refuses, changing nothing, when the check finds an incompatibility
/// (the report is in the error). Needs a direct connection: a transaction
/// pooler can't hold the session lock that keeps two runs apart, nor run
/// `CREATE INDEX CONCURRENTLY` statement by statement on one connection.
pub async fn migrate(db: &Db) -> Result<Applied> {
    if db.mode().pooled {
        return Err(Error::invalid(
            "database-url",
            "migrations need a direct connection (or a session-mode pooler): a transaction \
             pooler can't keep one connection for the run. Use the direct URL for `migrate`",
        ));
    }
    let mut conn = db.pool().acquire().await.map_err(super::infra)?;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(super::infra)?;
    let outcome = run_locked(db, &mut conn).await;
    // Leave the pooled connection as it was found: the no-transaction
    // migrations set session timeouts and a search path.
    let _ = conn.execute("reset all").await;
    let _ = sqlx::query("select pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await;
    outcome
}

async fn run_locked(db: &Db, conn: &mut PoolConnection<Postgres>) -> Result<Applied> {
    let report = install::check_on(conn).await?;
    if !report.is_clean() {
        return Err(Error::MigrationRefused(Box::new(report)));
    }
    ensure_bookkeeping(conn).await?;
    let done = applied_versions(conn).await?;
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut **conn)
        .await
        .map_err(super::infra)?;
    let mut result = Applied {
        applied: Vec::new(),
        rebuilt_indexes: Vec::new(),
    };
    for m in MIGRATOR.iter() {
        match done.iter().find(|(v, _)| *v == m.version) {
            Some((_, checksum)) if checksum.as_slice() == &*m.checksum => continue,
            Some(_) => {
                return Err(Error::Infrastructure(format!(
                    "migration {} was changed after it was applied to this database: this \
                     creditdesk and the database disagree about the schema",
                    Step::from(m)
                )));
            }
            None => {}
        }
        let watcher = Watcher::start(db, pid);
        let started = Instant::now();
        let outcome = if m.no_tx {
            apply_without_transaction(conn, m, &mut result.rebuilt_indexes).await
        } else {
            apply_in_transaction(conn, m).await
        };
        let waited_for = watcher.stop();
        outcome.map_err(|e| migration_error(m, &result.applied, &e, waited_for))?;
        record(conn, m, started.elapsed()).await?;
        result.applied.push(Step::from(m));
    }
    // Every run: a group role a DBA created since gets its privileges.
    conn.execute("select creditdesk.grant_privileges()")
        .await
        .map_err(super::infra)?;
    Ok(result)
}

/// The schema and sqlx's table, locked down like everything else the tool
/// creates (row level security on, nothing for PUBLIC or the API roles).
async fn ensure_bookkeeping(conn: &mut PgConnection) -> Result<()> {
    let sql = format!(
        "begin;
         set local lock_timeout = '3s';
         create schema if not exists creditdesk;
         revoke all on schema creditdesk from public;
         create table if not exists {MIGRATIONS_TABLE} (
           version bigint primary key,
           description text not null,
           installed_on timestamptz not null default now(),
           success boolean not null,
           checksum bytea not null,
           execution_time bigint not null
         );
         alter table {MIGRATIONS_TABLE} enable row level security;
         revoke all on table {MIGRATIONS_TABLE} from public;
         do $$
         declare r text;
         begin
           for r in select rolname from pg_roles
                    where rolname in ('anon', 'authenticated', 'service_role') loop
             execute format('revoke all on schema creditdesk from %I', r);
             execute format('revoke all on table {MIGRATIONS_TABLE} from %I', r);
           end loop;
         end $$;
         commit;"
    );
    let result = conn.execute(AssertSqlSafe(sql)).await;
    if result.is_err() {
        let _ = conn.execute("rollback").await;
    }
    result.map(|_| ()).map_err(super::infra)
}

async fn applied_versions(conn: &mut PgConnection) -> Result<Vec<(i64, Vec<u8>)>> {
    sqlx::query_as(AssertSqlSafe(format!(
        "select version, checksum from {MIGRATIONS_TABLE} where success order by version"
    )))
    .fetch_all(conn)
    .await
    .map_err(super::infra)
}

async fn record(conn: &mut PgConnection, m: &Migration, took: Duration) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "insert into {MIGRATIONS_TABLE} (version, description, success, checksum, execution_time)
         values ($1, $2, true, $3, $4)"
    )))
    .bind(m.version)
    .bind(&*m.description)
    .bind(&*m.checksum)
    .bind(i64::try_from(took.as_nanos()).unwrap_or(i64::MAX))
    .execute(conn)
    .await
    .map(|_| ())
    .map_err(super::infra)
}

/// The whole file in one transaction: it applies entirely or not at all.
async fn apply_in_transaction(
    conn: &mut PgConnection,
    m: &Migration,
) -> std::result::Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    tx.execute(AssertSqlSafe(m.sql.as_str().to_owned())).await?;
    tx.commit().await
}

/// Statement by statement, outside a transaction. Every statement is
/// idempotent (`if not exists`), so a run cut short is finished by the next.
async fn apply_without_transaction(
    conn: &mut PgConnection,
    m: &Migration,
    rebuilt: &mut Vec<String>,
) -> std::result::Result<(), sqlx::Error> {
    for statement in statements(m.sql.as_str()) {
        if let Some(index) = concurrent_index_name(&statement) {
            let invalid: Option<bool> = sqlx::query_scalar(
                "select not i.indisvalid from pg_index i
                 where i.indexrelid = to_regclass('public.' || quote_ident($1))",
            )
            .bind(&index)
            .fetch_optional(&mut *conn)
            .await?;
            if invalid == Some(true) {
                conn.execute(AssertSqlSafe(format!(
                    "drop index concurrently if exists public.\"{}\"",
                    index.replace('"', "\"\"")
                )))
                .await?;
                rebuilt.push(index);
            }
        }
        conn.execute(AssertSqlSafe(statement)).await?;
    }
    Ok(())
}

/// The statements of a no-transaction migration: split at a `;` that ends a
/// line, comments dropped. Such files hold only plain statements (no
/// dollar quotes, no semicolons inside strings); a unit test checks each.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let code = match line.find("--") {
            Some(i) => &line[..i],
            None => line,
        };
        if code.trim().is_empty() {
            continue;
        }
        current.push_str(code);
        current.push('\n');
        if code.trim_end().ends_with(';') {
            out.push(current.trim().to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// `create [unique] index concurrently if not exists NAME ...` -> `NAME`.
fn concurrent_index_name(statement: &str) -> Option<String> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let start = match lower.as_slice() {
        [c, i, ..] if c == "create" && i == "index" => 2,
        [c, u, i, ..] if c == "create" && u == "unique" && i == "index" => 3,
        _ => return None,
    };
    let rest = &lower[start..];
    if rest.len() < 5 || rest[0] != "concurrently" || rest[1..4] != ["if", "not", "exists"] {
        return None;
    }
    Some(words[start + 4].trim_matches('"').to_owned())
}

/// What a failed migration tells the operator: PostgreSQL's own words, which
/// migration, and what was and wasn't applied.
fn migration_error(
    m: &Migration,
    applied: &[Step],
    e: &sqlx::Error,
    waited_for: Option<String>,
) -> Error {
    let step = Step::from(m);
    let before = match applied {
        [] => String::new(),
        [one] => format!("; {one} was applied before it"),
        many => format!(
            "; {} to {} were applied before it",
            many[0],
            many[many.len() - 1]
        ),
    };
    let code = e.as_database_error().and_then(|d| d.code());
    match code.as_deref() {
        Some("55P03") => Error::Busy(format!(
            "{} is busy: migration {step} waited for its lock longer than the migration's \
             lock_timeout and changed nothing{before}. The app keeps running; run \
             `creditdesk migrate` again when it is quieter, and it continues from there",
            waited_for.unwrap_or_else(|| "a table it changes".to_owned())
        )),
        _ => Error::Infrastructure(format!(
            "migration {step} failed and {}{before}: {}",
            if m.no_tx {
                "stopped part-way (its statements are safe to run again: `creditdesk migrate` \
                 finishes it)"
            } else {
                "changed nothing"
            },
            describe_error(e)
        )),
    }
}

/// Watches, from a second connection, which table the migration's backend
/// is waiting to lock, and who holds it.
struct Watcher {
    seen: Arc<Mutex<Option<String>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Watcher {
    fn start(db: &Db, pid: i32) -> Self {
        let seen = Arc::new(Mutex::new(None));
        let pool = db.pool().clone();
        let shared = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            // Best effort: with no second connection to be had, no name.
            let Ok(Ok(mut conn)) =
                tokio::time::timeout(Duration::from_secs(1), pool.acquire()).await
            else {
                return;
            };
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let waiting: Option<String> = sqlx::query_scalar(
                    "select format('table %s (held by %s)',
                              (select format('%I.%I', n.nspname, c.relname) from pg_class c
                               join pg_namespace n on n.oid = c.relnamespace where c.oid = l.relation),
                              coalesce((select string_agg(format('pid %s, %s', a.pid,
                                                 coalesce(nullif(a.application_name, ''), a.usename::text)),
                                                 '; ')
                                        from pg_stat_activity a
                                        where a.pid = any(pg_blocking_pids($1))),
                                       'another session'))
                     from pg_locks l
                     where l.pid = $1 and not l.granted and l.locktype = 'relation'
                     limit 1",
                )
                .bind(pid)
                .fetch_optional(&mut *conn)
                .await
                .ok()
                .flatten();
                if let Some(w) = waiting
                    && let Ok(mut slot) = shared.lock()
                {
                    *slot = Some(w);
                }
            }
        });
        Self {
            seen,
            task: Some(task),
        }
    }

    fn stop(mut self) -> Option<String> {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.seen.lock().ok().and_then(|s| s.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_transaction_migrations_split_into_plain_statements() {
        let mut seen = 0;
        for m in MIGRATOR.iter().filter(|m| m.no_tx) {
            seen += 1;
            assert!(
                !m.sql.as_str().contains("$$"),
                "{} runs statement by statement: no dollar quotes",
                Step::from(m)
            );
            let statements = statements(m.sql.as_str());
            assert!(!statements.is_empty());
            for s in &statements {
                assert!(s.ends_with(';'), "{s}");
                assert_eq!(s.matches(';').count(), 1, "one statement: {s}");
                let lower = s.to_ascii_lowercase();
                assert!(
                    lower.starts_with("set ") || concurrent_index_name(s).is_some(),
                    "{}: only SET and CREATE INDEX CONCURRENTLY IF NOT EXISTS: {s}",
                    Step::from(m)
                );
            }
        }
        assert!(seen >= 3);
    }

    #[test]
    fn index_names_of_concurrent_builds() {
        assert_eq!(
            concurrent_index_name(
                "create unique index concurrently if not exists \"a_B_key\" on t (x);"
            )
            .as_deref(),
            Some("a_B_key")
        );
        assert_eq!(
            concurrent_index_name("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (x);").as_deref(),
            Some("i")
        );
        assert_eq!(concurrent_index_name("create index i on t (x);"), None);
        assert_eq!(concurrent_index_name("set lock_timeout = '1s';"), None);
    }

    #[test]
    fn every_transactional_migration_sets_its_timeouts() {
        for m in MIGRATOR.iter() {
            let sql = m.sql.as_str();
            assert!(sql.contains("lock_timeout"), "{}", Step::from(m));
            assert!(sql.contains("statement_timeout"), "{}", Step::from(m));
        }
    }
}
