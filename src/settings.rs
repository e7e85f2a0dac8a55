//! Registering the hooks in Claude Code settings files (being implemented).

use crate::error::{Error, Result};

/// `analyze hooks …`
#[derive(clap::Subcommand, Debug, Clone)]
pub enum HooksCommand {
    /// Add this suite's hooks to a settings file.
    Install,
    /// Remove exactly the hooks this suite added.
    Uninstall,
}

/// Runs a hooks subcommand.
pub fn run(_cmd: &HooksCommand) -> Result<bool> {
    Err(Error::InvalidArgument("analyze hooks is not implemented yet".into()))
}
