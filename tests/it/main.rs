//! The one integration-test binary: modules by area, sharing helpers in `common`.

mod analyze_a;
mod analyze_b;
mod client;
mod common;
mod coverage;
mod dashboard;
mod fixtures;
mod gen_history;
mod hooks;
mod import;
mod install;
mod order;
mod projection;
mod readers;
mod recommend;
mod redaction;
mod report;
mod serve;
mod summary;
mod types_rollup;
mod upgrade;
