//! Scanning one transcript file: its turns, Agent/Task calls and their results, task
//! notifications, and what each agent's own lines say (1.x sidechains kept apart).

use super::Outcome;
use crate::vocab;
use crate::wire::lenient::Obj;
use crate::wire::transcript::{Content, Line, ToolUseResult as Tur};
use crate::wire::WireAgentInput;
use serde::de::{self, IgnoredAny};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// An Agent/Task tool call.
#[derive(Debug, Clone)]
pub(super) struct Delegation {
    pub(super) seq: usize,
    pub(super) ts: i64,
    pub(super) tool_use_id: String,
    pub(super) tool_name: String,
    /// The agent that made the call; None = the main agent.
    pub(super) caller: Option<String>,
    pub(super) input: WireAgentInput,
    pub(super) prompt_id: Option<String>,
}

/// The result of an Agent/Task tool call.
#[derive(Debug)]
pub(super) struct ToolResult {
    pub(super) ts: i64,
    pub(super) tool_use_id: String,
    pub(super) is_error: bool,
    pub(super) text: String,
    pub(super) tur: Tur,
}

/// A `<task-notification>`: a background agent finished (or failed, or was stopped).
#[derive(Debug, Clone)]
pub(super) struct Notification {
    pub(super) ts: i64,
    pub(super) task_id: Option<String>,
    pub(super) tool_use_id: Option<String>,
    pub(super) status: Option<String>,
    pub(super) summary: Option<String>,
    pub(super) result: Option<String>,
}

/// A prompt turn of the main agent.
#[derive(Debug, Clone)]
pub(super) struct Turn {
    pub(super) prompt_id: String,
    pub(super) text: String,
    pub(super) start: i64,
    pub(super) end: i64,
    /// The turn's last assistant line is an API-error notice: it ended on it (StopFailure).
    pub(super) api_error: Option<String>,
}

/// What one agent's lines said (a subagent file, or 1.x inline sidechain lines).
#[derive(Debug, Default)]
pub(super) struct AgentLines {
    pub(super) first_ts: Option<i64>,
    pub(super) last_ts: Option<i64>,
    pub(super) first_prompt: Option<String>,
    pub(super) prompt_id: Option<String>,
    pub(super) last_text: Option<String>,
    pub(super) last_stop_reason: Option<String>,
    pub(super) cwd: Option<String>,
    /// `attributionAgent` of the agent's lines: its type where the sidecar is missing.
    pub(super) attribution: Option<String>,
    /// The last line is Claude Code's `[Request interrupted by user…]` note: the agent was
    /// stopped (killed with its session, or by the user) — no hook reports that.
    pub(super) interrupted: bool,
    /// 1.x inline sidechains: the raw lines, summarised as if they were the agent's own file.
    pub(super) raw: Vec<u8>,
}

#[derive(Debug, Default)]
pub(super) struct FileScan {
    /// The file's own lines (main agent for a session file, the agent for an agent file).
    pub(super) own: AgentLines,
    pub(super) delegations: Vec<Delegation>,
    pub(super) results: Vec<ToolResult>,
    pub(super) notifications: Vec<Notification>,
    pub(super) turns: Vec<Turn>,
    /// 1.x: sidechain agents found inline in a session file.
    pub(super) inline: BTreeMap<String, AgentLines>,
    pub(super) end_offset: u64,
}

pub(super) fn note_ts(a: &mut AgentLines, ts: Option<i64>) {
    if let Some(t) = ts {
        a.first_ts = Some(a.first_ts.map_or(t, |f| f.min(t)));
        a.last_ts = Some(a.last_ts.map_or(t, |l| l.max(t)));
    }
}

pub(super) fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    if map.len() >= 64 && !map.contains_key(key) {
        *map.entry("(other)".into()).or_insert(0) += 1;
    } else {
        *map.entry(key.to_string()).or_insert(0) += 1;
    }
}

/// Reads the lines of one file. `owner` is the agent id of a subagent file, None for a session
/// file. `seq` numbers delegations across the files of a session.
pub(super) fn scan_file(
    path: &Path,
    buf: &[u8],
    owner: Option<&str>,
    session: &str,
    seq: &mut usize,
    stats: &mut Outcome,
) -> FileScan {
    let mut s = Scanner {
        path,
        owner,
        session,
        seq,
        stats,
        scan: FileScan::default(),
        agent_tools: HashSet::new(),
        last_ts: None,
    };
    let mut pos = 0usize;
    let mut lineno = 0u64;
    while pos < buf.len() {
        lineno += 1;
        let rest = &buf[pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            if rest.iter().any(|b| !b.is_ascii_whitespace()) {
                s.stats
                    .skip("incomplete last line (still being written)", 1);
            }
            break;
        };
        let raw = &rest[..n];
        pos += n + 1;
        s.scan.end_offset = pos as u64;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        s.stats.lines_read += 1;
        if let Some(l) = s.parse(line, lineno) {
            s.line(l, line, lineno);
        }
    }
    s.scan
}

/// The entry types that carry run data.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Assistant,
    System,
}

/// One file being scanned.
struct Scanner<'a> {
    path: &'a Path,
    owner: Option<&'a str>,
    session: &'a str,
    seq: &'a mut usize,
    stats: &'a mut Outcome,
    scan: FileScan,
    /// Agent/Task tool_use ids seen: the results to keep are theirs.
    agent_tools: HashSet<String>,
    /// The last timestamp seen: a line without one takes it.
    last_ts: Option<i64>,
}

impl Scanner<'_> {
    /// A line as a transcript entry; a malformed one is counted and reported.
    fn parse(&mut self, line: &[u8], lineno: u64) -> Option<Line> {
        // A derived struct would also accept an array: only an object is a transcript entry.
        let parsed = match line.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => serde_json::from_slice::<Line>(line),
            _ => Err(de::Error::custom("not a JSON object")),
        };
        match parsed {
            Ok(l) => Some(l),
            Err(e) => {
                let reason = if serde_json::from_slice::<IgnoredAny>(line).is_ok() {
                    "unexpected shape"
                } else {
                    "malformed JSON"
                };
                self.stats.skip(reason, 1);
                self.stats
                    .problem(self.path, Some(lineno), format!("{reason}: {e}"));
                None
            }
        }
    }

    /// The lines of `inline_agent`, or the file's own.
    fn lines_of(&mut self, inline_agent: &Option<String>) -> &mut AgentLines {
        match inline_agent {
            Some(a) => self.scan.inline.entry(a.clone()).or_default(),
            None => &mut self.scan.own,
        }
    }

    /// One entry: whose it is, what it says, and how far it extends the current turn.
    fn line(&mut self, mut l: Line, raw: &[u8], lineno: u64) {
        let kind = match l.kind.0.as_deref() {
            Some("user") => Kind::User,
            Some("assistant") => Kind::Assistant,
            Some("system") => Kind::System,
            other => {
                let k = other.filter(|k| !k.is_empty()).unwrap_or("(no type)");
                bump(&mut self.stats.ignored, k);
                return;
            }
        };
        let ts = l
            .timestamp
            .0
            .as_deref()
            .and_then(crate::timeparse::parse_instant);
        if ts.is_some() {
            self.last_ts = ts;
        }
        let eff_ts = ts.or(self.last_ts).unwrap_or(0);
        // Whose line is it?
        let inline_agent = match (self.owner, l.is_sidechain.0.unwrap_or(false)) {
            (None, true) => match &l.agent_id.0 {
                Some(a) => Some(a.clone()),
                None => {
                    bump(&mut self.stats.ignored, "sidechain line without agentId");
                    return;
                }
            },
            _ => None,
        };
        let caller: Option<String> = self
            .owner
            .map(str::to_string)
            .or_else(|| inline_agent.clone());
        let is_main = caller.is_none();
        self.note(&l, raw, ts, &inline_agent, is_main);
        match kind {
            Kind::User => self.user(&mut l, eff_ts, lineno, &inline_agent, is_main),
            Kind::Assistant => self.assistant(&mut l, eff_ts, &caller, &inline_agent, is_main),
            Kind::System => {}
        }
        if is_main {
            // A line stamped with a prompt id not begun yet (its isMeta preamble) is not the
            // current turn's.
            if let (Some(t), Some(turn)) = (ts, self.scan.turns.last_mut()) {
                if l.prompt_id.0.as_deref().is_none_or(|p| p == turn.prompt_id) {
                    turn.end = turn.end.max(t);
                }
            }
        }
    }

    /// What every line tells of its agent: times, working directory, prompt id, type; 1.x inline
    /// sidechain lines are kept to be summarised as the agent's own file.
    fn note(
        &mut self,
        l: &Line,
        raw: &[u8],
        ts: Option<i64>,
        inline_agent: &Option<String>,
        is_main: bool,
    ) {
        let who = self.lines_of(inline_agent);
        note_ts(who, ts);
        if who.cwd.is_none() {
            who.cwd = l.cwd.0.clone();
        }
        if who.prompt_id.is_none() && !is_main {
            who.prompt_id = l.prompt_id.0.clone();
        }
        if who.attribution.is_none() && !is_main {
            who.attribution = l.attribution_agent.0.clone().filter(|t| !t.is_empty());
        }
        if inline_agent.is_some() {
            who.raw.extend_from_slice(raw);
            who.raw.push(b'\n');
        }
    }

    /// A user line: Agent/Task results (with the line's `toolUseResult`), a prompt that opens a
    /// turn (main agent) or is a subagent's, a task notification.
    fn user(
        &mut self,
        l: &mut Line,
        eff_ts: i64,
        lineno: u64,
        inline_agent: &Option<String>,
        is_main: bool,
    ) {
        let mut tur = std::mem::take(&mut l.tool_use_result);
        let mut prompt_text: Option<String> = None;
        match std::mem::take(&mut l.message.0.content) {
            Content::Blocks(blocks) => {
                let mut has_result = false;
                let mut texts: Vec<String> = Vec::new();
                for Obj(b) in blocks {
                    match b.kind.0.as_deref() {
                        Some("tool_result") => {
                            has_result = true;
                            let Some(tu) = b.tool_use_id.0 else { continue };
                            if self.agent_tools.contains(&tu) {
                                self.scan.results.push(ToolResult {
                                    ts: eff_ts,
                                    tool_use_id: tu,
                                    is_error: b.is_error.0.unwrap_or(false),
                                    text: b.content.0,
                                    tur: std::mem::take(&mut tur),
                                });
                            }
                        }
                        Some("text") => texts.extend(b.text.0),
                        _ => {}
                    }
                }
                if !has_result && !texts.is_empty() {
                    prompt_text = Some(texts.join("\n"));
                }
            }
            Content::Text(t) => prompt_text = Some(t),
            Content::None => {}
        }
        let Some(text) = prompt_text else { return };
        if !is_main {
            let who = self.lines_of(inline_agent);
            who.interrupted = text.starts_with("[Request interrupted");
            if who.first_prompt.is_none() {
                who.first_prompt = Some(text);
            }
            return;
        }
        if l.is_meta.0 == Some(true)
            || l.is_compact_summary.0 == Some(true)
            || text.starts_with("[Request interrupted")
        {
            return;
        }
        let notification = l.origin.0.kind.0.as_deref() == Some("task-notification")
            || text.trim_start().starts_with("<task-notification>");
        // Before 2.1.196 lines carry no promptId: each prompt line is its own turn,
        // named by the line's uuid (stable, so a re-import produces the same id).
        let pid = l
            .prompt_id
            .0
            .clone()
            .or_else(|| l.uuid.0.clone())
            .unwrap_or_else(|| format!("import:{}:{lineno}", self.session));
        if self.scan.turns.last().map(|t| t.prompt_id.as_str()) != Some(pid.as_str()) {
            self.scan.turns.push(Turn {
                prompt_id: pid,
                text: text.clone(),
                start: eff_ts,
                end: eff_ts,
                api_error: None,
            });
        }
        if notification {
            self.scan
                .notifications
                .push(parse_notification(&text, eff_ts));
        }
    }

    /// An assistant line: Agent/Task calls, the agent's last text and stop reason, and whether
    /// the main agent's turn ended on an API-error notice.
    fn assistant(
        &mut self,
        l: &mut Line,
        eff_ts: i64,
        caller: &Option<String>,
        inline_agent: &Option<String>,
        is_main: bool,
    ) {
        let message = std::mem::take(&mut l.message.0);
        if let Content::Blocks(blocks) = message.content {
            for Obj(b) in blocks {
                match b.kind.0.as_deref() {
                    Some("tool_use") => {
                        let name = b.name.0.unwrap_or_default();
                        let Some(tu) = b.id.0 else { continue };
                        if !vocab::is_agent_tool(&name) || !self.agent_tools.insert(tu.clone()) {
                            continue; // not a delegation, or the same block written twice
                        }
                        let prompt_id = if is_main {
                            self.scan.turns.last().map(|t| t.prompt_id.clone())
                        } else {
                            l.prompt_id.0.clone()
                        };
                        *self.seq += 1;
                        self.scan.delegations.push(Delegation {
                            seq: *self.seq,
                            ts: eff_ts,
                            tool_use_id: tu,
                            tool_name: name,
                            caller: caller.clone(),
                            input: b.input.0,
                            prompt_id,
                        });
                    }
                    Some("text") => {
                        if let Some(t) = b.text.0.filter(|t| !t.trim().is_empty()) {
                            self.lines_of(inline_agent).last_text = Some(t);
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(r) = message.stop_reason.0 {
            let who = self.lines_of(inline_agent);
            who.last_stop_reason = Some(r);
            who.interrupted = false;
        }
        if is_main {
            if let Some(turn) = self.scan.turns.last_mut() {
                turn.api_error = (l.is_api_error.0 == Some(true))
                    .then(|| self.scan.own.last_text.clone())
                    .flatten()
                    .filter(|t| t.starts_with("API Error"));
            }
        }
    }
}

/// The value of `<tag>…</tag>` in a task notification.
pub(super) fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].trim())
}

pub(super) fn parse_notification(text: &str, ts: i64) -> Notification {
    let s = |n: &str| tag(text, n).map(str::to_string).filter(|v| !v.is_empty());
    Notification {
        ts,
        task_id: s("task-id"),
        tool_use_id: s("tool-use-id"),
        status: s("status"),
        summary: s("summary"),
        result: s("result"),
    }
}

/// The agent id in a 2.1 Agent tool result's text (`agentId: a1b2c3…`).
pub(super) fn agent_id_in_text(text: &str) -> Option<String> {
    let i = text.rfind("agentId: ")? + "agentId: ".len();
    let id: String = text[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_notifications_and_result_texts_are_read() {
        let n = parse_notification(
            "<task-notification>\n<task-id>af0675</task-id>\n<tool-use-id>toolu_01D</tool-use-id>\n<status>completed</status>\n<summary>Agent \"x\" finished</summary>\n<result>scan complete</result>\n</task-notification>",
            5,
        );
        assert_eq!(n.task_id.as_deref(), Some("af0675"));
        assert_eq!(n.tool_use_id.as_deref(), Some("toolu_01D"));
        assert_eq!(n.status.as_deref(), Some("completed"));
        assert_eq!(n.result.as_deref(), Some("scan complete"));
        assert_eq!(
            agent_id_in_text(
                "report\nagentId: acef1f01eb91bc6db (use SendMessage with to: 'acef1f01eb91bc6db')"
            )
            .as_deref(),
            Some("acef1f01eb91bc6db")
        );
        assert_eq!(agent_id_in_text("no id here"), None);
    }
}
