//! `analyze tools`: what the subagents' tool calls were (from their transcripts), and which
//! tools go together — pairs used by the same run, ranked by lift. Definitions:
//! docs/metrics.md (`tools`).

use super::{Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::{self, Grid, Report};
use rusqlite::params_from_iter;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Arguments of `analyze tools`.
#[derive(clap::Args, Debug, Clone)]
pub struct ToolsArgs {
    /// How many tools.
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    /// How many tool pairs.
    #[arg(long, default_value_t = 10)]
    pub pairs: usize,
}

/// Pairs used together by fewer runs than this are not listed (lift is noise on one run).
pub const MIN_PAIR_SUPPORT: i64 = 2;

/// One tool.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolRow {
    pub tool: String,
    pub calls: i64,
    /// calls ÷ all tool calls.
    pub share: f64,
    /// calls ÷ runs with a transcript summary.
    pub calls_per_run: Option<f64>,
    /// Runs that called it.
    pub runs: i64,
    pub errors: i64,
    /// errors ÷ calls.
    pub error_rate: Option<f64>,
    /// Distinct agent types that called it.
    pub agents: i64,
}

/// Two tools used by the same run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairRow {
    pub a: String,
    pub b: String,
    /// Runs that used both.
    pub support: i64,
    /// P(A and B) ÷ (P(A)·P(B)) over runs with a summary.
    pub lift: f64,
}

/// The tools report.
#[derive(Debug, Clone, Serialize)]
pub struct Tools {
    /// Matching runs with a transcript summary (the denominator of per-run figures and lift).
    pub summarized_runs: i64,
    pub total_calls: i64,
    pub min_pair_support: i64,
    pub tools: Vec<ToolRow>,
    pub pairs: Vec<PairRow>,
}

/// Tools that take part in pairs: the most-called ones, one bit each of a run's tool set.
pub const MAX_PAIR_TOOLS: usize = 62;

/// Computes every tool's figures and the pairs (untruncated: `run` cuts to the limits).
///
/// Two grouped passes over the matching runs' tool rows: per (tool, agent type), then per run
/// its set of tools as a bit mask, counted per distinct mask. Pair supports are summed from
/// the (few) distinct masks here, instead of a self-join over every run's tools.
pub fn compute(ctx: &Ctx, filter: &Filter) -> Result<Tools> {
    let c = ctx.store.conn();
    let (w, p) = filter.runs_where();
    let summarized: i64 = c.query_row(
        &format!("SELECT count(*) FROM agent_runs r WHERE {w} AND r.has_summary = 1"),
        params_from_iter(p.iter()),
        |r| r.get(0),
    )?;
    let mut stmt = c.prepare(&format!(
        "SELECT t.tool, sum(t.calls), sum(t.errors), count(*) FROM agent_runs r CROSS JOIN run_tools t ON t.run_id = r.id
         WHERE {w} GROUP BY t.tool, r.agent_type"
    ))?;
    let mut by_tool: HashMap<String, ToolRow> = HashMap::new();
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (tool, calls, errors, runs) = row?;
        let t = by_tool.entry(tool.clone()).or_insert(ToolRow {
            tool,
            calls: 0,
            share: 0.0,
            calls_per_run: None,
            runs: 0,
            errors: 0,
            error_rate: None,
            agents: 0,
        });
        t.calls += calls;
        t.errors += errors;
        t.runs += runs;
        t.agents += 1;
    }
    let mut tools: Vec<ToolRow> = by_tool.into_values().collect();
    tools.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.tool.cmp(&b.tool)));
    let total_calls: i64 = tools.iter().map(|t| t.calls).sum();
    for t in &mut tools {
        t.share = if total_calls > 0 {
            t.calls as f64 / total_calls as f64
        } else {
            0.0
        };
        t.calls_per_run = (summarized > 0).then(|| t.calls as f64 / summarized as f64);
        t.error_rate = (t.calls > 0).then(|| t.errors as f64 / t.calls as f64);
    }
    let pairs = pairs(ctx, &w, &p, &tools, summarized)?;
    Ok(Tools {
        summarized_runs: summarized,
        total_calls,
        min_pair_support: MIN_PAIR_SUPPORT,
        tools,
        pairs,
    })
}

/// Pairs with support ≥ [`MIN_PAIR_SUPPORT`], best lift first (ties: more support, then names).
fn pairs(
    ctx: &Ctx,
    w: &str,
    p: &[rusqlite::types::Value],
    tools: &[ToolRow],
    summarized: i64,
) -> Result<Vec<PairRow>> {
    let members = &tools[..tools.len().min(MAX_PAIR_TOOLS)];
    if members.len() < 2 {
        return Ok(Vec::new());
    }
    let mut params = p.to_vec();
    let mut cases = String::new();
    for (bit, t) in members.iter().enumerate() {
        params.push(rusqlite::types::Value::Text(t.tool.clone()));
        cases.push_str(&format!(" WHEN ?{} THEN {}", params.len(), 1i64 << bit));
    }
    let sql = format!(
        "SELECT m, count(*) FROM (
            SELECT sum(CASE t.tool{cases} ELSE 0 END) AS m FROM agent_runs r CROSS JOIN run_tools t ON t.run_id = r.id
            WHERE {w} GROUP BY r.id)
         GROUP BY m"
    );
    let mut support: HashMap<(usize, usize), i64> = HashMap::new();
    let mut stmt = ctx.store.conn().prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (mask, n) = row?;
        let bits: Vec<usize> = (0..members.len())
            .filter(|b| mask & (1i64 << b) != 0)
            .collect();
        for (i, a) in bits.iter().enumerate() {
            for b in &bits[i + 1..] {
                *support.entry((*a, *b)).or_default() += n;
            }
        }
    }
    let mut pairs: Vec<PairRow> = support
        .into_iter()
        .filter(|(_, s)| *s >= MIN_PAIR_SUPPORT)
        .map(|((i, j), support)| {
            let (x, y) = (&members[i], &members[j]);
            // P(AB) / (P(A)·P(B)) = (support/N) / ((n_A/N)·(n_B/N)) = support·N / (n_A·n_B)
            let lift = support as f64 * summarized as f64 / (x.runs as f64 * y.runs as f64);
            let (a, b) = if x.tool <= y.tool {
                (x.tool.clone(), y.tool.clone())
            } else {
                (y.tool.clone(), x.tool.clone())
            };
            PairRow {
                a,
                b,
                support,
                lift,
            }
        })
        .collect();
    pairs.sort_by(|x, y| {
        y.lift
            .partial_cmp(&x.lift)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| y.support.cmp(&x.support))
            .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
    });
    Ok(pairs)
}

impl Report for Tools {
    fn command(&self) -> &'static str {
        "tools"
    }
    fn json(&self) -> Value {
        json!({
            "summarized_runs": self.summarized_runs, "total_calls": self.total_calls,
            "min_pair_support": self.min_pair_support, "tools": self.tools, "pairs": self.pairs,
        })
    }
    fn grids(&self) -> Vec<Grid> {
        let mut g = Grid::new(&[
            "Tool",
            "Calls",
            "Share",
            "Per run",
            "Runs",
            "Errors",
            "Error rate",
            "Agents",
        ])
        .numeric(&[1, 2, 3, 4, 5, 6, 7]);
        g.rows = self
            .tools
            .iter()
            .map(|t| {
                vec![
                    t.tool.clone(),
                    render::int(t.calls),
                    render::pct(Some(t.share)),
                    render::num(t.calls_per_run, 2),
                    render::int(t.runs),
                    render::int(t.errors),
                    render::pct(t.error_rate),
                    render::int(t.agents),
                ]
            })
            .collect();
        let mut pairs = Grid::new(&["Tool A", "Tool B", "Runs with both", "Lift"])
            .numeric(&[2, 3])
            .titled(format!(
                "Tools used together (at least {} runs with both)",
                self.min_pair_support
            ));
        pairs.rows = self
            .pairs
            .iter()
            .map(|x| {
                vec![
                    x.a.clone(),
                    x.b.clone(),
                    render::int(x.support),
                    render::num(Some(x.lift), 2),
                ]
            })
            .collect();
        vec![g, pairs]
    }
    fn notes(&self) -> Vec<String> {
        vec![format!(
            "{} runs have a transcript summary (per-run figures and lift are over those). Lift > 1: used together more often than chance.",
            render::int(self.summarized_runs)
        )]
    }
}

/// Runs `analyze tools`; `Ok(false)` = nothing found.
pub fn run(ctx: &Ctx, filter: &Filter, args: &ToolsArgs, format: render::Format) -> Result<bool> {
    if args.limit == 0 {
        return Err(Error::InvalidArgument("--limit must be at least 1".into()));
    }
    let mut t = compute(ctx, filter)?;
    if t.tools.is_empty() {
        eprintln!("analyze: no tool calls recorded for the matching runs (tool counts come from subagent transcripts)");
        return Ok(false);
    }
    t.tools.truncate(args.limit);
    t.pairs.truncate(args.pairs);
    render::print(&t, format)?;
    Ok(true)
}
