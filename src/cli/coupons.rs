//! `creditdesk coupons` (being written).

use clap::Subcommand;

use super::context::Ctx;
use crate::error::{Error, Result};

#[derive(Debug, Subcommand)]
pub enum CouponsCmd {
    /// Not available yet
    List,
}

pub async fn run(_ctx: &Ctx, cmd: &CouponsCmd) -> Result<()> {
    match cmd {
        CouponsCmd::List => Err(Error::invalid("command", "not available yet")),
    }
}
