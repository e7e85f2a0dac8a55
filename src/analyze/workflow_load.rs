//! A workflow loaded with its user agent runs and handoffs ([`Loaded`]), the rules that decide its
//! figures (status, duration, agent sequence, tokens, cost; docs/metrics.md, "## workflows"), and
//! its overhead measure (docs/metrics.md, "## overhead"): what `workflows`, `overhead`, `tree`,
//! the dashboard and the per-workflow cache (`workflow_cache`) all read workflows through.
//!
//! The loader ([`for_each`]): one streaming query over the matching workflows left-joined with
//! their agent runs, ordered by (workflow id, start), so the work is a single pass whatever the
//! number of workflows; nothing per workflow is queried separately.

use super::{Ctx, Filter};
use crate::error::Result;
use crate::query::sql::TOKENS_SQL;
use crate::vocab::WorkflowKind;
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use std::cmp::Ordering;
use std::iter::Peekable;

/// Joins the agent types of a sequence.
pub const ARROW: &str = " → ";

/// A workflow's status (docs/metrics.md, "Workflow status") is spelled with the run statuses:
/// success, failure, cancelled (the session ended before the turn's Stop), running or lost —
/// never remote — and decided the same way (running and cancelled workflows are not counted in a
/// success rate).
pub use crate::vocab::RunStatus as Status;

/// One user agent run of a workflow, as the workflow figures need it.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub(crate) agent_type: String,
    pub(crate) depth: i64,
    pub(crate) start_ms: Option<i64>,
    pub(crate) end_ms: Option<i64>,
    /// Effective status (`lost` decided at read time).
    pub(crate) status: String,
    pub(crate) tokens: i64,
    pub(crate) cost_usd: Option<f64>,
}

impl Span {
    /// The run's effective status, when it is one of ours.
    fn status(&self) -> Option<Status> {
        Status::parse(&self.status)
    }
    fn running(&self) -> bool {
        self.status() == Some(Status::Running)
    }
}

/// A workflow (turn or explicit) with its agent runs ordered by start.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) session_id: Option<String>,
    pub(crate) start_ms: Option<i64>,
    pub(crate) end_ms: Option<i64>,
    pub(crate) reported_ms: Option<i64>,
    pub(crate) reported_success: Option<bool>,
    /// JSON array given to `workflow-event complete --agents`.
    pub(crate) reported_agents: Option<String>,
    /// The API error a turn ended on (StopFailure).
    pub(crate) error: Option<String>,
    /// `session_end`: the session ended before the turn's Stop.
    pub(crate) ended_by: Option<String>,
    /// (from, to) of the workflow's handoffs, in time order (explicit workflows only).
    pub(crate) handoffs: Vec<(Option<String>, Option<String>)>,
    pub(crate) agents: Vec<Span>,
}

/// The `workflows` columns (aliased `w`) that [`Loaded::from_row`] reads, in its order.
pub(crate) const LOADED_COLUMNS: &str =
    "w.workflow_id, w.kind, w.session_id, w.start_ms, w.end_ms, w.reported_ms, w.reported_success,
     w.reported_agents, w.error, w.ended_by";

impl Loaded {
    /// A workflow from a row selected with [`LOADED_COLUMNS`] first (its id already read), with
    /// its agent runs and handoffs.
    pub(crate) fn from_row(
        r: &rusqlite::Row<'_>,
        id: String,
        agents: Vec<Span>,
        handoffs: Vec<(Option<String>, Option<String>)>,
    ) -> rusqlite::Result<Loaded> {
        Ok(Loaded {
            kind: r.get(1)?,
            session_id: r.get(2)?,
            start_ms: r.get(3)?,
            end_ms: r.get(4)?,
            reported_ms: r.get(5)?,
            reported_success: r.get(6)?,
            reported_agents: r.get(7)?,
            error: r.get(8)?,
            ended_by: r.get(9)?,
            handoffs,
            agents,
            id,
        })
    }

    pub(crate) fn explicit(&self) -> bool {
        self.kind == WorkflowKind::Explicit.as_str()
    }

    /// Success / failure / running / lost, as defined in docs/metrics.md.
    pub(crate) fn status(&self, lost_before: i64) -> Status {
        if self.explicit() {
            if let Some(ok) = self.reported_success {
                return if ok { Status::Success } else { Status::Failure };
            }
        }
        if self.error.is_some()
            || self
                .agents
                .iter()
                .any(|a| matches!(a.status(), Some(Status::Failure | Status::Lost)))
        {
            return Status::Failure;
        }
        if self.ended_by.as_deref() == Some("session_end") {
            return Status::Cancelled;
        }
        match self.end_ms {
            None if self.start_ms.is_none_or(|s| s < lost_before) => Status::Lost,
            None => Status::Running,
            Some(_) if self.agents.iter().any(Span::running) => Status::Running,
            Some(_) => Status::Success,
        }
    }

    /// When the workflow's work ended: the later of its end (Stop / complete) and its agents'
    /// last end, since background agents outlive the turn's Stop. None while it has no end or
    /// an agent is still running.
    pub(crate) fn finish_ms(&self) -> Option<i64> {
        let end = self.end_ms?;
        if self.agents.iter().any(Span::running) {
            return None;
        }
        Some(
            self.agents
                .iter()
                .filter_map(|a| a.end_ms)
                .fold(end, i64::max),
        )
    }

    /// The reported duration of an explicit workflow, else finish − start.
    pub(crate) fn duration_ms(&self) -> Option<i64> {
        if self.explicit() {
            if let Some(d) = self.reported_ms {
                return Some(d.max(0));
            }
        }
        Some((self.finish_ms()? - self.start_ms?).max(0))
    }

    /// The agent types that make up the workflow, in order (docs/metrics.md, "Agent sequence").
    pub(crate) fn sequence(&self) -> Vec<String> {
        if !self.explicit() {
            return self
                .agents
                .iter()
                .filter(|a| a.depth == 1)
                .map(|a| a.agent_type.clone())
                .collect();
        }
        if !self.agents.is_empty() {
            return self.agents.iter().map(|a| a.agent_type.clone()).collect();
        }
        if !self.handoffs.is_empty() {
            let mut chain: Vec<String> = Vec::new();
            for (from, to) in &self.handoffs {
                for name in [from, to].into_iter().flatten() {
                    if chain.last() != Some(name) {
                        chain.push(name.clone());
                    }
                }
            }
            return chain;
        }
        self.reported_agents
            .as_deref()
            .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
            .unwrap_or_default()
    }

    /// Tokens of every agent run of the workflow.
    pub(crate) fn tokens(&self) -> i64 {
        self.agents.iter().map(|a| a.tokens).sum()
    }

    /// Cost of every agent run of the workflow; runs of unknown-price models add 0.
    pub(crate) fn cost_usd(&self) -> f64 {
        // fold from +0.0: `Sum for f64` starts at −0.0, which would print as `$-0.0000`.
        self.agents
            .iter()
            .filter_map(|a| a.cost_usd)
            .fold(0.0, |acc, c| acc + c)
    }
}

/// What both reports' totals, sequences and recent lists read of one workflow: decided by the
/// rules above, whether for a full scan or for `workflow_figures` (crate::analyze::workflow_cache).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    pub(crate) status: Status,
    pub(crate) duration_ms: Option<i64>,
    /// User agent runs, nested included.
    pub(crate) agents: i64,
    pub(crate) tokens: i64,
    pub(crate) cost_usd: f64,
    /// The agent sequence joined with [`ARROW`]; None without agents.
    pub(crate) sequence: Option<String>,
}

impl Loaded {
    /// The workflow's figures as of `lost_before`.
    pub(crate) fn figures(&self, lost_before: i64) -> Figures {
        let seq = self.sequence();
        Figures {
            status: self.status(lost_before),
            duration_ms: self.duration_ms(),
            agents: self.agents.len() as i64,
            tokens: self.tokens(),
            cost_usd: self.cost_usd(),
            sequence: (!seq.is_empty()).then(|| seq.join(ARROW)),
        }
    }

    /// How long the figures computed as of `lost_before` hold as "now" moves: a run or workflow
    /// without an end is running until `lost_before` passes its start, then lost (`status`,
    /// [`crate::vocab::RunStatus::effective_sql`]). Returns (the earliest start among those
    /// still running, the latest among those already lost): the figures hold for every
    /// `lost_before` in `(lost, running]` (None: no bound on that side).
    pub(crate) fn valid_while(&self, lost_before: i64) -> (Option<i64>, Option<i64>) {
        let (mut running, mut lost): (Option<i64>, Option<i64>) = (None, None);
        let mut note = |start: i64| {
            if start < lost_before {
                lost = Some(lost.map_or(start, |l| l.max(start)));
            } else {
                running = Some(running.map_or(start, |r| r.min(start)));
            }
        };
        if self.end_ms.is_none() {
            if let Some(s) = self.start_ms {
                note(s);
            }
        }
        for a in &self.agents {
            if a.end_ms.is_none() && matches!(a.status(), Some(Status::Running | Status::Lost)) {
                note(a.start_ms.unwrap_or(0));
            }
        }
        (running, lost)
    }
}

/// The rows of `it` (ordered by key) whose key is `id`, skipping smaller keys: one step of a
/// merge join between streams ordered by workflow id (`str` order is SQLite's BINARY order).
fn take_for<T, I>(it: &mut Peekable<I>, id: &str) -> Result<Vec<T>>
where
    I: Iterator<Item = rusqlite::Result<(String, T)>>,
{
    let mut out = Vec::new();
    loop {
        match it.peek() {
            None => return Ok(out),
            Some(Err(_)) => {
                it.next().expect("peeked")?;
            }
            Some(Ok((key, _))) => match key.as_str().cmp(id) {
                Ordering::Less => {
                    it.next();
                }
                Ordering::Equal => out.push(it.next().expect("peeked")?.1),
                Ordering::Greater => return Ok(out),
            },
        }
    }
}

/// Calls `f` with every workflow matching `filter` and its user agent runs (ordered by start),
/// in workflow id order. Three sequential streams ordered by workflow id — workflows, runs,
/// handoffs — merged in memory, so memory stays bounded and nothing is queried per workflow.
/// Unfiltered, the runs are read by a table scan and sorted: walking the `runs_workflow` index
/// instead visits rows in random order (prompt ids are UUIDs), about twice as slow at 300k runs.
pub(crate) fn for_each(ctx: &Ctx, filter: &Filter, f: impl FnMut(Loaded)) -> Result<()> {
    for_each_in(ctx, filter, false, f)
}

/// [`for_each`] over the workflows marked in `workflow_dirty` only (`dirty`), each read through
/// its index: what refreshing a few figures needs (crate::analyze::workflow_cache).
pub(crate) fn for_each_dirty(ctx: &Ctx, f: impl FnMut(Loaded)) -> Result<()> {
    for_each_in(ctx, &Filter::default(), true, f)
}

fn for_each_in(ctx: &Ctx, filter: &Filter, dirty: bool, mut f: impl FnMut(Loaded)) -> Result<()> {
    let (w, p) = filter.workflows_where();
    let unfiltered = filter.only_agents() && filter.agents.is_empty() && !dirty;
    // Under `dirty`, every stream starts from the marked ids.
    let from = if dirty {
        "workflow_dirty d JOIN workflows w ON w.workflow_id = d.workflow_id"
    } else {
        "workflows w"
    };
    let c = ctx.store.conn();
    let st = ctx.status_sql();
    let cols = format!("r.workflow_id, r.agent_type, r.depth, r.start_ms, r.end_ms, {st}, {TOKENS_SQL}, r.cost_usd");
    let runs_sql = if unfiltered {
        format!(
            "SELECT {cols} FROM agent_runs r NOT INDEXED WHERE r.internal = 0 AND r.workflow_id IS NOT NULL
             ORDER BY r.workflow_id, r.start_ms, r.id"
        )
    } else {
        format!(
            "SELECT {cols} FROM {from} JOIN agent_runs r ON r.workflow_id = w.workflow_id AND r.internal = 0
             WHERE {w} ORDER BY w.workflow_id, r.start_ms, r.id"
        )
    };
    let mut rs = c.prepare(&runs_sql)?;
    let run_params: &[SqlValue] = if unfiltered { &[] } else { &p };
    let mut runs = rs
        .query_map(params_from_iter(run_params.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                Span {
                    agent_type: r.get(1)?,
                    depth: r.get(2)?,
                    start_ms: r.get(3)?,
                    end_ms: r.get(4)?,
                    status: r.get(5)?,
                    tokens: r.get(6)?,
                    cost_usd: r.get(7)?,
                },
            ))
        })?
        .peekable();
    let mut hs = c.prepare(&format!(
        "SELECT h.workflow_id, h.from_agent, h.to_agent FROM {from} JOIN handoffs h ON h.workflow_id = w.workflow_id
         WHERE {w} AND w.kind = '{explicit}' ORDER BY h.workflow_id, h.ts, h.id",
        explicit = WorkflowKind::Explicit
    ))?;
    let mut handoffs = hs
        .query_map(params_from_iter(p.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ),
            ))
        })?
        .peekable();
    let mut ws = c.prepare(&format!(
        "SELECT {LOADED_COLUMNS} FROM {from} WHERE {w} ORDER BY w.workflow_id"
    ))?;
    let mut rows = ws.query(params_from_iter(p.iter()))?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let agents = take_for(&mut runs, &id)?;
        let handoffs = take_for(&mut handoffs, &id)?;
        f(Loaded::from_row(r, id, agents, handoffs)?);
    }
    Ok(())
}

/// Agent time within one window: union, sum, and concurrency of a set of intervals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Intervals {
    /// Intervals counted.
    pub agents: i64,
    /// Length of the union (overlaps merged).
    pub union_ms: i64,
    /// Σ interval lengths.
    pub sum_ms: i64,
    /// The most intervals open at one instant (an end and a start at the same instant do not overlap).
    pub peak: i64,
}

/// Measures `[start, end]` intervals (in any order). Zero-length intervals count as agents and
/// for a peak of at least 1, but add no time.
pub fn measure(intervals: &[(i64, i64)]) -> Intervals {
    let mut v: Vec<(i64, i64)> = intervals.iter().map(|&(s, e)| (s, e.max(s))).collect();
    if v.is_empty() {
        return Intervals::default();
    }
    v.sort_unstable();
    let mut union = 0;
    let (mut cs, mut ce) = v[0];
    for &(s, e) in &v[1..] {
        if s <= ce {
            ce = ce.max(e);
        } else {
            union += ce - cs;
            (cs, ce) = (s, e);
        }
    }
    union += ce - cs;
    // Sweep: at equal times ends (-1) come before starts (+1).
    let mut events: Vec<(i64, i64)> = v
        .iter()
        .filter(|(s, e)| e > s)
        .flat_map(|&(s, e)| [(s, 1), (e, -1)])
        .collect();
    events.sort_unstable();
    let (mut open, mut peak) = (0i64, 1i64);
    for (_, d) in events {
        open += d;
        peak = peak.max(open);
    }
    Intervals {
        agents: v.len() as i64,
        union_ms: union,
        sum_ms: v.iter().map(|(s, e)| e - s).sum(),
        peak,
    }
}

/// (W − union) / W: a counted workflow's overhead (`overhead`'s rows, and the order of
/// `workflow_figures.overhead`).
pub(crate) fn overhead_ratio(wall: i64, union: i64) -> f64 {
    (wall - union) as f64 / wall as f64
}

/// A workflow's overhead measure (docs/metrics.md, "## overhead"), or why it is not counted.
pub(crate) enum Measured {
    /// Its start, wall time W and its top-level agents' intervals.
    Counted {
        start: i64,
        wall: i64,
        m: Intervals,
    },
    Unfinished,
    NoAgents,
    ZeroLength,
}

impl Loaded {
    /// Measures the workflow for `overhead`.
    pub(crate) fn measure_overhead(&self) -> Measured {
        let (Some(start), Some(finish)) = (self.start_ms, self.finish_ms()) else {
            return Measured::Unfinished;
        };
        // Top-level agents only: a nested agent runs inside its parent's interval and would
        // count the parent's waiting twice. Clipped to the window (an agent cannot start before
        // it).
        let iv: Vec<(i64, i64)> = self
            .agents
            .iter()
            .filter(|a| a.depth == 1)
            .filter_map(|a| Some((a.start_ms?.max(start), a.end_ms?.max(start))))
            .collect();
        if iv.is_empty() {
            return Measured::NoAgents;
        }
        let wall = finish - start;
        if wall <= 0 {
            return Measured::ZeroLength;
        }
        Measured::Counted {
            start,
            wall,
            m: measure(&iv),
        }
    }
}
