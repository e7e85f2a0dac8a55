//! Text: the task's and past descriptions' terms (stop words, light stemming, synonyms) and the
//! domains they point at.

use super::intern::FastMap;
use crate::config::Config;
use regex::Regex;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

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
pub(super) struct Vocab {
    pub(super) ids: FastMap<String, usize>,
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
    pub(super) fn tokenize(&mut self, cfg: &Config, text: &str) -> Vec<usize> {
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
    pub(super) fn domain(&self, ids: &[usize]) -> Option<String> {
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
pub(super) fn complexity_terms(cfg: &Config) -> BTreeSet<String> {
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
pub(super) fn band(complexity: i64) -> u8 {
    match complexity {
        i64::MIN..=3 => 0,
        4..=6 => 1,
        7..=8 => 2,
        _ => 3,
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
}
