//! `analyze agent | top | trends | tools | types | timeline | errors | active`: every figure
//! computed by hand on a small history (the arithmetic is in the comments), then the same
//! output pinned as table and JSON snapshots with a fixed clock.

use crate::common::cc::{End, Run};
use crate::common::*;
use serde_json::{json, Value};

/// A snapshot in `tests/it/snapshots/analyze_a__<name>.snap`.
macro_rules! snap {
    ($name:literal, $value:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(concat!("analyze_a__", $name), $value);
        })
    };
}

// ── fixture builders ──────────────────────────────────────────────────────────────────────

fn ok(id: &str, ty: &str, desc: &str, start: &str, end: &str) -> Run {
    Run::new(id, ty, desc, start, end)
}

fn failed(id: &str, ty: &str, desc: &str, start: &str, end: &str, error: &str) -> Run {
    Run {
        end_kind: End::Failure(error.into()),
        ..Run::new(id, ty, desc, start, end)
    }
}

fn cancelled(id: &str, ty: &str, desc: &str, start: &str, end: &str) -> Run {
    Run {
        end_kind: End::Cancelled,
        ..Run::new(id, ty, desc, start, end)
    }
}

fn running(id: &str, ty: &str, desc: &str, start: &str) -> Run {
    Run {
        end_kind: End::Running,
        ..Run::new(id, ty, desc, start, start)
    }
}

fn child(mut r: Run, parent: &str) -> Run {
    r.parent = Some(parent.into());
    r
}

/// The payloads of `r`, with its SubagentStop pointing at a transcript written here: one
/// assistant response (claude-sonnet-4-5, `usage` = input, output, cache read, cache write)
/// calling each tool `calls` times, then `errors` of those calls failing.
fn with_transcript(
    env: &Env,
    r: &Run,
    tools: &[(&str, i64, i64)],
    usage: [i64; 4],
) -> Vec<(&'static str, String)> {
    let dir = env.dir.path().join("transcripts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("agent-{}.jsonl", r.agent_id));
    let mut blocks = Vec::new();
    let mut results = Vec::new();
    for (tool, calls, errors) in tools {
        for k in 0..*calls {
            let id = format!("tu_{}_{tool}_{k}", r.agent_id);
            blocks.push(json!({"type": "tool_use", "id": id, "name": tool, "input": {}}));
            if k < *errors {
                results.push(json!({"type": "tool_result", "tool_use_id": id, "is_error": true, "content": "failed"}));
            }
        }
    }
    let [input, output, cache_read, cache_write] = usage;
    let assistant = json!({"type": "assistant", "timestamp": r.start, "requestId": format!("req_{}", r.agent_id),
        "message": {"id": format!("msg_{}", r.agent_id), "model": "claude-sonnet-4-5", "content": blocks,
                    "usage": {"input_tokens": input, "output_tokens": output, "cache_read_input_tokens": cache_read,
                              "cache_creation_input_tokens": cache_write}}});
    let user = json!({"type": "user", "timestamp": r.start, "message": {"content": results}});
    std::fs::write(&path, format!("{assistant}\n{user}\n")).unwrap();
    r.payloads()
        .into_iter()
        .map(|(bin, text)| {
            let mut v: Value = serde_json::from_str(&text).unwrap();
            if v["hook_event_name"] == "SubagentStop" {
                v["agent_transcript_path"] = json!(path.to_string_lossy());
            }
            (bin, v.to_string())
        })
        .collect()
}

/// A generic orchestrator's start and stop (tokens priced as claude-sonnet-4-5: $3 in, $15 out
/// per million).
#[allow(clippy::too_many_arguments)]
fn generic(
    id: &str,
    name: &str,
    desc: &str,
    start: &str,
    end: &str,
    success: bool,
    tokens: (i64, i64),
    parent: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut s = json!({"agent_name": name, "invocation_id": id, "task_description": desc, "timestamp": start, "session_id": "gen-1"});
    if let Some(p) = parent {
        s["parent_id"] = json!(p);
    }
    let mut e = json!({"invocation_id": id, "success": success, "tokens": {"input": tokens.0, "output": tokens.1},
                       "model": "claude-sonnet-4-5", "timestamp": end});
    if !success {
        e["error"] = json!("generic failure");
    }
    vec![
        ("subagent-start", s.to_string()),
        ("subagent-stop", e.to_string()),
    ]
}

/// `analyze … --format json` at a fixed clock; panics unless it exits 0.
fn json_at(env: &Env, now: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = env.analyze_at(now, &a);
    assert_eq!(code, 0, "analyze {args:?} failed ({code}): {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("analyze {args:?} JSON: {e}\n{out}"))
}

/// The table output at a fixed clock; panics unless it exits 0.
fn table_at(env: &Env, now: &str, args: &[&str]) -> String {
    let (code, out, err) = env.analyze_at(now, args);
    assert_eq!(code, 0, "analyze {args:?} failed ({code}): {err}");
    out
}

#[track_caller]
fn approx(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!(
        (got - want).abs() < 1e-6 * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_string())
        .collect()
}

// ── agent ─────────────────────────────────────────────────────────────────────────────────

const NOW: &str = "2026-11-20T12:00:00Z";

/// Seven code-reviewer runs (two with transcripts: tools and tokens), one delegated by a
/// backend-architect, three children of theirs, and one run that never stopped (lost).
fn reviewer_history() -> Env {
    let env = Env::new();
    let mut p = Vec::new();
    // r1 60 s, cx 5 ("fix"), tools Read 1, Grep 1 (1 error); tokens 1000 in, 200 out, 5000 cache read, 400 cache write.
    p.extend(with_transcript(
        &env,
        &ok(
            "cr-1",
            "code-reviewer",
            "Fix typo in readme",
            "2026-11-18T10:00:00Z",
            "2026-11-18T10:01:00Z",
        ),
        &[("Read", 1, 0), ("Grep", 1, 1)],
        [1000, 200, 5000, 400],
    ));
    // r2 120 s, cx 8 ("refactor"), tools Read 2, Edit 1; tokens 2000 in, 300 out.
    p.extend(with_transcript(
        &env,
        &ok(
            "cr-2",
            "code-reviewer",
            "Refactor the parser",
            "2026-11-18T11:00:00Z",
            "2026-11-18T11:02:00Z",
        ),
        &[("Read", 2, 0), ("Edit", 1, 0)],
        [2000, 300, 0, 0],
    ));
    let runs = vec![
        // r2's children: test-runner and doc-writer.
        child(
            ok(
                "tr-1",
                "test-runner",
                "Run tests",
                "2026-11-18T11:00:30Z",
                "2026-11-18T11:01:00Z",
            ),
            "cr-2",
        ),
        child(
            ok(
                "dw-1",
                "doc-writer",
                "Write docs",
                "2026-11-18T11:01:00Z",
                "2026-11-18T11:01:30Z",
            ),
            "cr-2",
        ),
        // r3 failure 180 s, cx 10.
        failed(
            "cr-3",
            "code-reviewer",
            "Migrate database schema",
            "2026-11-19T09:00:00Z",
            "2026-11-19T09:03:00Z",
            "API Error: 500 overloaded",
        ),
        // r4 cancelled 240 s, cx 2.
        cancelled(
            "cr-4",
            "code-reviewer",
            "typo in readme",
            "2026-11-19T10:00:00Z",
            "2026-11-19T10:04:00Z",
        ),
        // a backend-architect that delegates r7 (60 s, cx 5).
        ok(
            "ba-1",
            "backend-architect",
            "Plan the API",
            "2026-11-19T12:00:00Z",
            "2026-11-19T12:10:00Z",
        ),
        child(
            ok(
                "cr-7",
                "code-reviewer",
                "Review the design",
                "2026-11-19T12:01:00Z",
                "2026-11-19T12:02:00Z",
            ),
            "ba-1",
        ),
        // r5 never stops: started 16 h before NOW > 120 min → lost; cx 5.
        running(
            "cr-5",
            "code-reviewer",
            "Look around",
            "2026-11-19T20:00:00Z",
        ),
        // r6 300 s, cx 8, with a test-runner child.
        ok(
            "cr-6",
            "code-reviewer",
            "Audit security",
            "2026-11-20T08:00:00Z",
            "2026-11-20T08:05:00Z",
        ),
        child(
            ok(
                "tr-2",
                "test-runner",
                "Run tests",
                "2026-11-20T08:01:00Z",
                "2026-11-20T08:02:00Z",
            ),
            "cr-6",
        ),
    ];
    p.extend(runs.iter().flat_map(|r| r.payloads()));
    env.record(&p);
    env
}

#[test]
fn agent_figures_by_hand() {
    let env = reviewer_history();
    let a = json_at(&env, NOW, &["agent", "code-reviewer"]);
    assert_eq!(a["schema_version"], 1);
    assert_eq!(a["command"], "agent");
    assert_eq!(a["category"], "reviewer");
    // r1 r2 r3 r4 r5 r6 r7 = 7 runs: success r1 r2 r6 r7, failure r3, cancelled r4, lost r5.
    assert_eq!(
        (
            a["runs"].as_i64(),
            a["success"].as_i64(),
            a["failure"].as_i64()
        ),
        (Some(7), Some(4), Some(1))
    );
    assert_eq!(
        (
            a["cancelled"].as_i64(),
            a["running"].as_i64(),
            a["lost"].as_i64()
        ),
        (Some(1), Some(0), Some(1))
    );
    // success ÷ (success + failure + lost) = 4 / 6.
    approx(&a["success_rate"], 4.0 / 6.0);
    // Durations (lost r5 has none), sorted: 60 60 120 180 240 300 s; n = 6, mean 960/6 = 160 s.
    let d = &a["duration"];
    assert_eq!(d["n"], 6);
    approx(&d["avg_ms"], 160_000.0);
    approx(&d["p50_ms"], 150_000.0); // h = 5·0.5 = 2.5 → 120 + 0.5·(180 − 120)
    approx(&d["p95_ms"], 285_000.0); // h = 4.75 → 240 + 0.75·60
    approx(&d["p99_ms"], 297_000.0); // h = 4.95 → 240 + 0.95·60
    approx(&d["min_ms"], 60_000.0);
    approx(&d["max_ms"], 300_000.0);
    // Tokens: in 1000 + 2000, out 200 + 300, cache read 5000, cache write 400 → 8900; per run 8900/7.
    let t = &a["tokens"];
    assert_eq!(
        (t["input"].as_i64(), t["output"].as_i64()),
        (Some(3000), Some(500))
    );
    assert_eq!(
        (
            t["cache_read"].as_i64(),
            t["cache_write"].as_i64(),
            t["total"].as_i64()
        ),
        (Some(5000), Some(400), Some(8900))
    );
    approx(&t["avg_per_run"], 8900.0 / 7.0);
    // Cost at $3 in / $15 out / $0.30 cache read / $3.75 cache write per million:
    // r1 = 0.003 + 0.003 + 0.0015 + 0.0015 = 0.009; r2 = 0.006 + 0.0045 = 0.0105; total 0.0195.
    approx(&a["cost_usd"], 0.0195);
    approx(&a["avg_cost_usd"], 0.0195 / 7.0);
    assert_eq!(a["unpriced_runs"], 0);
    // Complexity 5 + 8 + 10 + 2 + 5 + 5 + 8 = 43 over 7 runs.
    approx(&a["avg_complexity"], 43.0 / 7.0);
    // Efficiency = (4/6) / (160 s in minutes = 8/3) = 0.25.
    approx(&a["efficiency"], 0.25);
    // Daily, by start day: 11-18 r1 r2 (2/2, mean 90 s, $0.0195); 11-19 r3 r4 r7 r5
    // (success 1 of decided r3 r7 r5 = 1/3, durations 180 240 60 → 160 s); 11-20 r6.
    let days = a["daily"].as_array().unwrap();
    assert_eq!(
        names(&a["daily"], "day"),
        ["2026-11-18", "2026-11-19", "2026-11-20"]
    );
    assert_eq!(
        days.iter()
            .map(|d| d["runs"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [2, 4, 1]
    );
    approx(&days[0]["success_rate"], 1.0);
    approx(&days[0]["avg_duration_ms"], 90_000.0);
    approx(&days[0]["cost_usd"], 0.0195);
    approx(&days[1]["success_rate"], 1.0 / 3.0);
    approx(&days[1]["avg_duration_ms"], 160_000.0);
    approx(&days[2]["avg_duration_ms"], 300_000.0);
    // Tools: Read 1 + 2 = 3 (2 runs), Edit 1, Grep 1 with 1 error; 5 calls → shares 0.6 / 0.2 / 0.2.
    assert_eq!(names(&a["tools"], "tool"), ["Read", "Edit", "Grep"]);
    let tools = a["tools"].as_array().unwrap();
    assert_eq!(
        (tools[0]["calls"].as_i64(), tools[0]["runs"].as_i64()),
        (Some(3), Some(2))
    );
    approx(&tools[0]["share"], 0.6);
    assert_eq!(
        (tools[2]["calls"].as_i64(), tools[2]["errors"].as_i64()),
        (Some(1), Some(1))
    );
    approx(&tools[2]["share"], 0.2);
    // Delegated by: the main agent for six runs, backend-architect for r7.
    assert_eq!(
        a["delegated_by"],
        json!([{"agent": "main agent", "runs": 6}, {"agent": "backend-architect", "runs": 1}])
    );
    // Delegates to: test-runner (r2, r6), doc-writer (r2).
    assert_eq!(
        a["delegates_to"],
        json!([{"agent": "test-runner", "runs": 2}, {"agent": "doc-writer", "runs": 1}])
    );
    // Errors, newest first: r5 lost (its start, 19th 20:00), r3 failed (its end, 19th 09:03).
    let e = a["recent_errors"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(
        (
            e[0]["agent_id"].as_str(),
            e[0]["status"].as_str(),
            e[0]["time"].as_str()
        ),
        (Some("cr-5"), Some("lost"), Some("2026-11-19T20:00:00.000Z"))
    );
    assert_eq!(
        (e[1]["agent_id"].as_str(), e[1]["error"].as_str()),
        (Some("cr-3"), Some("API Error: 500 overloaded"))
    );
    assert_eq!(e[1]["description"], "Migrate database schema");
}

#[test]
fn agent_with_a_time_filter_computes_percentiles_from_the_matching_runs() {
    let env = reviewer_history();
    // Since the 19th: r3 180, r4 240, r7 60, r6 300 s (r5 lost, no duration) → sorted 60 180 240 300.
    let a = json_at(
        &env,
        NOW,
        &["agent", "code-reviewer", "--since", "2026-11-19"],
    );
    assert_eq!(a["runs"], 5);
    approx(&a["duration"]["p50_ms"], 210_000.0); // h = 1.5 → 180 + 0.5·60
    approx(&a["duration"]["avg_ms"], 195_000.0); // 780 / 4
    approx(&a["success_rate"], 2.0 / 4.0); // r6 r7 of r3 r7 r5 r6
    assert_eq!(
        a["delegated_by"],
        json!([{"agent": "main agent", "runs": 4}, {"agent": "backend-architect", "runs": 1}])
    );
    assert_eq!(
        a["delegates_to"],
        json!([{"agent": "test-runner", "runs": 1}])
    );
    assert_eq!(a["tools"], json!([]));
    // The positional name replaces --agent.
    let b = json_at(
        &env,
        NOW,
        &[
            "agent",
            "code-reviewer",
            "--agent",
            "test-runner",
            "--since",
            "2026-11-19",
        ],
    );
    assert_eq!(b["runs"], 5);
}

#[test]
fn agent_unknown_is_an_error_and_no_match_is_nothing_found() {
    let env = reviewer_history();
    let (code, out, err) = env.analyze_at(NOW, &["agent", "code-reviewr"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("unknown agent 'code-reviewr'") && err.contains("did you mean code-reviewer"),
        "{err}"
    );
    let (code, out, err) = env.analyze_at(
        NOW,
        &["agent", "code-reviewer", "--session", "no-such-session"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("no runs of 'code-reviewer' match"), "{err}");
}

#[test]
fn agent_snapshots() {
    let env = reviewer_history();
    snap!(
        "agent_table",
        table_at(&env, NOW, &["agent", "code-reviewer"])
    );
    snap!(
        "agent_json",
        table_at(&env, NOW, &["agent", "code-reviewer", "--format", "json"])
    );
}

// ── errors ────────────────────────────────────────────────────────────────────────────────

#[test]
fn errors_lists_failures_and_lost_runs_newest_first() {
    let env = reviewer_history();
    let e = json_at(&env, NOW, &["errors"]);
    // Only code-reviewer failed: r5 (lost, started 19th 20:00) is newer than r3 (ended 19th 09:03).
    assert_eq!(names(&e["errors"], "agent_id"), ["cr-5", "cr-3"]);
    assert_eq!(e["errors"][0]["error"], Value::Null);
    assert_eq!(e["errors"][1]["session"], "sess-1");
    assert_eq!(e["errors"][1]["time"], "2026-11-19T09:03:00.000Z");
    // The limit keeps the newest.
    let one = json_at(&env, NOW, &["errors", "code-reviewer", "--limit", "1"]);
    assert_eq!(names(&one["errors"], "agent_id"), ["cr-5"]);
    // Before the run is 120 minutes old it is running, not lost: only r3 is an error.
    let early = json_at(&env, "2026-11-19T21:00:00Z", &["errors"]);
    assert_eq!(names(&early["errors"], "agent_id"), ["cr-3"]);
    // CSV: the one grid, a header row first.
    let (code, csv, _) = env.analyze_at(NOW, &["errors", "--format", "csv"]);
    assert_eq!(code, 0);
    assert_eq!(
        csv.lines().next(),
        Some("Time (UTC),Agent,Status,Description,Error,Session")
    );
    assert_eq!(csv.lines().count(), 3);
}

#[test]
fn errors_none_found_and_unknown_agent() {
    let env = reviewer_history();
    let (code, out, err) = env.analyze_at(NOW, &["errors", "test-runner"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("no failed or lost runs"), "{err}");
    let (code, _, err) = env.analyze_at(NOW, &["errors", "nobody"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown agent 'nobody'"), "{err}");
}

#[test]
fn errors_snapshots() {
    let env = reviewer_history();
    snap!("errors_table", table_at(&env, NOW, &["errors"]));
    snap!(
        "errors_json",
        table_at(&env, NOW, &["errors", "--format", "json"])
    );
}

// ── top ───────────────────────────────────────────────────────────────────────────────────

/// alpha: 6 × 60 s success, 1000 in / 100 out each → efficiency 1.0, $0.0045 per run.
/// beta: 4 success + 1 failure × 120 s, 100 in / 10 out → 0.8 / 2 min = 0.4, $0.00045 per run.
/// gamma: 2 × 30 s success, 10 in → 1.0 / 0.5 min = 2.0, $0.00003 per run; only 2 finished runs.
/// delta: 3 success, 2 failure, 2 cancelled × 60 s, no tokens → 3/5 = 0.6 / 1 min = 0.6, $0.
fn top_history() -> Env {
    let env = Env::new();
    let mut p = Vec::new();
    for i in 0..6 {
        let (s, e) = (
            format!("2026-11-10T10:{i:02}:00Z"),
            format!("2026-11-10T10:{:02}:00Z", i + 1),
        );
        p.extend(generic(
            &format!("al-{i}"),
            "alpha",
            "Build it",
            &s,
            &e,
            true,
            (1000, 100),
            None,
        ));
    }
    for i in 0..5 {
        let (s, e) = (
            format!("2026-11-11T10:{:02}:00Z", i * 2),
            format!("2026-11-11T10:{:02}:00Z", i * 2 + 2),
        );
        p.extend(generic(
            &format!("be-{i}"),
            "beta",
            "Build it",
            &s,
            &e,
            i != 4,
            (100, 10),
            None,
        ));
    }
    for i in 0..2 {
        let (s, e) = (
            format!("2026-11-12T10:{i:02}:00Z"),
            format!("2026-11-12T10:{i:02}:30Z"),
        );
        p.extend(generic(
            &format!("ga-{i}"),
            "gamma",
            "Build it",
            &s,
            &e,
            true,
            (10, 0),
            None,
        ));
    }
    env.record(&p);
    let mut runs = Vec::new();
    for i in 0..7 {
        let (s, e) = (
            format!("2026-11-13T10:{i:02}:00Z"),
            format!("2026-11-13T10:{:02}:00Z", i + 1),
        );
        let id = format!("de-{i}");
        runs.push(match i {
            0..=2 => ok(&id, "delta", "Build it", &s, &e),
            3 | 4 => failed(&id, "delta", "Build it", &s, &e, "crashed"),
            _ => cancelled(&id, "delta", "Build it", &s, &e),
        });
    }
    env.record_runs(&runs);
    env
}

#[test]
fn top_ranks_proven_agents_before_few_runs() {
    let env = top_history();
    // Efficiency, best first: proven alpha 1.0, delta 0.6, beta 0.4; then gamma (2.0 but 2 < 5 finished runs).
    let t = json_at(&env, NOW, &["top"]);
    assert_eq!(
        names(&t["agents"], "agent"),
        ["alpha", "delta", "beta", "gamma"]
    );
    let a = t["agents"].as_array().unwrap();
    approx(&a[0]["value"], 1.0);
    approx(&a[1]["value"], 0.6);
    approx(&a[2]["value"], 0.4);
    approx(&a[3]["value"], 2.0);
    assert_eq!(
        a.iter()
            .map(|r| r["few_runs"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [false, false, false, true]
    );
    // delta: finished = 3 + 2 + 0 lost = 5 (cancelled runs do not count).
    assert_eq!(
        (
            a[1]["finished"].as_i64(),
            a[1]["runs"].as_i64(),
            a[1]["cancelled"].as_i64()
        ),
        (Some(5), Some(7), Some(2))
    );
    assert_eq!(
        a.iter()
            .map(|r| r["rank"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    // Worst first: beta, delta, alpha — gamma is still last, never above a proven agent.
    let w = json_at(&env, NOW, &["top", "--worst"]);
    assert_eq!(
        names(&w["agents"], "agent"),
        ["beta", "delta", "alpha", "gamma"]
    );
    // With --min-runs 2 gamma is proven and leads.
    let m = json_at(&env, NOW, &["top", "--min-runs", "2"]);
    assert_eq!(
        names(&m["agents"], "agent"),
        ["gamma", "alpha", "delta", "beta"]
    );
    assert_eq!(m["min_runs"], 2);
}

#[test]
fn top_by_success_runs_and_cost() {
    let env = top_history();
    // Success: alpha 1.0, beta 0.8, delta 0.6; gamma (1.0) has few runs.
    assert_eq!(
        names(
            &json_at(&env, NOW, &["top", "--by", "success"])["agents"],
            "agent"
        ),
        ["alpha", "beta", "delta", "gamma"]
    );
    // Runs: delta 7, alpha 6, beta 5, gamma 2.
    assert_eq!(
        names(
            &json_at(&env, NOW, &["top", "--by", "runs"])["agents"],
            "agent"
        ),
        ["delta", "alpha", "beta", "gamma"]
    );
    // Cost per run, cheapest best: delta $0, beta 100·3e-6 + 10·15e-6 = $0.00045, alpha 0.003 + 0.0015 = $0.0045.
    let c = json_at(&env, NOW, &["top", "--by", "cost"]);
    assert_eq!(
        names(&c["agents"], "agent"),
        ["delta", "beta", "alpha", "gamma"]
    );
    approx(&c["agents"][1]["avg_cost_usd"], 0.00045);
    approx(&c["agents"][2]["value"], 0.0045);
    approx(&c["agents"][2]["cost_usd"], 6.0 * 0.0045);
    // --limit cuts after ranking.
    let l = json_at(
        &env,
        NOW,
        &["top", "--by", "cost", "--worst", "--limit", "2"],
    );
    assert_eq!(names(&l["agents"], "agent"), ["alpha", "beta"]);
}

#[test]
fn top_rejects_bad_arguments_and_reports_nothing_found() {
    let env = top_history();
    let (code, _, err) = env.analyze_at(NOW, &["top", "--by", "speed"]);
    assert_eq!(code, 2);
    assert!(err.contains("--by 'speed'"), "{err}");
    let (code, out, err) = env.analyze_at(NOW, &["top", "--since", "2026-11-15"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
}

#[test]
fn top_snapshots() {
    let env = top_history();
    snap!("top_table", table_at(&env, NOW, &["top"]));
    snap!(
        "top_json",
        table_at(&env, NOW, &["top", "--by", "cost", "--format", "json"])
    );
}

// ── trends ────────────────────────────────────────────────────────────────────────────────

/// Window = 30 days before NOW (2026-10-21T12:00Z); recent = from 2026-11-13T12:00Z.
/// improver: earlier 1 of 6 succeed, recent 6 of 6. decliner: earlier 6 of 6 at 60 s, recent
/// 1 of 6 at 120 s. steady: earlier 4 success, 1 failure, 1 cancelled; recent 3 success,
/// 1 failure, 1 lost. newbie: 3 recent runs only.
fn trends_history() -> Env {
    let env = Env::new();
    let mut runs = Vec::new();
    let at = |day: u32, i: usize, secs: u32| {
        let start = format!("2026-11-{day:02}T09:{:02}:00Z", i * 3);
        let end = format!(
            "2026-11-{day:02}T09:{:02}:{:02}Z",
            i * 3 + (secs / 60) as usize,
            secs % 60
        );
        (start, end)
    };
    for i in 0..6 {
        let (s, e) = at(1, i, 60);
        let id = format!("im-e{i}");
        runs.push(if i == 0 {
            ok(&id, "improver", "Work", &s, &e)
        } else {
            failed(&id, "improver", "Work", &s, &e, "no")
        });
        let (s, e) = at(16, i, 60);
        runs.push(ok(&format!("im-r{i}"), "improver", "Work", &s, &e));
        let (s, e) = at(2, i, 60);
        runs.push(ok(&format!("de-e{i}"), "decliner", "Work", &s, &e));
        let (s, e) = at(17, i, 120);
        let id = format!("de-r{i}");
        runs.push(if i == 0 {
            ok(&id, "decliner", "Work", &s, &e)
        } else {
            failed(&id, "decliner", "Work", &s, &e, "no")
        });
        let (s, e) = at(3, i, 60);
        let id = format!("st-e{i}");
        runs.push(match i {
            0..=3 => ok(&id, "steady", "Work", &s, &e),
            4 => failed(&id, "steady", "Work", &s, &e, "no"),
            _ => cancelled(&id, "steady", "Work", &s, &e),
        });
        if i < 5 {
            let (s, e) = at(18, i, 60);
            let id = format!("st-r{i}");
            runs.push(match i {
                0..=2 => ok(&id, "steady", "Work", &s, &e),
                3 => failed(&id, "steady", "Work", &s, &e, "no"),
                _ => running(&id, "steady", "Work", &s),
            });
        }
        if i < 3 {
            let (s, e) = at(19, i, 60);
            runs.push(ok(&format!("nb-{i}"), "newbie", "Work", &s, &e));
        }
    }
    // Outside the 30-day window: ignored.
    runs.push(failed(
        "old-1",
        "improver",
        "Work",
        "2026-10-01T09:00:00Z",
        "2026-10-01T09:01:00Z",
        "no",
    ));
    env.record_runs(&runs);
    env
}

#[test]
fn trends_verdicts_by_hand() {
    let env = trends_history();
    let t = json_at(&env, NOW, &["trends"]);
    assert_eq!(t["window_start"], "2026-10-21T12:00:00.000Z");
    assert_eq!(t["recent_start"], "2026-11-13T12:00:00.000Z");
    let find = |name: &str| {
        t["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent"] == name)
            .unwrap()
            .clone()
    };
    // improver: p₁ = 6/6, p₂ = 1/6, pooled 7/12; se = √(7/12 · 5/12 · (1/6 + 1/6)) = √(35/432)
    // = 0.284637; z = (1 − 1/6) / 0.284637 = 2.92770 ≥ 1.96 → improving.
    let im = find("improver");
    assert_eq!(
        (
            im["earlier"]["runs"].as_i64(),
            im["recent"]["runs"].as_i64()
        ),
        (Some(6), Some(6))
    );
    approx(&im["z"], (5.0 / 6.0) / (35.0f64 / 432.0).sqrt());
    approx(&im["success_change"], 5.0 / 6.0);
    assert_eq!(im["verdict"], "improving");
    assert_eq!(im["duration_verdict"], Value::Null);
    // decliner: the mirror image, z = −2.92770 → declining; 120 s vs 60 s = ×2 ≥ ×1.5 → slower.
    let de = find("decliner");
    approx(&de["z"], -(5.0 / 6.0) / (35.0f64 / 432.0).sqrt());
    assert_eq!(de["verdict"], "declining");
    assert_eq!(de["duration_verdict"], "slower");
    approx(&de["duration_change"], 1.0);
    approx(&de["recent"]["avg_duration_ms"], 120_000.0);
    // steady: earlier 4 of 5 decided (the cancelled run is not decided), recent 3 of 5 (the lost
    // run counts as a failure). pooled 7/10, se = √(0.7 · 0.3 · 0.4) = √0.084; z = −0.2 / 0.289828.
    let st = find("steady");
    assert_eq!(
        (
            st["earlier"]["runs"].as_i64(),
            st["earlier"]["decided"].as_i64()
        ),
        (Some(6), Some(5))
    );
    assert_eq!(
        (
            st["recent"]["runs"].as_i64(),
            st["recent"]["decided"].as_i64()
        ),
        (Some(5), Some(5))
    );
    approx(&st["z"], -0.2 / 0.084f64.sqrt());
    approx(&st["success_change"], -0.2);
    assert_eq!(st["verdict"], "stable");
    // newbie: 3 recent, 0 earlier decided runs < 5 → insufficient data, no z.
    let nb = find("newbie");
    assert_eq!(nb["verdict"], "insufficient data");
    assert_eq!(nb["z"], Value::Null);
    // Order: most runs in the window first (improver 12, decliner 12, steady 11, newbie 3; ties by name).
    assert_eq!(
        names(&t["agents"], "agent"),
        ["decliner", "improver", "steady", "newbie"]
    );
}

#[test]
fn trends_for_one_agent_and_a_short_window() {
    let env = trends_history();
    let one = json_at(&env, NOW, &["trends", "decliner"]);
    assert_eq!(names(&one["agents"], "agent"), ["decliner"]);
    // A 5-day window is all "recent": nothing earlier to compare with.
    let short = json_at(&env, NOW, &["trends", "--days", "5"]);
    assert!(
        short["agents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["verdict"] == "insufficient data"),
        "{short}"
    );
    // Nothing in the window: exit 1.
    let (code, out, err) = env.analyze_at("2027-06-01T00:00:00Z", &["trends"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("no agent runs in the trend window"), "{err}");
}

#[test]
fn trends_snapshots() {
    let env = trends_history();
    snap!("trends_table", table_at(&env, NOW, &["trends"]));
    snap!(
        "trends_json",
        table_at(&env, NOW, &["trends", "steady", "--format", "json"])
    );
}

// ── tools ─────────────────────────────────────────────────────────────────────────────────

/// Four runs with transcripts, one without (it counts for nothing here):
/// t1 explorer: Read 3, Grep 1        t2 explorer: Read 1, Grep 2 (1 error), Bash 1
/// t3 builder:  Read 2, Edit 2, Bash 1 (1 error)      t4 builder: Edit 1, Bash 2
fn tools_history() -> Env {
    let env = Env::new();
    let mut p = Vec::new();
    let r = |id: &str, ty: &str, m: u32| {
        ok(
            id,
            ty,
            "Work",
            &format!("2026-11-19T10:{m:02}:00Z"),
            &format!("2026-11-19T10:{:02}:00Z", m + 1),
        )
    };
    p.extend(with_transcript(
        &env,
        &r("t1", "explorer", 0),
        &[("Read", 3, 0), ("Grep", 1, 0)],
        [10, 1, 0, 0],
    ));
    p.extend(with_transcript(
        &env,
        &r("t2", "explorer", 2),
        &[("Read", 1, 0), ("Grep", 2, 1), ("Bash", 1, 0)],
        [10, 1, 0, 0],
    ));
    p.extend(with_transcript(
        &env,
        &r("t3", "builder", 4),
        &[("Read", 2, 0), ("Edit", 2, 0), ("Bash", 1, 1)],
        [10, 1, 0, 0],
    ));
    p.extend(with_transcript(
        &env,
        &r("t4", "builder", 6),
        &[("Edit", 1, 0), ("Bash", 2, 0)],
        [10, 1, 0, 0],
    ));
    p.extend(r("t5", "builder", 8).payloads());
    env.record(&p);
    env
}

#[test]
fn tools_figures_and_pairs_by_hand() {
    let env = tools_history();
    let t = json_at(&env, NOW, &["tools"]);
    // N = 4 runs with a summary (t5 has none); 3 + 1 + 1 + 2 + 1 + 2 + 2 + 1 + 1 + 2 = 16 calls.
    assert_eq!(
        (
            t["summarized_runs"].as_i64(),
            t["total_calls"].as_i64(),
            t["min_pair_support"].as_i64()
        ),
        (Some(4), Some(16), Some(2))
    );
    // Read 6 (t1 t2 t3), Bash 4 (t2 t3 t4), Edit 3 (t3 t4), Grep 3 (t1 t2); ties by name.
    assert_eq!(names(&t["tools"], "tool"), ["Read", "Bash", "Edit", "Grep"]);
    let tools = t["tools"].as_array().unwrap();
    let read = &tools[0];
    assert_eq!(
        (
            read["calls"].as_i64(),
            read["runs"].as_i64(),
            read["agents"].as_i64(),
            read["errors"].as_i64()
        ),
        (Some(6), Some(3), Some(2), Some(0))
    );
    approx(&read["share"], 6.0 / 16.0);
    approx(&read["calls_per_run"], 6.0 / 4.0);
    approx(&read["error_rate"], 0.0);
    let bash = &tools[1];
    approx(&bash["share"], 4.0 / 16.0);
    approx(&bash["error_rate"], 1.0 / 4.0);
    assert_eq!(bash["agents"], 2);
    let grep = &tools[3];
    approx(&grep["error_rate"], 1.0 / 3.0);
    approx(&grep["calls_per_run"], 3.0 / 4.0);
    assert_eq!(grep["agents"], 1);
    // Pairs with support ≥ 2: Bash+Edit (t3 t4), Grep+Read (t1 t2), Bash+Read (t2 t3);
    // Bash+Grep and Edit+Read are in one run each. lift = support · N / (n_A · n_B):
    // Bash+Edit 2·4/(3·2) = 4/3, Grep+Read 2·4/(2·3) = 4/3, Bash+Read 2·4/(3·3) = 8/9.
    let pairs = t["pairs"].as_array().unwrap();
    let got: Vec<(String, String, i64)> = pairs
        .iter()
        .map(|x| {
            (
                x["a"].as_str().unwrap().into(),
                x["b"].as_str().unwrap().into(),
                x["support"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Bash".into(), "Edit".into(), 2),
            ("Grep".into(), "Read".into(), 2),
            ("Bash".into(), "Read".into(), 2)
        ]
    );
    approx(&pairs[0]["lift"], 4.0 / 3.0);
    approx(&pairs[1]["lift"], 4.0 / 3.0);
    approx(&pairs[2]["lift"], 8.0 / 9.0);
}

#[test]
fn tools_for_one_agent_limits_and_nothing_found() {
    let env = tools_history();
    // builder: t3 t4 summarised (t5 is not) → N = 2; Bash 3, Edit 3, Read 2. Bash+Edit in both runs:
    // lift = 2·2/(2·2) = 1.
    let t = json_at(&env, NOW, &["tools", "--agent", "builder"]);
    assert_eq!(t["summarized_runs"], 2);
    assert_eq!(names(&t["tools"], "tool"), ["Bash", "Edit", "Read"]);
    approx(&t["tools"][0]["calls_per_run"], 1.5);
    assert_eq!(t["pairs"].as_array().unwrap().len(), 1);
    approx(&t["pairs"][0]["lift"], 1.0);
    let l = json_at(&env, NOW, &["tools", "--limit", "1", "--pairs", "1"]);
    assert_eq!(names(&l["tools"], "tool"), ["Read"]);
    assert_eq!(l["pairs"].as_array().unwrap().len(), 1);
    approx(&l["tools"][0]["share"], 6.0 / 16.0); // the share is still of all calls
                                                 // Runs without transcripts have no tool calls: exit 1.
    let bare = Env::new();
    bare.record_runs(&[ok(
        "x1",
        "builder",
        "Work",
        "2026-11-19T10:00:00Z",
        "2026-11-19T10:01:00Z",
    )]);
    let (code, out, err) = bare.analyze_at(NOW, &["tools"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("no tool calls"), "{err}");
}

#[test]
fn tools_snapshots() {
    let env = tools_history();
    snap!("tools_table", table_at(&env, NOW, &["tools"]));
    snap!(
        "tools_json",
        table_at(&env, NOW, &["tools", "--format", "json"])
    );
}

// ── types ─────────────────────────────────────────────────────────────────────────────────

/// testing: test-runner 60 s ok (Bash 2, Read 1), 120 s ok (Bash 1, Edit 1), 60 s failed;
///          qa-bot 30 s ok (Read 1, Grep 1).
/// reviewer: code-reviewer 60 s ok (Read 4), one lost.   security: security-auditor cancelled after 90 s.
fn types_history() -> Env {
    let env = Env::new();
    let mut p = Vec::new();
    let r = |id: &str, ty: &str, m: u32, secs: u32| {
        ok(
            id,
            ty,
            "Work",
            &format!("2026-11-19T10:{m:02}:00Z"),
            &format!("2026-11-19T10:{:02}:{:02}Z", m + secs / 60, secs % 60),
        )
    };
    p.extend(with_transcript(
        &env,
        &r("tr-1", "test-runner", 0, 60),
        &[("Bash", 2, 0), ("Read", 1, 0)],
        [0, 0, 0, 0],
    ));
    p.extend(with_transcript(
        &env,
        &r("tr-2", "test-runner", 2, 120),
        &[("Bash", 1, 0), ("Edit", 1, 0)],
        [0, 0, 0, 0],
    ));
    p.extend(
        failed(
            "tr-3",
            "test-runner",
            "Work",
            "2026-11-19T10:05:00Z",
            "2026-11-19T10:06:00Z",
            "boom",
        )
        .payloads(),
    );
    p.extend(with_transcript(
        &env,
        &r("qa-1", "qa-bot", 7, 30),
        &[("Read", 1, 0), ("Grep", 1, 0)],
        [0, 0, 0, 0],
    ));
    p.extend(with_transcript(
        &env,
        &r("cr-1", "code-reviewer", 8, 60),
        &[("Read", 4, 0)],
        [0, 0, 0, 0],
    ));
    p.extend(running("cr-2", "code-reviewer", "Work", "2026-11-19T10:10:00Z").payloads());
    p.extend(
        cancelled(
            "sa-1",
            "security-auditor",
            "Work",
            "2026-11-19T10:11:00Z",
            "2026-11-19T10:12:30Z",
        )
        .payloads(),
    );
    env.record(&p);
    env
}

#[test]
fn types_by_hand() {
    let env = types_history();
    let t = json_at(&env, NOW, &["types"]);
    let cats = t["categories"].as_array().unwrap();
    assert_eq!(
        names(&t["categories"], "category"),
        ["testing", "reviewer", "security"]
    );
    // testing: 4 runs; success 3 of decided 4; durations 60 + 120 + 60 + 30 = 270 s / 4 = 67.5 s;
    // tools Bash 3, Read 2, then Edit 1 and Grep 1 tie → Edit by name.
    let testing = &cats[0];
    assert_eq!(testing["runs"], 4);
    assert_eq!(testing["agent_types"], json!(["test-runner", "qa-bot"]));
    approx(&testing["success_rate"], 0.75);
    approx(&testing["avg_duration_ms"], 67_500.0);
    assert_eq!(
        testing["top_tools"],
        json!([{"tool": "Bash", "calls": 3}, {"tool": "Read", "calls": 2}, {"tool": "Edit", "calls": 1}])
    );
    // reviewer: the lost run counts as a failure → 1/2; only the finished run has a duration.
    approx(&cats[1]["success_rate"], 0.5);
    approx(&cats[1]["avg_duration_ms"], 60_000.0);
    // security: a cancelled run decides nothing → no success rate.
    assert_eq!(cats[2]["success_rate"], Value::Null);
    approx(&cats[2]["avg_duration_ms"], 90_000.0);
    assert_eq!(cats[2]["top_tools"], json!([]));
    // Filters apply; an empty result exits 1.
    let f = json_at(&env, NOW, &["types", "--agent", "qa-bot"]);
    assert_eq!(f["categories"][0]["runs"], 1);
    let (code, _, err) = env.analyze_at(NOW, &["types", "--since", "2026-11-20"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn types_snapshots() {
    let env = types_history();
    snap!("types_table", table_at(&env, NOW, &["types"]));
    snap!(
        "types_json",
        table_at(&env, NOW, &["types", "--format", "json"])
    );
}

// ── timeline ──────────────────────────────────────────────────────────────────────────────

const TL_NOW: &str = "2026-11-20T12:30:00Z";

fn timeline_history() -> Env {
    let env = Env::new();
    env.record_runs(&[
        ok(
            "a1",
            "alpha",
            "Work",
            "2026-11-20T10:05:00Z",
            "2026-11-20T10:06:00Z",
        ),
        failed(
            "a2",
            "alpha",
            "Work",
            "2026-11-20T10:20:00Z",
            "2026-11-20T10:22:00Z",
            "no",
        ),
        ok(
            "b1",
            "beta",
            "Work",
            "2026-11-20T10:40:00Z",
            "2026-11-20T10:40:30Z",
        ),
        ok(
            "b2",
            "beta",
            "Work",
            "2026-11-20T11:10:00Z",
            "2026-11-20T11:11:00Z",
        ),
        running("g1", "gamma", "Work", "2026-11-20T11:15:00Z"),
        ok(
            "g2",
            "gamma",
            "Work",
            "2026-11-20T12:10:00Z",
            "2026-11-20T12:11:00Z",
        ),
        // Before the default 24-hour window (which starts 2026-11-19T13:00Z).
        ok(
            "a0",
            "alpha",
            "Work",
            "2026-11-19T12:30:00Z",
            "2026-11-19T12:31:00Z",
        ),
        ok(
            "b0",
            "beta",
            "Work",
            "2026-11-18T09:00:00Z",
            "2026-11-18T09:01:00Z",
        ),
    ]);
    env
}

#[test]
fn timeline_hourly_by_hand() {
    let env = timeline_history();
    let t = json_at(&env, TL_NOW, &["timeline"]);
    // 24 hours up to and including 12:00–13:00: from 2026-11-19T13:00Z.
    assert_eq!(t["bucket"], "hour");
    assert_eq!(t["start"], "2026-11-19T13:00:00.000Z");
    let b = t["buckets"].as_array().unwrap();
    assert_eq!(b.len(), 24);
    assert_eq!(t["runs"], 6);
    assert!(b[..21]
        .iter()
        .all(|x| x["runs"] == 0 && x["dominant_agent"].is_null()));
    // 10:00: a1 60 s ok, a2 120 s failed, b1 30 s ok → 3 runs, mean 70 s, 2/3, alpha.
    assert_eq!(b[21]["start"], "2026-11-20T10:00:00.000Z");
    assert_eq!(b[21]["runs"], 3);
    approx(&b[21]["avg_duration_ms"], 70_000.0);
    approx(&b[21]["success_rate"], 2.0 / 3.0);
    assert_eq!(b[21]["dominant_agent"], "alpha");
    // 11:00: b2 ok 60 s, g1 running (no duration, not decided) → 1/1; beta and gamma tie → beta.
    assert_eq!(b[22]["runs"], 2);
    approx(&b[22]["avg_duration_ms"], 60_000.0);
    approx(&b[22]["success_rate"], 1.0);
    assert_eq!(b[22]["dominant_agent"], "beta");
    // 12:00: g2.
    assert_eq!(
        (b[23]["runs"].as_i64(), b[23]["dominant_agent"].as_str()),
        (Some(1), Some("gamma"))
    );
    // --hours 2: 11:00 and 12:00 only.
    let two = json_at(&env, TL_NOW, &["timeline", "--hours", "2"]);
    assert_eq!(two["buckets"].as_array().unwrap().len(), 2);
    assert_eq!(two["runs"], 3);
}

#[test]
fn timeline_daily_with_days_and_bars() {
    let env = timeline_history();
    // --days 3: since 2026-11-17T12:30Z → days 17 (0 runs), 18 (b0), 19 (a0), 20 (six).
    let t = json_at(&env, TL_NOW, &["timeline", "--days", "3"]);
    assert_eq!(t["bucket"], "day");
    let b = t["buckets"].as_array().unwrap();
    assert_eq!(
        b.iter()
            .map(|x| x["runs"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 1, 6]
    );
    assert_eq!(b[0]["start"], "2026-11-17T00:00:00.000Z");
    // Bars in the table: 6 runs = 30 blocks, 1 run = round(30/6) = 5.
    let table = table_at(&env, TL_NOW, &["timeline", "--days", "3"]);
    assert!(
        table
            .lines()
            .any(|l| l.contains("2026-11-20") && l.contains(&"█".repeat(30))),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains("2026-11-18") && l.contains(&format!(" {} ", "█".repeat(5)))),
        "{table}"
    );
    // No runs in the window: exit 1.
    let (code, out, err) = env.analyze_at("2026-11-25T00:00:00Z", &["timeline", "--hours", "6"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    let (code, _, _) = env.analyze_at(TL_NOW, &["timeline", "--hours", "0"]);
    assert_eq!(code, 2);
}

#[test]
fn timeline_snapshots() {
    let env = timeline_history();
    snap!(
        "timeline_table",
        table_at(&env, TL_NOW, &["timeline", "--hours", "6"])
    );
    snap!(
        "timeline_json",
        table_at(
            &env,
            TL_NOW,
            &["timeline", "--days", "2", "--format", "json"]
        )
    );
}

// ── active ────────────────────────────────────────────────────────────────────────────────

/// At NOW (12:00): builder started 11:50 (10 min), explorer 11:00 (60 min) with a child started
/// 11:30 (30 min), an explorer started 09:00 (180 min > 120: lost), and a finished run.
fn active_history() -> Env {
    let env = Env::new();
    env.record_runs(&[
        running("ex-1", "explorer", "Map the code", "2026-11-20T11:00:00Z"),
        child(
            running("ex-2", "explorer", "Look deeper", "2026-11-20T11:30:00Z"),
            "ex-1",
        ),
        running("bu-1", "builder", "Build it", "2026-11-20T11:50:00Z"),
        running("ex-0", "explorer", "Old one", "2026-11-20T09:00:00Z"),
        ok(
            "bu-0",
            "builder",
            "Done",
            "2026-11-20T11:40:00Z",
            "2026-11-20T11:45:00Z",
        ),
    ]);
    env
}

#[test]
fn active_lists_running_agents_and_flags_hung_ones() {
    let env = active_history();
    let a = json_at(&env, NOW, &["active"]);
    assert_eq!(a["hung_after_minutes"], 30);
    // Oldest first; the lost and the finished runs are not listed.
    assert_eq!(names(&a["agents"], "agent_id"), ["ex-1", "ex-2", "bu-1"]);
    let rows = a["agents"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["elapsed_ms"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [3_600_000, 1_800_000, 600_000]
    );
    // Hung: elapsed > 30 min, so exactly 30 min is not.
    assert_eq!(
        rows.iter()
            .map(|r| r["possibly_hung"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, false, false]
    );
    assert_eq!(
        (rows[1]["depth"].as_i64(), rows[1]["started"].as_str()),
        (Some(2), Some("2026-11-20T11:30:00.000Z"))
    );
    let h = json_at(&env, NOW, &["active", "--hung-after", "5"]);
    assert!(h["agents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["possibly_hung"] == true));
    let b = json_at(&env, NOW, &["active", "--agent", "builder"]);
    assert_eq!(names(&b["agents"], "agent_id"), ["bu-1"]);
}

#[test]
fn active_nothing_running_exits_1() {
    let env = active_history();
    // A day later every open run is lost.
    let (code, out, err) = env.analyze_at("2026-11-21T12:00:00Z", &["active"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("no agents are running"), "{err}");
}

#[test]
fn active_snapshots() {
    let env = active_history();
    snap!("active_table", table_at(&env, NOW, &["active"]));
    snap!(
        "active_json",
        table_at(&env, NOW, &["active", "--format", "json"])
    );
}
