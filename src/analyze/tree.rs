//! `analyze tree` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze tree`.
#[derive(clap::Args, Debug, Clone)]
pub struct TreeArgs {
    /// A workflow (prompt id or explicit workflow id) instead of a whole session.
    #[arg(long)]
    pub workflow: Option<String>,
}

/// Runs `analyze tree`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &TreeArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze tree is not implemented yet".into()))
}
