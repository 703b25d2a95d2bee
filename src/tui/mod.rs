//! The console (being written): a tabbed terminal UI over the same `db`
//! operations the commands use.

use sqlx::PgPool;

use crate::db::Target;
use crate::domain::operator::Operator;
use crate::error::{Error, Result};

/// What the console shows in its status line and how it may act.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Where we are connected (shown as host/name, never the password).
    pub target: Target,
    pub operator: Operator,
    /// No change is offered, and the session itself refuses changes.
    pub read_only: bool,
    /// e.g. PRODUCTION, shown in red.
    pub env_label: Option<String>,
}

/// Runs the console until the user quits, restoring the terminal however it ends.
pub async fn run(_pool: PgPool, _config: ConsoleConfig) -> Result<()> {
    Err(Error::invalid(
        "command",
        "the console is not available yet: run `creditdesk --help` for the commands",
    ))
}
