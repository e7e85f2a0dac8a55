//! `analyze active`: agents running now (started, not ended, started within
//! `lost_after_minutes`), longest-running first; those running longer than `hung_after_minutes`
//! are flagged as possibly hung.

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::{self, Grid, Report};
use crate::vocab::RunStatus;
use rusqlite::params_from_iter;
use serde::Serialize;
use serde_json::{json, Value};

/// Arguments of `analyze active`.
#[derive(clap::Args, Debug, Clone)]
pub struct ActiveArgs {
    /// Flag agents running longer than this many minutes as possibly hung (default: config).
    #[arg(long)]
    pub hung_after: Option<i64>,
}

/// One running agent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActiveRow {
    pub agent: String,
    pub description: Option<String>,
    pub session: Option<String>,
    pub agent_id: String,
    pub started: String,
    /// now − start, ms.
    pub elapsed_ms: i64,
    /// elapsed > hung_after_minutes.
    pub possibly_hung: bool,
    pub depth: i64,
    pub background: bool,
}

/// The active report.
#[derive(Debug, Clone, Serialize)]
pub struct Active {
    pub hung_after_minutes: i64,
    pub agents: Vec<ActiveRow>,
}

/// Running agents matching the filter, oldest start first (from the `runs_open` index).
pub fn compute(ctx: &Ctx, filter: &Filter, hung_after_minutes: i64) -> Result<Active> {
    let (w, p) = filter.runs_where();
    let sql = format!(
        "SELECT r.agent_type, r.description, r.session_id, r.agent_id, r.start_ms, r.depth, r.background
         FROM agent_runs r WHERE r.end_ms IS NULL AND r.status = '{running}' AND r.start_ms >= {lb} AND {w}
         ORDER BY r.start_ms, r.id",
        lb = ctx.lost_before(),
        running = RunStatus::Running
    );
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let agents = stmt
        .query_map(params_from_iter(p.iter()), |r| {
            let start: i64 = r.get(4)?;
            let elapsed_ms = (ctx.now - start).max(0);
            Ok(ActiveRow {
                agent: r.get(0)?,
                description: r.get(1)?,
                session: r.get(2)?,
                agent_id: r.get(3)?,
                started: crate::timeparse::format_ms(start),
                elapsed_ms,
                possibly_hung: elapsed_ms > hung_after_minutes * 60_000,
                depth: r.get(5)?,
                background: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Active {
        hung_after_minutes,
        agents,
    })
}

impl Report for Active {
    fn command(&self) -> &'static str {
        "active"
    }
    fn json(&self) -> Value {
        json!({ "hung_after_minutes": self.hung_after_minutes, "agents": self.agents })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&[
            "Agent",
            "Description",
            "Session",
            "Started (UTC)",
            "Elapsed",
            "Flag",
        ])
        .numeric(&[4]);
        g.rows = self
            .agents
            .iter()
            .map(|a| {
                vec![
                    a.agent.clone(),
                    render::clip(a.description.as_deref().unwrap_or(""), 50),
                    render::id_prefix(a.session.as_deref().unwrap_or("")),
                    render::iso_seconds(&a.started),
                    render::dur(Some(a.elapsed_ms as f64)),
                    if a.possibly_hung {
                        "possibly hung".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        let hung = self.agents.iter().filter(|a| a.possibly_hung).count();
        if hung > 0 {
            vec![format!(
                "{hung} running for more than {} minutes: possibly hung.",
                self.hung_after_minutes
            )]
        } else {
            Vec::new()
        }
    }
}

/// Runs `analyze active`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &ActiveArgs, format: render::Format) -> Result<bool> {
    let hung = args.hung_after.unwrap_or(ctx.cfg.hung_after_minutes);
    if hung < 0 {
        return Err(Error::InvalidArgument(
            "--hung-after must not be negative".into(),
        ));
    }
    let a = compute(ctx, filter, hung)?;
    if a.agents.is_empty() {
        eprintln!("analyze: no agents are running");
        return Ok(false);
    }
    render::print(&a, format)?;
    Ok(true)
}
