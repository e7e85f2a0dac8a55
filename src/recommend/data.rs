//! Data: what a question reads — outcome counts per (agent, description, complexity), lost runs,
//! durations and the trend periods — from the trigger-kept tables, or the runs of a `--days`
//! window.

use super::intern::{FastMap, Interner};
use super::{Query, DAY_MS};
use crate::error::Result;
use crate::query::sql;
use crate::query::stats;
use crate::store::{schema, Store};
use crate::vocab::RunStatus;
use rusqlite::params;
use std::collections::HashMap;

/// A text column, borrowed from the row.
fn text<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Outcome counts of one (agent, description, complexity); agent and description interned.
pub(super) struct Row {
    pub(super) agent: usize,
    pub(super) desc: usize,
    pub(super) complexity: i64,
    pub(super) runs: i64,
    pub(super) success: i64,
    pub(super) decided: i64,
    /// Decided runs with a test result, and those that succeeded with no failing test
    /// (docs/metrics.md, "verified").
    pub(super) tested: i64,
    pub(super) verified: i64,
}

impl Row {
    /// The successes the outcome signal counts: a tested run counts by whether it was verified
    /// (a completed run whose tests fail is a failure), an untested one by its status. The row
    /// does not say which of its successes were tested: they are taken in proportion
    /// (successes × untested share), so a row without tests counts its successes and a fully
    /// tested row its verified runs.
    pub(super) fn outcome_success(&self) -> f64 {
        if self.tested <= 0 || self.decided <= 0 {
            return self.success as f64;
        }
        let untested = (self.decided - self.tested).max(0) as f64 / self.decided as f64;
        self.success as f64 * untested + self.verified as f64
    }
}

/// The rows of the question's window, with the interned agent names and descriptions: the
/// trigger-kept table plus lost runs, or the runs themselves when `--days` is set.
pub(super) fn load_rows(
    store: &Store,
    q: &Query,
    lost: &[Lost],
) -> Result<(Vec<String>, Vec<String>, Vec<Row>)> {
    let c = store.conn();
    let lost_before = q.now - q.config.lost_after_minutes * 60_000;
    let (mut agents, mut descs) = (Interner::default(), Interner::with_capacity(1 << 15));
    let mut rows = Vec::new();
    let (sql, since) = match q.days {
        None => (
            "SELECT agent_type, description, complexity, runs, success, failure, tested, verified
             FROM agent_task_stats WHERE runs > 0"
                .to_string(),
            0,
        ),
        Some(days) => {
            // Failures here are what the table calls failures plus lost runs.
            let st = RunStatus::effective_sql("r", lost_before);
            let success = sql::count_of(&st, RunStatus::Success);
            let failed = format!(
                "{} + {}",
                sql::count_of(&st, RunStatus::Failure),
                sql::count_of(&st, RunStatus::Lost)
            );
            let (tested, verified) = (schema::tested_sql("r"), schema::verified_sql("r"));
            (
                format!(
                    "SELECT r.agent_type, coalesce(r.description, ''), r.complexity, count(*), {success}, {failed},
                            sum({tested}), sum({verified})
                     FROM agent_runs r WHERE r.internal = 0 AND r.start_ms >= ?1 GROUP BY 1, 2, 3"
                ),
                q.now - i64::from(days) * DAY_MS,
            )
        }
    };
    let mut stmt = c.prepare(&sql)?;
    let mut it = match q.days {
        None => stmt.query([])?,
        Some(_) => stmt.query([since])?,
    };
    while let Some(r) = it.next()? {
        let (agent, desc) = (text(r, 0)?, text(r, 1)?);
        let success: i64 = r.get(4)?;
        rows.push(Row {
            agent: agents.id(agent),
            desc: descs.id(desc),
            complexity: r.get(2)?,
            runs: r.get(3)?,
            success,
            decided: success + r.get::<_, i64>(5)?,
            tested: r.get(6)?,
            verified: r.get(7)?,
        });
    }
    if q.days.is_none() && !lost.is_empty() {
        // The table counts lost runs as neither success nor failure; they are failures.
        let mut by_key: FastMap<(usize, usize, i64), i64> = FastMap::default();
        for l in lost {
            if let (Some(&a), Some(&d)) = (agents.index.get(&l.agent), descs.index.get(&l.desc)) {
                *by_key.entry((a, d, l.complexity)).or_default() += l.n;
            }
        }
        for r in &mut rows {
            if let Some(n) = by_key.get(&(r.agent, r.desc, r.complexity)) {
                r.decided += n;
            }
        }
    }
    Ok((agents.names, descs.names, rows))
}

/// Lost runs (started, never ended, older than `lost_after_minutes`) of the window.
pub(super) struct Lost {
    agent: String,
    desc: String,
    complexity: i64,
    /// Started in the trend's recent window.
    recent: bool,
    n: i64,
}

/// One pass over the open-runs index: lost runs by agent, description, complexity and window.
pub(super) fn load_lost(store: &Store, q: &Query) -> Result<Vec<Lost>> {
    let lost_before = q.now - q.config.lost_after_minutes * 60_000;
    let recent_day = (q.now - stats::RECENT_DAYS * DAY_MS).div_euclid(DAY_MS);
    let since = q
        .days
        .map(|d| q.now - i64::from(d) * DAY_MS)
        .unwrap_or(i64::MIN);
    let mut stmt = store.conn().prepare(
        "SELECT agent_type, coalesce(description, ''), complexity, coalesce(start_ms, 0) / 86400000 >= ?3, count(*)
         FROM agent_runs INDEXED BY runs_open
         WHERE end_ms IS NULL AND internal = 0 AND coalesce(start_ms, 0) < ?1 AND coalesce(start_ms, 0) >= ?2
         GROUP BY 1, 2, 3, 4",
    )?;
    let rows = stmt.query_map(params![lost_before, since, recent_day], |r| {
        Ok(Lost {
            agent: r.get(0)?,
            desc: r.get(1)?,
            complexity: r.get(2)?,
            recent: r.get(3)?,
            n: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Per agent: (runs with a duration, their total duration) in the window, from the rollup.
pub(super) fn load_durations(store: &Store, q: &Query) -> Result<HashMap<String, (i64, i64)>> {
    let first_day = q
        .days
        .map(|d| (q.now - i64::from(d) * DAY_MS).div_euclid(DAY_MS))
        .unwrap_or(i64::MIN);
    let mut stmt = store.conn().prepare(
        "SELECT agent_type, sum(dur_n), sum(dur_sum) FROM agent_daily WHERE day >= ?1 GROUP BY 1",
    )?;
    let rows = stmt.query_map([first_day], |r| {
        Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Per agent: decided runs and successes in the recent window and before it (agent_daily plus
/// lost runs, which the rollup counts as open).
pub(super) fn load_trends(
    store: &Store,
    q: &Query,
    lost: &[Lost],
) -> Result<HashMap<String, [i64; 4]>> {
    let c = store.conn();
    let recent_day = (q.now - stats::RECENT_DAYS * DAY_MS).div_euclid(DAY_MS);
    let first_day = q
        .days
        .map(|d| (q.now - i64::from(d) * DAY_MS).div_euclid(DAY_MS))
        .unwrap_or(i64::MIN);
    // agent → [recent success, recent decided, earlier success, earlier decided]
    let mut acc: HashMap<String, [i64; 4]> = HashMap::new();
    let mut stmt = c.prepare(
        "SELECT agent_type, day >= ?1, sum(success), sum(success + failure) FROM agent_daily
         WHERE day >= ?2 GROUP BY 1, 2",
    )?;
    for r in stmt.query_map(params![recent_day, first_day], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })? {
        let (a, recent, s, n) = r?;
        let e = acc.entry(a).or_default();
        let i = if recent { 0 } else { 2 };
        e[i] += s;
        e[i + 1] += n;
    }
    for l in lost {
        acc.entry(l.agent.clone()).or_default()[if l.recent { 1 } else { 3 }] += l.n;
    }
    Ok(acc)
}
