//! The design's API (`/api/agents/…`), with its paths and field names, over the readers' own
//! reports: every figure here is a field of `analyze summary / active / timeline / types /
//! agent / tools` computed by the same function, renamed (definitions: docs/metrics.md,
//! "serve"). Floats are rounded as the command line's JSON rounds them, so equal figures print
//! equal.

use super::{guard, json_response, ApiError, State};
use crate::analyze::cli::Common;
use crate::analyze::{active, agent, summary, timeline, tools, types, Ctx, Filter};
use crate::error::Error;
use axum::extract::{Path as UrlPath, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// A request's query, checked against the keys an endpoint takes.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = guard::url_pairs(query.unwrap_or(""))
            .filter(|(k, _)| k != "token")
            .collect();
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown parameter '{k}' (this endpoint takes: {})",
                allowed.join(", ")
            )));
        }
        Ok(Params(pairs))
    }

    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The reader's filter options (`agent` repeatable, `project`, `session`, and where the
    /// endpoint allows them `days`, `since`, `until`), validated as `analyze` validates them.
    fn filter(&self, now: i64) -> Result<Filter, ApiError> {
        let common = Common::from_pairs(&self.0).map_err(|e| match e {
            Error::InvalidArgument(msg) => ApiError::bad_request(msg),
            e => err(e),
        })?;
        common.filter(now).map_err(|e| ApiError::from_error(&e))
    }
}

fn err(e: Error) -> ApiError {
    ApiError::from_error(&e)
}

/// Opens a reader context and answers with `f` on a blocking thread.
async fn answer(
    state: State,
    query: Option<String>,
    allowed: &'static [&'static str],
    f: impl FnOnce(&Ctx, &Params) -> Result<Value, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), allowed)?;
    let mut v = super::blocking(&state, move |db| {
        let ctx = Ctx::open(Some(db)).map_err(err)?;
        f(&ctx, &params)
    })
    .await??;
    crate::render::round_floats(&mut v);
    Ok(json_response(StatusCode::OK, &v))
}

const FILTERS: &[&str] = &["agent", "project", "session"];

/// `GET /api/agents/metrics/current`.
pub(crate) async fn current(
    axum::extract::State(state): axum::extract::State<State>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    answer(state, q, FILTERS, |ctx, p| {
        let f = p.filter(ctx.now)?;
        ctx.check_agents(&f.agents).map_err(err)?;
        current_of(ctx, &f).map_err(err)
    })
    .await
}

/// The current figures: agents running now (`analyze active`) and today's totals (`analyze
/// summary --since <today, UTC>`).
pub(crate) fn current_of(ctx: &Ctx, f: &Filter) -> crate::error::Result<Value> {
    let running = active::compute(ctx, f, ctx.cfg.hung_after_minutes)?;
    let mut today = f.clone();
    let midnight = ctx.now.div_euclid(DAY) * DAY;
    today.since = Some(today.since.map_or(midnight, |s| s.max(midnight)));
    let t = summary::compute(ctx, &today, "runs", false)?.totals;
    let mut parent_of = ctx
        .store
        .conn()
        .prepare_cached("SELECT parent_agent_id FROM agent_runs WHERE agent_id = ?1")?;
    let mut details = Vec::with_capacity(running.agents.len());
    for a in &running.agents {
        let parent: Option<String> = parent_of.query_row([&a.agent_id], |r| r.get(0))?;
        details.push(json!({
            "agent_id": a.agent_id,
            "agent_name": a.agent,
            "status": if a.possibly_hung { "possibly_hung" } else { "running" },
            "duration_so_far_ms": a.elapsed_ms,
            "session_id": a.session,
            "parent": parent,
            "task": a.description,
        }));
    }
    Ok(json!({
        "active_agents": running.agents.len(),
        "executions_today": t.runs,
        "success_rate": t.success_rate,
        "avg_duration_ms": t.avg_duration_ms,
        "tokens_used_today": t.tokens,
        "estimated_cost_today": t.cost_usd,
        "active_agent_details": details,
    }))
}

/// `GET /api/agents/metrics/timeline?hours=24`: `analyze timeline --hours H`.
pub(crate) async fn timeline(
    axum::extract::State(state): axum::extract::State<State>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    answer(
        state,
        q,
        &["hours", "agent", "project", "session"],
        |ctx, p| {
            let hours = match p.one("hours") {
                None => timeline::DEFAULT_HOURS,
                Some(h) => h.parse::<u32>().ok().filter(|h| *h >= 1).ok_or_else(|| {
                    ApiError::bad_request(format!("hours '{h}': a whole number, 1 or more"))
                })?,
            };
            let f = p.filter(ctx.now)?;
            ctx.check_agents(&f.agents).map_err(err)?;
            let t = timeline::compute(ctx, &f, Some(hours)).map_err(err)?;
            let rows: Vec<Value> = t
                .buckets
                .iter()
                .map(|b| {
                    json!({
                        "timestamp": b.start,
                        "executions": b.runs,
                        "avg_duration_ms": b.avg_duration_ms,
                        "success_rate": b.success_rate,
                        "dominant_agent_type": b.dominant_agent,
                    })
                })
                .collect();
            Ok(json!({ "timeline": rows }))
        },
    )
    .await
}

/// `GET /api/agents/types/distribution`: `analyze types`.
pub(crate) async fn distribution(
    axum::extract::State(state): axum::extract::State<State>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    answer(
        state,
        q,
        &["days", "since", "until", "agent", "project", "session"],
        |ctx, p| {
            let f = p.filter(ctx.now)?;
            ctx.check_agents(&f.agents).map_err(err)?;
            let t = types::compute(ctx, &f).map_err(err)?;
            let total: i64 = t.categories.iter().map(|c| c.runs).sum();
            let rows: Vec<Value> = t
                .categories
                .iter()
                .map(|c| {
                    json!({
                        "type": c.category,
                        "count": c.runs,
                        "percentage": percent(c.runs, total),
                        "avg_duration_ms": c.avg_duration_ms,
                        "success_rate": c.success_rate,
                        "common_tools": c.top_tools.iter().map(|t| t.tool.as_str()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Ok(json!({ "distribution": rows }))
        },
    )
    .await
}

/// `part` of `whole` in percent (0–100); 0 when the whole is 0.
fn percent(part: i64, whole: i64) -> f64 {
    if whole > 0 {
        part as f64 * 100.0 / whole as f64
    } else {
        0.0
    }
}

/// `GET /api/agents/performance/{agent_name}?days=7`: `analyze agent NAME --days N`.
pub(crate) async fn performance(
    axum::extract::State(state): axum::extract::State<State>,
    UrlPath(name): UrlPath<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    answer(
        state,
        q,
        &["days", "since", "until", "project", "session"],
        move |ctx, p| {
            let mut f = p.filter(ctx.now)?;
            if p.one("days").is_none() && p.one("since").is_none() {
                f.since = Some(ctx.now - 7 * DAY);
            }
            let f = ctx.narrowed(&f, &name).map_err(|e| match e {
                Error::UnknownAgent { .. } => ApiError {
                    status: StatusCode::NOT_FOUND,
                    ..ApiError::from_error(&e)
                },
                e => err(e),
            })?;
            let r = agent::compute(ctx, &f, &name, 5, 30, 5).map_err(err)?;
            Ok(performance_of(&name, r.as_ref()))
        },
    )
    .await
}

fn performance_of(name: &str, r: Option<&agent::AgentReport>) -> Value {
    let d = r.map(|r| r.duration.clone()).unwrap_or_default();
    json!({
        "agent_name": name,
        "total_executions": r.map_or(0, |r| r.runs),
        "success_rate": r.and_then(|r| r.success_rate),
        "performance": {
            "p50_duration_ms": d.p50_ms,
            "p95_duration_ms": d.p95_ms,
            "p99_duration_ms": d.p99_ms,
            "min_duration_ms": d.min_ms,
            "max_duration_ms": d.max_ms,
        },
        "token_usage": {
            "avg_tokens": r.and_then(|r| r.tokens.avg_per_run),
            "total_tokens": r.map_or(0, |r| r.tokens.total),
            "estimated_cost": r.map_or(0.0, |r| r.cost_usd),
        },
        "daily_trend": r.map(|r| r.daily.iter().map(|d| json!({
            "date": d.day,
            "executions": d.runs,
            "avg_duration_ms": d.avg_duration_ms,
            "success_rate": d.success_rate,
        })).collect::<Vec<_>>()).unwrap_or_default(),
    })
}

/// The spans `period` takes, and the default.
pub(super) const PERIODS: &[(&str, Option<i64>)] = &[
    ("hour", Some(HOUR)),
    ("day", Some(DAY)),
    ("week", Some(7 * DAY)),
    ("month", Some(30 * DAY)),
    ("all", None),
];

/// `GET /api/agents/tools/usage?period=day`: `analyze tools --since 24h` (or 1h, 7d, 30d, all).
pub(crate) async fn tools_usage(
    axum::extract::State(state): axum::extract::State<State>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    answer(
        state,
        q,
        &["period", "agent", "project", "session"],
        |ctx, p| {
            let period = p.one("period").unwrap_or("day").to_string();
            let span = PERIODS
                .iter()
                .find(|(n, _)| *n == period)
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "period '{period}': one of {}",
                        PERIODS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            let mut f = p.filter(ctx.now)?;
            f.since = span.map(|s| ctx.now - s);
            ctx.check_agents(&f.agents).map_err(err)?;
            let t = tools::compute(ctx, &f).map_err(err)?;
            Ok(tools_of(&period, &t))
        },
    )
    .await
}

fn tools_of(period: &str, t: &tools::Tools) -> Value {
    let rows: Vec<Value> = t
        .tools
        .iter()
        .map(|x| {
            json!({
                "name": x.tool,
                "usage_count": x.calls,
                "percentage": x.share * 100.0,
                "avg_per_execution": x.calls_per_run,
                "agents_using": x.agents,
            })
        })
        .collect();
    // Fewest calls; ties go to the first name alphabetically.
    let least = t
        .tools
        .iter()
        .min_by(|a, b| a.calls.cmp(&b.calls).then_with(|| a.tool.cmp(&b.tool)));
    let pair = t.pairs.first().filter(|p| p.lift > 1.0);
    json!({
        "period": period,
        "tools": rows,
        "insights": {
            "most_used_tool": t.tools.first().map(|x| x.tool.as_str()),
            "least_used_tool": least.map(|x| x.tool.as_str()),
            "high_correlation": pair.map(|p| json!({"tools": [p.a, p.b], "lift": p.lift, "support": p.support})),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        tool: &str,
        calls: i64,
        total: i64,
        runs_with_summary: i64,
        agents: i64,
    ) -> tools::ToolRow {
        tools::ToolRow {
            tool: tool.into(),
            calls,
            share: calls as f64 / total as f64,
            calls_per_run: Some(calls as f64 / runs_with_summary as f64),
            runs: 1,
            errors: 0,
            error_rate: Some(0.0),
            agents,
        }
    }

    #[test]
    fn tool_insights_by_hand() {
        // 10 calls over 4 summarized runs: Read 6, Bash 2, Edit 2 (tie: Bash first by name).
        let t = tools::Tools {
            summarized_runs: 4,
            total_calls: 10,
            min_pair_support: 2,
            tools: vec![
                row("Read", 6, 10, 4, 3),
                row("Bash", 2, 10, 4, 1),
                row("Edit", 2, 10, 4, 2),
            ],
            pairs: vec![tools::PairRow {
                a: "Edit".into(),
                b: "Read".into(),
                support: 2,
                lift: 1.5,
            }],
        };
        let v = tools_of("week", &t);
        assert_eq!(v["period"], "week");
        assert_eq!(v["tools"][0]["name"], "Read");
        assert_eq!(v["tools"][0]["usage_count"], 6);
        assert_eq!(v["tools"][0]["percentage"], 60.0);
        assert_eq!(v["tools"][0]["avg_per_execution"], 1.5);
        assert_eq!(v["tools"][0]["agents_using"], 3);
        assert_eq!(v["insights"]["most_used_tool"], "Read");
        assert_eq!(v["insights"]["least_used_tool"], "Bash");
        assert_eq!(
            v["insights"]["high_correlation"],
            json!({"tools": ["Edit", "Read"], "lift": 1.5, "support": 2})
        );
        // A best pair no likelier than chance is no correlation.
        let mut t2 = t.clone();
        t2.pairs[0].lift = 1.0;
        assert_eq!(
            tools_of("week", &t2)["insights"]["high_correlation"],
            Value::Null
        );
        assert_eq!(percent(3, 7) * 7.0, 300.0);
        assert_eq!(percent(1, 0), 0.0);
    }
}
