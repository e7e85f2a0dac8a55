//! The one integration-test binary: modules by area, sharing helpers in `common`.

mod analyze_a;
mod analyze_b;
mod client;
mod common;
mod coverage;
mod dashboard;
mod fixtures;
mod hooks;
mod import;
mod install;
mod readers;
mod recommend;
mod redaction;
mod report;
mod serve;
mod summary;
