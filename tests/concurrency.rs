//! 200 hook processes started at once against a brand-new database: every payload lands in the
//! database exactly once — directly, or through the spool when a hook's ~100 ms lock budget ran
//! out (replayed by the hooks after it and by the next reader) — and no error is logged. A test
//! binary of its own, so it does not share the machine with the rest of the suite's threads.

#[path = "it/common.rs"]
mod common;

use common::*;

const BINS: [&str; 3] = ["subagent-start", "subagent-stop", "workflow-event"];

fn start_payload(i: usize) -> String {
    serde_json::json!({
        "session_id": "s-conc", "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p", "prompt_id": "p1",
        "hook_event_name": "SubagentStart", "agent_id": format!("agent{i:04}"), "agent_type": "backend-architect"
    })
    .to_string()
}

#[test]
fn two_hundred_hooks_at_once_on_a_brand_new_database_lose_nothing() {
    let env = Env::new();
    let children: Vec<_> = (0..200)
        .map(|i| {
            let mut c = std::process::Command::new(bin_path(BINS[i % 3]))
                .env("AGENT_TELEMETRY_DB", env.db())
                .env("HOME", env.home())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (i, c.stdin.take().unwrap(), c)
        })
        .collect();
    // All 200 processes exist before any gets its payload: they race on the new file together.
    let mut waiting = Vec::new();
    for (i, mut stdin, child) in children {
        use std::io::Write;
        stdin.write_all(start_payload(i).as_bytes()).unwrap();
        drop(stdin);
        waiting.push(child);
    }
    for child in waiting {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty());
    }
    // The next reader replays whatever the hooks left in the spool.
    let (code, _, err) = env.analyze(&["doctor"]);
    assert!(code == 0 || code == 1, "{err}");
    env.analyze_json(&["summary"]);
    let left: Vec<_> = std::fs::read_dir(env.dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("spool"))
        .collect();
    assert!(left.is_empty(), "spool files left after a reader: {left:?}");
    let log = env.dir.path().join("data/hook.log");
    assert!(
        !log.exists(),
        "no errors: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(
        env.count("SELECT count(DISTINCT agent_id) FROM events"),
        200
    );
    assert_eq!(env.count("SELECT count(*) FROM events"), 200);
}
