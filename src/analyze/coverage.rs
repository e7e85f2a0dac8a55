//! `analyze doctor --coverage`: does the database hold every agent run Claude Code ran, as it ran?
//!
//! Claude Code's transcripts are a record of the same runs that does not depend on the hooks.
//! The check reads the transcripts of the sessions active in the window with the importer
//! ([`crate::import`]: same discovery, same `--claude-dir`, same file filters) into a private
//! in-memory database, derives them there with the real rules ([`crate::derive`]), and compares
//! those runs, by agent id, with the runs the user's database holds: missing, status or tokens
//! different, and recorded runs the transcripts do not know. Nothing is written to the user's
//! database but the check's result (`coverage_checks`, shown by plain `analyze doctor`), and,
//! with `--fix`, what the import of the sessions with a problem appends.
//!
//! Definitions: docs/metrics.md, "doctor --coverage".

mod history;
mod report;

pub use history::{last_check, LastCheck};

use super::{Ctx, Filter};
use crate::error::Result;
use crate::import::{self, Options};
use crate::render::{self, Format};
use crate::store::Store;
use crate::vocab::{EventKind, RunStatus, Source, AGENT_TOOLS};
use history::record;
use report::verdict;
use rusqlite::{params, params_from_iter, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The window when neither `--days` nor `--since` is given.
pub const DEFAULT_DAYS: i64 = 7;
/// Problems listed in the table; JSON lists them all.
const SHOWN_PROBLEMS: usize = 20;
const DAY_MS: i64 = 86_400_000;

/// One problem: a run missing from the database, recorded differently, or not in the transcripts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    /// `missing` (in the transcripts, not recorded), `wrong` (recorded, status or tokens differ),
    /// `extra` (recorded, not in its session's transcripts).
    pub kind: &'static str,
    /// For `wrong`: what differs, `status` and/or `tokens`.
    pub differs: Vec<&'static str>,
    pub agent_id: String,
    pub agent_type: String,
    pub session_id: Option<String>,
    /// The run's start (from the transcripts; for `extra`, as recorded).
    pub start: Option<String>,
    /// Effective status (`lost` decided now) by the transcripts / as recorded.
    pub transcript_status: Option<String>,
    pub recorded_status: Option<String>,
    /// Input + output + cache read + cache write tokens by the transcripts / as recorded.
    pub transcript_tokens: Option<i64>,
    pub recorded_tokens: Option<i64>,
    /// recorded − transcript tokens, when both are known.
    pub tokens_difference: Option<i64>,
    #[serde(skip)]
    start_ms: Option<i64>,
}

/// What the transcripts were read for, and what reading them cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Read {
    /// The `projects/` directories walked.
    pub roots: Vec<String>,
    /// Sessions whose transcripts were read (active in the window and matching the filters).
    pub sessions: u64,
    pub files_read: u64,
    pub bytes_read: u64,
    pub lines_skipped: u64,
    pub seconds: f64,
}

/// What `--fix` did, and the figures before it.
#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    /// Sessions imported: those with a missing or wrong run.
    pub sessions: u64,
    pub runs_added: i64,
    pub runs_updated: i64,
    pub covered_before: u64,
    pub missing_before: u64,
    pub wrong_before: u64,
    pub coverage_before: Option<f64>,
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub checked_at: String,
    /// The window: runs that started at or after `since` and before `until` (null: no end).
    pub since: String,
    pub until: Option<String>,
    pub days: f64,
    /// `--project` / `--session` / `--agent` when they narrowed the check; null = everything.
    pub scope: Option<String>,
    /// Set when there was nothing to read (no Claude Code directory), with the reason.
    pub nothing: Option<String>,
    pub transcripts: Read,
    /// User agent runs in the transcripts of the window.
    pub transcript_runs: u64,
    /// Of those, recorded with the same status and tokens.
    pub covered: u64,
    /// Not recorded at all.
    pub missing: u64,
    /// Recorded, but status or tokens differ (a run can differ in both).
    pub wrong: u64,
    pub status_differs: u64,
    pub tokens_differ: u64,
    /// Covered runs that no hook recorded: an import (`--fix`, `analyze import`) did.
    pub recovered: u64,
    /// Recorded runs of sessions whose transcripts were read that the transcripts do not hold.
    pub extra: u64,
    /// Recorded Claude Code runs of the window whose session has no transcript here (deleted after
    /// Claude Code's retention, or another machine's): not comparable, not counted.
    pub without_transcript: u64,
    /// covered ÷ transcript_runs; null when there are none.
    pub coverage: Option<f64>,
    pub verdict: String,
    pub problems: Vec<Problem>,
    pub fix: Option<Fix>,
    #[serde(skip)]
    checked_at_ms: i64,
    #[serde(skip)]
    window: (i64, Option<i64>),
}

impl Coverage {
    /// Nothing to complain about: every run in the transcripts is recorded as it ran.
    pub fn ok(&self) -> bool {
        self.missing == 0 && self.wrong == 0
    }
}

/// The facts of a run both sides are compared on.
#[derive(Debug, Clone)]
struct Facts {
    agent_id: String,
    agent_type: String,
    session_id: Option<String>,
    start_ms: Option<i64>,
    status: String,
    tokens: [i64; 4],
    tool_use_id: Option<String>,
    source: String,
}

impl Facts {
    fn total(&self) -> i64 {
        self.tokens.iter().sum()
    }
}

const FACT_COLUMNS: &str = "r.agent_id, r.agent_type, r.session_id, r.start_ms, {status}, r.input_tokens, r.output_tokens, \
     r.cache_read_tokens, r.cache_write_tokens, r.tool_use_id, r.source";

fn facts_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Facts> {
    Ok(Facts {
        agent_id: r.get(0)?,
        agent_type: r.get(1)?,
        session_id: r.get(2)?,
        start_ms: r.get(3)?,
        status: r.get(4)?,
        tokens: [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
        tool_use_id: r.get(9)?,
        source: r.get(10)?,
    })
}

/// User runs matching `filter`, oldest first.
fn runs(ctx: &Ctx, filter: &Filter) -> Result<Vec<Facts>> {
    let (w, p) = filter.runs_where();
    let sql = format!(
        "SELECT {} FROM agent_runs r WHERE {w} ORDER BY r.start_ms, r.agent_id",
        FACT_COLUMNS.replace("{status}", &ctx.status_sql())
    );
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(p.iter()), facts_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What the transcripts of the window hold, derived in memory.
struct Transcripts {
    /// User runs that started in the window.
    runs: Vec<Facts>,
    /// Every run id derived from them (internal ones and runs outside the window included).
    ids: HashSet<String>,
    /// Sessions read.
    sessions: HashSet<String>,
    read: Read,
}

/// Reads the transcripts under `roots` with the importer's own reader into an in-memory database
/// and derives them with the user's rules and clock.
fn read_transcripts(roots: &[PathBuf], window: &Filter, ctx: &Ctx) -> Result<Transcripts> {
    let started = Instant::now();
    let mem = Ctx {
        store: Store::in_memory()?,
        cfg: ctx.cfg.clone(),
        prices: ctx.prices.clone(),
        now: ctx.now,
    };
    let opts = import_options(roots, window, None);
    let out = import::run(&mem.store, &mem.cfg, &mem.prices, &opts)?;
    let runs = runs(&mem, window)?;
    let conn = mem.store.conn();
    let ids = conn
        .prepare("SELECT agent_id FROM agent_runs")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let sessions = conn
        .prepare("SELECT session_id FROM sessions")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Transcripts {
        runs,
        ids,
        sessions,
        read: Read {
            roots: out.roots,
            sessions: out.sessions_imported,
            files_read: out.files_read,
            bytes_read: out.bytes_read,
            lines_skipped: out.lines_skipped,
            seconds: started.elapsed().as_secs_f64(),
        },
    })
}

fn import_options(
    roots: &[PathBuf],
    window: &Filter,
    sessions: Option<HashSet<String>>,
) -> Options {
    Options {
        roots: roots.to_vec(),
        since: window.since,
        until: window.until,
        project: window.project.clone(),
        session: window.session.clone(),
        sessions,
        threads: 0,
        progress: false,
    }
}

/// The window of a check: `--since`/`--days` (default the last [`DEFAULT_DAYS`] days), `--until`.
pub fn window(filter: &Filter, now: i64) -> Filter {
    let mut w = filter.clone();
    w.since = Some(filter.since.unwrap_or(now - DEFAULT_DAYS * DAY_MS));
    w
}

fn scope(filter: &Filter) -> Option<String> {
    let mut s = Vec::new();
    if let Some(p) = &filter.project {
        s.push(format!("--project {p}"));
    }
    if let Some(id) = &filter.session {
        s.push(format!("--session {id}"));
    }
    for a in &filter.agents {
        s.push(format!("--agent {a}"));
    }
    (!s.is_empty()).then(|| s.join(" "))
}

/// Compares the transcripts' runs with the database's.
fn compare(ctx: &Ctx, t: &Transcripts, window: &Filter) -> Result<Coverage> {
    let conn = ctx.store.conn();
    let sql = format!(
        "SELECT {} FROM agent_runs r WHERE r.agent_id = ?1 AND r.internal = 0",
        FACT_COLUMNS.replace("{status}", &ctx.status_sql())
    );
    let mut one = conn.prepare(&sql)?;
    let mut c = blank(ctx.now, window);
    c.transcript_runs = t.runs.len() as u64;
    let mut covered: HashMap<&str, Facts> = HashMap::new();
    for want in &t.runs {
        let problem = |kind, differs, got: Option<&Facts>| Problem {
            kind,
            differs,
            agent_id: want.agent_id.clone(),
            agent_type: want.agent_type.clone(),
            session_id: want.session_id.clone(),
            start: want.start_ms.map(crate::timeparse::format_ms),
            start_ms: want.start_ms,
            transcript_status: Some(want.status.clone()),
            recorded_status: got.map(|g| g.status.clone()),
            transcript_tokens: Some(want.total()),
            recorded_tokens: got.map(Facts::total),
            tokens_difference: got.map(|g| g.total() - want.total()),
        };
        let Some(got) = one
            .query_row(params![want.agent_id], facts_row)
            .optional()?
        else {
            c.missing += 1;
            c.problems.push(problem("missing", Vec::new(), None));
            continue;
        };
        let mut differs = Vec::new();
        if got.status != want.status {
            differs.push("status");
            c.status_differs += 1;
        }
        // An unfinished run's tokens are read by the hooks when it ends.
        let finished = !matches!(
            RunStatus::parse(&want.status),
            Some(RunStatus::Running | RunStatus::Lost)
        );
        if finished && got.tokens != want.tokens {
            differs.push("tokens");
            c.tokens_differ += 1;
        }
        if differs.is_empty() {
            covered.insert(want.agent_id.as_str(), got);
        } else {
            c.wrong += 1;
            c.problems.push(problem("wrong", differs, Some(&got)));
        }
    }
    c.covered = covered.len() as u64;
    c.recovered = recovered(ctx, &covered)?;

    // Recorded runs the transcripts do not hold.
    for got in runs(ctx, window)? {
        if got.source != Source::ClaudeCode.as_str() || t.ids.contains(&got.agent_id) {
            continue;
        }
        if !got
            .session_id
            .as_ref()
            .is_some_and(|s| t.sessions.contains(s))
        {
            c.without_transcript += 1;
            continue;
        }
        c.extra += 1;
        c.problems.push(Problem {
            kind: "extra",
            differs: Vec::new(),
            agent_id: got.agent_id.clone(),
            agent_type: got.agent_type.clone(),
            session_id: got.session_id.clone(),
            start: got.start_ms.map(crate::timeparse::format_ms),
            start_ms: got.start_ms,
            transcript_status: None,
            recorded_status: Some(got.status.clone()),
            transcript_tokens: None,
            recorded_tokens: Some(got.total()),
            tokens_difference: None,
        });
    }
    c.problems.sort_by(|a, b| {
        kind_rank(a.kind)
            .cmp(&kind_rank(b.kind))
            .then(a.start_ms.cmp(&b.start_ms))
            .then_with(|| a.agent_id.cmp(&b.agent_id))
    });
    c.coverage = (c.transcript_runs > 0).then(|| c.covered as f64 / c.transcript_runs as f64);
    c.transcripts = t.read.clone();
    c.verdict = verdict(&c);
    Ok(c)
}

fn kind_rank(kind: &str) -> u8 {
    match kind {
        "missing" => 0,
        "wrong" => 1,
        _ => 2,
    }
}

fn blank(now: i64, window: &Filter) -> Coverage {
    let since = window.since.unwrap_or(0);
    let end = window.until.unwrap_or(now);
    Coverage {
        checked_at: crate::timeparse::format_ms(now),
        since: crate::timeparse::format_ms(since),
        until: window.until.map(crate::timeparse::format_ms),
        days: days(since, end),
        scope: scope(window),
        nothing: None,
        transcripts: Read::default(),
        transcript_runs: 0,
        covered: 0,
        missing: 0,
        wrong: 0,
        status_differs: 0,
        tokens_differ: 0,
        recovered: 0,
        extra: 0,
        without_transcript: 0,
        coverage: None,
        verdict: String::new(),
        problems: Vec::new(),
        fix: None,
        checked_at_ms: now,
        window: (since, window.until),
    }
}

/// `7 days`, `1 day`, `1.5 days`.
fn days_text(d: f64) -> String {
    if d == 1.0 {
        "1 day".into()
    } else if d.fract() == 0.0 {
        format!("{d:.0} days")
    } else {
        format!("{d:.1} days")
    }
}

/// The window's length in days, to one decimal.
fn days(since: i64, end: i64) -> f64 {
    ((end - since) as f64 / DAY_MS as f64 * 10.0).round() / 10.0
}

/// Covered runs that no hook event recorded. Only sessions an import has touched can hold such
/// runs, so the event log is read only for those (most checks read nothing here).
fn recovered(ctx: &Ctx, covered: &HashMap<&str, Facts>) -> Result<u64> {
    let conn = ctx.store.conn();
    let imported: HashSet<String> = conn
        .prepare("SELECT session_id FROM import_sessions")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let sessions: BTreeSet<&str> = covered
        .values()
        .filter_map(|f| f.session_id.as_deref())
        .filter(|s| imported.contains(*s))
        .collect();
    if sessions.is_empty() {
        return Ok(0);
    }
    let list = serde_json::to_string(&sessions)?;
    // The hooks saw an agent when they recorded its start, its stop or its transcript, or the
    // Agent tool's result for its call.
    let [agent_tool, task_tool] = AGENT_TOOLS;
    // A packed event's keys may be in its frame (`source` '': crate::store::packed): those
    // events are matched in Rust.
    let mut stmt = conn.prepare(&format!(
        "SELECT kind, {keys} FROM events
         WHERE kind IN ('{start}', '{stop}', '{summary}', '{post}', '{post_failure}')
           AND (source = '' OR (source = '{cc}' AND session_id IN (SELECT value FROM json_each(?1))))",
        keys = crate::store::packed::KEYS_SQL,
        cc = Source::ClaudeCode,
        start = EventKind::SubagentStart,
        stop = EventKind::SubagentStop,
        summary = EventKind::TranscriptSummary,
        post = EventKind::PostToolUse,
        post_failure = EventKind::PostToolUseFailure,
    ))?;
    let mut agents = HashSet::new();
    let mut calls = HashSet::new();
    let rows = stmt.query_map([list], |r| {
        Ok((
            r.get::<_, String>(0)?,
            crate::store::packed::Keys::from_row(conn, r, 1)?,
        ))
    })?;
    for row in rows {
        let (kind, keys) = row?;
        if keys.source != Source::ClaudeCode.as_str()
            || !keys
                .session_id
                .as_deref()
                .is_some_and(|s| sessions.contains(s))
        {
            continue;
        }
        if matches!(
            EventKind::parse(&kind),
            Some(EventKind::PostToolUse | EventKind::PostToolUseFailure)
        ) {
            if keys
                .tool_name
                .as_deref()
                .is_some_and(|t| t == agent_tool || t == task_tool)
            {
                calls.extend(keys.tool_use_id);
            }
        } else {
            agents.extend(keys.agent_id);
        }
    }
    Ok(covered
        .values()
        .filter(|f| {
            f.session_id
                .as_ref()
                .is_some_and(|s| sessions.contains(s.as_str()))
        })
        .filter(|f| {
            !agents.contains(&f.agent_id)
                && !f.tool_use_id.as_ref().is_some_and(|tu| calls.contains(tu))
        })
        .count() as u64)
}

/// Arguments of the check (flags of `analyze doctor`).
#[derive(Debug, Clone, Default)]
pub struct CoverageArgs {
    pub claude_dir: Vec<PathBuf>,
    pub fix: bool,
}

/// Runs `analyze doctor --coverage [--fix]`. `Ok(false)` (exit 1) when a run is missing or wrong
/// (after the fix, with `--fix`); nothing to compare is `Ok(true)`.
pub fn run(
    db: Option<&Path>,
    filter: &Filter,
    args: &CoverageArgs,
    format: Format,
) -> Result<bool> {
    let now = super::now();
    let window = window(filter, now);
    let roots = match super::import::transcript_roots(&args.claude_dir)? {
        Ok(r) => r,
        Err(why) => {
            // Nothing to compare with: no figure to remember either.
            let mut c = blank(now, &window);
            c.nothing = Some(why);
            c.verdict = verdict(&c);
            render::print(&c, format)?;
            return Ok(true);
        }
    };
    if args.fix {
        Store::create(&crate::paths::db_path(db))?;
    }
    let mut ctx = Ctx::open(db)?;
    ctx.now = now;
    let t = read_transcripts(&roots, &window, &ctx)?;
    let mut c = compare(&ctx, &t, &window)?;
    if args.fix && !c.ok() {
        let sessions: HashSet<String> = c
            .problems
            .iter()
            .filter(|p| p.kind != "extra")
            .filter_map(|p| p.session_id.clone())
            .collect();
        let n = sessions.len() as u64;
        ctx.store.tune_for_reading()?;
        let out = import::run(
            &ctx.store,
            &ctx.cfg,
            &ctx.prices,
            &import_options(&roots, &window, Some(sessions)),
        )?;
        let before = c;
        c = compare(&ctx, &t, &window)?;
        c.fix = Some(Fix {
            sessions: n,
            runs_added: out.runs_added,
            runs_updated: out.runs_updated,
            covered_before: before.covered,
            missing_before: before.missing,
            wrong_before: before.wrong,
            coverage_before: before.coverage,
        });
        c.verdict = verdict(&c);
    }
    record(&ctx.store, &c)?;
    render::print(&c, format)?;
    if !c.ok() && format == Format::Table {
        eprintln!(
            "analyze: {} of {} run(s) in the transcripts are missing or recorded differently",
            c.missing + c.wrong,
            c.transcript_runs
        );
    }
    Ok(c.ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_defaults_to_the_last_seven_days() {
        let now = 30 * DAY_MS;
        let w = window(&Filter::default(), now);
        assert_eq!((w.since, w.until), (Some(23 * DAY_MS), None));
        let given = Filter {
            since: Some(DAY_MS),
            ..Filter::default()
        };
        assert_eq!(window(&given, now).since, Some(DAY_MS));
        assert_eq!(days(0, 7 * DAY_MS), 7.0);
        assert_eq!(days(0, 36 * 3_600_000), 1.5);
        assert_eq!(days_text(1.0), "1 day");
        assert_eq!(days_text(7.0), "7 days");
        assert_eq!(days_text(1.5), "1.5 days");
    }
}
