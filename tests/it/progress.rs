//! Progress on stderr (src/progress.rs): a reader facing a large backlog (more than 20,000 events
//! not yet derived, `derive::BULK`) draws a bar only when stderr is a terminal. Not a terminal
//! (pipes, files, these tests): stderr stays empty. A terminal: proven with a pseudo-terminal
//! from util-linux `script`, when it is installed; the status line draws nothing even there.

use crate::common::{bin_path, Env};
use std::path::Path;
use std::process::Command;

const NOW: &str = "2026-06-01T00:00:00Z";
/// `derive::BULK`: a bar only above this backlog.
const BULK: i64 = 20_000;

/// A generated history of `runs` runs, not derived (as after `gen-history --no-derive` or a large
/// import interrupted before deriving).
fn backlog(db: &Path, runs: &str) -> i64 {
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    crate::gen_history::generate(
        db,
        &[
            "--days",
            "20",
            "--now",
            NOW,
            "--runs",
            runs,
            "--seed",
            "7",
            "--no-derive",
        ],
    );
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap()
}

/// `analyze ARGS` on `db` under a pseudo-terminal (stdin, stdout and stderr all on it), 80
/// columns wide; what the terminal received. `None` without util-linux `script`.
fn on_a_terminal(db: &Path, args: &str) -> Option<String> {
    let available = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("util-linux `script` not found: the terminal case is not exercised");
        return None;
    }
    let cmd = format!(
        "stty cols 80; '{}' --db '{}' {args}",
        bin_path("analyze").display(),
        db.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("AGENT_TELEMETRY_NOW", NOW)
        .env("NO_COLOR", "1")
        .output()
        .expect("run script");
    assert!(out.status.success(), "{args}: {out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_large_backlog_draws_a_bar_only_on_a_terminal() {
    let env = Env::new();
    let db = env.db();
    let events = backlog(&db, "4500");
    assert!(events > BULK, "{events} events: not a large backlog");
    let copy = env.dir.path().join("copy/telemetry.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(&db, &copy).unwrap();

    // Not a terminal: the whole backlog derived, not a byte on stderr.
    let out = env.run_env(
        "analyze",
        &["summary"],
        b"",
        &[("AGENT_TELEMETRY_NOW", NOW)],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env.count("SELECT count(*) FROM agent_runs") > 4000);
    // `rebuild` re-derives everything: only its closing line.
    let (code, _, err) = env.analyze(&["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        format!("analyze: rebuilt the projection from {events} events\n")
    );

    let Some(status_line) = on_a_terminal(&copy, "statusline") else {
        return;
    };
    assert!(
        !status_line.contains("events,"),
        "the status line never draws: {status_line}"
    );
    let first = on_a_terminal(&copy, "summary").unwrap();
    assert!(
        first.contains("deriving runs") && first.contains(" events, ") && first.contains("left"),
        "a bar on the terminal: {first}"
    );
    assert!(first.contains("Agent"), "then the report: {first}");
    // Nothing left to derive: no bar, not even briefly.
    let second = on_a_terminal(&copy, "summary").unwrap();
    assert!(!second.contains("deriving"), "{second}");
}
