//! The command line: parsing and the subcommands, each a thin face over `db`.

mod audit;
mod batches;
mod context;
mod coupons;
mod credits;
mod demo;
mod gift_cards;
pub mod output;
mod users;

use clap::{Parser, Subcommand};

use crate::db::{self, Target};
use crate::domain::operator::Operator;
use crate::error::{Error, Result};
use context::Ctx;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  2  invalid input (nothing was tried)
  3  refused by a rule: not found, already redeemed, limit reached, insufficient credits, read-only, ...
  4  infrastructure failure: database unreachable, wrong password, timeout, ...
  5  pending approval: the change is above a threshold and waits for a second person
Nothing is written when a command fails.";

#[derive(Debug, Parser)]
#[command(name = "creditdesk", version, about = "Back-office console for the photo app's credits: coupons, gift cards, ledger and generation batches.", after_help = AFTER_HELP)]
pub struct Cli {
    /// PostgreSQL URL, e.g. postgres://user:pass@host:5432/db?sslmode=verify-full
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Who is making changes, recorded on every change (default: your login name)
    #[arg(long, env = "CREDITDESK_OPERATOR", global = true)]
    pub operator: Option<String>,

    /// Make the database session itself read-only: every change is refused
    #[arg(long, global = true)]
    pub read_only: bool,

    /// Print the records as JSON
    #[arg(long, global = true, conflicts_with = "csv")]
    pub json: bool,

    /// Print lists as CSV
    #[arg(long, global = true)]
    pub csv: bool,

    /// A label for the environment shown in the console, e.g. PRODUCTION
    #[arg(long, env = "CREDITDESK_ENV_LABEL", global = true)]
    pub env_label: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the embedded schema changes and say which were applied
    Migrate,
    /// Start a local demo PostgreSQL full of realistic data and open the console
    Demo(demo::DemoArgs),
    /// Load realistic demo data into the empty database at DATABASE_URL
    Seed {
        /// How many users to generate (about 10 ledger entries each)
        #[arg(long, default_value_t = 2000)]
        users: u32,
    },
    /// Look users up
    #[command(subcommand)]
    Users(users::UsersCmd),
    /// Balances and the credit ledger
    #[command(subcommand)]
    Credits(credits::CreditsCmd),
    /// Discount coupons: create, list, deactivate, redeem credits coupons
    #[command(subcommand)]
    Coupons(coupons::CouponsCmd),
    /// Gift cards: issue (one or thousands), list, revoke, redeem
    #[command(subcommand, name = "gift-cards")]
    GiftCards(gift_cards::GiftCardsCmd),
    /// Photo-generation batches: find stuck or failed ones, fail and refund
    #[command(subcommand)]
    Batches(batches::BatchesCmd),
    /// The audit log of changes made with this tool, newest first
    Audit(audit::AuditArgs),
}

/// Runs the parsed command line; the caller prints the error and exits with its code.
pub async fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Some(Command::Demo(args)) => demo::run(&cli, args).await,
        Some(Command::Migrate) => {
            let db = connect(&cli, 2).await?;
            let applied = db::migrate(db.pool()).await?;
            if applied.is_empty() {
                println!("the schema is up to date: nothing to apply");
            } else {
                println!("applied {} migration(s):", applied.len());
                for m in applied {
                    println!("  {m}");
                }
            }
            Ok(())
        }
        Some(Command::Seed { users }) => {
            let db = connect(&cli, 2).await?;
            // An empty database is the expected input: give it the schema.
            let applied = db::migrate(db.pool()).await?;
            if !applied.is_empty() {
                eprintln!("applied {} migration(s) first", applied.len());
            }
            seed(db.pool(), *users).await
        }
        Some(Command::Users(cmd)) => users::run(&Ctx::open(&cli).await?, cmd).await,
        Some(Command::Credits(cmd)) => credits::run(&Ctx::open(&cli).await?, cmd).await,
        Some(Command::Audit(args)) => audit::run(&Ctx::open(&cli).await?, args).await,
        Some(Command::Coupons(cmd)) => coupons::run(&Ctx::open(&cli).await?, cmd).await,
        Some(Command::GiftCards(cmd)) => gift_cards::run(&Ctx::open(&cli).await?, cmd).await,
        Some(Command::Batches(cmd)) => batches::run(&Ctx::open(&cli).await?, cmd).await,
        None => {
            let config = console_config(&cli)?;
            let db = config.target.connect(mode(&cli), 8).await?;
            crate::tui::run(db, config).await
        }
    }
}

/// Loads the demo generator, printing progress on stderr.
async fn seed(pool: &sqlx::PgPool, users: u32) -> Result<()> {
    // db::seed refuses this too, under its table locks; asking first gives
    // the refusal its exit code.
    let existing: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(pool)
        .await
        .map_err(db::infra)?;
    if existing > 0 {
        return Err(crate::domain::Refusal::DatabaseNotEmpty { users: existing }.into());
    }
    let report = db::seed::seed(pool, users, &|step: &str| eprintln!("seeding: {step}"))
        .await
        .map_err(|e| Error::Infrastructure(format!("seeding failed: {e:#}")))?;
    println!(
        "seeded {} users, {} ledger entries, {} coupons, {} gift cards, {} batches, {} photos, {} transactions in {:.1} s",
        report.users,
        report.ledger_entries,
        report.coupons,
        report.gift_cards,
        report.batches,
        report.photos,
        report.transactions,
        report.elapsed_ms as f64 / 1000.0
    );
    Ok(())
}

/// The console's settings from the command line.
fn console_config(cli: &Cli) -> Result<crate::tui::ConsoleConfig> {
    Ok(crate::tui::ConsoleConfig {
        target: target(cli)?,
        operator: operator(cli)?,
        read_only: cli.read_only,
        env_label: cli.env_label.clone(),
        permissions: crate::domain::role::Permissions::owner(),
    })
}

/// `--operator` or `CREDITDESK_OPERATOR` (clap reads both), else the login
/// name, which root shells over SSH don't always export.
fn operator(cli: &Cli) -> Result<Operator> {
    let name = match &cli.operator {
        Some(name) => name.clone(),
        None => ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            .or_else(login_name_of_uid)
            .unwrap_or_default(),
    };
    Ok(Operator::parse(&name)?)
}

fn login_name_of_uid() -> Option<String> {
    // SAFETY: getpwuid returns a pointer to static storage or null; we copy
    // the name out before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_str()
            .ok()
            .map(str::to_owned)
    }
}

fn target(cli: &Cli) -> Result<Target> {
    Target::parse(cli.database_url.as_deref().unwrap_or(""))
}

/// How the command line asks the connection to be used.
fn mode(cli: &Cli) -> db::Mode {
    db::Mode {
        read_only: cli.read_only,
        ..db::Mode::default()
    }
}

async fn connect(cli: &Cli, max_connections: u32) -> Result<db::Db> {
    target(cli)?.connect(mode(cli), max_connections).await
}
