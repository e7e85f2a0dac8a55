//! Raw payloads kept compressed once derived (schema version 11; docs/performance.md, "Storage").
//!
//! Hooks append payloads as text: compressing costs them nothing that way, and the derivation
//! reads new events as they came. Once derivation has applied a stretch of events, a reader
//! rewrites those rows with their payload as a zstd frame compressed with a dictionary trained on
//! the database's own payloads (a Claude Code payload is ~500 bytes of mostly the same keys, ids
//! and paths: ~100 bytes with the dictionary, ~330 without). Every row is rewritten with its id and
//! every other column unchanged, and only after its frame has been decompressed back to the very
//! bytes it replaces; a BLOB `payload` is a frame, a TEXT one is as received.
//!
//! Rows are deleted and re-inserted rather than updated: SQLite does not merge pages that an
//! UPDATE leaves two-thirds empty, so shrinking rows in place frees nothing (measured: the events
//! table stayed at 72 MB for 20k runs with 65 % of it unused; re-inserted, 26 MB at 6 % unused).
//!
//! The dictionary's id is zstd's own (a hash of its content, written into every frame), so a
//! frame names the dictionary that decodes it, whatever database it is read from.

use crate::error::{Error, Result};
use crate::store::Store;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use zstd::bulk::{Compressor, Decompressor};

/// A reader packs once at least this many derived events are still plain text: packing is
/// amortised over many hooks' events (a fraction of a second each time, on the reader's path).
pub const AUTO_BACKLOG: i64 = 20_000;
/// Payloads the dictionary is trained on, spread evenly over the derived events.
const SAMPLES: i64 = 4_000;
/// Fewer derived payloads than this: too few to train a useful dictionary; nothing is packed.
const MIN_SAMPLES: usize = 1_000;
/// The dictionary's size (64 KB: 16 KB gave 5 % larger frames, 110 KB nothing more).
const DICT_BYTES: usize = 64 * 1024;
/// zstd level 3 (the default): levels 9 and 19 gained 1–7 % for several times the time.
const LEVEL: i32 = 3;
/// Events read per step of a packing transaction.
const PAGE: i64 = 1_000;
/// How long one packing transaction may hold the write lock (hooks wait ~100 ms, then spool).
const TX_TIME: Duration = Duration::from_millis(10);
/// The pause between two packing transactions, for waiting hooks.
const YIELD: Duration = Duration::from_millis(1);
/// Above this many events to pack, a terminal shows a bar.
const BAR_ABOVE: u64 = 20_000;

/// What one packing did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Packed {
    /// Events whose payload was rewritten compressed.
    pub events: u64,
    /// Their payloads' bytes before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Whether every derived event is now packed (false: the deadline came first).
    pub complete: bool,
}

/// The highest event id whose payload has been considered for packing.
fn packed_upto(conn: &Connection) -> Result<i64> {
    Ok(conn
        .query_row(
            "SELECT value FROM derive_state WHERE key = 'packed_upto'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Derived events not yet packed (by id range: an upper bound).
pub fn backlog(store: &Store) -> Result<i64> {
    Ok((store.derive_cursor()? - packed_upto(store.conn())?).max(0))
}

/// [`pack`] when at least [`AUTO_BACKLOG`] derived events wait (readers call it after deriving;
/// hooks never do). `None` when there was nothing to do.
pub fn auto(store: &Store) -> Result<Option<Packed>> {
    if backlog(store)? < AUTO_BACKLOG {
        return Ok(None);
    }
    pack(store, None).map(Some)
}

/// Packs every derived event's payload (until `deadline`, if any), in short write transactions,
/// then gives the freed pages back to the file system (incremental vacuum). Trains the dictionary
/// first when the database has none.
pub fn pack(store: &Store, deadline: Option<Instant>) -> Result<Packed> {
    let conn = store.conn();
    let mut done = Packed::default();
    let Some(dict) = dictionary(store)? else {
        done.complete = true;
        return Ok(done);
    };
    let from = packed_upto(conn)?;
    let total = (store.derive_cursor()? - from).max(0) as u64;
    let bar = (total > BAR_ABOVE && deadline.is_none()).then(|| {
        crate::progress::bar(
            crate::progress::Unit::Events,
            "compressing raw payloads",
            total,
            BAR_ABOVE,
        )
    });
    let mut compressor = Compressor::with_dictionary(LEVEL, &dict)?;
    let mut decompressor = Decompressor::with_dictionary(&dict)?;
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let started = Instant::now();
        let (step, finished) = store
            .write_tx(|s| pack_in_tx(s, &mut compressor, &mut decompressor, started + TX_TIME))?;
        done.events += step.events;
        done.bytes_before += step.bytes_before;
        done.bytes_after += step.bytes_after;
        if let Some(b) = &bar {
            b.set_position((packed_upto(conn)? - from).max(0) as u64);
        }
        if finished {
            done.complete = true;
            break;
        }
        std::thread::sleep(YIELD);
    }
    drop(bar);
    if done.events > 0 {
        store.give_back_free_pages(deadline)?;
    }
    Ok(done)
}

/// One packing transaction: pages of derived events after `packed_upto`, each rewritten (deleted
/// and re-inserted with the same id and columns) with its payload compressed, until none is left
/// or `until` has passed. Returns what it did and whether every derived event is now packed.
fn pack_in_tx(
    s: &Store,
    compressor: &mut Compressor<'_>,
    decompressor: &mut Decompressor<'_>,
    until: Instant,
) -> Result<(Packed, bool)> {
    let conn = s.conn();
    // Re-read under the write lock: another reader may be packing too.
    let mut last = packed_upto(conn)?;
    let cursor = s.derive_cursor()?;
    let mut done = Packed::default();
    let mut select = conn.prepare_cached(
        "SELECT id, ts, recorded_at, source, kind, session_id, prompt_id, agent_id, agent_type,
                tool_name, tool_use_id, payload, host_pid, host_cpu_ms, host_rss_kb
         FROM events WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3",
    )?;
    let mut delete = conn.prepare_cached("DELETE FROM events WHERE id > ?1 AND id <= ?2")?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO events (id, ts, recorded_at, source, kind, session_id, prompt_id, agent_id,
                agent_type, tool_name, tool_use_id, payload, host_pid, host_cpu_ms, host_rss_kb)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    loop {
        let mut rows: Vec<Vec<rusqlite::types::Value>> = Vec::with_capacity(PAGE as usize);
        let mut q = select.query(params![last, cursor, PAGE])?;
        while let Some(r) = q.next()? {
            rows.push(
                (0..15)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i))
                    .collect::<rusqlite::Result<_>>()?,
            );
        }
        drop(q);
        let Some(page_last) = rows.last().map(|r| match r[0] {
            rusqlite::types::Value::Integer(id) => id,
            _ => last,
        }) else {
            break;
        };
        let mut changed = false;
        for row in &mut rows {
            let rusqlite::types::Value::Text(text) = &row[11] else {
                continue; // already a frame
            };
            let frame = compressor.compress(text.as_bytes())?;
            if frame.len() >= text.len() {
                continue;
            }
            // Never replace what was received by anything that does not give it back exactly.
            let back = decompressor.decompress(&frame, text.len())?;
            if back != text.as_bytes() {
                return Err(invalid(
                    "a compressed payload did not decompress to its original bytes; nothing was changed",
                ));
            }
            done.events += 1;
            done.bytes_before += text.len() as u64;
            done.bytes_after += frame.len() as u64;
            row[11] = rusqlite::types::Value::Blob(frame);
            changed = true;
        }
        if changed {
            delete.execute(params![last, page_last])?;
            for row in &rows {
                insert.execute(rusqlite::params_from_iter(row.iter()))?;
            }
        }
        last = page_last;
        conn.execute(
            "INSERT INTO derive_state (key, value) VALUES ('packed_upto', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [last],
        )?;
        if (rows.len() as i64) < PAGE || last >= cursor {
            return Ok((done, true));
        }
        if Instant::now() >= until {
            return Ok((done, false));
        }
    }
    Ok((done, true))
}

/// The newest dictionary, training one from the derived payloads when there is none. `None`:
/// too few derived payloads to train on yet.
fn dictionary(store: &Store) -> Result<Option<Vec<u8>>> {
    let conn = store.conn();
    let newest: Option<Vec<u8>> = conn
        .query_row(
            "SELECT dict FROM payload_dicts ORDER BY trained_at DESC, rowid DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if newest.is_some() {
        return Ok(newest);
    }
    let cursor = store.derive_cursor()?;
    let lowest: i64 =
        conn.query_row("SELECT coalesce(min(id), 0) FROM events", [], |r| r.get(0))?;
    let mut pick = conn.prepare(
        "SELECT payload FROM events WHERE id >= ?1 AND id <= ?2 AND typeof(payload) = 'text'
         ORDER BY id LIMIT 1",
    )?;
    let span = (cursor - lowest + 1).max(0);
    let mut samples: Vec<String> = Vec::new();
    let mut seen = i64::MIN;
    for i in 0..SAMPLES.min(span) {
        let at = lowest + i * span / SAMPLES.min(span).max(1);
        if at <= seen {
            continue;
        }
        if let Some(p) = pick
            .query_row(params![at, cursor], |r| r.get::<_, String>(0))
            .optional()?
        {
            samples.push(p);
        }
        seen = at;
    }
    if samples.len() < MIN_SAMPLES {
        return Ok(None);
    }
    let dict = zstd::dict::from_samples(&samples, DICT_BYTES)?;
    let id = i64::from(zstd::zstd_safe::get_dict_id(&dict).map_or(0, |n| n.get()));
    if id == 0 {
        return Ok(None);
    }
    store.write_tx(|s| {
        s.conn().execute(
            "INSERT OR IGNORE INTO payload_dicts (id, dict, trained_at, samples) VALUES (?1, ?2, ?3, ?4)",
            params![id, dict, crate::store::now_ms(), samples.len() as i64],
        )?;
        Ok(())
    })?;
    Ok(Some(dict))
}

fn load_dict(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT dict FROM payload_dicts WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

thread_local! {
    /// A decompression context with its dictionary loaded, per dictionary id (zstd's
    /// content-derived id: the same id is the same dictionary), made once per thread.
    static DECODERS: RefCell<HashMap<u32, Decompressor<'static>>> = RefCell::new(HashMap::new());
}

/// A payload column's text: as stored when TEXT, decompressed when a frame.
pub fn text(conn: &Connection, v: ValueRef<'_>) -> rusqlite::Result<String> {
    match v {
        ValueRef::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(frame) => unpack(conn, frame).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Blob,
                format!("a compressed payload could not be read: {e}").into(),
            )
        }),
        other => Err(rusqlite::Error::InvalidColumnType(
            0,
            "payload".into(),
            other.data_type(),
        )),
    }
}

/// Data that is not what it should be (an I/O "invalid data" error: the file, not the user).
fn invalid(why: &str) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("compressed payload: {why}"),
    ))
}

fn unpack(conn: &Connection, frame: &[u8]) -> Result<String> {
    let id = zstd::zstd_safe::get_dict_id_from_frame(frame)
        .map(|n| n.get())
        .ok_or_else(|| invalid("the frame names no dictionary"))?;
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n as usize,
        _ => return Err(invalid("the frame does not give its size")),
    };
    let bytes = DECODERS.with(|d| -> Result<Vec<u8>> {
        let mut d = d.borrow_mut();
        let decoder = match d.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let dict = load_dict(conn, i64::from(id))?
                    .ok_or_else(|| invalid(&format!("dictionary {id} is missing")))?;
                e.insert(Decompressor::with_dictionary(&dict)?)
            }
        };
        Ok(decoder.decompress(frame, size)?)
    })?;
    String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 once decompressed"))
}
