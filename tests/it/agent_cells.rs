//! `analyze agent NAME` reads the agent's cells (schema version 15: sums per agent type and UTC
//! start day, refreshed by the reader from dirty markers) for the whole days of its window and
//! the runs for the part days. On a generated history it gives exactly the report of the full
//! scan — JSON and table, costs and host averages to the last digit — for every agent type and
//! window: fresh, after runs change behind its back (late ends, tool rows, a parent arriving
//! after its children, retyped and relinked runs), as "now" moves (running → lost), and after a
//! rebuild and a prune.

use crate::common::{window, Env};
use agent_telemetry::analyze::{agent, timeline, Ctx, Filter};
use agent_telemetry::render::{self, Format, Report};
use agent_telemetry::store::schema;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const NOW: &str = "2026-06-01T00:00:00Z";

fn now_ms() -> i64 {
    chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp_millis()
}

/// The windows compared: none, `--days 7`, whole days, part days at both edges, less than a
/// day, one-sided bounds.
fn windows(now: i64) -> Vec<(&'static str, Filter)> {
    let mid = now - 9 * DAY - 7 * HOUR - 1234;
    vec![
        ("all", Filter::default()),
        ("days_7", window(Some(now - 7 * DAY), None)),
        (
            "whole_days",
            window(
                Some(mid - mid.rem_euclid(DAY)),
                Some(now - now.rem_euclid(DAY)),
            ),
        ),
        (
            "part_days",
            window(Some(mid), Some(now - 2 * DAY - 5 * HOUR)),
        ),
        ("under_a_day", window(Some(mid), Some(mid + 5 * HOUR))),
        ("since_only", window(Some(mid), None)),
        ("until_only", window(None, Some(mid))),
    ]
}

fn types(ctx: &Ctx) -> Vec<String> {
    let c = ctx.store.conn();
    let mut stmt = c
        .prepare("SELECT DISTINCT agent_type FROM agent_runs WHERE internal = 0 ORDER BY 1")
        .unwrap();
    let v: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    v
}

/// The report of every agent type over every window, from the cells and from the full scan,
/// to the last bit and as printed (JSON and table). Returns how many reports had runs.
fn assert_same(ctx: &Ctx, what: &str) -> usize {
    // First, while cells are still marked: the timeline's daily buckets read the cells of their
    // whole days (refreshing only those), for every type and for one.
    let first_type = types(ctx).into_iter().next();
    for (wname, w) in windows(ctx.now) {
        for agents in [Vec::new(), first_type.iter().cloned().collect()] {
            let f = Filter {
                agents: agents.clone(),
                ..w.clone()
            };
            let got = timeline::compute(ctx, &f, None).unwrap();
            let want = timeline::compute_full_scan(ctx, &f, None).unwrap();
            assert_eq!(
                got.json(),
                want.json(),
                "{what}: timeline {agents:?}, window {wname} (full precision)"
            );
            for format in [Format::Json, Format::Table, Format::Csv] {
                let (mut got, mut want) = (got.clone(), want.clone());
                got.format = format;
                want.format = format;
                assert_eq!(
                    render::render(&got, format, Some(400)),
                    render::render(&want, format, Some(400)),
                    "{what}: timeline {agents:?}, window {wname} ({format:?})"
                );
            }
        }
    }
    let mut seen = 0;
    for name in types(ctx) {
        for (wname, w) in windows(ctx.now) {
            let f = Filter {
                agents: vec![name.clone()],
                ..w
            };
            for (errors, days, runs) in [(5, 30, 5), (0, 1000, 0)] {
                let got = agent::compute(ctx, &f, &name, errors, days, runs).unwrap();
                let want = agent::compute_full_scan(ctx, &f, &name, errors, days, runs).unwrap();
                match (got, want) {
                    (Some(got), Some(want)) => {
                        seen += 1;
                        // Every figure to the last bit (the renderings round floats).
                        assert_eq!(
                            got.json(),
                            want.json(),
                            "{what}: agent {name}, window {wname} (full precision)"
                        );
                        for format in [Format::Json, Format::Table] {
                            assert_eq!(
                                render::render(&got, format, Some(200)),
                                render::render(&want, format, Some(200)),
                                "{what}: agent {name}, window {wname} ({format:?})"
                            );
                        }
                    }
                    (None, None) => {}
                    (got, want) => panic!(
                        "{what}: agent {name}, window {wname}: cells {} vs scan {}",
                        got.is_some(),
                        want.is_some()
                    ),
                }
            }
        }
    }
    assert_eq!(
        count(ctx, "SELECT count(*) FROM agent_cell_dirty"),
        0,
        "{what}: every type read, every cell refreshed"
    );
    seen
}

fn count(ctx: &Ctx, sql: &str) -> i64 {
    ctx.store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn open(db: &std::path::Path, now: i64) -> Ctx {
    let mut ctx = Ctx::open(Some(db)).unwrap();
    ctx.now = now;
    ctx
}

/// Runs `sql` as derivation changes runs (the batch triggers installed, the batch flushed in
/// the same transaction: the cells it touches are marked).
fn change(ctx: &Ctx, sql: &str) {
    ctx.store
        .write_tx(|s| {
            s.conn().execute_batch(sql)?;
            s.flush_rollups()
        })
        .unwrap();
}

#[test]
fn agent_cells_give_the_full_scan_through_changes_time_rebuild_and_prune() {
    let env = Env::new();
    let db = env.db();
    crate::gen_history::generate(
        &db,
        &[
            "--runs", "2500", "--days", "20", "--seed", "31", "--now", NOW, "--tested", "0.4",
        ],
    );
    let now = now_ms();
    let ctx = open(&db, now);
    ctx.store
        .conn()
        .execute_batch(&schema::temp_batch_rollup_triggers())
        .unwrap();
    assert!(
        count(&ctx, "SELECT count(*) FROM agent_cell_dirty") > 0,
        "cells start dirty"
    );
    // What the generator does not write: runs started in the last 50 minutes, still running;
    // host CPU and memory, tool time, outcome counts; runs left running (lost before the
    // threshold), running with an end, remote.
    change(
        &ctx,
        &format!(
            "UPDATE agent_runs SET status = 'running', end_ms = NULL, duration_ms = NULL,
                    start_ms = {now} - (id % 50) * 60000
             WHERE internal = 0 AND id % 97 = 7"
        ),
    );
    change(
        &ctx,
        "UPDATE agent_runs SET host_cpu_start_ms = (id * 7919) % 900000,
                host_cpu_end_ms = (id * 7919) % 900000 + (id * 104729) % 2500000 + 1,
                host_rss_kb = 200000 + (id * 613) % 800000
         WHERE internal = 0 AND id % 3 <> 0;
         UPDATE agent_runs SET tool_ms = duration_ms / 3, files_created = id % 4, files_modified = id % 7,
                commands_failed = id % 2
         WHERE internal = 0 AND duration_ms IS NOT NULL AND id % 5 <> 0;
         UPDATE agent_runs SET status = 'running', end_ms = NULL, duration_ms = NULL
         WHERE internal = 0 AND id % 97 = 5;
         UPDATE agent_runs SET status = 'running', end_ms = start_ms + 1000 WHERE internal = 0 AND id % 97 = 11;
         UPDATE agent_runs SET status = 'remote' WHERE internal = 0 AND id % 97 = 13;",
    );
    assert!(
        count(
            &ctx,
            "SELECT count(*) FROM agent_runs WHERE parent_agent_id IS NOT NULL AND internal = 0"
        ) > 20,
        "nested runs: delegated by / delegates to exercised"
    );
    assert!(
        count(&ctx, "SELECT count(*) FROM run_tools") > 100,
        "tool rows"
    );
    let seen = assert_same(&ctx, "fresh");
    assert!(seen > 50, "reports with runs ({seen})");
    assert!(count(&ctx, "SELECT count(*) FROM agent_cells") > 100);

    // A late end: a finished run reopened, then ended later than before (on another day).
    let some = "(SELECT min(id) FROM agent_runs WHERE internal = 0 AND parent_agent_id IS NOT NULL AND end_ms IS NOT NULL)";
    change(
        &ctx,
        &format!("UPDATE agent_runs SET end_ms = NULL, duration_ms = NULL, status = 'running' WHERE id = {some}"),
    );
    assert!(
        count(&ctx, "SELECT count(*) FROM agent_cell_dirty") > 0,
        "marked"
    );
    assert_same(&ctx, "run reopened");
    change(
        &ctx,
        "UPDATE agent_runs SET end_ms = start_ms + 3 * 86400000, duration_ms = 3 * 86400000, status = 'failure',
                tests_failed = 2, tests_passed = 1
         WHERE id = (SELECT max(id) FROM agent_runs WHERE internal = 0 AND status = 'running' AND end_ms IS NULL)",
    );
    assert_same(&ctx, "late end");

    // Tool rows added, changed and removed (a run's transcript read later).
    change(
        &ctx,
        "INSERT INTO run_tools (run_id, tool, calls, errors)
           SELECT id, 'LateTool', 3, 1 FROM agent_runs WHERE internal = 0 AND id % 11 = 0;
         UPDATE run_tools SET calls = calls + 5, errors = errors + 1
           WHERE run_id = (SELECT min(run_id) FROM run_tools WHERE tool <> 'LateTool');
         DELETE FROM run_tools WHERE run_id = (SELECT max(run_id) FROM run_tools WHERE tool <> 'LateTool');",
    );
    assert_same(&ctx, "tool rows");

    // A parent arriving after its children: gone (its children delegated by `unknown`), back.
    let parent = "(SELECT parent_agent_id FROM agent_runs WHERE internal = 0 AND parent_agent_id IS NOT NULL
                   AND parent_agent_id IN (SELECT agent_id FROM agent_runs WHERE internal = 0) ORDER BY id LIMIT 1)";
    change(
        &ctx,
        &format!(
            "CREATE TEMP TABLE saved AS SELECT * FROM agent_runs WHERE agent_id = {parent};
             DELETE FROM agent_runs WHERE agent_id IN (SELECT agent_id FROM temp.saved);"
        ),
    );
    assert_same(&ctx, "parent gone");
    change(
        &ctx,
        "INSERT INTO agent_runs SELECT * FROM temp.saved; DROP TABLE temp.saved;",
    );
    assert_same(&ctx, "parent arrived");

    // A parent retyped and renamed.
    change(
        &ctx,
        &format!("UPDATE agent_runs SET agent_type = 'retyped-agent' WHERE agent_id = {parent}"),
    );
    assert_same(&ctx, "parent retyped");
    change(
        &ctx,
        &format!(
            "UPDATE agent_runs SET agent_id = agent_id || '-renamed' WHERE agent_id = {parent};"
        ),
    );
    assert_same(&ctx, "parent renamed");
    // Children of known user runs, each changed in one way: relinked to a run of five days before
    // the end (another cell than its parent's, which nothing else touches), made internal, retyped, moved
    // 40 days back (before the history: a cell of its own, which the rebuild below must drop).
    let linked = |k: usize| {
        format!(
            "(SELECT c.id FROM agent_runs c JOIN agent_runs p ON p.agent_id = c.parent_agent_id
              WHERE c.internal = 0 AND p.internal = 0 ORDER BY c.id LIMIT 1 OFFSET {k})"
        )
    };
    change(
        &ctx,
        &format!(
            "UPDATE agent_runs SET parent_agent_id = (SELECT agent_id FROM agent_runs WHERE internal = 0
                 AND start_ms > (SELECT max(start_ms) FROM agent_runs) - 5 * 86400000 ORDER BY start_ms LIMIT 1)
             WHERE id = {}",
            linked(3)
        ),
    );
    assert_same(&ctx, "relinked");
    change(
        &ctx,
        &format!(
            "UPDATE agent_runs SET internal = 1 WHERE id = {}",
            linked(4)
        ),
    );
    assert_same(&ctx, "child made internal");
    change(
        &ctx,
        &format!(
            "UPDATE agent_runs SET agent_type = 'retyped-child' WHERE id = {}",
            linked(5)
        ),
    );
    assert_same(&ctx, "child retyped");
    change(
        &ctx,
        &format!(
            "UPDATE agent_runs SET start_ms = start_ms - 40 * 86400000 WHERE id = {}",
            linked(6)
        ),
    );
    assert_same(&ctx, "child moved to another day");
    drop(ctx);

    // Running → lost as "now" moves on (lost_after_minutes after each start), and back.
    let mut lost = Vec::new();
    for at in [
        now + 30 * 60_000,
        now + 2 * HOUR,
        now + 3 * DAY,
        now - 6 * HOUR,
        now,
    ] {
        let ctx = open(&db, at);
        assert_same(&ctx, &format!("now {at}"));
        let all = agent::compute_full_scan(&ctx, &Filter::default(), "general-purpose", 0, 0, 0)
            .unwrap()
            .map(|r| r.lost);
        lost.push(all);
    }
    lost.dedup();
    assert!(lost.len() > 1, "running → lost exercised: {lost:?}");

    // A rebuild (the runs re-derived from the log: the changes above undone) and a prune (the
    // pruned sessions' runs kept through the re-derivation).
    let (code, _, err) = env.analyze_at(NOW, &["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_same(&open(&db, now), "after rebuild");
    let (code, _, err) = env.analyze_at(NOW, &["prune", "--older-than", "10d"]);
    assert_eq!(code, 0, "{err}");
    assert_same(&open(&db, now), "after prune");
    let (code, _, err) = env.analyze_at(NOW, &["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_same(&open(&db, now), "after prune + rebuild");
}
