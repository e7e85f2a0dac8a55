//! `analyze timeline` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze timeline`.
#[derive(clap::Args, Debug, Clone)]
pub struct TimelineArgs {
    /// Hourly buckets over the last N hours (default 24 unless --days gives daily buckets).
    #[arg(long)]
    pub hours: Option<u32>,
}

/// Runs `analyze timeline`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &TimelineArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze timeline is not implemented yet".into()))
}
