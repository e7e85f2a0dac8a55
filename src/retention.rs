//! Retention (docs/retention.md): `analyze prune --older-than 90d` and config.json's
//! `retention_days` delete the raw event payloads of old sessions but keep everything a report
//! reads, then give the space back.
//!
//! The unit is a whole session: one whose every event is older than the cutoff and already
//! derived (id at or below the derivation cursor). Its events go; its projection rows (runs, tool
//! rows, metric values, turns, delegations, the session) and its share of each rollup stay, and
//! `pruned_sessions` remembers it, so that every re-derivation — `analyze rebuild`, a change of
//! [`crate::derive::RULES`], `doctor --recover` — keeps that part instead of wiping it
//! ([`keep_pruned`]): the log no longer holds what it was derived from. An event without a
//! session id belongs to the session of the run it names (a generic `agent_stop` names only its
//! run; generic and workflow events carry the workflow id as their session); one that names
//! neither is never pruned: nothing ties it to a unit that is provably finished. `usage` (one small row per model response, read by the spend figures),
//! the import bookkeeping and the read cursors are kept too; quarantined payloads and replayed
//! spool ids older than the cutoff go.
//!
//! The work is done in transactions of about 10 ms with a pause between them, like the
//! derivation's, so hooks keep writing meanwhile.

use crate::error::Result;
use crate::store::{packed, Store};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long one prune transaction may hold the write lock (hooks wait ~100 ms, then spool).
const TX_TIME: Duration = Duration::from_millis(10);
/// The pause between two prune transactions, for waiting hooks.
const YIELD: Duration = Duration::from_millis(1);
/// Automatic retention runs at most this often.
pub const AUTO_EVERY_MS: i64 = 86_400_000;
/// How long automatic retention may spend on a reader's path (deleting and vacuuming); what is
/// left is done the next time it runs.
pub const AUTO_BUDGET: Duration = Duration::from_secs(2);
/// Above this many events to delete, a terminal shows a bar.
const BAR_ABOVE: u64 = 20_000;

/// What a prune deletes (or, dry, would delete).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Plan {
    /// Raw data older than this (unix ms) goes.
    pub cutoff_ms: i64,
    /// Sessions whose events go (their runs and every figure stay).
    pub sessions: i64,
    pub events: i64,
    /// Payload bytes of those events.
    pub bytes: i64,
    /// Quarantined payloads recorded before the cutoff.
    pub quarantine: i64,
    /// Replayed-spool ids older than the cutoff (0 while a spool file waits: they guard it).
    pub spool_seen: i64,
    /// Events older than the cutoff that stay: no session id, or a session still active after
    /// the cutoff or not yet derived.
    pub events_kept_old: i64,
}

/// What a prune did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Pruned {
    pub plan: Plan,
    /// How the space was given back: `full` (a one-time VACUUM that also turned incremental
    /// vacuum on), `incremental`, `partial` (incremental, stopped at the time budget) or `none`.
    pub vacuum: String,
    /// Database size (pages × page size) before and after.
    pub size_before: i64,
    pub size_after: i64,
    /// Deletion stopped at the time budget (automatic retention): the rest goes next time.
    pub incomplete: bool,
}

/// How a prune may reclaim space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vacuum {
    /// `analyze prune`: a full VACUUM the first time (a database created before incremental
    /// vacuum was turned on), incremental afterwards.
    Full,
    /// Automatic retention: only incremental steps, within the deadline; never a full VACUUM.
    IncrementalOnly,
}

/// One session's events, as the scan found them.
#[derive(Default)]
struct Found {
    max_ts: i64,
    max_id: i64,
    min_ts: i64,
    bytes: i64,
    /// Events older than the cutoff.
    old: i64,
    ids: Vec<i64>,
}

/// The sessions that can go, with their event ids, and the plan. One read pass over the log
/// (no index on `events`: the hooks' inserts stay as cheap as they are); a read holds no lock.
fn scan(store: &Store, cutoff: i64) -> Result<(Plan, Vec<(String, Found)>)> {
    let conn = store.conn();
    let cur = store.derive_cursor()?;
    let mut by_session: HashMap<String, Found> = HashMap::new();
    let mut plan = Plan {
        cutoff_ms: cutoff,
        ..Plan::default()
    };
    {
        // A generic stop names no session, only its run: it belongs to its run's session.
        let run_session: HashMap<String, String> = conn
            .prepare("SELECT agent_id, session_id FROM agent_runs WHERE session_id IS NOT NULL")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT id, ts, octet_length(payload), {} FROM events ORDER BY id",
            packed::KEYS_SQL
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            // A packed event's keys may be in its frame (crate::store::packed).
            let keys = packed::Keys::from_row(conn, r, 3)?;
            let (id, ts, sid, aid, bytes): (i64, i64, Option<String>, Option<String>, i64) = (
                r.get(0)?,
                r.get(1)?,
                keys.session_id,
                keys.agent_id,
                r.get(2)?,
            );
            let sid = sid.or_else(|| aid.and_then(|a| run_session.get(&a).cloned()));
            let Some(sid) = sid else {
                plan.events_kept_old += i64::from(ts < cutoff);
                continue;
            };
            let f = by_session.entry(sid).or_insert_with(|| Found {
                min_ts: ts,
                ..Found::default()
            });
            f.max_ts = f.max_ts.max(ts);
            f.min_ts = f.min_ts.min(ts);
            f.max_id = f.max_id.max(id);
            f.bytes += bytes;
            f.old += i64::from(ts < cutoff);
            f.ids.push(id);
        }
    }
    let mut going = Vec::new();
    for (sid, f) in by_session {
        if f.max_ts < cutoff && f.max_id <= cur {
            plan.sessions += 1;
            plan.events += f.ids.len() as i64;
            plan.bytes += f.bytes;
            going.push((sid, f));
        } else {
            plan.events_kept_old += f.old;
        }
    }
    // Oldest first: an interrupted automatic prune has deleted the oldest.
    going.sort_by(|a, b| (a.1.max_ts, &a.0).cmp(&(b.1.max_ts, &b.0)));
    plan.quarantine = conn.query_row(
        "SELECT count(*) FROM quarantine WHERE recorded_at < ?1",
        [cutoff],
        |r| r.get(0),
    )?;
    plan.spool_seen = if store.spool_has_work() {
        0
    } else {
        conn.query_row(
            "SELECT count(*) FROM spool_seen WHERE replayed_at < ?1",
            [cutoff],
            |r| r.get(0),
        )?
    };
    Ok((plan, going))
}

/// What pruning raw data older than `cutoff` would delete; changes nothing.
pub fn plan(store: &Store, cutoff: i64) -> Result<Plan> {
    Ok(scan(store, cutoff)?.0)
}

/// Deletes the raw data older than `cutoff` (see the module doc) and reclaims the space; records
/// the prune at `now`. With a `deadline`, stops deleting and vacuuming after it (the rest is
/// done next time).
pub fn prune(
    store: &Store,
    now: i64,
    cutoff: i64,
    automatic: bool,
    vacuum: Vacuum,
    deadline: Option<Instant>,
) -> Result<Pruned> {
    let size_before = db_size(store)?;
    let (plan, going) = scan(store, cutoff)?;
    let mut done = Plan {
        cutoff_ms: cutoff,
        events_kept_old: plan.events_kept_old,
        ..Plan::default()
    };
    let bar = if deadline.is_none() {
        crate::progress::bar(
            crate::progress::Unit::Events,
            "pruning events",
            plan.events as u64,
            BAR_ABOVE,
        )
    } else {
        crate::progress::bar(crate::progress::Unit::Events, "", 0, u64::MAX)
    };
    let scan_max: i64 = going.iter().map(|(_, f)| f.max_id).max().unwrap_or(0);
    let mut next = 0usize;
    let mut incomplete = false;
    while next < going.len() {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            incomplete = true;
            break;
        }
        if next > 0 {
            std::thread::sleep(YIELD);
        }
        next = store.write_tx(|s| {
            delete_sessions(s, &going[next..], scan_max, cutoff, now, &mut done, &bar)
                .map(|n| next + n)
        })?;
    }
    bar.finish_and_clear();
    if !incomplete {
        store.write_tx(|s| {
            done.quarantine = s
                .conn()
                .execute("DELETE FROM quarantine WHERE recorded_at < ?1", [cutoff])?
                as i64;
            // A replayed id guards against replaying its line twice only while a spool file
            // holds it; every reader replays the whole spool first, so none does now.
            if !s.spool_has_work() {
                done.spool_seen = s
                    .conn()
                    .execute("DELETE FROM spool_seen WHERE replayed_at < ?1", [cutoff])?
                    as i64;
            }
            Ok(())
        })?;
    }
    let changed = done.events + done.quarantine + done.spool_seen > 0;
    let vacuumed = reclaim(store, vacuum, deadline, changed)?;
    store.write_tx(|s| {
        s.conn().execute(
            "INSERT INTO prunes (pruned_ms, cutoff_ms, automatic, sessions, events, bytes, quarantine, spool_seen, vacuum)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                now,
                cutoff,
                automatic,
                done.sessions,
                done.events,
                done.bytes,
                done.quarantine,
                done.spool_seen,
                vacuumed
            ],
        )?;
        Ok(())
    })?;
    Ok(Pruned {
        plan: done,
        vacuum: vacuumed.to_string(),
        size_before,
        size_after: db_size(store)?,
        incomplete,
    })
}

/// Deletes the events of `going`'s sessions from the first, inside the caller's write
/// transaction, for about [`TX_TIME`]; records each in `pruned_sessions` and adds to `done`.
/// Returns how many sessions it went through.
fn delete_sessions(
    s: &Store,
    going: &[(String, Found)],
    scan_max: i64,
    cutoff: i64,
    now: i64,
    done: &mut Plan,
    bar: &indicatif::ProgressBar,
) -> Result<usize> {
    let started = Instant::now();
    let cur = s.derive_cursor()?;
    // Sessions that received an event in the window since the scan stay.
    let mut active = s.conn().prepare_cached(&format!(
        "SELECT {} FROM events WHERE id > ?1 AND ts >= ?2",
        packed::KEYS_SQL
    ))?;
    let active: std::collections::HashSet<String> = active
        .query_map(params![scan_max, cutoff], |r| {
            packed::Keys::from_row(s.conn(), r, 0)
        })?
        .filter_map(|k| k.map(|k| k.session_id).transpose())
        .collect::<rusqlite::Result<_>>()?;
    let mut del = s
        .conn()
        .prepare_cached("DELETE FROM events WHERE id = ?1")?;
    let mut i = 0;
    while i < going.len() {
        let (sid, f) = &going[i];
        i += 1;
        // A rebuild under way has not derived it again yet: its projection is not whole.
        if f.max_id > cur || active.contains(sid) {
            continue;
        }
        for id in &f.ids {
            del.execute([id])?;
        }
        s.conn().execute(
            "INSERT INTO pruned_sessions (session_id, pruned_ms, first_ms, last_ms, events, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (session_id) DO UPDATE SET pruned_ms = excluded.pruned_ms,
               first_ms = min(coalesce(pruned_sessions.first_ms, excluded.first_ms), excluded.first_ms),
               last_ms = max(coalesce(pruned_sessions.last_ms, excluded.last_ms), excluded.last_ms),
               events = pruned_sessions.events + excluded.events,
               bytes = pruned_sessions.bytes + excluded.bytes",
            params![sid, now, f.min_ts, f.max_ts, f.ids.len() as i64, f.bytes],
        )?;
        done.sessions += 1;
        done.events += f.ids.len() as i64;
        done.bytes += f.bytes;
        bar.inc(f.ids.len() as u64);
        if started.elapsed() >= TX_TIME {
            break;
        }
    }
    Ok(i)
}

/// The database's size: pages × page size.
fn db_size(store: &Store) -> Result<i64> {
    Ok(store.conn().query_row(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        [],
        |r| r.get(0),
    )?)
}

/// Gives free pages back to the file system. Incremental vacuum needs `auto_vacuum =
/// INCREMENTAL`, set when a database is created; an older database gets it from one full VACUUM,
/// which only `analyze prune` runs (it holds the write lock throughout: hooks spool meanwhile
/// and the next reader replays what they spooled). Automatic retention never does: its free
/// pages are reused by later writes until a manual prune.
fn reclaim(
    store: &Store,
    vacuum: Vacuum,
    deadline: Option<Instant>,
    changed: bool,
) -> Result<&'static str> {
    let conn = store.conn();
    let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    if mode != 2 {
        if vacuum == Vacuum::Full && (changed || free > 0) {
            conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
            return Ok("full");
        }
        return Ok("none");
    }
    if free == 0 {
        return Ok("none");
    }
    Ok(if store.give_back_free_pages(deadline)? {
        "incremental"
    } else {
        "partial"
    })
}

/// config.json's `retention_days`, applied by a reader at most once a day ([`AUTO_EVERY_MS`]),
/// within [`AUTO_BUDGET`], never with a full VACUUM. Hooks and the status line never call it.
/// Returns what it did, or `None` when it was not due (or retention is off).
pub fn auto(store: &Store, retention_days: Option<i64>, now: i64) -> Result<Option<Pruned>> {
    let Some(days) = retention_days.filter(|d| *d > 0) else {
        return Ok(None);
    };
    let last: Option<i64> = store.conn().query_row(
        "SELECT max(pruned_ms) FROM prunes WHERE automatic = 1",
        [],
        |r| r.get(0),
    )?;
    if last.is_some_and(|l| now - l < AUTO_EVERY_MS && l <= now) {
        return Ok(None);
    }
    let cutoff = now - days.saturating_mul(86_400_000);
    prune(
        store,
        now,
        cutoff,
        true,
        Vacuum::IncrementalOnly,
        Some(Instant::now() + AUTO_BUDGET),
    )
    .map(Some)
}

/// Keeps the projection of pruned sessions through a re-derivation: inside the caller's write
/// transaction, clears every projection table except their rows, and re-makes every rollup from
/// those rows alone (re-inserted with the deriving connection's batch rollup triggers and flushed:
/// the rollups then hold exactly the kept runs' share, summed afresh; the agent cells are cleared,
/// and the kept and re-derived runs mark theirs). Records in
/// `derive_state.pruned_upto` the highest event id the kept rows already reflect: the
/// re-derivation skips the pruned sessions' remaining events up to it (late events derived onto
/// the kept rows) and applies the later ones. Returns the number of runs kept.
pub fn keep_pruned(s: &Store, reflected_upto: i64) -> Result<i64> {
    let c = s.conn();
    // Not pruned: a run or row whose session is not in pruned_sessions (or has none).
    const PRUNED: &str = "(SELECT session_id FROM pruned_sessions)";
    c.execute_batch(&crate::store::schema::drop_temp_rollup_triggers())?;
    c.execute_batch(&format!(
        "DELETE FROM agent_runs WHERE session_id IS NULL OR session_id NOT IN {PRUNED};
         DELETE FROM run_tools WHERE run_id NOT IN (SELECT id FROM agent_runs);
         DELETE FROM run_values WHERE run_id NOT IN (SELECT id FROM agent_runs);
         DELETE FROM workflows WHERE NOT (coalesce(session_id IN {PRUNED}, 0) OR workflow_id IN {PRUNED});
         DELETE FROM handoffs WHERE workflow_id NOT IN (SELECT workflow_id FROM workflows);
         DELETE FROM sessions WHERE session_id NOT IN {PRUNED};
         DELETE FROM delegations WHERE session_id IS NULL OR session_id NOT IN {PRUNED};
         DELETE FROM agent_daily; DELETE FROM agent_task_stats; DELETE FROM type_daily;
         DELETE FROM type_tool_daily; DELETE FROM run_metrics;
         {mark_every} {clear_cells}
         DROP TABLE IF EXISTS temp.kept_runs;
         CREATE TEMP TABLE kept_runs AS SELECT * FROM agent_runs;
         DELETE FROM agent_runs;",
        mark_every = crate::store::schema::MARK_EVERY_WORKFLOW_DIRTY,
        clear_cells = crate::store::schema::CLEAR_AGENT_CELLS
    ))?;
    c.execute_batch(&crate::store::schema::temp_batch_rollup_triggers())?;
    let kept = c.execute(
        "INSERT INTO agent_runs SELECT * FROM temp.kept_runs ORDER BY id",
        [],
    )? as i64;
    s.flush_rollups()?;
    c.execute_batch("DROP TABLE temp.kept_runs")?;
    // The per-agent metric names are those of the kept values; refusals are re-counted by the
    // re-derivation (a pruned session's refusals go: its values were never stored).
    c.execute_batch(
        "DELETE FROM agent_metric_names;
         INSERT OR IGNORE INTO agent_metric_names (agent_type, metric_id)
         SELECT DISTINCT r.agent_type, v.metric_id FROM run_values v JOIN agent_runs r ON r.id = v.run_id;
         DELETE FROM metric_refused;",
    )?;
    c.execute(
        "INSERT INTO derive_state (key, value) VALUES ('pruned_upto', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        [reflected_upto],
    )?;
    Ok(kept)
}

/// Whether any session was pruned (every re-derivation then keeps their part).
pub fn any_pruned(store: &Store) -> Result<bool> {
    Ok(store
        .conn()
        .query_row("SELECT EXISTS (SELECT 1 FROM pruned_sessions)", [], |r| {
            r.get(0)
        })?)
}

/// The space each kind of data takes (`analyze doctor`), and what retention has done.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Storage {
    /// Per kind (docs/retention.md): bytes of its tables and their indexes, as SQLite's `dbstat`
    /// counts the pages (page size × pages, so partly filled pages count whole).
    pub kinds: Vec<KindSize>,
    /// Free pages inside the file (reused by later writes; `analyze prune` gives them back).
    pub free_bytes: i64,
    /// The time of the oldest event still in the log (unix ms); None when the log is empty.
    pub oldest_event_ms: Option<i64>,
    /// Events in the log, and those whose payload is stored compressed (`crate::store::packed`).
    pub events: i64,
    pub compressed_events: i64,
    /// config.json's `retention_days`; None: keep everything.
    pub retention_days: Option<i64>,
    /// Sessions whose raw events were pruned, and the last prune (automatic or not).
    pub pruned_sessions: i64,
    pub last_prune: Option<PruneRecord>,
}

/// The bytes of one kind of data.
#[derive(Debug, Clone, Serialize)]
pub struct KindSize {
    pub kind: &'static str,
    pub bytes: i64,
}

/// A row of `prunes`.
#[derive(Debug, Clone, Serialize)]
pub struct PruneRecord {
    pub pruned_ms: i64,
    pub cutoff_ms: i64,
    pub automatic: bool,
    pub sessions: i64,
    pub events: i64,
    pub bytes: i64,
    pub vacuum: String,
}

/// Which kind a table's (or its index's) pages are counted under.
fn kind_of(table: &str) -> &'static str {
    match table {
        "events" | "payload_dicts" => "events (raw payloads)",
        "usage" => "usage",
        "agent_daily" | "agent_task_stats" | "type_daily" | "type_tool_daily" | "run_metrics" => {
            "rollups"
        }
        "agent_runs" | "run_tools" | "run_values" | "workflows" | "handoffs" | "sessions"
        | "delegations" | "metric_names" | "agent_metric_names" | "metric_refused"
        | "pruned_sessions" => "projection",
        "quarantine" => "quarantine",
        _ => "bookkeeping",
    }
}

/// Reads [`Storage`] from a (read-only) connection. `dbstat` walks every page once: about as
/// long as the counts doctor already makes.
pub fn storage(
    conn: &rusqlite::Connection,
    retention_days: Option<i64>,
) -> rusqlite::Result<Storage> {
    let mut by_kind: Vec<KindSize> = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize)
         FROM dbstat d LEFT JOIN sqlite_master m ON m.name = d.name
         GROUP BY 1",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (table, bytes) = row?;
        let kind = kind_of(&table);
        match by_kind.iter_mut().find(|k| k.kind == kind) {
            Some(k) => k.bytes += bytes,
            None => by_kind.push(KindSize { kind, bytes }),
        }
    }
    by_kind.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.kind.cmp(b.kind)));
    let free_bytes = conn.query_row(
        "SELECT freelist_count * page_size FROM pragma_freelist_count(), pragma_page_size()",
        [],
        |r| r.get(0),
    )?;
    let oldest_event_ms = conn.query_row("SELECT min(ts) FROM events", [], |r| r.get(0))?;
    let (events, compressed_events) = conn.query_row(
        "SELECT count(*), coalesce(sum(typeof(payload) = 'blob'), 0) FROM events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let pruned_sessions =
        conn.query_row("SELECT count(*) FROM pruned_sessions", [], |r| r.get(0))?;
    let last_prune = conn
        .query_row(
            "SELECT pruned_ms, cutoff_ms, automatic, sessions, events, bytes, vacuum
             FROM prunes ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok(PruneRecord {
                    pruned_ms: r.get(0)?,
                    cutoff_ms: r.get(1)?,
                    automatic: r.get(2)?,
                    sessions: r.get(3)?,
                    events: r.get(4)?,
                    bytes: r.get(5)?,
                    vacuum: r.get(6)?,
                })
            },
        )
        .optional()?;
    Ok(Storage {
        kinds: by_kind,
        free_bytes,
        oldest_event_ms,
        events,
        compressed_events,
        retention_days,
        pruned_sessions,
        last_prune,
    })
}
