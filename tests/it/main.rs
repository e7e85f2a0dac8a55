//! The one integration-test binary: modules by area, sharing helpers in `common`.

mod common;
mod fixtures;
