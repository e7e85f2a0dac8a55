//! Custom per-run metrics (docs/metrics.md, "Custom metrics"): definitions from `config.json`
//! `"metrics"`, and the collector the transcript reader feeds with each tool call and result.
//!
//! A definition is either a pattern over a tool's results (`pattern`: the first capture group is
//! the value, combined per run by `take`) or a pattern over a tool's input (`input_pattern`,
//! `take` = `count`: the number of matching calls).

pub mod store;

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many metric names per agent type; past it, a new name is refused.
pub const MAX_NAMES_PER_AGENT: usize = 1000;

/// How the values a run's tool results give are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Take {
    /// The last value seen in the run.
    #[default]
    Last,
    Sum,
    Max,
    /// The number of matches (results, or calls with `input_pattern`).
    Count,
}

/// One definition as written in `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDef {
    pub name: String,
    /// The tool whose calls or results are read (`Bash`, `Read`, an MCP tool's name…); `*`: any.
    pub tool: String,
    /// Over the tool's result text; the first capture group (or the whole match) is the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Over the tool call's input (its JSON text): counts matching calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_pattern: Option<String>,
    #[serde(default)]
    pub take: Take,
}

/// A definition ready to apply.
#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub tool: String,
    pub pattern: Option<Regex>,
    pub input_pattern: Option<Regex>,
    pub take: Take,
}

/// A metric name: 1–64 characters of `[A-Za-z0-9_.:-]`, starting with a letter (what Prometheus
/// and OpenTelemetry attribute keys accept once prefixed).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

impl MetricDef {
    /// Checks and compiles the definition; the message says what is wrong with it.
    pub fn compile(&self) -> Result<Metric, String> {
        if !valid_name(&self.name) {
            return Err(format!(
                "metric name {:?}: use 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter",
                self.name
            ));
        }
        if self.tool.trim().is_empty() {
            return Err(format!("metric {}: \"tool\" is empty", self.name));
        }
        let compile = |p: &Option<String>, what: &str| -> Result<Option<Regex>, String> {
            p.as_deref()
                .map(|p| {
                    regex::RegexBuilder::new(p)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| format!("metric {}: {what}: {e}", self.name))
                })
                .transpose()
        };
        let pattern = compile(&self.pattern, "pattern")?;
        let input_pattern = compile(&self.input_pattern, "input_pattern")?;
        match (&pattern, &input_pattern) {
            (None, None) => Err(format!(
                "metric {}: give \"pattern\" (over results) or \"input_pattern\" (over calls)",
                self.name
            )),
            (Some(_), Some(_)) => Err(format!(
                "metric {}: give \"pattern\" or \"input_pattern\", not both",
                self.name
            )),
            (None, Some(_)) if self.take != Take::Count => Err(format!(
                "metric {}: \"input_pattern\" counts calls: \"take\" must be \"count\"",
                self.name
            )),
            _ => Ok(Metric {
                name: self.name.clone(),
                tool: self.tool.clone(),
                pattern,
                input_pattern,
                take: self.take,
            }),
        }
    }
}

/// Compiles every definition; duplicated names are an error.
pub fn compile_all(defs: &[MetricDef]) -> Result<Vec<Metric>, String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(defs.len());
    for d in defs {
        if !seen.insert(d.name.as_str()) {
            return Err(format!("metric {} is defined twice", d.name));
        }
        out.push(d.compile()?);
    }
    Ok(out)
}

/// The definitions in a `config.json` as a hook reads them: leniently. A missing file, or one
/// without `"metrics"`, is none; an unreadable file, or a definition that does not compile (or
/// repeats a name), is passed to `bad` and skipped — the rest still apply. Only the `"metrics"`
/// key is looked at: the rest of the file is the readers' to validate.
pub fn load_lenient(config: &std::path::Path, mut bad: impl FnMut(&str)) -> Vec<Metric> {
    let bytes = match std::fs::read(config) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            bad(&format!("{}: {e}", config.display()));
            return Vec::new();
        }
    };
    #[derive(Deserialize)]
    struct OnlyMetrics {
        #[serde(default)]
        metrics: Vec<serde_json::Value>,
    }
    let defs = match serde_json::from_slice::<OnlyMetrics>(&bytes) {
        Ok(o) => o.metrics,
        Err(e) => {
            bad(&format!("{}: \"metrics\" not read: {e}", config.display()));
            return Vec::new();
        }
    };
    let mut out: Vec<Metric> = Vec::with_capacity(defs.len());
    for v in defs {
        let compiled = serde_json::from_value::<MetricDef>(v)
            .map_err(|e| format!("a metric definition: {e}"))
            .and_then(|d| d.compile());
        match compiled {
            Ok(m) if out.iter().any(|o| o.name == m.name) => {
                bad(&format!(
                    "metric {} is defined twice: the first is kept",
                    m.name
                ));
            }
            Ok(m) => out.push(m),
            Err(e) => bad(&format!("{}: {e}: skipped", config.display())),
        }
    }
    out
}

impl Metric {
    fn applies_to(&self, tool: &str) -> bool {
        self.tool == "*" || self.tool == tool
    }
}

/// Per-run accumulator: fed every tool call and result of one run, in transcript order.
#[derive(Debug, Default)]
pub struct Collector {
    /// name → (value so far, number of values)
    values: BTreeMap<String, (f64, u64)>,
}

impl Collector {
    /// A tool call (`input` is the call's input as JSON text).
    pub fn on_call(&mut self, metrics: &[Metric], tool: &str, input: &str) {
        for m in metrics.iter().filter(|m| m.applies_to(tool)) {
            if let Some(re) = &m.input_pattern {
                if re.is_match(input) {
                    self.add(m, 1.0);
                }
            }
        }
    }

    /// A tool result's text.
    pub fn on_result(&mut self, metrics: &[Metric], tool: &str, text: &str) {
        for m in metrics.iter().filter(|m| m.applies_to(tool)) {
            let Some(re) = &m.pattern else { continue };
            if m.take == Take::Count {
                let n = re.find_iter(text).count();
                if n > 0 {
                    self.add(m, n as f64);
                }
                continue;
            }
            for caps in re.captures_iter(text) {
                let raw = caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .map_or("", |c| c.as_str());
                if let Some(v) = parse_number(raw) {
                    self.add(m, v);
                }
            }
        }
    }

    fn add(&mut self, m: &Metric, v: f64) {
        let e = self.values.entry(m.name.clone()).or_insert((0.0, 0));
        e.0 = match (m.take, e.1) {
            (_, 0) => v,
            (Take::Last, _) => v,
            (Take::Sum | Take::Count, _) => e.0 + v,
            (Take::Max, _) => e.0.max(v),
        };
        e.1 += 1;
    }

    /// The run's values: only metrics that matched at least once (no match: no value, not 0).
    pub fn finish(self) -> BTreeMap<String, f64> {
        self.values.into_iter().map(|(k, (v, _))| (k, v)).collect()
    }
}

/// A number as tools print it: `1,234`, `1_234`, `-3`, `0.5`, `12.5%` (the percent sign dropped).
pub fn parse_number(s: &str) -> Option<f64> {
    let cleaned: String = s
        .trim()
        .trim_end_matches('%')
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(json: &str) -> Metric {
        serde_json::from_str::<MetricDef>(json)
            .unwrap()
            .compile()
            .unwrap()
    }

    #[test]
    fn takes_combine_a_runs_values() {
        let ms = vec![
            def(r#"{"name": "warn_last", "tool": "Bash", "pattern": "found (\\d+) warnings"}"#),
            def(
                r#"{"name": "warn_sum", "tool": "Bash", "pattern": "found (\\d+) warnings", "take": "sum"}"#,
            ),
            def(
                r#"{"name": "warn_max", "tool": "Bash", "pattern": "found (\\d+) warnings", "take": "max"}"#,
            ),
            def(
                r#"{"name": "warn_n", "tool": "Bash", "pattern": "found \\d+ warnings", "take": "count"}"#,
            ),
            def(
                r#"{"name": "greps", "tool": "Bash", "input_pattern": "\\bgrep\\b", "take": "count"}"#,
            ),
        ];
        let mut c = Collector::default();
        c.on_result(&ms, "Bash", "lint: found 7 warnings");
        c.on_result(&ms, "Read", "found 100 warnings"); // another tool: ignored
        c.on_result(&ms, "Bash", "found 1204 warnings\nthen found 3 warnings");
        c.on_call(&ms, "Bash", r#"{"command": "grep -r foo ."}"#);
        c.on_call(&ms, "Bash", r#"{"command": "ls"}"#);
        let v = c.finish();
        assert_eq!(v["warn_last"], 3.0);
        assert_eq!(v["warn_sum"], 7.0 + 1204.0 + 3.0);
        assert_eq!(v["warn_max"], 1204.0);
        assert_eq!(v["warn_n"], 3.0);
        assert_eq!(v["greps"], 1.0);
    }

    #[test]
    fn no_match_is_no_value() {
        let ms = vec![def(
            r#"{"name": "cov", "tool": "*", "pattern": "coverage: ([\\d.]+)%"}"#,
        )];
        let mut c = Collector::default();
        c.on_result(&ms, "Bash", "nothing here");
        assert!(c.finish().is_empty());
        let mut c = Collector::default();
        c.on_result(&ms, "mcp__ci__report", "coverage: 87.5%");
        assert_eq!(c.finish()["cov"], 87.5);
    }

    #[test]
    fn a_hook_skips_what_it_cannot_use_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let mut said = Vec::new();
        assert!(load_lenient(&path, |m| said.push(m.to_string())).is_empty());
        assert!(
            said.is_empty(),
            "a missing file is no definition, not a problem"
        );
        std::fs::write(
            &path,
            r#"{"lost_after_minutes": "not the hook's business", "metrics": [
                {"name": "warnings", "tool": "Bash", "pattern": "(\\d+) warnings"},
                {"name": "broken", "tool": "Bash", "pattern": "("},
                {"name": "warnings", "tool": "Read", "pattern": "x"},
                {"name": "greps", "tool": "Bash", "input_pattern": "grep", "take": "count"}
            ]}"#,
        )
        .unwrap();
        let ms = load_lenient(&path, |m| said.push(m.to_string()));
        let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["warnings", "greps"]);
        assert_eq!(ms[0].tool, "Bash");
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].contains("metric broken"), "{said:?}");
        assert!(said[1].contains("defined twice"), "{said:?}");
        std::fs::write(&path, "{not json").unwrap();
        said.clear();
        assert!(load_lenient(&path, |m| said.push(m.to_string())).is_empty());
        assert_eq!(said.len(), 1);
    }

    #[test]
    fn bad_definitions_say_why() {
        let bad = [
            (
                r#"{"name": "9x", "tool": "Bash", "pattern": "(\\d+)"}"#,
                "starting with a letter",
            ),
            (
                r#"{"name": "x", "tool": "Bash", "pattern": "("}"#,
                "pattern",
            ),
            (r#"{"name": "x", "tool": "Bash"}"#, "give \"pattern\""),
            (
                r#"{"name": "x", "tool": "Bash", "input_pattern": "a", "take": "sum"}"#,
                "must be \"count\"",
            ),
            (
                r#"{"name": "x", "tool": "", "pattern": "a"}"#,
                "\"tool\" is empty",
            ),
        ];
        for (json, why) in bad {
            let e = serde_json::from_str::<MetricDef>(json)
                .unwrap()
                .compile()
                .unwrap_err();
            assert!(e.contains(why), "{json}: {e}");
        }
        let two: Vec<MetricDef> = serde_json::from_str(
            r#"[{"name": "a", "tool": "Bash", "pattern": "x"}, {"name": "a", "tool": "Bash", "pattern": "y"}]"#,
        )
        .unwrap();
        assert!(compile_all(&two).unwrap_err().contains("defined twice"));
    }
}
