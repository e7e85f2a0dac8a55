//! `analyze timeline`: runs per UTC hour (or day) over a window, with the average duration,
//! success rate and dominant agent of each bucket and a bar for the eye. Empty buckets are
//! shown, so gaps are visible. Bucket rules: docs/metrics.md (`timeline`).

use super::tree::{host_cell, HOST_NOTE};
use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::query::sql;
use crate::render::{self, Format, Grid, Report};
use crate::vocab::RunStatus;
use rusqlite::params_from_iter;
use serde::Serialize;
use serde_json::{json, Value};

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
    /// runs, success, decided, runs with a duration, Σ duration, runs with a duration and a
    /// tool time, Σ their tool time, Σ their model time, runs with host CPU, runs with host memory.
    sums: [i64; 10],
    /// Σ host CPU seconds, Σ host memory MB.
    host: [f64; 2],
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
    let acc = sum_buckets(ctx, filter, (first, size, n), end)?;
    let buckets: Vec<Bucket> = acc
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let [runs, success, decided, dur_n, dur_sum, timed, tool, model, cpu_n, rss_n] = a.sums;
            let [cpu, rss] = a.host;
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

/// The `n` buckets of `size` ms from `first` (up to `end`), summed over the matching runs by
/// start: one pass, grouped by bucket and agent type.
fn sum_buckets(
    ctx: &Ctx,
    filter: &Filter,
    (first, size, n): (i64, i64, i64),
    end: i64,
) -> Result<Vec<Acc>> {
    let (w, p) = filter.runs_where();
    let st = ctx.status_sql();
    let (success, decided) = (
        sql::count_of(&st, RunStatus::Success),
        sql::decided_count(&st),
    );
    let (model, cpu, rss) = (
        sql::MODEL_MS_SQL,
        sql::HOST_CPU_SECONDS_SQL,
        sql::HOST_RSS_MB_SQL,
    );
    let sql = format!(
        "SELECT (r.start_ms - {first}) / {size} AS b, r.agent_type, count(*), {success},
                {decided}, count(r.duration_ms), coalesce(sum(r.duration_ms), 0),
                count({model}), coalesce(sum(CASE WHEN {model} IS NOT NULL THEN r.tool_ms END), 0),
                coalesce(sum({model}), 0), count({cpu}), count({rss}),
                coalesce(sum({cpu}), 0.0), coalesce(sum({rss}), 0.0)
         FROM agent_runs r WHERE {w} AND r.start_ms >= {first} AND r.start_ms < {end}
         GROUP BY b, r.agent_type"
    );
    let mut acc: Vec<Acc> = vec![Acc::default(); n.max(0) as usize];
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            [
                r.get::<_, i64>(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
            ],
            [r.get::<_, f64>(12)?, r.get(13)?],
        ))
    })?;
    for row in rows {
        let (b, agent, v, host) = row?;
        let Some(a) = usize::try_from(b).ok().and_then(|b| acc.get_mut(b)) else {
            continue;
        };
        for (s, x) in a.sums.iter_mut().zip(v) {
            *s += x;
        }
        for (s, x) in a.host.iter_mut().zip(host) {
            *s += x;
        }
        let better = match &a.dominant {
            None => true,
            Some((runs, name)) => v[0] > *runs || (v[0] == *runs && agent < *name),
        };
        if better {
            a.dominant = Some((v[0], agent));
        }
    }
    Ok(acc)
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
