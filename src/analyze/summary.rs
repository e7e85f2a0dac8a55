//! `analyze summary`: one row per agent type, and a totals row.

use super::{window, Ctx, Filter};
use crate::error::Result;
use crate::query::sql::{self, TOKENS_SQL};
use crate::query::stats::{indexed_percentile, percentile};
use crate::render::{self, Grid, Report};
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The figures of one agent type (or of all, in the totals row). Defined in docs/metrics.md.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentFigures {
    pub agent: String,
    pub runs: i64,
    pub success: i64,
    pub failure: i64,
    pub cancelled: i64,
    pub running: i64,
    pub lost: i64,
    /// success / (success + failure + lost); None when that is 0.
    pub success_rate: Option<f64>,
    /// Decided runs (success, failure, lost) with a test result (docs/metrics.md, "Outcome").
    pub tested: i64,
    /// Successful runs whose last test run had no failures.
    pub verified: i64,
    /// verified / tested; None when nothing was tested.
    pub verified_rate: Option<f64>,
    pub avg_duration_ms: Option<f64>,
    pub p50_duration_ms: Option<f64>,
    pub p95_duration_ms: Option<f64>,
    pub avg_complexity: Option<f64>,
    pub tokens: i64,
    pub cost_usd: f64,
    /// success_rate per minute of average duration.
    pub efficiency: Option<f64>,
}

impl AgentFigures {
    fn finish(&mut self, dur_n: i64, dur_sum: i64, complexity_sum: i64) {
        let decided = self.success + self.failure + self.lost;
        self.success_rate = (decided > 0).then(|| self.success as f64 / decided as f64);
        self.verified_rate = (self.tested > 0).then(|| self.verified as f64 / self.tested as f64);
        self.avg_duration_ms = (dur_n > 0).then(|| dur_sum as f64 / dur_n as f64);
        self.avg_complexity = (self.runs > 0).then(|| complexity_sum as f64 / self.runs as f64);
        self.efficiency = efficiency(self.success_rate, self.avg_duration_ms);
    }
}

/// success rate per minute of average duration; None without both, or with a zero duration.
pub fn efficiency(success_rate: Option<f64>, avg_duration_ms: Option<f64>) -> Option<f64> {
    match (success_rate, avg_duration_ms) {
        (Some(r), Some(d)) if d > 0.0 => Some(r / (d / 60_000.0)),
        _ => None,
    }
}

/// The summary report.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub agents: Vec<AgentFigures>,
    pub totals: AgentFigures,
}

/// Columns `--sort` accepts.
pub const SORT_KEYS: &[&str] = &[
    "agent",
    "runs",
    "success",
    "verified",
    "p50",
    "p95",
    "duration",
    "complexity",
    "tokens",
    "cost",
    "efficiency",
];

/// Computes the summary. Without filters it reads the per-day rollups and the duration index
/// (fast at millions of runs); under a time window (and `--agent`) the rollups' whole days, the
/// runs of the part days at the window's edges and the durations from the `(agent_type,
/// start_ms)` index ([`super::window`]); under `--project` or `--session` it aggregates the
/// matching runs directly. The same figures every way ([`compute_from_runs`]).
pub fn compute(ctx: &Ctx, filter: &Filter, sort: &str, reverse: bool) -> Result<Summary> {
    let mut rows = if filter.only_agents() && filter.agents.is_empty() {
        from_rollups(ctx)?
    } else if let Some(days) = window::rollup_days(filter) {
        from_window(ctx, filter, days)?
    } else {
        from_runs(ctx, filter)?
    };
    sort_rows(&mut rows.agents, sort, reverse);
    Ok(rows)
}

/// The same summary from the runs alone, whatever the filter: what [`compute`] must equal
/// under a filter.
pub fn compute_from_runs(ctx: &Ctx, filter: &Filter, sort: &str, reverse: bool) -> Result<Summary> {
    let mut rows = from_runs(ctx, filter)?;
    sort_rows(&mut rows.agents, sort, reverse);
    Ok(rows)
}

fn blank(agent: &str) -> AgentFigures {
    AgentFigures {
        agent: agent.to_string(),
        runs: 0,
        success: 0,
        failure: 0,
        cancelled: 0,
        running: 0,
        lost: 0,
        success_rate: None,
        tested: 0,
        verified: 0,
        verified_rate: None,
        avg_duration_ms: None,
        p50_duration_ms: None,
        p95_duration_ms: None,
        avg_complexity: None,
        tokens: 0,
        cost_usd: 0.0,
        efficiency: None,
    }
}

fn from_rollups(ctx: &Ctx) -> Result<Summary> {
    // Per-day sums from the rollup; lost runs (never ended, started before the threshold) are
    // decided now, from the index of open runs.
    let mut stmt = ctx.store.conn().prepare(
        "SELECT d.agent_type, sum(d.runs), sum(d.success), sum(d.failure), sum(d.cancelled),
                sum(d.open) - coalesce(max(l.n), 0), coalesce(max(l.n), 0), sum(d.dur_n), sum(d.dur_sum),
                sum(d.complexity_sum), sum(d.tokens), sum(d.cost),
                sum(d.tested) + coalesce(max(l.tested), 0), sum(d.verified)
         FROM agent_daily d LEFT JOIN (
             SELECT agent_type, count(*) AS n, sum(tests_failed IS NOT NULL) AS tested
             FROM agent_runs INDEXED BY runs_open
             WHERE end_ms IS NULL AND internal = 0 AND coalesce(start_ms, 0) < ?1 GROUP BY agent_type
         ) l ON l.agent_type = d.agent_type
         GROUP BY d.agent_type HAVING sum(d.runs) > 0",
    )?;
    let rows = stmt
        .query_map([ctx.lost_before()], row_sums)?
        .collect::<rusqlite::Result<_>>()?;
    assemble(rows, |agent, dur_n| {
        Ok((
            indexed_percentile(&ctx.store, agent, dur_n, 0.5)?,
            indexed_percentile(&ctx.store, agent, dur_n, 0.95)?,
        ))
    })
}

fn from_runs(ctx: &Ctx, filter: &Filter) -> Result<Summary> {
    let c = ctx.store.conn();
    // Without statistics SQLite prefers scanning a covering agent-type index over the range of
    // runs_start; a time window is the narrow part here (measured: 4.4 s → see
    // docs/performance.md for `summary --days 7` at 1M runs).
    let hint = if (filter.since.is_some() || filter.until.is_some()) && filter.session.is_none() {
        "INDEXED BY runs_start"
    } else {
        ""
    };
    let (w, p) = filter.runs_where();
    let mut durations: HashMap<String, Vec<i64>> = HashMap::new();
    let mut all: Vec<i64> = Vec::new();
    {
        let mut stmt = c.prepare(&format!(
            "SELECT r.agent_type, r.duration_ms FROM agent_runs r {hint} WHERE {w} AND r.duration_ms IS NOT NULL ORDER BY r.agent_type, r.duration_ms"
        ))?;
        for r in stmt.query_map(params_from_iter(p.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (a, d) = r?;
            all.push(d);
            durations.entry(a).or_default().push(d);
        }
    }
    all.sort_unstable();
    let rows = run_sums(ctx, filter, hint)?;
    assemble(rows, |agent, _| {
        let d = match agent {
            Some(a) => durations.get(a).map(Vec::as_slice).unwrap_or(&[]),
            None => &all,
        };
        Ok((percentile(d, 0.5), percentile(d, 0.95)))
    })
}

/// One agent type's sums: (agent, [runs, success, failure, cancelled, running, lost, durations
/// counted, duration sum, complexity sum, tokens], cost, [tested, verified]).
type Sums = (String, [i64; 10], f64, [i64; 2]);

/// Per agent type, the sums over the runs matching `filter` (`hint`: an INDEXED BY clause or "").
fn run_sums(ctx: &Ctx, filter: &Filter, hint: &str) -> Result<Vec<Sums>> {
    let (w, p) = filter.runs_where();
    let st = ctx.status_sql();
    let counts = sql::status_counts(&st);
    let mut stmt = ctx.store.conn().prepare(&format!(
        "SELECT r.agent_type, count(*), {counts}, count(r.duration_ms), coalesce(sum(r.duration_ms), 0),
                sum(r.complexity), sum({TOKENS_SQL}),
                sum(coalesce(r.cost_usd, 0)),
                sum(r.tests_failed IS NOT NULL AND {st} IN ('success', 'failure', 'lost')),
                sum(r.tests_failed IS NOT NULL AND {st} = 'success' AND r.tests_failed = 0)
         FROM agent_runs r {hint} WHERE {w} GROUP BY r.agent_type"
    ))?;
    let rows = stmt.query_map(params_from_iter(p.iter()), row_sums)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A row of the columns [`run_sums`] and [`from_rollups`] select, as [`Sums`].
fn row_sums(r: &rusqlite::Row<'_>) -> rusqlite::Result<Sums> {
    Ok((
        r.get::<_, String>(0)?,
        [
            r.get::<_, i64>(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
        ],
        r.get::<_, f64>(11)?,
        [r.get::<_, i64>(12)?, r.get::<_, i64>(13)?],
    ))
}

/// A windowed summary (time bounds, `--agent`; no `--project` or `--session`): `agent_daily`
/// over the whole days of the window, the part days' runs, and per agent type the window's
/// durations read from the `runs_type_start` index (no run row read).
fn from_window(ctx: &Ctx, filter: &Filter, days: window::Days) -> Result<Summary> {
    let mut by: std::collections::BTreeMap<String, ([i64; 10], f64, [i64; 2])> =
        std::collections::BTreeMap::new();
    for (agent, d) in window::agent_daily_sums(ctx, filter, days)? {
        by.insert(
            agent,
            (
                [
                    d.runs,
                    d.success,
                    d.failure,
                    d.cancelled,
                    d.running,
                    d.lost,
                    d.dur_n,
                    d.dur_sum,
                    d.complexity_sum,
                    d.tokens,
                ],
                d.cost,
                [d.tested + d.lost_tested, d.verified],
            ),
        );
    }
    for edge in window::edges(filter, days) {
        for (agent, v, cost, tv) in run_sums(ctx, &edge, "INDEXED BY runs_start")? {
            let e = by.entry(agent).or_insert(([0; 10], 0.0, [0; 2]));
            for (a, b) in e.0.iter_mut().zip(v) {
                *a += b;
            }
            e.1 += cost;
            e.2[0] += tv[0];
            e.2[1] += tv[1];
        }
    }
    // Per agent type, the window's durations (sorted) and cost, from the covering index: the
    // cost summed over the runs as the runs path sums it (a sum of the rollup's per-day float
    // sums would differ in the last bits).
    let range = if filter.since.is_none() && filter.until.is_none() {
        "" // no time bound: runs without a start count too
    } else {
        " AND start_ms >= ?2 AND start_ms < ?3"
    };
    let c = ctx.store.conn();
    let mut durations_of = c.prepare(&format!(
        "SELECT duration_ms FROM agent_runs INDEXED BY runs_type_start
         WHERE internal = 0 AND agent_type = ?1{range} AND duration_ms IS NOT NULL"
    ))?;
    let mut cost_of = c.prepare(&format!(
        "SELECT sum(coalesce(cost_usd, 0)) FROM agent_runs INDEXED BY runs_type_start
         WHERE internal = 0 AND agent_type = ?1{range}"
    ))?;
    let bounds: Vec<SqlValue> = if range.is_empty() {
        Vec::new()
    } else {
        vec![
            SqlValue::Integer(filter.since.unwrap_or(i64::MIN)),
            SqlValue::Integer(filter.until.unwrap_or(i64::MAX)),
        ]
    };
    let mut durations: HashMap<String, Vec<i64>> = HashMap::new();
    let mut all: Vec<i64> = Vec::new();
    for (agent, (_, cost, _)) in by.iter_mut() {
        let mut p = vec![SqlValue::Text(agent.clone())];
        p.extend(bounds.iter().cloned());
        let mut d: Vec<i64> = durations_of
            .query_map(params_from_iter(p.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        *cost = cost_of
            .query_row(params_from_iter(p.iter()), |r| r.get::<_, Option<f64>>(0))?
            .unwrap_or(0.0);
        d.sort_unstable();
        all.extend_from_slice(&d);
        durations.insert(agent.clone(), d);
    }
    all.sort_unstable();
    let rows = by
        .into_iter()
        .filter(|(_, (v, _, _))| v[0] > 0)
        .map(|(agent, (v, cost, tv))| (agent, v, cost, tv))
        .collect();
    assemble(rows, |agent, _| {
        let d = match agent {
            Some(a) => durations.get(a).map(Vec::as_slice).unwrap_or(&[]),
            None => &all,
        };
        Ok((percentile(d, 0.5), percentile(d, 0.95)))
    })
}

/// Builds the report from each agent type's [`Sums`] — what every path computes.
/// `p50_p95(agent, durations counted)` gives an agent's percentiles (`None`: all agents).
fn assemble(
    rows: Vec<Sums>,
    mut p50_p95: impl FnMut(Option<&str>, i64) -> Result<(Option<f64>, Option<f64>)>,
) -> Result<Summary> {
    let mut agents = Vec::new();
    let mut totals = blank("TOTAL");
    let (mut all_dur_n, mut all_dur_sum, mut all_cx) = (0, 0, 0);
    for row in rows {
        let (
            agent,
            [runs, success, failure, cancelled, running, lost, dur_n, dur_sum, cx, tokens],
            cost,
            [tested, verified],
        ) = row;
        let mut f = AgentFigures {
            runs,
            success,
            failure,
            cancelled,
            running,
            lost,
            tokens,
            cost_usd: cost,
            tested,
            verified,
            ..blank(&agent)
        };
        (f.p50_duration_ms, f.p95_duration_ms) = p50_p95(Some(&agent), dur_n)?;
        f.finish(dur_n, dur_sum, cx);
        totals.runs += f.runs;
        totals.success += f.success;
        totals.failure += f.failure;
        totals.cancelled += f.cancelled;
        totals.running += f.running;
        totals.lost += f.lost;
        totals.tested += f.tested;
        totals.verified += f.verified;
        totals.tokens += f.tokens;
        totals.cost_usd += f.cost_usd;
        all_dur_n += dur_n;
        all_dur_sum += dur_sum;
        all_cx += cx;
        agents.push(f);
    }
    (totals.p50_duration_ms, totals.p95_duration_ms) = p50_p95(None, all_dur_n)?;
    totals.finish(all_dur_n, all_dur_sum, all_cx);
    Ok(Summary { agents, totals })
}

/// Sorts rows by a column; numbers descend, names ascend; `reverse` flips. Ties: by agent name.
pub fn sort_rows(rows: &mut [AgentFigures], key: &str, reverse: bool) {
    let val = |f: &AgentFigures| -> f64 {
        match key {
            "success" => f.success_rate.unwrap_or(-1.0),
            "verified" => f.verified_rate.unwrap_or(-1.0),
            "p50" => f.p50_duration_ms.unwrap_or(-1.0),
            "p95" => f.p95_duration_ms.unwrap_or(-1.0),
            "duration" => f.avg_duration_ms.unwrap_or(-1.0),
            "complexity" => f.avg_complexity.unwrap_or(-1.0),
            "tokens" => f.tokens as f64,
            "cost" => f.cost_usd,
            "efficiency" => f.efficiency.unwrap_or(-1.0),
            _ => f.runs as f64,
        }
    };
    rows.sort_by(|a, b| {
        let ord = if key == "agent" {
            a.agent.cmp(&b.agent)
        } else {
            val(b)
                .partial_cmp(&val(a))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.agent.cmp(&b.agent))
        };
        if reverse {
            ord.reverse()
        } else {
            ord
        }
    });
}

/// One table row of figures (shared with `top`).
pub fn figure_cells(f: &AgentFigures) -> Vec<String> {
    vec![
        f.agent.clone(),
        render::int(f.runs),
        render::pct(f.success_rate),
        render::pct(f.verified_rate),
        render::dur(f.p50_duration_ms),
        render::dur(f.p95_duration_ms),
        render::num(f.avg_complexity, 1),
        render::int(f.tokens),
        render::usd(Some(f.cost_usd)),
        render::num(f.efficiency, 2),
    ]
}

/// Headers matching [`figure_cells`].
pub const FIGURE_HEADERS: &[&str] = &[
    "Agent",
    "Runs",
    "Success",
    "Verified",
    "p50",
    "p95",
    "Complexity",
    "Tokens",
    "Cost",
    "Efficiency",
];

impl Report for Summary {
    fn command(&self) -> &'static str {
        "summary"
    }
    fn json(&self) -> Value {
        json!({ "agents": self.agents, "totals": self.totals })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(FIGURE_HEADERS).numeric(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        g.rows = self.agents.iter().map(figure_cells).collect();
        g.footer = Some(figure_cells(&self.totals));
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        let mut n = Vec::new();
        if self.totals.running + self.totals.lost > 0 {
            n.push(format!(
                "{} running, {} lost (never stopped). Efficiency = success rate per minute of average duration.",
                self.totals.running, self.totals.lost
            ));
        }
        n
    }
}
