//! `analyze doctor` (being implemented).

use crate::error::{Error, Result};
use crate::render::Format;

/// Arguments of `analyze doctor`.
#[derive(clap::Args, Debug, Clone)]
pub struct DoctorArgs {

}

/// Runs `analyze doctor`; `Ok(false)` = nothing found.
pub fn run(_db: Option<&std::path::Path>, _filter: &super::Filter, _args: &DoctorArgs, _format: Format) -> Result<bool> {
    Err(Error::InvalidArgument("analyze doctor is not implemented yet".into()))
}
