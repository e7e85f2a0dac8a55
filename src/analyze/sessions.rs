//! `analyze sessions`: per Claude Code session, its prompt turns, agents, and the tokens and cost
//! of the main agent and of its subagents. The session cost is every de-duplicated model
//! response of the session priced by model, so it matches Claude Code's `total_cost_usd`.

use super::{Ctx, Filter};
use crate::error::Result;
use crate::render::{self, Grid, Report};
use crate::vocab::{RunStatus, WorkflowKind};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Tokens and cost of one model within a session.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ModelUsage {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    /// None: no price known for this model.
    pub cost_usd: Option<f64>,
}

/// One session.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionRow {
    pub session_id: String,
    pub project: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub turns: i64,
    pub agents: i64,
    pub agents_by_type: BTreeMap<String, i64>,
    /// Agents that ran to completion (Claude Code's `completed`).
    pub agents_completed: i64,
    /// Agents that died (Claude Code's `failed`).
    pub agents_failed: i64,
    pub agents_cancelled: i64,
    pub max_depth: i64,
    pub main_tokens: i64,
    pub main_cost_usd: Option<f64>,
    pub subagent_tokens: i64,
    pub subagent_cost_usd: Option<f64>,
    pub total_tokens: i64,
    pub total_cost_usd: Option<f64>,
    pub models: BTreeMap<String, ModelUsage>,
}

/// The sessions report.
#[derive(Debug, Clone, Serialize)]
pub struct Sessions {
    pub sessions: Vec<SessionRow>,
}

fn add_cost(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

/// Sessions matching the filter (time bounds apply to the session's start), newest first.
pub fn compute(ctx: &Ctx, filter: &Filter, limit: usize) -> Result<Sessions> {
    let c = ctx.store.conn();
    let (w, p) = filter.sessions_where();
    let sql = format!(
        "SELECT s.session_id, s.cwd, s.start_ms, coalesce(s.end_ms, s.last_ms) FROM sessions s WHERE {w}
         ORDER BY s.start_ms DESC LIMIT {limit}"
    );
    let mut stmt = c.prepare(&sql)?;
    type Head = (String, Option<String>, Option<i64>, Option<i64>);
    let heads: Vec<Head> = stmt
        .query_map(rusqlite::params_from_iter(p.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let st = ctx.status_sql();
    let mut sessions = Vec::new();
    for (sid, cwd, start, end) in heads {
        let turns: i64 = c.query_row(
            "SELECT count(*) FROM workflows WHERE session_id = ?1 AND kind = ?2",
            rusqlite::params![sid, WorkflowKind::Turn.as_str()],
            |r| r.get(0),
        )?;
        let mut by_type = BTreeMap::new();
        let (mut agents, mut completed, mut failed, mut cancelled, mut max_depth) = (0, 0, 0, 0, 0);
        let mut q = c.prepare_cached(&format!(
            "SELECT r.agent_type, {st}, r.depth FROM agent_runs r WHERE r.session_id = ?1 AND r.internal = 0"
        ))?;
        for row in q.query_map([&sid], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (t, status, depth) = row?;
            agents += 1;
            *by_type.entry(t).or_insert(0) += 1;
            match RunStatus::parse(&status) {
                Some(RunStatus::Success) => completed += 1,
                Some(RunStatus::Failure | RunStatus::Lost) => failed += 1,
                Some(RunStatus::Cancelled) => cancelled += 1,
                _ => {}
            }
            max_depth = max_depth.max(depth);
        }
        let mut models: BTreeMap<String, ModelUsage> = BTreeMap::new();
        let mut main_tokens = 0;
        let mut main_cost = Some(0.0);
        for (is_main, agent) in [(true, Some("")), (false, None)] {
            for (model, t) in crate::pricing::usage_by_model(c, &ctx.prices, &sid, agent)? {
                if is_main {
                    main_tokens += t.tokens();
                    main_cost = add_cost(main_cost, t.cost_usd);
                    continue; // counted again below, with every agent
                }
                let m = models.entry(model).or_insert_with(|| ModelUsage {
                    cost_usd: Some(0.0),
                    ..Default::default()
                });
                m.input_tokens += t.input;
                m.output_tokens += t.output;
                m.cache_read_tokens += t.cache_read;
                m.cache_write_tokens += t.cache_write;
                m.cost_usd = add_cost(m.cost_usd, t.cost_usd);
            }
        }
        let all_tokens: i64 = models
            .values()
            .map(|m| m.input_tokens + m.output_tokens + m.cache_read_tokens + m.cache_write_tokens)
            .sum();
        let all_cost = models
            .values()
            .try_fold(0.0, |acc, m| m.cost_usd.map(|c| acc + c));
        let sub_tokens = all_tokens - main_tokens;
        let sub_cost = match (all_cost, main_cost) {
            (Some(a), Some(m)) => Some(a - m),
            _ => None,
        };
        sessions.push(SessionRow {
            session_id: sid,
            project: cwd,
            start: start.map(crate::timeparse::format_ms),
            end: end.map(crate::timeparse::format_ms),
            turns,
            agents,
            agents_by_type: by_type,
            agents_completed: completed,
            agents_failed: failed,
            agents_cancelled: cancelled,
            max_depth,
            main_tokens,
            main_cost_usd: main_cost,
            subagent_tokens: sub_tokens,
            subagent_cost_usd: sub_cost,
            total_tokens: main_tokens + sub_tokens,
            total_cost_usd: add_cost(main_cost, sub_cost),
            models,
        });
    }
    Ok(Sessions { sessions })
}

impl Report for Sessions {
    fn command(&self) -> &'static str {
        "sessions"
    }
    fn json(&self) -> Value {
        json!({ "sessions": self.sessions })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&[
            "Session",
            "Project",
            "Started",
            "Turns",
            "Agents",
            "Failed",
            "Main tokens",
            "Main cost",
            "Agent tokens",
            "Agent cost",
            "Total cost",
        ])
        .numeric(&[3, 4, 5, 6, 7, 8, 9, 10]);
        g.rows = self
            .sessions
            .iter()
            .map(|s| {
                vec![
                    render::id_prefix(&s.session_id),
                    s.project.clone().unwrap_or_default(),
                    s.start
                        .clone()
                        .unwrap_or_default()
                        .replace('T', " ")
                        .chars()
                        .take(16)
                        .collect(),
                    render::int(s.turns),
                    render::int(s.agents),
                    render::int(s.agents_failed),
                    render::int(s.main_tokens),
                    render::usd(s.main_cost_usd),
                    render::int(s.subagent_tokens),
                    render::usd(s.subagent_cost_usd),
                    render::usd(s.total_cost_usd),
                ]
            })
            .collect();
        vec![g]
    }
}
