//! The rules: what fires now (docs/metrics.md, "Alerts"). Read-only; each rule is one or two
//! queries over an index (`runs_end`, `runs_type_start`, `runs_open`, `runs_start`, `usage_ts`,
//! `delegations_denied`), so an evaluation stays fast at a million runs.

use super::{Alert, Inputs, Rule, Severity};
use crate::query::{spend, stats};
use crate::render;
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;
/// The `duration` rule's baseline: the 7 days before the recent window.
const BASELINE_DAYS: i64 = 7;

// The rules' queries, each answered by an index (the test below checks their plans).
const SUCCESS_SQL: &str = "SELECT agent_type, sum(status = 'success'), count(*) FROM agent_runs
    WHERE internal = 0 AND end_ms IS NOT NULL AND end_ms > ?1 AND end_ms <= ?2
      AND status IN ('success', 'failure')
    GROUP BY agent_type ORDER BY agent_type";
const RECENT_DURATIONS_SQL: &str = "SELECT agent_type, duration_ms FROM agent_runs
    WHERE internal = 0 AND end_ms IS NOT NULL AND end_ms > ?1 AND end_ms <= ?2
      AND duration_ms IS NOT NULL";
const BASELINE_SQL: &str = "SELECT duration_ms FROM agent_runs
    WHERE internal = 0 AND agent_type = ?1 AND start_ms >= ?2 AND start_ms < ?3
      AND end_ms IS NOT NULL AND end_ms <= ?3 AND duration_ms IS NOT NULL";
const SESSIONS_TODAY_SQL: &str =
    "SELECT DISTINCT session_id FROM usage INDEXED BY usage_ts WHERE ts IS NOT NULL AND ts >= ?1";
const ACTIVE_SQL: &str = "SELECT count(*) FROM agent_runs
    WHERE end_ms IS NULL AND status = 'running' AND start_ms >= ?1 AND internal = 0";
const SPAWN_SQL: &str = "SELECT session_id, count(*) FROM agent_runs
    WHERE start_ms > ?1 AND start_ms <= ?2 AND internal = 0 AND session_id IS NOT NULL
    GROUP BY session_id HAVING count(*) > ?3 ORDER BY session_id";
const HUNG_SQL: &str = "SELECT agent_id, agent_type, start_ms FROM agent_runs
    WHERE end_ms IS NULL AND status = 'running' AND start_ms >= ?1 AND start_ms < ?2
      AND internal = 0
    ORDER BY start_ms";
const GUARD_SQL: &str = "SELECT coalesce(session_id, ''), error FROM delegations
    WHERE status = 'denied' AND end_ms > ?1 AND end_ms <= ?2
    ORDER BY end_ms";

/// Every alert firing at `inputs.now`, in a stable order (rule, subject).
pub(super) fn firing(conn: &Connection, inputs: &Inputs<'_>) -> rusqlite::Result<Vec<Alert>> {
    let mut out = Vec::new();
    out.extend(success_rate(conn, inputs)?);
    out.extend(duration(conn, inputs)?);
    out.extend(budget(conn, inputs)?);
    out.extend(runaway(conn, inputs)?);
    out.extend(hung(conn, inputs)?);
    out.extend(guard(conn, inputs)?);
    out.sort_by(|a, b| (a.rule, &a.subject).cmp(&(b.rule, &b.subject)));
    Ok(out)
}

fn alert(rule: Rule, subject: &str, severity: Severity, value: f64, threshold: f64) -> Alert {
    Alert {
        rule,
        subject: subject.to_string(),
        severity,
        value,
        threshold,
        message: String::new(),
    }
}

/// `success_rate`: per agent type, the success and failure runs that ended in
/// (now − window, now]; fires when there are at least `success_min_runs`, the rate is below
/// `success_rate_below` and, when `success_max_p_value` is set, the exact binomial test says the
/// shortfall is not chance.
fn success_rate(conn: &Connection, i: &Inputs<'_>) -> rusqlite::Result<Vec<Alert>> {
    let c = i.cfg;
    let mut stmt = conn.prepare_cached(SUCCESS_SQL)?;
    let rows = stmt.query_map(
        params![i.now - c.success_window_minutes * MINUTE, i.now],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (agent, ok, n) = row?;
        let rate = ok as f64 / n as f64;
        if n < c.success_min_runs || rate >= c.success_rate_below {
            continue;
        }
        // The optional test: P(X ≤ ok) for X ~ Binomial(n, success_rate_below).
        let p = c
            .success_max_p_value
            .map(|_| stats::binomial_cdf(ok, n, c.success_rate_below));
        if p.zip(c.success_max_p_value).is_some_and(|(p, a)| p > a) {
            continue;
        }
        let mut a = alert(
            Rule::SuccessRate,
            &agent,
            Severity::Warning,
            rate,
            c.success_rate_below,
        );
        a.message = format!(
            "{agent}: {ok} of {n} runs succeeded ({}) in the last {} min, below {}{}",
            render::pct(Some(rate)),
            c.success_window_minutes,
            render::pct(Some(c.success_rate_below)),
            p.map(|p| format!(" (p = {p:.4})")).unwrap_or_default()
        );
        out.push(a);
    }
    Ok(out)
}

/// `duration`: per agent type, the p50 duration of the runs that ended in the recent window
/// against the p50 of the runs that started and ended in the 7 days before it.
fn duration(conn: &Connection, i: &Inputs<'_>) -> rusqlite::Result<Vec<Alert>> {
    let c = i.cfg;
    let cut = i.now - c.duration_window_minutes * MINUTE;
    let mut recent: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    {
        let mut stmt = conn.prepare_cached(RECENT_DURATIONS_SQL)?;
        let mut rows = stmt.query(params![cut, i.now])?;
        while let Some(r) = rows.next()? {
            recent.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
    }
    let mut base_stmt = conn.prepare_cached(BASELINE_SQL)?;
    let mut out = Vec::new();
    for (agent, mut xs) in recent {
        if (xs.len() as i64) < c.duration_min_recent {
            continue;
        }
        let mut base: Vec<i64> = base_stmt
            .query_map(params![agent, cut - BASELINE_DAYS * DAY, cut], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if (base.len() as i64) < c.duration_min_baseline {
            continue;
        }
        xs.sort_unstable();
        base.sort_unstable();
        let (Some(p50), Some(b50)) = (stats::percentile(&xs, 0.5), stats::percentile(&base, 0.5))
        else {
            continue;
        };
        let limit = c.duration_factor * b50;
        if p50 > limit {
            let mut a = alert(Rule::Duration, &agent, Severity::Warning, p50, limit);
            a.message = format!(
                "{agent}: p50 {} over its last {} runs ({} min), above {}× its 7-day p50 of {}",
                render::dur(Some(p50)),
                xs.len(),
                c.duration_window_minutes,
                c.duration_factor,
                render::dur(Some(b50))
            );
            out.push(a);
        }
    }
    Ok(out)
}

/// `budget`: today's cost and tokens (since local midnight), and each session with a model
/// response today, against the budgets that are set.
fn budget(conn: &Connection, i: &Inputs<'_>) -> rusqlite::Result<Vec<Alert>> {
    let c = i.cfg;
    let mut out = Vec::new();
    if c.daily_cost_usd.is_some() || c.daily_tokens.is_some() {
        let today = spend::today(conn, i.prices, i.now)?;
        if let Some(limit) = c.daily_cost_usd.filter(|l| today.cost_usd > *l) {
            let mut a = alert(
                Rule::Budget,
                "daily_cost_usd",
                Severity::Critical,
                today.cost_usd,
                limit,
            );
            a.message = format!(
                "today's cost {} is over the daily budget of {}",
                render::usd(Some(today.cost_usd)),
                render::usd(Some(limit))
            );
            out.push(a);
        }
        if let Some(limit) = c.daily_tokens.filter(|l| today.tokens > *l) {
            let mut a = alert(
                Rule::Budget,
                "daily_tokens",
                Severity::Critical,
                today.tokens as f64,
                limit as f64,
            );
            a.message = format!(
                "today's {} tokens are over the daily budget of {}",
                render::int(today.tokens),
                render::int(limit)
            );
            out.push(a);
        }
    }
    if let Some(limit) = c.session_cost_usd {
        let mut stmt = conn.prepare_cached(SESSIONS_TODAY_SQL)?;
        let sessions: Vec<String> = stmt
            .query_map([spend::day_start_ms(i.now)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for sid in sessions {
            let s = spend::session(conn, i.prices, &sid)?;
            if s.cost_usd > limit {
                let mut a = alert(Rule::Budget, &sid, Severity::Critical, s.cost_usd, limit);
                a.message = format!(
                    "session {} has cost {}, over the session budget of {}",
                    render::id_prefix(&sid),
                    render::usd(Some(s.cost_usd)),
                    render::usd(Some(limit))
                );
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// `runaway`: more than `max_active_agents` running now (subject ''), or a session that
/// started more than `spawn_max_agents` in the last `spawn_window_minutes` (subject: session).
fn runaway(conn: &Connection, i: &Inputs<'_>) -> rusqlite::Result<Vec<Alert>> {
    let c = i.cfg;
    let lost_before = i.now - i.lost_after_minutes * MINUTE;
    let active: i64 = conn.query_row(ACTIVE_SQL, [lost_before], |r| r.get(0))?;
    let mut out = Vec::new();
    if active > c.max_active_agents {
        let mut a = alert(
            Rule::Runaway,
            "",
            Severity::Critical,
            active as f64,
            c.max_active_agents as f64,
        );
        a.message = format!(
            "{active} agents running at once, more than {}: a possible runaway",
            c.max_active_agents
        );
        out.push(a);
    }
    let mut stmt = conn.prepare_cached(SPAWN_SQL)?;
    let rows = stmt.query_map(
        params![
            i.now - c.spawn_window_minutes * MINUTE,
            i.now,
            c.spawn_max_agents
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
    )?;
    for row in rows {
        let (sid, n) = row?;
        let mut a = alert(
            Rule::Runaway,
            &sid,
            Severity::Critical,
            n as f64,
            c.spawn_max_agents as f64,
        );
        a.message = format!(
            "session {} started {n} agents in the last {} min, more than {}: a possible runaway",
            render::id_prefix(&sid),
            c.spawn_window_minutes,
            c.spawn_max_agents
        );
        out.push(a);
    }
    Ok(out)
}

/// `hung`: each agent running (not yet lost) for longer than `hung_after_minutes`; subject: the
/// agent id, value: minutes running.
fn hung(conn: &Connection, i: &Inputs<'_>) -> rusqlite::Result<Vec<Alert>> {
    let limit = i.hung_minutes();
    let mut stmt = conn.prepare_cached(HUNG_SQL)?;
    let rows = stmt.query_map(
        params![
            i.now - i.lost_after_minutes * MINUTE,
            i.now - limit * MINUTE
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, agent, start) = row?;
        let minutes = (i.now - start) as f64 / MINUTE as f64;
        let mut a = alert(Rule::Hung, &id, Severity::Warning, minutes, limit as f64);
        a.message = format!(
            "{agent} ({}) has been running for {}, longer than {limit} min: possibly hung",
            render::id_prefix(&id),
            render::dur(Some((i.now - start) as f64))
        );
        out.push(a);
    }
    Ok(out)
}

/// `guard`: per session, the delegations the opt-in guard denied in the last
/// `guard_window_minutes` (fires from one).
fn guard(conn: &Connection, i: &Inputs<'_>) -> rusqlite::Result<Vec<Alert>> {
    let c = i.cfg;
    let mut stmt = conn.prepare_cached(GUARD_SQL)?;
    let rows = stmt.query_map(
        params![i.now - c.guard_window_minutes * MINUTE, i.now],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
    )?;
    // Per session: denials, and the last one's reason.
    let mut by: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for row in rows {
        let (sid, reason) = row?;
        let e = by.entry(sid).or_default();
        e.0 += 1;
        if reason.is_some() {
            e.1 = reason;
        }
    }
    Ok(by
        .into_iter()
        .map(|(sid, (n, reason))| {
            let mut a = alert(Rule::Guard, &sid, Severity::Warning, n as f64, 0.0);
            let last = reason
                // The reason's first sentence names the limit (docs/guard.md); the rest says how
                // to change it, which a one-line message does without.
                .map(|r| {
                    let first = r.split_once(". ").map_or(r.as_str(), |(s, _)| s);
                    format!(" (last: {})", render::excerpt(first, 160))
                })
                .unwrap_or_default();
            a.message = format!(
                "the guard denied {n} delegation{} in session {} in the last {} min{last}",
                if n == 1 { "" } else { "s" },
                render::id_prefix(&sid),
                c.guard_window_minutes
            );
            a
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every query of the rules reads an index, never a whole table: evaluation stays fast at
    /// a million runs (docs/performance.md, "alerts").
    #[test]
    fn every_query_searches_an_index() {
        let store = crate::store::Store::in_memory().unwrap();
        for sql in [
            SUCCESS_SQL,
            RECENT_DURATIONS_SQL,
            BASELINE_SQL,
            SESSIONS_TODAY_SQL,
            ACTIVE_SQL,
            SPAWN_SQL,
            HUNG_SQL,
            GUARD_SQL,
        ] {
            let mut stmt = store
                .conn()
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let n = stmt.parameter_count();
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(std::iter::repeat_n(0, n)), |r| {
                    r.get(3)
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                plan.iter().all(|l| !l.starts_with("SCAN "))
                    && plan.iter().any(|l| l.contains("INDEX")),
                "{sql}\n{plan:#?}"
            );
        }
    }
}
