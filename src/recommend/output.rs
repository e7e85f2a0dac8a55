//! Output: what `query-best-agent` prints, as a [`Report`].

use super::{Candidate, Ranking, Trend, WEIGHTS};
use crate::render::{self, Grid, Report};
use serde_json::{json, Value};

/// A trend as the table prints it (`n/a` when either period has too few decided runs).
pub(super) fn trend_label(t: Trend) -> &'static str {
    match t {
        Trend::Insufficient => "n/a",
        t => t.words(),
    }
}

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
