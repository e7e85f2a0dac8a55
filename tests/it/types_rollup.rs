//! `analyze types` reads the version-8 rollups (`type_daily`, `type_tool_daily`) for the whole
//! days of its window and the runs for the rest. On a generated history derived in two steps
//! (the TEMP triggers at work on a projection that already has runs), every filter gives what
//! the runs alone give, and the rollups equal their definition over the runs.

use crate::common::{rows, Env};
use agent_telemetry::analyze::{types, Ctx, Filter};
use rusqlite::Connection;
use serde_json::Value;

const NOW: &str = "2026-06-01T00:00:00Z";

fn generate(db: &std::path::Path, runs: &str, seed: &str, append: bool) {
    let mut args = vec!["--days", "20", "--now", NOW, "--runs", runs, "--seed", seed];
    if append {
        args.push("--append");
    }
    crate::gen_history::generate(db, &args);
}

fn first_text(c: &Connection, sql: &str) -> String {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn types_from_the_rollups_equal_types_from_the_runs() {
    let env = Env::new();
    let db = env.db();
    generate(&db, "1500", "11", false);
    generate(&db, "1000", "12", true);
    let mut ctx = Ctx::open(Some(&db)).unwrap();
    ctx.now = chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp_millis();
    let now = ctx.now;
    let c = ctx.store.conn();

    // The rollups hold exactly their definition over the runs (what migration 8 backfills).
    assert_eq!(
        rows(
            c,
            "SELECT category, agent_type, day, runs, success, failure, dur_n, dur_sum
             FROM type_daily WHERE runs <> 0 ORDER BY 1, 2, 3"
        ),
        rows(
            c,
            "SELECT category, agent_type, coalesce(start_ms, 0) / 86400000, count(*), sum(status = 'success'),
                    sum(status = 'failure'), count(duration_ms), coalesce(sum(duration_ms), 0)
             FROM agent_runs WHERE internal = 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    );
    assert_eq!(
        rows(
            c,
            "SELECT category, agent_type, tool, day, n, calls FROM type_tool_daily WHERE n <> 0 ORDER BY 1, 2, 3, 4"
        ),
        rows(
            c,
            "SELECT r.category, r.agent_type, t.tool, coalesce(r.start_ms, 0) / 86400000, count(*), sum(t.calls)
             FROM agent_runs r JOIN run_tools t ON t.run_id = r.id WHERE r.internal = 0
             GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
    );
    let lost: i64 = c
        .query_row(
            "SELECT count(*) FROM agent_runs WHERE internal = 0 AND status = 'running' AND end_ms IS NULL
             AND coalesce(start_ms, 0) < ?1",
            [ctx.lost_before()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(lost > 0, "the history has lost runs to decide at read time");

    let top = crate::common::busiest_types(c, "type_daily");
    let session = first_text(
        c,
        "SELECT session_id FROM agent_runs WHERE internal = 0 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    );
    let project = first_text(
        c,
        "SELECT cwd FROM agent_runs WHERE internal = 0 AND cwd IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    );
    let mut cases = crate::common::rollup_windows(now, &top);
    cases.insert(0, ("everything (rollups only)", Filter::default()));
    cases.extend([
        (
            "--project (runs only)",
            Filter {
                project: Some(project),
                ..Filter::default()
            },
        ),
        (
            "--session (runs only)",
            Filter {
                session: Some(session),
                ..Filter::default()
            },
        ),
    ]);
    for (what, filter) in cases {
        let got = types::compute(&ctx, &filter).unwrap();
        let want = types::compute_from_runs(&ctx, &filter).unwrap();
        assert!(!want.categories.is_empty(), "{what}: no runs to compare");
        let as_json = |t: &types::Types| -> Value { serde_json::to_value(&t.categories).unwrap() };
        assert_eq!(as_json(&got), as_json(&want), "{what}");
    }
}
