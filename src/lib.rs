//! agent-telemetry: records every subagent that Claude Code runs and answers questions about them.
//!
//! Architecture, in the order data flows (docs/architecture.md says why at each step):
//!
//! ```text
//!  Claude Code hook stdin ─► hook::main ─► redact ─► hook::event (wire shapes) ─► store::Store::append_event
//!                               │                     (events, usage; unparseable ─► quarantine)
//!                               ├─► hook::guard + guard (opt-in: deny an Agent/Task call at a limit)
//!                               ├─► transcript::summarize_file (after the commit: tokens, tools, outcome:
//!                               │     testsum for test results, metrics for custom ones)
//!                               └─► store::spool (busy, full, damaged, deleted: replayed once later)
//!  transcripts on disk ─► import (discover, scan, session, emit, write) ─► the same events
//!  events ─► derive::refresh (incremental projection) ─► agent_runs, workflows, sessions, rollups
//!  projection ─► query (filter, SQL fragments, percentiles, the trend test)
//!             ─► analyze::* (typed rows) ─► render (table / JSON / CSV)
//!                                        ├► html (SVG charts, static report, dashboard page)
//!                                        ├► serve (the reports over HTTP, the design API, a live stream,
//!                                        │        Prometheus /metrics)
//!                                        ├► export (agent runs as OTLP traces, --follow with a cursor)
//!                                        └► recommend::query_best_agent
//!             ─► alerts (rules over the projection ─► alert_state ─► webhook / command, once per change)
//!             ─► statusline (Claude Code's status line: agents running, spend, alerts firing;
//!                            derives within a few ms, starts `analyze alerts` detached)
//! ```
//!
//! Shared by all of them: [`vocab`] (every stored word: event kinds, sources, statuses, workflow
//! kinds) and [`wire`] (every Claude Code shape, read leniently).
//!
//! * Hooks only append (the opt-in guard excepted: on an Agent/Task call it derives what is
//!   pending, within 100 ms, to decide). They never compute aggregates, so they stay in the low
//!   milliseconds; the HTTP stack and the progress bars (`progress`) are never called by them (and not linked in).
//! * Everything a reader shows is derived from the append-only log by [`derive`], which is
//!   incremental (a cursor over the event ids) and can be re-run from scratch when rules change.
//! * Readers never write user data; they only advance the projection (`analyze import` and
//!   `analyze doctor --coverage` append what they are asked to).

pub mod alerts;
pub mod analyze;
pub mod classify;
pub mod cli;
pub mod config;
pub mod derive;
pub mod error;
pub mod export;
pub mod guard;
pub mod hook;
pub mod host;
pub mod html;
pub mod import;
pub mod metrics;
pub mod paths;
pub mod pricing;
pub(crate) mod progress;
pub mod query;
pub mod recommend;
pub mod redact;
pub mod render;
pub mod retention;
pub mod serve;
pub mod settings;
pub mod statusline;
pub mod store;
pub mod testsum;
pub mod timeparse;
pub mod transcript;
pub mod util;
pub mod vocab;
pub mod wire;
