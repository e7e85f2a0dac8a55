//! `gen-history`: a development tool that writes realistic agent histories of any size through
//! the hooks' own append path (`hook::record_many` with Claude Code-shaped payloads and generic
//! orchestrator events, explicit timestamps), then derives the projection like any reader.
//!
//! Profiles:
//! * `realistic`: ~22 agent types, per-domain task templates, log-normal durations, per-type
//!   success rates, nesting, parallel agents, tool errors, failed / cancelled / lost runs.
//! * `recommend`: every agent has a known success probability per (domain, complexity band),
//!   with one declining agent and one newcomer; writes `ground-truth.json` beside the database
//!   (the best agent per (domain, band) and evaluation queries). See docs/recommend.md.
//!
//! Deterministic for a given `--seed` and `--now` (splitmix64; no dependency).

use agent_telemetry::analyze::Ctx;
use agent_telemetry::classify;
use agent_telemetry::config::Config;
use agent_telemetry::hook::event::{StoredEvent, TranscriptRead};
use agent_telemetry::hook::{self, Binary};
use agent_telemetry::store::Store;
use agent_telemetry::transcript;
use agent_telemetry::vocab::Source;
use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Instant;

#[derive(Parser)]
#[command(
    about = "Generates a synthetic agent history through the hooks' append path (development tool)"
)]
struct Args {
    /// Database to create (refuses one that already holds events unless --append).
    #[arg(long)]
    db: PathBuf,
    /// Agent runs to generate.
    #[arg(long, default_value_t = 10_000)]
    runs: u64,
    /// Agent types to use (realistic profile; at most the catalogue's size).
    #[arg(long, default_value_t = 20)]
    agents: usize,
    /// Distinct agent types to spread the runs over (0: the catalogue's names only). Each run's
    /// type becomes a numbered variant of its catalogue agent (`general-purpose-v17`), drawn
    /// apart from everything else: the same runs as without it, under thousands of names (the
    /// readers' cost per agent type).
    #[arg(long, default_value_t = 0)]
    agent_types: usize,
    /// Days of history, ending at --now.
    #[arg(long, default_value_t = 90)]
    days: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Profile::Realistic)]
    profile: Profile,
    /// End of the history (ISO-8601; default: the current time).
    #[arg(long)]
    now: Option<String>,
    /// Payloads per transaction.
    #[arg(long, default_value_t = 50_000)]
    batch: usize,
    /// Add to a database that already holds events.
    #[arg(long)]
    append: bool,
    /// Skip the derivation (time it separately with any reader).
    #[arg(long)]
    no_derive: bool,
    /// Share (0–1) of Claude Code runs that succeed or fail whose transcript summary carries a
    /// test result (`tests`): passing when the task was really done, failing otherwise.
    #[arg(long, default_value_t = 0.0)]
    tested: f64,
    /// Half the agents (chosen by the seed) report success on a task they got wrong with this
    /// probability (0–1): completion is not correctness; only their tests tell.
    #[arg(long, default_value_t = 0.0)]
    false_success: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Profile {
    Realistic,
    Recommend,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-history: {e:#}");
            ExitCode::from(2)
        }
    }
}

// ── randomness ──────────────────────────────────────────────────────────────────────────────

/// splitmix64: tiny, fast, good enough for synthetic data, and stable across platforms.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(1e-12);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Log-normal with the given median and shape.
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
    /// Index drawn with probability proportional to `weights`.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }
}

// ── catalogue ───────────────────────────────────────────────────────────────────────────────

/// Task domains and their objects. Objects hold no complexity keyword: the verb sets the band.
const DOMAINS: &[(&str, &[&str])] = &[
    (
        "backend",
        &[
            "orders REST endpoints",
            "payment service handlers",
            "user routes",
            "GraphQL resolvers for invoices",
            "session middleware",
            "rate limiter",
            "webhook handlers",
            "billing service",
            "REST controllers for products",
            "gRPC service for inventory",
            "request validation layer",
            "background job queue",
            "pagination for list endpoints",
            "caching layer for catalog APIs",
        ],
    ),
    (
        "frontend",
        &[
            "settings screen",
            "signup form",
            "dashboard widgets",
            "navigation bar",
            "product listing view",
            "modal dialogs",
            "React components for the cart",
            "CSS layout of the landing view",
            "dark mode styles",
            "search autocomplete UI",
            "responsive header",
            "form validation in the signup view",
            "Vue views for profiles",
            "frontend routing",
        ],
    ),
    (
        "data",
        &[
            "ETL job for sales",
            "warehouse tables",
            "SQL queries for reports",
            "analytics dataset for churn",
            "data ingestion job",
            "dbt models",
            "Spark job for events",
            "database indexes",
            "customer dataset",
            "reporting views in Postgres",
            "data quality checks",
            "Kafka consumers for clickstream data",
        ],
    ),
    (
        "security",
        &[
            "login flow",
            "JWT handling",
            "OAuth callback",
            "password reset flow",
            "CSRF protection",
            "XSS sanitizer",
            "permission checks",
            "RBAC roles",
            "secrets handling",
            "input sanitization against injection",
            "vulnerability scan findings",
            "session cookies",
        ],
    ),
    (
        "infrastructure",
        &[
            "Docker images",
            "Kubernetes manifests",
            "Terraform modules",
            "CI workflows",
            "Helm charts",
            "deploy scripts",
            "monitoring alerts",
            "load balancer config",
            "staging environment",
            "autoscaling rules",
            "log shipping",
            "cloud backups",
        ],
    ),
    (
        "testing",
        &[
            "unit tests for the parser",
            "regression tests for checkout",
            "property tests for the tokenizer",
            "flaky tests in CI",
            "QA checklist for the release",
            "snapshot tests for views",
            "mocks for the payment gateway",
            "coverage report",
            "load tests for the APIs",
            "e2e suite for onboarding",
            "fixtures for the orders tests",
            "spec for the billing rules",
        ],
    ),
    (
        "docs",
        &[
            "user guide",
            "onboarding guide",
            "changelog",
            "developer handbook",
            "docstrings in utils",
            "tutorial for the CLI",
            "release notes",
            "contribution guidelines",
            "runbook for on-call",
            "documentation for the SDK",
            "FAQ section",
            "getting started guide",
        ],
    ),
    (
        "general",
        &[
            "codebase structure",
            "error handling in the worker",
            "flaky nightly jobs",
            "caching options",
            "pull request for checkout",
            "dependency upgrades",
            "config loading",
            "logging setup",
            "retry logic",
            "experiment flags",
            "CLI arguments",
            "date handling",
        ],
    ),
];

/// Verbs per complexity band: simple, medium, complex, very complex (config.json defaults).
const VERBS: [&[&str]; 4] = [
    &[
        "Rename symbols in",
        "Format",
        "Lint",
        "Correct spelling in",
        "Small tweak to",
        "Trivial cleanup of",
    ],
    &[
        "Implement",
        "Add",
        "Build",
        "Create",
        "Update",
        "Fix bug in",
        "Review",
    ],
    &[
        "Refactor",
        "Optimize",
        "Debug",
        "Integrate",
        "Improve performance of",
        "Audit",
    ],
    &["Redesign", "Rewrite", "Migrate", "Rewrite from scratch"],
];
const BAND_WEIGHTS: [f64; 4] = [0.2, 0.42, 0.27, 0.11];
const BAND_NAMES: [&str; 4] = ["simple", "medium", "complex", "very complex"];

/// Query objects: paraphrases of the history's objects (synonyms, other word forms).
const QUERY_OBJECTS: &[(&str, &[&str])] = &[
    (
        "backend",
        &[
            "routes for the orders service",
            "order handlers",
            "invoice resolvers",
            "REST controllers for payments",
            "the checkout service",
            "rate limiting middleware",
            "webhook routes",
        ],
    ),
    (
        "frontend",
        &[
            "the settings view",
            "signup screen",
            "dashboard layout",
            "cart components",
            "the navigation menu",
            "styles for the landing screen",
            "modal UI",
        ],
    ),
    (
        "data",
        &[
            "sales ETL",
            "reporting SQL queries",
            "the warehouse",
            "ingestion of events data",
            "database tables for analytics",
            "churn dataset",
            "Postgres views",
        ],
    ),
    (
        "security",
        &[
            "the login",
            "JWT tokens",
            "OAuth flow",
            "password handling",
            "CSRF and XSS protection",
            "permissions",
            "RBAC",
        ],
    ),
    (
        "infrastructure",
        &[
            "the Docker setup",
            "Kubernetes deployment",
            "Terraform",
            "CI workflow",
            "Helm deployment",
            "cloud monitoring",
            "the staging cluster on Kubernetes",
        ],
    ),
    (
        "testing",
        &[
            "parser tests",
            "checkout regression tests",
            "QA for the release",
            "flaky CI tests",
            "mocks and fixtures",
            "coverage of the tests",
            "the e2e tests",
        ],
    ),
    (
        "docs",
        &[
            "the user documentation",
            "the onboarding docs",
            "changelog entries",
            "the handbook documentation",
            "CLI tutorial",
            "release notes docs",
            "the getting started docs",
        ],
    ),
];

/// One agent type of the realistic catalogue.
struct AgentSpec {
    name: &'static str,
    /// Home domains; `general` agents take any domain now and then.
    domains: &'static [&'static str],
    /// Share of the orchestrator's picks among agents for a domain.
    weight: f64,
    /// Success probability at home on medium tasks.
    base: f64,
    /// Median duration, minutes, and log-normal shape.
    median_min: f64,
    sigma: f64,
}

const CATALOGUE: &[AgentSpec] = &[
    AgentSpec {
        name: "general-purpose",
        domains: &["general"],
        weight: 3.0,
        base: 0.86,
        median_min: 2.5,
        sigma: 0.9,
    },
    AgentSpec {
        name: "backend-architect",
        domains: &["backend"],
        weight: 1.5,
        base: 0.9,
        median_min: 4.0,
        sigma: 0.7,
    },
    AgentSpec {
        name: "frontend-developer",
        domains: &["frontend"],
        weight: 1.6,
        base: 0.88,
        median_min: 3.5,
        sigma: 0.7,
    },
    AgentSpec {
        name: "code-reviewer",
        domains: &["general"],
        weight: 1.8,
        base: 0.93,
        median_min: 1.8,
        sigma: 0.6,
    },
    AgentSpec {
        name: "test-engineer",
        domains: &["testing"],
        weight: 1.4,
        base: 0.87,
        median_min: 3.0,
        sigma: 0.7,
    },
    AgentSpec {
        name: "security-auditor",
        domains: &["security"],
        weight: 1.2,
        base: 0.91,
        median_min: 5.0,
        sigma: 0.6,
    },
    AgentSpec {
        name: "data-engineer",
        domains: &["data"],
        weight: 1.3,
        base: 0.85,
        median_min: 4.5,
        sigma: 0.8,
    },
    AgentSpec {
        name: "devops-engineer",
        domains: &["infrastructure"],
        weight: 1.2,
        base: 0.84,
        median_min: 4.0,
        sigma: 0.9,
    },
    AgentSpec {
        name: "docs-writer",
        domains: &["docs"],
        weight: 1.0,
        base: 0.95,
        median_min: 2.0,
        sigma: 0.5,
    },
    AgentSpec {
        name: "Explore",
        domains: &["general"],
        weight: 2.0,
        base: 0.97,
        median_min: 1.0,
        sigma: 0.6,
    },
    AgentSpec {
        name: "debugger",
        domains: &["general"],
        weight: 0.9,
        base: 0.8,
        median_min: 5.5,
        sigma: 0.9,
    },
    AgentSpec {
        name: "api-designer",
        domains: &["backend"],
        weight: 0.8,
        base: 0.89,
        median_min: 3.0,
        sigma: 0.6,
    },
    AgentSpec {
        name: "ui-designer",
        domains: &["frontend"],
        weight: 0.7,
        base: 0.9,
        median_min: 3.0,
        sigma: 0.6,
    },
    AgentSpec {
        name: "database-admin",
        domains: &["data"],
        weight: 0.6,
        base: 0.88,
        median_min: 3.5,
        sigma: 0.7,
    },
    AgentSpec {
        name: "performance-engineer",
        domains: &["backend", "general"],
        weight: 0.5,
        base: 0.83,
        median_min: 6.0,
        sigma: 0.8,
    },
    AgentSpec {
        name: "cloud-architect",
        domains: &["infrastructure"],
        weight: 0.6,
        base: 0.87,
        median_min: 5.0,
        sigma: 0.7,
    },
    AgentSpec {
        name: "qa-specialist",
        domains: &["testing"],
        weight: 0.6,
        base: 0.9,
        median_min: 2.5,
        sigma: 0.6,
    },
    AgentSpec {
        name: "ml-engineer",
        domains: &["data"],
        weight: 0.5,
        base: 0.82,
        median_min: 7.0,
        sigma: 0.9,
    },
    AgentSpec {
        name: "technical-writer",
        domains: &["docs"],
        weight: 0.5,
        base: 0.94,
        median_min: 2.5,
        sigma: 0.5,
    },
    AgentSpec {
        name: "mobile-developer",
        domains: &["frontend"],
        weight: 0.4,
        base: 0.86,
        median_min: 4.0,
        sigma: 0.7,
    },
    AgentSpec {
        name: "Plan",
        domains: &["general"],
        weight: 1.0,
        base: 0.96,
        median_min: 1.5,
        sigma: 0.5,
    },
    AgentSpec {
        name: "refactoring-specialist",
        domains: &["general"],
        weight: 0.5,
        base: 0.85,
        median_min: 5.0,
        sigma: 0.8,
    },
];

const DOMAIN_WEIGHTS: [f64; 8] = [0.2, 0.16, 0.1, 0.08, 0.08, 0.12, 0.06, 0.2];

const FAILURES: &[&str] = &[
    "API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
    "API Error: 500 Internal server error",
    "Agent crashed: context window exceeded",
    "API Error: 400 invalid_request_error: prompt is too long",
];
const TOOL_ERRORS: &[(&str, &str)] = &[
    ("Bash", "Exit code 1\nerror: test failed"),
    ("Bash", "Exit code 127\ncommand not found"),
    ("Edit", "String to replace not found in file."),
    ("Read", "File does not exist."),
];

// ── the world: who succeeds at what ─────────────────────────────────────────────────────────

/// An agent as the generator sees it.
struct Agent {
    name: String,
    median_min: f64,
    sigma: f64,
    /// Success probability per domain index and band; None = never gets that domain.
    p: Vec<Option<[f64; 4]>>,
    /// Pick weight per domain index.
    weight: Vec<f64>,
    /// Recent (last 7 days) success drop.
    decline: f64,
    /// Only active in the last `recent_only_days` days.
    recent_only_days: Option<i64>,
    /// Probability of reporting success on a task it got wrong (`--false-success`).
    false_success: f64,
}

struct World {
    agents: Vec<Agent>,
    /// Domain names, in DOMAINS order (the recommend profile uses the first seven).
    domains: Vec<&'static str>,
    domain_weights: Vec<f64>,
}

fn clamp_p(p: f64) -> f64 {
    p.clamp(0.05, 0.99)
}

fn realistic_world(k: usize, rng: &mut Rng) -> World {
    let domains: Vec<&str> = DOMAINS.iter().map(|d| d.0).collect();
    let agents = CATALOGUE
        .iter()
        .take(k.clamp(1, CATALOGUE.len()))
        .map(|s| {
            let generalist = s.domains.contains(&"general");
            let mut p = Vec::new();
            let mut weight = Vec::new();
            for d in &domains {
                let home = s.domains.contains(d);
                let (w, off) = if home {
                    (s.weight, 0.0)
                } else if generalist {
                    (s.weight * 0.3, 0.05)
                } else {
                    (s.weight * 0.02, 0.15)
                };
                weight.push(w);
                let mut bands = [0.0; 4];
                for (b, x) in bands.iter_mut().enumerate() {
                    *x = clamp_p(s.base - off + 0.04 * (1.0 - b as f64) + 0.02 * rng.normal());
                }
                p.push(Some(bands));
            }
            Agent {
                name: s.name.to_string(),
                median_min: s.median_min,
                sigma: s.sigma,
                p,
                weight,
                decline: 0.0,
                recent_only_days: None,
                false_success: 0.0,
            }
        })
        .collect();
    World {
        agents,
        domains,
        domain_weights: DOMAIN_WEIGHTS.to_vec(),
    }
}

/// Specialist pairs per domain: a senior (better at complex work) and a junior (better at simple).
const RECOMMEND_PAIRS: [(&str, &str); 7] = [
    ("backend-architect", "backend-developer"),
    ("ui-designer", "frontend-developer"),
    ("data-engineer", "database-admin"),
    ("security-auditor", "security-engineer"),
    ("cloud-architect", "devops-engineer"),
    ("qa-specialist", "test-engineer"),
    ("technical-writer", "docs-writer"),
];
const DECLINING: &str = "frontend-developer";
const NEWCOMER: &str = "api-specialist";

fn recommend_world(rng: &mut Rng) -> World {
    let domains: Vec<&str> = DOMAINS.iter().take(7).map(|d| d.0).collect();
    let nd = domains.len();
    let mut agents = Vec::new();
    let curve = |base: f64, slope: f64, rng: &mut Rng| -> [f64; 4] {
        let mut b = [0.0; 4];
        for (i, x) in b.iter_mut().enumerate() {
            *x = clamp_p(base + slope * 0.1 * (i as f64 - 1.5) / 1.5 + 0.04 * rng.normal());
        }
        b
    };
    for (di, (senior, junior)) in RECOMMEND_PAIRS.iter().enumerate() {
        for (name, slope, w) in [
            (senior, 1.0, 0.25 + 0.2 * rng.f64()),
            (junior, -1.0, 0.35 + 0.25 * rng.f64()),
        ] {
            let base = 0.8 + 0.06 * rng.f64();
            let mut p = vec![None; nd];
            let mut weight = vec![0.0; nd];
            for d in 0..nd {
                if d == di {
                    p[d] = Some(curve(base, slope, rng));
                    weight[d] = w;
                } else {
                    // Now and then a specialist is sent off its domain, where it is weak.
                    p[d] = Some(curve(base - 0.25, 0.0, rng));
                    weight[d] = 0.015;
                }
            }
            agents.push(Agent {
                name: name.to_string(),
                median_min: 2.0 + 4.0 * rng.f64(),
                sigma: 0.6,
                p,
                weight,
                decline: if *name == DECLINING { 0.3 } else { 0.0 },
                recent_only_days: None,
                false_success: 0.0,
            });
        }
    }
    // Generalists: many runs everywhere, middling; fullstack is solid on backend and frontend.
    let gp: Vec<Option<[f64; 4]>> = (0..nd).map(|_| Some(curve(0.7, -0.5, rng))).collect();
    agents.push(Agent {
        name: "general-purpose".into(),
        median_min: 3.0,
        sigma: 0.9,
        p: gp,
        weight: vec![0.3; nd],
        decline: 0.0,
        recent_only_days: None,
        false_success: 0.0,
    });
    let mut fp = vec![None; nd];
    let mut fw = vec![0.0; nd];
    for d in [0, 1] {
        fp[d] = Some(curve(0.8, 0.0, rng));
        fw[d] = 0.15;
    }
    agents.push(Agent {
        name: "fullstack-developer".into(),
        median_min: 3.5,
        sigma: 0.7,
        p: fp,
        weight: fw,
        decline: 0.0,
        recent_only_days: None,
        false_success: 0.0,
    });
    // A newcomer with a handful of runs: good, not the best.
    let mut np = vec![None; nd];
    let mut nw = vec![0.0; nd];
    np[0] = Some([0.8, 0.8, 0.78, 0.75]);
    nw[0] = 0.15;
    agents.push(Agent {
        name: NEWCOMER.into(),
        median_min: 2.0,
        sigma: 0.5,
        p: np,
        weight: nw,
        decline: 0.0,
        recent_only_days: Some(5),
        false_success: 0.0,
    });
    World {
        agents,
        domains,
        domain_weights: vec![1.0; nd],
    }
}

impl World {
    /// The success probability of agent `a` on domain `d`, band `b`, at time `t`.
    fn p(&self, a: usize, d: usize, b: usize, t: i64, now: i64) -> f64 {
        let ag = &self.agents[a];
        let base = ag.p[d].map(|x| x[b]).unwrap_or(0.5);
        if ag.decline > 0.0 && t >= now - 7 * DAY_MS {
            clamp_p(base - ag.decline)
        } else {
            base
        }
    }
    /// Picks an agent for a task of domain `d` starting at `t`.
    fn pick_agent(&self, d: usize, t: i64, now: i64, rng: &mut Rng) -> usize {
        let w: Vec<f64> = self
            .agents
            .iter()
            .map(|a| match a.recent_only_days {
                Some(days) if t < now - days * DAY_MS => 0.0,
                _ => a.weight[d],
            })
            .collect();
        rng.weighted(&w)
    }
}

const DAY_MS: i64 = 86_400_000;

// ── runs and payloads ───────────────────────────────────────────────────────────────────────

#[derive(Clone, Copy, PartialEq)]
enum End {
    Success,
    Failure,
    Cancelled,
    Lost,
}

struct Run {
    id: String,
    agent: usize,
    description: String,
    parent: Option<String>,
    start: i64,
    end: i64,
    end_kind: End,
    tool_errors: u32,
    /// The transcript's test result: (passed, failed).
    tests: Option<(i64, i64)>,
}

/// Payloads of one session, with their times, sorted before they are handed to the writer.
struct Out {
    items: Vec<(i64, u32, Binary, String)>,
    seq: u32,
    /// Transcript summaries to write as a SubagentStop hook does after reading the agent's file.
    summaries: Vec<SummaryOf>,
}

/// A run's transcript summary with a test result, and the stop event it belongs to.
struct SummaryOf {
    stop: StoredEvent,
    agent_id: String,
    summary: transcript::Summary,
}

impl Out {
    fn push(&mut self, ts: i64, b: Binary, text: String) {
        self.seq += 1;
        self.items.push((ts, self.seq, b, text));
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn esc(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

struct Session<'a> {
    id: String,
    transcript: String,
    cwd: &'a str,
}

impl Session<'_> {
    fn base(&self, event: &str, prompt_id: &str, ts: i64) -> String {
        format!(
            r#""session_id":"{}","transcript_path":"{}","cwd":"{}","prompt_id":"{}","permission_mode":"default","hook_event_name":"{}","timestamp":"{}""#,
            self.id,
            self.transcript,
            self.cwd,
            prompt_id,
            event,
            iso(ts)
        )
    }

    /// The transcript summary a SubagentStop hook would write for a run whose agent ran tests.
    fn tested_summary(
        &self,
        prompt_id: &str,
        r: &Run,
        agent: &str,
        (passed, failed): (i64, i64),
    ) -> SummaryOf {
        let mut tools = BTreeMap::new();
        tools.insert(
            "Bash".to_string(),
            transcript::ToolCount {
                calls: i64::from(r.tool_errors) + 2,
                errors: i64::from(r.tool_errors),
            },
        );
        SummaryOf {
            stop: StoredEvent {
                ts: r.end,
                source: Source::ClaudeCode.as_str(),
                kind: "subagent_stop".into(),
                session_id: Some(self.id.clone()),
                prompt_id: Some(prompt_id.to_string()),
                agent_id: Some(r.id.clone()),
                agent_type: Some(agent.to_string()),
                tool_name: None,
                tool_use_id: None,
                payload: String::new(),
                transcript_path: None,
                agent_transcript_path: None,
                host: None,
            },
            agent_id: r.id.clone(),
            summary: transcript::Summary {
                models: vec!["claude-sonnet-4-6".into()],
                tools,
                tests: Some(transcript::TestCounts {
                    passed,
                    failed,
                    skipped: 0,
                    runner: "cargo".into(),
                }),
                // A summary as today's reader writes it: with the outcome fields (derivation
                // takes a summary without them for one written before schema 10 and ignores
                // its tests). The generator models no files or tool timings.
                files_created: Some(0),
                files_modified: Some(0),
                commands_failed: Some(i64::from(r.tool_errors)),
                tool_ms: None,
                first_ts: Some(r.start),
                last_ts: Some(r.end),
                ..Default::default()
            },
        }
    }

    /// PreToolUse(Agent) → SubagentStart → [tool errors] → SubagentStop + PostToolUse, or
    /// PostToolUseFailure (failed / interrupted), or nothing (lost).
    fn emit_run(&self, out: &mut Out, prompt_id: &str, r: &Run, agent: &str, rng: &mut Rng) {
        if let Some(t) = r.tests {
            out.summaries
                .push(self.tested_summary(prompt_id, r, agent, t));
        }
        let tu = format!("toolu_{}", &r.id[1..]);
        let caller = r
            .parent
            .as_ref()
            .map(|p| format!(r#","agent_id":"{p}","agent_type":"caller""#))
            .unwrap_or_default();
        let input = format!(
            r#""tool_input":{{"description":{},"prompt":{},"subagent_type":"{}","run_in_background":false}}"#,
            esc(&r.description),
            esc(&format!(
                "Please {}. Report what you changed.",
                r.description.to_lowercase()
            )),
            agent
        );
        out.push(
            r.start,
            Binary::SubagentStart,
            format!(
                r#"{{{},"tool_name":"Agent",{input},"tool_use_id":"{tu}"{caller}}}"#,
                self.base("PreToolUse", prompt_id, r.start)
            ),
        );
        let started = r.start + rng.range(20, 400);
        out.push(
            started,
            Binary::SubagentStart,
            format!(
                r#"{{{},"agent_id":"{}","agent_type":"{agent}"}}"#,
                self.base("SubagentStart", prompt_id, started),
                r.id
            ),
        );
        for i in 0..r.tool_errors {
            let (tool, err) = rng.pick(TOOL_ERRORS);
            let ts = started + (r.end - started) * (i as i64 + 1) / (r.tool_errors as i64 + 2);
            out.push(
                ts,
                Binary::SubagentStop,
                format!(
                    r#"{{{},"agent_id":"{}","agent_type":"{agent}","tool_name":"{tool}","tool_input":{{}},"tool_use_id":"toolu_e{}","error":{},"is_interrupt":false}}"#,
                    self.base("PostToolUseFailure", prompt_id, ts),
                    r.id,
                    rng.hex(20),
                    esc(err)
                ),
            );
        }
        match r.end_kind {
            End::Success => {
                out.push(
                    r.end,
                    Binary::SubagentStop,
                    format!(
                        r#"{{{},"agent_id":"{}","agent_type":"{agent}","stop_hook_active":false,"agent_transcript_path":"/nonexistent/{}/agent-{}.jsonl","last_assistant_message":"Done: {}","background_tasks":[]}}"#,
                        self.base("SubagentStop", prompt_id, r.end),
                        r.id,
                        self.id,
                        r.id,
                        r.description.replace('"', "'")
                    ),
                );
                let post = r.end + rng.range(5, 60);
                out.push(
                    post,
                    Binary::SubagentStop,
                    format!(
                        r#"{{{},"tool_name":"Agent",{input},"tool_response":{{"status":"completed","agentId":"{}","agentType":"{agent}","totalDurationMs":{},"totalToolUseCount":{},"resolvedModel":"claude-sonnet-4-6"}},"tool_use_id":"{tu}"{caller}}}"#,
                        self.base("PostToolUse", prompt_id, post),
                        r.id,
                        r.end - r.start,
                        rng.range(1, 40)
                    ),
                );
            }
            End::Failure | End::Cancelled => {
                let (err, interrupt) = if r.end_kind == End::Cancelled {
                    ("Interrupted by user".to_string(), true)
                } else {
                    (rng.pick(FAILURES).to_string(), false)
                };
                out.push(
                    r.end,
                    Binary::SubagentStop,
                    format!(
                        r#"{{{},"tool_name":"Agent",{input},"tool_use_id":"{tu}","error":{},"is_interrupt":{interrupt}{caller}}}"#,
                        self.base("PostToolUseFailure", prompt_id, r.end),
                        esc(&err)
                    ),
                );
            }
            End::Lost => {}
        }
    }
}

/// What one generated run was, for the statistics line.
#[derive(Default)]
struct Counts {
    runs: u64,
    payloads: u64,
    by_end: [u64; 4],
    generic: u64,
    nested: u64,
}

struct Gen<'a> {
    world: &'a World,
    rng: Rng,
    now: i64,
    begin: i64,
    total_runs: u64,
    counts: Counts,
    session_no: u64,
    /// Cached band of each description template (classify::complexity with the default rules).
    cfg: Config,
    /// Draws for the false successes, apart from `rng`.
    side: Rng,
    /// Draws for the test results, apart from both: `--tested` changes no outcome.
    test_rng: Rng,
    /// `--tested`.
    tested: f64,
    /// Variants per catalogue agent (`--agent-types`; 1: the catalogue's names), and their draws.
    variants: u64,
    variant_rng: Rng,
}

fn band_of(c: i64) -> usize {
    match c {
        i64::MIN..=3 => 0,
        4..=6 => 1,
        7..=8 => 2,
        _ => 3,
    }
}

impl Gen<'_> {
    /// The agent type a run of catalogue agent `a` is recorded under (`--agent-types`).
    fn type_name(&mut self, a: usize) -> String {
        let name = &self.world.agents[a].name;
        if self.variants <= 1 {
            return name.clone();
        }
        let k = self.variant_rng.range(0, self.variants as i64 - 1);
        format!("{name}-v{k}")
    }
    /// A task description for domain `d`: (text, band).
    fn task(&mut self, d: usize) -> (String, usize) {
        let b = self.rng.weighted(&BAND_WEIGHTS);
        let verb = self.rng.pick(VERBS[b]);
        let obj = self.rng.pick(DOMAINS[d].1);
        let mut text = format!("{verb} {obj}");
        if self.rng.chance(0.03) {
            text.push_str(&format!(" (#{})", self.rng.range(1000, 3999)));
        }
        let band = band_of(classify::complexity(&self.cfg, &text));
        (text, band)
    }

    fn duration_ms(&mut self, a: usize) -> i64 {
        let ag = &self.world.agents[a];
        let min = self
            .rng
            .lognormal(ag.median_min, ag.sigma)
            .clamp(0.05, 240.0);
        (min * 60_000.0) as i64
    }

    /// How a run ends, and whether the task was really done.
    fn outcome(&mut self, a: usize, d: usize, b: usize, t: i64) -> (End, bool) {
        if t > self.now - 20 * 60_000 || self.rng.chance(0.004) {
            return (End::Lost, false); // recent ones are still running
        }
        let p = self.world.p(a, d, b, t, self.now);
        let f = self.world.agents[a].false_success;
        if self.rng.chance(p) {
            return (End::Success, true);
        }
        // The side stream: histories without these options draw exactly as before.
        if f > 0.0 && self.side.chance(f) {
            return (End::Success, false);
        }
        let end = if self.rng.chance(0.2) {
            End::Cancelled
        } else {
            End::Failure
        };
        (end, false)
    }

    fn new_run(&mut self, d: usize, start: i64, parent: Option<String>) -> (Run, usize) {
        let a = self.world.pick_agent(d, start, self.now, &mut self.rng);
        let (description, b) = self.task(d);
        let dur = self.duration_ms(a);
        let (end_kind, done) = self.outcome(a, d, b, start);
        let end = start
            + if end_kind == End::Success {
                dur
            } else {
                (dur as f64 * (0.2 + 0.6 * self.rng.f64())) as i64
            };
        let tool_errors = if self.rng.chance(0.12) {
            self.rng.range(1, 3) as u32
        } else {
            0
        };
        let id = format!("a{}", self.rng.hex(16));
        let tests = (self.tested > 0.0
            && matches!(end_kind, End::Success | End::Failure)
            && self.test_rng.chance(self.tested))
        .then(|| {
            let failed = if done { 0 } else { self.test_rng.range(1, 4) };
            (self.test_rng.range(5, 80), failed)
        });
        (
            Run {
                id,
                agent: a,
                description,
                parent,
                start,
                end,
                end_kind,
                tool_errors,
                tests,
            },
            b,
        )
    }

    fn count(&mut self, r: &Run) {
        self.counts.runs += 1;
        self.counts.by_end[r.end_kind as usize] += 1;
        if r.parent.is_some() {
            self.counts.nested += 1;
        }
    }

    /// One Claude Code session: turns of parallel (sometimes nested) agents.
    fn cc_session(&mut self, start: i64, out: &mut Out) {
        self.session_no += 1;
        let sid = format!(
            "{:08x}-{}-4{}-8{}-{}",
            self.session_no,
            self.rng.hex(4),
            self.rng.hex(3),
            self.rng.hex(3),
            self.rng.hex(12)
        );
        let s = Session {
            id: sid.clone(),
            transcript: format!("/nonexistent/projects/proj/{sid}.jsonl"),
            cwd: "/home/dev/proj",
        };
        out.push(start, Binary::WorkflowEvent, format!(r#"{{"session_id":"{sid}","transcript_path":"{}","cwd":"/home/dev/proj","hook_event_name":"SessionStart","source":"startup","timestamp":"{}"}}"#, s.transcript, iso(start)));
        let turns = self.rng.range(1, 6);
        let mut t = start + self.rng.range(1_000, 60_000);
        let mut last = t;
        for _ in 0..turns {
            if self.counts.runs >= self.total_runs {
                break;
            }
            let pid = format!("{}-{}", self.rng.hex(8), self.rng.hex(12));
            let d = self.rng.weighted(&self.world.domain_weights);
            let k = [1, 1, 1, 1, 1, 2, 2, 2, 3, 4][self.rng.below(10)];
            let prompt = format!(
                "Please handle the {} work: {}",
                self.world.domains[d], DOMAINS[d].1[0]
            );
            out.push(
                t,
                Binary::WorkflowEvent,
                format!(
                    r#"{{{},"prompt":{}}}"#,
                    s.base("UserPromptSubmit", &pid, t),
                    esc(&prompt)
                ),
            );
            let mut turn_end = t;
            for i in 0..k {
                if self.counts.runs >= self.total_runs {
                    break;
                }
                let rs = t + 2_000 + i * self.rng.range(50, 1500);
                let (run, _) = self.new_run(d, rs, None);
                self.count(&run);
                turn_end = turn_end.max(run.end);
                // Delegation: now and then an agent hands parts to 1–2 children (and rarely deeper).
                if run.end_kind == End::Success && self.rng.chance(0.12) {
                    let n = self.rng.range(1, 2);
                    let mut parent = run.id.clone();
                    let (ps, pe) = (run.start, run.end);
                    for j in 0..n {
                        if self.counts.runs >= self.total_runs {
                            break;
                        }
                        let cs = ps + (pe - ps) * (j + 1) / (n + 2);
                        let (mut child, _) = self.new_run(d, cs, Some(parent.clone()));
                        child.end = child.end.min(pe - 1_000).max(cs + 500);
                        if child.end_kind == End::Lost {
                            child.end_kind = End::Success;
                        }
                        self.count(&child);
                        let name = self.type_name(child.agent);
                        s.emit_run(out, &pid, &child, &name, &mut self.rng);
                        if self.rng.chance(0.15) {
                            parent = child.id.clone();
                        }
                    }
                }
                let name = self.type_name(run.agent);
                s.emit_run(out, &pid, &run, &name, &mut self.rng);
            }
            let stop = turn_end + self.rng.range(2_000, 30_000);
            if stop < self.now {
                out.push(stop, Binary::WorkflowEvent, format!(r#"{{{},"stop_hook_active":false,"last_assistant_message":"Done.","background_tasks":[]}}"#, s.base("Stop", &pid, stop)));
            }
            last = last.max(stop);
            t = stop + self.rng.range(30_000, 20 * 60_000);
        }
        if last + 60_000 < self.now {
            out.push(last + 60_000, Binary::WorkflowEvent, format!(r#"{{"session_id":"{sid}","transcript_path":"{}","cwd":"/home/dev/proj","hook_event_name":"SessionEnd","reason":"other","timestamp":"{}"}}"#, s.transcript, iso(last + 60_000)));
        }
    }

    /// A generic orchestrator's workflow: explicit start, agents with tokens, complete.
    fn generic_workflow(&mut self, start: i64, out: &mut Out) {
        self.session_no += 1;
        let wf = format!("wf-{:08x}-{}", self.session_no, self.rng.hex(8));
        let d = self.rng.weighted(&self.world.domain_weights);
        out.push(start, Binary::WorkflowEvent, format!(r#"{{"event":"workflow_start","id":"{wf}","project":"/srv/orchestrator","timestamp":"{}"}}"#, iso(start)));
        let n = self.rng.range(1, 4);
        let mut t = start + 500;
        let mut ok = true;
        for _ in 0..n {
            if self.counts.runs >= self.total_runs {
                break;
            }
            let (run, _) = self.new_run(d, t, None);
            self.count(&run);
            self.counts.generic += 1;
            let agent = &self.type_name(run.agent);
            out.push(
                run.start,
                Binary::SubagentStart,
                format!(
                    r#"{{"agent_name":"{agent}","invocation_id":"{}","task_description":{},"workflow_id":"{wf}","timestamp":"{}"}}"#,
                    run.id,
                    esc(&run.description),
                    iso(run.start)
                ),
            );
            if run.end_kind != End::Lost {
                let success = run.end_kind == End::Success;
                ok &= success;
                let (i, o) = (self.rng.range(2_000, 60_000), self.rng.range(200, 8_000));
                out.push(
                    run.end,
                    Binary::SubagentStop,
                    format!(
                        r#"{{"invocation_id":"{}","success":{success},"outcome_summary":"finished","error":{},"tokens":{{"input":{i},"output":{o},"cache_read":{},"cache_write":{}}},"model":"claude-sonnet-4-6","timestamp":"{}"}}"#,
                        run.id,
                        if success { "null".to_string() } else { esc(self.rng.pick::<&str>(FAILURES)) },
                        i * 3,
                        i / 2,
                        iso(run.end)
                    ),
                );
            }
            t = run.end + self.rng.range(500, 5_000);
        }
        if t < self.now {
            out.push(t, Binary::WorkflowEvent, format!(r#"{{"event":"workflow_complete","id":"{wf}","duration":{},"success":{ok},"timestamp":"{}"}}"#, (t - start) / 1000, iso(t)));
        }
    }
}

// ── ground truth (recommend profile) ────────────────────────────────────────────────────────

fn ground_truth(world: &World, now: i64, rng: &mut Rng, cfg: &Config) -> serde_json::Value {
    let mut cells = Vec::new();
    let mut best_of: BTreeMap<(usize, usize), String> = BTreeMap::new();
    for (d, dname) in world.domains.iter().enumerate() {
        for (b, band_name) in BAND_NAMES.iter().enumerate() {
            let mut ps: Vec<(f64, &str)> = world
                .agents
                .iter()
                .enumerate()
                .filter(|(_, a)| a.weight[d] > 0.0)
                .map(|(i, a)| (world.p(i, d, b, now, now), a.name.as_str()))
                .collect();
            ps.sort_by(|x, y| y.0.total_cmp(&x.0));
            best_of.insert((d, b), ps[0].1.to_string());
            cells.push(json!({
                "domain": dname, "band": band_name, "best": ps[0].1, "p_best": ps[0].0,
                "runner_up": ps.get(1).map(|x| x.1), "p_runner_up": ps.get(1).map(|x| x.0),
                "p": ps.iter().map(|(p, n)| (n.to_string(), json!(p))).collect::<serde_json::Map<_, _>>(),
            }));
        }
    }
    let mut queries = Vec::new();
    for (d, dname) in world.domains.iter().enumerate() {
        let objects = QUERY_OBJECTS
            .iter()
            .find(|q| q.0 == *dname)
            .map(|q| q.1)
            .unwrap_or(&[]);
        for b in 0..4 {
            let mut made = 0;
            let mut tries = 0;
            while made < 10 && tries < 200 {
                tries += 1;
                let text = format!("{} {}", rng.pick(VERBS[b]), rng.pick(objects));
                let c = classify::complexity(cfg, &text);
                if band_of(c) != b {
                    continue;
                }
                queries.push(json!({"task": text, "domain": dname, "band": BAND_NAMES[b], "complexity": c, "best": best_of[&(d, b)]}));
                made += 1;
            }
        }
    }
    let agents: Vec<_> = world
        .agents
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "declining_by": a.decline,
                "newcomer_days": a.recent_only_days,
                "p": world.domains.iter().enumerate().filter_map(|(d, n)| a.p[d].filter(|_| a.weight[d] > 0.0).map(|p| (n.to_string(), json!(p)))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    json!({"now": iso(now), "now_ms": now, "bands": BAND_NAMES, "agents": agents, "cells": cells, "queries": queries})
}

// ── main loop ───────────────────────────────────────────────────────────────────────────────

#[allow(clippy::too_many_lines)] // the generator's main loop, a script
fn run(a: Args) -> anyhow::Result<()> {
    let now = match &a.now {
        Some(s) => agent_telemetry::timeparse::parse_instant(s)
            .with_context(|| format!("--now '{s}': expected an ISO-8601 time"))?,
        None => agent_telemetry::store::now_ms(),
    };
    if a.days == 0 || a.runs == 0 || a.batch == 0 {
        bail!("--days, --runs and --batch must be positive");
    }
    let store = Store::create(&a.db).with_context(|| format!("creating {}", a.db.display()))?;
    let existing: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    if existing > 0 && !a.append {
        bail!(
            "{} already holds {existing} events (pass --append to add to it)",
            a.db.display()
        );
    }
    store.conn().execute_batch("PRAGMA cache_size = -200000")?;
    let mut rng = Rng(a.seed ^ 0x5EED_0FA6_E77E_1E55);
    if !(0.0..=1.0).contains(&a.tested) || !(0.0..=1.0).contains(&a.false_success) {
        bail!("--tested and --false-success are shares from 0 to 1");
    }
    let mut world = match a.profile {
        Profile::Realistic => realistic_world(a.agents, &mut rng),
        Profile::Recommend => recommend_world(&mut rng),
    };
    if a.false_success > 0.0 {
        let mut pick = Rng(a.seed ^ 0x0FA1_5E00);
        for ag in &mut world.agents {
            if pick.chance(0.5) {
                ag.false_success = a.false_success;
            }
        }
    }
    let cfg = Config::default();
    if a.profile == Profile::Recommend {
        let truth = ground_truth(&world, now, &mut Rng(a.seed ^ 0x0007_2074), &cfg);
        let path = truth_path(&a.db);
        std::fs::write(&path, serde_json::to_string_pretty(&truth)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("gen-history: ground truth in {}", path.display());
    }

    // The generator runs on its own thread, the append path on this one.
    let (tx, rx) = mpsc::sync_channel::<(Vec<(Binary, String, i64)>, Vec<SummaryOf>)>(2);
    let begin = now - i64::from(a.days) * DAY_MS;
    let (total, batch, generic_share) = (
        a.runs,
        a.batch,
        if a.profile == Profile::Realistic {
            0.1
        } else {
            0.05
        },
    );
    let t0 = Instant::now();
    let producer = std::thread::scope(|scope| -> anyhow::Result<Counts> {
        let handle = scope.spawn(move || {
            let mut g = Gen {
                world: &world,
                rng,
                now,
                begin,
                total_runs: total,
                counts: Counts::default(),
                session_no: 0,
                cfg,
                side: Rng(a.seed ^ 0x7E57_ED00),
                test_rng: Rng(a.seed ^ 0x0007_E575),
                tested: a.tested,
                variants: (a.agent_types as u64)
                    .div_ceil(world.agents.len() as u64)
                    .max(1),
                variant_rng: Rng(a.seed ^ 0x7195_0000),
            };
            let mut pending: Vec<(Binary, String, i64)> = Vec::with_capacity(batch + 1000);
            let mut summaries: Vec<SummaryOf> = Vec::new();
            while g.counts.runs < g.total_runs {
                // Time advances with the share of runs generated, so any size fills the span.
                let span = now - g.begin - 3 * 3_600_000;
                let start = g.begin
                    + (span as f64 * g.counts.runs as f64 / g.total_runs as f64) as i64
                    + g.rng.range(0, 600_000);
                let mut out = Out {
                    items: Vec::new(),
                    seq: 0,
                    summaries: Vec::new(),
                };
                if g.rng.chance(generic_share) {
                    g.generic_workflow(start, &mut out);
                } else {
                    g.cc_session(start, &mut out);
                }
                out.items.sort_by_key(|(ts, seq, _, _)| (*ts, *seq));
                g.counts.payloads += out.items.len() as u64;
                pending.extend(out.items.into_iter().map(|(_, _, b, text)| (b, text, now)));
                summaries.extend(out.summaries);
                if pending.len() >= batch
                    && tx
                        .send((std::mem::take(&mut pending), std::mem::take(&mut summaries)))
                        .is_err()
                {
                    break;
                }
            }
            if !pending.is_empty() {
                let _ = tx.send((pending, summaries));
            }
            g.counts
        });
        for (chunk, summaries) in rx {
            hook::record_many(&store, &chunk)?;
            // After their runs' stops, as a SubagentStop hook writes what it read from the
            // agent's transcript.
            store.write_tx(|s| {
                summaries.into_iter().try_for_each(|x| {
                    let path = PathBuf::from(format!(
                        "/nonexistent/{}/agent-{}.jsonl",
                        x.stop.session_id.as_deref().unwrap_or(""),
                        x.agent_id
                    ));
                    let read = TranscriptRead::Agent {
                        agent_id: x.agent_id,
                        path,
                        summary: Box::new(x.summary),
                        meta: None,
                    };
                    hook::event::store_transcripts(s, &x.stop, &[read])
                })
            })?;
        }
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("generator thread panicked"))
    })?;
    let c = producer;
    let append_s = t0.elapsed().as_secs_f64();
    eprintln!(
        "gen-history: {} runs ({} nested, {} generic; success {}, failure {}, cancelled {}, lost/running {}), {} payloads in {:.1}s = {:.0} payloads/s",
        c.runs, c.nested, c.generic, c.by_end[0], c.by_end[1], c.by_end[2], c.by_end[3], c.payloads, append_s, c.payloads as f64 / append_s
    );
    drop(store);
    if !a.no_derive {
        let t1 = Instant::now();
        let ctx = Ctx::open(Some(&a.db))?;
        let runs: i64 = ctx.store.conn().query_row(
            "SELECT count(*) FROM agent_runs WHERE internal = 0",
            [],
            |r| r.get(0),
        )?;
        let d = t1.elapsed().as_secs_f64();
        eprintln!(
            "gen-history: derived {runs} agent runs in {d:.1}s ({:.0} events/s)",
            c.payloads as f64 / d
        );
    }
    Ok(())
}

/// `ground-truth.json` beside the database.
fn truth_path(db: &Path) -> PathBuf {
    db.parent()
        .unwrap_or(Path::new("."))
        .join("ground-truth.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_carry_no_complexity_keyword() {
        let cfg = Config::default();
        for (d, objects) in DOMAINS.iter().chain(QUERY_OBJECTS) {
            for o in objects.iter() {
                assert_eq!(
                    classify::complexity(&cfg, &format!("Lint {o}")),
                    classify::SIMPLE,
                    "{d}: {o}"
                );
            }
        }
        for (b, verbs) in VERBS.iter().enumerate() {
            for v in verbs.iter() {
                assert_eq!(
                    band_of(classify::complexity(&cfg, &format!("{v} user guide"))),
                    b,
                    "{v}"
                );
            }
        }
    }

    #[test]
    fn rng_is_deterministic() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        assert_eq!(
            (0..5).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
    }
}
