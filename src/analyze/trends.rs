//! `analyze trends` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze trends`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrendsArgs {
    /// One agent type (default: every agent).
    pub agent: Option<String>,
}

/// Runs `analyze trends`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &TrendsArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze trends is not implemented yet".into()))
}
