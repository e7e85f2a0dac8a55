//! `analyze tree`: the delegation hierarchy of one session (default: the most recent one) or one
//! workflow — session → prompt turns → agents → the agents they delegated to — each with status,
//! duration, tokens and cost. Definitions in docs/metrics.md ("## tree").

use super::workflows::{self, Loaded, Span, Status};
use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::query::sql;
use crate::render::{self, Format, Grid, Report};
use crate::vocab::WorkflowKind;
use rusqlite::{params_from_iter, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Arguments of `analyze tree`.
#[derive(clap::Args, Debug, Clone)]
pub struct TreeArgs {
    /// A workflow (prompt id or explicit workflow id, or a unique prefix) instead of a whole session.
    #[arg(long)]
    pub workflow: Option<String>,
}

/// One agent run and the agents it delegated to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentNode {
    pub agent_id: String,
    pub agent_type: String,
    pub description: Option<String>,
    /// Effective status (success, failure, cancelled, running, lost, remote).
    pub status: String,
    pub start: Option<String>,
    pub duration_ms: Option<i64>,
    pub tokens: i64,
    /// None: a model without a known price, or no usage recorded.
    pub cost_usd: Option<f64>,
    #[serde(flatten)]
    pub traits: RunTraits,
    #[serde(flatten)]
    pub resources: RunResources,
    pub children: Vec<AgentNode>,
}

/// How a run was launched and what it ran on, where Claude Code said so (docs/metrics.md, "Run
/// traits"): shown by `tree` and `agent`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RunTraits {
    /// The model(s) the agent used, comma-separated.
    pub model: Option<String>,
    /// The name the caller gave the agent.
    pub name: Option<String>,
    pub effort: Option<String>,
    /// `worktree` or `remote`.
    pub isolation: Option<String>,
    /// A fork of the calling agent.
    pub fork: bool,
    pub background: bool,
    pub worktree_path: Option<String>,
}

impl RunTraits {
    /// The SQL columns [`RunTraits::from_row`] reads, `r` aliased.
    pub(crate) const SQL: &'static str =
        "r.model, r.name, r.effort, r.isolation, r.fork, r.background, r.worktree_path";

    /// Reads [`RunTraits::SQL`] starting at column `at`.
    pub(crate) fn from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RunTraits> {
        Ok(RunTraits {
            model: r.get(at)?,
            name: r.get(at + 1)?,
            effort: r.get(at + 2)?,
            isolation: r.get(at + 3)?,
            fork: r.get(at + 4)?,
            background: r.get(at + 5)?,
            worktree_path: r.get(at + 6)?,
        })
    }

    /// A short bracketed label for a text line, e.g. `(claude-haiku-4-5, effort high, worktree,
    /// background)`; empty when there is nothing to say.
    pub fn label(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(n) = &self.name {
            parts.push(format!("name {n}"));
        }
        if let Some(m) = &self.model {
            parts.push(m.clone());
        }
        if let Some(e) = &self.effort {
            parts.push(format!("effort {e}"));
        }
        if let Some(i) = &self.isolation {
            parts.push(i.clone());
        }
        if self.fork {
            parts.push("fork".into());
        }
        if self.background {
            parts.push("background".into());
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    }
}

/// A run's time split and the host process's resources while it ran (docs/metrics.md, "Outcome"
/// and "Resources"): shown by `tree` and `agent`. Each is None when unknown (no transcript
/// summary, no `/proc`, data recorded before the readings), never 0 for unknown.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RunResources {
    /// Σ of the run's tool call durations, from transcript timestamps.
    pub tool_ms: Option<i64>,
    /// Duration − tool time, at least 0; None unless both are known.
    pub model_ms: Option<i64>,
    /// CPU seconds the Claude Code process used while the run ran (shared by parallel agents).
    pub host_cpu_seconds: Option<f64>,
    /// The Claude Code process's resident memory at the run's stop, MB.
    pub host_rss_mb: Option<f64>,
}

impl RunResources {
    /// The SQL columns [`RunResources::from_row`] reads, `r` aliased.
    pub(crate) fn sql() -> String {
        format!(
            "r.tool_ms, {}, {}, {}",
            sql::MODEL_MS_SQL,
            sql::HOST_CPU_SECONDS_SQL,
            sql::HOST_RSS_MB_SQL
        )
    }

    /// Reads [`RunResources::sql`] starting at column `at`.
    pub(crate) fn from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RunResources> {
        Ok(RunResources {
            tool_ms: r.get(at)?,
            model_ms: r.get(at + 1)?,
            host_cpu_seconds: r.get(at + 2)?,
            host_rss_mb: r.get(at + 3)?,
        })
    }

    /// Whether the host process's figures are known.
    pub fn has_host(&self) -> bool {
        self.host_cpu_seconds.is_some() || self.host_rss_mb.is_some()
    }

    /// The known figures for a text line, e.g. `tool 6.9s  model 13.1s  host CPU 32.0 s  host mem
    /// 400.0 MB`; empty when none is known.
    pub fn label(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(t) = self.tool_ms {
            parts.push(format!("tool {}", render::dur(Some(t as f64))));
        }
        if let Some(m) = self.model_ms {
            parts.push(format!("model {}", render::dur(Some(m as f64))));
        }
        if let Some(c) = self.host_cpu_seconds {
            parts.push(format!("host CPU {}", host_cell(Some(c), " s")));
        }
        if let Some(m) = self.host_rss_mb {
            parts.push(format!("host mem {}", host_cell(Some(m), " MB")));
        }
        parts.join("  ")
    }
}

/// A host figure: one decimal, with its unit; `-` without one.
pub(crate) fn host_cell(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.1}{unit}"))
}

/// What the host figures are, for the legend wherever runs are listed with them.
pub(crate) const HOST_NOTE: &str =
    "the Claude Code process's CPU seconds while the run ran and its memory at the \
     run's stop, shared by every agent running at the same time (docs/metrics.md, \"Resources\")";

/// A prompt turn (or explicit workflow) and its top-level agents; `workflow_id` None is the
/// "(no turn)" node of runs that belong to no workflow.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TurnNode {
    pub workflow_id: Option<String>,
    /// turn | notification | explicit | none.
    pub kind: String,
    /// The prompt's first 80 characters.
    pub prompt: Option<String>,
    pub start: Option<String>,
    pub status: Option<Status>,
    pub duration_ms: Option<i64>,
    /// The API error the turn ended on (StopFailure).
    pub error: Option<String>,
    pub agents: Vec<AgentNode>,
}

/// The tree report.
#[derive(Debug, Clone, Serialize)]
pub struct Tree {
    /// The session id; None for an explicit workflow.
    pub session: Option<String>,
    pub project: Option<String>,
    pub start: Option<String>,
    pub turns: Vec<TurnNode>,
    #[serde(skip)]
    format: Format,
}

struct RunRow {
    agent_id: String,
    agent_type: String,
    description: Option<String>,
    parent: Option<String>,
    workflow_id: Option<String>,
    depth: i64,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    duration_ms: Option<i64>,
    status: String,
    tokens: i64,
    cost_usd: Option<f64>,
    traits: RunTraits,
    resources: RunResources,
}

struct WfRow {
    id: String,
    kind: String,
    session_id: Option<String>,
    prompt: Option<String>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    reported_ms: Option<i64>,
    reported_success: Option<bool>,
    error: Option<String>,
    ended_by: Option<String>,
}

const WF_COLS: &str =
    "workflow_id, kind, session_id, prompt, start_ms, end_ms, reported_ms, reported_success, error, ended_by";

fn wf_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WfRow> {
    Ok(WfRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        session_id: r.get(2)?,
        prompt: r.get(3)?,
        start_ms: r.get(4)?,
        end_ms: r.get(5)?,
        reported_ms: r.get(6)?,
        reported_success: r.get(7)?,
        error: r.get(8)?,
        ended_by: r.get(9)?,
    })
}

/// What to draw.
enum Target {
    Session(String),
    Workflow(String),
}

/// An id, or a unique prefix of one, in `table.column`.
fn resolve(ctx: &Ctx, table: &str, column: &str, id: &str) -> Result<Option<String>> {
    let c = ctx.store.conn();
    let exact: Option<String> = c
        .query_row(
            &format!("SELECT {column} FROM {table} WHERE {column} = ?1"),
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if exact.is_some() {
        return Ok(exact);
    }
    let mut stmt = c.prepare(&format!(
        "SELECT {column} FROM {table} WHERE substr({column}, 1, length(?1)) = ?1 ORDER BY {column} LIMIT 6"
    ))?;
    let found: Vec<String> = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.into_iter().next()),
        _ => Err(Error::InvalidArgument(format!(
            "'{id}' matches several ids in {table}: {}…",
            found.join(", ")
        ))),
    }
}

/// The most recent session matching the global filters.
fn latest_session(ctx: &Ctx, filter: &Filter) -> Result<Option<String>> {
    let (w, p) = filter.sessions_where();
    let sql = format!(
        "SELECT s.session_id FROM sessions s WHERE {w} ORDER BY s.start_ms DESC, s.session_id LIMIT 1"
    );
    Ok(ctx
        .store
        .conn()
        .query_row(&sql, params_from_iter(p.iter()), |r| r.get(0))
        .optional()?)
}

fn target(
    ctx: &Ctx,
    filter: &Filter,
    args: &TreeArgs,
) -> Result<std::result::Result<Target, String>> {
    if let Some(id) = &args.workflow {
        return Ok(match resolve(ctx, "workflows", "workflow_id", id)? {
            Some(w) => Ok(Target::Workflow(w)),
            None => Err(format!("no workflow '{id}'")),
        });
    }
    if let Some(id) = &filter.session {
        if let Some(s) = resolve(ctx, "sessions", "session_id", id)? {
            return Ok(Ok(Target::Session(s)));
        }
        // `--session` also names explicit workflows elsewhere.
        return Ok(match resolve(ctx, "workflows", "workflow_id", id)? {
            Some(w) => Ok(Target::Workflow(w)),
            None => Err(format!("no session or workflow '{id}'")),
        });
    }
    Ok(match latest_session(ctx, filter)? {
        Some(s) => Ok(Target::Session(s)),
        None => Err("no sessions match (explicit workflows have none: use --workflow ID)".into()),
    })
}

fn load_runs(ctx: &Ctx, target: &Target) -> Result<Vec<RunRow>> {
    let st = ctx.status_sql();
    let cols = format!(
        "r.agent_id, r.agent_type, r.description, r.parent_agent_id, r.workflow_id, r.depth, r.start_ms, r.end_ms,
         r.duration_ms, {st}, {}, r.cost_usd, {}, {}",
        sql::TOKENS_SQL,
        RunTraits::SQL,
        RunResources::sql()
    );
    let (sql, key) = match target {
        Target::Session(s) => (
            format!("SELECT {cols} FROM agent_runs r WHERE r.session_id = ?1 AND r.internal = 0 ORDER BY r.start_ms, r.id"),
            s,
        ),
        // The workflow's runs and everything they delegated, even where a child lacks the workflow id.
        Target::Workflow(w) => (
            format!(
                "WITH RECURSIVE t(agent_id) AS (
                    SELECT agent_id FROM agent_runs WHERE workflow_id = ?1
                    UNION SELECT c.agent_id FROM agent_runs c JOIN t ON c.parent_agent_id = t.agent_id)
                 SELECT {cols} FROM agent_runs r WHERE r.agent_id IN (SELECT agent_id FROM t) AND r.internal = 0
                 ORDER BY r.start_ms, r.id"
            ),
            w,
        ),
    };
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let rows = stmt
        .query_map([key], |r| {
            Ok(RunRow {
                agent_id: r.get(0)?,
                agent_type: r.get(1)?,
                description: r.get(2)?,
                parent: r.get(3)?,
                workflow_id: r.get(4)?,
                depth: r.get(5)?,
                start_ms: r.get(6)?,
                end_ms: r.get(7)?,
                duration_ms: r.get(8)?,
                status: r.get(9)?,
                tokens: r.get(10)?,
                cost_usd: r.get(11)?,
                traits: RunTraits::from_row(r, 12)?,
                resources: RunResources::from_row(r, 19)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn node(runs: &[RunRow], children: &HashMap<usize, Vec<usize>>, i: usize) -> AgentNode {
    let r = &runs[i];
    AgentNode {
        agent_id: r.agent_id.clone(),
        agent_type: r.agent_type.clone(),
        description: r.description.clone(),
        status: r.status.clone(),
        start: r.start_ms.map(crate::timeparse::format_ms),
        duration_ms: r.duration_ms,
        tokens: r.tokens,
        cost_usd: r.cost_usd,
        traits: r.traits.clone(),
        resources: r.resources.clone(),
        children: children
            .get(&i)
            .map(|c| c.iter().map(|&j| node(runs, children, j)).collect())
            .unwrap_or_default(),
    }
}

fn turn_node(ctx: &Ctx, wf: &WfRow, runs: &[RunRow], agents: Vec<AgentNode>) -> TurnNode {
    // The same status and duration `analyze workflows` gives this workflow.
    let loaded = Loaded {
        id: wf.id.clone(),
        kind: wf.kind.clone(),
        session_id: wf.session_id.clone(),
        start_ms: wf.start_ms,
        end_ms: wf.end_ms,
        reported_ms: wf.reported_ms,
        reported_success: wf.reported_success,
        reported_agents: None,
        error: wf.error.clone(),
        ended_by: wf.ended_by.clone(),
        handoffs: Vec::new(),
        agents: runs
            .iter()
            .filter(|r| r.workflow_id.as_deref() == Some(wf.id.as_str()))
            .map(|r| Span {
                agent_type: r.agent_type.clone(),
                depth: r.depth,
                start_ms: r.start_ms,
                end_ms: r.end_ms,
                status: r.status.clone(),
                tokens: r.tokens,
                cost_usd: r.cost_usd,
            })
            .collect(),
    };
    TurnNode {
        workflow_id: Some(wf.id.clone()),
        kind: wf.kind.clone(),
        prompt: wf.prompt.as_deref().map(|p| render::excerpt(p, 80)),
        start: wf.start_ms.map(crate::timeparse::format_ms),
        status: Some(loaded.status(ctx.lost_before())),
        duration_ms: loaded.duration_ms(),
        error: wf.error.clone(),
        agents,
    }
}

/// Builds the tree for the target.
fn build(ctx: &Ctx, target: &Target, format: Format) -> Result<Tree> {
    let c = ctx.store.conn();
    let runs = load_runs(ctx, target)?;
    let (session, project, start, wfs) = match target {
        Target::Session(s) => {
            let (cwd, start): (Option<String>, Option<i64>) = c.query_row(
                "SELECT cwd, start_ms FROM sessions WHERE session_id = ?1",
                [s],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let mut stmt =
                c.prepare(&format!("SELECT {WF_COLS} FROM workflows WHERE session_id = ?1 ORDER BY start_ms, workflow_id"))?;
            let wfs: Vec<WfRow> = stmt
                .query_map([s], wf_row)?
                .collect::<rusqlite::Result<_>>()?;
            (Some(s.clone()), cwd, start, wfs)
        }
        Target::Workflow(w) => {
            let wf = c.query_row(
                &format!("SELECT {WF_COLS} FROM workflows WHERE workflow_id = ?1"),
                [w],
                wf_row,
            )?;
            let project: Option<String> = c.query_row(
                "SELECT project FROM workflows WHERE workflow_id = ?1",
                [w],
                |r| r.get(0),
            )?;
            (wf.session_id.clone(), project, wf.start_ms, vec![wf])
        }
    };
    let index: HashMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.agent_id.as_str(), i))
        .collect();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut roots: Vec<usize> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        match r
            .parent
            .as_deref()
            .and_then(|p| index.get(p))
            .filter(|&&p| p != i)
        {
            Some(&p) => children.entry(p).or_default().push(i),
            None => roots.push(i),
        }
    }
    let mut by_workflow: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    for &i in &roots {
        let w = runs[i]
            .workflow_id
            .as_deref()
            .filter(|w| wfs.iter().any(|x| x.id == *w));
        by_workflow.entry(w).or_default().push(i);
    }
    let mut turns = Vec::new();
    for wf in &wfs {
        let mine = by_workflow
            .remove(&Some(wf.id.as_str()))
            .unwrap_or_default();
        // Notification turns are not workflows; shown only if an agent belongs to one.
        if wf.kind == WorkflowKind::Notification.as_str()
            && mine.is_empty()
            && !matches!(target, Target::Workflow(_))
        {
            continue;
        }
        let agents = mine.iter().map(|&i| node(&runs, &children, i)).collect();
        turns.push(turn_node(ctx, wf, &runs, agents));
    }
    if let Some(rest) = by_workflow.remove(&None) {
        turns.push(TurnNode {
            workflow_id: None,
            kind: "none".into(),
            prompt: None,
            start: None,
            status: None,
            duration_ms: None,
            error: None,
            agents: rest.iter().map(|&i| node(&runs, &children, i)).collect(),
        });
    }
    Ok(Tree {
        session,
        project,
        start: start.map(crate::timeparse::format_ms),
        turns,
        format,
    })
}

/// Runs `analyze tree`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &TreeArgs, format: Format) -> Result<bool> {
    let target = match target(ctx, filter, args)? {
        Ok(t) => t,
        Err(why) => {
            eprintln!("analyze: {why}");
            return Ok(false);
        }
    };
    let tree = build(ctx, &target, format)?;
    render::print(&tree, format)?;
    Ok(true)
}

fn agent_line(a: &AgentNode) -> String {
    let mut s = a.agent_type.clone();
    if let Some(d) = a.description.as_deref().filter(|d| !d.is_empty()) {
        s.push_str(&format!("  \"{}\"", render::excerpt(d, 60)));
    }
    s.push_str(&format!(
        "  {}  {}  {} tokens  {}",
        a.status,
        render::dur(a.duration_ms.map(|d| d as f64)),
        render::int(a.tokens),
        render::usd(a.cost_usd),
    ));
    let resources = a.resources.label();
    if !resources.is_empty() {
        s.push_str("  ");
        s.push_str(&resources);
    }
    s.push_str(&format!("  [{}]", workflows::short_id(&a.agent_id)));
    let traits = a.traits.label();
    if !traits.is_empty() {
        s.push_str("  ");
        s.push_str(&traits);
    }
    s
}

fn turn_line(t: &TurnNode) -> String {
    let Some(id) = &t.workflow_id else {
        return "(no turn)".into();
    };
    let label = if t.kind == WorkflowKind::Explicit.as_str() {
        "Workflow"
    } else {
        "Turn"
    };
    let mut s = format!("{label} {}", workflows::short_id(id));
    if t.kind != WorkflowKind::Turn.as_str() {
        s.push_str(&format!(" ({})", t.kind));
    }
    if let Some(p) = t.prompt.as_deref().filter(|p| !p.is_empty()) {
        s.push_str(&format!("  \"{p}\""));
    }
    s.push_str(&format!(
        "  {}  {}  {}",
        render::iso_minutes(t.start.as_deref()),
        t.status.map(Status::as_str).unwrap_or("-"),
        render::dur(t.duration_ms.map(|d| d as f64))
    ));
    if let Some(e) = &t.error {
        s.push_str(&format!("  — {}", render::excerpt(e, 100)));
    }
    s
}

fn draw_agents(out: &mut Vec<String>, agents: &[AgentNode], prefix: &str) {
    for (i, a) in agents.iter().enumerate() {
        let last = i + 1 == agents.len();
        out.push(format!(
            "{prefix}{}{}",
            if last { "└─ " } else { "├─ " },
            agent_line(a)
        ));
        draw_agents(
            out,
            &a.children,
            &format!("{prefix}{}", if last { "   " } else { "│  " }),
        );
    }
}

fn count(agents: &[AgentNode]) -> usize {
    agents.iter().map(|a| 1 + count(&a.children)).sum()
}

/// Whether any agent of the forest has the host process's figures.
fn any_host(agents: &[AgentNode]) -> bool {
    agents
        .iter()
        .any(|a| a.resources.has_host() || any_host(&a.children))
}

/// A figure for a CSV cell: empty when unknown.
fn csv_cell<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn flat(
    rows: &mut Vec<Vec<String>>,
    agents: &[AgentNode],
    workflow: &str,
    parent: &str,
    level: usize,
) {
    for a in agents {
        rows.push(vec![
            level.to_string(),
            "agent".into(),
            workflow.to_string(),
            a.agent_id.clone(),
            parent.to_string(),
            a.agent_type.clone(),
            a.description.clone().unwrap_or_default(),
            a.status.clone(),
            a.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
            a.tokens.to_string(),
            csv_cell(a.cost_usd),
            csv_cell(a.resources.tool_ms),
            csv_cell(a.resources.model_ms),
            csv_cell(a.resources.host_cpu_seconds),
            csv_cell(a.resources.host_rss_mb),
        ]);
        flat(rows, &a.children, workflow, &a.agent_id, level + 1);
    }
}

impl Report for Tree {
    fn command(&self) -> &'static str {
        "tree"
    }
    fn json(&self) -> Value {
        json!({ "session": self.session, "project": self.project, "start": self.start, "turns": self.turns })
    }
    /// CSV only: one row per node (the table is the drawn tree, in [`Report::notes`]).
    fn grids(&self) -> Vec<Grid> {
        if self.format != Format::Csv {
            return Vec::new();
        }
        let mut g = Grid::new(&[
            "level",
            "node",
            "workflow_id",
            "agent_id",
            "parent_agent_id",
            "agent_type",
            "description",
            "status",
            "duration_ms",
            "tokens",
            "cost_usd",
            "tool_ms",
            "model_ms",
            "host_cpu_seconds",
            "host_rss_mb",
        ]);
        for t in &self.turns {
            let wid = t.workflow_id.clone().unwrap_or_default();
            g.rows.push(vec![
                "1".into(),
                "turn".into(),
                wid.clone(),
                String::new(),
                String::new(),
                String::new(),
                t.prompt.clone().unwrap_or_default(),
                t.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
                t.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            flat(&mut g.rows, &t.agents, &wid, "", 2);
        }
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        let agents: usize = self.turns.iter().map(|t| count(&t.agents)).sum();
        let turns = self
            .turns
            .iter()
            .filter(|t| t.workflow_id.is_some())
            .count();
        let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
        let mut out = vec![match &self.session {
            Some(s) => format!(
                "Session {s}  {}  {}  ({}, {})",
                self.project.as_deref().unwrap_or("-"),
                render::iso_minutes(self.start.as_deref()),
                n(turns, "turn"),
                n(agents, "agent")
            ),
            None => format!("({}, {})", n(turns, "workflow"), n(agents, "agent")),
        }];
        for (i, t) in self.turns.iter().enumerate() {
            let last = i + 1 == self.turns.len();
            out.push(format!(
                "{}{}",
                if last { "└─ " } else { "├─ " },
                turn_line(t)
            ));
            draw_agents(&mut out, &t.agents, if last { "   " } else { "│  " });
        }
        if self.turns.iter().any(|t| any_host(&t.agents)) {
            out.push(String::new());
            out.push(format!("host CPU, host mem: {HOST_NOTE}."));
        }
        out
    }
}
