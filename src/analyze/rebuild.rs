//! `analyze rebuild --metrics`: the current definitions (config.json `"metrics"`) applied to past
//! runs whose agent transcripts still exist. Each such transcript is read again, whole, with the
//! definitions, and a fresh `transcript_summary` event is appended for its run (at the time of
//! the run's last summary): the event log stays the truth, and a plain `analyze rebuild`
//! reproduces what this did. The caller derives the new events.
//!
//! Where a run's transcript is: its last summary event's `transcript_path` (hooks and import
//! write one), else its SubagentStop payload's `agent_transcript_path`.

use crate::error::Result;
use crate::metrics::Metric;
use crate::query::Filter;
use crate::store::{NewEvent, Store};
use crate::transcript::{self, ReadSpec, Summary};
use crate::vocab::EventKind;
use rusqlite::params_from_iter;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// Transcripts read per write transaction.
const CHUNK: usize = 100;
/// More runs than this show a bar on a terminal.
const BAR_ABOVE: u64 = 1_000;

/// What a re-read did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reread {
    /// Runs whose transcript was read again (one summary event appended each).
    pub reread: u64,
    /// Values the definitions found in them.
    pub values: u64,
    /// Runs whose transcript no longer exists (or is not a regular file).
    pub gone: u64,
    /// Runs whose transcript exists but could not be read.
    pub unreadable: u64,
    /// Runs with no transcript path recorded (generic orchestrators' runs, among others).
    pub no_path: u64,
}

/// Where one run's transcript is, and the event whose time and keys its new summary takes.
struct Target {
    agent_id: String,
    path: Option<String>,
    /// The path comes from a summary event (preferred over a SubagentStop's).
    from_summary: bool,
    ts: i64,
    source: String,
    session_id: Option<String>,
    prompt_id: Option<String>,
}

/// The runs matching `filter` and where their transcripts are, in run order.
fn targets(store: &Store, filter: &Filter) -> Result<Vec<Target>> {
    let (w, p) = filter.runs_where();
    // A packed event's keys may be in its frame (`source` '': crate::store::packed): those
    // events are matched to the runs in Rust.
    let sql = format!(
        "SELECT e.kind, e.ts, e.payload, e.source, e.session_id, e.prompt_id, e.agent_id, e.agent_type,
                e.tool_name, e.tool_use_id
         FROM events e
         WHERE e.kind IN ('{summary}', '{stop}')
           AND (e.source = '' OR e.agent_id IN (SELECT r.agent_id FROM agent_runs r WHERE {w}))
         ORDER BY e.id",
        summary = EventKind::TranscriptSummary,
        stop = EventKind::SubagentStop,
    );
    let runs: HashSet<String> = store
        .conn()
        .prepare(&format!("SELECT r.agent_id FROM agent_runs r WHERE {w}"))?
        .query_map(params_from_iter(p.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut by: HashMap<String, Target> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut stmt = store.conn().prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(p.iter()))?;
    while let Some(r) = rows.next()? {
        let from_summary = r.get::<_, String>(0)? == EventKind::TranscriptSummary.as_str();
        // The payload may be stored compressed (crate::store::packed): read in Rust, not SQL.
        let (keys, payload) = crate::store::packed::read(store.conn(), r.get_ref(2)?)?;
        let keys = match keys {
            Some(k) => k,
            None => crate::store::packed::Keys::from_columns(r, 3)?,
        };
        let Some(agent_id) = keys.agent_id.filter(|a| runs.contains(a)) else {
            continue;
        };
        let key = if from_summary {
            "transcript_path"
        } else {
            "agent_transcript_path"
        };
        let path: Option<String> = serde_json::from_str::<Value>(&payload)
            .ok()
            .and_then(|v| v.get(key).and_then(Value::as_str).map(str::to_owned))
            .filter(|p| !p.trim().is_empty());
        let t = Target {
            agent_id: agent_id.clone(),
            path,
            from_summary,
            ts: r.get(1)?,
            source: keys.source,
            session_id: keys.session_id,
            prompt_id: keys.prompt_id,
        };
        match by.get_mut(&agent_id) {
            None => {
                order.push(agent_id.clone());
                by.insert(agent_id, t);
            }
            // A later summary replaces what came before; a SubagentStop only fills a gap.
            Some(old) if t.from_summary || (!old.from_summary && t.path.is_some()) => *old = t,
            Some(old) if old.path.is_none() => old.path = t.path,
            Some(_) => {}
        }
    }
    // Runs that never had a summary or a SubagentStop (generic runs): no transcript to read.
    Ok(order.into_iter().filter_map(|a| by.remove(&a)).collect())
}

/// One read: the run's new summary event, or why there is none.
enum Read {
    Done(Box<(Target, PathBuf, Summary, Option<crate::wire::WireAgentMeta>)>),
    Gone,
    Unreadable,
    NoPath,
}

fn read_one(t: Target, defs: &[Metric]) -> Read {
    let Some(path) = t.path.clone().map(PathBuf::from) else {
        return Read::NoPath;
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => {}
        _ => return Read::Gone,
    }
    let spec = ReadSpec {
        session_id: t.session_id.as_deref().unwrap_or(""),
        agent_id: Some(&t.agent_id),
        offset: 0,
        prompt_id: None,
        budget: None,
        metrics: defs,
    };
    match transcript::summarize_file(&path, &spec) {
        Ok(summary) => {
            let meta = transcript::read_meta(&transcript::meta_path_for(&path));
            Read::Done(Box::new((t, path, summary, meta)))
        }
        Err(_) => Read::Unreadable,
    }
}

/// Re-reads the transcripts of the runs matching `filter` with `defs` and appends a summary event
/// for each (files are read outside any transaction; each [`CHUNK`] is written in one).
pub fn reread(store: &Store, filter: &Filter, defs: &[Metric]) -> Result<Reread> {
    let all = targets(store, filter)?;
    let bar = crate::progress::bar(
        crate::progress::Unit::Runs,
        "re-reading transcripts",
        all.len() as u64,
        BAR_ABOVE,
    );
    let names: Vec<&str> = defs.iter().map(|m| m.name.as_str()).collect();
    let mut done = Reread::default();
    let mut it = all.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<Read> = it.by_ref().take(CHUNK).map(|t| read_one(t, defs)).collect();
        bar.inc(chunk.len() as u64);
        let mut ready = Vec::new();
        for r in chunk {
            match r {
                Read::Done(b) => ready.push(*b),
                Read::Gone => done.gone += 1,
                Read::Unreadable => done.unreadable += 1,
                Read::NoPath => done.no_path += 1,
            }
        }
        store.write_tx(|s| {
            for (t, path, summary, meta) in &ready {
                s.upsert_usage(&summary.usage)?;
                let payload = json!({
                    "transcript_path": path.to_string_lossy(),
                    "summary": summary,
                    "meta": meta,
                    "metrics_defined": names,
                })
                .to_string();
                let agent_type = meta.as_ref().and_then(|m| m.agent_type.clone());
                let tool_use_id = meta.as_ref().and_then(|m| m.tool_use_id.clone());
                s.append_event(&NewEvent {
                    ts: t.ts,
                    source: &t.source,
                    kind: EventKind::TranscriptSummary.as_str(),
                    session_id: t.session_id.as_deref(),
                    prompt_id: t.prompt_id.as_deref(),
                    agent_id: Some(&t.agent_id),
                    agent_type: agent_type.as_deref(),
                    tool_name: None,
                    tool_use_id: tool_use_id.as_deref(),
                    payload: &payload,
                    host: None,
                })?;
            }
            Ok(())
        })?;
        for (_, _, summary, _) in &ready {
            done.reread += 1;
            done.values += summary.metrics.len() as u64;
        }
    }
    Ok(done)
}
