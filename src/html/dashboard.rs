//! The live dashboard's server side: its page and assets (web/, embedded in the binary: it works
//! offline), its charts by name (the same SVG as the static report), and the hung-agent
//! thresholds. `analyze serve` routes `/`, `/dash/…` here; the page reads every figure from the
//! API (`/api/v1/…`, `/api/agents/…`) and re-fetches on the live stream's events.

use super::chart::{self, XyChart};
use super::views;
use crate::analyze::cli::Common;
use crate::analyze::{agent, summary, Ctx, Filter};
use crate::error::{Error, Result};
use serde::Serialize;

/// The page.
pub const INDEX_HTML: &str = include_str!("../../web/index.html");
/// Its script (no library: plain DOM and EventSource).
pub const APP_JS: &str = include_str!("../../web/app.js");
/// Its stylesheet, with the charts' colours appended ([`chart::CSS`]).
pub const APP_CSS: &str = include_str!("../../web/app.css");

/// An embedded asset by its path under `/`: (content type, body).
pub fn asset(path: &str) -> Option<(&'static str, String)> {
    match path {
        "" | "/" | "/index.html" => Some(("text/html; charset=utf-8", INDEX_HTML.to_string())),
        "/app.js" => Some(("text/javascript; charset=utf-8", APP_JS.to_string())),
        "/app.css" => Some((
            "text/css; charset=utf-8",
            format!("{APP_CSS}\n{}", chart::CSS),
        )),
        _ => None,
    }
}

/// A running agent is hung when it has run this many times its type's usual p95 duration...
pub const HUNG_P95_FACTOR: f64 = 3.0;
/// ...and at least this long (fast agents' p95 is seconds: a slow network is not a hang).
pub const HUNG_MIN_MS: i64 = 60_000;

/// When a running agent of one type counts as hung.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HungRule {
    pub agent: String,
    /// Finished runs (success, failure, cancelled) of the type.
    pub finished: i64,
    /// Its p95 duration over all recorded runs (`analyze summary`).
    pub p95_duration_ms: Option<f64>,
    /// Running longer than this is hung.
    pub hung_after_ms: i64,
    /// `p95` when the type has at least `min_runs` finished runs, else `default`.
    pub basis: &'static str,
}

/// The thresholds, per agent type, and for types without a track record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hung {
    pub factor: f64,
    pub min_ms: i64,
    pub min_runs: i64,
    /// `hung_after_minutes` (config.json), in ms: types with fewer than `min_runs` finished runs.
    pub default_ms: i64,
    pub agents: Vec<HungRule>,
}

/// One type's threshold: max([`HUNG_P95_FACTOR`] × p95, [`HUNG_MIN_MS`]) with at least
/// `min_runs` finished runs; `default_ms` otherwise (docs/metrics.md, "hung").
pub fn hung_after(
    finished: i64,
    p95: Option<f64>,
    min_runs: i64,
    default_ms: i64,
) -> (i64, &'static str) {
    match p95 {
        Some(p) if finished >= min_runs => (
            ((p * HUNG_P95_FACTOR).round() as i64).max(HUNG_MIN_MS),
            "p95",
        ),
        _ => (default_ms, "default"),
    }
}

/// Every agent type's hung threshold from `analyze summary` over all runs (the rollups).
pub fn hung(ctx: &Ctx) -> Result<Hung> {
    let s = summary::compute(ctx, &Filter::default(), "agent", false)?;
    let default_ms = ctx.cfg.hung_after_minutes * 60_000;
    let min_runs = ctx.cfg.min_runs;
    let agents = s
        .agents
        .iter()
        .map(|a| {
            let finished = a.success + a.failure + a.cancelled;
            let (hung_after_ms, basis) =
                hung_after(finished, a.p95_duration_ms, min_runs, default_ms);
            HungRule {
                agent: a.agent.clone(),
                finished,
                p95_duration_ms: a.p95_duration_ms,
                hung_after_ms,
                basis,
            }
        })
        .collect();
    Ok(Hung {
        factor: HUNG_P95_FACTOR,
        min_ms: HUNG_MIN_MS,
        min_runs,
        default_ms,
        agents,
    })
}

/// A dashboard request's filter from its query pairs (`days`, `since`, `until`, `agent`…,
/// `project`, `session`), validated as `analyze` validates them; `token` is the guard's.
pub fn filter(ctx: &Ctx, pairs: &[(String, String)]) -> Result<Filter> {
    for (k, _) in pairs {
        if ![
            "days", "since", "until", "agent", "project", "session", "token",
        ]
        .contains(&k.as_str())
        {
            return Err(Error::InvalidArgument(format!("unknown parameter '{k}'")));
        }
    }
    let common = Common::from_pairs(pairs)?;
    let f = common.filter(ctx.now)?;
    ctx.check_agents(&f.agents)?;
    Ok(f)
}

/// One agent's runs and success rate per day (`analyze agent NAME`'s daily trend).
pub fn agent_chart(name: &str, daily: &[agent::Day]) -> XyChart {
    let mut days = daily.to_vec();
    days.sort_by(|a, b| a.day.cmp(&b.day));
    views::runs_and_success(
        "chart-agent",
        format!("{name}: runs and success rate per day"),
        format!("Daily trend of {name}: bars are runs, the line is the success rate."),
        "Day (UTC)".into(),
        days.iter()
            .map(|d| d.day.get(5..).unwrap_or(&d.day).to_string())
            .collect(),
        &days
            .iter()
            .map(|d| (d.runs, d.success_rate))
            .collect::<Vec<_>>(),
    )
}

/// `/dash/chart/{name}.svg`: one of [`views::CHARTS`], or `agent` (with exactly one `agent`
/// parameter). None: no such chart.
pub fn chart(ctx: &Ctx, name: &str, pairs: &[(String, String)]) -> Result<Option<String>> {
    let f = filter(ctx, pairs)?;
    if name == "agent" {
        let [who] = f.agents.as_slice() else {
            return Err(Error::InvalidArgument(
                "the agent chart takes exactly one 'agent' parameter".into(),
            ));
        };
        let f = ctx.narrowed(&f, who)?;
        // No runs in the window: the chart says so (a 404 would be a console error on the page).
        let daily = agent::compute(ctx, &f, who, 0, 30, 0)?
            .map(|r| r.daily)
            .unwrap_or_default();
        return Ok(Some(chart::standalone(&chart::xy(&agent_chart(
            who, &daily,
        )))));
    }
    Ok(views::chart(ctx, &f, name)?.map(|svg| chart::standalone(&svg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hung_is_three_p95s_with_a_floor_or_the_default_without_a_track_record() {
        // 10 finished runs, p95 40 s: 120 s.
        assert_eq!(
            hung_after(10, Some(40_000.0), 5, 1_800_000),
            (120_000, "p95")
        );
        // p95 5 s: 15 s is under the 60 s floor.
        assert_eq!(hung_after(10, Some(5_000.0), 5, 1_800_000), (60_000, "p95"));
        // Four finished runs are no track record: config's hung_after_minutes.
        assert_eq!(
            hung_after(4, Some(40_000.0), 5, 1_800_000),
            (1_800_000, "default")
        );
        assert_eq!(hung_after(10, None, 5, 1_800_000), (1_800_000, "default"));
    }

    #[test]
    fn assets_are_embedded_and_self_contained() {
        let (ty, page) = asset("/").expect("index");
        assert!(ty.starts_with("text/html"));
        assert!(
            page.contains(r#"<script src="app.js""#) || page.contains(r#"<script src="/app.js""#)
        );
        for (path, _) in [("/app.js", ()), ("/app.css", ())] {
            let (_, body) = asset(path).expect(path);
            let lower = body.to_lowercase();
            assert!(
                !lower.contains("http://") && !lower.contains("https://"),
                "{path} names no external address"
            );
        }
        assert!(asset("/app.css").unwrap().1.contains("svg.chart .s0"));
        assert!(asset("/nothing").is_none());
        assert!(!INDEX_HTML.to_lowercase().contains("https://"));
    }
}
