//! The one integration-test binary: modules by area, sharing helpers in `common`.

mod common;
mod fixtures;
mod analyze_a;
mod analyze_b;
mod install;
mod recommend;
mod hooks;
mod import;
mod readers;
mod summary;
