//! Derivation's order independence. docs/architecture.md: "Its rules converge whatever order and
//! multiplicity Claude Code's hooks arrive in". Hooks are separate processes: the id order of the
//! log (the order derivation applies events in) is the order their transactions committed, not
//! the order of their timestamps. Here the same events (same timestamps and payloads) are
//! appended in other orders, derived at once or by a reader between every few appends, and every
//! projection must equal the one derived from the log in its original order.
//!
//! The orders tested interleave sessions (concurrent sessions and orchestrators racing for the
//! write lock) and, within a session, permute events whose timestamps are close (hooks fired
//! milliseconds apart, whose processes commit in either order). Focused cases pin each within-run
//! race found so far: the Agent tool's PostToolUse before its SubagentStop, the SessionEnd before
//! a PostToolUseFailure or before the turn's Stop, a generic stop before its start.

use crate::common::*;
use crate::projection::*;

/// Sessions interleaved at random: concurrent Claude Code sessions (and orchestrators) whose hooks
/// race for the write lock. With `close_ms`, neighbouring events of a session whose timestamps lie
/// within `close_ms` may also trade places (two hooks of one session fired that close together
/// commit in either order); otherwise each session keeps its own order.
/// Returns the new order and how many events moved within their session.
fn interleave(log: &[LogEvent], seed: u64, close_ms: Option<i64>) -> (Vec<LogEvent>, usize) {
    let mut rng = Rng(seed);
    // A generic stop names only its run (`invocation_id`): it belongs to the run's session.
    let mut session_of_run = std::collections::HashMap::new();
    for e in log {
        if let (Some(a), Some(s)) = (&e.agent_id, &e.session_id) {
            session_of_run.entry(a.clone()).or_insert_with(|| s.clone());
        }
    }
    let mut sessions: Vec<(String, Vec<LogEvent>)> = Vec::new();
    for e in log {
        let key = e
            .session_id
            .clone()
            .or_else(|| {
                e.agent_id
                    .as_ref()
                    .and_then(|a| session_of_run.get(a).cloned())
            })
            .unwrap_or_default();
        match sessions.iter_mut().find(|(k, _)| *k == key) {
            Some((_, events)) => events.push(e.clone()),
            None => sessions.push((key, vec![e.clone()])),
        }
    }
    let mut moved = 0;
    if let Some(close) = close_ms {
        for (_, events) in &mut sessions {
            moved += shuffle_close(events, close, &mut rng);
        }
    }
    // A uniformly random merge: the next event comes from a session drawn by its events left.
    let mut left: Vec<std::collections::VecDeque<LogEvent>> =
        sessions.into_iter().map(|(_, e)| e.into()).collect();
    let mut out = Vec::with_capacity(log.len());
    let mut remaining = log.len();
    while remaining > 0 {
        let mut pick = rng.below(remaining);
        let queue = left
            .iter_mut()
            .find(|q| {
                if pick < q.len() {
                    true
                } else {
                    pick -= q.len();
                    false
                }
            })
            .expect("an event left");
        out.push(queue.pop_front().expect("non-empty"));
        remaining -= 1;
    }
    (out, moved)
}

/// Lets neighbouring events of `events` (in log order) whose timestamps differ by at most
/// `close_ms` trade places, each such pair at random (pairs do not overlap: every event moves one
/// place at most). Returns how many events moved.
///
/// Except two SubagentStarts of one agent type (parallel delegations of one type): a SubagentStart
/// carries no tool_use_id, so each takes the oldest open delegation of its type in the order they
/// arrive; swapped, the two runs swap tasks until the Agent tool's result or the transcript sidecar
/// corrects the match, and a PostToolUseFailure applied before the correction stays with the
/// wrong run. Not order independent (docs/metrics.md, "matching").
///
/// And an agent's own tool events never move before its SubagentStart: Claude Code fires that
/// before the agent runs at all, and a tool failure of an agent not yet known is not counted
/// (docs/metrics.md, "only real agents").
fn shuffle_close(events: &mut [LogEvent], close_ms: i64, rng: &mut Rng) -> usize {
    let pinned = |a: &LogEvent, b: &LogEvent| {
        a.kind == "SubagentStart"
            && (b.kind == "SubagentStart" && a.agent_type == b.agent_type
                || b.agent_id == a.agent_id && b.tool_name.is_some())
    };
    let mut moved = 0;
    let mut i = 0;
    while i + 1 < events.len() {
        if events[i + 1].ts - events[i].ts <= close_ms
            && !pinned(&events[i], &events[i + 1])
            && rng.below(2) == 1
        {
            events.swap(i, i + 1);
            moved += 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    moved
}

/// The projection of `events` appended in this order (after the usage rows of `log`), derived
/// once at the end or after every `chunk` events (a reader running between hooks).
fn derived(
    log: &Log,
    events: &[LogEvent],
    chunk: Option<usize>,
) -> std::collections::BTreeMap<&'static str, Vec<String>> {
    let env = Env::new();
    drop(agent_telemetry::store::Store::create(&env.db()).expect("create"));
    let conn = env.conn();
    append(
        &conn,
        &Log {
            events: Vec::new(),
            usage: log.usage.clone(),
        },
    );
    for part in events.chunks(chunk.unwrap_or(events.len()).max(1)) {
        append_log(&conn, part);
        derive(&env.db());
    }
    projection(&conn)
}

/// Replays `log` in several disorders; returns every mismatch found (empty = order independent).
fn check(
    name: &str,
    log: &Log,
    close_ms: Option<i64>,
    cases: &[(u64, Option<usize>)],
) -> Vec<String> {
    let want = derived(log, &log.events, None);
    assert!(
        want["agent_runs"].len() >= 5,
        "{name}: too few runs to test anything: {:?}",
        want["agent_runs"]
    );
    let mut problems = Vec::new();
    for &(seed, chunk) in cases {
        let (events, moved) = interleave(&log.events, seed, close_ms);
        assert_ne!(
            events, log.events,
            "{name}: seed {seed} left the order as it was"
        );
        if close_ms.is_some() {
            assert!(
                moved > 0,
                "{name}: seed {seed} moved no event within its session"
            );
        }
        let got = derived(log, &events, chunk);
        // The runs first: the rollups' differences follow from theirs.
        let runs = |p: &std::collections::BTreeMap<&'static str, Vec<String>>| {
            p.iter()
                .filter(|(t, _)| **t == "agent_runs" || **t == "workflows")
                .map(|(t, r)| (*t, r.clone()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        if let Some(d) =
            first_difference(&runs(&want), &runs(&got)).or_else(|| first_difference(&want, &got))
        {
            problems.push(format!(
                "{name}, seed {seed}, close {close_ms:?} ms, derived every {chunk:?} events: {d}"
            ));
        }
    }
    problems
}

#[test]
fn recorded_sessions_derive_the_same_however_sessions_interleave() {
    let log = fixture_log();
    let mut cases: Vec<_> = (1..=6).map(|seed| (seed, None)).collect();
    cases.extend([(7, Some(5)), (8, Some(1))]);
    let problems = check("claude-code-2.1.330 recordings", &log, None, &cases);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_generated_history_derives_the_same_however_sessions_interleave() {
    let log = generated_log(150, 5);
    let cases = [(1, None), (2, None), (3, Some(97))];
    let problems = check("gen-history realistic", &log, None, &cases);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn recorded_sessions_derive_the_same_whatever_order_close_hooks_commit_in() {
    let log = fixture_log();
    let mut cases: Vec<_> = (11..=16).map(|seed| (seed, None)).collect();
    cases.extend([(17, Some(5)), (18, Some(1))]);
    let mut problems = check("claude-code-2.1.330 recordings", &log, Some(200), &cases);
    problems.extend(check(
        "claude-code-2.1.330 recordings",
        &log,
        Some(5_000),
        &[(19, None), (20, Some(3))],
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_generated_history_derives_the_same_whatever_order_close_hooks_commit_in() {
    let log = generated_log(150, 5);
    let cases = [(11, None), (12, None), (13, Some(97))];
    let mut problems = check("gen-history realistic", &log, Some(200), &cases);
    problems.extend(check(
        "gen-history realistic",
        &log,
        Some(60_000),
        &[(14, None), (15, Some(13))],
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The projection of `payloads` recorded in this order.
fn recorded(payloads: &[(&str, String)]) -> std::collections::BTreeMap<&'static str, Vec<String>> {
    let env = Env::new();
    env.record(payloads);
    derive(&env.db());
    projection(&env.conn())
}

/// Asserts that `payloads` with the items at `a` and `b` swapped (committed in the other order)
/// derive exactly `in_order`, the projection of `payloads` as they are.
fn assert_same_swapped(
    payloads: &[(&'static str, String)],
    in_order: &std::collections::BTreeMap<&'static str, Vec<String>>,
    a: usize,
    b: usize,
) {
    let mut p = payloads.to_vec();
    p.swap(a, b);
    assert_eq!(first_difference(in_order, &recorded(&p)), None);
}

/// The `a-1` coder run of 10:00:00 to 10:00:10 every single-run case starts from.
fn coder_run() -> cc::Run {
    cc::Run::new(
        "a-1",
        "coder",
        "Implement",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:10Z",
    )
}

/// A SessionEnd payload of session `sess-1`.
fn session_end(ts: &str) -> (&'static str, String) {
    (
        "workflow-event",
        serde_json::json!({"session_id": "sess-1", "transcript_path": "/nonexistent/sess-1.jsonl",
            "cwd": "/home/dev/proj", "hook_event_name": "SessionEnd", "reason": "prompt_input_exit",
            "timestamp": ts})
        .to_string(),
    )
}

/// Claude Code fires the Agent tool's PostToolUse milliseconds after the SubagentStop: committed
/// first, it must not become the run's end (the first SubagentStop is), nor its duration's.
#[test]
fn the_agent_tools_result_before_its_subagent_stop_derives_the_same() {
    let run = coder_run();
    let mut payloads = turn_with(&run);
    // The PostToolUse 50 ms after the SubagentStop, as Claude Code fires them.
    let post = payloads
        .iter()
        .position(|(_, p)| p.contains("\"PostToolUse\""))
        .unwrap();
    payloads[post].1 = payloads[post].1.replace("10:00:10Z", "10:00:10.050Z");
    let stop = post - 1;
    assert!(payloads[stop].1.contains("\"SubagentStop\""));
    let in_order = recorded(&payloads);
    assert!(
        in_order["agent_runs"][0].contains("duration_ms=10000"),
        "{:?}",
        in_order["agent_runs"]
    );
    assert_same_swapped(&payloads, &in_order, stop, post);

    // Claude Code's own duration (totalDurationMs) stays the duration in either order.
    payloads[post].1 = payloads[post].1.replace(
        "\"status\":\"completed\"",
        "\"status\":\"completed\",\"totalDurationMs\":9876",
    );
    let in_order = recorded(&payloads);
    assert!(
        in_order["agent_runs"][0].contains("duration_ms=9876"),
        "{:?}",
        in_order["agent_runs"]
    );
    assert_same_swapped(&payloads, &in_order, stop, post);
}

/// The SessionEnd committed before an Agent tool's PostToolUseFailure: the failure (its time, its
/// status and error) wins over the session end's cancellation, as in timestamp order.
#[test]
fn a_session_end_before_an_agent_failure_derives_the_same() {
    let mut run = coder_run();
    run.end_kind = cc::End::Failure("boom".into());
    let mut payloads = turn_with(&run);
    let fail = payloads
        .iter()
        .position(|(_, p)| p.contains("\"PostToolUseFailure\""))
        .unwrap();
    // The session ends 10 s after the failure, before the turn's Stop could come.
    payloads.truncate(fail + 1);
    payloads.push(session_end("2026-11-20T10:00:20Z"));
    let end = payloads.len() - 1;
    let in_order = recorded(&payloads);
    let row = &in_order["agent_runs"][0];
    assert!(
        row.contains("status=\"failure\"") && row.contains("duration_ms=10000"),
        "{row}"
    );
    assert_same_swapped(&payloads, &in_order, fail, end);
}

/// The SessionEnd committed before the turn's Stop: the turn ends at its Stop, not at the session's
/// end, and is not interrupted.
#[test]
fn a_session_end_before_the_turns_stop_derives_the_same() {
    let run = coder_run();
    let mut payloads = turn_with(&run);
    payloads.push(session_end("2026-11-20T10:01:20Z"));
    let end = payloads.len() - 1;
    let stop = end - 1;
    assert!(payloads[stop].1.contains("\"Stop\""));
    let in_order = recorded(&payloads);
    assert!(
        in_order["workflows"][0].contains("ended_by=NULL"),
        "{:?}",
        in_order["workflows"]
    );
    assert_same_swapped(&payloads, &in_order, stop, end);
}

/// The SubagentStart committed before its PreToolUse(Agent) (fired milliseconds apart), and the
/// Agent tool's failure before the SubagentStart: the run still gets its delegation (task,
/// workflow) and its failure.
#[test]
fn a_subagent_start_before_its_delegation_derives_the_same() {
    let mut run = coder_run();
    run.end_kind = cc::End::Failure("boom".into());
    let payloads = turn_with(&run);
    let pre = payloads
        .iter()
        .position(|(_, p)| p.contains("\"PreToolUse\""))
        .unwrap();
    let (start, fail) = (pre + 1, pre + 2);
    assert!(payloads[start].1.contains("\"SubagentStart\""));
    assert!(payloads[fail].1.contains("\"PostToolUseFailure\""));
    let in_order = recorded(&payloads);
    let row = &in_order["agent_runs"][0];
    assert!(
        row.contains("description=\"Implement\"") && row.contains("status=\"failure\""),
        "{row}"
    );
    assert_same_swapped(&payloads, &in_order, pre, start);
    assert_same_swapped(&payloads, &in_order, start, fail);
}

/// A background agent: the Agent tool returns `async_launched` milliseconds after the
/// SubagentStart. Committed first, it makes the run with the delegation's time as its start:
/// the SubagentStart's time is still the start.
#[test]
fn the_agent_tools_launch_before_its_subagent_start_derives_the_same() {
    let run = coder_run();
    let mut payloads = turn_with(&run);
    let start = payloads
        .iter()
        .position(|(_, p)| p.contains("\"SubagentStart\""))
        .unwrap();
    payloads[start].1 = payloads[start].1.replace("10:00:00Z", "10:00:00.005Z");
    let post = payloads
        .iter()
        .position(|(_, p)| p.contains("\"PostToolUse\""))
        .unwrap();
    let mut launched: serde_json::Value = serde_json::from_str(&payloads[post].1).unwrap();
    launched["timestamp"] = "2026-11-20T10:00:00.010Z".into();
    launched["tool_response"] = serde_json::json!({"status": "async_launched", "agentId": "a-1"});
    payloads.remove(post);
    payloads.insert(start + 1, ("subagent-stop", launched.to_string()));
    let in_order = recorded(&payloads);
    assert!(
        in_order["agent_runs"][0].contains("duration_ms=9995"),
        "{:?}",
        in_order["agent_runs"]
    );
    assert_same_swapped(&payloads, &in_order, start, start + 1);
}

/// A background agent's completion notification (a prompt Claude Code submits itself, with a new
/// prompt id) and its Stop milliseconds later, committed in reverse: still a notification, not a
/// turn of its own.
#[test]
fn a_notifications_stop_before_its_prompt_derives_the_same() {
    let run = coder_run();
    let mut payloads = turn_with(&run);
    let mut notification = cc::turn(
        "sess-1",
        "prompt-2",
        "<task-notification>\n<task-id>a-1</task-id>\n</task-notification>",
        "2026-11-20T10:00:30Z",
        "2026-11-20T10:00:30.004Z",
    );
    let mut submit: serde_json::Value = serde_json::from_str(&notification[0].1).unwrap();
    submit["source"] = "system".into();
    notification[0].1 = submit.to_string();
    payloads.extend(notification);
    let stop = payloads.len() - 1;
    let in_order = recorded(&payloads);
    assert!(
        in_order["workflows"][1].contains("kind=\"notification\""),
        "{:?}",
        in_order["workflows"]
    );
    assert_same_swapped(&payloads, &in_order, stop - 1, stop);
}

/// One prompt turn (10:00:00 to 10:00:20) of session `sess-1` around `run`.
fn turn_with(run: &cc::Run) -> Vec<(&'static str, String)> {
    let turn = cc::turn(
        &run.session,
        &run.prompt_id,
        "Build it",
        "2026-11-20T09:59:59Z",
        "2026-11-20T10:00:20Z",
    );
    let mut payloads = vec![turn[0].clone()];
    payloads.extend(run.payloads());
    payloads.push(turn[1].clone());
    payloads
}

/// An orchestrator's `subagent-stop` committed before its `subagent-start` (two processes racing):
/// the run keeps the start's time, session and workflow, and its duration.
#[test]
fn a_generic_stop_before_its_start_derives_the_same() {
    let start = r#"{"agent_name":"coder","invocation_id":"g-1","task_description":"Implement","workflow_id":"wf-1","timestamp":"2026-11-20T10:00:00Z"}"#;
    let stop = r#"{"invocation_id":"g-1","success":true,"timestamp":"2026-11-20T10:00:10Z"}"#;
    let in_order = recorded(&[
        ("subagent-start", start.to_string()),
        ("subagent-stop", stop.to_string()),
    ]);
    assert!(
        in_order["agent_runs"][0].contains("duration_ms=10000"),
        "{:?}",
        in_order["agent_runs"]
    );
    let reversed = recorded(&[
        ("subagent-stop", stop.to_string()),
        ("subagent-start", start.to_string()),
    ]);
    assert_eq!(first_difference(&in_order, &reversed), None);
}
