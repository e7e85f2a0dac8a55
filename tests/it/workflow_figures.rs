//! `analyze workflows` and `analyze overhead` read `workflow_figures` and its daily rollups
//! (schema version 13), refreshed by readers from dirty markers. On generated histories they
//! give exactly the reports of the full scan over the workflows and their runs: derived in
//! small steps (workflows change after their figures were computed: late SubagentStops,
//! relinks), changed behind the reports' back, and read at other instants (running → lost).

use crate::common::Env;
use crate::projection::{append_log, read, Log};
use agent_telemetry::analyze::{overhead, workflows, Ctx, Filter};
use agent_telemetry::render::{self, Format};
use agent_telemetry::store::schema;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const NOW: &str = "2026-06-01T00:00:00Z";

fn now_ms() -> i64 {
    chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp_millis()
}

/// The windows compared: none, `--days 7`, whole and part days on either side, less than a
/// day, and one-sided bounds.
fn filters(now: i64) -> Vec<(String, Filter)> {
    let at = |since: Option<i64>, until: Option<i64>| Filter {
        since,
        until,
        ..Filter::default()
    };
    let mid = now - 9 * DAY - 7 * HOUR - 1234;
    vec![
        ("all".into(), Filter::default()),
        ("days_7".into(), at(Some(now - 7 * DAY), None)),
        (
            "whole_days".into(),
            at(
                Some(mid - mid.rem_euclid(DAY)),
                Some(now - now.rem_euclid(DAY)),
            ),
        ),
        (
            "part_days".into(),
            at(Some(mid), Some(now - 2 * DAY - 5 * HOUR)),
        ),
        ("under_a_day".into(), at(Some(mid), Some(mid + 5 * HOUR))),
        ("since_only".into(), at(Some(mid), None)),
        ("until_only".into(), at(None, Some(mid))),
    ]
}

/// Every report of both paths, as JSON and as the table, compared at `ctx.now`.
fn assert_same(ctx: &Ctx, what: &str) {
    for (name, f) in filters(ctx.now) {
        for (limit, seqs) in [(20, 10), (500, 1000), (0, 0)] {
            let got = workflows::compute(ctx, &f, limit, seqs).unwrap();
            let want = workflows::compute_full_scan(ctx, &f, limit, seqs).unwrap();
            for format in [Format::Json, Format::Table] {
                assert_eq!(
                    render::render(&got, format, Some(200)),
                    render::render(&want, format, Some(200)),
                    "{what}: workflows {name} limit {limit} sequences {seqs} ({format:?})"
                );
            }
        }
        for by_overhead in [false, true] {
            for limit in [20, 500] {
                let got = overhead::compute(ctx, &f, limit, by_overhead).unwrap();
                let want = overhead::compute_full_scan(ctx, &f, limit, by_overhead).unwrap();
                for format in [Format::Json, Format::Table] {
                    assert_eq!(
                        render::render(&got, format, Some(200)),
                        render::render(&want, format, Some(200)),
                        "{what}: overhead {name} by_overhead {by_overhead} limit {limit} ({format:?})"
                    );
                }
            }
        }
    }
}

fn open(db: &std::path::Path, now: i64) -> Ctx {
    let mut ctx = Ctx::open(Some(db)).unwrap();
    ctx.now = now;
    ctx
}

fn log_of(args: &[&str]) -> Log {
    let env = Env::new();
    let mut a = args.to_vec();
    a.extend(["--now", NOW, "--no-derive"]);
    crate::gen_history::generate(&env.db(), &a);
    read(&env.conn())
}

/// The log appended in chunks, each derived by a reader that reads both reports (so their
/// figures are computed, then changed by the next chunk's events): at every step the cached
/// reports equal the full scan.
#[test]
fn figures_refreshed_between_appends_give_the_full_scan() {
    let log = log_of(&["--runs", "300", "--days", "20", "--seed", "5"]);
    let env = Env::new();
    drop(agent_telemetry::store::Store::create(&env.db()).unwrap());
    crate::projection::append(
        &env.conn(),
        &Log {
            events: Vec::new(),
            usage: log.usage.clone(),
        },
    );
    let now = now_ms();
    let mut rest = log.events.as_slice();
    let mut step = 0;
    while !rest.is_empty() {
        // Chunks of uneven sizes, so that turns and runs are split across them.
        let n = [7, 130, 41, 290, 13][step % 5].min(rest.len());
        append_log(&env.conn(), &rest[..n]);
        rest = &rest[n..];
        let ctx = open(&env.db(), now);
        if step % 4 == 0 || rest.is_empty() {
            assert_same(&ctx, &format!("after step {step}"));
        } else {
            // Only the cached path: its figures go stale with the next chunk.
            workflows::compute(&ctx, &Filter::default(), 20, 10).unwrap();
        }
        step += 1;
    }
    assert!(step > 10, "the log came in many steps ({step})");
}

/// Rows changed after the figures were computed — a late end, a relinked run, a handoff, a
/// workflow's own end — are recomputed; and "now" moved forward or back flips running → lost
/// (and back) in the figures as in the full scan.
#[test]
fn figures_follow_changes_and_time() {
    let env = Env::new();
    crate::gen_history::generate(
        &env.db(),
        &["--runs", "800", "--days", "20", "--seed", "9", "--now", NOW],
    );
    let now = now_ms();
    let ctx = open(&env.db(), now);
    assert_same(&ctx, "fresh");
    let c = ctx.store.conn();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    // Runs change as derivation changes them: with the batch triggers installed, and the batch
    // flushed (which marks their workflows, before and after).
    c.execute_batch(&schema::temp_batch_rollup_triggers())
        .unwrap();
    let change = |sql: &str| {
        c.execute_batch(sql).unwrap();
        ctx.store.flush_rollups().unwrap();
    };
    assert_eq!(count("SELECT count(*) FROM workflow_dirty"), 0);
    assert_eq!(
        count("SELECT count(*) FROM workflow_figures"),
        count("SELECT count(*) FROM workflows WHERE kind IN ('turn', 'explicit')")
    );

    // A late SubagentStop: a finished run reopened, then ended later than before.
    change(
        "UPDATE agent_runs SET end_ms = NULL, status = 'running'
         WHERE id = (SELECT min(id) FROM agent_runs WHERE internal = 0 AND workflow_id IS NOT NULL AND end_ms IS NOT NULL)",
    );
    assert!(count("SELECT count(*) FROM workflow_dirty") > 0, "marked");
    assert_same(&ctx, "run reopened");
    change(
        "UPDATE agent_runs SET end_ms = start_ms + 3600000, status = 'failure'
         WHERE id = (SELECT min(id) FROM agent_runs WHERE internal = 0 AND workflow_id IS NOT NULL)",
    );
    assert_same(&ctx, "late end");
    // A relink: a run moved to another workflow, and a nested run to the top level.
    change(
        "UPDATE agent_runs SET workflow_id = (SELECT workflow_id FROM workflows WHERE kind = 'turn' ORDER BY workflow_id DESC LIMIT 1)
         WHERE id = (SELECT max(id) FROM agent_runs WHERE internal = 0 AND workflow_id IS NOT NULL);
         UPDATE agent_runs SET depth = 1 WHERE id = (SELECT min(id) FROM agent_runs WHERE depth > 1);",
    );
    assert_same(&ctx, "relinked");
    // A workflow's own end forgotten, an error learnt, a run deleted, a handoff recorded.
    change(
        "UPDATE workflows SET end_ms = NULL WHERE workflow_id = (SELECT min(workflow_id) FROM workflows WHERE end_ms IS NOT NULL);
         UPDATE workflows SET error = 'overloaded' WHERE workflow_id = (SELECT max(workflow_id) FROM workflows WHERE end_ms IS NOT NULL);
         DELETE FROM agent_runs WHERE id = (SELECT min(id) FROM agent_runs WHERE internal = 0 AND workflow_id IS NOT NULL);
         INSERT INTO workflows (workflow_id, kind, start_ms) VALUES ('explicit-late', 'explicit', (SELECT max(start_ms) FROM workflows));
         INSERT INTO handoffs (workflow_id, ts, from_agent, to_agent) VALUES ('explicit-late', 1, 'planner', 'coder');",
    );
    assert_same(&ctx, "changed workflows");
    drop(ctx);

    // Running → lost as "now" moves on (lost_after_minutes after each start), and back.
    let totals = |ctx: &Ctx| {
        let t = workflows::compute_full_scan(ctx, &Filter::default(), 0, 0)
            .unwrap()
            .totals;
        (t.running, t.lost, t.failure)
    };
    let mut seen = Vec::new();
    for at in [
        now,
        now + 30 * 60_000,
        now + 2 * HOUR,
        now + 3 * DAY,
        now - 6 * HOUR,
        now - 2 * DAY,
        now + 2 * HOUR,
        now,
    ] {
        let ctx = open(&env.db(), at);
        assert_same(&ctx, &format!("now {at}"));
        seen.push(totals(&ctx));
    }
    seen.dedup();
    assert!(
        seen.len() > 2,
        "the instants gave different statuses (running → lost exercised): {seen:?}"
    );
}
