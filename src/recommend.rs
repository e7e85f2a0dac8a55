//! `query-best-agent`: which agent should take this task, judged by what similar past tasks did.
//!
//! The whole method, with its weights and the measured accuracy, is in docs/recommend.md. In short:
//!
//! 1. Read the per (agent, description, complexity) outcome counts kept by triggers in
//!    `agent_task_stats` (thousands of rows, not millions of runs); `--days` aggregates the runs
//!    of the window instead.
//! 2. Tokenise every distinct description (regex words, stop words out, light stemming, a small
//!    synonym table mapping `endpoint`/`rest`/`route` to `api` and so on) and weight terms by
//!    BM25's inverse document frequency over all past runs. Similarity = IDF-weighted cosine.
//! 3. Per agent: similarity, domain fit, success on similar tasks at the task's complexity shrunk
//!    towards its domain work, its own rate and the global rate (empirical Bayes, with a band
//!    effect and a drift correction), complexity fit, speed and trend → one weighted score.
//! 4. Confidence grows with the similarity-weighted number of similar past tasks.

use crate::classify;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::query::sql;
use crate::query::stats::{self, Outcomes};
use crate::render::{self, Grid, Report};
use crate::store::Store;
use crate::vocab::RunStatus;
use regex::Regex;
use rusqlite::params;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

pub use crate::query::stats::Trend;

/// A past description is a "similar task" when its similarity to the task reaches this.
pub const SIMILAR_THRESHOLD: f64 = 0.3;
/// Score weights (sum to 1): outcome, similarity, domain, complexity fit, speed, trend.
pub const WEIGHTS: Weights = Weights {
    outcome: 0.45,
    similarity: 0.20,
    domain: 0.15,
    complexity: 0.10,
    speed: 0.05,
    trend: 0.05,
};
/// Weight of words that only say how hard a task is (the complexity keywords, other than
/// domain words such as "api" or "security") in the similarity.
pub const COMPLEXITY_TERM_WEIGHT: f64 = 0.3;
/// Prior strength (in pseudo-runs) of each empirical-Bayes step (docs/recommend.md).
pub const PRIOR_RUNS: f64 = 10.0;
/// How many posterior standard deviations the ranked outcome stays below the estimate.
pub const OUTCOME_Z: f64 = 1.0;
/// Similarity-weighted similar runs at which confidence reaches one half.
pub const CONFIDENCE_HALF: f64 = 10.0;
/// Default `--min-confidence`.
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.3;
/// The message of exit code 1.
pub const NO_TRACK_RECORD: &str =
    "no agent has a track record for this kind of task — consider creating a specialist";

const DAY_MS: i64 = 86_400_000;

/// The weights of the score components.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Weights {
    pub outcome: f64,
    pub similarity: f64,
    pub domain: f64,
    pub complexity: f64,
    pub speed: f64,
    pub trend: f64,
}

/// A validated question.
#[derive(Debug, Clone)]
pub struct Query {
    /// The task, in words.
    pub task: String,
    /// The task's domain; None = inferred from the task's words.
    pub domain: Option<String>,
    /// Candidates below this confidence are not recommended.
    pub min_confidence: f64,
    /// Only runs that started in the last N days.
    pub days: Option<u32>,
    /// "Now" in unix ms (trend window, lost runs).
    pub now: i64,
    pub config: Config,
}

impl Query {
    /// A query with the default settings.
    pub fn new(task: &str, now: i64, config: Config) -> Query {
        Query {
            task: task.to_string(),
            domain: None,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            days: None,
            now,
            config,
        }
    }

    /// Checks the arguments before any SQL runs.
    pub fn validate(&self) -> Result<()> {
        if self.task.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "--task is empty: describe the task in a few words".into(),
            ));
        }
        if terms(&self.task).is_empty() {
            return Err(Error::InvalidArgument(format!(
                "--task '{}' has no words to match (only stop words)",
                self.task
            )));
        }
        if !(0.0..=1.0).contains(&self.min_confidence) || self.min_confidence.is_nan() {
            return Err(Error::InvalidArgument(format!(
                "--min-confidence {}: expected a number from 0 to 1",
                self.min_confidence
            )));
        }
        if self.days == Some(0) {
            return Err(Error::InvalidArgument("--days must be at least 1".into()));
        }
        if let Some(d) = &self.domain {
            let known = known_domains(&self.config);
            if !known.iter().any(|k| k.eq_ignore_ascii_case(d)) {
                return Err(Error::InvalidArgument(format!(
                    "unknown --domain '{d}'; known domains: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// The trend component: the one trend test ([`stats::trend`], docs/metrics.md `trends`) of the
/// agent's last 7 UTC days against the earlier days of the window: improving 1, stable or
/// insufficient 0.5, declining 0.
fn trend_score(t: Trend) -> f64 {
    match t {
        Trend::Improving => 1.0,
        Trend::Declining => 0.0,
        Trend::Stable | Trend::Insufficient => 0.5,
    }
}

/// A trend as the table prints it (`n/a` when either period has too few decided runs).
fn trend_label(t: Trend) -> &'static str {
    match t {
        Trend::Insufficient => "n/a",
        t => t.words(),
    }
}

/// One agent's standing for the task: the score, its components and the evidence behind them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Candidate {
    pub agent: String,
    /// Weighted sum of the components below, 0–1.
    pub score: f64,
    /// 0–1: n / (n + 10), n = similarity-weighted similar past runs with an outcome.
    pub confidence: f64,
    /// Reaches `--min-confidence`.
    pub qualifies: bool,
    /// Best similarity of one of the agent's past descriptions to the task, 0–1.
    pub similarity: f64,
    pub domain_fit: f64,
    /// The ranked outcome: estimated success minus one posterior standard deviation.
    pub outcome: f64,
    /// Estimated success on this task (empirical Bayes, docs/recommend.md).
    pub estimated_success: f64,
    pub complexity_fit: f64,
    pub speed: f64,
    pub trend: Trend,
    /// Runs of similar tasks (any status).
    pub similar_tasks: i64,
    /// Similar runs with an outcome (success, failure, lost) and their successes.
    pub similar_decided: i64,
    pub similar_success: i64,
    /// similar_success / similar_decided.
    pub success_rate: Option<f64>,
    /// All runs of the agent in the window.
    pub total_tasks: i64,
    pub overall_success_rate: Option<f64>,
    /// Mean duration of the agent's runs in the window, minutes.
    pub avg_duration_min: Option<f64>,
    /// The agent's domain by name (config `domains`), else by history.
    pub agent_domain: Option<String>,
    pub reason: String,
}

/// Every candidate for a task, best first.
#[derive(Debug, Clone, Serialize)]
pub struct Ranking {
    pub task: String,
    /// classify::complexity of the task (1–10).
    pub complexity: i64,
    pub domain: Option<String>,
    /// given | inferred | none
    pub domain_source: &'static str,
    /// The task's terms after stemming and synonyms (those also seen in history).
    pub terms: Vec<String>,
    pub min_confidence: f64,
    pub global_success_rate: Option<f64>,
    pub candidates: Vec<Candidate>,
}

/// The recommended agent.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub task: String,
    pub complexity: i64,
    pub domain: Option<String>,
    #[serde(flatten)]
    pub pick: Candidate,
}

/// The best agent reaching `min_confidence`, or None (exit 1).
pub fn query_best_agent(store: &Store, q: &Query) -> Result<Option<Recommendation>> {
    let r = rank_candidates(store, q)?;
    Ok(r.candidates
        .iter()
        .find(|c| c.qualifies)
        .map(|c| Recommendation {
            task: r.task.clone(),
            complexity: r.complexity,
            domain: r.domain.clone(),
            pick: c.clone(),
        }))
}

// ── text ────────────────────────────────────────────────────────────────────────────────────

const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "for",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "with",
    "from",
    "into",
    "onto",
    "over",
    "under",
    "about",
    "as",
    "is",
    "are",
    "be",
    "been",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "our",
    "my",
    "your",
    "their",
    "we",
    "i",
    "you",
    "please",
    "some",
    "any",
    "all",
    "via",
    "per",
    "using",
    "use",
    "then",
    "so",
    "not",
    "no",
    "up",
    "out",
    "etc",
    "also",
    "can",
    "should",
    "must",
    "will",
    "need",
    "needs",
    "just",
    "more",
    "less",
    "very",
    "do",
    "does",
    "new",
    "existing",
    "current",
    "task",
    "tasks",
    "work",
    "thing",
    "stuff",
    "help",
    "agent",
    // Size and difficulty words: complexity is judged separately.
    "simple",
    "small",
    "trivial",
    "quick",
    "minor",
    "tiny",
    "big",
    "large",
    "huge",
    "complex",
    "complicated",
    "major",
    "entire",
    "whole",
    "full",
    "hard",
    "easy",
];

/// Synonym groups: every word maps to the group's first word. Applied after stemming.
const SYNONYMS: &[&[&str]] = &[
    &[
        "api",
        "apis",
        "endpoint",
        "rest",
        "restful",
        "route",
        "router",
        "routing",
        "handler",
        "controller",
        "graphql",
        "grpc",
        "webhook",
        "middleware",
        "resolver",
    ],
    &["backend", "server", "service", "microservice", "serverside"],
    &[
        "ui",
        "frontend",
        "component",
        "page",
        "view",
        "screen",
        "widget",
        "layout",
        "css",
        "style",
        "styling",
        "react",
        "vue",
        "button",
        "modal",
        "form",
    ],
    &[
        "db",
        "database",
        "schema",
        "sql",
        "query",
        "table",
        "index",
        "postgres",
        "postgresql",
        "mysql",
        "sqlite",
        "orm",
    ],
    &[
        "data",
        "dataset",
        "etl",
        "analytics",
        "ingestion",
        "warehouse",
    ],
    &[
        "auth",
        "authentication",
        "authorization",
        "authorisation",
        "login",
        "logout",
        "signin",
        "signup",
        "oauth",
        "jwt",
        "password",
        "credential",
        "permission",
        "security",
        "secure",
    ],
    &[
        "vulnerability",
        "cve",
        "xss",
        "csrf",
        "injection",
        "pentest",
        "exploit",
        "threat",
    ],
    &[
        "test",
        "testing",
        "spec",
        "qa",
        "unittest",
        "coverage",
        "e2e",
        "assertion",
        "fixture",
        "mock",
    ],
    &[
        "docs",
        "doc",
        "documentation",
        "document",
        "readme",
        "guide",
        "tutorial",
        "changelog",
        "docstring",
        "manual",
    ],
    &["deploy", "deployment", "release", "rollout"],
    &[
        "infra",
        "infrastructure",
        "docker",
        "container",
        "kubernetes",
        "k8s",
        "helm",
        "terraform",
        "cloud",
        "aws",
        "gcp",
        "azure",
        "devops",
        "ci",
    ],
    &[
        "performance",
        "perf",
        "optimize",
        "optimise",
        "optimization",
        "optimisation",
        "latency",
        "bottleneck",
        "profiling",
        "profile",
    ],
    &[
        "bug",
        "fix",
        "error",
        "crash",
        "issue",
        "debug",
        "defect",
        "regression",
        "broken",
    ],
    &[
        "refactor",
        "refactoring",
        "cleanup",
        "restructure",
        "simplify",
    ],
    &[
        "monitoring",
        "monitor",
        "observability",
        "logging",
        "metric",
        "alert",
        "alerting",
        "tracing",
    ],
    &["ml", "model", "training", "inference", "classifier"],
    &["mobile", "ios", "android"],
    &["review", "inspect"],
    &[
        "implement",
        "build",
        "create",
        "add",
        "develop",
        "development",
        "write",
        "make",
        "setup",
        "scaffold",
    ],
    &["update", "modify", "change", "improve", "enhance", "extend"],
];

/// Which domain a synonym group's word points at (task-domain inference).
const GROUP_DOMAINS: &[(&str, &str)] = &[
    ("api", "backend"),
    ("backend", "backend"),
    ("ui", "frontend"),
    ("db", "data"),
    ("data", "data"),
    ("ml", "data"),
    ("auth", "security"),
    ("vulnerability", "security"),
    ("test", "testing"),
    ("docs", "docs"),
    ("deploy", "infrastructure"),
    ("infra", "infrastructure"),
    ("monitoring", "infrastructure"),
    ("mobile", "mobile"),
];

struct Lexicon {
    word: Regex,
    stop: BTreeSet<&'static str>,
    synonyms: HashMap<String, &'static str>,
}

fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        let mut synonyms = HashMap::new();
        for group in SYNONYMS {
            for w in group.iter() {
                synonyms.insert(stem(w), group[0]);
                synonyms.insert(w.to_string(), group[0]);
            }
        }
        Lexicon {
            word: Regex::new(r"[a-z0-9]+").expect("static word pattern"),
            stop: STOP_WORDS.iter().copied().collect(),
            synonyms,
        }
    })
}

/// Light stemming: plural, -ing, -ed, -ation/-tion, -ment, -ness; a final doubled consonant
/// and a final `e` are dropped, so create / creates / creating / created / creation agree.
pub fn stem(word: &str) -> String {
    let mut s = word.to_string();
    if s.len() <= 3 {
        return s;
    }
    if let Some(b) = s.strip_suffix("ies").filter(|b| b.len() >= 2) {
        s = format!("{b}y");
    } else if s.ends_with("sses") {
        s.truncate(s.len() - 2);
    } else if s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is") {
        s.pop();
    }
    for (suffix, rep) in [
        ("isation", "ize"),
        ("ization", "ize"),
        ("ation", "ate"),
        ("tion", "te"),
        ("ment", ""),
        ("ness", ""),
        ("ing", ""),
        ("ed", ""),
    ] {
        if let Some(b) = s.strip_suffix(suffix) {
            if b.len() >= 3 {
                s = format!("{b}{rep}");
            }
            break;
        }
    }
    let bytes = s.as_bytes();
    let n = bytes.len();
    if n > 3 && bytes[n - 1] == bytes[n - 2] && !b"aeiouslz".contains(&bytes[n - 1]) {
        s.pop();
    }
    if s.len() > 3 && s.ends_with('e') {
        s.pop();
    }
    s
}

/// The distinct terms of a text: lower-cased words, stop words and pure numbers removed,
/// stemmed, synonyms mapped to their group's first word. In order of first appearance.
pub fn terms(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    for m in lexicon().word.find_iter(&lower) {
        if let Some(t) = term_of(m.as_str()) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// The term of one lower-case word; None for stop words, numbers and single letters.
fn term_of(w: &str) -> Option<String> {
    let lex = lexicon();
    if w.len() < 2 || lex.stop.contains(w) || w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match lex.synonyms.get(w) {
        Some(g) => (*g).to_string(),
        None => {
            let s = stem(w);
            lex.synonyms.get(&s).map(|g| (*g).to_string()).unwrap_or(s)
        }
    })
}

/// The domain one term points at: a built-in group, or a configured pattern for that word.
fn term_domain(cfg: &Config, t: &str) -> Option<String> {
    GROUP_DOMAINS
        .iter()
        .find(|(g, _)| *g == t)
        .map(|(_, d)| d.to_string())
        .or_else(|| exact_word_domain(cfg, t))
}

/// Interned terms with their domains, and a cache from surface words to terms: descriptions
/// repeat a small vocabulary, so each word is stemmed and looked up once per query.
#[derive(Default)]
struct Vocab {
    ids: FastMap<String, usize>,
    domains: Vec<Option<String>>,
    words: FastMap<String, Option<usize>>,
}

impl Vocab {
    fn intern(&mut self, cfg: &Config, t: String) -> usize {
        if let Some(&i) = self.ids.get(&t) {
            return i;
        }
        self.domains.push(term_domain(cfg, &t));
        self.ids.insert(t, self.domains.len() - 1);
        self.domains.len() - 1
    }
    fn tokenize(&mut self, cfg: &Config, text: &str) -> Vec<usize> {
        let lower = text.to_lowercase();
        let mut out = Vec::new();
        for m in lexicon().word.find_iter(&lower) {
            let w = m.as_str();
            let id = match self.words.get(w) {
                Some(id) => *id,
                None => {
                    let id = term_of(w).map(|t| self.intern(cfg, t));
                    self.words.insert(w.to_string(), id);
                    id
                }
            };
            if let Some(id) = id.filter(|id| !out.contains(id)) {
                out.push(id);
            }
        }
        out
    }
    fn domain(&self, ids: &[usize]) -> Option<String> {
        pick_domain(ids.iter().map(|&i| self.domains[i].as_deref()))
    }
}

/// Every domain `--domain` accepts: the configured ones and the built-in ones.
pub fn known_domains(cfg: &Config) -> Vec<String> {
    let mut d: BTreeSet<String> = cfg.domains.iter().map(|r| r.value.to_lowercase()).collect();
    d.extend(GROUP_DOMAINS.iter().map(|(_, d)| d.to_string()));
    d.into_iter().collect()
}

/// The domain a text's terms point at most (the last such word wins a tie). Words are looked up in the
/// built-in groups, then as whole words against the configured `domains` patterns.
pub fn infer_domain(cfg: &Config, text_terms: &[String]) -> Option<String> {
    let domains: Vec<Option<String>> = text_terms.iter().map(|t| term_domain(cfg, t)).collect();
    pick_domain(domains.iter().map(Option::as_deref))
}

fn pick_domain<'a>(term_domains: impl Iterator<Item = Option<&'a str>>) -> Option<String> {
    let mut counts: Vec<(&str, usize, usize)> = Vec::new(); // (domain, hits, last position)
    for (i, d) in term_domains.enumerate() {
        if let Some(d) = d {
            match counts.iter_mut().find(|c| c.0 == d) {
                Some(c) => (c.1, c.2) = (c.1 + 1, i),
                None => counts.push((d, 1, i)),
            }
        }
    }
    // A tie goes to the word that came last: the head of an English noun phrase ("login page").
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)))
        .map(|c| c.0.to_string())
}

/// A configured domain pattern whose literal part is exactly this word (`*api*` ↔ `api`);
/// substring matches would send "build" to `*ui*`.
fn exact_word_domain(cfg: &Config, word: &str) -> Option<String> {
    cfg.domains
        .iter()
        .find(|r| r.pattern.trim_matches('*').eq_ignore_ascii_case(word))
        .map(|r| r.value.clone())
}

/// The terms of the complexity keywords that say nothing about the domain.
fn complexity_terms(cfg: &Config) -> BTreeSet<String> {
    let k = &cfg.complexity;
    k.very_complex
        .iter()
        .chain(&k.complex)
        .chain(&k.medium)
        .chain(&k.simple)
        .flat_map(|w| terms(w))
        .filter(|t| !GROUP_DOMAINS.iter().any(|(g, _)| g == t))
        .collect()
}

/// Complexity bands: simple ≤ 3, medium 4–6, complex 7–8, very complex 9–10.
fn band(complexity: i64) -> u8 {
    match complexity {
        i64::MIN..=3 => 0,
        4..=6 => 1,
        7..=8 => 2,
        _ => 3,
    }
}

// ── data ────────────────────────────────────────────────────────────────────────────────────

/// A fast, deterministic hasher for the per-query maps (FNV-1a): keys are local strings and
/// small integers, and SipHash was a tenth of a query's time.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// Interns strings to indices.
#[derive(Default)]
struct Interner {
    index: FastMap<String, usize>,
    names: Vec<String>,
}

impl Interner {
    fn with_capacity(n: usize) -> Interner {
        Interner {
            index: FastMap::with_capacity_and_hasher(n, Default::default()),
            names: Vec::with_capacity(n),
        }
    }
    fn id(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.names.push(s.to_string());
        self.index.insert(s.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

/// A text column, borrowed from the row.
fn text<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Outcome counts of one (agent, description, complexity); agent and description interned.
struct Row {
    agent: usize,
    desc: usize,
    complexity: i64,
    runs: i64,
    success: i64,
    decided: i64,
}

/// The rows of the question's window, with the interned agent names and descriptions: the
/// trigger-kept table plus lost runs, or the runs themselves when `--days` is set.
fn load_rows(
    store: &Store,
    q: &Query,
    lost: &[Lost],
) -> Result<(Vec<String>, Vec<String>, Vec<Row>)> {
    let c = store.conn();
    let lost_before = q.now - q.config.lost_after_minutes * 60_000;
    let (mut agents, mut descs) = (Interner::default(), Interner::with_capacity(1 << 15));
    let mut rows = Vec::new();
    let (sql, since) = match q.days {
        None => (
            "SELECT agent_type, description, complexity, runs, success, failure
             FROM agent_task_stats WHERE runs > 0"
                .to_string(),
            0,
        ),
        Some(days) => {
            // Failures here are what the table calls failures plus lost runs.
            let st = RunStatus::effective_sql("r", lost_before);
            let success = sql::count_of(&st, RunStatus::Success);
            let failed = format!(
                "{} + {}",
                sql::count_of(&st, RunStatus::Failure),
                sql::count_of(&st, RunStatus::Lost)
            );
            (
                format!(
                    "SELECT r.agent_type, coalesce(r.description, ''), r.complexity, count(*), {success}, {failed}
                     FROM agent_runs r WHERE r.internal = 0 AND r.start_ms >= ?1 GROUP BY 1, 2, 3"
                ),
                q.now - i64::from(days) * DAY_MS,
            )
        }
    };
    let mut stmt = c.prepare(&sql)?;
    let mut it = match q.days {
        None => stmt.query([])?,
        Some(_) => stmt.query([since])?,
    };
    while let Some(r) = it.next()? {
        let (agent, desc) = (text(r, 0)?, text(r, 1)?);
        let success: i64 = r.get(4)?;
        rows.push(Row {
            agent: agents.id(agent),
            desc: descs.id(desc),
            complexity: r.get(2)?,
            runs: r.get(3)?,
            success,
            decided: success + r.get::<_, i64>(5)?,
        });
    }
    if q.days.is_none() && !lost.is_empty() {
        // The table counts lost runs as neither success nor failure; they are failures.
        let mut by_key: FastMap<(usize, usize, i64), i64> = FastMap::default();
        for l in lost {
            if let (Some(&a), Some(&d)) = (agents.index.get(&l.agent), descs.index.get(&l.desc)) {
                *by_key.entry((a, d, l.complexity)).or_default() += l.n;
            }
        }
        for r in &mut rows {
            if let Some(n) = by_key.get(&(r.agent, r.desc, r.complexity)) {
                r.decided += n;
            }
        }
    }
    Ok((agents.names, descs.names, rows))
}

/// Lost runs (started, never ended, older than `lost_after_minutes`) of the window.
struct Lost {
    agent: String,
    desc: String,
    complexity: i64,
    /// Started in the trend's recent window.
    recent: bool,
    n: i64,
}

/// One pass over the open-runs index: lost runs by agent, description, complexity and window.
fn load_lost(store: &Store, q: &Query) -> Result<Vec<Lost>> {
    let lost_before = q.now - q.config.lost_after_minutes * 60_000;
    let recent_day = (q.now - stats::RECENT_DAYS * DAY_MS).div_euclid(DAY_MS);
    let since = q
        .days
        .map(|d| q.now - i64::from(d) * DAY_MS)
        .unwrap_or(i64::MIN);
    let mut stmt = store.conn().prepare(
        "SELECT agent_type, coalesce(description, ''), complexity, coalesce(start_ms, 0) / 86400000 >= ?3, count(*)
         FROM agent_runs INDEXED BY runs_open
         WHERE end_ms IS NULL AND internal = 0 AND coalesce(start_ms, 0) < ?1 AND coalesce(start_ms, 0) >= ?2
         GROUP BY 1, 2, 3, 4",
    )?;
    let rows = stmt.query_map(params![lost_before, since, recent_day], |r| {
        Ok(Lost {
            agent: r.get(0)?,
            desc: r.get(1)?,
            complexity: r.get(2)?,
            recent: r.get(3)?,
            n: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Per agent: (runs with a duration, their total duration) in the window, from the rollup.
fn load_durations(store: &Store, q: &Query) -> Result<HashMap<String, (i64, i64)>> {
    let first_day = q
        .days
        .map(|d| (q.now - i64::from(d) * DAY_MS).div_euclid(DAY_MS))
        .unwrap_or(i64::MIN);
    let mut stmt = store.conn().prepare(
        "SELECT agent_type, sum(dur_n), sum(dur_sum) FROM agent_daily WHERE day >= ?1 GROUP BY 1",
    )?;
    let rows = stmt.query_map([first_day], |r| {
        Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Per agent: decided runs and successes in the recent window and before it (agent_daily plus
/// lost runs, which the rollup counts as open).
fn load_trends(store: &Store, q: &Query, lost: &[Lost]) -> Result<HashMap<String, [i64; 4]>> {
    let c = store.conn();
    let recent_day = (q.now - stats::RECENT_DAYS * DAY_MS).div_euclid(DAY_MS);
    let first_day = q
        .days
        .map(|d| (q.now - i64::from(d) * DAY_MS).div_euclid(DAY_MS))
        .unwrap_or(i64::MIN);
    // agent → [recent success, recent decided, earlier success, earlier decided]
    let mut acc: HashMap<String, [i64; 4]> = HashMap::new();
    let mut stmt = c.prepare(
        "SELECT agent_type, day >= ?1, sum(success), sum(success + failure) FROM agent_daily
         WHERE day >= ?2 GROUP BY 1, 2",
    )?;
    for r in stmt.query_map(params![recent_day, first_day], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })? {
        let (a, recent, s, n) = r?;
        let e = acc.entry(a).or_default();
        let i = if recent { 0 } else { 2 };
        e[i] += s;
        e[i + 1] += n;
    }
    for l in lost {
        acc.entry(l.agent.clone()).or_default()[if l.recent { 1 } else { 3 }] += l.n;
    }
    Ok(acc)
}

// ── scoring ─────────────────────────────────────────────────────────────────────────────────

#[derive(Default)]
struct Acc {
    runs: i64,
    success: i64,
    decided: i64,
    max_sim: f64,
    sim_runs: i64,
    sim_success: i64,
    sim_decided: i64,
    // similarity-weighted
    w_success: f64,
    w_decided: f64,
    w_band_success: f64,
    w_band_decided: f64,
    band_success: i64,
    band_decided: i64,
    // runs of descriptions in the task's domain, and of those in its complexity band
    dom_success: i64,
    dom_decided: i64,
    dom_band_success: i64,
    dom_band_decided: i64,
    /// Runs per (interned) domain of their description.
    domain_runs: FastMap<usize, i64>,
    classified_runs: i64,
}

/// Shrinks `s / n` towards `prior` with [`PRIOR_RUNS`] pseudo-runs.
fn shrink(s: f64, n: f64, prior: f64) -> f64 {
    (s + PRIOR_RUNS * prior) / (n + PRIOR_RUNS)
}

/// Ranks every agent with history for the task, best first.
pub fn rank_candidates(store: &Store, q: &Query) -> Result<Ranking> {
    q.validate()?;
    let cfg = &q.config;
    let lost = load_lost(store, q)?;
    let (agent_names, descs, rows) = load_rows(store, q, &lost)?;
    let trends = load_trends(store, q, &lost)?;
    let durations = load_durations(store, q)?;

    // Tokenise each distinct description once; domains interned as small indices.
    let mut vocab = Vocab::default();
    let mut domains = Interner::default();
    let mut desc_terms: Vec<Vec<usize>> = Vec::with_capacity(descs.len());
    let mut desc_domain: Vec<Option<usize>> = Vec::with_capacity(descs.len());
    for d in &descs {
        let ids = vocab.tokenize(cfg, d);
        desc_domain.push(vocab.domain(&ids).map(|x| domains.id(&x)));
        desc_terms.push(ids);
    }
    let term_id = vocab.ids;
    // BM25 inverse document frequency, documents = runs.
    let mut df = vec![0i64; term_id.len()];
    let mut total_runs = 0i64;
    for r in &rows {
        let d = r.desc;
        total_runs += r.runs;
        for &t in &desc_terms[d] {
            df[t] += r.runs;
        }
    }
    let n = total_runs as f64;
    // Term weight: BM25 idf, times COMPLEXITY_TERM_WEIGHT for words that only say how hard a
    // task is ("refactor", "rewrite"): the complexity fit scores those, the topic decides similarity.
    let how_hard = complexity_terms(cfg);
    let idf: Vec<f64> = {
        let mut w = vec![0.0; df.len()];
        for (t, &i) in &term_id {
            let d = df[i] as f64;
            let k = if how_hard.contains(t) {
                COMPLEXITY_TERM_WEIGHT
            } else {
                1.0
            };
            w[i] = k * (1.0 + (n - d + 0.5) / (d + 0.5)).ln();
        }
        w
    };

    let task_terms_all = terms(&q.task);
    let q_ids: Vec<usize> = task_terms_all
        .iter()
        .filter_map(|t| term_id.get(t).copied())
        .collect();
    let q_norm = q_ids.iter().map(|&t| idf[t] * idf[t]).sum::<f64>().sqrt();
    let sims: Vec<f64> = desc_terms
        .iter()
        .map(|d| {
            if q_norm == 0.0 || d.is_empty() {
                return 0.0;
            }
            let dot: f64 = d
                .iter()
                .filter(|t| q_ids.contains(t))
                .map(|&t| idf[t] * idf[t])
                .sum();
            if dot == 0.0 {
                return 0.0;
            }
            let d_norm = d.iter().map(|&t| idf[t] * idf[t]).sum::<f64>().sqrt();
            (dot / (q_norm * d_norm)).min(1.0)
        })
        .collect();

    let complexity = classify::complexity(cfg, &q.task);
    let q_band = band(complexity);
    let (domain, domain_source) = match &q.domain {
        Some(d) => (Some(d.to_lowercase()), "given"),
        None => match infer_domain(cfg, &task_terms_all) {
            Some(d) => (Some(d), "inferred"),
            None => (None, "none"),
        },
    };

    let task_domain = domain.as_deref().map(|d| domains.id(d));
    let mut per_agent: Vec<Acc> = agent_names.iter().map(|_| Acc::default()).collect();
    let (mut g_s, mut g_n) = (0i64, 0i64);
    for r in &rows {
        let d = r.desc;
        let a = &mut per_agent[r.agent];
        a.runs += r.runs;
        a.success += r.success;
        a.decided += r.decided;
        g_s += r.success;
        g_n += r.decided;
        if let Some(dom) = desc_domain[d] {
            *a.domain_runs.entry(dom).or_default() += r.runs;
            a.classified_runs += r.runs;
        }
        let in_band = band(r.complexity) == q_band;
        if in_band {
            a.band_success += r.success;
            a.band_decided += r.decided;
        }
        if task_domain.is_some() && desc_domain[d] == task_domain {
            a.dom_success += r.success;
            a.dom_decided += r.decided;
            if in_band {
                a.dom_band_success += r.success;
                a.dom_band_decided += r.decided;
            }
        }
        let s = sims[d];
        a.max_sim = a.max_sim.max(s);
        if s >= SIMILAR_THRESHOLD {
            a.sim_runs += r.runs;
            a.sim_success += r.success;
            a.sim_decided += r.decided;
            a.w_success += s * r.success as f64;
            a.w_decided += s * r.decided as f64;
            if in_band {
                a.w_band_success += s * r.success as f64;
                a.w_band_decided += s * r.decided as f64;
            }
        }
    }
    let global = (g_s as f64 + 1.0) / (g_n as f64 + 2.0);
    let acc: HashMap<&str, Acc> = agent_names
        .iter()
        .map(String::as_str)
        .zip(per_agent)
        .collect();

    // Speed: relative to the median of the candidates' average durations.
    let avg_min = |agent: &str| -> Option<f64> {
        match durations.get(agent) {
            Some(&(n, sum)) if n > 0 => Some(sum as f64 / n as f64 / 60_000.0),
            _ => None,
        }
    };
    let mut durs: Vec<f64> = acc.keys().filter_map(|a| avg_min(a)).collect();
    durs.sort_by(f64::total_cmp);
    let median = durs.get(durs.len() / 2).copied();

    let mut candidates: Vec<Candidate> = acc
        .iter()
        .map(|(agent, a)| {
            // Empirical Bayes, each estimate shrunk towards the one above it (PRIOR_RUNS each).
            // Topic: all agents → the agent → its work in the task's domain → its similar tasks
            // (similarity-weighted). Complexity: the agent's band effect (success at the task's
            // band minus overall), refined within the domain. Task: similar tasks at the band,
            // shrunk towards topic + band effect.
            let p_agent = shrink(a.success as f64, a.decided as f64, global);
            let agent_band = shrink(a.band_success as f64, a.band_decided as f64, p_agent);
            let p_domain = shrink(a.dom_success as f64, a.dom_decided as f64, p_agent);
            let domain_band = shrink(
                a.dom_band_success as f64,
                a.dom_band_decided as f64,
                (p_domain + agent_band - p_agent).clamp(0.0, 1.0),
            );
            let band_effect = domain_band - p_domain;
            let p_topic = shrink(a.w_success, a.w_decided, p_domain);
            let mut p_task = shrink(
                a.w_band_success,
                a.w_band_decided,
                (p_topic + band_effect).clamp(0.0, 1.0),
            );
            // Drift: a significant trend scales the estimate by recent ÷ overall success.
            let [rs, rn, es, en] = trends.get(*agent).copied().unwrap_or_default();
            let (tr, _) = stats::trend(
                Outcomes {
                    success: rs,
                    decided: rn,
                },
                Outcomes {
                    success: es,
                    decided: en,
                },
            );
            if matches!(tr, Trend::Declining | Trend::Improving) {
                let recent = shrink(rs as f64, rn as f64, p_agent);
                p_task = (p_task * recent / p_agent).clamp(0.0, 1.0);
            }
            let evidence = a.dom_band_decided as f64 + a.w_decided;
            let sd = (p_task * (1.0 - p_task) / (evidence + 1.0)).sqrt();
            let outcome = (p_task - OUTCOME_Z * sd).clamp(0.0, 1.0);
            let complexity_fit = agent_band;
            let name_domain = classify::domain(cfg, agent).map(|d| d.to_lowercase());
            let history_domain = a
                .domain_runs
                .iter()
                .max_by(|x, y| {
                    x.1.cmp(y.1)
                        .then(domains.names[*y.0].cmp(&domains.names[*x.0]))
                })
                .map(|(d, _)| domains.names[*d].clone());
            let domain_fit = match &domain {
                None => 0.5,
                Some(t) if name_domain.as_deref() == Some(t.as_str()) => 1.0,
                Some(_) => {
                    let share = if a.classified_runs > 0 {
                        task_domain
                            .and_then(|t| a.domain_runs.get(&t).copied())
                            .unwrap_or(0) as f64
                            / a.classified_runs as f64
                    } else {
                        0.0
                    };
                    if name_domain.is_some() {
                        share * 0.5
                    } else {
                        share
                    }
                }
            };
            let avg = avg_min(agent);
            let speed = match (avg, median) {
                (Some(d), Some(m)) if d + m > 0.0 => m / (m + d),
                _ => 0.5,
            };
            let similarity = a.max_sim;
            let w = WEIGHTS;
            let score = w.outcome * outcome
                + w.similarity * similarity
                + w.domain * domain_fit
                + w.complexity * complexity_fit
                + w.speed * speed
                + w.trend * trend_score(tr);
            let confidence = a.w_decided / (a.w_decided + CONFIDENCE_HALF);
            let mut c = Candidate {
                agent: agent.to_string(),
                score,
                confidence,
                qualifies: confidence >= q.min_confidence && a.sim_runs > 0,
                similarity,
                domain_fit,
                outcome,
                estimated_success: p_task,
                complexity_fit,
                speed,
                trend: tr,
                similar_tasks: a.sim_runs,
                similar_decided: a.sim_decided,
                similar_success: a.sim_success,
                success_rate: (a.sim_decided > 0)
                    .then(|| a.sim_success as f64 / a.sim_decided as f64),
                total_tasks: a.runs,
                overall_success_rate: (a.decided > 0).then(|| a.success as f64 / a.decided as f64),
                avg_duration_min: avg,
                agent_domain: name_domain.or(history_domain),
                reason: String::new(),
            };
            c.reason = reason(&c, domain.as_deref(), complexity, global);
            c
        })
        .collect();
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.agent.cmp(&b.agent))
    });
    let known_terms = task_terms_all
        .into_iter()
        .filter(|t| term_id.contains_key(t))
        .collect();
    Ok(Ranking {
        task: q.task.clone(),
        complexity,
        domain,
        domain_source,
        terms: known_terms,
        min_confidence: q.min_confidence,
        global_success_rate: (g_n > 0).then(|| g_s as f64 / g_n as f64),
        candidates,
    })
}

/// One line on why: the evidence first, then what set the agent apart.
fn reason(c: &Candidate, domain: Option<&str>, complexity: i64, global: f64) -> String {
    let mut parts = Vec::new();
    match c.success_rate {
        Some(r) => parts.push(format!(
            "{} of {} similar past tasks succeeded ({:.0}%, all agents {:.0}%)",
            c.similar_success,
            c.similar_decided,
            r * 100.0,
            global * 100.0
        )),
        None => parts.push("no similar past task".to_string()),
    }
    if let (Some(t), Some(d)) = (domain, &c.agent_domain) {
        if c.domain_fit >= 1.0 {
            parts.push(format!("{d} specialist"));
        } else if t == d {
            parts.push(format!("mostly {d} work"));
        }
    }
    parts.push(format!(
        "{:.0}% at complexity {complexity}-level tasks",
        c.complexity_fit * 100.0
    ));
    if c.trend != Trend::Insufficient {
        parts.push(format!("trend {}", trend_label(c.trend)));
    }
    parts.join("; ")
}

// ── output ──────────────────────────────────────────────────────────────────────────────────

/// What `query-best-agent` prints: the pick, or (`--all`) the ranked candidates.
pub struct Answer {
    pub ranking: Ranking,
    pub all: bool,
    /// How many candidates to list (`--all`), or recommendations to show.
    pub limit: Option<usize>,
}

impl Answer {
    /// The candidates shown: qualifying ones (best first), or every one with `--all`.
    pub fn shown(&self) -> Vec<&Candidate> {
        let it = self
            .ranking
            .candidates
            .iter()
            .filter(|c| self.all || c.qualifies);
        let limit = self.limit.unwrap_or(if self.all { usize::MAX } else { 1 });
        it.take(limit).collect()
    }
    /// The recommendation, if any candidate qualifies.
    pub fn best(&self) -> Option<&Candidate> {
        self.ranking.candidates.iter().find(|c| c.qualifies)
    }
}

fn f2(x: f64) -> String {
    render::num(Some(x), 2)
}

impl Report for Answer {
    fn command(&self) -> &'static str {
        "query-best-agent"
    }
    fn json(&self) -> Value {
        let r = &self.ranking;
        json!({
            "task": r.task,
            "complexity": r.complexity,
            "domain": r.domain,
            "domain_source": r.domain_source,
            "terms": r.terms,
            "min_confidence": r.min_confidence,
            "global_success_rate": r.global_success_rate,
            "weights": WEIGHTS,
            "recommendation": self.best(),
            "candidates": if self.all { self.shown() } else { Vec::new() },
        })
    }
    fn grids(&self) -> Vec<Grid> {
        let r = &self.ranking;
        let dom = match (&r.domain, r.domain_source) {
            (Some(d), "inferred") => format!(", domain {d} (inferred)"),
            (Some(d), _) => format!(", domain {d}"),
            _ => String::new(),
        };
        let title = format!("Task: {} (complexity {}{dom})", r.task, r.complexity);
        if self.all {
            let mut g = Grid::new(&[
                "#",
                "Agent",
                "Score",
                "Confidence",
                "Similarity",
                "Domain",
                "Outcome",
                "Cx fit",
                "Speed",
                "Trend",
                "Similar",
                "Total",
                "Success",
            ])
            .numeric(&[0, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12])
            .titled(title);
            g.rows = self
                .shown()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    vec![
                        format!("{}{}", i + 1, if c.qualifies { "" } else { "*" }),
                        c.agent.clone(),
                        f2(c.score),
                        f2(c.confidence),
                        f2(c.similarity),
                        f2(c.domain_fit),
                        f2(c.outcome),
                        f2(c.complexity_fit),
                        f2(c.speed),
                        trend_label(c.trend).to_string(),
                        render::int(c.similar_tasks),
                        render::int(c.total_tasks),
                        render::pct(c.success_rate),
                    ]
                })
                .collect();
            return vec![g];
        }
        let mut g = Grid::new(&[
            "Agent",
            "Confidence",
            "Success",
            "Avg min",
            "Similar",
            "Total",
            "Trend",
            "Complexity",
        ])
        .numeric(&[1, 2, 3, 4, 5, 7])
        .titled(title);
        g.rows = self
            .shown()
            .iter()
            .map(|c| {
                vec![
                    c.agent.clone(),
                    f2(c.confidence),
                    render::pct(c.success_rate),
                    render::num(c.avg_duration_min, 1),
                    render::int(c.similar_tasks),
                    render::int(c.total_tasks),
                    trend_label(c.trend).to_string(),
                    r.complexity.to_string(),
                ]
            })
            .collect();
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        let mut n = Vec::new();
        if let Some(b) = self.best() {
            n.push(format!("Why {}: {}.", b.agent, b.reason));
        }
        if self.all && self.ranking.candidates.iter().any(|c| !c.qualifies) {
            n.push(format!(
                "* below --min-confidence {:.2}. Score = {:.2}·outcome + {:.2}·similarity + {:.2}·domain + {:.2}·complexity fit + {:.2}·speed + {:.2}·trend (docs/recommend.md).",
                self.ranking.min_confidence, WEIGHTS.outcome, WEIGHTS.similarity, WEIGHTS.domain, WEIGHTS.complexity, WEIGHTS.speed, WEIGHTS.trend
            ));
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stemming_agrees_on_word_forms() {
        for group in [
            &["create", "creates", "creating", "created", "creation"][..],
            &["test", "tests", "testing", "tested"],
            &["migrate", "migration", "migrating", "migrations"],
            &["optimize", "optimization", "optimizing", "optimized"],
            &["query", "queries"],
            &["log", "logging", "logs"],
            &["deploy", "deployment", "deploying", "deployed"],
        ] {
            let s: BTreeSet<String> = group.iter().map(|w| stem(w)).collect();
            assert_eq!(s.len(), 1, "{group:?} → {s:?}");
        }
    }

    #[test]
    fn terms_drop_stop_words_and_map_synonyms() {
        assert_eq!(terms("REST endpoint for orders"), vec!["api", "order"]);
        assert_eq!(terms("API development"), vec!["api", "implement"]);
        assert_eq!(
            terms("Build the login page"),
            vec!["implement", "auth", "ui"]
        );
        assert_eq!(terms("the and of 42"), Vec::<String>::new());
    }

    #[test]
    fn domains_are_inferred_from_task_words_not_substrings() {
        let cfg = Config::default();
        assert_eq!(
            infer_domain(&cfg, &terms("REST endpoint for orders")).as_deref(),
            Some("backend")
        );
        assert_eq!(
            infer_domain(&cfg, &terms("Build a settings page component")).as_deref(),
            Some("frontend")
        );
        assert_eq!(infer_domain(&cfg, &terms("build it")), None); // not *ui*
        assert_eq!(
            infer_domain(&cfg, &terms("Build the login page")).as_deref(),
            Some("frontend")
        );
        assert_eq!(
            infer_domain(&cfg, &terms("Audit the auth module")).as_deref(),
            Some("security")
        );
        assert_eq!(
            infer_domain(&cfg, &terms("Write unit tests for the parser")).as_deref(),
            Some("testing")
        );
    }

    #[test]
    fn unknown_domain_is_an_argument_error() {
        let mut q = Query::new("API development", 0, Config::default());
        q.domain = Some("cooking".into());
        let e = q.validate().unwrap_err().to_string();
        assert!(
            e.contains("unknown --domain 'cooking'") && e.contains("backend"),
            "{e}"
        );
        q.domain = Some("Backend".into());
        assert!(q.validate().is_ok());
    }
}
