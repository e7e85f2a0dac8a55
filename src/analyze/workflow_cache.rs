//! The figures `analyze workflows` and `analyze overhead` read, kept per workflow in
//! `workflow_figures` (schema version 13) and rolled up per start day, so that neither report
//! reads every workflow with all its runs.
//!
//! - Every change to a row a workflow's figures come from (its `workflows` row, its agent runs,
//!   its handoffs) marks the workflow in `workflow_dirty` while deriving (TEMP triggers of the
//!   deriving connection and its per-batch rollup flush: one marker insert; a rebuild marks
//!   every workflow). [`sync`], called by both reports, recomputes the marked workflows with the
//!   reports' own code ([`Loaded::figures`](super::workflows::Loaded::figures), the overhead
//!   measure) and replaces their rows.
//! - The figures depend on "now" only through running → lost (a run or workflow without an end
//!   is lost once `lost_before` passes its start): each row says for which `lost_before` it holds
//!   ([`Loaded::valid_while`](super::workflows::Loaded::valid_while)), and [`sync`] recomputes
//!   the rows that no longer hold.
//! - TEMP triggers on `workflow_figures`, installed by [`sync`], keep the daily rollups exact (an insert adds, a delete
//!   subtracts): `workflow_daily` (totals and overhead sums), `workflow_sequences` and
//!   `workflow_sequence_daily` (per agent sequence), `workflow_peak_daily` (counted workflows per
//!   peak concurrency: a maximum cannot be subtracted).
//!
//! A time window reads the rollups for its whole UTC days and the figures rows for the part
//! days at its edges, as `analyze types` does; `--agent`, `--project` and `--session` are not in
//! the rollups: those reports read the workflows themselves (`workflows::for_each`).

use super::window::{self, Days};
use super::workflow_load::{self as workflows, overhead_ratio, Measured};
use super::{Ctx, Filter};
use crate::error::Result;
use rusqlite::params;

/// Above this many workflows to recompute, every row is recomputed from one full scan (walking
/// the runs through their workflow index, in random order, is slower at that size).
const FULL_ABOVE: i64 = 20_000;

/// The part of the history a report covers, as the rollups and the figures rows read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    /// The whole days read from the rollups: `[first, end)`; empty when `first >= end`.
    first: i64,
    end: i64,
    /// Start ranges `[lo, hi)` read from the figures rows (the part days at the edges).
    edges: Vec<(i64, i64)>,
    /// The window's own start range, None: every workflow (those without a start included).
    range: Option<(i64, i64)>,
}

impl Window {
    /// The window of `filter`, or None when the rollups cannot answer it (`--agent`,
    /// `--project`, `--session`).
    pub(crate) fn of(filter: &Filter) -> Option<Window> {
        if !filter.agents.is_empty() {
            return None;
        }
        let (lo, hi) = (
            filter.since.unwrap_or(i64::MIN),
            filter.until.unwrap_or(i64::MAX),
        );
        match window::rollup_days(filter) {
            Some(Days::All) => Some(Window {
                first: i64::MIN,
                end: i64::MAX,
                edges: Vec::new(),
                range: None,
            }),
            Some(days @ Days::Range(..)) => {
                let (first, end) = days.bounds();
                let edges = window::edges(filter, days)
                    .iter()
                    .map(|e| (e.since.unwrap_or(i64::MIN), e.until.unwrap_or(i64::MAX)))
                    .collect();
                Some(Window {
                    first,
                    end,
                    edges,
                    range: Some((lo, hi)),
                })
            }
            None if filter.project.is_some() || filter.session.is_some() => None,
            // Less than a whole day: the figures rows alone.
            None => Some(Window {
                first: 0,
                end: 0,
                edges: vec![(lo, hi)],
                range: Some((lo, hi)),
            }),
        }
    }

    /// Whether the rollups are read at all.
    pub(crate) fn has_days(&self) -> bool {
        self.first < self.end
    }

    /// `[first, end)` of the whole days.
    pub(crate) fn days(&self) -> (i64, i64) {
        (self.first, self.end)
    }

    /// The start ranges of the part days.
    pub(crate) fn edges(&self) -> &[(i64, i64)] {
        &self.edges
    }

    /// The window's start range (None: everything).
    pub(crate) fn range(&self) -> Option<(i64, i64)> {
        self.range
    }
}

/// The overhead measure as stored: `measured`, and when counted (wall, agents, union, Σ, peak,
/// overhead).
fn measured_columns(m: &Measured) -> (&'static str, Option<Counted>) {
    match m {
        Measured::Counted { wall, m, .. } => (
            "counted",
            Some(Counted {
                wall: *wall,
                agents: m.agents,
                union: m.union_ms,
                sum: m.sum_ms,
                peak: m.peak,
                overhead: overhead_ratio(*wall, m.union_ms),
            }),
        ),
        Measured::Unfinished => ("unfinished", None),
        Measured::NoAgents => ("no_agents", None),
        Measured::ZeroLength => ("zero_length", None),
    }
}

/// A counted workflow's overhead columns.
#[derive(Clone, Copy)]
struct Counted {
    wall: i64,
    agents: i64,
    union: i64,
    sum: i64,
    peak: i64,
    overhead: f64,
}

/// Brings `workflow_figures` (and so its rollups) up to date for this reader's `lost_before`:
/// marks the rows that no longer hold, recomputes every marked workflow, forgets the marks. Does
/// nothing (one read) when nothing is marked or stale.
pub(crate) fn sync(ctx: &Ctx) -> Result<()> {
    let c = ctx.store.conn();
    let lb = ctx.lost_before();
    const STALE: &str =
        "SELECT workflow_id FROM workflow_figures INDEXED BY workflow_figures_stale_after
         WHERE stale_after < ?1 AND stale_after IS NOT NULL
         UNION ALL SELECT workflow_id FROM workflow_figures INDEXED BY workflow_figures_stale_until
         WHERE stale_until >= ?1 AND stale_until IS NOT NULL";
    let todo: bool = c.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM workflow_dirty) OR EXISTS ({STALE})"),
        [lb],
        |r| r.get(0),
    )?;
    if !todo {
        return Ok(());
    }
    ctx.store.write_tx(|s| {
        let c = s.conn();
        c.execute_batch(crate::store::schema::TEMP_WORKFLOW_FIGURES_TRIGGERS)?;
        c.execute(
            &format!("INSERT OR IGNORE INTO workflow_dirty (workflow_id) {STALE}"),
            [lb],
        )?;
        let n: i64 = c.query_row("SELECT count(*) FROM workflow_dirty", [], |r| r.get(0))?;
        let bar = crate::progress::bar(
            crate::progress::Unit::Workflows,
            "computing workflow figures",
            n as u64,
            FULL_ABOVE as u64,
        );
        let full = n > FULL_ABOVE;
        if full {
            c.execute("DELETE FROM workflow_figures", [])?;
        } else {
            c.execute(
                "DELETE FROM workflow_figures WHERE workflow_id IN (SELECT workflow_id FROM workflow_dirty)",
                [],
            )?;
        }
        let mut ins = c.prepare(
            "INSERT INTO workflow_figures (workflow_id, kind, session_id, start_ms, day, status, duration_ms, agents,
                 tokens, cost, sequence, error, measured, wall_ms, o_agents, union_ms, sum_ms, peak, overhead,
                 stale_after, stale_until)
             VALUES (?1, ?2, ?3, ?4, coalesce(?4, 0) / 86400000, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                 ?16, ?17, ?18, ?19, ?20)",
        )?;
        let mut failed: Option<rusqlite::Error> = None;
        let mut put = |wf: workflows::Loaded| {
            if failed.is_some() {
                return;
            }
            let f = wf.figures(lb);
            let m = wf.measure_overhead();
            let (measured, o) = measured_columns(&m);
            let (running, lost) = wf.valid_while(lb);
            let r = ins.execute(params![
                wf.id,
                wf.kind,
                wf.session_id,
                wf.start_ms,
                f.status.as_str(),
                f.duration_ms,
                f.agents,
                f.tokens,
                f.cost_usd,
                f.sequence,
                wf.error,
                measured,
                o.map(|o| o.wall),
                o.map(|o| o.agents),
                o.map(|o| o.union),
                o.map(|o| o.sum),
                o.map(|o| o.peak),
                o.map(|o| o.overhead),
                running,
                lost,
            ]);
            if let Err(e) = r {
                failed = Some(e);
            }
            bar.inc(1);
        };
        if full {
            workflows::for_each(ctx, &Filter::default(), &mut put)?;
        } else {
            workflows::for_each_dirty(ctx, &mut put)?;
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
        c.execute("DELETE FROM workflow_dirty", [])?;
        Ok(())
    })
}

/// The rollups' sums over a window (whole days and part days alike).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sums {
    pub(crate) workflows: i64,
    pub(crate) turns: i64,
    pub(crate) explicit: i64,
    pub(crate) success: i64,
    pub(crate) failure: i64,
    pub(crate) cancelled: i64,
    pub(crate) running: i64,
    pub(crate) lost: i64,
    pub(crate) dur_n: i64,
    pub(crate) dur_sum: i64,
    pub(crate) agents: i64,
    pub(crate) with_agents: i64,
    pub(crate) tokens: i64,
    pub(crate) counted: i64,
    pub(crate) unfinished: i64,
    pub(crate) no_agents: i64,
    pub(crate) zero_length: i64,
    pub(crate) wall_ms: i64,
    pub(crate) union_ms: i64,
    pub(crate) sum_ms: i64,
    pub(crate) cost: f64,
    /// The highest peak concurrency among the counted workflows (0: none).
    pub(crate) peak: i64,
}

/// The sums' columns, as the rollup holds them; the figures rows give the same with
/// [`FIGURES_SUMS`].
const DAILY_SUMS: &str = "coalesce(sum(workflows), 0), coalesce(sum(turns), 0), coalesce(sum(explicit), 0),
    coalesce(sum(success), 0), coalesce(sum(failure), 0), coalesce(sum(cancelled), 0), coalesce(sum(running), 0),
    coalesce(sum(lost), 0), coalesce(sum(dur_n), 0), coalesce(sum(dur_sum), 0), coalesce(sum(agents), 0),
    coalesce(sum(with_agents), 0), coalesce(sum(tokens), 0), coalesce(sum(counted), 0), coalesce(sum(unfinished), 0),
    coalesce(sum(no_agents), 0), coalesce(sum(zero_length), 0), coalesce(sum(wall_ms), 0), coalesce(sum(union_ms), 0),
    coalesce(sum(sum_ms), 0), coalesce(sum(cost), 0.0)";

/// [`DAILY_SUMS`] over `workflow_figures` rows (what its triggers add to the rollup per row).
const FIGURES_SUMS: &str = "count(*), coalesce(sum(kind = 'turn'), 0), coalesce(sum(kind = 'explicit'), 0),
    coalesce(sum(status = 'success'), 0), coalesce(sum(status = 'failure'), 0), coalesce(sum(status = 'cancelled'), 0),
    coalesce(sum(status = 'running'), 0), coalesce(sum(status = 'lost'), 0), count(duration_ms),
    coalesce(sum(duration_ms), 0), coalesce(sum(agents), 0), coalesce(sum(agents > 0), 0), coalesce(sum(tokens), 0),
    coalesce(sum(measured = 'counted'), 0), coalesce(sum(measured = 'unfinished'), 0),
    coalesce(sum(measured = 'no_agents'), 0), coalesce(sum(measured = 'zero_length'), 0),
    coalesce(sum(wall_ms), 0), coalesce(sum(union_ms), 0), coalesce(sum(sum_ms), 0), coalesce(sum(cost), 0.0)";

impl Sums {
    fn add_row(&mut self, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
        let mut i = 0;
        let mut next = || -> rusqlite::Result<i64> {
            i += 1;
            r.get(i - 1)
        };
        self.workflows += next()?;
        self.turns += next()?;
        self.explicit += next()?;
        self.success += next()?;
        self.failure += next()?;
        self.cancelled += next()?;
        self.running += next()?;
        self.lost += next()?;
        self.dur_n += next()?;
        self.dur_sum += next()?;
        self.agents += next()?;
        self.with_agents += next()?;
        self.tokens += next()?;
        self.counted += next()?;
        self.unfinished += next()?;
        self.no_agents += next()?;
        self.zero_length += next()?;
        self.wall_ms += next()?;
        self.union_ms += next()?;
        self.sum_ms += next()?;
        self.cost += r.get::<_, f64>(20)?;
        Ok(())
    }

    /// The sums over `win`: the rollups for its whole days, the figures rows for the rest.
    pub(crate) fn over(ctx: &Ctx, win: &Window) -> Result<Sums> {
        let c = ctx.store.conn();
        let mut s = Sums::default();
        if win.has_days() {
            let (first, end) = win.days();
            c.query_row(
                &format!("SELECT {DAILY_SUMS} FROM workflow_daily WHERE day >= ?1 AND day < ?2"),
                [first, end],
                |r| s.add_row(r),
            )?;
            let peak: Option<i64> = c.query_row(
                "SELECT max(peak) FROM (SELECT peak FROM workflow_peak_daily WHERE day >= ?1 AND day < ?2
                 GROUP BY peak HAVING sum(n) > 0)",
                [first, end],
                |r| r.get(0),
            )?;
            s.peak = s.peak.max(peak.unwrap_or(0));
        }
        for &(lo, hi) in win.edges() {
            c.query_row(
                &format!(
                    "SELECT {FIGURES_SUMS} FROM workflow_figures INDEXED BY workflow_figures_start
                     WHERE start_ms >= ?1 AND start_ms < ?2"
                ),
                [lo, hi],
                |r| s.add_row(r),
            )?;
            let peak: Option<i64> = c.query_row(
                "SELECT max(peak) FROM workflow_figures INDEXED BY workflow_figures_counted
                 WHERE measured = 'counted' AND start_ms >= ?1 AND start_ms < ?2",
                [lo, hi],
                |r| r.get(0),
            )?;
            s.peak = s.peak.max(peak.unwrap_or(0));
        }
        Ok(s)
    }
}

/// SQL of the window's start range over `workflow_figures` (`true` without one), and its
/// parameters.
pub(crate) fn range_sql(win: &Window) -> (&'static str, Vec<i64>) {
    match win.range() {
        None => ("1 = 1", Vec::new()),
        Some((lo, hi)) => ("start_ms >= ?1 AND start_ms < ?2", vec![lo, hi]),
    }
}
