//! `creditdesk users find TEXT`

use clap::Subcommand;

use super::context::Ctx;
use super::output::{self, Cell, Table};
use crate::db::users;
use crate::domain::text::check_free_text;
use crate::error::{Error, Result};

#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    /// Find users by id, email or name substring, newest first
    Find {
        text: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn run(ctx: &Ctx, cmd: &UsersCmd) -> Result<()> {
    match cmd {
        UsersCmd::Find { text, limit } => {
            let text = check_free_text("text", text, 200)?;
            if text.is_empty() {
                return Err(Error::invalid(
                    "text",
                    "give an id, or part of an email or name",
                ));
            }
            let found = users::find(&ctx.db, &text, (*limit).clamp(1, 1000)).await?;
            let mut table = Table::new(&["id", "email", "name", "credits", "created"]);
            for u in &found {
                table.row([
                    Cell::show(u.id),
                    Cell::from(u.email.as_str()),
                    Cell::opt(&u.name),
                    Cell::show(u.credits),
                    Cell::Time(u.created_at),
                ]);
            }
            output::list(ctx.format, &found, &table)
        }
    }
}
