//! Retention (docs/retention.md): `analyze prune` deletes old sessions' raw events and keeps
//! every figure, through prune, rebuild, a rules change and `doctor --recover`; `retention_days`
//! applies it from readers at most once a day and never from hooks.

use crate::common::{cc, Env};

pub(crate) const NOW: &str = "2026-11-30T12:00:00Z";

/// Every report's JSON (the same commands the snapshot tests compare, with the clock pinned).
pub(crate) fn all_reports(env: &Env) -> Vec<(String, String)> {
    let mut cmds: Vec<Vec<&str>> = [
        "summary",
        "sessions",
        "top",
        "workflows",
        "overhead",
        "trends",
        "tools",
        "types",
        "timeline",
        "errors",
        "active",
        "tree",
        "alerts",
    ]
    .iter()
    .map(|c| vec![*c])
    .collect();
    cmds.push(vec!["agent", "code-reviewer"]);
    cmds.push(vec!["summary", "--days", "120"]);
    cmds.push(vec!["sessions", "--limit", "1000"]);
    let mut out = Vec::new();
    for c in cmds {
        let mut args = c.clone();
        args.extend(["--format", "json"]);
        let (code, stdout, stderr) = env.analyze_at(NOW, &args);
        assert!(code == 0 || code == 1, "analyze {c:?}: {stderr}");
        out.push((c.join(" "), format!("{code}\n{stdout}")));
    }
    let q = env.run_env(
        "query-best-agent",
        &[
            "--task",
            "review the checkout pull request",
            "--all",
            "--format",
            "json",
        ],
        b"",
        &[("AGENT_TELEMETRY_NOW", NOW)],
    );
    out.push((
        "query-best-agent".into(),
        String::from_utf8_lossy(&q.stdout).into_owned(),
    ));
    out
}

fn assert_same(what: &str, before: &[(String, String)], after: &[(String, String)]) {
    for ((name, a), (_, b)) in before.iter().zip(after) {
        assert!(
            a == b,
            "{what}: `{name}` changed\n--- before\n{a}\n--- after\n{b}"
        );
    }
}

fn db_size(env: &Env) -> i64 {
    env.count("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
}

/// A realistic history over 200 days ending at NOW, derived.
fn history(env: &Env, runs: &str) {
    crate::gen_history::generate(
        &env.db(),
        &["--runs", runs, "--days", "200", "--seed", "7", "--now", NOW],
    );
}

#[test]
fn prune_keeps_every_report_through_rebuild_rules_change_and_recover() {
    let env = Env::new();
    history(&env, "1500");
    let before = all_reports(&env);
    let events = env.count("SELECT count(*) FROM events");
    let cutoff = env.count(&format!(
        "SELECT {} - 90 * 86400000",
        chrono::DateTime::parse_from_rfc3339(NOW)
            .unwrap()
            .timestamp_millis()
    ));
    let old = env.count(&format!("SELECT count(*) FROM events WHERE ts < {cutoff}"));
    assert!(old > 1000, "the history reaches past the window: {old}");

    // A dry run changes nothing.
    let (code, dry, err) = env.analyze_at(
        NOW,
        &[
            "prune",
            "--older-than",
            "90d",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let dry: serde_json::Value = serde_json::from_str(&dry).unwrap();
    assert_eq!(env.count("SELECT count(*) FROM events"), events);
    assert_eq!(env.count("SELECT count(*) FROM pruned_sessions"), 0);
    assert_eq!(env.count("SELECT count(*) FROM prunes"), 0);

    let size = db_size(&env);
    let (code, out, err) =
        env.analyze_at(NOW, &["prune", "--older-than", "90d", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let done: serde_json::Value = serde_json::from_str(&out).unwrap();
    let left = env.count("SELECT count(*) FROM events");
    assert_eq!(done["events"].as_i64().unwrap(), events - left);
    assert_eq!(done["events"], dry["events"], "the dry run said what went");
    assert_eq!(done["sessions"], dry["sessions"]);
    assert_eq!(done["bytes"], dry["bytes"]);
    // Nearly everything older than the window went (sessions straddling it stay whole).
    let old_left = env.count(&format!("SELECT count(*) FROM events WHERE ts < {cutoff}"));
    assert!(old_left * 10 < old, "{old_left} of {old} old events left");
    assert_eq!(
        env.count(&format!("SELECT count(*) FROM events WHERE ts >= {cutoff}")),
        events - old,
        "nothing in the window is touched"
    );
    assert_eq!(
        env.count("SELECT sum(events) FROM pruned_sessions"),
        events - left
    );
    assert!(
        db_size(&env) < size,
        "the file shrank: {} -> {size}",
        db_size(&env)
    );
    assert_eq!(
        done["vacuum"], "incremental",
        "a new database vacuums incrementally"
    );
    assert_same("after prune", &before, &all_reports(&env));

    // A second prune finds nothing (exit 1) and changes nothing.
    let (code, _, _) = env.analyze_at(NOW, &["prune", "--older-than", "90d"]);
    assert_eq!(code, 1);

    let (code, _, err) = env.analyze_at(NOW, &["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_same("after prune + rebuild", &before, &all_reports(&env));

    // What the next reader does when derive::RULES changes: re-derive from the log.
    env.conn()
        .execute("UPDATE derive_state SET value = 1 WHERE key = 'rules'", [])
        .unwrap();
    assert_same("after a rules change", &before, &all_reports(&env));

    let (code, _, err) = env.analyze_at(NOW, &["doctor", "--recover"]);
    assert_eq!(code, 0, "{err}");
    assert_same("after doctor --recover", &before, &all_reports(&env));
}

#[test]
fn prune_of_an_old_database_runs_one_full_vacuum_then_incremental() {
    let env = Env::new();
    history(&env, "300");
    // A database created before incremental vacuum existed here.
    env.conn()
        .execute_batch("PRAGMA auto_vacuum = NONE; VACUUM;")
        .unwrap();
    assert_eq!(env.count("PRAGMA auto_vacuum"), 0);
    let (code, out, err) =
        env.analyze_at(NOW, &["prune", "--older-than", "150d", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["vacuum"], "full");
    assert_eq!(env.count("PRAGMA auto_vacuum"), 2);
    assert_eq!(env.count("PRAGMA freelist_count"), 0);
    let (code, out, err) =
        env.analyze_at(NOW, &["prune", "--older-than", "90d", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["vacuum"], "incremental");
    assert_eq!(env.count("PRAGMA freelist_count"), 0);
}

#[test]
fn bad_spans_are_refused() {
    let env = Env::new();
    history(&env, "20");
    for bad in ["90", "-5d", "0d", "soon"] {
        let (code, _, err) = env.analyze_at(NOW, &["prune", "--older-than", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("--older-than"), "{err}");
    }
}

/// One old session (120 days ago) and one recent, as the hooks record them.
fn two_sessions(env: &Env) {
    let mut old = cc::Run::new(
        "a-old",
        "code-reviewer",
        "review the old change",
        "2026-08-01T10:00:00Z",
        "2026-08-01T10:05:00Z",
    );
    old.session = "sess-old".into();
    let mut new = cc::Run::new(
        "a-new",
        "code-reviewer",
        "review the new change",
        "2026-11-29T10:00:00Z",
        "2026-11-29T10:03:00Z",
    );
    new.session = "sess-new".into();
    env.record_runs(&[old, new]);
}

#[test]
fn retention_days_prunes_from_readers_once_a_day_never_from_hooks() {
    let env = Env::new();
    two_sessions(&env);
    std::fs::write(
        env.db().with_file_name("config.json"),
        r#"{"retention_days": 90}"#,
    )
    .unwrap();
    let events = env.count("SELECT count(*) FROM events");
    // A hook: stores its payload, prunes nothing.
    let mut late = cc::turn(
        "sess-new",
        "p-2",
        "another prompt",
        "2026-11-29T11:00:00Z",
        "2026-11-29T11:01:00Z",
    );
    let (bin, payload) = late.remove(0);
    env.hook(bin, payload.as_bytes());
    assert_eq!(env.count("SELECT count(*) FROM events"), events + 1);
    assert_eq!(env.count("SELECT count(*) FROM prunes"), 0);
    // The status line is a reader too, but must answer in milliseconds: it never prunes itself
    // (the `analyze alerts` it may start in the background is an ordinary reader: not here).
    let _ = env.run_env(
        "analyze",
        &["statusline", "--alerts-every", "0"],
        b"{}",
        &[("AGENT_TELEMETRY_NOW", NOW)],
    );
    assert_eq!(env.count("SELECT count(*) FROM prunes"), 0);

    let summary = env.analyze_at(NOW, &["summary", "--format", "json"]);
    assert_eq!(summary.0, 0, "{}", summary.2);
    assert_eq!(
        env.count("SELECT count(*) FROM prunes WHERE automatic = 1"),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE session_id = 'sess-old'"),
        0
    );
    assert!(env.count("SELECT count(*) FROM events WHERE session_id = 'sess-new'") > 0);
    // The old run still counts.
    let v: serde_json::Value = serde_json::from_str(&summary.1).unwrap();
    assert_eq!(v["totals"]["runs"], 2, "{v}");

    // The same day: not again. A day later: again.
    env.analyze_at("2026-11-30T23:00:00Z", &["summary"]);
    assert_eq!(env.count("SELECT count(*) FROM prunes"), 1);
    env.analyze_at("2026-12-01T12:30:00Z", &["summary"]);
    assert_eq!(env.count("SELECT count(*) FROM prunes"), 2);
}

#[test]
fn a_late_payload_for_a_pruned_session_lands_and_is_derived_onto_the_kept_run() {
    let env = Env::new();
    two_sessions(&env);
    let (code, _, err) = env.analyze_at(NOW, &["prune", "--older-than", "90d"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.count("SELECT count(*) FROM pruned_sessions"), 1);
    // A hook that fires late for the pruned session: a failed tool call of its agent.
    let late = serde_json::json!({
        "session_id": "sess-old", "transcript_path": "/nonexistent/sess-old.jsonl",
        "cwd": "/home/dev/proj", "hook_event_name": "PostToolUseFailure", "agent_id": "a-old",
        "agent_type": "code-reviewer", "tool_name": "Bash", "tool_use_id": "toolu_late",
        "tool_input": {"command": "false"}, "error": "exit 1", "timestamp": "2026-08-01T10:04:00Z"
    });
    env.hook("subagent-stop", late.to_string().as_bytes());
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE session_id = 'sess-old'"),
        1,
        "the payload is stored"
    );
    let summary = env.analyze_at(NOW, &["summary", "--format", "json"]);
    assert_eq!(summary.0, 0, "{}", summary.2);
    let errs = || env.count("SELECT hook_tool_errors FROM agent_runs WHERE agent_id = 'a-old'");
    assert_eq!(errs(), 1, "derived onto the kept run");
    let before = all_reports(&env);
    // A rebuild keeps the run as it stands (the late event is not applied twice).
    let (code, _, err) = env.analyze_at(NOW, &["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(errs(), 1);
    assert_same("rebuild after a late payload", &before, &all_reports(&env));
    // The late event is old too: the next prune takes it, adding to the session's count (its
    // four hook events — Agent call, start, stop, Agent result — then this one).
    let (code, _, _) = env.analyze_at(NOW, &["prune", "--older-than", "90d"]);
    assert_eq!(code, 0);
    assert_eq!(env.count("SELECT events FROM pruned_sessions"), 4 + 1);
    assert_eq!(errs(), 1);
}
