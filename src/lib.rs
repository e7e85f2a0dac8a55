//! agent-telemetry: records every subagent that Claude Code runs and answers questions about them.
//!
//! Architecture, in the order data flows:
//!
//! ```text
//!  Claude Code hook stdin ──► hook::run ──► store::Store::append (events, usage, quarantine, spool)
//!                                   └─► transcript::summarize (SubagentStop / Stop: tokens, tools)
//!  events ──► derive::refresh (incremental projection) ──► agent_runs, workflows, sessions, rollups
//!  projections ──► analyze::* (typed rows) ──► render (table / json / csv)
//!                └► recommend::query_best_agent
//!                └► serve (analyze serve: the same reports over HTTP, and a live event stream)
//! ```
//!
//! * Hooks only append. They never compute aggregates, so they stay in the low milliseconds.
//! * Everything a reader shows is derived from the append-only log by [`derive`], which is
//!   incremental (a cursor over the event ids) and can be re-run from scratch when rules change.
//! * Readers never write user data; they only advance the projection (`analyze import` and
//!   `analyze doctor --coverage` append what they are asked to).

pub mod analyze;
pub mod classify;
pub mod config;
pub mod derive;
pub mod error;
pub mod hook;
pub mod import;
pub mod paths;
pub mod pricing;
pub mod query;
pub mod recommend;
pub mod redact;
pub mod render;
pub mod serve;
pub mod settings;
pub mod store;
pub mod timeparse;
pub mod transcript;
pub mod util;
pub mod vocab;
pub mod wire;
