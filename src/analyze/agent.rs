//! `analyze agent NAME`: everything about one agent type — status counts, duration
//! percentiles, tokens by kind, cost, a daily trend, the tools it uses, who delegates to it and
//! whom it delegates to, its last runs (with how they were launched) and its last errors. Definitions: docs/metrics.md (`agent`).

pub use super::agent_parts::{Count, HostResources, ToolUse};
use super::agent_parts::{Group, Parts, Sums};
use super::errors::{self, ErrorRow};
use super::tree::{host_cell, RunResources, RunTraits};
use super::{summary, Ctx, Filter};
use crate::error::Result;
use crate::query::sql::{self, HOST_CPU_SECONDS_SQL, HOST_RSS_MB_SQL, TOKENS_SQL};
use crate::query::stats::{indexed_percentile, percentile};
use crate::render::{self, Grid, Report};
use rusqlite::params_from_iter;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Arguments of `analyze agent`.
#[derive(clap::Args, Debug, Clone)]
pub struct AgentArgs {
    /// The agent type.
    pub name: String,
    /// How many recent errors to list.
    #[arg(long, default_value_t = 5)]
    pub errors: usize,
    /// How many days (the most recent with runs) the daily trend shows.
    #[arg(long, default_value_t = 30)]
    pub trend_days: usize,
    /// How many of the most recent runs to list.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

/// One of the agent's most recent runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecentRun {
    pub agent_id: String,
    pub start: Option<String>,
    /// Effective status, as in `tree`.
    pub status: String,
    pub duration_ms: Option<i64>,
    pub description: Option<String>,
    #[serde(flatten)]
    pub traits: RunTraits,
    /// Tool and model time, and the host process's CPU and memory (shared by parallel agents).
    #[serde(flatten)]
    pub resources: RunResources,
}

/// Duration figures over the runs that have a duration (ms).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Durations {
    /// Runs with a duration.
    pub n: i64,
    pub avg_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// Token sums by kind, and the average per run (all runs of the agent).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Tokens {
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub total: i64,
    pub avg_per_run: Option<f64>,
}

/// One UTC day of the agent's runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub runs: i64,
    pub success_rate: Option<f64>,
    pub avg_duration_ms: Option<f64>,
    pub cost_usd: f64,
}

/// What the agent's runs achieved, from their transcripts (docs/metrics.md, "Outcome").
/// Averages are over the runs that have the figure: runs read before schema 10 have none.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Outcome {
    /// Runs with a test result (any status).
    pub runs_with_tests: i64,
    /// Σ over those runs of their last test run's counts.
    pub tests_passed: i64,
    pub tests_failed: i64,
    pub tests_skipped: i64,
    pub avg_tests_passed: Option<f64>,
    pub avg_tests_failed: Option<f64>,
    /// Runs whose transcript summary has the outcome counts.
    pub runs_with_outcome: i64,
    pub files_created: i64,
    pub files_modified: i64,
    pub commands_failed: i64,
    pub avg_files_created: Option<f64>,
    pub avg_files_modified: Option<f64>,
    pub avg_commands_failed: Option<f64>,
    /// Runs with both a duration and a tool time.
    pub timed_runs: i64,
    /// Average tool time of those runs.
    pub avg_tool_ms: Option<f64>,
    /// Average model time of those runs: duration − tool time, at least 0 per run.
    pub avg_model_ms: Option<f64>,
}

/// The `agent` report.
#[derive(Debug, Clone, Serialize)]
pub struct AgentReport {
    pub agent: String,
    pub category: String,
    pub runs: i64,
    pub success: i64,
    pub failure: i64,
    pub cancelled: i64,
    pub running: i64,
    pub lost: i64,
    /// success ÷ (success + failure + lost).
    pub success_rate: Option<f64>,
    /// Decided runs (success, failure, lost) with a test result.
    pub tested: i64,
    /// Successful runs whose last test run had no failures.
    pub verified: i64,
    /// verified ÷ tested.
    pub verified_rate: Option<f64>,
    pub outcome: Outcome,
    pub duration: Durations,
    pub tokens: Tokens,
    /// Σ cost of the runs (runs of unpriced models add 0).
    pub cost_usd: f64,
    /// cost_usd ÷ runs.
    pub avg_cost_usd: Option<f64>,
    /// Runs with tokens but no known price (their cost is not in cost_usd).
    pub unpriced_runs: i64,
    pub avg_complexity: Option<f64>,
    pub efficiency: Option<f64>,
    /// The Claude Code process's CPU and memory while the runs ran.
    pub host: HostResources,
    /// The most recent days with runs, oldest first.
    pub daily: Vec<Day>,
    pub tools: Vec<ToolUse>,
    /// Who started this agent's runs: parent runs' agent types, `main agent` at depth 1.
    pub delegated_by: Vec<Count>,
    /// The agent types this agent's runs started.
    pub delegates_to: Vec<Count>,
    /// The most recent runs, newest first, with how they were launched.
    pub recent_runs: Vec<RecentRun>,
    pub recent_errors: Vec<ErrorRow>,
    /// The agent's custom metrics (docs/metrics.md, "Custom metrics"), by name.
    pub metrics: Vec<super::metrics::MetricRow>,
}

/// Computes the report; None when no run of the agent matches the filter.
///
/// When nothing but the agent (and a time window) narrows the runs, the sums come from the
/// agent's cells (`agent_cells`: per UTC start day, refreshed here when marked dirty) for the
/// window's whole days and from the runs for its part days; else from [`compute_full_scan`]'s
/// passes. Errors and (unfiltered) percentiles come from indexes.
pub fn compute(
    ctx: &Ctx,
    filter: &Filter,
    name: &str,
    errors_n: usize,
    days_n: usize,
    runs_n: usize,
) -> Result<Option<AgentReport>> {
    let parts = match super::agent_cells::parts(ctx, filter, name)? {
        Some(parts) => parts,
        None => full_parts(ctx, filter)?,
    };
    report(ctx, filter, name, parts, errors_n, days_n, runs_n)
}

/// The report from one grouped pass (per UTC day × delegating agent type) for the totals, the
/// daily trend and "delegated by", and one pass each for the outcome, the host figures, the
/// tools and the children, whatever the filter: what [`compute`] must equal.
pub fn compute_full_scan(
    ctx: &Ctx,
    filter: &Filter,
    name: &str,
    errors_n: usize,
    days_n: usize,
    runs_n: usize,
) -> Result<Option<AgentReport>> {
    let parts = full_parts(ctx, filter)?;
    report(ctx, filter, name, parts, errors_n, days_n, runs_n)
}

/// [`Parts`] from passes over the matching runs.
fn full_parts(ctx: &Ctx, filter: &Filter) -> Result<Parts> {
    let c = ctx.store.conn();
    let (w, p) = filter.runs_where();
    let st = ctx.status_sql();
    let counts = sql::status_counts(&st);
    let sql = format!(
        "SELECT coalesce(r.start_ms, 0) / 86400000 AS day,
                CASE WHEN r.parent_agent_id IS NULL THEN 'main agent' ELSE coalesce(pr.agent_type, 'unknown') END AS who,
                count(*), {counts}, count(r.duration_ms), coalesce(sum(r.duration_ms), 0), sum(r.complexity),
                sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_read_tokens), sum(r.cache_write_tokens),
                sum(r.cost_usd IS NULL AND {TOKENS_SQL} > 0),
                coalesce(sum(r.cost_usd), 0.0), max(r.category)
         FROM agent_runs r LEFT JOIN agent_runs pr ON pr.agent_id = r.parent_agent_id
         WHERE {w} GROUP BY day, who"
    );
    let mut stmt = c.prepare(&sql)?;
    let groups = stmt
        .query_map(params_from_iter(p.iter()), |r| {
            let mut v = [0i64; 14];
            for (i, x) in v.iter_mut().enumerate() {
                *x = r.get(i + 2)?;
            }
            let [runs, success, failure, cancelled, running, lost, dur_n, dur_sum, complexity, input, output, cache_read, cache_write, unpriced] = v;
            let sums = Sums {
                runs, success, failure, cancelled, running, lost, dur_n, dur_sum, complexity, input, output, cache_read,
                cache_write, unpriced, cost: r.get(16)?,
            };
            Ok(Group { day: r.get(0)?, who: r.get(1)?, sums, category: r.get(17)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Parts {
        groups,
        outcome: outcome(ctx, &w, &p)?,
        host: host_resources(ctx, &w, &p)?,
        tools: tools(ctx, &w, &p)?,
        delegates_to: counts_of(
            ctx,
            &format!(
                "SELECT ch.agent_type, count(*) FROM agent_runs r JOIN agent_runs ch ON ch.parent_agent_id = r.agent_id
                 WHERE {w} AND ch.internal = 0 GROUP BY ch.agent_type"
            ),
            &p,
        )?,
    })
}

/// The report from its parts and the index-served sections.
#[allow(clippy::too_many_lines)] // one section of the agent page after the other, in the page's order
fn report(
    ctx: &Ctx,
    filter: &Filter,
    name: &str,
    parts: Parts,
    errors_n: usize,
    days_n: usize,
    runs_n: usize,
) -> Result<Option<AgentReport>> {
    let c = ctx.store.conn();
    let (w, p) = filter.runs_where();
    let mut total = Sums::default();
    let mut by_day: BTreeMap<i64, Sums> = BTreeMap::new();
    let mut by_who: BTreeMap<String, i64> = BTreeMap::new();
    let mut category: Option<String> = None;
    for g in parts.groups {
        total.add(&g.sums);
        by_day.entry(g.day).or_default().add(&g.sums);
        *by_who.entry(g.who).or_default() += g.sums.runs;
        category = category.or(g.category);
    }
    if total.runs == 0 {
        return Ok(None);
    }
    let runs = total.runs;
    let success_rate = total.success_rate();
    let avg_ms = total.avg_duration();

    // Percentiles: straight from the (agent_type, duration_ms) index when nothing but the agent
    // narrows the runs; else from the matching durations.
    let ps = [0.5, 0.95, 0.99, 0.0, 1.0];
    let mut q = [None; 5];
    if filter.only_agents() {
        for (slot, pct) in q.iter_mut().zip(ps) {
            *slot = indexed_percentile(&ctx.store, Some(name), total.dur_n, pct)?;
        }
    } else {
        let mut stmt =
            c.prepare(&format!("SELECT r.duration_ms FROM agent_runs r WHERE {w} AND r.duration_ms IS NOT NULL ORDER BY r.duration_ms"))?;
        let ds: Vec<i64> = stmt
            .query_map(params_from_iter(p.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for (slot, pct) in q.iter_mut().zip(ps) {
            *slot = percentile(&ds, pct);
        }
    }
    let [p50_ms, p95_ms, p99_ms, min_ms, max_ms] = q;
    let tokens = total.input + total.output + total.cache_read + total.cache_write;
    let daily = by_day
        .iter()
        .rev()
        .take(days_n)
        .rev()
        .map(|(day, s)| Day {
            day: crate::timeparse::format_ms(day * 86_400_000)
                .chars()
                .take(10)
                .collect(),
            runs: s.runs,
            success_rate: s.success_rate(),
            avg_duration_ms: s.avg_duration(),
            cost_usd: s.cost,
        })
        .collect();
    let mut delegated_by: Vec<Count> = by_who
        .into_iter()
        .map(|(agent, runs)| Count { agent, runs })
        .collect();
    delegated_by.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.agent.cmp(&b.agent)));
    let (tested, verified, outcome) = outcome_of(parts.outcome);
    let mut tools = parts.tools;
    tools.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.tool.cmp(&b.tool)));
    let all: i64 = tools.iter().map(|t| t.calls).sum();
    for t in &mut tools {
        t.share = if all > 0 {
            t.calls as f64 / all as f64
        } else {
            0.0
        };
    }
    let mut delegates_to = parts.delegates_to;
    delegates_to.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.agent.cmp(&b.agent)));

    Ok(Some(AgentReport {
        agent: name.to_string(),
        category: category.unwrap_or_else(|| "general".into()),
        runs,
        success: total.success,
        failure: total.failure,
        cancelled: total.cancelled,
        running: total.running,
        lost: total.lost,
        success_rate,
        tested,
        verified,
        verified_rate: (tested > 0).then(|| verified as f64 / tested as f64),
        outcome,
        duration: Durations {
            n: total.dur_n,
            avg_ms,
            p50_ms,
            p95_ms,
            p99_ms,
            min_ms,
            max_ms,
        },
        tokens: Tokens {
            input: total.input,
            output: total.output,
            cache_read: total.cache_read,
            cache_write: total.cache_write,
            total: tokens,
            avg_per_run: Some(tokens as f64 / runs as f64),
        },
        cost_usd: total.cost,
        avg_cost_usd: Some(total.cost / runs as f64),
        unpriced_runs: total.unpriced,
        avg_complexity: Some(total.complexity as f64 / runs as f64),
        efficiency: summary::efficiency(success_rate, avg_ms),
        host: parts.host,
        daily,
        tools,
        delegated_by,
        delegates_to,
        recent_runs: recent_runs(ctx, &w, &p, runs_n)?,
        recent_errors: errors::compute(ctx, filter, errors_n)?.errors,
        metrics: super::metrics::compute(ctx, filter, None, false)?.metrics,
    }))
}

/// The outcome query's columns over the matching runs, in one pass: tested, verified, runs with
/// tests, passed, failed, skipped, runs with an outcome, files created, modified, commands
/// failed, timed runs, tool ms, model ms.
fn outcome(ctx: &Ctx, w: &str, p: &[rusqlite::types::Value]) -> Result<[i64; 13]> {
    let st = ctx.status_sql();
    let both = "r.tool_ms IS NOT NULL AND r.duration_ms IS NOT NULL";
    let sql = format!(
        "SELECT coalesce(sum(r.tests_failed IS NOT NULL AND {st} IN ('success', 'failure', 'lost')), 0),
                coalesce(sum(r.tests_failed IS NOT NULL AND {st} = 'success' AND r.tests_failed = 0), 0),
                count(r.tests_failed), coalesce(sum(r.tests_passed), 0), coalesce(sum(r.tests_failed), 0),
                coalesce(sum(r.tests_skipped), 0),
                count(r.files_created), coalesce(sum(r.files_created), 0), coalesce(sum(r.files_modified), 0),
                coalesce(sum(r.commands_failed), 0),
                count(CASE WHEN {both} THEN 1 END), coalesce(sum(CASE WHEN {both} THEN r.tool_ms END), 0),
                coalesce(sum(CASE WHEN {both} THEN max(r.duration_ms - r.tool_ms, 0) END), 0)
         FROM agent_runs r WHERE {w}"
    );
    let v: [i64; 13] = ctx
        .store
        .conn()
        .query_row(&sql, params_from_iter(p.iter()), |r| {
            let mut v = [0i64; 13];
            for (i, x) in v.iter_mut().enumerate() {
                *x = r.get(i)?;
            }
            Ok(v)
        })?;
    Ok(v)
}

/// (tested, verified, the outcome figures) from the outcome query's columns.
fn outcome_of(v: [i64; 13]) -> (i64, i64, Outcome) {
    let [tested, verified, with_tests, passed, failed, skipped, with_outcome, created, modified, commands_failed, timed, tool_ms, model_ms] =
        v;
    let avg = |sum: i64, n: i64| (n > 0).then(|| sum as f64 / n as f64);
    (
        tested,
        verified,
        Outcome {
            runs_with_tests: with_tests,
            tests_passed: passed,
            tests_failed: failed,
            tests_skipped: skipped,
            avg_tests_passed: avg(passed, with_tests),
            avg_tests_failed: avg(failed, with_tests),
            runs_with_outcome: with_outcome,
            files_created: created,
            files_modified: modified,
            commands_failed,
            avg_files_created: avg(created, with_outcome),
            avg_files_modified: avg(modified, with_outcome),
            avg_commands_failed: avg(commands_failed, with_outcome),
            timed_runs: timed,
            avg_tool_ms: avg(tool_ms, timed),
            avg_model_ms: avg(model_ms, timed),
        },
    )
}

/// The `n` newest runs by start (the `runs_type_start` index: no pass over the agent's runs).
fn recent_runs(
    ctx: &Ctx,
    w: &str,
    p: &[rusqlite::types::Value],
    n: usize,
) -> Result<Vec<RecentRun>> {
    let st = ctx.status_sql();
    let sql = format!(
        "SELECT r.agent_id, r.start_ms, {st}, r.duration_ms, r.description, {}, {}
         FROM agent_runs r WHERE {w} ORDER BY r.start_ms DESC, r.id DESC LIMIT {n}",
        RunResources::sql(),
        RunTraits::SQL
    );
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok(RecentRun {
            agent_id: r.get(0)?,
            start: r.get::<_, Option<i64>>(1)?.map(crate::timeparse::format_ms),
            status: r.get(2)?,
            duration_ms: r.get(3)?,
            description: r.get(4)?,
            resources: RunResources::from_row(r, 5)?,
            traits: RunTraits::from_row(r, 9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The host figures over the agent's runs: one pass.
fn host_resources(ctx: &Ctx, w: &str, p: &[rusqlite::types::Value]) -> Result<HostResources> {
    let sql = format!(
        "SELECT count({HOST_CPU_SECONDS_SQL}), avg({HOST_CPU_SECONDS_SQL}), max({HOST_CPU_SECONDS_SQL}),
                count({HOST_RSS_MB_SQL}), avg({HOST_RSS_MB_SQL}), max({HOST_RSS_MB_SQL})
         FROM agent_runs r WHERE {w}"
    );
    Ok(ctx
        .store
        .conn()
        .query_row(&sql, params_from_iter(p.iter()), |r| {
            Ok(HostResources {
                cpu_runs: r.get(0)?,
                avg_cpu_seconds: r.get(1)?,
                max_cpu_seconds: r.get(2)?,
                rss_runs: r.get(3)?,
                avg_rss_mb: r.get(4)?,
                max_rss_mb: r.get(5)?,
            })
        })?)
}

/// Calls, errors and runs per tool of the matching runs (shares set by the report): one pass.
fn tools(ctx: &Ctx, w: &str, p: &[rusqlite::types::Value]) -> Result<Vec<ToolUse>> {
    let sql = format!(
        "SELECT t.tool, sum(t.calls), sum(t.errors), count(*) FROM agent_runs r CROSS JOIN run_tools t ON t.run_id = r.id
         WHERE {w} GROUP BY t.tool"
    );
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let rows: Vec<ToolUse> = stmt
        .query_map(params_from_iter(p.iter()), |r| {
            Ok(ToolUse {
                tool: r.get(0)?,
                calls: r.get(1)?,
                errors: r.get(2)?,
                share: 0.0,
                runs: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn counts_of(ctx: &Ctx, sql: &str, p: &[rusqlite::types::Value]) -> Result<Vec<Count>> {
    let mut stmt = ctx.store.conn().prepare(sql)?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok(Count {
            agent: r.get(0)?,
            runs: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Report for AgentReport {
    fn command(&self) -> &'static str {
        "agent"
    }
    fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }
    #[allow(clippy::too_many_lines)] // one table per section, in the order they print
    fn grids(&self) -> Vec<Grid> {
        let d = &self.duration;
        let t = &self.tokens;
        let o = &self.outcome;
        let mut overview = Grid::new(&["Figure", "Value"])
            .titled(format!("Agent {} ({})", self.agent, self.category));
        let status = format!(
            "{} success, {} failure, {} cancelled, {} running, {} lost",
            self.success, self.failure, self.cancelled, self.running, self.lost
        );
        overview.rows = vec![
            vec!["Runs".into(), render::int(self.runs)],
            vec!["Status".into(), status],
            vec!["Success rate".into(), render::pct(self.success_rate)],
            vec![
                "Verified rate".into(),
                match self.verified_rate {
                    Some(_) => format!(
                        "{} ({} of {} tested)",
                        render::pct(self.verified_rate),
                        render::int(self.verified),
                        render::int(self.tested)
                    ),
                    None => "-".into(),
                },
            ],
            vec![
                "Tests passed / failed (last run, total)".into(),
                format!(
                    "{} / {}",
                    render::int(o.tests_passed),
                    render::int(o.tests_failed)
                ),
            ],
            vec![
                "Tests passed / failed per tested run".into(),
                format!(
                    "{} / {}",
                    render::num(o.avg_tests_passed, 1),
                    render::num(o.avg_tests_failed, 1)
                ),
            ],
            vec![
                "Files created / modified (total)".into(),
                format!(
                    "{} / {}",
                    render::int(o.files_created),
                    render::int(o.files_modified)
                ),
            ],
            vec![
                "Files created / modified per run".into(),
                format!(
                    "{} / {}",
                    render::num(o.avg_files_created, 1),
                    render::num(o.avg_files_modified, 1)
                ),
            ],
            vec![
                "Commands failed (total / per run)".into(),
                format!(
                    "{} / {}",
                    render::int(o.commands_failed),
                    render::num(o.avg_commands_failed, 1)
                ),
            ],
            vec![
                "Tool time / model time (avg)".into(),
                format!(
                    "{} / {}",
                    render::dur(o.avg_tool_ms),
                    render::dur(o.avg_model_ms)
                ),
            ],
            vec!["Duration avg".into(), render::dur(d.avg_ms)],
            vec![
                "Duration p50 / p95 / p99".into(),
                format!(
                    "{} / {} / {}",
                    render::dur(d.p50_ms),
                    render::dur(d.p95_ms),
                    render::dur(d.p99_ms)
                ),
            ],
            vec![
                "Duration min / max".into(),
                format!("{} / {}", render::dur(d.min_ms), render::dur(d.max_ms)),
            ],
            vec!["Tokens total".into(), render::int(t.total)],
            vec![
                "Tokens per run".into(),
                t.avg_per_run
                    .map(|x| render::int(x.round() as i64))
                    .unwrap_or_else(|| "-".into()),
            ],
            vec![
                "Tokens in / out / cache read / cache write".into(),
                format!(
                    "{} / {} / {} / {}",
                    render::int(t.input),
                    render::int(t.output),
                    render::int(t.cache_read),
                    render::int(t.cache_write)
                ),
            ],
            vec!["Cost total".into(), render::usd(Some(self.cost_usd))],
            vec!["Cost per run".into(), render::usd(self.avg_cost_usd)],
            vec!["Avg complexity".into(), render::num(self.avg_complexity, 1)],
            vec!["Efficiency".into(), render::num(self.efficiency, 2)],
        ];
        let mut daily = Grid::new(&["Day (UTC)", "Runs", "Success", "Avg duration", "Cost"])
            .numeric(&[1, 2, 3, 4])
            .titled("Daily");
        daily.rows = self
            .daily
            .iter()
            .map(|x| {
                vec![
                    x.day.clone(),
                    render::int(x.runs),
                    render::pct(x.success_rate),
                    render::dur(x.avg_duration_ms),
                    render::usd(Some(x.cost_usd)),
                ]
            })
            .collect();
        let mut tools = Grid::new(&["Tool", "Calls", "Errors", "Share", "Runs"])
            .numeric(&[1, 2, 3, 4])
            .titled("Tools");
        tools.rows = self
            .tools
            .iter()
            .map(|x| {
                vec![
                    x.tool.clone(),
                    render::int(x.calls),
                    render::int(x.errors),
                    render::pct(Some(x.share)),
                    render::int(x.runs),
                ]
            })
            .collect();
        let count_rows = |v: &[Count]| {
            v.iter()
                .map(|x| vec![x.agent.clone(), render::int(x.runs)])
                .collect::<Vec<_>>()
        };
        let mut by = Grid::new(&["Delegated by", "Runs"])
            .numeric(&[1])
            .titled("Who delegates to it");
        by.rows = count_rows(&self.delegated_by);
        let mut to = Grid::new(&["Delegates to", "Runs"])
            .numeric(&[1])
            .titled("Whom it delegates to");
        to.rows = count_rows(&self.delegates_to);
        // Tool / model time only where a run has a transcript summary, the host's columns only
        // where a run has a figure (none without /proc).
        let time_cols = self
            .recent_runs
            .iter()
            .any(|r| r.resources.tool_ms.is_some());
        let host_cols = self.recent_runs.iter().any(|r| r.resources.has_host());
        let mut head = vec![
            "Started (UTC)",
            "Status",
            "Duration",
            "Description",
            "Launched",
        ];
        if time_cols {
            head.extend(["Tool", "Model"]);
        }
        if host_cols {
            head.extend(["Host CPU", "Host mem"]);
        }
        let numeric: Vec<usize> = std::iter::once(2).chain(5..head.len()).collect();
        let mut recent = Grid::new(&head).numeric(&numeric).titled("Recent runs");
        recent.rows = self
            .recent_runs
            .iter()
            .map(|r| {
                let mut row = vec![
                    render::iso_minutes(r.start.as_deref()),
                    r.status.clone(),
                    render::dur(r.duration_ms.map(|d| d as f64)),
                    render::clip(r.description.as_deref().unwrap_or(""), 40),
                    r.traits
                        .label()
                        .trim_start_matches('(')
                        .trim_end_matches(')')
                        .to_string(),
                ];
                let ms = |v: Option<i64>| render::dur(v.map(|x| x as f64));
                if time_cols {
                    row.push(ms(r.resources.tool_ms));
                    row.push(ms(r.resources.model_ms));
                }
                if host_cols {
                    row.push(host_cell(r.resources.host_cpu_seconds, " s"));
                    row.push(host_cell(r.resources.host_rss_mb, " MB"));
                }
                row
            })
            .collect();
        let mut errs =
            Grid::new(&["Time (UTC)", "Status", "Description", "Error"]).titled("Recent errors");
        errs.rows = self
            .recent_errors
            .iter()
            .map(|e| errors::error_cells(e, false))
            .collect();
        let mut grids = vec![overview];
        let h = &self.host;
        if h.cpu_runs + h.rss_runs > 0 {
            let mut host = Grid::new(&["Figure", "Value"])
                .titled("Claude Code process (shared by parallel agents)");
            host.rows = vec![
                vec![
                    "CPU seconds while a run ran, avg / max".into(),
                    host_pair(h.avg_cpu_seconds, h.max_cpu_seconds, " s", h.cpu_runs),
                ],
                vec![
                    "Memory at a run's stop, avg / max".into(),
                    host_pair(h.avg_rss_mb, h.max_rss_mb, " MB", h.rss_runs),
                ],
            ];
            grids.push(host);
        }
        grids.extend([daily, tools, by, to, recent, errs]);
        if !self.metrics.is_empty() {
            let mut headers = vec!["Metric"];
            headers.extend(super::metrics::FIGURE_HEADERS);
            let mut m = Grid::new(&headers)
                .numeric(&[1, 2, 3, 4, 5, 6, 7])
                .titled("Custom metrics");
            m.rows = self
                .metrics
                .iter()
                .map(|x| {
                    let mut cells = vec![x.name.clone()];
                    cells.extend(super::metrics::figure_cells(x));
                    cells
                })
                .collect();
            grids.push(m);
        }
        grids
    }
    fn notes(&self) -> Vec<String> {
        let mut n = Vec::new();
        if self.host.cpu_runs + self.host.rss_runs > 0 {
            n.push(
                "Host CPU / Host mem (recent runs): the Claude Code process's CPU seconds while the run ran and its memory at the stop \
                 (shared by parallel agents; docs/metrics.md, \"Resources\")."
                    .into(),
            );
        }
        if self.unpriced_runs > 0 {
            n.push(format!(
                "{} run(s) used a model without a known price: their cost is not included.",
                self.unpriced_runs
            ));
        }
        n
    }
}

/// `avg / max` of a host figure and over how many runs.
fn host_pair(avg: Option<f64>, max: Option<f64>, unit: &str, runs: i64) -> String {
    if runs == 0 {
        return "-".into();
    }
    format!(
        "{} / {} ({} runs)",
        host_cell(avg, unit),
        host_cell(max, unit),
        render::int(runs)
    )
}

/// Runs `analyze agent`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &AgentArgs, format: render::Format) -> Result<bool> {
    let f = ctx.narrowed(filter, &args.name)?;
    match compute(ctx, &f, &args.name, args.errors, args.trend_days, args.runs)? {
        Some(report) => {
            render::print(&report, format)?;
            Ok(true)
        }
        None => {
            eprintln!("analyze: no runs of '{}' match the filters", args.name);
            Ok(false)
        }
    }
}
