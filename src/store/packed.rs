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
//!
//! Since schema version 16 a frame also carries the row's keys (`source`, `session_id`,
//! `prompt_id`, `agent_id`, `agent_type`, `tool_name`, `tool_use_id`: ~130 bytes a row as text,
//! every one of them also inside the payload; the frame grows by ~6 bytes): the row keeps
//! `id`, `ts`, `recorded_at`, `kind` and the host readings, its `source` is '' and those six ids
//! NULL. Such a frame's content is [`KEYS_MARK`], a JSON object of the keys that differ from
//! what the payload itself gives (`{}` for nearly every hook event: a hook takes them from the
//! payload), a newline, then the payload; a frame of schema 11 is the payload alone. Readers
//! that need the keys of any event read them with [`Keys::from_row`] (SQL selecting
//! [`KEYS_SQL`]); a row's `kind` stays in the row, so readers filter by kind in SQL and decode
//! only what passes. Frames of schema 11 are rewritten with their keys by the next packing (the
//! migration sets `packed_upto` back to 0).

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

/// The first byte of a frame's content when the frame carries its row's keys (schema 16). A
/// payload never starts with it: what is stored is the JSON a hook received (quarantined when it
/// does not parse), which starts with `{`.
const KEYS_MARK: u8 = 0;

/// The columns [`Keys::from_row`] reads, in its order: the row's keys, and its payload when the
/// keys are in the frame (NULL otherwise: nothing decoded, nothing read that is not needed).
pub const KEYS_SQL: &str =
    "source, session_id, prompt_id, agent_id, agent_type, tool_name, tool_use_id,
    CASE WHEN source = '' THEN payload END";

/// An event's keys: its row's columns, or for a row packed with its keys (schema 16, `source`
/// '') the copy inside its frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Keys {
    pub source: String,
    pub session_id: Option<String>,
    pub prompt_id: Option<String>,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub tool_name: Option<String>,
    pub tool_use_id: Option<String>,
}

impl Keys {
    /// The keys of the row whose [`KEYS_SQL`] columns start at `at`.
    pub fn from_row(conn: &Connection, r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Keys> {
        if r.get_ref(at)?.as_str()?.is_empty() {
            return Ok(read(conn, r.get_ref(at + 7)?)?.0.unwrap_or_default());
        }
        Keys::from_columns(r, at)
    }

    /// The keys in the row's own columns (`source` at `at`, then the six ids in [`Keys`]' order):
    /// for a row whose frame carries none ([`read`] gave `None`).
    pub fn from_columns(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Keys> {
        Ok(Keys {
            source: r.get(at)?,
            session_id: r.get(at + 1)?,
            prompt_id: r.get(at + 2)?,
            agent_id: r.get(at + 3)?,
            agent_type: r.get(at + 4)?,
            tool_name: r.get(at + 5)?,
            tool_use_id: r.get(at + 6)?,
        })
    }

    /// The bytes the row's columns took as text.
    fn text_len(&self) -> usize {
        self.source.len()
            + self
                .ids()
                .iter()
                .map(|o| o.as_ref().map_or(0, String::len))
                .sum::<usize>()
    }
}

/// The payload keys an event's columns are read from by the hooks, in [`Keys`]' order after
/// `source`.
const ID_KEYS: [&str; 6] = [
    "session_id",
    "prompt_id",
    "agent_id",
    "agent_type",
    "tool_name",
    "tool_use_id",
];

/// The keys a payload gives by itself: `source` claude-code, and each id its payload key's
/// string (`agent_id` when not empty: the hooks store no empty agent id). Part of the frame
/// format: a frame's header holds only the keys that differ from these.
fn keys_of_payload(payload: &str) -> Keys {
    #[derive(serde::Deserialize)]
    struct Ids {
        session_id: Option<serde_json::Value>,
        prompt_id: Option<serde_json::Value>,
        agent_id: Option<serde_json::Value>,
        agent_type: Option<serde_json::Value>,
        tool_name: Option<serde_json::Value>,
        tool_use_id: Option<serde_json::Value>,
    }
    let ids: Option<Ids> = serde_json::from_str(payload).ok();
    let s = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    };
    match ids {
        Some(i) => Keys {
            source: crate::vocab::Source::ClaudeCode.as_str().to_owned(),
            session_id: s(i.session_id),
            prompt_id: s(i.prompt_id),
            agent_id: s(i.agent_id).filter(|a| !a.is_empty()),
            agent_type: s(i.agent_type),
            tool_name: s(i.tool_name),
            tool_use_id: s(i.tool_use_id),
        },
        None => Keys {
            source: crate::vocab::Source::ClaudeCode.as_str().to_owned(),
            ..Keys::default()
        },
    }
}

impl Keys {
    fn ids(&self) -> [&Option<String>; 6] {
        [
            &self.session_id,
            &self.prompt_id,
            &self.agent_id,
            &self.agent_type,
            &self.tool_name,
            &self.tool_use_id,
        ]
    }

    fn ids_mut(&mut self) -> [&mut Option<String>; 6] {
        [
            &mut self.session_id,
            &mut self.prompt_id,
            &mut self.agent_id,
            &mut self.agent_type,
            &mut self.tool_name,
            &mut self.tool_use_id,
        ]
    }
}

/// A frame's content for `keys` and `payload` (schema 16): [`KEYS_MARK`], a JSON object of the
/// keys that differ from what the payload gives ([`keys_of_payload`]; `{}` for nearly every
/// hook event), a newline, the payload.
fn with_keys(keys: &Keys, payload: &str) -> Result<Vec<u8>> {
    let given = keys_of_payload(payload);
    let mut header = serde_json::Map::new();
    if keys.source != given.source {
        header.insert("source".into(), keys.source.clone().into());
    }
    for ((name, k), g) in ID_KEYS.iter().zip(keys.ids()).zip(given.ids()) {
        if k != g {
            header.insert((*name).into(), k.clone().into());
        }
    }
    let mut out = vec![KEYS_MARK];
    serde_json::to_writer(&mut out, &header)?;
    out.push(b'\n');
    out.extend_from_slice(payload.as_bytes());
    Ok(out)
}

/// A frame's content split into the keys it carries (schema 16; none for schema 11's frames,
/// whose content is the payload alone) and the payload.
fn split(content: Vec<u8>) -> Result<(Option<Keys>, String)> {
    if content.first() == Some(&KEYS_MARK) {
        let nl = content
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| invalid("the keys have no end"))?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&content[1..nl])
                .map_err(|e| invalid(&format!("the keys do not parse: {e}")))?;
        let payload = std::str::from_utf8(&content[nl + 1..])
            .map_err(|_| invalid("not UTF-8 once decompressed"))?
            .to_owned();
        let mut keys = keys_of_payload(&payload);
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        if let Some(v) = header.get("source") {
            keys.source = text(v).ok_or_else(|| invalid("a source that is not text"))?;
        }
        for (name, k) in ID_KEYS.iter().zip(keys.ids_mut()) {
            if let Some(v) = header.get(*name) {
                *k = text(v);
            }
        }
        return Ok((Some(keys), payload));
    }
    let payload = String::from_utf8(content).map_err(|_| invalid("not UTF-8 once decompressed"))?;
    Ok((None, payload))
}

/// What one packing did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Packed {
    /// Events whose payload was rewritten compressed.
    pub events: u64,
    /// Events whose payload was a frame of schema 11 (the payload alone), rewritten with their
    /// keys in the frame.
    pub rekeyed: u64,
    /// The payloads' bytes before and after, of the `events` (text before).
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
        done.rekeyed += step.rekeyed;
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
    if done.events + done.rekeyed > 0 {
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
            if changed_row(conn, row, compressor, decompressor, &mut done)? {
                changed = true;
            }
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

/// Rewrites one row of [`pack_in_tx`]'s page (its 15 columns) with its payload and keys in one
/// frame, unless it already is, or the frame would not be smaller than what it replaces. The
/// frame is kept only once it has decompressed to the very bytes it holds, and those read back
/// as the row's keys and payload. Returns whether the row changed.
fn changed_row(
    conn: &Connection,
    row: &mut [rusqlite::types::Value],
    compressor: &mut Compressor<'_>,
    decompressor: &mut Decompressor<'_>,
    done: &mut Packed,
) -> Result<bool> {
    use rusqlite::types::Value as V;
    let text = |v: &V| match v {
        V::Text(t) => Some(t.clone()),
        _ => None,
    };
    let source = match &row[3] {
        V::Text(t) if !t.is_empty() => t.clone(),
        _ => return Ok(false), // its keys are in its frame already
    };
    let keys = Keys {
        source,
        session_id: text(&row[5]),
        prompt_id: text(&row[6]),
        agent_id: text(&row[7]),
        agent_type: text(&row[8]),
        tool_name: text(&row[9]),
        tool_use_id: text(&row[10]),
    };
    // What the row holds now: its payload as text, or a frame of schema 11 (the payload alone).
    let (payload, held) = match &row[11] {
        V::Text(t) => (t.clone(), t.len()),
        V::Blob(frame) => match split(unpack(conn, frame)?)? {
            (None, payload) => (payload, frame.len()),
            (Some(_), _) => return Ok(false),
        },
        _ => return Ok(false),
    };
    let content = with_keys(&keys, &payload)?;
    let frame = compressor.compress(&content)?;
    if frame.len() >= held + keys.text_len() {
        return Ok(false);
    }
    // Never replace what was received by anything that does not give it back exactly.
    let back = decompressor.decompress(&frame, content.len())?;
    if back != content || split(back)? != (Some(keys), payload.clone()) {
        return Err(invalid(
            "a compressed payload did not decompress to its original bytes; nothing was changed",
        ));
    }
    if matches!(row[11], V::Text(_)) {
        done.events += 1;
        done.bytes_before += payload.len() as u64;
        done.bytes_after += frame.len() as u64;
    } else {
        done.rekeyed += 1;
    }
    row[3] = V::Text(String::new());
    for col in &mut row[5..=10] {
        *col = V::Null;
    }
    row[11] = V::Blob(frame);
    Ok(true)
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

/// A payload column's text: as stored when TEXT, decompressed when a frame (without the keys a
/// frame of schema 16 carries).
pub fn text(conn: &Connection, v: ValueRef<'_>) -> rusqlite::Result<String> {
    Ok(read(conn, v)?.1)
}

/// A payload column read: the keys its frame carries (schema 16; `None` for TEXT and for frames
/// of schema 11, whose keys are the row's columns) and the payload's text.
pub fn read(conn: &Connection, v: ValueRef<'_>) -> rusqlite::Result<(Option<Keys>, String)> {
    match v {
        ValueRef::Text(t) => Ok((None, String::from_utf8_lossy(t).into_owned())),
        ValueRef::Blob(frame) => unpack(conn, frame).and_then(split).map_err(|e| {
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

/// A frame's content, decompressed with the dictionary it names.
fn unpack(conn: &Connection, frame: &[u8]) -> Result<Vec<u8>> {
    let id = zstd::zstd_safe::get_dict_id_from_frame(frame)
        .map(|n| n.get())
        .ok_or_else(|| invalid("the frame names no dictionary"))?;
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n as usize,
        _ => return Err(invalid("the frame does not give its size")),
    };
    DECODERS.with(|d| -> Result<Vec<u8>> {
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
    })
}
