//! Payloads exactly as Claude Code (and generic orchestrators) send them. Every field is
//! optional and unknown fields are ignored: Claude Code calls these shapes internal.

use serde::Deserialize;
use serde_json::Value;

/// Any Claude Code hook payload, reduced to the fields this project joins on.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireHook {
    pub hook_event_name: Option<String>,
    pub session_id: Option<String>,
    pub transcript_path: Option<String>,
    pub cwd: Option<String>,
    pub prompt_id: Option<String>,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub agent_transcript_path: Option<String>,
    pub tool_name: Option<String>,
    pub tool_use_id: Option<String>,
    /// ISO-8601 time that overrides the clock (imports, replays, tests).
    pub timestamp: Option<Value>,
    // Generic orchestrator events.
    pub event: Option<String>,
    pub agent_name: Option<String>,
    pub invocation_id: Option<Value>,
}

impl WireHook {
    /// Reads the join keys leniently: a number where a string belongs is taken as its text,
    /// anything else unusable is treated as absent (the whole payload is still stored).
    pub fn from_map(m: &serde_json::Map<String, Value>) -> WireHook {
        let s = |k: &str| m.get(k).and_then(as_string);
        WireHook {
            hook_event_name: s("hook_event_name"),
            session_id: s("session_id"),
            transcript_path: s("transcript_path"),
            cwd: s("cwd"),
            prompt_id: s("prompt_id"),
            agent_id: s("agent_id"),
            agent_type: m
                .get("agent_type")
                .and_then(|v| v.as_str().map(str::to_string)),
            agent_transcript_path: s("agent_transcript_path"),
            tool_name: s("tool_name"),
            tool_use_id: s("tool_use_id"),
            timestamp: m.get("timestamp").cloned(),
            event: s("event"),
            agent_name: s("agent_name"),
            invocation_id: m.get("invocation_id").cloned().filter(|v| !v.is_null()),
        }
    }
}

/// The Agent/Task tool's input.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireAgentInput {
    pub description: Option<String>,
    pub prompt: Option<String>,
    pub subagent_type: Option<String>,
    pub model: Option<String>,
    pub run_in_background: Option<bool>,
    /// A name the caller gives the agent (2.1.332).
    pub name: Option<Value>,
    /// `low` / `medium` / `high` …, or `{"level": …}` as in hook payloads.
    pub effort: Option<Value>,
    /// `worktree` or `remote`.
    pub isolation: Option<Value>,
}

impl WireAgentInput {
    /// The effort level, whichever shape it came in.
    pub fn effort_level(&self) -> Option<String> {
        effort_level(self.effort.as_ref()?)
    }
}

/// Reads an effort level: `"high"` or `{"level": "high"}`.
pub fn effort_level(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => m.get("level").and_then(as_string),
        other => as_string(other),
    }
}

/// The Agent/Task tool's response (foreground `completed` or background `async_launched`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WireAgentResponse {
    pub status: Option<String>,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub is_async: Option<bool>,
    pub total_duration_ms: Option<i64>,
    pub total_tool_use_count: Option<i64>,
    pub resolved_model: Option<String>,
    pub tool_stats: Option<WireToolStats>,
    /// Every model the agent used (2.1.332): names, or objects with a `model`/`id`.
    pub models_used: Option<Value>,
    pub worktree_path: Option<String>,
    /// `remote_launched`: the remote task's id (there is no `agentId`).
    pub task_id: Option<Value>,
    /// The final API request's usage (not the whole run's).
    pub usage: Option<Value>,
}

impl WireAgentResponse {
    /// `modelsUsed` as model names, in order, without repeats.
    pub fn models(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self
            .models_used
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = match m {
                Value::Object(o) => ["model", "id", "name"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(as_string)),
                other => as_string(other),
            };
            if let Some(n) = name.filter(|n| !out.contains(n)) {
                out.push(n);
            }
        }
        out
    }
    /// `usage.output_tokens_details.thinking_tokens` of the final request.
    pub fn thinking_tokens(&self) -> Option<i64> {
        self.usage
            .as_ref()?
            .get("output_tokens_details")?
            .get("thinking_tokens")
            .and_then(as_i64)
    }
}

/// `tool_response.toolStats` of a completed foreground agent.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WireToolStats {
    pub lines_added: Option<i64>,
    pub lines_removed: Option<i64>,
}

/// The sidecar `agent-<id>.meta.json` beside a subagent transcript.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WireAgentMeta {
    pub agent_type: Option<String>,
    pub description: Option<String>,
    pub tool_use_id: Option<String>,
    pub parent_agent_id: Option<String>,
    pub spawn_depth: Option<i64>,
    pub request_shape: Option<String>,
    pub model: Option<String>,
    pub finished: Option<bool>,
    /// The user stopped the agent (2.1.332): the run is cancelled.
    pub stopped_by_user: Option<bool>,
    pub is_fork: Option<bool>,
    pub name: Option<String>,
    pub effort: Option<Value>,
    pub worktree_path: Option<String>,
}

/// Reads an integer that may arrive as a number or a numeric string.
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a string that may arrive as a string or a number.
pub fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a boolean from `true`/`false`, `"true"`/`"yes"`/`"1"`, or a number.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "ok" | "success" => Some(true),
            "false" | "no" | "0" | "failure" | "failed" => Some(false),
            _ => None,
        },
        _ => None,
    }
}
