//! `analyze errors` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze errors`.
#[derive(clap::Args, Debug, Clone)]
pub struct ErrorsArgs {
    /// One agent type (default: every agent).
    pub agent: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// Runs `analyze errors`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &ErrorsArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze errors is not implemented yet".into()))
}
