//! Derived events' payloads kept compressed (src/store/packed.rs, docs/performance.md
//! "Storage"): every payload reads back byte for byte, every report is unchanged — after packing,
//! after a rebuild from the packed payloads, and with new events appended after — and the file
//! shrinks; a reader packs on its own once enough derived events wait.

use crate::common::Env;
use crate::prune::{all_reports, NOW};
use agent_telemetry::store::{packed, Store};

/// A realistic history over 200 days ending at NOW (not derived yet).
fn history(env: &Env, runs: &str) {
    crate::gen_history::generate(
        &env.db(),
        &[
            "--runs",
            runs,
            "--days",
            "200",
            "--seed",
            "11",
            "--now",
            NOW,
            "--no-derive",
        ],
    );
}

/// Every event's payload as the derivation reads it, by id.
fn payloads(env: &Env) -> Vec<(i64, String)> {
    let c = env.conn();
    let mut stmt = c
        .prepare("SELECT id, payload FROM events ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, packed::text(&c, r.get_ref(1)?)?)))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    rows
}

fn db_size(env: &Env) -> i64 {
    env.conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    std::fs::metadata(env.db()).unwrap().len() as i64
}

#[test]
fn packing_keeps_every_payload_byte_and_every_report() {
    let env = Env::new();
    history(&env, "1500");
    let before = all_reports(&env); // derives (too few events for a reader to pack on its own)
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE typeof(payload) = 'blob'"),
        0
    );
    let plain = payloads(&env);
    assert!(plain.len() > 7_000, "{} events", plain.len());
    let size = db_size(&env);

    let store = Store::open_reader(&env.db()).unwrap();
    let done = packed::pack(&store, None).unwrap();
    drop(store);
    assert!(done.complete);
    let packed_rows = env.count("SELECT count(*) FROM events WHERE typeof(payload) = 'blob'");
    assert_eq!(done.events as i64, packed_rows);
    assert!(
        packed_rows * 100 > plain.len() as i64 * 99,
        "nearly every payload is packed: {packed_rows} of {}",
        plain.len()
    );
    let blob_ids: std::collections::HashSet<i64> = env
        .conn()
        .prepare("SELECT id FROM events WHERE typeof(payload) = 'blob'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let plain_bytes: usize = plain
        .iter()
        .filter(|(id, _)| blob_ids.contains(id))
        .map(|(_, p)| p.len())
        .sum();
    assert_eq!(done.bytes_before, plain_bytes as u64);
    assert_eq!(
        done.bytes_after as i64,
        env.count("SELECT sum(length(payload)) FROM events WHERE typeof(payload) = 'blob'")
    );
    assert!(
        done.bytes_after * 3 < done.bytes_before,
        "payloads at least 3x smaller: {done:?}"
    );
    assert_eq!(
        payloads(&env),
        plain,
        "every payload reads back byte for byte"
    );
    assert!(
        db_size(&env) * 10 < size * 8,
        "the file shrank: {size} -> {}",
        db_size(&env)
    );
    assert_eq!(all_reports(&env), before, "reports after packing");

    // Derived again from the packed payloads alone.
    let (code, _, err) = env.analyze_at(NOW, &["rebuild"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        all_reports(&env),
        before,
        "reports after a rebuild from packed payloads"
    );

    // Packing again finds nothing to do; new events after packing are derived as text.
    let store = Store::open_reader(&env.db()).unwrap();
    assert_eq!(packed::pack(&store, None).unwrap().events, 0);
    drop(store);
    crate::common::replay_all_recordings(&env);
    let (code, out, err) = env.analyze_at(NOW, &["summary", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"agents\""), "{out}");
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE typeof(payload) = 'blob'"),
        packed_rows,
        "the new events stay text until enough wait"
    );
}

#[test]
fn a_reader_packs_on_its_own_once_enough_derived_events_wait() {
    let env = Env::new();
    history(&env, "4000");
    let events = env.count("SELECT count(*) FROM events");
    assert!(events > packed::AUTO_BACKLOG, "{events} events");
    let plain = payloads(&env);
    let (code, _, err) = env.analyze_at(NOW, &["summary"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.count("SELECT value FROM derive_state WHERE key = 'packed_upto'"),
        env.count("SELECT value FROM derive_state WHERE key = 'events'"),
        "every derived event was considered"
    );
    assert!(
        env.count("SELECT count(*) FROM events WHERE typeof(payload) = 'blob'") * 100 > events * 99
    );
    assert_eq!(env.count("SELECT count(*) FROM payload_dicts"), 1);
    assert_eq!(payloads(&env), plain);
    // The next reader has nothing to pack.
    let store = Store::open_reader(&env.db()).unwrap();
    assert_eq!(packed::backlog(&store).unwrap(), 0);
}
