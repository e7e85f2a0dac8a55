//! `analyze types`: runs per agent category (the `categories` rules of config.json), with the
//! agent types in each and the tools they call most.

use super::{Ctx, Filter};
use crate::error::Result;
use crate::query::sql;
use crate::render::{self, Grid, Report};
use crate::vocab::RunStatus;
use rusqlite::params_from_iter;
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

#[derive(Default)]
struct Acc {
    runs: i64,
    success: i64,
    decided: i64,
    dur_n: i64,
    dur_sum: i64,
    types: Vec<(i64, String)>,
    tools: Vec<ToolCalls>,
}

/// Categories with runs matching the filter, most runs first.
pub fn compute(ctx: &Ctx, filter: &Filter) -> Result<Types> {
    let c = ctx.store.conn();
    let (w, p) = filter.runs_where();
    let st = ctx.status_sql();
    let (success, decided) = (
        sql::count_of(&st, RunStatus::Success),
        sql::decided_count(&st),
    );
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    let mut stmt = c.prepare(&format!(
        "SELECT r.category, r.agent_type, count(*), {success}, {decided},
                count(r.duration_ms), coalesce(sum(r.duration_ms), 0)
         FROM agent_runs r WHERE {w} GROUP BY r.category, r.agent_type"
    ))?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            [
                r.get::<_, i64>(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ],
        ))
    })?;
    for row in rows {
        let (cat, agent, [runs, success, decided, dur_n, dur_sum]) = row?;
        let a = by.entry(cat).or_default();
        a.runs += runs;
        a.success += success;
        a.decided += decided;
        a.dur_n += dur_n;
        a.dur_sum += dur_sum;
        a.types.push((runs, agent));
    }
    let mut stmt = c.prepare(&format!(
        "SELECT r.category, t.tool, sum(t.calls) FROM agent_runs r CROSS JOIN run_tools t ON t.run_id = r.id
         WHERE {w} GROUP BY r.category, t.tool"
    ))?;
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            ToolCalls {
                tool: r.get(1)?,
                calls: r.get(2)?,
            },
        ))
    })?;
    for row in rows {
        let (cat, t) = row?;
        if let Some(a) = by.get_mut(&cat) {
            a.tools.push(t);
        }
    }
    let mut categories: Vec<CategoryRow> = by
        .into_iter()
        .map(|(category, mut a)| {
            a.types
                .sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
            a.tools
                .sort_by(|x, y| y.calls.cmp(&x.calls).then_with(|| x.tool.cmp(&y.tool)));
            a.tools.truncate(TOP_TOOLS);
            CategoryRow {
                category,
                runs: a.runs,
                agent_types: a.types.into_iter().map(|(_, t)| t).collect(),
                success_rate: (a.decided > 0).then(|| a.success as f64 / a.decided as f64),
                avg_duration_ms: (a.dur_n > 0).then(|| a.dur_sum as f64 / a.dur_n as f64),
                top_tools: a.tools,
            }
        })
        .collect();
    categories.sort_by(|x, y| {
        y.runs
            .cmp(&x.runs)
            .then_with(|| x.category.cmp(&y.category))
    });
    Ok(Types { categories })
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
