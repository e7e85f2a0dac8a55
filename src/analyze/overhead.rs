//! `analyze overhead` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze overhead`.
#[derive(clap::Args, Debug, Clone)]
pub struct OverheadArgs {
    /// How many workflows to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// Runs `analyze overhead`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &OverheadArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze overhead is not implemented yet".into()))
}
