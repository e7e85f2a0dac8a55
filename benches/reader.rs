//! Transcript reader cost: `cargo bench --bench reader` (figures go to docs/performance.md, never
//! into pass/fail tests). Two inputs, both read from memory (no I/O in the timing):
//!
//! * "bash-heavy": the outcome scenario's subagent transcript (tests/fixtures/outcome: two
//!   `cargo test` outputs, edits, a write, failed commands) repeated with fresh ids, ~45 MB: the
//!   worst case for the outcome fields, where every other line is a Bash call or result.
//! * `READER_BENCH_DIR=<dir>`: every `.jsonl` file under it (e.g. a scripts/gen-import-corpus.py
//!   tree), each read as a subagent file, as `analyze import` does.
//!
//! With `READER_BENCH_METRICS=<config.json>` the custom metric definitions in it are applied too.

use agent_telemetry::transcript::{summarize_reader, ReadSpec};
use std::path::Path;
use std::time::Instant;

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/outcome/tests-then-pass/transcripts/0c7e5a1d-5e7b-4d0e-9a51-6f7574636f6d/subagents/agent-a5e1f0c0de0000001.jsonl"
);

fn bash_heavy() -> Vec<u8> {
    let one = std::fs::read_to_string(SCENARIO).expect("scenario fixture");
    let mut out = String::new();
    for k in 0..1500 {
        out.push_str(
            &one.replace("toolu_out", &format!("toolu_{k}_out"))
                .replace("msg_out", &format!("msg_{k}_out")),
        );
    }
    out.into_bytes()
}

fn jsonl_under(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            jsonl_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "jsonl") {
            out.push(std::fs::read(&p).expect("read"));
        }
    }
}

fn metrics() -> Vec<agent_telemetry::metrics::Metric> {
    let Ok(path) = std::env::var("READER_BENCH_METRICS") else {
        return Vec::new();
    };
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("metrics file")).expect("json");
    let defs: Vec<agent_telemetry::metrics::MetricDef> =
        serde_json::from_value(v["metrics"].clone()).expect("definitions");
    agent_telemetry::metrics::compile_all(&defs).expect("valid definitions")
}

fn time(name: &str, files: &[Vec<u8>], metrics: &[agent_telemetry::metrics::Metric]) {
    let bytes: usize = files.iter().map(Vec::len).sum();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let mut calls = 0;
        for f in files {
            let spec = ReadSpec {
                session_id: "s",
                agent_id: Some("a"),
                offset: 0,
                prompt_id: None,
                budget: None,
                metrics,
            };
            calls += summarize_reader(f.as_slice(), &spec).unwrap().tool_calls();
        }
        std::hint::black_box(calls);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{name}: {} files, {:.1} MB, best of 5 {:.0} ms, {:.0} MB/s",
        files.len(),
        bytes as f64 / 1e6,
        best * 1e3,
        bytes as f64 / 1e6 / best
    );
}

/// `testsum::parse` per call: a test runner's output, and a 30 KB output that is none.
fn testsum_per_call() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/test-runners");
    let texts: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
        .map(|e| std::fs::read_to_string(e.path()).expect("read"))
        .collect();
    let log: String = (0..400)
        .map(|i| format!("{i:>5} info: the request passed validation, 3 retries failed before\n"))
        .collect();
    for (name, inputs) in [("runner outputs", texts), ("30 KB log", vec![log])] {
        let n = 2000;
        let t = Instant::now();
        for _ in 0..n {
            for x in &inputs {
                std::hint::black_box(agent_telemetry::testsum::parse(x));
            }
        }
        let per = t.elapsed().as_secs_f64() / (n * inputs.len()) as f64;
        println!("testsum::parse, {name}: {:.1} µs per output", per * 1e6);
    }
}

fn main() {
    testsum_per_call();
    let m = metrics();
    time("bash-heavy", &[bash_heavy()], &m);
    if let Ok(dir) = std::env::var("READER_BENCH_DIR") {
        let mut files = Vec::new();
        jsonl_under(Path::new(&dir), &mut files);
        time("corpus", &files, &m);
    }
}
