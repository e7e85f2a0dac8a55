//! Outcome metrics (docs/metrics.md, "Outcome"): test-runner summaries, files, failed commands,
//! tool time, and the verified rate, from recorded outputs and replayed transcripts.

use crate::common::*;
use agent_telemetry::testsum;
use serde_json::Value;

#[test]
fn every_runner_fixture_parses_to_its_expected_counts() {
    let dir = repo_fixtures().join("test-runners");
    let manifest: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = manifest.keys().cloned().collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "every fixture is in manifest.json, and only those"
    );
    for (file, want) in &manifest {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let got = testsum::parse(&text).map(|c| {
            serde_json::json!({"runner": c.runner, "passed": c.passed, "failed": c.failed, "skipped": c.skipped})
        });
        assert_eq!(got.as_ref().unwrap_or(&Value::Null), want, "{file}");
    }
}

/// The recorded `agent-tool-failure` run with its subagent's transcript replaced by one made
/// like the recorded ones: `cargo test` fails (exit 101; 4 passed, 1 failed, 1 ignored), an Edit
/// of src/lib.rs, a Write creating tests/regression.rs then an Edit of it, `cargo clippy` exits 1,
/// `cargo test` passes (5 passed, 1 ignored), `cargo bench` times out. Hand-computed:
/// tool time 2000 + 250 + 100 + 50 + 500 + 3000 + 1000 = 6900 ms.
pub(crate) fn scenario() -> std::path::PathBuf {
    repo_fixtures().join("outcome/tests-then-pass")
}

pub(crate) const SID: &str = "0c7e5a1d-5e7b-4d0e-9a51-6f7574636f6d";
pub(crate) const AID: &str = "a5e1f0c0de0000001";

/// The scenario under new ids, its last `cargo test` failing instead (exit 101; the lib's
/// binary: 2 passed, 1 failed, 1 ignored; so 4 passed, 1 failed, 1 skipped in all).
pub(crate) fn failing_variant(into: &std::path::Path) -> std::path::PathBuf {
    let (sid, aid) = ("0c7e5a1d-5e7b-4d0e-9a51-000000000002", "a5e1f0c0de0000002");
    fn walk(from: &std::path::Path, to: &std::path::Path, f: &dyn Fn(&str) -> String) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let name = f(&e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &to.join(name), f);
            } else {
                let text = std::fs::read_to_string(e.path()).unwrap();
                let text: Vec<String> = text.lines().map(f).collect();
                std::fs::write(to.join(name), text.join("\n") + "\n").unwrap();
            }
        }
    }
    let rewrite = |line: &str| -> String {
        let line = line.replace(SID, sid).replace(AID, aid);
        if !line.contains("\"tool_use_id\":\"toolu_out6\"") {
            return line;
        }
        let mut v: Value = serde_json::from_str(&line).unwrap();
        let block = &mut v["message"]["content"][0];
        let text = block["content"][0]["text"].as_str().unwrap().replace(
            "test result: ok. 3 passed; 0 failed; 1 ignored;",
            "test result: FAILED. 2 passed; 1 failed; 1 ignored;",
        );
        block["content"][0]["text"] = Value::String(format!("Exit code 101\n{text}"));
        block["is_error"] = Value::Bool(true);
        v["toolUseResult"] = Value::String(format!("Error: Exit code 101\n{text}"));
        serde_json::to_string(&v).unwrap()
    };
    walk(&scenario(), into, &rewrite);
    into.to_path_buf()
}

#[test]
fn the_reader_finds_the_last_test_run_files_failed_commands_and_tool_time() {
    let path = scenario().join(format!("transcripts/{SID}/subagents/agent-{AID}.jsonl"));
    let defs: Vec<agent_telemetry::metrics::MetricDef> = serde_json::from_str(
        r#"[{"name": "cargo_calls", "tool": "Bash", "input_pattern": "\"cargo ", "take": "count"},
            {"name": "most_passed", "tool": "Bash", "pattern": "(\\d+) passed;", "take": "max"},
            {"name": "edits", "tool": "Edit", "pattern": "updated successfully", "take": "count"}]"#,
    )
    .unwrap();
    let metrics = agent_telemetry::metrics::compile_all(&defs).unwrap();
    let spec = agent_telemetry::transcript::ReadSpec {
        session_id: SID,
        agent_id: Some(AID),
        offset: 0,
        prompt_id: None,
        budget: None,
        metrics: &metrics,
    };
    let s = agent_telemetry::transcript::summarize_file(&path, &spec).unwrap();
    let t = s.tests.as_ref().expect("a test result");
    assert_eq!(
        (t.passed, t.failed, t.skipped, t.runner.as_str()),
        (5, 0, 1, "cargo")
    );
    assert_eq!(
        s.files_created,
        Some(1),
        "tests/regression.rs, created then edited"
    );
    assert_eq!(s.files_modified, Some(1), "src/lib.rs");
    assert_eq!(
        s.commands_failed,
        Some(2),
        "exit 101 and exit 1; the timeout is not one"
    );
    assert_eq!(s.tool_ms, Some(6900));
    assert_eq!(s.tool_errors(), 3);
    // cargo test, cargo clippy, cargo test, cargo bench; the largest "N passed;" line of a
    // Bash result: the passing run's lib (3); two Edit results said "updated successfully".
    assert_eq!(s.metrics["cargo_calls"], 4.0);
    assert_eq!(s.metrics["most_passed"], 3.0);
    assert_eq!(s.metrics["edits"], 2.0);
    // Without definitions: no custom values, the same outcome.
    let spec = agent_telemetry::transcript::ReadSpec {
        metrics: &[],
        ..spec
    };
    let plain = agent_telemetry::transcript::summarize_file(&path, &spec).unwrap();
    assert!(plain.metrics.is_empty());
    assert_eq!(plain.tool_ms, Some(6900));
}

/// (tests_passed, tests_failed, tests_skipped, test_runner, files_created, files_modified,
/// commands_failed, tool_ms) of one run.
type Row = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn outcome_row(env: &Env, agent_id: &str) -> (String, Row) {
    env.conn()
        .query_row(
            "SELECT status, tests_passed, tests_failed, tests_skipped, test_runner, files_created,
                    files_modified, commands_failed, tool_ms FROM agent_runs WHERE agent_id = ?1",
            [agent_id],
            |r| {
                Ok((
                    r.get(0)?,
                    (
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ),
                ))
            },
        )
        .unwrap()
}

/// What both runs must show, however they were recorded.
fn check_outcomes(env: &Env) {
    env.analyze_json(&["summary"]); // readers bring the projection up to date
    let cargo = Some("cargo".to_string());
    assert_eq!(
        outcome_row(env, AID),
        (
            "success".to_string(),
            (
                Some(5),
                Some(0),
                Some(1),
                cargo.clone(),
                Some(1),
                Some(1),
                Some(2),
                Some(6900)
            )
        )
    );
    assert_eq!(
        outcome_row(env, "a5e1f0c0de0000002"),
        (
            "success".to_string(),
            (
                Some(4),
                Some(1),
                Some(1),
                cargo,
                Some(1),
                Some(1),
                Some(3),
                Some(6900)
            )
        )
    );
    // Two successful runs with tests: one verified (its last run passed), one not.
    let s = env.analyze_json(&["summary"]);
    let fe = s["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == "frontend-developer")
        .expect("frontend-developer row")
        .clone();
    assert_eq!(
        (fe["tested"].as_i64(), fe["verified"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(fe["verified_rate"].as_f64(), Some(0.5));
    assert_eq!(fe["success_rate"].as_f64(), Some(1.0));
    assert_eq!(s["totals"]["verified_rate"].as_f64(), Some(0.5));
    // A filtered summary takes the other path (the runs themselves): the same figures.
    let f = env.analyze_json(&["summary", "--agent", "frontend-developer"]);
    assert_eq!(f["agents"][0]["verified_rate"].as_f64(), Some(0.5));
    assert_eq!(f["agents"][0]["tested"].as_i64(), Some(2));

    let a = env.analyze_json(&["agent", "frontend-developer"]);
    assert_eq!(
        (a["tested"].as_i64(), a["verified"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(a["verified_rate"].as_f64(), Some(0.5));
    let o = &a["outcome"];
    assert_eq!(o["runs_with_tests"].as_i64(), Some(2));
    assert_eq!(
        (o["tests_passed"].as_i64(), o["tests_failed"].as_i64()),
        (Some(9), Some(1))
    );
    assert_eq!(o["avg_tests_passed"].as_f64(), Some(4.5));
    assert_eq!(
        (o["files_created"].as_i64(), o["files_modified"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(o["commands_failed"].as_i64(), Some(5));
    assert_eq!(o["avg_commands_failed"].as_f64(), Some(2.5));
    assert_eq!(o["avg_tool_ms"].as_f64(), Some(6900.0));
    let (code, table, _) = env.analyze(&["agent", "frontend-developer"]);
    assert_eq!(code, 0);
    assert!(table.contains("50.0% (1 of 2 tested)"), "{table}");
    let (code, table, _) = env.analyze(&["summary"]);
    assert_eq!(code, 0);
    assert!(table.contains("Verified"), "{table}");
}

#[test]
fn hooks_record_the_outcome_and_the_verified_rate() {
    let env = Env::new();
    let variant = failing_variant(&env.dir.path().join("variant"));
    for src in [scenario(), variant] {
        let rec = load_recording(&src, &env);
        replay(&env, &rec);
    }
    check_outcomes(&env);
    // The model time is the duration less the tool time, never below 0: replayed hooks
    // arrive within milliseconds, far less than the 6.9 s of tool time.
    let a = env.analyze_json(&["agent", "frontend-developer"]);
    assert_eq!(a["outcome"]["avg_model_ms"].as_f64(), Some(0.0));
}

#[test]
fn import_records_the_same_outcome_and_model_time() {
    let env = Env::new();
    let claude = env.dir.path().join("claude");
    let proj = claude.join("projects/-home-dev-proj");
    let variant = failing_variant(&env.dir.path().join("variant"));
    for src in [scenario(), variant] {
        copy_dir(&src.join("transcripts"), &proj);
    }
    let d = claude.to_string_lossy().into_owned();
    env.analyze_json(&["import", "--claude-dir", &d]);
    check_outcomes(&env);
    // Imported runs last from their first to their last transcript line that the import
    // dates them by; the model time is that less 6.9 s of tool time.
    let a = env.analyze_json(&["agent", "frontend-developer"]);
    let d = a["duration"]["avg_ms"].as_f64().unwrap();
    assert_eq!(
        a["outcome"]["avg_model_ms"].as_f64(),
        Some((d - 6900.0).max(0.0))
    );
}

#[test]
fn import_refuses_a_bad_metric_definition() {
    let env = Env::new();
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::write(
        env.db().parent().unwrap().join("config.json"),
        r#"{"metrics": [{"name": "x", "tool": "Bash", "pattern": "("}]}"#,
    )
    .unwrap();
    let claude = env.dir.path().join("claude");
    copy_dir(&scenario().join("transcripts"), &claude.join("projects/p"));
    let (code, _, err) = env.analyze(&["import", "--claude-dir", &claude.to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("metrics") && err.contains("metric x"), "{err}");
}

#[test]
fn a_hook_logs_a_bad_metric_definition_and_records_the_run() {
    let env = Env::new();
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::write(
        env.db().parent().unwrap().join("config.json"),
        r#"{"metrics": [{"name": "x", "tool": "Bash", "pattern": "("}]}"#,
    )
    .unwrap();
    let rec = load_recording(&scenario(), &env);
    replay(&env, &rec);
    env.analyze_json(&["summary"]);
    let (_, row) = outcome_row(&env, AID);
    assert_eq!(row.7, Some(6900));
    let log = std::fs::read_to_string(env.db().parent().unwrap().join("hook.log")).unwrap();
    assert!(log.contains("metric x"), "{log}");
}

#[test]
fn any_cut_of_a_runner_output_parses_without_panicking() {
    // Outputs end anywhere (Claude Code truncates long results): every prefix and suffix of
    // every fixture, at character boundaries, must parse to something or nothing.
    let dir = repo_fixtures().join("test-runners");
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "txt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.char_indices().step_by(5) {
            let _ = testsum::parse(&text[..i]);
            let _ = testsum::parse(&text[i..]);
        }
    }
}

/// Claude Code 2.1.332 does not always write `toolUseResult` into a subagent's transcript (seen in
/// the e2e scenario test-results): a Write is then known to have created its file by its result's
/// text, and an Edit counts as a modification by its call. Lines as the client wrote them, minus
/// fields the reader ignores.
#[test]
fn a_write_without_its_tool_use_result_is_known_by_its_text() {
    let lines = [
        r##"{"isSidechain":true,"agentId":"a1","type":"assistant","timestamp":"2026-12-01T10:37:17.000Z","requestId":"req_1","message":{"id":"msg_1","model":"claude-opus-5-5","role":"assistant","content":[{"type":"tool_use","id":"toolu_w","name":"Write","input":{"file_path":"src/orders.rs","content":"pub fn total() -> u32 { 0 }\n"}}],"usage":{"input_tokens":10,"output_tokens":5}}}"##,
        r##"{"isSidechain":true,"agentId":"a1","type":"user","timestamp":"2026-12-01T10:37:17.200Z","message":{"role":"user","content":[{"tool_use_id":"toolu_w","type":"tool_result","content":"File created successfully at: src/orders.rs (file state is current in your context — no need to Read it back)"}]}}"##,
        r##"{"isSidechain":true,"agentId":"a1","type":"assistant","timestamp":"2026-12-01T10:37:17.300Z","requestId":"req_2","message":{"id":"msg_2","model":"claude-opus-5-5","role":"assistant","content":[{"type":"tool_use","id":"toolu_e","name":"Edit","input":{"file_path":"README.md","old_string":"# proj","new_string":"# proj\n\nData."}}],"usage":{"input_tokens":10,"output_tokens":5}}}"##,
        r##"{"isSidechain":true,"agentId":"a1","type":"user","timestamp":"2026-12-01T10:37:17.350Z","message":{"role":"user","content":[{"tool_use_id":"toolu_e","type":"tool_result","content":"The file README.md has been updated successfully. (file state is current in your context — no need to Read it back)"}]}}"##,
        r##"{"isSidechain":true,"agentId":"a1","type":"assistant","timestamp":"2026-12-01T10:37:17.400Z","requestId":"req_3","message":{"id":"msg_3","model":"claude-opus-5-5","role":"assistant","content":[{"type":"tool_use","id":"toolu_w2","name":"Write","input":{"file_path":"README.md","content":"# proj\n"}}],"usage":{"input_tokens":10,"output_tokens":5}}}"##,
        r##"{"isSidechain":true,"agentId":"a1","type":"user","timestamp":"2026-12-01T10:37:17.500Z","message":{"role":"user","content":[{"tool_use_id":"toolu_w2","type":"tool_result","content":"The file README.md has been updated. Here's the result of running `cat -n` on a snippet of the edited file:"}]}}"##,
    ];
    let text = lines.join("\n") + "\n";
    let spec = agent_telemetry::transcript::ReadSpec {
        session_id: "s1",
        agent_id: Some("a1"),
        offset: 0,
        prompt_id: None,
        budget: None,
        metrics: &[],
    };
    let s = agent_telemetry::transcript::summarize_reader(text.as_bytes(), &spec).unwrap();
    assert_eq!(s.files_created, Some(1), "src/orders.rs");
    assert_eq!(
        s.files_modified,
        Some(1),
        "README.md, edited then overwritten"
    );
    assert_eq!(s.tool_ms, Some(200 + 50 + 100));
}
