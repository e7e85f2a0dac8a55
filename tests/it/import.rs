//! `analyze import`: the real recordings' transcript trees give Claude Code's own figures, alone
//! and together with the hooks' recording of the same sessions; re-importing changes nothing;
//! the 2.0.x, 1.x and 2.1.38–41 layouts (hand-written, shaped like the real lines); problems
//! are reported and skipped.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A Claude Code config dir inside `env` with the recordings' transcripts under
/// `projects/-home-dev-proj/`, as Claude Code lays them out.
pub(crate) fn claude_dir(env: &Env, recs: &[PathBuf]) -> PathBuf {
    let dir = env.dir.path().join("claude");
    let proj = dir.join("projects/-home-dev-proj");
    for r in recs {
        copy_dir(&r.join("transcripts"), &proj);
    }
    dir
}

/// `analyze import --claude-dir DIR … --format json`, parsed; panics unless it exits 0.
fn import(env: &Env, dir: &Path, extra: &[&str]) -> Value {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec!["import", "--claude-dir", d.as_str()];
    args.extend_from_slice(extra);
    env.analyze_json(&args)
}

fn sessions(env: &Env) -> BTreeMap<String, Value> {
    let v = env.analyze_json(&["sessions", "--limit", "1000"]);
    v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["session_id"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

/// Row counts and token sums that must not move when nothing new is imported.
fn fingerprint(env: &Env) -> Vec<i64> {
    [
        "SELECT count(*) FROM events",
        "SELECT count(*) FROM agent_runs",
        "SELECT count(*) FROM agent_runs WHERE internal = 0",
        "SELECT count(*) FROM usage",
        "SELECT coalesce(sum(input + output + cache_read + cache_5m + cache_1h), 0) FROM usage",
        "SELECT count(*) FROM workflows",
        "SELECT count(*) FROM delegations",
        "SELECT coalesce(sum(tool_calls * 1000 + tool_errors), 0) FROM agent_runs",
    ]
    .iter()
    .map(|q| env.count(q))
    .collect()
}

#[test]
fn imported_recordings_match_claude_codes_figures() {
    let env = Env::new();
    let recs = recordings();
    let dir = claude_dir(&env, &recs);
    let out = import(&env, &dir, &[]);
    let files = walk(&dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .count();
    assert_eq!(out["files_read"], files as i64, "{out}");
    assert_eq!(out["sessions_imported"], recs.len() as i64);
    assert_eq!(out["lines_skipped"], 0, "{out}");
    assert_eq!(out["unreadable_files"], 0);
    let all = sessions(&env);
    let mut agents = 0;
    for r in &recs {
        let want = expected(r);
        let name = r.file_name().unwrap().to_string_lossy();
        let s = all
            .get(&want.session)
            .unwrap_or_else(|| panic!("{name}: session {} not imported", want.session));
        check_session(&name, s, &want);
        agents += want.by_type.values().sum::<i64>();
    }
    assert_eq!(out["runs_added"], agents, "{out}");
    assert_eq!(out["runs_updated"], 0);
    assert!(
        out["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("{agents} runs added")),
        "{out}"
    );

    // Hierarchy, task descriptions and statuses, as the hooks record them.
    env.analyze_json(&["summary"]);
    let row = |id: &str| -> (String, String, Option<String>, i64, String) {
        env.conn()
            .query_row(
                "SELECT agent_type, coalesce(description, ''), parent_agent_id, depth, status FROM agent_runs WHERE agent_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap_or_else(|e| panic!("run {id}: {e}"))
    };
    assert_eq!(
        row("acef1f01eb91bc6db"),
        (
            "backend-architect".into(),
            "Build API endpoints".into(),
            None,
            1,
            "success".into()
        )
    );
    assert_eq!(
        row("a6cdec94c3c4730e8"),
        (
            "security-auditor".into(),
            "Audit auth module".into(),
            Some("acef1f01eb91bc6db".into()),
            2,
            "success".into()
        )
    );
    let (status, error): (String, String) = env
        .conn()
        .query_row(
            "SELECT status, error FROM agent_runs WHERE agent_id = 'aacf6099539b94449'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "failure");
    assert!(error.contains("API Error: 400"), "{error}");
    // A foreground run's duration is Claude Code's totalDurationMs; a background one ends at its
    // transcript's last line.
    let fg: i64 =
        env.count("SELECT duration_ms FROM agent_runs WHERE agent_id = 'acef1f01eb91bc6db'");
    assert_eq!(fg, 327);
    let bg: (i64, i64) = env
        .conn()
        .query_row(
            "SELECT background, duration_ms FROM agent_runs WHERE agent_id = 'af067504250155910'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        bg,
        (1, 1419),
        "background run (start 11:30:16.193, last line 11:30:17.612)"
    );
    // Prompt turns: the multi-turn session had three; a task notification is not a turn.
    assert_eq!(all["46d7b16a-ce04-4d78-b215-8c89a120c667"]["turns"], 3);
    assert_eq!(all["a6f2c767-22d1-43c4-8c8b-7bac3d051f5a"]["turns"], 1);
    // Every imported event is marked as such.
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE source <> 'import'"),
        0
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn hooks_and_import_together_give_the_same_figures_as_either_alone() {
    for rec in recordings() {
        let name = rec.file_name().unwrap().to_string_lossy().into_owned();
        let want = expected(&rec);
        let agents: i64 = want.by_type.values().sum();

        // Hooks alone.
        let hooks = Env::new();
        replay(&hooks, &load_recording(&rec, &hooks));
        let hooks_sessions = sessions(&hooks);
        let usage_rows = hooks.count("SELECT count(*) FROM usage");

        // Hooks first, then import: every run is enriched, none added.
        let both = Env::new();
        replay(&both, &load_recording(&rec, &both));
        let dir = claude_dir(&both, std::slice::from_ref(&rec));
        let out = import(&both, &dir, &[]);
        assert_eq!(out["runs_added"], 0, "{name}: {out}");
        assert_eq!(out["runs_updated"], agents, "{name}: {out}");
        let s = sessions(&both);
        check_session(&name, &s[&want.session], &want);
        assert_eq!(
            s[&want.session]["agents"], hooks_sessions[&want.session]["agents"],
            "{name}"
        );
        assert_eq!(
            s[&want.session]["total_tokens"], hooks_sessions[&want.session]["total_tokens"],
            "{name}"
        );
        assert_eq!(
            both.count("SELECT count(*) FROM agent_runs WHERE internal = 0"),
            agents,
            "{name}: duplicate runs"
        );
        assert_eq!(
            both.count("SELECT count(*) FROM usage"),
            usage_rows,
            "{name}: duplicate usage rows"
        );

        // Import first, then the hooks (a session imported while still running).
        let first = Env::new();
        let dir = claude_dir(&first, std::slice::from_ref(&rec));
        import(&first, &dir, &[]);
        assert_eq!(
            first.count("SELECT count(*) FROM usage"),
            usage_rows,
            "{name}: import alone, usage rows"
        );
        replay(&first, &load_recording(&rec, &first));
        let s = sessions(&first);
        check_session(&name, &s[&want.session], &want);
        assert_eq!(
            first.count("SELECT count(*) FROM agent_runs WHERE internal = 0"),
            agents,
            "{name}: duplicate runs"
        );
        assert_eq!(
            first.count("SELECT count(*) FROM usage"),
            usage_rows,
            "{name}: duplicate usage rows"
        );
    }
}

#[test]
fn reimporting_changes_nothing_and_a_grown_session_adds_only_what_is_new() {
    let env = Env::new();
    let recs = recordings();
    let dir = claude_dir(&env, &recs);
    import(&env, &dir, &[]);
    let before = (fingerprint(&env), sessions(&env));

    // Unchanged files are not even read.
    let again = import(&env, &dir, &[]);
    assert_eq!(again["files_read"], 0, "{again}");
    assert_eq!(again["sessions_unchanged"], recs.len() as i64);
    assert_eq!(
        (
            again["events_added"].as_i64(),
            again["runs_added"].as_i64(),
            again["runs_updated"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!((fingerprint(&env), sessions(&env)), before);

    // Touched files are read again, but every event they give was emitted before.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    for f in walk(&dir) {
        std::fs::File::options()
            .append(true)
            .open(&f)
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
    let touched = import(&env, &dir, &[]);
    assert!(touched["files_read"].as_i64().unwrap() > 0, "{touched}");
    assert_eq!(touched["events_added"], 0, "{touched}");
    assert!(touched["events_already_imported"].as_i64().unwrap() > 0);
    assert_eq!(
        (
            touched["runs_added"].as_i64(),
            touched["runs_updated"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!((fingerprint(&env), sessions(&env)), before);

    // A session that went on: one more prompt turn and answer.
    let sid = "4dad6639-af14-4a06-b2b3-e09933e5a418";
    let main = dir.join(format!("projects/-home-dev-proj/{sid}.jsonl"));
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str(&format!(
        "{}\n{}\n",
        r#"{"parentUuid":null,"isSidechain":false,"promptId":"9f00aa00-0000-4000-8000-000000000001","type":"user","message":{"role":"user","content":"One more thing"},"uuid":"0f00aa00-0000-4000-8000-000000000001","timestamp":"2026-11-21T12:00:00.000Z","userType":"external","cwd":"/home/dev/proj","sessionId":"SID","version":"2.1.330"}"#.replace("SID", sid),
        r#"{"parentUuid":"0f00aa00-0000-4000-8000-000000000001","isSidechain":false,"message":{"id":"msg_grown","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"text","text":"Done"}],"stop_reason":"end_turn","usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":20}},"requestId":"req_grown","type":"assistant","uuid":"0f00aa00-0000-4000-8000-000000000002","timestamp":"2026-11-21T12:00:02.000Z","cwd":"/home/dev/proj","sessionId":"SID","version":"2.1.330"}"#.replace("SID", sid),
    ));
    std::fs::write(&main, text).unwrap();
    let grown = import(&env, &dir, &[]);
    assert_eq!(grown["sessions_imported"], 1, "{grown}");
    assert_eq!(
        grown["events_added"], 2,
        "UserPromptSubmit and Stop of the new turn: {grown}"
    );
    let after = sessions(&env);
    assert_eq!(
        after[sid]["turns"],
        before.1[sid]["turns"].as_i64().unwrap() + 1
    );
    assert_eq!(
        after[sid]["main_tokens"],
        before.1[sid]["main_tokens"].as_i64().unwrap() + 120
    );
    assert_eq!(after[sid]["agents"], before.1[sid]["agents"]);
    assert_eq!(env.count("SELECT count(*) FROM agent_runs"), before.0[1]);
}

/// Runs as `SELECT agent_type, status, internal, parent, depth, duration, tokens by kind, cost,
/// tool calls, tool errors, lines added, lines removed` keyed by agent id.
type RunRow = (
    String,
    String,
    i64,
    Option<String>,
    i64,
    Option<i64>,
    [i64; 4],
    f64,
    i64,
    i64,
    i64,
    i64,
);

fn runs(env: &Env) -> BTreeMap<String, RunRow> {
    env.analyze_json(&["summary"]);
    let conn = env.conn();
    let mut stmt = conn
        .prepare(
            "SELECT agent_id, agent_type, status, internal, parent_agent_id, depth, duration_ms, input_tokens, output_tokens,
                    cache_read_tokens, cache_write_tokens, coalesce(cost_usd, -1), tool_calls, tool_errors, lines_added, lines_removed
             FROM agent_runs",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    [r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?],
                    (r.get::<_, f64>(11)? * 1e7).round() / 1e7,
                    r.get(12)?,
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                ),
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn layout_dir(name: &str) -> PathBuf {
    repo_fixtures().join("transcripts").join(name)
}

#[test]
fn layout_2_0_agent_files_beside_the_session() {
    // Hand-computed from tests/fixtures/transcripts/v2.0 (prices per MTok: sonnet-4-5 3/15,
    // cache write 3.75, cache read 0.3; haiku-4-5 1/5).
    let env = Env::new();
    let out = import(&env, &layout_dir("v2.0"), &[]);
    assert_eq!(
        (
            out["files_read"].as_i64(),
            out["runs_added"].as_i64(),
            out["lines_skipped"].as_i64()
        ),
        (Some(4), Some(2), Some(0)),
        "{out}"
    );
    let r = runs(&env);
    // Linked by toolUseResult.agentId; duration from totalDurationMs; Edit's patch +3 −1; the
    // failed Bash call is a tool error.
    assert_eq!(
        r["3f2a9c1b"],
        (
            "frontend-developer".into(),
            "success".into(),
            0,
            None,
            1,
            Some(41_250),
            [11, 810, 11_429, 4_000],
            0.0306117,
            2,
            1,
            3,
            1
        )
    );
    // No agent id in an interrupted result: linked by its prompt; interrupted = cancelled.
    assert_eq!(
        r["9d0e4b7a"],
        (
            "code-reviewer".into(),
            "cancelled".into(),
            0,
            None,
            1,
            Some(13_400),
            [5, 60, 0, 2_900],
            0.01179,
            1,
            0,
            0,
            0
        )
    );
    // The warm-up agent answers no Task call: internal, but its tokens are the session's.
    assert_eq!(r["1c2d3e4f"].2, 1);
    let s = &sessions(&env)["5b1f0c2e-8a47-4d3b-9c61-2f7e1a9d0b34"];
    assert_eq!(s["turns"], 2, "the interruption notice is not a prompt");
    // Main agent: the largest copy of msg_01Old1 (output 187, not the placeholder 2) + two more.
    assert_eq!(s["main_tokens"], 16_310 + 16_821 + 16_742);
    assert!(
        (s["total_cost_usd"].as_f64().unwrap() - 0.0827157).abs() < 1e-9,
        "{s}"
    );
    assert_eq!(s["agents_cancelled"], 1);
}

#[test]
fn layout_1_x_inline_sidechains() {
    let env = Env::new();
    let out = import(&env, &layout_dir("v1.x"), &[]);
    assert_eq!(
        (out["files_read"].as_i64(), out["runs_added"].as_i64()),
        (Some(1), Some(1)),
        "{out}"
    );
    let r = runs(&env);
    // No agent id anywhere in the Task result: linked by the sidechain's first prompt. Task had
    // no subagent_type then: general-purpose. Tokens are the sidechain lines' (sonnet-4 prices).
    assert_eq!(
        r["b7e1d2c4"],
        (
            "general-purpose".into(),
            "success".into(),
            0,
            None,
            1,
            Some(18_230),
            [14, 104, 1_500, 1_500],
            0.007677,
            1,
            0,
            0,
            0
        )
    );
    let s = &sessions(&env)["0e9c3a71-5d2b-4f68-a1c4-7b8e9f0a1d23"];
    assert_eq!(
        s["turns"], 2,
        "turns without promptId are named by their line's uuid"
    );
    assert_eq!(s["main_tokens"], 11_124 + 11_040 + 11_113);
    assert_eq!(s["subagent_tokens"], 3_118);
    let desc: String = env
        .conn()
        .query_row(
            "SELECT description FROM agent_runs WHERE agent_id = 'b7e1d2c4'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(desc, "Find legacy auth uses");
}

#[test]
fn layout_2_1_39_progress_copies_are_not_counted_twice() {
    let env = Env::new();
    let out = import(&env, &layout_dir("v2.1.39-progress"), &[]);
    assert_eq!(out["ignored"]["progress"], 3, "{out}");
    assert_eq!(out["lines_skipped"], 0);
    let r = runs(&env);
    // Opus 4.6: 5/25, cache write 6.25, cache read 0.5 per MTok.
    assert_eq!(
        r["a1b2c3d"],
        (
            "Explore".into(),
            "success".into(),
            0,
            None,
            1,
            Some(6_300),
            [10, 80, 4_000, 4_100],
            0.029675,
            1,
            0,
            0,
            0
        )
    );
    assert_eq!(r["acompact-5e6f7a"].2, 1, "compaction agents are internal");
    let s = &sessions(&env)["7c4d2e19-6b3a-4f05-8e21-9a0b1c2d3e4f"];
    assert_eq!(
        (s["agents"].as_i64(), s["main_tokens"].as_i64()),
        (Some(1), Some(21_593 + 21_717))
    );
    // Agent 8 190 + compaction 2 150: the progress copies add nothing.
    assert_eq!(s["subagent_tokens"], 8_190 + 2_150);
}

#[test]
fn malformed_lines_and_unreadable_files_are_reported_and_skipped() {
    let env = Env::new();
    let rec = cc_fixtures().join("foreground-agent");
    let dir = claude_dir(&env, std::slice::from_ref(&rec));
    let proj = dir.join("projects/-home-dev-proj");
    let sub = proj.join("8af4ae43-26fb-42c3-aac0-62e6a2d826c7/subagents");
    let agent = sub.join("agent-a93ce9d1826a46df8.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&agent)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.insert(
        2,
        r#"{"type":"assistant","message":{"id":"msg_x","usage":{"input_tokens":5"#.to_string(),
    );
    lines.insert(3, "[1, 2, 3]".to_string());
    std::fs::write(&agent, lines.join("\n") + "\n").unwrap();
    // A file still being written ends without a newline.
    let main = proj.join("8af4ae43-26fb-42c3-aac0-62e6a2d826c7.jsonl");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str(r#"{"type":"user","message":{"role":"us"#);
    std::fs::write(&main, text).unwrap();
    // An agent file that cannot be read.
    std::os::unix::fs::symlink(
        env.dir.path().join("gone.jsonl"),
        sub.join("agent-a000000000000dead.jsonl"),
    )
    .unwrap();

    let d = dir.to_string_lossy().into_owned();
    let (code, stdout, stderr) = env.analyze(&["import", "--claude-dir", &d]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3: malformed JSON", agent.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}:4: unexpected shape", agent.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("agent-a000000000000dead.jsonl: unreadable"),
        "{stderr}"
    );
    assert!(
        stdout.contains("3 lines skipped (1 incomplete last line (still being written), 1 malformed JSON, 1 unexpected shape), 1 file unreadable"),
        "{stdout}"
    );
    // The rest of the session is intact.
    check_session(
        "foreground-agent",
        &sessions(&env)["8af4ae43-26fb-42c3-aac0-62e6a2d826c7"],
        &expected(&rec),
    );

    // JSON lists the problems with file and line.
    let env2 = Env::new();
    let out = import(&env2, &dir, &[]);
    assert_eq!(out["lines_skipped"], 3);
    assert_eq!(out["skipped"]["malformed JSON"], 1);
    assert_eq!(out["unreadable_files"], 1);
    let problems = out["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["line"] == 3 && p["path"] == agent.to_string_lossy().as_ref()),
        "{problems:?}"
    );
}

#[test]
fn nothing_to_import_without_a_claude_directory() {
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let out = env.run_env(
        "analyze",
        &["import"],
        b"",
        &[("CLAUDE_CONFIG_DIR", ""), ("XDG_CONFIG_HOME", "")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("nothing to import"), "{stdout}");
    assert!(!env.db().exists(), "no database is created for nothing");
    // An explicit directory that does not exist is a mistake.
    let (code, _, err) = env.analyze(&["import", "--claude-dir", "/nonexistent/claude"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such directory"), "{err}");
    // CLAUDE_CONFIG_DIR is where Claude Code keeps its projects when set.
    let recs = [cc_fixtures().join("background-agent")];
    let dir = claude_dir(&env, &recs);
    let out = env.run_env(
        "analyze",
        &["import", "--format", "json"],
        b"",
        &[("CLAUDE_CONFIG_DIR", &dir.to_string_lossy())],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["runs_added"].as_i64(), v["nothing_to_import"].as_bool()),
        (Some(1), Some(false)),
        "{v}"
    );
}

#[test]
fn since_until_project_and_session_filters() {
    let env = Env::new();
    let recs = recordings();
    let dir = claude_dir(&env, &recs);
    let n = recs.len() as i64;
    let out = import(&env, &dir, &["--since", "2099-01-01"]);
    assert_eq!(
        (
            out["sessions_filtered"].as_i64(),
            out["sessions_imported"].as_i64()
        ),
        (Some(n), Some(0)),
        "{out}"
    );
    let out = import(&env, &dir, &["--until", "2026-01-01"]);
    assert_eq!(
        (
            out["sessions_filtered"].as_i64(),
            out["runs_added"].as_i64()
        ),
        (Some(n), Some(0)),
        "{out}"
    );
    let out = import(&env, &dir, &["--project", "/home/dev/other"]);
    assert_eq!(out["sessions_found"], 0, "{out}");
    let out = import(
        &env,
        &dir,
        &["--session", "9e8c725d-54d9-4766-8c4d-60ccbee5ab97"],
    );
    assert_eq!(
        (
            out["sessions_imported"].as_i64(),
            out["runs_added"].as_i64()
        ),
        (Some(1), Some(1)),
        "{out}"
    );
    let out = import(&env, &dir, &["--project", "/home/dev/proj"]);
    assert_eq!(out["sessions_imported"], n - 1, "{out}");
}

/// 2.1.332 stamps each assistant line with `attributionAgent` (the agent's type): an agent whose
/// sidecar is gone and whose delegating call is not in what was read keeps its real type.
#[test]
fn attribution_agent_types_agents_without_sidecar_or_call() {
    let env = Env::new();
    let rec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/recordings/custom-agent-types");
    let dir = claude_dir(&env, std::slice::from_ref(&rec));
    let mut main = None;
    for f in walk(&dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".meta.json") {
            std::fs::remove_file(&f).unwrap();
        } else if !name.starts_with("agent-") && name.ends_with(".jsonl") {
            main = Some(f);
        }
    }
    // Keep the session file, without the lines that hold the Agent calls and their results.
    let main = main.expect("a session file");
    let kept: String = std::fs::read_to_string(&main)
        .unwrap()
        .lines()
        .filter(|l| !l.contains(r#""name":"Agent""#) && !l.contains("toolUseResult"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&main, kept).unwrap();
    import(&env, &dir, &[]);
    let want = expected(&rec);
    let s = sessions(&env);
    let got: BTreeMap<String, i64> =
        serde_json::from_value(s[&want.session]["agents_by_type"].clone()).unwrap();
    assert_eq!(got, want.by_type);
}

/// A turn whose last model call failed (real recording, 2.1.332: the main transcript ends in
/// Claude Code's `API Error: 400 …` notice): imported, it is a failure with that error, as the
/// hooks' StopFailure makes it.
#[test]
fn an_imported_turn_that_ended_on_an_api_error_is_a_failure() {
    let rec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/recordings/turn-api-error");
    let via_import = Env::new();
    let dir = claude_dir(&via_import, std::slice::from_ref(&rec));
    import(&via_import, &dir, &[]);
    let via_hooks = Env::new();
    replay(&via_hooks, &load_recording(&rec, &via_hooks));
    for env in [&via_import, &via_hooks] {
        let tree = env.analyze_json(&["tree"]);
        let turn = &tree["turns"][0];
        assert_eq!(turn["status"], "failure", "{tree:#}");
        assert_eq!(turn["error"], "API Error: 400 scripted failure");
        assert_eq!(turn["agents"][0]["status"], "success");
    }
}
