//! `analyze workflows`: Claude Code prompt turns and explicit (`workflow-event`) workflows —
//! totals, the most common agent sequences, and the recent workflows with status, duration,
//! agents and cost. Definitions in docs/metrics.md ("## workflows").
//! Workflows are loaded and their figures decided in `workflow_load` (shared with `overhead`).

use super::workflow_cache::{self, Window};
pub(crate) use super::workflow_load::{for_each, Figures, Loaded, Span, LOADED_COLUMNS};
pub use super::workflow_load::{Status, ARROW};
use super::{Ctx, Filter};
use crate::error::Result;
use crate::render::{self, Format, Grid, Report};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Arguments of `analyze workflows`.
#[derive(clap::Args, Debug, Clone)]
pub struct WorkflowsArgs {
    /// How many recent workflows to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// How many common agent sequences to show.
    #[arg(long, default_value_t = 10)]
    pub sequences: usize,
}

/// Totals over the matching workflows.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub workflows: i64,
    pub turns: i64,
    pub explicit: i64,
    pub success: i64,
    pub failure: i64,
    pub cancelled: i64,
    pub running: i64,
    pub lost: i64,
    /// success / (success + failure + lost); None when that is 0.
    pub success_rate: Option<f64>,
    /// Mean duration of the workflows that have one.
    pub avg_duration_ms: Option<f64>,
    /// Agent runs (nested included) ÷ workflows (those without agents included).
    pub avg_agents: Option<f64>,
    pub agents: i64,
    pub with_agents: i64,
    pub tokens: i64,
    pub cost_usd: f64,
}

/// How often one agent sequence occurred, and how those workflows went.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SequenceRow {
    pub sequence: String,
    pub agents: Vec<String>,
    pub workflows: i64,
    pub success: i64,
    /// success / (success + failure + lost) among these workflows.
    pub success_rate: Option<f64>,
    pub avg_duration_ms: Option<f64>,
}

/// One workflow in the recent list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkflowRow {
    pub workflow_id: String,
    pub kind: String,
    pub session_id: Option<String>,
    pub status: Status,
    pub start: Option<String>,
    pub duration_ms: Option<i64>,
    pub agents: i64,
    pub tokens: i64,
    pub cost_usd: f64,
    /// The agent sequence joined with " → "; None without agents.
    pub sequence: Option<String>,
    /// The prompt's first 80 characters (turns).
    pub prompt: Option<String>,
    /// The API error the turn ended on (StopFailure), else None.
    pub error: Option<String>,
    #[serde(skip)]
    start_ms: Option<i64>,
}

/// The workflows report.
#[derive(Debug, Clone, Serialize)]
pub struct Workflows {
    pub totals: Totals,
    pub sequences: Vec<SequenceRow>,
    pub recent: Vec<WorkflowRow>,
}

#[derive(Default)]
struct SeqAcc {
    workflows: i64,
    success: i64,
    decided: i64,
    dur_n: i64,
    dur_sum: i64,
}

fn newest_first(rows: &mut Vec<WorkflowRow>, limit: usize) {
    rows.sort_by(|a, b| {
        b.start_ms
            .cmp(&a.start_ms)
            .then_with(|| a.workflow_id.cmp(&b.workflow_id))
    });
    rows.truncate(limit);
}

/// Computes the report: from `workflow_figures` and its rollups (crate::analyze::workflow_cache)
/// when they can answer the filter, else in one pass over the matching workflows
/// ([`compute_full_scan`]); the same report either way.
pub fn compute(ctx: &Ctx, filter: &Filter, limit: usize, sequences: usize) -> Result<Workflows> {
    match Window::of(filter) {
        Some(win) => {
            workflow_cache::sync(ctx)?;
            from_figures(ctx, &win, limit, sequences)
        }
        None => compute_full_scan(ctx, filter, limit, sequences),
    }
}

/// The report from one pass over the matching workflows and all their runs, whatever the
/// filter: what [`compute`] must equal.
pub fn compute_full_scan(
    ctx: &Ctx,
    filter: &Filter,
    limit: usize,
    sequences: usize,
) -> Result<Workflows> {
    let lost_before = ctx.lost_before();
    let mut t = Totals::default();
    let (mut dur_n, mut dur_sum) = (0i64, 0i64);
    let mut seqs: HashMap<String, SeqAcc> = HashMap::new();
    let mut recent: Vec<WorkflowRow> = Vec::new();
    for_each(ctx, filter, |wf| {
        let f = wf.figures(lost_before);
        t.workflows += 1;
        if wf.explicit() {
            t.explicit += 1;
        } else {
            t.turns += 1;
        }
        match f.status {
            Status::Success => t.success += 1,
            Status::Failure => t.failure += 1,
            Status::Cancelled => t.cancelled += 1,
            Status::Running => t.running += 1,
            Status::Lost => t.lost += 1,
            // Loaded::status never says remote: that is a run's status, not a workflow's.
            Status::Remote => {}
        }
        if let Some(d) = f.duration_ms {
            dur_n += 1;
            dur_sum += d;
        }
        t.agents += f.agents;
        t.with_agents += i64::from(f.agents > 0);
        t.tokens += f.tokens;
        t.cost_usd += f.cost_usd;
        if let Some(s) = &f.sequence {
            let acc = seqs.entry(s.clone()).or_default();
            acc.workflows += 1;
            acc.success += i64::from(f.status == Status::Success);
            acc.decided += i64::from(f.status.decided());
            if let Some(d) = f.duration_ms {
                acc.dur_n += 1;
                acc.dur_sum += d;
            }
        }
        if limit > 0 {
            recent.push(WorkflowRow::new(
                wf.id.clone(),
                wf.kind.clone(),
                wf.session_id.clone(),
                wf.start_ms,
                wf.error.clone(),
                f,
            ));
            // Keep memory bounded at any number of workflows.
            if recent.len() >= limit * 2 + 64 {
                newest_first(&mut recent, limit);
            }
        }
    })?;
    newest_first(&mut recent, limit);
    finish(ctx, t, (dur_n, dur_sum), seqs, recent, sequences)
}

impl WorkflowRow {
    /// A row of the recent list; `start` and `prompt` are filled for the rows listed only.
    fn new(
        workflow_id: String,
        kind: String,
        session_id: Option<String>,
        start_ms: Option<i64>,
        error: Option<String>,
        f: Figures,
    ) -> WorkflowRow {
        WorkflowRow {
            workflow_id,
            kind,
            session_id,
            status: f.status,
            start: None,
            duration_ms: f.duration_ms,
            agents: f.agents,
            tokens: f.tokens,
            cost_usd: f.cost_usd,
            sequence: f.sequence,
            prompt: None,
            error,
            start_ms,
        }
    }
}

/// The report from its sums: rates and averages, the sequences ranked, the recent rows'
/// start and prompt.
fn finish(
    ctx: &Ctx,
    mut t: Totals,
    (dur_n, dur_sum): (i64, i64),
    seqs: HashMap<String, SeqAcc>,
    mut recent: Vec<WorkflowRow>,
    sequences: usize,
) -> Result<Workflows> {
    let mut q = ctx
        .store
        .conn()
        .prepare_cached("SELECT prompt FROM workflows WHERE workflow_id = ?1")?;
    for row in &mut recent {
        row.start = row.start_ms.map(crate::timeparse::format_ms);
        let prompt: Option<String> = q.query_row([&row.workflow_id], |r| r.get(0))?;
        row.prompt = prompt.map(|p| render::excerpt(&p, 80));
    }
    let decided = t.success + t.failure + t.lost;
    t.success_rate = (decided > 0).then(|| t.success as f64 / decided as f64);
    t.avg_duration_ms = (dur_n > 0).then(|| dur_sum as f64 / dur_n as f64);
    t.avg_agents = (t.workflows > 0).then(|| t.agents as f64 / t.workflows as f64);
    let mut seq_rows: Vec<SequenceRow> = seqs
        .into_iter()
        .filter(|(_, a)| a.workflows > 0)
        .map(|(sequence, a)| SequenceRow {
            agents: sequence.split(ARROW).map(str::to_string).collect(),
            sequence,
            workflows: a.workflows,
            success: a.success,
            success_rate: (a.decided > 0).then(|| a.success as f64 / a.decided as f64),
            avg_duration_ms: (a.dur_n > 0).then(|| a.dur_sum as f64 / a.dur_n as f64),
        })
        .collect();
    seq_rows.sort_by(|a, b| {
        b.workflows
            .cmp(&a.workflows)
            .then_with(|| a.sequence.cmp(&b.sequence))
    });
    seq_rows.truncate(sequences);
    Ok(Workflows {
        totals: t,
        sequences: seq_rows,
        recent,
    })
}

/// The sums per agent sequence over `win`: over all time, the first `sequences` of the ranked
/// rollup; in a window, the whole days' sums plus the part days' rows, all of them (ranked by
/// [`finish`]).
fn sequences_over(ctx: &Ctx, win: &Window, sequences: usize) -> Result<HashMap<String, SeqAcc>> {
    let c = ctx.store.conn();
    let mut seqs: HashMap<String, SeqAcc> = HashMap::new();
    let add = |seqs: &mut HashMap<String, SeqAcc>, sql: &str, p: &[i64]| -> Result<()> {
        let mut stmt = c.prepare(sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(p.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                SeqAcc {
                    workflows: r.get(1)?,
                    success: r.get(2)?,
                    decided: r.get(3)?,
                    dur_n: r.get(4)?,
                    dur_sum: r.get(5)?,
                },
            ))
        })?;
        for row in rows {
            let (k, a) = row?;
            let e = seqs.entry(k).or_default();
            e.workflows += a.workflows;
            e.success += a.success;
            e.decided += a.decided;
            e.dur_n += a.dur_n;
            e.dur_sum += a.dur_sum;
        }
        Ok(())
    };
    if win.range().is_none() {
        add(
            &mut seqs,
            &format!(
                "SELECT sequence, workflows, success, decided, dur_n, dur_sum
                 FROM workflow_sequences INDEXED BY workflow_sequences_most
                 WHERE workflows > 0 ORDER BY workflows DESC, sequence LIMIT {sequences}"
            ),
            &[],
        )?;
    } else {
        if win.has_days() {
            let (first, end) = win.days();
            add(
                &mut seqs,
                "SELECT sequence, sum(workflows), sum(success), sum(decided), sum(dur_n), sum(dur_sum)
                 FROM workflow_sequence_daily WHERE day >= ?1 AND day < ?2 GROUP BY sequence",
                &[first, end],
            )?;
        }
        for &(lo, hi) in win.edges() {
            add(
                &mut seqs,
                "SELECT sequence, count(*), sum(status = 'success'), sum(status IN ('success', 'failure', 'lost')),
                        count(duration_ms), coalesce(sum(duration_ms), 0)
                 FROM workflow_figures INDEXED BY workflow_figures_start
                 WHERE start_ms >= ?1 AND start_ms < ?2 AND sequence IS NOT NULL GROUP BY sequence",
                &[lo, hi],
            )?;
        }
    }
    Ok(seqs)
}

/// The report from `workflow_figures` and its rollups over `win` (synced by the caller).
fn from_figures(ctx: &Ctx, win: &Window, limit: usize, sequences: usize) -> Result<Workflows> {
    let c = ctx.store.conn();
    let s = workflow_cache::Sums::over(ctx, win)?;
    let t = Totals {
        workflows: s.workflows,
        turns: s.turns,
        explicit: s.explicit,
        success: s.success,
        failure: s.failure,
        cancelled: s.cancelled,
        running: s.running,
        lost: s.lost,
        agents: s.agents,
        with_agents: s.with_agents,
        tokens: s.tokens,
        cost_usd: s.cost,
        ..Totals::default()
    };
    let seqs = sequences_over(ctx, win, sequences)?;
    // The newest `limit`, through the figures' start index (newest first, ties by id).
    let (range, p) = workflow_cache::range_sql(win);
    let mut stmt = c.prepare(&format!(
        "SELECT workflow_id, kind, session_id, start_ms, error, status, duration_ms, agents, tokens, cost, sequence
         FROM workflow_figures INDEXED BY workflow_figures_start WHERE {range}
         ORDER BY start_ms DESC, workflow_id LIMIT {limit}"
    ))?;
    let recent = stmt
        .query_map(rusqlite::params_from_iter(p.iter()), |r| {
            let status: String = r.get(5)?;
            Ok(WorkflowRow::new(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                Figures {
                    status: Status::parse(&status).ok_or_else(|| {
                        rusqlite::Error::FromSqlConversionFailure(
                            5,
                            rusqlite::types::Type::Text,
                            format!("unknown workflow status {status}").into(),
                        )
                    })?,
                    duration_ms: r.get(6)?,
                    agents: r.get(7)?,
                    tokens: r.get(8)?,
                    cost_usd: r.get(9)?,
                    sequence: r.get(10)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    finish(ctx, t, (s.dur_n, s.dur_sum), seqs, recent, sequences)
}

/// Runs `analyze workflows`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &WorkflowsArgs, format: Format) -> Result<bool> {
    let report = compute(ctx, filter, args.limit, args.sequences)?;
    if report.totals.workflows == 0 {
        eprintln!(
            "analyze: no workflows match (prompt turns are recorded by the workflow-event hook)"
        );
        return Ok(false);
    }
    render::print(&report, format)?;
    Ok(true)
}

/// A workflow id short enough for a table cell (`tree --workflow` accepts the prefix).
pub(crate) fn short_id(id: &str) -> String {
    if id.chars().count() <= 12 {
        id.to_string()
    } else {
        id.chars().take(8).collect()
    }
}

impl Report for Workflows {
    fn command(&self) -> &'static str {
        "workflows"
    }
    fn json(&self) -> Value {
        json!({ "totals": self.totals, "sequences": self.sequences, "recent": self.recent })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut recent = Grid::new(&[
            "Started",
            "Workflow",
            "Kind",
            "Status",
            "Duration",
            "Agents",
            "Cost",
            "Agent sequence",
        ])
        .titled("Recent workflows")
        .numeric(&[4, 5, 6]);
        recent.rows = self
            .recent
            .iter()
            .map(|w| {
                vec![
                    render::iso_minutes(w.start.as_deref()),
                    short_id(&w.workflow_id),
                    w.kind.clone(),
                    w.status.as_str().to_string(),
                    render::dur(w.duration_ms.map(|d| d as f64)),
                    render::int(w.agents),
                    render::usd(Some(w.cost_usd)),
                    w.sequence.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        let mut seqs = Grid::new(&["Agent sequence", "Times", "Success", "Avg duration"])
            .titled("Most common agent sequences")
            .numeric(&[1, 2, 3]);
        seqs.rows = self
            .sequences
            .iter()
            .map(|s| {
                vec![
                    s.sequence.clone(),
                    render::int(s.workflows),
                    render::pct(s.success_rate),
                    render::dur(s.avg_duration_ms),
                ]
            })
            .collect();
        vec![recent, seqs]
    }
    fn notes(&self) -> Vec<String> {
        let t = &self.totals;
        let mut notes = vec![
            String::new(),
            format!(
                "Workflows: {} ({} prompt turns, {} explicit) · success {} ({} ok, {} failed, {} lost, {} running{})",
                render::int(t.workflows),
                render::int(t.turns),
                render::int(t.explicit),
                render::pct(t.success_rate),
                render::int(t.success),
                render::int(t.failure),
                render::int(t.lost),
                render::int(t.running),
                if t.cancelled > 0 {
                    format!(", {} interrupted", render::int(t.cancelled))
                } else {
                    String::new()
                },
            ),
            format!(
                "Average duration {} · {} agents per workflow ({} of {} workflows used agents) · agent cost {}",
                render::dur(t.avg_duration_ms),
                render::num(t.avg_agents, 2),
                render::int(t.with_agents),
                render::int(t.workflows),
                render::usd(Some(t.cost_usd)),
            ),
        ];
        for w in &self.recent {
            if let Some(e) = &w.error {
                notes.push(format!(
                    "Turn {} ended on an API error: {}",
                    short_id(&w.workflow_id),
                    render::excerpt(e, 120)
                ));
            }
        }
        notes
    }
}
