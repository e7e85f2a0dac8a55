//! `analyze metrics [NAME]`: per agent type and metric, the runs with a value, their average,
//! p50, p95, min, max and sum, and the trend (the mean of the last 7 days against the mean
//! before). Custom metrics (config.json `"metrics"`, generic stop events' `"metrics"`) and the
//! built-in per-run metrics (test results, files, lines, failed commands, tool and model time,
//! the host process's CPU and memory). Definitions: docs/metrics.md ("Custom metrics").

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::query::stats::{self, percentile_f64};
use crate::render::{self, Grid, Report};
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Arguments of `analyze metrics`.
#[derive(clap::Args, Debug, Clone)]
pub struct MetricsArgs {
    /// One metric (custom or built-in); default: every metric.
    pub name: Option<String>,
}

/// A built-in per-run metric.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    /// The SQL of a run's value (`r` the run; NULL: no value).
    pub sql: &'static str,
    /// Its span attribute in `analyze export otlp`.
    pub otel: &'static str,
    /// A count (an integer attribute), not a measure.
    pub count: bool,
}

const fn b(name: &'static str, sql: &'static str, otel: &'static str, count: bool) -> Builtin {
    Builtin {
        name,
        sql,
        otel,
        count,
    }
}

/// The built-in per-run metrics (docs/metrics.md, "Custom metrics").
pub const BUILTINS: [Builtin; 12] = [
    b("tests_passed", "r.tests_passed", "agent_telemetry.tests.passed", true),
    b("tests_failed", "r.tests_failed", "agent_telemetry.tests.failed", true),
    b("tests_skipped", "r.tests_skipped", "agent_telemetry.tests.skipped", true),
    b("files_created", "r.files_created", "agent_telemetry.files.created", true),
    b("files_modified", "r.files_modified", "agent_telemetry.files.modified", true),
    b(
        "lines_added",
        "CASE WHEN r.has_summary THEN r.lines_added END",
        "agent_telemetry.lines.added",
        true,
    ),
    b(
        "lines_removed",
        "CASE WHEN r.has_summary THEN r.lines_removed END",
        "agent_telemetry.lines.removed",
        true,
    ),
    b("commands_failed", "r.commands_failed", "agent_telemetry.commands.failed", true),
    b("tool_seconds", "r.tool_ms / 1000.0", "agent_telemetry.tool_seconds", false),
    b(
        "model_seconds",
        "CASE WHEN r.tool_ms IS NOT NULL AND r.duration_ms IS NOT NULL THEN max(r.duration_ms - r.tool_ms, 0) / 1000.0 END",
        "agent_telemetry.model_seconds",
        false,
    ),
    b(
        "host_cpu_seconds",
        "CASE WHEN r.host_pid IS NOT NULL AND r.host_cpu_end_ms >= r.host_cpu_start_ms
              THEN (r.host_cpu_end_ms - r.host_cpu_start_ms) / 1000.0 END",
        "agent_telemetry.host.cpu_seconds",
        false,
    ),
    b("host_rss_mb", "r.host_rss_kb / 1024.0", "agent_telemetry.host.rss_mb", false),
];

/// The mean of the recent period's values against the earlier period's.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MetricTrend {
    /// Runs with a value that started in the last 7 days (of `--until`, else now).
    pub recent_runs: i64,
    pub recent_avg: Option<f64>,
    /// Runs with a value that started before.
    pub earlier_runs: i64,
    pub earlier_avg: Option<f64>,
    /// recent_avg − earlier_avg.
    pub change: Option<f64>,
    /// up | down | flat (the sign of `change`); None when a period has no value.
    pub direction: Option<String>,
}

/// One metric of one agent type.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricRow {
    pub agent: String,
    pub name: String,
    /// A built-in per-run metric ([`BUILTINS`]), not a custom one.
    pub builtin: bool,
    /// Runs with a value.
    pub runs: i64,
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub trend: MetricTrend,
}

/// A name refused for an agent type past its 1,000 names.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Refused {
    pub agent: String,
    pub name: String,
    /// Values refused (a run recorded twice counts twice).
    pub runs: i64,
    /// The earliest time a value of it was refused.
    pub first: Option<String>,
}

/// The `metrics` report.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsReport {
    /// Where the trend's recent period starts.
    pub recent_start: String,
    pub metrics: Vec<MetricRow>,
    pub refused: Vec<Refused>,
    pub max_names_per_agent: usize,
}

/// A metric's values by agent type: (order key, name, builtin) → (value, recent).
type Groups = BTreeMap<(String, (u8, usize, String)), Vec<(f64, bool)>>;

/// Computes the report: custom metrics always, built-ins when `builtins`; only `name` when given.
pub fn compute(
    ctx: &Ctx,
    filter: &Filter,
    name: Option<&str>,
    builtins: bool,
) -> Result<MetricsReport> {
    let end = filter.until.unwrap_or(ctx.now);
    let split = end - stats::RECENT_DAYS * 86_400_000;
    let (w, p) = filter.runs_where();
    let c = ctx.store.conn();
    let mut groups: Groups = BTreeMap::new();
    let recent = |start: Option<i64>| start.is_some_and(|s| s >= split);

    // Custom values.
    let mut params: Vec<SqlValue> = p.clone();
    let mut only = String::new();
    if let Some(n) = name {
        params.push(SqlValue::Text(n.to_string()));
        only = format!(" AND n.name = ?{}", params.len());
    }
    let sql = format!(
        "SELECT r.agent_type, n.name, v.value, r.start_ms FROM agent_runs r
         JOIN run_values v ON v.run_id = r.id JOIN metric_names n ON n.id = v.metric_id
         WHERE {w}{only}"
    );
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(params.iter()))?;
    while let Some(r) = rows.next()? {
        let (agent, metric): (String, String) = (r.get(0)?, r.get(1)?);
        groups
            .entry((agent, (1, 0, metric)))
            .or_default()
            .push((r.get(2)?, recent(r.get(3)?)));
    }

    // Built-in values.
    let chosen: Vec<(usize, &Builtin)> = BUILTINS
        .iter()
        .enumerate()
        .filter(|(_, b)| builtins && name.is_none_or(|x| x == b.name))
        .collect();
    if !chosen.is_empty() {
        let exprs: Vec<&str> = chosen.iter().map(|(_, b)| b.sql).collect();
        let sql = format!(
            "SELECT r.agent_type, r.start_ms, {} FROM agent_runs r WHERE {w}",
            exprs.join(", ")
        );
        let mut stmt = c.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(p.iter()))?;
        while let Some(r) = rows.next()? {
            let agent: String = r.get(0)?;
            let is_recent = recent(r.get(1)?);
            for (k, (i, b)) in chosen.iter().enumerate() {
                if let Some(v) = r.get::<_, Option<f64>>(k + 2)? {
                    groups
                        .entry((agent.clone(), (0, *i, b.name.to_string())))
                        .or_default()
                        .push((v, is_recent));
                }
            }
        }
    }

    let metrics = groups
        .into_iter()
        .map(|((agent, (kind, _, metric)), vals)| row(agent, metric, kind == 0, vals))
        .collect();
    Ok(MetricsReport {
        recent_start: crate::timeparse::format_ms(split),
        metrics,
        refused: refused(ctx, filter, name)?,
        max_names_per_agent: crate::metrics::MAX_NAMES_PER_AGENT,
    })
}

fn row(agent: String, name: String, builtin: bool, vals: Vec<(f64, bool)>) -> MetricRow {
    let mut xs: Vec<f64> = vals.iter().map(|v| v.0).collect();
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let sum: f64 = xs.iter().sum();
    let mean = |it: &mut dyn Iterator<Item = f64>| {
        let (s, k) = it.fold((0.0, 0i64), |(s, k), x| (s + x, k + 1));
        (k, (k > 0).then(|| s / k as f64))
    };
    let (recent_runs, recent_avg) = mean(&mut vals.iter().filter(|v| v.1).map(|v| v.0));
    let (earlier_runs, earlier_avg) = mean(&mut vals.iter().filter(|v| !v.1).map(|v| v.0));
    let change = recent_avg.zip(earlier_avg).map(|(r, e)| r - e);
    let direction = change.map(|d| {
        if d > 0.0 {
            "up"
        } else if d < 0.0 {
            "down"
        } else {
            "flat"
        }
        .to_string()
    });
    MetricRow {
        agent,
        name,
        builtin,
        runs: n as i64,
        avg: sum / n as f64,
        p50: percentile_f64(&xs, 0.5).unwrap_or(0.0),
        p95: percentile_f64(&xs, 0.95).unwrap_or(0.0),
        min: xs[0],
        max: xs[n - 1],
        sum,
        trend: MetricTrend {
            recent_runs,
            recent_avg,
            earlier_runs,
            earlier_avg,
            change,
            direction,
        },
    }
}

/// The names refused for the filter's agent types (all types when none is given).
fn refused(ctx: &Ctx, filter: &Filter, name: Option<&str>) -> Result<Vec<Refused>> {
    let mut params: Vec<SqlValue> = Vec::new();
    let mut cond = vec!["1 = 1".to_string()];
    if !filter.agents.is_empty() {
        let marks: Vec<String> = filter
            .agents
            .iter()
            .map(|a| {
                params.push(SqlValue::Text(a.clone()));
                format!("?{}", params.len())
            })
            .collect();
        cond.push(format!("agent_type IN ({})", marks.join(", ")));
    }
    if let Some(n) = name {
        params.push(SqlValue::Text(n.to_string()));
        cond.push(format!("name = ?{}", params.len()));
    }
    let sql = format!(
        "SELECT agent_type, name, runs, first_ms FROM metric_refused WHERE {} ORDER BY agent_type, name",
        cond.join(" AND ")
    );
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        Ok(Refused {
            agent: r.get(0)?,
            name: r.get(1)?,
            runs: r.get(2)?,
            first: r.get::<_, Option<i64>>(3)?.map(crate::timeparse::format_ms),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The trend in a cell: `12 → 9.5 (down)`, or `-` without both periods.
pub fn trend_cell(t: &MetricTrend) -> String {
    match (t.recent_avg, t.earlier_avg, &t.direction) {
        (Some(r), Some(e), Some(d)) => format!(
            "{} → {} ({d})",
            render::value(Some(e)),
            render::value(Some(r))
        ),
        _ => "-".into(),
    }
}

/// The figures of a metric in cells: runs, avg, p50, p95, min, max, sum, trend.
pub fn figure_cells(m: &MetricRow) -> Vec<String> {
    vec![
        render::int(m.runs),
        render::value(Some(m.avg)),
        render::value(Some(m.p50)),
        render::value(Some(m.p95)),
        render::value(Some(m.min)),
        render::value(Some(m.max)),
        render::value(Some(m.sum)),
        trend_cell(&m.trend),
    ]
}

/// The column headers of [`figure_cells`].
pub const FIGURE_HEADERS: [&str; 8] = [
    "Runs",
    "Avg",
    "p50",
    "p95",
    "Min",
    "Max",
    "Sum",
    "Trend (before → last 7d)",
];

impl Report for MetricsReport {
    fn command(&self) -> &'static str {
        "metrics"
    }
    fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }
    fn grids(&self) -> Vec<Grid> {
        let mut headers = vec!["Agent", "Metric", "Kind"];
        headers.extend(FIGURE_HEADERS);
        let mut g = Grid::new(&headers).numeric(&[3, 4, 5, 6, 7, 8, 9]);
        g.rows = self
            .metrics
            .iter()
            .map(|m| {
                let mut cells = vec![
                    m.agent.clone(),
                    m.name.clone(),
                    if m.builtin { "built-in" } else { "custom" }.to_string(),
                ];
                cells.extend(figure_cells(m));
                cells
            })
            .collect();
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        vec![format!(
            "Trend: the mean of the runs that started since {} against the mean of the runs before (no significance test).",
            render::iso_minutes(Some(&self.recent_start))
        )]
    }
}

/// The refused names as said on stderr: which agent type, which name, how often, since when.
pub fn refused_message(refused: &[Refused]) -> Option<String> {
    if refused.is_empty() {
        return None;
    }
    let mut s = format!(
        "{} metric name(s) refused: an agent type keeps at most {} names; values of a new name past that are not stored (its other values and the runs are):",
        refused.len(),
        crate::metrics::MAX_NAMES_PER_AGENT
    );
    for r in refused.iter().take(20) {
        s.push_str(&format!(
            "\n  {} {}: {} value(s) refused since {}",
            r.agent,
            r.name,
            r.runs,
            r.first.as_deref().unwrap_or("?")
        ));
    }
    if refused.len() > 20 {
        s.push_str(&format!("\n  … and {} more", refused.len() - 20));
    }
    Some(s)
}

/// Runs `analyze metrics`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &MetricsArgs, format: render::Format) -> Result<bool> {
    if let Some(n) = &args.name {
        if !crate::metrics::valid_name(n) {
            return Err(Error::InvalidArgument(format!(
                "metric name '{n}': use 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter"
            )));
        }
    }
    let report = compute(ctx, filter, args.name.as_deref(), true)?;
    if let Some(m) = refused_message(&report.refused) {
        eprintln!("analyze: {m}");
    }
    if report.metrics.is_empty() {
        eprintln!(
            "analyze: no metric values match{}",
            args.name
                .as_deref()
                .map(|n| format!(" (metric '{n}')"))
                .unwrap_or_default()
        );
        return Ok(false);
    }
    render::print(&report, format)?;
    Ok(true)
}
