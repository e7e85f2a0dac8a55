//! Scoring: similarity, empirical-Bayes outcome estimates, domain and complexity fit, speed and
//! trend per agent → one weighted score and a confidence (docs/recommend.md).

use super::data::{load_durations, load_lost, load_rows, load_trends, Row};
use super::intern::{FastMap, Interner};
use super::output::trend_label;
use super::text::{band, complexity_terms, infer_domain, terms, Vocab};
use super::{
    Candidate, Query, Ranking, Trend, BAND_PRIOR_MAX, BAND_PRIOR_MIN, COMPLEXITY_TERM_WEIGHT,
    CONFIDENCE_HALF, OUTCOME_Z, PRIOR_RUNS, SIMILAR_THRESHOLD, WEIGHTS,
};
use crate::classify;
use crate::config::Config;
use crate::error::Result;
use crate::query::stats::{self, Outcomes};
use crate::store::Store;
use std::collections::HashMap;

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

#[derive(Default)]
struct Acc {
    runs: i64,
    /// Decided runs and their successes by status (what is printed).
    success: i64,
    decided: i64,
    /// Successes as the outcome signal counts them ([`Row::outcome_success`]): the estimates'.
    out_success: f64,
    max_sim: f64,
    sim_runs: i64,
    sim_success: i64,
    sim_decided: i64,
    // similarity-weighted (outcome successes)
    w_success: f64,
    w_decided: f64,
    w_band_success: f64,
    w_band_decided: f64,
    /// Per complexity band: (outcome successes, decided runs), every domain.
    bands: [(f64, f64); 4],
    // runs of descriptions in the task's domain, and of those in its complexity band
    dom_success: f64,
    dom_decided: i64,
    dom_band_success: f64,
    dom_band_decided: i64,
    /// Runs per (interned) domain of their description.
    domain_runs: FastMap<usize, i64>,
    classified_runs: i64,
}

/// Shrinks `s / n` towards `prior` with [`PRIOR_RUNS`] pseudo-runs.
fn shrink(s: f64, n: f64, prior: f64) -> f64 {
    shrink_k(s, n, prior, PRIOR_RUNS)
}

/// Shrinks `s / n` towards `prior` with `k` pseudo-runs.
fn shrink_k(s: f64, n: f64, prior: f64, k: f64) -> f64 {
    (s + k * prior) / (n + k)
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `base` moved by the effect `to − from`, on the log-odds scale (so it stays inside 0–1 and an
/// effect means as much at 0.9 as at 0.5).
fn shifted(base: f64, from: f64, to: f64) -> f64 {
    logistic(logit(base) + logit(to) - logit(from))
}

/// How many pseudo-runs of its overall record an agent's record at one complexity band is
/// shrunk towards: empirical Bayes over the agent's own bands (beta-binomial, method of
/// moments). τ² = the variance of the bands' true rates = (Σ n_b (r_b − r)² − (B − 1) r(1 − r))
/// ÷ (N − Σ n_b² / N); the prior is worth r(1 − r) / τ² − 1 runs, within
/// [[`BAND_PRIOR_MIN`], [`BAND_PRIOR_MAX`]]. An agent whose bands differ beyond their sampling
/// noise is judged on the band (few pseudo-runs); one whose bands agree borrows its whole record.
fn band_prior_runs(bands: &[(f64, f64); 4]) -> f64 {
    let used: Vec<(f64, f64)> = bands.iter().copied().filter(|b| b.1 > 0.0).collect();
    let n: f64 = used.iter().map(|b| b.1).sum();
    if used.len() < 2 || n <= 0.0 {
        return PRIOR_RUNS;
    }
    let r = used.iter().map(|b| b.0).sum::<f64>() / n;
    let v = r * (1.0 - r);
    let denominator = n - used.iter().map(|b| b.1 * b.1).sum::<f64>() / n;
    if v <= 0.0 || denominator <= 0.0 {
        return BAND_PRIOR_MAX;
    }
    let spread: f64 = used.iter().map(|b| b.1 * (b.0 / b.1 - r).powi(2)).sum();
    let tau2 = (spread - (used.len() as f64 - 1.0) * v) / denominator;
    if tau2 <= 0.0 {
        return BAND_PRIOR_MAX;
    }
    (v / tau2 - 1.0).clamp(BAND_PRIOR_MIN, BAND_PRIOR_MAX)
}

/// Ranks every agent with history for the task, best first.
pub fn rank_candidates(store: &Store, q: &Query) -> Result<Ranking> {
    q.validate()?;
    let cfg = &q.config;
    let history = History::load(store, q)?;
    let corpus = Corpus::index(cfg, &history.descs, &history.rows);
    let task = Task::read(q, &corpus);
    let sims = corpus.similarities(&task.ids);
    let (per_agent, global) = accumulate(&history, &corpus, &sims, &task);
    let scoring = Scoring {
        q,
        corpus: &corpus,
        task: &task,
        global: global.prior(),
        speed: Speed::new(&history.durations, &history.agents),
    };
    let mut candidates: Vec<Candidate> = history
        .agents
        .iter()
        .zip(&per_agent)
        .map(|(agent, a)| {
            let [rs, rn, es, en] = history.trends.get(agent).copied().unwrap_or_default();
            let trend = (
                Outcomes {
                    success: rs,
                    decided: rn,
                },
                Outcomes {
                    success: es,
                    decided: en,
                },
            );
            candidate(&scoring, agent, a, trend)
        })
        .collect();
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.agent.cmp(&b.agent))
    });
    let known_terms = task
        .terms
        .into_iter()
        .filter(|t| corpus.term_id.contains_key(t))
        .collect();
    Ok(Ranking {
        task: q.task.clone(),
        complexity: task.complexity,
        domain: task.domain,
        domain_source: task.domain_source,
        terms: known_terms,
        min_confidence: q.min_confidence,
        global_success_rate: global.rate(),
        candidates,
    })
}

/// Everything a question reads from the store.
struct History {
    /// Interned agent names and descriptions, and the outcome rows over them.
    agents: Vec<String>,
    descs: Vec<String>,
    rows: Vec<Row>,
    /// agent → [recent success, recent decided, earlier success, earlier decided].
    trends: HashMap<String, [i64; 4]>,
    /// agent → (runs with a duration, their total duration in ms).
    durations: HashMap<String, (i64, i64)>,
}

impl History {
    fn load(store: &Store, q: &Query) -> Result<History> {
        let lost = load_lost(store, q)?;
        let (agents, descs, rows) = load_rows(store, q, &lost)?;
        Ok(History {
            agents,
            descs,
            rows,
            trends: load_trends(store, q, &lost)?,
            durations: load_durations(store, q)?,
        })
    }
}

/// The window's descriptions, each tokenised once, with their domains and the terms' weights.
struct Corpus {
    term_id: FastMap<String, usize>,
    /// Per description: its term ids and its domain (interned in `domains`).
    desc_terms: Vec<Vec<usize>>,
    desc_domain: Vec<Option<usize>>,
    domains: Interner,
    /// Per term id.
    idf: Vec<f64>,
}

impl Corpus {
    fn index(cfg: &Config, descs: &[String], rows: &[Row]) -> Corpus {
        let mut vocab = Vocab::default();
        let mut domains = Interner::default();
        let mut desc_terms: Vec<Vec<usize>> = Vec::with_capacity(descs.len());
        let mut desc_domain: Vec<Option<usize>> = Vec::with_capacity(descs.len());
        for d in descs {
            let ids = vocab.tokenize(cfg, d);
            desc_domain.push(vocab.domain(&ids).map(|x| domains.id(&x)));
            desc_terms.push(ids);
        }
        let term_id = vocab.ids;
        let idf = idf(cfg, &term_id, &desc_terms, rows);
        Corpus {
            term_id,
            desc_terms,
            desc_domain,
            domains,
            idf,
        }
    }

    /// IDF-weighted cosine similarity of each description to the task's term ids.
    fn similarities(&self, q_ids: &[usize]) -> Vec<f64> {
        let idf = &self.idf;
        let q_norm = q_ids.iter().map(|&t| idf[t] * idf[t]).sum::<f64>().sqrt();
        self.desc_terms
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
            .collect()
    }
}

/// BM25 inverse document frequency per term id, documents = runs; times
/// [`COMPLEXITY_TERM_WEIGHT`] for words that only say how hard a task is ("refactor",
/// "rewrite"): the complexity fit scores those, the topic decides similarity.
fn idf(
    cfg: &Config,
    term_id: &FastMap<String, usize>,
    desc_terms: &[Vec<usize>],
    rows: &[Row],
) -> Vec<f64> {
    let mut df = vec![0i64; term_id.len()];
    let mut total_runs = 0i64;
    for r in rows {
        total_runs += r.runs;
        for &t in &desc_terms[r.desc] {
            df[t] += r.runs;
        }
    }
    let n = total_runs as f64;
    let how_hard = complexity_terms(cfg);
    let mut w = vec![0.0; df.len()];
    for (t, &i) in term_id {
        let d = df[i] as f64;
        let k = if how_hard.contains(t) {
            COMPLEXITY_TERM_WEIGHT
        } else {
            1.0
        };
        w[i] = k * (1.0 + (n - d + 0.5) / (d + 0.5)).ln();
    }
    w
}

/// The task as the scoring sees it.
struct Task {
    /// Its terms, and the ids of those the corpus knows.
    terms: Vec<String>,
    ids: Vec<usize>,
    complexity: i64,
    band: u8,
    domain: Option<String>,
    /// given | inferred | none
    domain_source: &'static str,
    /// The domain's id among the descriptions' domains; None when no description has it.
    domain_id: Option<usize>,
}

impl Task {
    fn read(q: &Query, corpus: &Corpus) -> Task {
        let cfg = &q.config;
        let terms = terms(&q.task);
        let ids = terms
            .iter()
            .filter_map(|t| corpus.term_id.get(t).copied())
            .collect();
        let complexity = classify::complexity(cfg, &q.task);
        let (domain, domain_source) = match &q.domain {
            Some(d) => (Some(d.to_lowercase()), "given"),
            None => match infer_domain(cfg, &terms) {
                Some(d) => (Some(d), "inferred"),
                None => (None, "none"),
            },
        };
        let domain_id = domain
            .as_deref()
            .and_then(|d| corpus.domains.index.get(d).copied());
        Task {
            terms,
            ids,
            complexity,
            band: band(complexity),
            domain,
            domain_source,
            domain_id,
        }
    }
}

/// Successes and decided runs of every agent together.
#[derive(Default)]
struct Global {
    success: i64,
    decided: i64,
    /// Outcome successes ([`Row::outcome_success`]).
    out_success: f64,
}

impl Global {
    /// Everyone's success rate with a uniform prior (one success, one failure): the top of the
    /// shrinkage chain.
    fn prior(&self) -> f64 {
        (self.out_success + 1.0) / (self.decided as f64 + 2.0)
    }
    fn rate(&self) -> Option<f64> {
        (self.decided > 0).then(|| self.success as f64 / self.decided as f64)
    }
}

/// One pass over the rows: each agent's counts overall, at the task's band, in its domain and
/// on similar descriptions (plain and similarity-weighted), and everyone's together.
fn accumulate(history: &History, corpus: &Corpus, sims: &[f64], task: &Task) -> (Vec<Acc>, Global) {
    let mut per_agent: Vec<Acc> = history.agents.iter().map(|_| Acc::default()).collect();
    let mut g = Global::default();
    for r in &history.rows {
        let d = r.desc;
        let a = &mut per_agent[r.agent];
        let out = r.outcome_success();
        a.runs += r.runs;
        a.success += r.success;
        a.decided += r.decided;
        a.out_success += out;
        g.success += r.success;
        g.decided += r.decided;
        g.out_success += out;
        if let Some(dom) = corpus.desc_domain[d] {
            *a.domain_runs.entry(dom).or_default() += r.runs;
            a.classified_runs += r.runs;
        }
        let b = band(r.complexity);
        a.bands[usize::from(b)].0 += out;
        a.bands[usize::from(b)].1 += r.decided as f64;
        let in_band = b == task.band;
        if task.domain_id.is_some() && corpus.desc_domain[d] == task.domain_id {
            a.dom_success += out;
            a.dom_decided += r.decided;
            if in_band {
                a.dom_band_success += out;
                a.dom_band_decided += r.decided;
            }
        }
        let s = sims[d];
        a.max_sim = a.max_sim.max(s);
        if s >= SIMILAR_THRESHOLD {
            a.sim_runs += r.runs;
            a.sim_success += r.success;
            a.sim_decided += r.decided;
            a.w_success += s * out;
            a.w_decided += s * r.decided as f64;
            if in_band {
                a.w_band_success += s * out;
                a.w_band_decided += s * r.decided as f64;
            }
        }
    }
    (per_agent, g)
}

/// Speed: an agent's mean duration against the median of the candidates' means.
struct Speed<'a> {
    durations: &'a HashMap<String, (i64, i64)>,
    median: Option<f64>,
}

impl<'a> Speed<'a> {
    fn new(durations: &'a HashMap<String, (i64, i64)>, agents: &[String]) -> Speed<'a> {
        let mut s = Speed {
            durations,
            median: None,
        };
        let mut means: Vec<f64> = agents.iter().filter_map(|a| s.avg_min(a)).collect();
        means.sort_by(f64::total_cmp);
        s.median = means.get(means.len() / 2).copied();
        s
    }
    /// The agent's mean duration in minutes.
    fn avg_min(&self, agent: &str) -> Option<f64> {
        match self.durations.get(agent) {
            Some(&(n, sum)) if n > 0 => Some(sum as f64 / n as f64 / 60_000.0),
            _ => None,
        }
    }
    /// m / (m + d): 0.5 at the median, 0.5 without durations.
    fn score(&self, agent: &str) -> f64 {
        match (self.avg_min(agent), self.median) {
            (Some(d), Some(m)) if d + m > 0.0 => m / (m + d),
            _ => 0.5,
        }
    }
}

/// An agent's estimated success on the task and what went into it.
struct Estimate {
    /// Estimated success (empirical Bayes, drift-corrected).
    p_task: f64,
    /// The ranked outcome: the estimate minus [`OUTCOME_Z`] posterior standard deviations.
    outcome: f64,
    /// The agent's shrunk success at the task's complexity band.
    complexity_fit: f64,
    trend: Trend,
}

/// Empirical Bayes, each estimate shrunk towards the one above it. Complexity first: the
/// agent's record at the task's band, shrunk towards its overall record by as many pseudo-runs
/// as its bands' agreement warrants ([`band_prior_runs`]), so when its record differs by
/// complexity the band's decides. Domain: the agent's work in the task's domain, and at the band
/// within it, shrunk towards the domain rate moved by the band effect ([`PRIOR_RUNS`] each).
/// Topic: similar tasks (similarity-weighted) shrunk towards the domain rate; the task: similar
/// tasks at the band, shrunk towards the topic moved by the band effect (log-odds). Drift: a
/// significant trend scales the estimate by recent ÷ overall success.
fn estimate(a: &Acc, band: u8, global: f64, (recent, earlier): (Outcomes, Outcomes)) -> Estimate {
    let p_agent = shrink(a.out_success, a.decided as f64, global);
    let (band_success, band_decided) = a.bands[usize::from(band)];
    let agent_band = shrink_k(
        band_success,
        band_decided,
        p_agent,
        band_prior_runs(&a.bands),
    );
    let p_domain = shrink(a.dom_success, a.dom_decided as f64, p_agent);
    let domain_band = shrink(
        a.dom_band_success,
        a.dom_band_decided as f64,
        shifted(p_domain, p_agent, agent_band),
    );
    let p_topic = shrink(a.w_success, a.w_decided, p_domain);
    let mut p_task = shrink(
        a.w_band_success,
        a.w_band_decided,
        shifted(p_topic, p_domain, domain_band),
    );
    let (trend, _) = stats::trend(recent, earlier);
    if matches!(trend, Trend::Declining | Trend::Improving) {
        let recent_rate = shrink(recent.success as f64, recent.decided as f64, p_agent);
        p_task = (p_task * recent_rate / p_agent).clamp(0.0, 1.0);
    }
    let evidence = a.dom_band_decided as f64 + a.w_decided;
    let sd = (p_task * (1.0 - p_task) / (evidence + 1.0)).sqrt();
    Estimate {
        p_task,
        outcome: (p_task - OUTCOME_Z * sd).clamp(0.0, 1.0),
        complexity_fit: agent_band,
        trend,
    }
}

/// Domain fit (1 for a specialist by name in the task's domain, else the share of the agent's
/// classified runs in it, halved for a specialist in another domain; 0.5 without a task
/// domain) and the agent's domain: by name, else the one most of its runs were in.
fn domain_fit(
    cfg: &Config,
    agent: &str,
    a: &Acc,
    corpus: &Corpus,
    task: &Task,
) -> (f64, Option<String>) {
    let names = &corpus.domains.names;
    let name_domain = classify::domain(cfg, agent).map(|d| d.to_lowercase());
    let history_domain = a
        .domain_runs
        .iter()
        .max_by(|x, y| x.1.cmp(y.1).then(names[*y.0].cmp(&names[*x.0])))
        .map(|(d, _)| names[*d].clone());
    let fit = match &task.domain {
        None => 0.5,
        Some(t) if name_domain.as_deref() == Some(t.as_str()) => 1.0,
        Some(_) => {
            let share = if a.classified_runs > 0 {
                task.domain_id
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
    (fit, name_domain.or(history_domain))
}

/// What every agent's candidate is scored against.
struct Scoring<'a> {
    q: &'a Query,
    corpus: &'a Corpus,
    task: &'a Task,
    /// Everyone's success rate, the top of the shrinkage chain.
    global: f64,
    speed: Speed<'a>,
}

/// One agent's candidate: its components, the weighted score, confidence and reason.
fn candidate(s: &Scoring<'_>, agent: &str, a: &Acc, trend: (Outcomes, Outcomes)) -> Candidate {
    let (q, task, speed, global) = (s.q, s.task, &s.speed, s.global);
    let e = estimate(a, task.band, global, trend);
    let (domain_fit, agent_domain) = domain_fit(&q.config, agent, a, s.corpus, task);
    let speed_score = speed.score(agent);
    let similarity = a.max_sim;
    let w = WEIGHTS;
    let score = w.outcome * e.outcome
        + w.similarity * similarity
        + w.domain * domain_fit
        + w.complexity * e.complexity_fit
        + w.speed * speed_score
        + w.trend * trend_score(e.trend);
    let confidence = a.w_decided / (a.w_decided + CONFIDENCE_HALF);
    let mut c = Candidate {
        agent: agent.to_string(),
        score,
        confidence,
        qualifies: confidence >= q.min_confidence && a.sim_runs > 0,
        similarity,
        domain_fit,
        outcome: e.outcome,
        estimated_success: e.p_task,
        complexity_fit: e.complexity_fit,
        speed: speed_score,
        trend: e.trend,
        similar_tasks: a.sim_runs,
        similar_decided: a.sim_decided,
        similar_success: a.sim_success,
        success_rate: (a.sim_decided > 0).then(|| a.sim_success as f64 / a.sim_decided as f64),
        total_tasks: a.runs,
        overall_success_rate: (a.decided > 0).then(|| a.success as f64 / a.decided as f64),
        avg_duration_min: speed.avg_min(agent),
        agent_domain,
        reason: String::new(),
    };
    c.reason = reason(&c, task.domain.as_deref(), task.complexity, global);
    c
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(success: i64, decided: i64, tested: i64, verified: i64) -> Row {
        Row {
            agent: 0,
            desc: 0,
            complexity: 5,
            runs: decided,
            success,
            decided,
            tested,
            verified,
        }
    }

    #[test]
    fn tested_runs_count_by_their_verified_outcome() {
        // No tests: the successes.
        assert_eq!(row(8, 10, 0, 0).outcome_success(), 8.0);
        // Half tested: 8 × 5/10 untested successes + 2 verified = 6.
        assert!((row(8, 10, 5, 2).outcome_success() - 6.0).abs() < 1e-12);
        // All tested: the verified runs only (completed runs whose tests fail count against).
        assert_eq!(row(9, 10, 10, 4).outcome_success(), 4.0);
    }

    #[test]
    fn band_prior_follows_the_agents_spread_across_bands() {
        // 9.5/10 simple, 35/100 complex: τ² ≈ 0.167, r(1 − r)/τ² − 1 ≈ 0.44 → the floor.
        let sprinter = [(9.5, 10.0), (0.0, 0.0), (35.0, 100.0), (0.0, 0.0)];
        assert_eq!(band_prior_runs(&sprinter), BAND_PRIOR_MIN);
        // 70/100 simple, 36.8/40 complex: r = 0.7629, τ² = 0.02103 → 7.60 pseudo-runs.
        let architect = [(70.0, 100.0), (0.0, 0.0), (36.8, 40.0), (0.0, 0.0)];
        assert!((band_prior_runs(&architect) - 7.6006).abs() < 1e-3);
        // Bands that agree: the whole record is borrowed (the ceiling); one band: the default.
        let even = [(40.0, 50.0), (80.0, 100.0), (0.0, 0.0), (8.0, 10.0)];
        assert_eq!(band_prior_runs(&even), BAND_PRIOR_MAX);
        let one = [(0.0, 0.0), (8.0, 10.0), (0.0, 0.0), (0.0, 0.0)];
        assert_eq!(band_prior_runs(&one), PRIOR_RUNS);
    }

    /// Two agents with the same completions on the same task; one's tests pass, the other's
    /// mostly fail: verified outcomes rank the first above the second, which they tie without.
    #[test]
    fn failing_tests_count_against_a_completed_run() {
        let store = Store::in_memory().unwrap();
        let put = |agent: &str, tested: i64, verified: i64| {
            store
                .conn()
                .execute(
                    "INSERT INTO agent_task_stats (agent_type, description, complexity, runs, success, failure, cancelled, tested, verified)
                     VALUES (?1, 'Build API endpoint for invoices', 5, 20, 18, 2, 0, ?2, ?3)",
                    rusqlite::params![agent, tested, verified],
                )
                .unwrap();
        };
        put("careful-agent", 0, 0);
        put("sloppy-agent", 0, 0);
        let mut q = Query::new("Build API endpoint for invoices", 0, Config::default());
        q.min_confidence = 0.0;
        let r = rank_candidates(&store, &q).unwrap();
        let (a, b) = (&r.candidates[0], &r.candidates[1]);
        assert_eq!(a.estimated_success, b.estimated_success);
        // 12 of the 20 tested: the careful agent's 11 completions among them all pass, the
        // sloppy agent's only 3.
        store
            .conn()
            .execute("DELETE FROM agent_task_stats", [])
            .unwrap();
        put("careful-agent", 12, 11);
        put("sloppy-agent", 12, 3);
        let r = rank_candidates(&store, &q).unwrap();
        assert_eq!(
            r.candidates[0].agent, "careful-agent",
            "{:#?}",
            r.candidates
        );
        let careful = &r.candidates[0];
        let sloppy = &r.candidates[1];
        assert!(careful.estimated_success > sloppy.estimated_success + 0.2);
        // The printed record stays the completions: 18 of 20 for both.
        assert_eq!((sloppy.similar_success, sloppy.similar_decided), (18, 20));
    }
}
