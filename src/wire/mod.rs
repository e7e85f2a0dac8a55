//! Every shape Claude Code sends or writes, read leniently, in one home: hook payloads
//! ([`hook`]), transcript lines (`transcript`), subagent sidecars ([`sidecar`]) and the
//! status-line input ([`statusline`]). The hooks, the transcript reader, the importer, the
//! derivation and the status line all read these; none keeps a copy.
//!
//! Claude Code calls these shapes internal: every field is optional, a field of an unexpected
//! type reads as absent rather than failing its payload or line (`lenient`), unknown fields are
//! skipped. What a shape *means* (an event kind, a run status) is [`crate::vocab`]'s.

pub mod hook;
pub(crate) mod lenient;
pub mod sidecar;
pub mod statusline;
pub(crate) mod transcript;

pub use hook::{WireAgentInput, WireAgentResponse, WireHook, WirePostToolUse, WireToolStats};
pub use sidecar::WireAgentMeta;
pub use statusline::WireStatusLine;

use serde_json::Value;

/// Reads an effort level: `"high"` or `{"level": "high"}`.
pub fn effort_level(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => m.get("level").and_then(as_string),
        other => as_string(other),
    }
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
