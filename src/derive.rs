//! The projection: agent runs, workflows, sessions and rollups, derived from the event log.
//!
//! Incremental: a cursor (`derive_state.events`) remembers the last event applied, so a reader
//! applies only what the hooks appended since. `rebuild` clears the projections and replays
//! the whole log — run it after changing category or complexity rules. Sessions whose events
//! retention pruned keep their projection through it ([`crate::retention::keep_pruned`]).
//!
//! Claude Code's hooks are not reliable pairs (docs/claude-code-integration.md §1), so each rule
//! below is written to converge whatever order and multiplicity the events arrive in.

use crate::classify;
use crate::config::Config;
use crate::error::Result;
use crate::pricing::Prices;
use crate::store::Store;
use crate::transcript::Summary;
use crate::util::truncate;
use crate::vocab::{self, EventKind, RunStatus, Source};
use crate::wire::{self, WireAgentInput, WireAgentMeta, WireAgentResponse};
use rusqlite::{params, OptionalExtension, Row};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Events read per query inside a derivation transaction.
const PAGE: i64 = 1_000;
/// The same for a refresh with a deadline: a page of [`PAGE`] events can take longer than a
/// status line's whole budget.
const SMALL_PAGE: i64 = 50;
/// Above this many new events a refresh tunes the connection for bulk reading.
const BULK: i64 = 20_000;
/// How long one derivation transaction may hold the write lock. Hooks wait at most ~100 ms for
/// it (then spool): transactions this short, with a pause between them, let them in.
const TX_TIME: std::time::Duration = std::time::Duration::from_millis(10);
/// The pause between two derivation transactions, for waiting hooks to take the lock.
const YIELD: std::time::Duration = std::time::Duration::from_millis(1);

/// The version of the rules below. A database derived under older rules is re-derived from its
/// log by the next reader (the log is the truth; the projection is a cache of these rules).
/// 2: turns keep their background notifications, StopFailure, remote agents, Agent input and
/// result fields of Claude Code 2.1.332.
/// 3: a run's end and a turn's end by the precedence of their sources, whatever order the hooks
/// committed in (`agent_runs.ended_by`: the source of the end).
/// (The guard's `guard_denied` events came with rules 3 unchanged: no earlier release wrote one,
/// so no projection derived before can lack what they say.)
/// 4: what a run achieved (schema version 10): test results, files, failed commands, tool time,
/// custom metrics and the host's resource readings.
pub const RULES: i64 = 4;

/// Undoes a session end's cancellation of run `?1`, before a hook's own word on its end (a
/// SubagentStop, the Agent tool's result or failure, a StopFailure) is applied: that word wins
/// whichever committed first.
const REOPEN_SESSION_ENDED: &str =
    "UPDATE OR FAIL agent_runs SET duration_ms = NULL, end_ms = NULL, error = NULL, status = 'running', ended_by = NULL
     WHERE id = ?1 AND ended_by = 'session_end'";
/// Run ?1 leaves delegation ?2, to which a SubagentStart (no tool_use_id) was matched by guess:
/// the failure it took from ?2 was ?2's agent's, so it is undone (a stop or a timed result it
/// had of its own stays its end).
const UNDO_DELEGATION_FAILURE: &str = "UPDATE OR FAIL agent_runs SET
        status = CASE WHEN ended_by IN ('subagent_stop', 'tool_result_timed') THEN 'success' ELSE 'running' END,
        error = NULL,
        end_ms = CASE WHEN ended_by IN ('subagent_stop', 'tool_result_timed') THEN end_ms END,
        duration_ms = CASE WHEN ended_by IN ('subagent_stop', 'tool_result_timed') THEN duration_ms END,
        ended_by = CASE WHEN ended_by IN ('subagent_stop', 'tool_result_timed') THEN ended_by END
     WHERE id = ?1 AND EXISTS (SELECT 1 FROM delegations d WHERE d.tool_use_id = ?2
       AND d.status IN ('failure', 'cancelled') AND d.status = agent_runs.status AND d.error IS agent_runs.error)";
/// [`REOPEN_SESSION_ENDED`] by agent id.
const REOPEN_SESSION_ENDED_AGENT: &str =
    "UPDATE OR FAIL agent_runs SET duration_ms = NULL, end_ms = NULL, error = NULL, status = 'running', ended_by = NULL
     WHERE agent_id = ?1 AND ended_by = 'session_end'";

/// What a refresh did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    pub events: u64,
}

/// Which end of a run an event's host reading belongs to.
#[derive(Clone, Copy)]
enum Side {
    Start,
    Stop,
}

struct Ev {
    id: i64,
    ts: i64,
    source: String,
    kind: String,
    session_id: Option<String>,
    prompt_id: Option<String>,
    agent_id: Option<String>,
    agent_type: Option<String>,
    tool_name: Option<String>,
    tool_use_id: Option<String>,
    payload: String,
    /// The host process's readings (agent starts and stops; `crate::host`).
    host_pid: Option<i64>,
    host_cpu_ms: Option<i64>,
    host_rss_kb: Option<i64>,
    /// The payload parsed once (several rules read it).
    parsed: std::cell::OnceCell<Value>,
}

impl Ev {
    fn from_row(r: &Row<'_>, conn: &rusqlite::Connection) -> rusqlite::Result<Ev> {
        // Derived events' payloads may be stored compressed, with their keys (crate::store::packed).
        let (keys, payload) = crate::store::packed::read(conn, r.get_ref(10)?)?;
        let keys = match keys {
            Some(k) => k,
            None => crate::store::packed::Keys::from_columns(r, 3)?,
        };
        Ok(Ev {
            id: r.get(0)?,
            ts: r.get(1)?,
            source: keys.source,
            kind: r.get(2)?,
            session_id: keys.session_id,
            prompt_id: keys.prompt_id,
            agent_id: keys.agent_id,
            agent_type: keys.agent_type,
            tool_name: keys.tool_name,
            tool_use_id: keys.tool_use_id,
            payload,
            host_pid: r.get(11)?,
            host_cpu_ms: r.get(12)?,
            host_rss_kb: r.get(13)?,
            parsed: std::cell::OnceCell::new(),
        })
    }
    fn json(&self) -> &Value {
        self.parsed
            .get_or_init(|| serde_json::from_str(&self.payload).unwrap_or(Value::Null))
    }
}

/// The last event applied and the rules version that applied it (1 before versions were kept).
fn cursor_and_rules(store: &Store) -> Result<(i64, i64)> {
    Ok(store.conn().query_row(
        "SELECT coalesce((SELECT value FROM derive_state WHERE key = 'events'), 0),
                coalesce((SELECT value FROM derive_state WHERE key = 'rules'), 1)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Applies every event appended since the last refresh. Cheap when nothing is new.
/// A projection made by older rules ([`RULES`]) is rebuilt first.
pub fn refresh(store: &Store, cfg: &Config, prices: &Prices) -> Result<Refreshed> {
    let (cursor, rules) = cursor_and_rules(store)?;
    if rules < RULES && cursor > 0 {
        if cursor > 100_000 {
            // Minutes at 1M runs: say why the first report after an upgrade takes a while.
            eprintln!(
                "analyze: re-deriving every run from the event log ({cursor} events): this release's derivation rules changed; this happens once"
            );
        }
        return rebuild(store, cfg, prices);
    }
    apply_new(store, cfg, prices, None, "deriving runs")
}

/// A refresh that stops after about `budget` (for the status line, which must answer in
/// milliseconds whatever the backlog): applies what fits, never rebuilds, never tunes the
/// connection for bulk work. `Ok(true)` when the projection is up to date afterwards.
pub fn refresh_within(
    store: &Store,
    cfg: &Config,
    prices: &Prices,
    budget: std::time::Duration,
) -> Result<bool> {
    let (cursor, rules) = cursor_and_rules(store)?;
    // Under older rules the next full reader rebuilds everything: not a status line's job.
    if rules < RULES && cursor > 0 {
        return Ok(false);
    }
    apply_new(
        store,
        cfg,
        prices,
        Some(std::time::Instant::now() + budget),
        "",
    )?;
    has_new_events(store).map(|behind| !behind)
}

/// Whether the log holds events the projection has not applied.
fn has_new_events(store: &Store) -> Result<bool> {
    Ok(store.conn().query_row(
        "SELECT coalesce(max(id), 0) > coalesce((SELECT value FROM derive_state WHERE key = 'events'), 0) FROM events",
        [],
        |r| r.get(0),
    )?)
}

/// Applies new events in short transactions; with a `deadline`, stops starting transactions
/// after it and keeps each one within it. Without one, a backlog of more than [`BULK`] events
/// shows a bar labelled `what` on stderr when it is a terminal (`crate::progress`); with one
/// (the status line) nothing is ever drawn.
fn apply_new(
    store: &Store,
    cfg: &Config,
    prices: &Prices,
    deadline: Option<std::time::Instant>,
    what: &str,
) -> Result<Refreshed> {
    let conn = store.conn();
    let mut done = Refreshed::default();
    // The bar and the cursor it started from; dropping it clears its line.
    let mut bar: Option<(indicatif::ProgressBar, i64)> = None;
    loop {
        let cursor = store.derive_cursor()?;
        let max: i64 =
            conn.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?;
        if max <= cursor {
            return Ok(done);
        }
        if done.events == 0 {
            // Only when there is work: most reader opens find nothing new.
            if max - cursor > BULK && deadline.is_none() {
                store.tune_for_reading()?;
                let b = crate::progress::bar(
                    crate::progress::Unit::Events,
                    what,
                    (max - cursor) as u64,
                    BULK as u64,
                );
                bar = Some((b, cursor));
            }
            // Installed after the tuning above, which must not touch the temp schema.
            install_rollup_triggers(store)?;
        }
        if let Some((b, from)) = &bar {
            // Another reader may advance the cursor too, and hooks append meanwhile.
            b.set_length((max - from) as u64);
            b.set_position((cursor - from) as u64);
        }
        if done.events > 0 {
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Ok(done);
            }
            std::thread::sleep(YIELD);
        }
        let started = std::time::Instant::now();
        let tx_time = deadline.map_or(TX_TIME, |d| {
            d.saturating_duration_since(started).min(TX_TIME)
        });
        let page = if deadline.is_some() { SMALL_PAGE } else { PAGE };
        let (n, _) = store.write_tx(|s| apply_in_tx(s, cfg, prices, page, started + tx_time))?;
        done.events += n;
    }
}

/// Applies the events after the cursor inside the caller's write transaction, `page` at a time,
/// until none is left or `deadline` has passed after a page; moves the cursor. Returns how many
/// it applied and whether none is left (no one else can append while the transaction holds the
/// write lock).
fn apply_in_tx(
    s: &Store,
    cfg: &Config,
    prices: &Prices,
    page: i64,
    deadline: std::time::Instant,
) -> Result<(u64, bool)> {
    // Re-read the cursor under the write lock: another reader may have advanced it.
    let mut last = s.derive_cursor()?;
    // After a prune and a re-derivation, the pruned sessions' kept rows already reflect their
    // events up to `pruned_upto` (crate::retention::keep_pruned): those are skipped.
    let upto: i64 = s
        .conn()
        .query_row(
            "SELECT value FROM derive_state WHERE key = 'pruned_upto'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let mut stmt = s.conn().prepare_cached(
        "SELECT id, ts, kind, source, session_id, prompt_id, agent_id, agent_type, tool_name, tool_use_id, payload,
                host_pid, host_cpu_ms, host_rss_kb
         FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    // Whether an event is a pruned session's, by its session or its run's (a generic stop names
    // only its run). Decided in Rust: a packed event's keys are in its frame.
    let mut run_session = s
        .conn()
        .prepare_cached("SELECT session_id FROM agent_runs WHERE agent_id = ?1")?;
    let mut pruned = s
        .conn()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM pruned_sessions WHERE session_id = ?1)")?;
    let mut skipped = |e: &Ev| -> rusqlite::Result<bool> {
        if e.id > upto {
            return Ok(false);
        }
        let session: Option<String> = match (&e.session_id, &e.agent_id) {
            (Some(sid), _) => Some(sid.clone()),
            (None, Some(aid)) => run_session
                .query_row([aid], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten(),
            (None, None) => None,
        };
        match session {
            Some(sid) => pruned.query_row([sid], |r| r.get(0)),
            None => Ok(false),
        }
    };
    let d = Deriver {
        s,
        prices,
        classify: classify::Classifier::new(cfg),
        sessions: Default::default(),
    };
    let mut n = 0u64;
    let done = loop {
        let read: Vec<Ev> = stmt
            .query_map(params![last, page], |r| Ev::from_row(r, s.conn()))?
            .collect::<rusqlite::Result<_>>()?;
        // Decided for the whole page before any of it is applied (as a WHERE clause would).
        let skip = read
            .iter()
            .map(&mut skipped)
            .collect::<rusqlite::Result<Vec<bool>>>()?;
        for (e, skip) in read.iter().zip(skip) {
            // Skipped ones too: the cursor moves past them (as it does past the last page's).
            last = e.id;
            if !skip {
                d.apply(e)?;
                n += 1;
            }
        }
        d.flush_sessions()?;
        if (read.len() as i64) < page {
            // Every event up to the last one is applied or skipped (no one appends while this
            // transaction holds the write lock): the cursor moves past skipped ones too.
            if upto > 0 {
                let max: i64 =
                    s.conn()
                        .query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?;
                last = last.max(max);
            }
            break true;
        }
        if std::time::Instant::now() >= deadline {
            break false;
        }
    };
    s.flush_rollups()?;
    s.conn().execute(
        "INSERT OR FAIL INTO derive_state (key, value) VALUES ('events', ?1), ('rules', ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [last, RULES],
    )?;
    Ok((n, done))
}

/// Events the guard derives per page: small, so its deadline is kept within a few milliseconds.
const GUARD_PAGE: i64 = 16;

/// Brings the projection up to date inside the caller's write transaction (the guard's, which
/// decides on what it derived and records its decision in the same transaction), spending until
/// `deadline` at most. `Ok(false)` when it could not: events left at the deadline (what was
/// applied is kept: the next call goes on from there), or a projection made by older rules
/// ([`RULES`]: rebuilding it is a reader's work, minutes at 1M runs).
pub fn catch_up_in_tx(
    s: &Store,
    cfg: &Config,
    prices: &Prices,
    deadline: std::time::Instant,
) -> Result<bool> {
    let conn = s.conn();
    let (cursor, rules, max): (i64, i64, i64) = conn.query_row(
        "SELECT coalesce((SELECT value FROM derive_state WHERE key = 'events'), 0),
                coalesce((SELECT value FROM derive_state WHERE key = 'rules'), 1),
                (SELECT coalesce(max(id), 0) FROM events)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if max <= cursor {
        return Ok(true);
    }
    if rules < RULES && cursor > 0 {
        return Ok(false);
    }
    install_rollup_triggers(s)?;
    Ok(apply_in_tx(s, cfg, prices, GUARD_PAGE, deadline)?.1)
}

/// Every rollup is kept exact per batch: TEMP triggers of the deriving connection remember what
/// each run and its tool rows were before the batch changed them, and [`Store::flush_rollups`]
/// adds the difference to the rollups once per transaction, before the cursor moves.
/// Whoever derives — a reader's refresh, the status line's budgeted one, the guard's catch-up —
/// installs them first. The rules' statements stay prepared (SQLite re-prepares each trigger
/// with each statement).
fn install_rollup_triggers(store: &Store) -> Result<()> {
    let conn = store.conn();
    conn.execute_batch(&crate::store::schema::temp_batch_rollup_triggers())?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

/// Clears every projection and re-derives it from the log.
pub fn rebuild(store: &Store, cfg: &Config, prices: &Prices) -> Result<Refreshed> {
    if crate::retention::any_pruned(store)? {
        // Pruned sessions' events are gone: their projection is kept, not re-derived.
        store.write_tx(|s| {
            let (cursor, _) = cursor_and_rules(s)?;
            crate::retention::keep_pruned(s, cursor)?;
            s.conn()
                .execute("DELETE FROM derive_state WHERE key <> 'pruned_upto'", [])?;
            Ok(())
        })?;
        return apply_new(store, cfg, prices, None, "rebuilding runs");
    }
    // Without the rollup triggers: the rollups are cleared too, no need to subtract row by row.
    store
        .conn()
        .execute_batch(&crate::store::schema::drop_temp_rollup_triggers())?;
    store.write_tx(|s| {
        s.conn().execute_batch(&format!(
            "DELETE FROM agent_runs; DELETE FROM run_tools; DELETE FROM workflows; DELETE FROM handoffs;
             DELETE FROM sessions; DELETE FROM delegations; DELETE FROM agent_daily; DELETE FROM agent_task_stats; DELETE FROM derive_state;
             DELETE FROM type_daily; DELETE FROM type_tool_daily; {} {}",
            crate::store::schema::MARK_EVERY_WORKFLOW_DIRTY,
            crate::store::schema::CLEAR_AGENT_CELLS
        ))?;
        for t in crate::metrics::store::TABLES {
            s.conn().execute(&format!("DELETE FROM {t}"), [])?;
        }
        Ok(())
    })?;
    apply_new(store, cfg, prices, None, "rebuilding runs")
}

struct Deriver<'a> {
    s: &'a Store,
    prices: &'a Prices,
    /// The configuration's classification rules, made ready once per derivation transaction.
    classify: classify::Classifier<'a>,
    /// What the transaction's events said of their sessions so far, written once per session
    /// ([`Deriver::flush_sessions`]) instead of one upsert per event.
    sessions: std::cell::RefCell<Touched>,
}

/// The sessions noted since the last flush, in the order they were first seen (the order their
/// rows were inserted in before).
#[derive(Default)]
struct Touched {
    order: Vec<(String, SessionTouch)>,
    index: HashMap<String, usize>,
}

/// A session as the events of one transaction saw it: its first cwd and transcript path, its
/// first and last event.
struct SessionTouch {
    cwd: Option<String>,
    transcript_path: Option<String>,
    start_ms: i64,
    last_ms: i64,
}

/// The columns of a run the rules read back.
struct RunRef {
    id: i64,
    tool_use_id: Option<String>,
    status: String,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    duration_ms: Option<i64>,
    has_summary: bool,
    internal: bool,
}

fn is_agent_tool(name: Option<&str>) -> bool {
    name.is_some_and(vocab::is_agent_tool)
}

/// A prompt Claude Code submitted itself for a background agent's completion: `source: system`
/// where Claude Code sends a source (2.1.33x), else the `<task-notification>` text.
fn is_notification(v: &Value, prompt: &str) -> bool {
    match v.get("source").and_then(Value::as_str) {
        Some(source) => source == "system",
        None => prompt.trim_start().starts_with("<task-notification>"),
    }
}

/// What a StopFailure says went wrong: the API error text Claude Code shows (`last_assistant_message`,
/// e.g. "API Error: 400 …"), else `error_details`, else `error`.
fn stop_failure_error(v: &Value) -> Option<String> {
    let text = |k: &str| {
        v.get(k).and_then(|x| match x {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Null | Value::String(_) => None,
            other => Some(other.to_string()),
        })
    };
    text("last_assistant_message")
        .filter(|m| m.starts_with("API Error"))
        .or_else(|| text("error_details"))
        .or_else(|| text("error"))
        .or_else(|| text("last_assistant_message"))
        .map(|s| truncate(&s, 2000))
}

/// Models as stored in `agent_runs.model`: comma-separated, None when there are none.
fn models_text(models: &[String]) -> Option<String> {
    (!models.is_empty()).then(|| models.join(","))
}

/// `min(a, b)` without a function call, for a `b` that is never NULL (NULL when `a` is, as
/// `min`). A statement that calls an SQL function may fail midway, so SQLite keeps a statement
/// journal for it: a copy of every page it touches. The hottest writes of the derivation spell
/// `min` and `max` out instead (docs/performance.md, "Derivation").
fn min_sql(a: &str, b: &str) -> String {
    format!("(CASE WHEN {a} > {b} THEN {b} ELSE {a} END)")
}

/// `max(a, b)` without a function call, for a `b` that is never NULL (NULL when `a` is, as
/// `max`); see [`min_sql`].
fn max_sql(a: &str, b: &str) -> String {
    format!("(CASE WHEN {a} < {b} THEN {b} ELSE {a} END)")
}

/// The SET list that takes a host reading (docs/metrics.md, "Resources") into a run: `pid`,
/// `cpu` and `rss` are the placeholders of the reading's process id, CPU time (ms) and resident
/// memory (KB). A reading from another process than the run's first voids the figures. No SQL
/// function is called (see [`min_sql`]): this list rides in every SubagentStop's update.
fn host_sets(side: Side, pid: &str, cpu: &str, rss: &str) -> String {
    let same = format!("(host_pid IS NULL OR host_pid = {pid})");
    match side {
        Side::Start => format!(
            "host_cpu_start_ms = CASE WHEN NOT {same} THEN NULL WHEN {cpu} IS NULL THEN host_cpu_start_ms
               ELSE {earliest} END,
             host_cpu_end_ms = CASE WHEN {same} THEN host_cpu_end_ms END,
             host_rss_kb = CASE WHEN {same} THEN host_rss_kb END,
             host_pid = CASE WHEN {same} THEN {pid} ELSE 0 END",
            earliest = min_sql(&format!("coalesce(host_cpu_start_ms, {cpu})"), cpu),
        ),
        // The stop with the most CPU (then the most memory, for a tie) gives both figures.
        Side::Stop => format!(
            "host_rss_kb = CASE WHEN NOT {same} THEN NULL
               WHEN (coalesce({cpu}, -1), coalesce({rss}, -1)) > (coalesce(host_cpu_end_ms, -1), coalesce(host_rss_kb, -1))
               THEN {rss} ELSE host_rss_kb END,
             host_cpu_end_ms = CASE WHEN NOT {same} THEN NULL WHEN {cpu} IS NULL THEN host_cpu_end_ms
               ELSE {latest} END,
             host_cpu_start_ms = CASE WHEN {same} THEN host_cpu_start_ms END,
             host_pid = CASE WHEN {same} THEN {pid} ELSE 0 END",
            latest = max_sql(&format!("coalesce(host_cpu_end_ms, {cpu})"), cpu),
        ),
    }
}

impl Deriver<'_> {
    /// Runs one statement through the statement cache: each `UPDATE agent_runs` carries the
    /// rollup triggers, and re-preparing them per event was most of the derivation's time.
    ///
    /// Every write here says `OR FAIL`. With SQLite's default (`ABORT`), a statement that fires
    /// triggers copies each page it touches into a statement journal first, so that it alone can
    /// be undone: 10 % of a derivation's instructions. The derivation never recovers from a
    /// failed statement (its transaction rolls back as a whole), so it needs no such copy.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        debug_assert!(
            !sql.trim_start().starts_with("UPDATE ") || sql.trim_start().starts_with("UPDATE OR "),
            "a derivation write without OR FAIL: {sql}"
        );
        debug_assert!(
            !sql.trim_start().starts_with("INSERT INTO "),
            "a derivation write without OR FAIL: {sql}"
        );
        Ok(self.s.conn().prepare_cached(sql)?.execute(params)?)
    }

    /// One row through the statement cache (`Connection::query_row` prepares its statement
    /// anew on every call: 5 % of a derivation's instructions went to that).
    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.s.conn().prepare_cached(sql)?.query_row(params, f)
    }

    fn apply(&self, e: &Ev) -> Result<()> {
        if Source::parse(&e.source).is_some_and(Source::is_claude_code) {
            if let Some(sid) = &e.session_id {
                self.touch_session(sid, e);
            }
        }
        let Some(kind) = EventKind::parse(&e.kind) else {
            return Ok(()); // stored, not modelled
        };
        let agent_tool = is_agent_tool(e.tool_name.as_deref());
        match kind {
            EventKind::SessionEnd => self.session_end(e),
            EventKind::UserPromptSubmit => self.prompt_submitted(e),
            EventKind::Stop => self.turn_stopped(e),
            EventKind::StopFailure => self.stop_failed(e),
            EventKind::PreToolUse if agent_tool => self.delegation_requested(e),
            EventKind::SubagentStart => self.subagent_started(e),
            EventKind::PostToolUse if agent_tool => self.agent_tool_returned(e),
            EventKind::PostToolUseFailure if agent_tool => self.agent_tool_failed(e),
            EventKind::PostToolUseFailure => self.tool_failed(e),
            EventKind::SubagentStop => self.subagent_stopped(e),
            EventKind::TranscriptSummary => self.transcript_summarised(e),
            EventKind::AgentStart => self.generic_start(e),
            EventKind::AgentStop => self.generic_stop(e),
            EventKind::WorkflowStart => self.workflow_start(e),
            EventKind::Handoff => self.handoff(e),
            EventKind::WorkflowComplete => self.workflow_complete(e),
            EventKind::GuardDenied => self.guard_denied(e),
            EventKind::SessionStart
            | EventKind::PreToolUse
            | EventKind::PostToolUse
            | EventKind::Notification
            | EventKind::PreCompact => Ok(()),
        }
    }

    // ── sessions and turns ────────────────────────────────────────────────────────────────

    /// Notes that session `sid` had event `e` (the row is written by [`Self::flush_sessions`]).
    fn touch_session(&self, sid: &str, e: &Ev) {
        let v = e.json();
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let mut pending = self.sessions.borrow_mut();
        match pending.index.get(sid).copied() {
            Some(i) => {
                let t = &mut pending.order[i].1;
                if t.cwd.is_none() {
                    t.cwd = text("cwd");
                }
                if t.transcript_path.is_none() {
                    t.transcript_path = text("transcript_path");
                }
                t.start_ms = t.start_ms.min(e.ts);
                t.last_ms = t.last_ms.max(e.ts);
            }
            None => {
                let at = pending.order.len();
                pending.index.insert(sid.to_string(), at);
                pending.order.push((
                    sid.to_string(),
                    SessionTouch {
                        cwd: text("cwd"),
                        transcript_path: text("transcript_path"),
                        start_ms: e.ts,
                        last_ms: e.ts,
                    },
                ));
            }
        }
    }

    /// Writes the sessions noted since the last flush: the first cwd and transcript path a
    /// session ever had, its earliest and latest event — what one upsert per event gave.
    fn flush_sessions(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.sessions.borrow_mut());
        let mut stmt = self.s.conn().prepare_cached(
            "INSERT OR FAIL INTO sessions (session_id, cwd, transcript_path, start_ms, last_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (session_id) DO UPDATE SET cwd = coalesce(sessions.cwd, excluded.cwd),
               transcript_path = coalesce(sessions.transcript_path, excluded.transcript_path),
               start_ms = min(sessions.start_ms, excluded.start_ms), last_ms = max(sessions.last_ms, excluded.last_ms)",
        )?;
        for (sid, t) in &pending.order {
            stmt.execute(params![
                sid,
                t.cwd,
                t.transcript_path,
                t.start_ms,
                t.last_ms
            ])?;
        }
        Ok(())
    }

    fn session_end(&self, e: &Ev) -> Result<()> {
        self.flush_sessions()?; // the session's row must exist for its end
        let reason = e
            .json()
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.exec(
            "UPDATE OR FAIL sessions SET end_ms = max(coalesce(end_ms, 0), ?2), end_reason = ?3 WHERE session_id = ?1",
            params![e.session_id, e.ts, reason],
        )?;
        // Claude Code stops every agent still running when its session ends (a background agent
        // `claude -p` stops waiting for, the TUI's /exit; `subagent_stats.killed`), and no hook
        // reports those deaths: such runs are cancelled here. A SubagentStop arriving later
        // still wins (subagent_stopped). Turns that never got a Stop were interrupted.
        self.exec(
            "UPDATE OR FAIL agent_runs SET status = 'cancelled', end_ms = ?2, ended_by = 'session_end',
                duration_ms = coalesce(duration_ms, ?2 - start_ms),
                error = coalesce(error, 'still running when its session ended (Claude Code stopped it)')
             WHERE session_id = ?1 AND status = 'running' AND end_ms IS NULL",
            params![e.session_id, e.ts],
        )?;
        self.exec(
            "UPDATE OR FAIL workflows SET end_ms = ?2, ended_by = 'session_end'
             WHERE session_id = ?1 AND kind = 'turn' AND end_ms IS NULL",
            params![e.session_id, e.ts],
        )?;
        Ok(())
    }

    fn prompt_submitted(&self, e: &Ev) -> Result<()> {
        let Some(pid) = &e.prompt_id else {
            return Ok(());
        };
        let v = e.json();
        let prompt = v.get("prompt").and_then(Value::as_str).unwrap_or("");
        let cwd = v.get("cwd").and_then(Value::as_str);
        if is_notification(v, prompt) {
            // A background agent's completion, submitted by Claude Code itself. `claude -p` gives
            // it the launching turn's prompt id: it is then part of that turn and changes nothing
            // (the turn's Stop after it extends the turn). With a new id (interactive sessions)
            // it is a notification turn of its own, which is not a workflow.
            // Its Stop may have committed first and made a turn without a prompt, starting at or
            // after this prompt: that row is this notification's.
            self.exec(
                "INSERT OR FAIL INTO workflows (workflow_id, kind, session_id, project, prompt, start_ms)
                 VALUES (?1, 'notification', ?2, ?3, ?4, ?5)
                 ON CONFLICT (workflow_id) DO UPDATE SET kind = excluded.kind, prompt = excluded.prompt,
                   start_ms = min(coalesce(workflows.start_ms, excluded.start_ms), excluded.start_ms),
                   project = coalesce(workflows.project, excluded.project)
                 WHERE workflows.kind = 'turn' AND workflows.prompt IS NULL AND workflows.start_ms >= excluded.start_ms",
                params![pid, e.session_id, cwd, truncate(prompt, 2000), e.ts],
            )?;
            return Ok(());
        }
        let kind = "turn";
        self.exec(
            "INSERT OR FAIL INTO workflows (workflow_id, kind, session_id, project, prompt, start_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (workflow_id) DO UPDATE SET kind = excluded.kind, prompt = excluded.prompt,
               start_ms = min(coalesce(workflows.start_ms, excluded.start_ms), excluded.start_ms),
               project = coalesce(workflows.project, excluded.project)",
            params![pid, kind, e.session_id, cwd, truncate(prompt, 2000), e.ts],
        )?;
        Ok(())
    }

    /// `StopFailure` fires instead of `Stop` when a conversation ends on an API error. With an
    /// `agent_id` it is that subagent's (the only word on a background agent that died); without
    /// one it ends the prompt turn, which failed.
    fn stop_failed(&self, e: &Ev) -> Result<()> {
        let v = e.json();
        let error = stop_failure_error(v);
        if let Some(aid) = &e.agent_id {
            // Never a run from this alone (tool events can carry ids of agents that never start).
            // The agent's own word on its death beats the session end's cancellation.
            self.exec(REOPEN_SESSION_ENDED_AGENT, [aid])?;
            self.exec(
                "UPDATE OR FAIL agent_runs SET status = CASE WHEN status IN ('running', 'success') THEN 'failure' ELSE status END,
                    error = coalesce(error, ?2), end_ms = coalesce(end_ms, ?3) WHERE agent_id = ?1",
                params![aid, error, e.ts],
            )?;
            if let Some(run) = self.run(aid)? {
                self.fill_duration(run.id)?;
            }
            return Ok(());
        }
        let Some(pid) = &e.prompt_id else {
            return Ok(());
        };
        let cwd = v.get("cwd").and_then(Value::as_str);
        self.exec(
            "INSERT OR FAIL INTO workflows (workflow_id, kind, session_id, project, start_ms, end_ms, error) VALUES (?1, 'turn', ?2, ?3, ?4, ?4, ?5)
             ON CONFLICT (workflow_id) DO UPDATE SET end_ms = CASE WHEN workflows.ended_by = 'session_end'
                 THEN excluded.end_ms ELSE max(coalesce(workflows.end_ms, 0), excluded.end_ms) END,
               error = coalesce(workflows.error, excluded.error), ended_by = NULL",
            params![pid, e.session_id, cwd, e.ts, error.unwrap_or_else(|| "API error".into())],
        )?;
        Ok(())
    }

    fn turn_stopped(&self, e: &Ev) -> Result<()> {
        let Some(pid) = &e.prompt_id else {
            return Ok(());
        };
        let v = e.json();
        let cwd = v.get("cwd").and_then(Value::as_str);
        self.exec(
            "INSERT OR FAIL INTO workflows (workflow_id, kind, session_id, project, start_ms, end_ms) VALUES (?1, 'turn', ?2, ?3, ?4, ?4)
             ON CONFLICT (workflow_id) DO UPDATE SET end_ms = CASE WHEN workflows.ended_by = 'session_end'
                 THEN excluded.end_ms ELSE max(coalesce(workflows.end_ms, 0), excluded.end_ms) END,
               ended_by = NULL",
            params![pid, e.session_id, cwd, e.ts],
        )?;
        // Agents still running when the turn ends are background agents.
        for t in v
            .get("background_tasks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = t.get("id").and_then(Value::as_str) {
                self.exec(
                    "UPDATE OR FAIL agent_runs SET background = 1 WHERE agent_id = ?1",
                    [id],
                )?;
            }
        }
        Ok(())
    }

    // ── Claude Code agents ────────────────────────────────────────────────────────────────

    fn delegation_requested(&self, e: &Ev) -> Result<()> {
        let Some(tu) = &e.tool_use_id else {
            return Ok(());
        };
        let v = e.json();
        let input: WireAgentInput = v
            .get("tool_input")
            .cloned()
            .and_then(|i| serde_json::from_value(i).ok())
            .unwrap_or_default();
        let effort = input.effort_level();
        let name = input.name.as_ref().and_then(wire::as_string);
        let isolation = input.isolation.as_ref().and_then(wire::as_string);
        let sub_type = input
            .subagent_type
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "general-purpose".into());
        self.exec(
            "INSERT OR FAIL INTO delegations (tool_use_id, session_id, prompt_id, caller_agent, subagent_type, description, prompt, background, ts,
                name, effort, isolation)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (tool_use_id) DO UPDATE SET description = excluded.description, prompt = excluded.prompt,
               background = excluded.background, name = excluded.name, effort = excluded.effort,
               isolation = excluded.isolation, ts = min(delegations.ts, excluded.ts)
             WHERE delegations.status = 'denied'",
            params![
                tu,
                e.session_id,
                e.prompt_id,
                e.agent_id,
                sub_type,
                input.description,
                input.prompt.as_deref().map(|p| truncate(p, 4000)),
                input.run_in_background.unwrap_or(false),
                e.ts,
                name,
                effort,
                isolation
            ],
        )?;
        // The guard denied it (its denial derived first: the row was the denial's): no agent.
        if self.delegation_denied(tu)? {
            return Ok(());
        }
        // The agent may already be known (events out of order): link it now. Its SubagentStart
        // may have committed first (the two hooks fire milliseconds apart) and found no open
        // delegation: this one is then the oldest open one it would have taken, so it takes the
        // oldest unmatched run of the type that started at or after this call.
        if let Some(run) = self.run_by_tool_use(tu)? {
            self.link(run.id, tu)?;
        } else if let Some(id) = self
            .s
            .conn()
            .prepare_cached(
                // Through runs_session (the `+`s rule the other indexes out): the session's runs
                // are few, while runs of the type that started later (other sessions', during a
                // rebuild) can be most of the table.
                "SELECT id FROM agent_runs WHERE session_id = ?1 AND +tool_use_id IS NULL AND internal = 0
                   AND source = 'claude-code' AND +agent_type IN (?2, 'unknown') AND +start_ms >= ?3
                 ORDER BY start_ms, id LIMIT 1",
            )?
            .query_row(params![e.session_id, sub_type, e.ts], |r| r.get::<_, i64>(0))
            .optional()?
        {
            self.link(id, tu)?;
        }
        Ok(())
    }

    fn subagent_started(&self, e: &Ev) -> Result<()> {
        let Some(aid) = &e.agent_id else {
            return Ok(());
        };
        let given_type = e.agent_type.clone().filter(|t| !t.is_empty());
        let run = match self.run(aid)? {
            Some(r) => {
                // Started again after it stopped: resumed (the TUI resumes a background agent
                // when the agents it delegated finish, seen with 2.1.330 and 2.1.332). It runs
                // until its next SubagentStop; its start stays the first.
                self.exec(
                    "UPDATE OR FAIL agent_runs SET end_ms = NULL, duration_ms = NULL, status = 'running', ended_by = NULL
                     WHERE id = ?1 AND status = 'success' AND end_ms IS NOT NULL AND ?2 > end_ms",
                    params![r.id, e.ts],
                )?;
                // Its first SubagentStart is its start. A start taken from its delegation (the
                // Agent tool's result, fired milliseconds after the SubagentStart, committed
                // first and made the run) gives way; the duration follows unless Claude Code
                // reported it.
                self.exec(
                    "UPDATE OR FAIL agent_runs SET
                        start_ms = CASE WHEN start_ms IS (SELECT d.ts FROM delegations d WHERE d.tool_use_id = agent_runs.tool_use_id)
                          AND (end_ms IS NULL OR ?2 <= end_ms) THEN ?2 ELSE min(coalesce(start_ms, ?2), ?2) END
                     WHERE id = ?1",
                    params![r.id, e.ts],
                )?;
                self.exec(
                    "UPDATE OR FAIL agent_runs SET duration_ms = max(end_ms - start_ms, 0)
                     WHERE id = ?1 AND end_ms IS NOT NULL AND ended_by IS NOT 'tool_result_timed'
                       AND duration_ms IS NOT max(end_ms - start_ms, 0) AND start_ms IS NOT ?2",
                    params![r.id, r.start_ms],
                )?;
                self.run(aid)?.expect("exists")
            }
            None => self.insert_run(
                aid,
                Source::ClaudeCode.as_str(),
                e,
                given_type.as_deref().unwrap_or("unknown"),
                Some(e.ts),
            )?,
        };
        if run.tool_use_id.is_none() && !run.internal {
            // SubagentStart carries no tool_use_id: match the oldest open delegation of this
            // type in the session (PostToolUse or the transcript sidecar corrects it later).
            // Written so the partial index delegations_open (session, type, ts) serves both forms.
            let sql = if given_type.is_some() {
                "SELECT tool_use_id FROM delegations WHERE session_id = ?1 AND subagent_type = ?2
                   AND agent_id IS NULL AND status IS NOT 'denied' ORDER BY ts, rowid LIMIT 1"
            } else {
                "SELECT tool_use_id FROM delegations WHERE session_id = ?1 AND ?2 IS NULL
                   AND agent_id IS NULL AND status IS NOT 'denied' ORDER BY ts, rowid LIMIT 1"
            };
            let tu: Option<String> = self
                .s
                .conn()
                .prepare_cached(sql)?
                .query_row(params![e.session_id, given_type], |r| r.get(0))
                .optional()?;
            if let Some(tu) = tu {
                self.link(run.id, &tu)?;
            }
        }
        self.host_read(run.id, e, Side::Start)
    }

    fn agent_tool_returned(&self, e: &Ev) -> Result<()> {
        let Some(tu) = &e.tool_use_id else {
            return Ok(());
        };
        let v = e.json();
        let resp: WireAgentResponse = v
            .get("tool_response")
            .cloned()
            .and_then(|r| serde_json::from_value(r).ok())
            .unwrap_or_default();
        if resp.status.as_deref() == Some("remote_launched") {
            return self.remote_launched(e, tu, &resp);
        }
        let Some(aid) = resp.agent_id.clone() else {
            return Ok(());
        };
        let run = match self.run(&aid)? {
            Some(r) => r,
            None => {
                let start = self.delegation_ts(tu)?.unwrap_or(e.ts);
                let t = resp.agent_type.clone().unwrap_or_else(|| "unknown".into());
                self.insert_run(&aid, Source::ClaudeCode.as_str(), e, &t, Some(start))?
            }
        };
        if run.tool_use_id.as_deref() != Some(tu.as_str()) {
            self.relink(&run, tu)?;
        }
        match resp.status.as_deref() {
            Some("completed") => {
                self.reopen_if_session_ended(&run)?;
                // The tool's own counts, unless the run's transcript summary gave them (it wins).
                let own = !run.has_summary;
                let stats = resp.tool_stats.as_ref();
                let (lines_added, lines_removed) = (
                    stats.and_then(|t| t.lines_added).filter(|_| own),
                    stats.and_then(|t| t.lines_removed).filter(|_| own),
                );
                // The end unless a SubagentStop gave one (Claude Code fires this one milliseconds
                // after it, but the two hooks may commit in either order). Claude Code's duration
                // is the duration whatever the end; `tool_result_timed` remembers it was given.
                static RETURNED: LazyLock<String> = LazyLock::new(|| {
                    let end = format!(
                        "(CASE WHEN ended_by = 'subagent_stop' THEN end_ms
                           WHEN ended_by IN ('tool_result', 'tool_result_timed', 'tool_failure') THEN {} ELSE ?2 END)",
                        min_sql("end_ms", "?2")
                    );
                    format!(
                        "UPDATE OR FAIL agent_runs SET
                        duration_ms = coalesce(CASE WHEN ?3 IS NOT NULL THEN ?3
                          WHEN ended_by IN ('subagent_stop', 'tool_result_timed') THEN duration_ms
                          WHEN ended_by IN ('tool_result', 'tool_failure') AND end_ms <= ?2 THEN duration_ms END,
                          {filled}),
                        end_ms = {end},
                        ended_by = CASE WHEN ended_by = 'subagent_stop' THEN ended_by
                          WHEN ?3 IS NOT NULL OR ended_by = 'tool_result_timed' THEN 'tool_result_timed' ELSE 'tool_result' END,
                        status = CASE WHEN status = 'running' THEN 'success' ELSE status END,
                        model = coalesce(model, ?4), worktree_path = coalesce(?5, worktree_path),
                        thinking_tokens = coalesce(?6, thinking_tokens),
                        tool_calls = coalesce(?7, tool_calls), lines_added = coalesce(?8, lines_added),
                        lines_removed = coalesce(?9, lines_removed) WHERE id = ?1",
                        filled = max_sql(&format!("{end} - start_ms"), "0"),
                    )
                });
                self.exec(
                    &RETURNED,
                    params![
                        run.id,
                        e.ts,
                        resp.total_duration_ms,
                        models_text(&resp.models()).or(resp.resolved_model.clone()),
                        resp.worktree_path,
                        resp.thinking_tokens(),
                        resp.total_tool_use_count.filter(|_| own),
                        lines_added,
                        lines_removed
                    ],
                )?;
            }
            Some("async_launched") => {
                self.exec(
                    "UPDATE OR FAIL agent_runs SET background = 1 WHERE id = ?1",
                    [run.id],
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    /// An agent launched elsewhere (`isolation: remote`): no agent id, no SubagentStart or Stop,
    /// and Claude Code never reports its outcome. It is a run of its own status, `remote`: never
    /// running, never lost, in no success rate. Its end is the hand-off.
    fn remote_launched(&self, e: &Ev, tu: &str, resp: &WireAgentResponse) -> Result<()> {
        let task = resp.task_id.as_ref().and_then(wire::as_string);
        let aid = format!("remote:{}", task.as_deref().unwrap_or(tu));
        let run = match self.run(&aid)? {
            Some(r) => r,
            None => {
                let start = self.delegation_ts(tu)?.unwrap_or(e.ts);
                let t = resp
                    .agent_type
                    .clone()
                    .or(self.delegation_type(tu)?)
                    .unwrap_or_else(|| "unknown".into());
                self.insert_run(&aid, Source::ClaudeCode.as_str(), e, &t, Some(start))?
            }
        };
        if run.tool_use_id.as_deref() != Some(tu) {
            self.relink(&run, tu)?;
        }
        self.exec(
            "UPDATE OR FAIL agent_runs SET status = 'remote', end_ms = coalesce(end_ms, ?2), isolation = coalesce(isolation, 'remote'),
                remote_task_id = ?3 WHERE id = ?1",
            params![run.id, e.ts, task],
        )?;
        Ok(())
    }

    fn agent_tool_failed(&self, e: &Ev) -> Result<()> {
        let Some(tu) = &e.tool_use_id else {
            return Ok(());
        };
        let v = e.json();
        let interrupt = v
            .get("is_interrupt")
            .and_then(wire::as_bool)
            .unwrap_or(false);
        let error = v
            .get("error")
            .and_then(Value::as_str)
            .map(|s| truncate(s, 2000));
        let status = if interrupt {
            RunStatus::Cancelled
        } else {
            RunStatus::Failure
        }
        .as_str();
        // The delegation keeps the failure: for the run it is linked to later (its
        // SubagentStart committed after this, or a transcript sidecar names it).
        self.exec(
            "UPDATE OR FAIL delegations SET status = ?2, error = ?3, end_ms = ?4 WHERE tool_use_id = ?1",
            params![tu, status, error, e.ts],
        )?;
        let Some(run) = self.run_by_tool_use(tu)? else {
            // No agent ever started (e.g. an unknown agent type): Claude Code does not count it
            // as spawned, so neither do we.
            return Ok(());
        };
        self.apply_tool_failure(&run, status, error.as_deref(), e.ts)
    }

    /// The Agent tool's failure (`status` failure or cancelled) at `ts` ends run `id`. It beats
    /// the session end's cancellation; its time is the end unless a SubagentStop gave one.
    fn apply_tool_failure(
        &self,
        run: &RunRef,
        status: &str,
        error: Option<&str>,
        ts: i64,
    ) -> Result<()> {
        let id = run.id;
        self.reopen_if_session_ended(run)?;
        self.exec(
            "UPDATE OR FAIL agent_runs SET status = ?2, error = coalesce(?3, error),
                duration_ms = CASE WHEN ended_by IN ('subagent_stop', 'tool_result_timed') THEN duration_ms
                  WHEN ended_by IN ('tool_result', 'tool_failure') AND end_ms <= ?4 THEN duration_ms END,
                end_ms = CASE WHEN ended_by = 'subagent_stop' THEN end_ms
                  WHEN ended_by IN ('tool_result', 'tool_result_timed', 'tool_failure') THEN min(end_ms, ?4) ELSE ?4 END,
                ended_by = CASE WHEN ended_by IN ('subagent_stop', 'tool_result_timed') THEN ended_by ELSE 'tool_failure' END
             WHERE id = ?1",
            params![id, status, error, ts],
        )?;
        self.fill_duration(id)
    }

    /// The guard denied delegation `tool_use_id` (docs/guard.md): no agent runs for it. The
    /// delegation row says so (status `denied`, the reason, the end), made here when its
    /// PreToolUse is not derived yet (that one then fills in the task: `delegation_requested`).
    /// A run matched to it before the denial was known (a SubagentStart derived in between, in
    /// a replay of another order) was another delegation's: it is unlinked and matched again.
    fn guard_denied(&self, e: &Ev) -> Result<()> {
        let Some(tu) = &e.tool_use_id else {
            return Ok(());
        };
        let reason = e
            .json()
            .get("reason")
            .and_then(Value::as_str)
            .map(|s| truncate(s, 2000));
        let sub_type = e.agent_type.clone().filter(|t| !t.is_empty());
        self.exec(
            "INSERT OR FAIL INTO delegations (tool_use_id, session_id, prompt_id, caller_agent, subagent_type, background, ts,
                status, error, end_ms)
             VALUES (?1, ?2, ?3, ?4, coalesce(?5, 'general-purpose'), 0, ?6, 'denied', ?7, ?6)
             ON CONFLICT (tool_use_id) DO UPDATE SET status = 'denied', error = excluded.error,
               end_ms = excluded.end_ms, agent_id = NULL",
            params![tu, e.session_id, e.prompt_id, e.agent_id, sub_type, e.ts, reason],
        )?;
        if let Some(run) = self.run_by_tool_use(tu)? {
            self.exec(
                "UPDATE OR FAIL agent_runs SET tool_use_id = NULL WHERE id = ?1",
                [run.id],
            )?;
            let sid: Option<String> = self.one(
                "SELECT session_id FROM agent_runs WHERE id = ?1",
                [run.id],
                |r| r.get(0),
            )?;
            let other: Option<String> = self
                .s
                .conn()
                .prepare_cached(
                    "SELECT tool_use_id FROM delegations WHERE session_id = ?1 AND agent_id IS NULL
                       AND status IS NOT 'denied' AND subagent_type = (SELECT agent_type FROM agent_runs WHERE id = ?2)
                     ORDER BY ts, rowid LIMIT 1",
                )?
                .query_row(params![sid, run.id], |r| r.get(0))
                .optional()?;
            if let Some(other) = other {
                self.link(run.id, &other)?;
            }
        }
        Ok(())
    }

    fn delegation_denied(&self, tu: &str) -> Result<bool> {
        Ok(self
            .s
            .conn()
            .prepare_cached(
                "SELECT 1 FROM delegations WHERE tool_use_id = ?1 AND status = 'denied'",
            )?
            .query_row([tu], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn tool_failed(&self, e: &Ev) -> Result<()> {
        if let Some(aid) = &e.agent_id {
            self.exec(
                "UPDATE OR FAIL agent_runs SET hook_tool_errors = hook_tool_errors + 1 WHERE agent_id = ?1",
                [aid],
            )?;
            self.exec(
                "UPDATE OR FAIL agent_runs SET tool_errors = hook_tool_errors WHERE agent_id = ?1 AND has_summary = 0",
                [aid],
            )?;
        }
        Ok(())
    }

    fn subagent_stopped(&self, e: &Ev) -> Result<()> {
        let Some(aid) = &e.agent_id else {
            return Ok(());
        };
        let run = match self.run(aid)? {
            Some(r) => r,
            None => {
                let t = e.agent_type.clone().filter(|t| !t.is_empty());
                let r = self.insert_run(
                    aid,
                    Source::ClaudeCode.as_str(),
                    e,
                    t.as_deref().unwrap_or("(fork)"),
                    None,
                )?;
                if t.is_none() {
                    // Stop without start and without a type: an internal fork, not a user agent.
                    self.s.conn().execute(
                        "UPDATE OR FAIL agent_runs SET internal = 1 WHERE id = ?1",
                        [r.id],
                    )?;
                }
                self.run_by_id(r.id)?
            }
        };
        // SubagentStop may fire twice: the first one (by time) ends the run. One after the
        // session's end means the agent finished after all: it replaces the session end's
        // cancellation. Its time beats any other source's (the Agent tool's result, which
        // Claude Code fires just after it, may have committed first); a duration Claude Code
        // reported stays.
        self.reopen_if_session_ended(&run)?;
        // The host reading the hook took (if any) goes into the same statement; both forms are
        // built once.
        static STOP: LazyLock<[String; 2]> = LazyLock::new(|| {
            let end = format!(
                "(CASE WHEN ended_by = 'subagent_stop' THEN {} ELSE ?2 END)",
                min_sql("end_ms", "?2")
            );
            let stop = format!(
                "UPDATE OR FAIL agent_runs SET stops = stops + 1,
                    duration_ms = coalesce(CASE WHEN ended_by = 'tool_result_timed' THEN duration_ms
                      WHEN ended_by = 'subagent_stop' AND end_ms <= ?2 THEN duration_ms END,
                      {filled}),
                    end_ms = {end},
                    ended_by = 'subagent_stop',
                    status = CASE WHEN status = 'running' THEN 'success' ELSE status END,
                    outcome = coalesce(outcome, ?3)",
                filled = max_sql(&format!("{end} - start_ms"), "0"),
            );
            [
                format!("{stop} WHERE id = ?1"),
                format!(
                    "{stop}, {} WHERE id = ?1",
                    host_sets(Side::Stop, "?4", "?5", "?6")
                ),
            ]
        });
        let outcome = e
            .json()
            .get("last_assistant_message")
            .and_then(Value::as_str)
            .map(|s| truncate(s, 500));
        match e.host_pid {
            None => self.exec(&STOP[0], params![run.id, e.ts, outcome])?,
            Some(pid) => self.exec(
                &STOP[1],
                params![run.id, e.ts, outcome, pid, e.host_cpu_ms, e.host_rss_kb],
            )?,
        };
        Ok(())
    }

    #[allow(clippy::too_many_lines)] // one summary applied field by field, each with its precedence rule
    fn transcript_summarised(&self, e: &Ev) -> Result<()> {
        let Some(aid) = &e.agent_id else {
            return Ok(());
        };
        let v = e.json();
        let summary: Summary = v
            .get("summary")
            .cloned()
            .and_then(|s| serde_json::from_value(s).ok())
            .unwrap_or_default();
        let meta: Option<WireAgentMeta> = v
            .get("meta")
            .cloned()
            .and_then(|m| serde_json::from_value(m).ok());
        let meta_tu = meta.as_ref().and_then(|m| m.tool_use_id.clone());
        let run = match self.run(aid)? {
            Some(r) => r,
            None => {
                // A placeholder made at the failure, now that we know the agent's real id.
                let placeholder = match &meta_tu {
                    Some(tu) => self.run(&format!("tool:{tu}"))?,
                    None => None,
                };
                match placeholder {
                    Some(p) => {
                        self.exec(
                            "UPDATE OR FAIL agent_runs SET agent_id = ?2 WHERE id = ?1",
                            params![p.id, aid],
                        )?;
                        self.exec(
                            "UPDATE OR FAIL delegations SET agent_id = ?2 WHERE agent_id = ?1",
                            params![format!("tool:{}", meta_tu.as_deref().unwrap_or("")), aid],
                        )?;
                        self.run_by_id(p.id)?
                    }
                    None => {
                        let t = meta
                            .as_ref()
                            .and_then(|m| m.agent_type.clone())
                            .unwrap_or_else(|| "unknown".into());
                        let r = self.insert_run(
                            aid,
                            Source::ClaudeCode.as_str(),
                            e,
                            &t,
                            summary.first_ts,
                        )?;
                        if let Some(tu) = &meta_tu {
                            // The Agent tool failed before we knew this agent: apply it now.
                            self.exec(
                                "UPDATE OR FAIL agent_runs SET (status, error, end_ms) =
                                   (SELECT d.status, d.error, d.end_ms FROM delegations d WHERE d.tool_use_id = ?2)
                                 WHERE id = ?1 AND EXISTS (SELECT 1 FROM delegations d WHERE d.tool_use_id = ?2 AND d.status IS NOT NULL)",
                                params![r.id, tu],
                            )?;
                        }
                        self.run_by_id(r.id)?
                    }
                }
            }
        };
        if let Some(m) = &meta {
            if let Some(tu) = &m.tool_use_id {
                if run.tool_use_id.as_deref() != Some(tu.as_str()) {
                    self.relink(&run, tu)?;
                }
            }
            // The sidecar is Claude Code's own word on the hierarchy.
            self.exec(
                "UPDATE OR FAIL agent_runs SET parent_agent_id = coalesce(?2, parent_agent_id), depth = coalesce(?3, depth),
                    description = coalesce(description, ?4), finished = ?5,
                    background = CASE WHEN ?6 = 'background' THEN 1 ELSE background END,
                    fork = max(fork, coalesce(?7, 0)), name = coalesce(name, ?8), effort = coalesce(effort, ?9),
                    worktree_path = coalesce(worktree_path, ?10) WHERE id = ?1",
                params![
                    run.id,
                    m.parent_agent_id,
                    m.spawn_depth,
                    m.description,
                    m.finished,
                    m.request_shape,
                    m.is_fork,
                    m.name,
                    m.effort.as_ref().and_then(wire::effort_level),
                    m.worktree_path
                ],
            )?;
            if m.finished == Some(true) && !summary.ended_in_api_error {
                // Claude Code's own word that the agent completed, for a run whose stop no hook
                // reported (its SubagentStop lost, say): it ended by the time this was read.
                self.exec(
                    "UPDATE OR FAIL agent_runs SET status = 'success', end_ms = coalesce(end_ms, ?2)
                     WHERE id = ?1 AND status = 'running' AND end_ms IS NULL",
                    params![run.id, e.ts],
                )?;
            }
            if m.stopped_by_user == Some(true) {
                // Stopped by the user: no SubagentStop comes for a killed agent.
                self.exec(
                    "UPDATE OR FAIL agent_runs SET status = 'cancelled', end_ms = coalesce(end_ms, ?2)
                     WHERE id = ?1 AND status IN ('running', 'success')",
                    params![run.id, summary.last_ts.unwrap_or(e.ts)],
                )?;
            }
        }
        self.exec("DELETE FROM run_tools WHERE run_id = ?1", [run.id])?;
        for (tool, n) in &summary.tools {
            self.exec(
                "INSERT OR FAIL INTO run_tools (run_id, tool, calls, errors) VALUES (?1, ?2, ?3, ?4)",
                params![run.id, tool, n.calls, n.errors],
            )?;
        }
        let model = if summary.models.is_empty() {
            None
        } else {
            Some(summary.models.join(","))
        };
        self.exec(
            "UPDATE OR FAIL agent_runs SET has_summary = 1, tool_calls = ?2, tool_errors = ?3, lines_added = ?4, lines_removed = ?5,
                api_errors = ?6, model = coalesce(?7, model), start_ms = coalesce(start_ms, ?8) WHERE id = ?1",
            params![
                run.id,
                summary.tool_calls(),
                summary.tool_errors(),
                summary.lines_added,
                summary.lines_removed,
                summary.api_errors.len() as i64,
                model,
                summary.first_ts
            ],
        )?;
        // The outcome (docs/metrics.md, "Outcome"); a summary written before schema 10 says
        // nothing of it (None), and leaves what a later one said.
        if summary.files_created.is_some() {
            let t = summary.tests.as_ref();
            self.exec(
                "UPDATE OR FAIL agent_runs SET tests_passed = ?2, tests_failed = ?3, tests_skipped = ?4, test_runner = ?5,
                    files_created = ?6, files_modified = ?7, commands_failed = ?8, tool_ms = ?9 WHERE id = ?1",
                params![
                    run.id,
                    t.map(|t| t.passed),
                    t.map(|t| t.failed),
                    t.map(|t| t.skipped),
                    t.map(|t| t.runner.as_str()),
                    summary.files_created,
                    summary.files_modified,
                    summary.commands_failed,
                    summary.tool_ms
                ],
            )?;
        }
        if summary.ended_in_api_error
            && matches!(
                RunStatus::parse(&run.status),
                Some(RunStatus::Running | RunStatus::Success)
            )
        {
            self.exec(
                "UPDATE OR FAIL agent_runs SET status = 'failure', error = coalesce(error, ?2), end_ms = coalesce(end_ms, ?3) WHERE id = ?1",
                params![run.id, summary.api_errors.last(), summary.last_ts.unwrap_or(e.ts)],
            )?;
        }
        self.record_metrics(run.id, &summary.metrics, e.ts)?;
        // A re-read by `analyze rebuild --metrics` names the definitions it applied: those that
        // found nothing in the transcript leave the run without a value (not an older one).
        if let Some(Value::Array(defined)) = v.get("metrics_defined") {
            let gone: Vec<String> = defined
                .iter()
                .filter_map(Value::as_str)
                .filter(|n| !summary.metrics.contains_key(*n))
                .map(str::to_string)
                .collect();
            crate::metrics::store::forget(self.s.conn(), run.id, &gone)?;
        }
        self.recompute_usage(run.id, e.session_id.as_deref(), aid)?;
        self.fill_duration(run.id)?;
        Ok(())
    }

    /// Stores custom metric values for run `id` under its agent type (docs/metrics.md, "Custom
    /// metrics"): past the type's 1,000 names a new name is refused, nothing else is lost.
    fn record_metrics(
        &self,
        id: i64,
        values: &std::collections::BTreeMap<String, f64>,
        ts: i64,
    ) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let agent_type: String = self.one(
            "SELECT agent_type FROM agent_runs WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        crate::metrics::store::record(self.s.conn(), id, &agent_type, values, ts)?;
        Ok(())
    }

    // ── generic orchestrators and explicit workflows ─────────────────────────────────────

    fn generic_start(&self, e: &Ev) -> Result<()> {
        let Some(aid) = &e.agent_id else {
            return Ok(());
        };
        let v = e.json();
        let name = e.agent_type.clone().unwrap_or_else(|| "unknown".into());
        let task = v
            .get("task_description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let parent = v.get("parent_id").and_then(wire::as_string);
        let workflow = v.get("workflow_id").and_then(wire::as_string);
        let complexity = v
            .get("complexity_score")
            .and_then(|c| {
                c.as_f64()
                    .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
            })
            .map(|c| (c.round() as i64).clamp(1, 10));
        let run = match self.run(aid)? {
            Some(r) => r,
            None => self.insert_run(aid, Source::Generic.as_str(), e, &name, Some(e.ts))?,
        };
        let depth: i64 = match &parent {
            Some(p) => {
                self.one(
                    "SELECT depth FROM agent_runs WHERE agent_id = ?1",
                    [p],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0)
                    + 1
            }
            None => 1,
        };
        let context = v.get("context").map(|c| {
            if let Some(s) = c.as_str() {
                s.to_string()
            } else {
                c.to_string()
            }
        });
        self.exec(
            // A stop that arrived first made the run with its own time as the start: the start's
            // time wins (and the duration follows), the session is the start's.
            "UPDATE OR FAIL agent_runs SET agent_type = ?2, category = ?3, description = ?4, complexity = ?5, parent_agent_id = ?6,
                workflow_id = coalesce(?7, workflow_id), depth = ?8, start_ms = min(coalesce(start_ms, ?9), ?9), prompt = ?10,
                session_id = coalesce(session_id, ?11),
                duration_ms = CASE WHEN end_ms IS NULL THEN duration_ms ELSE max(end_ms - min(coalesce(start_ms, ?9), ?9), 0) END
             WHERE id = ?1",
            params![
                run.id,
                name,
                self.classify.category(&name),
                task,
                complexity.unwrap_or_else(|| self.classify.complexity(&task)),
                parent,
                workflow,
                depth,
                e.ts,
                context.map(|c| truncate(&c, 4000)),
                e.session_id
            ],
        )?;
        self.host_read(run.id, e, Side::Start)
    }

    fn generic_stop(&self, e: &Ev) -> Result<()> {
        let Some(aid) = &e.agent_id else {
            return Ok(());
        };
        let v = e.json();
        let run = match self.run(aid)? {
            Some(r) => r,
            None => self.insert_run(aid, Source::Generic.as_str(), e, "unknown", Some(e.ts))?,
        };
        let success = v.get("success").and_then(wire::as_bool).unwrap_or(true);
        let status = if success {
            RunStatus::Success
        } else {
            RunStatus::Failure
        }
        .as_str();
        let error = v.get("error").and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| (!x.is_null()).then(|| x.to_string()))
        });
        let outcome = v
            .get("outcome_summary")
            .and_then(Value::as_str)
            .map(|s| truncate(s, 500));
        let model = v.get("model").and_then(Value::as_str).map(str::to_string);
        let (mut input, mut output, mut cread, mut cwrite) = (0i64, 0i64, 0i64, 0i64);
        let mut split = false;
        match v.get("tokens") {
            Some(Value::Object(t)) => {
                let g = |k: &str| t.get(k).and_then(wire::as_i64).unwrap_or(0);
                input = g("input");
                output = g("output");
                cread = g("cache_read");
                cwrite = g("cache_write");
                split = true;
            }
            Some(t) => input = wire::as_i64(t).unwrap_or(0),
            None => {}
        }
        let cost = match (&model, split) {
            (Some(m), true) => self
                .prices
                .lookup(m)
                .map(|p| p.cost(input, output, cread, cwrite, 0)),
            _ => None,
        };
        self.exec(
            "UPDATE OR FAIL agent_runs SET status = ?2, error = ?3, outcome = ?4, end_ms = ?5, model = coalesce(?6, model),
                input_tokens = ?7, output_tokens = ?8, cache_read_tokens = ?9, cache_write_tokens = ?10, cost_usd = ?11,
                stops = stops + 1 WHERE id = ?1",
            params![run.id, status, error.map(|x| truncate(&x, 2000)), outcome, e.ts, model, input, output, cread, cwrite, cost],
        )?;
        self.fill_duration(run.id)?;
        // `"metrics": {"name": number, …}` (docs/events.md): non-numbers and invalid names ignored.
        self.record_metrics(
            run.id,
            &crate::metrics::store::values_of(v.get("metrics")),
            e.ts,
        )?;
        self.host_read(run.id, e, Side::Stop)
    }

    fn workflow_start(&self, e: &Ev) -> Result<()> {
        let v = e.json();
        let id = e.session_id.clone().unwrap_or_default();
        let plan = v.get("plan").map(|p| p.to_string());
        let est = v
            .get("estimated_duration")
            .and_then(Value::as_f64)
            .map(|s| (s * 1000.0) as i64);
        let project = v.get("project").and_then(Value::as_str);
        self.exec(
            "INSERT OR FAIL INTO workflows (workflow_id, kind, project, plan, estimated_ms, start_ms) VALUES (?1, 'explicit', ?2, ?3, ?4, ?5)
             ON CONFLICT (workflow_id) DO UPDATE SET project = coalesce(excluded.project, project), plan = excluded.plan,
               estimated_ms = coalesce(excluded.estimated_ms, estimated_ms), start_ms = excluded.start_ms",
            params![id, project, plan, est, e.ts],
        )?;
        Ok(())
    }

    fn handoff(&self, e: &Ev) -> Result<()> {
        let v = e.json();
        let id = e.session_id.clone().unwrap_or_default();
        self.exec(
            "INSERT OR FAIL INTO workflows (workflow_id, kind, start_ms) VALUES (?1, 'explicit', ?2) ON CONFLICT (workflow_id) DO NOTHING",
            params![id, e.ts],
        )?;
        self.exec(
            "INSERT OR FAIL INTO handoffs (workflow_id, ts, from_agent, to_agent, artifacts) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                e.ts,
                v.get("from").and_then(Value::as_str),
                v.get("to").and_then(Value::as_str),
                v.get("artifacts").map(|a| a.to_string())
            ],
        )?;
        Ok(())
    }

    fn workflow_complete(&self, e: &Ev) -> Result<()> {
        let v = e.json();
        let id = e.session_id.clone().unwrap_or_default();
        let dur = v
            .get("duration")
            .and_then(Value::as_f64)
            .map(|s| (s * 1000.0) as i64);
        let success = v.get("success").and_then(wire::as_bool);
        let agents = v.get("agents").map(|a| a.to_string());
        self.exec(
            "INSERT OR FAIL INTO workflows (workflow_id, kind, start_ms, end_ms, reported_ms, reported_success, reported_agents)
             VALUES (?1, 'explicit', ?2 - coalesce(?3, 0), ?2, ?3, ?4, ?5)
             ON CONFLICT (workflow_id) DO UPDATE SET end_ms = excluded.end_ms, reported_ms = excluded.reported_ms,
               reported_success = excluded.reported_success, reported_agents = excluded.reported_agents",
            params![id, e.ts, dur, success, agents],
        )?;
        Ok(())
    }

    // ── helpers ───────────────────────────────────────────────────────────────────────────

    // ── the host process's readings ───────────────────────────────────────────────────────

    /// Applies a start or stop's reading of the host process (docs/metrics.md, "Resources") to
    /// run `id`. A process's CPU time only grows, so the earliest start is the one with the least
    /// CPU and the last stop the one with the most: the minimum and maximum give the same result
    /// in any order. Readings from more than one process (a session resumed in a new Claude Code)
    /// make `host_pid` 0 and leave the figures empty, also in any order.
    fn host_read(&self, id: i64, e: &Ev, side: Side) -> Result<()> {
        let Some(pid) = e.host_pid else {
            return Ok(()); // no /proc where the hook ran, or an imported event
        };
        let sql = format!(
            "UPDATE OR FAIL agent_runs SET {} WHERE id = ?1",
            host_sets(side, "?2", "?3", "?4")
        );
        match side {
            Side::Start => self.exec(&sql, params![id, pid, e.host_cpu_ms])?,
            Side::Stop => self.exec(&sql, params![id, pid, e.host_cpu_ms, e.host_rss_kb])?,
        };
        Ok(())
    }

    fn insert_run(
        &self,
        aid: &str,
        source: &str,
        e: &Ev,
        agent_type: &str,
        start: Option<i64>,
    ) -> Result<RunRef> {
        let internal = aid.starts_with("acompact");
        let cwd = e
            .json()
            .get("cwd")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.exec(
            "INSERT OR FAIL INTO agent_runs (agent_id, source, session_id, workflow_id, agent_type, category, start_ms, internal, cwd, complexity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                aid,
                source,
                e.session_id,
                e.prompt_id,
                agent_type,
                self.classify.category(agent_type),
                start,
                internal,
                cwd,
                classify::DEFAULT_COMPLEXITY
            ],
        )?;
        Ok(self.run(aid)?.expect("just inserted"))
    }

    fn run(&self, aid: &str) -> Result<Option<RunRef>> {
        self.run_where("agent_id = ?1", aid)
    }

    fn run_by_tool_use(&self, tu: &str) -> Result<Option<RunRef>> {
        self.run_where("tool_use_id = ?1", tu)
    }

    fn run_by_id(&self, id: i64) -> Result<RunRef> {
        Ok(self.run_where("id = ?1", id)?.expect("run exists"))
    }

    fn run_where(&self, cond: &str, key: impl rusqlite::ToSql) -> Result<Option<RunRef>> {
        let sql = format!(
            "SELECT id, tool_use_id, status, start_ms, end_ms, duration_ms, has_summary, internal FROM agent_runs WHERE {cond} LIMIT 1"
        );
        Ok(self
            .s
            .conn()
            .prepare_cached(&sql)?
            .query_row([key], |r| {
                Ok(RunRef {
                    id: r.get(0)?,
                    tool_use_id: r.get(1)?,
                    status: r.get(2)?,
                    start_ms: r.get(3)?,
                    end_ms: r.get(4)?,
                    duration_ms: r.get(5)?,
                    has_summary: r.get(6)?,
                    internal: r.get(7)?,
                })
            })
            .optional()?)
    }

    fn delegation_type(&self, tu: &str) -> Result<Option<String>> {
        Ok(self
            .one(
                "SELECT subagent_type FROM delegations WHERE tool_use_id = ?1",
                [tu],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    fn delegation_ts(&self, tu: &str) -> Result<Option<i64>> {
        Ok(self
            .one(
                "SELECT ts FROM delegations WHERE tool_use_id = ?1",
                [tu],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Gives run `id` the delegation `tu`: task, caller, depth, workflow, complexity.
    #[allow(clippy::too_many_lines)] // one delegation's fields given to the run, one statement
    fn link(&self, id: i64, tu: &str) -> Result<()> {
        let d = self.one(
                "SELECT caller_agent, subagent_type, description, prompt, background, prompt_id, name, effort, isolation,
                    status, error, end_ms
                 FROM delegations WHERE tool_use_id = ?1",
                [tu],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        [
                            r.get::<_, Option<String>>(6)?,
                            r.get::<_, Option<String>>(7)?,
                            r.get::<_, Option<String>>(8)?,
                        ],
                        (
                            r.get::<_, Option<String>>(9)?,
                            r.get::<_, Option<String>>(10)?,
                            r.get::<_, Option<i64>>(11)?,
                        ),
                    ))
                },
            )
            .optional()?;
        let (aid, agent_type): (String, String) = self.one(
            "SELECT agent_id, agent_type FROM agent_runs WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some((
            caller,
            sub_type,
            desc,
            prompt,
            bg,
            prompt_id,
            [name, effort, isolation],
            failed,
        )) = d
        else {
            self.exec(
                "UPDATE OR FAIL agent_runs SET tool_use_id = ?2 WHERE id = ?1",
                params![id, tu],
            )?;
            return Ok(());
        };
        self.exec(
            "UPDATE OR FAIL delegations SET agent_id = ?2 WHERE tool_use_id = ?1",
            params![tu, aid],
        )?;
        let parent_depth: i64 = match &caller {
            Some(p) => self
                .one(
                    "SELECT depth FROM agent_runs WHERE agent_id = ?1",
                    [p],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(1),
            None => 0,
        };
        let desc_text = desc.clone().unwrap_or_default();
        let mut complexity = self.classify.complexity(&desc_text);
        if complexity == classify::DEFAULT_COMPLEXITY && desc_text.trim().is_empty() {
            complexity = self.classify.complexity(prompt.as_deref().unwrap_or(""));
        }
        // The delegation names the type of a run that started without one; the category
        // follows the type.
        let agent_type = match &sub_type {
            Some(t) if agent_type == "unknown" || agent_type == "(fork)" => t.clone(),
            _ => agent_type,
        };
        self.exec(
            "UPDATE OR FAIL agent_runs SET tool_use_id = ?2, parent_agent_id = ?3, depth = ?4, description = coalesce(?5, description),
                prompt = coalesce(?6, prompt), background = CASE WHEN ?7 > background THEN ?7 ELSE background END,
                workflow_id = coalesce(?8, workflow_id),
                complexity = ?9, agent_type = ?10, category = ?11,
                name = coalesce(?12, name), effort = coalesce(?13, effort), isolation = coalesce(?14, isolation),
                fork = CASE WHEN ?15 IS 'fork' AND fork < 1 THEN 1 ELSE fork END
             WHERE id = ?1",
            params![
                id,
                tu,
                caller,
                parent_depth + 1,
                desc,
                prompt,
                bg,
                prompt_id,
                complexity,
                agent_type,
                self.classify.category(&agent_type),
                name,
                effort,
                isolation,
                sub_type
            ],
        )?;
        // The Agent tool failed before this run was known to be its agent (the SubagentStart
        // committed after the PostToolUseFailure): the failure is this run's.
        if let (Some(status), error, Some(end)) = failed {
            self.apply_tool_failure(&self.run_by_id(id)?, &status, error.as_deref(), end)?;
        }
        Ok(())
    }

    /// Moves run `run` to delegation `tu`; whichever run held `tu` takes `run`'s old delegation.
    fn relink(&self, run: &RunRef, tu: &str) -> Result<()> {
        let holder = self.run_by_tool_use(tu)?;
        let old = run.tool_use_id.clone();
        self.exec(
            "UPDATE OR FAIL agent_runs SET tool_use_id = NULL WHERE id = ?1",
            [run.id],
        )?;
        if let Some(old) = &old {
            self.exec(UNDO_DELEGATION_FAILURE, params![run.id, old])?;
            self.exec(
                "UPDATE OR FAIL delegations SET agent_id = NULL WHERE tool_use_id = ?1",
                [old],
            )?;
        }
        if let Some(h) = holder.filter(|h| h.id != run.id) {
            self.exec(UNDO_DELEGATION_FAILURE, params![h.id, tu])?;
            self.exec(
                "UPDATE OR FAIL agent_runs SET tool_use_id = NULL WHERE id = ?1",
                [h.id],
            )?;
            self.exec(
                "UPDATE OR FAIL delegations SET agent_id = NULL WHERE tool_use_id = ?1",
                [tu],
            )?;
            if let Some(old) = &old {
                self.link(h.id, old)?;
            }
        }
        self.link(run.id, tu)
    }

    /// Undoes the session end's cancellation of `run` ([`REOPEN_SESSION_ENDED`]); only a
    /// cancelled run can carry one, which spares the statement on every other run.
    fn reopen_if_session_ended(&self, run: &RunRef) -> Result<()> {
        if run.status == RunStatus::Cancelled.as_str() {
            self.exec(REOPEN_SESSION_ENDED, [run.id])?;
        }
        Ok(())
    }

    /// duration = end − start when Claude Code did not report one. The two stops every run gets
    /// (SubagentStop, the Agent tool's result) fill it in their own UPDATE instead: one statement
    /// less per run, each rewriting the row and the four indexes that hold `duration_ms`.
    fn fill_duration(&self, id: i64) -> Result<()> {
        let r = self.run_by_id(id)?;
        if r.duration_ms.is_none() {
            if let (Some(s), Some(e)) = (r.start_ms, r.end_ms) {
                self.exec(
                    "UPDATE OR FAIL agent_runs SET duration_ms = ?2 WHERE id = ?1",
                    params![id, (e - s).max(0)],
                )?;
            }
        }
        Ok(())
    }

    /// Tokens and cost of a run from its de-duplicated usage rows (priced per response).
    fn recompute_usage(&self, id: i64, session: Option<&str>, aid: &str) -> Result<()> {
        let t = crate::pricing::price_usage(
            self.s.conn(),
            self.prices,
            session.unwrap_or(""),
            Some(aid),
        )?;
        if t.responses == 0 {
            return Ok(());
        }
        self.exec(
            "UPDATE OR FAIL agent_runs SET input_tokens = ?2, output_tokens = ?3, cache_read_tokens = ?4, cache_write_tokens = ?5, cost_usd = ?6 WHERE id = ?1",
            params![id, t.input, t.output, t.cache_read, t.cache_write, t.cost_usd],
        )?;
        Ok(())
    }
}
