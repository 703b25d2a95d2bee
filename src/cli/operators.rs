//! `creditdesk operators add|list|set-role|disable` and `creditdesk
//! settings list|set`: what admins manage.

use std::io::Read;

use clap::Subcommand;

use super::context::Ctx;
use super::output::{self, Cell, Table, both};
use crate::db::operators;
use crate::domain::role::Group;
use crate::domain::text::Reason;
use crate::error::{Error, Result};

#[derive(Debug, Subcommand)]
pub enum OperatorsCmd {
    /// Create a login in a group (the password from --password-stdin, or
    /// generated and printed once)
    Add {
        name: String,
        #[arg(long, value_parser = parse_group)]
        role: Group,
        /// Read the password from standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
    },
    /// Logins in the creditdesk groups, with their last change
    List,
    /// Move a login to another group
    SetRole {
        name: String,
        #[arg(long, value_parser = parse_group)]
        role: Group,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Stop a login from logging in (it stays, for the history)
    Disable {
        name: String,
        #[arg(long)]
        reason: String,
    },
}

fn parse_group(s: &str) -> std::result::Result<Group, String> {
    Group::parse(s).ok_or_else(|| "one of auditor, support, finance, oncall, admin".to_owned())
}

impl OperatorsCmd {
    pub(super) fn prints_list(&self) -> bool {
        matches!(self, OperatorsCmd::List)
    }
}

impl SettingsCmd {
    pub(super) fn prints_list(&self) -> bool {
        matches!(self, SettingsCmd::List)
    }
}

pub async fn run(ctx: &Ctx, cmd: &OperatorsCmd) -> Result<()> {
    match cmd {
        OperatorsCmd::Add {
            name,
            role,
            password_stdin,
        } => {
            let login = operators::parse_login(name)?;
            let (password, generated) = if *password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| Error::Infrastructure(format!("reading the password: {e}")))?;
                let p = text.trim_end_matches(['\n', '\r']).to_owned();
                if p.chars().count() < 12 {
                    return Err(Error::invalid("password", "use at least 12 characters"));
                }
                (p, false)
            } else {
                (operators::generate_password(), true)
            };
            let verifier = operators::scram_verifier(&password);
            if !operators::owner_may_create_roles(&ctx.db) {
                let sql = operators::add_sql(&login, *role, &verifier);
                println!(
                    "creditdesk's schema owner may not create roles here: run this as a role \
                     with CREATEROLE (the password is in it only as a SCRAM verifier):\n{sql}"
                );
                if generated {
                    println!("the login's password, shown once: {password}");
                }
                return Ok(());
            }
            let added = operators::add(&ctx.db, &ctx.operator, &login, *role, &verifier).await?;
            let mut text = format!("added {} in the {} group", added.login, added.role);
            if generated {
                text.push_str(&format!("\npassword, shown once: {password}"));
            }
            #[derive(serde::Serialize)]
            struct Shown<'a> {
                #[serde(flatten)]
                added: &'a operators::Added,
                #[serde(skip_serializing_if = "Option::is_none")]
                password: Option<&'a str>,
            }
            output::record(
                ctx.format,
                &Shown {
                    added: &added,
                    password: generated.then_some(password.as_str()),
                },
                &text,
            )
        }
        OperatorsCmd::List => {
            let found = operators::list(&ctx.db).await?;
            let mut table = Table::with(&[
                both("login"),
                both("roles"),
                both("can_login"),
                both("last_change"),
                both("last_action"),
            ]);
            for o in &found {
                table.row([
                    Cell::from(o.login.as_str()),
                    Cell::from(o.roles.join("+")),
                    Cell::from(if o.can_login { "yes" } else { "no" }),
                    o.last_change_at.map_or(Cell::from("-"), Cell::Time),
                    Cell::opt(&o.last_action),
                ]);
            }
            output::list(ctx.format, &found, &table)
        }
        OperatorsCmd::SetRole { name, role, reason } => {
            let reason = reason.as_deref().map(Reason::parse).transpose()?;
            let done =
                operators::set_role(&ctx.db, &ctx.operator, name.trim(), *role, reason.as_ref())
                    .await?;
            output::record(
                ctx.format,
                &done,
                &format!("{} is now in the {} group", done.login, done.role),
            )
        }
        OperatorsCmd::Disable { name, reason } => {
            let reason = Reason::parse(reason)?;
            operators::disable(&ctx.db, &ctx.operator, name.trim(), &reason).await?;
            output::record(
                ctx.format,
                &serde_json::json!({ "login": name.trim(), "disabled": true }),
                &format!("{} can no longer log in", name.trim()),
            )
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    /// The approval thresholds and how long a request waits
    List,
    /// Change one (admins; audited with the old and the new value)
    Set {
        key: String,
        value: i64,
        #[arg(long)]
        reason: String,
    },
}

pub async fn settings(ctx: &Ctx, cmd: &SettingsCmd) -> Result<()> {
    match cmd {
        SettingsCmd::List => {
            let found = operators::settings(&ctx.db).await?;
            let mut table =
                Table::with(&[both("setting"), both("value"), both("changed"), both("by")]);
            for s in &found {
                table.row([
                    Cell::from(s.key.as_str()),
                    Cell::show(s.value),
                    Cell::Time(s.updated_at),
                    Cell::opt(&s.updated_by),
                ]);
            }
            output::list(ctx.format, &found, &table)
        }
        SettingsCmd::Set { key, value, reason } => {
            let reason = Reason::parse(reason)?;
            operators::set_setting(&ctx.db, &ctx.operator, key.trim(), *value, &reason).await?;
            output::record(
                ctx.format,
                &serde_json::json!({ "key": key.trim(), "value": value }),
                &format!("{} is now {value}", key.trim()),
            )
        }
    }
}
