//! `analyze tools` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze tools`.
#[derive(clap::Args, Debug, Clone)]
pub struct ToolsArgs {
    /// How many tools.
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    /// How many tool pairs.
    #[arg(long, default_value_t = 10)]
    pub pairs: usize,
}

/// Runs `analyze tools`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &ToolsArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze tools is not implemented yet".into()))
}
