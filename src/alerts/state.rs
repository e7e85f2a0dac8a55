//! `alert_state`: what fired, since when, what was resolved, and what was delivered. One
//! evaluation is one write transaction: alerts firing now are inserted (or refreshed: value,
//! message, `last_seen_ms`), alerts no longer firing are marked resolved, and
//! `alert_eval.last_evaluated_ms` is set.

use super::Alert;
use crate::error::Result;
use crate::store::Store;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeSet;

/// Resolved alerts are kept this long, then forgotten (the table stays small).
const KEEP_RESOLVED_MS: i64 = 7 * 86_400_000;

/// Records an evaluation's result at `now`: returns (alerts that started firing, alerts resolved).
pub(super) fn apply(store: &Store, firing: &[Alert], now: i64) -> Result<(usize, usize)> {
    store.write_tx(|s| {
        let c = s.conn();
        let before: BTreeSet<(String, String)> = {
            let mut stmt = c.prepare("SELECT rule, subject FROM alert_state WHERE state = 'firing'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut upsert = c.prepare_cached(
            "INSERT INTO alert_state (rule, subject, state, severity, value, threshold, message, since_ms, last_seen_ms)
             VALUES (?1, ?2, 'firing', ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (rule, subject) DO UPDATE SET
               severity = excluded.severity, value = excluded.value, threshold = excluded.threshold,
               message = excluded.message, last_seen_ms = excluded.last_seen_ms,
               since_ms = CASE WHEN state = 'firing' THEN since_ms ELSE excluded.since_ms END,
               resolved_ms = CASE WHEN state = 'firing' THEN resolved_ms END,
               attempts = CASE WHEN state = 'firing' THEN attempts ELSE 0 END,
               next_try_ms = CASE WHEN state = 'firing' THEN next_try_ms END,
               last_error = CASE WHEN state = 'firing' THEN last_error END,
               state = 'firing'",
        )?;
        let mut now_firing = BTreeSet::new();
        for a in firing {
            upsert.execute(params![
                a.rule.as_str(),
                a.subject,
                a.severity.as_str(),
                a.value,
                a.threshold,
                a.message,
                now
            ])?;
            now_firing.insert((a.rule.as_str().to_string(), a.subject.clone()));
        }
        let started = now_firing.difference(&before).count();
        let mut resolve = c.prepare_cached(
            "UPDATE alert_state SET state = 'resolved', resolved_ms = ?3, attempts = 0,
                 next_try_ms = NULL, last_error = NULL
             WHERE rule = ?1 AND subject = ?2 AND state = 'firing'",
        )?;
        let mut resolved = 0;
        for (rule, subject) in before.difference(&now_firing) {
            resolved += resolve.execute(params![rule, subject, now])?;
        }
        c.execute(
            "DELETE FROM alert_state WHERE state = 'resolved' AND resolved_ms < ?1",
            [now - KEEP_RESOLVED_MS],
        )?;
        c.execute(
            "INSERT INTO alert_eval (key, value) VALUES ('last_evaluated_ms', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [now],
        )?;
        Ok((started, resolved))
    })
}

/// One `alert_state` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    pub rule: String,
    pub subject: String,
    /// `firing` or `resolved`.
    pub state: String,
    pub severity: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub message: String,
    pub since_ms: i64,
    pub last_seen_ms: i64,
    pub resolved_ms: Option<i64>,
    /// The last state handed to the notifiers (None: never).
    pub delivered: Option<String>,
    /// Failed delivery attempts of the current state.
    pub attempts: i64,
    pub next_try_ms: Option<i64>,
    pub last_error: Option<String>,
}

pub(super) const COLUMNS: &str =
    "rule, subject, state, severity, value, threshold, message, since_ms,
    last_seen_ms, resolved_ms, delivered, attempts, next_try_ms, last_error";

pub(super) fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        rule: r.get(0)?,
        subject: r.get(1)?,
        state: r.get(2)?,
        severity: r.get(3)?,
        value: r.get(4)?,
        threshold: r.get(5)?,
        message: r.get(6)?,
        since_ms: r.get(7)?,
        last_seen_ms: r.get(8)?,
        resolved_ms: r.get(9)?,
        delivered: r.get(10)?,
        attempts: r.get(11)?,
        next_try_ms: r.get(12)?,
        last_error: r.get(13)?,
    })
}

/// The alerts firing, then those resolved at or after `resolved_since` (unix ms); critical
/// before warning, then by rule and subject. Also `alert_eval.last_evaluated_ms`.
pub fn read(store: &Store, resolved_since: i64) -> Result<(Vec<Stored>, Option<i64>)> {
    let c = store.conn();
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM alert_state
         WHERE state = 'firing' OR (state = 'resolved' AND resolved_ms >= ?1)"
    ))?;
    let mut rows: Vec<Stored> = stmt
        .query_map([resolved_since], row)?
        .collect::<rusqlite::Result<_>>()?;
    let rank = |r: &str| super::Rule::ALL.iter().position(|x| x.as_str() == r);
    rows.sort_by(|a, b| {
        (
            a.state != "firing",
            a.severity != "critical",
            rank(&a.rule),
            &a.subject,
        )
            .cmp(&(
                b.state != "firing",
                b.severity != "critical",
                rank(&b.rule),
                &b.subject,
            ))
    });
    let last = c
        .query_row(
            "SELECT value FROM alert_eval WHERE key = 'last_evaluated_ms'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok((rows, last))
}
