//! `analyze doctor --coverage`: the real recordings replayed through the hook binaries, compared
//! with the same sessions' transcripts — complete, with one agent's hooks lost (missing), with one
//! agent's end lost (status and tokens wrong) — and `--fix` importing what is missing.

use crate::common::*;
use crate::import::claude_dir;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The recordings are from 2026-11-21; the default window (7 days) up to here holds them.
const NOW: &str = "2026-11-22T00:00:00Z";

/// `analyze doctor --coverage --claude-dir DIR … --format json` at [`NOW`]: exit code and JSON.
fn coverage(env: &Env, dir: &Path, extra: &[&str]) -> (i32, Value) {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "doctor",
        "--coverage",
        "--claude-dir",
        d.as_str(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = env.analyze_at(NOW, &args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}\n{err}"));
    (code, v)
}

/// Replays a recording without the payloads `drop` selects.
fn replay_without(env: &Env, rec: &Path, drop: impl Fn(&Value) -> bool) {
    let mut r = load_recording(rec, env);
    r.hooks
        .retain(|(_, payload)| !drop(&serde_json::from_str(payload).unwrap()));
    replay(env, &r);
}

/// The turn's and session's ends (Stop, SessionEnd).
fn session_end(v: &Value) -> bool {
    v["hook_event_name"] == "Stop" || v["hook_event_name"] == "SessionEnd"
}

/// The agent's own payloads (start, its tool calls, stop) and the Agent tool's result for it.
fn about_agent(v: &Value, id: &str) -> bool {
    v["agent_id"] == id || v["tool_response"]["agentId"] == id
}

fn problems(v: &Value) -> Vec<(String, String)> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["agent_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn figures(v: &Value) -> [i64; 6] {
    [
        "transcript_runs",
        "covered",
        "missing",
        "wrong",
        "extra",
        "without_transcript",
    ]
    .map(|k| v[k].as_i64().unwrap_or_else(|| panic!("{k}: {v:#}")))
}

#[test]
fn every_run_the_hooks_saw_is_covered() {
    let env = Env::new();
    let recs = recordings();
    for r in &recs {
        replay(&env, &load_recording(r, &env));
    }
    let dir = claude_dir(&env, &recs);
    let runs: i64 = recs
        .iter()
        .map(|r| expected(r).by_type.values().sum::<i64>())
        .sum();

    let (code, v) = coverage(&env, &dir, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["command"], "coverage");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(figures(&v), [runs, runs, 0, 0, 0, 0], "{v:#}");
    assert_eq!(v["coverage"], 1.0);
    assert_eq!(v["recovered"], 0, "nothing was imported");
    assert_eq!(v["problems"], serde_json::json!([]));
    assert_eq!(v["days"], 7.0);
    assert_eq!(v["since"], "2026-11-15T00:00:00.000Z");
    assert_eq!(v["transcripts"]["sessions"], recs.len() as i64);
    assert!(v["fix"].is_null());
    // Only the check's own row was written: no event, no run.
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE source = 'import'"),
        0
    );
    assert_eq!(env.count("SELECT count(*) FROM coverage_checks"), 1);

    // The table: figures and a one-line verdict.
    let d = dir.to_string_lossy().into_owned();
    let (code, table, _) = env.analyze_at(NOW, &["doctor", "--coverage", "--claude-dir", &d]);
    assert_eq!(code, 0);
    assert!(
        table.contains(&format!(
            "coverage 100.0%: all {runs} run(s) in the transcripts of the last 7 days are recorded"
        )),
        "{table}"
    );

    // Plain doctor shows the last check.
    let (_, out, _) = env.analyze_at(NOW, &["doctor", "--format", "json"]);
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        d["coverage"]["summary"],
        format!("100.0% of {runs} run(s) over 7 days, checked 2026-11-22 00:00:00"),
        "{d:#}"
    );
    assert_eq!(d["coverage"]["missing"], 0);
    assert!(!d["warnings"].to_string().contains("coverage"), "{d:#}");
    let (_, table, _) = env.analyze_at(NOW, &["doctor"]);
    assert!(
        table.contains(&format!("100.0% of {runs} run(s) over 7 days")),
        "{table}"
    );

    // A window the transcripts do not reach: nothing to compare is not a problem.
    let (code, v) = coverage(
        &env,
        &dir,
        &[
            "--since",
            "2026-10-01T00:00:00Z",
            "--until",
            "2026-10-02T00:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["transcript_runs"], 0);
    assert!(v["coverage"].is_null());
    assert!(v["verdict"]
        .as_str()
        .unwrap()
        .starts_with("nothing to compare"));

    // --session narrows it to one session, and says so.
    let one = expected(&cc_fixtures().join("parallel-and-nested-agents"));
    let (code, v) = coverage(&env, &dir, &["--session", &one.session]);
    assert_eq!(code, 0);
    assert_eq!(v["transcript_runs"], 3, "{v:#}");
    assert_eq!(v["scope"], format!("--session {}", one.session));

    // Mistakes are errors; --fix belongs to --coverage.
    let (code, _, err) = env.analyze(&["doctor", "--coverage", "--claude-dir", "/nonexistent"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such directory"), "{err}");
    let (code, _, _) = env.analyze(&["doctor", "--fix"]);
    assert_eq!(code, 2);
}

#[test]
fn a_run_the_hooks_missed_is_reported_and_fix_imports_it() {
    let env = Env::new();
    let rec = repo_e2e("burst-ten");
    let lost = "a539fdffba455a805"; // general-purpose, one of ten
                                    // The end of the session too: at Stop and SessionEnd the hooks read every finished agent
                                    // transcript they have not read, which would record the run after all.
    replay_without(&env, &rec, |v| about_agent(v, lost) || session_end(v));
    let dir = claude_dir(&env, std::slice::from_ref(&rec));
    assert_eq!(
        env.count("SELECT count(*) FROM agent_runs WHERE internal = 0"),
        0,
        "not derived yet"
    );

    let (code, v) = coverage(&env, &dir, &[]);
    assert_eq!(code, 1, "needs attention: {v:#}");
    // 9 of the 10 runs recorded as they ran.
    assert_eq!(figures(&v), [10, 9, 1, 0, 0, 0], "{v:#}");
    assert_eq!(v["coverage"], 0.9);
    assert_eq!(problems(&v), [("missing".to_string(), lost.to_string())]);
    let p = &v["problems"][0];
    assert_eq!(p["agent_type"], "general-purpose");
    assert_eq!(p["transcript_status"], "success");
    assert!(p["recorded_status"].is_null());
    assert!(p["transcript_tokens"].as_i64().unwrap() > 0);
    let d = dir.to_string_lossy().into_owned();
    let (code, table, err) = env.analyze_at(NOW, &["doctor", "--coverage", "--claude-dir", &d]);
    assert_eq!(code, 1);
    assert!(table.contains(lost), "{table}");
    assert!(
        table.contains("coverage 90.0%: 9 of 10 run(s) in the transcripts of the last 7 days are recorded as they ran; 1 missing"),
        "{table}"
    );
    assert!(err.contains("1 of 10 run(s)"), "{err}");
    // Plain doctor: the last check needs attention.
    let (code, out, _) = env.analyze_at(NOW, &["doctor", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert!(
        doc["coverage"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("90.0% of 10 run(s) over 7 days"),
        "{doc:#}"
    );
    assert!(
        doc["warnings"]
            .to_string()
            .contains("found 1 run(s) in the transcripts missing"),
        "{doc:#}"
    );

    // --fix imports the session and checks again: complete, no duplicate.
    let (code, v) = coverage(&env, &dir, &["--fix"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(figures(&v), [10, 10, 0, 0, 0, 0], "{v:#}");
    assert_eq!(v["coverage"], 1.0);
    assert_eq!(v["recovered"], 1, "the hooks never saw it: an import did");
    let fix = &v["fix"];
    assert_eq!(
        (
            fix["sessions"].as_i64(),
            fix["runs_added"].as_i64(),
            fix["runs_updated"].as_i64(),
            fix["missing_before"].as_i64(),
            fix["coverage_before"].as_f64()
        ),
        (Some(1), Some(1), Some(9), Some(1), Some(0.9)),
        "{fix:#}"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM agent_runs WHERE internal = 0"),
        10
    );
    // Checking again finds nothing to do.
    let (code, v) = coverage(&env, &dir, &[]);
    assert_eq!(code, 0);
    assert_eq!(figures(&v), [10, 10, 0, 0, 0, 0]);
    let (_, out, _) = env.analyze_at(NOW, &["doctor", "--format", "json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["coverage"]["missing"], 0);
    assert!(!doc["warnings"].to_string().contains("coverage"), "{doc:#}");
}

#[test]
fn a_run_whose_end_the_hooks_missed_has_the_wrong_status_and_tokens() {
    let env = Env::new();
    let rec = repo_e2e("parallel-agents");
    let agent = "a64ec58144f1831b7"; // general-purpose
                                     // Its SubagentStop and the Agent tool's result are lost: the hooks saw it start only.
                                     // So are the turn's and session's ends (at those the hooks would read the finished
                                     // transcript and see it end).
    replay_without(&env, &rec, |v| {
        v["tool_response"]["agentId"] == agent
            || (v["hook_event_name"] == "SubagentStop" && v["agent_id"] == agent)
            || session_end(v)
    });
    let dir = claude_dir(&env, std::slice::from_ref(&rec));

    let (code, v) = coverage(&env, &dir, &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(figures(&v), [3, 2, 0, 1, 0, 0], "{v:#}");
    assert_eq!(
        (v["status_differs"].as_i64(), v["tokens_differ"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(problems(&v), [("wrong".to_string(), agent.to_string())]);
    let p = &v["problems"][0];
    assert_eq!(p["differs"], serde_json::json!(["status", "tokens"]));
    assert_eq!(p["transcript_status"], "success");
    // Started (by the hooks' clock, after NOW) and never ended: still running.
    assert_eq!(p["recorded_status"], "running");
    let tokens = p["transcript_tokens"].as_i64().unwrap();
    assert!(tokens > 0);
    assert_eq!(p["recorded_tokens"], 0, "its transcript was never read");
    assert_eq!(p["tokens_difference"], -tokens);
    let d = dir.to_string_lossy().into_owned();
    let (_, table, _) = env.analyze_at(NOW, &["doctor", "--coverage", "--claude-dir", &d]);
    assert!(table.contains("status+tokens"), "{table}");
    assert!(table.contains("success / running"), "{table}");

    // The import adds the stop and the transcript summary: the run ends as it did.
    let (code, v) = coverage(&env, &dir, &["--fix"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(figures(&v), [3, 3, 0, 0, 0, 0]);
    assert_eq!(v["fix"]["runs_added"], 0);
    assert_eq!(v["recovered"], 0, "the hooks saw it start");
    let (status, total): (String, i64) = env
        .conn()
        .query_row(
            "SELECT status, input_tokens + output_tokens + cache_read_tokens + cache_write_tokens FROM agent_runs WHERE agent_id = ?1",
            [agent],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), total), ("success", tokens));
}

#[test]
fn recorded_runs_the_transcripts_do_not_hold_are_extra() {
    let env = Env::new();
    let rec = cc_fixtures().join("foreground-agent");
    replay(&env, &load_recording(&rec, &env));
    let dir = claude_dir(&env, std::slice::from_ref(&rec));
    // A run in the same session with no transcript, and one in a session Claude Code deleted.
    let session = expected(&rec).session;
    let mut ghost = cc::Run::new(
        "aghost000000000001",
        "backend-architect",
        "Never ran",
        "2026-11-21T10:40:00Z",
        "2026-11-21T10:41:00Z",
    );
    ghost.session = session.clone();
    let mut old = ghost.clone();
    old.agent_id = "aold0000000000001".into();
    old.session = "deleted-session".into();
    env.record_runs(&[ghost, old]);

    let (code, v) = coverage(&env, &dir, &[]);
    // Extra runs are listed, but every run of the transcripts is covered.
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(figures(&v), [1, 1, 0, 0, 1, 1], "{v:#}");
    assert_eq!(
        problems(&v),
        [("extra".to_string(), "aghost000000000001".to_string())]
    );
    assert_eq!(v["problems"][0]["recorded_status"], "success");
}

fn repo_e2e(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/recordings")
        .join(name)
}
