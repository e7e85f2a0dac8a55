//! `analyze trends`: per agent, the last 7 days against the rest of the window (default 30
//! days): success rate and average duration of each period, and a verdict. The verdict is the
//! one trend test ([`crate::query::stats::trend`], a two-proportion z-test on success rate, which
//! `query-best-agent` applies too), so a handful of runs cannot make an agent look better or
//! worse than noise allows. Rule and thresholds: docs/metrics.md (`trends`).

use super::{window, Ctx, Filter};
use crate::error::Result;
use crate::query::sql;
use crate::query::stats::{self, Outcomes, MIN_DECIDED, Z_CRITICAL};
use crate::render::{self, Grid, Report};
use crate::vocab::RunStatus;
use rusqlite::params_from_iter;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Arguments of `analyze trends`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrendsArgs {
    /// One agent type (default: every agent).
    pub agent: Option<String>,
}

/// The recent period: the last 7 days of the window.
pub const RECENT_MS: i64 = stats::RECENT_DAYS * 86_400_000;
/// The window when neither --days nor --since gives one.
pub const DEFAULT_WINDOW_MS: i64 = 30 * 86_400_000;
/// Runs with a duration needed in each period to judge the duration.
pub const MIN_DURATIONS: i64 = 5;
/// A duration change "a lot": the recent average is at least this factor slower or faster.
pub const DURATION_FACTOR: f64 = 1.5;

/// One period's figures.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Period {
    pub runs: i64,
    pub success: i64,
    /// success + failure + lost.
    pub decided: i64,
    pub success_rate: Option<f64>,
    /// Runs with a duration.
    pub durations: i64,
    pub avg_duration_ms: Option<f64>,
    #[serde(skip)]
    dur_sum: i64,
}

impl Period {
    fn finish(&mut self) {
        self.success_rate = (self.decided > 0).then(|| self.success as f64 / self.decided as f64);
        self.avg_duration_ms =
            (self.durations > 0).then(|| self.dur_sum as f64 / self.durations as f64);
    }
}

/// One agent's trend.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trend {
    pub agent: String,
    pub recent: Period,
    pub earlier: Period,
    /// recent − earlier success rate (a fraction: 0.25 = 25 percentage points).
    pub success_change: Option<f64>,
    /// recent ÷ earlier average duration − 1 (0.5 = 50% slower).
    pub duration_change: Option<f64>,
    /// The two-proportion z statistic on success rate (recent − earlier); None without a verdict.
    pub z: Option<f64>,
    /// improving | stable | declining | insufficient data.
    pub verdict: String,
    /// slower | faster when the average duration changed by the factor or more, else None.
    pub duration_verdict: Option<String>,
}

/// The trends report.
#[derive(Debug, Clone, Serialize)]
pub struct Trends {
    pub window_start: String,
    pub recent_start: String,
    pub window_end: String,
    pub min_decided: i64,
    pub z_critical: f64,
    pub agents: Vec<Trend>,
}

impl Period {
    /// The period's outcomes, as the trend test takes them.
    fn outcomes(&self) -> Outcomes {
        Outcomes {
            success: self.success,
            decided: self.decided,
        }
    }
}

fn duration_verdict(recent: &Period, earlier: &Period) -> Option<String> {
    if recent.durations < MIN_DURATIONS || earlier.durations < MIN_DURATIONS {
        return None;
    }
    let (r, e) = (recent.avg_duration_ms?, earlier.avg_duration_ms?);
    if e <= 0.0 || r <= 0.0 {
        return None;
    }
    if r >= e * DURATION_FACTOR {
        Some("slower".into())
    } else if r * DURATION_FACTOR <= e {
        Some("faster".into())
    } else {
        None
    }
}

/// Computes the trends over the window [since or end − 30 days, until or now). Each period's
/// whole UTC days come from `agent_daily`, its part days from the runs
/// ([`super::window`]): the same figures as [`compute_from_runs`].
pub fn compute(ctx: &Ctx, filter: &Filter) -> Result<Trends> {
    assemble(ctx, filter, true)
}

/// The same report from the runs alone: what [`compute`] must equal.
pub fn compute_from_runs(ctx: &Ctx, filter: &Filter) -> Result<Trends> {
    assemble(ctx, filter, false)
}

/// Per agent type, the period's figures over the runs matching `filter` (which bounds the
/// period): from the rollups and the part days' runs when `rollups`, else from the runs.
fn period(ctx: &Ctx, filter: &Filter, rollups: bool) -> Result<BTreeMap<String, Period>> {
    let mut by: BTreeMap<String, Period> = BTreeMap::new();
    let days = if rollups {
        window::rollup_days(filter)
    } else {
        None
    };
    let Some(days) = days else {
        period_from_runs(ctx, filter, &mut by)?;
        return Ok(by);
    };
    for (agent, s) in window::agent_daily_sums(ctx, filter, days)? {
        let e = by.entry(agent).or_default();
        e.runs += s.runs;
        e.success += s.success;
        e.decided += s.success + s.failure + s.lost;
        e.durations += s.dur_n;
        e.dur_sum += s.dur_sum;
    }
    for edge in window::edges(filter, days) {
        period_from_runs(ctx, &edge, &mut by)?;
    }
    Ok(by)
}

/// Adds the figures of the runs matching `filter`, per agent type.
fn period_from_runs(ctx: &Ctx, filter: &Filter, by: &mut BTreeMap<String, Period>) -> Result<()> {
    let (w, p) = filter.runs_where();
    let st = ctx.status_sql();
    let (success, decided) = (
        sql::count_of(&st, RunStatus::Success),
        sql::decided_count(&st),
    );
    let sql = format!(
        "SELECT r.agent_type, count(*), {success}, {decided}, count(r.duration_ms), coalesce(sum(r.duration_ms), 0)
         FROM agent_runs r WHERE {w} GROUP BY r.agent_type"
    );
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            [
                r.get::<_, i64>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ],
        ))
    })?;
    for row in rows {
        let (agent, [runs, success, decided, durations, dur_sum]) = row?;
        let e = by.entry(agent).or_default();
        e.runs += runs;
        e.success += success;
        e.decided += decided;
        e.durations += durations;
        e.dur_sum += dur_sum;
    }
    Ok(())
}

fn assemble(ctx: &Ctx, filter: &Filter, rollups: bool) -> Result<Trends> {
    let end = filter.until.unwrap_or(ctx.now);
    let start = filter.since.unwrap_or(end - DEFAULT_WINDOW_MS);
    let split = (end - RECENT_MS).max(start);
    // The runs that started in [start, split) and in [split, end), as the filter narrows them.
    let bounded = |since: i64, until: i64| Filter {
        since: Some(since),
        until: Some(until),
        ..filter.clone()
    };
    let recent = period(ctx, &bounded(split, end), rollups)?;
    let earlier = period(ctx, &bounded(start, split), rollups)?;
    let mut by: BTreeMap<String, (Period, Period)> = BTreeMap::new();
    for (agent, p) in recent {
        by.entry(agent).or_default().0 = p;
    }
    for (agent, p) in earlier {
        by.entry(agent).or_default().1 = p;
    }
    let mut agents: Vec<Trend> = by
        .into_iter()
        .map(|(agent, (mut recent, mut earlier))| {
            recent.finish();
            earlier.finish();
            let (verdict, z) = stats::trend(recent.outcomes(), earlier.outcomes());
            let verdict = verdict.words().to_string();
            let success_change = match (recent.success_rate, earlier.success_rate) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            };
            let duration_change = match (recent.avg_duration_ms, earlier.avg_duration_ms) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b - 1.0),
                _ => None,
            };
            let duration_verdict = duration_verdict(&recent, &earlier);
            Trend {
                agent,
                recent,
                earlier,
                success_change,
                duration_change,
                z,
                verdict,
                duration_verdict,
            }
        })
        .collect();
    agents.sort_by(|a, b| {
        (b.recent.runs + b.earlier.runs)
            .cmp(&(a.recent.runs + a.earlier.runs))
            .then_with(|| a.agent.cmp(&b.agent))
    });
    Ok(Trends {
        window_start: crate::timeparse::format_ms(start),
        recent_start: crate::timeparse::format_ms(split),
        window_end: crate::timeparse::format_ms(end),
        min_decided: MIN_DECIDED,
        z_critical: Z_CRITICAL,
        agents,
    })
}

impl Report for Trends {
    fn command(&self) -> &'static str {
        "trends"
    }
    fn json(&self) -> Value {
        json!({
            "window_start": self.window_start, "recent_start": self.recent_start, "window_end": self.window_end,
            "min_decided": self.min_decided, "z_critical": self.z_critical, "agents": self.agents,
        })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&[
            "Agent",
            "Runs",
            "Success",
            "Change",
            "z",
            "Avg duration",
            "Change",
            "Verdict",
        ])
        .numeric(&[1, 2, 3, 4, 5, 6]);
        g.rows = self
            .agents
            .iter()
            .map(|t| {
                let verdict = match &t.duration_verdict {
                    Some(d) => format!("{}, {d}", t.verdict),
                    None => t.verdict.clone(),
                };
                vec![
                    t.agent.clone(),
                    format!("{} → {}", t.earlier.runs, t.recent.runs),
                    format!(
                        "{} → {}",
                        render::pct(t.earlier.success_rate),
                        render::pct(t.recent.success_rate)
                    ),
                    render::signed_pp(t.success_change),
                    render::num(t.z, 2),
                    format!(
                        "{} → {}",
                        render::dur(t.earlier.avg_duration_ms),
                        render::dur(t.recent.avg_duration_ms)
                    ),
                    render::signed_pct(t.duration_change),
                    verdict,
                ]
            })
            .collect();
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        vec![
            format!(
                "earlier → recent: earlier = {} to {}, recent = {} to {} (UTC).",
                &self.window_start[..16].replace('T', " "),
                &self.recent_start[..16].replace('T', " "),
                &self.recent_start[..16].replace('T', " "),
                &self.window_end[..16].replace('T', " "),
            ),
            format!(
                "Verdict: two-proportion z-test on success rate, |z| ≥ {} with at least {} decided runs in each period; slower / faster: average duration changed by ×{} or more.",
                self.z_critical, self.min_decided, DURATION_FACTOR
            ),
        ]
    }
}

/// Runs `analyze trends`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &TrendsArgs, format: render::Format) -> Result<bool> {
    let filter = match &args.agent {
        Some(a) => ctx.narrowed(filter, a)?,
        None => filter.clone(),
    };
    let t = compute(ctx, &filter)?;
    if t.agents.is_empty() {
        eprintln!(
            "analyze: no agent runs in the trend window ({} to {})",
            &t.window_start[..10],
            &t.window_end[..10]
        );
        return Ok(false);
    }
    render::print(&t, format)?;
    Ok(true)
}
