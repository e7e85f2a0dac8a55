//! `analyze workflows`, `overhead` and `tree`: small histories recorded through the real append
//! path, every expected figure computed by hand in the comments.

use crate::common::cc::{self, End};
use crate::common::*;
use serde_json::{json, Value};

/// "Now" for every test: runs started before 22:00 the day before and never ended are lost
/// (lost_after_minutes = 120).
const NOW: &str = "2026-11-02T00:00:00Z";

fn t(hms: &str) -> String {
    format!("2026-11-01T{hms}Z")
}

/// A scripted agent run in `session` / `prompt`.
fn run(session: &str, prompt: &str, id: &str, ty: &str, start: &str, end: &str) -> cc::Run {
    let mut r = cc::Run::new(id, ty, &format!("{ty} task"), &t(start), &t(end));
    r.session = session.into();
    r.prompt_id = prompt.into();
    r
}

fn nested(mut r: cc::Run, parent: &str) -> cc::Run {
    r.parent = Some(parent.into());
    r
}

fn ending(mut r: cc::Run, end: End) -> cc::Run {
    r.end_kind = end;
    r
}

/// One prompt turn: UserPromptSubmit, its agents' hooks, then Stop (None: no Stop yet).
fn record_turn(
    env: &Env,
    session: &str,
    prompt_id: &str,
    prompt: &str,
    start: &str,
    end: Option<&str>,
    runs: &[cc::Run],
) {
    let turn = cc::turn(
        session,
        prompt_id,
        prompt,
        &t(start),
        &t(end.unwrap_or(start)),
    );
    let mut all: Vec<(&str, String)> = vec![turn[0].clone()];
    all.extend(runs.iter().flat_map(|r| r.payloads()));
    if end.is_some() {
        all.push(turn[1].clone());
    }
    env.record(&all);
}

/// `analyze … --format json` at [`NOW`]; panics unless it exits 0.
fn json_at(env: &Env, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = env.analyze_at(NOW, &a);
    assert_eq!(code, 0, "analyze {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("analyze {args:?} JSON: {e}\n{out}"))
}

fn approx(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
}

/// `workflow-event` run as Claude Code's settings or an orchestrator script would.
fn workflow_event(env: &Env, ts: &str, args: &[&str]) {
    let mut a = vec!["--timestamp", ts];
    a.extend(args);
    let out = env.run("workflow-event", &a, b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

fn generic_agent(
    env: &Env,
    workflow: &str,
    id: &str,
    name: &str,
    start: &str,
    end: &str,
    success: bool,
) {
    env.record(&[
        (
            "subagent-start",
            json!({"event": "agent_start", "agent_name": name, "invocation_id": id, "workflow_id": workflow,
                   "task_description": format!("{name} work"), "timestamp": t(start)})
            .to_string(),
        ),
        (
            "subagent-stop",
            json!({"event": "agent_stop", "invocation_id": id, "success": success, "timestamp": t(end)}).to_string(),
        ),
    ]);
}

/// Six prompt turns in one session covering every workflow status.
fn turns_history(env: &Env) {
    let s = "sess-1";
    // T1 10:00:00–10:01:40 (100 s): two parallel agents, both succeed → success.
    record_turn(
        env,
        s,
        "prompt-1",
        "Build the login feature",
        "10:00:00",
        Some("10:01:40"),
        &[
            run(
                s,
                "prompt-1",
                "a1",
                "backend-architect",
                "10:00:00",
                "10:01:00",
            ),
            run(
                s,
                "prompt-1",
                "a2",
                "frontend-developer",
                "10:00:10",
                "10:01:10",
            ),
        ],
    );
    // T2 11:00:00–11:03:00 (180 s): the frontend agent fails → failure. b3 is nested under b1
    // (depth 2): counted as an agent, not part of the sequence.
    record_turn(
        env,
        s,
        "prompt-2",
        "Add password reset",
        "11:00:00",
        Some("11:03:00"),
        &[
            run(
                s,
                "prompt-2",
                "b1",
                "backend-architect",
                "11:00:05",
                "11:01:00",
            ),
            nested(
                run(
                    s,
                    "prompt-2",
                    "b3",
                    "security-auditor",
                    "11:00:10",
                    "11:00:40",
                ),
                "b1",
            ),
            ending(
                run(
                    s,
                    "prompt-2",
                    "b2",
                    "frontend-developer",
                    "11:01:00",
                    "11:02:00",
                ),
                End::Failure("API Error: 500".into()),
            ),
        ],
    );
    // T3 12:00:00–12:00:20 (20 s): no agents → success.
    record_turn(
        env,
        s,
        "prompt-3",
        "What time is it?",
        "12:00:00",
        Some("12:00:20"),
        &[],
    );
    // T4 13:00:00–13:02:00 (120 s): the only agent is cancelled by the user → still success.
    record_turn(
        env,
        s,
        "prompt-4",
        "Refactor the forms",
        "13:00:00",
        Some("13:02:00"),
        &[ending(
            run(
                s,
                "prompt-4",
                "c1",
                "frontend-developer",
                "13:00:10",
                "13:01:00",
            ),
            End::Cancelled,
        )],
    );
    // T5 23:30:00, no Stop, its agent started 23:31 still runs (after 22:00) → running, no duration.
    record_turn(
        env,
        s,
        "prompt-5",
        "Long migration",
        "23:30:00",
        None,
        &[ending(
            run(
                s,
                "prompt-5",
                "d1",
                "backend-architect",
                "23:31:00",
                "23:31:00",
            ),
            End::Running,
        )],
    );
    // T6 14:00:00, no Stop, no agents, started before 22:00 → lost, no duration.
    record_turn(env, s, "prompt-6", "Forgotten", "14:00:00", None, &[]);
}

#[test]
fn workflows_totals_statuses_and_sequences() {
    let env = Env::new();
    turns_history(&env);
    let v = json_at(&env, &["workflows"]);
    let tot = &v["totals"];
    // success T1, T3, T4; failure T2; running T5; lost T6.
    assert_eq!(tot["workflows"], 6);
    assert_eq!(tot["turns"], 6);
    assert_eq!(tot["explicit"], 0);
    assert_eq!(
        (
            tot["success"].clone(),
            tot["failure"].clone(),
            tot["running"].clone(),
            tot["lost"].clone()
        ),
        (json!(3), json!(1), json!(1), json!(1))
    );
    // 3 / (3 + 1 + 1) — running excluded.
    approx(&tot["success_rate"], 0.6);
    // (100 + 180 + 20 + 120) s / 4 = 105 s.
    approx(&tot["avg_duration_ms"], 105_000.0);
    // Agents 2 + 3 + 0 + 1 + 1 + 0 = 7 over 6 workflows; 4 used agents.
    assert_eq!(tot["agents"], 7);
    approx(&tot["avg_agents"], 7.0 / 6.0);
    assert_eq!(tot["with_agents"], 4);

    // backend → frontend: T1 (success) and T2 (failure): 2 times, 50%, (100 + 180) / 2 = 140 s.
    // Then the singles by name: backend-architect (T5, running: no rate), frontend-developer (T4).
    let seqs = v["sequences"].as_array().unwrap();
    let got: Vec<(&str, i64)> = seqs
        .iter()
        .map(|s| {
            (
                s["sequence"].as_str().unwrap(),
                s["workflows"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("backend-architect → frontend-developer", 2),
            ("backend-architect", 1),
            ("frontend-developer", 1)
        ]
    );
    approx(&seqs[0]["success_rate"], 0.5);
    approx(&seqs[0]["avg_duration_ms"], 140_000.0);
    assert_eq!(
        seqs[0]["agents"],
        json!(["backend-architect", "frontend-developer"])
    );
    assert!(seqs[1]["success_rate"].is_null());
    assert!(seqs[1]["avg_duration_ms"].is_null());
    approx(&seqs[2]["success_rate"], 1.0);

    // Newest first.
    let recent = v["recent"].as_array().unwrap();
    let order: Vec<&str> = recent
        .iter()
        .map(|w| w["workflow_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["prompt-5", "prompt-6", "prompt-4", "prompt-3", "prompt-2", "prompt-1"]
    );
    let status: Vec<&str> = recent
        .iter()
        .map(|w| w["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["running", "lost", "success", "success", "failure", "success"]
    );
    let durations: Vec<Option<i64>> = recent.iter().map(|w| w["duration_ms"].as_i64()).collect();
    assert_eq!(
        durations,
        [
            None,
            None,
            Some(120_000),
            Some(20_000),
            Some(180_000),
            Some(100_000)
        ]
    );
    assert_eq!(recent[4]["agents"], 3);
    assert!(recent[3]["sequence"].is_null());
    assert_eq!(recent[5]["prompt"], "Build the login feature");
    assert_eq!(recent[5]["kind"], "turn");

    // --limit and --sequences cap the lists, not the totals.
    let v = json_at(&env, &["workflows", "--limit", "2", "--sequences", "1"]);
    assert_eq!(v["recent"].as_array().unwrap().len(), 2);
    assert_eq!(v["sequences"].as_array().unwrap().len(), 1);
    assert_eq!(v["totals"]["workflows"], 6);
}

#[test]
fn workflows_honour_the_global_filters() {
    let env = Env::new();
    turns_history(&env);
    // --agent: workflows with such an agent (T2 only has a security-auditor); figures stay whole.
    let v = json_at(&env, &["workflows", "--agent", "security-auditor"]);
    assert_eq!(v["totals"]["workflows"], 1);
    assert_eq!(v["recent"][0]["workflow_id"], "prompt-2");
    assert_eq!(v["recent"][0]["agents"], 3);
    // --since / --until bound the workflow's start: T2 (11:00), T3 (12:00).
    let v = json_at(
        &env,
        &[
            "workflows",
            "--since",
            &t("11:00:00"),
            "--until",
            &t("13:00:00"),
        ],
    );
    assert_eq!(v["totals"]["workflows"], 2);
    // --session, --project.
    assert_eq!(
        json_at(&env, &["workflows", "--session", "sess-1"])["totals"]["workflows"],
        6
    );
    assert_eq!(
        json_at(&env, &["workflows", "--project", "/home/dev/proj/"])["totals"]["workflows"],
        6
    );
    let (code, out, err) = env.analyze_at(NOW, &["workflows", "--project", "/elsewhere"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    let (code, out, _) = env.analyze_at(NOW, &["workflows", "--session", "sess-2"]);
    assert_eq!((code, out.as_str()), (1, ""));
    // CSV: the recent list, one header row.
    let (code, out, _) = env.analyze_at(NOW, &["workflows", "--format", "csv"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "Started,Workflow,Kind,Status,Duration,Agents,Cost,Agent sequence"
    );
    assert_eq!(lines.len(), 7);
}

/// Explicit workflows recorded with `workflow-event start/handoff/complete` and generic agents.
fn explicit_history(env: &Env) {
    // wf-1 09:00–09:10, handoffs planner → coder → reviewer, reported 540 s and success; no runs.
    workflow_event(
        env,
        &t("09:00:00"),
        &[
            "start",
            "--id",
            "wf-1",
            "--project",
            "/home/dev/proj",
            "--plan",
            "planner,coder,reviewer",
        ],
    );
    workflow_event(
        env,
        &t("09:01:00"),
        &[
            "handoff", "--id", "wf-1", "--from", "planner", "--to", "coder",
        ],
    );
    workflow_event(
        env,
        &t("09:05:00"),
        &[
            "handoff",
            "--id",
            "wf-1",
            "--from",
            "coder",
            "--to",
            "reviewer",
            "--artifacts",
            "diff.patch",
        ],
    );
    workflow_event(
        env,
        &t("09:10:00"),
        &[
            "complete",
            "--id",
            "wf-1",
            "--duration",
            "540",
            "--success",
            "true",
        ],
    );
    // wf-2 10:00–10:05, researcher [0, 120 s] succeeds, writer [60, 240 s] fails, no reported
    // success → failure; duration 300 s.
    workflow_event(env, &t("10:00:00"), &["start", "--id", "wf-2"]);
    generic_agent(
        env,
        "wf-2",
        "g1",
        "researcher",
        "10:00:00",
        "10:02:00",
        true,
    );
    generic_agent(env, "wf-2", "g2", "writer", "10:01:00", "10:04:00", false);
    workflow_event(env, &t("10:05:00"), &["complete", "--id", "wf-2"]);
    // wf-3 started 11:00, never completed, before 22:00 → lost.
    workflow_event(env, &t("11:00:00"), &["start", "--id", "wf-3"]);
    // wf-4: only a complete at 12:00 with 60 s, failure, agents analyst, reporter.
    workflow_event(
        env,
        &t("12:00:00"),
        &[
            "complete",
            "--id",
            "wf-4",
            "--duration",
            "60",
            "--success",
            "false",
            "--agents",
            "analyst,reporter",
        ],
    );
}

#[test]
fn explicit_workflows_reported_figures_and_handoff_chains() {
    let env = Env::new();
    explicit_history(&env);
    let v = json_at(&env, &["workflows"]);
    let tot = &v["totals"];
    // success wf-1; failure wf-2 (agent failed), wf-4 (reported); lost wf-3.
    assert_eq!(
        (
            tot["workflows"].clone(),
            tot["explicit"].clone(),
            tot["turns"].clone()
        ),
        (json!(4), json!(4), json!(0))
    );
    assert_eq!(
        (
            tot["success"].clone(),
            tot["failure"].clone(),
            tot["lost"].clone()
        ),
        (json!(1), json!(2), json!(1))
    );
    approx(&tot["success_rate"], 0.25);
    // Reported 540 s (not 600 s end − start), 300 s, reported 60 s: mean 300 s.
    approx(&tot["avg_duration_ms"], 300_000.0);
    approx(&tot["avg_agents"], 0.5);
    // Runs (wf-2), else the handoff chain (wf-1), else the reported agents (wf-4); by name.
    let seqs: Vec<(&str, i64)> = v["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["sequence"].as_str().unwrap(),
                s["workflows"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seqs,
        [
            ("analyst → reporter", 1),
            ("planner → coder → reviewer", 1),
            ("researcher → writer", 1)
        ]
    );
    let recent = v["recent"].as_array().unwrap();
    let by_id = |id: &str| {
        recent
            .iter()
            .find(|w| w["workflow_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("wf-1")["duration_ms"], 540_000);
    assert_eq!(by_id("wf-1")["status"], "success");
    assert_eq!(by_id("wf-2")["duration_ms"], 300_000);
    assert_eq!(by_id("wf-2")["status"], "failure");
    assert_eq!(by_id("wf-3")["status"], "lost");
    assert_eq!(by_id("wf-4")["status"], "failure");
    assert_eq!(by_id("wf-4")["start"], "2026-11-01T11:59:00.000Z");
    // The project given at start.
    let v = json_at(&env, &["workflows", "--project", "/home/dev/proj"]);
    assert_eq!(v["totals"]["workflows"], 1);
    assert_eq!(v["recent"][0]["workflow_id"], "wf-1");

    // Overhead: only wf-2 counts (wf-1 and wf-4 have no agent runs, wf-3 has no end).
    // W = 300 s; [0, 120] ∪ [60, 240] = 240 s → 60 s coordination, 20%; Σ = 120 + 180 = 300 → 0%.
    let o = json_at(&env, &["overhead"]);
    let all = &o["overall"];
    assert_eq!(
        (
            all["workflows"].clone(),
            all["excluded_unfinished"].clone(),
            all["excluded_no_agents"].clone()
        ),
        (json!(1), json!(1), json!(2))
    );
    approx(&all["overhead"], 0.2);
    approx(&all["overhead_sum"], 0.0);
    assert_eq!(all["peak_concurrency"], 2);
    approx(&all["avg_parallelism"], 1.25);
    assert_eq!(all["level"], "monitor");
    assert_eq!(o["workflows"][0]["kind"], "explicit");

    // tree --workflow: an explicit workflow has no session.
    let tr = json_at(&env, &["tree", "--workflow", "wf-2"]);
    assert!(tr["session"].is_null());
    assert_eq!(tr["turns"][0]["kind"], "explicit");
    assert_eq!(tr["turns"][0]["status"], "failure");
    let types: Vec<&str> = tr["turns"][0]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["researcher", "writer"]);
    assert_eq!(tr["turns"][0]["agents"][1]["status"], "failure");
    // No session recorded at all: the default tree has nothing to show.
    let (code, out, err) = env.analyze_at(NOW, &["tree"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("--workflow"), "{err}");
}

#[test]
fn overhead_uses_the_union_of_parallel_agents() {
    let env = Env::new();
    let s = "sess-o";
    // T1 W = 100 s; agents [0, 60] and [10, 70] → union 70 s → overhead 30 s / 100 s = 30%;
    // Σ = 120 s → classic (100 − 120) / 100 = −20%; peak 2; parallelism 120 / 70.
    record_turn(
        &env,
        s,
        "p1",
        "parallel",
        "10:00:00",
        Some("10:01:40"),
        &[
            run(s, "p1", "x1", "backend-architect", "10:00:00", "10:01:00"),
            run(s, "p1", "x2", "frontend-developer", "10:00:10", "10:01:10"),
        ],
    );
    let o = json_at(&env, &["overhead"]);
    let w = &o["workflows"][0];
    assert_eq!(
        (
            w["wall_ms"].clone(),
            w["agent_union_ms"].clone(),
            w["agent_sum_ms"].clone()
        ),
        (json!(100_000), json!(70_000), json!(120_000))
    );
    assert_eq!(w["coordination_ms"], 30_000);
    approx(&w["overhead"], 0.3);
    approx(&w["overhead_sum"], -0.2);
    assert_eq!(w["peak_concurrency"], 2);
    approx(&w["avg_parallelism"], 120.0 / 70.0);
    // Exactly 30% is still "monitor" (over 30% is high).
    assert_eq!(o["overall"]["level"], "monitor");
    approx(&o["overall"]["overhead"], 0.3);
    approx(&o["overall"]["avg_coordination_ms"], 30_000.0);
}

#[test]
fn overhead_is_time_weighted_ignores_nested_agents_and_says_what_it_excludes() {
    let env = Env::new();
    let s = "sess-o";
    // T1 W = 100: [0, 60] ∪ [10, 70] = 70, Σ 120, coordination 30.
    record_turn(
        &env,
        s,
        "p1",
        "parallel",
        "10:00:00",
        Some("10:01:40"),
        &[
            run(s, "p1", "x1", "backend-architect", "10:00:00", "10:01:00"),
            run(s, "p1", "x2", "frontend-developer", "10:00:10", "10:01:10"),
        ],
    );
    // T2 W = 100: [0, 20] and [50, 60] in sequence → union 30, Σ 30, coordination 70, peak 1.
    // y3 [5, 15] is nested inside y1: not counted (it would only double-count y1's waiting).
    record_turn(
        &env,
        s,
        "p2",
        "sequential",
        "11:00:00",
        Some("11:01:40"),
        &[
            run(s, "p2", "y1", "backend-architect", "11:00:00", "11:00:20"),
            nested(
                run(s, "p2", "y3", "security-auditor", "11:00:05", "11:00:15"),
                "y1",
            ),
            run(s, "p2", "y2", "frontend-developer", "11:00:50", "11:01:00"),
        ],
    );
    // T3 no agents → excluded (no agents).
    record_turn(&env, s, "p3", "chat", "12:00:00", Some("12:00:30"), &[]);
    // T5 Stop at 13:10:20 but its background agent runs [5 s, 65 s] → W = 65, union 60,
    // coordination 5.
    record_turn(
        &env,
        s,
        "p5",
        "background",
        "13:10:00",
        Some("13:10:20"),
        &[run(
            s,
            "p5",
            "z1",
            "security-auditor",
            "13:10:05",
            "13:11:05",
        )],
    );
    // T6 W = 100: one failed agent [0, 50] → union 50, coordination 50 (failed agents count).
    record_turn(
        &env,
        s,
        "p6",
        "failing",
        "13:30:00",
        Some("13:31:40"),
        &[ending(
            run(s, "p6", "f1", "frontend-developer", "13:30:00", "13:30:50"),
            End::Failure("API Error: 400".into()),
        )],
    );
    // T4 23:30, no Stop, agent still running → excluded (unfinished).
    record_turn(
        &env,
        s,
        "p4",
        "running",
        "23:30:00",
        None,
        &[ending(
            run(s, "p4", "r1", "backend-architect", "23:30:10", "23:30:10"),
            End::Running,
        )],
    );

    let o = json_at(&env, &["overhead"]);
    let all = &o["overall"];
    assert_eq!(all["workflows"], 4);
    assert_eq!(all["excluded_unfinished"], 1);
    assert_eq!(all["excluded_no_agents"], 1);
    // ΣW = 100 + 100 + 65 + 100 = 365 s; Σunion = 70 + 30 + 60 + 50 = 210; Σ = 120 + 30 + 60 + 50 = 260.
    assert_eq!(
        (
            all["wall_ms"].clone(),
            all["agent_union_ms"].clone(),
            all["agent_sum_ms"].clone()
        ),
        (json!(365_000), json!(210_000), json!(260_000))
    );
    // Σ(W − union) = 30 + 70 + 5 + 50 = 155 → 155 / 365 (time-weighted), not the mean of ratios.
    approx(&all["overhead"], 155.0 / 365.0);
    approx(&all["overhead_sum"], 105.0 / 365.0);
    approx(&all["avg_coordination_ms"], 155_000.0 / 4.0);
    approx(&all["avg_parallelism"], 260.0 / 210.0);
    assert_eq!(all["peak_concurrency"], 2);
    // 42.5% > 30%.
    assert_eq!(all["level"], "high");
    assert_eq!(
        all["recommendation"],
        "high overhead — consider shared memory / automated delegation"
    );

    let rows = o["workflows"].as_array().unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["workflow_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p6", "p5", "p2", "p1"]);
    let p2 = &rows[2];
    assert_eq!(
        (
            p2["agents"].clone(),
            p2["agent_union_ms"].clone(),
            p2["peak_concurrency"].clone()
        ),
        (json!(2), json!(30_000), json!(1))
    );
    approx(&p2["overhead"], 0.7);
    approx(&p2["avg_parallelism"], 1.0);
    assert_eq!(rows[1]["wall_ms"], 65_000);
    // --sort overhead: 70% (p2), 50% (p6), 30% (p1), 7.7% (p5).
    let o = json_at(&env, &["overhead", "--sort", "overhead", "--limit", "3"]);
    let ids: Vec<&str> = o["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workflow_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p2", "p6", "p1"]);
    // --agent keeps the workflows with such a run, nested or not: T2 (y3) and T5 (z1).
    let o = json_at(&env, &["overhead", "--agent", "security-auditor"]);
    assert_eq!(o["overall"]["workflows"], 2);
    let (code, _, err) = env.analyze_at(NOW, &["overhead", "--sort", "bogus"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn tree_nests_agents_under_their_turns() {
    let env = Env::new();
    // An older session, so the default (most recent) is sess-t.
    record_turn(
        &env,
        "sess-old",
        "old-1",
        "old work",
        "08:00:00",
        Some("08:01:00"),
        &[run(
            "sess-old", "old-1", "o1", "debugger", "08:00:10", "08:00:20",
        )],
    );
    let s = "sess-t";
    let long = "Build the login feature with email and password, remember-me, rate limiting and an audit log of every attempt";
    record_turn(
        &env,
        s,
        "prompt-1",
        long,
        "10:00:00",
        Some("10:05:00"),
        &[
            run(
                s,
                "prompt-1",
                "a1",
                "backend-architect",
                "10:00:00",
                "10:03:00",
            ),
            nested(
                run(
                    s,
                    "prompt-1",
                    "a3",
                    "security-auditor",
                    "10:01:00",
                    "10:02:00",
                ),
                "a1",
            ),
            ending(
                nested(
                    run(s, "prompt-1", "a4", "code-reviewer", "10:01:10", "10:01:40"),
                    "a3",
                ),
                End::Failure("API Error: 500".into()),
            ),
            run(
                s,
                "prompt-1",
                "a2",
                "frontend-developer",
                "10:00:05",
                "10:02:05",
            ),
        ],
    );
    record_turn(
        &env,
        s,
        "prompt-2",
        "Thanks",
        "11:00:00",
        Some("11:01:00"),
        &[],
    );
    // An agent whose prompt turn was never recorded: under "(no turn)".
    env.record_runs(&[ending(
        run(s, "prompt-x", "a5", "debugger", "12:00:00", "12:00:30"),
        End::Cancelled,
    )]);

    let v = json_at(&env, &["tree"]);
    assert_eq!(v["session"], "sess-t");
    assert_eq!(v["project"], "/home/dev/proj");
    let turns = v["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 3);
    let t1 = &turns[0];
    assert_eq!(t1["workflow_id"], "prompt-1");
    // First 80 characters of the prompt.
    assert_eq!(t1["prompt"].as_str().unwrap(), &long[..80]);
    // The nested code-reviewer failed → the turn failed; 10:00–10:05 = 300 s.
    assert_eq!(t1["status"], "failure");
    assert_eq!(t1["duration_ms"], 300_000);
    let top: Vec<&str> = t1["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent_type"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["backend-architect", "frontend-developer"]);
    let be = &t1["agents"][0];
    assert_eq!(be["agent_id"], "a1");
    assert_eq!(be["duration_ms"], 180_000);
    assert_eq!(be["description"], "backend-architect task");
    assert_eq!(be["status"], "success");
    assert_eq!(be["tokens"], 0);
    // No usage recorded: the cost is unknown, not 0.
    assert!(be["cost_usd"].is_null());
    assert_eq!(be["children"][0]["agent_type"], "security-auditor");
    assert_eq!(
        be["children"][0]["children"][0]["agent_type"],
        "code-reviewer"
    );
    assert_eq!(be["children"][0]["children"][0]["status"], "failure");
    assert_eq!(be["children"][0]["children"][0]["duration_ms"], 30_000);
    assert_eq!(t1["agents"][1]["children"], json!([]));
    assert_eq!(turns[1]["workflow_id"], "prompt-2");
    assert_eq!(turns[1]["agents"], json!([]));
    assert_eq!(turns[1]["status"], "success");
    assert!(turns[2]["workflow_id"].is_null());
    assert_eq!(turns[2]["kind"], "none");
    assert_eq!(turns[2]["agents"][0]["status"], "cancelled");

    // --session picks another session (a unique prefix is enough); --workflow one turn.
    let v = json_at(&env, &["tree", "--session", "sess-o"]);
    assert_eq!(v["session"], "sess-old");
    let v = json_at(&env, &["tree", "--workflow", "prompt-1"]);
    assert_eq!(v["session"], "sess-t");
    assert_eq!(v["turns"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["turns"][0]["agents"][0]["children"][0]["children"][0]["agent_id"],
        "a4"
    );
    // Filters choose the session: only sess-old started before 09:00; only sess-t has a
    // code-reviewer.
    assert_eq!(
        json_at(&env, &["tree", "--until", &t("09:00:00")])["session"],
        "sess-old"
    );
    assert_eq!(
        json_at(&env, &["tree", "--agent", "code-reviewer"])["session"],
        "sess-t"
    );
    // Ambiguous prefix: an error; unknown ids: nothing found.
    let (code, _, err) = env.analyze_at(NOW, &["tree", "--workflow", "prompt-"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = env.analyze_at(NOW, &["tree", "--workflow", "nope"]);
    assert_eq!((code, out.as_str()), (1, ""));
    let (code, out, _) = env.analyze_at(NOW, &["tree", "--since", "2030-01-01"]);
    assert_eq!((code, out.as_str()), (1, ""));
    // CSV: one row per node with its level.
    let (code, out, _) = env.analyze_at(NOW, &["tree", "--format", "csv"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "level,node,workflow_id,agent_id,parent_agent_id,agent_type,description,status,duration_ms,tokens,cost_usd,tool_ms,model_ms,host_cpu_seconds,host_rss_mb");
    // 3 turn nodes + 5 agents.
    assert_eq!(lines.len(), 1 + 3 + 5);
    assert!(
        lines.contains(
            &"4,agent,prompt-1,a4,a3,code-reviewer,code-reviewer task,failure,30000,0,,,,,"
        ),
        "{out}"
    );
}

#[test]
fn nothing_to_show_exits_1() {
    let env = Env::new();
    // Agent runs, but no prompt turn or workflow was ever recorded.
    env.record_runs(&[run(
        "sess-1",
        "p1",
        "a1",
        "backend-architect",
        "10:00:00",
        "10:01:00",
    )]);
    for cmd in ["workflows", "overhead"] {
        let (code, out, err) = env.analyze_at(NOW, &[cmd]);
        assert_eq!((code, out.as_str()), (1, ""), "{cmd}: {err}");
    }
    // Workflows without agents: listed by `workflows`, not measurable by `overhead`.
    record_turn(
        &env,
        "sess-1",
        "p2",
        "chat",
        "11:00:00",
        Some("11:00:10"),
        &[],
    );
    assert_eq!(json_at(&env, &["workflows"])["totals"]["workflows"], 1);
    let (code, out, err) = env.analyze_at(NOW, &["overhead"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("1 without agents"), "{err}");
    // The run without a turn is still in the session's tree.
    let v = json_at(&env, &["tree"]);
    assert_eq!(v["turns"].as_array().unwrap().len(), 2);
}

fn turn_ids(tree: &Value) -> Vec<String> {
    tree["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["workflow_id"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn recorded_parallel_and_nested_agents_tree() {
    let env = Env::new();
    let rec = load_recording(&cc_fixtures().join("parallel-and-nested-agents"), &env);
    replay(&env, &rec);
    let v = env.analyze_json(&["tree"]);
    let turns = v["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1, "{v:#}");
    let agents = turns[0]["agents"].as_array().unwrap();
    let mut top: Vec<&str> = agents
        .iter()
        .map(|a| a["agent_type"].as_str().unwrap())
        .collect();
    top.sort();
    assert_eq!(top, ["backend-architect", "frontend-developer"]);
    let be = agents
        .iter()
        .find(|a| a["agent_type"] == "backend-architect")
        .unwrap();
    let fe = agents
        .iter()
        .find(|a| a["agent_type"] == "frontend-developer")
        .unwrap();
    assert_eq!(be["agent_id"], "acef1f01eb91bc6db");
    assert_eq!(be["children"].as_array().unwrap().len(), 1);
    assert_eq!(be["children"][0]["agent_type"], "security-auditor");
    assert_eq!(be["children"][0]["agent_id"], "a6cdec94c3c4730e8");
    assert_eq!(be["children"][0]["children"], json!([]));
    assert_eq!(fe["children"], json!([]));
    // Read from the transcripts: tokens and a known price for every agent.
    for a in [be, fe, &be["children"][0]] {
        assert!(a["tokens"].as_i64().unwrap() > 0, "{a}");
        assert!(a["cost_usd"].as_f64().unwrap() > 0.0, "{a}");
        assert_eq!(a["status"], "success");
    }
    assert_eq!(turns[0]["status"], "success");
    // The same turn in `workflows`: top-level agents only in the sequence, all three counted.
    let w = env.analyze_json(&["workflows"]);
    assert_eq!(w["totals"]["workflows"], 1);
    assert_eq!(w["totals"]["agents"], 3);
    assert_eq!(w["sequences"][0]["agents"].as_array().unwrap().len(), 2);
}

#[test]
fn recorded_background_agent_belongs_to_its_launching_turn() {
    let env = Env::new();
    let rec = load_recording(&cc_fixtures().join("background-agent"), &env);
    replay(&env, &rec);
    let launching = "bc1a134e-6adf-4f49-b39b-e0c3446b1c4a";
    let notification = "0c37cc12-73f9-45e8-bbbd-58651c9dc7df";
    // The completion notification is a prompt turn to Claude Code, not a workflow here.
    let w = env.analyze_json(&["workflows"]);
    assert_eq!(w["totals"]["workflows"], 1, "{w:#}");
    assert_eq!(w["totals"]["agents"], 1);
    assert_eq!(w["recent"][0]["workflow_id"], launching);
    assert_eq!(w["recent"][0]["sequence"], "security-auditor");
    assert_eq!(w["recent"][0]["status"], "success");
    let tree = env.analyze_json(&["tree"]);
    assert_eq!(turn_ids(&tree), [launching]);
    assert_eq!(
        tree["turns"][0]["agents"][0]["agent_id"],
        "adfee433954139039"
    );
    assert!(!turn_ids(&tree).contains(&notification.to_string()));
    // The turn lasts until its background agent ends (after the turn's Stop).
    let conn = env.conn();
    let (stop, agent_end, start): (i64, i64, i64) = conn
        .query_row(
            "SELECT w.end_ms, r.end_ms, w.start_ms FROM workflows w JOIN agent_runs r ON r.workflow_id = w.workflow_id WHERE w.workflow_id = ?1",
            [launching],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(agent_end >= stop, "the recording's agent outlived the Stop");
    assert_eq!(w["recent"][0]["duration_ms"], agent_end - start);
}

// ── snapshots: fixed clock, fixed width, no colour ─────────────────────────────────────────

fn snap(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("analyze_b__{name}"), text));
}

fn snapshot_env() -> Env {
    let env = Env::new();
    turns_history(&env);
    explicit_history(&env);
    env
}

fn output(env: &Env, args: &[&str]) -> String {
    let (code, out, err) = env.analyze_at(NOW, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

#[test]
fn snapshots_of_workflows_overhead_and_tree() {
    let env = snapshot_env();
    snap("workflows_table", &output(&env, &["workflows"]));
    snap(
        "workflows_json",
        &output(&env, &["workflows", "--format", "json"]),
    );
    snap("overhead_table", &output(&env, &["overhead"]));
    snap(
        "overhead_json",
        &output(&env, &["overhead", "--format", "json"]),
    );
    snap("tree_table", &output(&env, &["tree"]));
    snap("tree_json", &output(&env, &["tree", "--format", "json"]));
}
