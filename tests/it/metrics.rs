//! Custom metrics from storage to report: generic stop events' `"metrics"`, transcript
//! summaries, the 1,000-name cap, `analyze metrics` against hand-computed figures, `analyze
//! agent`'s metrics, and `analyze rebuild --metrics` re-applying a new definition to a past run.

use crate::common::{cc, Env};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The reports' clock: the recent period of the trend starts 7 days before, 2026-11-24T12:00Z.
const NOW: &str = "2026-12-01T12:00:00Z";

/// A generic orchestrator's run through the real hook binaries; `metrics` (if not null) rides on
/// the stop event, sent by `via` (`subagent-stop`, or `workflow-event` with `"event"`).
fn generic(env: &Env, via: &str, agent: &str, id: &str, start: &str, end: &str, metrics: Value) {
    env.hook(
        "subagent-start",
        json!({"agent_name": agent, "invocation_id": id, "task_description": "Build the module", "timestamp": start})
            .to_string()
            .as_bytes(),
    );
    let mut stop = json!({"invocation_id": id, "success": true, "timestamp": end});
    if via == "workflow-event" {
        stop["event"] = json!("agent_stop");
    }
    if !metrics.is_null() {
        stop["metrics"] = metrics;
    }
    env.hook(via, stop.to_string().as_bytes());
}

fn at(env: &Env, args: &[&str]) -> (i32, String, String) {
    env.analyze_at(NOW, args)
}

fn json_at(env: &Env, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = at(env, &a);
    assert_eq!(code, 0, "analyze {args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// The row of `agent`'s metric `name` (custom unless `builtin`).
fn row<'a>(report: &'a Value, agent: &str, name: &str, builtin: bool) -> &'a Value {
    report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["agent"] == agent && m["name"] == name && m["builtin"] == builtin)
        .unwrap_or_else(|| panic!("no {agent}/{name} in {report}"))
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() < 1e-9, "{got} != {want}");
}

#[test]
fn generic_stop_metrics_give_hand_computed_figures() {
    let env = Env::new();
    // builder: lint_warnings 4, 10 (before 2026-11-24T12:00), 2, 0 (the last 7 days); coverage
    // 80.5 and 70 (before only). b3's non-numbers and invalid name are ignored; b5 has no value.
    let b = [
        (
            "b1",
            "2026-11-10T10:00:00Z",
            json!({"lint_warnings": 4, "coverage": 80.5}),
        ),
        (
            "b2",
            "2026-11-12T10:00:00Z",
            json!({"lint_warnings": 10, "coverage": 70}),
        ),
        (
            "b3",
            "2026-11-27T10:00:00Z",
            json!({"lint_warnings": 2, "bogus": "7", "9bad": 3, "flag": true, "none": null}),
        ),
        ("b4", "2026-11-29T10:00:00Z", json!({"lint_warnings": 0})),
        ("b5", "2026-11-30T10:00:00Z", Value::Null),
    ];
    for (id, start, m) in b {
        let end = start.replace("10:00:00", "10:05:00");
        generic(&env, "subagent-stop", "builder", id, start, &end, m);
    }
    // reviewer: one value, stopped through workflow-event's generic form.
    generic(
        &env,
        "workflow-event",
        "reviewer",
        "r1",
        "2026-11-28T09:00:00Z",
        "2026-11-28T09:01:00Z",
        json!({"lint_warnings": 1.5}),
    );

    let all = json_at(&env, &["metrics"]);
    assert_eq!(all["command"], "metrics");
    assert_eq!(all["recent_start"], "2026-11-24T12:00:00.000Z");
    // lint_warnings of builder: sorted 0, 2, 4, 10. avg 16/4 = 4; p50 at rank 1.5 = 2 + 0.5·2 = 3;
    // p95 at rank 2.85 = 4 + 0.85·6 = 9.1. Trend: last 7 days (2, 0) mean 1 against (4, 10) mean 7.
    let lw = row(&all, "builder", "lint_warnings", false);
    assert_eq!(lw["runs"], 4);
    close(&lw["avg"], 4.0);
    close(&lw["p50"], 3.0);
    close(&lw["p95"], 9.1);
    close(&lw["min"], 0.0);
    close(&lw["max"], 10.0);
    close(&lw["sum"], 16.0);
    let t = &lw["trend"];
    assert_eq!(
        (t["recent_runs"].as_i64(), t["earlier_runs"].as_i64()),
        (Some(2), Some(2))
    );
    close(&t["recent_avg"], 1.0);
    close(&t["earlier_avg"], 7.0);
    close(&t["change"], -6.0);
    assert_eq!(t["direction"], "down");
    // coverage: 70, 80.5. avg = p50 = 75.25; p95 at rank 0.95 = 70 + 0.95·10.5 = 79.975; no
    // recent value, so no direction.
    let cov = row(&all, "builder", "coverage", false);
    assert_eq!(cov["runs"], 2);
    close(&cov["avg"], 75.25);
    close(&cov["p50"], 75.25);
    close(&cov["p95"], 79.975);
    close(&cov["sum"], 150.5);
    assert_eq!(cov["trend"]["recent_runs"], 0);
    assert!(cov["trend"]["direction"].is_null());
    let rv = row(&all, "reviewer", "lint_warnings", false);
    assert_eq!(rv["runs"], 1);
    close(&rv["p95"], 1.5);
    // Only numbers with valid names were kept.
    let custom: Vec<&str> = all["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["builtin"] == false)
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(custom, ["coverage", "lint_warnings", "lint_warnings"]);
    assert_eq!(env.count("SELECT count(*) FROM run_values"), 7);

    // NAME and filters narrow; --days counts back from now.
    let one = json_at(
        &env,
        &[
            "metrics",
            "lint_warnings",
            "--agent",
            "builder",
            "--days",
            "7",
        ],
    );
    let rows = one["metrics"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{one}");
    assert_eq!(rows[0]["runs"], 2);
    close(&rows[0]["sum"], 2.0);

    // The table names each figure; CSV has one header row.
    let (code, table, _) = at(&env, &["metrics", "lint_warnings"]);
    assert_eq!(code, 0);
    for want in [
        "builder",
        "reviewer",
        "custom",
        "9.1",
        "7 → 1 (down)",
        "Trend",
    ] {
        assert!(table.contains(want), "{want} in\n{table}");
    }
    let (code, csv, _) = at(&env, &["metrics", "coverage", "--format", "csv"]);
    assert_eq!(code, 0);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("Agent,Metric,Kind,Runs,Avg,p50,p95"));
    assert_eq!(
        lines.next().unwrap(),
        "builder,coverage,custom,2,75.25,75.25,79.97,70,80.5,150.5,-"
    );

    // `analyze agent` lists the agent's custom metrics by name.
    let agent = json_at(&env, &["agent", "builder"]);
    let names: Vec<&str> = agent["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["coverage", "lint_warnings"]);
    let m = &agent["metrics"][1];
    assert_eq!(m["runs"], 4);
    close(&m["p95"], 9.1);
    assert_eq!(m["trend"]["direction"], "down");
    let (_, table, _) = at(&env, &["agent", "builder"]);
    assert!(table.contains("Custom metrics"), "{table}");

    // Nothing found: exit 1; a bad name: exit 2.
    let (code, out, err) = at(&env, &["metrics", "no_such_metric"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("no metric values match"), "{err}");
    let (code, _, err) = at(&env, &["metrics", "9bad"]);
    assert_eq!(code, 2);
    assert!(err.contains("metric name '9bad'"), "{err}");

    // A plain rebuild derives the same values from the log.
    let (code, _, err) = env.analyze(&["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_at(&env, &["metrics"]), all);
}

#[test]
fn the_1001st_name_of_an_agent_type_is_refused_and_nothing_else_is_lost() {
    let env = Env::new();
    let many: serde_json::Map<String, Value> =
        (0..1000).map(|i| (format!("m{i:04}"), json!(i))).collect();
    generic(
        &env,
        "subagent-stop",
        "wide",
        "w1",
        "2026-11-30T10:00:00Z",
        "2026-11-30T10:01:00Z",
        Value::Object(many),
    );
    // The second run: a known name, and a 1,001st.
    generic(
        &env,
        "subagent-stop",
        "wide",
        "w2",
        "2026-11-30T11:00:00Z",
        "2026-11-30T11:02:00Z",
        json!({"m0001": 5, "extra_name": 42}),
    );
    // Another agent type has its own 1,000.
    generic(
        &env,
        "subagent-stop",
        "narrow",
        "n1",
        "2026-11-30T12:00:00Z",
        "2026-11-30T12:01:00Z",
        json!({"extra_name": 3}),
    );
    let (code, out, err) = at(&env, &["metrics", "--agent", "wide", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.count("SELECT count(*) FROM agent_metric_names WHERE agent_type = 'wide'"),
        1000
    );
    assert!(
        err.contains("1 metric name(s) refused")
            && err.contains("at most 1000 names")
            && err.contains("wide extra_name: 1 value(s) refused since 2026-11-30T11:02:00.000Z"),
        "{err}"
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["refused"],
        json!([{"agent": "wide", "name": "extra_name", "runs": 1, "first": "2026-11-30T11:02:00.000Z"}])
    );
    // The run's known name was stored, the run itself is whole.
    let m1 = row(&report, "wide", "m0001", false);
    assert_eq!(m1["runs"], 2);
    close(&m1["sum"], 6.0);
    let agent = json_at(&env, &["agent", "wide"]);
    assert_eq!(
        (agent["runs"].as_i64(), agent["success"].as_i64()),
        (Some(2), Some(2))
    );
    close(&agent["duration"]["max_ms"], 120_000.0);
    let narrow = json_at(&env, &["metrics", "extra_name"]);
    assert_eq!(narrow["metrics"].as_array().unwrap().len(), 1);
    close(&row(&narrow, "narrow", "extra_name", false)["sum"], 3.0);
    // Asking for the refused name says it too, and finds no value of it for `wide`.
    let (code, _, err) = at(&env, &["metrics", "extra_name", "--agent", "wide"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("wide extra_name") && err.contains("no metric values match"),
        "{err}"
    );

    // Rebuilding keeps the same 1,000 (the log decides, in order) and the same refusal.
    let (code, _, err) = env.analyze(&["rebuild"]);
    assert_eq!(code, 0, "{err}");
    let again = at(&env, &["metrics", "--agent", "wide", "--format", "json"]);
    assert_eq!(again.1, out);
}

// ── rebuild --metrics ──────────────────────────────────────────────────────────────────────

const SESSION: &str = "5b0c1d2e-3f40-4a51-8b62-7c83d94ea5f6";
pub(crate) const AGENT: &str = "a4d1c2b3e4f5a6b70";

/// A subagent transcript as Claude Code 2.1.330 writes it (tests/fixtures/claude-code-2.1.330),
/// trimmed to what matters: two Bash calls whose results print a lint summary, and an Edit with its
/// structured patch (2 lines added, 1 removed).
pub(crate) fn write_transcript(dir: &Path) -> PathBuf {
    let sub = dir.join(SESSION).join("subagents");
    std::fs::create_dir_all(&sub).unwrap();
    let common = |ts: &str| {
        json!({"isSidechain": true, "agentId": AGENT, "sessionId": SESSION, "timestamp": ts,
               "userType": "external", "entrypoint": "sdk-cli", "cwd": "/home/dev/proj", "version": "2.1.330"})
    };
    let merge = |mut base: Value, extra: Value| {
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        base
    };
    let usage = json!({"input_tokens": 100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 20});
    let call = |n: u32, ts: &str, tool: &str, input: Value| {
        merge(
            common(ts),
            json!({"type": "assistant", "uuid": format!("u-call-{n}"), "requestId": format!("req_{n}"),
                   "message": {"id": format!("msg_{n}"), "type": "message", "role": "assistant", "model": "claude-opus-5-5",
                               "content": [{"type": "tool_use", "id": format!("toolu_{n}"), "name": tool, "input": input}],
                               "stop_reason": "tool_use", "usage": usage}}),
        )
    };
    let result = |n: u32, ts: &str, text: &str, tool_use_result: Value| {
        merge(
            common(ts),
            json!({"type": "user", "uuid": format!("u-result-{n}"),
                   "message": {"role": "user", "content": [{"tool_use_id": format!("toolu_{n}"), "type": "tool_result", "content": text, "is_error": false}]},
                   "toolUseResult": tool_use_result}),
        )
    };
    let lines = [
        merge(
            common("2026-11-20T10:00:00.000Z"),
            json!({"type": "user", "uuid": "u-prompt", "parentUuid": null, "message": {"role": "user", "content": "Clean up the lint warnings"}}),
        ),
        call(
            1,
            "2026-11-20T10:00:01.000Z",
            "Bash",
            json!({"command": "cargo clippy", "description": "lint"}),
        ),
        result(
            1,
            "2026-11-20T10:00:09.000Z",
            "warning: unused variable\nclippy: found 12 warnings",
            json!({"stdout": "clippy: found 12 warnings", "stderr": "", "interrupted": false}),
        ),
        call(
            2,
            "2026-11-20T10:00:10.000Z",
            "Edit",
            json!({"file_path": "/home/dev/proj/src/lib.rs", "old_string": "let x = 1;", "new_string": "let _x = 1;\nlet y = 2;"}),
        ),
        result(
            2,
            "2026-11-20T10:00:11.000Z",
            "The file /home/dev/proj/src/lib.rs has been updated.",
            json!({"filePath": "/home/dev/proj/src/lib.rs", "structuredPatch": [{"oldStart": 1, "oldLines": 1, "newStart": 1, "newLines": 2,
                   "lines": ["-let x = 1;", "+let _x = 1;", "+let y = 2;"]}]}),
        ),
        call(
            3,
            "2026-11-20T10:00:12.000Z",
            "Bash",
            json!({"command": "cargo clippy", "description": "lint again"}),
        ),
        result(
            3,
            "2026-11-20T10:00:20.000Z",
            "clippy: found 3 warnings",
            json!({"stdout": "clippy: found 3 warnings", "stderr": "", "interrupted": false}),
        ),
        merge(
            common("2026-11-20T10:00:21.000Z"),
            json!({"type": "assistant", "uuid": "u-final", "requestId": "req_4",
                   "message": {"id": "msg_4", "type": "message", "role": "assistant", "model": "claude-opus-5-5",
                               "content": [{"type": "text", "text": "Down to 3 warnings."}], "stop_reason": "end_turn", "usage": usage}}),
        ),
    ];
    let path = sub.join(format!("agent-{AGENT}.jsonl"));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    std::fs::write(
        sub.join(format!("agent-{AGENT}.meta.json")),
        json!({"agentType": "linter", "isBuiltIn": false, "description": "Fix lint", "toolUseId": format!("toolu_{AGENT}"),
               "spawnDepth": 1, "requestShape": "foreground", "finished": true})
        .to_string(),
    )
    .unwrap();
    path
}

/// The run through the real hooks: its SubagentStop points at the transcript.
pub(crate) fn record_linter_run(env: &Env, transcript: &Path) {
    let run = cc::Run {
        session: SESSION.into(),
        ..cc::Run::new(
            AGENT,
            "linter",
            "Fix lint",
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:00:22Z",
        )
    };
    for (bin, payload) in run.payloads() {
        let mut v: Value = serde_json::from_str(&payload).unwrap();
        if v["hook_event_name"] == "SubagentStop" {
            v["agent_transcript_path"] = json!(transcript.to_string_lossy());
        }
        env.hook(bin, v.to_string().as_bytes());
    }
}

fn set_metrics(env: &Env, defs: Value) {
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::write(
        env.db().with_file_name("config.json"),
        json!({ "metrics": defs }).to_string(),
    )
    .unwrap();
}

#[test]
fn built_in_lines_come_from_the_transcript_summary() {
    let env = Env::new();
    let transcript = write_transcript(&env.dir.path().join("projects"));
    record_linter_run(&env, &transcript);
    let r = json_at(&env, &["metrics", "--agent", "linter"]);
    let added = row(&r, "linter", "lines_added", true);
    assert_eq!(added["runs"], 1);
    close(&added["sum"], 2.0);
    close(&row(&r, "linter", "lines_removed", true)["max"], 1.0);
}

/// Needs the transcript reader to fill `Summary.metrics` from `ReadSpec.metrics` (the outcome
/// work of issue 15): `rebuild --metrics` reads with the definitions and stores what it finds.
#[test]
fn rebuild_metrics_applies_a_new_definition_to_a_past_run() {
    let env = Env::new();
    let transcript = write_transcript(&env.dir.path().join("projects"));
    record_linter_run(&env, &transcript);
    // Recorded before any definition: no custom value.
    let (code, _, _) = at(&env, &["metrics", "lint_warnings"]);
    assert_eq!(code, 1);
    let (code, _, err) = env.analyze(&["rebuild", "--metrics"]);
    assert_eq!(code, 1, "no definition: nothing to re-apply");
    assert!(err.contains("defines no metrics"), "{err}");

    set_metrics(
        &env,
        json!([
            {"name": "lint_warnings", "tool": "Bash", "pattern": "found (\\d+) warnings", "take": "last"},
            {"name": "lint_total", "tool": "Bash", "pattern": "found (\\d+) warnings", "take": "sum"},
            {"name": "edits", "tool": "Edit", "input_pattern": "file_path", "take": "count"}
        ]),
    );
    let (code, _, err) = env.analyze(&["rebuild", "--metrics"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("re-read 1 run(s)' transcripts with 3 metric definition(s): 3 value(s) found; 0 transcript(s) gone"),
        "{err}"
    );
    let r = json_at(&env, &["metrics", "--agent", "linter"]);
    close(&row(&r, "linter", "lint_warnings", false)["sum"], 3.0);
    close(&row(&r, "linter", "lint_total", false)["sum"], 15.0);
    close(&row(&r, "linter", "edits", false)["sum"], 1.0);
    // The run itself is unchanged: one run, its tools and lines as before.
    let agent = json_at(&env, &["agent", "linter"]);
    assert_eq!(agent["runs"], 1);
    assert_eq!(agent["tools"][0]["calls"], 2, "{}", agent["tools"]);

    // The log is the truth: a plain rebuild derives the same.
    let (code, _, err) = env.analyze(&["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_at(&env, &["metrics", "--agent", "linter"]), r);

    // A changed definition that no longer matches leaves no value (not the old one).
    set_metrics(
        &env,
        json!([{"name": "lint_warnings", "tool": "Bash", "pattern": "found (\\d+) errors"}]),
    );
    let (code, _, err) = env.analyze(&["rebuild", "--metrics"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 value(s) found"), "{err}");
    let (code, _, _) = at(&env, &["metrics", "lint_warnings"]);
    assert_eq!(code, 1);

    // A transcript that is gone is said so, and the values stay.
    std::fs::remove_file(&transcript).unwrap();
    let (code, _, err) = env.analyze(&["rebuild", "--metrics"]);
    assert_eq!(code, 1, "nothing re-read");
    assert!(
        err.contains("re-read 0 run(s)' transcripts") && err.contains("1 transcript(s) gone"),
        "{err}"
    );
    let r = json_at(&env, &["metrics", "lint_total"]);
    close(&row(&r, "linter", "lint_total", false)["sum"], 15.0);
}

/// What `rebuild --metrics` reads and says, whatever the definitions find: the run whose
/// transcript exists is re-read (one fresh summary event at its last summary's time), the one whose
/// transcript is gone is counted, a generic run has no transcript to read, and no other figure of
/// any run changes.
#[test]
fn rebuild_metrics_rereads_what_exists_and_counts_what_is_gone() {
    let env = Env::new();
    let dir = env.dir.path().join("projects");
    let transcript = write_transcript(&dir);
    record_linter_run(&env, &transcript);
    let ghost = cc::Run {
        session: SESSION.into(),
        ..cc::Run::new(
            "a9e8d7c6b5a4f3e21",
            "linter",
            "Fix more lint",
            "2026-11-20T11:00:00Z",
            "2026-11-20T11:00:30Z",
        )
    };
    for (bin, payload) in ghost.payloads() {
        let mut v: Value = serde_json::from_str(&payload).unwrap();
        if v["hook_event_name"] == "SubagentStop" {
            v["agent_transcript_path"] = json!(dir.join("gone.jsonl").to_string_lossy());
        }
        env.hook(bin, v.to_string().as_bytes());
    }
    generic(
        &env,
        "subagent-stop",
        "builder",
        "g1",
        "2026-11-20T12:00:00Z",
        "2026-11-20T12:01:00Z",
        json!({"lint_warnings": 5}),
    );
    let before = json_at(&env, &["summary"]);
    let summaries = "SELECT count(*) FROM events WHERE kind = 'transcript_summary'";
    assert_eq!(env.count(summaries), 1);
    let first_ts: i64 = env
        .conn()
        .query_row(
            "SELECT ts FROM events WHERE kind = 'transcript_summary'",
            [],
            |r| r.get(0),
        )
        .unwrap();

    set_metrics(
        &env,
        json!([{"name": "lint_warnings", "tool": "Bash", "pattern": "found (\\d+) warnings"}]),
    );
    let (code, _, err) = env.analyze(&["rebuild", "--metrics"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("re-read 1 run(s)' transcripts with 1 metric definition(s)")
            && err
                .contains("1 transcript(s) gone, 0 unreadable, 0 run(s) without a transcript path"),
        "{err}"
    );
    assert_eq!(env.count(summaries), 2);
    let (ts, agent, payload): (i64, String, String) = env
        .conn()
        .query_row(
            "SELECT ts, agent_id, payload FROM events WHERE kind = 'transcript_summary' ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((ts, agent.as_str()), (first_ts, AGENT));
    let p: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(p["metrics_defined"], json!(["lint_warnings"]));
    assert_eq!(p["transcript_path"], json!(transcript.to_string_lossy()));
    assert_eq!(p["meta"]["agentType"], "linter");
    // Every other figure is as before; the generic run's value is untouched.
    assert_eq!(json_at(&env, &["summary"]), before);
    close(
        &row(
            &json_at(&env, &["metrics", "--agent", "builder"]),
            "builder",
            "lint_warnings",
            false,
        )["sum"],
        5.0,
    );
    // --agent narrows what is re-read.
    let (code, _, err) = env.analyze(&["rebuild", "--metrics", "--agent", "builder"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("re-read 0 run(s)' transcripts") && err.contains("0 transcript(s) gone"),
        "{err}"
    );
}

/// Needs the transcript reader to fill `Summary.metrics` (the outcome work of issue 15): a
/// definition applies to the runs the hooks record from then on, with no rebuild.
#[test]
fn definitions_apply_to_runs_recorded_from_then_on() {
    let env = Env::new();
    set_metrics(
        &env,
        json!([{"name": "lint_total", "tool": "Bash", "pattern": "found (\\d+) warnings", "take": "sum"}]),
    );
    let transcript = write_transcript(&env.dir.path().join("projects"));
    record_linter_run(&env, &transcript);
    let r = json_at(&env, &["metrics", "lint_total"]);
    let m = row(&r, "linter", "lint_total", false);
    assert_eq!(m["runs"], 1);
    close(&m["sum"], 15.0);
}

/// A broken definition never costs a hook its run: the hook exits 0 with nothing on stdout,
/// records the run, and logs why it read without definitions; readers say what is wrong (exit 2).
#[test]
fn a_broken_definition_is_logged_by_hooks_and_refused_by_readers() {
    let env = Env::new();
    set_metrics(
        &env,
        json!([{"name": "lint", "tool": "Bash", "pattern": "found (\\d+ warnings"}]),
    );
    let transcript = write_transcript(&env.dir.path().join("projects"));
    record_linter_run(&env, &transcript);
    let log = std::fs::read_to_string(env.db().with_file_name("hook.log")).unwrap_or_default();
    assert!(log.contains("metric lint: pattern"), "{log}");
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE kind = 'transcript_summary'"),
        1
    );
    let (code, _, err) = env.analyze(&["rebuild", "--metrics"]);
    assert_eq!(code, 2);
    assert!(err.contains("metric lint: pattern"), "{err}");
}
