//! Readers: each subcommand computes typed rows from the projection and returns a
//! [`Report`](crate::render::Report). Nothing here writes user data; opening a context only
//! advances the projection (see [`crate::derive`]). On request, `import` appends imported events
//! and `doctor --coverage` its result (and with `--fix`, an import).

pub mod active;
pub mod agent;
pub mod cli;
pub mod coverage;
pub mod doctor;
pub mod errors;
pub mod import;
pub mod overhead;
pub mod recover;
pub mod sessions;
pub mod summary;
pub mod timeline;
pub mod tools;
pub mod top;
pub mod tree;
pub mod trends;
pub mod types;
pub mod workflows;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pricing::Prices;
use crate::store::Store;
use rusqlite::types::Value as SqlValue;
use std::path::{Path, PathBuf};

/// Which runs a question is about.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Runs that started at or after this (unix ms).
    pub since: Option<i64>,
    /// Runs that started before this (unix ms).
    pub until: Option<i64>,
    /// Agent types; empty = all.
    pub agents: Vec<String>,
    /// The session's working directory (or an explicit workflow's project), or one below it.
    pub project: Option<String>,
    pub session: Option<String>,
}

impl Filter {
    /// True when only `--agent` (or nothing) narrows the runs: rollups can answer.
    pub fn only_agents(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.project.is_none()
            && self.session.is_none()
    }

    /// A WHERE clause over `sessions` aliased `s` (time bounds apply to the session's start;
    /// `--agent` keeps sessions with a user run of that type), with its parameters.
    pub fn sessions_where(&self) -> (String, Vec<SqlValue>) {
        let mut w = vec!["1 = 1".to_string()];
        let mut p: Vec<SqlValue> = Vec::new();
        if let Some(s) = self.since {
            p.push(s.into());
            w.push(format!("s.start_ms >= ?{}", p.len()));
        }
        if let Some(u) = self.until {
            p.push(u.into());
            w.push(format!("s.start_ms < ?{}", p.len()));
        }
        if let Some(proj) = &self.project {
            p.push(proj.trim_end_matches('/').to_string().into());
            w.push(format!(
                "(s.cwd = ?{n} OR substr(s.cwd, 1, length(?{n}) + 1) = ?{n} || '/')",
                n = p.len()
            ));
        }
        if let Some(id) = &self.session {
            p.push(id.clone().into());
            w.push(format!("s.session_id = ?{}", p.len()));
        }
        if !self.agents.is_empty() {
            let mut marks = Vec::new();
            for a in &self.agents {
                p.push(a.clone().into());
                marks.push(format!("?{}", p.len()));
            }
            w.push(format!(
                "EXISTS (SELECT 1 FROM agent_runs r WHERE r.session_id = s.session_id AND r.internal = 0 AND r.agent_type IN ({}))",
                marks.join(", ")
            ));
        }
        (w.join(" AND "), p)
    }

    /// A WHERE clause over `agent_runs` aliased `r` (user agents only), with its parameters.
    pub fn runs_where(&self) -> (String, Vec<SqlValue>) {
        let mut w = vec!["r.internal = 0".to_string()];
        let mut p: Vec<SqlValue> = Vec::new();
        if let Some(s) = self.since {
            p.push(SqlValue::Integer(s));
            w.push(format!("r.start_ms >= ?{}", p.len()));
        }
        if let Some(u) = self.until {
            p.push(SqlValue::Integer(u));
            w.push(format!("r.start_ms < ?{}", p.len()));
        }
        if !self.agents.is_empty() {
            let mut marks = Vec::new();
            for a in &self.agents {
                p.push(SqlValue::Text(a.clone()));
                marks.push(format!("?{}", p.len()));
            }
            w.push(format!("r.agent_type IN ({})", marks.join(", ")));
        }
        if let Some(proj) = &self.project {
            p.push(SqlValue::Text(proj.trim_end_matches('/').to_string()));
            let n = p.len();
            w.push(format!(
                "(r.cwd = ?{n} OR substr(r.cwd, 1, length(?{n}) + 1) = ?{n} || '/' \
                 OR r.workflow_id IN (SELECT workflow_id FROM workflows WHERE project = ?{n}))"
            ));
        }
        if let Some(s) = &self.session {
            p.push(SqlValue::Text(s.clone()));
            w.push(format!(
                "(r.session_id = ?{n} OR r.workflow_id = ?{n})",
                n = p.len()
            ));
        }
        (w.join(" AND "), p)
    }
}

/// An opened, refreshed database plus the settings in force: what every subcommand needs.
pub struct Ctx {
    pub store: Store,
    pub cfg: Config,
    pub prices: Prices,
    /// "Now", fixed once per command (tests pin it with `AGENT_TELEMETRY_NOW`).
    pub now: i64,
}

impl Ctx {
    /// Opens the database at `db` (or the default), replays any spool, refreshes the projection.
    pub fn open(db: Option<&Path>) -> Result<Ctx> {
        let path: PathBuf = crate::paths::db_path(db);
        let store = Store::open_reader(&path)?;
        let cfg = Config::load(&path)?;
        let prices = Prices::load(&path)?;
        let ctx = Ctx {
            store,
            cfg,
            prices,
            now: now(),
        };
        crate::hook::replay_spool(&ctx.store, crate::store::Budget::ALL)?;
        crate::derive::refresh(&ctx.store, &ctx.cfg, &ctx.prices)?;
        Ok(ctx)
    }

    /// Runs that started before this and never ended are `lost`.
    pub fn lost_before(&self) -> i64 {
        self.now - self.cfg.lost_after_minutes * 60_000
    }

    /// SQL for a run's effective status (`lost` is decided at read time), `r` aliased.
    pub fn status_sql(&self) -> String {
        format!(
            "(CASE WHEN r.status = 'running' AND r.end_ms IS NULL AND coalesce(r.start_ms, 0) < {} THEN 'lost' ELSE r.status END)",
            self.lost_before()
        )
    }

    /// Fails with a helpful message when an `--agent` names no recorded agent type.
    pub fn check_agents(&self, agents: &[String]) -> Result<()> {
        for a in agents {
            let known: bool = self.store.conn().query_row(
                "SELECT EXISTS (SELECT 1 FROM agent_daily WHERE agent_type = ?1 AND runs > 0)",
                [a],
                |r| r.get(0),
            )?;
            if !known {
                let mut stmt = self.store.conn().prepare(
                    "SELECT agent_type FROM agent_daily WHERE runs > 0 GROUP BY agent_type ORDER BY sum(runs) DESC",
                )?;
                let names: Vec<String> = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let close: Vec<&String> = names
                    .iter()
                    .filter(|n| {
                        n.contains(a.as_str()) || a.contains(n.as_str()) || edit_distance(n, a) <= 3
                    })
                    .take(3)
                    .collect();
                let hint = if !close.is_empty() {
                    format!(
                        "; did you mean {}?",
                        close
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else if names.is_empty() {
                    "; no agent runs are recorded yet".to_string()
                } else {
                    format!(
                        "; known agents: {}",
                        names
                            .iter()
                            .take(10)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(Error::UnknownAgent {
                    name: a.clone(),
                    hint,
                });
            }
        }
        Ok(())
    }
}

/// The current time in unix ms, or `AGENT_TELEMETRY_NOW` (ISO-8601) when set (tests, replays).
pub fn now() -> i64 {
    std::env::var("AGENT_TELEMETRY_NOW")
        .ok()
        .and_then(|s| crate::timeparse::parse_instant(&s))
        .unwrap_or_else(crate::store::now_ms)
}

/// Percentile by linear interpolation between closest ranks over sorted `xs`
/// (docs/metrics.md: p = 0..1; rank h = (n − 1)·p).
pub fn percentile(xs: &[i64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let h = (xs.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(xs.len() - 1);
    Some(xs[lo] as f64 + (h - lo as f64) * (xs[hi] - xs[lo]) as f64)
}

/// The same percentile, read from the `(agent_type, duration_ms)` index without loading the
/// runs: `n` is the number of durations for the agent (or all agents when `agent` is None).
pub fn indexed_percentile(
    store: &Store,
    agent: Option<&str>,
    n: i64,
    p: f64,
) -> Result<Option<f64>> {
    if n <= 0 {
        return Ok(None);
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as i64;
    let hi = (lo + 1).min(n - 1);
    let take = hi - lo + 1;
    // Walk from whichever end is nearer: OFFSET costs one index step per skipped entry.
    let from_top = lo > n / 2;
    let (order, offset) = if from_top {
        ("DESC", n - 1 - hi)
    } else {
        ("ASC", lo)
    };
    let vals: Vec<i64> = match agent {
        Some(a) => {
            let sql = format!(
                "SELECT duration_ms FROM agent_runs INDEXED BY runs_type_duration
                 WHERE agent_type = ?1 AND internal = 0 AND duration_ms IS NOT NULL
                 ORDER BY duration_ms {order} LIMIT ?3 OFFSET ?2"
            );
            let mut stmt = store.conn().prepare_cached(&sql)?;
            let v = stmt
                .query_map(rusqlite::params![a, offset, take], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            v
        }
        None => {
            let sql = format!(
                "SELECT duration_ms FROM agent_runs INDEXED BY runs_duration
                 WHERE internal = 0 AND duration_ms IS NOT NULL ORDER BY duration_ms {order} LIMIT ?2 OFFSET ?1"
            );
            let mut stmt = store.conn().prepare_cached(&sql)?;
            let v = stmt
                .query_map(rusqlite::params![offset, take], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            v
        }
    };
    let (Some(first), Some(last)) = (vals.first(), vals.last()) else {
        return Ok(None);
    };
    let (x_lo, x_hi) = if from_top {
        (*last, *first)
    } else {
        (*first, *last)
    };
    Ok(Some(x_lo as f64 + (h - lo as f64) * (x_hi - x_lo) as f64))
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates() {
        let xs = [10, 20, 30, 40];
        assert_eq!(percentile(&xs, 0.5), Some(25.0));
        assert_eq!(percentile(&xs, 0.95), Some(38.5));
        assert_eq!(percentile(&xs, 0.0), Some(10.0));
        assert_eq!(percentile(&xs, 1.0), Some(40.0));
        assert_eq!(percentile(&[7], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
