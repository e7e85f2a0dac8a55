//! `query-best-agent` picks by fit, not by overall record (issue 15): on held-out histories in
//! which one backend agent is excellent at simple work and poor at complex work and another the
//! reverse, the record at the task's complexity decides.

use crate::common::cc::{End, Run};
use crate::common::*;
use agent_telemetry::classify;
use agent_telemetry::config::Config;
use agent_telemetry::recommend::{self, Query};
use agent_telemetry::store::Store;

const NOW: &str = "2026-06-01T00:00:00Z";
/// 95 % of simple backend tasks, 35 % of complex ones.
const SPRINTER: &str = "backend-developer";
/// 70 % of simple backend tasks, 92 % of complex ones.
const ARCHITECT: &str = "backend-architect";
/// Everyone else's work: middling everywhere.
const GENERALIST: &str = "general-purpose";

const SIMPLE_VERBS: &[&str] = &["Rename symbols in", "Format", "Lint", "Correct spelling in"];
const COMPLEX_VERBS: &[&str] = &["Refactor", "Optimize", "Debug", "Integrate"];
const OBJECTS: &[&str] = &[
    "orders REST endpoints",
    "payment service handlers",
    "user routes",
    "GraphQL resolvers for invoices",
    "session middleware",
    "webhook handlers",
    "billing service",
    "REST controllers for products",
];
/// Paraphrases that never appear verbatim in the history.
const QUERY_OBJECTS: &[&str] = &[
    "routes for the orders service",
    "order handlers",
    "invoice resolvers",
    "REST controllers for payments",
    "the billing service endpoints",
    "session handling middleware",
    "product controllers",
    "user service routes",
    "payment handlers",
    "webhook handlers for billing",
];

/// One agent's work in the scenario: (agent, verbs, runs, success probability).
type Work = (&'static str, &'static [&'static str], usize, f64);

/// The work of the scenario. The sprinter is mostly handed complex work (where it
/// fails), so its overall record (about 40 %) is poor although it is the best at simple tasks,
/// on thin evidence there (10 runs).
const WORK: &[Work] = &[
    (SPRINTER, SIMPLE_VERBS, 10, 0.95),
    (SPRINTER, COMPLEX_VERBS, 100, 0.35),
    (ARCHITECT, SIMPLE_VERBS, 100, 0.70),
    (ARCHITECT, COMPLEX_VERBS, 40, 0.92),
    (GENERALIST, SIMPLE_VERBS, 30, 0.6),
    (GENERALIST, COMPLEX_VERBS, 30, 0.6),
];

/// A history drawn from [`WORK`] with `seed`, spread over the 30 days before NOW (the success
/// probabilities do not change over time: no drift).
fn history(seed: u64) -> Vec<Run> {
    let mut rng = Rng(seed ^ 0xF17_0000);
    let now = agent_telemetry::timeparse::parse_instant(NOW).unwrap();
    let mut runs = Vec::new();
    for (agent, verbs, n, p) in WORK {
        for _ in 0..*n {
            let i = runs.len();
            let start = now - 30 * 86_400_000 + (rng.f64() * 29.0 * 86_400_000.0) as i64;
            let description = format!("{} {}", rng.pick(verbs), rng.pick(OBJECTS));
            let mut r = Run::new(
                &format!("a{seed:02}{i:05}"),
                agent,
                &description,
                &iso_ms(start),
                &iso_ms(start + 180_000),
            );
            r.session = format!("sess-{seed}-{}", i / 10);
            r.prompt_id = format!("prompt-{seed}-{i}");
            if rng.f64() >= *p {
                r.end_kind = End::Failure("API Error: 500".into());
            }
            runs.push(r);
        }
    }
    runs
}

/// `n` queries of one band (checked to be in it), each a verb of the band and a paraphrase.
fn queries(
    rng: &mut Rng,
    verbs: &[&str],
    band: std::ops::RangeInclusive<i64>,
    n: usize,
) -> Vec<String> {
    let cfg = Config::default();
    let qs: Vec<String> = (0..n)
        .map(|_| format!("{} {}", rng.pick(verbs), rng.pick(QUERY_OBJECTS)))
        .collect();
    for q in &qs {
        let c = classify::complexity(&cfg, q);
        assert!(band.contains(&c), "{q}: complexity {c}");
    }
    qs
}

/// For 10 held-out histories (seeds 101–110) and 10 simple and 10 complex queries each: how
/// often the recommendation is the agent with the best record at the query's complexity.
#[test]
fn the_record_at_the_tasks_complexity_decides() {
    let (mut simple_right, mut complex_right, mut total) = (0, 0, 0);
    let mut wrong = Vec::new();
    // Another range of held-out histories: AGENT_TELEMETRY_FIT_SEED=201 measures seeds 201–210.
    let first: u64 = std::env::var("AGENT_TELEMETRY_FIT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(101);
    for seed in first..first + 10 {
        let env = Env::new();
        env.record_runs(&history(seed));
        let _ = env.run_env(
            "analyze",
            &["summary"],
            b"",
            &[("AGENT_TELEMETRY_NOW", NOW)],
        );
        let store = Store::open_reader(&env.db()).unwrap();
        let now = agent_telemetry::timeparse::parse_instant(NOW).unwrap();
        let mut rng = Rng(seed);
        let pick = |task: &str| {
            recommend::query_best_agent(&store, &Query::new(task, now, Config::default()))
                .unwrap()
                .map(|r| r.pick.agent)
        };
        for q in queries(&mut rng, SIMPLE_VERBS, 1..=3, 10) {
            let p = pick(&q);
            if p.as_deref() == Some(SPRINTER) {
                simple_right += 1;
            } else {
                wrong.push(format!("seed {seed}: '{q}' → {p:?}"));
            }
        }
        for q in queries(&mut rng, COMPLEX_VERBS, 7..=8, 10) {
            let p = pick(&q);
            if p.as_deref() == Some(ARCHITECT) {
                complex_right += 1;
            } else {
                wrong.push(format!("seed {seed}: '{q}' → {p:?}"));
            }
        }
        total += 10;
    }
    println!(
        "simple: {simple_right}/{total} picked {SPRINTER}; complex: {complex_right}/{total} picked {ARCHITECT}"
    );
    for w in &wrong {
        println!("  {w}");
    }
    // Ten simple runs leave room for sampling noise (seed 109 drew 8 of 10 for the sprinter
    // against the architect's 74 of 100, and picks the architect): the scoring that shrank the
    // band towards the overall record with a fixed ten pseudo-runs got 55 of 100 here.
    assert!(
        simple_right * 10 >= total * 8,
        "simple {simple_right}/{total}"
    );
    assert!(
        complex_right * 10 >= total * 9,
        "complex {complex_right}/{total}"
    );
}
