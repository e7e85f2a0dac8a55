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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_read_leniently_and_serialise_as_before() {
        let m: WireAgentMeta = serde_json::from_str(
            r#"{"agentType":"Explore","toolUseId":"t1","spawnDepth":"2","finished":"true","isFork":0,"model":["x"],"extra":1}"#,
        )
        .unwrap();
        assert_eq!(m.agent_type.as_deref(), Some("Explore"));
        assert_eq!(m.spawn_depth, Some(2));
        assert_eq!(m.finished, Some(true));
        assert_eq!(m.is_fork, Some(false));
        assert_eq!(m.model, None);
        // Stored in transcript_summary payloads: every field, camelCase, absent ones null.
        let v = serde_json::to_value(&m).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 13);
        assert_eq!(v["toolUseId"], "t1");
        assert_eq!(v["stoppedByUser"], Value::Null);
        let back: WireAgentMeta = serde_json::from_value(v).unwrap();
        assert_eq!(back.spawn_depth, Some(2));
    }
}
