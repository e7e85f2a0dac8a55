//! Hook payloads exactly as Claude Code (and generic orchestrators) send them, and the Agent/Task
//! tool's input and response, which transcripts carry too (the importer reads them from there).
//! Every field is optional and lenient (`wire::lenient`); unknown fields are ignored: Claude
//! Code calls these shapes internal.

use super::lenient;
use super::{as_i64, as_string};
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

/// The Agent/Task tool's input (`tool_input` of its hooks, `input` of its tool_use block). Read
/// for every tool_use block by the importer: other tools' fields are skipped unread.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct WireAgentInput {
    #[serde(deserialize_with = "lenient::string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub prompt: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub subagent_type: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub model: Option<String>,
    #[serde(deserialize_with = "lenient::boolean")]
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
        super::effort_level(self.effort.as_ref()?)
    }
}

/// The Agent/Task tool's response: `tool_response` of its PostToolUse hook, `toolUseResult` of
/// its result line in a transcript (foreground `completed`, background `async_launched`, remote
/// `remote_launched`; 1.x results carry no status).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WireAgentResponse {
    #[serde(deserialize_with = "lenient::string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub agent_id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub agent_type: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_async: Option<bool>,
    #[serde(deserialize_with = "lenient::boolean")]
    pub was_interrupted: Option<bool>,
    #[serde(deserialize_with = "lenient::int")]
    pub total_duration_ms: Option<i64>,
    #[serde(deserialize_with = "lenient::int")]
    pub total_tokens: Option<i64>,
    #[serde(deserialize_with = "lenient::int")]
    pub total_tool_use_count: Option<i64>,
    #[serde(deserialize_with = "lenient::string")]
    pub resolved_model: Option<String>,
    #[serde(deserialize_with = "lenient::object")]
    pub tool_stats: Option<WireToolStats>,
    /// Every model the agent used (2.1.332): names, or objects with a `model`/`id`.
    pub models_used: Option<Value>,
    #[serde(deserialize_with = "lenient::string")]
    pub worktree_path: Option<String>,
    /// `remote_launched`: the remote task's id (there is no `agentId`).
    pub task_id: Option<Value>,
    /// The final API request's usage (not the whole run's).
    pub usage: Option<Value>,
    /// The agent's report (or a failure's text): a string or text blocks, joined by newlines.
    #[serde(deserialize_with = "lenient::text")]
    pub content: String,
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
    #[serde(deserialize_with = "lenient::int")]
    pub lines_added: Option<i64>,
    #[serde(deserialize_with = "lenient::int")]
    pub lines_removed: Option<i64>,
}

/// The one field the hook reads from a PostToolUse(Agent) payload before storing it: whether the
/// agent completed (and which), to read its transcript again.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WirePostToolUse {
    #[serde(deserialize_with = "lenient::object")]
    pub tool_response: Option<WireAgentResponse>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_response_reads_the_hook_and_the_transcript_alike() {
        // As a PostToolUse hook carries it (`tool_response`, parsed again from a stored payload)
        // and as a transcript line's `toolUseResult` (read from the file's bytes).
        let json = r#"{"status":"completed","agentId":"a1","agentType":"Explore","totalDurationMs":"1200","totalTokens":300.0,"totalToolUseCount":4,"toolStats":{"linesAdded":3,"linesRemoved":"1"},"content":[{"type":"text","text":"done"}],"isAsync":false,"usage":{"output_tokens_details":{"thinking_tokens":7}},"modelsUsed":["m1",{"model":"m2"},"m1"]}"#;
        let from_text: WireAgentResponse = serde_json::from_str(json).unwrap();
        let value: Value = serde_json::from_str(json).unwrap();
        let from_value: WireAgentResponse = serde_json::from_value(value).unwrap();
        for r in [from_text, from_value] {
            assert_eq!(r.status.as_deref(), Some("completed"));
            assert_eq!(r.agent_id.as_deref(), Some("a1"));
            assert_eq!(r.total_duration_ms, Some(1200));
            assert_eq!(r.total_tokens, Some(300));
            assert_eq!(r.tool_stats.as_ref().and_then(|s| s.lines_removed), Some(1));
            assert_eq!(r.content, "done");
            assert_eq!(r.thinking_tokens(), Some(7));
            assert_eq!(r.models(), ["m1", "m2"]);
        }
        // A field of the wrong type reads as absent; the rest still reads.
        let r: WireAgentResponse =
            serde_json::from_str(r#"{"status":{"x":1},"agentId":"a2","toolStats":"n/a"}"#).unwrap();
        assert_eq!(r.status, None);
        assert_eq!(r.agent_id.as_deref(), Some("a2"));
        assert!(r.tool_stats.is_none());
        let p: WirePostToolUse = serde_json::from_str(
            r#"{"tool_name":"Agent","tool_response":{"status":"completed","agentId":7}}"#,
        )
        .unwrap();
        assert_eq!(
            p.tool_response.and_then(|r| r.agent_id).as_deref(),
            Some("7")
        );
    }
}
