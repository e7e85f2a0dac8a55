//! Transcript lines (`~/.claude/projects/<project>/<session>.jsonl` and its subagents' files),
//! in the two views their readers need.
//!
//! * The usage view ([`UsageLine`]): what `transcript::summarize_reader` counts — usage per model
//!   response, tool calls and errors, lines changed, API-error notices. A line whose fields have
//!   unexpected types is skipped (and counted as skipped) by that reader.
//! * The run view ([`Line`]): what the importer rebuilds hook events from — turns, Agent/Task
//!   calls with their input ([`WireAgentInput`]) and results ([`ToolUseResult`]: the same
//!   [`WireAgentResponse`] a PostToolUse hook carries), notifications, sidechains. Every field is
//!   lenient ([`super::lenient`]): a field of an unexpected type reads as absent, never failing
//!   the line.

use super::hook::{WireAgentInput, WireAgentResponse};
use super::lenient::{scalars_as, LBool, LStr, Obj, Text};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt;

// ── the usage view ────────────────────────────────────────────────────────────────────────────

/// One transcript line, reduced to what the usage summary reads.
#[derive(Deserialize)]
pub(crate) struct UsageLine {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) subtype: Option<String>,
    pub(crate) timestamp: Option<String>,
    #[serde(rename = "isSidechain")]
    pub(crate) is_sidechain: Option<bool>,
    #[serde(rename = "agentId")]
    pub(crate) agent_id: Option<String>,
    #[serde(rename = "promptId")]
    pub(crate) prompt_id: Option<String>,
    #[serde(rename = "requestId")]
    pub(crate) request_id: Option<String>,
    #[serde(rename = "isApiErrorMessage")]
    pub(crate) is_api_error: Option<bool>,
    #[serde(rename = "toolUseResult")]
    pub(crate) tool_use_result: Option<Value>,
    pub(crate) message: Option<UsageMessage>,
    pub(crate) content: Option<Value>,
}

/// `message` of a line: the model response's identity, model, content and usage.
#[derive(Deserialize)]
pub(crate) struct UsageMessage {
    pub(crate) id: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) content: Option<UsageContent>,
    pub(crate) usage: Option<Usage>,
}

/// `message.content`: blocks, or anything else (unused). Not `#[serde(untagged)]`: an untagged
/// enum buffers its input, and the blocks' raw JSON fields ([`RawValue`]) cannot be read from a
/// buffer.
pub(crate) enum UsageContent {
    Blocks(Vec<UsageBlock>),
    Other,
}

impl<'de> Deserialize<'de> for UsageContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UsageContent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("message content")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<UsageContent, A::Error> {
                let mut blocks = Vec::new();
                while let Some(b) = s.next_element::<UsageBlock>()? {
                    blocks.push(b);
                }
                Ok(UsageContent::Blocks(blocks))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<UsageContent, E> {
                Ok(UsageContent::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<UsageContent, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(UsageContent::Other)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<UsageContent, D::Error> {
                UsageContent::deserialize(d)
            }
            scalars_as!(UsageContent, UsageContent::Other);
        }
        d.deserialize_any(V)
    }
}

/// A content block: tool_use, tool_result, text.
#[derive(Deserialize)]
pub(crate) struct UsageBlock {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) tool_use_id: Option<String>,
    pub(crate) is_error: Option<bool>,
    pub(crate) text: Option<String>,
    /// A tool_use's input, kept as its JSON text: parsed only for the tools that need it.
    pub(crate) input: Option<Box<RawValue>>,
    /// A tool_result's content (a string or text blocks), kept as JSON text: read only for
    /// Bash (test summaries, exit codes) and tools a custom metric names.
    pub(crate) content: Option<Box<RawValue>>,
}

/// A tool_result's `content`: a string, or blocks whose text parts are joined by newlines.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ResultContent {
    Text(String),
    Blocks(Vec<ResultBlock>),
    Other(#[allow(dead_code)] IgnoredAny),
}

/// One block of a tool_result's content (only text blocks have text).
#[derive(Deserialize)]
pub(crate) struct ResultBlock {
    pub(crate) text: Option<String>,
}

impl ResultContent {
    /// The text the agent saw (empty when the content is not text).
    pub(crate) fn text_of(raw: &RawValue) -> String {
        match serde_json::from_str::<ResultContent>(raw.get()) {
            Ok(ResultContent::Text(t)) => t,
            Ok(ResultContent::Blocks(b)) => b
                .into_iter()
                .filter_map(|b| b.text)
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }
}

/// The path in a file tool's input: `file_path` (Write, Edit, MultiEdit) or `notebook_path`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct FileInput {
    pub(crate) file_path: Option<String>,
    pub(crate) notebook_path: Option<String>,
}

/// `message.usage`: the tokens of one model response.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Usage {
    pub(crate) input_tokens: Option<i64>,
    pub(crate) output_tokens: Option<i64>,
    pub(crate) cache_read_input_tokens: Option<i64>,
    pub(crate) cache_creation_input_tokens: Option<i64>,
    pub(crate) cache_creation: Option<CacheCreation>,
}

/// `usage.cache_creation`: cache writes by lifetime.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CacheCreation {
    pub(crate) ephemeral_5m_input_tokens: Option<i64>,
    pub(crate) ephemeral_1h_input_tokens: Option<i64>,
}

// ── the run view ──────────────────────────────────────────────────────────────────────────────

/// `message.content`: a plain string, or content blocks.
#[derive(Debug, Default)]
pub(crate) enum Content {
    #[default]
    None,
    Text(String),
    Blocks(Vec<Obj<Block>>),
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("message content")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Content, E> {
                Ok(Content::Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Content, E> {
                Ok(Content::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Content, A::Error> {
                let mut blocks = Vec::new();
                while let Some(b) = s.next_element::<Obj<Block>>()? {
                    blocks.push(b);
                }
                Ok(Content::Blocks(blocks))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Content, D::Error> {
                Content::deserialize(d)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Content, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Content::None)
            }
            scalars_as!(Content, Content::None);
        }
        d.deserialize_any(V)
    }
}

/// A content block: text, tool_use (with the Agent/Task input), tool_result.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Block {
    #[serde(rename = "type")]
    pub(crate) kind: LStr,
    pub(crate) id: LStr,
    pub(crate) name: LStr,
    pub(crate) input: Obj<WireAgentInput>,
    pub(crate) tool_use_id: LStr,
    pub(crate) is_error: LBool,
    pub(crate) content: Text,
    pub(crate) text: LStr,
}

/// `message` of a line: its content and why the model stopped.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Message {
    pub(crate) content: Content,
    pub(crate) stop_reason: LStr,
}

/// `origin` of a user line (`task-notification`: Claude Code submitted it).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Origin {
    pub(crate) kind: LStr,
}

/// `toolUseResult` of an Agent/Task call: an object (completed / async_launched / 1.x), or an
/// error string.
#[derive(Debug, Default)]
pub(crate) enum ToolUseResult {
    #[default]
    None,
    Text(String),
    Obj(Box<WireAgentResponse>),
}

impl<'de> Deserialize<'de> for ToolUseResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ToolUseResult;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a tool result")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ToolUseResult, E> {
                Ok(ToolUseResult::Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ToolUseResult, E> {
                Ok(ToolUseResult::Text(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<ToolUseResult, A::Error> {
                WireAgentResponse::deserialize(MapAccessDeserializer::new(m))
                    .map(|t| ToolUseResult::Obj(Box::new(t)))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ToolUseResult, D::Error> {
                ToolUseResult::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<ToolUseResult, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ToolUseResult::None)
            }
            scalars_as!(ToolUseResult, ToolUseResult::None);
        }
        d.deserialize_any(V)
    }
}

/// One transcript line, reduced to what the importer reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Line {
    #[serde(rename = "type")]
    pub(crate) kind: LStr,
    pub(crate) timestamp: LStr,
    #[serde(rename = "isSidechain")]
    pub(crate) is_sidechain: LBool,
    #[serde(rename = "agentId")]
    pub(crate) agent_id: LStr,
    #[serde(rename = "promptId")]
    pub(crate) prompt_id: LStr,
    pub(crate) uuid: LStr,
    #[serde(rename = "isMeta")]
    pub(crate) is_meta: LBool,
    #[serde(rename = "isCompactSummary")]
    pub(crate) is_compact_summary: LBool,
    pub(crate) cwd: LStr,
    pub(crate) origin: Obj<Origin>,
    pub(crate) message: Obj<Message>,
    #[serde(rename = "toolUseResult")]
    pub(crate) tool_use_result: ToolUseResult,
    /// The agent type an assistant line is attributed to (2.1.332), without the sidecar.
    #[serde(rename = "attributionAgent")]
    pub(crate) attribution_agent: LStr,
    /// Claude Code's own notice of a failed model call (`API Error: …`).
    #[serde(rename = "isApiErrorMessage")]
    pub(crate) is_api_error: LBool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_fields_never_fail_a_line() {
        let l: Line = serde_json::from_str(
            r#"{"type":"user","isSidechain":"yes","agentId":7,"timestamp":null,"message":{"content":[{"type":"tool_result","tool_use_id":"t","is_error":"true","content":[{"type":"text","text":"a"},{"type":"image"},"b"]},5]},"toolUseResult":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(l.kind.0.as_deref(), Some("user"));
        assert_eq!(l.agent_id.0.as_deref(), Some("7"));
        assert_eq!(l.is_sidechain.0, None);
        let Content::Blocks(b) = l.message.0.content else {
            panic!("blocks")
        };
        assert_eq!(b[0].0.content.0, "a\nb");
        assert_eq!(b[0].0.is_error.0, Some(true));
        assert!(matches!(l.tool_use_result, ToolUseResult::None));
        // An object where a string belongs, a string where an object belongs.
        let l: Line =
            serde_json::from_str(r#"{"type":{"x":1},"message":"hi","origin":3}"#).unwrap();
        assert_eq!(l.kind.0, None);
    }
}
