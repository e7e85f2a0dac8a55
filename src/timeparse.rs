//! Parsing times: event timestamps (ISO-8601, epoch seconds or milliseconds) and the readers'
//! `--since` / `--until` values (dates, date-times, or spans such as `7d`, `12h`, `30m`, `2w`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// An event timestamp in unix ms: ISO-8601 / RFC 3339 strings, or numbers (seconds if below
/// 10^11, else milliseconds).
pub fn event_ts(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_instant(s),
        Value::Number(n) => {
            let f = n.as_f64()?;
            if !f.is_finite() || f < 0.0 {
                return None;
            }
            Some(if f < 1e11 {
                (f * 1000.0) as i64
            } else {
                f as i64
            })
        }
        _ => None,
    }
}

/// An absolute instant: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (UTC), or `YYYY-MM-DD` (UTC midnight).
pub fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&dt).timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| Utc.from_utc_datetime(&dt).timestamp_millis())
}

/// A span such as `7d`, `12h`, `30m`, `2w`, `45s` in milliseconds.
pub fn parse_span(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    if n < 0 {
        return None;
    }
    let ms = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(ms)
}

/// A `--since`/`--until` value relative to `now`: a span means "that long before now".
pub fn parse_bound(s: &str, now: i64) -> Option<i64> {
    parse_span(s)
        .map(|span| now - span)
        .or_else(|| parse_instant(s))
}

/// Formats unix ms as RFC 3339 UTC with millisecond precision.
pub fn format_ms(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_event_timestamps() {
        assert_eq!(
            event_ts(&Value::from("2026-11-21T10:36:53.523Z")),
            Some(1_795_257_413_523)
        );
        assert_eq!(
            event_ts(&Value::from(1_795_257_413)),
            Some(1_795_257_413_000)
        );
        assert_eq!(
            event_ts(&Value::from(1_795_257_413_523i64)),
            Some(1_795_257_413_523)
        );
        assert_eq!(event_ts(&Value::from("yesterday")), None);
    }

    #[test]
    fn parses_bounds() {
        let now = 1_000_000_000_000;
        assert_eq!(parse_bound("7d", now), Some(now - 7 * 86_400_000));
        assert_eq!(
            parse_bound("2026-01-02", now),
            parse_instant("2026-01-02T00:00:00Z")
        );
        assert_eq!(parse_bound("2026-13-02", now), None);
        assert_eq!(parse_bound("7x", now), None);
    }
}
