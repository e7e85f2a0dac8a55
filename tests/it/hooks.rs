//! The hook contract: exit 0, print nothing, lose nothing — under garbage input, a read-only or
//! locked database, a missing directory, 200 concurrent first writers — and keep secrets out.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;

const BINS: [&str; 3] = ["subagent-start", "subagent-stop", "workflow-event"];

fn start_payload(i: usize) -> String {
    serde_json::json!({
        "session_id": "s-conc", "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p", "prompt_id": "p1",
        "hook_event_name": "SubagentStart", "agent_id": format!("agent{i:04}"), "agent_type": "backend-architect"
    })
    .to_string()
}

/// Everything stored: events plus quarantined payloads.
fn kept(env: &Env) -> (i64, i64) {
    (
        env.count("SELECT count(*) FROM events"),
        env.count("SELECT count(*) FROM quarantine"),
    )
}

#[test]
fn bad_input_matrix_exits_0_prints_nothing_and_keeps_every_payload() {
    let big = format!(
        "{{\"hook_event_name\":\"PreToolUse\",\"session_id\":\"s\",\"tool_name\":\"Agent\",\"tool_use_id\":\"t\",\"tool_input\":{{\"description\":\"d\",\"prompt\":\"{}\"}}}}",
        "x".repeat(10 * 1024 * 1024)
    );
    // (payload, where it must end up)
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not JSON", b"this is not json".to_vec(), "quarantine"),
        ("truncated", br#"{"hook_event_name":"SubagentStart","session_id":"s","agent_id":"a1""#.to_vec(), "quarantine"),
        ("not an object", b"[1,2,3]".to_vec(), "quarantine"),
        ("not UTF-8", vec![0xff, 0xfe, b'{', 0x80], "quarantine"),
        ("10 MB", big.into_bytes(), "events"),
        ("unknown event", br#"{"hook_event_name":"BrandNewEvent","session_id":"s","x":1}"#.to_vec(), "events"),
        ("wrong types", br#"{"hook_event_name":"SubagentStart","session_id":12,"agent_id":["x"],"agent_type":7}"#.to_vec(), "events"),
        ("missing fields", br#"{"hook_event_name":"SubagentStop"}"#.to_vec(), "events"),
        ("unknown object", br#"{"hello":"world"}"#.to_vec(), "events"),
    ];
    for bin in BINS {
        let env = Env::new();
        for (name, payload, _) in &cases {
            let out = env.run(bin, &[], payload);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{bin} {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.stdout.is_empty(),
                "{bin} {name} printed {:?}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let events = cases.iter().filter(|c| c.2 == "events").count() as i64;
        let quarantined = cases.iter().filter(|c| c.2 == "quarantine").count() as i64;
        assert_eq!(
            kept(&env),
            (events, quarantined),
            "{bin}: every payload kept"
        );
        let raw: Vec<u8> = env
            .conn()
            .query_row(
                "SELECT raw FROM quarantine WHERE reason LIKE '%UTF-8%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            raw,
            vec![0xff, 0xfe, b'{', 0x80],
            "raw bytes kept as received"
        );
        // The analyzer copes with all of it.
        let (code, _, err) = env.analyze(&["summary"]);
        assert!(
            code == 0 || code == 1,
            "{bin}: analyze after garbage: {err}"
        );
    }
}

#[test]
fn empty_input_is_a_silent_no_op() {
    let env = Env::new();
    for bin in BINS {
        for input in [&b""[..], b"   \n"] {
            env.hook(bin, input);
        }
    }
    assert!(!env.db().exists() || kept(&env) == (0, 0));
}

#[test]
fn clap_usage_errors_do_not_exit_2() {
    let env = Env::new();
    for bin in BINS {
        let out = env.run(bin, &["--no-such-flag"], start_payload(1).as_bytes());
        assert_eq!(out.status.code(), Some(0), "{bin}");
        assert!(out.stdout.is_empty());
    }
    // The payload was still recorded despite the bad flag.
    assert_eq!(kept(&env).0, 3);
}

#[test]
fn missing_directory_is_created_private() {
    let env = Env::new();
    assert!(!env.db().parent().unwrap().exists());
    env.hook("subagent-start", start_payload(1).as_bytes());
    let dir_mode = std::fs::metadata(env.db().parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    let file_mode = std::fs::metadata(env.db()).unwrap().permissions().mode() & 0o777;
    assert_eq!((dir_mode, file_mode), (0o700, 0o600));
    assert_eq!(kept(&env).0, 1);
}

#[test]
fn read_only_database_spools_and_the_next_open_replays() {
    let env = Env::new();
    env.hook("subagent-start", start_payload(1).as_bytes());
    std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o400)).unwrap();
    // root ignores file modes; make the failure real with an unwritable copy otherwise.
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if is_root {
        // As root a 0400 file is still writable: simulate an unopenable database instead.
        std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o600)).unwrap();
        let db = env.db();
        let wal = format!("{}-wal", db.display());
        let _ = std::fs::remove_file(&wal);
        std::fs::rename(&db, db.with_extension("moved")).unwrap();
        std::fs::create_dir(&db).unwrap(); // a directory where the file should be: open fails
        env.hook("subagent-start", start_payload(2).as_bytes());
        std::fs::remove_dir(&db).unwrap();
        std::fs::rename(db.with_extension("moved"), &db).unwrap();
    } else {
        env.hook("subagent-start", start_payload(2).as_bytes());
        std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let spool = std::fs::read_to_string(env.dir.path().join("data/telemetry.db.spool.jsonl"))
        .expect("spooled");
    assert!(spool.contains("agent0002"));
    let log = std::fs::read_to_string(env.dir.path().join("data/hook.log")).expect("logged");
    assert!(log.contains("spooled"), "{log}");
    // The next successful open (a reader here) replays the spool.
    env.analyze_json(&["summary"]);
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE agent_id = 'agent0002'"),
        1
    );
    assert!(!env
        .dir
        .path()
        .join("data/telemetry.db.spool.jsonl")
        .exists());
}

#[test]
fn locked_database_spools_after_the_timeout() {
    let env = Env::new();
    env.hook("subagent-start", start_payload(1).as_bytes());
    let holder = env.conn();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    env.hook("subagent-start", start_payload(2).as_bytes());
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    assert!(
        env.dir
            .path()
            .join("data/telemetry.db.spool.jsonl")
            .exists(),
        "payload spooled while locked"
    );
    // The next hook replays the spool before writing its own payload.
    env.hook("subagent-start", start_payload(3).as_bytes());
    assert_eq!(env.count("SELECT count(*) FROM events"), 3);
}

#[test]
fn secrets_never_reach_the_database_file() {
    let env = Env::new();
    let key = "sk-ant-api03-SECRETSECRETSECRETSECRET0123456789";
    let gh = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
    let payload = serde_json::json!({
        "session_id": "s", "transcript_path": "/nonexistent", "cwd": "/p", "hook_event_name": "PreToolUse",
        "tool_name": "Agent", "tool_use_id": "t1",
        "tool_input": {"description": "deploy", "prompt": format!("use {key} and {gh}; password=hunter2hunter2; Authorization: Bearer abcdefghijklmnop"), "subagent_type": "devops"}
    });
    env.hook("subagent-start", payload.to_string().as_bytes());
    // Also a generic failure whose error text carries a token.
    env.hook(
        "subagent-start",
        br#"{"agent_name":"x","invocation_id":"i1","task_description":"t"}"#,
    );
    env.hook("subagent-stop", br#"{"invocation_id":"i1","success":false,"error":"401 with token=abcdef123456 AKIAIOSFODNN7EXAMPLE"}"#);
    env.analyze_json(&["summary"]);
    let conn = env.conn();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    let bytes = std::fs::read(env.db()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for secret in [
        key,
        gh,
        "hunter2hunter2",
        "abcdefghijklmnop",
        "abcdef123456",
        "AKIAIOSFODNN7EXAMPLE",
    ] {
        assert!(!text.contains(secret), "{secret} reached the database file");
    }
    assert!(text.contains("[REDACTED]"));
}

#[test]
fn disabled_flag_records_nothing() {
    let env = Env::new();
    let out = env.run_env(
        "subagent-start",
        &[],
        start_payload(1).as_bytes(),
        &[("AGENT_TELEMETRY_DISABLED", "1")],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!env.db().exists());
}

#[test]
fn generic_start_can_print_its_invocation_id() {
    let env = Env::new();
    let out = env.run(
        "subagent-start",
        &["--print-id"],
        br#"{"agent_name":"planner","task_description":"plan the release"}"#,
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(id.len(), 36, "uuid printed: {id}");
    env.hook(
        "subagent-stop",
        format!(r#"{{"invocation_id":"{id}","success":true}}"#).as_bytes(),
    );
    let s = env.analyze_json(&["summary"]);
    assert_eq!(s["agents"][0]["agent"], "planner");
    assert_eq!(s["agents"][0]["success"], 1);
}

#[test]
fn duplicate_stops_stops_without_start_empty_types_and_compaction_agents() {
    let env = Env::new();
    let base = |event: &str, agent: &str, ty: &str, ts: &str| {
        serde_json::json!({"session_id": "s", "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p", "prompt_id": "p",
                           "hook_event_name": event, "agent_id": agent, "agent_type": ty, "timestamp": ts})
        .to_string()
    };
    env.record(&[
        (
            "subagent-start",
            base(
                "SubagentStart",
                "a1",
                "code-reviewer",
                "2026-11-20T10:00:00Z",
            ),
        ),
        (
            "subagent-stop",
            base(
                "SubagentStop",
                "a1",
                "code-reviewer",
                "2026-11-20T10:01:00Z",
            ),
        ),
        (
            "subagent-stop",
            base(
                "SubagentStop",
                "a1",
                "code-reviewer",
                "2026-11-20T10:05:00Z",
            ),
        ), // duplicate
        (
            "subagent-stop",
            base("SubagentStop", "fork9", "", "2026-11-20T10:02:00Z"),
        ), // internal fork
        (
            "subagent-start",
            base("SubagentStart", "acompact-1234", "", "2026-11-20T10:03:00Z"),
        ), // compaction
        (
            "subagent-stop",
            base("SubagentStop", "acompact-1234", "", "2026-11-20T10:04:00Z"),
        ),
        (
            "subagent-stop",
            base(
                "SubagentStop",
                "b2",
                "test-engineer",
                "2026-11-20T10:06:00Z",
            ),
        ), // stop without start
    ]);
    let s = env.analyze_json(&["summary", "--sort", "agent"]);
    let agents: Vec<&str> = s["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent"].as_str().unwrap())
        .collect();
    assert_eq!(
        agents,
        vec!["code-reviewer", "test-engineer"],
        "internal agents excluded"
    );
    let reviewer = &s["agents"][0];
    assert_eq!(reviewer["runs"], 1);
    assert_eq!(
        reviewer["p50_duration_ms"], 60000.0,
        "the first stop ends the run"
    );
    assert_eq!(s["agents"][1]["success"], 1);
}

#[test]
fn parallel_same_type_delegations_are_matched_by_the_tool_result() {
    // Two code-reviewers delegated at once; their SubagentStarts arrive in the opposite order.
    let env = Env::new();
    let ev = |v: serde_json::Value| v.to_string();
    let common = serde_json::json!({"session_id": "s", "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p", "prompt_id": "p"});
    let with = |extra: serde_json::Value| {
        let mut v = common.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        ev(v)
    };
    env.record(&[
        ("subagent-start", with(serde_json::json!({"hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_use_id": "t1", "timestamp": "2026-11-20T10:00:00Z", "tool_input": {"description": "Review auth", "prompt": "x", "subagent_type": "code-reviewer"}}))),
        ("subagent-start", with(serde_json::json!({"hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_use_id": "t2", "timestamp": "2026-11-20T10:00:00Z", "tool_input": {"description": "Review billing", "prompt": "x", "subagent_type": "code-reviewer"}}))),
        ("subagent-start", with(serde_json::json!({"hook_event_name": "SubagentStart", "agent_id": "B", "agent_type": "code-reviewer", "timestamp": "2026-11-20T10:00:01Z"}))),
        ("subagent-start", with(serde_json::json!({"hook_event_name": "SubagentStart", "agent_id": "A", "agent_type": "code-reviewer", "timestamp": "2026-11-20T10:00:02Z"}))),
        ("subagent-stop", with(serde_json::json!({"hook_event_name": "PostToolUse", "tool_name": "Agent", "tool_use_id": "t1", "timestamp": "2026-11-20T10:01:00Z", "tool_response": {"status": "completed", "agentId": "A", "totalDurationMs": 58000}}))),
        ("subagent-stop", with(serde_json::json!({"hook_event_name": "PostToolUse", "tool_name": "Agent", "tool_use_id": "t2", "timestamp": "2026-11-20T10:02:00Z", "tool_response": {"status": "completed", "agentId": "B", "totalDurationMs": 119000}}))),
    ]);
    env.analyze_json(&["summary"]);
    let desc = |id: &str| -> String {
        env.conn()
            .query_row(
                "SELECT description FROM agent_runs WHERE agent_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(desc("A"), "Review auth");
    assert_eq!(desc("B"), "Review billing");
}

/// Two code-reviewers delegated at once (as gen-history seed 7 writes them): the second one's
/// SubagentStart commits first, so each start is matched to the other's delegation until the
/// Agent tool's result names its agent. The first reviewer dies with an API error before that
/// (PostToolUseFailure, no SubagentStop); the second completes. The failure is the dead one's
/// only: the one Claude Code reports completed is not left failed with its sibling's error.
#[test]
fn a_parallel_siblings_failure_stays_its_own() {
    let overloaded = r#"API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let mut dead = cc::Run::new(
        "ac578b9b0cf27fca9",
        "code-reviewer",
        "Review the auth module",
        "2026-11-20T10:00:00.278Z",
        "2026-11-20T10:00:26.194Z",
    );
    dead.end_kind = cc::End::Failure(overloaded.into());
    let done = cc::Run::new(
        "a35f4fdd1107f37c1",
        "code-reviewer",
        "Review the billing module",
        "2026-11-20T10:00:00.405Z",
        "2026-11-20T10:00:51.865Z",
    );
    // [PreToolUse, SubagentStart, PostToolUseFailure] and [PreToolUse, SubagentStart,
    // SubagentStop, PostToolUse], in the order the hooks committed.
    let (d, k) = (dead.payloads(), done.payloads());
    let payloads = [
        d[0].clone(),
        k[0].clone(),
        k[1].clone(),
        d[1].clone(),
        d[2].clone(),
        k[2].clone(),
        k[3].clone(),
    ];
    let outcome = |env: &Env, id: &str| -> (String, Option<String>, String) {
        env.conn()
            .query_row(
                "SELECT status, error, description FROM agent_runs WHERE agent_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    };
    // Derived at once, and by a reader after every hook.
    for incremental in [false, true] {
        let env = Env::new();
        for chunk in payloads.chunks(if incremental { 1 } else { payloads.len() }) {
            env.record(chunk);
            if incremental {
                // Derives what is there (exit 1 while no agent has started yet).
                let (code, _, err) = env.analyze(&["summary"]);
                assert!(code <= 1, "{err}");
            }
        }
        let s = env.analyze_json(&["summary"]);
        assert_eq!(
            outcome(&env, "a35f4fdd1107f37c1"),
            ("success".into(), None, "Review the billing module".into()),
            "incremental: {incremental}"
        );
        assert_eq!(
            outcome(&env, "ac578b9b0cf27fca9"),
            (
                "failure".into(),
                Some(overloaded.into()),
                "Review the auth module".into()
            ),
            "incremental: {incremental}"
        );
        let a = &s["agents"][0];
        assert_eq!(
            (
                a["runs"].as_i64(),
                a["success"].as_i64(),
                a["failure"].as_i64()
            ),
            (Some(2), Some(1), Some(1))
        );
    }
}

#[test]
fn the_older_task_tool_name_is_an_agent_delegation_too() {
    let env = Env::new();
    let base = serde_json::json!({"session_id": "s", "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p", "prompt_id": "p"});
    let with = |extra: serde_json::Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v.to_string()
    };
    env.record(&[
        ("subagent-start", with(serde_json::json!({"hook_event_name": "PreToolUse", "tool_name": "Task", "tool_use_id": "t1", "timestamp": "2026-11-20T10:00:00Z", "tool_input": {"description": "Write release notes", "prompt": "x", "subagent_type": "docs-writer"}}))),
        ("subagent-start", with(serde_json::json!({"hook_event_name": "SubagentStart", "agent_id": "a7f3c21", "agent_type": "docs-writer", "timestamp": "2026-11-20T10:00:01Z"}))),
        ("subagent-stop", with(serde_json::json!({"hook_event_name": "PostToolUseFailure", "tool_name": "Task", "tool_use_id": "t1", "timestamp": "2026-11-20T10:00:31Z", "error": "Interrupted", "is_interrupt": true}))),
    ]);
    let s = env.analyze_json(&["summary"]);
    let a = &s["agents"][0];
    assert_eq!(
        (a["agent"].as_str(), a["cancelled"].as_i64()),
        (Some("docs-writer"), Some(1))
    );
    let desc: String = env
        .conn()
        .query_row(
            "SELECT description FROM agent_runs WHERE agent_id = 'a7f3c21'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(desc, "Write release notes");
}
