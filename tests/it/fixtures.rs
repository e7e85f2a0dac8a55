//! Replays every real Claude Code 2.1.330 recording through the hook binaries and checks the
//! derived agent runs against Claude Code's own `subagent_stats` and `total_cost_usd`.

use crate::common::*;
use std::collections::BTreeMap;

fn recordings() -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    // The shared recordings, and the project's own (tests/e2e/recordings, made by the e2e harness).
    for root in [
        shared_fixtures(),
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/recordings"),
    ] {
        let mut found: Vec<_> = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("result.json").exists())
            .collect();
        found.sort();
        dirs.extend(found);
    }
    assert!(
        dirs.len() >= 18,
        "expected the 5 shared and 13 project recordings, found {dirs:?}"
    );
    dirs
}

/// Claude Code's own figures for a recording: a `--resume`d session has one result per process;
/// `subagent_stats` cover each process, `total_cost_usd` and `modelUsage` are cumulative.
struct Expected {
    by_type: BTreeMap<String, i64>,
    completed: i64,
    failed: i64,
    max_depth: i64,
    cost: f64,
    model_usage: serde_json::Value,
}

fn expected(dir: &std::path::Path) -> Expected {
    let mut results: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("result")
        })
        .collect();
    results.sort();
    let mut e = Expected {
        by_type: BTreeMap::new(),
        completed: 0,
        failed: 0,
        max_depth: 0,
        cost: 0.0,
        model_usage: serde_json::Value::Null,
    };
    for r in results {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&r).unwrap()).unwrap();
        let stats = &v["subagent_stats"];
        for (k, n) in stats["by_type"].as_object().unwrap() {
            *e.by_type.entry(k.clone()).or_insert(0) += n.as_i64().unwrap();
        }
        e.completed += stats["completed"].as_i64().unwrap();
        e.failed += stats["failed"].as_i64().unwrap();
        e.max_depth = e.max_depth.max(stats["max_depth"].as_i64().unwrap());
        let cost = v["total_cost_usd"].as_f64().unwrap();
        if cost >= e.cost {
            e.cost = cost;
            e.model_usage = v["modelUsage"].clone();
        }
    }
    e
}

#[test]
fn replayed_recordings_match_claude_codes_subagent_stats() {
    for dir in recordings() {
        let env = Env::new();
        let rec = load_recording(&dir, &env);
        replay(&env, &rec);
        let want = expected(&dir);
        let sessions = env.analyze_json(&["sessions"]);
        let s = &sessions["sessions"][0];
        let name = dir.file_name().unwrap().to_string_lossy();
        let got: BTreeMap<String, i64> =
            serde_json::from_value(s["agents_by_type"].clone()).unwrap();
        assert_eq!(got, want.by_type, "{name}: by_type");
        assert_eq!(s["agents_completed"], want.completed, "{name}: completed");
        assert_eq!(s["agents_failed"], want.failed, "{name}: failed");
        assert_eq!(s["max_depth"], want.max_depth, "{name}: max_depth");
        let cost = s["total_cost_usd"].as_f64().unwrap();
        assert!(
            (cost - want.cost).abs() < 1e-5,
            "{name}: cost {cost} vs Claude Code's {}",
            want.cost
        );
        for (model, u) in want.model_usage.as_object().unwrap() {
            let m = &s["models"][model];
            assert_eq!(m["input_tokens"], u["inputTokens"], "{name}: {model} input");
            assert_eq!(
                m["output_tokens"], u["outputTokens"],
                "{name}: {model} output"
            );
            assert_eq!(
                m["cache_read_tokens"], u["cacheReadInputTokens"],
                "{name}: {model} cache read"
            );
            assert_eq!(
                m["cache_write_tokens"], u["cacheCreationInputTokens"],
                "{name}: {model} cache write"
            );
            let mc = m["cost_usd"].as_f64().unwrap();
            assert!(
                (mc - u["costUSD"].as_f64().unwrap()).abs() < 1e-5,
                "{name}: {model} cost {mc} vs {}",
                u["costUSD"]
            );
        }
    }
}

#[test]
fn parents_and_task_descriptions_are_right() {
    let env = Env::new();
    let rec = load_recording(&shared_fixtures().join("parallel-and-nested-agents"), &env);
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
    let rec = load_recording(&shared_fixtures().join("agent-api-error"), &env);
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
    let rec = load_recording(&shared_fixtures().join("foreground-agent"), &env);
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
