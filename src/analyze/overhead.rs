//! `analyze overhead`: how much of a workflow's wall time no agent was running — the time spent
//! coordinating (the main agent planning, reading results, delegating). Definitions in
//! docs/metrics.md ("## overhead").
//!
//! Agent time is the union of the top-level agents' execution intervals, so parallel agents never
//! make the overhead negative; the classic sum-based figure is shown beside it for comparison.

use super::workflow_cache::{self, Window};
pub use super::workflow_load::{measure, Intervals};
use super::workflow_load::{overhead_ratio, Measured};
use super::workflows;
use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::{self, Format, Grid, Report};
use serde::Serialize;
use serde_json::{json, Value};

/// Below this union-based overhead, coordination is efficient.
pub const EFFICIENT_BELOW: f64 = 0.15;
/// Above this, overhead is high.
pub const HIGH_ABOVE: f64 = 0.30;

/// `--sort overhead` in a window of up to this many counted workflows sorts the window's rows
/// rather than walking the overhead index.
const SORT_WINDOW_UP_TO: i64 = 50_000;

/// Arguments of `analyze overhead`.
#[derive(clap::Args, Debug, Clone)]
pub struct OverheadArgs {
    /// How many workflows to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Order of the list: `recent` (newest first) or `overhead` (highest first).
    #[arg(long, default_value = "recent")]
    pub sort: String,
}

/// One workflow's coordination figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OverheadRow {
    pub workflow_id: String,
    pub kind: String,
    pub start: Option<String>,
    /// W = finish − start.
    pub wall_ms: i64,
    /// Top-level agents with an interval.
    pub agents: i64,
    pub agent_union_ms: i64,
    pub agent_sum_ms: i64,
    /// W − union.
    pub coordination_ms: i64,
    /// (W − union) / W, in 0..=1.
    pub overhead: f64,
    /// (W − Σ) / W; negative when agents ran in parallel.
    pub overhead_sum: f64,
    pub peak_concurrency: i64,
    /// Σ / union; None when the union is 0.
    pub avg_parallelism: Option<f64>,
    #[serde(skip)]
    start_ms: Option<i64>,
}

/// The figures over every counted workflow, time-weighted.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Overall {
    /// Workflows counted.
    pub workflows: i64,
    /// Not counted: no end yet (running, lost, or an agent still running).
    pub excluded_unfinished: i64,
    /// Not counted: ended, but no top-level agent with a start and an end.
    pub excluded_no_agents: i64,
    /// Not counted: zero wall time.
    pub excluded_zero_length: i64,
    pub wall_ms: i64,
    pub agent_union_ms: i64,
    pub agent_sum_ms: i64,
    pub coordination_ms: i64,
    /// Σ(W − union) / Σ W.
    pub overhead: Option<f64>,
    /// Σ(W − Σ) / Σ W.
    pub overhead_sum: Option<f64>,
    /// Mean of (W − union), ms.
    pub avg_coordination_ms: Option<f64>,
    pub peak_concurrency: i64,
    /// ΣΣ / Σ union.
    pub avg_parallelism: Option<f64>,
    /// efficient | monitor | high.
    pub level: Option<String>,
    pub recommendation: Option<String>,
}

/// The overhead report.
#[derive(Debug, Clone, Serialize)]
pub struct Overhead {
    pub overall: Overall,
    pub workflows: Vec<OverheadRow>,
}

impl OverheadRow {
    /// A counted workflow's row from its wall time and its agents' intervals.
    pub(crate) fn new(
        workflow_id: String,
        kind: String,
        start: i64,
        wall: i64,
        m: &Intervals,
    ) -> OverheadRow {
        OverheadRow {
            workflow_id,
            kind,
            // Formatted only for the rows listed (see `compute`): chrono per workflow adds up.
            start: None,
            wall_ms: wall,
            agents: m.agents,
            agent_union_ms: m.union_ms,
            agent_sum_ms: m.sum_ms,
            coordination_ms: wall - m.union_ms,
            overhead: overhead_ratio(wall, m.union_ms),
            overhead_sum: (wall - m.sum_ms) as f64 / wall as f64,
            peak_concurrency: m.peak,
            avg_parallelism: (m.union_ms > 0).then(|| m.sum_ms as f64 / m.union_ms as f64),
            start_ms: Some(start),
        }
    }
}

/// The level and advice for an overall union-based overhead.
pub fn recommendation(overhead: f64) -> (&'static str, &'static str) {
    if overhead < EFFICIENT_BELOW {
        (
            "efficient",
            "efficient — stay with the current coordination",
        )
    } else if overhead <= HIGH_ABOVE {
        (
            "monitor",
            "monitor — coordination takes a noticeable share of wall time",
        )
    } else {
        (
            "high",
            "high overhead — consider shared memory / automated delegation",
        )
    }
}

fn order(rows: &mut Vec<OverheadRow>, by_overhead: bool, limit: usize) {
    rows.sort_by(|a, b| {
        let first = if by_overhead {
            b.overhead
                .partial_cmp(&a.overhead)
                .unwrap_or(std::cmp::Ordering::Equal)
        } else {
            std::cmp::Ordering::Equal
        };
        first
            .then_with(|| b.start_ms.cmp(&a.start_ms))
            .then_with(|| a.workflow_id.cmp(&b.workflow_id))
    });
    rows.truncate(limit);
}

/// Computes the report: from `workflow_figures` and its rollups (crate::analyze::workflow_cache)
/// when they can answer the filter, else in one pass over the matching workflows
/// ([`compute_full_scan`]); the same report either way.
pub fn compute(ctx: &Ctx, filter: &Filter, limit: usize, by_overhead: bool) -> Result<Overhead> {
    match Window::of(filter) {
        Some(win) => {
            workflow_cache::sync(ctx)?;
            from_figures(ctx, &win, limit, by_overhead)
        }
        None => compute_full_scan(ctx, filter, limit, by_overhead),
    }
}

/// The report from one pass over the matching workflows and all their runs, whatever the
/// filter: what [`compute`] must equal.
pub fn compute_full_scan(
    ctx: &Ctx,
    filter: &Filter,
    limit: usize,
    by_overhead: bool,
) -> Result<Overhead> {
    let mut o = Overall::default();
    let mut rows: Vec<OverheadRow> = Vec::new();
    let mut sum_overhead_sum: i64 = 0;
    workflows::for_each(ctx, filter, |wf| match wf.measure_overhead() {
        Measured::Unfinished => o.excluded_unfinished += 1,
        Measured::NoAgents => o.excluded_no_agents += 1,
        Measured::ZeroLength => o.excluded_zero_length += 1,
        Measured::Counted { start, wall, m } => {
            let r = OverheadRow::new(wf.id.clone(), wf.kind.clone(), start, wall, &m);
            o.workflows += 1;
            o.wall_ms += r.wall_ms;
            o.agent_union_ms += r.agent_union_ms;
            o.agent_sum_ms += r.agent_sum_ms;
            o.coordination_ms += r.coordination_ms;
            sum_overhead_sum += r.wall_ms - r.agent_sum_ms;
            o.peak_concurrency = o.peak_concurrency.max(r.peak_concurrency);
            if limit > 0 {
                rows.push(r);
                if rows.len() >= limit * 2 + 64 {
                    order(&mut rows, by_overhead, limit);
                }
            }
        }
    })?;
    order(&mut rows, by_overhead, limit);
    Ok(finish(o, sum_overhead_sum, rows))
}

/// The report from its sums: the overall ratios and level, the listed rows' start.
fn finish(mut o: Overall, sum_overhead_sum: i64, mut rows: Vec<OverheadRow>) -> Overhead {
    for r in &mut rows {
        r.start = r.start_ms.map(crate::timeparse::format_ms);
    }
    if o.workflows > 0 {
        let w = o.wall_ms as f64;
        let overhead = o.coordination_ms as f64 / w;
        o.overhead = Some(overhead);
        o.overhead_sum = Some(sum_overhead_sum as f64 / w);
        o.avg_coordination_ms = Some(o.coordination_ms as f64 / o.workflows as f64);
        o.avg_parallelism =
            (o.agent_union_ms > 0).then(|| o.agent_sum_ms as f64 / o.agent_union_ms as f64);
        let (level, advice) = recommendation(overhead);
        o.level = Some(level.to_string());
        o.recommendation = Some(advice.to_string());
    }
    Overhead {
        overall: o,
        workflows: rows,
    }
}

/// The report from `workflow_figures` and its rollups over `win` (synced by the caller).
fn from_figures(ctx: &Ctx, win: &Window, limit: usize, by_overhead: bool) -> Result<Overhead> {
    let s = workflow_cache::Sums::over(ctx, win)?;
    let o = Overall {
        workflows: s.counted,
        excluded_unfinished: s.unfinished,
        excluded_no_agents: s.no_agents,
        excluded_zero_length: s.zero_length,
        wall_ms: s.wall_ms,
        agent_union_ms: s.union_ms,
        agent_sum_ms: s.sum_ms,
        coordination_ms: s.wall_ms - s.union_ms,
        peak_concurrency: s.peak,
        ..Overall::default()
    };
    // The first `limit` counted workflows in the list's order, through the figures' index for
    // that order; highest overhead first in a window of few workflows, from the window's rows
    // sorted (walking the overhead index would skip most of it to find them).
    let (range, p) = workflow_cache::range_sql(win);
    let few = win.range().is_some() && s.counted <= SORT_WINDOW_UP_TO;
    let (index, order) = if by_overhead && few {
        (
            "workflow_figures_counted",
            "overhead DESC, start_ms DESC, workflow_id",
        )
    } else if by_overhead {
        (
            "workflow_figures_overhead",
            "overhead DESC, start_ms DESC, workflow_id",
        )
    } else {
        ("workflow_figures_counted", "start_ms DESC, workflow_id")
    };
    let mut stmt = ctx.store.conn().prepare(&format!(
        "SELECT workflow_id, kind, start_ms, wall_ms, o_agents, union_ms, sum_ms, peak
         FROM workflow_figures INDEXED BY {index} WHERE measured = 'counted' AND {range}
         ORDER BY {order} LIMIT {limit}"
    ))?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(p.iter()), |r| {
            Ok(OverheadRow::new(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                &Intervals {
                    agents: r.get(4)?,
                    union_ms: r.get(5)?,
                    sum_ms: r.get(6)?,
                    peak: r.get(7)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(finish(o, s.wall_ms - s.sum_ms, rows))
}

/// Runs `analyze overhead`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &OverheadArgs, format: Format) -> Result<bool> {
    let by_overhead = match args.sort.as_str() {
        "recent" => false,
        "overhead" => true,
        other => {
            return Err(Error::InvalidArgument(format!(
                "--sort '{other}': one of recent, overhead"
            )))
        }
    };
    let report = compute(ctx, filter, args.limit, by_overhead)?;
    let o = &report.overall;
    if o.workflows == 0 {
        eprintln!(
            "analyze: no finished workflow with agents to measure ({} unfinished, {} without agents, {} of zero length)",
            o.excluded_unfinished, o.excluded_no_agents, o.excluded_zero_length
        );
        return Ok(false);
    }
    render::print(&report, format)?;
    Ok(true)
}

fn ms(v: i64) -> String {
    render::dur(Some(v as f64))
}

impl Report for Overhead {
    fn command(&self) -> &'static str {
        "overhead"
    }
    fn json(&self) -> Value {
        json!({ "overall": self.overall, "workflows": self.workflows })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&[
            "Started",
            "Workflow",
            "Wall",
            "Agents",
            "Union",
            "Σ agents",
            "Coord.",
            "Overhead",
            "Classic",
            "Peak",
            "Parallel",
        ])
        .numeric(&[2, 3, 4, 5, 6, 7, 8, 9, 10]);
        g.rows = self
            .workflows
            .iter()
            .map(|r| {
                vec![
                    render::iso_minutes(r.start.as_deref()),
                    workflows::short_id(&r.workflow_id),
                    ms(r.wall_ms),
                    render::int(r.agents),
                    ms(r.agent_union_ms),
                    ms(r.agent_sum_ms),
                    ms(r.coordination_ms),
                    render::pct(Some(r.overhead)),
                    render::pct(Some(r.overhead_sum)),
                    render::int(r.peak_concurrency),
                    render::num(r.avg_parallelism, 2),
                ]
            })
            .collect();
        let o = &self.overall;
        g.footer = Some(vec![
            format!("ALL ({})", render::int(o.workflows)),
            String::new(),
            ms(o.wall_ms),
            String::new(),
            ms(o.agent_union_ms),
            ms(o.agent_sum_ms),
            ms(o.coordination_ms),
            render::pct(o.overhead),
            render::pct(o.overhead_sum),
            render::int(o.peak_concurrency),
            render::num(o.avg_parallelism, 2),
        ]);
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        let o = &self.overall;
        let mut n = vec![
            String::new(),
            format!(
                "Coordination overhead {} (time-weighted: Σ Coord. ÷ Σ Wall); on average {} of coordination per workflow.",
                render::pct(o.overhead),
                render::dur(o.avg_coordination_ms)
            ),
            "Union = time any top-level agent was running (overlaps merged); Coord. = Wall − Union; Overhead = Coord. ÷ Wall."
                .to_string(),
            format!(
                "Classic = (Wall − Σ agents) ÷ Wall: {} overall, negative when agents run in parallel. Parallel = Σ agents ÷ Union.",
                render::pct(o.overhead_sum)
            ),
        ];
        let excluded = o.excluded_unfinished + o.excluded_no_agents + o.excluded_zero_length;
        if excluded > 0 {
            n.push(format!(
                "Not counted: {} unfinished, {} without agents, {} of zero length.",
                render::int(o.excluded_unfinished),
                render::int(o.excluded_no_agents),
                render::int(o.excluded_zero_length)
            ));
        }
        if let Some(r) = &o.recommendation {
            n.push(format!("Recommendation: {r}."));
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_overlaps_and_peak_ignores_touching() {
        // [0,60] ∪ [10,70] = [0,70]; Σ = 120; both open during [10,60].
        assert_eq!(
            measure(&[(10, 70), (0, 60)]),
            Intervals {
                agents: 2,
                union_ms: 70,
                sum_ms: 120,
                peak: 2
            }
        );
        // Touching intervals do not overlap: union 20, peak 1.
        assert_eq!(
            measure(&[(0, 10), (10, 20)]),
            Intervals {
                agents: 2,
                union_ms: 20,
                sum_ms: 20,
                peak: 1
            }
        );
        // Disjoint plus a nested one: [0,10] ∪ [20,50] ⊇ [25,30]: union 40, Σ 45, peak 2.
        assert_eq!(
            measure(&[(0, 10), (20, 50), (25, 30)]),
            Intervals {
                agents: 3,
                union_ms: 40,
                sum_ms: 45,
                peak: 2
            }
        );
        assert_eq!(
            measure(&[(5, 5)]),
            Intervals {
                agents: 1,
                union_ms: 0,
                sum_ms: 0,
                peak: 1
            }
        );
        assert_eq!(measure(&[]), Intervals::default());
    }

    #[test]
    fn thresholds() {
        assert_eq!(recommendation(0.1499).0, "efficient");
        assert_eq!(recommendation(0.15).0, "monitor");
        assert_eq!(recommendation(0.30).0, "monitor");
        assert_eq!(recommendation(0.3001).0, "high");
    }
}
