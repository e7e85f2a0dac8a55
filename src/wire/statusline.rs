//! What Claude Code sends a status-line command on stdin (read from the 2.1.332 binary: the
//! hook base fields, then `model`, `workspace`, `version`, `output_style`, `cost`,
//! `context_window`, … — docs/metrics.md, "Status line"). Every field optional and lenient:
//! anything unreadable is absent, and unreadable input as a whole is an empty status.

use super::{as_i64, as_string};
use serde_json::Value;

/// The fields of the status-line input this project reads or may show.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WireStatusLine {
    pub session_id: Option<String>,
    pub transcript_path: Option<String>,
    pub cwd: Option<String>,
    /// `model.id`.
    pub model_id: Option<String>,
    /// `model.display_name`.
    pub model_display_name: Option<String>,
    /// `workspace.current_dir`.
    pub current_dir: Option<String>,
    /// `workspace.project_dir`.
    pub project_dir: Option<String>,
    /// Claude Code's version.
    pub version: Option<String>,
    /// `cost.total_cost_usd`: Claude Code's own estimate for the session.
    pub total_cost_usd: Option<f64>,
    /// `cost.total_duration_ms`.
    pub total_duration_ms: Option<i64>,
}

impl WireStatusLine {
    /// Reads stdin's bytes; anything that is not a JSON object reads as an empty status.
    pub fn parse(bytes: &[u8]) -> WireStatusLine {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v @ Value::Object(_)) => Self::from_value(&v),
            _ => WireStatusLine::default(),
        }
    }

    fn from_value(v: &Value) -> WireStatusLine {
        let s = |path: &[&str]| at(v, path).and_then(as_string);
        WireStatusLine {
            session_id: s(&["session_id"]),
            transcript_path: s(&["transcript_path"]),
            cwd: s(&["cwd"]),
            model_id: s(&["model", "id"]),
            model_display_name: s(&["model", "display_name"]),
            current_dir: s(&["workspace", "current_dir"]),
            project_dir: s(&["workspace", "project_dir"]),
            version: s(&["version"]),
            total_cost_usd: at(v, &["cost", "total_cost_usd"]).and_then(Value::as_f64),
            total_duration_ms: at(v, &["cost", "total_duration_ms"]).and_then(as_i64),
        }
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_claude_code_sends_and_survives_the_rest() {
        let full = br#"{"session_id":"s-1","transcript_path":"/t.jsonl","cwd":"/p","model":{"id":"claude-opus-4-5","display_name":"Opus"},
            "workspace":{"current_dir":"/p/sub","project_dir":"/p","added_dirs":[]},"version":"2.1.332","output_style":{"name":"default"},
            "cost":{"total_cost_usd":0.25,"total_duration_ms":1200,"total_api_duration_ms":900,"total_lines_added":3,"total_lines_removed":0},
            "context_window":{"total_input_tokens":10},"exceeds_200k_tokens":false}"#;
        let w = WireStatusLine::parse(full);
        assert_eq!(w.session_id.as_deref(), Some("s-1"));
        assert_eq!(w.model_display_name.as_deref(), Some("Opus"));
        assert_eq!(w.project_dir.as_deref(), Some("/p"));
        assert_eq!(
            (w.total_cost_usd, w.total_duration_ms),
            (Some(0.25), Some(1200))
        );
        // Wrong types read as absent; other input as an empty status.
        let odd = WireStatusLine::parse(
            br#"{"session_id":{"x":1},"model":"opus","cost":{"total_cost_usd":"a lot"}}"#,
        );
        assert_eq!(odd, WireStatusLine::default());
        for bad in [
            &b""[..],
            b"not json",
            b"[1,2]",
            b"null",
            b"{\"session_id\":",
        ] {
            assert_eq!(WireStatusLine::parse(bad), WireStatusLine::default());
        }
        assert_eq!(
            WireStatusLine::parse(br#"{"session_id":42}"#)
                .session_id
                .as_deref(),
            Some("42")
        );
    }
}
