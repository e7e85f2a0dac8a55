//! Writing: a parsed session's new events (keyed, so a re-read session appends only what it did
//! not before), its usage rows, the main transcript's read cursor and the files' stamps.

use super::emit::Ev;
use super::session::ParsedUnit;
use super::Outcome;
use crate::error::Result;
use crate::store::Store;
use rusqlite::{params, OptionalExtension};
use std::collections::HashSet;

/// A stable key for "this event was emitted before": FNV-1a (std's hasher may change between
/// Rust releases; these keys are stored).
pub(super) fn event_key(e: &Ev) -> u64 {
    let o = |s: &Option<String>| s.as_deref().unwrap_or("").as_bytes().to_vec();
    let ev = &e.event;
    crate::util::fnv1a_parts(&[
        ev.kind.as_bytes(),
        &o(&ev.prompt_id),
        &o(&ev.agent_id),
        &o(&ev.tool_use_id),
        &o(&e.subject),
        &ev.ts.to_le_bytes(),
    ])
}

#[derive(Default)]
pub(super) struct Writer {
    /// Agent ids already checked for "existed before this import".
    pub(super) seen: HashSet<String>,
    pub(super) updated: i64,
}

impl Writer {
    pub(super) fn write(
        &mut self,
        store: &Store,
        batch: Vec<ParsedUnit>,
        out: &mut Outcome,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        store.write_tx(|s| {
            for u in batch {
                self.write_unit(s, u, out)?;
            }
            Ok(())
        })
    }

    pub(super) fn write_unit(&mut self, s: &Store, u: ParsedUnit, out: &mut Outcome) -> Result<()> {
        out.absorb(u.stats);
        if u.filtered {
            out.sessions_filtered += 1;
            return Ok(());
        }
        out.sessions_imported += 1;
        let c = s.conn();
        let mut keys: HashSet<u64> = c
            .query_row(
                "SELECT event_keys FROM import_sessions WHERE session_id = ?1",
                [&u.session_id],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()?
            .map(|b| {
                b.chunks_exact(8)
                    .map(|k| u64::from_le_bytes(k.try_into().expect("8 bytes")))
                    .collect()
            })
            .unwrap_or_default();
        for e in &u.events {
            if !keys.insert(event_key(e)) {
                out.events_already_imported += 1;
                continue;
            }
            s.append_event(&e.event.new_event())?;
            out.events_added += 1;
            if let Some(a) = &e.subject {
                if self.seen.insert(a.clone()) {
                    let existed: bool = c
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM agent_runs WHERE agent_id = ?1 AND internal = 0)")?
                        .query_row([a], |r| r.get(0))?;
                    self.updated += i64::from(existed);
                }
            }
        }
        s.upsert_usage(&u.usage)?;
        out.usage_rows += u.usage.len() as u64;
        if let Some((path, offset, prompt)) = &u.cursor {
            // Hooks read main transcripts from this cursor at Stop: no need to read again.
            if s.transcript_cursor(path)?.is_none_or(|(o, _)| o < *offset) {
                s.set_transcript_cursor(path, *offset, prompt.as_deref())?;
            }
        }
        let mut sorted: Vec<u64> = keys.into_iter().collect();
        sorted.sort_unstable();
        let blob: Vec<u8> = sorted.iter().flat_map(|k| k.to_le_bytes()).collect();
        let now = crate::store::now_ms();
        c.prepare_cached(
            "INSERT INTO import_sessions (session_id, events, event_keys, imported_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (session_id) DO UPDATE SET events = excluded.events, event_keys = excluded.event_keys,
               imported_at = excluded.imported_at",
        )?
        .execute(params![u.session_id, sorted.len() as i64, blob, now])?;
        for f in &u.files {
            c.prepare_cached(
                "INSERT INTO import_files (path, session_id, size, mtime_ms, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (path) DO UPDATE SET session_id = excluded.session_id, size = excluded.size,
                   mtime_ms = excluded.mtime_ms, imported_at = excluded.imported_at",
            )?
            .execute(params![f.path_key(), u.session_id, f.size as i64, f.mtime_ms, now])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::event::StoredEvent;
    use crate::import::emit::AGENT_STOP;
    use crate::vocab::Source;

    #[test]
    fn event_keys_are_stable() {
        // Stored in the database: a change here makes the next import append duplicates.
        let e = Ev {
            rank: AGENT_STOP.1,
            seq: 1,
            event: StoredEvent {
                ts: 1_700_000_000_000,
                source: Source::Import.as_str(),
                kind: AGENT_STOP.0.as_str().into(),
                session_id: Some("s".into()),
                prompt_id: Some("p1".into()),
                agent_id: Some("a1".into()),
                agent_type: Some("t".into()),
                tool_name: None,
                tool_use_id: None,
                payload: "{}".into(),
                transcript_path: None,
                agent_transcript_path: None,
                host: None,
            },
            subject: Some("a1".into()),
        };
        assert_eq!(event_key(&e), 0xdf09_3ebc_d3ca_87cd);
    }
}
