//! Alerts: rules evaluated over the projection, their firing/resolved state remembered in
//! `alert_state`, and each change delivered once to the notifiers the user configured
//! (docs/metrics.md, "Alerts").
//!
//! ```text
//!  rules::firing (what fires now: read-only SQL over the indexes)
//!     └► state::apply (one write transaction: new → firing, gone → resolved, last_evaluated_ms)
//!           └► deliver::pending (claimed per row) ─► webhook (ureq) / command (stdin JSON, env)
//! ```
//!
//! Evaluated by readers only — `analyze alerts`, `analyze serve`'s background task, or any
//! process that calls [`evaluate_and_deliver`] — never by a hook. Several evaluators may run at
//! once: state changes are serialised by SQLite's write lock and a delivery is claimed in a
//! transaction before it is sent, so a change is sent once.

mod config;
mod deliver;
mod rules;
mod state;

pub use config::{AlertsConfig, CommandSpec, Webhook};
pub use deliver::{backoff_ms, payload, Delivery, BACKOFF_MS, MAX_ATTEMPTS, MAX_BACKOFF_MS};
pub use state::{read, Stored};

use crate::error::Result;
use crate::pricing::Prices;
use crate::store::Store;
use serde::Serialize;

/// The rules, by their stored and JSON name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    SuccessRate,
    Duration,
    Budget,
    Runaway,
    Hung,
    Guard,
}

impl Rule {
    /// Every rule, in the order reports list them.
    pub const ALL: [Rule; 6] = [
        Rule::Runaway,
        Rule::Budget,
        Rule::Guard,
        Rule::Hung,
        Rule::SuccessRate,
        Rule::Duration,
    ];

    /// The stored spelling (`alert_state.rule`, JSON `rule`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::SuccessRate => "success_rate",
            Rule::Duration => "duration",
            Rule::Budget => "budget",
            Rule::Runaway => "runaway",
            Rule::Hung => "hung",
            Rule::Guard => "guard",
        }
    }
}

/// How bad: `critical` for spend and runaways (money is being spent now), `warning` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One alert firing now, as a rule computed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub rule: Rule,
    /// An agent type, a session id, an agent id, or a budget's name (docs/metrics.md, "Alerts").
    pub subject: String,
    pub severity: Severity,
    pub value: f64,
    pub threshold: f64,
    /// One line, for people.
    pub message: String,
}

/// What an evaluation needs besides the database: the thresholds, the two settings the alerts
/// share with the rest of config.json, prices (budgets) and "now".
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub cfg: &'a AlertsConfig,
    /// The top-level `hung_after_minutes` (used when `alerts.hung_after_minutes` is unset).
    pub hung_after_minutes: i64,
    /// The top-level `lost_after_minutes`: a run open longer is lost, not running.
    pub lost_after_minutes: i64,
    pub prices: &'a Prices,
    /// Unix ms.
    pub now: i64,
}

impl Inputs<'_> {
    /// The `hung` threshold in force, minutes.
    pub fn hung_minutes(&self) -> i64 {
        self.cfg
            .hung_after_minutes
            .unwrap_or(self.hung_after_minutes)
    }
}

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Alerts firing after it.
    pub firing: usize,
    /// Alerts that started firing in it.
    pub started: usize,
    /// Alerts that stopped firing in it.
    pub resolved: usize,
    /// Notifications sent (a firing or a resolution each), and attempts that failed.
    pub delivery: Delivery,
}

/// Computes what fires now and records it (new alerts firing, old ones resolved), without
/// delivering anything. The store must be writable.
pub fn evaluate(store: &Store, inputs: &Inputs<'_>) -> Result<Evaluation> {
    inputs.cfg.validate()?;
    let now_firing = rules::firing(store.conn(), inputs)?;
    let (started, resolved) = state::apply(store, &now_firing, inputs.now)?;
    Ok(Evaluation {
        firing: now_firing.len(),
        started,
        resolved,
        delivery: Delivery::default(),
    })
}

/// [`evaluate`], then delivers every change not yet delivered (whose retry time has come) to
/// the configured notifiers: what `analyze alerts` and `analyze serve` run, and what any
/// reader may call.
pub fn evaluate_and_deliver(store: &Store, inputs: &Inputs<'_>) -> Result<Evaluation> {
    let mut e = evaluate(store, inputs)?;
    e.delivery = deliver::pending(store, inputs.cfg, inputs.now)?;
    Ok(e)
}
