//! `analyze agent` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze agent`.
#[derive(clap::Args, Debug, Clone)]
pub struct AgentArgs {
    /// The agent type.
    pub name: String,
    /// How many recent errors to list.
    #[arg(long, default_value_t = 5)]
    pub errors: usize,
}

/// Runs `analyze agent`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &AgentArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze agent is not implemented yet".into()))
}
