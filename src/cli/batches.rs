//! `creditdesk batches` (being written).

use clap::Subcommand;

use super::context::Ctx;
use crate::error::{Error, Result};

#[derive(Debug, Subcommand)]
pub enum BatchesCmd {
    /// Not available yet
    List,
}

pub async fn run(_ctx: &Ctx, cmd: &BatchesCmd) -> Result<()> {
    match cmd {
        BatchesCmd::List => Err(Error::invalid("command", "not available yet")),
    }
}
