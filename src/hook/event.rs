//! From raw payload text to the events we store. "Not ours" is still stored (kind `unknown`)
//! or quarantined with its reason: nothing Claude Code sends is dropped.

use super::Binary;
use crate::host::HostReading;
use crate::store::{NewEvent, Store};
use crate::transcript::{self, ReadSpec, Summary};
use crate::vocab::{self, EventKind, Source};
use crate::wire::{self, WireHook, WirePostToolUse};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One payload after parsing.
pub struct Incoming {
    pub binary: Binary,
    pub parsed: Parsed,
}

/// A payload is either an event to append, or something to keep in quarantine.
pub enum Parsed {
    Event(Box<StoredEvent>),
    Quarantine { reason: String, raw: String },
}

/// What `source` and `kind` say of a generic event that is none of ours (stored all the same).
const UNKNOWN: &str = "unknown";

/// An event ready to append: what a hook parsed from a payload, or what the importer rebuilt.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub ts: i64,
    /// A [`Source`]'s spelling, or `unknown`.
    pub source: &'static str,
    pub kind: String,
    pub session_id: Option<String>,
    pub prompt_id: Option<String>,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub tool_name: Option<String>,
    pub tool_use_id: Option<String>,
    pub payload: String,
    pub transcript_path: Option<String>,
    pub agent_transcript_path: Option<String>,
    /// The host process's readings ([`crate::host`]): set by the hook on the events that start
    /// or stop an agent ([`carries_host`]), None everywhere else.
    pub host: Option<HostReading>,
}

impl StoredEvent {
    /// The row to append: the one place an event's columns are laid out for the store.
    pub fn new_event(&self) -> NewEvent<'_> {
        NewEvent {
            ts: self.ts,
            source: self.source,
            kind: &self.kind,
            session_id: self.session_id.as_deref(),
            prompt_id: self.prompt_id.as_deref(),
            agent_id: self.agent_id.as_deref(),
            agent_type: self.agent_type.as_deref(),
            tool_name: self.tool_name.as_deref(),
            tool_use_id: self.tool_use_id.as_deref(),
            payload: &self.payload,
            host: self.host,
        }
    }
}

/// Whether an event of `kind` carries the host's readings: the ones derivation reads them from,
/// an agent's start and stop (SubagentStart/SubagentStop, generic agent_start/agent_stop). The
/// Agent tool's PreToolUse/PostToolUse fire milliseconds from these in the same process (and a
/// background agent's PostToolUse is its launch, not its end), so they would add nothing.
pub fn carries_host(kind: &str) -> bool {
    matches!(
        EventKind::parse(kind),
        Some(
            EventKind::SubagentStart
                | EventKind::SubagentStop
                | EventKind::AgentStart
                | EventKind::AgentStop
        )
    )
}

/// Gives the host's readings to every parsed event that carries them, calling `read` at most
/// once and only when one does (every other hook reads nothing); returns what it gave.
pub fn attach_host(
    incoming: &mut [Incoming],
    read: impl FnOnce() -> Option<HostReading>,
) -> Option<HostReading> {
    let mut read = Some(read);
    let mut reading = None;
    for i in incoming {
        if let Parsed::Event(e) = &mut i.parsed {
            if carries_host(&e.kind) {
                if let Some(r) = read.take() {
                    reading = r();
                }
                e.host = reading;
            }
        }
    }
    reading
}

impl Incoming {
    /// The invocation id of a generic start event (for `--print-id`).
    pub fn generic_start_id(&self) -> Option<&str> {
        match &self.parsed {
            Parsed::Event(e) if e.kind == EventKind::AgentStart.as_str() => e.agent_id.as_deref(),
            _ => None,
        }
    }
}

/// Parses payload text: one JSON object, or JSON lines (one event per line).
pub fn parse(binary: Binary, text: &str, recorded_at: i64) -> Vec<Incoming> {
    let wrap = |parsed| Incoming { binary, parsed };
    match serde_json::from_str::<Value>(text) {
        Ok(v) => vec![wrap(classify(binary, v, text, recorded_at))],
        Err(whole_err) => {
            // JavaScript's JSON.stringify emits lone UTF-16 surrogates (`"\ud800"`), which JSON
            // parsers reject: repair them (U+FFFD) and keep the event.
            if let Some(fixed) = repair_lone_surrogates(text) {
                return parse(binary, &fixed, recorded_at);
            }
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.len() < 2 {
                return vec![wrap(Parsed::Quarantine {
                    reason: format!("not JSON: {whole_err}"),
                    raw: text.to_string(),
                })];
            }
            lines
                .into_iter()
                .map(|l| match serde_json::from_str::<Value>(l) {
                    Ok(v) => wrap(classify(binary, v, l, recorded_at)),
                    Err(e) => wrap(Parsed::Quarantine {
                        reason: format!("not JSON: {e}"),
                        raw: l.to_string(),
                    }),
                })
                .collect()
        }
    }
}

/// Replaces every `\uXXXX` escape of a lone UTF-16 surrogate with `\ufffd`; None when there
/// was none (so the caller does not loop).
fn repair_lone_surrogates(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let hex = |i: usize| -> Option<u32> {
        let h = text.get(i..i + 4)?;
        u32::from_str_radix(h, 16).ok()
    };
    let is_u_escape = |i: usize| b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u');
    let mut out = String::with_capacity(text.len());
    let (mut i, mut last, mut changed) = (0, 0, false);
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        if !is_u_escape(i) {
            i += 2; // any other escape, `\\` included
            continue;
        }
        let Some(u) = hex(i + 2) else {
            i += 2;
            continue;
        };
        let paired = (0xD800..0xDC00).contains(&u)
            && is_u_escape(i + 6)
            && hex(i + 8).is_some_and(|l| (0xDC00..0xE000).contains(&l));
        if paired {
            i += 12;
        } else if (0xD800..0xE000).contains(&u) {
            out.push_str(&text[last..i]);
            out.push_str("\\ufffd");
            i += 6;
            last = i;
            changed = true;
        } else {
            i += 6;
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

fn classify(binary: Binary, v: Value, text: &str, recorded_at: i64) -> Parsed {
    let Value::Object(obj) = v else {
        return Parsed::Quarantine {
            reason: "not a JSON object".into(),
            raw: text.to_string(),
        };
    };
    let w = WireHook::from_map(&obj);
    let ts = w
        .timestamp
        .as_ref()
        .and_then(crate::timeparse::event_ts)
        .unwrap_or(recorded_at);
    if let Some(name) = w.hook_event_name.clone() {
        return Parsed::Event(Box::new(claude_code_event(name, w, obj, text, ts)));
    }
    generic_event(binary, w, obj, text, ts)
}

fn is_agent_tool(name: Option<&str>) -> bool {
    name.is_some_and(vocab::is_agent_tool)
}

fn claude_code_event(
    kind: String,
    w: WireHook,
    obj: Map<String, Value>,
    text: &str,
    ts: i64,
) -> StoredEvent {
    let tool_event = matches!(
        EventKind::parse(&kind),
        Some(EventKind::PreToolUse | EventKind::PostToolUse | EventKind::PostToolUseFailure)
    );
    let payload = if tool_event && !is_agent_tool(w.tool_name.as_deref()) {
        // Another tool's call: keep the keys and the error, not its (possibly huge) input/output.
        let mut slim = Map::new();
        for k in [
            "hook_event_name",
            "session_id",
            "cwd",
            "prompt_id",
            "agent_id",
            "agent_type",
            "tool_name",
            "tool_use_id",
            "duration_ms",
            "is_interrupt",
        ] {
            if let Some(v) = obj.get(k) {
                slim.insert(k.into(), v.clone());
            }
        }
        if let Some(err) = obj.get("error") {
            slim.insert("error".into(), truncate_value(err, 2000));
        }
        Value::Object(slim).to_string()
    } else {
        text.to_string()
    };
    StoredEvent {
        ts,
        source: Source::ClaudeCode.as_str(),
        kind,
        session_id: w.session_id,
        prompt_id: w.prompt_id,
        agent_id: w.agent_id.filter(|s| !s.is_empty()),
        agent_type: w.agent_type,
        tool_name: w.tool_name,
        tool_use_id: w.tool_use_id,
        payload,
        transcript_path: w.transcript_path,
        agent_transcript_path: w.agent_transcript_path,
        host: None,
    }
}

fn truncate_value(v: &Value, max: usize) -> Value {
    match v.as_str() {
        Some(s) if s.len() > max => Value::String(crate::util::truncate(s, max)),
        _ => v.clone(),
    }
}

/// Generic events: `{"event": ...}` objects, or bare start/stop objects whose meaning comes
/// from the binary that received them.
fn generic_event(
    binary: Binary,
    w: WireHook,
    mut obj: Map<String, Value>,
    text: &str,
    ts: i64,
) -> Parsed {
    let explicit = w.event.as_deref().map(|e| e.to_ascii_lowercase());
    let kind = match explicit.as_deref() {
        Some("workflow_start" | "start_workflow") => Some(EventKind::WorkflowStart),
        Some("handoff" | "workflow_handoff") => Some(EventKind::Handoff),
        Some("workflow_complete" | "complete" | "workflow_end" | "complete_workflow") => {
            Some(EventKind::WorkflowComplete)
        }
        Some("agent_start" | "subagent_start" | "start") => Some(EventKind::AgentStart),
        Some("agent_stop" | "subagent_stop" | "stop") => Some(EventKind::AgentStop),
        Some(_) => None,
        None => match binary {
            Binary::SubagentStart if w.agent_name.is_some() => Some(EventKind::AgentStart),
            Binary::SubagentStop if w.invocation_id.is_some() => Some(EventKind::AgentStop),
            _ => None,
        },
    };
    let str_field = |o: &Map<String, Value>, keys: &[&str]| {
        keys.iter()
            .find_map(|k| o.get(*k).and_then(wire::as_string))
    };
    let mut agent_id = None;
    let mut agent_type = None;
    let mut session = None;
    match kind {
        Some(EventKind::AgentStart) => {
            let Some(name) = str_field(&obj, &["agent_name", "agent_type", "agent"]) else {
                return Parsed::Quarantine {
                    reason: "generic start without agent_name".into(),
                    raw: text.to_string(),
                };
            };
            let id = str_field(&obj, &["invocation_id"])
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            obj.insert("invocation_id".into(), Value::String(id.clone()));
            agent_id = Some(id);
            agent_type = Some(name);
            session = str_field(&obj, &["workflow_id", "session_id"]);
        }
        Some(EventKind::AgentStop) => {
            let Some(id) = str_field(&obj, &["invocation_id"]) else {
                return Parsed::Quarantine {
                    reason: "generic stop without invocation_id".into(),
                    raw: text.to_string(),
                };
            };
            agent_id = Some(id);
        }
        Some(k @ (EventKind::WorkflowStart | EventKind::Handoff | EventKind::WorkflowComplete)) => {
            if str_field(&obj, &["id", "workflow_id"]).is_none() {
                return Parsed::Quarantine {
                    reason: format!("{k} without id"),
                    raw: text.to_string(),
                };
            }
            session = str_field(&obj, &["id", "workflow_id"]);
        }
        _ => {}
    }
    let source = match kind {
        Some(EventKind::AgentStart | EventKind::AgentStop) => Source::Generic.as_str(),
        Some(_) => Source::Workflow.as_str(),
        None => UNKNOWN,
    };
    Parsed::Event(Box::new(StoredEvent {
        ts,
        source,
        kind: kind.map_or(UNKNOWN, EventKind::as_str).to_string(),
        session_id: session,
        prompt_id: None,
        agent_id,
        agent_type,
        tool_name: None,
        tool_use_id: None,
        payload: Value::Object(obj).to_string(),
        transcript_path: None,
        agent_transcript_path: None,
        host: None,
    }))
}

/// What a hook read from a transcript, to write afterwards.
pub enum TranscriptRead {
    /// A subagent's own transcript (at SubagentStop, or found by tool_use_id after a failure).
    Agent {
        agent_id: String,
        path: PathBuf,
        summary: Box<Summary>,
        meta: Option<Box<wire::WireAgentMeta>>,
    },
    /// The main session transcript, read from its stored cursor at Stop / SessionEnd.
    Main {
        path: PathBuf,
        summary: Box<Summary>,
    },
}

/// Reads every transcript an event points at. Runs outside any transaction (the database is
/// only queried for read cursors), after the event itself is stored, within `deadline`: reading
/// never delays another hook and never costs the payload.
pub fn read_transcripts(s: &Store, e: &StoredEvent, deadline: Instant) -> Vec<TranscriptRead> {
    let session = e.session_id.as_deref().unwrap_or("");
    let budget = || transcript::Budget {
        deadline: deadline.min(Instant::now() + Duration::from_millis(300)),
        ..transcript::Budget::hook()
    };
    let metrics = HookMetrics::new(s.path());
    let agent =
        |agent_id: String, path: PathBuf| read_agent(session, agent_id, path, budget(), &metrics);
    let one = |t: Option<TranscriptRead>| t.into_iter().collect::<Vec<_>>();
    let Some(kind) = EventKind::parse(&e.kind) else {
        return Vec::new();
    };
    match kind {
        // A subagent's end: SubagentStop, or StopFailure when it died on an API error (for a
        // background agent the only word of it).
        EventKind::SubagentStop | EventKind::StopFailure if e.agent_id.is_some() => {
            let Some(agent_id) = e.agent_id.clone() else {
                return Vec::new();
            };
            let path = match (&e.agent_transcript_path, &e.transcript_path) {
                (Some(p), _) if !p.is_empty() => PathBuf::from(p),
                (_, Some(main)) => transcript::subagents_dir(Path::new(main))
                    .join(format!("agent-{agent_id}.jsonl")),
                _ => return Vec::new(),
            };
            one(agent(agent_id, path))
        }
        EventKind::PostToolUseFailure if is_agent_tool(e.tool_name.as_deref()) => {
            let (Some(main), Some(tu)) = (&e.transcript_path, &e.tool_use_id) else {
                return Vec::new();
            };
            match transcript::find_agent_by_tool_use(Path::new(main), tu) {
                Some((path, agent_id, _)) => one(agent(agent_id, path)),
                None => Vec::new(),
            }
        }
        // Claude Code writes a subagent's transcript asynchronously: its last response can land
        // after SubagentStop. Read it again when the Agent tool returns (foreground agents)…
        EventKind::PostToolUse if is_agent_tool(e.tool_name.as_deref()) => {
            let completed = serde_json::from_str::<WirePostToolUse>(&e.payload)
                .ok()
                .and_then(|p| p.tool_response)
                .filter(|r| r.status.as_deref() == Some("completed"))
                .and_then(|r| r.agent_id);
            match (completed, &e.transcript_path) {
                (Some(agent_id), Some(main)) => {
                    let path = transcript::subagents_dir(Path::new(main))
                        .join(format!("agent-{agent_id}.jsonl"));
                    one(agent(agent_id, path))
                }
                _ => Vec::new(),
            }
        }
        // …and at the end of every turn and session, every subagent file that changed since.
        EventKind::Stop | EventKind::StopFailure | EventKind::SessionEnd => {
            let Some(main) = e.transcript_path.as_deref().map(PathBuf::from) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            if let Some(t) = read_main(s, session, &main, budget()) {
                out.push(t);
            }
            out.extend(changed_agents(s, session, &main, &budget, &metrics));
            out
        }
        _ => Vec::new(),
    }
}

/// The custom metric definitions of the hook's `config.json`, read on the first transcript read
/// and at most once per process (a hook run): a definition it cannot use is logged once and
/// skipped ([`crate::metrics::load_lenient`]); without the file, one failed `open`.
struct HookMetrics<'a> {
    db: &'a Path,
    /// For a database other than the process's first (bulk loads): read once per call.
    other: std::cell::OnceCell<Vec<crate::metrics::Metric>>,
}

impl<'a> HookMetrics<'a> {
    fn new(db: &'a Path) -> Self {
        HookMetrics {
            db,
            other: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> &[crate::metrics::Metric] {
        static LOADED: std::sync::OnceLock<(PathBuf, Vec<crate::metrics::Metric>)> =
            std::sync::OnceLock::new();
        if self.db == Path::new(":memory:") {
            return &[];
        }
        let config = crate::paths::config_path(self.db);
        let load = || {
            crate::metrics::load_lenient(&config, |msg| {
                super::log::error(self.db, "metrics", msg);
            })
        };
        let (path, metrics) = LOADED.get_or_init(|| (config.clone(), load()));
        if *path == config {
            metrics
        } else {
            self.other.get_or_init(load)
        }
    }
}

fn read_agent(
    session: &str,
    agent_id: String,
    path: PathBuf,
    budget: transcript::Budget,
    metrics: &HookMetrics<'_>,
) -> Option<TranscriptRead> {
    if Instant::now() >= budget.deadline {
        return None; // no time left: the next Stop reads it (its cursor says it changed)
    }
    let spec = ReadSpec {
        session_id: session,
        agent_id: Some(&agent_id),
        offset: 0,
        prompt_id: None,
        budget: Some(budget),
        metrics: metrics.get(),
    };
    let summary = transcript::summarize_file(&path, &spec).ok()?;
    let meta = transcript::read_meta(&transcript::meta_path_for(&path));
    Some(TranscriptRead::Agent {
        agent_id,
        path,
        summary: Box::new(summary),
        meta: meta.map(Box::new),
    })
}

/// The main transcript from where the last read stopped.
fn read_main(
    s: &Store,
    session: &str,
    path: &Path,
    budget: transcript::Budget,
) -> Option<TranscriptRead> {
    if Instant::now() >= budget.deadline {
        return None;
    }
    let key = path.to_string_lossy();
    let (offset, prompt) = s.transcript_cursor(&key).ok()?.unwrap_or((0, None));
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let offset = if offset > len { 0 } else { offset }; // rewritten file: start over
    let spec = ReadSpec {
        session_id: session,
        agent_id: None,
        offset,
        prompt_id: prompt,
        budget: Some(budget),
        metrics: &[],
    };
    let summary = transcript::summarize_file(path, &spec).ok()?;
    Some(TranscriptRead::Main {
        path: path.to_path_buf(),
        summary: Box::new(summary),
    })
}

/// Every subagent transcript of the session whose size differs from when it was last read, and
/// those never read that Claude Code's sidecar says finished or the user stopped (no SubagentStop
/// comes for a killed agent: only the sidecar says so).
/// Unchanged files cost one `stat` each; an agent still running is read at its own stop; history
/// is `analyze import`'s job.
fn changed_agents(
    s: &Store,
    session: &str,
    main: &Path,
    budget: &dyn Fn() -> transcript::Budget,
    metrics: &HookMetrics<'_>,
) -> Vec<TranscriptRead> {
    let Ok(entries) = std::fs::read_dir(transcript::subagents_dir(main)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(agent_id) = name
            .to_str()
            .and_then(|n| n.strip_prefix("agent-"))
            .and_then(|n| n.strip_suffix(".jsonl"))
        else {
            continue;
        };
        let path = entry.path();
        let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
        match s.transcript_cursor(&path.to_string_lossy()) {
            Ok(Some((seen, _))) if seen != len => {}
            Ok(None) => {
                // Never read: its stop's read found no file yet (Claude Code writes transcripts
                // asynchronously), or it was killed. Read it once it is finished or stopped.
                let ended = transcript::read_meta(&transcript::meta_path_for(&path))
                    .is_some_and(|m| m.stopped_by_user == Some(true) || m.finished == Some(true));
                if !ended {
                    continue;
                }
            }
            _ => continue,
        }
        let b = budget();
        if Instant::now() >= b.deadline {
            break; // the rest is read at the next Stop
        }
        if let Some(t) = read_agent(session, agent_id.to_string(), path, b, metrics) {
            out.push(t);
        }
    }
    out
}

/// Writes what was read from transcripts (inside the caller's transaction): usage rows, read
/// cursors (only ever advanced: a concurrent hook may have read further), and for subagents a
/// summary event.
pub fn store_transcripts(
    s: &Store,
    e: &StoredEvent,
    reads: &[TranscriptRead],
) -> crate::error::Result<()> {
    for t in reads {
        match t {
            TranscriptRead::Agent {
                agent_id,
                path,
                summary,
                meta,
            } => {
                s.upsert_usage(&summary.usage)?;
                s.set_transcript_cursor(&path.to_string_lossy(), summary.end_offset, None)?;
                let payload = json!({
                    "transcript_path": path.to_string_lossy(),
                    "summary": summary,
                    "meta": meta,
                })
                .to_string();
                let summary_event = StoredEvent {
                    ts: e.ts,
                    source: Source::ClaudeCode.as_str(),
                    kind: EventKind::TranscriptSummary.as_str().to_string(),
                    session_id: e.session_id.clone(),
                    prompt_id: e.prompt_id.clone(),
                    agent_id: Some(agent_id.clone()),
                    agent_type: meta.as_ref().and_then(|m| m.agent_type.clone()),
                    tool_name: None,
                    tool_use_id: meta.as_ref().and_then(|m| m.tool_use_id.clone()),
                    payload,
                    transcript_path: None,
                    agent_transcript_path: None,
                    host: None,
                };
                s.append_event(&summary_event.new_event())?;
            }
            TranscriptRead::Main { path, summary } => {
                // 1.x inline sidechains carry their own agent ids; everything else is the main agent's.
                s.upsert_usage(&summary.usage)?;
                s.set_transcript_cursor(
                    &path.to_string_lossy(),
                    summary.end_offset,
                    summary.last_prompt_id.as_deref(),
                )?;
                if let (Some(EventKind::SessionEnd), Some(err)) =
                    (EventKind::parse(&e.kind), &summary.main_api_error)
                {
                    recover_stop_failure(s, e, path, err)?;
                }
            }
        }
    }
    Ok(())
}

/// How many of the latest events a session's end looks back through for the turn's own
/// StopFailure (a `claude -p` session ends right after it).
const RECOVERY_LOOKBACK: i64 = 5_000;

/// `claude -p` ending a turn on an API error sends SIGTERM to its StopFailure hooks' process group
/// 4–20 ms after starting them: on a loaded machine the shell has not yet started this binary
/// (which ignores SIGTERM first thing, [`super::shield`]), and the payload is gone. The transcript
/// keeps what it said — the turn's last line is the API-error notice — and SessionEnd, which is
/// never signalled, reads it: the StopFailure is stored from it (`recovered_from: transcript`)
/// unless the turn's own is among the latest events. A StopFailure hook that did run read the
/// transcript past the notice, so its session's end finds nothing to recover.
fn recover_stop_failure(
    s: &Store,
    e: &StoredEvent,
    path: &Path,
    err: &transcript::ApiErrorLine,
) -> crate::error::Result<()> {
    let Some(session) = e.session_id.as_deref() else {
        return Ok(());
    };
    let prompt = err.prompt_id.as_deref().or(e.prompt_id.as_deref());
    let kind = EventKind::StopFailure.as_str();
    if s.recent_event_exists(session, prompt, kind, RECOVERY_LOOKBACK)? {
        return Ok(());
    }
    let cwd = serde_json::from_str::<Value>(&e.payload)
        .ok()
        .and_then(|v| v.get("cwd").cloned());
    let payload = json!({
        "session_id": session,
        "transcript_path": path.to_string_lossy(),
        "cwd": cwd,
        "prompt_id": prompt,
        "hook_event_name": kind,
        "last_assistant_message": err.text,
        "recovered_from": "transcript",
    })
    .to_string();
    let recovered = StoredEvent {
        ts: err.ts.map_or(e.ts, |t| t.min(e.ts)),
        source: Source::ClaudeCode.as_str(),
        kind: kind.to_string(),
        session_id: Some(session.to_string()),
        prompt_id: prompt.map(str::to_string),
        agent_id: None,
        agent_type: None,
        tool_name: None,
        tool_use_id: None,
        payload,
        transcript_path: None,
        agent_transcript_path: None,
        host: None,
    };
    s.append_event(&recovered.new_event())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::repair_lone_surrogates as repair;

    #[test]
    fn lone_surrogates_are_repaired_pairs_and_escaped_backslashes_kept() {
        assert_eq!(
            repair(r#"{"p":"a\ud800b"}"#).as_deref(),
            Some(r#"{"p":"a\ufffdb"}"#)
        );
        assert_eq!(
            repair(r#"{"p":"\udc00 and \uD83D\uDE00"}"#).as_deref(),
            Some(r#"{"p":"\ufffd and \uD83D\uDE00"}"#)
        );
        assert_eq!(repair(r#"{"p":"\uD83D\uDE00"}"#), None, "a valid pair");
        assert_eq!(repair(r#"{"p":"\\ud800"}"#), None, "an escaped backslash");
        assert_eq!(
            repair(r#"{"p":"\ud800"} é"#).as_deref(),
            Some(r#"{"p":"\ufffd"} é"#),
            "multi-byte text after the repair is kept"
        );
    }
}
