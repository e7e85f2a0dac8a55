//! Importing past Claude Code sessions from their transcripts (`analyze import`).
//!
//! The importer does not write agent runs. It reads each session's transcripts, produces the
//! events the hooks would have produced had they been installed (SessionStart, UserPromptSubmit,
//! PreToolUse(Agent), SubagentStart, SubagentStop, PostToolUse, PostToolUseFailure, Stop, plus
//! the `transcript_summary` event and usage rows a SubagentStop writes), timestamped from the
//! transcript, with `source = 'import'`, and appends them to the same log. [`crate::derive`]
//! then turns them into runs exactly as it does for live data.
//!
//! * Layouts (docs/import.md): 2.1.2+ `<session>/subagents/agent-<id>.jsonl` + `.meta.json`;
//!   2.0.x `agent-<id>.jsonl` beside the session file; 1.x sidechain lines inline in the session
//!   file (`isSidechain: true` + `agentId`). Tool names `Agent` and `Task`.
//! * A delegation (tool_use id) is tied to its agent by, in order: the sidecar's `toolUseId`, the
//!   result's `toolUseResult.agentId`, the `agentId: …` line of the result text, a
//!   `<task-notification>`, and finally the agent's first prompt equal to the tool input's prompt.
//! * Idempotent: files whose size and mtime are unchanged since the last import are not read
//!   (`import_files`); a changed session is re-read and only events whose key (kind, prompt,
//!   agent, tool use, time) was not emitted before are appended (`import_sessions`). Usage rows
//!   are upserted by message key, so nothing is counted twice.
//! * A run the hooks already recorded (same agent id) is enriched, never duplicated: derive keys
//!   runs by agent id and every rule it applies to these events converges.
//! * Files are parsed on a few threads; one writer appends in short transactions.

//!
//! Layout: `discover` (files → sessions), `scan` (one file's lines), `session` (one session
//! read and filtered), `emit` (its events), `write` (appended in short transactions),
//! `progress` (the stderr line). The line shapes are `crate::wire::transcript`'s.

mod discover;
mod emit;
mod progress;
mod scan;
mod session;
mod write;

use crate::config::Config;
use crate::error::Result;
use crate::pricing::Prices;
use crate::store::Store;
use discover::discover;
use progress::Progress;
use serde::Serialize;
use session::{parse_unit, ParsedUnit};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use write::Writer;

/// At most this many problems (malformed lines, unreadable files) are kept with their details.
const MAX_PROBLEMS: usize = 100;
/// A writer transaction holds at most this many events, so a hook waits for the lock (at most
/// ~100 ms, then it spools) only briefly: ~10 ms at the rates in docs/performance.md.
const BATCH_EVENTS: usize = 1000;

/// Longest prompt text kept in a UserPromptSubmit / PreToolUse payload (derive keeps less).
const MAX_TEXT: usize = 8000;

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Claude Code configuration directories; each holds `projects/`.
    pub roots: Vec<PathBuf>,
    /// Only sessions active at or after this (unix ms).
    pub since: Option<i64>,
    /// Only sessions that started before this (unix ms).
    pub until: Option<i64>,
    /// Only sessions whose working directory is this path or below it.
    pub project: Option<String>,
    /// Only this session id.
    pub session: Option<String>,
    /// Only these session ids (`analyze doctor --coverage --fix`: the sessions with a problem).
    pub sessions: Option<HashSet<String>>,
    /// Parser threads; 0 = one per core (at most 4).
    pub threads: usize,
    /// Print a progress line on stderr (only when it is a terminal).
    pub progress: bool,
}

/// One malformed line or unreadable file, reported and skipped.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The file (or directory).
    pub path: String,
    /// 1-based line number; None for a whole file.
    pub line: Option<u64>,
    /// What was wrong, e.g. `malformed JSON: …` or `unreadable: …`.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// The `projects/` directories walked.
    pub roots: Vec<String>,
    /// Sessions under the roots (after --project/--session, which select directories and files).
    pub sessions_found: u64,
    /// Sessions read and written.
    pub sessions_imported: u64,
    /// Every file of the session had the size and mtime recorded by the last import.
    pub sessions_unchanged: u64,
    /// Left out by --since/--until/--project/--session.
    pub sessions_filtered: u64,
    /// Transcript files read, and not read because unchanged.
    pub files_read: u64,
    pub files_unchanged: u64,
    /// Files or directories that could not be read (each also in `problems`).
    pub unreadable_files: u64,
    pub bytes_read: u64,
    /// Non-empty complete lines read.
    pub lines_read: u64,
    /// Events appended to the log (`source = 'import'`).
    pub events_added: u64,
    /// Events produced again by a re-read session and not appended (emitted before).
    pub events_already_imported: u64,
    /// Usage rows written (upserted: a row already stored keeps its largest copy).
    pub usage_rows: u64,
    /// User agent runs (internal ones excluded) that did not exist before.
    pub runs_added: i64,
    /// User agent runs that existed (recorded by the hooks or an earlier import) and got events.
    pub runs_updated: i64,
    /// Lines not used because of a problem, by reason.
    pub lines_skipped: u64,
    /// `lines_skipped` by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Lines not used by design (entry types that carry no run data), by entry type.
    pub ignored: BTreeMap<String, u64>,
    /// The first problems, with file and line.
    pub problems: Vec<Problem>,
    /// Problems in all (`problems` keeps the first 100).
    pub problems_total: u64,
    /// Wall time in all.
    pub seconds: f64,
    /// Of which deriving runs from the appended events (crate::derive::refresh).
    pub derive_seconds: f64,
}

impl Outcome {
    fn skip(&mut self, reason: &str, n: u64) {
        self.lines_skipped += n;
        *self.skipped.entry(reason.to_string()).or_insert(0) += n;
    }
    fn problem(&mut self, path: &Path, line: Option<u64>, reason: String) {
        self.problems_total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                path: path.display().to_string(),
                line,
                reason,
            });
        }
    }
    fn absorb(&mut self, o: Outcome) {
        self.files_read += o.files_read;
        self.unreadable_files += o.unreadable_files;
        self.bytes_read += o.bytes_read;
        self.lines_read += o.lines_read;
        self.lines_skipped += o.lines_skipped;
        for (k, v) in o.skipped {
            *self.skipped.entry(k).or_insert(0) += v;
        }
        for (k, v) in o.ignored {
            *self.ignored.entry(k).or_insert(0) += v;
        }
        self.problems_total += o.problems_total;
        for p in o.problems {
            if self.problems.len() < MAX_PROBLEMS {
                self.problems.push(p);
            }
        }
    }
}

/// The default configuration directories: `$CLAUDE_CONFIG_DIR` (comma-separated list allowed)
/// when set; otherwise `~/.claude` and `$XDG_CONFIG_HOME/claude` (`~/.config/claude`), the
/// ones that exist.
pub fn default_roots() -> Vec<PathBuf> {
    if let Some(v) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
        return v
            .to_string_lossy()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    let home = crate::paths::home_dir();
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"));
    [home.join(".claude"), xdg.join("claude")]
        .into_iter()
        .filter(|p| p.is_dir())
        .collect()
}

/// The `projects/` directory of a configuration directory (or the directory itself when it
/// already is one); None when there is none.
pub fn projects_dir(root: &Path) -> Option<PathBuf> {
    let p = root.join("projects");
    if p.is_dir() {
        return Some(p);
    }
    (root.file_name().is_some_and(|n| n == "projects") && root.is_dir()).then(|| root.to_path_buf())
}

/// Claude Code's project directory name for a working directory: every non-alphanumeric
/// character becomes '-'.
pub fn project_dir_name(cwd: &str) -> String {
    cwd.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Imports every session under `opts.roots` into `store`, then refreshes the projection.
pub fn run(store: &Store, cfg: &Config, prices: &Prices, opts: &Options) -> Result<Outcome> {
    let started = Instant::now();
    let mut out = Outcome::default();
    crate::derive::refresh(store, cfg, prices)?;
    let runs_before = user_runs(store)?;
    // Custom metric definitions, applied to every agent transcript read (docs/metrics.md).
    let metrics = crate::metrics::compile_all(&cfg.metrics).map_err(|e| {
        crate::error::Error::InvalidArgument(format!("config.json \"metrics\": {e}"))
    })?;
    let metrics = metrics.as_slice();

    let projects: Vec<PathBuf> = opts.roots.iter().filter_map(|r| projects_dir(r)).collect();
    out.roots = projects.iter().map(|p| p.display().to_string()).collect();
    let mut units = discover(&projects, opts, &mut out);
    out.sessions_found = units.len() as u64;
    let known = load_known_files(store)?;
    units.retain(|u| {
        if u.all_files()
            .all(|f| known.get(&f.path_key()) == Some(&(f.size, f.mtime_ms)))
        {
            out.sessions_unchanged += 1;
            out.files_unchanged += u.all_files().count() as u64;
            return false;
        }
        if let Some(since) = opts.since {
            if u.all_files().all(|f| f.mtime_ms < since) {
                out.sessions_filtered += 1;
                return false;
            }
        }
        true
    });

    let threads = match opts.threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .min(4),
        n => n,
    }
    .clamp(1, units.len().max(1));
    let total_bytes: u64 = units
        .iter()
        .flat_map(|u| u.all_files())
        .map(|f| f.size)
        .sum();
    let mut progress = Progress::new(opts.progress, units.len(), total_bytes);
    let mut writer = Writer::default();
    let next = AtomicUsize::new(0);
    let result: Result<()> = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<ParsedUnit>(threads * 2);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, units) = (&next, &units);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(u) = units.get(i) else { break };
                if tx.send(parse_unit(u, opts, metrics)).is_err() {
                    break; // the writer stopped
                }
            });
        }
        drop(tx);
        let mut batch: Vec<ParsedUnit> = Vec::new();
        let mut batch_events = 0usize;
        let mut last_flush = Instant::now();
        for p in rx.iter() {
            progress.advance(p.stats.bytes_read);
            batch_events += p.events.len() + p.usage.len() / 4;
            batch.push(p);
            if batch_events >= BATCH_EVENTS || last_flush.elapsed() > Duration::from_millis(200) {
                writer.write(store, std::mem::take(&mut batch), &mut out)?;
                batch_events = 0;
                last_flush = Instant::now();
            }
        }
        writer.write(store, batch, &mut out)?;
        Ok(())
    });
    result?;
    progress.done();
    let deriving = Instant::now();
    crate::derive::refresh(store, cfg, prices)?;
    out.derive_seconds = deriving.elapsed().as_secs_f64();
    out.runs_added = user_runs(store)? - runs_before;
    out.runs_updated = writer.updated;
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

fn user_runs(store: &Store) -> Result<i64> {
    Ok(store.conn().query_row(
        "SELECT count(*) FROM agent_runs WHERE internal = 0",
        [],
        |r| r.get(0),
    )?)
}

fn load_known_files(store: &Store) -> Result<HashMap<String, (u64, i64)>> {
    let mut stmt = store
        .conn()
        .prepare("SELECT path, size, mtime_ms FROM import_files")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)?),
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_dir_names_match_claude_codes() {
        assert_eq!(project_dir_name("/home/dev/proj"), "-home-dev-proj");
        assert_eq!(
            project_dir_name("/home/dev/my_app.v2"),
            "-home-dev-my-app-v2"
        );
    }
}
