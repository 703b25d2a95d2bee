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

/// A pool, its [`Mode`] and, once read, who is connected. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    mode: Arc<Mode>,
    session: Option<Arc<Session>>,
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
        let inner = self
            .pool
            .begin_with(sqlx::AssertSqlSafe(sql))
            .await
            .map_err(infra)?;
        Ok(Tx {
            inner,
            persistent: !self.mode.pooled,
        })
    }
}

/// One transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: Transaction<'static, Postgres>,
    persistent: bool,
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

    pub async fn commit(self) -> Result<()> {
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
