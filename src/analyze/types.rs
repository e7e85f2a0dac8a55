//! `analyze types`: runs per agent category (the `categories` rules of config.json), with the
//! agent types in each and the tools they call most.

use super::window::{rollup_days, rollup_params, Days, DAY_MS};
use super::{Ctx, Filter};
use crate::error::Result;
use crate::query::sql;
use crate::render::{self, Grid, Report};
use crate::vocab::RunStatus;
use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Arguments of `analyze types`.
#[derive(clap::Args, Debug, Clone)]
pub struct TypesArgs {}

/// How many tools each category lists.
pub const TOP_TOOLS: usize = 3;

/// A tool and its calls.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolCalls {
    pub tool: String,
    pub calls: i64,
}

/// One category.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CategoryRow {
    pub category: String,
    pub runs: i64,
    /// The agent types in it, most runs first (ties by name).
    pub agent_types: Vec<String>,
    /// success ÷ (success + failure + lost).
    pub success_rate: Option<f64>,
    pub avg_duration_ms: Option<f64>,
    /// The most-called tools, most calls first (ties by name).
    pub top_tools: Vec<ToolCalls>,
}

/// The types report.
#[derive(Debug, Clone, Serialize)]
pub struct Types {
    pub categories: Vec<CategoryRow>,
}

/// Sums of one category (or one agent type in it).
#[derive(Default)]
struct Acc {
    runs: i64,
    success: i64,
    decided: i64,
    dur_n: i64,
    dur_sum: i64,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.runs += o.runs;
        self.success += o.success;
        self.decided += o.decided;
        self.dur_n += o.dur_n;
        self.dur_sum += o.dur_sum;
    }
}

/// What the sources add up to: per (category, agent type) the run sums, per (category, tool) the
/// tool rows and calls.
#[derive(Default)]
struct Sums {
    types: BTreeMap<(String, String), Acc>,
    tools: BTreeMap<(String, String), (i64, i64)>,
}

impl Sums {
    /// Adds rows of (category, agent type, runs, success, decided, durations, duration sum),
    /// from the runs or from the rollup alike.
    fn add_types(&mut self, stmt: &mut rusqlite::Statement<'_>, p: &[SqlValue]) -> Result<()> {
        let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                Acc {
                    runs: r.get(2)?,
                    success: r.get(3)?,
                    decided: r.get(4)?,
                    dur_n: r.get(5)?,
                    dur_sum: r.get(6)?,
                },
            ))
        })?;
        for row in rows {
            let (key, a) = row?;
            self.types.entry(key).or_default().add(&a);
        }
        Ok(())
    }

    /// Adds rows of (category, tool, tool rows, calls).
    fn add_tools(&mut self, stmt: &mut rusqlite::Statement<'_>, p: &[SqlValue]) -> Result<()> {
        let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                (r.get::<_, i64>(2)?, r.get::<_, i64>(3)?),
            ))
        })?;
        for row in rows {
            let (key, (n, calls)) = row?;
            let e = self.tools.entry(key).or_default();
            e.0 += n;
            e.1 += calls;
        }
        Ok(())
    }
}

/// Categories with runs matching the filter, most runs first. Reads the version-8 rollups for
/// the whole days of the window and the runs themselves for the rest (part days at its edges,
/// or everything under `--project` / `--session`): the same figures either way.
pub fn compute(ctx: &Ctx, filter: &Filter) -> Result<Types> {
    let mut sums = Sums::default();
    match rollup_days(filter) {
        Some(days) => {
            from_rollups(ctx, filter, days, &mut sums)?;
            // The part days at the window's edges, from the runs.
            if let Days::Range(first, end) = days {
                let mut before = filter.clone();
                before.until = Some(first * DAY_MS);
                from_runs(ctx, &before, &mut sums)?;
                if let Some(e) = end {
                    let mut after = filter.clone();
                    after.since = Some(e * DAY_MS);
                    from_runs(ctx, &after, &mut sums)?;
                }
            }
        }
        None => from_runs(ctx, filter, &mut sums)?,
    }
    Ok(assemble(sums))
}

/// The same report from the runs alone, whatever the filter: what [`compute`] must equal.
pub fn compute_from_runs(ctx: &Ctx, filter: &Filter) -> Result<Types> {
    let mut sums = Sums::default();
    from_runs(ctx, filter, &mut sums)?;
    Ok(assemble(sums))
}

/// Adds the matching runs and their tool rows, read from `agent_runs` and `run_tools`.
fn from_runs(ctx: &Ctx, filter: &Filter, sums: &mut Sums) -> Result<()> {
    let c = ctx.store.conn();
    let (w, p) = filter.runs_where();
    let st = ctx.status_sql();
    let (success, decided) = (
        sql::count_of(&st, RunStatus::Success),
        sql::decided_count(&st),
    );
    sums.add_types(
        &mut c.prepare(&format!(
            "SELECT r.category, r.agent_type, count(*), {success}, {decided},
                    count(r.duration_ms), coalesce(sum(r.duration_ms), 0)
             FROM agent_runs r WHERE {w} GROUP BY r.category, r.agent_type"
        ))?,
        &p,
    )?;
    sums.add_tools(
        &mut c.prepare(&format!(
            "SELECT r.category, t.tool, count(*), sum(t.calls) FROM agent_runs r CROSS JOIN run_tools t ON t.run_id = r.id
             WHERE {w} GROUP BY r.category, t.tool"
        ))?,
        &p,
    )?;
    Ok(())
}

/// Adds the rollups' sums over `days` (and the `--agent` types), plus the lost runs among them,
/// decided now from the index of open runs as the status expression decides them.
fn from_rollups(ctx: &Ctx, filter: &Filter, days: Days, sums: &mut Sums) -> Result<()> {
    let c = ctx.store.conn();
    let (mut p, agents) = rollup_params(filter, days);
    sums.add_types(
        &mut c.prepare(&format!(
            "SELECT category, agent_type, sum(runs), sum(success), sum(success + failure), sum(dur_n), sum(dur_sum)
             FROM type_daily WHERE day >= ?1 AND day < ?2{agents} GROUP BY 1, 2"
        ))?,
        &p,
    )?;
    // Lost: running, never ended, started before the threshold (RunStatus::effective_sql), in
    // the same days. Without time bounds every start counts (a missing one as 0).
    let window = days.runs_start_sql();
    p.push(SqlValue::Integer(ctx.lost_before()));
    let lost = p.len();
    let mut stmt = c.prepare(&format!(
        "SELECT r.category, r.agent_type, count(*) FROM agent_runs r INDEXED BY runs_open
         WHERE r.end_ms IS NULL AND r.internal = 0 AND r.status = 'running' AND coalesce(r.start_ms, 0) < ?{lost}{window}{}
         GROUP BY 1, 2",
        agents.replace("agent_type", "r.agent_type")
    ))?;
    let rows = stmt.query_map(params_from_iter(p[..].iter()), |r| {
        Ok((
            (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (key, n) = row?;
        sums.types.entry(key).or_default().decided += n;
    }
    p.pop();
    sums.add_tools(
        &mut c.prepare(&format!(
            "SELECT category, tool, sum(n), sum(calls) FROM type_tool_daily
             WHERE day >= ?1 AND day < ?2{agents} GROUP BY 1, 2"
        ))?,
        &p,
    )?;
    Ok(())
}

/// The report from the sums: agent types with runs, tools with rows, categories with runs.
fn assemble(sums: Sums) -> Types {
    #[derive(Default)]
    struct Cat {
        acc: Acc,
        types: Vec<(i64, String)>,
        tools: Vec<ToolCalls>,
    }
    let mut by: BTreeMap<String, Cat> = BTreeMap::new();
    for ((cat, agent), a) in sums.types {
        if a.runs <= 0 {
            continue;
        }
        let e = by.entry(cat).or_default();
        e.acc.add(&a);
        e.types.push((a.runs, agent));
    }
    for ((cat, tool), (n, calls)) in sums.tools {
        if n <= 0 {
            continue;
        }
        if let Some(e) = by.get_mut(&cat) {
            e.tools.push(ToolCalls { tool, calls });
        }
    }
    let mut categories: Vec<CategoryRow> = by
        .into_iter()
        .map(|(category, mut c)| {
            c.types
                .sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
            c.tools
                .sort_by(|x, y| y.calls.cmp(&x.calls).then_with(|| x.tool.cmp(&y.tool)));
            c.tools.truncate(TOP_TOOLS);
            let a = c.acc;
            CategoryRow {
                category,
                runs: a.runs,
                agent_types: c.types.into_iter().map(|(_, t)| t).collect(),
                success_rate: (a.decided > 0).then(|| a.success as f64 / a.decided as f64),
                avg_duration_ms: (a.dur_n > 0).then(|| a.dur_sum as f64 / a.dur_n as f64),
                top_tools: c.tools,
            }
        })
        .collect();
    categories.sort_by(|x, y| {
        y.runs
            .cmp(&x.runs)
            .then_with(|| x.category.cmp(&y.category))
    });
    Types { categories }
}

impl Report for Types {
    fn command(&self) -> &'static str {
        "types"
    }
    fn json(&self) -> Value {
        json!({ "categories": self.categories })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&[
            "Category",
            "Runs",
            "Types",
            "Agent types",
            "Success",
            "Avg duration",
            "Top tools",
        ])
        .numeric(&[1, 2, 4, 5]);
        g.rows = self
            .categories
            .iter()
            .map(|c| {
                vec![
                    c.category.clone(),
                    render::int(c.runs),
                    c.agent_types.len().to_string(),
                    c.agent_types.join(", "),
                    render::pct(c.success_rate),
                    render::dur(c.avg_duration_ms),
                    c.top_tools
                        .iter()
                        .map(|t| format!("{} ({})", t.tool, render::int(t.calls)))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect();
        vec![g]
    }
}

/// Runs `analyze types`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, _args: &TypesArgs, format: render::Format) -> Result<bool> {
    let t = compute(ctx, filter)?;
    if t.categories.is_empty() {
        eprintln!("analyze: no agent runs match");
        return Ok(false);
    }
    render::print(&t, format)?;
    Ok(true)
}
