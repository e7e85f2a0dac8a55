//! `analyze timeline`: runs per UTC hour (or day) over a window, with the average duration,
//! success rate and dominant agent of each bucket and a bar for the eye. Empty buckets are
//! shown, so gaps are visible. Bucket rules: docs/metrics.md (`timeline`).

use super::agent_cells;
use super::tree::{host_cell, HOST_NOTE};
use super::window::{self, Days};
use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::query::sql;
use crate::render::{self, Format, Grid, Report};
use crate::vocab::RunStatus;
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Arguments of `analyze timeline`.
#[derive(clap::Args, Debug, Clone)]
pub struct TimelineArgs {
    /// Hourly buckets over the last N hours (default 24 unless --days gives daily buckets).
    #[arg(long)]
    pub hours: Option<u32>,
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
/// Default hourly window.
pub const DEFAULT_HOURS: u32 = 24;
/// Buckets allowed in one timeline (a year of hours).
pub const MAX_BUCKETS: i64 = 24 * 366;
/// Width of the longest bar, in characters.
pub const BAR_WIDTH: usize = 30;

/// One bucket.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bucket {
    /// The bucket's start (UTC, RFC 3339).
    pub start: String,
    pub runs: i64,
    pub avg_duration_ms: Option<f64>,
    /// success ÷ (success + failure + lost).
    pub success_rate: Option<f64>,
    /// The agent type with the most runs (ties: first by name); None when empty.
    pub dominant_agent: Option<String>,
    /// Average tool time and model time over the bucket's runs with both a duration and a tool
    /// time (as `agent`'s); None without such a run.
    pub avg_tool_ms: Option<f64>,
    pub avg_model_ms: Option<f64>,
    /// Average over the bucket's runs with the figure of the CPU seconds the Claude Code process
    /// used while a run ran, and of its memory at a run's stop (MB): the host process's, shared
    /// by parallel agents (docs/metrics.md, "Resources"). None without such a run.
    pub avg_host_cpu_seconds: Option<f64>,
    pub avg_host_rss_mb: Option<f64>,
    #[serde(skip)]
    start_ms: i64,
}

/// One bucket while it is being summed.
#[derive(Debug, Clone, Default)]
struct Acc {
    /// The bucket's sums over its agent types.
    part: Part,
    /// The agent type with the most runs so far, and its runs.
    dominant: Option<(i64, String)>,
}

/// The timeline report.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// `hour` or `day`.
    pub bucket: String,
    pub start: String,
    pub end: String,
    pub runs: i64,
    pub buckets: Vec<Bucket>,
    /// The format it is rendered in (the CSV has the per-run figures as named columns).
    #[serde(skip)]
    pub format: Format,
}

/// Computes the buckets. `--hours H`: the H UTC hours up to and including the one holding the
/// window's end. Without it: UTC days from the window start when --days/--since gave one, else
/// the last 24 hours.
pub fn compute(ctx: &Ctx, filter: &Filter, hours: Option<u32>) -> Result<Timeline> {
    compute_with(ctx, filter, hours, true)
}

/// [`compute`] from the runs alone, whatever the buckets: what the cells' path must equal.
pub fn compute_full_scan(ctx: &Ctx, filter: &Filter, hours: Option<u32>) -> Result<Timeline> {
    compute_with(ctx, filter, hours, false)
}

fn compute_with(ctx: &Ctx, filter: &Filter, hours: Option<u32>, cells: bool) -> Result<Timeline> {
    let end = filter.until.unwrap_or(ctx.now);
    let last_instant = end - 1;
    let (size, first, n) = match (hours, filter.since) {
        (None, Some(since)) => {
            let first = since.div_euclid(DAY) * DAY;
            let last = last_instant.div_euclid(DAY) * DAY;
            (DAY, first, (last - first) / DAY + 1)
        }
        (h, _) => {
            let h = i64::from(h.unwrap_or(DEFAULT_HOURS));
            let last = last_instant.div_euclid(HOUR) * HOUR;
            (HOUR, last - (h - 1) * HOUR, h)
        }
    };
    if n > MAX_BUCKETS {
        return Err(Error::InvalidArgument(format!(
            "the timeline would have {n} buckets; narrow the window (at most {MAX_BUCKETS})"
        )));
    }
    let acc = sum_buckets(ctx, filter, (first, size, n), end, cells)?;
    let buckets: Vec<Bucket> = acc
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let [runs, success, decided, dur_n, dur_sum, timed, tool, model, cpu_n, rss_n] =
                a.part.sums;
            let (cpu, rss) = (
                agent_cells::cpu_total(a.part.cpu),
                a.part.rss_kb as f64 / 1024.0,
            );
            let avg = |sum: f64, n: i64| (n > 0).then(|| sum / n as f64);
            let start_ms = first + i as i64 * size;
            Bucket {
                start: crate::timeparse::format_ms(start_ms),
                runs,
                avg_duration_ms: avg(dur_sum as f64, dur_n),
                success_rate: avg(success as f64, decided),
                dominant_agent: a.dominant.map(|(_, name)| name),
                avg_tool_ms: avg(tool as f64, timed),
                avg_model_ms: avg(model as f64, timed),
                avg_host_cpu_seconds: avg(cpu, cpu_n),
                avg_host_rss_mb: avg(rss, rss_n),
                start_ms,
            }
        })
        .collect();
    Ok(Timeline {
        bucket: if size == DAY { "day" } else { "hour" }.into(),
        start: crate::timeparse::format_ms(first),
        end: crate::timeparse::format_ms(end),
        runs: buckets.iter().map(|b| b.runs).sum(),
        buckets,
        format: Format::Table,
    })
}

/// The sums of one (bucket, agent type): runs, success, decided, runs with a duration,
/// Σ duration, runs with a duration and a tool time, Σ their tool time, Σ their model time, runs
/// with host CPU, runs with host memory; Σ host CPU seconds × 2^62 (exact); Σ host memory kB.
#[derive(Debug, Clone, Copy, Default)]
struct Part {
    sums: [i64; 10],
    cpu: i128,
    rss_kb: i64,
}

impl Part {
    /// A (bucket, agent type) row: the bucket and the type, then the ten counts and sums of
    /// [`Part::sums`] with the host CPU's three exact sums after the ninth, then Σ memory kB.
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<((i64, String), Part)> {
        let mut sums = [0i64; 10];
        for (i, x) in sums.iter_mut().enumerate() {
            // Columns 11–13 are the CPU sums.
            *x = r.get(if i < 9 { i + 2 } else { 14 })?;
        }
        let part = Part {
            sums,
            cpu: agent_cells::cpu_sum(r.get(11)?, r.get(12)?, r.get(13)?),
            rss_kb: r.get(15)?,
        };
        Ok(((r.get(0)?, r.get(1)?), part))
    }

    fn add(&mut self, o: &Part) {
        for (s, x) in self.sums.iter_mut().zip(o.sums) {
            *s += x;
        }
        self.cpu += o.cpu;
        self.rss_kb += o.rss_kb;
    }
}

/// The `n` buckets of `size` ms from `first` (up to `end`), summed over the matching runs by
/// start. Daily buckets read the agent cells (`agent_cells`, schema 15) for the window's whole
/// days and the runs for its part days; hourly ones, or a window narrowed by project or session,
/// read the runs in one pass grouped by bucket and agent type. Both give the same sums.
fn sum_buckets(
    ctx: &Ctx,
    filter: &Filter,
    (first, size, n): (i64, i64, i64),
    end: i64,
    cells: bool,
) -> Result<Vec<Acc>> {
    let mut parts: BTreeMap<(i64, String), Part> = BTreeMap::new();
    let window = Filter {
        since: Some(filter.since.map_or(first, |s| s.max(first))),
        until: Some(end),
        ..filter.clone()
    };
    match window::rollup_days(&window) {
        Some(days @ Days::Range(d0, Some(d1))) if cells && size == DAY => {
            agent_cells::sync_all_days(ctx, &filter.agents, (d0, d1))?;
            add_cells(ctx, &window, (d0, d1), first, &mut parts)?;
            for edge in window::edges(&window, days) {
                add_runs(ctx, &edge, (first, size), &mut parts)?;
            }
        }
        _ => add_runs(ctx, &window, (first, size), &mut parts)?,
    }
    let mut acc: Vec<Acc> = vec![Acc::default(); n.max(0) as usize];
    // In (bucket, agent type) order: a tie for the most runs goes to the first name.
    for ((b, agent), part) in parts {
        let Some(a) = usize::try_from(b).ok().and_then(|b| acc.get_mut(b)) else {
            continue;
        };
        a.part.add(&part);
        if a.dominant
            .as_ref()
            .is_none_or(|(runs, _)| part.sums[0] > *runs)
        {
            a.dominant = Some((part.sums[0], agent));
        }
    }
    Ok(acc)
}

/// Adds the runs matching `filter` (whose window starts at `first` or later), grouped by bucket
/// (`size` ms from `first`) and agent type.
fn add_runs(
    ctx: &Ctx,
    filter: &Filter,
    (first, size): (i64, i64),
    parts: &mut BTreeMap<(i64, String), Part>,
) -> Result<()> {
    let (w, p) = filter.runs_where();
    let st = ctx.status_sql();
    let (success, decided) = (
        sql::count_of(&st, RunStatus::Success),
        sql::decided_count(&st),
    );
    let model = sql::MODEL_MS_SQL;
    let cpu = agent_cells::cpu_sum_columns();
    let sql = format!(
        "SELECT (r.start_ms - {first}) / {size} AS b, r.agent_type, count(*), {success},
                {decided}, count(r.duration_ms), coalesce(sum(r.duration_ms), 0),
                count({model}), coalesce(sum(CASE WHEN {model} IS NOT NULL THEN r.tool_ms END), 0),
                coalesce(sum({model}), 0), {cpu}, count(r.host_rss_kb), coalesce(sum(r.host_rss_kb), 0)
         FROM agent_runs r WHERE {w}
         GROUP BY b, r.agent_type"
    );
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    for row in stmt.query_map(params_from_iter(p.iter()), Part::from_row)? {
        let (key, part) = row?;
        parts.entry(key).or_default().add(&part);
    }
    Ok(())
}

/// Adds the cells of the whole days `[d0, d1)` (one bucket each, from `first`), of `filter`'s
/// agent types or all; the runs still `running` as stored are split into running and lost
/// from `runs_running`, as the reader decides it now.
fn add_cells(
    ctx: &Ctx,
    filter: &Filter,
    (d0, d1): (i64, i64),
    first: i64,
    parts: &mut BTreeMap<(i64, String), Part>,
) -> Result<()> {
    let c = ctx.store.conn();
    let (p, agents) = window::rollup_params(filter, Days::Range(d0, Some(d1)));
    let first_day = first.div_euclid(DAY);
    let mut stmt = c.prepare(&format!(
        "SELECT day - {first_day}, agent_type, sum(runs), sum(success), sum(success + failure), sum(dur_n),
                sum(dur_sum), sum(timed), sum(tool_ms), sum(model_ms), sum(cpu_n), sum(cpu_int),
                sum(cpu_hi), sum(cpu_lo), sum(rss_n), sum(rss_kb)
         FROM agent_cells WHERE day >= ?1 AND day < ?2{agents} GROUP BY day, agent_type"
    ))?;
    for row in stmt.query_map(params_from_iter(p.iter()), Part::from_row)? {
        let (key, part) = row?;
        parts.entry(key).or_default().add(&part);
    }
    // The lost runs of those days: decided (a success rate's denominator) as failures are.
    let days = Filter {
        since: Some(d0 * DAY),
        until: Some(d1 * DAY),
        ..filter.clone()
    };
    let (w, mut p) = days.runs_where();
    p.push(SqlValue::Integer(ctx.lost_before()));
    let mut stmt = c.prepare(&format!(
        "SELECT r.start_ms / {DAY} - {first_day}, r.agent_type, count(*)
         FROM agent_runs r INDEXED BY runs_running
         WHERE {w} AND r.status = 'running' AND r.end_ms IS NULL AND r.start_ms < ?{lb}
         GROUP BY 1, 2",
        lb = p.len()
    ))?;
    let lost = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            (r.get::<_, i64>(0)?, r.get::<_, String>(1)?),
            r.get::<_, i64>(2)?,
        ))
    })?;
    for l in lost {
        let (key, n) = l?;
        parts.entry(key).or_default().sums[2] += n;
    }
    Ok(())
}

/// A bar of `█` scaled so the largest bucket is [`BAR_WIDTH`] wide; any run shows at least one.
pub fn bar(runs: i64, max: i64) -> String {
    if runs <= 0 || max <= 0 {
        return String::new();
    }
    let n = ((runs as f64 / max as f64) * BAR_WIDTH as f64)
        .round()
        .max(1.0) as usize;
    "█".repeat(n)
}

impl Report for Timeline {
    fn command(&self) -> &'static str {
        "timeline"
    }
    fn json(&self) -> Value {
        json!({ "bucket": self.bucket, "start": self.start, "end": self.end, "runs": self.runs, "buckets": self.buckets })
    }
    /// The buckets; the table adds a second grid of the per-run figures (tool and model time,
    /// the host process) for the buckets that have them, the CSV the same figures as named
    /// columns, empty when unknown.
    fn grids(&self) -> Vec<Grid> {
        let max = self.buckets.iter().map(|b| b.runs).max().unwrap_or(0);
        let daily = self.bucket == "day";
        let when = |b: &Bucket| {
            let label = render::timestamp(b.start_ms);
            if daily {
                label[..10].to_string()
            } else {
                label[..16].to_string()
            }
        };
        let csv = self.format == Format::Csv;
        let mut head = vec![
            if daily { "Day (UTC)" } else { "Hour (UTC)" },
            "Runs",
            "Avg duration",
            "Success",
            "Top agent",
            "",
        ];
        if csv {
            head.extend(CSV_FIGURES);
        }
        let mut g = Grid::new(&head).numeric(&[1, 2, 3]);
        g.rows = self
            .buckets
            .iter()
            .map(|b| {
                let mut row = vec![
                    when(b),
                    render::int(b.runs),
                    render::dur(b.avg_duration_ms),
                    render::pct(b.success_rate),
                    b.dominant_agent.clone().unwrap_or_default(),
                    bar(b.runs, max),
                ];
                if csv {
                    let cell = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
                    row.extend(
                        [
                            b.avg_tool_ms,
                            b.avg_model_ms,
                            b.avg_host_cpu_seconds,
                            b.avg_host_rss_mb,
                        ]
                        .map(cell),
                    );
                }
                row
            })
            .collect();
        let mut grids = vec![g];
        // Tool / model time only where a run has a transcript summary, the host's columns only
        // where a run has a figure (none without /proc).
        let time_cols = self.buckets.iter().any(|b| b.avg_tool_ms.is_some());
        let host_cols = self.has_host();
        if !csv && (time_cols || host_cols) {
            let mut head = vec![if daily { "Day (UTC)" } else { "Hour (UTC)" }, "Runs"];
            if time_cols {
                head.extend(["Avg tool", "Avg model"]);
            }
            if host_cols {
                head.extend(["Host CPU/run", "Host mem"]);
            }
            let numeric: Vec<usize> = (1..head.len()).collect();
            let mut per_run = Grid::new(&head)
                .numeric(&numeric)
                .titled("Per run, averaged over the bucket's runs");
            per_run.rows = self
                .buckets
                .iter()
                .filter(|b| {
                    b.avg_tool_ms.is_some()
                        || b.avg_host_cpu_seconds.is_some()
                        || b.avg_host_rss_mb.is_some()
                })
                .map(|b| {
                    let mut row = vec![when(b), render::int(b.runs)];
                    if time_cols {
                        row.push(render::dur(b.avg_tool_ms));
                        row.push(render::dur(b.avg_model_ms));
                    }
                    if host_cols {
                        row.push(host_cell(b.avg_host_cpu_seconds, " s"));
                        row.push(host_cell(b.avg_host_rss_mb, " MB"));
                    }
                    row
                })
                .collect();
            grids.push(per_run);
        }
        grids
    }
    fn notes(&self) -> Vec<String> {
        if self.has_host() {
            vec![format!(
                "Host CPU/run, Host mem: averages, over the bucket's runs with the figure, of {HOST_NOTE}."
            )]
        } else {
            Vec::new()
        }
    }
}

/// The CSV's columns of the per-run averages (the JSON's names).
const CSV_FIGURES: [&str; 4] = [
    "avg_tool_ms",
    "avg_model_ms",
    "avg_host_cpu_seconds",
    "avg_host_rss_mb",
];

impl Timeline {
    /// Whether a bucket has the host process's figures.
    fn has_host(&self) -> bool {
        self.buckets
            .iter()
            .any(|b| b.avg_host_cpu_seconds.is_some() || b.avg_host_rss_mb.is_some())
    }
}

/// Runs `analyze timeline`; `Ok(false)` = nothing found.
pub fn run(
    ctx: &Ctx,
    filter: &Filter,
    args: &TimelineArgs,
    format: render::Format,
) -> Result<bool> {
    if args.hours == Some(0) {
        return Err(Error::InvalidArgument("--hours must be at least 1".into()));
    }
    let t = Timeline {
        format,
        ..compute(ctx, filter, args.hours)?
    };
    if t.runs == 0 {
        eprintln!("analyze: no agent runs between {} and {}", t.start, t.end);
        return Ok(false);
    }
    render::print(&t, format)?;
    Ok(true)
}
