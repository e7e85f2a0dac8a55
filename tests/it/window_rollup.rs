//! `summary`, `top` and `trends` under a time window read `agent_daily` for the whole UTC days of
//! the window, the runs for the part days at its edges, the window's durations from the
//! `(agent_type, start_ms)` index and the running runs from `runs_running`
//! (src/analyze/window.rs). On a generated history derived in two steps, with runs left running
//! (some lost), running runs with an end and remote ones, every window gives what the runs
//! alone give: every figure, the costs too.

use crate::common::{rows, window, Env};
use agent_telemetry::analyze::{summary, trends, Ctx, Filter};
use agent_telemetry::store::schema;
use serde_json::Value;

const DAY: i64 = 86_400_000;
const NOW: &str = "2026-06-01T00:00:00Z";

fn generate(db: &std::path::Path, runs: &str, seed: &str, append: bool) {
    let mut args = vec![
        "--days", "20", "--now", NOW, "--runs", runs, "--seed", seed, "--tested", "0.4",
    ];
    if append {
        args.push("--append");
    }
    crate::gen_history::generate(db, &args);
}

#[test]
fn windowed_summary_and_trends_from_the_rollups_equal_them_from_the_runs() {
    let env = Env::new();
    let db = env.db();
    generate(&db, "1500", "21", false);
    generate(&db, "1000", "22", true);
    let mut ctx = Ctx::open(Some(&db)).unwrap();
    ctx.now = chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp_millis();
    let now = ctx.now;
    let c = ctx.store.conn();
    // Runs left running (those started before the threshold are lost), a run stored as running
    // that has an end (neither open nor lost) and a remote one, changed as derivation changes
    // runs: through the rollups' batch triggers, flushed before the commit.
    c.execute_batch(&schema::temp_batch_rollup_triggers())
        .unwrap();
    ctx.store
        .write_tx(|s| {
            let c = s.conn();
            c.execute_batch(
                "UPDATE agent_runs SET status = 'running', end_ms = NULL, duration_ms = NULL
                 WHERE internal = 0 AND id % 97 = 5;
                 UPDATE agent_runs SET status = 'running', end_ms = start_ms + 1000
                 WHERE internal = 0 AND id % 97 = 11;
                 UPDATE agent_runs SET status = 'remote' WHERE internal = 0 AND id % 97 = 13;",
            )?;
            s.flush_rollups()
        })
        .unwrap();
    assert_eq!(
        rows(
            c,
            "SELECT agent_type, day, runs, success, failure, cancelled, dur_n, dur_sum, tested, verified
             FROM agent_daily WHERE runs <> 0 ORDER BY 1, 2"
        ),
        rows(
            c,
            "SELECT agent_type, coalesce(start_ms, 0) / 86400000, count(*), sum(status = 'success'),
                    sum(status = 'failure'), sum(status = 'cancelled'), count(duration_ms),
                    coalesce(sum(duration_ms), 0),
                    sum(tests_failed IS NOT NULL AND status IN ('success', 'failure')),
                    sum(tests_failed IS NOT NULL AND status = 'success' AND tests_failed = 0)
             FROM agent_runs WHERE internal = 0 GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        "agent_daily equals its definition"
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
    let tested: i64 = c
        .query_row(
            "SELECT count(*) FROM agent_runs WHERE tests_failed IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(tested > 0, "the history has test results");
    let top = crate::common::busiest_types(c, "agent_daily");
    let mut cases = crate::common::rollup_windows(now, &top);
    cases.push(("--days 1", window(Some(now - DAY - 777), None)));
    cases.push(("the whole history", window(Some(now - 40 * DAY), None)));
    for (what, filter) in &cases {
        let got = summary::compute(&ctx, filter, "runs", false).unwrap();
        let want = summary::compute_from_runs(&ctx, filter, "runs", false).unwrap();
        assert!(!want.agents.is_empty(), "{what}: no runs to compare");
        let as_json = |s: &summary::Summary| -> Value {
            serde_json::json!({ "agents": s.agents, "totals": s.totals })
        };
        assert_eq!(as_json(&got), as_json(&want), "summary {what}");
    }
    // The window's running and lost runs are among those compared.
    let whole = summary::compute(&ctx, &window(Some(now - 40 * DAY), None), "runs", false).unwrap();
    assert!(whole.totals.running > 0 && whole.totals.lost > 0);

    // trends: its two periods each split into whole days and part days.
    let mut trend_cases: Vec<(&str, Filter)> = vec![("the default 30 days", Filter::default())];
    trend_cases.extend(cases);
    trend_cases.push((
        "a window shorter than the recent period",
        window(Some(now - 3 * DAY - 4_321), None),
    ));
    for (what, filter) in &trend_cases {
        let got = trends::compute(&ctx, filter).unwrap();
        let want = trends::compute_from_runs(&ctx, filter).unwrap();
        assert!(!want.agents.is_empty(), "{what}: no runs to compare");
        assert_eq!(
            serde_json::to_value(&got.agents).unwrap(),
            serde_json::to_value(&want.agents).unwrap(),
            "trends {what}"
        );
    }
}
