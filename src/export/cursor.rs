//! What was sent to which endpoint, so that `--follow` resumes after a restart and sends nothing
//! twice: `export_sent` holds the span ids an endpoint accepted, `export_cursor.run_mark` the
//! first run not yet done (every user run below it was sent, with its workflow's span).
//! Rows of `export_sent` for runs below the mark are pruned: the mark answers for them.

use crate::error::Result;
use crate::store::Store;
use rusqlite::params;

/// The first `agent_runs.id` `--follow` has not finished with for `target` (1 when new).
pub(super) fn mark(store: &Store, target: &str) -> Result<i64> {
    let mut stmt = store
        .conn()
        .prepare_cached("SELECT run_mark FROM export_cursor WHERE target = ?1")?;
    let mut rows = stmt.query(params![target])?;
    Ok(match rows.next()? {
        Some(r) => r.get(0)?,
        None => 1,
    })
}

/// Whether `target` accepted the span `span_id`.
pub(super) fn is_sent(store: &Store, target: &str, span_id: [u8; 8]) -> Result<bool> {
    let mut stmt = store
        .conn()
        .prepare_cached("SELECT 1 FROM export_sent WHERE target = ?1 AND span_id = ?2")?;
    Ok(stmt.exists(params![target, i64::from_be_bytes(span_id)])?)
}

/// Records spans `target` accepted (span id, and the run's id for a run span) and, with `mark`,
/// moves the cursor there, in one short transaction.
pub(super) fn record(
    store: &Store,
    target: &str,
    sent: &[(i64, Option<i64>)],
    mark: Option<i64>,
) -> Result<()> {
    if sent.is_empty() && mark.is_none() {
        return Ok(());
    }
    store.write_tx(|s| {
        let c = s.conn();
        let mut ins = c.prepare_cached(
            "INSERT OR IGNORE INTO export_sent(target, span_id, run_id) VALUES (?1, ?2, ?3)",
        )?;
        for (span, run) in sent {
            ins.execute(params![target, span, run])?;
        }
        if let Some(m) = mark {
            c.execute(
                "INSERT INTO export_cursor(target, run_mark) VALUES (?1, ?2)
                 ON CONFLICT(target) DO UPDATE SET run_mark = max(run_mark, excluded.run_mark)",
                params![target, m],
            )?;
            c.execute(
                "DELETE FROM export_sent WHERE target = ?1 AND run_id < ?2",
                params![target, m],
            )?;
        }
        Ok(())
    })
}
