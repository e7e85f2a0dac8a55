//! One session: its files read and scanned, its agents gathered, the `--since`/`--until`/
//! `--project` filters applied, and its events emitted ([`super::emit`]).

use super::discover::{FileRef, Unit};
use super::emit::{build_events, AgentRec, Emitter, Ev};
use super::scan::{scan_file, AgentLines, FileScan};
use super::{Options, Outcome};
use crate::store::UsageRow;
use crate::transcript::{self, ReadSpec, Summary};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A session, parsed, with everything to write.
pub(super) struct ParsedUnit {
    pub(super) session_id: String,
    pub(super) events: Vec<Ev>,
    pub(super) usage: Vec<UsageRow>,
    /// Main transcript read up to here (the hooks' incremental cursor).
    pub(super) cursor: Option<(String, u64, Option<String>)>,
    /// Files read completely, to remember as imported.
    pub(super) files: Vec<FileRef>,
    /// Left out by a filter: nothing to write.
    pub(super) filtered: bool,
    pub(super) stats: Outcome,
}

pub(super) fn read_whole(f: &FileRef, stats: &mut Outcome) -> Option<Vec<u8>> {
    let read = crate::transcript::open_regular(&f.path).and_then(|mut file| {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut b).map(|_| b)
    });
    match read {
        Ok(b) => {
            stats.files_read += 1;
            stats.bytes_read += b.len() as u64;
            Some(b)
        }
        Err(e) => {
            stats.unreadable_files += 1;
            stats.problem(&f.path, None, format!("unreadable: {e}"));
            None
        }
    }
}

pub(super) fn summarize(
    buf: &[u8],
    session: &str,
    agent: Option<&str>,
    metrics: &[crate::metrics::Metric],
) -> Summary {
    let spec = ReadSpec {
        session_id: session,
        agent_id: agent,
        offset: 0,
        prompt_id: None,
        budget: None,
        metrics,
    };
    // Reading from memory cannot fail.
    transcript::summarize_reader(buf, &spec).unwrap_or_default()
}

#[allow(clippy::too_many_lines)] // the steps of one unit in order, each named in a comment
pub(super) fn parse_unit(
    u: &Unit,
    opts: &Options,
    metrics: &[crate::metrics::Metric],
) -> ParsedUnit {
    let mut stats = Outcome::default();
    let sid = u.session_id.as_str();
    let mut files = Vec::new();
    let mut seq = 0usize;
    let mut main_scan = FileScan::default();
    let mut usage: Vec<UsageRow> = Vec::new();
    let mut cursor = None;
    let mut main_path: Option<PathBuf> = None;
    if let Some(f) = &u.main {
        if let Some(buf) = read_whole(f, &mut stats) {
            main_scan = scan_file(&f.path, &buf, None, sid, &mut seq, &mut stats);
            let s = summarize(&buf, sid, None, &[]);
            usage.extend(s.usage);
            cursor = Some((f.path_key(), s.end_offset, s.last_prompt_id));
            files.push(f.clone());
            main_path = Some(f.path.clone());
        }
    }
    let mut agents: BTreeMap<String, AgentRec> = BTreeMap::new();
    let mut delegations = std::mem::take(&mut main_scan.delegations);
    let mut results = std::mem::take(&mut main_scan.results);
    for a in &u.agents {
        let Some(buf) = read_whole(&a.file, &mut stats) else {
            continue;
        };
        let mut scan = scan_file(
            &a.file.path,
            &buf,
            Some(&a.agent_id),
            sid,
            &mut seq,
            &mut stats,
        );
        let summary = summarize(&buf, sid, Some(&a.agent_id), metrics);
        usage.extend(summary.usage.iter().cloned());
        delegations.append(&mut scan.delegations);
        results.append(&mut scan.results);
        let meta = a.meta.as_deref().and_then(transcript::read_meta);
        files.push(a.file.clone());
        agents.insert(
            a.agent_id.clone(),
            AgentRec {
                id: a.agent_id.clone(),
                path: Some(a.file.path.clone()),
                lines: scan.own,
                summary,
                meta,
            },
        );
    }
    let inline = std::mem::take(&mut main_scan.inline);
    add_inline_agents(&mut agents, inline, sid, main_path.as_ref(), metrics);

    let first_ts = main_scan
        .own
        .first_ts
        .into_iter()
        .chain(agents.values().filter_map(|a| a.lines.first_ts))
        .min();
    let last_ts = main_scan
        .own
        .last_ts
        .into_iter()
        .chain(agents.values().filter_map(|a| a.lines.last_ts))
        .max();
    let cwd = main_scan
        .own
        .cwd
        .clone()
        .or_else(|| agents.values().find_map(|a| a.lines.cwd.clone()));
    if left_out(opts, first_ts, last_ts, cwd.as_deref()) {
        return ParsedUnit {
            session_id: sid.to_string(),
            events: Vec::new(),
            usage: Vec::new(),
            cursor: None,
            files: Vec::new(),
            filtered: true,
            stats,
        };
    }
    let transcript_path = main_path
        .clone()
        .or_else(|| u.agents.first().map(|a| a.file.path.clone()))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut em = Emitter {
        sid,
        transcript_path,
        cwd,
        out: Vec::new(),
        seq: 0,
    };
    build_events(&mut em, first_ts, main_scan, delegations, results, agents);
    em.out.sort_by_key(|e| (e.event.ts, e.rank, e.seq));
    ParsedUnit {
        session_id: sid.to_string(),
        events: em.out,
        usage,
        cursor,
        files,
        filtered: false,
        stats,
    }
}

/// 1.x: sidechain agents inline in the session file, summarised from their own lines (their
/// usage is in the main file's summary). An agent's own file wins.
fn add_inline_agents(
    agents: &mut BTreeMap<String, AgentRec>,
    inline: BTreeMap<String, AgentLines>,
    sid: &str,
    main_path: Option<&PathBuf>,
    metrics: &[crate::metrics::Metric],
) {
    for (id, lines) in inline {
        if agents.contains_key(&id) {
            continue;
        }
        let mut summary = summarize(&lines.raw, sid, Some(&id), metrics);
        summary.usage.clear();
        agents.insert(
            id.clone(),
            AgentRec {
                id,
                path: main_path.cloned(),
                lines,
                summary,
                meta: None,
            },
        );
    }
}

/// Left out by `--since` (no activity since), `--until` (started after) or `--project` (its
/// working directory is not the project or below it).
fn left_out(
    opts: &Options,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    cwd: Option<&str>,
) -> bool {
    opts.since.is_some_and(|s| last_ts.is_none_or(|t| t < s))
        || opts.until.is_some_and(|u| first_ts.is_none_or(|t| t >= u))
        || opts.project.as_deref().is_some_and(|p| {
            let p = p.trim_end_matches('/');
            !cwd.is_some_and(|c| c == p || c.starts_with(&format!("{p}/")))
        })
}
