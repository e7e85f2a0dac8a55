//! `analyze types` (being implemented).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze types`.
#[derive(clap::Args, Debug, Clone)]
pub struct TypesArgs {

}

/// Runs `analyze types`; `Ok(false)` = nothing found.
pub fn run(_ctx: &Ctx, _filter: &Filter, _args: &TypesArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze types is not implemented yet".into()))
}
