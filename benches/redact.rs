//! Redaction cost: `cargo bench --bench redact` (figures go to docs/performance.md, never into
//! pass/fail tests). Every hook is a fresh process, so the "cold" column — one call in a new
//! process, regex compilation included — is what a hook pays; "warm" is the per-call cost once
//! the regexes exist (imports, long transcripts).

use agent_telemetry::redact::{redact, redact_bytes};
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/claude-code-2.1.330"
);

/// A real 2 KB PostToolUse(Agent) payload.
fn payload() -> String {
    std::fs::read_to_string(format!(
        "{FIXTURES}/parallel-and-nested-agents/hooks/014-PostToolUse.json"
    ))
    .expect("fixture payload")
}

/// The same payload with secrets in the Agent prompt.
fn payload_with_secret() -> String {
    payload().replacen(
        "Audit auth module",
        "Audit auth module; export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and use postgres://app:hunter22@db/app",
        1,
    )
}

/// ~1 MB of transcript lines (the recorded transcripts, repeated), optionally with a few secrets.
fn transcript(secrets: bool) -> String {
    let mut lines = Vec::new();
    for dir in [
        "background-agent",
        "agent-api-error",
        "parallel-and-nested-agents",
        "foreground-agent",
    ] {
        let walk = std::fs::read_dir(format!("{FIXTURES}/{dir}/transcripts")).expect("fixtures");
        for e in walk.flatten() {
            if e.path().extension().is_some_and(|x| x == "jsonl") {
                lines.extend(
                    std::fs::read_to_string(e.path())
                        .unwrap()
                        .lines()
                        .map(String::from),
                );
            }
        }
    }
    let mut out = String::new();
    let mut n = 0;
    while out.len() < 1 << 20 {
        for l in &lines {
            out.push_str(l);
            out.push('\n');
            n += 1;
            if secrets && n % 500 == 0 {
                out.push_str(r#"{"type":"user","message":{"content":"my key is sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv0123 and password=hunter22"}}"#);
                out.push('\n');
            }
        }
    }
    out
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut not_utf8 = payload_with_secret().into_bytes();
    let at = not_utf8.len() / 2;
    not_utf8.insert(at, 0xff);
    vec![
        ("2 KB hook payload, no secret", payload().into_bytes()),
        (
            "2 KB hook payload, 2 secrets",
            payload_with_secret().into_bytes(),
        ),
        (
            "2 KB payload, 2 secrets, one byte not UTF-8 (redact_bytes)",
            not_utf8,
        ),
        (
            "1 MB transcript text, no secret",
            transcript(false).into_bytes(),
        ),
        (
            "1 MB transcript text, secrets every 500 lines",
            transcript(true).into_bytes(),
        ),
    ]
}

/// What the hook does with each input: text through `redact`, other bytes through `redact_bytes`.
fn run(input: &[u8]) {
    match std::str::from_utf8(input) {
        Ok(text) => {
            black_box(redact(black_box(text)));
        }
        Err(_) => {
            black_box(redact_bytes(black_box(input)));
        }
    }
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: nothing to time then.
    if !std::env::args().any(|a| a == "--bench") && std::env::var_os("REDACT_BENCH_COLD").is_none()
    {
        return;
    }
    // Child mode: one call in a fresh process (what a hook pays), printed in nanoseconds.
    if let Ok(i) = std::env::var("REDACT_BENCH_COLD") {
        let (_, input) = cases().swap_remove(i.parse().unwrap());
        let t = Instant::now();
        run(&input);
        println!("{}", t.elapsed().as_nanos());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    println!("| input | bytes | cold (first call in a process) | warm (median) |");
    println!("|---|---:|---:|---:|");
    for (i, (name, text)) in cases().iter().enumerate() {
        let cold: Vec<Duration> = (0..15)
            .map(|_| {
                let out = Command::new(&exe)
                    .env("REDACT_BENCH_COLD", i.to_string())
                    .output()
                    .unwrap();
                Duration::from_nanos(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap())
            })
            .collect();
        let runs = if text.len() > 100_000 { 30 } else { 2000 };
        let warm: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                run(text);
                t.elapsed()
            })
            .collect();
        println!(
            "| {name} | {} | {} | {} |",
            text.len(),
            fmt(median(cold)),
            fmt(median(warm))
        );
    }
}
