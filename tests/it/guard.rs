//! The opt-in guard (docs/guard.md) through the real `subagent-start` binary: each limit at and
//! around its threshold, the exact decision printed, exit 0 always, nothing printed when allowed
//! or off, failing open (invalid config, guard off, database locked, corrupt, projection not up
//! to date), and the denial recorded once and shown by `analyze errors`.

use crate::common::*;
use crate::projection::{first_difference, fresh_derived, projection, read_log, Log, LogEvent};
use serde_json::{json, Value};

/// A Claude Code PreToolUse of the Agent tool, now (no timestamp: the hook's clock), from
/// `caller` (None = the main thread) in session `sess-1`.
fn agent_call(tu: &str, caller: Option<&str>) -> String {
    let mut p = json!({"session_id": "sess-1", "transcript_path": "/nonexistent/sess-1.jsonl",
        "cwd": "/home/dev/proj", "prompt_id": "prompt-1", "hook_event_name": "PreToolUse",
        "tool_name": "Agent", "tool_use_id": tu,
        "tool_input": {"description": "Review the diff", "prompt": "Review it", "subagent_type": "code-reviewer"}});
    if let Some(c) = caller {
        p["agent_id"] = json!(c);
        p["agent_type"] = json!("planner");
    }
    p.to_string()
}

/// A Claude Code SubagentStart of `agent` in session `sess-1`, now.
fn subagent_start(agent: &str, agent_type: &str) -> String {
    json!({"session_id": "sess-1", "transcript_path": "/nonexistent/sess-1.jsonl", "cwd": "/home/dev/proj",
        "prompt_id": "prompt-1", "hook_event_name": "SubagentStart", "agent_id": agent, "agent_type": agent_type})
    .to_string()
}

fn set_config(env: &Env, config: &Value) {
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::write(env.db().with_file_name("config.json"), config.to_string()).unwrap();
}

fn guard_on(env: &Env, limits: &Value) {
    let mut g = json!({"enabled": true});
    for (k, v) in limits.as_object().unwrap() {
        g[k] = v.clone();
    }
    set_config(env, &json!({ "guard": g }));
}

/// Runs `subagent-start` with `payload`: exit 0 always; returns what it printed.
fn call(env: &Env, payload: &str) -> String {
    let out = env.run("subagent-start", &[], payload.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The reason a denial printed, after checking the printed line is exactly Claude Code's
/// deny decision and nothing else.
fn denied(printed: &str) -> String {
    assert!(
        printed.ends_with('\n') && printed.lines().count() == 1,
        "{printed:?}"
    );
    let v: Value = serde_json::from_str(printed).unwrap();
    let reason = v["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        printed.trim_end(),
        json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
            "permissionDecisionReason": reason}})
        .to_string()
    );
    reason
}

fn denials(env: &Env) -> Vec<Value> {
    let c = env.conn();
    let mut stmt = c
        .prepare("SELECT payload FROM events WHERE source = 'guard' AND kind = 'guard_denied' ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|p| serde_json::from_str(&p.unwrap()).unwrap())
        .collect();
    rows
}

fn log(env: &Env) -> String {
    std::fs::read_to_string(env.db().with_file_name("hook.log")).unwrap_or_default()
}

/// Generic orchestrator starts (docs/events.md): agents running now.
fn start_generic(env: &Env, n: usize) {
    for i in 0..n {
        env.hook(
            "subagent-start",
            json!({"agent_name": "worker", "invocation_id": format!("w-{i}"), "session_id": "other"})
                .to_string()
                .as_bytes(),
        );
    }
}

/// A model response of `session` now: `input` tokens of claude-sonnet-4-5 ($3 per million).
fn spend(env: &Env, session: &str, key: &str, input: i64) {
    let now = chrono::Utc::now().timestamp_millis();
    env.conn()
        .execute(
            "INSERT INTO usage (session_id, agent_id, message_key, model, ts, input) VALUES (?1, '', ?2, 'claude-sonnet-4-5', ?3, ?4)",
            rusqlite::params![session, key, now, input],
        )
        .unwrap();
}

#[test]
fn max_active_agents_denies_at_the_limit_and_allows_below_it() {
    let env = Env::new();
    guard_on(&env, &json!({"max_active_agents": 2}));
    start_generic(&env, 1);
    assert_eq!(call(&env, &agent_call("toolu_1", None)), "");
    start_generic(&env, 2); // w-0 again (the same run), w-1: two running
    let reason = denied(&call(&env, &agent_call("toolu_2", None)));
    assert!(
        reason.starts_with(
            "agent-telemetry guard: 2 agents are running (limit max_active_agents = 2)"
        ),
        "{reason}"
    );
    assert!(reason.contains(&env.db().with_file_name("config.json").display().to_string()));
    assert_eq!(
        denials(&env),
        vec![json!({"limit": "max_active_agents", "value": 2, "threshold": 2, "reason": reason})]
    );
    // The denied call is stored as always, and the denial once, with the call's keys.
    let c = env.conn();
    let (kind, agent_type, tool, ts_same): (String, String, String, bool) = c
        .query_row(
            "SELECT g.kind, g.agent_type, g.tool_name, g.ts = p.ts FROM events g JOIN events p
               ON p.tool_use_id = g.tool_use_id AND p.kind = 'PreToolUse' AND p.id < g.id
             WHERE g.source = 'guard'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (kind.as_str(), agent_type.as_str(), tool.as_str(), ts_same),
        ("guard_denied", "code-reviewer", "Agent", true)
    );
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE kind = 'PreToolUse'"),
        2
    );
    // An agent ending brings the count below the limit again.
    env.hook(
        "subagent-stop",
        json!({"invocation_id": "w-1", "status": "success"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(call(&env, &agent_call("toolu_3", None)), "");
}

#[test]
fn session_and_daily_cost_deny_at_the_limit_and_allow_below_it() {
    let env = Env::new();
    start_generic(&env, 1); // creates the database
    spend(&env, "sess-1", "m1", 1_000_000); // $3.00 in this session
    spend(&env, "other", "m2", 2_000_000); // $6.00 elsewhere: $9.00 today
    guard_on(
        &env,
        &json!({"max_active_agents": null, "session_cost_usd": 3.01}),
    );
    assert_eq!(call(&env, &agent_call("toolu_1", None)), "");
    guard_on(
        &env,
        &json!({"max_active_agents": null, "session_cost_usd": 3}),
    );
    let reason = denied(&call(&env, &agent_call("toolu_2", None)));
    assert!(
        reason.contains("this session has cost $3.00 (limit session_cost_usd = $3.00)"),
        "{reason}"
    );
    guard_on(
        &env,
        &json!({"max_active_agents": null, "daily_cost_usd": 9.01}),
    );
    assert_eq!(call(&env, &agent_call("toolu_3", None)), "");
    guard_on(
        &env,
        &json!({"max_active_agents": null, "daily_cost_usd": 9}),
    );
    let reason = denied(&call(&env, &agent_call("toolu_4", None)));
    assert!(
        reason.contains("today's cost is $9.00 (limit daily_cost_usd = $9.00)"),
        "{reason}"
    );
    let limits: Vec<Value> = denials(&env)
        .iter()
        .map(|d| json!([d["limit"], d["value"], d["threshold"]]))
        .collect();
    assert_eq!(
        limits,
        vec![
            json!(["session_cost_usd", 3.0, 3.0]),
            json!(["daily_cost_usd", 9.0, 9.0])
        ]
    );
}

#[test]
fn max_depth_denies_deeper_agents_only() {
    let env = Env::new();
    // The main thread delegates to the planner: depth 1.
    call(&env, &agent_call("toolu_p", None));
    env.hook(
        "subagent-start",
        subagent_start("a-planner", "planner").as_bytes(),
    );
    guard_on(&env, &json!({"max_depth": 1}));
    // The main thread's next delegation is depth 1: allowed at the limit.
    assert_eq!(call(&env, &agent_call("toolu_1", None)), "");
    // The planner's delegation would run at depth 2.
    let reason = denied(&call(&env, &agent_call("toolu_2", Some("a-planner"))));
    assert!(
        reason.contains("this agent would run at depth 2 (limit max_depth = 1)"),
        "{reason}"
    );
    guard_on(&env, &json!({"max_depth": 2}));
    assert_eq!(call(&env, &agent_call("toolu_3", Some("a-planner"))), "");
    let d = denials(&env);
    assert_eq!(
        (d.len(), &d[0]["value"], &d[0]["threshold"]),
        (1, &json!(2), &json!(1))
    );
}

#[test]
fn a_denial_is_recorded_once_and_shown_by_analyze_errors() {
    let env = Env::new();
    guard_on(&env, &json!({"max_active_agents": 0}));
    let reason = denied(&call(&env, &agent_call("toolu_1", None)));
    let errors = env.analyze_json(&["errors"]);
    let rows = errors["errors"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{errors}");
    let e = &rows[0];
    assert_eq!(
        (
            &e["kind"],
            &e["status"],
            &e["agent"],
            &e["description"],
            &e["error"],
            &e["session"],
            &e["workflow_id"]
        ),
        (
            &json!("delegation"),
            &json!("denied"),
            &json!("code-reviewer"),
            &json!("Review the diff"),
            &json!(reason),
            &json!("sess-1"),
            &json!("prompt-1")
        )
    );
    // `analyze alerts` shows it too: the session's `guard` alert, firing, naming the reason.
    let alerts = env.analyze_json(&["alerts", "--no-deliver"]);
    let guard: Vec<&Value> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rule"] == "guard")
        .collect();
    assert_eq!(guard.len(), 1, "{alerts}");
    assert_eq!(
        (&guard[0]["subject"], &guard[0]["state"], &guard[0]["value"]),
        (&json!("sess-1"), &json!("firing"), &json!(1.0)),
        "{alerts}"
    );
    assert!(
        guard[0]["message"]
            .as_str()
            .unwrap()
            .ends_with(&format!("(last: {})", reason.split_once(". ").unwrap().0)),
        "{alerts}"
    );
    // No agent ran for it: no run, nothing spawned, the delegation says why.
    assert_eq!(env.count("SELECT count(*) FROM agent_runs"), 0);
    assert_eq!(
        env.count("SELECT count(*) FROM delegations WHERE status = 'denied' AND error IS NOT NULL AND end_ms = ts"),
        1
    );
    // A later agent of the same type is not matched to the denied delegation.
    set_config(&env, &json!({}));
    call(&env, &agent_call("toolu_2", None));
    env.hook(
        "subagent-start",
        subagent_start("a-1", "code-reviewer").as_bytes(),
    );
    env.analyze_json(&["errors"]);
    assert_eq!(
        env.count("SELECT count(*) FROM agent_runs WHERE tool_use_id = 'toolu_2'"),
        1
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM delegations WHERE tool_use_id = 'toolu_1' AND agent_id IS NULL"
        ),
        1
    );
    assert_eq!(denials(&env).len(), 1);
    // The table names the denial and its reason.
    let (code, out, _) = env.analyze(&["errors"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("denied") && out.contains("agent-telemetry guard"),
        "{out}"
    );
}

#[test]
fn nothing_is_printed_when_the_guard_is_off_or_the_call_is_another_tool() {
    let env = Env::new();
    start_generic(&env, 3);
    // No config, a config without "guard", the guard disabled.
    assert_eq!(call(&env, &agent_call("toolu_1", None)), "");
    set_config(&env, &json!({"min_runs": 3}));
    assert_eq!(call(&env, &agent_call("toolu_2", None)), "");
    set_config(
        &env,
        &json!({"guard": {"enabled": false, "max_active_agents": 0}}),
    );
    assert_eq!(call(&env, &agent_call("toolu_3", None)), "");
    // On, with every limit reached, for another tool, another hook, another binary.
    guard_on(&env, &json!({"max_active_agents": 0}));
    let bash = agent_call("toolu_4", None).replace("\"Agent\"", "\"Bash\"");
    assert_eq!(call(&env, &bash), "");
    let post = agent_call("toolu_5", None).replace("\"PreToolUse\"", "\"PostToolUse\"");
    assert_eq!(call(&env, &post), "");
    let out = env.run(
        "workflow-event",
        &[],
        agent_call("toolu_6", None).as_bytes(),
    );
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    // The older Task tool name is guarded too.
    denied(&call(
        &env,
        &agent_call("toolu_7", None).replace("\"Agent\"", "\"Task\""),
    ));
    assert_eq!(denials(&env).len(), 1);
    assert_eq!(log(&env), "", "nothing to log");
    assert_eq!(
        env.count(
            "SELECT count(*) FROM events WHERE tool_use_id IS NOT NULL AND source = 'claude-code'"
        ),
        7
    );
}

#[test]
fn it_fails_open_on_an_invalid_config() {
    let env = Env::new();
    for (i, config) in [
        "{not json",
        r#"{"guard": {"enabled": true, "max_active_agents": -1}}"#,
        r#"{"guard": {"enabled": true, "max_depth": 1.5}}"#,
        r#"{"guard": {"enabled": "yes"}}"#,
        // The guard's part is valid, the rest (needed once it is on) is not.
        r#"{"min_runs": "five", "guard": {"enabled": true, "max_active_agents": 0}}"#,
    ]
    .iter()
    .enumerate()
    {
        std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
        std::fs::write(env.db().with_file_name("config.json"), config).unwrap();
        assert_eq!(
            call(&env, &agent_call(&format!("toolu_{i}"), None)),
            "",
            "{config}"
        );
    }
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE kind = 'PreToolUse'"),
        5
    );
    assert_eq!(denials(&env).len(), 0);
    let log = log(&env);
    assert_eq!(log.matches(" guard [").count(), 5, "{log}");
    assert!(
        log.contains("guard.max_active_agents is -1") && log.contains("\"five\""),
        "{log}"
    );
}

#[test]
fn it_fails_open_when_the_database_is_locked() {
    let env = Env::new();
    start_generic(&env, 1);
    guard_on(&env, &json!({"max_active_agents": 0}));
    let holder = env.conn();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    holder.execute("DELETE FROM quarantine", []).unwrap(); // holds the write lock
    let started = std::time::Instant::now();
    assert_eq!(call(&env, &agent_call("toolu_1", None)), "");
    let waited = started.elapsed();
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    assert!(
        log(&env).contains("no decision: the database was busy"),
        "{}",
        log(&env)
    );
    // Spooled, not lost: the next hook replays it (and that call is denied as it should be).
    denied(&call(&env, &agent_call("toolu_2", None)));
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE kind = 'PreToolUse'"),
        2
    );
    assert_eq!(denials(&env).len(), 1);
    // Not a timing test: a bound far above the ~100 ms lock wait, against hanging.
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
}

#[test]
fn it_fails_open_on_a_corrupt_database() {
    let env = Env::new();
    guard_on(&env, &json!({"max_active_agents": 0}));
    std::fs::write(env.db(), vec![0x5a_u8; 8192]).unwrap();
    assert_eq!(call(&env, &agent_call("toolu_1", None)), "");
    let log = log(&env);
    assert!(
        log.contains("no decision: the database was busy or unavailable"),
        "{log}"
    );
    assert!(
        env.db().with_file_name("telemetry.db.spool.jsonl").exists(),
        "the payload is spooled"
    );
}

#[test]
fn it_fails_open_when_the_projection_cannot_be_brought_up_to_date() {
    let env = Env::new();
    start_generic(&env, 3);
    env.analyze_json(&["active"]); // derived
                                   // A projection made by older derivation rules: rebuilding it is a reader's work.
    env.conn()
        .execute("UPDATE derive_state SET value = 1 WHERE key = 'rules'", [])
        .unwrap();
    start_generic(&env, 4);
    guard_on(&env, &json!({"max_active_agents": 0}));
    assert_eq!(call(&env, &agent_call("toolu_1", None)), "");
    assert!(
        log(&env).contains("could not be brought up to date"),
        "{}",
        log(&env)
    );
    // The payload is stored; once a reader re-derives, the guard decides again.
    env.analyze_json(&["active"]);
    denied(&call(&env, &agent_call("toolu_2", None)));
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE kind = 'PreToolUse'"),
        2
    );
}

/// Derivation's order independence for a denial: the guard's event before its PreToolUse, and a
/// later agent's SubagentStart between the call and its denial (matched to the denied call
/// until the denial is known) derive the same as the hook's order.
#[test]
fn a_denial_derives_the_same_in_any_order() {
    let env = Env::new();
    call(&env, &json!({"session_id": "sess-1", "transcript_path": "/nonexistent/sess-1.jsonl", "cwd": "/home/dev/proj",
        "prompt_id": "prompt-1", "hook_event_name": "UserPromptSubmit", "prompt": "review"}).to_string());
    guard_on(&env, &json!({"max_active_agents": 0}));
    denied(&call(&env, &agent_call("toolu_d", None)));
    set_config(&env, &json!({}));
    let mut later = agent_call("toolu_a", None);
    later = later.replace("Review the diff", "Review again");
    call(&env, &later);
    env.hook(
        "subagent-start",
        subagent_start("a-1", "code-reviewer").as_bytes(),
    );
    let events: Vec<LogEvent> = read_log(&env.conn());
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "UserPromptSubmit",
            "PreToolUse",
            "guard_denied",
            "PreToolUse",
            "SubagentStart"
        ]
    );
    let derived = |order: &[usize]| {
        let e = Env::new();
        let log = Log {
            events: order.iter().map(|&i| events[i].clone()).collect(),
            usage: vec![],
        };
        projection(&fresh_derived(&e, &log))
    };
    let want = derived(&[0, 1, 2, 3, 4]);
    assert!(
        want["delegations"]
            .iter()
            .any(|d| d.contains("status=\"denied\"")),
        "{:?}",
        want["delegations"]
    );
    assert!(
        want["agent_runs"][0].contains("tool_use_id=\"toolu_a\""),
        "{:?}",
        want["agent_runs"]
    );
    for order in [
        [0, 2, 1, 3, 4],
        [0, 1, 4, 2, 3],
        [0, 4, 1, 2, 3],
        [0, 4, 2, 1, 3],
        [4, 3, 2, 1, 0],
    ] {
        assert_eq!(
            first_difference(&want, &derived(&order)),
            None,
            "order {order:?}"
        );
    }
}

/// What the guard derives in the hook keeps every rollup exact, `/metrics`' `run_metrics` too:
/// after the catch-up, the rollup equals its definition over the runs.
#[test]
fn the_guards_catch_up_keeps_the_rollups_exact() {
    let env = Env::new();
    guard_on(&env, &json!({"max_active_agents": 100}));
    start_generic(&env, 3);
    env.analyze_json(&["summary"]);
    let fill = agent_telemetry::store::schema::run_metrics_fill_sql();
    let c = env.conn();
    c.execute_batch("DELETE FROM run_metrics;").unwrap();
    c.execute(&fill, []).unwrap();
    drop(c);
    // Not derived yet: one worker stops, two more start, then the guarded call derives them.
    env.hook(
        "subagent-stop",
        json!({"invocation_id": "w-0", "success": true, "tokens": 1200})
            .to_string()
            .as_bytes(),
    );
    start_generic(&env, 5);
    assert_eq!(call(&env, &agent_call("toolu_1", None)), "");
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE id > (SELECT value FROM derive_state WHERE key = 'events')"),
        0,
        "the guard derived everything before deciding"
    );
    let c = env.conn();
    c.execute_batch("CREATE TEMP TABLE want AS SELECT * FROM run_metrics WHERE 0;")
        .unwrap();
    c.execute(&fill.replacen("run_metrics", "temp.want", 1), [])
        .unwrap();
    let differ: i64 = c
        .query_row(
            "SELECT count(*) FROM (SELECT * FROM run_metrics EXCEPT SELECT * FROM temp.want
                                   UNION ALL SELECT * FROM temp.want EXCEPT SELECT * FROM run_metrics)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let runs: i64 = c
        .query_row("SELECT sum(runs) FROM run_metrics", [], |r| r.get(0))
        .unwrap();
    assert_eq!((differ, runs), (0, 5));
}
