//! The opt-in delegation guard (docs/guard.md): when `config.json` turns it on and a limit is
//! reached, the `PreToolUse` hook of Claude Code's Agent/Task tool denies the new delegation with
//! Claude Code's hook decision, and records the denial as an event in the same transaction as
//! the `PreToolUse` payload.
//!
//! It fails open: guard off, config unreadable or invalid, database busy or broken, or figures
//! not brought up to date within its time budget → no decision (the agent runs); the hook logs why.
//! (Not to be confused with `serve`'s HTTP token guard, `src/serve/guard.rs`.)

//! This module holds the settings, the limits and the figures; the hook's side (reading the
//! configuration, bringing the projection up to date, recording the denial) is `hook::guard`.

use crate::pricing::Prices;
use crate::vocab::RunStatus;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::Path;

/// The guard's settings (`config.json` `"guard"`); every limit unset (`null`) is not checked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct GuardConfig {
    /// Off unless the user turns it on.
    pub enabled: bool,
    /// Deny a new agent while this many (or more) agents are running, across all sessions.
    pub max_active_agents: Option<f64>,
    /// Deny a new agent once this session has cost this many USD (or more).
    pub session_cost_usd: Option<f64>,
    /// Deny a new agent once today's cost (every session, since local midnight) reaches this.
    pub daily_cost_usd: Option<f64>,
    /// Deny a new agent that would run deeper than this (the main thread's agents are depth 1).
    pub max_depth: Option<f64>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            enabled: false,
            max_active_agents: Some(10.0),
            session_cost_usd: None,
            daily_cost_usd: None,
            max_depth: None,
        }
    }
}

impl GuardConfig {
    /// A limit that is negative or not a number, or a count that is not whole, is an error: the
    /// guard then stays out of the way (and the hook logs this).
    pub fn validate(&self) -> Result<(), String> {
        for l in Limit::ALL {
            let Some(t) = self.threshold(*l) else {
                continue;
            };
            if !t.is_finite() || t < 0.0 || (l.is_count() && t.fract() != 0.0) {
                let want = if l.is_count() {
                    "a whole number ≥ 0"
                } else {
                    "a number ≥ 0"
                };
                return Err(format!("guard.{l} is {t}: it must be {want} or null"));
            }
        }
        Ok(())
    }

    fn threshold(&self, l: Limit) -> Option<f64> {
        match l {
            Limit::MaxDepth => self.max_depth,
            Limit::MaxActiveAgents => self.max_active_agents,
            Limit::SessionCostUsd => self.session_cost_usd,
            Limit::DailyCostUsd => self.daily_cost_usd,
        }
    }
}

/// One of the guard's limits, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    MaxDepth,
    MaxActiveAgents,
    SessionCostUsd,
    DailyCostUsd,
}

impl Limit {
    /// Every limit, in the order checked (the first one reached is the one reported).
    pub const ALL: &'static [Limit] = &[
        Limit::MaxDepth,
        Limit::MaxActiveAgents,
        Limit::SessionCostUsd,
        Limit::DailyCostUsd,
    ];

    /// Its name in `config.json` and in the denial's payload.
    pub const fn as_str(self) -> &'static str {
        match self {
            Limit::MaxDepth => "max_depth",
            Limit::MaxActiveAgents => "max_active_agents",
            Limit::SessionCostUsd => "session_cost_usd",
            Limit::DailyCostUsd => "daily_cost_usd",
        }
    }

    const fn is_count(self) -> bool {
        matches!(self, Limit::MaxDepth | Limit::MaxActiveAgents)
    }

    /// Reached: depth is denied above its limit, the others at it.
    fn reached(self, value: f64, threshold: f64) -> bool {
        match self {
            Limit::MaxDepth => value > threshold,
            _ => value >= threshold,
        }
    }

    /// A figure as the payload and the reason show it: counts whole, costs in USD.
    fn number(self, x: f64) -> Value {
        if self.is_count() {
            json!(x as i64)
        } else {
            json!(x)
        }
    }

    fn text(self, x: f64) -> String {
        if self.is_count() {
            format!("{}", x as i64)
        } else {
            format!("${x:.2}")
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A limit reached: the delegation is denied.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    pub limit: Limit,
    pub value: f64,
    pub threshold: f64,
    /// One line for the model (and the user): the limit, the figure and how to change it.
    pub reason: String,
}

impl Denial {
    fn new(limit: Limit, value: f64, threshold: f64, config: &Path) -> Denial {
        let what = match limit {
            Limit::MaxDepth => format!("this agent would run at depth {}", limit.text(value)),
            Limit::MaxActiveAgents => format!("{} agents are running", limit.text(value)),
            Limit::SessionCostUsd => format!("this session has cost {}", limit.text(value)),
            Limit::DailyCostUsd => format!("today's cost is {}", limit.text(value)),
        };
        let reason = format!(
            "agent-telemetry guard: {what} (limit {limit} = {}), so no new agent is started. To change it, edit \"guard\" in {} (raise or unset {limit}, or set \"enabled\": false).",
            limit.text(threshold),
            config.display()
        );
        Denial {
            limit,
            value,
            threshold,
            reason,
        }
    }

    /// The denial event's payload: `{limit, value, threshold, reason}`.
    pub fn payload(&self) -> String {
        json!({
            "limit": self.limit.as_str(),
            "value": self.limit.number(self.value),
            "threshold": self.limit.number(self.threshold),
            "reason": self.reason,
        })
        .to_string()
    }

    /// What the hook prints: Claude Code's `PreToolUse` decision to deny the tool call.
    pub fn hook_output(&self) -> String {
        json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": self.reason,
            }
        })
        .to_string()
    }
}

/// Only the `"guard"` key of `config.json`: whether the guard is on is all most calls need.
#[derive(Deserialize)]
struct GuardOnly {
    #[serde(default)]
    guard: GuardConfig,
}

/// The guard's settings from `config.json`'s text, parsing nothing else: `Ok(None)` when it is
/// off (no `"guard"` key, or not enabled), `Err` when the text is not JSON or a limit is invalid.
pub fn enabled(config_json: &[u8]) -> Result<Option<GuardConfig>, String> {
    let only: GuardOnly = serde_json::from_slice(config_json).map_err(|e| e.to_string())?;
    if !only.guard.enabled {
        return Ok(None);
    }
    only.guard.validate()?;
    Ok(Some(only.guard))
}

/// The delegation asked for: who asks (`caller`: an agent id, None for the main thread) in which
/// session, at `now` (unix ms).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub session_id: Option<&'a str>,
    pub caller: Option<&'a str>,
    pub now_ms: i64,
}

/// The figures the limits are checked against, as of an up-to-date projection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub depth: f64,
    pub active_agents: f64,
    pub session_cost_usd: f64,
    pub daily_cost_usd: f64,
}

/// The first limit of `guard` reached by `f`, in [`Limit::ALL`] order; its reason names
/// `config_path` (where to change it).
pub fn check(guard: &GuardConfig, f: &Figures, config_path: &Path) -> Option<Denial> {
    Limit::ALL.iter().find_map(|&l| {
        let t = guard.threshold(l)?;
        let v = match l {
            Limit::MaxDepth => f.depth,
            Limit::MaxActiveAgents => f.active_agents,
            Limit::SessionCostUsd => f.session_cost_usd,
            Limit::DailyCostUsd => f.daily_cost_usd,
        };
        l.reached(v, t).then(|| Denial::new(l, v, t, config_path))
    })
}

/// The figures (docs/guard.md defines each): the new agent's depth, the agents running across
/// every session (started at or after `lost_before`, not ended), this session's and today's cost.
pub fn figures(
    c: &rusqlite::Connection,
    prices: &Prices,
    req: Request<'_>,
    lost_before: i64,
) -> rusqlite::Result<Figures> {
    // The main thread's delegations run at depth 1; an agent's at its own depth + 1 (an agent
    // not derived yet counts as depth 1, as derivation would link it).
    let depth = match req.caller {
        None => 1,
        Some(a) => {
            c.query_row(
                "SELECT depth FROM agent_runs WHERE agent_id = ?1",
                [a],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten()
            .unwrap_or(1)
                + 1
        }
    };
    let active: i64 = c.query_row(
        &format!(
            "SELECT count(*) FROM agent_runs WHERE end_ms IS NULL AND status = '{}' AND start_ms >= ?1 AND internal = 0",
            RunStatus::Running
        ),
        [lost_before],
        |r| r.get(0),
    )?;
    let session = match req.session_id {
        Some(sid) => crate::query::spend::session(c, prices, sid)?.cost_usd,
        None => 0.0,
    };
    let today = crate::query::spend::today(c, prices, req.now_ms)?.cost_usd;
    Ok(Figures {
        depth: depth as f64,
        active_agents: active as f64,
        session_cost_usd: session,
        daily_cost_usd: today,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Armed(GuardConfig);

    impl Armed {
        fn check(&self, f: &Figures) -> Option<Denial> {
            check(
                &self.0,
                f,
                Path::new("/home/u/.claude/agent-telemetry/config.json"),
            )
        }
    }

    fn armed(g: GuardConfig) -> Armed {
        Armed(g)
    }

    fn figures(depth: f64, active: f64, session: f64, today: f64) -> Figures {
        Figures {
            depth,
            active_agents: active,
            session_cost_usd: session,
            daily_cost_usd: today,
        }
    }

    #[test]
    fn each_limit_at_and_around_its_threshold() {
        let g = armed(GuardConfig {
            enabled: true,
            max_active_agents: Some(3.0),
            session_cost_usd: Some(5.0),
            daily_cost_usd: Some(20.0),
            max_depth: Some(2.0),
        });
        let limit = |f: Figures| g.check(&f).map(|d| d.limit);
        assert_eq!(limit(figures(1.0, 2.0, 4.99, 19.99)), None);
        // depth: denied above the limit, allowed at it
        assert_eq!(limit(figures(2.0, 0.0, 0.0, 0.0)), None);
        assert_eq!(limit(figures(3.0, 0.0, 0.0, 0.0)), Some(Limit::MaxDepth));
        // the others: denied at the limit
        assert_eq!(
            limit(figures(1.0, 3.0, 0.0, 0.0)),
            Some(Limit::MaxActiveAgents)
        );
        assert_eq!(
            limit(figures(1.0, 0.0, 5.0, 0.0)),
            Some(Limit::SessionCostUsd)
        );
        assert_eq!(
            limit(figures(1.0, 0.0, 0.0, 20.0)),
            Some(Limit::DailyCostUsd)
        );
        // the first reached in order is reported
        assert_eq!(limit(figures(3.0, 3.0, 5.0, 20.0)), Some(Limit::MaxDepth));
        // unset limits are not checked
        let none = armed(GuardConfig {
            enabled: true,
            max_active_agents: None,
            ..GuardConfig::default()
        });
        assert_eq!(none.check(&figures(99.0, 99.0, 1e9, 1e9)), None);
    }

    #[test]
    fn the_reason_names_the_limit_its_value_and_how_to_change_it() {
        let g = armed(GuardConfig {
            enabled: true,
            max_active_agents: Some(2.0),
            ..GuardConfig::default()
        });
        let d = g.check(&figures(1.0, 2.0, 0.0, 0.0)).unwrap();
        assert_eq!(
            d.reason,
            "agent-telemetry guard: 2 agents are running (limit max_active_agents = 2), so no new agent is started. To change it, edit \"guard\" in /home/u/.claude/agent-telemetry/config.json (raise or unset max_active_agents, or set \"enabled\": false)."
        );
        let p: Value = serde_json::from_str(&d.payload()).unwrap();
        assert_eq!(
            p,
            json!({"limit": "max_active_agents", "value": 2, "threshold": 2, "reason": d.reason})
        );
        let out: Value = serde_json::from_str(&d.hook_output()).unwrap();
        assert_eq!(
            out,
            json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                "permissionDecisionReason": d.reason}})
        );
        let cost = armed(GuardConfig {
            enabled: true,
            daily_cost_usd: Some(1.5),
            ..GuardConfig::default()
        })
        .check(&figures(1.0, 0.0, 0.0, 2.25))
        .unwrap();
        assert!(cost.reason.starts_with(
            "agent-telemetry guard: today's cost is $2.25 (limit daily_cost_usd = $1.50)"
        ));
        assert_eq!(
            serde_json::from_str::<Value>(&cost.payload()).unwrap()["value"],
            json!(2.25)
        );
    }

    #[test]
    fn only_the_guard_key_is_read() {
        assert_eq!(enabled(b"{}").unwrap(), None);
        assert_eq!(
            enabled(br#"{"min_runs": "not a number", "guard": {"enabled": false}}"#).unwrap(),
            None
        );
        let g = enabled(br#"{"min_runs": "x", "guard": {"enabled": true, "max_depth": 2}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            (g.max_active_agents, g.max_depth, g.daily_cost_usd),
            (Some(10.0), Some(2.0), None)
        );
        assert!(enabled(br#"{"guard": {"enabled": true, "max_active_agents": -3}}"#).is_err());
        assert!(enabled(b"{not json").is_err());
    }

    #[test]
    fn invalid_limits_are_refused() {
        let bad = |g: GuardConfig| g.validate().unwrap_err();
        assert_eq!(
            bad(GuardConfig {
                max_active_agents: Some(-1.0),
                ..GuardConfig::default()
            }),
            "guard.max_active_agents is -1: it must be a whole number ≥ 0 or null"
        );
        assert!(bad(GuardConfig {
            max_depth: Some(1.5),
            ..GuardConfig::default()
        })
        .contains("max_depth"));
        assert!(bad(GuardConfig {
            daily_cost_usd: Some(f64::NAN),
            ..GuardConfig::default()
        })
        .contains("daily_cost_usd"));
        assert!(GuardConfig {
            session_cost_usd: Some(0.5),
            max_depth: Some(0.0),
            ..GuardConfig::default()
        }
        .validate()
        .is_ok());
    }
}
