//! `GET /metrics`: the Prometheus text exposition (format 0.0.4) of the recorded runs, read from
//! the `run_metrics` rollup (schema version 9) so a scrape costs the same at 1M runs as at 100
//! (docs/serve.md, "Prometheus"; every series is defined in docs/metrics.md).

use super::{blocking, ApiError, State};
use crate::analyze::Ctx;
use crate::error::Result;
use crate::store::schema::{run_metrics_fill_sql, RUN_DURATION_BOUNDS_S};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rusqlite::params;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The `derive_state` key saying `run_metrics` has been filled from `agent_runs` (cleared with
/// the rest of derive_state by `analyze rebuild`).
const FILLED: &str = "run_metrics_filled";

/// One agent type's figures.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TypeMetrics {
    /// Runs by effective status (docs/metrics.md, "Run status").
    pub runs: BTreeMap<String, i64>,
    /// Runs with a duration, per bucket of [`RUN_DURATION_BOUNDS_S`] (not cumulative; the last
    /// is above the highest bound).
    pub buckets: [i64; RUN_DURATION_BOUNDS_S.len() + 1],
    /// Sum of those durations, ms.
    pub dur_sum_ms: i64,
    /// input, output, cache read, cache creation.
    pub tokens: [i64; 4],
    pub cost_usd: f64,
}

/// Everything `/metrics` shows.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Metrics {
    pub types: BTreeMap<String, TypeMetrics>,
    /// Runs running now (not ended, started within `lost_after_minutes`).
    pub active_agents: i64,
    /// Per alert rule with any state, how many of its alerts are firing.
    pub alerts_firing: BTreeMap<String, i64>,
}

/// Fills `run_metrics` from `agent_runs` unless that was done since the last rebuild.
fn ensure_filled(ctx: &Ctx) -> Result<()> {
    let filled = ctx.store.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM derive_state WHERE key = ?1)",
        params![FILLED],
        |r| r.get::<_, bool>(0),
    )?;
    if filled {
        return Ok(());
    }
    ctx.store.write_tx(|s| {
        s.conn().execute("DELETE FROM run_metrics", [])?;
        s.conn().execute(&run_metrics_fill_sql(), [])?;
        s.conn().execute(
            "INSERT OR REPLACE INTO derive_state(key, value) VALUES (?1, 1)",
            params![FILLED],
        )?;
        Ok(())
    })
}

/// Computes the figures (fills the rollup first when needed).
pub fn compute(ctx: &Ctx) -> Result<Metrics> {
    ensure_filled(ctx)?;
    let mut m = Metrics::default();
    let conn = ctx.store.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT agent_type, status, bucket, runs, dur_sum, input, output, cache_read, cache_write, cost
         FROM run_metrics WHERE runs <> 0",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let t = m.types.entry(r.get(0)?).or_default();
        let runs: i64 = r.get(3)?;
        *t.runs.entry(r.get(1)?).or_default() += runs;
        let bucket: i64 = r.get(2)?;
        if let Some(b) = usize::try_from(bucket)
            .ok()
            .and_then(|b| t.buckets.get_mut(b))
        {
            *b += runs;
            t.dur_sum_ms += r.get::<_, i64>(4)?;
        }
        for (k, tok) in t.tokens.iter_mut().enumerate() {
            *tok += r.get::<_, i64>(5 + k)?;
        }
        t.cost_usd += r.get::<_, f64>(9)?;
    }
    // `lost` is decided now: running, never ended, started before the threshold.
    let mut stmt = conn.prepare_cached(
        "SELECT agent_type, sum(coalesce(start_ms, 0) < ?1), sum(coalesce(start_ms, 0) >= ?1)
         FROM agent_runs WHERE end_ms IS NULL AND internal = 0 AND status = 'running' GROUP BY agent_type",
    )?;
    let mut rows = stmt.query(params![ctx.lost_before()])?;
    while let Some(r) = rows.next()? {
        let (lost, active): (i64, i64) = (r.get(1)?, r.get(2)?);
        m.active_agents += active;
        let t = m.types.entry(r.get(0)?).or_default();
        if lost > 0 {
            *t.runs.entry("running".into()).or_default() -= lost;
            *t.runs.entry("lost".into()).or_default() += lost;
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT rule, sum(state = 'firing') FROM alert_state GROUP BY rule ORDER BY rule",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    m.alerts_firing = rows.collect::<rusqlite::Result<_>>()?;
    Ok(m)
}

/// A label value escaped as the exposition format wants (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A float as Prometheus reads it.
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "NaN".into()
    }
}

/// The text exposition of `m`.
pub fn render(m: &Metrics) -> String {
    let mut o = String::new();
    let head = |o: &mut String, name: &str, ty: &str, help: &str| {
        let _ = writeln!(
            o,
            "# HELP agent_telemetry_{name} {help}\n# TYPE agent_telemetry_{name} {ty}"
        );
    };
    head(&mut o, "runs_total", "counter", "Agent runs recorded, by agent type and status (running and lost runs move to their final status).");
    for (t, tm) in &m.types {
        for (st, n) in tm.runs.iter().filter(|(_, n)| **n != 0) {
            let _ = writeln!(
                o,
                "agent_telemetry_runs_total{{agent_type=\"{}\",status=\"{}\"}} {n}",
                label(t),
                label(st)
            );
        }
    }
    head(
        &mut o,
        "run_duration_seconds",
        "histogram",
        "Duration of the agent runs that have one, by agent type.",
    );
    for (t, tm) in &m.types {
        let t = label(t);
        let mut cum = 0;
        for (i, n) in tm.buckets.iter().enumerate() {
            cum += n;
            let le = RUN_DURATION_BOUNDS_S
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(o, "agent_telemetry_run_duration_seconds_bucket{{agent_type=\"{t}\",le=\"{le}\"}} {cum}");
        }
        let _ = writeln!(
            o,
            "agent_telemetry_run_duration_seconds_sum{{agent_type=\"{t}\"}} {}",
            num(tm.dur_sum_ms as f64 / 1000.0)
        );
        let _ = writeln!(
            o,
            "agent_telemetry_run_duration_seconds_count{{agent_type=\"{t}\"}} {cum}"
        );
    }
    head(
        &mut o,
        "tokens_total",
        "counter",
        "Tokens of the agent runs (each run's own), by agent type and kind.",
    );
    for (t, tm) in &m.types {
        for (kind, n) in ["input", "output", "cache_read", "cache_creation"]
            .iter()
            .zip(tm.tokens)
        {
            let _ = writeln!(
                o,
                "agent_telemetry_tokens_total{{agent_type=\"{}\",kind=\"{kind}\"}} {n}",
                label(t)
            );
        }
    }
    head(
        &mut o,
        "cost_usd_total",
        "counter",
        "Cost in USD of the agent runs with a known price, by agent type.",
    );
    for (t, tm) in &m.types {
        let _ = writeln!(
            o,
            "agent_telemetry_cost_usd_total{{agent_type=\"{}\"}} {}",
            label(t),
            num(tm.cost_usd)
        );
    }
    head(
        &mut o,
        "active_agents",
        "gauge",
        "Agents running now (started within lost_after_minutes, not ended).",
    );
    let _ = writeln!(o, "agent_telemetry_active_agents {}", m.active_agents);
    head(&mut o, "alerts_firing", "gauge", "Alerts firing, by rule.");
    for (rule, n) in &m.alerts_firing {
        let _ = writeln!(
            o,
            "agent_telemetry_alerts_firing{{rule=\"{}\"}} {n}",
            label(rule)
        );
    }
    o
}

/// `GET /metrics`.
pub(super) async fn handler(
    axum::extract::State(state): axum::extract::State<State>,
) -> std::result::Result<Response, ApiError> {
    let text = blocking(&state, |db| {
        let ctx = Ctx::open(Some(db))?;
        compute(&ctx).map(|m| render(&m))
    })
    .await?
    .map_err(|e| ApiError::from_error(&e))?;
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}
