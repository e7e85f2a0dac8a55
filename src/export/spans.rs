//! Agent runs and their turns as OTLP spans (OpenTelemetry GenAI conventions), with ids derived
//! from the recorded ids so that exporting twice sends the same spans (docs/export.md, "Spans").

use super::proto::{Attr, Span, Value, KIND_INTERNAL};
use crate::analyze::Ctx;
use crate::error::Result;
use crate::util::fnv1a_parts;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Row};

/// The trace of everything recorded under `key` (a session id, or an explicit workflow's id
/// when it has no session): 128 bits from two differently keyed 64-bit hashes.
pub fn trace_id(key: &str) -> [u8; 16] {
    let a = fnv1a_parts(&[b"agent-telemetry trace", key.as_bytes()]);
    let b = fnv1a_parts(&[b"agent-telemetry trace 2", key.as_bytes()]);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&a.to_be_bytes());
    id[8..].copy_from_slice(&b.to_be_bytes());
    id
}

/// The span of an agent run (`kind` "run", its agent id) or a workflow ("workflow", its id).
pub fn span_id(kind: &str, id: &str) -> [u8; 8] {
    // Never all zero (an invalid id in OTLP): a hash of exactly zero becomes one.
    fnv1a_parts(&[b"agent-telemetry span", kind.as_bytes(), id.as_bytes()])
        .max(1)
        .to_be_bytes()
}

/// A user agent run as exported: the `agent_runs` row and what the span needs around it.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub agent_id: String,
    pub trace_key: String,
    pub workflow_id: Option<String>,
    /// The workflow has ended (its span can be sent), or the run has no workflow.
    pub workflow_ended: bool,
    pub parent_agent_id: Option<String>,
    pub agent_type: String,
    pub category: String,
    pub description: Option<String>,
    pub complexity: i64,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// The effective status (docs/metrics.md, "Run status").
    pub status: String,
    pub error: Option<String>,
    pub model: Option<String>,
    /// input, output, cache read, cache creation.
    pub tokens: [i64; 4],
    pub cost_usd: Option<f64>,
    pub tool_calls: i64,
    pub tool_errors: i64,
    pub depth: i64,
}

impl RunRow {
    /// Finished: it has an end and a final status (what `--follow` waits for).
    pub fn finished(&self) -> bool {
        self.end_ms.is_some() && self.status != "running" && self.status != "lost"
    }

    /// The span id of this run.
    pub fn span_id(&self) -> [u8; 8] {
        span_id("run", &self.agent_id)
    }
}

/// The columns [`run_from_row`] reads, `r` the run and `w` its workflow (LEFT JOIN).
fn run_columns(ctx: &Ctx) -> String {
    format!(
        "r.id, r.agent_id, CASE WHEN r.workflow_id IS NOT NULL AND w.workflow_id IS NOT NULL
             THEN coalesce(w.session_id, w.workflow_id) ELSE coalesce(r.session_id, r.agent_id) END,
         r.workflow_id, (w.workflow_id IS NULL OR w.end_ms IS NOT NULL), r.parent_agent_id,
         r.agent_type, r.category, r.description, r.complexity, r.start_ms, r.end_ms, {st}, r.error,
         r.model, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens,
         r.cost_usd, r.tool_calls, r.tool_errors, r.depth",
        st = ctx.status_sql()
    )
}

fn run_from_row(r: &Row) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        trace_key: r.get(2)?,
        workflow_id: r.get(3)?,
        workflow_ended: r.get(4)?,
        parent_agent_id: r.get(5)?,
        agent_type: r.get(6)?,
        category: r.get(7)?,
        description: r.get(8)?,
        complexity: r.get(9)?,
        start_ms: r.get(10)?,
        end_ms: r.get(11)?,
        status: r.get(12)?,
        error: r.get(13)?,
        model: r.get(14)?,
        tokens: [r.get(15)?, r.get(16)?, r.get(17)?, r.get(18)?],
        cost_usd: r.get(19)?,
        tool_calls: r.get(20)?,
        tool_errors: r.get(21)?,
        depth: r.get(22)?,
    })
}

/// At most `limit` user runs with `agent_runs.id > after`, in id order, meeting `where_sql`
/// (a clause over `r`, as [`crate::query::Filter::runs_where`] builds, with its parameters).
pub fn runs_page(
    ctx: &Ctx,
    (where_sql, params): &(String, Vec<SqlValue>),
    after: i64,
    limit: usize,
) -> Result<Vec<RunRow>> {
    let n = params.len();
    let sql = format!(
        "SELECT {cols} FROM agent_runs r LEFT JOIN workflows w ON w.workflow_id = r.workflow_id
         WHERE {where_sql} AND r.id > ?{a} ORDER BY r.id LIMIT ?{l}",
        cols = run_columns(ctx),
        a = n + 1,
        l = n + 2
    );
    let mut all = params.clone();
    all.push(SqlValue::Integer(after));
    all.push(SqlValue::Integer(limit as i64));
    let mut stmt = ctx.store.conn().prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(all), run_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Nanoseconds since the epoch of a time in milliseconds (times before 1970 clamp to 0).
fn nanos(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0) * 1_000_000
}

fn s(k: &str, v: impl Into<String>) -> Attr {
    (k.to_string(), Value::Str(v.into()))
}

fn i(k: &str, v: i64) -> Attr {
    (k.to_string(), Value::Int(v))
}

/// The span of a run: `invoke_agent {agent_type}`, child of the delegating agent's span, else
/// of its workflow's, else a root. Tokens are the run's own (never its subagents').
pub fn run_span(ctx: &Ctx, run: &RunRow) -> Result<Span> {
    let end = run.end_ms.unwrap_or(0);
    let start = run.start_ms.unwrap_or(end).min(end);
    let parent = match (&run.parent_agent_id, &run.workflow_id) {
        (Some(p), _) => Some(span_id("run", p)),
        (None, Some(w)) => Some(span_id("workflow", w)),
        (None, None) => None,
    };
    let [input, output, cache_read, cache_creation] = run.tokens;
    let mut a = vec![
        s("gen_ai.operation.name", "invoke_agent"),
        s("gen_ai.provider.name", "anthropic"),
        s("gen_ai.agent.name", run.agent_type.clone()),
        s("gen_ai.agent.id", run.agent_id.clone()),
        s("gen_ai.conversation.id", run.trace_key.clone()),
        // The conventions count cached input in gen_ai.usage.input_tokens (docs/export.md).
        i(
            "gen_ai.usage.input_tokens",
            input + cache_read + cache_creation,
        ),
        i("gen_ai.usage.output_tokens", output),
        i("gen_ai.usage.cache_read.input_tokens", cache_read),
        i("gen_ai.usage.cache_creation.input_tokens", cache_creation),
        s("agent_telemetry.status", run.status.clone()),
        s("agent_telemetry.category", run.category.clone()),
        i("agent_telemetry.complexity", run.complexity),
        i("agent_telemetry.depth", run.depth),
        i("agent_telemetry.tool_calls", run.tool_calls),
        i("agent_telemetry.tool_errors", run.tool_errors),
    ];
    if let Some(m) = &run.model {
        a.push(s("gen_ai.request.model", m.clone()));
        a.push(s("gen_ai.response.model", m.clone()));
    }
    if let Some(c) = run.cost_usd {
        a.push(("agent_telemetry.cost_usd".into(), Value::Double(c)));
    }
    if let Some(d) = &run.description {
        let text = crate::util::truncate(&crate::redact::redact(d), 500);
        a.push(s("agent_telemetry.task.description", text));
    }
    a.extend(tool_counts(ctx, run.id)?);
    a.extend(outcome(ctx, run.id)?);
    let error = (run.status == "failure").then(|| {
        a.push(s("error.type", "agent_failure"));
        let msg = run.error.as_deref().unwrap_or("the agent failed");
        crate::util::truncate(&crate::redact::redact(msg), 1000)
    });
    Ok(Span {
        trace_id: trace_id(&run.trace_key),
        span_id: run.span_id(),
        parent_span_id: parent,
        name: format!("invoke_agent {}", run.agent_type),
        kind: KIND_INTERNAL,
        start_unix_nano: nanos(start),
        end_unix_nano: nanos(end),
        attributes: a,
        error,
    })
}

/// Per tool, the run's calls (`agent_telemetry.tool.<name>.calls`): tool calls are recorded as
/// counts per run, without their own times, so they are attributes rather than spans.
fn tool_counts(ctx: &Ctx, run_id: i64) -> Result<Vec<Attr>> {
    let mut stmt = ctx
        .store
        .conn()
        .prepare_cached("SELECT tool, calls FROM run_tools WHERE run_id = ?1 ORDER BY tool")?;
    let rows = stmt.query_map(params![run_id], |r| {
        Ok(i(
            &format!("agent_telemetry.tool.{}.calls", r.get::<_, String>(0)?),
            r.get(1)?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The run's built-in per-run metrics that have a value (`agent_telemetry.tests.passed`, …: the
/// `analyze metrics` built-ins) and its custom metrics (`agent_telemetry.metric.<name>`).
fn outcome(ctx: &Ctx, run_id: i64) -> Result<Vec<Attr>> {
    use crate::analyze::metrics::BUILTINS;
    let c = ctx.store.conn();
    let sql = format!(
        "SELECT {} FROM agent_runs r WHERE r.id = ?1",
        BUILTINS
            .iter()
            .map(|b| b.sql)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut out = Vec::new();
    c.prepare_cached(&sql)?.query_row(params![run_id], |r| {
        for (k, b) in BUILTINS.iter().enumerate() {
            if let Some(v) = r.get::<_, Option<f64>>(k)? {
                out.push(if b.count {
                    i(b.otel, v as i64)
                } else {
                    (b.otel.to_string(), Value::Double(v))
                });
            }
        }
        Ok(())
    })?;
    let mut stmt = c.prepare_cached(
        "SELECT n.name, v.value FROM run_values v JOIN metric_names n ON n.id = v.metric_id
         WHERE v.run_id = ?1 ORDER BY n.name",
    )?;
    let rows = stmt.query_map(params![run_id], |r| {
        Ok((
            format!("agent_telemetry.metric.{}", r.get::<_, String>(0)?),
            Value::Double(r.get(1)?),
        ))
    })?;
    for row in rows {
        out.push(row?);
    }
    Ok(out)
}

/// The span of a prompt turn or explicit workflow (`invoke_workflow {kind}`, a root span of its
/// session's trace), if it has ended; None while it runs or when there is no such workflow.
pub fn workflow_span(ctx: &Ctx, workflow_id: &str) -> Result<Option<Span>> {
    let mut stmt = ctx.store.conn().prepare_cached(
        "SELECT coalesce(w.session_id, w.workflow_id), w.kind, w.start_ms, w.end_ms, w.error,
                (SELECT count(*) FROM agent_runs r WHERE r.workflow_id = w.workflow_id AND r.internal = 0)
         FROM workflows w WHERE w.workflow_id = ?1 AND w.end_ms IS NOT NULL",
    )?;
    let mut rows = stmt.query(params![workflow_id])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let key: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let end: i64 = r.get(3)?;
    let start = r.get::<_, Option<i64>>(2)?.unwrap_or(end).min(end);
    let api_error: Option<String> = r.get(4)?;
    let mut a = vec![
        s("gen_ai.operation.name", "invoke_workflow"),
        s("gen_ai.provider.name", "anthropic"),
        s("gen_ai.workflow.name", kind.clone()),
        s("gen_ai.conversation.id", key.clone()),
        s("agent_telemetry.workflow.id", workflow_id),
        i("agent_telemetry.agents", r.get(5)?),
    ];
    let error = api_error.map(|e| {
        a.push(s("error.type", "api_error"));
        crate::util::truncate(&crate::redact::redact(&e), 1000)
    });
    Ok(Some(Span {
        trace_id: trace_id(&key),
        span_id: span_id("workflow", workflow_id),
        parent_span_id: None,
        name: format!("invoke_workflow {kind}"),
        kind: KIND_INTERNAL,
        start_unix_nano: nanos(start),
        end_unix_nano: nanos(end),
        attributes: a,
        error,
    }))
}
