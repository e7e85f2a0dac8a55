//! Spend: tokens and cost of model responses, from the `usage` rows the hooks and import record
//! (every de-duplicated model response, the main agent's and every subagent's). One home for
//! "how much today" and "how much this session", shared by the budget alerts, the guard and the
//! status line (docs/metrics.md, "Spend").

use crate::pricing::Prices;
use chrono::{Local, LocalResult, NaiveTime, TimeZone};

/// Tokens and cost of a set of model responses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spend {
    /// Model responses counted.
    pub responses: i64,
    /// Every kind of token: input, output, cache read and cache write.
    pub tokens: i64,
    /// USD of the responses whose model has a price.
    pub cost_usd: f64,
    /// Responses whose model has no known price (their cost is not in `cost_usd`).
    pub unpriced: i64,
}

impl Spend {
    fn add(&mut self, price: Option<crate::pricing::Price>, t: [i64; 5]) {
        let [i, o, cr, c5, c1] = t;
        self.responses += 1;
        self.tokens += i + o + cr + c5 + c1;
        match price {
            Some(p) => self.cost_usd += p.cost(i, o, cr, c5, c1),
            None => self.unpriced += 1,
        }
    }
}

/// Start of the local calendar day containing `now_ms` (unix ms): "today" for budgets.
pub fn day_start_ms(now_ms: i64) -> i64 {
    let Some(now) = Local.timestamp_millis_opt(now_ms).earliest() else {
        return now_ms - now_ms.rem_euclid(86_400_000);
    };
    let midnight = now.date_naive().and_time(NaiveTime::MIN);
    match Local.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_millis(),
        // A day that starts in a DST gap: its first existing instant.
        LocalResult::None => now_ms - now_ms.rem_euclid(86_400_000),
    }
}

fn sum(
    conn: &rusqlite::Connection,
    prices: &Prices,
    sql: &str,
    arg: &dyn rusqlite::ToSql,
) -> rusqlite::Result<Spend> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([arg])?;
    let mut s = Spend::default();
    // A day's responses are mostly of one or two models: look each price up once, not per row.
    let mut known: Vec<(String, Option<crate::pricing::Price>)> = Vec::new();
    while let Some(r) = rows.next()? {
        let model = r.get_ref(0)?.as_str()?;
        let price = match known.iter().find(|(m, _)| m == model) {
            Some((_, p)) => *p,
            None => {
                let p = prices.lookup(model);
                known.push((model.to_string(), p));
                p
            }
        };
        s.add(
            price,
            [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
        );
    }
    Ok(s)
}

/// Every response recorded with a timestamp at or after `since_ms` (the `usage_ts` index).
/// Responses without a timestamp are not counted.
pub fn since(
    conn: &rusqlite::Connection,
    prices: &Prices,
    since_ms: i64,
) -> rusqlite::Result<Spend> {
    sum(
        conn,
        prices,
        "SELECT model, input, output, cache_read, cache_5m, cache_1h FROM usage
         WHERE ts IS NOT NULL AND ts >= ?1",
        &since_ms,
    )
}

/// Today's spend (since local midnight).
pub fn today(conn: &rusqlite::Connection, prices: &Prices, now_ms: i64) -> rusqlite::Result<Spend> {
    since(conn, prices, day_start_ms(now_ms))
}

/// A session's spend: its main agent and every subagent (what Claude Code's `total_cost_usd`
/// counts).
pub fn session(
    conn: &rusqlite::Connection,
    prices: &Prices,
    session_id: &str,
) -> rusqlite::Result<Spend> {
    sum(
        conn,
        prices,
        "SELECT model, input, output, cache_read, cache_5m, cache_1h FROM usage WHERE session_id = ?1",
        &session_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn today_and_session_spend() {
        let s = Store::in_memory().unwrap();
        let c = s.conn();
        let now = 1_790_000_000_000_i64;
        let start = day_start_ms(now);
        assert!(start <= now && now - start < 86_400_000 + 3_600_000);
        type Row<'a> = (&'a str, &'a str, &'a str, Option<i64>, i64, i64);
        let rows: &[Row<'_>] = &[
            // session, message, model, ts, input, output
            (
                "s1",
                "m1",
                "claude-sonnet-4-5",
                Some(now - 1_000),
                1_000_000,
                0,
            ), // $3
            (
                "s1",
                "m2",
                "claude-sonnet-4-5",
                Some(start - 1),
                0,
                1_000_000,
            ), // yesterday: $15
            ("s1", "m3", "mystery-model", Some(now), 10, 0), // unpriced
            ("s2", "m4", "claude-haiku-4-5", None, 0, 1_000_000), // no ts: $5
        ];
        for (sid, key, model, ts, i, o) in rows {
            c.execute(
                "INSERT INTO usage (session_id, agent_id, message_key, model, ts, input, output) VALUES (?1, '', ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![sid, key, model, ts, i, o],
            )
            .unwrap();
        }
        let p = Prices::default();
        let t = today(c, &p, now).unwrap();
        assert_eq!((t.responses, t.tokens, t.unpriced), (2, 1_000_010, 1));
        assert!((t.cost_usd - 3.0).abs() < 1e-9);
        let s1 = session(c, &p, "s1").unwrap();
        assert_eq!((s1.responses, s1.tokens), (3, 2_000_010));
        assert!((s1.cost_usd - 18.0).abs() < 1e-9);
        assert!((session(c, &p, "s2").unwrap().cost_usd - 5.0).abs() < 1e-9);
    }
}
