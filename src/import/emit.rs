//! One session → events: each Agent/Task call tied to its agent, and the events the hooks would
//! have sent for it, in the order they fire.

use super::scan::AgentLines;
use super::scan::{agent_id_in_text, Delegation, FileScan, Notification, ToolResult, Turn};
use super::MAX_TEXT;
use crate::hook::event::StoredEvent;
use crate::transcript::Summary;
use crate::util::truncate as cut;
use crate::vocab::{EventKind, Source};
use crate::wire::transcript::ToolUseResult as Tur;
use crate::wire::WireAgentMeta;
use crate::wire::{WireAgentInput, WireAgentResponse};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

/// An event ready to append, with what orders it and what it is about.
#[derive(Debug, Clone)]
pub(super) struct Ev {
    /// Tie-break at equal times, in the order the hooks fire.
    pub(super) rank: u8,
    pub(super) seq: usize,
    /// `source = 'import'`, the session's id; no transcript paths (those are the hooks' own).
    pub(super) event: StoredEvent,
    /// The agent run this event is about (for "runs updated").
    pub(super) subject: Option<String>,
}

/// An agent of the session with what its transcript said.
pub(super) struct AgentRec {
    pub(super) id: String,
    pub(super) path: Option<PathBuf>,
    pub(super) lines: AgentLines,
    pub(super) summary: Summary,
    pub(super) meta: Option<WireAgentMeta>,
}

impl AgentRec {
    /// Claude Code considered it done (sidecar), or its last answer ended the turn.
    pub(super) fn finished(&self) -> bool {
        match self.meta.as_ref().and_then(|m| m.finished) {
            Some(f) => f,
            None => {
                self.lines.last_stop_reason.as_deref() == Some("end_turn")
                    && !self.summary.ended_in_api_error
            }
        }
    }
}

/// What a completed (or launched) Agent/Task call reported.
#[derive(Debug, Default, Clone)]
pub(super) struct Resp {
    pub(super) agent_type: Option<String>,
    pub(super) description: Option<String>,
    pub(super) resolved_model: Option<String>,
    pub(super) duration_ms: Option<i64>,
    pub(super) tokens: Option<i64>,
    pub(super) tool_uses: Option<i64>,
    pub(super) is_async: Option<bool>,
    pub(super) lines_added: Option<i64>,
    pub(super) lines_removed: Option<i64>,
    /// The agent's final report.
    pub(super) report: Option<String>,
}

impl Resp {
    pub(super) fn from_obj(o: &WireAgentResponse) -> Resp {
        let stats = o.tool_stats.as_ref();
        Resp {
            agent_type: o.agent_type.clone(),
            description: o.description.clone(),
            resolved_model: o.resolved_model.clone(),
            duration_ms: o.total_duration_ms,
            tokens: o.total_tokens,
            tool_uses: o.total_tool_use_count,
            is_async: o.is_async,
            lines_added: stats.and_then(|s| s.lines_added),
            lines_removed: stats.and_then(|s| s.lines_removed),
            report: o
                .content
                .rsplit('\n')
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        }
    }

    /// A 2.1 result as plain text (what a subagent's own transcript holds for its delegations):
    /// `… report …\nagentId: x (…)\n<usage>subagent_tokens: N\ntool_uses: N\nduration_ms: N</usage>`.
    pub(super) fn from_text(t: &str) -> Resp {
        let num = |key: &str| -> Option<i64> {
            let i = t.rfind(key)? + key.len();
            let digits: String = t[i..]
                .trim_start_matches([' ', '>'])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        };
        let body = t.split("\nagentId: ").next().unwrap_or(t);
        let report = body
            .rsplit("The report follows:")
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        Resp {
            duration_ms: num("duration_ms:").or_else(|| num("<duration_ms>")),
            tokens: num("subagent_tokens:").or_else(|| num("<subagent_tokens>")),
            tool_uses: num("tool_uses:").or_else(|| num("<tool_uses>")),
            report,
            ..Resp::default()
        }
    }

    /// The Agent tool's response as the PostToolUse hook carries it (the fields derive reads).
    pub(super) fn json(&self, agent_id: &str, agent_type: &str, status: &str) -> Value {
        let mut m = Map::new();
        m.insert("status".into(), json!(status));
        m.insert("agentId".into(), json!(agent_id));
        m.insert(
            "agentType".into(),
            json!(self.agent_type.as_deref().unwrap_or(agent_type)),
        );
        for (k, v) in [
            ("description", &self.description),
            ("resolvedModel", &self.resolved_model),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        for (k, v) in [
            ("totalDurationMs", self.duration_ms),
            ("totalTokens", self.tokens),
            ("totalToolUseCount", self.tool_uses),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        if let Some(b) = self.is_async {
            m.insert("isAsync".into(), json!(b));
        }
        if self.lines_added.is_some() || self.lines_removed.is_some() {
            m.insert(
                "toolStats".into(),
                json!({"linesAdded": self.lines_added, "linesRemoved": self.lines_removed}),
            );
        }
        Value::Object(m)
    }
}

/// How an Agent/Task call ended, as its result says.
pub(super) enum Ending {
    Completed(Resp),
    Launched(Resp),
    Failed {
        error: String,
        interrupt: bool,
    },
    /// No result yet (still running, or the session ended first), or one that says nothing.
    Pending,
}

pub(super) fn interrupted(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("interrupted by user")
        || t.contains("request interrupted")
        || t.contains("user rejected")
        || t.contains("user doesn't want")
}

pub(super) fn ending(r: Option<&ToolResult>) -> Ending {
    let Some(r) = r else { return Ending::Pending };
    match &r.tur {
        Tur::Obj(o) if !r.is_error => match o.status.as_deref() {
            Some("async_launched") => Ending::Launched(Resp::from_obj(o)),
            Some("failed" | "error") => Ending::Failed {
                error: o.content.clone(),
                interrupt: false,
            },
            _ if o.was_interrupted == Some(true) => Ending::Failed {
                error: "Interrupted by user".into(),
                interrupt: true,
            },
            // `completed`, or no status at all (1.x results).
            Some("completed") | None => Ending::Completed(Resp::from_obj(o)),
            // Any other launch (e.g. teammates): its end comes later, like a background agent's.
            Some(_) => Ending::Launched(Resp::from_obj(o)),
        },
        tur => {
            let text = match tur {
                Tur::Text(t) if r.text.is_empty() => t.trim_start_matches("Error: ").to_string(),
                _ => r.text.clone(),
            };
            if r.is_error || matches!(tur, Tur::Text(t) if t.starts_with("Error")) {
                Ending::Failed {
                    interrupt: interrupted(&text),
                    error: text,
                }
            } else if interrupted(&text) {
                Ending::Failed {
                    error: text,
                    interrupt: true,
                }
            } else if agent_id_in_text(&text).is_some() {
                Ending::Completed(Resp::from_text(&text))
            } else {
                Ending::Pending
            }
        }
    }
}

pub(super) struct Emitter<'a> {
    pub(super) sid: &'a str,
    pub(super) transcript_path: String,
    pub(super) cwd: Option<String>,
    pub(super) out: Vec<Ev>,
    pub(super) seq: usize,
}

/// Event kinds with their tie-break rank (the order the hooks fire in at equal times).
pub(super) const SESSION_START: (EventKind, u8) = (EventKind::SessionStart, 0);
pub(super) const PROMPT: (EventKind, u8) = (EventKind::UserPromptSubmit, 1);
pub(super) const PRE_TOOL: (EventKind, u8) = (EventKind::PreToolUse, 2);
pub(super) const AGENT_START: (EventKind, u8) = (EventKind::SubagentStart, 3);
pub(super) const AGENT_STOP: (EventKind, u8) = (EventKind::SubagentStop, 4);
pub(super) const SUMMARY: (EventKind, u8) = (EventKind::TranscriptSummary, 5);
pub(super) const POST_TOOL: (EventKind, u8) = (EventKind::PostToolUse, 6);
pub(super) const POST_TOOL_FAILURE: (EventKind, u8) = (EventKind::PostToolUseFailure, 6);
pub(super) const STOP: (EventKind, u8) = (EventKind::Stop, 7);
pub(super) const STOP_FAILURE: (EventKind, u8) = (EventKind::StopFailure, 7);

/// The columns of one event besides its kind, time and payload.
#[derive(Default)]
pub(super) struct Cols {
    pub(super) prompt_id: Option<String>,
    pub(super) agent_id: Option<String>,
    pub(super) agent_type: Option<String>,
    pub(super) tool_name: Option<String>,
    pub(super) tool_use_id: Option<String>,
    pub(super) subject: Option<String>,
}

impl Emitter<'_> {
    /// A hook-shaped event: the common payload fields plus `fields`.
    pub(super) fn hook(
        &mut self,
        (kind, rank): (EventKind, u8),
        ts: i64,
        c: Cols,
        fields: Map<String, Value>,
    ) {
        let mut p = Map::new();
        p.insert("session_id".into(), json!(self.sid));
        p.insert("transcript_path".into(), json!(self.transcript_path));
        if let Some(cwd) = &self.cwd {
            p.insert("cwd".into(), json!(cwd));
        }
        if let Some(pid) = &c.prompt_id {
            p.insert("prompt_id".into(), json!(pid));
        }
        p.insert("hook_event_name".into(), json!(kind.as_str()));
        if let Some(a) = &c.agent_id {
            p.insert("agent_id".into(), json!(a));
        }
        if let Some(t) = &c.agent_type {
            p.insert("agent_type".into(), json!(t));
        }
        if let Some(t) = &c.tool_name {
            p.insert("tool_name".into(), json!(t));
        }
        if let Some(t) = &c.tool_use_id {
            p.insert("tool_use_id".into(), json!(t));
        }
        p.extend(fields);
        p.insert("timestamp".into(), json!(crate::timeparse::format_ms(ts)));
        self.push(kind, rank, ts, c, Value::Object(p).to_string());
    }

    pub(super) fn push(&mut self, kind: EventKind, rank: u8, ts: i64, c: Cols, payload: String) {
        self.seq += 1;
        let payload = crate::redact::redact(&payload).into_owned();
        self.out.push(Ev {
            rank,
            seq: self.seq,
            event: StoredEvent {
                ts,
                source: Source::Import.as_str(),
                kind: kind.as_str().to_string(),
                session_id: Some(self.sid.to_string()),
                prompt_id: c.prompt_id,
                agent_id: c.agent_id,
                agent_type: c.agent_type,
                tool_name: c.tool_name,
                tool_use_id: c.tool_use_id,
                payload,
                transcript_path: None,
                agent_transcript_path: None,
                host: None,
            },
            subject: c.subject,
        });
    }

    /// The `transcript_summary` event a SubagentStop (or an Agent failure) writes.
    pub(super) fn summary(&mut self, ts: i64, a: &AgentRec, prompt_id: Option<String>) {
        let payload = json!({
            "transcript_path": a.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            "summary": a.summary,
            "meta": a.meta,
        })
        .to_string();
        let c = Cols {
            prompt_id,
            agent_id: Some(a.id.clone()),
            agent_type: a.meta.as_ref().and_then(|m| m.agent_type.clone()),
            tool_use_id: a.meta.as_ref().and_then(|m| m.tool_use_id.clone()),
            subject: Some(a.id.clone()),
            ..Cols::default()
        };
        self.push(SUMMARY.0, SUMMARY.1, ts, c, payload);
    }

    /// An agent's SubagentStop (its transcript path and last message), then the agent's
    /// transcript summary at the same time when it was read.
    pub(super) fn agent_stopped(
        &mut self,
        ts: i64,
        aid: &str,
        agent_type: &str,
        a: Option<&AgentRec>,
        outcome: Option<String>,
        prompt_id: Option<String>,
    ) {
        let mut f = Map::new();
        f.insert("stop_hook_active".into(), json!(false));
        if let Some(p) = a.and_then(|a| a.path.as_ref()) {
            f.insert(
                "agent_transcript_path".into(),
                json!(p.display().to_string()),
            );
        }
        if let Some(o) = outcome.or_else(|| a.and_then(|a| a.lines.last_text.clone())) {
            f.insert("last_assistant_message".into(), json!(cut(&o, 2000)));
        }
        let c = Cols {
            prompt_id: prompt_id.clone(),
            agent_id: Some(aid.to_string()),
            agent_type: Some(agent_type.to_string()),
            subject: Some(aid.to_string()),
            ..Cols::default()
        };
        self.hook(AGENT_STOP, ts, c, f);
        if let Some(a) = a {
            self.summary(ts, a, prompt_id);
        }
    }
}

/// The Agent/Task input as the hooks' `tool_input` carries it: the fields import has always
/// written (derive reads the same ones; `name`, `effort`, `isolation` only come from the hooks).
pub(super) fn input_json(i: &WireAgentInput) -> Value {
    let mut m = Map::new();
    if let Some(d) = &i.description {
        m.insert("description".into(), json!(d));
    }
    if let Some(p) = &i.prompt {
        m.insert("prompt".into(), json!(cut(p, MAX_TEXT)));
    }
    if let Some(t) = &i.subagent_type {
        m.insert("subagent_type".into(), json!(t));
    }
    if let Some(t) = &i.model {
        m.insert("model".into(), json!(t));
    }
    if let Some(b) = i.run_in_background {
        m.insert("run_in_background".into(), json!(b));
    }
    Value::Object(m)
}

/// Ties each Agent/Task call to its agent and emits the session's events.
pub(super) fn build_events(
    em: &mut Emitter<'_>,
    first_ts: Option<i64>,
    main: FileScan,
    mut delegations: Vec<Delegation>,
    results: Vec<ToolResult>,
    agents: BTreeMap<String, AgentRec>,
) {
    let results: HashMap<&str, &ToolResult> = results
        .iter()
        .map(|r| (r.tool_use_id.as_str(), r))
        .collect();
    delegations.sort_by_key(|d| (d.ts, d.seq));
    let link = tie_calls(&delegations, &results, &main.notifications, &agents);
    emit_turns(em, first_ts, &main.turns);
    let mut calls = Calls::default();
    for d in &delegations {
        let result = results.get(d.tool_use_id.as_str()).copied();
        emit_call(
            em,
            &mut calls,
            d,
            result,
            &link,
            &main.notifications,
            &agents,
        );
    }
    emit_untied(em, &agents, &calls.emitted);
}

/// tool_use id → agent id, strongest evidence first: the sidecar's `toolUseId`, the result's
/// `agentId` (object or text), a task notification, the agent's first prompt. An agent serves
/// one call.
fn tie_calls(
    delegations: &[Delegation],
    results: &HashMap<&str, &ToolResult>,
    notifications: &[Notification],
    agents: &BTreeMap<String, AgentRec>,
) -> HashMap<String, String> {
    let mut link: HashMap<String, String> = HashMap::new();
    let mut linked: HashSet<String> = HashSet::new();
    let mut tie = |tu: &str, aid: &str, link: &mut HashMap<String, String>| {
        if !link.contains_key(tu) && !linked.contains(aid) {
            link.insert(tu.to_string(), aid.to_string());
            linked.insert(aid.to_string());
        }
    };
    for a in agents.values() {
        if let Some(tu) = a.meta.as_ref().and_then(|m| m.tool_use_id.as_deref()) {
            tie(tu, &a.id, &mut link);
        }
    }
    for d in delegations {
        let Some(r) = results.get(d.tool_use_id.as_str()) else {
            continue;
        };
        let from_result = match &r.tur {
            Tur::Obj(o) => o.agent_id.clone(),
            _ => None,
        };
        if let Some(aid) = from_result.or_else(|| agent_id_in_text(&r.text)) {
            tie(&d.tool_use_id, &aid, &mut link);
        }
    }
    for n in notifications {
        if let (Some(tu), Some(aid)) = (&n.tool_use_id, &n.task_id) {
            if delegations.iter().any(|d| &d.tool_use_id == tu) {
                tie(tu, aid, &mut link);
            }
        }
    }
    // Older layouts carry no ids: the agent's first prompt is the call's prompt.
    for d in delegations {
        if link.contains_key(&d.tool_use_id) {
            continue;
        }
        let Some(want) = d.input.prompt.as_deref().map(str::trim) else {
            continue;
        };
        let candidate = agents
            .values()
            .filter(|a| {
                !a.id.starts_with("acompact")
                    && a.lines.first_prompt.as_deref().map(str::trim) == Some(want)
            })
            .find(|a| !link.values().any(|v| v == &a.id))
            .map(|a| a.id.clone());
        if let Some(aid) = candidate {
            tie(&d.tool_use_id, &aid, &mut link);
        }
    }
    link
}

/// The session's start and each prompt turn: UserPromptSubmit, then Stop (or StopFailure when
/// the turn ended on a failed model call).
fn emit_turns(em: &mut Emitter<'_>, first_ts: Option<i64>, turns: &[Turn]) {
    if let Some(t) = first_ts {
        let mut f = Map::new();
        f.insert("source".into(), json!("import"));
        em.hook(SESSION_START, t, Cols::default(), f);
    }
    for t in turns {
        let turn_cols = || Cols {
            prompt_id: Some(t.prompt_id.clone()),
            ..Cols::default()
        };
        let mut f = Map::new();
        f.insert("prompt".into(), json!(cut(&t.text, MAX_TEXT)));
        em.hook(PROMPT, t.start, turn_cols(), f);
        let mut f = Map::new();
        let end = match &t.api_error {
            // The hooks' StopFailure: the turn ended on a failed model call.
            Some(e) => {
                f.insert("error".into(), json!("unknown"));
                f.insert("last_assistant_message".into(), json!(cut(e, 2000)));
                STOP_FAILURE
            }
            None => {
                f.insert("stop_hook_active".into(), json!(false));
                STOP
            }
        };
        em.hook(end, t.end.max(t.start), turn_cols(), f);
    }
}

/// What the calls emitted so far say about the agents they started (a nested call inherits its
/// caller's prompt and names its caller's type).
#[derive(Default)]
struct Calls {
    agent_prompt: HashMap<String, Option<String>>,
    agent_type_of: HashMap<String, String>,
    emitted: HashSet<String>,
}

/// One Agent/Task call tied to its agent, with what its end events need.
struct Tied<'a> {
    d: &'a Delegation,
    aid: String,
    agent_type: String,
    rec: Option<&'a AgentRec>,
    prompt_id: Option<String>,
    caller_type: Option<String>,
    /// What the result events repeat of the input: only what identifies the call (the prompt is
    /// in PreToolUse).
    input: Value,
    start: i64,
    result_ts: i64,
    agent_end: i64,
}

/// The columns of an event of the call itself (PreToolUse, PostToolUse…), made by its caller.
fn tool_cols(
    d: &Delegation,
    prompt_id: &Option<String>,
    caller_type: &Option<String>,
    subject: Option<String>,
) -> Cols {
    Cols {
        prompt_id: prompt_id.clone(),
        agent_id: d.caller.clone(),
        agent_type: caller_type.clone(),
        tool_name: Some(d.tool_name.clone()),
        tool_use_id: Some(d.tool_use_id.clone()),
        subject,
    }
}

impl Tied<'_> {
    fn tool_cols(&self) -> Cols {
        tool_cols(
            self.d,
            &self.prompt_id,
            &self.caller_type,
            Some(self.aid.clone()),
        )
    }

    /// `tool_input` (short) and `fields`, for a result event.
    fn result_fields(
        &self,
        fields: impl IntoIterator<Item = (&'static str, Value)>,
    ) -> Map<String, Value> {
        let mut f = Map::new();
        f.insert("tool_input".into(), self.input.clone());
        for (k, v) in fields {
            f.insert(k.into(), v);
        }
        f
    }
}

/// One Agent/Task call: PreToolUse, and once tied to its agent, SubagentStart and its end.
#[allow(clippy::too_many_lines)] // one Agent call's events in the order Claude Code fires them
fn emit_call<'a>(
    em: &mut Emitter<'_>,
    calls: &mut Calls,
    d: &'a Delegation,
    result: Option<&ToolResult>,
    link: &HashMap<String, String>,
    notifications: &[Notification],
    agents: &'a BTreeMap<String, AgentRec>,
) {
    let prompt_id = d.prompt_id.clone().or_else(|| {
        d.caller
            .as_ref()
            .and_then(|c| calls.agent_prompt.get(c).cloned().flatten())
    });
    let caller_type = d
        .caller
        .as_ref()
        .and_then(|c| calls.agent_type_of.get(c).cloned());
    let tu = d.tool_use_id.as_str();
    let mut input = input_json(&d.input);
    let mut f = Map::new();
    f.insert("tool_input".into(), input.clone());
    em.hook(
        PRE_TOOL,
        d.ts,
        tool_cols(d, &prompt_id, &caller_type, None),
        f,
    );
    if let Value::Object(m) = &mut input {
        m.retain(|k, _| k == "description" || k == "subagent_type");
    }

    let end = ending(result);
    // A 1.x result without agent id and no transcript tied to it: a placeholder id that
    // derive renames if the real one ever turns up.
    let aid = link
        .get(tu)
        .cloned()
        .or_else(|| matches!(end, Ending::Completed(_)).then(|| format!("tool:{tu}")));
    let Some(aid) = aid else {
        if let Ending::Failed { error, interrupt } = end {
            let mut f = Map::new();
            f.insert("tool_input".into(), input);
            f.insert("error".into(), json!(cut(&error, 2000)));
            f.insert("is_interrupt".into(), json!(interrupt));
            let cols = tool_cols(d, &prompt_id, &caller_type, None);
            em.hook(POST_TOOL_FAILURE, result.map_or(d.ts, |r| r.ts), cols, f);
        }
        return;
    };
    let rec = agents.get(&aid);
    let tur_type = match result.map(|r| &r.tur) {
        Some(Tur::Obj(o)) => o.agent_type.clone(),
        _ => None,
    };
    let agent_type = rec
        .and_then(|a| a.meta.as_ref())
        .and_then(|m| m.agent_type.clone())
        .filter(|t| !t.is_empty())
        .or_else(|| rec.and_then(|a| a.lines.attribution.clone()))
        .or(tur_type)
        .or_else(|| d.input.subagent_type.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "general-purpose".into());
    calls.agent_prompt.insert(aid.clone(), prompt_id.clone());
    calls.agent_type_of.insert(aid.clone(), agent_type.clone());
    calls.emitted.insert(aid.clone());
    let start = rec.and_then(|a| a.lines.first_ts).unwrap_or(d.ts).max(d.ts);
    let c = Cols {
        prompt_id: prompt_id.clone(),
        agent_id: Some(aid.clone()),
        agent_type: Some(agent_type.clone()),
        subject: Some(aid.clone()),
        ..Cols::default()
    };
    em.hook(AGENT_START, start, c, Map::new());
    let result_ts = result.map(|r| r.ts).unwrap_or(start).max(start);
    let agent_end = rec
        .and_then(|a| a.lines.last_ts)
        .unwrap_or(result_ts)
        .max(start);
    let t = Tied {
        d,
        aid,
        agent_type,
        rec,
        prompt_id,
        caller_type,
        input,
        start,
        result_ts,
        agent_end,
    };
    match end {
        Ending::Completed(resp) => emit_completed(em, &t, &resp),
        Ending::Launched(resp) => emit_launched(em, &t, &resp, notifications),
        Ending::Failed { error, interrupt } => {
            if let Some(a) = t.rec {
                em.summary(t.agent_end.min(t.result_ts), a, t.prompt_id.clone());
            }
            let f = t.result_fields([
                ("error", json!(cut(&error, 2000))),
                ("is_interrupt", json!(interrupt)),
            ]);
            em.hook(POST_TOOL_FAILURE, t.result_ts, t.tool_cols(), f);
        }
        Ending::Pending => finish_unreported(
            em,
            t.rec,
            &t.aid,
            &t.agent_type,
            t.agent_end,
            t.prompt_id.clone(),
        ),
    }
}

/// A foreground agent that completed: SubagentStop and its summary, then the tool's result.
fn emit_completed(em: &mut Emitter<'_>, t: &Tied<'_>, resp: &Resp) {
    let stop_ts = t.agent_end.min(t.result_ts);
    em.agent_stopped(
        stop_ts,
        &t.aid,
        &t.agent_type,
        t.rec,
        resp.report.clone(),
        t.prompt_id.clone(),
    );
    let f = t.result_fields([(
        "tool_response",
        resp.json(&t.aid, &t.agent_type, "completed"),
    )]);
    em.hook(POST_TOOL, t.result_ts, t.tool_cols(), f);
}

/// A background agent: the launch's result, then its end as its task notification says (or as
/// its transcript says when none came).
fn emit_launched(em: &mut Emitter<'_>, t: &Tied<'_>, resp: &Resp, notifications: &[Notification]) {
    let f = t.result_fields([(
        "tool_response",
        resp.json(&t.aid, &t.agent_type, "async_launched"),
    )]);
    em.hook(POST_TOOL, t.result_ts, t.tool_cols(), f);
    let note = notifications.iter().find(|n| {
        n.task_id.as_deref() == Some(t.aid.as_str())
            || n.tool_use_id.as_deref() == Some(t.d.tool_use_id.as_str())
    });
    match note.map(|n| (n, n.status.as_deref().unwrap_or("completed"))) {
        Some((n, "completed")) => {
            let ts = t
                .rec
                .and_then(|a| a.lines.last_ts)
                .unwrap_or(n.ts)
                .max(t.start);
            em.agent_stopped(
                ts,
                &t.aid,
                &t.agent_type,
                t.rec,
                n.result.clone(),
                t.prompt_id.clone(),
            );
        }
        Some((n, status)) => {
            // Failed or stopped in the background: the hooks get no SubagentStop.
            if let Some(a) = t.rec {
                em.summary(t.agent_end.min(n.ts.max(t.start)), a, t.prompt_id.clone());
            }
            let interrupt = matches!(status, "killed" | "stopped" | "cancelled" | "canceled");
            let why = n
                .summary
                .clone()
                .unwrap_or_else(|| format!("background agent {status}"));
            let f = t.result_fields([
                ("error", json!(cut(&why, 2000))),
                ("is_interrupt", json!(interrupt)),
            ]);
            em.hook(POST_TOOL_FAILURE, n.ts.max(t.start), t.tool_cols(), f);
        }
        None => finish_unreported(
            em,
            t.rec,
            &t.aid,
            &t.agent_type,
            t.agent_end,
            t.prompt_id.clone(),
        ),
    }
}

/// Agents no call was tied to: internal ones (acompact-*, anonymous forks) and agents whose
/// call is not in what was read. The hooks report both with a SubagentStop.
fn emit_untied(
    em: &mut Emitter<'_>,
    agents: &BTreeMap<String, AgentRec>,
    emitted: &HashSet<String>,
) {
    for a in agents.values().filter(|a| !emitted.contains(&a.id)) {
        let end = a.lines.last_ts.or(a.lines.first_ts).unwrap_or(0);
        let real_type = a
            .meta
            .as_ref()
            .and_then(|m| m.agent_type.clone())
            .or_else(|| a.lines.attribution.clone())
            .filter(|t| !t.is_empty() && !a.id.starts_with("acompact"));
        match real_type {
            Some(t) => {
                let start = a.lines.first_ts.unwrap_or(end);
                let c = Cols {
                    prompt_id: a.lines.prompt_id.clone(),
                    agent_id: Some(a.id.clone()),
                    agent_type: Some(t.clone()),
                    subject: Some(a.id.clone()),
                    ..Cols::default()
                };
                em.hook(AGENT_START, start, c, Map::new());
                finish_unreported(em, Some(a), &a.id, &t, end, a.lines.prompt_id.clone());
            }
            None => {
                // agent_type "" marks it internal in derive, as for the hooks' anonymous forks.
                em.agent_stopped(end, &a.id, "", Some(a), None, a.lines.prompt_id.clone());
            }
        }
    }
}

/// An agent whose end no result or notification reports: stopped if its transcript says it
/// finished, otherwise left running (its tokens still recorded).
pub(super) fn finish_unreported(
    em: &mut Emitter<'_>,
    rec: Option<&AgentRec>,
    aid: &str,
    agent_type: &str,
    end: i64,
    prompt_id: Option<String>,
) {
    let Some(a) = rec else { return };
    if a.finished() {
        em.agent_stopped(end, aid, agent_type, Some(a), None, prompt_id);
        return;
    }
    if let (true, Some(tu)) = (
        a.lines.interrupted,
        a.meta.as_ref().and_then(|m| m.tool_use_id.clone()),
    ) {
        // Stopped without a report: the Agent call's interrupt, as the hooks would derive it.
        let mut f = Map::new();
        f.insert("error".into(), json!("[Request interrupted by user]"));
        f.insert("is_interrupt".into(), json!(true));
        let c = Cols {
            prompt_id: prompt_id.clone(),
            tool_name: Some("Agent".into()),
            tool_use_id: Some(tu),
            subject: Some(aid.to_string()),
            ..Cols::default()
        };
        em.hook(POST_TOOL_FAILURE, end, c, f);
    }
    em.summary(end, a, prompt_id);
}
