//! The guard on the hook's path (docs/guard.md; the limits are `crate::guard`). Only a
//! `subagent-start` call with one Claude Code `PreToolUse` payload of the Agent/Task tool reads
//! `config.json`, and only its `"guard"` key unless the guard is on: every other payload is
//! recorded exactly as without the guard.
//!
//! Deciding happens in the transaction that stores the `PreToolUse` payload, after it: the
//! projection is brought up to date there (`derive::catch_up_in_tx`, until the deadline), the
//! figures read, and a denial appended as a `guard_denied` event. All of it under a savepoint:
//! when anything fails the guard's work is undone and the payload is stored as always.

use super::event::{Incoming, Parsed, StoredEvent};
use super::Binary;
use crate::config::Config;
use crate::guard::{self, Denial, GuardConfig, Request};
use crate::pricing::Prices;
use crate::store::{NewEvent, Store};
use crate::vocab::{self, EventKind, Source};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the guard may take, from reading its configuration to its decision: bringing the
/// projection up to date stops at this deadline, and the guard then takes no decision.
pub const BUDGET: Duration = Duration::from_millis(100);

/// A delegation to check, with the guard's settings: what [`pending`] found.
pub struct Pending {
    guard: GuardConfig,
    config: Config,
    prices: Prices,
    config_path: PathBuf,
    deadline: Instant,
    call: StoredEvent,
    /// The agent type asked for (`tool_input.subagent_type`, `general-purpose` when none).
    subagent_type: String,
}

/// The delegation in `incoming` when the guard is on and it is one to check: a single Claude
/// Code `PreToolUse` of the Agent/Task tool, with a tool use id, received by `subagent-start`.
/// `Err(why)` when the configuration cannot be read or is invalid (the guard stays out).
pub fn pending(
    binary: Binary,
    db: &Path,
    incoming: &[Incoming],
) -> Result<Option<Pending>, String> {
    let [Incoming {
        parsed: Parsed::Event(e),
        ..
    }] = incoming
    else {
        return Ok(None);
    };
    let is_call = binary == Binary::SubagentStart
        && e.source == Source::ClaudeCode.as_str()
        && e.kind == EventKind::PreToolUse.as_str()
        && e.tool_name.as_deref().is_some_and(vocab::is_agent_tool)
        && e.tool_use_id.is_some();
    if !is_call {
        return Ok(None);
    }
    let deadline = Instant::now() + BUDGET;
    let path = crate::paths::config_path(db);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let bad = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let Some(g) = guard::enabled(&bytes).map_err(|e| bad(&e))? else {
        return Ok(None);
    };
    let config: Config = serde_json::from_slice(&bytes).map_err(|e| bad(&e))?;
    let prices = Prices::load(db).map_err(|e| e.to_string())?;
    let subagent_type = serde_json::from_str::<Value>(&e.payload)
        .ok()
        .and_then(|v| {
            v.pointer("/tool_input/subagent_type")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "general-purpose".into());
    Ok(Some(Pending {
        guard: g,
        config,
        prices,
        config_path: path,
        deadline,
        call: (**e).clone(),
        subagent_type,
    }))
}

/// Why no decision was taken.
enum NoDecision {
    /// Events left to derive at the deadline: what was derived is kept.
    Behind(String),
    /// Anything else: the guard's work is undone.
    Failed(String),
}
use NoDecision::{Behind, Failed};

impl Pending {
    /// Decides inside the caller's write transaction (after it appended the call) and records a
    /// denial. `Ok(None)`: allowed. `Err(why)`: no decision. On an error nothing of the guard's is
    /// kept; when the projection is still behind at the deadline, what was derived is kept (the
    /// next call, or a reader, goes on from there).
    pub fn decide(&self, s: &Store) -> Result<Option<Denial>, String> {
        let c = s.conn();
        c.execute_batch("SAVEPOINT guard")
            .map_err(|e| e.to_string())?;
        let (keep, outcome) = match self.decide_in_savepoint(s) {
            Ok(decided) => (true, Ok(decided)),
            Err(Behind(why)) => (true, Err(why)),
            Err(Failed(why)) => (false, Err(why)),
        };
        if keep {
            c.execute_batch("RELEASE guard")
                .map_err(|e| e.to_string())?;
        } else {
            let _ = c.execute_batch("ROLLBACK TO guard; RELEASE guard");
        }
        outcome
    }

    fn decide_in_savepoint(&self, s: &Store) -> Result<Option<Denial>, NoDecision> {
        let caught_up = crate::derive::catch_up_in_tx(s, &self.config, &self.prices, self.deadline)
            .map_err(|e| Failed(format!("derivation failed: {e}")))?;
        if !caught_up {
            return Err(Behind(format!(
                "the projection could not be brought up to date within {} ms (an `analyze` command catches it up)",
                BUDGET.as_millis()
            )));
        }
        let now_ms = crate::store::now_ms();
        let req = Request {
            session_id: self.call.session_id.as_deref(),
            caller: self.call.agent_id.as_deref(),
            now_ms,
        };
        let lost_before = now_ms - self.config.lost_after_minutes * 60_000;
        let f = guard::figures(s.conn(), &self.prices, req, lost_before)
            .map_err(|e| Failed(format!("figures not read: {e}")))?;
        let Some(d) = guard::check(&self.guard, &f, &self.config_path) else {
            return Ok(None);
        };
        let payload = d.payload();
        s.append_event(&NewEvent {
            ts: self.call.ts,
            source: Source::Guard.as_str(),
            kind: EventKind::GuardDenied.as_str(),
            session_id: self.call.session_id.as_deref(),
            prompt_id: self.call.prompt_id.as_deref(),
            agent_id: self.call.agent_id.as_deref(),
            agent_type: Some(&self.subagent_type),
            tool_name: self.call.tool_name.as_deref(),
            tool_use_id: self.call.tool_use_id.as_deref(),
            payload: &payload,
            host: None,
        })
        .map_err(|e| Failed(format!("denial not recorded: {e}")))?;
        Ok(Some(d))
    }
}
