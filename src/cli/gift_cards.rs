//! `creditdesk gift-cards` (being written).

use clap::Subcommand;

use super::context::Ctx;
use crate::error::{Error, Result};

#[derive(Debug, Subcommand)]
pub enum GiftCardsCmd {
    /// Not available yet
    List,
}

pub async fn run(_ctx: &Ctx, cmd: &GiftCardsCmd) -> Result<()> {
    match cmd {
        GiftCardsCmd::List => Err(Error::invalid("command", "not available yet")),
    }
}
