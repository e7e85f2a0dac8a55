//! Replays every real Claude Code 2.1.330 recording through the hook binaries and checks the
//! derived agent runs against Claude Code's own `subagent_stats` and `total_cost_usd`.

use crate::common::*;

#[test]
fn replayed_recordings_match_claude_codes_subagent_stats() {
    for dir in recordings() {
        let env = Env::new();
        let rec = load_recording(&dir, &env);
        replay(&env, &rec);
        let want = expected(&dir);
        let sessions = env.analyze_json(&["sessions"]);
        let name = dir.file_name().unwrap().to_string_lossy();
        check_session(&name, &sessions["sessions"][0], &want);
    }
}

#[test]
fn parents_and_task_descriptions_are_right() {
    let env = Env::new();
    let rec = load_recording(&cc_fixtures().join("parallel-and-nested-agents"), &env);
    replay(&env, &rec);
    let conn = env.conn();
    // Refresh the projection through a reader first.
    env.analyze_json(&["summary"]);
    let mut stmt = conn
        .prepare("SELECT agent_id, agent_type, description, parent_agent_id, depth, status FROM agent_runs ORDER BY agent_id")
        .unwrap();
    type Row = (String, String, Option<String>, Option<String>, i64, String);
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let find = |id: &str| {
        rows.iter()
            .find(|r| r.0 == id)
            .unwrap_or_else(|| panic!("run {id} in {rows:?}"))
    };
    let backend = find("acef1f01eb91bc6db");
    assert_eq!(
        (
            backend.1.as_str(),
            backend.2.as_deref(),
            backend.3.as_deref(),
            backend.4
        ),
        ("backend-architect", Some("Build API endpoints"), None, 1)
    );
    let frontend = find("a4118b87cc321c5dc");
    assert_eq!(
        (
            frontend.1.as_str(),
            frontend.2.as_deref(),
            frontend.3.as_deref(),
            frontend.4
        ),
        ("frontend-developer", Some("Build login page"), None, 1)
    );
    let auditor = find("a6cdec94c3c4730e8");
    assert_eq!(
        (
            auditor.1.as_str(),
            auditor.2.as_deref(),
            auditor.3.as_deref(),
            auditor.4
        ),
        (
            "security-auditor",
            Some("Audit auth module"),
            Some("acef1f01eb91bc6db"),
            2
        )
    );
    assert!(rows.iter().all(|r| r.5 == "success"), "{rows:?}");
}

#[test]
fn api_error_agent_is_a_failure_with_its_message_and_tokens() {
    let env = Env::new();
    let rec = load_recording(&cc_fixtures().join("agent-api-error"), &env);
    replay(&env, &rec);
    env.analyze_json(&["summary"]);
    let (status, error, input, output, desc): (String, String, i64, i64, String) = env
        .conn()
        .query_row(
            "SELECT status, error, input_tokens, output_tokens, description FROM agent_runs WHERE agent_id = 'aacf6099539b94449'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(status, "failure");
    assert!(error.contains("API Error: 400"), "{error}");
    assert_eq!((input, output), (100, 20));
    assert_eq!(desc, "Migrate database schema");
}

#[test]
fn replaying_twice_changes_no_figure() {
    let env = Env::new();
    let rec = load_recording(&cc_fixtures().join("foreground-agent"), &env);
    replay(&env, &rec);
    let first = env.analyze_json(&["sessions"]);
    replay(&env, &rec);
    let second = env.analyze_json(&["sessions"]);
    assert_eq!(
        first["sessions"][0]["total_cost_usd"],
        second["sessions"][0]["total_cost_usd"]
    );
    assert_eq!(
        first["sessions"][0]["agents_by_type"],
        second["sessions"][0]["agents_by_type"]
    );
}
