//! The history generator (examples/gen-history.rs) for the tests that need a large realistic
//! history. It is an example, not a binary of the package (install.sh must not build it), so
//! Cargo gives the tests no `CARGO_BIN_EXE_` path for it: it is built here, once per test run,
//! with the cargo that runs the tests (a no-op after a full `cargo test`, which builds examples).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Runs the generator on `db` with `args` (its options: `--runs`, `--seed`, `--now`, …) and
/// checks it succeeded.
pub(crate) fn generate(db: &Path, args: &[&str]) {
    let out = Command::new(bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run gen-history");
    assert!(
        out.status.success(),
        "gen-history: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The built generator: `<target>/<profile>/examples/gen-history`, beside this test binary's
/// `<target>/<profile>/deps/`.
pub(crate) fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in <target>/<profile>/deps");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "--locked", "--example", "gen-history"]);
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => {}
            Some("release") => {
                cmd.arg("--release");
            }
            Some(other) => {
                cmd.args(["--profile", other]);
            }
            None => {}
        }
        let status = cmd.status().expect("run cargo build --example gen-history");
        assert!(status.success(), "cargo build --example gen-history failed");
        let path = profile_dir.join("examples/gen-history");
        assert!(
            path.is_file(),
            "{} not built (a --target build? run `cargo build --example gen-history` with the same options)",
            path.display()
        );
        path
    })
}

/// `--tested` and `--false-success`: transcript summaries with a test result for a share of the
/// runs that succeeded or failed, written after their stops as a SubagentStop hook writes them;
/// a failed run's tests always fail, and without the options no summary is written.
#[test]
fn tested_runs_carry_a_test_result_in_their_transcript_summary() {
    let env = crate::common::Env::new();
    let db = env.db();
    let now = "2026-06-01T00:00:00Z";
    let base = [
        "--profile",
        "recommend",
        "--runs",
        "600",
        "--days",
        "20",
        "--seed",
        "3",
        "--now",
        now,
    ];
    let mut args = base.to_vec();
    args.extend(["--tested", "0.5", "--false-success", "0.4"]);
    generate(&db, &args);
    let conn = env.conn();
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let summaries = q(
        "SELECT count(*) FROM events WHERE kind = 'transcript_summary'
                       AND json_extract(payload, '$.summary.tests.runner') = 'cargo'",
    );
    let decided = q("SELECT count(*) FROM agent_runs WHERE status IN ('success', 'failure')");
    // A share of one half, give or take sampling noise (sd ≈ 12 runs here).
    assert!(
        (summaries as f64 - decided as f64 / 2.0).abs() < 60.0,
        "{summaries} of {decided}"
    );
    // A run that failed (its Agent tool call failed) never passes its tests.
    let failed_but_passing = q("SELECT count(*) FROM events f JOIN events e
             ON e.kind = 'transcript_summary' AND f.kind = 'PostToolUseFailure'
                AND f.tool_use_id = 'toolu_' || substr(e.agent_id, 2)
             WHERE json_extract(e.payload, '$.summary.tests.failed') = 0");
    assert_eq!(failed_but_passing, 0);
    let failed_and_tested = q("SELECT count(*) FROM events f JOIN events e
             ON e.kind = 'transcript_summary' AND f.kind = 'PostToolUseFailure'
                AND f.tool_use_id = 'toolu_' || substr(e.agent_id, 2)");
    assert!(failed_and_tested > 5, "{failed_and_tested}");
    // Each summary is applied to its run.
    assert_eq!(
        q("SELECT count(*) FROM agent_runs WHERE has_summary = 1"),
        summaries
    );
    // Derivation reads each summary's test result onto its run, and the recommender's rollup
    // counts the tested and verified runs (docs/recommend.md, "Verified outcomes").
    assert_eq!(
        q("SELECT count(*) FROM agent_runs WHERE tests_failed IS NOT NULL AND test_runner = 'cargo'"),
        summaries
    );
    assert_eq!(
        q("SELECT sum(tested) FROM agent_task_stats"),
        q(
            "SELECT count(*) FROM agent_runs WHERE tests_failed IS NOT NULL AND internal = 0
             AND status IN ('success', 'failure')"
        )
    );
    assert_eq!(
        q("SELECT sum(verified) FROM agent_task_stats"),
        q("SELECT count(*) FROM agent_runs WHERE tests_failed = 0 AND status = 'success' AND internal = 0")
    );
    // Completed runs whose tests fail: the false successes.
    let false_successes = q("SELECT count(*) FROM agent_runs r JOIN events e
             ON e.kind = 'transcript_summary' AND e.agent_id = r.agent_id
             WHERE r.status = 'success' AND json_extract(e.payload, '$.summary.tests.failed') > 0");
    assert!(false_successes > 5, "{false_successes}");
    drop(conn);

    let plain = crate::common::Env::new();
    generate(&plain.db(), &base);
    assert_eq!(
        plain.count("SELECT count(*) FROM events WHERE kind = 'transcript_summary'"),
        0
    );
}
