//! Derivation's order independence. docs/architecture.md: "Its rules converge whatever order and
//! multiplicity Claude Code's hooks arrive in". Hooks are separate processes: the id order of the
//! log (the order derivation applies events in) is the order their transactions committed, not
//! the order of their timestamps. Here the same events (same timestamps and payloads) are
//! appended in other orders, derived at once or by a reader between every few appends, and every
//! projection must equal the one derived from the log in its original order.
//!
//! The orders tested interleave sessions (concurrent sessions and orchestrators racing for the
//! write lock), each session's own events in their order. Reordering events within one session
//! does change the projection today (a run's end when the Agent tool's PostToolUse overtakes its
//! SubagentStop or the SessionEnd overtakes its PostToolUseFailure; a turn's end when the
//! SessionEnd overtakes its Stop): not claimed here, except for a generic stop before its start.

use crate::common::*;
use crate::projection::*;

/// splitmix64, for reproducible shuffles.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Sessions interleaved at random, each session's own events in their order: concurrent Claude
/// Code sessions (and orchestrators) whose hooks race for the write lock.
fn interleave(log: &[LogEvent], seed: u64) -> Vec<LogEvent> {
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
    out
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
fn check(name: &str, log: &Log, cases: &[(u64, Option<usize>)]) -> Vec<String> {
    let want = derived(log, &log.events, None);
    assert!(
        want["agent_runs"].len() >= 5,
        "{name}: too few runs to test anything: {:?}",
        want["agent_runs"]
    );
    let mut problems = Vec::new();
    for &(seed, chunk) in cases {
        let events = interleave(&log.events, seed);
        assert_ne!(
            events, log.events,
            "{name}: seed {seed} left the order as it was"
        );
        let got = derived(log, &events, chunk);
        if let Some(d) = first_difference(&want, &got) {
            problems.push(format!(
                "{name}, seed {seed}, derived every {chunk:?} events: {d}"
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
    let problems = check("claude-code-2.1.330 recordings", &log, &cases);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_generated_history_derives_the_same_however_sessions_interleave() {
    let log = generated_log(150, 5);
    let cases = [(1, None), (2, None), (3, Some(97))];
    let problems = check("gen-history realistic", &log, &cases);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// An orchestrator's `subagent-stop` committed before its `subagent-start` (two processes racing):
/// the run keeps the start's time, session and workflow, and its duration.
#[test]
fn a_generic_stop_before_its_start_derives_the_same() {
    let start = r#"{"agent_name":"coder","invocation_id":"g-1","task_description":"Implement","workflow_id":"wf-1","timestamp":"2026-11-20T10:00:00Z"}"#;
    let stop = r#"{"invocation_id":"g-1","success":true,"timestamp":"2026-11-20T10:00:10Z"}"#;
    let derived = |payloads: &[(&str, String)]| {
        let env = Env::new();
        env.record(payloads);
        derive(&env.db());
        projection(&env.conn())
    };
    let in_order = derived(&[
        ("subagent-start", start.to_string()),
        ("subagent-stop", stop.to_string()),
    ]);
    assert!(
        in_order["agent_runs"][0].contains("duration_ms=10000"),
        "{:?}",
        in_order["agent_runs"]
    );
    let reversed = derived(&[
        ("subagent-stop", stop.to_string()),
        ("subagent-start", start.to_string()),
    ]);
    assert_eq!(first_difference(&in_order, &reversed), None);
}
