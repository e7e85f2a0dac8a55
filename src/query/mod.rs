//! The readers' query layer: what `analyze` and `query-best-agent` share below their reports.
//!
//! * [`Filter`] — which runs, sessions or workflows a question is about, and the one WHERE-clause
//!   builder that turns it into bound SQL for each of those tables.
//! * [`sql`] — SQL fragments more than one reader spells (tokens of a run; the run statuses'
//!   spelling lives in [`crate::vocab::RunStatus`]).
//! * [`spend`] — tokens and cost of model responses today and per session (budgets, the guard,
//!   the status line).
//! * [`stats`] — percentiles and the one trend test (docs/metrics.md, `trends`), used by
//!   `analyze trends` and the recommender alike.
//!
//! Nothing here renders or knows a subcommand; cell formatting lives in [`crate::render`].

mod filter;
pub mod spend;
pub mod sql;
pub mod stats;

pub use filter::Filter;
