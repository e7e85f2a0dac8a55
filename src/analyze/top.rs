//! `analyze top` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze top`.
#[derive(clap::Args, Debug, Clone)]
pub struct TopArgs {
    /// How many agents.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Rank by: efficiency, success, runs, cost.
    #[arg(long, default_value = "efficiency")]
    pub by: String,
    /// The worst instead of the best.
    #[arg(long)]
    pub worst: bool,
    /// Agents with fewer finished runs are marked and ranked after proven ones (default: config min_runs).
    #[arg(long)]
    pub min_runs: Option<i64>,
}

/// Runs `analyze top`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &TopArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze top is not implemented yet".into()))
}
