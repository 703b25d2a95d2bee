//! How every operation reaches the database: a pool plus the rules for using
//! it safely on a busy production server, possibly behind a transaction
//! pooler (PgBouncer, Supabase's Supavisor).
//!
//! - Every query runs inside an explicit transaction that this module opens:
//!   reads `READ ONLY` under a `statement_timeout`, changes under a
//!   `lock_timeout` too. All of it is `SET LOCAL`, so nothing outlives the
//!   transaction on a pooled server connection; a read-only run is read-only
//!   transaction by transaction, not by a session setting a pooler may lose
//!   or hand to the next client.
//! - Behind a transaction pooler, statements are unnamed (not cached on the
//!   server): a named statement would stay on a server connection that the
//!   pooler then gives to another client. Inside a transaction the pooler
//!   keeps the same server connection, so the parse and the execution of an
//!   unnamed statement land on the same one.

use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Either, Execute, Executor, PgConnection, PgPool, Postgres, SqlStr, Transaction};

use super::infra;
use super::session::Session;
use crate::domain::Refusal;
use crate::domain::role::Action;
use crate::error::Result;

/// How long statements and lock waits may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A change waits at most this long for a row or table another session
    /// holds, then gives up with nothing written.
    pub lock: Duration,
    /// Any one statement runs at most this long.
    pub statement: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            lock: Duration::from_secs(5),
            statement: Duration::from_secs(30),
        }
    }
}

/// How the connection is used; fixed for the life of a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mode {
    /// Behind a transaction-mode pooler: no server-side statement cache.
    pub pooled: bool,
    /// Every transaction is `READ ONLY`; changes are refused before they start.
    pub read_only: bool,
    pub timeouts: Timeouts,
}

/// A pool, its [`Mode`] and, once read, who is connected; perhaps a read
/// replica for heavy reads, and a slot through which a read in flight can be
/// cancelled on the server. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    mode: Arc<Mode>,
    session: Option<Arc<Session>>,
    replica: Option<PgPool>,
    cancel: Option<CancelSlot>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("mode", &self.mode).finish()
    }
}

impl Db {
    pub fn new(pool: PgPool, mode: Mode) -> Self {
        Self {
            pool,
            mode: Arc::new(mode),
            session: None,
            replica: None,
            cancel: None,
        }
    }

    /// Heavy reads (`credits verify`, history, the audit log, reports) go to
    /// `replica` from now on; changes, and the reads that decide them, stay
    /// on the primary.
    pub fn with_replica(mut self, replica: PgPool) -> Self {
        self.replica = Some(replica);
        self
    }

    pub fn replica(&self) -> Option<&PgPool> {
        self.replica.as_ref()
    }

    /// The same database; its reads record their server process in `slot`,
    /// so that [`CancelSlot::cancel`] can stop them on the server.
    pub fn cancellable(&self, slot: &CancelSlot) -> Self {
        Self {
            cancel: Some(slot.clone()),
            ..self.clone()
        }
    }

    /// Reads who is connected ([`super::session::load`]): refuses a
    /// database without the schema, or a login that is no operator.
    pub async fn with_session(mut self) -> Result<Self> {
        let session = super::session::load(&self).await?;
        self.session = Some(Arc::new(session));
        Ok(self)
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_deref()
    }

    /// Refuses, naming the role, an action the login's groups don't allow;
    /// the database would refuse it too, with less helpful words. Before the
    /// session is read, the database alone decides.
    pub fn require(&self, action: Action) -> Result<()> {
        match &self.session {
            Some(s) => s.permissions.check(action).map_err(Into::into),
            None => Ok(()),
        }
    }

    /// A pool used as a plain direct connection with default timeouts.
    pub fn direct(pool: PgPool) -> Self {
        Self::new(pool, Mode::default())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn is_read_only(&self) -> bool {
        self.mode.read_only
    }

    /// A read-only transaction (read committed).
    pub async fn read(&self) -> Result<Tx> {
        self.begin("begin isolation level read committed read only", false)
            .await
    }

    /// A read-only transaction for a heavy read: on the replica when there
    /// is one (it may lag the primary by the replication delay).
    pub async fn heavy_read(&self) -> Result<Tx> {
        match &self.replica {
            Some(replica) => {
                self.begin_on(
                    replica,
                    "begin isolation level read committed read only",
                    false,
                )
                .await
            }
            None => self.read().await,
        }
    }

    /// [`Db::snapshot`] on the replica when there is one.
    pub async fn heavy_snapshot(&self) -> Result<Tx> {
        match &self.replica {
            Some(replica) => {
                self.begin_on(
                    replica,
                    "begin isolation level repeatable read read only",
                    false,
                )
                .await
            }
            None => self.snapshot().await,
        }
    }

    /// A read-only transaction that sees one snapshot throughout, for
    /// screens whose parts must agree with each other.
    pub async fn snapshot(&self) -> Result<Tx> {
        self.begin("begin isolation level repeatable read read only", false)
            .await
    }

    /// A transaction for a change, under the lock timeout. Refused at once in
    /// a read-only run.
    pub async fn write(&self) -> Result<Tx> {
        if self.mode.read_only {
            return Err(Refusal::ReadOnly.into());
        }
        self.begin("begin isolation level read committed read write", true)
            .await
    }

    async fn begin(&self, begin: &str, with_lock_timeout: bool) -> Result<Tx> {
        self.begin_on(&self.pool, begin, with_lock_timeout).await
    }

    async fn begin_on(&self, pool: &PgPool, begin: &str, with_lock_timeout: bool) -> Result<Tx> {
        let t = self.mode.timeouts;
        let mut sql = format!(
            "{begin}; set local statement_timeout = {}",
            t.statement.as_millis()
        );
        if with_lock_timeout {
            sql.push_str(&format!(
                "; set local lock_timeout = {}",
                t.lock.as_millis()
            ));
        }
        let inner = pool
            .begin_with(sqlx::AssertSqlSafe(sql))
            .await
            .map_err(infra)?;
        let mut tx = Tx {
            inner,
            persistent: !self.mode.pooled,
            cancel: None,
        };
        // Reads only: a change is never stopped half-way by a cancel.
        if let Some(slot) = &self.cancel
            && !with_lock_timeout
        {
            let (pid, started): (i32, DateTime<Utc>) =
                sqlx::query_as("select pg_backend_pid(), now()")
                    .persistent(tx.persistent)
                    .fetch_one(&mut *tx.inner)
                    .await
                    .map_err(infra)?;
            slot.arm(Running {
                pool: pool.clone(),
                pid,
                started,
            });
            tx.cancel = Some(Armed(slot.clone()));
        }
        Ok(tx)
    }
}

/// Where a read in flight leaves its server process id, so that whoever
/// stops waiting for it (the console's Esc) can also stop it on the server,
/// with `pg_cancel_backend` from another connection: the read's transaction
/// holds its server connection (also behind a pooler) until it ends, and
/// the slot is emptied when it does.
#[derive(Clone, Default)]
pub struct CancelSlot(Arc<std::sync::Mutex<Option<Running>>>);

/// A read in flight: its server process and when its transaction began,
/// which together name that one transaction (a pooler hands the process to
/// others once it ends).
struct Running {
    pool: PgPool,
    pid: i32,
    started: DateTime<Utc>,
}

impl fmt::Debug for CancelSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelSlot")
    }
}

impl CancelSlot {
    pub fn new() -> Self {
        Self::default()
    }

    fn arm(&self, running: Running) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(running);
        }
    }

    fn disarm(&self) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = None;
        }
    }

    /// Cancels the read in flight, if any; the read then fails with the
    /// statement cancelled and its transaction ends. Returns at once.
    pub fn cancel(&self) {
        let Some(Running { pool, pid, started }) = self.0.lock().ok().and_then(|mut s| s.take())
        else {
            return;
        };
        tokio::spawn(async move {
            // One simple-protocol message (also behind a pooler), naming the
            // transaction as well as the process: if the read has ended in
            // the meantime, nobody else's query is cancelled. The values are
            // an integer and a time the server gave.
            let started = started.format("%Y-%m-%dT%H:%M:%S%.6fZ");
            let sql = sqlx::AssertSqlSafe(format!(
                "select pg_cancel_backend(pid) from pg_stat_activity
                 where pid = {pid} and xact_start = '{started}'::timestamptz"
            ));
            // An idle pooled connection if there is one; else a connection
            // of its own, so that a pool full of stuck reads (all waiting
            // on one lock) can still be cancelled.
            match pool.try_acquire() {
                Some(mut conn) => {
                    let _ = sqlx::raw_sql(sql).execute(&mut *conn).await;
                }
                None => {
                    use sqlx::Connection;
                    if let Ok(mut conn) =
                        sqlx::PgConnection::connect_with(&pool.connect_options()).await
                    {
                        let _ = sqlx::raw_sql(sql).execute(&mut conn).await;
                        let _ = conn.close().await;
                    }
                }
            }
        });
    }
}

/// One transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: Transaction<'static, Postgres>,
    persistent: bool,
    cancel: Option<Armed>,
}

/// A read's server process in its [`CancelSlot`], taken out when the read's
/// transaction ends however it ends: a cancel must never reach the server
/// connection after it has moved on to something else.
struct Armed(CancelSlot);

impl Drop for Armed {
    fn drop(&mut self) {
        self.0.disarm();
    }
}

impl fmt::Debug for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx")
            .field("persistent", &self.persistent)
            .finish()
    }
}

impl Tx {
    /// The executor for this transaction's queries: `query!(...).fetch_one(tx.conn())`.
    pub fn conn(&mut self) -> Conn<'_> {
        Conn {
            inner: &mut self.inner,
            persistent: self.persistent,
        }
    }

    pub async fn commit(mut self) -> Result<()> {
        // Before the commit: after it, the connection may serve another.
        drop(self.cancel.take());
        self.inner.commit().await.map_err(infra)
    }

    /// Ends a read explicitly (a dropped transaction would leave its
    /// rollback to the connection's next use).
    pub async fn finish(self) -> Result<()> {
        self.commit().await
    }
}

/// An executor over a connection that may refuse server-side statement
/// caching (see the module docs).
pub struct Conn<'c> {
    inner: &'c mut PgConnection,
    persistent: bool,
}

impl fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("persistent", &self.persistent)
            .finish()
    }
}

impl<'c> Conn<'c> {
    /// The same connection again, for the next query of the transaction.
    pub fn again(&mut self) -> Conn<'_> {
        Conn {
            inner: &mut *self.inner,
            persistent: self.persistent,
        }
    }
}

/// A query whose caching is decided by the connection it runs on.
struct Uncached<E> {
    query: E,
    persistent: bool,
}

impl<'q, E: Execute<'q, Postgres>> Execute<'q, Postgres> for Uncached<E> {
    fn sql(self) -> SqlStr {
        self.query.sql()
    }

    fn statement(&self) -> Option<&PgStatement> {
        self.query.statement()
    }

    fn take_arguments(
        &mut self,
    ) -> std::result::Result<Option<sqlx::postgres::PgArguments>, sqlx::error::BoxDynError> {
        self.query.take_arguments()
    }

    fn persistent(&self) -> bool {
        self.persistent && self.query.persistent()
    }
}

impl<'c> Executor<'c> for Conn<'c> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, std::result::Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        self.inner.fetch_many(Uncached {
            query,
            persistent: self.persistent,
        })
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, std::result::Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        self.inner.fetch_optional(Uncached {
            query,
            persistent: self.persistent,
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, std::result::Result<PgStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        self.inner.prepare_with(sql, parameters)
    }

    fn describe<'e>(
        self,
        sql: SqlStr,
    ) -> BoxFuture<'e, std::result::Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.inner.describe(sql)
    }
}
