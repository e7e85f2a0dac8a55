//! `analyze active` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze active`.
#[derive(clap::Args, Debug, Clone)]
pub struct ActiveArgs {
    /// Flag agents running longer than this many minutes as possibly hung (default: config).
    #[arg(long)]
    pub hung_after: Option<i64>,
}

/// Runs `analyze active`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &ActiveArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze active is not implemented yet".into()))
}
