//! The dashboard's and the report's charts, built from the `analyze` readers' own typed rows
//! (never a second computation): each `*_chart` function turns one reader's answer into a
//! chart, and [`chart`] answers a chart by name for the live dashboard.

use super::chart::{self, Axis, BarChart, Mark, Series, Side, Unit, XyChart};
use crate::analyze::summary::Summary;
use crate::analyze::timeline::Timeline;
use crate::analyze::tools::Tools;
use crate::analyze::types::Types;
use crate::analyze::{summary, timeline, tools, types, Ctx, Filter};
use crate::error::Result;

const DAY: i64 = 86_400_000;
/// The chart window when the filter gives no start: the last 14 days, in daily buckets.
pub const DEFAULT_CHART_DAYS: i64 = 14;
/// At most this many days get their own percentiles (one summary query each).
pub const MAX_PERCENTILE_DAYS: usize = 31;
/// Agents drawn in the duration chart (the most-run ones): two lines each.
pub const DURATION_AGENTS: usize = 4;
/// Bars in the tool and cost charts.
pub const MAX_BARS: usize = 12;

/// The charts' names, as the dashboard asks for them (`/dash/chart/{name}.svg`).
pub const CHARTS: &[&str] = &["runs", "durations", "cost", "types", "tools"];

/// The filter the time charts use: the given one, or the last [`DEFAULT_CHART_DAYS`] days when it
/// has no start (so the timeline has daily buckets, as `analyze timeline --days 14` does).
pub fn chart_filter(ctx: &Ctx, filter: &Filter) -> Filter {
    let mut f = filter.clone();
    if f.since.is_none() {
        f.since = Some(f.until.unwrap_or(ctx.now) - DEFAULT_CHART_DAYS * DAY);
    }
    f
}

/// One day's summary, for the per-day percentiles.
#[derive(Debug, Clone)]
pub struct DaySummary {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    pub summary: Summary,
}

/// `analyze summary` over each daily bucket of `timeline` (the last [`MAX_PERCENTILE_DAYS`]),
/// each day's window cut to the filter's bounds: the same figures as
/// `analyze summary --since DAY --until NEXT-DAY`.
pub fn daily_summaries(ctx: &Ctx, filter: &Filter, tl: &Timeline) -> Result<Vec<DaySummary>> {
    let mut days = Vec::new();
    if tl.bucket != "day" {
        return Ok(days);
    }
    let skip = tl.buckets.len().saturating_sub(MAX_PERCENTILE_DAYS);
    for b in tl.buckets.iter().skip(skip) {
        let Some(start) = crate::timeparse::parse_instant(&b.start) else {
            continue;
        };
        let mut f = filter.clone();
        f.since = Some(filter.since.map_or(start, |s| s.max(start)));
        f.until = Some(filter.until.map_or(start + DAY, |u| u.min(start + DAY)));
        days.push(DaySummary {
            day: b.start.chars().take(10).collect(),
            summary: summary::compute(ctx, &f, "runs", false)?,
        });
    }
    Ok(days)
}

/// A bucket's label: `MM-DD` for days, `HH:00` for hours.
fn bucket_label(start: &str, bucket: &str) -> String {
    if bucket == "day" {
        start.get(5..10).unwrap_or(start).to_string()
    } else {
        start.get(11..16).unwrap_or(start).to_string()
    }
}

/// Runs per bucket (bars) and their success rate (a line on a 0–100 % axis): one point per
/// label of `x`, as `(runs, success rate)`.
pub fn runs_and_success(
    id: &str,
    title: String,
    desc: String,
    x_label: String,
    x: Vec<String>,
    points: &[(i64, Option<f64>)],
) -> XyChart {
    XyChart {
        id: id.into(),
        title,
        desc,
        x_label,
        x,
        left: Axis {
            label: "Runs".into(),
            unit: Unit::Count,
        },
        right: Some(Axis {
            label: "Success rate".into(),
            unit: Unit::Fraction,
        }),
        series: vec![
            Series {
                name: "runs".into(),
                values: points.iter().map(|p| Some(p.0 as f64)).collect(),
                mark: Mark::Bar,
                side: Side::Left,
                colour: 0,
            },
            Series {
                name: "success rate".into(),
                values: points.iter().map(|p| p.1).collect(),
                mark: Mark::Line,
                side: Side::Right,
                colour: 2,
            },
        ],
    }
}

/// Runs per bucket of the timeline and their success rate.
pub fn runs_chart(tl: &Timeline) -> XyChart {
    let per = if tl.bucket == "day" { "day" } else { "hour" };
    runs_and_success(
        "chart-runs",
        format!("Runs and success rate per {per}"),
        format!(
            "{} runs from {} to {} (UTC), per {per}: bars are runs, the line is the success rate.",
            tl.runs,
            &tl.start.get(..16).unwrap_or(&tl.start),
            &tl.end.get(..16).unwrap_or(&tl.end)
        ),
        format!("{} (UTC)", if per == "day" { "Day" } else { "Hour" }),
        tl.buckets
            .iter()
            .map(|b| bucket_label(&b.start, &tl.bucket))
            .collect(),
        &tl.buckets
            .iter()
            .map(|b| (b.runs, b.success_rate))
            .collect::<Vec<_>>(),
    )
}

/// The most-run agents of `overall` (at most [`DURATION_AGENTS`]).
pub fn duration_agents(overall: &Summary) -> Vec<String> {
    let mut a: Vec<(i64, &str)> = overall
        .agents
        .iter()
        .map(|f| (f.runs, f.agent.as_str()))
        .collect();
    a.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(y.1)));
    a.into_iter()
        .take(DURATION_AGENTS)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// p50 (solid) and p95 (dashed) duration per day of each of `agents`.
pub fn durations_chart(days: &[DaySummary], agents: &[String]) -> XyChart {
    let mut series = Vec::new();
    for (i, agent) in agents.iter().enumerate() {
        let pick = |p95: bool| -> Vec<Option<f64>> {
            days.iter()
                .map(|d| {
                    d.summary
                        .agents
                        .iter()
                        .find(|f| &f.agent == agent)
                        .and_then(|f| {
                            if p95 {
                                f.p95_duration_ms
                            } else {
                                f.p50_duration_ms
                            }
                        })
                })
                .collect()
        };
        series.push(Series {
            name: format!("{agent} p50"),
            values: pick(false),
            mark: Mark::Line,
            side: Side::Left,
            colour: i,
        });
        series.push(Series {
            name: format!("{agent} p95"),
            values: pick(true),
            mark: Mark::Dashed,
            side: Side::Left,
            colour: i,
        });
    }
    XyChart {
        id: "chart-durations".into(),
        title: "p50 and p95 duration per agent, per day".into(),
        desc: format!(
            "Median (solid) and 95th-percentile (dashed) run duration per UTC day of the {} most-run agents.",
            agents.len()
        ),
        x_label: "Day (UTC)".into(),
        x: days
            .iter()
            .map(|d| d.day.get(5..).unwrap_or(&d.day).to_string())
            .collect(),
        left: Axis {
            label: "Duration".into(),
            unit: Unit::Millis,
        },
        right: None,
        series,
    }
}

/// Cost per agent, largest first, with its share of the total.
pub fn cost_chart(s: &Summary) -> BarChart {
    let mut rows: Vec<(&str, f64)> = s
        .agents
        .iter()
        .map(|a| (a.agent.as_str(), a.cost_usd))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let total = s.totals.cost_usd;
    BarChart {
        id: "chart-cost".into(),
        title: "Cost by agent".into(),
        desc: format!(
            "Estimated cost of each agent's runs; total {}.",
            crate::render::usd(Some(total))
        ),
        value_label: "Cost (USD)".into(),
        unit: Unit::Usd,
        bars: rows
            .into_iter()
            .take(MAX_BARS)
            .map(|(a, c)| {
                let share = (total > 0.0).then(|| crate::render::pct(Some(c / total)));
                (a.to_string(), c, share)
            })
            .collect(),
    }
}

/// Runs per agent category, with its share of all runs.
pub fn types_chart(t: &Types) -> BarChart {
    let total: i64 = t.categories.iter().map(|c| c.runs).sum();
    BarChart {
        id: "chart-types".into(),
        title: "Agent type distribution".into(),
        desc: format!("Runs per agent category; {total} runs in all."),
        value_label: "Runs".into(),
        unit: Unit::Count,
        bars: t
            .categories
            .iter()
            .map(|c| {
                let share =
                    (total > 0).then(|| crate::render::pct(Some(c.runs as f64 / total as f64)));
                (c.category.clone(), c.runs as f64, share)
            })
            .collect(),
    }
}

/// Calls per tool (the most-called first), with its share of all calls.
pub fn tools_chart(t: &Tools) -> BarChart {
    BarChart {
        id: "chart-tools".into(),
        title: "Tool usage".into(),
        desc: format!(
            "Tool calls made by subagents, per tool; {} calls in {} runs with a transcript summary.",
            t.total_calls, t.summarized_runs
        ),
        value_label: "Calls".into(),
        unit: Unit::Count,
        bars: t
            .tools
            .iter()
            .take(MAX_BARS)
            .map(|r| (r.tool.clone(), r.calls as f64, Some(crate::render::pct(Some(r.share)))))
            .collect(),
    }
}

/// One chart by name (one of [`CHARTS`]) for `filter`, as an inline `<svg>`; None for an
/// unknown name. Each computes only the readers it draws.
pub fn chart(ctx: &Ctx, filter: &Filter, name: &str) -> Result<Option<String>> {
    Ok(Some(match name {
        "runs" => {
            let tl = timeline::compute(ctx, &chart_filter(ctx, filter), None)?;
            chart::xy(&runs_chart(&tl))
        }
        "durations" => {
            let f = chart_filter(ctx, filter);
            let tl = timeline::compute(ctx, &f, None)?;
            let overall = summary::compute(ctx, filter, "runs", false)?;
            let days = daily_summaries(ctx, &f, &tl)?;
            chart::xy(&durations_chart(&days, &duration_agents(&overall)))
        }
        "cost" => chart::bars(&cost_chart(&summary::compute(ctx, filter, "runs", false)?)),
        "types" => chart::bars(&types_chart(&types::compute(ctx, filter)?)),
        "tools" => chart::bars(&tools_chart(&tools::compute(ctx, filter)?)),
        _ => return Ok(None),
    }))
}
