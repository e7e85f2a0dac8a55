//! Custom metric values in the projection (docs/metrics.md, "Custom metrics"): `run_values` (one
//! value per run and name), `metric_names` (an id per name), `agent_metric_names` (the names each
//! agent type has values for, at most [`MAX_NAMES_PER_AGENT`]) and `metric_refused` (names past
//! that cap). Written by the derivation only, inside its transactions; cleared with the rest of
//! the projection by `analyze rebuild`.

use super::{valid_name, MAX_NAMES_PER_AGENT};
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::BTreeMap;

/// The projection's metric tables, in the order `analyze rebuild` clears them.
pub const TABLES: [&str; 4] = [
    "run_values",
    "agent_metric_names",
    "metric_refused",
    "metric_names",
];

/// What [`record`] did with a run's values.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Values stored (new or replacing the run's earlier value of the same name).
    pub stored: usize,
    /// Values refused: a new name past the agent type's [`MAX_NAMES_PER_AGENT`].
    pub refused: usize,
    /// Values ignored: an invalid name or a value that is not a finite number.
    pub invalid: usize,
}

/// Stores `values` as run `run_id`'s (agent type `agent_type`), replacing the run's earlier values
/// of the same names; other names the run has keep their values. A name the agent type has no
/// value for yet is refused once the type has [`MAX_NAMES_PER_AGENT`] names: it is counted in
/// `metric_refused` (runs, first time) and nothing else about the run changes. Runs inside the
/// caller's transaction (`tx`: the deriving connection).
pub fn record(
    tx: &Connection,
    run_id: i64,
    agent_type: &str,
    values: &BTreeMap<String, f64>,
    ts_ms: i64,
) -> Result<Recorded> {
    let mut done = Recorded::default();
    if values.is_empty() {
        return Ok(done);
    }
    let mut known = tx.prepare_cached(
        "SELECT n.id, EXISTS (SELECT 1 FROM agent_metric_names a WHERE a.agent_type = ?1 AND a.metric_id = n.id)
         FROM metric_names n WHERE n.name = ?2",
    )?;
    let mut count =
        tx.prepare_cached("SELECT count(*) FROM agent_metric_names WHERE agent_type = ?1")?;
    let mut new_name = tx.prepare_cached(
        "INSERT INTO metric_names (name) VALUES (?1) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
    )?;
    let mut claim = tx
        .prepare_cached("INSERT INTO agent_metric_names (agent_type, metric_id) VALUES (?1, ?2)")?;
    let mut refuse = tx.prepare_cached(
        "INSERT INTO metric_refused (agent_type, name, runs, first_ms) VALUES (?1, ?2, 1, ?3)
         ON CONFLICT (agent_type, name) DO UPDATE SET runs = runs + 1, first_ms = min(coalesce(first_ms, excluded.first_ms), excluded.first_ms)",
    )?;
    let mut put = tx.prepare_cached(
        "INSERT INTO run_values (run_id, metric_id, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (run_id, metric_id) DO UPDATE SET value = excluded.value",
    )?;
    // The agent type's name count, read once and kept as names are added.
    let mut names: Option<usize> = None;
    for (name, &value) in values {
        if !valid_name(name) || !value.is_finite() {
            done.invalid += 1;
            continue;
        }
        let found: Option<(i64, bool)> = known
            .query_row(params![agent_type, name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let id = match found {
            Some((id, true)) => id,
            _ => {
                let n = match names {
                    Some(n) => n,
                    None => count.query_row([agent_type], |r| r.get::<_, i64>(0))? as usize,
                };
                if n >= MAX_NAMES_PER_AGENT {
                    refuse.execute(params![agent_type, name, ts_ms])?;
                    names = Some(n);
                    done.refused += 1;
                    continue;
                }
                let id = match found {
                    Some((id, _)) => id,
                    None => new_name.query_row([name], |r| r.get(0))?,
                };
                claim.execute(params![agent_type, id])?;
                names = Some(n + 1);
                id
            }
        };
        put.execute(params![run_id, id, value])?;
        done.stored += 1;
    }
    Ok(done)
}

/// Removes run `run_id`'s values of `names` (a re-read that applied those definitions and found
/// no match: no value, not the old one).
pub fn forget(tx: &Connection, run_id: i64, names: &[String]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "DELETE FROM run_values WHERE run_id = ?1 AND metric_id = (SELECT id FROM metric_names WHERE name = ?2)",
    )?;
    for n in names {
        stmt.execute(params![run_id, n])?;
    }
    Ok(())
}

/// The values of an event's `"metrics"` object: JSON numbers only (a string, a boolean, null or
/// an object is ignored, as is anything but an object). Names are checked by [`record`].
pub fn values_of(v: Option<&Value>) -> BTreeMap<String, f64> {
    let Some(Value::Object(m)) = v else {
        return BTreeMap::new();
    };
    m.iter()
        .filter_map(|(k, x)| x.as_f64().filter(|f| f.is_finite()).map(|f| (k.clone(), f)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> crate::store::Store {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::store::Store::create(&dir.path().join("t.db")).unwrap();
        std::mem::forget(dir);
        s
    }

    fn vals(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn value(c: &Connection, run: i64, name: &str) -> Option<f64> {
        c.query_row(
            "SELECT v.value FROM run_values v JOIN metric_names n ON n.id = v.metric_id WHERE v.run_id = ?1 AND n.name = ?2",
            params![run, name],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
    }

    #[test]
    fn replaces_same_names_and_keeps_others() {
        let s = db();
        let c = s.conn();
        let r = record(c, 1, "a", &vals(&[("x", 1.0), ("y", 2.0)]), 10).unwrap();
        assert_eq!(r.stored, 2);
        record(c, 1, "a", &vals(&[("x", 5.0)]), 20).unwrap();
        assert_eq!(value(c, 1, "x"), Some(5.0));
        assert_eq!(value(c, 1, "y"), Some(2.0));
        forget(c, 1, &["y".to_string()]).unwrap();
        assert_eq!(value(c, 1, "y"), None);
        let bad = record(c, 2, "a", &vals(&[("9bad", 1.0), ("ok", f64::NAN)]), 30).unwrap();
        assert_eq!((bad.stored, bad.invalid), (0, 2));
    }

    #[test]
    fn the_cap_refuses_new_names_only() {
        let s = db();
        let c = s.conn();
        let mut many = BTreeMap::new();
        for i in 0..MAX_NAMES_PER_AGENT {
            many.insert(format!("m{i:04}"), i as f64);
        }
        assert_eq!(record(c, 1, "a", &many, 10).unwrap().stored, 1000);
        // A known name is still stored; the 1,001st is refused, twice counted twice.
        let r = record(c, 2, "a", &vals(&[("m0001", 7.0), ("zz_new", 1.0)]), 50).unwrap();
        assert_eq!((r.stored, r.refused), (1, 1));
        record(c, 3, "a", &vals(&[("zz_new", 2.0)]), 40).unwrap();
        let (runs, first): (i64, i64) = c
            .query_row(
                "SELECT runs, first_ms FROM metric_refused WHERE agent_type = 'a' AND name = 'zz_new'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((runs, first), (2, 40));
        assert_eq!(value(c, 2, "m0001"), Some(7.0));
        assert_eq!(value(c, 2, "zz_new"), None);
        // Another agent type has its own 1,000.
        assert_eq!(
            record(c, 4, "b", &vals(&[("zz_new", 3.0)]), 60)
                .unwrap()
                .stored,
            1
        );
    }

    #[test]
    fn event_values_are_numbers() {
        let v: Value = serde_json::json!({"a": 1, "b": 2.5, "c": "3", "d": null, "e": true});
        assert_eq!(values_of(Some(&v)), vals(&[("a", 1.0), ("b", 2.5)]));
        assert!(values_of(Some(&serde_json::json!([1]))).is_empty());
        assert!(values_of(None).is_empty());
    }
}
