//! Time windows split into what the per-day rollups answer for (the whole UTC days inside the
//! window) and what only the runs answer for (the part days at its edges), so a reader over
//! `--days N` or `--since`/`--until` reads a few thousand rollup rows and a part day of runs
//! instead of every run of the window, with the same figures.

use super::{Ctx, Filter};
use crate::error::Result;
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use std::collections::BTreeMap;

/// One UTC day in ms: the rollups' unit.
pub const DAY_MS: i64 = 86_400_000;

/// Which runs the rollups answer for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    /// All of them (no time bound).
    All,
    /// Those that started on the whole UTC days `[first, end)` (`end` None: no `--until`).
    Range(i64, Option<i64>),
}

impl Days {
    /// The first day and the day after the last, unbounded ends as the extreme days.
    pub fn bounds(self) -> (i64, i64) {
        match self {
            Days::All => (i64::MIN / DAY_MS, i64::MAX / DAY_MS),
            Days::Range(first, end) => (first, end.unwrap_or(i64::MAX / DAY_MS)),
        }
    }

    /// The condition (` AND …`, on runs aliased `r`) that keeps the runs started on these days,
    /// with the days bound as `?1` and `?2` by [`rollup_params`]; empty for [`Days::All`]
    /// (every start, a missing one included).
    pub fn runs_start_sql(self) -> &'static str {
        match self {
            Days::All => "",
            Days::Range(..) => " AND r.start_ms >= ?1 * 86400000 AND r.start_ms < ?2 * 86400000",
        }
    }
}

/// The parameters of a query over daily rollups: `?1` the first day, `?2` the day after the last,
/// then `--agent`'s types, with the ` AND agent_type IN (…)` condition naming them (empty
/// without `--agent`).
pub fn rollup_params(filter: &Filter, days: Days) -> (Vec<SqlValue>, String) {
    let (first, end) = days.bounds();
    let mut p: Vec<SqlValue> = vec![SqlValue::Integer(first), SqlValue::Integer(end)];
    let marks: Vec<String> = filter
        .agents
        .iter()
        .map(|a| {
            p.push(SqlValue::Text(a.clone()));
            format!("?{}", p.len())
        })
        .collect();
    let agents = if marks.is_empty() {
        String::new()
    } else {
        format!(" AND agent_type IN ({})", marks.join(", "))
    };
    (p, agents)
}

/// The runs the rollups can answer for, if any: none under `--project` or `--session` (a run's
/// directory and session are not in the rollups); under a time bound, the whole days inside the
/// window. Those start at day 1: day 0 of the rollups also holds the runs without a start,
/// which a time bound excludes.
pub fn rollup_days(filter: &Filter) -> Option<Days> {
    if filter.project.is_some() || filter.session.is_some() {
        return None;
    }
    if filter.since.is_none() && filter.until.is_none() {
        return Some(Days::All);
    }
    let first = filter
        .since
        .map_or(1, |s| {
            s.div_euclid(DAY_MS) + i64::from(s.rem_euclid(DAY_MS) > 0)
        })
        .max(1);
    let end = filter.until.map(|u| u.div_euclid(DAY_MS));
    match end {
        Some(e) if e <= first => None,
        _ => Some(Days::Range(first, end)),
    }
}

/// The filters of the part days a [`Days::Range`] leaves out of `filter`'s window: before its
/// first whole day, and (with an end) from its end on. Empty for [`Days::All`].
pub fn edges(filter: &Filter, days: Days) -> Vec<Filter> {
    let Days::Range(first, end) = days else {
        return Vec::new();
    };
    let mut before = filter.clone();
    before.until = Some(first * DAY_MS);
    let mut out = vec![before];
    if let Some(e) = end {
        let mut after = filter.clone();
        after.since = Some(e * DAY_MS);
        out.push(after);
    }
    out
}

/// `agent_daily`'s sums of one agent type over whole days, with the runs of those days still
/// `running` as stored, split into those running now and those lost (decided at read time).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DailySums {
    pub runs: i64,
    pub success: i64,
    pub failure: i64,
    pub cancelled: i64,
    pub running: i64,
    pub lost: i64,
    /// Lost runs with a test result (lost runs are decided: they count as tested).
    pub lost_tested: i64,
    pub dur_n: i64,
    pub dur_sum: i64,
    pub complexity_sum: i64,
    pub tokens: i64,
    pub cost: f64,
    pub tested: i64,
    pub verified: i64,
}

/// Per agent type, `agent_daily` summed over `days` (and `--agent`'s types), agent types with
/// runs only; the status `running` counted from the index of running runs
/// (`runs_running`), lost as [`crate::vocab::RunStatus::effective_sql`] decides.
pub fn agent_daily_sums(
    ctx: &Ctx,
    filter: &Filter,
    days: Days,
) -> Result<BTreeMap<String, DailySums>> {
    let c = ctx.store.conn();
    let (mut p, agents) = rollup_params(filter, days);
    let mut out: BTreeMap<String, DailySums> = BTreeMap::new();
    let mut stmt = c.prepare(&format!(
        "SELECT agent_type, sum(runs), sum(success), sum(failure), sum(cancelled), sum(dur_n), sum(dur_sum),
                sum(complexity_sum), sum(tokens), sum(cost), sum(tested), sum(verified)
         FROM agent_daily WHERE day >= ?1 AND day < ?2{agents} GROUP BY agent_type HAVING sum(runs) > 0"
    ))?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            DailySums {
                runs: r.get(1)?,
                success: r.get(2)?,
                failure: r.get(3)?,
                cancelled: r.get(4)?,
                dur_n: r.get(5)?,
                dur_sum: r.get(6)?,
                complexity_sum: r.get(7)?,
                tokens: r.get(8)?,
                cost: r.get(9)?,
                tested: r.get(10)?,
                verified: r.get(11)?,
                ..DailySums::default()
            },
        ))
    })?;
    for row in rows {
        let (agent, s) = row?;
        out.insert(agent, s);
    }
    // The runs still `running` as stored, in the same days: lost when never ended and started
    // before the threshold. Without time bounds every start counts (a missing one as 0).
    let window = days.runs_start_sql();
    p.push(SqlValue::Integer(ctx.lost_before()));
    let lost = p.len();
    let mut stmt = c.prepare(&format!(
        "SELECT r.agent_type, count(*),
                sum(r.end_ms IS NULL AND coalesce(r.start_ms, 0) < ?{lost}),
                sum(r.end_ms IS NULL AND coalesce(r.start_ms, 0) < ?{lost} AND r.tests_failed IS NOT NULL)
         FROM agent_runs r INDEXED BY runs_running
         WHERE r.internal = 0 AND r.status = 'running'{window}{} GROUP BY 1",
        agents.replace("agent_type", "r.agent_type")
    ))?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (agent, running, lost, lost_tested) = row?;
        if let Some(s) = out.get_mut(&agent) {
            s.running += running - lost;
            s.lost += lost;
            s.lost_tested += lost_tested;
        }
    }
    Ok(out)
}
