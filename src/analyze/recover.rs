//! `analyze doctor --recover`: salvage a damaged database. Everything a report shows is derived
//! from a few source tables (the event log, usage rows, quarantine, read cursors, import and
//! spool bookkeeping), so recovery copies the rows of those that SQLite can still read into a
//! new database, keeps the damaged file (with its `-wal`/`-shm`) beside it under a new name, and
//! puts the new one in its place; the next reader re-derives every projection and replays the
//! payloads hooks spooled meanwhile. Rowid tables are read in id ranges, stepping over ranges
//! that fail to read; other tables are read until the first error.

use crate::error::{Error, Result};
use crate::render::{self, Grid, Report};
use crate::store::Store;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OpenFlags};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The source of truth, in copy order: (table, whether it has a rowid to read ranges by).
/// `payload_dicts` holds the dictionaries the packed events' frames name (schema 11): without
/// them a recovered event log could not be read back.
const SOURCE_TABLES: [(&str, bool); 9] = [
    ("events", true),
    ("payload_dicts", true),
    ("usage", false),
    ("quarantine", true),
    ("transcript_cursor", false),
    ("import_files", false),
    ("import_sessions", false),
    ("spool_seen", false),
    ("coverage_checks", true),
];

/// The projection tables holding pruned sessions' rows, copied when a session was pruned
/// (then cut down to those rows, with the rollups re-made from them).
const PROJECTION_TABLES: [&str; 7] = [
    "agent_runs",
    "run_tools",
    "run_values",
    "workflows",
    "handoffs",
    "sessions",
    "delegations",
];

/// Rows per read; on a failed read the range is narrowed to find what is still readable.
const PAGE: i64 = 500;
/// A table with more rowids than this shows a bar on a terminal while it is copied (the event
/// log of a large history: a minute or more).
const BAR_ABOVE: u64 = 20_000;

/// What was copied of one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableCopy {
    pub table: String,
    pub copied: i64,
    /// Rowid ranges that could not be read (rowid tables), or 1 when reading stopped early.
    pub unreadable_ranges: i64,
}

/// The recovery report.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub database: PathBuf,
    /// Where the damaged file (and its -wal/-shm) now is.
    pub kept_as: PathBuf,
    pub tables: Vec<TableCopy>,
}

impl Report for Recovery {
    fn command(&self) -> &'static str {
        "doctor --recover"
    }
    fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&["Table", "Rows copied", "Unreadable ranges"])
            .numeric(&[1, 2])
            .titled(format!("Recovered into {}", self.database.display()));
        g.rows = self
            .tables
            .iter()
            .map(|t| {
                vec![
                    t.table.clone(),
                    render::int(t.copied),
                    render::int(t.unreadable_ranges),
                ]
            })
            .collect();
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        vec![format!(
            "The damaged file is kept as {} (with its -wal/-shm). The next analyze command re-derives every report and replays what hooks spooled meanwhile.",
            self.kept_as.display()
        )]
    }
}

/// Moves `db` and its `-wal`/`-shm` to `<db>.<tag>` (and its `-wal`/`-shm`).
fn move_aside(db: &Path, tag: &str) -> std::io::Result<PathBuf> {
    let to = crate::paths::with_suffix(db, &format!(".{tag}"));
    for s in ["-wal", "-shm"] {
        let from = crate::paths::with_suffix(db, s);
        if from.exists() {
            std::fs::rename(&from, crate::paths::with_suffix(&to, s))?;
        }
    }
    std::fs::rename(db, &to)?;
    Ok(to)
}

fn columns(c: &Connection, schema: &str, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare(&format!("PRAGMA {schema}.table_info({table})"))?;
    let cols = st
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// Copies the readable rows of `table` from `src` (attached read-only) into `dst`'s table.
fn copy_table(src: &Connection, dst: &Store, table: &str, rowid: bool) -> Result<TableCopy> {
    let mut out = TableCopy {
        table: table.to_string(),
        copied: 0,
        unreadable_ranges: 0,
    };
    let Ok(src_cols) = columns(src, "main", table) else {
        out.unreadable_ranges = 1;
        return Ok(out);
    };
    let dst_cols = columns(dst.conn(), "main", table)?;
    let cols: Vec<&String> = dst_cols.iter().filter(|c| src_cols.contains(c)).collect();
    if cols.is_empty() {
        return Ok(out);
    }
    let list = cols
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let marks = (1..=cols.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let insert = format!("INSERT OR IGNORE INTO {table} ({list}) VALUES ({marks})");
    let read_rows = |sql: &str, p: &[i64]| -> rusqlite::Result<Vec<(i64, Vec<SqlValue>)>> {
        let mut st = src.prepare(sql)?;
        let rows = st.query_map(params_from_iter(p.iter()), |r| {
            let key: i64 = if rowid { r.get(0)? } else { 0 };
            let vals = (0..cols.len())
                .map(|i| r.get::<_, SqlValue>(i + usize::from(rowid)))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((key, vals))
        })?;
        rows.collect()
    };
    let write = |rows: &[(i64, Vec<SqlValue>)]| -> Result<i64> {
        dst.write_tx(|s| {
            let mut st = s.conn().prepare_cached(&insert)?;
            for (_, v) in rows {
                st.execute(params_from_iter(v.iter()))?;
            }
            Ok(rows.len() as i64)
        })
    };
    if !rowid {
        match read_rows(&format!("SELECT {list} FROM {table}"), &[]) {
            Ok(rows) => out.copied += write(&rows)?,
            Err(_) => out.unreadable_ranges = 1,
        }
        return Ok(out);
    }
    // The largest rowid sits on the table's right edge; unreadable, the whole b-tree is lost
    // (its root or the path to it is damaged).
    let Ok(max) = src.query_row(
        &format!("SELECT coalesce(max(rowid), 0) FROM {table}"),
        [],
        |r| r.get::<_, i64>(0),
    ) else {
        out.unreadable_ranges = 1;
        return Ok(out);
    };
    let sql = format!(
        "SELECT rowid, {list} FROM {table} WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid"
    );
    let bar = crate::progress::bar(
        crate::progress::Unit::Rows,
        &format!("recovering {table}"),
        max as u64,
        BAR_ABOVE,
    );
    let (mut from, mut step) = (0i64, PAGE);
    while from < max {
        bar.set_position(from as u64);
        let to = from.saturating_add(step).min(max);
        match read_rows(&sql, &[from, to]) {
            Ok(rows) => {
                out.copied += write(&rows)?;
                from = to;
                step = PAGE;
            }
            Err(_) if step > 1 => step = (step / 8).max(1),
            Err(_) => {
                // One unreadable rowid: skip it (and say so once per run of them).
                out.unreadable_ranges += 1;
                from = to;
                step = PAGE;
            }
        }
    }
    Ok(out)
}

/// Recovers `db` in place (see the module doc).
pub fn recover(db: &Path) -> Result<Recovery> {
    if !db.exists() {
        return Err(Error::MissingDatabase(db.to_path_buf()));
    }
    crate::store::refuse_symlinks(db)?;
    let tag = format!("damaged-{}", crate::store::now_ms());
    let fresh = crate::paths::with_suffix(db, ".recovering");
    for p in [
        fresh.clone(),
        crate::paths::with_suffix(&fresh, "-wal"),
        crate::paths::with_suffix(&fresh, "-shm"),
    ] {
        let _ = std::fs::remove_file(p);
    }
    let dst = Store::create(&fresh)?;
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut tables = Vec::new();
    for (t, rowid) in SOURCE_TABLES {
        tables.push(copy_table(&src, &dst, t, rowid)?);
    }
    // Sessions whose events were pruned cannot be re-derived: their projection rows are copied
    // too, and everything else of the projection is left to the next reader (docs/retention.md).
    let pruned = copy_table(&src, &dst, "pruned_sessions", false)?;
    if pruned.copied > 0 {
        tables.push(pruned);
        tables.push(copy_table(&src, &dst, "prunes", true)?);
        for t in PROJECTION_TABLES {
            tables.push(copy_table(&src, &dst, t, false)?);
        }
        let cursor: i64 = src
            .query_row(
                "SELECT value FROM derive_state WHERE key = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        dst.write_tx(|s| crate::retention::keep_pruned(s, cursor).map(|_| ()))?;
    }
    drop(src);
    // Swap: the damaged file aside, then a last pass over events a hook may have appended to it
    // meanwhile (most hooks spool instead: the file is damaged), then the new file in place.
    let kept_as = move_aside(db, &tag)?;
    if let Ok(late) = Connection::open_with_flags(
        &kept_as,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        let copied = copy_table(&late, &dst, "events", true)?;
        tables[0].copied = tables[0].copied.max(copied.copied);
    }
    drop(dst);
    move_into_place(&fresh, db)?;
    Ok(Recovery {
        database: db.to_path_buf(),
        kept_as,
        tables,
    })
}

fn move_into_place(fresh: &Path, db: &Path) -> std::io::Result<()> {
    // The new database was closed cleanly (its WAL checkpointed and removed by SQLite).
    for s in ["-wal", "-shm"] {
        let from = crate::paths::with_suffix(fresh, s);
        if from.exists() {
            std::fs::rename(&from, crate::paths::with_suffix(db, s))?;
        }
    }
    std::fs::rename(fresh, db)
}
