//! Derivation equivalence: every report over generated histories is pinned as JSON snapshots
//! (tests/it/snapshots/it__derive_equivalence__*.snap, recorded with the per-event derivation
//! before it worked per batch), and the same log derived in many small refreshes between
//! appends — as readers, the status line and the guard derive while hooks append — gives the
//! same reports and the same projection as one derivation at the end.

use crate::common::*;
use crate::projection::{append, append_log, projection, read, Log};
use agent_telemetry::config::Config;
use agent_telemetry::pricing::Prices;
use agent_telemetry::store::Store;
use serde_json::Value;
use std::time::{Duration, Instant};

const NOW: &str = "2026-06-01T00:00:00Z";

/// A generated history: its name and gen-history's options (besides `--db`, `--now`).
struct Case {
    name: &'static str,
    args: &'static [&'static str],
}

const CASES: [Case; 3] = [
    Case {
        name: "realistic",
        args: &["--runs", "800", "--days", "30", "--seed", "1"],
    },
    Case {
        name: "recommend_tested",
        args: &[
            "--profile",
            "recommend",
            "--runs",
            "600",
            "--days",
            "20",
            "--seed",
            "3",
            "--tested",
            "0.5",
            "--false-success",
            "0.4",
        ],
    },
    Case {
        name: "realistic_tested",
        args: &[
            "--runs",
            "2000",
            "--days",
            "60",
            "--seed",
            "7",
            "--agents",
            "12",
            "--tested",
            "0.3",
            "--false-success",
            "0.2",
        ],
    },
];

/// The case's log (events and usage rows), generated without deriving.
fn log_of(case: &Case) -> Log {
    let env = Env::new();
    let mut args = case.args.to_vec();
    args.extend(["--now", NOW, "--no-derive"]);
    crate::gen_history::generate(&env.db(), &args);
    read(&env.conn())
}

/// A fresh database at the current schema holding the log's usage rows and no event yet.
fn empty_with_usage(env: &Env, log: &Log) {
    drop(Store::create(&env.db()).expect("create"));
    append(
        &env.conn(),
        &Log {
            events: Vec::new(),
            usage: log.usage.clone(),
        },
    );
}

/// Every report as JSON, by a name that says which: each reader with its defaults and with
/// `--days 7`, `agent` for the two agent types with the most runs, and query-best-agent.
fn reports(env: &Env) -> Vec<(String, Value)> {
    let run = |bin: &str, args: &[&str]| -> Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let out = env.run_env(bin, &a, b"", &[("AGENT_TELEMETRY_NOW", NOW)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{bin} {args:?} JSON: {e}")),
            // Nothing found (no tool call in these histories, nothing running): its message.
            Some(1) => serde_json::json!({ "exit": 1, "stderr": stderr }),
            code => panic!("{bin} {args:?} exited {code:?}: {stderr}"),
        }
    };
    let mut out = Vec::new();
    for report in [
        "summary",
        "sessions",
        "top",
        "workflows",
        "overhead",
        "trends",
        "tools",
        "types",
        "timeline",
        "active",
        "errors",
        "metrics",
    ] {
        out.push((report.to_string(), run("analyze", &[report])));
        out.push((
            format!("{report}_days_7"),
            run("analyze", &[report, "--days", "7"]),
        ));
    }
    out.push(("top_worst".into(), run("analyze", &["top", "--worst"])));
    let busiest: Vec<String> = {
        let conn = env.conn();
        let mut stmt = conn
            .prepare(
                "SELECT agent_type FROM agent_runs WHERE internal = 0
                 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(busiest.len(), 2, "two agent types at least");
    for (i, agent) in busiest.iter().enumerate() {
        out.push((format!("agent_{i}"), run("analyze", &["agent", agent])));
    }
    for (i, task) in [
        "REST endpoint for orders",
        "fix the flaky login test",
        "review the database migration",
    ]
    .iter()
    .enumerate()
    {
        out.push((
            format!("query_best_agent_{i}"),
            run("query-best-agent", &["--task", task, "--all"]),
        ));
    }
    out
}

/// One derivation of the whole log, by the first reader.
fn derived_at_once(log: &Log) -> (Vec<(String, Value)>, Env) {
    let env = Env::new();
    empty_with_usage(&env, log);
    append_log(&env.conn(), &log.events);
    let got = reports(&env);
    (got, env)
}

/// The log appended in chunks of 1 to 60 events, each followed by a derivation of some kind: a
/// reader's refresh, the status line's budgeted one (a budget of zero to a few milliseconds,
/// often leaving a backlog for the next), or the guard's catch-up inside its transaction.
fn derived_in_steps(log: &Log, seed: u64) -> Env {
    let env = Env::new();
    empty_with_usage(&env, log);
    let conn = env.conn();
    let store = Store::open_reader(&env.db()).expect("open");
    let cfg = Config::load(&env.db()).expect("config");
    let prices = Prices::load(&env.db()).expect("prices");
    let mut rng = Rng(seed);
    let mut rest = log.events.as_slice();
    while !rest.is_empty() {
        let n = (1 + rng.below(60)).min(rest.len());
        append_log(&conn, &rest[..n]);
        rest = &rest[n..];
        match rng.below(3) {
            0 => {
                agent_telemetry::derive::refresh(&store, &cfg, &prices).expect("refresh");
            }
            1 => {
                let budget = Duration::from_micros(rng.below(3000) as u64);
                agent_telemetry::derive::refresh_within(&store, &cfg, &prices, budget)
                    .expect("refresh within");
            }
            _ => {
                let deadline = Instant::now() + Duration::from_micros(rng.below(3000) as u64);
                store
                    .write_tx(|s| {
                        agent_telemetry::derive::catch_up_in_tx(s, &cfg, &prices, deadline)
                    })
                    .expect("catch up");
            }
        }
    }
    agent_telemetry::derive::refresh(&store, &cfg, &prices).expect("last refresh");
    env
}

/// The reports of each generated history equal their snapshots.
#[test]
fn reports_over_generated_histories_equal_their_snapshots() {
    for case in &CASES {
        let (got, _env) = derived_at_once(&log_of(case));
        for (report, json) in got {
            insta::assert_json_snapshot!(format!("{}__{report}", case.name), json);
        }
    }
}

/// Derived in many small steps between appends, a history gives the projection and the reports
/// of one derivation at the end.
#[test]
fn derivation_in_small_steps_equals_one_derivation() {
    for (case, seed) in CASES[..2].iter().zip([11, 12]) {
        let log = log_of(case);
        let (want, once) = derived_at_once(&log);
        let steps = derived_in_steps(&log, seed);
        assert_eq!(
            projection(&steps.conn()),
            projection(&once.conn()),
            "{}: projection",
            case.name
        );
        let got = reports(&steps);
        assert_eq!(got.len(), want.len());
        for ((name, g), (_, w)) in got.iter().zip(&want) {
            assert_eq!(g, w, "{}: {name}", case.name);
        }
    }
}
