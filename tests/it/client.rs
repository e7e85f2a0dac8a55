//! Today's Claude Code (2.1.330–2.1.332): notification turns, turns and agents that end on an API
//! error (`StopFailure`), remote agents, the Agent tool's newer inputs and results, sidecar flags,
//! `claude --agent X` main threads, tool events of agents that never start, and re-deriving a
//! database made under older rules. Real recordings where the client produces the shape here;
//! payloads built from the real shapes where it cannot be scripted (each says which).

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;

const E2E: &str = "tests/e2e/recordings";

fn e2e_recording(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(E2E).join(name)
}

/// The payload of hook `i` as JSON (for rewriting), and back.
fn edit(rec: &mut Recording, event: &str, nth: usize, f: impl FnOnce(&mut Value)) {
    let (_, text) = rec
        .hooks
        .iter_mut()
        .filter(|(e, _)| e == event)
        .nth(nth)
        .unwrap_or_else(|| panic!("no {event} #{nth} in the recording"));
    let mut v: Value = serde_json::from_str(text).unwrap();
    f(&mut v);
    *text = v.to_string();
}

fn prompt_id_of(rec: &Recording, event: &str, nth: usize) -> String {
    let (_, text) = rec
        .hooks
        .iter()
        .filter(|(e, _)| e == event)
        .nth(nth)
        .unwrap();
    let v: Value = serde_json::from_str(text).unwrap();
    v["prompt_id"].as_str().unwrap().to_string()
}

fn turns(tree: &Value) -> &Vec<Value> {
    tree["turns"].as_array().unwrap()
}

/// `claude -p` can submit a background agent's completion with the launching turn's own prompt
/// id (reported with 2.1.330 and 2.1.332). The real background-agent recording got a new id, so
/// the notification and the Stop after it are given the launching id here: the turn must keep
/// its prompt, its agent, its status, and last until the notification was answered.
#[test]
fn a_notification_with_the_launching_prompt_id_stays_part_of_that_turn() {
    for source in [None, Some("system")] {
        let env = Env::new();
        let mut rec = load_recording(&e2e_recording("background-agent"), &env);
        let launching = prompt_id_of(&rec, "UserPromptSubmit", 0);
        for (event, nth) in [("UserPromptSubmit", 1), ("Stop", 1), ("SessionEnd", 0)] {
            edit(&mut rec, event, nth, |v| {
                v["prompt_id"] = json!(launching);
                if let (Some(s), "UserPromptSubmit") = (source, event) {
                    v["source"] = json!(s);
                }
            });
        }
        replay(&env, &rec);
        let w = env.analyze_json(&["workflows"]);
        assert_eq!(w["totals"]["workflows"], 1, "{w:#}");
        let turn = &w["recent"][0];
        assert_eq!(turn["workflow_id"], launching.as_str());
        assert_eq!(turn["kind"], "turn");
        assert!(
            turn["prompt"].as_str().unwrap().starts_with("SCENARIO"),
            "the turn keeps its own prompt: {turn}"
        );
        assert_eq!(turn["status"], "success");
        assert_eq!(turn["agents"], 1);
        assert_eq!(turn["sequence"], "security-auditor");
        let tree = env.analyze_json(&["tree"]);
        assert_eq!(turns(&tree).len(), 1, "{tree:#}");
        assert_eq!(turns(&tree)[0]["kind"], "turn");
        assert_eq!(
            turns(&tree)[0]["agents"][0]["agent_type"],
            "security-auditor"
        );
        assert_eq!(turns(&tree)[0]["agents"][0]["background"], true);
        // Its duration runs from the prompt to the Stop that answered the notification.
        let (start, end): (i64, i64) = env
            .conn()
            .query_row(
                "SELECT start_ms, end_ms FROM workflows WHERE workflow_id = ?1",
                [&launching],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let last_stop: i64 = env
            .conn()
            .query_row("SELECT max(ts) FROM events WHERE kind = 'Stop'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(end, last_stop);
        assert_eq!(turn["duration_ms"], end - start);
    }
}

/// `source` decides where Claude Code sends it: a user who pastes notification-looking text
/// starts a real turn; `system` is a notification whatever its text.
#[test]
fn user_prompt_source_decides_what_is_a_notification() {
    let env = Env::new();
    let mut events = cc::turn(
        "s1",
        "p-user",
        "<task-notification> pasted by a user",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:01:00Z",
    );
    let mut sys = cc::turn(
        "s1",
        "p-sys",
        "Background agent finished",
        "2026-11-20T10:02:00Z",
        "2026-11-20T10:03:00Z",
    );
    let set_source = |list: &mut Vec<(&str, String)>, s: &str| {
        let mut v: Value = serde_json::from_str(&list[0].1).unwrap();
        v["source"] = json!(s);
        list[0].1 = v.to_string();
    };
    set_source(&mut events, "user");
    set_source(&mut sys, "system");
    events.extend(sys);
    env.record(&events);
    let w = env.analyze_json(&["workflows"]);
    assert_eq!(w["totals"]["turns"], 1, "{w:#}");
    assert_eq!(w["recent"][0]["workflow_id"], "p-user");
    let kind: String = env
        .conn()
        .query_row(
            "SELECT kind FROM workflows WHERE workflow_id = 'p-sys'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "notification");
}

/// A turn whose model call fails ends with `StopFailure` instead of `Stop`: the turn failed, with
/// the error Claude Code showed, in `workflows`, `tree` and `errors`. Payload shape as recorded
/// from 2.1.330/2.1.332 (`error`, `last_assistant_message`).
#[test]
fn a_turn_that_ends_on_an_api_error_is_a_failure_with_its_error() {
    let env = Env::new();
    let mut events = cc::turn(
        "s1",
        "p1",
        "Refactor the billing module",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:09Z",
    );
    let mut stop: Value = serde_json::from_str(&events[1].1).unwrap();
    stop["hook_event_name"] = json!("StopFailure");
    stop["error"] = json!("unknown");
    stop["last_assistant_message"] = json!("API Error: 400 scripted failure");
    events[1].1 = stop.to_string();
    let mut run = cc::Run::new(
        "a1",
        "backend-architect",
        "Plan the refactor",
        "2026-11-20T10:00:01Z",
        "2026-11-20T10:00:05Z",
    );
    run.session = "s1".into();
    run.prompt_id = "p1".into();
    let mut all = vec![events[0].clone()];
    all.extend(run.payloads());
    all.push(events[1].clone());
    env.record(&all);

    let w = env.analyze_json(&["workflows"]);
    let turn = &w["recent"][0];
    assert_eq!(turn["status"], "failure", "{w:#}");
    assert_eq!(turn["error"], "API Error: 400 scripted failure");
    assert_eq!(turn["duration_ms"], 9000, "prompt to StopFailure");
    assert_eq!(w["totals"]["failure"], 1);
    assert_eq!(w["totals"]["running"], 0);
    let (_, table, _) = env.analyze(&["workflows"]);
    assert!(
        table.contains("ended on an API error: API Error: 400 scripted failure"),
        "{table}"
    );
    let tree = env.analyze_json(&["tree"]);
    assert_eq!(turns(&tree)[0]["status"], "failure");
    assert_eq!(turns(&tree)[0]["error"], "API Error: 400 scripted failure");
    // Its agent succeeded: the agent's record is not touched by the turn's failure.
    assert_eq!(turns(&tree)[0]["agents"][0]["status"], "success");
    let (_, text, _) = env.analyze(&["tree"]);
    assert!(
        text.contains("failure") && text.contains("API Error: 400"),
        "{text}"
    );
    let errors = env.analyze_json(&["errors"]);
    let found = errors["errors"].as_array().unwrap().iter().any(|e| {
        e["error"] == "API Error: 400 scripted failure"
            && e["kind"] == "turn"
            && e["agent"] == "(turn)"
            && e["workflow_id"] == "p1"
    });
    assert!(found, "the turn's error is listed: {errors:#}");
}

/// The StopFailure events stored for a session: (payload's `recovered_from`, prompt id).
fn stop_failures(env: &Env) -> Vec<(Option<String>, Option<String>)> {
    let c = env.conn();
    let mut st = c
        .prepare("SELECT json_extract(payload, '$.recovered_from'), prompt_id FROM events WHERE kind = 'StopFailure' ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `claude -p` SIGTERMs the StopFailure hook's process group 4–20 ms after starting it; on a
/// loaded machine our binary has not started yet and the payload is gone (seen in CI with the
/// turn-api-error scenario). The session's end reads the transcript, whose last line is the
/// API-error notice, and stores the StopFailure from it: the turn is still a failure with its
/// error, ended when the notice was written. Real recording of 2.1.332, minus the StopFailure.
#[test]
fn a_lost_turn_stop_failure_is_recovered_from_the_transcript_at_session_end() {
    let env = Env::new();
    let mut rec = load_recording(&e2e_recording("turn-api-error"), &env);
    let prompt = prompt_id_of(&rec, "UserPromptSubmit", 0);
    rec.hooks.retain(|(e, _)| e != "StopFailure");
    replay(&env, &rec);
    assert_eq!(
        stop_failures(&env),
        vec![(Some("transcript".into()), Some(prompt.clone()))]
    );
    let tree = env.analyze_json(&["tree"]);
    let turn = &turns(&tree)[0];
    assert_eq!(turn["status"], "failure", "{tree:#}");
    assert_eq!(turn["error"], "API Error: 400 scripted failure");
    assert_eq!(turn["agents"][0]["status"], "success");
    // Prompt 00:22:40.208, the notice 00:22:42.139 (the transcript's own timestamps).
    let w = env.analyze_json(&["workflows"]);
    assert_eq!(w["recent"][0]["workflow_id"], prompt.as_str());
    assert_eq!(w["recent"][0]["status"], "failure");
    let end: i64 = env
        .conn()
        .query_row(
            "SELECT end_ms FROM workflows WHERE workflow_id = ?1",
            [&prompt],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        end,
        chrono::DateTime::parse_from_rfc3339("2026-12-01T00:22:42.139Z")
            .unwrap()
            .timestamp_millis(),
        "{tree:#}"
    );
}

/// When the StopFailure hook did run, nothing is recovered: one StopFailure, the hook's. Also when
/// that hook stored its payload but could not read the transcript (here: its payload has no
/// `transcript_path`), so the session's end still sees the notice unread.
#[test]
fn a_delivered_stop_failure_is_never_recovered_twice() {
    for unread in [false, true] {
        let env = Env::new();
        let mut rec = load_recording(&e2e_recording("turn-api-error"), &env);
        if unread {
            edit(&mut rec, "StopFailure", 0, |v| {
                v.as_object_mut().unwrap().remove("transcript_path");
            });
        }
        replay(&env, &rec);
        let prompt = prompt_id_of(&rec, "UserPromptSubmit", 0);
        assert_eq!(
            stop_failures(&env),
            vec![(None, Some(prompt))],
            "unread {unread}"
        );
        let tree = env.analyze_json(&["tree"]);
        assert_eq!(turns(&tree)[0]["error"], "API Error: 400 scripted failure");
    }
}

/// A subagent's own `StopFailure` (it carries the agent's id; recorded by the agent-api-error
/// scenario before the Agent tool's failure) fails that agent — for a background agent it is
/// the only word of its death. Built on the real recording, minus the PostToolUseFailure.
#[test]
fn a_subagents_stop_failure_fails_it_even_without_the_agent_tools_failure() {
    let env = Env::new();
    let mut rec = load_recording(&e2e_recording("agent-api-error"), &env);
    rec.hooks.retain(|(e, _)| e != "PostToolUseFailure");
    replay(&env, &rec);
    let tree = env.analyze_json(&["tree"]);
    let agent = &turns(&tree)[0]["agents"][0];
    assert_eq!(agent["agent_type"], "backend-architect");
    assert_eq!(agent["status"], "failure", "{tree:#}");
    assert!(agent["duration_ms"].as_i64().is_some());
    let errors = env.analyze_json(&["errors"]);
    assert_eq!(
        errors["errors"][0]["error"], "API Error: 400 scripted failure",
        "{errors:#}"
    );
    // The main turn itself ended normally (Stop), but its agent failed.
    assert_eq!(turns(&tree)[0]["status"], "failure");
    assert_eq!(turns(&tree)[0]["error"], Value::Null);
}

fn agent_payloads(
    session: &str,
    input: Value,
    response: Value,
    tu: &str,
    start: &str,
    end: &str,
) -> Vec<(&'static str, String)> {
    let base = |event: &str, ts: &str| {
        json!({"session_id": session, "transcript_path": format!("/nonexistent/{session}.jsonl"),
               "cwd": "/home/dev/proj", "prompt_id": "p1", "hook_event_name": event, "timestamp": ts,
               "tool_name": "Agent", "tool_use_id": tu, "tool_input": input})
    };
    let mut post = base("PostToolUse", end);
    post["tool_response"] = response;
    vec![
        ("subagent-start", base("PreToolUse", start).to_string()),
        ("subagent-stop", post.to_string()),
    ]
}

/// `isolation: remote` agents come back `remote_launched` with a task id and no agent id, and
/// their outcome is never reported: status `remote`, never running or lost, in no success rate.
#[test]
fn a_remote_agent_is_remote_never_lost_and_in_no_success_rate() {
    let env = Env::new();
    let mut events = agent_payloads(
        "s1",
        json!({"description": "Port the CI config", "prompt": "port it", "subagent_type": "devops-engineer",
               "isolation": "remote"}),
        json!({"status": "remote_launched", "taskId": "task_01ABC", "sessionUrl": "https://example.invalid/s/1",
               "outputFile": "/tmp/x.output", "description": "Port the CI config"}),
        "toolu_remote1",
        "2026-11-01T10:00:00Z",
        "2026-11-01T10:00:02Z",
    );
    let mut ok = cc::Run::new(
        "a1",
        "devops-engineer",
        "Fix the pipeline",
        "2026-11-01T10:01:00Z",
        "2026-11-01T10:02:00Z",
    );
    ok.prompt_id = "p1".into();
    ok.session = "s1".into();
    events.extend(ok.payloads());
    env.record(&events);
    // A month later: a running run this old would be lost; a remote one is not.
    let now = "2026-12-01T00:00:00Z";
    let (code, out, err) = env.analyze_at(now, &["summary", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&out).unwrap();
    let row = &s["agents"][0];
    assert_eq!(row["agent"], "devops-engineer", "{s:#}");
    assert_eq!(row["runs"], 2);
    assert_eq!(row["success"], 1);
    assert_eq!(row["lost"], 0);
    assert_eq!(row["running"], 0);
    assert_eq!(row["success_rate"], 1.0, "1 success ÷ 1 decided");
    let (_, out, _) = env.analyze_at(now, &["tree", "--format", "json"]);
    let tree: Value = serde_json::from_str(&out).unwrap();
    let remote = turns(&tree)[0]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["description"] == "Port the CI config")
        .cloned()
        .unwrap_or_else(|| panic!("remote run in the tree: {tree:#}"));
    assert_eq!(remote["status"], "remote");
    assert_eq!(remote["isolation"], "remote");
    assert_eq!(remote["agent_id"], "remote:task_01ABC");
    let (code, _, _) = env.analyze_at(now, &["active"]);
    assert_eq!(code, 1, "nothing is running");
}

/// The Agent tool's newer input (`name`, `effort`, `isolation`, `subagent_type: "fork"`) and
/// completed result (`modelsUsed`, `worktreePath`, thinking tokens), as in 2.1.332's schema: kept
/// per run and shown by `tree` and `agent`.
#[test]
fn agent_input_and_result_fields_are_kept_and_shown() {
    let env = Env::new();
    let mut events = Vec::new();
    let start = |id: &str, ty: &str| {
        json!({"session_id": "s1", "transcript_path": "/nonexistent/s1.jsonl", "cwd": "/home/dev/proj",
               "prompt_id": "p1", "hook_event_name": "SubagentStart", "timestamp": "2026-11-20T10:00:01Z",
               "agent_id": id, "agent_type": ty})
        .to_string()
    };
    let mut a = agent_payloads(
        "s1",
        json!({"description": "Try the new cache", "prompt": "try it", "subagent_type": "backend-architect",
               "name": "cache-try", "effort": "high", "isolation": "worktree", "model": "haiku"}),
        json!({"status": "completed", "agentId": "a1", "agentType": "backend-architect", "totalDurationMs": 4000,
               "modelsUsed": ["claude-haiku-4-5", "claude-opus-5-5"], "worktreePath": "/home/dev/proj/.claude/worktrees/a1",
               "worktreeBranch": "agent/a1",
               "usage": {"input_tokens": 10, "output_tokens": 50, "output_tokens_details": {"thinking_tokens": 30}}}),
        "toolu_1",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:05Z",
    );
    a.insert(1, ("subagent-start", start("a1", "backend-architect")));
    events.extend(a);
    let mut f = agent_payloads(
        "s1",
        json!({"description": "Explore alternatives", "prompt": "explore", "subagent_type": "fork",
               "effort": {"level": "low"}}),
        json!({"status": "completed", "agentId": "a2", "agentType": "fork", "totalDurationMs": 1000}),
        "toolu_2",
        "2026-11-20T10:00:06Z",
        "2026-11-20T10:00:08Z",
    );
    f.insert(1, ("subagent-start", start("a2", "fork")));
    events.extend(f);
    env.record(&events);

    let tree = env.analyze_json(&["tree"]);
    let agents = turns(&tree)[0]["agents"].as_array().unwrap();
    let a1 = agents.iter().find(|a| a["agent_id"] == "a1").unwrap();
    assert_eq!(a1["name"], "cache-try");
    assert_eq!(a1["effort"], "high");
    assert_eq!(a1["isolation"], "worktree");
    assert_eq!(a1["model"], "claude-haiku-4-5,claude-opus-5-5");
    assert_eq!(a1["worktree_path"], "/home/dev/proj/.claude/worktrees/a1");
    assert_eq!(a1["fork"], false);
    let a2 = agents.iter().find(|a| a["agent_id"] == "a2").unwrap();
    assert_eq!(a2["fork"], true);
    assert_eq!(a2["effort"], "low");
    let thinking: i64 = env
        .conn()
        .query_row(
            "SELECT thinking_tokens FROM agent_runs WHERE agent_id = 'a1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(thinking, 30);
    let (_, text, _) = env.analyze(&["tree"]);
    assert!(
        text.contains("(name cache-try, claude-haiku-4-5,claude-opus-5-5, effort high, worktree)"),
        "{text}"
    );
    assert!(text.contains("(effort low, fork)"), "{text}");
    let agent = env.analyze_json(&["agent", "backend-architect"]);
    let recent = agent["recent_runs"].as_array().unwrap();
    assert_eq!(recent[0]["agent_id"], "a1", "{agent:#}");
    assert_eq!(recent[0]["effort"], "high");
    assert_eq!(recent[0]["isolation"], "worktree");
    let (_, text, _) = env.analyze(&["agent", "backend-architect"]);
    assert!(text.contains("effort high"), "{text}");
}

/// `claude --agent X` puts `agent_type` on the main thread's events without an `agent_id`: that
/// is the session's main agent, not a subagent run.
#[test]
fn agent_type_on_the_main_thread_is_not_a_subagent() {
    let env = Env::new();
    let base = |event: &str, ts: &str| {
        json!({"session_id": "s1", "transcript_path": "/nonexistent/s1.jsonl", "cwd": "/home/dev/proj",
               "prompt_id": "p1", "hook_event_name": event, "timestamp": ts, "agent_type": "code-reviewer"})
    };
    let mut session = base("SessionStart", "2026-11-20T10:00:00Z");
    session["source"] = json!("startup");
    let mut submit = base("UserPromptSubmit", "2026-11-20T10:00:01Z");
    submit["prompt"] = json!("review this");
    let mut bash_fail = base("PostToolUseFailure", "2026-11-20T10:00:02Z");
    bash_fail["tool_name"] = json!("Bash");
    bash_fail["tool_use_id"] = json!("toolu_b");
    bash_fail["error"] = json!("exit 1");
    let stop = base("Stop", "2026-11-20T10:00:03Z");
    let mut sfail = base("StopFailure", "2026-11-20T10:00:04Z");
    sfail["error"] = json!("rate_limit");
    env.record(&[
        ("workflow-event", session.to_string()),
        ("workflow-event", submit.to_string()),
        ("subagent-stop", bash_fail.to_string()),
        ("workflow-event", stop.to_string()),
        ("workflow-event", sfail.to_string()),
    ]);
    let w = env.analyze_json(&["workflows"]);
    assert_eq!(w["totals"]["turns"], 1);
    assert_eq!(w["totals"]["agents"], 0);
    assert_eq!(env.count("SELECT count(*) FROM agent_runs"), 0);
    let (code, _, _) = env.analyze(&["summary"]);
    assert_eq!(code, 1, "no subagent runs");
}

/// anthropics/claude-code#90662: tool events inside a subagent can carry an `agent_id` that never
/// starts or stops. They count for nothing and create no run — nor does a StopFailure for it.
#[test]
fn tool_events_of_an_agent_that_never_started_make_no_phantom_run() {
    let env = Env::new();
    let base = |event: &str, ts: &str| {
        json!({"session_id": "s1", "transcript_path": "/nonexistent/s1.jsonl", "cwd": "/home/dev/proj",
               "prompt_id": "p1", "hook_event_name": event, "timestamp": ts,
               "agent_id": "aghost0000000000", "agent_type": "backend-architect"})
    };
    let mut pre = base("PreToolUse", "2026-11-20T10:00:01Z");
    pre["tool_name"] = json!("Bash");
    pre["tool_use_id"] = json!("toolu_g1");
    let mut fail = base("PostToolUseFailure", "2026-11-20T10:00:02Z");
    fail["tool_name"] = json!("Bash");
    fail["tool_use_id"] = json!("toolu_g1");
    fail["error"] = json!("boom");
    let mut sfail = base("StopFailure", "2026-11-20T10:00:03Z");
    sfail["last_assistant_message"] = json!("API Error: 500");
    let mut ok = cc::Run::new(
        "a1",
        "backend-architect",
        "Real work",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:04Z",
    );
    ok.session = "s1".into();
    ok.prompt_id = "p1".into();
    let mut events = vec![
        ("subagent-start", pre.to_string()),
        ("subagent-stop", fail.to_string()),
        ("workflow-event", sfail.to_string()),
    ];
    events.extend(ok.payloads());
    env.record(&events);
    let s = env.analyze_json(&["summary"]);
    assert_eq!(s["agents"][0]["runs"], 1, "{s:#}");
    assert_eq!(env.count("SELECT count(*) FROM agent_runs"), 1);
    assert_eq!(
        env.count("SELECT count(*) FROM agent_runs WHERE agent_id = 'aghost0000000000'"),
        0
    );
    assert_eq!(s["agents"][0]["success"], 1);
}

/// A sidecar with `stoppedByUser: true` (2.1.332) makes the run `cancelled`. Claude Code sends no
/// SubagentStop for a killed agent, so the sidecar is read at the turn's Stop.
#[test]
fn a_sidecar_stopped_by_user_cancels_the_run() {
    let env = Env::new();
    let mut rec = load_recording(&e2e_recording("background-agent"), &env);
    // The user stops the background agent before it finishes: no SubagentStop arrives, and the
    // sidecar says so. Keep the events up to the launching turn's Stop, then a SessionEnd.
    let cut = rec
        .hooks
        .iter()
        .position(|(e, _)| e == "Stop")
        .expect("a Stop");
    let end = rec
        .hooks
        .iter()
        .find(|(e, _)| e == "SessionEnd")
        .cloned()
        .unwrap();
    rec.hooks.truncate(cut + 1);
    rec.hooks.push(end);
    let root = env
        .dir
        .path()
        .join("recordings/background-agent/transcripts");
    let meta = walk_find(&root, ".meta.json");
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    m["stoppedByUser"] = json!(true);
    m["finished"] = json!(true);
    std::fs::write(&meta, m.to_string()).unwrap();
    replay(&env, &rec);
    let tree = env.analyze_json(&["tree"]);
    let agent = &turns(&tree)[0]["agents"][0];
    assert_eq!(agent["status"], "cancelled", "{tree:#}");
    let sessions = env.analyze_json(&["sessions"]);
    assert_eq!(sessions["sessions"][0]["agents_cancelled"], 1);
}

fn walk_find(dir: &Path, suffix: &str) -> std::path::PathBuf {
    find_under(dir, suffix).unwrap_or_else(|| panic!("no *{suffix} under {}", dir.display()))
}

fn find_under(dir: &Path, suffix: &str) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir).ok()?.find_map(|e| {
        let p = e.ok()?.path();
        if p.is_dir() {
            find_under(&p, suffix)
        } else {
            p.to_string_lossy().ends_with(suffix).then_some(p)
        }
    })
}

/// A database derived by older rules is re-derived from its log by the next reader: here the
/// projection is put back the way the previous release left a same-id notification turn (kind
/// `notification`, the notification's text as prompt) and marked as made by rules version 1.
#[test]
fn a_projection_from_older_rules_is_rederived() {
    let env = Env::new();
    let mut rec = load_recording(&e2e_recording("background-agent"), &env);
    let launching = prompt_id_of(&rec, "UserPromptSubmit", 0);
    for (event, nth) in [("UserPromptSubmit", 1), ("Stop", 1), ("SessionEnd", 0)] {
        edit(&mut rec, event, nth, |v| v["prompt_id"] = json!(launching));
    }
    replay(&env, &rec);
    env.analyze_json(&["summary"]);
    let c = env.conn();
    c.execute_batch(&format!(
        "UPDATE workflows SET kind = 'notification', prompt = '<task-notification>…' WHERE workflow_id = '{launching}';
         DELETE FROM derive_state WHERE key = 'rules';"
    ))
    .unwrap();
    let w = env.analyze_json(&["workflows"]);
    assert_eq!(w["totals"]["workflows"], 1, "{w:#}");
    assert_eq!(w["recent"][0]["workflow_id"], launching.as_str());
    let rules: i64 = c
        .query_row(
            "SELECT value FROM derive_state WHERE key = 'rules'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rules, agent_telemetry::derive::RULES);
}

/// Every past schema version upgrades in place: a database at version N (the first N migrations)
/// with events in it opens, migrates to the current version and derives them.
#[test]
fn every_past_schema_version_upgrades() {
    use agent_telemetry::store::schema::{APPLICATION_ID, CURRENT_VERSION, MIGRATIONS};
    for version in 1..CURRENT_VERSION {
        let env = Env::new();
        std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
        {
            let c = rusqlite::Connection::open(env.db()).unwrap();
            c.execute_batch("PRAGMA journal_mode = WAL").unwrap();
            for m in &MIGRATIONS[..version as usize] {
                c.execute_batch(m).unwrap();
            }
            c.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {version};"
            ))
            .unwrap();
        }
        let mut run = cc::Run::new(
            "a1",
            "backend-architect",
            "Build API",
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:00:04Z",
        );
        run.session = "s1".into();
        for (bin, payload) in run.payloads() {
            env.hook(bin, payload.as_bytes());
        }
        let s = env.analyze_json(&["summary"]);
        assert_eq!(s["agents"][0]["runs"], 1, "from version {version}: {s:#}");
        let v: i64 = env
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, CURRENT_VERSION, "from version {version}");
    }
}

/// A background agent still running when `claude -p` stops waiting is killed with its session
/// (`subagent_stats.killed.system`); no hook reports it, SessionEnd is the last word. Real
/// recording (2.1.332, tests/e2e interrupted-agent): the agent is cancelled, its turn succeeded
/// and has a duration.
#[test]
fn an_agent_still_running_at_session_end_is_cancelled() {
    let env = Env::new();
    let rec = load_recording(&e2e_recording("interrupted-agent"), &env);
    replay(&env, &rec);
    let tree = env.analyze_json(&["tree"]);
    let turn = &turns(&tree)[0];
    let agent = &turn["agents"][0];
    assert_eq!(agent["status"], "cancelled", "{tree:#}");
    assert!(agent["duration_ms"].as_i64().is_some());
    assert_eq!(turn["status"], "success");
    assert!(turn["duration_ms"].as_i64().is_some());
    let s = env.analyze_json(&["sessions"]);
    assert_eq!(s["sessions"][0]["agents_cancelled"], 1);
    // Cancelled runs are in no success rate.
    let summary = env.analyze_json(&["summary"]);
    assert_eq!(summary["agents"][0]["success_rate"], Value::Null);
}

/// A SubagentStop that arrives after SessionEnd (the agent finished while Claude Code shut
/// down) wins over the session end's cancellation; a turn with no Stop before its session
/// ended was interrupted: `cancelled`, in no success rate.
#[test]
fn session_end_cancels_what_is_open_and_a_later_stop_still_wins() {
    let env = Env::new();
    let mut done = cc::Run::new(
        "a1",
        "backend-architect",
        "Finish late",
        "2026-11-20T10:00:01Z",
        "2026-11-20T10:00:09Z",
    );
    done.session = "s1".into();
    let mut events = cc::turn(
        "s1",
        "prompt-1",
        "first",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:02Z",
    );
    let payloads = done.payloads();
    events.insert(1, payloads[0].clone());
    events.insert(2, payloads[1].clone());
    // Second turn: interrupted, no Stop.
    let mut second = cc::turn(
        "s1",
        "prompt-2",
        "second",
        "2026-11-20T10:00:03Z",
        "2026-11-20T10:00:04Z",
    );
    events.push(second.remove(0));
    let end = json!({"session_id": "s1", "transcript_path": "/nonexistent/s1.jsonl", "cwd": "/home/dev/proj",
                     "hook_event_name": "SessionEnd", "reason": "other", "timestamp": "2026-11-20T10:00:05Z"});
    events.push(("workflow-event", end.to_string()));
    // The agent's SubagentStop after the session's end.
    events.push(payloads[2].clone());
    env.record(&events);
    let tree = env.analyze_json(&["tree"]);
    let t = turns(&tree);
    assert_eq!(t[0]["agents"][0]["status"], "success", "{tree:#}");
    assert_eq!(
        t[0]["agents"][0]["duration_ms"], 8000,
        "start to the late SubagentStop"
    );
    assert_eq!(t[1]["status"], "cancelled");
    let w = env.analyze_json(&["workflows"]);
    assert_eq!(w["totals"]["cancelled"], 1);
    assert_eq!(w["totals"]["success"], 1);
    assert_eq!(w["totals"]["success_rate"], 1.0, "1 ÷ 1 decided");
}

/// The interactive client (real recording: tests/e2e/interactive.py, nested-three-deep on
/// 2.1.332) runs every agent in the background and resumes a parent when its child finishes:
/// SubagentStart and SubagentStop fire again for it. A run ends at its last stop, and the turn
/// (whose notification has a new prompt id) lasts until then and holds all three agents.
#[test]
fn interactive_resumed_agents_end_at_their_last_stop() {
    let env = Env::new();
    let rec = load_recording(&e2e_recording("interactive-nested-three-deep"), &env);
    replay(&env, &rec);
    let last_stop = |id: &str| -> i64 {
        env.conn()
            .query_row(
                "SELECT max(ts) FROM events WHERE kind = 'SubagentStop' AND agent_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let tree = env.analyze_json(&["tree"]);
    assert_eq!(turns(&tree).len(), 1, "{tree:#}");
    let turn = &turns(&tree)[0];
    let top = &turn["agents"][0];
    assert_eq!(top["agent_type"], "backend-architect");
    let mid = &top["children"][0];
    assert_eq!(mid["agent_type"], "security-auditor");
    assert_eq!(mid["children"][0]["agent_type"], "data-engineer");
    for a in [top, mid, &mid["children"][0]] {
        assert_eq!(a["status"], "success");
        assert_eq!(a["background"], true);
        let id = a["agent_id"].as_str().unwrap();
        let (start, end): (i64, i64) = env
            .conn()
            .query_row(
                "SELECT start_ms, end_ms FROM agent_runs WHERE agent_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(end, last_stop(id), "{id} ends at its last SubagentStop");
        assert_eq!(a["duration_ms"], end - start);
    }
    // The parents were resumed: each has two SubagentStop events.
    let stops = env.count(&format!(
        "SELECT count(*) FROM events WHERE kind = 'SubagentStop' AND agent_id = '{}'",
        top["agent_id"].as_str().unwrap()
    ));
    assert_eq!(stops, 2);
    let (start, top_end): (i64, i64) = env
        .conn()
        .query_row(
            "SELECT w.start_ms, r.end_ms FROM workflows w JOIN agent_runs r ON r.workflow_id = w.workflow_id
             WHERE r.agent_id = ?1",
            [top["agent_id"].as_str().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(turn["duration_ms"].as_i64().unwrap() >= top_end - start);
}

/// A run whose SubagentStart, SubagentStop and Agent result never reached the hooks (real
/// recording, their payloads dropped) is still recorded at the turn's Stop: its transcript is
/// read once Claude Code's sidecar says it finished, with its tokens and a success.
#[test]
fn a_finished_agent_whose_own_hooks_were_lost_is_recorded_at_stop() {
    let env = Env::new();
    let mut rec = load_recording(&cc_fixtures().join("foreground-agent"), &env);
    let agent = "a93ce9d1826a46df8";
    rec.hooks.retain(|(_, p)| {
        let v: Value = serde_json::from_str(p).unwrap();
        v["agent_id"] != agent && v["tool_response"]["agentId"] != agent
    });
    replay(&env, &rec);
    let want = expected(&cc_fixtures().join("foreground-agent"));
    let s = env.analyze_json(&["sessions"]);
    check_session(
        "foreground-agent, agent hooks lost",
        &s["sessions"][0],
        &want,
    );
    let tree = env.analyze_json(&["tree"]);
    assert_eq!(turns(&tree)[0]["agents"][0]["agent_id"], agent, "{tree:#}");
    assert_eq!(turns(&tree)[0]["agents"][0]["status"], "success");
}
