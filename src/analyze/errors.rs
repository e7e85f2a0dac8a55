//! `analyze errors`: recent failures, newest first. Failed runs carry their error message
//! (redacted when it was stored); lost runs (started, never stopped) are listed too, marked as
//! such, because to the user they are failures just the same. Prompt turns that ended on an API
//! error (StopFailure) are listed beside them unless the report is narrowed to agents.
//! Delegations the guard denied (docs/guard.md) are listed too, as `denied` with the guard's
//! reason: no agent ran, so they are not failures of an agent, but the user asked for one.

use super::{Ctx, Filter};
use crate::error::Result;
use crate::render::{self, Grid, Report};
use crate::vocab::{DelegationStatus, RunStatus};
use rusqlite::params_from_iter;
use serde::Serialize;
use serde_json::{json, Value};

/// Arguments of `analyze errors`.
#[derive(clap::Args, Debug, Clone)]
pub struct ErrorsArgs {
    /// One agent type (default: every agent).
    pub agent: Option<String>,
    /// How many failures to list.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// One failed or lost run, or a turn that ended on an API error.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorRow {
    /// `agent` (a run), `turn` (a prompt turn's StopFailure) or `delegation` (an Agent tool
    /// call the guard denied: no agent ran).
    pub kind: &'static str,
    /// When it failed (the run's end), or for a lost run when it started.
    pub time: String,
    #[serde(skip)]
    pub time_ms: i64,
    /// The agent type (for a denied delegation, the type requested); `(turn)` for a turn.
    pub agent: String,
    /// `failure`, `lost` or `denied`.
    pub status: String,
    /// The run's task description, or the turn's prompt (first 80 characters).
    pub description: Option<String>,
    /// The error message as stored (redacted at store time), the guard's reason for a denial;
    /// None for lost runs.
    pub error: Option<String>,
    pub session: Option<String>,
    /// The run's agent id (None for a turn or a denial).
    pub agent_id: Option<String>,
    /// The workflow (prompt id) the run or turn belongs to.
    pub workflow_id: Option<String>,
}

/// The errors report.
#[derive(Debug, Clone, Serialize)]
pub struct Errors {
    pub errors: Vec<ErrorRow>,
}

/// The newest `limit` failed runs matching `w` (over `agent_runs r`), with `cols` and the time
/// they failed: through `runs_failed`, or `runs_failed_type` for one agent type, newest first.
fn failed_runs_sql(cols: &str, w: &str, limit: usize) -> String {
    format!(
        "SELECT {cols}, coalesce(r.end_ms, r.start_ms, 0) FROM agent_runs r
         WHERE r.status = '{failure}' AND {w} ORDER BY r.end_ms DESC, r.id DESC LIMIT {limit}",
        failure = RunStatus::Failure
    )
}

/// The `limit` most recent failed or lost runs matching `filter`, newest first.
///
/// Two index-backed queries (`runs_failed` or, for agent types, `runs_failed_type` by end time;
/// `runs_open` by start time), each limited, merged here: never a pass over every run.
pub fn compute(ctx: &Ctx, filter: &Filter, limit: usize) -> Result<Errors> {
    let c = ctx.store.conn();
    let (w, p) = filter.runs_where();
    let cols = "r.agent_id, r.agent_type, r.description, r.error, r.session_id, r.workflow_id";
    let failed = failed_runs_sql(cols, &w, limit);
    let lost = format!(
        "SELECT {cols}, coalesce(r.start_ms, 0) FROM agent_runs r
         WHERE r.end_ms IS NULL AND r.status = '{running}' AND (r.start_ms < {lb} OR r.start_ms IS NULL) AND {w}
         ORDER BY r.start_ms DESC, r.id DESC LIMIT {limit}",
        lb = ctx.lost_before(),
        running = RunStatus::Running
    );
    let mut errors = Vec::new();
    for (sql, status) in [(failed, RunStatus::Failure), (lost, RunStatus::Lost)] {
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
            let time_ms: i64 = r.get(6)?;
            Ok(ErrorRow {
                kind: "agent",
                time: crate::timeparse::format_ms(time_ms),
                time_ms,
                agent: r.get(1)?,
                status: status.to_string(),
                description: r.get(2)?,
                error: r.get(3)?,
                session: r.get(4)?,
                agent_id: r.get(0)?,
                workflow_id: r.get(5)?,
            })
        })?;
        for row in rows {
            errors.push(row?);
        }
    }
    errors.extend(denials(ctx, filter, limit)?);
    if filter.agents.is_empty() {
        let (w, p) = filter.workflows_where();
        let mut stmt = c.prepare(&turn_errors_sql(&w, limit))?;
        let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
            let time_ms: i64 = r.get(4)?;
            Ok(ErrorRow {
                kind: "turn",
                time: crate::timeparse::format_ms(time_ms),
                time_ms,
                agent: "(turn)".into(),
                status: RunStatus::Failure.to_string(),
                description: r
                    .get::<_, Option<String>>(1)?
                    .map(|p| render::excerpt(&p, 80)),
                error: r.get(2)?,
                session: r.get(3)?,
                agent_id: None,
                workflow_id: r.get(0)?,
            })
        })?;
        for row in rows {
            errors.push(row?);
        }
    }
    errors.sort_by(|a, b| {
        b.time_ms
            .cmp(&a.time_ms)
            .then_with(|| a.agent_id.cmp(&b.agent_id))
            .then_with(|| a.workflow_id.cmp(&b.workflow_id))
    });
    errors.truncate(limit);
    Ok(Errors { errors })
}

/// The `limit` most recent failed turns matching `w` (over `workflows` aliased `w`), newest end
/// first: a walk down the `workflows_errors` index (failed turns only, a few in a hundred), never
/// the window's workflows. Named, because without statistics SQLite prefers `workflows_start`
/// for a window with both ends and then reads every turn in it.
fn turn_errors_sql(w: &str, limit: usize) -> String {
    format!(
        "SELECT w.workflow_id, w.prompt, w.error, w.session_id, coalesce(w.end_ms, w.start_ms, 0)
         FROM workflows w INDEXED BY workflows_errors
         WHERE w.error IS NOT NULL AND {w} ORDER BY w.end_ms DESC LIMIT {limit}"
    )
}

/// The `limit` most recent delegations the guard denied (the `delegations_denied` index).
fn denials(ctx: &Ctx, filter: &Filter, limit: usize) -> Result<Vec<ErrorRow>> {
    let (w, p) = filter.delegations_where();
    let mut stmt = ctx.store.conn().prepare(&format!(
        "SELECT d.subagent_type, d.description, d.error, d.session_id, d.prompt_id, coalesce(d.end_ms, d.ts, 0)
         FROM delegations d WHERE d.status = '{denied}' AND {w} ORDER BY d.end_ms DESC LIMIT {limit}",
        denied = DelegationStatus::Denied
    ))?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        let time_ms: i64 = r.get(5)?;
        Ok(ErrorRow {
            kind: "delegation",
            time: crate::timeparse::format_ms(time_ms),
            time_ms,
            agent: r
                .get::<_, Option<String>>(0)?
                .unwrap_or_else(|| "general-purpose".into()),
            status: DelegationStatus::Denied.to_string(),
            description: r.get(1)?,
            error: r.get(2)?,
            session: r.get(3)?,
            agent_id: None,
            workflow_id: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Table rows shared with `analyze agent` (which leaves out the agent column).
pub(crate) fn error_cells(e: &ErrorRow, with_agent: bool) -> Vec<String> {
    let message = match (&e.error, RunStatus::parse(&e.status)) {
        (_, Some(RunStatus::Lost)) => "(lost: never stopped)".to_string(),
        (Some(m), _) => render::clip(m, 90),
        (None, _) => "-".to_string(),
    };
    let mut cells = vec![render::timestamp(e.time_ms)];
    if with_agent {
        cells.push(e.agent.clone());
    }
    cells.push(e.status.clone());
    cells.push(render::clip(e.description.as_deref().unwrap_or(""), 40));
    cells.push(message);
    if with_agent {
        cells.push(render::id_prefix(e.session.as_deref().unwrap_or("")));
    }
    cells
}

impl Report for Errors {
    fn command(&self) -> &'static str {
        "errors"
    }
    fn json(&self) -> Value {
        json!({ "errors": self.errors })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&[
            "Time (UTC)",
            "Agent",
            "Status",
            "Description",
            "Error",
            "Session",
        ]);
        g.rows = self.errors.iter().map(|e| error_cells(e, true)).collect();
        vec![g]
    }
}

/// Runs `analyze errors`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &ErrorsArgs, format: render::Format) -> Result<bool> {
    let filter = match &args.agent {
        Some(a) => ctx.narrowed(filter, a)?,
        None => filter.clone(),
    };
    let report = compute(ctx, &filter, args.limit)?;
    if report.errors.is_empty() {
        eprintln!("analyze: no failed or lost runs (or failed turns, or denied delegations) match");
        return Ok(false);
    }
    render::print(&report, format)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use rusqlite::types::Value as SqlValue;

    /// The steps of `sql`'s query plan with parameters `p`.
    fn plan(store: &Store, sql: &str, p: &[SqlValue]) -> Vec<String> {
        let mut stmt = store
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        stmt.query_map(params_from_iter(p.iter()), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// The failed turns are found through `workflows_errors`, with and without a window: a
    /// window of a million runs holds tens of thousands of turns, of which a handful failed.
    #[test]
    fn failed_turns_are_read_from_their_index() {
        let store = Store::in_memory().unwrap();
        let windows = [
            Filter::default(),
            Filter {
                since: Some(1_000),
                until: Some(2_000),
                ..Filter::default()
            },
            Filter {
                session: Some("s1".into()),
                project: Some("/p".into()),
                ..Filter::default()
            },
        ];
        for filter in windows {
            let (w, p) = filter.workflows_where();
            let sql = turn_errors_sql(&w, 5);
            assert_eq!(
                plan(&store, &sql, &p),
                ["SCAN w USING INDEX workflows_errors"],
                "{sql}"
            );
        }
    }

    /// A type's newest failures come from `runs_failed_type` in order, every type's from
    /// `runs_failed`: without the first, `agent general-purpose` read the 220k runs of the type
    /// at 1M runs to list ten.
    #[test]
    fn failed_runs_are_read_newest_first_from_an_index() {
        let store = Store::in_memory().unwrap();
        let cases = [
            (Filter::default(), "SCAN r USING INDEX runs_failed"),
            (
                Filter {
                    agents: vec!["general-purpose".into()],
                    ..Filter::default()
                },
                "SEARCH r USING INDEX runs_failed_type (agent_type=?)",
            ),
        ];
        for (filter, step) in cases {
            let (w, p) = filter.runs_where();
            let sql = failed_runs_sql("r.agent_id", &w, 5);
            assert_eq!(plan(&store, &sql, &p), [step], "{sql}");
        }
    }
}
