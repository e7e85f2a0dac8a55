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
}

impl Price {
    const fn new(input: f64, output: f64) -> Price {
        Price { input, output, cache_write_5m: None, cache_write_1h: None, cache_read: None }
    }
    /// USD for the given token counts.
    pub fn cost(&self, input: i64, output: i64, cache_read: i64, cache_5m: i64, cache_1h: i64) -> f64 {
        let per = |n: i64, p: f64| n as f64 * p / 1_000_000.0;
        per(input, self.input)
            + per(output, self.output)
            + per(cache_read, self.cache_read.unwrap_or(self.input * 0.1))
            + per(cache_5m, self.cache_write_5m.unwrap_or(self.input * 1.25))
            + per(cache_1h, self.cache_write_1h.unwrap_or(self.input * 2.0))
    }
}

/// Built-in prices by model id prefix (longest prefix wins).
const BUILTIN: &[(&str, Price)] = &[
    ("claude-opus-5-5", Price { input: 4.0, output: 20.0, cache_write_5m: Some(5.0), cache_write_1h: Some(8.0), cache_read: Some(0.2) }),
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
                let f: PricesFile = serde_json::from_slice(&bytes)
                    .map_err(|e| crate::error::Error::InvalidArgument(format!("{}: {e}", path.display())))?;
                Ok(Prices { overrides: f.models })
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
        assert_eq!(prices.lookup("claude-sonnet-4-5-20250929").unwrap().input, 3.0);
        assert_eq!(prices.lookup("claude-opus-4-1-20250805").unwrap().input, 15.0);
        assert_eq!(prices.lookup("claude-opus-4-6[1m]").unwrap().input, 5.0);
        assert_eq!(prices.lookup("claude-opus-5-5").unwrap().cache_read, Some(0.2));
        assert!(prices.lookup("gpt-9").is_none());
        let p = prices.lookup("claude-haiku-4-5").unwrap();
        assert!((p.cost(0, 0, 1_000_000, 1_000_000, 1_000_000) - (0.1 + 1.25 + 2.0)).abs() < 1e-9);
    }
}
