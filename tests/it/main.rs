//! The one integration-test binary: modules by area, sharing helpers in `common`.
// A test is a scenario read top to bottom: long ones stay whole rather than split into helpers
// that hide what is checked.
#![allow(clippy::too_many_lines)]

mod agent_cells;
mod alerts;
mod analyze_a;
mod analyze_b;
mod client;
mod common;
mod coverage;
mod dashboard;
mod derive_equivalence;
mod export;
mod fixtures;
mod gen_history;
mod guard;
mod hooks;
mod import;
mod install;
mod layout;
mod metrics;
mod order;
mod outcome;
mod packed;
mod progress;
mod projection;
mod prune;
mod readers;
mod recommend;
mod recommend_fit;
mod redaction;
mod report;
mod resources;
mod serve;
mod statusline;
mod summary;
mod types_rollup;
mod upgrade;
mod window_rollup;
mod workflow_figures;
