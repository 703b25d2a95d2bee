//! The command line: parsing and the subcommands, each a thin face over `db`.

mod approvals;
mod audit;
mod batches;
mod bulk;
mod context;
mod coupons;
mod credits;
mod demo;
mod gift_cards;
mod install;
mod operators;
pub mod output;
pub mod profile;
mod progress;
mod reports;
pub mod settings;
mod users;

use clap::{CommandFactory, Parser, Subcommand};

use crate::db;
use crate::db::conninfo::System;
use crate::domain::Refusal;
use crate::domain::operator::Operator;
use crate::domain::text::sanitize;
use crate::error::{Error, Result};
use context::Ctx;
use output::{Format, Table};
use profile::Config;
use settings::{GlobalArgs, Settings};

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  2  invalid input (nothing was tried)
  3  refused by a rule: not found, already redeemed, limit reached, insufficient credits, read-only, ...
  4  infrastructure failure: database unreachable, wrong password, timeout, ...
  5  pending approval: the change is above a threshold and waits for a second person
  6  busy: another session holds a row or table the change needs (longer than
     --lock-timeout, 5s by default); nothing was written: try again
Nothing is written when a command fails.";

#[derive(Debug, Parser)]
#[command(name = "creditdesk", version, about = "Back-office console for the photo app's credits: coupons, gift cards, ledger and generation batches.", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Print the records as JSON
    #[arg(long, global = true, conflicts_with = "csv")]
    pub json: bool,

    /// Print lists as CSV
    #[arg(long, global = true)]
    pub csv: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the embedded schema changes (after checking the database is
    /// compatible), or only check with --check
    Migrate(install::MigrateArgs),
    /// Say what is wrong with this installation and how to fix it
    Doctor(install::DoctorArgs),
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
    /// The audit log of changes made with this tool, newest first; `audit
    /// verify` proves it unaltered
    Audit(audit::AuditArgs),
    /// Changes waiting for a second person: list, show, approve, reject
    #[command(subcommand)]
    Approvals(approvals::ApprovalsCmd),
    /// The dashboard's figures: credits per day, batches per hour
    #[command(subcommand)]
    Report(reports::ReportCmd),
    /// Operators' logins and their groups (admins)
    #[command(subcommand)]
    Operators(operators::OperatorsCmd),
    /// Approval thresholds (admins change them)
    #[command(subcommand)]
    Settings(operators::SettingsCmd),
    /// The profiles of the config file (passwords never shown)
    #[command(after_help = profile::HELP)]
    Profiles,
    /// Shell completions, e.g.
    /// creditdesk completions bash > ~/.local/share/bash-completion/completions/creditdesk
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout, or with --dir one page per command
    Man {
        /// Write creditdesk.1, creditdesk-credits.1, ... into this directory
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// The command line as it is parsed and as `--help` shows it: the global
/// options are listed once, in `creditdesk --help`, not again under every
/// command (they work anywhere on the line all the same).
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    hide_globals(cmd, &globals)
}

/// Gives every subcommand hidden copies of the global options: clap then
/// doesn't propagate (and show) its own, and the copies, global too, still
/// hand their values up to `Cli`.
fn hide_globals(mut cmd: clap::Command, globals: &[clap::Arg]) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(&name, |sub| {
            let note =
                "Global options (connection, profile, operator, --json, --csv): creditdesk --help";
            let after = match sub.get_after_help() {
                Some(text) => format!("{text}\n\n{note}"),
                None => note.to_owned(),
            };
            let sub = sub
                .args(globals.iter().map(|a| a.clone().hide(true)))
                .after_help(after);
            hide_globals(sub, globals)
        });
    }
    cmd
}

/// Runs the parsed command line, prints any error as one line on stderr,
/// and returns the exit code.
pub async fn main(cli: Cli) -> i32 {
    let mut hint = None;
    match run(&cli, &mut hint).await {
        Ok(()) => 0,
        Err(e) => {
            // Database errors can quote what app users typed.
            let message = match hint.filter(|_| matches!(e, Error::Refused(Refusal::ReadOnly))) {
                Some(hint) => format!("{e} ({hint})"),
                None => e.to_string(),
            };
            eprintln!("creditdesk: {}", sanitize(&message));
            e.exit_code()
        }
    }
}

/// Runs the command; `hint` says what a read-only refusal should add.
async fn run(cli: &Cli, hint: &mut Option<String>) -> Result<()> {
    check_format(cli)?;
    let command = match &cli.command {
        Some(Command::Demo(args)) => return demo::run(cli, args).await,
        Some(Command::Profiles) => return profiles(cli),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "creditdesk", &mut out);
            return output::write_bytes(&out);
        }
        Some(Command::Man { dir }) => return man(dir.as_deref()),
        other => other,
    };
    let settings = settings(cli)?;
    *hint = settings.read_only_hint();
    match command {
        Some(
            Command::Demo(_)
            | Command::Profiles
            | Command::Completions { .. }
            | Command::Man { .. },
        ) => Ok(()),
        Some(Command::Migrate(args)) => {
            let db = settings.target.connect(settings.mode, 3).await?;
            install::migrate(&db, args, output_format(cli)).await
        }
        Some(Command::Doctor(_)) => {
            let db = settings.target.connect(settings.mode, 3).await?;
            install::doctor(&db, output_format(cli)).await
        }
        Some(Command::Seed { users }) => {
            let db = settings.target.connect(settings.mode, 3).await?;
            // An empty database is the expected input: give it the schema.
            let applied = db::migrate(&db).await?.applied;
            if !applied.is_empty() {
                eprintln!("applied {} migration(s) first", applied.len());
            }
            seed(db.pool(), *users, Some(output_format(cli))).await
        }
        Some(Command::Users(cmd)) => users::run(&Ctx::open(cli, &settings).await?, cmd).await,
        Some(Command::Credits(cmd)) => credits::run(&Ctx::open(cli, &settings).await?, cmd).await,
        Some(Command::Audit(args)) => audit::run(&Ctx::open(cli, &settings).await?, args).await,
        Some(Command::Coupons(cmd)) => coupons::run(&Ctx::open(cli, &settings).await?, cmd).await,
        Some(Command::GiftCards(cmd)) => {
            gift_cards::run(&Ctx::open(cli, &settings).await?, cmd).await
        }
        Some(Command::Batches(cmd)) => batches::run(&Ctx::open(cli, &settings).await?, cmd).await,
        Some(Command::Approvals(cmd)) => {
            approvals::run(&Ctx::open(cli, &settings).await?, cmd).await
        }
        Some(Command::Report(cmd)) => reports::run(&Ctx::open(cli, &settings).await?, cmd).await,
        Some(Command::Operators(cmd)) => {
            operators::run(&Ctx::open(cli, &settings).await?, cmd).await
        }
        Some(Command::Settings(cmd)) => {
            operators::settings(&Ctx::open(cli, &settings).await?, cmd).await
        }
        None => {
            let db = settings.connect(8).await?.with_session().await?;
            let config = console_config(settings, &db)?;
            crate::tui::run(db, config).await
        }
    }
}

/// The global options resolved, their warnings printed.
fn settings(cli: &Cli) -> Result<Settings> {
    let settings = Settings::resolve(&cli.global, &System)?;
    for warning in &settings.warnings {
        eprintln!("creditdesk: warning: {}", sanitize(warning));
    }
    Ok(settings)
}

/// `creditdesk man [--dir DIR]`
fn man(dir: Option<&std::path::Path>) -> Result<()> {
    let failed = |e: std::io::Error| Error::Infrastructure(format!("writing the manual: {e}"));
    match dir {
        Some(dir) => {
            clap_mangen::generate_to(Cli::command(), dir).map_err(failed)?;
            eprintln!("manual pages written to {}", dir.display());
            Ok(())
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(failed)?;
            output::write_bytes(&out)
        }
    }
}

/// `creditdesk profiles`
fn profiles(cli: &Cli) -> Result<()> {
    let Some(config) = Config::load(cli.global.config.as_deref(), &System)? else {
        let place = profile::config_path(None, &System)
            .map(|(p, _)| p.display().to_string())
            .unwrap_or_default();
        eprintln!("no config file at {place}: profiles go there (see creditdesk profiles --help)");
        return output::list(
            output_format(cli),
            &Vec::<profile::Listed>::new(),
            &Table::new(&[]),
        );
    };
    if let Some(warning) = config.permission_warning(&System) {
        eprintln!("creditdesk: warning: {warning}");
    }
    let listed = config.listed();
    let yes_no = |v: Option<bool>| match v {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => String::new(),
    };
    let mut table = Table::new(&[
        "profile",
        "env",
        "read-only",
        "pooler",
        "operator",
        "connection",
        "replica",
        "problem",
    ]);
    for p in &listed {
        let name = if p.default {
            format!("{} (default)", p.name)
        } else {
            p.name.clone()
        };
        table.row(vec![
            name,
            p.env.clone().unwrap_or_default(),
            yes_no(p.read_only),
            yes_no(p.pooler),
            p.operator.clone().unwrap_or_default(),
            p.connection.clone(),
            p.replica.clone().unwrap_or_default(),
            p.error.clone().unwrap_or_default(),
        ]);
    }
    output::list(output_format(cli), &listed, &table)
}

/// `--csv` only where there is a list; neither it nor `--json` for the
/// console, which draws on the terminal. Checked before anything runs.
fn check_format(cli: &Cli) -> Result<()> {
    let lists = match &cli.command {
        None => {
            if cli.json || cli.csv {
                return Err(Error::invalid(
                    "json",
                    "--json and --csv are for commands: the console draws on the terminal",
                ));
            }
            return Ok(());
        }
        Some(Command::Users(_) | Command::Profiles) => true,
        Some(Command::Audit(a)) => a.prints_list(),
        Some(Command::Approvals(c)) => c.prints_list(),
        Some(Command::Report(c)) => c.prints_list(),
        Some(Command::Operators(c)) => c.prints_list(),
        Some(Command::Settings(c)) => c.prints_list(),
        Some(Command::Credits(c)) => c.prints_list(),
        Some(Command::Coupons(c)) => c.prints_list(),
        Some(Command::GiftCards(c)) => c.prints_list(),
        Some(Command::Batches(c)) => c.prints_list(),
        Some(
            Command::Migrate(_) | Command::Doctor(_) | Command::Seed { .. } | Command::Demo(_),
        ) => false,
        Some(Command::Completions { .. } | Command::Man { .. }) => {
            if cli.json || cli.csv {
                return Err(Error::invalid(
                    "json",
                    "completions and manual pages are neither JSON nor CSV",
                ));
            }
            false
        }
    };
    if cli.csv && !lists {
        return Err(output::csv_refused("this command"));
    }
    Ok(())
}

fn output_format(cli: &Cli) -> Format {
    if cli.json {
        Format::Json
    } else if cli.csv {
        Format::Csv
    } else {
        Format::Table
    }
}

/// Loads the demo generator, printing progress on stderr, and the summary
/// as `format` says (`None`: on stderr, for the demo).
async fn seed(pool: &sqlx::PgPool, users: u32, format: Option<Format>) -> Result<()> {
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
    let summary = format!(
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
    match format {
        Some(format) => output::record(format, &report, &summary),
        None => {
            eprintln!("{summary}");
            Ok(())
        }
    }
}

/// The console's settings, once the session is read.
fn console_config(settings: Settings, db: &db::Db) -> Result<crate::tui::ConsoleConfig> {
    Ok(crate::tui::ConsoleConfig {
        operator: operator_of(settings.operator, db)?,
        target: settings.target,
        read_only: settings.mode.read_only,
        env_label: settings.env_label,
        frame_colour: settings.frame_colour,
        confirm_first_change: settings.confirm_first_change,
        permissions: db
            .session()
            .map_or_else(crate::domain::role::Permissions::owner, |s| {
                s.permissions.clone()
            }),
    })
}

/// The name recorded as `actor`: the one given (flag, environment,
/// profile), else the database login, which the audit log records anyway.
pub(crate) fn operator_of(claimed: Option<Operator>, db: &db::Db) -> Result<Operator> {
    if let Some(o) = claimed {
        return Ok(o);
    }
    let login = db.session().map(|s| s.login.as_str()).unwrap_or_default();
    Operator::parse(login).map_err(|_| {
        Error::invalid(
            "operator",
            "your database login can't be recorded as an operator name: give one with --operator",
        )
    })
}
