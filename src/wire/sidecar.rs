//! The sidecar `agent-<id>.meta.json` Claude Code writes beside a subagent transcript (2.1.2+):
//! the agent's type, its Agent call, its parent and whether it finished. Read by the hooks at a
//! turn's end, by the importer, and stored (re-serialised) in `transcript_summary` payloads, where
//! derive reads it back: the serialised shape is part of the event log.

use super::lenient;
use serde::Deserialize;
use serde_json::Value;

/// The sidecar `agent-<id>.meta.json` beside a subagent transcript.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WireAgentMeta {
    #[serde(deserialize_with = "lenient::string")]
    pub agent_type: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub tool_use_id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub parent_agent_id: Option<String>,
    #[serde(deserialize_with = "lenient::int")]
    pub spawn_depth: Option<i64>,
    #[serde(deserialize_with = "lenient::string")]
    pub request_shape: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub model: Option<String>,
    #[serde(deserialize_with = "lenient::boolean")]
    pub finished: Option<bool>,
    /// The user stopped the agent (2.1.332): the run is cancelled.
    #[serde(deserialize_with = "lenient::boolean")]
    pub stopped_by_user: Option<bool>,
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_fork: Option<bool>,
    #[serde(deserialize_with = "lenient::string")]
    pub name: Option<String>,
    pub effort: Option<Value>,
    #[serde(deserialize_with = "lenient::string")]
    pub worktree_path: Option<String>,
}
