//! `analyze summary` figures against hand-computed values, on both code paths (rollups without
//! filters, direct aggregation with filters), and the lost/running split.

use crate::common::*;
use cc::{End, Run};

const NOW: &str = "2026-11-21T12:00:00Z";

fn history() -> Env {
    let env = Env::new();
    let mut runs = vec![
        // backend-architect: durations 60s, 120s, 180s, 600s (all success), one failure of 30s.
        Run::new(
            "b1",
            "backend-architect",
            "Implement orders API",
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:01:00Z",
        ),
        Run::new(
            "b2",
            "backend-architect",
            "Implement users API",
            "2026-11-20T11:00:00Z",
            "2026-11-20T11:02:00Z",
        ),
        Run::new(
            "b3",
            "backend-architect",
            "Refactor billing",
            "2026-11-20T12:00:00Z",
            "2026-11-20T12:03:00Z",
        ),
        Run::new(
            "b4",
            "backend-architect",
            "Migrate database schema",
            "2026-11-20T13:00:00Z",
            "2026-11-20T13:10:00Z",
        ),
        Run {
            end_kind: End::Failure("API Error: 500".into()),
            ..Run::new(
                "b5",
                "backend-architect",
                "Fix typo in docs",
                "2026-11-20T14:00:00Z",
                "2026-11-20T14:00:30Z",
            )
        },
        // code-reviewer: one success of 40s, one cancelled of 20s, one lost (started 5h before NOW),
        // one running (started 10 min before NOW).
        Run::new(
            "r1",
            "code-reviewer",
            "Review auth",
            "2026-11-20T09:00:00Z",
            "2026-11-20T09:00:40Z",
        ),
        Run {
            end_kind: End::Cancelled,
            ..Run::new(
                "r2",
                "code-reviewer",
                "Review cache",
                "2026-11-20T09:10:00Z",
                "2026-11-20T09:10:20Z",
            )
        },
        Run {
            end_kind: End::Running,
            ..Run::new(
                "r3",
                "code-reviewer",
                "Review db",
                "2026-11-21T07:00:00Z",
                "",
            )
        },
        Run {
            end_kind: End::Running,
            ..Run::new(
                "r4",
                "code-reviewer",
                "Review ui",
                "2026-11-21T11:50:00Z",
                "",
            )
        },
    ];
    for (i, r) in runs.iter_mut().enumerate() {
        r.prompt_id = format!("p{i}");
    }
    env.record_runs(&runs);
    env
}

fn agent<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == name)
        .unwrap_or_else(|| panic!("{name} in {v}"))
}

fn close(a: &serde_json::Value, b: f64) -> bool {
    (a.as_f64().unwrap_or(f64::NAN) - b).abs() < 1e-9
}

#[test]
fn figures_match_hand_computed_values_on_both_paths() {
    let env = history();
    let (code, fast, err) = env.analyze_at(NOW, &["summary", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let fast: serde_json::Value = serde_json::from_str(&fast).unwrap();
    // --since far in the past selects the same runs through the filtered path.
    let (_, slow, _) = env.analyze_at(
        NOW,
        &["summary", "--format", "json", "--since", "2020-01-01"],
    );
    let slow: serde_json::Value = serde_json::from_str(&slow).unwrap();
    for v in [&fast, &slow] {
        let b = agent(v, "backend-architect");
        assert_eq!(b["runs"], 5);
        assert_eq!(
            (b["success"].as_i64(), b["failure"].as_i64()),
            (Some(4), Some(1))
        );
        // success rate = 4 / (4 + 1 + 0) = 0.8
        assert!(close(&b["success_rate"], 0.8), "{b}");
        // durations sorted: 30, 60, 120, 180, 600 s; p50: h = 4·0.5 = 2 → 120 s
        assert!(close(&b["p50_duration_ms"], 120_000.0), "{b}");
        // p95: h = 4·0.95 = 3.8 → 180 + 0.8·(600 − 180) = 516 s
        assert!(close(&b["p95_duration_ms"], 516_000.0), "{b}");
        // mean = (30 + 60 + 120 + 180 + 600) / 5 = 198 s = 3.3 min → efficiency 0.8 / 3.3
        assert!(close(&b["avg_duration_ms"], 198_000.0), "{b}");
        assert!(close(&b["efficiency"], 0.8 / 3.3), "{b}");
        // complexity: implement 5, implement 5, refactor 8, migrate 10, "fix typo in docs": fix 5 → 33 / 5
        assert!(close(&b["avg_complexity"], 6.6), "{b}");

        let r = agent(v, "code-reviewer");
        assert_eq!(r["runs"], 4);
        assert_eq!(
            (
                r["success"].as_i64(),
                r["cancelled"].as_i64(),
                r["lost"].as_i64(),
                r["running"].as_i64()
            ),
            (Some(1), Some(1), Some(1), Some(1)),
            "{r}"
        );
        // success rate = 1 / (1 + 0 + 1 lost) = 0.5; cancelled and running are excluded
        assert!(close(&r["success_rate"], 0.5), "{r}");
        // durations: 20 s (cancelled), 40 s → p50 = 30 s
        assert!(close(&r["p50_duration_ms"], 30_000.0), "{r}");

        let t = &v["totals"];
        assert_eq!(t["runs"], 9);
        // totals: 5 successes / (5 + 1 failure + 1 lost)
        assert!(close(&t["success_rate"], 5.0 / 7.0), "{t}");
        // all durations: 20, 30, 40, 60, 120, 180, 600 → p50 = 60 s; p95: h = 5.7 → 180 + 0.7·420 = 474 s
        assert!(close(&t["p50_duration_ms"], 60_000.0), "{t}");
        assert!(close(&t["p95_duration_ms"], 474_000.0), "{t}");
    }
}

#[test]
fn agent_filter_and_sorting() {
    let env = history();
    let (_, out, _) = env.analyze_at(
        NOW,
        &["summary", "--format", "json", "--agent", "code-reviewer"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["agents"].as_array().unwrap().len(), 1);
    assert_eq!(v["totals"]["runs"], 4);
    let (_, out, _) = env.analyze_at(NOW, &["summary", "--format", "json", "--sort", "success"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["agents"][0]["agent"], "backend-architect");
    let (_, out, _) = env.analyze_at(
        NOW,
        &[
            "summary",
            "--format",
            "json",
            "--sort",
            "success",
            "--reverse",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["agents"][0]["agent"], "code-reviewer");
}

#[test]
fn table_snapshot() {
    let env = history();
    let (code, out, _) = env.analyze_at(NOW, &["summary"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("summary_table", out);
}

#[test]
fn rebuild_reproduces_the_projection() {
    let env = history();
    let (_, before, _) = env.analyze_at(NOW, &["summary", "--format", "json"]);
    let (code, _, err) = env.analyze_at(NOW, &["rebuild"]);
    assert_eq!(code, 0, "{err}");
    let (_, after, _) = env.analyze_at(NOW, &["summary", "--format", "json"]);
    assert_eq!(before, after);
}

#[test]
fn sessions_snapshots() {
    let env = Env::new();
    let rec = load_recording(&cc_fixtures().join("parallel-and-nested-agents"), &env);
    replay(&env, &rec);
    let (code, json, err) = env.analyze_at(NOW, &["sessions", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Start/end are the replay's clock: blank them for a stable snapshot.
    v["sessions"][0]["start"] = serde_json::Value::Null;
    v["sessions"][0]["end"] = serde_json::Value::Null;
    insta::assert_json_snapshot!("sessions_json", v);
    let (_, table, _) = env.analyze_at(NOW, &["sessions", "--format", "csv"]);
    let first_row: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    // Session, Project, Started, Turns, Agents, Failed, Main tokens, Main cost, Agent tokens, Agent cost, Total cost
    assert_eq!(
        &first_row[3..],
        &["1", "3", "0", "240", "$0.0016", "720", "$0.0048", "$0.0064"]
    );
}

#[test]
fn rollups_stay_exact_through_a_bulk_derivation() {
    // More events than one derivation batch (20,000), so the bulk path is taken: the rollups the
    // fast path reads must still equal a direct aggregation of the runs.
    let env = Env::new();
    let runs: Vec<Run> = (0..5_200)
        .map(|i| {
            let kind = ["backend-architect", "code-reviewer", "test-engineer"][i % 3];
            let (start, end) = (i * 60, i * 60 + 10 + (i % 7) * 5);
            let ts = |s: usize| {
                format!(
                    "2026-11-1{}T{:02}:{:02}:{:02}Z",
                    1 + s / 86_400 % 9,
                    s / 3600 % 24,
                    s / 60 % 60,
                    s % 60
                )
            };
            let mut r = Run::new(
                &format!("bulk{i}"),
                kind,
                "Implement feature",
                &ts(start),
                &ts(end),
            );
            if i % 10 == 0 {
                r.end_kind = End::Failure("boom".into());
            }
            r.prompt_id = format!("p{}", i / 4);
            r
        })
        .collect();
    env.record_runs(&runs);
    let (_, fast, _) = env.analyze_at(NOW, &["summary", "--format", "json"]);
    let (_, slow, _) = env.analyze_at(
        NOW,
        &["summary", "--format", "json", "--since", "2020-01-01"],
    );
    let (fast, slow): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&fast).unwrap(),
        serde_json::from_str(&slow).unwrap(),
    );
    assert_eq!(fast["totals"]["runs"], 5_200);
    assert_eq!(fast, slow, "rollup path and direct aggregation agree");
}
