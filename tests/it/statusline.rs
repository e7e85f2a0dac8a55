//! `analyze statusline`: every figure on a hand-made history (arithmetic in the comments), the
//! line pinned as a snapshot, every failure still a line and exit 0, the bounded derivation and
//! the once-per-interval claim of an alerts evaluation.

use crate::common::cc::{End, Run};
use crate::common::*;
use std::process::Output;

const NOW: &str = "2026-11-20T12:00:00Z";
/// What Claude Code 2.1.332 sends (trimmed), for session `sess-1`.
const INPUT: &str = r#"{"session_id":"sess-1","transcript_path":"/nonexistent/sess-1.jsonl","cwd":"/home/dev/proj",
  "model":{"id":"claude-sonnet-4-5","display_name":"Sonnet 4.5"},"workspace":{"current_dir":"/home/dev/proj","project_dir":"/home/dev/proj"},
  "version":"2.1.332","output_style":{"name":"default"},"cost":{"total_cost_usd":7.5,"total_duration_ms":60000,"total_api_duration_ms":1,
  "total_lines_added":0,"total_lines_removed":0}}"#;

fn running(id: &str, ty: &str, start: &str) -> Run {
    Run {
        end_kind: End::Running,
        ..Run::new(id, ty, "work", start, start)
    }
}

/// At NOW (12:00 UTC): ex-1 running since 11:00 (60 min, the longest), bu-1 since 11:50; ex-0
/// started 09:00 (180 min > lost_after_minutes 120: lost, not running); bu-0 finished.
/// Spend (TZ=UTC, so today starts at 00:00): sess-1 has 1M sonnet input at 11:30 ($3) and 1M haiku
/// output yesterday ($5): session $8.00; sess-2 has 1M sonnet output at 10:00 ($15) and a
/// response of an unknown model: today = $3 + $15 = $18.00, with an unpriced response ("+").
/// Alerts: two firing, one resolved.
fn history() -> Env {
    let env = Env::new();
    env.record_runs(&[
        running("ex-1", "explorer", "2026-11-20T11:00:00Z"),
        running("bu-1", "builder", "2026-11-20T11:50:00Z"),
        running("ex-0", "explorer", "2026-11-20T09:00:00Z"),
        Run::new(
            "bu-0",
            "builder",
            "done",
            "2026-11-20T11:40:00Z",
            "2026-11-20T11:45:00Z",
        ),
    ]);
    let c = env.conn();
    let ms = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_millis()
    };
    for (sid, key, model, ts, input, output) in [
        (
            "sess-1",
            "m1",
            "claude-sonnet-4-5",
            "2026-11-20T11:30:00Z",
            1_000_000,
            0,
        ),
        (
            "sess-1",
            "m2",
            "claude-haiku-4-5",
            "2026-11-19T23:00:00Z",
            0,
            1_000_000,
        ),
        (
            "sess-2",
            "m3",
            "claude-sonnet-4-5",
            "2026-11-20T10:00:00Z",
            0,
            1_000_000,
        ),
        (
            "sess-2",
            "m4",
            "mystery-model",
            "2026-11-20T10:05:00Z",
            10,
            0,
        ),
    ] {
        c.execute(
            "INSERT INTO usage (session_id, agent_id, message_key, model, ts, input, output) VALUES (?1, '', ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![sid, key, model, ms(ts), input, output],
        )
        .unwrap();
    }
    for (rule, subject, state) in [
        ("hung", "ex-1", "firing"),
        ("budget", "", "firing"),
        ("success_rate", "builder", "resolved"),
    ] {
        c.execute(
            "INSERT INTO alert_state (rule, subject, state, severity, message, since_ms, last_seen_ms) VALUES (?1, ?2, ?3, 'warning', 'm', 0, 0)",
            [rule, subject, state],
        )
        .unwrap();
    }
    env
}

fn statusline(env: &Env, args: &[&str], stdin: &str) -> Output {
    let mut a = vec!["statusline"];
    a.extend_from_slice(args);
    env.run_env(
        "analyze",
        &a,
        stdin.as_bytes(),
        &[("AGENT_TELEMETRY_NOW", NOW), ("TZ", "UTC")],
    )
}

/// The line printed (exit 0, nothing on stderr, exactly one line).
fn line(env: &Env, args: &[&str], stdin: &str) -> String {
    let out = statusline(env, args, stdin);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches('\n').count(), 1, "one line: {text:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.trim_end_matches('\n').to_string()
}

#[test]
fn statusline_figures_are_hand_computed() {
    let env = history();
    let quiet = ["--alerts-every", "0"];
    assert_eq!(
        line(&env, &quiet, INPUT),
        "⚙ 2 agents · longest 1h 00m · session $8.00 · today $18.00+ · ⚠ 2 alerts"
    );
    // Another session; no session at all (bad or empty stdin): no session part.
    let s2 = INPUT.replace("sess-1", "sess-2");
    let cases = [
        ("session sess-1", INPUT.to_string()),
        ("session sess-2 (with an unpriced response)", s2),
        ("empty stdin", String::new()),
        ("not JSON", "}{".to_string()),
        (
            "a session never seen",
            r#"{"session_id":"other"}"#.to_string(),
        ),
    ];
    let mut snap = String::new();
    for (what, input) in &cases {
        snap.push_str(&format!("{what}:\n  {}\n", line(&env, &quiet, input)));
    }
    // Colour only on the alerts, and only when asked (NO_COLOR is set here).
    let coloured = line(&env, &["--alerts-every", "0", "--color", "always"], INPUT);
    assert!(
        coloured.ends_with("· \x1b[1;31m⚠ 2 alerts\x1b[0m"),
        "{coloured:?}"
    );
    // A day later every open run is lost and today's spend is zero.
    let later = env.run_env(
        "analyze",
        &["statusline", "--alerts-every", "0"],
        INPUT.as_bytes(),
        &[
            ("AGENT_TELEMETRY_NOW", "2026-11-21T12:00:00Z"),
            ("TZ", "UTC"),
        ],
    );
    snap.push_str(&format!(
        "a day later:\n  {}",
        String::from_utf8(later.stdout).unwrap()
    ));
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("statusline__lines", snap);
    });
}

#[test]
fn statusline_always_prints_a_line_and_exits_0() {
    let env = Env::new();
    assert_eq!(line(&env, &[], INPUT), "⚙ agent-telemetry: no data yet");
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::write(env.db(), b"").unwrap();
    assert_eq!(
        line(&env, &[], INPUT),
        "⚙ agent-telemetry: database damaged (run analyze doctor)"
    );
    std::fs::write(env.db(), vec![b'x'; 8192]).unwrap();
    assert_eq!(
        line(&env, &[], INPUT),
        "⚙ agent-telemetry: database damaged (run analyze doctor)"
    );
    // Huge or binary stdin on a healthy database: figures without a session.
    let env = history();
    let junk = "\u{1}{[".repeat(1 << 19);
    assert!(line(&env, &["--alerts-every", "0"], &junk).starts_with("⚙ 2 agents"));
}

#[test]
fn statusline_derives_within_its_budget_and_says_when_behind() {
    let env = Env::new();
    // 400 runs (1,600 events), not yet derived.
    let runs: Vec<Run> = (0..400)
        .map(|i| running(&format!("a-{i}"), "explorer", "2026-11-20T11:59:00Z"))
        .collect();
    env.record_runs(&runs);
    let events = env.count("SELECT count(*) FROM events");
    // With no budget: one short page is derived, the rest is left for later.
    let first = line(&env, &["--alerts-every", "0", "--derive-budget", "0"], "");
    assert!(first.contains("(catching up)"), "{first}");
    let cursor =
        env.count("SELECT coalesce((SELECT value FROM derive_state WHERE key = 'events'), 0)");
    assert!(cursor > 0 && cursor < events, "{cursor} of {events}");
    // A reader derives everything; the status line then shows all 400 as running.
    assert_eq!(env.analyze_at(NOW, &["summary"]).0, 0);
    assert_eq!(
        line(&env, &["--alerts-every", "0"], ""),
        "⚙ 400 agents · longest 1m 00s · today $0.00"
    );
}

#[test]
fn statusline_starts_alerts_at_most_once_per_interval() {
    let env = history();
    let spawned = |env: &Env| {
        env.conn()
            .query_row(
                "SELECT value FROM alert_eval WHERE key = 'statusline_spawned_ms'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .ok()
    };
    // Alerts evaluated 10 s ago: not due.
    let now_ms = chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp_millis();
    env.conn()
        .execute(
            "INSERT INTO alert_eval (key, value) VALUES ('last_evaluated_ms', ?1)",
            [now_ms - 10_000],
        )
        .unwrap();
    line(&env, &[], INPUT);
    assert_eq!(spawned(&env), None);
    // 10 s is more than --alerts-every 5: due, claimed once.
    line(&env, &["--alerts-every", "5"], INPUT);
    assert_eq!(spawned(&env), Some(now_ms));
    // --alerts-every 0 never claims.
    env.conn()
        .execute(
            "DELETE FROM alert_eval WHERE key = 'statusline_spawned_ms'",
            [],
        )
        .unwrap();
    line(&env, &["--alerts-every", "0"], INPUT);
    assert_eq!(spawned(&env), None);
}

/// Many status lines at once, each with its own connection: exactly one wins the interval.
#[test]
fn the_alerts_claim_is_won_by_exactly_one_process() {
    let env = Env::new();
    env.record(&[]);
    let db = env.db();
    let now = 1_800_000_000_000_i64;
    let winners: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                s.spawn(move || {
                    let c = rusqlite::Connection::open(&db).unwrap();
                    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
                    agent_telemetry::statusline::claim_alerts_run(&c, now, 60_000).unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum()
    });
    assert_eq!(winners, 1);
    let c = rusqlite::Connection::open(&db).unwrap();
    assert!(!agent_telemetry::statusline::claim_alerts_run(&c, now + 59_999, 60_000).unwrap());
    assert!(agent_telemetry::statusline::claim_alerts_run(&c, now + 60_000, 60_000).unwrap());
}
