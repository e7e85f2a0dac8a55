//! User configuration, from `config.json` beside the database. Every field is optional; the
//! defaults are documented in docs/metrics.md. Changing rules? Run `analyze rebuild`.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// A name pattern (`*` wildcard, case-insensitive) and what it maps to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PatternRule {
    pub pattern: String,
    #[serde(alias = "category", alias = "domain")]
    pub value: String,
}

/// Complexity keyword levels: the highest level with a matching keyword wins.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ComplexityKeywords {
    pub very_complex: Vec<String>,
    pub complex: Vec<String>,
    pub medium: Vec<String>,
    pub simple: Vec<String>,
}

/// All settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Agent name → category, first match wins.
    pub categories: Vec<PatternRule>,
    /// Agent name / task words → domain (recommendations), first match wins.
    pub domains: Vec<PatternRule>,
    pub complexity: ComplexityKeywords,
    /// A run with no end older than this is `lost`.
    pub lost_after_minutes: i64,
    /// A running agent older than this is flagged as possibly hung by `analyze active`.
    pub hung_after_minutes: i64,
    /// Agents with fewer finished runs are marked, not ranked above proven ones.
    pub min_runs: i64,
    /// Alert rules' thresholds and notifiers (docs/metrics.md, "Alerts").
    pub alerts: crate::alerts::AlertsConfig,
    /// The opt-in delegation guard (docs/guard.md); off by default.
    pub guard: crate::guard::GuardConfig,
    /// Custom per-run metrics (docs/metrics.md, "Custom metrics"); none by default.
    pub metrics: Vec<crate::metrics::MetricDef>,
    /// Raw event payloads older than this many days are pruned by readers, at most once a day
    /// (`analyze prune`); unset: keep everything.
    pub retention_days: Option<i64>,
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn rules(list: &[(&str, &str)]) -> Vec<PatternRule> {
    list.iter()
        .map(|(p, v)| PatternRule {
            pattern: p.to_string(),
            value: v.to_string(),
        })
        .collect()
}

impl Default for ComplexityKeywords {
    fn default() -> Self {
        ComplexityKeywords {
            very_complex: words(&[
                "architecture",
                "distributed",
                "microservice",
                "migrate",
                "migration",
                "redesign",
                "rewrite",
                "system design",
                "end-to-end",
                "multi-service",
                "scalability",
                "from scratch",
            ]),
            complex: words(&[
                "refactor",
                "optimize",
                "optimise",
                "performance",
                "concurrency",
                "security",
                "audit",
                "authentication",
                "authorization",
                "integrate",
                "integration",
                "schema",
                "algorithm",
                "debug",
                "race condition",
                "memory leak",
                "pipeline",
                "infrastructure",
            ]),
            medium: words(&[
                "implement",
                "build",
                "create",
                "add",
                "feature",
                "endpoint",
                "api",
                "component",
                "test",
                "update",
                "design",
                "review",
                "fix",
                "page",
                "module",
            ]),
            simple: words(&[
                "typo",
                "rename",
                "format",
                "lint",
                "comment",
                "readme",
                "docs",
                "bump",
                "spelling",
                "log message",
                "small",
                "trivial",
                "simple",
            ]),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            categories: rules(&[
                ("*review*", "reviewer"),
                ("*architect*", "architect"),
                ("*audit*", "security"),
                ("*security*", "security"),
                ("*test*", "testing"),
                ("*qa*", "testing"),
                ("*debug*", "debugging"),
                ("*developer*", "developer"),
                ("*engineer*", "developer"),
                ("*writer*", "docs"),
                ("*doc*", "docs"),
                ("*research*", "research"),
                ("explore", "research"),
                ("plan", "planning"),
                ("*planner*", "planning"),
                ("general-purpose", "general"),
            ]),
            domains: rules(&[
                ("*backend*", "backend"),
                ("*api*", "backend"),
                ("*frontend*", "frontend"),
                ("*ui*", "frontend"),
                ("*security*", "security"),
                ("*audit*", "security"),
                ("*data*", "data"),
                ("*ml*", "data"),
                ("*devops*", "infrastructure"),
                ("*infra*", "infrastructure"),
                ("*cloud*", "infrastructure"),
                ("*test*", "testing"),
                ("*qa*", "testing"),
                ("*doc*", "docs"),
                ("*writer*", "docs"),
                ("*mobile*", "mobile"),
            ]),
            complexity: ComplexityKeywords::default(),
            lost_after_minutes: 120,
            hung_after_minutes: 30,
            min_runs: 5,
            alerts: crate::alerts::AlertsConfig::default(),
            guard: crate::guard::GuardConfig::default(),
            metrics: Vec::new(),
            retention_days: None,
        }
    }
}

impl Config {
    /// Loads `config.json` beside the database; defaults when missing. A broken file is an error
    /// for readers (they say so). Hooks never load it whole: the guard reads its `guard` key,
    /// and an agent transcript's read its `metrics` ([`crate::metrics::load_lenient`]).
    pub fn load(db: &Path) -> crate::error::Result<Config> {
        let path = crate::paths::config_path(db);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                crate::error::Error::InvalidArgument(format!("{}: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Case-insensitive match of `name` against a pattern with `*` wildcards.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == n[ni] || p[pi] == '?') {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*-reviewer", "code-reviewer"));
        assert!(glob_match("*review*", "Code-Reviewer"));
        assert!(!glob_match("*-reviewer", "reviewer-bot"));
        assert!(glob_match("plan", "Plan"));
        assert!(!glob_match("plan", "planner"));
    }
}
