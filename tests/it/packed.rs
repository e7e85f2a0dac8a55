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

/// Every event's kind and keys as the readers read them (the row's columns, or for a row packed
/// with its keys the frame's copy), by id.
fn keys(env: &Env) -> Vec<(i64, String, packed::Keys)> {
    let c = env.conn();
    let mut stmt = c
        .prepare(&format!(
            "SELECT id, kind, {} FROM events ORDER BY id",
            packed::KEYS_SQL
        ))
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, packed::Keys::from_row(&c, r, 2)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    rows
}

fn prune(env: &Env) -> serde_json::Value {
    let (code, out, err) =
        env.analyze_at(NOW, &["prune", "--older-than", "90d", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Schema 14: a packed row keeps its keys in its frame, the row's `source` '' and its ids NULL.
/// Every reader of those keys reads them from the frame: prune (which picks sessions by them),
/// the derivation (`analyze rebuild`) and the reports give what the same history gives unpacked.
#[test]
fn packed_rows_keys_read_back_through_prune_and_rebuild() {
    let plain = Env::new();
    history(&plain, "1500");
    let before = all_reports(&plain); // derives
    plain
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    // The same file, packed.
    let env = Env::new();
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::copy(plain.db(), env.db()).unwrap();
    let keys_plain = keys(&env);
    let store = Store::open_reader(&env.db()).unwrap();
    let done = packed::pack(&store, None).unwrap();
    drop(store);
    assert!(done.complete);
    let events = env.count("SELECT count(*) FROM events");
    let moved = env.count(
        "SELECT count(*) FROM events WHERE typeof(payload) = 'blob' AND source = ''
           AND session_id IS NULL AND prompt_id IS NULL AND agent_id IS NULL
           AND agent_type IS NULL AND tool_name IS NULL AND tool_use_id IS NULL",
    );
    assert!(
        moved * 100 > events * 99,
        "nearly every row's keys are in its frame: {moved} of {events}"
    );
    assert_eq!(keys(&env), keys_plain, "every key reads back");
    assert_eq!(all_reports(&env), before, "reports after packing");

    // Pruned packed and pruned as text: the same sessions and events go, the same reports.
    let (done_plain, done_packed) = (prune(&plain), prune(&env));
    assert!(
        done_plain["events"].as_i64().unwrap() > 1000,
        "{done_plain}"
    );
    for k in ["events", "sessions"] {
        assert_eq!(done_packed[k], done_plain[k], "{k}");
    }
    assert_eq!(keys(&env), keys(&plain), "the same events are left");
    let pruned = all_reports(&plain);
    assert_eq!(
        all_reports(&env),
        pruned,
        "reports after prune of packed rows"
    );

    // Derived again from what is left, packed: the same as from the same events unpacked.
    for e in [&plain, &env] {
        let (code, _, err) = e.analyze_at(NOW, &["rebuild"]);
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(
        all_reports(&env),
        all_reports(&plain),
        "reports after a rebuild from packed, pruned events"
    );
}

/// A database packed by schema 11 (frames of the payload alone, the keys in the row) is
/// repacked with the keys in the frames by the next packing after the migration to 14, every
/// payload and key reading back the same.
#[test]
fn frames_of_schema_11_are_repacked_with_their_keys() {
    let env = Env::new();
    history(&env, "1500");
    let before = all_reports(&env);
    let plain = payloads(&env);
    let keys_plain = keys(&env);
    let store = Store::open_reader(&env.db()).unwrap();
    packed::pack(&store, None).unwrap();
    drop(store);
    // Back to schema 11's form: each frame the payload alone, with the same dictionary; the keys
    // back in the row; the packing cursor where the migration to 14 puts it.
    {
        let c = env.conn();
        let dict: Vec<u8> = c
            .query_row("SELECT dict FROM payload_dicts", [], |r| r.get(0))
            .unwrap();
        let mut z = zstd::bulk::Compressor::with_dictionary(3, &dict).unwrap();
        let tx = c.unchecked_transaction().unwrap();
        for (id, _, k) in &keys_plain {
            let text = &plain.iter().find(|(i, _)| i == id).unwrap().1;
            tx.execute(
                "UPDATE events SET source = ?2, session_id = ?3, prompt_id = ?4, agent_id = ?5,
                   agent_type = ?6, tool_name = ?7, tool_use_id = ?8,
                   payload = CASE WHEN typeof(payload) = 'blob' THEN ?9 ELSE payload END
                 WHERE id = ?1",
                rusqlite::params![
                    id,
                    k.source,
                    k.session_id,
                    k.prompt_id,
                    k.agent_id,
                    k.agent_type,
                    k.tool_name,
                    k.tool_use_id,
                    z.compress(text.as_bytes()).unwrap()
                ],
            )
            .unwrap();
        }
        tx.execute(
            "UPDATE derive_state SET value = 0 WHERE key = 'packed_upto'",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE source = ''"),
        0
    );
    assert_eq!(payloads(&env), plain, "schema 11's frames read back");
    assert_eq!(keys(&env), keys_plain);

    let store = Store::open_reader(&env.db()).unwrap();
    let done = packed::pack(&store, None).unwrap();
    drop(store);
    let events = env.count("SELECT count(*) FROM events");
    assert!(
        done.rekeyed as i64 * 100 > events * 99,
        "{done:?} of {events}"
    );
    assert_eq!(done.events, 0, "no payload was text");
    assert!(env.count("SELECT count(*) FROM events WHERE source = ''") * 100 > events * 99);
    assert_eq!(
        payloads(&env),
        plain,
        "every payload reads back byte for byte"
    );
    assert_eq!(keys(&env), keys_plain, "every key reads back");
    assert_eq!(all_reports(&env), before);
}

/// `analyze doctor --recover` of a packed database copies the dictionaries its frames name: every
/// payload reads back and every report is the same after the re-derivation.
#[test]
fn a_recovered_packed_database_reads_every_payload_back() {
    let env = Env::new();
    history(&env, "800");
    let before = all_reports(&env);
    let store = Store::open_reader(&env.db()).unwrap();
    assert!(packed::pack(&store, None).unwrap().events > 0);
    drop(store);
    let plain = payloads(&env);
    let (code, out, err) = env.analyze(&["doctor", "--recover", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(payloads(&env), plain, "every payload reads back");
    assert_eq!(all_reports(&env), before, "reports after the recovery");
    assert_eq!(r["tables"][1]["table"], "payload_dicts", "{r:#}");
    assert_eq!(r["tables"][1]["copied"], 1, "{r:#}");
}
