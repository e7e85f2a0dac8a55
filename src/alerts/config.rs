//! `config.json` → `"alerts"`: every threshold of every rule and the notifiers. Every field is
//! optional; the defaults are the ones docs/metrics.md ("Alerts") defines. Unknown keys are an
//! error of the alerts (a misspelt threshold silently ignored would be an alert that never
//! fires), reported when they are evaluated — not of config.json as a whole, which every reader,
//! the status line and the guard also load.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The alert rules' thresholds and the notifiers (`Config.alerts`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AlertsConfig {
    /// `success_rate`: the window of finished runs, minutes.
    pub success_window_minutes: i64,
    /// `success_rate`: fires below this rate (0..1).
    pub success_rate_below: f64,
    /// `success_rate`: at least this many decided runs in the window.
    pub success_min_runs: i64,
    /// `success_rate`: also require the one-sided exact binomial test against
    /// `success_rate_below` to give p ≤ this. Unset (the default): no test.
    pub success_max_p_value: Option<f64>,
    /// `duration`: fires when the recent p50 is above this × the baseline p50.
    pub duration_factor: f64,
    /// `duration`: "recent" = runs that finished in the last this many minutes.
    pub duration_window_minutes: i64,
    /// `duration`: at least this many recent runs…
    pub duration_min_recent: i64,
    /// …and this many baseline runs (the 7 days before the recent window).
    pub duration_min_baseline: i64,
    /// `budget`: today's cost (local day) above this, USD. Unset: no alert.
    pub daily_cost_usd: Option<f64>,
    /// `budget`: today's tokens above this. Unset: no alert.
    pub daily_tokens: Option<i64>,
    /// `budget`: a session's cost (main agent and subagents) above this, USD. Unset: no alert.
    pub session_cost_usd: Option<f64>,
    /// `runaway`: more than this many agents running at once.
    pub max_active_agents: i64,
    /// `runaway`: one session starting more than this many agents…
    pub spawn_max_agents: i64,
    /// …within this many minutes.
    pub spawn_window_minutes: i64,
    /// `hung`: an agent running longer than this (default: the top-level `hung_after_minutes`).
    pub hung_after_minutes: Option<i64>,
    /// `guard`: delegations the guard denied within this many minutes.
    pub guard_window_minutes: i64,
    /// `analyze serve` evaluates (and delivers) this often, seconds.
    pub evaluate_every_seconds: u64,
    /// A JSON POST per firing and per resolution.
    pub webhook: Option<Webhook>,
    /// A command run per firing and per resolution (the alert as JSON on stdin).
    pub command: Option<CommandSpec>,
    /// Keys this build does not know (an error at evaluation, see [`AlertsConfig::validate`]).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

/// A webhook notifier: `{"url": "https://…", "headers": {"Authorization": "…"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A command notifier: a shell command line (`sh -c`) or an argv list (run as is).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CommandSpec {
    Shell(String),
    Argv(Vec<String>),
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            success_window_minutes: 5,
            success_rate_below: 0.8,
            success_min_runs: 5,
            success_max_p_value: None,
            duration_factor: 2.0,
            duration_window_minutes: 60,
            duration_min_recent: 3,
            duration_min_baseline: 10,
            daily_cost_usd: None,
            daily_tokens: None,
            session_cost_usd: None,
            max_active_agents: 10,
            spawn_max_agents: 20,
            spawn_window_minutes: 10,
            hung_after_minutes: None,
            guard_window_minutes: 60,
            evaluate_every_seconds: 30,
            webhook: None,
            command: None,
            unknown: BTreeMap::new(),
        }
    }
}

fn bad(field: &str, why: &str) -> Error {
    Error::InvalidArgument(format!("config.json alerts.{field}: {why}"))
}

impl AlertsConfig {
    /// Checks every value; the message names the field and what it takes.
    pub fn validate(&self) -> Result<()> {
        if let Some(key) = self.unknown.keys().next() {
            return Err(bad(
                key,
                "not a setting of the alerts (docs/metrics.md, \"alerts\")",
            ));
        }
        let positive = [
            ("success_window_minutes", self.success_window_minutes),
            ("success_min_runs", self.success_min_runs),
            ("duration_window_minutes", self.duration_window_minutes),
            ("duration_min_recent", self.duration_min_recent),
            ("duration_min_baseline", self.duration_min_baseline),
            ("spawn_window_minutes", self.spawn_window_minutes),
            ("guard_window_minutes", self.guard_window_minutes),
        ];
        for (name, v) in positive {
            if v < 1 {
                return Err(bad(name, &format!("{v} must be 1 or more")));
            }
        }
        for (name, v) in [
            ("max_active_agents", self.max_active_agents),
            ("spawn_max_agents", self.spawn_max_agents),
        ] {
            if v < 0 {
                return Err(bad(name, &format!("{v} must not be negative")));
            }
        }
        if !(0.0..=1.0).contains(&self.success_rate_below) {
            return Err(bad("success_rate_below", "a rate between 0 and 1"));
        }
        if self
            .success_max_p_value
            .is_some_and(|a| !(a > 0.0 && a <= 1.0))
        {
            return Err(bad(
                "success_max_p_value",
                "a probability above 0, at most 1",
            ));
        }
        if !(self.duration_factor.is_finite() && self.duration_factor > 0.0) {
            return Err(bad("duration_factor", "a number above 0"));
        }
        self.validate_budgets()?;
        self.validate_notifiers()
    }

    fn validate_budgets(&self) -> Result<()> {
        for (name, v) in [
            ("daily_cost_usd", self.daily_cost_usd),
            ("session_cost_usd", self.session_cost_usd),
        ] {
            if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                return Err(bad(name, "a cost in USD, 0 or more"));
            }
        }
        if self.daily_tokens.is_some_and(|v| v < 0) {
            return Err(bad("daily_tokens", "a number of tokens, 0 or more"));
        }
        if self.hung_after_minutes.is_some_and(|v| v < 0) {
            return Err(bad("hung_after_minutes", "must not be negative"));
        }
        if self.evaluate_every_seconds == 0 {
            return Err(bad("evaluate_every_seconds", "1 or more"));
        }
        Ok(())
    }

    fn validate_notifiers(&self) -> Result<()> {
        if let Some(w) = &self.webhook {
            let scheme_ok = w.url.starts_with("http://") || w.url.starts_with("https://");
            if !scheme_ok || w.url.parse::<ureq::http::Uri>().is_err() {
                return Err(bad(
                    "webhook.url",
                    &format!("'{}' is not an http:// or https:// URL", w.url),
                ));
            }
        }
        match &self.command {
            Some(CommandSpec::Shell(s)) if s.trim().is_empty() => {
                Err(bad("command", "an empty command"))
            }
            Some(CommandSpec::Argv(v)) if v.first().is_none_or(|p| p.is_empty()) => {
                Err(bad("command", "an empty argument list"))
            }
            _ => Ok(()),
        }
    }

    /// Whether any notifier is configured.
    pub fn has_notifiers(&self) -> bool {
        self.webhook.is_some() || self.command.is_some()
    }
}
