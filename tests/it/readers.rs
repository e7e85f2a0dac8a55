//! Reader errors: a clear message and exit 2 on bad input; exit 1 when nothing is found.

use crate::common::*;

fn seeded() -> Env {
    let env = Env::new();
    env.record_runs(&[cc::Run::new(
        "a1",
        "backend-architect",
        "Design API",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:02:00Z",
    )]);
    env
}

#[test]
fn missing_database_exits_2_and_says_where_it_looked() {
    let env = Env::new();
    let (code, out, err) = env.analyze(&["summary"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("no database at") && err.contains("telemetry.db"),
        "{err}"
    );
}

#[test]
fn corrupt_database_exits_2() {
    let env = Env::new();
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::write(
        env.db(),
        b"this is not a database at all, just some bytes that are long enough to matter......",
    )
    .unwrap();
    let (code, _, err) = env.analyze(&["summary"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not an agent-telemetry database") || err.contains("not a database"),
        "{err}"
    );
}

#[test]
fn foreign_sqlite_database_is_refused_not_modified() {
    let env = Env::new();
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(env.db()).unwrap();
    c.execute_batch("CREATE TABLE contacts (name TEXT)")
        .unwrap();
    drop(c);
    let (code, _, err) = env.analyze(&["summary"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another application"), "{err}");
    let tables: i64 = env
        .conn()
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1, "left untouched");
}

#[test]
fn newer_schema_exits_2_and_hooks_spool_instead() {
    let env = seeded();
    env.conn()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let (code, _, err) = env.analyze(&["summary"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("newer"), "{err}");
    env.hook(
        "subagent-start",
        br#"{"hook_event_name":"SubagentStart","session_id":"s","agent_id":"z9","agent_type":"x"}"#,
    );
    let spool =
        std::fs::read_to_string(env.dir.path().join("data/telemetry.db.spool.jsonl")).unwrap();
    assert!(
        spool.contains("z9"),
        "payload kept for a newer build to replay"
    );
}

#[test]
fn bad_dates_and_unknown_agents_exit_2_with_a_hint() {
    let env = seeded();
    let (code, _, err) = env.analyze(&["summary", "--since", "last tuesday"]);
    assert_eq!(code, 2);
    assert!(err.contains("--since 'last tuesday'"), "{err}");
    let (code, _, err) =
        env.analyze(&["summary", "--since", "2026-11-21", "--until", "2026-11-01"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = env.analyze(&["summary", "--agent", "backend-architec"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown agent 'backend-architec'")
            && err.contains("did you mean backend-architect"),
        "{err}"
    );
    let (code, _, err) = env.analyze(&["summary", "--sort", "vibes"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = env.analyze(&["summary", "--no-such-flag"]);
    assert_eq!(code, 2);
}

#[test]
fn empty_results_exit_1() {
    let env = seeded();
    let (code, out, err) = env.analyze(&["summary", "--since", "2026-11-21"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("no agent runs match"), "{err}");
}

#[test]
fn summary_without_subcommand_and_formats() {
    let env = seeded();
    let (code, table, _) = env.analyze(&[]);
    assert_eq!(code, 0);
    assert!(
        table.contains("backend-architect") && table.contains("TOTAL"),
        "{table}"
    );
    let (_, csv, _) = env.analyze(&["summary", "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Agent,Runs,Success,Verified,p50,p95,Complexity,Tokens,Cost,Efficiency"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("backend-architect,1,100.0%,-,2.0m")
            || csv.contains("backend-architect,1,100.0%"),
        "{csv}"
    );
    let json = env.analyze_json(&["summary"]);
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["command"], "summary");
}
