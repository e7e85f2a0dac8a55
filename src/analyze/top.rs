//! `analyze top`: the best (or worst) agents by one figure. Agents with too few finished runs
//! to judge are marked and always ranked after the proven ones, whichever the direction: a
//! lucky agent with two runs never outranks one with two hundred.

use super::summary::{self, AgentFigures};
use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::{self, Grid, Report};
use serde::Serialize;
use serde_json::{json, Value};
use std::cmp::Ordering;

/// Arguments of `analyze top`.
#[derive(clap::Args, Debug, Clone)]
pub struct TopArgs {
    /// How many agents.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Rank by: efficiency, success, runs, cost.
    #[arg(long, default_value = "efficiency")]
    pub by: String,
    /// The worst instead of the best.
    #[arg(long)]
    pub worst: bool,
    /// Agents with fewer finished runs are marked and ranked after proven ones (default: config min_runs).
    #[arg(long)]
    pub min_runs: Option<i64>,
}

/// What `--by` accepts.
pub const BY_KEYS: &[&str] = &["efficiency", "success", "runs", "cost"];

/// One ranked agent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranked {
    /// 1-based position in this ranking.
    pub rank: usize,
    #[serde(flatten)]
    pub figures: AgentFigures,
    /// success + failure + lost: the runs that say something about the agent.
    pub finished: i64,
    /// finished < min_runs: ranked after every proven agent.
    pub few_runs: bool,
    /// cost_usd ÷ runs.
    pub avg_cost_usd: Option<f64>,
    /// The ranking figure (efficiency, success rate, runs, or average cost per run).
    pub value: Option<f64>,
}

/// The `top` report.
#[derive(Debug, Clone, Serialize)]
pub struct Top {
    pub by: String,
    pub worst: bool,
    pub min_runs: i64,
    pub agents: Vec<Ranked>,
}

/// The figure an agent is ranked by.
fn value(f: &AgentFigures, by: &str) -> Option<f64> {
    match by {
        "success" => f.success_rate,
        "runs" => Some(f.runs as f64),
        "cost" => (f.runs > 0).then(|| f.cost_usd / f.runs as f64),
        _ => f.efficiency,
    }
}

/// More is better, except for cost (cheaper per run is better).
fn higher_is_better(by: &str) -> bool {
    by != "cost"
}

/// Ranks every agent matching the filter; the caller truncates.
pub fn compute(ctx: &Ctx, filter: &Filter, by: &str, worst: bool, min_runs: i64) -> Result<Top> {
    let s = summary::compute(ctx, filter, "agent", false)?;
    let mut rows: Vec<Ranked> = s
        .agents
        .into_iter()
        .map(|f| {
            let finished = f.success + f.failure + f.lost;
            let avg_cost_usd = (f.runs > 0).then(|| f.cost_usd / f.runs as f64);
            Ranked {
                rank: 0,
                few_runs: finished < min_runs,
                finished,
                avg_cost_usd,
                value: value(&f, by),
                figures: f,
            }
        })
        .collect();
    let higher_better = higher_is_better(by);
    // Best first: proven before few-runs; agents without the figure last (unknown is neither
    // good nor bad); then by the figure in the asked direction; ties by more finished runs, then name.
    rows.sort_by(|a, b| {
        a.few_runs
            .cmp(&b.few_runs)
            .then_with(|| a.value.is_none().cmp(&b.value.is_none()))
            .then_with(|| {
                let (x, y) = (a.value.unwrap_or(0.0), b.value.unwrap_or(0.0));
                let ord = y.partial_cmp(&x).unwrap_or(Ordering::Equal); // descending
                if higher_better != worst {
                    ord
                } else {
                    ord.reverse()
                }
            })
            .then_with(|| b.finished.cmp(&a.finished))
            .then_with(|| a.figures.agent.cmp(&b.figures.agent))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Ok(Top {
        by: by.to_string(),
        worst,
        min_runs,
        agents: rows,
    })
}

impl Report for Top {
    fn command(&self) -> &'static str {
        "top"
    }
    fn json(&self) -> Value {
        json!({ "by": self.by, "worst": self.worst, "min_runs": self.min_runs, "agents": self.agents })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&[
            "#",
            "Agent",
            "Runs",
            "Finished",
            "Success",
            "p50",
            "p95",
            "Cost/run",
            "Efficiency",
            "Note",
        ])
        .numeric(&[0, 2, 3, 4, 5, 6, 7, 8]);
        g.rows = self
            .agents
            .iter()
            .map(|r| {
                let f = &r.figures;
                vec![
                    r.rank.to_string(),
                    f.agent.clone(),
                    render::int(f.runs),
                    render::int(r.finished),
                    render::pct(f.success_rate),
                    render::dur(f.p50_duration_ms),
                    render::dur(f.p95_duration_ms),
                    render::usd(r.avg_cost_usd),
                    render::num(f.efficiency, 2),
                    if r.few_runs {
                        "few runs".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        let what = match self.by.as_str() {
            "success" => "success rate",
            "runs" => "runs",
            "cost" => "average cost per run (cheapest is best)",
            _ => "efficiency (success rate per minute of average duration)",
        };
        let mut n = vec![format!(
            "{} by {what}.",
            if self.worst { "Worst" } else { "Best" }
        )];
        if self.agents.iter().any(|r| r.few_runs) {
            n.push(format!(
                "\"few runs\": fewer than {} finished runs (success + failure + lost); ranked after the proven agents.",
                self.min_runs
            ));
        }
        n
    }
}

/// Runs `analyze top`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &TopArgs, format: render::Format) -> Result<bool> {
    if !BY_KEYS.contains(&args.by.as_str()) {
        return Err(Error::InvalidArgument(format!(
            "--by '{}': one of {}",
            args.by,
            BY_KEYS.join(", ")
        )));
    }
    if args.limit == 0 {
        return Err(Error::InvalidArgument("--limit must be at least 1".into()));
    }
    let min_runs = args.min_runs.unwrap_or(ctx.cfg.min_runs).max(0);
    let mut top = compute(ctx, filter, &args.by, args.worst, min_runs)?;
    if top.agents.is_empty() {
        eprintln!("analyze: no agent runs match");
        return Ok(false);
    }
    top.agents.truncate(args.limit);
    render::print(&top, format)?;
    Ok(true)
}
