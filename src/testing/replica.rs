//! A primary and a streaming replica of it, both throwaway servers from the
//! machine's binaries: the replica is made with `pg_basebackup -R` and
//! follows the primary as a hot standby, as Supabase read replicas and RDS
//! ones do. One pair per test binary; each test gets its own database.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::db::{Db, Mode};
use crate::pg_local::{self, Durability, LocalServer, PgBinaries};

struct Pair {
    primary: LocalServer,
    replica: LocalServer,
}

static PAIR: OnceLock<Result<Pair, String>> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

fn pair() -> &'static Pair {
    let made = PAIR.get_or_init(|| {
        let start = || -> anyhow::Result<Pair> {
            let bin = PgBinaries::find()?;
            let primary = LocalServer::new(
                bin.clone(),
                pg_local::throwaway_dir("creditdesk-primary")?,
                Durability::Throwaway,
            );
            primary.remove_when_process_exits(std::process::id())?;
            primary.init_if_needed()?;
            primary.start()?;
            let replica = LocalServer::new(
                bin,
                pg_local::throwaway_dir("creditdesk-replica")?,
                Durability::Throwaway,
            );
            replica.remove_when_process_exits(std::process::id())?;
            replica.init_replica_of(&primary)?;
            replica.start_with("-c hot_standby=on")?;
            Ok(Pair { primary, replica })
        };
        start().map_err(|e| format!("{e:#}"))
    });
    match made {
        Ok(p) => p,
        Err(e) => panic!("no primary and replica: {e}"),
    }
}

/// One test's database, migrated on the primary and followed by the replica.
pub struct ReplicatedDb {
    pub name: String,
    /// The primary, as its superuser.
    pub primary: PgPool,
    /// The replica, as its superuser (to pause and resume replay).
    pub replica: PgPool,
    pub primary_url: String,
    pub replica_url: String,
}

impl ReplicatedDb {
    pub async fn new() -> ReplicatedDb {
        let pair = pair();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("repl_{}_{n}", std::process::id());
        let admin = connect(&pair.primary.url("postgres")).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        admin.close().await;
        let primary_url = pair.primary.url(&name);
        let replica_url = pair.replica.url(&name);
        let primary = connect(&primary_url).await;
        crate::db::migrate(&Db::direct(primary.clone()))
            .await
            .unwrap_or_else(|e| panic!("migrating {name}: {e}"));
        // The database appears on the replica once replayed.
        let deadline = Instant::now() + Duration::from_secs(30);
        let replica = loop {
            if let Ok(pool) = PgPoolOptions::new()
                .max_connections(5)
                .connect(&replica_url)
                .await
            {
                break pool;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never reached the replica"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let db = ReplicatedDb {
            name,
            primary,
            replica,
            primary_url,
            replica_url,
        };
        db.caught_up().await;
        db
    }

    /// The tool as configured with the replica for heavy reads.
    pub fn tool(&self) -> Db {
        Db::new(self.primary.clone(), Mode::default()).with_replica(self.replica.clone())
    }

    /// Waits until the replica has replayed everything the primary wrote (to
    /// the insert position: throwaway servers commit asynchronously, so the
    /// write position may not include the last commit yet).
    pub async fn caught_up(&self) {
        let target: String = sqlx::query_scalar("select pg_current_wal_insert_lsn()::text")
            .fetch_one(&self.primary)
            .await
            .expect("primary lsn");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let done: bool = sqlx::query_scalar("select pg_last_wal_replay_lsn() >= $1::pg_lsn")
                .bind(&target)
                .fetch_one(&self.replica)
                .await
                .expect("replica lsn");
            if done {
                return;
            }
            assert!(Instant::now() < deadline, "the replica never caught up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops (and resumes) applying what arrives, to make the replica lag.
    pub async fn pause_replay(&self, paused: bool) {
        let sql = if paused {
            "select pg_wal_replay_pause()"
        } else {
            "select pg_wal_replay_resume()"
        };
        sqlx::query(sql)
            .execute(&self.replica)
            .await
            .expect("replay control");
    }
}

async fn connect(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(5)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}
