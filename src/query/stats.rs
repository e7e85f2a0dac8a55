//! Statistics the readers share: percentiles (docs/metrics.md, "Percentiles") and the one trend
//! test (docs/metrics.md, `trends`), which `analyze trends` and `query-best-agent` both apply.

use crate::error::Result;
use crate::store::Store;
use serde::Serialize;

/// Percentile by linear interpolation between closest ranks over sorted `xs`
/// (docs/metrics.md: p = 0..1; rank h = (n − 1)·p).
pub fn percentile(xs: &[i64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let h = (xs.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(xs.len() - 1);
    Some(xs[lo] as f64 + (h - lo as f64) * (xs[hi] - xs[lo]) as f64)
}

/// [`percentile`] over sorted real values (custom metrics, `analyze metrics`): the same rank.
pub fn percentile_f64(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let h = (xs.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(xs.len() - 1);
    Some(xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo]))
}

/// The same percentile, read from the `(agent_type, duration_ms)` index without loading the
/// runs: `n` is the number of durations for the agent (or all agents when `agent` is None).
pub fn indexed_percentile(
    store: &Store,
    agent: Option<&str>,
    n: i64,
    p: f64,
) -> Result<Option<f64>> {
    if n <= 0 {
        return Ok(None);
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as i64;
    let hi = (lo + 1).min(n - 1);
    let take = hi - lo + 1;
    // Walk from whichever end is nearer: OFFSET costs one index step per skipped entry.
    let from_top = lo > n / 2;
    let (order, offset) = if from_top {
        ("DESC", n - 1 - hi)
    } else {
        ("ASC", lo)
    };
    let vals: Vec<i64> = match agent {
        Some(a) => {
            let sql = format!(
                "SELECT duration_ms FROM agent_runs INDEXED BY runs_type_duration
                 WHERE agent_type = ?1 AND internal = 0 AND duration_ms IS NOT NULL
                 ORDER BY duration_ms {order} LIMIT ?3 OFFSET ?2"
            );
            let mut stmt = store.conn().prepare_cached(&sql)?;
            let v = stmt
                .query_map(rusqlite::params![a, offset, take], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            v
        }
        None => {
            let sql = format!(
                "SELECT duration_ms FROM agent_runs INDEXED BY runs_duration
                 WHERE internal = 0 AND duration_ms IS NOT NULL ORDER BY duration_ms {order} LIMIT ?2 OFFSET ?1"
            );
            let mut stmt = store.conn().prepare_cached(&sql)?;
            let v = stmt
                .query_map(rusqlite::params![offset, take], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            v
        }
    };
    let (Some(first), Some(last)) = (vals.first(), vals.last()) else {
        return Ok(None);
    };
    let (x_lo, x_hi) = if from_top {
        (*last, *first)
    } else {
        (*first, *last)
    };
    Ok(Some(x_lo as f64 + (h - lo as f64) * (x_hi - x_lo) as f64))
}

// ── the trend test ────────────────────────────────────────────────────────────────────────

/// The recent period of a trend: the last 7 days.
pub const RECENT_DAYS: i64 = 7;
/// |z| at or above this is a change (two-sided 5% level).
pub const Z_CRITICAL: f64 = 1.96;
/// Decided runs (success + failure + lost) needed in each period for a verdict.
pub const MIN_DECIDED: i64 = 5;

/// Successes out of decided runs (success + failure + lost) in one period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub success: i64,
    pub decided: i64,
}

/// A trend verdict: the recent period's success rate against the earlier one's.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Improving,
    Stable,
    Declining,
    /// Fewer than [`MIN_DECIDED`] decided runs in one of the periods.
    Insufficient,
}

impl Trend {
    /// The verdict in words, as `analyze trends` prints it.
    pub fn words(self) -> &'static str {
        match self {
            Trend::Improving => "improving",
            Trend::Stable => "stable",
            Trend::Declining => "declining",
            Trend::Insufficient => "insufficient data",
        }
    }
}

/// P(X ≤ k) for X ~ Binomial(n, p): the one-sided exact test of the `success_rate` alert
/// (docs/metrics.md, "alerts"). Summed in log space, so large `n` does not underflow.
pub fn binomial_cdf(k: i64, n: i64, p: f64) -> f64 {
    if k >= n || p <= 0.0 {
        return 1.0;
    }
    if k < 0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    // ln C(n, i) pⁱ (1 − p)ⁿ⁻ⁱ, term by term from i = 0.
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut term = n as f64 * lq;
    let mut logs = vec![term];
    for i in 0..k {
        term += ((n - i) as f64 / (i + 1) as f64).ln() + lp - lq;
        logs.push(term);
    }
    let max = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (max + logs.iter().map(|l| (l - max).exp()).sum::<f64>().ln())
        .exp()
        .min(1.0)
}

/// Two-proportion z statistic with a pooled proportion: (p₁ − p₂) / √(p(1 − p)(1/n₁ + 1/n₂)).
/// 0 when the pooled proportion is 0 or 1 (both periods identical).
pub fn two_proportion_z(s1: i64, n1: i64, s2: i64, n2: i64) -> Option<f64> {
    if n1 <= 0 || n2 <= 0 {
        return None;
    }
    let (p1, p2) = (s1 as f64 / n1 as f64, s2 as f64 / n2 as f64);
    let p = (s1 + s2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    Some(if se > 0.0 { (p1 - p2) / se } else { 0.0 })
}

/// The trend test (docs/metrics.md, `trends`): `Insufficient` when either period has fewer than
/// [`MIN_DECIDED`] decided runs; else the two-proportion z statistic of recent against earlier
/// success: `Improving` at z ≥ [`Z_CRITICAL`], `Declining` at z ≤ −[`Z_CRITICAL`], otherwise
/// `Stable`. Returns the z that decided it (None when insufficient).
pub fn trend(recent: Outcomes, earlier: Outcomes) -> (Trend, Option<f64>) {
    if recent.decided < MIN_DECIDED || earlier.decided < MIN_DECIDED {
        return (Trend::Insufficient, None);
    }
    let z = two_proportion_z(
        recent.success,
        recent.decided,
        earlier.success,
        earlier.decided,
    );
    let t = match z {
        Some(z) if z >= Z_CRITICAL => Trend::Improving,
        Some(z) if z <= -Z_CRITICAL => Trend::Declining,
        _ => Trend::Stable,
    };
    (t, z)
}

#[cfg(test)]
mod tests {
    use super::binomial_cdf;

    #[test]
    fn binomial_cdf_by_hand() {
        // n = 5, p = 0.8: P(X ≤ 1) = 0.2⁵ + 5·0.8·0.2⁴ = 0.00672; P(X ≤ 2) adds 10·0.8²·0.2³.
        assert!((binomial_cdf(1, 5, 0.8) - 0.00672).abs() < 1e-12);
        assert!((binomial_cdf(2, 5, 0.8) - 0.05792).abs() < 1e-12);
        assert!((binomial_cdf(3, 5, 0.8) - 0.26272).abs() < 1e-12);
        assert_eq!(binomial_cdf(5, 5, 0.8), 1.0);
        assert_eq!(binomial_cdf(-1, 5, 0.8), 0.0);
        // Large n: P(X ≤ 700 | 1000, 0.8) is tiny but not 0 (no underflow to NaN).
        let tail = binomial_cdf(700, 1000, 0.8);
        assert!(tail > 0.0 && tail < 1e-10, "{tail}");
        assert!((binomial_cdf(800, 1000, 0.8) - 0.5).abs() < 0.05);
    }

    use super::*;

    #[test]
    fn percentile_interpolates() {
        let xs = [10, 20, 30, 40];
        assert_eq!(percentile(&xs, 0.5), Some(25.0));
        assert_eq!(percentile(&xs, 0.95), Some(38.5));
        assert_eq!(percentile(&xs, 0.0), Some(10.0));
        assert_eq!(percentile(&xs, 1.0), Some(40.0));
        assert_eq!(percentile(&[7], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile_f64(&[1.5, 2.5, 4.0, 10.0], 0.5), Some(3.25));
        assert_eq!(percentile_f64(&[10.0, 20.0, 30.0, 40.0], 0.95), Some(38.5));
        assert_eq!(percentile_f64(&[], 0.5), None);
    }

    fn o(success: i64, decided: i64) -> Outcomes {
        Outcomes { success, decided }
    }

    #[test]
    fn trend_needs_five_decided_runs_each_side_and_significance() {
        // docs/metrics.md's example: 1 of 6 → 6 of 6, z = 2.93.
        let (t, z) = trend(o(6, 6), o(1, 6));
        assert_eq!(t, Trend::Improving);
        assert!((z.unwrap() - 2.9277).abs() < 1e-4, "{z:?}");
        assert_eq!(trend(o(1, 6), o(6, 6)).0, Trend::Declining);
        assert_eq!(trend(o(4, 4), o(0, 100)), (Trend::Insufficient, None));
        assert_eq!(trend(o(5, 5), o(90, 100)).0, Trend::Stable);
        assert_eq!(trend(o(20, 40), o(90, 100)).0, Trend::Declining);
        assert_eq!(trend(o(39, 40), o(60, 100)).0, Trend::Improving);
        assert_eq!(trend(o(36, 40), o(90, 100)).0, Trend::Stable);
        // A small difference on much evidence is still a change: 94% → 90% over 2,000 runs each.
        assert_eq!(trend(o(1800, 2000), o(1880, 2000)).0, Trend::Declining);
        // Both periods all successes: pooled p = 1, z = 0.
        assert_eq!(trend(o(7, 7), o(9, 9)), (Trend::Stable, Some(0.0)));
    }
}
