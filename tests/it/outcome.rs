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
