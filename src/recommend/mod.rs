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
//!    towards its record at that complexity (which borrows from its overall record only as much
//!    as its spread across complexities allows), its domain work and the global rate (empirical
//!    Bayes, log-odds effects, a drift correction; tested runs count by their verified outcome),
//!    complexity fit, speed and trend → one weighted score.
//! 4. Confidence grows with the similarity-weighted number of similar past tasks.
//!
//! Layout: `text` (terms, stemming, synonyms, domains), `data` (what a question reads),
//! `score` ([`rank_candidates`] in named steps: load the history, index the descriptions, read
//! the task, accumulate per agent, estimate and score each candidate), `output` ([`Answer`]).
//! The trend component is the one trend test of [`crate::query::stats`].

mod data;
mod intern;
mod output;
mod score;
mod text;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::Store;
use serde::Serialize;

pub use crate::query::stats::Trend;
pub use output::Answer;
pub use score::rank_candidates;
pub use text::{infer_domain, known_domains, stem, terms};

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
/// Bounds of the pseudo-runs an agent's record at one complexity band borrows from its overall
/// record (docs/recommend.md): few when its bands differ, many when they agree.
pub const BAND_PRIOR_MIN: f64 = 2.0;
pub const BAND_PRIOR_MAX: f64 = 50.0;
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

#[cfg(test)]
mod tests {
    use super::*;

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
