//! `creditdesk demo`: a local PostgreSQL whose data persists in the user's
//! data directory, migrated and loaded with demo data on first start.

use clap::Args;
use sqlx::AssertSqlSafe;

use super::Cli;
use crate::db::{self, Target};
use crate::error::{Error, Result};
use crate::pg_local::{self, Durability, LocalServer, PgBinaries};

const DEMO_DATABASE: &str = "creditdesk";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Delete the demo database and start over
    #[arg(long)]
    pub reset: bool,
    /// Users to generate on first start
    #[arg(long, default_value_t = 2000)]
    pub users: u32,
    /// Keep the database running until Ctrl-C instead of opening the console
    #[arg(long)]
    pub no_console: bool,
}

pub async fn run(cli: &Cli, args: &DemoArgs) -> Result<()> {
    let server = start_server(args.reset).map_err(|e| Error::Infrastructure(format!("{e:#}")))?;
    let outcome = prepare_and_open_console(cli, &server, args).await;
    let stopped = server.stop();
    outcome?;
    stopped.map_err(|e| Error::Infrastructure(format!("{e:#}")))?;
    eprintln!("demo database stopped");
    Ok(())
}

fn start_server(reset: bool) -> anyhow::Result<LocalServer> {
    let dir = pg_local::demo_dir()?;
    let server = LocalServer::new(PgBinaries::find()?, &dir, Durability::Durable);
    if reset && dir.exists() {
        server.stop()?;
        std::fs::remove_dir_all(&dir)?;
        eprintln!("removed the demo data in {}", dir.display());
    }
    let fresh = !server.is_initialized();
    if fresh {
        eprintln!("creating a demo PostgreSQL in {}", dir.display());
    }
    server.init_if_needed()?;
    server.start()?;
    Ok(server)
}

async fn prepare_and_open_console(cli: &Cli, server: &LocalServer, args: &DemoArgs) -> Result<()> {
    let admin = Target::parse(&server.url("postgres"))?
        .connect(db::Mode::default(), 1)
        .await?;
    let admin = admin.pool();
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(DEMO_DATABASE)
            .fetch_one(admin)
            .await
            .map_err(db::infra)?;
    if !exists {
        sqlx::raw_sql(AssertSqlSafe(format!("create database {DEMO_DATABASE}")))
            .execute(admin)
            .await
            .map_err(db::infra)?;
    }
    admin.close().await;

    let url = server.url(DEMO_DATABASE);
    let db = Target::parse(&url)?.connect(db::Mode::default(), 4).await?;
    let pool = db.pool();
    let applied = db::migrate(pool).await?;
    if !applied.is_empty() {
        eprintln!("applied {} migration(s)", applied.len());
    }
    let has_users: bool = sqlx::query_scalar("select exists (select 1 from users)")
        .fetch_one(pool)
        .await
        .map_err(db::infra)?;
    if !has_users {
        super::seed(pool, args.users).await?;
    }
    pool.close().await;
    eprintln!("demo database running. Connect with:");
    eprintln!("  DATABASE_URL='{url}'");
    eprintln!("  {}", server.psql_hint(DEMO_DATABASE));
    if args.no_console {
        eprintln!("Press Ctrl-C to stop it.");
        return tokio::signal::ctrl_c()
            .await
            .map_err(|e| Error::Infrastructure(format!("waiting for Ctrl-C: {e}")));
    }
    let config = crate::tui::ConsoleConfig {
        target: Target::parse(&url)?,
        operator: super::operator(cli)?,
        read_only: cli.read_only,
        env_label: Some(cli.env_label.clone().unwrap_or_else(|| "DEMO".to_owned())),
        permissions: crate::domain::role::Permissions::owner(),
    };
    let db = config.target.connect(super::mode(cli), 8).await?;
    crate::tui::run(db, config).await
}
