//! The event log copied between databases, and the projection dumped for comparison: shared by
//! the upgrade test (an old database against a fresh one fed the same events) and the order test
//! (events appended in shuffled orders against the same events in order).

use crate::common::*;
use agent_telemetry::analyze::Ctx;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection};
use std::collections::BTreeMap;
use std::path::Path;

/// One row of `events` without its id (the columns version 1 created; no migration since added
/// any).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LogEvent {
    pub ts: i64,
    pub recorded_at: i64,
    pub source: String,
    pub kind: String,
    pub session_id: Option<String>,
    pub prompt_id: Option<String>,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub tool_name: Option<String>,
    pub tool_use_id: Option<String>,
    pub payload: String,
}

/// What derivation reads: the event log, and the usage rows (one per model response, from the
/// transcripts) that price runs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Log {
    pub events: Vec<LogEvent>,
    pub usage: Vec<Vec<Value>>,
}

/// The `usage` columns (version 1's; no migration since added any).
const USAGE: &str = "session_id, agent_id, message_key, prompt_id, model, ts, input, output, cache_read, cache_5m, cache_1h";

/// The log and the usage rows of a database.
pub(crate) fn read(conn: &Connection) -> Log {
    let mut stmt = conn
        .prepare(&format!("SELECT {USAGE} FROM usage ORDER BY 1, 2, 3"))
        .unwrap();
    let usage = stmt
        .query_map([], |r| (0..11).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    Log {
        events: read_log(conn),
        usage,
    }
}

/// Appends the log's events (in its order) and its usage rows.
pub(crate) fn append(conn: &Connection, log: &Log) {
    append_log(conn, &log.events);
    let mut stmt = conn
        .prepare(&format!(
            "INSERT INTO usage ({USAGE}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ))
        .unwrap();
    for row in &log.usage {
        stmt.execute(params_from_iter(row)).unwrap();
    }
}

/// The log in id order.
pub(crate) fn read_log(conn: &Connection) -> Vec<LogEvent> {
    let mut stmt = conn
        .prepare(
            "SELECT ts, recorded_at, source, kind, session_id, prompt_id, agent_id, agent_type,
                    tool_name, tool_use_id, payload FROM events ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(LogEvent {
            ts: r.get(0)?,
            recorded_at: r.get(1)?,
            source: r.get(2)?,
            kind: r.get(3)?,
            session_id: r.get(4)?,
            prompt_id: r.get(5)?,
            agent_id: r.get(6)?,
            agent_type: r.get(7)?,
            tool_name: r.get(8)?,
            tool_use_id: r.get(9)?,
            payload: r.get(10)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Appends `events` in the order given: the ids follow that order, the timestamps stay theirs.
pub(crate) fn append_log(conn: &Connection, events: &[LogEvent]) {
    conn.execute_batch("BEGIN").unwrap();
    {
        let mut stmt = conn
            .prepare(
                "INSERT INTO events (ts, recorded_at, source, kind, session_id, prompt_id, agent_id,
                     agent_type, tool_name, tool_use_id, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .unwrap();
        for e in events {
            stmt.execute(params![
                e.ts,
                e.recorded_at,
                e.source,
                e.kind,
                e.session_id,
                e.prompt_id,
                e.agent_id,
                e.agent_type,
                e.tool_name,
                e.tool_use_id,
                e.payload
            ])
            .unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
}

/// Opens the database as every reader does: migrate if behind, replay the spool, derive.
pub(crate) fn derive(db: &Path) {
    Ctx::open(Some(db)).expect("open and derive");
}

/// A fresh database (current schema) holding `log`, derived.
pub(crate) fn fresh_derived(env: &Env, log: &Log) -> Connection {
    drop(agent_telemetry::store::Store::create(&env.db()).expect("create"));
    append(&env.conn(), log);
    derive(&env.db());
    env.conn()
}

/// The log of every real Claude Code 2.1.330 recording in tests/fixtures, each replayed through
/// the hook binaries in the order its hooks started (real clock timestamps), one after another.
pub(crate) fn fixture_log() -> Log {
    let env = Env::new();
    replay_all_recordings(&env);
    let log = read(&env.conn());
    assert!(
        !log.usage.is_empty(),
        "the recordings' transcripts give usage rows"
    );
    log
}

/// A realistic generated history (examples/gen-history.rs): `runs` agent runs over a day, with
/// nesting, parallel agents, failures, cancelled and lost runs and generic orchestrator events.
pub(crate) fn generated_log(runs: u32, seed: u64) -> Log {
    let env = Env::new();
    let db = env.db();
    crate::gen_history::generate(
        &db,
        &[
            "--days",
            "1",
            "--no-derive",
            "--runs",
            &runs.to_string(),
            "--seed",
            &seed.to_string(),
            "--now",
            "2026-06-01T00:00:00Z",
        ],
    );
    read(&env.conn())
}

/// Every projection table, as comparable text rows in a stable order. Row ids are left out (they
/// follow insertion order); `run_tools` names its run by agent id. Floats are rounded to 9
/// significant digits: sums in another order differ in the last bits.
pub(crate) fn projection(conn: &Connection) -> BTreeMap<&'static str, Vec<String>> {
    let queries: [(&str, &str); 13] = [
        ("agent_runs", "SELECT * FROM agent_runs ORDER BY agent_id"),
        (
            "run_tools",
            "SELECT r.agent_id, t.tool, t.calls, t.errors FROM run_tools t
             JOIN agent_runs r ON r.id = t.run_id ORDER BY 1, 2",
        ),
        (
            "run_values",
            "SELECT r.agent_id, n.name, v.value FROM run_values v
             JOIN agent_runs r ON r.id = v.run_id JOIN metric_names n ON n.id = v.metric_id ORDER BY 1, 2",
        ),
        (
            "agent_metric_names",
            "SELECT a.agent_type, n.name FROM agent_metric_names a
             JOIN metric_names n ON n.id = a.metric_id ORDER BY 1, 2",
        ),
        ("workflows", "SELECT * FROM workflows ORDER BY workflow_id"),
        ("sessions", "SELECT * FROM sessions ORDER BY session_id"),
        (
            "handoffs",
            "SELECT workflow_id, ts, from_agent, to_agent, artifacts FROM handoffs
             ORDER BY 1, 2, 3, 4, 5",
        ),
        (
            "delegations",
            "SELECT * FROM delegations ORDER BY tool_use_id",
        ),
        // A run moved out of a bucket (its start learnt, its type relabelled) leaves that
        // bucket's row at zero, where an order that knew the final values at once never made
        // one; the readers skip such rows (`runs > 0`).
        (
            "agent_daily",
            "SELECT * FROM agent_daily
             WHERE runs OR success OR failure OR cancelled OR open OR dur_n OR dur_sum
                OR complexity_sum OR tokens OR cost
             ORDER BY 1, 2",
        ),
        (
            "agent_task_stats",
            "SELECT * FROM agent_task_stats WHERE runs OR success OR failure OR cancelled
             ORDER BY 1, 2, 3",
        ),
        (
            "type_daily",
            "SELECT * FROM type_daily WHERE runs OR success OR failure OR dur_n OR dur_sum
             ORDER BY 1, 2, 3",
        ),
        (
            "type_tool_daily",
            "SELECT * FROM type_tool_daily WHERE n OR calls ORDER BY 1, 2, 3, 4",
        ),
        (
            "derive_state",
            "SELECT key, value FROM derive_state WHERE key <> 'events' ORDER BY key",
        ),
    ];
    queries
        .into_iter()
        .map(|(table, sql)| {
            let mut stmt = conn.prepare(sql).unwrap();
            let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
            let rows = stmt
                .query_map([], |r| {
                    let cells: Vec<String> = names
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| !(table == "agent_runs" && *n == "id"))
                        .map(|(i, n)| format!("{n}={}", cell(r.get_ref(i).unwrap())))
                        .collect();
                    Ok(cells.join(" "))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (table, rows)
        })
        .collect()
}

fn cell(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:.9e}"),
        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("blob:{}", b.len()),
    }
}

/// The first difference between two projections, table by table, or None.
pub(crate) fn first_difference(
    want: &BTreeMap<&'static str, Vec<String>>,
    got: &BTreeMap<&'static str, Vec<String>>,
) -> Option<String> {
    for (table, rows) in want {
        let other = &got[table];
        if rows == other {
            continue;
        }
        for (i, (a, b)) in rows.iter().zip(other).enumerate() {
            if a != b {
                return Some(format!("{table} row {i}:\n  want {a}\n  got  {b}"));
            }
        }
        return Some(format!(
            "{table}: {} rows wanted, {} got",
            rows.len(),
            other.len()
        ));
    }
    None
}
