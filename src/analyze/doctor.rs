//! `analyze doctor`: the first thing to run when numbers look wrong. Where the database is and
//! what state it is in, which hooks are registered where (and whether their binaries exist),
//! when each hook kind last fired, what is waiting in quarantine and the spool, and the last
//! lines of the hook log.
//!
//! It never creates or migrates anything unless asked (`--init`): the database is opened
//! read-only, the projection is not refreshed, the spool is not replayed.
//! Exit 0 when healthy, 1 when something needs attention (each problem is a `warning:` line
//! and an entry of `warnings` in JSON), 2 when doctor itself fails (or `--init` cannot create).
//!
//! `--coverage` is another question, answered by [`super::coverage`]: are the runs in Claude
//! Code's transcripts recorded? It shows the last answer here.

use crate::error::Result;
use crate::paths;
use crate::render::{self, Format, Grid, Report};
use crate::settings;
use crate::store::{schema, Store};
use crate::vocab::EventKind;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Arguments of `analyze doctor`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DoctorArgs {
    /// Create the database (private directory 0700, file 0600) when missing and bring an older
    /// schema up to date, then report. install.sh runs this.
    #[arg(long)]
    pub init: bool,
    /// How many lines of the hook log to show.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub log_lines: usize,
    /// Check every page of the database for damage (SQLite's quick_check), however large it is.
    /// Without it, databases up to 256 MB are checked.
    #[arg(long)]
    pub integrity: bool,
    /// Salvage a damaged database: copy what SQLite can still read of the event log and the
    /// other source tables into a new database, keep the damaged file beside it, put the new one
    /// in its place (every report is re-derived; spooled payloads are replayed).
    #[arg(long, conflicts_with_all = ["init", "coverage"])]
    pub recover: bool,
    /// Instead of the health report: compare the runs recorded with the runs in Claude Code's
    /// transcripts of the window (--days N, default 7; --since/--until/--project/--session/--agent
    /// narrow it) and report coverage and every run missing or recorded differently.
    #[arg(long)]
    pub coverage: bool,
    /// With --coverage: import the sessions with a missing or wrong run from their transcripts,
    /// then check again.
    #[arg(long, requires = "coverage")]
    pub fix: bool,
    /// With --coverage: Claude Code config directory holding projects/ (repeatable; default as for
    /// `analyze import`: $CLAUDE_CONFIG_DIR, else ~/.claude and ~/.config/claude).
    #[arg(long, value_name = "DIR", requires = "coverage")]
    pub claude_dir: Vec<PathBuf>,
}

/// Databases up to this size get SQLite's `quick_check` on every `doctor` (a second or less).
const QUICK_CHECK_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The hook event kinds Claude Code sends us: always listed, "never" when absent.
pub const HOOK_KINDS: [EventKind; 10] = [
    EventKind::SessionStart,
    EventKind::UserPromptSubmit,
    EventKind::PreToolUse,
    EventKind::SubagentStart,
    EventKind::SubagentStop,
    EventKind::PostToolUse,
    EventKind::PostToolUseFailure,
    EventKind::Stop,
    EventKind::StopFailure,
    EventKind::SessionEnd,
];

/// Everything doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Doctor {
    pub database: DbInfo,
    pub hook_log: LogInfo,
    pub hooks: settings::Status,
    /// Per event kind: how many, the newest event time and when the newest was stored.
    pub last_fired: Vec<KindRow>,
    pub counts: Counts,
    /// The last `analyze doctor --coverage` check; None when there has been none.
    pub coverage: Option<super::coverage::LastCheck>,
    /// Space per kind of data, the oldest raw event, retention (docs/retention.md).
    pub storage: Option<crate::retention::Storage>,
    /// `AGENT_TELEMETRY_DISABLED` as set in this environment (hooks record nothing when it is 1/true).
    pub disabled: Option<String>,
    /// Problems that need attention (exit 1).
    pub warnings: Vec<String>,
    /// Worth knowing, not a problem.
    pub notes: Vec<String>,
    pub healthy: bool,
}

/// The database file and its directory.
#[derive(Debug, Clone, Serialize)]
pub struct DbInfo {
    pub path: PathBuf,
    pub exists: bool,
    pub size_bytes: Option<u64>,
    pub wal_bytes: Option<u64>,
    /// `PRAGMA user_version`; `None` when it could not be read.
    pub schema_version: Option<i64>,
    pub supported_schema_version: i64,
    pub dir: PathBuf,
    /// Octal, e.g. `"0700"`.
    pub dir_mode: Option<String>,
    pub file_mode: Option<String>,
    /// Created by this run (`--init`).
    pub created: bool,
}

/// The hook error log.
#[derive(Debug, Clone, Serialize)]
pub struct LogInfo {
    pub path: PathBuf,
    pub exists: bool,
    pub size_bytes: Option<u64>,
    pub modified_ms: Option<i64>,
    pub last_lines: Vec<String>,
}

/// One event kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindRow {
    pub kind: String,
    pub events: i64,
    /// Newest event time (unix ms), from the payload or the hook's clock.
    pub last_ts: Option<i64>,
    /// When the newest event was stored (unix ms): when the hook last ran.
    pub last_recorded_at: Option<i64>,
}

/// Row counts. `None`: not readable (no database yet, or an old schema without the table).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub events: Option<i64>,
    pub agent_runs: Option<i64>,
    /// Events stored but not yet derived into agent runs (any `analyze` report derives them).
    pub underived_events: Option<i64>,
    pub quarantined: Option<i64>,
    /// Payloads waiting in the spool files beside the database / in the fallback spool
    /// (live, pending, claimed and abandoned files alike: every line not replayed yet).
    pub spooled: u64,
    pub spooled_fallback: u64,
    pub spool_path: PathBuf,
    pub fallback_spool_path: PathBuf,
    /// Every spool file, with its state and line count.
    pub spool_files: Vec<SpoolFileInfo>,
}

/// One spool file (docs/architecture.md, "The spool").
#[derive(Debug, Clone, Serialize)]
pub struct SpoolFileInfo {
    pub path: PathBuf,
    /// live | pending | claimed | abandoned.
    pub state: crate::store::FileState,
    pub lines: u64,
}

/// Runs `analyze doctor`; `Ok(false)` (exit 1) = something needs attention.
pub fn run(
    db: Option<&Path>,
    filter: &super::Filter,
    args: &DoctorArgs,
    format: Format,
) -> Result<bool> {
    let path = paths::db_path(db);
    if args.recover {
        let r = super::recover::recover(&path)?;
        render::print(&r, format)?;
        return Ok(true);
    }
    let mut created = false;
    if args.init {
        created = !path.exists()
            || std::fs::metadata(&path)
                .map(|m| m.len() == 0)
                .unwrap_or(false);
        Store::create(&path)?;
    }
    if args.coverage {
        let c = super::coverage::CoverageArgs {
            claude_dir: args.claude_dir.clone(),
            fix: args.fix,
        };
        return super::coverage::run(db, filter, &c, format);
    }
    let project = match &filter.project {
        Some(p) => std::path::absolute(p)?,
        None => std::env::current_dir()?,
    };
    let mut d = inspect(&path, &project, args, super::now());
    d.database.created = created;
    render::print(&d, format)?;
    if !d.healthy && format == Format::Table {
        eprintln!(
            "analyze: doctor found {} thing(s) that need attention",
            d.warnings.len()
        );
    }
    Ok(d.healthy)
}

/// Gathers the report for the database at `path` and the settings of `project`.
#[allow(clippy::too_many_lines)] // one check after another, in the order the report prints them
pub fn inspect(path: &Path, project: &Path, args: &DoctorArgs, now: i64) -> Doctor {
    let log_lines = args.log_lines;
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let dir = paths::dir_of(path);
    let meta = std::fs::metadata(path).ok();
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    };
    let (dir_mode, file_mode) = (mode(&dir), mode(path));
    let mut database = DbInfo {
        path: path.to_path_buf(),
        exists: meta.is_some(),
        size_bytes: meta.as_ref().map(|m| m.len()),
        wal_bytes: std::fs::metadata(paths::with_suffix(path, "-wal"))
            .ok()
            .map(|m| m.len()),
        schema_version: None,
        supported_schema_version: schema::CURRENT_VERSION,
        dir: dir.clone(),
        dir_mode: dir_mode.map(|m| format!("{m:04o}")),
        file_mode: file_mode.map(|m| format!("{m:04o}")),
        created: false,
    };
    if let Some(m) = dir_mode.filter(|m| m & 0o077 != 0) {
        warnings.push(format!(
            "{} has mode {m:04o}; expected 0700 (prompts and paths are private): chmod 700 '{}'",
            dir.display(),
            dir.display()
        ));
    }
    if let Some(m) = file_mode.filter(|m| m & 0o077 != 0) {
        warnings.push(format!(
            "{} has mode {m:04o}; expected 0600: chmod 600 '{}'",
            path.display(),
            path.display()
        ));
    }

    let mut counts = Counts {
        spool_path: paths::spool_path(path),
        fallback_spool_path: paths::fallback_spool_path(path),
        ..Counts::default()
    };
    for (spool, total) in [
        (counts.spool_path.clone(), &mut counts.spooled),
        (
            counts.fallback_spool_path.clone(),
            &mut counts.spooled_fallback,
        ),
    ] {
        for f in crate::store::spool_files(&spool) {
            let lines = crate::store::count_spool_lines(std::slice::from_ref(&f));
            *total += lines;
            counts.spool_files.push(SpoolFileInfo {
                path: f.path,
                state: f.state,
                lines,
            });
        }
    }

    let mut last_fired: Vec<KindRow> = Vec::new();
    // Why the spool cannot be replayed now, when it cannot.
    let mut blocked: Option<String> = None;
    let mut coverage = None;
    let mut storage = None;
    if !database.exists {
        warnings.push(format!(
            "no database at {} yet: hooks create it on their first event; `analyze doctor --init` or ./install.sh creates it now",
            path.display()
        ));
    } else {
        let check = args.integrity || database.size_bytes.unwrap_or(0) <= QUICK_CHECK_MAX_BYTES;
        // Reading a WAL-mode file creates its -wal/-shm: beside a database we refuse (another
        // application's, or a newer schema's) leave none that were not there. (Never beside
        // ours: a hook may have opened it meanwhile.)
        let siblings: Vec<PathBuf> = ["-wal", "-shm"]
            .iter()
            .map(|x| paths::with_suffix(path, x))
            .filter(|p| !p.exists())
            .collect();
        let read = read_db(path, check);
        let refused = read
            .as_ref()
            .is_ok_and(|r| r.foreign || r.version > schema::CURRENT_VERSION);
        if refused {
            for p in &siblings {
                let _ = std::fs::remove_file(p);
            }
        }
        match read {
            Ok(r) => {
                database.schema_version = Some(r.version);
                match r.version {
                    0 if !r.foreign => notes.push("the database is empty (no schema yet): the first hook or `analyze doctor --init` sets it up".into()),
                    v if v > schema::CURRENT_VERSION => {
                        blocked = Some("has a newer schema than this build (upgrade agent-telemetry)".into());
                        warnings.push(format!(
                            "the database has schema version {v}, newer than this build ({}): hooks refuse to write to it; upgrade agent-telemetry",
                            schema::CURRENT_VERSION
                        ))
                    }
                    v if v < schema::CURRENT_VERSION => notes.push(format!(
                        "schema version {v} will be upgraded to {} by the next hook or analyze command",
                        schema::CURRENT_VERSION
                    )),
                    _ => {}
                }
                last_fired = r.kinds;
                counts.events = r.events;
                counts.agent_runs = r.agent_runs;
                counts.underived_events = r.underived;
                counts.quarantined = r.quarantined;
                if r.corrupt {
                    blocked = Some("is damaged".into());
                    warnings.push(recovery_advice(path));
                }
                if r.foreign {
                    blocked = Some("belongs to another application".into());
                }
                coverage = r.coverage;
                storage = r.storage;
                warnings.extend(r.errors);
            }
            Err(e) => {
                if crate::error::is_corrupt(&e) {
                    blocked = Some("is damaged".into());
                    warnings.push(recovery_advice(path));
                } else {
                    blocked = Some(format!("cannot be opened ({e})"));
                }
                warnings.push(format!("cannot read {}: {e}", path.display()))
            }
        }
    }
    for k in HOOK_KINDS {
        if !last_fired.iter().any(|r| r.kind == k.as_str()) {
            last_fired.push(KindRow {
                kind: k.to_string(),
                events: 0,
                last_ts: None,
                last_recorded_at: None,
            });
        }
    }
    // Claude Code's own kinds first, in the order they fire, then our generic ones by name.
    let rank = |k: &str| {
        HOOK_KINDS
            .iter()
            .position(|h| h.as_str() == k)
            .unwrap_or(HOOK_KINDS.len())
    };
    last_fired.sort_by(|a, b| {
        rank(&a.kind)
            .cmp(&rank(&b.kind))
            .then_with(|| a.kind.cmp(&b.kind))
    });

    if counts.events == Some(0) {
        notes.push("no events recorded yet: the hooks have not fired since the database was created (use Claude Code as usual)".into());
    }
    if let Some(n) = counts.underived_events.filter(|n| *n > 0) {
        notes.push(format!(
            "{n} event(s) not derived into agent runs yet: any analyze report derives them"
        ));
    }
    if let Some(n) = counts.quarantined.filter(|n| *n > 0) {
        notes.push(format!("{n} payload(s) quarantined (kept with their bytes in the quarantine table): payloads we could not parse"));
    }
    let waiting = counts.spooled + counts.spooled_fallback;
    if waiting > 0 {
        let abandoned = counts
            .spool_files
            .iter()
            .filter(|f| f.state == crate::store::FileState::Abandoned)
            .count();
        let mut what = format!(
            "{waiting} payload(s) wait in {} spool file(s) beside the database{} (the database was busy, full, damaged or unwritable when hooks ran)",
            counts.spool_files.len(),
            if counts.spooled_fallback > 0 {
                format!(
                    " and in the fallback spool ({} of them, in {}: the data directory was not writable)",
                    counts.spooled_fallback,
                    crate::paths::dir_of(&counts.fallback_spool_path).display()
                )
            } else {
                String::new()
            }
        );
        if abandoned > 0 {
            what.push_str(&format!(
                "; {abandoned} file(s) were left by a replayer that stopped"
            ));
        }
        match &blocked {
            Some(why) => warnings.push(format!(
                "{what}. They cannot be replayed while the database {why}; once it is fixed (or moved aside, so the next hook creates a new one) the next analyze command replays each of them exactly once"
            )),
            None if !database.exists => notes.push(format!(
                "{what}: the first hook or analyze command after the database is created replays them, each exactly once"
            )),
            None => warnings.push(format!(
                "{what}: the next analyze command (any report) replays them, each exactly once"
            )),
        }
    }

    if let Some(c) = coverage.as_ref().filter(|c| c.problems() > 0) {
        warnings.push(format!(
            "the last coverage check ({}) found {} run(s) in the transcripts missing or recorded differently: `analyze doctor --coverage --fix` imports them",
            c.checked_at,
            c.problems()
        ));
    }

    let hook_log = read_log(&paths::log_path(path), log_lines);
    if let Some(m) = hook_log
        .modified_ms
        .filter(|m| now - *m < 86_400_000 && !hook_log.last_lines.is_empty())
    {
        warnings.push(format!(
            "the hook log {} was written in the last 24 hours ({}): see its last lines",
            hook_log.path.display(),
            crate::timeparse::format_ms(m)
        ));
    }

    let hooks = settings::status(project);
    if !hooks.missing.is_empty() {
        let list: Vec<String> = hooks.missing.iter().map(|r| r.to_string()).collect();
        warnings.push(format!(
            "{} of {} hooks are registered nowhere (run ./install.sh or `analyze hooks install`): {}",
            hooks.missing.len(),
            settings::REGISTRATIONS.len(),
            list.join("; ")
        ));
    }
    warnings.extend(hooks.warnings.iter().cloned());

    let disabled = std::env::var("AGENT_TELEMETRY_DISABLED").ok();
    match disabled.as_deref() {
        Some("1") | Some("true") => {
            warnings.push("AGENT_TELEMETRY_DISABLED is set in this environment: hooks started from it record nothing".into())
        }
        Some(v) => notes.push(format!("AGENT_TELEMETRY_DISABLED={v:?} is set but ignored (only 1 or true disable the hooks)")),
        None => {}
    }

    let healthy = warnings.is_empty();
    Doctor {
        database,
        hook_log,
        hooks,
        last_fired,
        counts,
        coverage,
        storage,
        disabled,
        warnings,
        notes,
        healthy,
    }
}

/// What to do about a damaged database file.
fn recovery_advice(path: &Path) -> String {
    let p = path.display();
    format!(
        "{p} is damaged. `analyze doctor --recover` copies what SQLite can still read into a new \
         database, keeps the damaged file beside it and puts the new one in its place (hooks spool \
         what arrives meanwhile; the next analyze command replays it). For a page-level salvage \
         with SQLite 3.44 or newer: sqlite3 '{p}' '.recover' | sqlite3 '{p}.recovered'"
    )
}

fn read_log(path: &Path, n: usize) -> LogInfo {
    let meta = std::fs::metadata(path).ok();
    let mut last_lines = Vec::new();
    if meta.is_some() && n > 0 {
        if let Ok(bytes) = std::fs::read(path) {
            // The log is capped at 1 MiB; the tail is all we need.
            let tail = &bytes[bytes.len().saturating_sub(64 * 1024)..];
            let text = String::from_utf8_lossy(tail);
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            last_lines = lines[lines.len().saturating_sub(n)..]
                .iter()
                .map(|l| l.to_string())
                .collect();
        }
    }
    LogInfo {
        path: path.to_path_buf(),
        exists: meta.is_some(),
        size_bytes: meta.as_ref().map(|m| m.len()),
        modified_ms: meta
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64),
        last_lines,
    }
}

struct DbRead {
    version: i64,
    kinds: Vec<KindRow>,
    events: Option<i64>,
    agent_runs: Option<i64>,
    underived: Option<i64>,
    quarantined: Option<i64>,
    coverage: Option<super::coverage::LastCheck>,
    storage: Option<crate::retention::Storage>,
    errors: Vec<String>,
    /// A read failed with SQLITE_CORRUPT / NOTADB, or `PRAGMA quick_check` found damage.
    corrupt: bool,
    /// Another application's database.
    foreign: bool,
}

/// Reads without changing anything: read-only, no migration, no derive.
fn read_db(path: &Path, integrity: bool) -> rusqlite::Result<DbRead> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(2))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let mut out = DbRead {
        version,
        kinds: Vec::new(),
        events: None,
        agent_runs: None,
        underived: None,
        quarantined: None,
        coverage: None,
        storage: None,
        errors: Vec::new(),
        corrupt: false,
        foreign: false,
    };
    if app != 0 && app != schema::APPLICATION_ID {
        out.foreign = true;
        out.errors.push(format!(
            "{} is not an agent-telemetry database (application_id {app:#x})",
            path.display()
        ));
        return Ok(out);
    }
    if version == 0 {
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables > 0 {
            out.foreign = true;
            out.errors.push(format!(
                "{} is not an agent-telemetry database: it holds tables of another application",
                path.display()
            ));
        }
        return Ok(out);
    }
    let corrupt = std::cell::Cell::new(false);
    let count = |sql: &str| -> Option<i64> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| corrupt.set(corrupt.get() || crate::error::is_corrupt(&e)))
            .ok()
    };
    out.events = count("SELECT count(*) FROM events");
    out.agent_runs = count("SELECT count(*) FROM agent_runs WHERE internal = 0");
    out.quarantined = count("SELECT count(*) FROM quarantine");
    out.coverage = super::coverage::last_check(&conn);
    if version >= 10 {
        let days = crate::config::Config::load(path)
            .ok()
            .and_then(|c| c.retention_days);
        out.storage = crate::retention::storage(&conn, days).ok();
    }
    out.underived = count(
        "SELECT count(*) FROM events WHERE id > coalesce((SELECT value FROM derive_state WHERE key = 'events'), 0)",
    );
    let kinds = (|| -> rusqlite::Result<Vec<KindRow>> {
        let mut stmt = conn.prepare(
            "SELECT kind, count(*), max(ts), max(recorded_at) FROM events GROUP BY kind",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(KindRow {
                kind: r.get(0)?,
                events: r.get(1)?,
                last_ts: r.get(2)?,
                last_recorded_at: r.get(3)?,
            })
        })?;
        rows.collect()
    })();
    match kinds {
        Ok(k) => out.kinds = k,
        Err(e) => {
            corrupt.set(corrupt.get() || crate::error::is_corrupt(&e));
            out.errors
                .push(format!("cannot read the events of {}: {e}", path.display()))
        }
    }
    // The counts above read every page of the largest tables; quick_check looks at the rest
    // (the projections, the indexes) — bounded to its first 10 findings.
    let check: rusqlite::Result<Vec<String>> = if integrity {
        conn.prepare("PRAGMA quick_check(10)")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
    } else {
        Ok(Vec::new())
    };
    match check {
        Ok(found) if found.iter().any(|f| f != "ok") => {
            corrupt.set(true);
            out.errors.push(format!(
                "integrity check of {}: {}",
                path.display(),
                found.join("; ")
            ));
        }
        Ok(_) => {}
        Err(e) => corrupt.set(corrupt.get() || crate::error::is_corrupt(&e)),
    }
    out.corrupt = corrupt.get();
    Ok(out)
}

/// Space per kind of data, the oldest raw event and retention (docs/retention.md).
fn storage_grid(st: &crate::retention::Storage) -> Grid {
    let mut g = Grid::new(&["data", "size"]).titled("Storage");
    for k in &st.kinds {
        g.rows.push(vec![k.kind.into(), render::bytes(k.bytes)]);
    }
    g.rows
        .push(vec!["free pages".into(), render::bytes(st.free_bytes)]);
    g.rows.push(vec![
        "oldest raw event".into(),
        time_cell(st.oldest_event_ms),
    ]);
    g.rows.push(vec![
        "raw payloads compressed".into(),
        format!(
            "{} of {} events (derived ones, once {} wait)",
            render::int(st.compressed_events),
            render::int(st.events),
            render::int(crate::store::packed::AUTO_BACKLOG)
        ),
    ]);
    g.rows.push(vec![
        "retention".into(),
        st.retention_days.map_or_else(
            || "keep everything (config.json retention_days unset)".into(),
            |d| format!("{d} days (automatic, at most daily)"),
        ),
    ]);
    g.rows.push(vec![
        "sessions pruned".into(),
        render::int(st.pruned_sessions),
    ]);
    g.rows.push(vec![
        "last prune".into(),
        st.last_prune.as_ref().map_or_else(
            || "never".into(),
            |p| {
                format!(
                    "{} ({}): {} events of {} sessions older than {}, vacuum {}",
                    render::timestamp(p.pruned_ms),
                    if p.automatic {
                        "automatic"
                    } else {
                        "analyze prune"
                    },
                    render::int(p.events),
                    render::int(p.sessions),
                    render::timestamp(p.cutoff_ms),
                    p.vacuum
                )
            },
        ),
    ]);
    g
}

fn time_cell(ms: Option<i64>) -> String {
    ms.map(crate::timeparse::format_ms)
        .unwrap_or_else(|| "never".into())
}

fn opt_int(n: Option<i64>) -> String {
    n.map(render::int).unwrap_or_else(|| "-".into())
}

impl Report for Doctor {
    fn command(&self) -> &'static str {
        "doctor"
    }

    fn json(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(v) => v,
            Err(e) => json!({"error": e.to_string()}),
        }
    }

    #[allow(clippy::too_many_lines)] // one table per section, in the order they print
    fn grids(&self) -> Vec<Grid> {
        let db = &self.database;
        let mut g = Grid::new(&["item", "value"]).titled("Database");
        let size = match (db.size_bytes, db.wal_bytes) {
            (Some(s), Some(w)) => format!(
                "{} bytes (+ {} bytes of WAL)",
                render::int(s as i64),
                render::int(w as i64)
            ),
            (Some(s), None) => format!("{} bytes", render::int(s as i64)),
            _ => "-".into(),
        };
        let schema = match db.schema_version {
            Some(v) => format!("{v} (this build: {})", db.supported_schema_version),
            None => format!("- (this build: {})", db.supported_schema_version),
        };
        let exists = match (db.exists, db.created) {
            (true, true) => "yes (created now)",
            (true, false) => "yes",
            _ => "no",
        };
        let log = &self.hook_log;
        let log_state = if log.exists {
            format!(
                "{} ({} bytes)",
                log.path.display(),
                render::int(log.size_bytes.unwrap_or(0) as i64)
            )
        } else {
            format!("{} (none: no hook errors)", log.path.display())
        };
        let rows: Vec<(&str, String)> = vec![
            ("database", db.path.display().to_string()),
            ("exists", exists.to_string()),
            ("size", size),
            ("schema version", schema),
            (
                "directory mode",
                db.dir_mode.clone().unwrap_or_else(|| "-".into()),
            ),
            (
                "file mode",
                db.file_mode.clone().unwrap_or_else(|| "-".into()),
            ),
            ("hook log", log_state),
            (
                "coverage",
                self.coverage
                    .as_ref()
                    .map(|c| c.summary.clone())
                    .unwrap_or_else(|| "never checked (analyze doctor --coverage)".into()),
            ),
            (
                "AGENT_TELEMETRY_DISABLED",
                self.disabled.clone().unwrap_or_else(|| "not set".into()),
            ),
        ];
        g.rows = rows
            .into_iter()
            .map(|(k, v)| vec![k.to_string(), v])
            .collect();

        let mut h =
            Grid::new(&["where", "event", "matcher", "command", "ok"]).titled("Hook registrations");
        for f in &self.hooks.files {
            let place = format!("{} {}", f.scope, f.path.display());
            if f.hooks.is_empty() {
                let state = if !f.exists {
                    "(no file)"
                } else if f.error.is_some() {
                    "(unreadable)"
                } else {
                    "(none of ours)"
                };
                h.rows.push(vec![
                    place.clone(),
                    "-".into(),
                    "-".into(),
                    state.into(),
                    "-".into(),
                ]);
            }
            for hk in &f.hooks {
                h.rows.push(vec![
                    place.clone(),
                    hk.event.clone(),
                    hk.matcher.clone().unwrap_or_else(|| "(none)".into()),
                    hk.command.clone(),
                    if hk.executable {
                        "yes"
                    } else {
                        "MISSING BINARY"
                    }
                    .into(),
                ]);
            }
        }
        let p = &self.hooks.plugin;
        if !p.installed.is_empty() || !p.enabled_in.is_empty() {
            let place = format!(
                "plugin {}{}",
                p.installed
                    .first()
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|| "(not found)".into()),
                if p.enabled_in.is_empty() {
                    " (not enabled)"
                } else {
                    ""
                }
            );
            if p.hooks.is_empty() {
                h.rows.push(vec![
                    place.clone(),
                    "-".into(),
                    "-".into(),
                    "(hooks/hooks.json not read)".into(),
                    "-".into(),
                ]);
            }
            for hk in &p.hooks {
                h.rows.push(vec![
                    place.clone(),
                    hk.event.clone(),
                    hk.matcher.clone().unwrap_or_else(|| "(none)".into()),
                    hk.command.clone(),
                    if hk.executable {
                        "yes"
                    } else {
                        "MISSING BINARY"
                    }
                    .into(),
                ]);
            }
        }
        for r in &self.hooks.missing {
            h.rows.push(vec![
                "nowhere".into(),
                r.event.into(),
                r.matcher.into(),
                r.binary.into(),
                "NOT REGISTERED".into(),
            ]);
        }

        let mut k = Grid::new(&["event kind", "events", "last event", "last recorded"])
            .titled("Last fired")
            .numeric(&[1]);
        k.rows = self
            .last_fired
            .iter()
            .map(|r| {
                vec![
                    r.kind.clone(),
                    render::int(r.events),
                    time_cell(r.last_ts),
                    time_cell(r.last_recorded_at),
                ]
            })
            .collect();

        let c = &self.counts;
        let mut n = Grid::new(&["what", "count"]).titled("Counts").numeric(&[1]);
        n.rows = vec![
            vec!["events".into(), opt_int(c.events)],
            vec!["agent runs".into(), opt_int(c.agent_runs)],
            vec!["events not derived yet".into(), opt_int(c.underived_events)],
            vec!["quarantined payloads".into(), opt_int(c.quarantined)],
            vec![
                format!("spooled ({})", c.spool_path.display()),
                render::int(c.spooled as i64),
            ],
            vec![
                format!("spooled, fallback ({})", c.fallback_spool_path.display()),
                render::int(c.spooled_fallback as i64),
            ],
        ];
        let mut out = vec![g, h, k, n];
        if let Some(st) = &self.storage {
            out.push(storage_grid(st));
        }
        out
    }

    fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.hook_log.last_lines.is_empty() {
            out.push(format!("Last lines of {}:", self.hook_log.path.display()));
            out.extend(self.hook_log.last_lines.iter().map(|l| format!("  {l}")));
            out.push(String::new());
        }
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        out.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        out.push(if self.healthy {
            "healthy: nothing needs attention".to_string()
        } else {
            format!("needs attention: {} warning(s) above", self.warnings.len())
        });
        out
    }
}
