//! `creditdesk demo`: a local PostgreSQL whose data persists in the user's
//! data directory, migrated and loaded with demo data on first start.
//!
//! The server is stopped however the demo ends: quitting the console,
//! Ctrl-C, SIGTERM (`kill`, a service manager) or SIGHUP (the SSH session
//! closed), also while it is still being prepared.

use clap::Args;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::Cli;
use crate::db::{self, Target};
use crate::domain::operator::Operator;
use crate::domain::role::Group;
use crate::domain::text::Reason;
use crate::domain::user_ref::UserRef;
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
    /// Keep the database running until Ctrl-C, SIGTERM or SIGHUP instead of
    /// opening the console (with --json, print how to connect as JSON)
    #[arg(long)]
    pub no_console: bool,
    /// Open the console as this demo operator: ana (admin), bo (support),
    /// cy (finance), dee (oncall) or eve (auditor)
    #[arg(long, value_name = "LOGIN", default_value = "ana")]
    pub r#as: String,
}

/// The demo's operators, a login of their own in each group.
const OPERATORS: &[(&str, Group)] = &[
    ("ana", Group::Admin),
    ("bo", Group::Support),
    ("cy", Group::Finance),
    ("dee", Group::Oncall),
    ("eve", Group::Auditor),
];

/// How to reach the running demo, for `--no-console --json`.
#[derive(Debug, Serialize)]
struct Running {
    database_url: String,
    psql: String,
}

/// The signals that end the demo.
struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Signals {
    /// Listens from now on: from here these no longer kill the process.
    fn listen() -> Result<Self> {
        let on = |kind: SignalKind| {
            signal(kind).map_err(|e| Error::Infrastructure(format!("listening for signals: {e}")))
        };
        Ok(Self {
            int: on(SignalKind::interrupt())?,
            term: on(SignalKind::terminate())?,
            hup: on(SignalKind::hangup())?,
        })
    }

    /// The next one, by name.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}

pub async fn run(cli: &Cli, args: &DemoArgs) -> Result<()> {
    if cli.json && !args.no_console {
        return Err(Error::invalid(
            "json",
            "--json needs --no-console: the console draws on the terminal",
        ));
    }
    let mut signals = Signals::listen()?;
    let server = start_server(args.reset).map_err(|e| Error::Infrastructure(format!("{e:#}")))?;
    let outcome = tokio::select! {
        ready = prepare(&server, args) => match ready {
            Ok(url) => serve(cli, &server, args, &url, &mut signals).await,
            Err(e) => Err(e),
        },
        name = signals.next() => {
            eprintln!("{name}: stopping the demo database");
            Ok(())
        }
    };
    let stopped = server.stop();
    outcome?;
    stopped.map_err(|e| Error::Infrastructure(format!("{e:#}")))?;
    eprintln!("demo database stopped");
    Ok(())
}

/// Says how to connect, then waits for a signal or runs the console.
async fn serve(
    cli: &Cli,
    server: &LocalServer,
    args: &DemoArgs,
    url: &str,
    signals: &mut Signals,
) -> Result<()> {
    eprintln!("demo database running. Connect with:");
    eprintln!("  DATABASE_URL='{url}'");
    eprintln!("  {}", server.psql_hint(DEMO_DATABASE));
    eprintln!(
        "  as an operator: {} (the login in DATABASE_URL; `demo --as bo` opens the console as bo)",
        OPERATORS
            .iter()
            .map(|(name, group)| format!("{name} ({group})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if args.no_console {
        if cli.json {
            super::output::json(&Running {
                database_url: url.to_owned(),
                psql: server.psql_hint(DEMO_DATABASE),
            })?;
        }
        eprintln!("Press Ctrl-C to stop it.");
        let name = signals.next().await;
        eprintln!("{name}: stopping the demo database");
        return Ok(());
    }
    let flags = &cli.global;
    let claimed = super::settings::operator(flags, None, &crate::db::conninfo::System)?;
    let login = args.r#as.trim();
    if !OPERATORS.iter().any(|(name, _)| *name == login) {
        return Err(Error::invalid(
            "as",
            "the demo's operators are ana, bo, cy, dee and eve",
        ));
    }
    let target = Target::parse(&server.url_as(login, DEMO_DATABASE))?.named_for(claimed.as_ref());
    let mode = db::Mode {
        read_only: flags.read_only,
        ..db::Mode::default()
    };
    let db = target.connect(mode, 8).await?.with_session().await?;
    let config = crate::tui::ConsoleConfig {
        operator: super::operator_of(claimed, &db)?,
        target,
        read_only: flags.read_only,
        env_label: Some(flags.env_label.clone().unwrap_or_else(|| "DEMO".to_owned())),
        frame_colour: None,
        confirm_first_change: false,
        permissions: db
            .session()
            .map_or_else(crate::domain::role::Permissions::owner, |s| {
                s.permissions.clone()
            }),
    };
    tokio::select! {
        done = crate::tui::run(db, config) => done,
        // The console restores the terminal when it ends; ended from
        // outside, it can't, so do it here.
        name = signals.next() => {
            ratatui::restore();
            eprintln!("{name}: stopping the demo database");
            Ok(())
        }
    }
}

/// The demo's operators: a login of their own in each group (trust on the
/// demo's socket, so no password).
async fn operators(pool: &sqlx::PgPool) -> Result<()> {
    for (name, group) in OPERATORS {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "do $$ begin
               if to_regrole('{name}') is null then
                 create role {name} login in role {};
               end if;
             end $$",
            group.role_name()
        )))
        .execute(pool)
        .await
        .map_err(db::infra)?;
    }
    Ok(())
}

/// Two changes above the four-eyes thresholds, asked by bo and cy, waiting
/// for a second person (ana, an admin, may approve them).
async fn sample_requests(server: &LocalServer) -> Result<()> {
    let as_login = |login: &str| Target::parse(&server.url_as(login, DEMO_DATABASE));
    let bo = as_login("bo")?
        .connect(db::Mode::default(), 1)
        .await?
        .with_session()
        .await?;
    let someone = db::users::find(&bo, "@", 1).await?;
    if let Some(user) = someone.first() {
        db::credits::adjust(
            &bo,
            &Operator::parse("bo")?,
            &UserRef::Id(user.id),
            800,
            &Reason::parse("compensation for a week of failed batches (ticket 4121)")?,
            None,
        )
        .await?;
    }
    let cy = as_login("cy")?
        .connect(db::Mode::default(), 1)
        .await?
        .with_session()
        .await?;
    let cards = db::gift_cards::IssueRequest {
        value: db::gift_cards::CardValue::Pack("Premium".to_owned()),
        count: 25,
        recipient: db::gift_cards::RecipientEmail::parse("hr@acme.example").ok(),
        expires_at: None,
        reason: Reason::parse("Acme's holiday gifts").ok(),
    };
    db::gift_cards::issue(&cy, &Operator::parse("cy")?, &cards).await?;
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

/// Creates, migrates and seeds the demo database as needed; its URL.
async fn prepare(server: &LocalServer, args: &DemoArgs) -> Result<String> {
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
    let applied = db::migrate(&db).await?.applied;
    if !applied.is_empty() {
        eprintln!("applied {} migration(s)", applied.len());
    }
    let has_users: bool = sqlx::query_scalar("select exists (select 1 from users)")
        .fetch_one(pool)
        .await
        .map_err(db::infra)?;
    if !has_users {
        super::seed(pool, args.users, None).await?;
    }
    operators(pool).await?;
    let fresh = !has_users;
    pool.close().await;
    if fresh && let Err(e) = sample_requests(server).await {
        eprintln!("could not make the sample approval requests: {e}");
    }
    Ok(url)
}
