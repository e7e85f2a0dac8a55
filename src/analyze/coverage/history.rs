//! The checks remembered (`coverage_checks`, schema version 7), so plain `analyze doctor` can
//! show the last one.

use super::{days, days_text, Coverage};
use crate::error::Result;
use crate::render;
use crate::store::Store;
use rusqlite::params;
use serde::Serialize;

/// Remembers the check for plain `analyze doctor`.
pub(super) fn record(store: &Store, c: &Coverage) -> Result<()> {
    store.conn().execute(
        "INSERT INTO coverage_checks (checked_at, since_ms, until_ms, scope, transcript_runs, covered, missing, wrong, extra,
            recovered, fixed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            c.checked_at_ms,
            c.window.0,
            c.window.1,
            c.scope,
            c.transcript_runs as i64,
            c.covered as i64,
            c.missing as i64,
            c.wrong as i64,
            c.extra as i64,
            c.recovered as i64,
            c.fix.as_ref().map(|f| f.runs_added)
        ],
    )?;
    Ok(())
}

/// The last check, as plain `analyze doctor` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LastCheck {
    pub checked_at: String,
    pub since: String,
    pub until: Option<String>,
    pub days: f64,
    pub scope: Option<String>,
    pub transcript_runs: i64,
    pub covered: i64,
    pub missing: i64,
    pub wrong: i64,
    pub extra: i64,
    pub recovered: i64,
    /// Runs `--fix` added; null when the check ran without `--fix`.
    pub fixed: Option<i64>,
    /// covered ÷ transcript_runs; null when there were none.
    pub coverage: Option<f64>,
    /// One line: `98.5% of 200 runs over 7 days, checked 2026-11-22 09:00:00`.
    pub summary: String,
}

impl LastCheck {
    /// Missing or wrong runs were found and not fixed.
    pub fn problems(&self) -> i64 {
        self.missing + self.wrong
    }
}

/// The newest `coverage_checks` row; None when there is none (or no such table: an older schema).
pub fn last_check(conn: &rusqlite::Connection) -> Option<LastCheck> {
    conn.query_row(
        "SELECT checked_at, since_ms, until_ms, scope, transcript_runs, covered, missing, wrong, extra, recovered, fixed
         FROM coverage_checks ORDER BY id DESC LIMIT 1",
        [],
        |r| {
            let checked: i64 = r.get(0)?;
            let since: i64 = r.get(1)?;
            let until: Option<i64> = r.get(2)?;
            let runs: i64 = r.get(4)?;
            let covered: i64 = r.get(5)?;
            let coverage = (runs > 0).then(|| covered as f64 / runs as f64);
            let d = days(since, until.unwrap_or(checked));
            let scope: Option<String> = r.get(3)?;
            let scope_text = scope.as_ref().map(|s| format!(" ({s})")).unwrap_or_default();
            let summary = if runs == 0 {
                format!(
                    "no runs to compare over {}{scope_text}, checked {}",
                    days_text(d),
                    crate::render::timestamp(checked)
                )
            } else {
                format!(
                    "{} of {} run(s) over {}{scope_text}, checked {}",
                    render::pct(coverage),
                    render::int(runs),
                    days_text(d),
                    crate::render::timestamp(checked)
                )
            };
            Ok(LastCheck {
                checked_at: crate::timeparse::format_ms(checked),
                since: crate::timeparse::format_ms(since),
                until: until.map(crate::timeparse::format_ms),
                days: d,
                scope,
                transcript_runs: runs,
                covered,
                missing: r.get(6)?,
                wrong: r.get(7)?,
                extra: r.get(8)?,
                recovered: r.get(9)?,
                fixed: r.get(10)?,
                coverage,
                summary,
            })
        },
    )
    .ok()
}
