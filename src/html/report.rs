//! `analyze report --html FILE`: the dashboard's views as one self-contained HTML file (inline
//! CSS and SVG, no script, no external address) to attach to a review or a ticket.
//!
//! Every figure comes from an `analyze` reader ([`gather`]); each number cell carries the
//! reader's raw value in `data-value`, so a test can compare the file with the CLI's JSON.

use super::chart;
use super::esc;
use super::views::{self, DaySummary};
use crate::analyze::errors::Errors;
use crate::analyze::overhead::Overhead;
use crate::analyze::summary::{AgentFigures, Summary};
use crate::analyze::timeline::Timeline;
use crate::analyze::tools::Tools;
use crate::analyze::trends::{Trend, Trends};
use crate::analyze::types::Types;
use crate::analyze::{errors, overhead, summary, timeline, tools, trends, types, Ctx, Filter};
use crate::error::Result;
use crate::render::{dur, int, num, pct, usd};
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `analyze report`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Write a self-contained HTML report to FILE (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,
}

/// Recent failures listed (`analyze errors --limit 10`).
pub const ERRORS: usize = 10;
/// Recent workflows listed (`analyze overhead --limit 10`).
pub const WORKFLOWS: usize = 10;

/// Everything the report shows, as the readers computed it.
#[derive(Debug, Clone)]
pub struct Views {
    /// When the report was made (UTC, RFC 3339).
    pub generated: String,
    pub summary: Summary,
    /// The chart window's timeline ([`views::chart_filter`]).
    pub timeline: Timeline,
    pub days: Vec<DaySummary>,
    pub types: Types,
    pub tools: Tools,
    pub trends: Trends,
    pub errors: Errors,
    pub overhead: Overhead,
}

/// Runs every reader the report needs, with the same filter.
pub fn gather(ctx: &Ctx, filter: &Filter) -> Result<Views> {
    let cf = views::chart_filter(ctx, filter);
    let timeline = timeline::compute(ctx, &cf, None)?;
    Ok(Views {
        generated: crate::timeparse::format_ms(ctx.now),
        summary: summary::compute(ctx, filter, "runs", false)?,
        days: views::daily_summaries(ctx, &cf, &timeline)?,
        timeline,
        types: types::compute(ctx, filter)?,
        tools: tools::compute(ctx, filter)?,
        trends: trends::compute(ctx, filter)?,
        errors: errors::compute(ctx, filter, ERRORS)?,
        overhead: overhead::compute(ctx, filter, WORKFLOWS, false)?,
    })
}

/// An agent's trend is an anomaly when its recent success rate fell (`declining`) or its
/// recent runs got slower (`slower`) by `analyze trends`' rule (docs/metrics.md, anomalies).
pub fn is_anomaly(t: &Trend) -> bool {
    t.verdict == "declining" || t.duration_verdict.as_deref() == Some("slower")
}

/// A table cell: what people read, and the reader's raw value for machines.
struct Cell {
    text: String,
    value: Option<String>,
    numeric: bool,
}

fn txt(s: impl Into<String>) -> Cell {
    Cell {
        text: s.into(),
        value: None,
        numeric: false,
    }
}

fn val(text: String, v: impl ToString) -> Cell {
    Cell {
        text,
        value: Some(v.to_string()),
        numeric: true,
    }
}

fn opt(text: String, v: Option<f64>) -> Cell {
    Cell {
        text,
        value: v.map(|x| x.to_string()),
        numeric: true,
    }
}

fn table(
    out: &mut String,
    id: &str,
    caption: &str,
    headers: &[&str],
    rows: Vec<(Option<&str>, Vec<Cell>)>,
) {
    let _ = write!(
        out,
        r#"<table id="{}"><caption>{}</caption><thead><tr>"#,
        esc(id),
        esc(caption)
    );
    for h in headers {
        let _ = write!(out, r#"<th scope="col">{}</th>"#, esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            out,
            r#"<tr><td colspan="{}" class="none">None</td></tr>"#,
            headers.len()
        );
    }
    for (class, cells) in rows {
        match class {
            Some(c) => {
                let _ = write!(out, r#"<tr class="{}">"#, esc(c));
            }
            None => out.push_str("<tr>"),
        }
        for c in cells {
            out.push_str(if c.numeric { r#"<td class="n""# } else { "<td" });
            if let Some(v) = &c.value {
                let _ = write!(out, r#" data-value="{}""#, esc(v));
            }
            let _ = write!(out, ">{}</td>", esc(&c.text));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn card(out: &mut String, key: &str, label: &str, text: &str, value: Option<String>) {
    let _ = write!(
        out,
        r#"<div class="card" data-key="{}"{}><div class="card-label">{}</div><div class="card-value">{}</div></div>"#,
        esc(key),
        value
            .map(|v| format!(r#" data-value="{}""#, esc(&v)))
            .unwrap_or_default(),
        esc(label),
        esc(text)
    );
}

fn agent_row(a: &AgentFigures, trend: Option<&Trend>) -> (Option<&'static str>, Vec<Cell>) {
    let verdict = trend
        .map(|t| {
            let mut v = t.verdict.clone();
            if let Some(d) = &t.duration_verdict {
                v.push_str(", ");
                v.push_str(d);
            }
            v
        })
        .unwrap_or_default();
    (
        trend.filter(|t| is_anomaly(t)).map(|_| "anomaly"),
        vec![
            txt(a.agent.clone()),
            val(int(a.runs), a.runs),
            opt(pct(a.success_rate), a.success_rate),
            opt(dur(a.p50_duration_ms), a.p50_duration_ms),
            opt(dur(a.p95_duration_ms), a.p95_duration_ms),
            val(int(a.tokens), a.tokens),
            val(usd(Some(a.cost_usd)), a.cost_usd),
            opt(num(a.efficiency, 2), a.efficiency),
            txt(verdict),
        ],
    )
}

/// Short UTC time: `2026-11-21 11:30`.
fn when(s: &str) -> String {
    s.replace('T', " ").chars().take(16).collect()
}

/// The report as one HTML document.
#[allow(clippy::too_many_lines)] // the document top to bottom, one section after another
pub fn render(v: &Views, filter_note: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>agent-telemetry report {}</title><style>{}{}</style></head><body><header><h1>Agent operations report</h1><p class="meta">Generated {} UTC by <code>analyze report</code>{}. Definitions of every figure: docs/metrics.md.</p></header><main>"#,
        esc(&when(&v.generated)),
        include_str!("report.css"),
        chart::CSS,
        esc(&when(&v.generated)),
        if filter_note.is_empty() {
            String::new()
        } else {
            format!("; filters: <code>{}</code>", esc(filter_note))
        }
    );
    let t = &v.summary.totals;
    out.push_str(r#"<section class="cards" aria-label="Totals">"#);
    card(
        &mut out,
        "runs",
        "Runs",
        &int(t.runs),
        Some(t.runs.to_string()),
    );
    card(
        &mut out,
        "success_rate",
        "Success rate",
        &pct(t.success_rate),
        t.success_rate.map(|x| x.to_string()),
    );
    card(
        &mut out,
        "tokens",
        "Tokens",
        &int(t.tokens),
        Some(t.tokens.to_string()),
    );
    card(
        &mut out,
        "cost_usd",
        "Cost",
        &usd(Some(t.cost_usd)),
        Some(t.cost_usd.to_string()),
    );
    out.push_str("</section>");

    // Anomalies first: what needs a look.
    let anomalies: Vec<&Trend> = v.trends.agents.iter().filter(|t| is_anomaly(t)).collect();
    let _ = write!(
        out,
        r#"<section id="anomalies"><h2>Anomalies</h2><p class="note">Agents whose last 7 days fell out of their own earlier range ({} to {}): success rate lower by a two-proportion z-test (|z| ≥ {}, at least {} decided runs in each period), or average duration {}× slower.</p>"#,
        esc(&v.trends.window_start[..10.min(v.trends.window_start.len())]),
        esc(&v.trends.window_end[..10.min(v.trends.window_end.len())]),
        v.trends.z_critical,
        v.trends.min_decided,
        crate::analyze::trends::DURATION_FACTOR
    );
    table(
        &mut out,
        "anomaly-table",
        "Agents out of their usual range",
        &[
            "Agent",
            "Verdict",
            "Recent success",
            "Earlier success",
            "z",
            "Recent avg",
            "Earlier avg",
            "Duration change",
        ],
        anomalies
            .iter()
            .map(|t| {
                (
                    Some("anomaly"),
                    vec![
                        txt(t.agent.clone()),
                        txt(match &t.duration_verdict {
                            Some(d) => format!("{}, {d}", t.verdict),
                            None => t.verdict.clone(),
                        }),
                        opt(pct(t.recent.success_rate), t.recent.success_rate),
                        opt(pct(t.earlier.success_rate), t.earlier.success_rate),
                        opt(num(t.z, 2), t.z),
                        opt(dur(t.recent.avg_duration_ms), t.recent.avg_duration_ms),
                        opt(dur(t.earlier.avg_duration_ms), t.earlier.avg_duration_ms),
                        opt(
                            t.duration_change
                                .map(|c| format!("{:+.0}%", c * 100.0))
                                .unwrap_or_else(|| "-".into()),
                            t.duration_change,
                        ),
                    ],
                )
            })
            .collect(),
    );
    out.push_str("</section>");

    out.push_str(r#"<section id="charts" class="charts"><h2>Charts</h2>"#);
    let overall_agents = views::duration_agents(&v.summary);
    for svg in [
        chart::xy(&views::runs_chart(&v.timeline)),
        chart::xy(&views::durations_chart(&v.days, &overall_agents)),
        chart::bars(&views::cost_chart(&v.summary)),
        chart::bars(&views::types_chart(&v.types)),
        chart::bars(&views::tools_chart(&v.tools)),
    ] {
        let _ = write!(out, r#"<figure class="chart-box">{svg}</figure>"#);
    }
    out.push_str("</section>");

    out.push_str(r#"<section id="agents"><h2>Agents</h2>"#);
    table(
        &mut out,
        "agent-table",
        "Per agent (anomalies highlighted); trend: last 7 days against earlier",
        &[
            "Agent",
            "Runs",
            "Success",
            "p50",
            "p95",
            "Tokens",
            "Cost",
            "Efficiency",
            "Trend",
        ],
        v.summary
            .agents
            .iter()
            .map(|a| agent_row(a, v.trends.agents.iter().find(|t| t.agent == a.agent)))
            .collect(),
    );
    out.push_str("</section>");

    out.push_str(r#"<section id="failures"><h2>Recent failures</h2>"#);
    table(
        &mut out,
        "failure-table",
        &format!("The {ERRORS} most recent failed or lost runs and failed turns"),
        &[
            "Time (UTC)",
            "Agent",
            "Status",
            "Description",
            "Error",
            "Session",
        ],
        v.errors
            .errors
            .iter()
            .map(|e| {
                (
                    None,
                    vec![
                        txt(when(&e.time)),
                        txt(e.agent.clone()),
                        txt(e.status.clone()),
                        txt(e.description.clone().unwrap_or_default()),
                        txt(e.error.clone().unwrap_or_default()),
                        txt(e
                            .session
                            .as_deref()
                            .unwrap_or("")
                            .chars()
                            .take(8)
                            .collect::<String>()),
                    ],
                )
            })
            .collect(),
    );
    out.push_str("</section>");

    let o = &v.overhead.overall;
    let _ = write!(
        out,
        r#"<section id="overhead"><h2>Coordination overhead</h2><p class="verdict" data-value="{}">Overall {} (Σ coordination ÷ Σ wall over {} workflows){}.</p>"#,
        o.overhead.map(|x| x.to_string()).unwrap_or_default(),
        esc(&pct(o.overhead)),
        o.workflows,
        o.recommendation
            .as_deref()
            .map(|r| format!(": {}", esc(r)))
            .unwrap_or_default()
    );
    table(
        &mut out,
        "overhead-table",
        &format!("The {WORKFLOWS} most recent workflows"),
        &[
            "Start (UTC)",
            "Workflow",
            "Kind",
            "Wall",
            "Agents",
            "Coordination",
            "Overhead",
            "Peak",
            "Parallelism",
        ],
        v.overhead
            .workflows
            .iter()
            .map(|w| {
                (
                    None,
                    vec![
                        txt(w.start.as_deref().map(when).unwrap_or_default()),
                        txt(w.workflow_id.chars().take(8).collect::<String>()),
                        txt(w.kind.clone()),
                        val(dur(Some(w.wall_ms as f64)), w.wall_ms),
                        val(int(w.agents), w.agents),
                        val(dur(Some(w.coordination_ms as f64)), w.coordination_ms),
                        val(pct(Some(w.overhead)), w.overhead),
                        val(int(w.peak_concurrency), w.peak_concurrency),
                        opt(num(w.avg_parallelism, 2), w.avg_parallelism),
                    ],
                )
            })
            .collect(),
    );
    out.push_str("</section></main></body></html>\n");
    out
}

/// Runs `analyze report`: gathers, renders, writes the file (or standard output for `-`).
pub fn run(ctx: &Ctx, filter: &Filter, args: &ReportArgs, filter_note: &str) -> Result<bool> {
    let html = render(&gather(ctx, filter)?, filter_note);
    if args.html.as_os_str() == "-" {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        match out.write_all(html.as_bytes()).and_then(|_| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    } else {
        std::fs::write(&args.html, html)?;
        eprintln!("analyze: wrote {}", args.html.display());
    }
    Ok(true)
}
