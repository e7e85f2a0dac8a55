//! `analyze import` (being implemented).

use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze import`.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// Claude Code config directory (default: $CLAUDE_CONFIG_DIR or ~/.claude, and ~/.config/claude).
    #[arg(long)]
    pub claude_dir: Vec<std::path::PathBuf>,
}

/// Runs `analyze import`; `Ok(false)` = nothing found.
pub fn run(_db: Option<&std::path::Path>, _filter: &super::Filter, _args: &ImportArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze import is not implemented yet".into()))
}
