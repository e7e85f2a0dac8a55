//! Model prices (USD per million tokens) and the cost of usage rows.
//!
//! Built-in prices come from docs/claude-code-integration.md section 5 and are checked against
//! Claude Code's own `total_cost_usd`. Users override or add models in `prices.json` beside the
//! database. An unknown model has no price: its cost is unknown, never guessed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Price of one model, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// 5-minute cache write; defaults to 1.25 × input.
    #[serde(default)]
    pub cache_write_5m: Option<f64>,
    /// 1-hour cache write; defaults to 2 × input.
    #[serde(default)]
    pub cache_write_1h: Option<f64>,
    /// Cache read; defaults to 0.1 × input.
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Long-context tier: a request whose prompt (input + cache read + cache write) exceeds this
    /// many tokens is priced at `long_context_multiplier` × every rate.
    #[serde(default)]
    pub long_context_threshold: Option<i64>,
    #[serde(default)]
    pub long_context_multiplier: Option<f64>,
}

impl Price {
    const fn new(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cache_write_5m: None,
            cache_write_1h: None,
            cache_read: None,
            long_context_threshold: None,
            long_context_multiplier: None,
        }
    }
    /// USD for ONE model response with the given token counts (the long-context tier is decided
    /// per request, so sum per response, not over totals).
    pub fn cost(
        &self,
        input: i64,
        output: i64,
        cache_read: i64,
        cache_5m: i64,
        cache_1h: i64,
    ) -> f64 {
        let prompt = input + cache_read + cache_5m + cache_1h;
        let m = match (self.long_context_threshold, self.long_context_multiplier) {
            (Some(t), Some(m)) if prompt > t => m,
            _ => 1.0,
        };
        let per = |n: i64, p: f64| n as f64 * p * m / 1_000_000.0;
        per(input, self.input)
            + per(output, self.output)
            + per(cache_read, self.cache_read.unwrap_or(self.input * 0.1))
            + per(cache_5m, self.cache_write_5m.unwrap_or(self.input * 1.25))
            + per(cache_1h, self.cache_write_1h.unwrap_or(self.input * 2.0))
    }
}

/// Built-in prices by model id prefix (longest prefix wins).
const BUILTIN: &[(&str, Price)] = &[
    (
        "claude-opus-5-5",
        Price {
            cache_write_5m: Some(5.0),
            cache_write_1h: Some(8.0),
            cache_read: Some(0.2),
            ..Price::new(4.0, 20.0)
        },
    ),
    // Seen: Claude Code 2.1.330 resolves `haiku` to claude-haiku-5-5 and prices it at 0.1 / 0.5,
    // and at 5× every rate for requests over 200k prompt tokens (tests/e2e recordings).
    (
        "claude-haiku-5-5",
        Price {
            long_context_threshold: Some(200_000),
            long_context_multiplier: Some(5.0),
            ..Price::new(0.1, 0.5)
        },
    ),
    ("claude-opus-5", Price::new(5.0, 25.0)),
    ("claude-opus-4-8", Price::new(5.0, 25.0)),
    ("claude-opus-4-7", Price::new(5.0, 25.0)),
    ("claude-opus-4-6", Price::new(5.0, 25.0)),
    ("claude-opus-4-5", Price::new(5.0, 25.0)),
    ("claude-opus-4-1", Price::new(15.0, 75.0)),
    ("claude-opus-4", Price::new(15.0, 75.0)),
    ("claude-sonnet-5", Price::new(2.0, 10.0)),
    ("claude-sonnet-4-6", Price::new(3.0, 15.0)),
    ("claude-sonnet-4-5", Price::new(3.0, 15.0)),
    ("claude-sonnet-4", Price::new(3.0, 15.0)),
    ("claude-haiku-4-5", Price::new(1.0, 5.0)),
    ("claude-3-5-haiku", Price::new(0.8, 4.0)),
    ("claude-fable-5", Price::new(10.0, 50.0)),
    ("claude-mythos-5", Price::new(10.0, 50.0)),
];

/// The price table in force: built-ins plus user overrides.
#[derive(Debug, Clone, Default)]
pub struct Prices {
    overrides: BTreeMap<String, Price>,
}

#[derive(Deserialize)]
struct PricesFile {
    #[serde(default)]
    models: BTreeMap<String, Price>,
}

impl Prices {
    /// Built-ins plus `prices.json` beside the database, if present.
    pub fn load(db: &Path) -> crate::error::Result<Prices> {
        let path = crate::paths::prices_path(db);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let f: PricesFile = serde_json::from_slice(&bytes).map_err(|e| {
                    crate::error::Error::InvalidArgument(format!("{}: {e}", path.display()))
                })?;
                Ok(Prices {
                    overrides: f.models,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Prices::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// The price of a model id, if known.
    pub fn lookup(&self, model: &str) -> Option<Price> {
        let id = normalise_model(model);
        let over = self
            .overrides
            .iter()
            .filter(|(p, _)| id.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, p)| *p);
        over.or_else(|| {
            BUILTIN
                .iter()
                .filter(|(p, _)| id.starts_with(p))
                .max_by_key(|(p, _)| p.len())
                .map(|(_, p)| *p)
        })
    }
}

/// Token and cost totals of a set of usage rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageTotals {
    pub responses: i64,
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    /// None when any response's model has no known price.
    pub cost_usd: Option<f64>,
}

impl UsageTotals {
    /// Every kind of token.
    pub fn tokens(&self) -> i64 {
        self.input + self.output + self.cache_read + self.cache_write
    }
}

/// Totals of a session's usage (one agent's with `agent = Some(id)`, '' = the main agent), by
/// model, each response priced on its own.
pub fn usage_by_model(
    conn: &rusqlite::Connection,
    prices: &Prices,
    session: &str,
    agent: Option<&str>,
) -> rusqlite::Result<BTreeMap<String, UsageTotals>> {
    let mut stmt = conn.prepare_cached(
        "SELECT model, input, output, cache_read, cache_5m, cache_1h FROM usage
         WHERE session_id = ?1 AND (?2 IS NULL OR agent_id = ?2)",
    )?;
    let mut out: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let rows = stmt.query_map(rusqlite::params![session, agent], |r| {
        Ok((
            r.get::<_, String>(0)?,
            [
                r.get::<_, i64>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ],
        ))
    })?;
    for row in rows {
        let (model, [i, o, cr, c5, c1]) = row?;
        let cost = prices.lookup(&model).map(|p| p.cost(i, o, cr, c5, c1));
        let t = out.entry(model).or_insert_with(|| UsageTotals {
            cost_usd: Some(0.0),
            ..Default::default()
        });
        t.responses += 1;
        t.input += i;
        t.output += o;
        t.cache_read += cr;
        t.cache_write += c5 + c1;
        t.cost_usd = match (t.cost_usd, cost) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }
    Ok(out)
}

/// All models of [`usage_by_model`] added up.
pub fn price_usage(
    conn: &rusqlite::Connection,
    prices: &Prices,
    session: &str,
    agent: Option<&str>,
) -> rusqlite::Result<UsageTotals> {
    let mut all = UsageTotals {
        cost_usd: Some(0.0),
        ..Default::default()
    };
    for t in usage_by_model(conn, prices, session, agent)?.values() {
        all.responses += t.responses;
        all.input += t.input;
        all.output += t.output;
        all.cache_read += t.cache_read;
        all.cache_write += t.cache_write;
        all.cost_usd = match (all.cost_usd, t.cost_usd) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }
    Ok(all)
}

/// Strips `[1m]`-style suffixes and surrounding space; lower-cases.
pub fn normalise_model(model: &str) -> String {
    let m = model.trim();
    let m = match m.find('[') {
        Some(i) => &m[..i],
        None => m,
    };
    m.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_claude_codes_own_cost_for_opus_5_5() {
        // foreground-agent recording: 3800 input, 660 output → total_cost_usd 0.0284
        let p = Prices::default().lookup("claude-opus-5-5").unwrap();
        assert!((p.cost(3800, 660, 0, 0, 0) - 0.0284).abs() < 1e-12);
    }

    #[test]
    fn longest_prefix_and_suffixes() {
        let prices = Prices::default();
        assert_eq!(
            prices.lookup("claude-sonnet-4-5-20250929").unwrap().input,
            3.0
        );
        assert_eq!(
            prices.lookup("claude-opus-4-1-20250805").unwrap().input,
            15.0
        );
        assert_eq!(prices.lookup("claude-opus-4-6[1m]").unwrap().input, 5.0);
        assert_eq!(
            prices.lookup("claude-opus-5-5").unwrap().cache_read,
            Some(0.2)
        );
        assert!(prices.lookup("gpt-9").is_none());
        let h = prices.lookup("claude-haiku-5-5").unwrap();
        assert!((h.cost(200_000, 1_000_000, 0, 0, 0) - (0.02 + 0.5)).abs() < 1e-12);
        assert!((h.cost(200_001, 0, 0, 0, 0) - 200_001.0 * 0.5 / 1e6).abs() < 1e-12);
        let p = prices.lookup("claude-haiku-4-5").unwrap();
        assert!((p.cost(0, 0, 1_000_000, 1_000_000, 1_000_000) - (0.1 + 1.25 + 2.0)).abs() < 1e-9);
    }
}
