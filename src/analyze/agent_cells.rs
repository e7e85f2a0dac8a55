//! The sums `analyze agent NAME` reads, kept per agent type and UTC start day ("cells", schema
//! version 15), so that the report reads a few rows per day instead of every run of the type.
//!
//! - A cell holds every sum of the report over the type's user runs that started that day, by
//!   stored status: `agent_cells` per delegating type (the grouped query's groups, with the
//!   outcome and host sums), `agent_cell_tools` per tool, `agent_cell_children` per child type.
//!   Running → lost is the only part of the report that depends on "now": it is decided at read
//!   time from the runs still `running` (the `runs_running` index, a few thousand at most), as
//!   `agent_daily`'s readers do, so a cell never goes stale by itself.
//! - Every change to a run a cell is computed from marks the cell in `agent_cell_dirty` while
//!   deriving (once per batch, `schema::flush_batch_rollups_sql`); a rebuild clears every cell.
//!   [`sync`] recomputes the marked cells of the one type a report asks for, one range read of
//!   its runs per marked day, and forgets their marks.
//! - A time window reads the cells of its whole UTC days and the runs of the part days at its
//!   edges (`window::rollup_days`, `window::edges`), as `summary` and `top` do. `--project` and
//!   `--session` are not in the cells: those reports scan the runs (`agent::compute_full_scan`).
//!
//! The cells' sums add up to the full scan's figures exactly: integers add; a group's cost is
//! SQLite's `sum` over the same runs as the full scan's group, added in the same (day, who)
//! order; host memory is an integer of kB (÷ 1024 is exact); host CPU seconds are kept as an
//! exact sum (integer seconds and two 31-bit fractions of the per-run quotient) and rounded
//! once, as SQLite's compensated `avg` rounds its sum.

use super::agent_parts::{Count, Group, HostResources, Parts, Sums, ToolUse};
use super::window::{self, Days};
use super::{Ctx, Filter};
use crate::error::Result;
use crate::query::sql::{HOST_CPU_SECONDS_SQL, HOST_RSS_MB_SQL, TOKENS_SQL};
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use std::collections::BTreeMap;

/// A run's UTC start day (day 0 also holds the runs without a start), as `agent_daily`'s.
const DAY: &str = "coalesce(r.start_ms, 0) / 86400000";

/// 2^31: the CPU seconds' fractions are kept in two 31-bit integers.
const TWO_31: &str = "2147483648.0";

/// The columns of one group of runs `r` (joined with their parent `pr`), grouped by day and
/// delegating type, in `agent_cells`' order after `agent_type`: by stored status.
fn group_columns() -> String {
    let x = HOST_CPU_SECONDS_SQL;
    let cpu = cpu_sum_columns();
    let both = "r.tool_ms IS NOT NULL AND r.duration_ms IS NOT NULL";
    format!(
        "{DAY} AS day,
         CASE WHEN r.parent_agent_id IS NULL THEN 'main agent' ELSE coalesce(pr.agent_type, 'unknown') END AS who,
         count(*), sum(r.status = 'success'), sum(r.status = 'failure'), sum(r.status = 'cancelled'),
         sum(r.status = 'running'), count(r.duration_ms), coalesce(sum(r.duration_ms), 0), sum(r.complexity),
         sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_read_tokens), sum(r.cache_write_tokens),
         sum(r.cost_usd IS NULL AND {TOKENS_SQL} > 0), coalesce(sum(r.cost_usd), 0.0), max(r.category),
         sum(r.tests_failed IS NOT NULL AND r.status IN ('success', 'failure')),
         sum(r.tests_failed IS NOT NULL AND r.status = 'success' AND r.tests_failed = 0),
         count(r.tests_failed), coalesce(sum(r.tests_passed), 0), coalesce(sum(r.tests_failed), 0),
         coalesce(sum(r.tests_skipped), 0),
         count(r.files_created), coalesce(sum(r.files_created), 0), coalesce(sum(r.files_modified), 0),
         coalesce(sum(r.commands_failed), 0),
         count(CASE WHEN {both} THEN 1 END), coalesce(sum(CASE WHEN {both} THEN r.tool_ms END), 0),
         coalesce(sum(CASE WHEN {both} THEN max(r.duration_ms - r.tool_ms, 0) END), 0),
         {cpu}, max({x}),
         count(r.host_rss_kb), coalesce(sum(r.host_rss_kb), 0), max({HOST_RSS_MB_SQL})"
    )
}

/// The host CPU seconds of the runs `r` of a group, exactly: how many have the figure, then its
/// sum as integer seconds and two 31-bit fractions ([`cpu_total`] puts them together).
pub(crate) fn cpu_sum_columns() -> String {
    let x = HOST_CPU_SECONDS_SQL;
    // x = int + hi / 2^31 + lo / 2^62 exactly: x − trunc(x) and its scalings by 2^31 are exact,
    // and x (a multiple of 1 ms ÷ 1000) has no bit below 2^-62.
    let frac = format!("({x} - CAST({x} AS INTEGER))");
    let hi = format!("CAST({frac} * {TWO_31} AS INTEGER)");
    let lo = format!("CAST(({frac} * {TWO_31} - {hi}) * {TWO_31} AS INTEGER)");
    format!(
        "count({x}), coalesce(sum(CAST({x} AS INTEGER)), 0), coalesce(sum({hi}), 0), coalesce(sum({lo}), 0)"
    )
}

/// Σ CPU seconds × 2^62 from the three sums of [`cpu_sum_columns`].
pub(crate) fn cpu_sum(int: i64, hi: i64, lo: i64) -> i128 {
    (i128::from(int) << 62) + (i128::from(hi) << 31) + i128::from(lo)
}

/// Σ CPU seconds from Σ × 2^62: i128 → f64 rounds to nearest once; × 2^-62 is exact.
pub(crate) fn cpu_total(sum: i128) -> f64 {
    sum as f64 * (-62f64).exp2()
}

/// `agent_cells`' columns after `agent_type`, as [`group_columns`] computes them.
const CELL_COLUMNS: &str = "day, who, runs, success, failure, cancelled, running, dur_n, dur_sum, complexity,
    input, output, cache_read, cache_write, unpriced, cost, category, tested, verified, with_tests, tests_passed,
    tests_failed, tests_skipped, with_outcome, files_created, files_modified, commands_failed, timed, tool_ms,
    model_ms, cpu_n, cpu_int, cpu_hi, cpu_lo, cpu_max, rss_n, rss_kb, rss_max";

/// The grouped SELECT over the runs matching `w` (`prefix` before its columns).
fn groups_sql(prefix: &str, w: &str) -> String {
    format!(
        "SELECT {prefix}{} FROM agent_runs r LEFT JOIN agent_runs pr ON pr.agent_id = r.parent_agent_id
         WHERE {w} GROUP BY day, who",
        group_columns()
    )
}

/// Tool rows of the runs matching `w` per day and tool: day, tool, calls, errors, runs.
fn tools_sql(prefix: &str, w: &str) -> String {
    format!(
        "SELECT {prefix}{DAY} AS day, t.tool, sum(t.calls), sum(t.errors), count(*)
         FROM agent_runs r CROSS JOIN run_tools t ON t.run_id = r.id WHERE {w} GROUP BY day, t.tool"
    )
}

/// User runs started by the runs matching `w`, per day and child type: day, child, runs.
fn children_sql(prefix: &str, w: &str) -> String {
    format!(
        "SELECT {prefix}{DAY} AS day, ch.agent_type, count(*)
         FROM agent_runs r JOIN agent_runs ch ON ch.parent_agent_id = r.agent_id
         WHERE {w} AND ch.internal = 0 GROUP BY day, ch.agent_type"
    )
}

/// One group's row (a cell's or a part day's): its sums by stored status.
#[derive(Debug, Clone)]
struct Row {
    group: Group,
    /// The outcome query's columns, `tested` without the lost runs.
    outcome: [i64; 13],
    cpu_n: i64,
    /// Σ CPU seconds × 2^62, exactly.
    cpu_sum: i128,
    cpu_max: Option<f64>,
    rss_n: i64,
    rss_kb: i64,
    rss_max: Option<f64>,
}

impl Row {
    /// A row selected with [`CELL_COLUMNS`] (or [`group_columns`]) first.
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        let mut v = [0i64; 13];
        for (i, x) in v.iter_mut().enumerate() {
            *x = r.get(i + 2)?;
        }
        let [runs, success, failure, cancelled, running, dur_n, dur_sum, complexity, input, output, cache_read, cache_write, unpriced] =
            v;
        let sums = Sums {
            runs,
            success,
            failure,
            cancelled,
            running,
            lost: 0,
            dur_n,
            dur_sum,
            complexity,
            input,
            output,
            cache_read,
            cache_write,
            unpriced,
            cost: r.get(15)?,
        };
        let mut outcome = [0i64; 13];
        for (i, x) in outcome.iter_mut().enumerate() {
            *x = r.get(i + 17)?;
        }
        let (int, hi, lo): (i64, i64, i64) = (r.get(31)?, r.get(32)?, r.get(33)?);
        Ok(Row {
            group: Group {
                day: r.get(0)?,
                who: r.get(1)?,
                sums,
                category: r.get(16)?,
            },
            outcome,
            cpu_n: r.get(30)?,
            cpu_sum: cpu_sum(int, hi, lo),
            cpu_max: r.get(34)?,
            rss_n: r.get(35)?,
            rss_kb: r.get(36)?,
            rss_max: r.get(37)?,
        })
    }
}

/// Brings the cells of `agent` up to date: recomputes every marked day from its runs (one range
/// read of `runs_type_start` per day) and forgets the marks. One read when nothing is marked.
pub(crate) fn sync(ctx: &Ctx, agent: &str) -> Result<()> {
    sync_days(ctx, agent, Days::All.bounds())
}

/// [`sync`] for the marked days in `[first, end)` only (the cells a window reads).
pub(crate) fn sync_days(ctx: &Ctx, agent: &str, (first, end): (i64, i64)) -> Result<()> {
    let marked: bool = ctx.store.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM agent_cell_dirty WHERE agent_type = ?1 AND day >= ?2 AND day < ?3)",
        rusqlite::params![agent, first, end],
        |r| r.get(0),
    )?;
    if !marked {
        return Ok(());
    }
    ctx.store.write_tx(|s| {
        let c = s.conn();
        let days: Vec<i64> = c
            .prepare(
                "SELECT day FROM agent_cell_dirty WHERE agent_type = ?1 AND day >= ?2 AND day < ?3",
            )?
            .query_map(rusqlite::params![agent, first, end], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // A day after day 0 is a range of starts; day 0 (and before) also holds the runs
        // without a start (and the negative ones that round to it).
        let in_range = "r.internal = 0 AND r.agent_type = ?1 AND r.start_ms >= ?2 * 86400000
                        AND r.start_ms < (?2 + 1) * 86400000";
        let on_day = format!("r.internal = 0 AND r.agent_type = ?1 AND {DAY} = ?2");
        for day in days {
            let w = if day > 0 { in_range } else { on_day.as_str() };
            for table in ["agent_cells", "agent_cell_tools", "agent_cell_children"] {
                c.prepare_cached(&format!(
                    "DELETE FROM {table} WHERE agent_type = ?1 AND day = ?2"
                ))?
                .execute(rusqlite::params![agent, day])?;
            }
            for sql in [
                format!("INSERT INTO agent_cells {}", groups_sql("?1, ", w)),
                format!("INSERT INTO agent_cell_tools {}", tools_sql("?1, ", w)),
                format!(
                    "INSERT INTO agent_cell_children {}",
                    children_sql("?1, ", w)
                ),
            ] {
                c.prepare_cached(&sql)?
                    .execute(rusqlite::params![agent, day])?;
            }
        }
        c.execute(
            "DELETE FROM agent_cell_dirty WHERE agent_type = ?1 AND day >= ?2 AND day < ?3",
            rusqlite::params![agent, first, end],
        )?;
        Ok(())
    })
}

/// Brings the cells of the days `[first, end)` up to date for every agent type marked there, or
/// only for `agents` when given.
pub(crate) fn sync_all_days(ctx: &Ctx, agents: &[String], days: (i64, i64)) -> Result<()> {
    let marked: Vec<String> = ctx
        .store
        .conn()
        .prepare("SELECT DISTINCT agent_type FROM agent_cell_dirty WHERE day >= ?1 AND day < ?2")?
        .query_map(rusqlite::params![days.0, days.1], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for agent in marked {
        if agents.is_empty() || agents.contains(&agent) {
            sync_days(ctx, &agent, days)?;
        }
    }
    Ok(())
}

/// The report's parts for `agent` from its cells (refreshed first) and the part days of the
/// window; None when the filter narrows the runs by more than the agent and a time window.
pub(crate) fn parts(ctx: &Ctx, filter: &Filter, agent: &str) -> Result<Option<Parts>> {
    if filter.project.is_some() || filter.session.is_some() || filter.agents != [agent] {
        return Ok(None);
    }
    sync(ctx, agent)?;
    let c = ctx.store.conn();
    let mut acc = Acc::default();
    match window::rollup_days(filter) {
        Some(days @ Days::All) => acc.add_cells(c, agent, days.bounds())?,
        Some(days @ Days::Range(..)) => {
            acc.add_cells(c, agent, days.bounds())?;
            for edge in window::edges(filter, days) {
                acc.add_runs(c, &edge)?;
            }
        }
        // Less than a whole day: the runs alone.
        None => acc.add_runs(c, filter)?,
    }
    let lost_tested = acc.split_lost(ctx, filter)?;
    Ok(Some(acc.finish(lost_tested)))
}

/// The groups, tools and children of a report's cells and part days, summed.
#[derive(Default)]
struct Acc {
    /// Whole days and part days never share a day: one row per (day, who).
    rows: BTreeMap<(i64, String), Row>,
    tools: BTreeMap<String, ToolUse>,
    children: BTreeMap<String, i64>,
}

impl Acc {
    fn add_rows(&mut self, stmt: &mut rusqlite::Statement<'_>, p: &[SqlValue]) -> Result<()> {
        for row in stmt.query_map(params_from_iter(p.iter()), Row::from_row)? {
            let row = row?;
            self.rows
                .insert((row.group.day, row.group.who.clone()), row);
        }
        Ok(())
    }

    /// Adds the rows of a tools query (tool, calls, errors, runs from column `at` on).
    fn add_tools(
        &mut self,
        stmt: &mut rusqlite::Statement<'_>,
        p: &[SqlValue],
        at: usize,
    ) -> Result<()> {
        let got = stmt.query_map(params_from_iter(p.iter()), |r| {
            Ok((
                r.get::<_, String>(at)?,
                r.get::<_, i64>(at + 1)?,
                r.get::<_, i64>(at + 2)?,
                r.get::<_, i64>(at + 3)?,
            ))
        })?;
        for t in got {
            let (tool, calls, errors, runs) = t?;
            let e = self.tools.entry(tool.clone()).or_insert(ToolUse {
                tool,
                calls: 0,
                errors: 0,
                share: 0.0,
                runs: 0,
            });
            e.calls += calls;
            e.errors += errors;
            e.runs += runs;
        }
        Ok(())
    }

    /// Adds the rows of a children query (child, runs from column `at` on).
    fn add_children(
        &mut self,
        stmt: &mut rusqlite::Statement<'_>,
        p: &[SqlValue],
        at: usize,
    ) -> Result<()> {
        let got = stmt.query_map(params_from_iter(p.iter()), |r| {
            Ok((r.get::<_, String>(at)?, r.get::<_, i64>(at + 1)?))
        })?;
        for ch in got {
            let (child, runs) = ch?;
            *self.children.entry(child).or_default() += runs;
        }
        Ok(())
    }

    /// Adds `agent`'s cells of the days `[first, end)`.
    fn add_cells(
        &mut self,
        c: &rusqlite::Connection,
        agent: &str,
        (first, end): (i64, i64),
    ) -> Result<()> {
        let p = [
            SqlValue::Text(agent.to_string()),
            SqlValue::Integer(first),
            SqlValue::Integer(end),
        ];
        let cells = "agent_type = ?1 AND day >= ?2 AND day < ?3";
        self.add_rows(
            &mut c.prepare(&format!(
                "SELECT {CELL_COLUMNS} FROM agent_cells WHERE {cells}"
            ))?,
            &p,
        )?;
        self.add_tools(
            &mut c.prepare(&format!(
                "SELECT tool, sum(calls), sum(errors), sum(runs) FROM agent_cell_tools WHERE {cells} GROUP BY tool"
            ))?,
            &p,
            0,
        )?;
        self.add_children(
            &mut c.prepare(&format!(
                "SELECT child, sum(runs) FROM agent_cell_children WHERE {cells} GROUP BY child"
            ))?,
            &p,
            0,
        )
    }

    /// Adds the runs matching `filter` (a part day), grouped as in a cell.
    fn add_runs(&mut self, c: &rusqlite::Connection, filter: &Filter) -> Result<()> {
        let (w, p) = filter.runs_where();
        self.add_rows(&mut c.prepare(&groups_sql("", &w))?, &p)?;
        self.add_tools(&mut c.prepare(&tools_sql("", &w))?, &p, 1)?;
        self.add_children(&mut c.prepare(&children_sql("", &w))?, &p, 1)
    }

    /// Splits the window's runs still `running` as stored into running and lost
    /// ([`crate::vocab::RunStatus::effective_sql`]: never ended and started before the
    /// threshold), from the `runs_running` index; returns the lost runs with a test result
    /// (decided: they count as tested).
    fn split_lost(&mut self, ctx: &Ctx, filter: &Filter) -> Result<i64> {
        // The filter's runs (the agent and the window's bounds), then the threshold.
        let (w, mut p) = filter.runs_where();
        p.push(SqlValue::Integer(ctx.lost_before()));
        let mut stmt = ctx.store.conn().prepare(&format!(
            "SELECT {DAY}, count(*), count(r.tests_failed) FROM agent_runs r INDEXED BY runs_running
             WHERE {w} AND r.status = 'running' AND r.end_ms IS NULL AND coalesce(r.start_ms, 0) < ?{}
             GROUP BY 1",
            p.len()
        ))?;
        let mut lost_tested = 0;
        for l in stmt.query_map(params_from_iter(p.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (day, lost, tested) = l?;
            lost_tested += tested;
            // Any group of the day: what is read are the day's and the totals' counts.
            if let Some((_, row)) = self.rows.range_mut((day, String::new())..).next() {
                let g = &mut row.group;
                if g.day == day {
                    g.sums.running -= lost;
                    g.sums.lost += lost;
                }
            }
        }
        Ok(lost_tested)
    }

    /// The report's parts: groups in (day, who) order, the outcome, host, tools and children
    /// summed.
    fn finish(self, lost_tested: i64) -> Parts {
        let mut outcome = [0i64; 13];
        let (mut cpu_n, mut cpu_sum, mut cpu_max) = (0i64, 0i128, None::<f64>);
        let (mut rss_n, mut rss_kb, mut rss_max) = (0i64, 0i64, None::<f64>);
        let mut groups = Vec::with_capacity(self.rows.len());
        for row in self.rows.into_values() {
            for (o, x) in outcome.iter_mut().zip(row.outcome) {
                *o += x;
            }
            cpu_n += row.cpu_n;
            cpu_sum += row.cpu_sum;
            cpu_max = max_of(cpu_max, row.cpu_max);
            rss_n += row.rss_n;
            rss_kb += row.rss_kb;
            rss_max = max_of(rss_max, row.rss_max);
            groups.push(row.group);
        }
        outcome[0] += lost_tested;
        let cpu_total = cpu_total(cpu_sum);
        Parts {
            groups,
            outcome,
            host: HostResources {
                cpu_runs: cpu_n,
                avg_cpu_seconds: (cpu_n > 0).then(|| cpu_total / cpu_n as f64),
                max_cpu_seconds: cpu_max,
                rss_runs: rss_n,
                avg_rss_mb: (rss_n > 0).then(|| rss_kb as f64 / 1024.0 / rss_n as f64),
                max_rss_mb: rss_max,
            },
            tools: self.tools.into_values().collect(),
            delegates_to: self
                .children
                .into_iter()
                .map(|(agent, runs)| Count { agent, runs })
                .collect(),
        }
    }
}

/// The larger of two optional maxima.
fn max_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
