//! One prompt turn as the live stream reports it: its row and its user agent runs, loaded into
//! the workflows report's own [`Loaded`] so that its status and duration are decided by the
//! readers' rule (docs/metrics.md, "Workflow status"), never a copy of it.

use crate::analyze::workflows::{Loaded, Span, Status, LOADED_COLUMNS};
use crate::analyze::Ctx;
use crate::error::Result;
use crate::query::sql::TOKENS_SQL;
use rusqlite::{params, Row};
use serde_json::{json, Map, Value};

/// The `workflows` columns [`from_row`] reads, `w` aliased, starting at column 0: the workflows
/// report's own, then the prompt.
pub(crate) fn columns() -> String {
    format!("{LOADED_COLUMNS}, w.prompt")
}

/// A turn read from a row selected with [`columns`] first, with its agent runs (ordered by
/// start, each with its effective status), and its prompt.
pub(crate) fn from_row(ctx: &Ctx, r: &Row) -> Result<(Loaded, Option<String>)> {
    let id: String = r.get(0)?;
    let agents = spans(ctx, &id)?;
    Ok((Loaded::from_row(r, id, agents, Vec::new())?, r.get(10)?))
}

/// The user agent runs of one workflow (the `runs_workflow` index), as `for_each` loads them.
fn spans(ctx: &Ctx, workflow_id: &str) -> Result<Vec<Span>> {
    let sql = format!(
        "SELECT r.agent_type, r.depth, r.start_ms, r.end_ms, {st}, {TOKENS_SQL}, r.cost_usd
         FROM agent_runs r WHERE r.workflow_id = ?1 AND r.internal = 0 ORDER BY r.start_ms, r.id",
        st = ctx.status_sql()
    );
    let mut stmt = ctx.store.conn().prepare_cached(&sql)?;
    let rows = stmt.query_map(params![workflow_id], |r| {
        Ok(Span {
            agent_type: r.get(0)?,
            depth: r.get(1)?,
            start_ms: r.get(2)?,
            end_ms: r.get(3)?,
            status: r.get(4)?,
            tokens: r.get(5)?,
            cost_usd: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The event data of a turn whose status is `status`.
pub(crate) fn data(turn: &Loaded, prompt: Option<&str>, status: Status) -> Value {
    let mut by_status = Map::new();
    for a in &turn.agents {
        let n = by_status.entry(a.status.clone()).or_insert(json!(0));
        *n = json!(n.as_i64().unwrap_or(0) + 1);
    }
    json!({
        "workflow_id": turn.id,
        "session_id": turn.session_id,
        "prompt": prompt.map(|p| crate::render::clip(p, 80)),
        "status": status,
        "error": turn.error,
        "start": turn.start_ms.map(crate::timeparse::format_ms),
        "end": turn.end_ms.map(crate::timeparse::format_ms),
        "duration_ms": turn.duration_ms(),
        "agents": turn.agents.len(),
        "agent_statuses": by_status,
    })
}
