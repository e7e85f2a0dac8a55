//! Upgrading from every past schema version. A database is built at version k by running
//! migrations 1..k exactly as `Store::migrate` ran them then (the first also installs the rollup
//! triggers and the application id), filled with the rows that version had: the event log
//! (realistic: the real Claude Code recordings through the hook binaries, plus orchestrator
//! events), usage rows, a quarantined payload, a transcript cursor, the importer's bookkeeping
//! (from version 3), and a projection made by older derivation rules. The current code must
//! migrate it, keep every row, and derive what a fresh database derives from the same log.

use crate::common::*;
use crate::projection::*;
use agent_telemetry::hook::{self, Binary};
use agent_telemetry::store::schema::{
    rollup_triggers, APPLICATION_ID, CURRENT_VERSION, MIGRATIONS,
};
use agent_telemetry::store::Store;
use rusqlite::Connection;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// The recordings, then an orchestrator's workflow with two generic agent runs (one failed).
fn realistic_log() -> Log {
    let mut log = fixture_log();
    let env = Env::new();
    let t = "2026-11-20T10:00:0";
    let items: Vec<(Binary, String, i64)> = [
        (Binary::WorkflowEvent, format!(r#"{{"event":"workflow_start","id":"wf-1","project":"/srv/o","timestamp":"{t}0Z"}}"#)),
        (Binary::SubagentStart, format!(r#"{{"agent_name":"planner","invocation_id":"g-1","task_description":"Plan the release","workflow_id":"wf-1","timestamp":"{t}1Z"}}"#)),
        (Binary::SubagentStop, format!(r#"{{"invocation_id":"g-1","success":true,"outcome_summary":"planned","tokens":{{"input":1000,"output":200}},"model":"claude-sonnet-4-6","timestamp":"{t}4Z"}}"#)),
        (Binary::SubagentStart, format!(r#"{{"agent_name":"coder","invocation_id":"g-2","task_description":"Implement the plan","workflow_id":"wf-1","timestamp":"{t}5Z"}}"#)),
        (Binary::SubagentStop, format!(r#"{{"invocation_id":"g-2","success":false,"error":"tests failed","timestamp":"{t}9Z"}}"#)),
        (Binary::WorkflowEvent, format!(r#"{{"event":"workflow_complete","id":"wf-1","duration":9,"success":false,"timestamp":"{t}9Z"}}"#)),
    ]
    .into_iter()
    .map(|(b, text)| (b, text, 0))
    .collect();
    let store = Store::create(&env.db()).unwrap();
    hook::record_many(&store, &items).unwrap();
    log.events.extend(read_log(store.conn()));
    assert!(log.events.iter().any(|e| e.source != "claude-code"));
    log
}

/// A database at `version`, as that version's code left it.
fn database_at(db: &Path, version: usize, log: &Log) {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(db.parent().unwrap())
        .unwrap();
    let c = Connection::open(db).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    for (i, sql) in MIGRATIONS[..version].iter().enumerate() {
        c.execute_batch(sql).unwrap();
        if i == 0 {
            c.execute_batch(&rollup_triggers()).unwrap();
            c.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))
                .unwrap();
        }
    }
    c.execute_batch(&format!("PRAGMA user_version = {version}"))
        .unwrap();
    c.execute_batch("COMMIT").unwrap();

    append(&c, log);
    c.execute(
        "INSERT INTO quarantine (recorded_at, binary, reason, raw) VALUES (1, 'subagent-stop', 'not JSON', x'7b7b')",
        [],
    )
    .unwrap();
    c.execute(
        "INSERT INTO transcript_cursor (path, offset, prompt_id) VALUES ('/home/dev/.claude/projects/p/s.jsonl', 4096, 'p-1')",
        [],
    )
    .unwrap();
    if version >= 3 {
        c.execute_batch(
            "INSERT INTO import_files (path, session_id, size, mtime_ms, imported_at)
                 VALUES ('/home/dev/.claude/projects/p/old.jsonl', 'old', 100, 5, 6);
             INSERT INTO import_sessions (session_id, events, event_keys, imported_at)
                 VALUES ('old', 1, x'0102030405060708', 6);",
        )
        .unwrap();
    }
    if version <= 5 {
        // Derived by the rules of then (derive_state has no `rules` before version 6): a stale
        // run the current rules would never make, counted in the rollups (by the schema's
        // triggers up to version 4, by the deriving connection's TEMP triggers in version 5).
        c.execute_batch(&format!(
            "INSERT INTO agent_runs (agent_id, source, agent_type, start_ms, status)
                 VALUES ('stale', 'claude-code', 'ghost', 86400000, 'running');
             INSERT OR IGNORE INTO agent_daily (agent_type, day, runs, open) VALUES ('ghost', 1, 1, 1);
             INSERT INTO derive_state (key, value) VALUES ('events', {});",
            log.events.len()
        ))
        .unwrap();
    }
}

fn count(c: &Connection, table: &str) -> i64 {
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn every_past_schema_version_upgrades_and_derives_what_a_fresh_database_does() {
    let log = realistic_log();
    let fresh_env = Env::new();
    let want = projection(&fresh_derived(&fresh_env, &log));
    assert!(want["agent_runs"].len() >= 9, "{:?}", want["agent_runs"]);
    assert!(!want["agent_runs"].iter().any(|r| r.contains("\"ghost\"")));
    for version in 1..CURRENT_VERSION as usize {
        let env = Env::new();
        database_at(&env.db(), version, &log);
        derive(&env.db());
        let c = env.conn();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, CURRENT_VERSION, "from version {version}");
        assert_eq!(
            read(&c),
            log,
            "from version {version}: the log and usage rows"
        );
        assert_eq!(
            (count(&c, "quarantine"), count(&c, "transcript_cursor")),
            (1, 1),
            "from version {version}"
        );
        if version >= 3 {
            assert_eq!(
                (count(&c, "import_files"), count(&c, "import_sessions")),
                (1, 1),
                "from version {version}"
            );
        }
        if let Some(d) = first_difference(&want, &projection(&c)) {
            panic!("from version {version}: {d}");
        }
        // The schema is the current one: every table and index a fresh database has.
        let objects = |c: &Connection| -> Vec<String> {
            let mut stmt = c
                .prepare("SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1")
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(
            objects(&c),
            objects(&fresh_env.conn()),
            "from version {version}"
        );
    }
}
