//! `analyze workflows` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze workflows`.
#[derive(clap::Args, Debug, Clone)]
pub struct WorkflowsArgs {
    /// How many recent workflows to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// How many common agent sequences to show.
    #[arg(long, default_value_t = 10)]
    pub sequences: usize,
}

/// Runs `analyze workflows`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &WorkflowsArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze workflows is not implemented yet".into()))
}
