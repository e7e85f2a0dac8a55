//! `GET /api/v1/stream`: Server-Sent Events within ~100 ms of a hook's append.
//!
//! One watcher thread for all clients: every [`POLL`] it asks its own connection for `PRAGMA
//! data_version` (which changes only when another connection committed: a hook, an import,
//! another reader's derivation). On a change it derives what is new, as every reader does, then
//! compares the runs and turns that can have changed with what it last saw, and broadcasts one
//! event per change: `agent_started`, `agent_finished`, `turn_started`, `turn_ended`. Idle, a
//! poll is one PRAGMA on an open connection. `lost` is decided at read time and nothing is
//! written when a run crosses `lost_after_minutes`, so every [`LOST_CHECK`] the watcher also
//! compares, in memory, the starts of the runs and turns it holds open with the threshold, and
//! reads them again when one has crossed it. Streams are bounded ([`super::MAX_STREAMS`]), carry
//! a heartbeat comment every [`HEARTBEAT`], and end at shutdown.

use super::{turns, ApiError, State};
use crate::analyze::workflows::Status;
use crate::analyze::Ctx;
use crate::error::Result;
use crate::vocab::{RunStatus, WorkflowKind};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use rusqlite::params;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How often the watcher looks for a commit.
pub(super) const POLL: Duration = Duration::from_millis(100);
/// How often the watcher looks, without a commit, for runs and turns past the lost threshold
/// (in [`POLL`]s).
const LOST_CHECK: u64 = 10;
/// How often an idle stream sends a comment (keeps proxies and browsers from timing out).
pub(super) const HEARTBEAT: Duration = Duration::from_secs(15);
/// Runs remembered after they ended (to tell a changed outcome from one already sent).
const REMEMBER: usize = 10_000;

/// One event, as every stream sends it.
#[derive(Debug)]
pub(crate) struct Message {
    /// Increases by one per event since the server started (the SSE `id`).
    pub(crate) id: u64,
    pub(crate) event: &'static str,
    pub(crate) data: String,
}

/// The handler: 503 past [`super::MAX_STREAMS`] open streams.
pub(crate) async fn handler(
    axum::extract::State(state): axum::extract::State<State>,
) -> Result<Response, ApiError> {
    let permit = state
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: json!({"error": format!("too many live streams (at most {})", super::MAX_STREAMS)}),
        })?;
    let rx = state.events.subscribe();
    let ready = Event::default()
        .event("ready")
        .data(json!({"poll_ms": POLL.as_millis() as u64}).to_string());
    let first = futures_util::stream::once(async move { Ok::<_, Infallible>(ready) });
    let rest = futures_util::stream::unfold(
        (rx, state.shutdown.clone(), permit),
        |(mut rx, mut stop, permit)| async move {
            let got = tokio::select! {
                _ = stop.wait_for(|s| *s) => None,
                m = rx.recv() => Some(m),
            };
            let event = match got? {
                Ok(m) => Event::default()
                    .id(m.id.to_string())
                    .event(m.event)
                    .data(&m.data),
                Err(broadcast::error::RecvError::Lagged(n)) => Event::default()
                    .event("lagged")
                    .data(json!({"missed": n}).to_string()),
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            Some((Ok::<_, Infallible>(event), (rx, stop, permit)))
        },
    );
    use futures_util::StreamExt;
    Ok(Sse::new(first.chain(rest))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
        .into_response())
}

/// The watcher thread.
pub(crate) struct Watcher;

impl Watcher {
    /// Takes the first snapshot of `db` now (before the server listens, so whatever a hook
    /// appends once a client can connect is a change), then watches it on its own thread
    /// until `stop` turns true.
    pub(crate) fn spawn(
        db: PathBuf,
        tx: broadcast::Sender<Arc<Message>>,
        stop: watch::Receiver<bool>,
    ) -> Result<std::thread::JoinHandle<()>> {
        let first = start(&db)?;
        Ok(std::thread::Builder::new()
            .name("serve-watch".into())
            .spawn(move || watch_loop(&db, first, &tx, &stop))
            .expect("a thread can be started"))
    }
}

fn watch_loop(
    db: &std::path::Path,
    first: (Ctx, Snapshot, i64),
    tx: &broadcast::Sender<Arc<Message>>,
    stop: &watch::Receiver<bool>,
) {
    let mut seq = 0u64;
    let mut open: Option<(Ctx, Snapshot, i64)> = Some(first);
    let mut complained = false;
    let mut failures = 0u32;
    let mut ticks = 0u64;
    while !*stop.borrow() {
        std::thread::sleep(POLL);
        ticks += 1;
        if open.is_none() {
            match start(db) {
                Ok(o) => {
                    open = Some(o);
                    complained = false;
                }
                Err(e) => {
                    if !complained {
                        eprintln!("analyze serve: the live stream cannot read the database: {e} (retrying)");
                    }
                    complained = true;
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            }
        }
        let Some((ctx, snap, version)) = open.as_mut() else {
            continue;
        };
        // Once a second: a database replaced under us (doctor --recover) is reopened.
        if ticks.is_multiple_of(10) && !ctx.store.file_is_current() {
            open = None;
            continue;
        }
        match tick(ctx, snap, version, ticks.is_multiple_of(LOST_CHECK)) {
            Ok(changes) => {
                for (event, data) in changes {
                    seq += 1;
                    // No receiver is not an error: nobody is watching.
                    let _ = tx.send(Arc::new(Message {
                        id: seq,
                        event,
                        data: data.to_string(),
                    }));
                }
            }
            Err(e) => {
                // Most failures pass (a busy moment): the next poll derives and compares again
                // against the same snapshot, so nothing that changed meanwhile is dropped. A fresh
                // connection (and a fresh snapshot, which sends nothing for what exists) only
                // after failing for a second.
                failures += 1;
                *version = -1;
                if failures == 1 {
                    eprintln!("analyze serve: the live stream failed ({e}); retrying");
                }
                if failures >= 10 {
                    eprintln!("analyze serve: the live stream keeps failing ({e}); reopening");
                    open = None;
                    failures = 0;
                }
                continue;
            }
        }
        failures = 0;
    }
}

/// Opens the watcher's connection and takes the first snapshot (no events for what exists).
fn start(db: &std::path::Path) -> Result<(Ctx, Snapshot, i64)> {
    let ctx = Ctx::open(Some(db))?;
    let snap = Snapshot::take(&ctx)?;
    let version = data_version(&ctx)?;
    Ok((ctx, snap, version))
}

fn data_version(ctx: &Ctx) -> Result<i64> {
    Ok(ctx
        .store
        .conn()
        .query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// One poll: nothing unless another connection committed since the last one or, when
/// `check_lost`, a run or turn held open has crossed the lost threshold since the last look
/// (nothing was committed, so nothing needs deriving).
fn tick(
    ctx: &mut Ctx,
    snap: &mut Snapshot,
    version: &mut i64,
    check_lost: bool,
) -> Result<Vec<(&'static str, Value)>> {
    let v = data_version(ctx)?;
    if v == *version {
        if !check_lost {
            return Ok(Vec::new());
        }
        let now = crate::analyze::now();
        if !snap.lost_due(now - ctx.cfg.lost_after_minutes * 60_000) {
            return Ok(Vec::new());
        }
        ctx.now = now;
        return snap.delta(ctx);
    }
    *version = v;
    ctx.now = crate::analyze::now();
    crate::derive::refresh(&ctx.store, &ctx.cfg, &ctx.prices)?;
    snap.delta(ctx)
}

/// What the watcher last saw of a run: its outcome (`status`, `end_ms`), and its start (to
/// notice it crossing the lost threshold).
#[derive(Debug, Clone)]
struct RunSeen {
    status: String,
    end_ms: Option<i64>,
    start_ms: Option<i64>,
}

impl RunSeen {
    fn running(&self) -> bool {
        self.status == RunStatus::Running.as_str()
    }
}

/// What the watcher last saw of a turn.
#[derive(Debug, Clone, PartialEq)]
struct TurnSeen {
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    /// `turn_ended` was sent: it has an end, or it had none past the lost threshold.
    ended: bool,
    status: Status,
}

/// What the streams have been told: the runs still running (and recently ended ones), the
/// turns of the last `lost_after_minutes`, where the run ids and the event log stood, and the
/// lost threshold of the last read (what started before it has been read as lost already).
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    last_run_id: i64,
    events_cursor: i64,
    lost_before: i64,
    runs: HashMap<String, RunSeen>,
    turns: HashMap<String, TurnSeen>,
}

fn max_run_id(ctx: &Ctx) -> Result<i64> {
    Ok(ctx
        .store
        .conn()
        .query_row("SELECT coalesce(max(id), 0) FROM agent_runs", [], |r| {
            r.get(0)
        })?)
}

impl Snapshot {
    /// The state as it is now: running runs and recent turns, without events.
    pub(crate) fn take(ctx: &Ctx) -> Result<Snapshot> {
        let mut s = Snapshot {
            last_run_id: max_run_id(ctx)?,
            events_cursor: ctx.store.derive_cursor()?,
            lost_before: ctx.lost_before(),
            ..Snapshot::default()
        };
        let c = ctx.store.conn();
        let mut stmt = c.prepare(
            "SELECT agent_id, end_ms, start_ms FROM agent_runs INDEXED BY runs_open
             WHERE end_ms IS NULL AND internal = 0 AND start_ms >= ?1 AND status = ?2",
        )?;
        let rows = stmt.query_map(
            params![ctx.lost_before(), RunStatus::Running.as_str()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            },
        )?;
        for row in rows {
            let (id, end_ms, start_ms) = row?;
            s.runs.insert(
                id,
                RunSeen {
                    status: RunStatus::Running.as_str().into(),
                    end_ms,
                    start_ms,
                },
            );
        }
        let mut stmt = c.prepare(&format!(
            "SELECT {} FROM workflows w WHERE w.kind = ?1 AND w.start_ms >= ?2",
            turns::columns()
        ))?;
        let mut rows = stmt.query(params![WorkflowKind::Turn.as_str(), ctx.lost_before()])?;
        while let Some(r) = rows.next()? {
            let (turn, _) = turns::from_row(ctx, r)?;
            let status = turn.status(ctx.lost_before());
            s.turns.insert(
                turn.id,
                TurnSeen {
                    start_ms: turn.start_ms,
                    end_ms: turn.end_ms,
                    ended: turn.end_ms.is_some(),
                    status,
                },
            );
        }
        Ok(s)
    }

    /// The changes since the last call, as (event, data), oldest run first.
    pub(crate) fn delta(&mut self, ctx: &Ctx) -> Result<Vec<(&'static str, Value)>> {
        let cursor = ctx.store.derive_cursor()?;
        let max_id = max_run_id(ctx)?;
        if cursor < self.events_cursor || max_id < self.last_run_id {
            // Rebuilt from scratch (`analyze rebuild`): ids restarted; start over quietly.
            *self = Snapshot::take(ctx)?;
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let touched = self.runs_delta(ctx, &mut out)?;
        self.turns_delta(ctx, &touched, &mut out)?;
        self.events_cursor = cursor;
        self.last_run_id = self.last_run_id.max(max_id);
        self.lost_before = ctx.lost_before();
        Ok(out)
    }

    /// Whether a run or turn held open started before `lost_before` but not before the last
    /// read's threshold: it has crossed the threshold since, and reads as lost now. In memory.
    pub(crate) fn lost_due(&self, lost_before: i64) -> bool {
        let crossed = |start: Option<i64>| {
            start.is_some_and(|s| (self.lost_before..lost_before).contains(&s))
        };
        self.runs
            .values()
            .any(|r| r.running() && crossed(r.start_ms))
            || self.turns.values().any(|t| !t.ended && crossed(t.start_ms))
    }

    /// Sends the runs' changes; returns the workflows of the runs that changed.
    fn runs_delta(
        &mut self,
        ctx: &Ctx,
        out: &mut Vec<(&'static str, Value)>,
    ) -> Result<HashSet<String>> {
        let mut touched = HashSet::new();
        let open: Vec<&String> = self
            .runs
            .iter()
            .filter(|(_, s)| s.running())
            .map(|(id, _)| id)
            .collect();
        let open = serde_json::to_string(&open)?;
        // The agents of the events derived since the last poll. Read in Rust: a packed event's
        // keys may be in its frame (`source` '': crate::store::packed).
        let mut keys = ctx.store.conn().prepare_cached(&format!(
            "SELECT {} FROM events WHERE id > ?1 AND (agent_id IS NOT NULL OR source = '')",
            crate::store::packed::KEYS_SQL
        ))?;
        let agents: HashSet<String> = keys
            .query_map([self.events_cursor], |r| {
                crate::store::packed::Keys::from_row(ctx.store.conn(), r, 0)
            })?
            .filter_map(|k| k.map(|k| k.agent_id).transpose())
            .collect::<rusqlite::Result<_>>()?;
        let agents = serde_json::to_string(&agents)?;
        // A union of three indexed lookups: written as one WHERE with ORs, SQLite scans every run.
        let sql = format!(
            "SELECT r.id, r.agent_id, r.agent_type, r.session_id, r.workflow_id, r.parent_agent_id, r.depth,
                    r.description, r.background, r.start_ms, r.end_ms, r.duration_ms, {st}, r.error,
                    r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens, r.cost_usd, r.model
             FROM agent_runs r
             WHERE r.internal = 0 AND r.id IN (
                SELECT id FROM agent_runs WHERE id > ?1
                UNION SELECT id FROM agent_runs WHERE agent_id IN (SELECT value FROM json_each(?2))
                UNION SELECT id FROM agent_runs
                      WHERE agent_id IN (SELECT value FROM json_each(?3)))
             ORDER BY r.id",
            st = RunStatus::effective_sql("r", ctx.lost_before())
        );
        let mut stmt = ctx.store.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(params![self.last_run_id, open, agents])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let agent_id: String = r.get(1)?;
            let status: String = r.get(12)?;
            let end_ms: Option<i64> = r.get(10)?;
            let start_ms: Option<i64> = r.get(9)?;
            let data = json!({
                "agent_id": agent_id,
                "agent_type": r.get::<_, String>(2)?,
                "session_id": r.get::<_, Option<String>>(3)?,
                "workflow_id": r.get::<_, Option<String>>(4)?,
                "parent": r.get::<_, Option<String>>(5)?,
                "depth": r.get::<_, i64>(6)?,
                "task": r.get::<_, Option<String>>(7)?,
                "background": r.get::<_, bool>(8)?,
                "status": status,
                "start": start_ms.map(crate::timeparse::format_ms),
                "end": end_ms.map(crate::timeparse::format_ms),
                "duration_ms": r.get::<_, Option<i64>>(11)?,
                "error": r.get::<_, Option<String>>(13)?,
                "tokens": r.get::<_, i64>(14)?,
                "cost_usd": r.get::<_, Option<f64>>(15)?,
                "model": r.get::<_, Option<String>>(16)?,
            });
            let workflow: Option<String> = r.get(4)?;
            let running = status == RunStatus::Running.as_str();
            let now = RunSeen {
                status,
                end_ms,
                start_ms,
            };
            let before = self.runs.get(&agent_id);
            if before.is_some_and(|b| b.status == now.status && b.end_ms == now.end_ms) {
                continue;
            }
            touched.extend(workflow);
            let was_running = before.is_some_and(RunSeen::running);
            if running {
                if !was_running {
                    out.push(("agent_started", data));
                }
            } else {
                // Started and finished between two polls: both events, in order.
                if before.is_none() && id > self.last_run_id {
                    out.push((
                        "agent_started",
                        with_status(&data, RunStatus::Running.as_str()),
                    ));
                }
                out.push(("agent_finished", data));
            }
            self.runs.insert(agent_id, now);
        }
        if self.runs.len() > REMEMBER {
            self.runs.retain(|_, s| s.running());
        }
        Ok(touched)
    }

    /// Sends the turns' changes. A turn is read again (with its agents, for its status) when
    /// it is new, its end changed, one of its runs changed (`touched`), or it has crossed the
    /// lost threshold; `turn_ended` goes out when it ends or crosses, and again when its status
    /// changes after that (a background agent finishing after the turn's Stop).
    fn turns_delta(
        &mut self,
        ctx: &Ctx,
        touched: &HashSet<String>,
        out: &mut Vec<(&'static str, Value)>,
    ) -> Result<()> {
        let open: Vec<&String> = self
            .turns
            .iter()
            .filter(|(_, t)| t.end_ms.is_none())
            .map(|(id, _)| id)
            .collect();
        let open = serde_json::to_string(&open)?;
        let lost_before = ctx.lost_before();
        // A union again: with an OR, SQLite walks the whole start index to keep the order.
        let mut stmt = ctx.store.conn().prepare_cached(&format!(
            "SELECT {}
             FROM workflows w
             WHERE w.kind = ?1 AND w.workflow_id IN (
                SELECT workflow_id FROM workflows WHERE start_ms >= ?2 UNION SELECT value FROM json_each(?3))
             ORDER BY w.start_ms, w.workflow_id",
            turns::columns()
        ))?;
        let mut rows = stmt.query(params![WorkflowKind::Turn.as_str(), lost_before, open])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let start: Option<i64> = r.get(3)?;
            let end: Option<i64> = r.get(4)?;
            let ended = end.is_some() || start.is_none_or(|s| s < lost_before);
            let before = self.turns.get(&id);
            let stale = match before {
                None => true,
                Some(b) => b.end_ms != end || (ended && !b.ended) || touched.contains(&id),
            };
            if !stale {
                continue;
            }
            let (turn, prompt) = turns::from_row(ctx, r)?;
            let status = turn.status(lost_before);
            let data = turns::data(&turn, prompt.as_deref(), status);
            if before.is_none() {
                out.push(("turn_started", data.clone()));
            }
            if ended && before.is_none_or(|b| !b.ended || b.end_ms != end || b.status != status) {
                out.push(("turn_ended", data));
            }
            self.turns.insert(
                id,
                TurnSeen {
                    start_ms: start,
                    end_ms: end,
                    ended,
                    status,
                },
            );
        }
        if self.turns.len() > REMEMBER {
            self.turns
                .retain(|_, t| t.end_ms.is_none_or(|e| e >= lost_before));
        }
        Ok(())
    }
}

fn with_status(data: &Value, status: &str) -> Value {
    let mut d = data.clone();
    d["status"] = json!(status);
    d["end"] = Value::Null;
    d["duration_ms"] = Value::Null;
    d
}
