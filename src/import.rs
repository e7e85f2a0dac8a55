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

use crate::config::Config;
use crate::error::Result;
use crate::hook::event::StoredEvent;
use crate::pricing::Prices;
use crate::store::{Store, UsageRow};
use crate::transcript::{self, ReadSpec, Summary};
use crate::util::truncate as cut;
use crate::vocab::{self, EventKind, Source};
use crate::wire::lenient::{Obj, LStr};
use crate::wire::transcript::{Content, Line, ToolUseResult as Tur};
use crate::wire::{WireAgentInput, WireAgentMeta, WireAgentResponse};
use rusqlite::{params, OptionalExtension};
use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

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
                if tx.send(parse_unit(u, opts)).is_err() {
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
    progress.deriving();
    let deriving = Instant::now();
    crate::derive::refresh(store, cfg, prices)?;
    out.derive_seconds = deriving.elapsed().as_secs_f64();
    progress.done();
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

// ── discovery ─────────────────────────────────────────────────────────────────────────────────

/// A transcript file with the stamp that tells whether it changed since the last import.
#[derive(Debug, Clone)]
struct FileRef {
    path: PathBuf,
    size: u64,
    mtime_ms: i64,
}

impl FileRef {
    fn stat(path: PathBuf) -> std::io::Result<FileRef> {
        let m = std::fs::metadata(&path)?;
        if !m.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mtime_ms = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        Ok(FileRef {
            path,
            size: m.len(),
            mtime_ms,
        })
    }
    fn path_key(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }
}

/// A subagent transcript file of a session.
#[derive(Debug, Clone)]
struct AgentFile {
    file: FileRef,
    agent_id: String,
    meta: Option<PathBuf>,
}

/// One session: its main transcript (if present) and its subagent transcript files.
#[derive(Debug, Clone)]
struct Unit {
    session_id: String,
    main: Option<FileRef>,
    agents: Vec<AgentFile>,
}

impl Unit {
    fn all_files(&self) -> impl Iterator<Item = &FileRef> {
        self.main.iter().chain(self.agents.iter().map(|a| &a.file))
    }
}

fn agent_id_of(file_name: &str) -> Option<&str> {
    file_name
        .strip_prefix("agent-")?
        .strip_suffix(".jsonl")
        .filter(|s| !s.is_empty())
}

/// Walks `projects/<project>/…` and groups the files into sessions.
fn discover(projects: &[PathBuf], opts: &Options, out: &mut Outcome) -> Vec<Unit> {
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    let want_dir = opts
        .project
        .as_deref()
        .map(|p| project_dir_name(p.trim_end_matches('/')));
    for root in projects {
        let mut dirs: Vec<PathBuf> = match std::fs::read_dir(root) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect(),
            Err(e) => {
                out.unreadable_files += 1;
                out.problem(root, None, format!("cannot list: {e}"));
                continue;
            }
        };
        dirs.sort();
        for dir in dirs {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(w) = &want_dir {
                // The name is lossy: a prefix match here, the exact check against cwd later.
                if name != *w && !name.starts_with(&format!("{w}-")) {
                    continue;
                }
            }
            discover_project(&dir, opts, &mut units, out);
        }
    }
    units.into_values().collect()
}

fn discover_project(
    dir: &Path,
    opts: &Options,
    units: &mut BTreeMap<String, Unit>,
    out: &mut Outcome,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            out.unreadable_files += 1;
            out.problem(dir, None, format!("cannot list: {e}"));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    let unit = |units: &mut BTreeMap<String, Unit>, sid: &str| -> bool {
        if opts.session.as_deref().is_some_and(|s| s != sid)
            || opts.sessions.as_ref().is_some_and(|set| !set.contains(sid))
        {
            return false;
        }
        units.entry(sid.to_string()).or_insert_with(|| Unit {
            session_id: sid.to_string(),
            main: None,
            agents: Vec::new(),
        });
        true
    };
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            // `<session>/subagents/…` (2.1.2+). The session may have no main file (yet).
            let sub = path.join("subagents");
            if !sub.is_dir() || !unit(units, &name) {
                continue;
            }
            let mut found = Vec::new();
            walk_agent_files(&sub, &mut found, out);
            units.get_mut(&name).expect("inserted").agents.extend(found);
        } else if let Some(stem) = name.strip_suffix(".jsonl") {
            if let Some(aid) = agent_id_of(&name) {
                // 2.0.x: `agent-<id>.jsonl` beside the session file; its lines name the session.
                let Some(sid) = first_session_id(&path) else {
                    out.unreadable_files += 1;
                    out.problem(
                        &path,
                        None,
                        "no sessionId in its first lines: cannot tell its session".into(),
                    );
                    continue;
                };
                if !unit(units, &sid) {
                    continue;
                }
                match FileRef::stat(path.clone()) {
                    Ok(file) => {
                        let meta = Some(transcript::meta_path_for(&path)).filter(|m| m.is_file());
                        units
                            .get_mut(&sid)
                            .expect("inserted")
                            .agents
                            .push(AgentFile {
                                file,
                                agent_id: aid.to_string(),
                                meta,
                            });
                    }
                    Err(e) => {
                        out.unreadable_files += 1;
                        out.problem(&path, None, format!("unreadable: {e}"));
                    }
                }
            } else {
                if !unit(units, stem) {
                    continue;
                }
                match FileRef::stat(path.clone()) {
                    Ok(f) => {
                        let u = units.get_mut(stem).expect("inserted");
                        // The same session under two configuration directories: keep the larger copy.
                        if u.main.as_ref().is_none_or(|m| m.size < f.size) {
                            u.main = Some(f);
                        }
                    }
                    Err(e) => {
                        out.unreadable_files += 1;
                        out.problem(&path, None, format!("unreadable: {e}"));
                    }
                }
            }
        }
    }
}

/// `agent-*.jsonl` under a subagents directory, recursively (workflow agents sit deeper).
fn walk_agent_files(dir: &Path, found: &mut Vec<AgentFile>, out: &mut Outcome) {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(e) => {
            out.unreadable_files += 1;
            out.problem(dir, None, format!("cannot list: {e}"));
            return;
        }
    };
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            walk_agent_files(&path, found, out);
            continue;
        }
        let Some(aid) = agent_id_of(&name) else {
            continue;
        };
        match FileRef::stat(path.clone()) {
            Ok(file) => {
                let meta = Some(transcript::meta_path_for(&path)).filter(|m| m.is_file());
                found.push(AgentFile {
                    file,
                    agent_id: aid.to_string(),
                    meta,
                });
            }
            Err(e) => {
                out.unreadable_files += 1;
                out.problem(&path, None, format!("unreadable: {e}"));
            }
        }
    }
}

/// The `sessionId` of the first line that has one (2.0.x subagent files beside the session).
fn first_session_id(path: &Path) -> Option<String> {
    use std::io::{BufRead, BufReader, Read};
    let f = std::fs::File::open(path).ok()?;
    let mut r = BufReader::new(f.take(1 << 20));
    let mut line = Vec::new();
    for _ in 0..32 {
        line.clear();
        if r.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "sessionId", default)]
            session_id: LStr,
        }
        if let Ok(Head {
            session_id: LStr(Some(s)),
        }) = serde_json::from_slice::<Head>(&line)
        {
            return Some(s);
        }
    }
    None
}

// ── scanning one file ─────────────────────────────────────────────────────────────────────────

/// An Agent/Task tool call.
#[derive(Debug, Clone)]
struct Delegation {
    seq: usize,
    ts: i64,
    tool_use_id: String,
    tool_name: String,
    /// The agent that made the call; None = the main agent.
    caller: Option<String>,
    input: WireAgentInput,
    prompt_id: Option<String>,
}

/// The result of an Agent/Task tool call.
#[derive(Debug)]
struct ToolResult {
    ts: i64,
    tool_use_id: String,
    is_error: bool,
    text: String,
    tur: Tur,
}

/// A `<task-notification>`: a background agent finished (or failed, or was stopped).
#[derive(Debug, Clone)]
struct Notification {
    ts: i64,
    task_id: Option<String>,
    tool_use_id: Option<String>,
    status: Option<String>,
    summary: Option<String>,
    result: Option<String>,
}

/// A prompt turn of the main agent.
#[derive(Debug, Clone)]
struct Turn {
    prompt_id: String,
    text: String,
    start: i64,
    end: i64,
    /// The turn's last assistant line is an API-error notice: it ended on it (StopFailure).
    api_error: Option<String>,
}

/// What one agent's lines said (a subagent file, or 1.x inline sidechain lines).
#[derive(Debug, Default)]
struct AgentLines {
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    first_prompt: Option<String>,
    prompt_id: Option<String>,
    last_text: Option<String>,
    last_stop_reason: Option<String>,
    cwd: Option<String>,
    /// `attributionAgent` of the agent's lines: its type where the sidecar is missing.
    attribution: Option<String>,
    /// The last line is Claude Code's `[Request interrupted by user…]` note: the agent was
    /// stopped (killed with its session, or by the user) — no hook reports that.
    interrupted: bool,
    /// 1.x inline sidechains: the raw lines, summarised as if they were the agent's own file.
    raw: Vec<u8>,
}

#[derive(Debug, Default)]
struct FileScan {
    /// The file's own lines (main agent for a session file, the agent for an agent file).
    own: AgentLines,
    delegations: Vec<Delegation>,
    results: Vec<ToolResult>,
    notifications: Vec<Notification>,
    turns: Vec<Turn>,
    /// 1.x: sidechain agents found inline in a session file.
    inline: BTreeMap<String, AgentLines>,
    end_offset: u64,
}

fn note_ts(a: &mut AgentLines, ts: Option<i64>) {
    if let Some(t) = ts {
        a.first_ts = Some(a.first_ts.map_or(t, |f| f.min(t)));
        a.last_ts = Some(a.last_ts.map_or(t, |l| l.max(t)));
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    if map.len() >= 64 && !map.contains_key(key) {
        *map.entry("(other)".into()).or_insert(0) += 1;
    } else {
        *map.entry(key.to_string()).or_insert(0) += 1;
    }
}

/// Reads the lines of one file. `owner` is the agent id of a subagent file, None for a session
/// file. `seq` numbers delegations across the files of a session.
fn scan_file(
    path: &Path,
    buf: &[u8],
    owner: Option<&str>,
    session: &str,
    seq: &mut usize,
    stats: &mut Outcome,
) -> FileScan {
    let mut scan = FileScan::default();
    let mut agent_tools: HashSet<String> = HashSet::new();
    let mut last_ts: Option<i64> = None;
    let mut pos = 0usize;
    let mut lineno = 0u64;
    while pos < buf.len() {
        lineno += 1;
        let rest = &buf[pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            if rest.iter().any(|b| !b.is_ascii_whitespace()) {
                stats.skip("incomplete last line (still being written)", 1);
            }
            break;
        };
        let raw = &rest[..n];
        pos += n + 1;
        scan.end_offset = pos as u64;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        stats.lines_read += 1;
        // A derived struct would also accept an array: only an object is a transcript entry.
        let parsed = match line.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => serde_json::from_slice::<Line>(line),
            _ => Err(de::Error::custom("not a JSON object")),
        };
        let l: Line = match parsed {
            Ok(l) => l,
            Err(e) => {
                let reason = if serde_json::from_slice::<IgnoredAny>(line).is_ok() {
                    "unexpected shape"
                } else {
                    "malformed JSON"
                };
                stats.skip(reason, 1);
                stats.problem(path, Some(lineno), format!("{reason}: {e}"));
                continue;
            }
        };
        let kind = l.kind.0.as_deref().unwrap_or("");
        if !matches!(kind, "user" | "assistant" | "system") {
            bump(
                &mut stats.ignored,
                if kind.is_empty() { "(no type)" } else { kind },
            );
            continue;
        }
        let ts = l
            .timestamp
            .0
            .as_deref()
            .and_then(crate::timeparse::parse_instant);
        if ts.is_some() {
            last_ts = ts;
        }
        let eff_ts = ts.or(last_ts).unwrap_or(0);
        // Whose line is it?
        let inline_agent = match (owner, l.is_sidechain.0.unwrap_or(false)) {
            (None, true) => match &l.agent_id.0 {
                Some(a) => Some(a.clone()),
                None => {
                    bump(&mut stats.ignored, "sidechain line without agentId");
                    continue;
                }
            },
            _ => None,
        };
        let caller: Option<String> = owner.map(str::to_string).or_else(|| inline_agent.clone());
        let is_main = caller.is_none();
        {
            let who = match &inline_agent {
                Some(a) => scan.inline.entry(a.clone()).or_default(),
                None => &mut scan.own,
            };
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
                who.raw.extend_from_slice(line);
                who.raw.push(b'\n');
            }
        }
        let mut tur = l.tool_use_result;
        let message = l.message.0;
        match kind {
            "user" => 'user: {
                let mut prompt_text: Option<String> = None;
                match message.content {
                    Content::Blocks(blocks) => {
                        let mut has_result = false;
                        let mut texts: Vec<String> = Vec::new();
                        for Obj(b) in blocks {
                            match b.kind.0.as_deref() {
                                Some("tool_result") => {
                                    has_result = true;
                                    let Some(tu) = b.tool_use_id.0 else { continue };
                                    if agent_tools.contains(&tu) {
                                        scan.results.push(ToolResult {
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
                let Some(text) = prompt_text else { break 'user };
                if !is_main {
                    let who = match &inline_agent {
                        Some(a) => scan.inline.entry(a.clone()).or_default(),
                        None => &mut scan.own,
                    };
                    who.interrupted = text.starts_with("[Request interrupted");
                    if who.first_prompt.is_none() {
                        who.first_prompt = Some(text);
                    }
                    break 'user;
                }
                if l.is_meta.0 == Some(true)
                    || l.is_compact_summary.0 == Some(true)
                    || text.starts_with("[Request interrupted")
                {
                    break 'user;
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
                    .unwrap_or_else(|| format!("import:{session}:{lineno}"));
                if scan.turns.last().map(|t| t.prompt_id.as_str()) != Some(pid.as_str()) {
                    scan.turns.push(Turn {
                        prompt_id: pid,
                        text: text.clone(),
                        start: eff_ts,
                        end: eff_ts,
                        api_error: None,
                    });
                }
                if notification {
                    scan.notifications.push(parse_notification(&text, eff_ts));
                }
            }
            "assistant" => {
                if let Content::Blocks(blocks) = message.content {
                    for Obj(b) in blocks {
                        match b.kind.0.as_deref() {
                            Some("tool_use") => {
                                let name = b.name.0.unwrap_or_default();
                                let Some(tu) = b.id.0 else { continue };
                                if !vocab::is_agent_tool(&name) || !agent_tools.insert(tu.clone()) {
                                    continue; // not a delegation, or the same block written twice
                                }
                                let prompt_id = if is_main {
                                    scan.turns.last().map(|t| t.prompt_id.clone())
                                } else {
                                    l.prompt_id.0.clone()
                                };
                                *seq += 1;
                                scan.delegations.push(Delegation {
                                    seq: *seq,
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
                                    let who = match &inline_agent {
                                        Some(a) => scan.inline.entry(a.clone()).or_default(),
                                        None => &mut scan.own,
                                    };
                                    who.last_text = Some(t);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                if let Some(r) = message.stop_reason.0 {
                    let who = match &inline_agent {
                        Some(a) => scan.inline.entry(a.clone()).or_default(),
                        None => &mut scan.own,
                    };
                    who.last_stop_reason = Some(r);
                    who.interrupted = false;
                }
                if is_main {
                    if let Some(turn) = scan.turns.last_mut() {
                        turn.api_error = (l.is_api_error.0 == Some(true))
                            .then(|| scan.own.last_text.clone())
                            .flatten()
                            .filter(|t| t.starts_with("API Error"));
                    }
                }
            }
            _ => {}
        }
        if is_main {
            // A line stamped with a prompt id not begun yet (its isMeta preamble) is not the
            // current turn's.
            if let (Some(t), Some(turn)) = (ts, scan.turns.last_mut()) {
                if l.prompt_id.0.as_deref().is_none_or(|p| p == turn.prompt_id) {
                    turn.end = turn.end.max(t);
                }
            }
        }
    }
    scan
}

/// The value of `<tag>…</tag>` in a task notification.
fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].trim())
}

fn parse_notification(text: &str, ts: i64) -> Notification {
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
fn agent_id_in_text(text: &str) -> Option<String> {
    let i = text.rfind("agentId: ")? + "agentId: ".len();
    let id: String = text[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!id.is_empty()).then_some(id)
}

// ── one session → events ──────────────────────────────────────────────────────────────────────

/// An event ready to append, with what orders it and what it is about.
#[derive(Debug, Clone)]
struct Ev {
    /// Tie-break at equal times, in the order the hooks fire.
    rank: u8,
    seq: usize,
    /// `source = 'import'`, the session's id; no transcript paths (those are the hooks' own).
    event: StoredEvent,
    /// The agent run this event is about (for "runs updated").
    subject: Option<String>,
}

/// A session, parsed, with everything to write.
struct ParsedUnit {
    session_id: String,
    events: Vec<Ev>,
    usage: Vec<UsageRow>,
    /// Main transcript read up to here (the hooks' incremental cursor).
    cursor: Option<(String, u64, Option<String>)>,
    /// Files read completely, to remember as imported.
    files: Vec<FileRef>,
    /// Left out by a filter: nothing to write.
    filtered: bool,
    stats: Outcome,
}

/// An agent of the session with what its transcript said.
struct AgentRec {
    id: String,
    path: Option<PathBuf>,
    lines: AgentLines,
    summary: Summary,
    meta: Option<WireAgentMeta>,
}

impl AgentRec {
    /// Claude Code considered it done (sidecar), or its last answer ended the turn.
    fn finished(&self) -> bool {
        match self.meta.as_ref().and_then(|m| m.finished) {
            Some(f) => f,
            None => {
                self.lines.last_stop_reason.as_deref() == Some("end_turn")
                    && !self.summary.ended_in_api_error
            }
        }
    }
}

fn read_whole(f: &FileRef, stats: &mut Outcome) -> Option<Vec<u8>> {
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

fn summarize(buf: &[u8], session: &str, agent: Option<&str>) -> Summary {
    let spec = ReadSpec {
        session_id: session,
        agent_id: agent,
        offset: 0,
        prompt_id: None,
        budget: None,
    };
    // Reading from memory cannot fail.
    transcript::summarize_reader(buf, &spec).unwrap_or_default()
}

fn parse_unit(u: &Unit, opts: &Options) -> ParsedUnit {
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
            let s = summarize(&buf, sid, None);
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
        let summary = summarize(&buf, sid, Some(&a.agent_id));
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
    // 1.x: sidechain agents inline in the session file (their usage is in the main summary).
    for (id, lines) in std::mem::take(&mut main_scan.inline) {
        if agents.contains_key(&id) {
            continue; // the agent's own file wins
        }
        let mut summary = summarize(&lines.raw, sid, Some(&id));
        summary.usage.clear();
        agents.insert(
            id.clone(),
            AgentRec {
                id,
                path: main_path.clone(),
                lines,
                summary,
                meta: None,
            },
        );
    }

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
    let filtered = opts.since.is_some_and(|s| last_ts.is_none_or(|t| t < s))
        || opts.until.is_some_and(|u| first_ts.is_none_or(|t| t >= u))
        || opts.project.as_deref().is_some_and(|p| {
            let p = p.trim_end_matches('/');
            !cwd.as_deref()
                .is_some_and(|c| c == p || c.starts_with(&format!("{p}/")))
        });
    if filtered {
        return ParsedUnit {
            session_id: sid.to_string(),
            events: Vec::new(),
            usage: Vec::new(),
            cursor: None,
            files: Vec::new(),
            filtered,
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

/// What a completed (or launched) Agent/Task call reported.
#[derive(Debug, Default, Clone)]
struct Resp {
    agent_type: Option<String>,
    description: Option<String>,
    resolved_model: Option<String>,
    duration_ms: Option<i64>,
    tokens: Option<i64>,
    tool_uses: Option<i64>,
    is_async: Option<bool>,
    lines_added: Option<i64>,
    lines_removed: Option<i64>,
    /// The agent's final report.
    report: Option<String>,
}

impl Resp {
    fn from_obj(o: &WireAgentResponse) -> Resp {
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
    fn from_text(t: &str) -> Resp {
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
    fn json(&self, agent_id: &str, agent_type: &str, status: &str) -> Value {
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
enum Ending {
    Completed(Resp),
    Launched(Resp),
    Failed {
        error: String,
        interrupt: bool,
    },
    /// No result yet (still running, or the session ended first), or one that says nothing.
    Pending,
}

fn interrupted(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("interrupted by user")
        || t.contains("request interrupted")
        || t.contains("user rejected")
        || t.contains("user doesn't want")
}

fn ending(r: Option<&ToolResult>) -> Ending {
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

struct Emitter<'a> {
    sid: &'a str,
    transcript_path: String,
    cwd: Option<String>,
    out: Vec<Ev>,
    seq: usize,
}

/// Event kinds with their tie-break rank (the order the hooks fire in at equal times).
const SESSION_START: (EventKind, u8) = (EventKind::SessionStart, 0);
const PROMPT: (EventKind, u8) = (EventKind::UserPromptSubmit, 1);
const PRE_TOOL: (EventKind, u8) = (EventKind::PreToolUse, 2);
const AGENT_START: (EventKind, u8) = (EventKind::SubagentStart, 3);
const AGENT_STOP: (EventKind, u8) = (EventKind::SubagentStop, 4);
const SUMMARY: (EventKind, u8) = (EventKind::TranscriptSummary, 5);
const POST_TOOL: (EventKind, u8) = (EventKind::PostToolUse, 6);
const POST_TOOL_FAILURE: (EventKind, u8) = (EventKind::PostToolUseFailure, 6);
const STOP: (EventKind, u8) = (EventKind::Stop, 7);
const STOP_FAILURE: (EventKind, u8) = (EventKind::StopFailure, 7);

/// The columns of one event besides its kind, time and payload.
#[derive(Default)]
struct Cols {
    prompt_id: Option<String>,
    agent_id: Option<String>,
    agent_type: Option<String>,
    tool_name: Option<String>,
    tool_use_id: Option<String>,
    subject: Option<String>,
}

impl Emitter<'_> {
    /// A hook-shaped event: the common payload fields plus `fields`.
    fn hook(
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

    fn push(&mut self, kind: EventKind, rank: u8, ts: i64, c: Cols, payload: String) {
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
            },
            subject: c.subject,
        });
    }

    /// The `transcript_summary` event a SubagentStop (or an Agent failure) writes.
    fn summary(&mut self, ts: i64, a: &AgentRec, prompt_id: Option<String>) {
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

    fn agent_stop(
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
            prompt_id,
            agent_id: Some(aid.to_string()),
            agent_type: Some(agent_type.to_string()),
            subject: Some(aid.to_string()),
            ..Cols::default()
        };
        self.hook(AGENT_STOP, ts, c, f);
    }
}

/// The Agent/Task input as the hooks' `tool_input` carries it: the fields import has always
/// written (derive reads the same ones; `name`, `effort`, `isolation` only come from the hooks).
fn input_json(i: &WireAgentInput) -> Value {
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
fn build_events(
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

    // tool_use id → agent id, strongest evidence first; an agent serves one call.
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
    for d in &delegations {
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
    for n in &main.notifications {
        if let (Some(tu), Some(aid)) = (&n.tool_use_id, &n.task_id) {
            if delegations.iter().any(|d| &d.tool_use_id == tu) {
                tie(tu, aid, &mut link);
            }
        }
    }
    // Older layouts carry no ids: the agent's first prompt is the call's prompt.
    for d in &delegations {
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

    if let Some(t) = first_ts {
        let mut f = Map::new();
        f.insert("source".into(), json!("import"));
        em.hook(SESSION_START, t, Cols::default(), f);
    }
    for t in &main.turns {
        let mut f = Map::new();
        f.insert("prompt".into(), json!(cut(&t.text, MAX_TEXT)));
        em.hook(
            PROMPT,
            t.start,
            Cols {
                prompt_id: Some(t.prompt_id.clone()),
                ..Cols::default()
            },
            f,
        );
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
        em.hook(
            end,
            t.end.max(t.start),
            Cols {
                prompt_id: Some(t.prompt_id.clone()),
                ..Cols::default()
            },
            f,
        );
    }

    let notifications: Vec<&Notification> = main.notifications.iter().collect();
    let mut agent_prompt: HashMap<String, Option<String>> = HashMap::new();
    let mut agent_type_of: HashMap<String, String> = HashMap::new();
    let mut emitted: HashSet<String> = HashSet::new();
    for d in &delegations {
        let prompt_id = d.prompt_id.clone().or_else(|| {
            d.caller
                .as_ref()
                .and_then(|c| agent_prompt.get(c).cloned().flatten())
        });
        let caller_type = d
            .caller
            .as_ref()
            .and_then(|c| agent_type_of.get(c).cloned());
        let tu = d.tool_use_id.as_str();
        let input = input_json(&d.input);
        let mut f = Map::new();
        f.insert("tool_input".into(), input.clone());
        let tool_cols = |subject: Option<String>| Cols {
            prompt_id: prompt_id.clone(),
            agent_id: d.caller.clone(),
            agent_type: caller_type.clone(),
            tool_name: Some(d.tool_name.clone()),
            tool_use_id: Some(tu.to_string()),
            subject,
        };
        em.hook(PRE_TOOL, d.ts, tool_cols(None), f);
        // The result events repeat only what identifies the call: the prompt is in PreToolUse.
        let input = {
            let mut short = input;
            if let Value::Object(m) = &mut short {
                m.retain(|k, _| k == "description" || k == "subagent_type");
            }
            short
        };

        let result = results.get(tu).copied();
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
                em.hook(
                    POST_TOOL_FAILURE,
                    result.map_or(d.ts, |r| r.ts),
                    tool_cols(None),
                    f,
                );
            }
            continue;
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
        agent_prompt.insert(aid.clone(), prompt_id.clone());
        agent_type_of.insert(aid.clone(), agent_type.clone());
        emitted.insert(aid.clone());
        let start = rec.and_then(|a| a.lines.first_ts).unwrap_or(d.ts).max(d.ts);
        let agent_cols = || Cols {
            prompt_id: prompt_id.clone(),
            agent_id: Some(aid.clone()),
            agent_type: Some(agent_type.clone()),
            subject: Some(aid.clone()),
            ..Cols::default()
        };
        em.hook(AGENT_START, start, agent_cols(), Map::new());
        let result_ts = result.map(|r| r.ts).unwrap_or(start).max(start);
        let agent_end = rec
            .and_then(|a| a.lines.last_ts)
            .unwrap_or(result_ts)
            .max(start);
        match end {
            Ending::Completed(resp) => {
                let stop_ts = agent_end.min(result_ts);
                em.agent_stop(
                    stop_ts,
                    &aid,
                    &agent_type,
                    rec,
                    resp.report.clone(),
                    prompt_id.clone(),
                );
                if let Some(a) = rec {
                    em.summary(stop_ts, a, prompt_id.clone());
                }
                let mut f = Map::new();
                f.insert("tool_input".into(), input);
                f.insert(
                    "tool_response".into(),
                    resp.json(&aid, &agent_type, "completed"),
                );
                em.hook(POST_TOOL, result_ts, tool_cols(Some(aid.clone())), f);
            }
            Ending::Launched(resp) => {
                let mut f = Map::new();
                f.insert("tool_input".into(), input.clone());
                f.insert(
                    "tool_response".into(),
                    resp.json(&aid, &agent_type, "async_launched"),
                );
                em.hook(POST_TOOL, result_ts, tool_cols(Some(aid.clone())), f);
                let note = notifications.iter().find(|n| {
                    n.task_id.as_deref() == Some(aid.as_str())
                        || n.tool_use_id.as_deref() == Some(tu)
                });
                match note.map(|n| (n, n.status.as_deref().unwrap_or("completed"))) {
                    Some((n, "completed")) => {
                        let ts = rec.and_then(|a| a.lines.last_ts).unwrap_or(n.ts).max(start);
                        em.agent_stop(
                            ts,
                            &aid,
                            &agent_type,
                            rec,
                            n.result.clone(),
                            prompt_id.clone(),
                        );
                        if let Some(a) = rec {
                            em.summary(ts, a, prompt_id.clone());
                        }
                    }
                    Some((n, status)) => {
                        // Failed or stopped in the background: the hooks get no SubagentStop.
                        if let Some(a) = rec {
                            em.summary(agent_end.min(n.ts.max(start)), a, prompt_id.clone());
                        }
                        let interrupt =
                            matches!(status, "killed" | "stopped" | "cancelled" | "canceled");
                        let mut f = Map::new();
                        f.insert("tool_input".into(), input);
                        let why = n
                            .summary
                            .clone()
                            .unwrap_or_else(|| format!("background agent {status}"));
                        f.insert("error".into(), json!(cut(&why, 2000)));
                        f.insert("is_interrupt".into(), json!(interrupt));
                        em.hook(
                            POST_TOOL_FAILURE,
                            n.ts.max(start),
                            tool_cols(Some(aid.clone())),
                            f,
                        );
                    }
                    None => {
                        finish_unreported(em, rec, &aid, &agent_type, agent_end, prompt_id.clone())
                    }
                }
            }
            Ending::Failed { error, interrupt } => {
                if let Some(a) = rec {
                    em.summary(agent_end.min(result_ts), a, prompt_id.clone());
                }
                let mut f = Map::new();
                f.insert("tool_input".into(), input);
                f.insert("error".into(), json!(cut(&error, 2000)));
                f.insert("is_interrupt".into(), json!(interrupt));
                em.hook(
                    POST_TOOL_FAILURE,
                    result_ts,
                    tool_cols(Some(aid.clone())),
                    f,
                );
            }
            Ending::Pending => {
                finish_unreported(em, rec, &aid, &agent_type, agent_end, prompt_id.clone())
            }
        }
    }

    // Agents no call was tied to: internal ones (acompact-*, anonymous forks) and agents whose
    // call is not in what was read. The hooks report both with a SubagentStop.
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
                em.agent_stop(end, &a.id, "", Some(a), None, a.lines.prompt_id.clone());
                em.summary(end, a, a.lines.prompt_id.clone());
            }
        }
    }
}

/// An agent whose end no result or notification reports: stopped if its transcript says it
/// finished, otherwise left running (its tokens still recorded).
fn finish_unreported(
    em: &mut Emitter<'_>,
    rec: Option<&AgentRec>,
    aid: &str,
    agent_type: &str,
    end: i64,
    prompt_id: Option<String>,
) {
    let Some(a) = rec else { return };
    if a.finished() {
        em.agent_stop(end, aid, agent_type, Some(a), None, prompt_id.clone());
    } else if let (true, Some(tu)) = (
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

// ── writing ───────────────────────────────────────────────────────────────────────────────────

/// A stable key for "this event was emitted before": FNV-1a (std's hasher may change between
/// Rust releases; these keys are stored).
fn event_key(e: &Ev) -> u64 {
    let o = |s: &Option<String>| s.as_deref().unwrap_or("").as_bytes().to_vec();
    let ev = &e.event;
    crate::util::fnv1a_parts(&[
        ev.kind.as_bytes(),
        &o(&ev.prompt_id),
        &o(&ev.agent_id),
        &o(&ev.tool_use_id),
        &o(&e.subject),
        &ev.ts.to_le_bytes(),
    ])
}

#[derive(Default)]
struct Writer {
    /// Agent ids already checked for "existed before this import".
    seen: HashSet<String>,
    updated: i64,
}

impl Writer {
    fn write(&mut self, store: &Store, batch: Vec<ParsedUnit>, out: &mut Outcome) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        store.write_tx(|s| {
            for u in batch {
                self.write_unit(s, u, out)?;
            }
            Ok(())
        })
    }

    fn write_unit(&mut self, s: &Store, u: ParsedUnit, out: &mut Outcome) -> Result<()> {
        out.absorb(u.stats);
        if u.filtered {
            out.sessions_filtered += 1;
            return Ok(());
        }
        out.sessions_imported += 1;
        let c = s.conn();
        let mut keys: HashSet<u64> = c
            .query_row(
                "SELECT event_keys FROM import_sessions WHERE session_id = ?1",
                [&u.session_id],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()?
            .map(|b| {
                b.chunks_exact(8)
                    .map(|k| u64::from_le_bytes(k.try_into().expect("8 bytes")))
                    .collect()
            })
            .unwrap_or_default();
        for e in &u.events {
            if !keys.insert(event_key(e)) {
                out.events_already_imported += 1;
                continue;
            }
            s.append_event(&e.event.new_event())?;
            out.events_added += 1;
            if let Some(a) = &e.subject {
                if self.seen.insert(a.clone()) {
                    let existed: bool = c
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM agent_runs WHERE agent_id = ?1 AND internal = 0)")?
                        .query_row([a], |r| r.get(0))?;
                    self.updated += i64::from(existed);
                }
            }
        }
        s.upsert_usage(&u.usage)?;
        out.usage_rows += u.usage.len() as u64;
        if let Some((path, offset, prompt)) = &u.cursor {
            // Hooks read main transcripts from this cursor at Stop: no need to read again.
            if s.transcript_cursor(path)?.is_none_or(|(o, _)| o < *offset) {
                s.set_transcript_cursor(path, *offset, prompt.as_deref())?;
            }
        }
        let mut sorted: Vec<u64> = keys.into_iter().collect();
        sorted.sort_unstable();
        let blob: Vec<u8> = sorted.iter().flat_map(|k| k.to_le_bytes()).collect();
        let now = crate::store::now_ms();
        c.prepare_cached(
            "INSERT INTO import_sessions (session_id, events, event_keys, imported_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (session_id) DO UPDATE SET events = excluded.events, event_keys = excluded.event_keys,
               imported_at = excluded.imported_at",
        )?
        .execute(params![u.session_id, sorted.len() as i64, blob, now])?;
        for f in &u.files {
            c.prepare_cached(
                "INSERT INTO import_files (path, session_id, size, mtime_ms, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (path) DO UPDATE SET session_id = excluded.session_id, size = excluded.size,
                   mtime_ms = excluded.mtime_ms, imported_at = excluded.imported_at",
            )?
            .execute(params![f.path_key(), u.session_id, f.size as i64, f.mtime_ms, now])?;
        }
        Ok(())
    }
}

// ── progress ──────────────────────────────────────────────────────────────────────────────────

struct Progress {
    on: bool,
    sessions: usize,
    done: usize,
    bytes_total: u64,
    bytes: u64,
    last: Instant,
    started: Instant,
}

impl Progress {
    fn new(wanted: bool, sessions: usize, bytes_total: u64) -> Progress {
        let on = wanted && std::io::stderr().is_terminal();
        Progress {
            on,
            sessions,
            done: 0,
            bytes_total,
            bytes: 0,
            last: Instant::now(),
            started: Instant::now(),
        }
    }
    fn advance(&mut self, bytes: u64) {
        self.done += 1;
        self.bytes += bytes;
        if self.on && self.last.elapsed() > Duration::from_millis(250) {
            self.last = Instant::now();
            let mb = self.bytes as f64 / 1e6;
            let rate = mb / self.started.elapsed().as_secs_f64().max(1e-3);
            eprint!(
                "\r\x1b[Kimporting: {}/{} sessions, {:.0}/{:.0} MB ({:.0} MB/s)",
                self.done,
                self.sessions,
                mb,
                self.bytes_total as f64 / 1e6,
                rate
            );
            let _ = std::io::stderr().flush();
        }
    }
    fn deriving(&mut self) {
        if self.on && self.started.elapsed() > Duration::from_millis(250) {
            eprint!("\r\x1b[Kimporting: deriving agent runs…");
            let _ = std::io::stderr().flush();
        }
    }
    fn done(&mut self) {
        if self.on {
            eprint!("\r\x1b[K");
            let _ = std::io::stderr().flush();
        }
    }
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

    #[test]
    fn project_dir_names_match_claude_codes() {
        assert_eq!(project_dir_name("/home/dev/proj"), "-home-dev-proj");
        assert_eq!(
            project_dir_name("/home/dev/my_app.v2"),
            "-home-dev-my-app-v2"
        );
    }

    #[test]
    fn event_keys_are_stable() {
        // Stored in the database: a change here makes the next import append duplicates.
        let e = Ev {
            rank: AGENT_STOP.1,
            seq: 1,
            event: StoredEvent {
                ts: 1_700_000_000_000,
                source: Source::Import.as_str(),
                kind: AGENT_STOP.0.as_str().into(),
                session_id: Some("s".into()),
                prompt_id: Some("p1".into()),
                agent_id: Some("a1".into()),
                agent_type: Some("t".into()),
                tool_name: None,
                tool_use_id: None,
                payload: "{}".into(),
                transcript_path: None,
                agent_transcript_path: None,
            },
            subject: Some("a1".into()),
        };
        assert_eq!(event_key(&e), 0xdf09_3ebc_d3ca_87cd);
    }
}
