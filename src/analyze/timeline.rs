//! `analyze timeline`: runs per UTC hour (or day) over a window, with the average duration,
//! success rate and dominant agent of each bucket and a bar for the eye. Empty buckets are
//! shown, so gaps are visible. Bucket rules: docs/metrics.md (`timeline`).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::query::sql;
use crate::render::{self, Grid, Report};
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
    #[serde(skip)]
    start_ms: i64,
}

/// One bucket while it is being summed.
#[derive(Debug, Clone, Default)]
struct Acc {
    /// runs, success, decided, runs with a duration, Σ duration.
    sums: [i64; 5],
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
    let (w, p) = filter.runs_where();
    let st = ctx.status_sql();
    let (success, decided) = (
        sql::count_of(&st, RunStatus::Success),
        sql::decided_count(&st),
    );
    let sql = format!(
        "SELECT (r.start_ms - {first}) / {size} AS b, r.agent_type, count(*), {success},
                {decided}, count(r.duration_ms), coalesce(sum(r.duration_ms), 0)
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
            ],
        ))
    })?;
    for row in rows {
        let (b, agent, v) = row?;
        let Some(a) = usize::try_from(b).ok().and_then(|b| acc.get_mut(b)) else {
            continue;
        };
        for (s, x) in a.sums.iter_mut().zip(v) {
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
    let buckets: Vec<Bucket> = acc
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let [runs, success, decided, dur_n, dur_sum] = a.sums;
            let start_ms = first + i as i64 * size;
            Bucket {
                start: crate::timeparse::format_ms(start_ms),
                runs,
                avg_duration_ms: (dur_n > 0).then(|| dur_sum as f64 / dur_n as f64),
                success_rate: (decided > 0).then(|| success as f64 / decided as f64),
                dominant_agent: a.dominant.map(|(_, name)| name),
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
    })
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
    fn grids(&self) -> Vec<Grid> {
        let max = self.buckets.iter().map(|b| b.runs).max().unwrap_or(0);
        let daily = self.bucket == "day";
        let mut g = Grid::new(&[
            if daily { "Day (UTC)" } else { "Hour (UTC)" },
            "Runs",
            "Avg duration",
            "Success",
            "Top agent",
            "",
        ])
        .numeric(&[1, 2, 3]);
        g.rows = self
            .buckets
            .iter()
            .map(|b| {
                let label = render::timestamp(b.start_ms);
                vec![
                    if daily {
                        label[..10].to_string()
                    } else {
                        label[..16].to_string()
                    },
                    render::int(b.runs),
                    render::dur(b.avg_duration_ms),
                    render::pct(b.success_rate),
                    b.dominant_agent.clone().unwrap_or_default(),
                    bar(b.runs, max),
                ]
            })
            .collect();
        vec![g]
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
    let t = compute(ctx, filter, args.hours)?;
    if t.runs == 0 {
        eprintln!("analyze: no agent runs between {} and {}", t.start, t.end);
        return Ok(false);
    }
    render::print(&t, format)?;
    Ok(true)
}
