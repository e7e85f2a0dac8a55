//! The reports' command line: the options every subcommand takes ([`Common`] → a typed
//! [`Filter`]), the read-only reports ([`ReportCommand`]) and how each runs. The whole `analyze`
//! command line ([`crate::cli`]) and `analyze serve`'s `/api/v1/` both run reports through here.

use super::{summary, Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::{self, Format, Report};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The reports alone (what `analyze serve` answers under `/api/v1/`): the same options and
/// subcommands as the command line's, parsed the same way.
#[derive(Parser, Debug)]
#[command(name = "analyze")]
pub struct ReportsCli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: ReportCommand,
}

/// Options every subcommand takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// Database file (default: $AGENT_TELEMETRY_DB or ~/.local/share/agent-telemetry/telemetry.db).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Only runs that started at or after this: a date (2026-11-01), a date-time, or a span (7d, 12h).
    #[arg(long, global = true, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only runs that started before this: a date, a date-time, or a span ago.
    #[arg(long, global = true, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only the last N days (same as --since Nd).
    #[arg(long, global = true, value_name = "N", allow_hyphen_values = true, value_parser = parse_days)]
    pub days: Option<u32>,
    /// Only this agent type (repeatable).
    #[arg(long = "agent", global = true, value_name = "NAME")]
    pub agents: Vec<String>,
    /// Only sessions whose working directory is PATH or below it.
    #[arg(long, global = true, value_name = "PATH")]
    pub project: Option<String>,
    /// Only this session (or explicit workflow) id.
    #[arg(long, global = true, value_name = "ID")]
    pub session: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The reports: subcommands that only read the projection.
#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// One row per agent: runs, success rate, p50/p95 duration, complexity, tokens, cost, efficiency.
    Summary {
        /// Sort by: agent, runs, success, p50, p95, duration, complexity, tokens, cost, efficiency.
        #[arg(long, default_value = "runs")]
        sort: String,
        /// Reverse the sort order.
        #[arg(long)]
        reverse: bool,
    },
    /// Per session: prompt turns, agents, tokens and cost of the main agent and its subagents.
    Sessions {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Everything about one agent: durations, tokens, daily trend, tools, delegation, last errors.
    Agent(super::agent::AgentArgs),
    /// The best (or --worst) agents by efficiency, success, runs or cost.
    Top(super::top::TopArgs),
    /// Workflow totals, common agent sequences, recent workflows.
    Workflows(super::workflows::WorkflowsArgs),
    /// Coordination overhead per workflow and overall, with concurrency and a recommendation.
    Overhead(super::overhead::OverheadArgs),
    /// Recent (7 days) versus earlier success rate and duration: improving, stable or declining.
    Trends(super::trends::TrendsArgs),
    /// Per tool: calls, share, per run, error rate, agents; tool pairs with lift.
    Tools(super::tools::ToolsArgs),
    /// Runs per agent category with their common tools.
    Types(super::types::TypesArgs),
    /// Runs per hour (or day): count, average duration, success rate, dominant agent.
    Timeline(super::timeline::TimelineArgs),
    /// The delegation hierarchy of a session or workflow.
    Tree(super::tree::TreeArgs),
    /// Agents running now; long-running ones flagged as possibly hung.
    Active(super::active::ActiveArgs),
    /// Recent failures with their (redacted) messages.
    Errors(super::errors::ErrorsArgs),
    /// Per agent and metric (custom and built-in): runs with a value, avg, p50, p95, min, max,
    /// sum, and the trend (the last 7 days against before).
    Metrics(super::metrics::MetricsArgs),
    /// Evaluates the alert rules now: what fires (and what was resolved in the last hour);
    /// delivers changes to the configured notifiers. --fail-on-alert exits 3 while any fires.
    Alerts(super::alerts::AlertsArgs),
}

/// `--days N`: a whole number of days, at least 1 (clap alone calls `-1` an unknown argument).
pub fn parse_days(s: &str) -> std::result::Result<u32, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if n >= 1 && n <= i64::from(u32::MAX) => Ok(n as u32),
        Ok(n) => Err(format!("{n} is not a number of days: give 1 or more")),
        Err(_) => Err(format!(
            "'{s}' is not a number of days: give a whole number, 1 or more"
        )),
    }
}

impl Common {
    /// The filter options of an HTTP request's query pairs, as the command line takes them:
    /// `since`, `until`, `days`, `project`, `session` (the last of a repeated one wins) and
    /// `agent` (repeatable). Other keys are the caller's to check.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Common> {
        let one = |key: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        Ok(Common {
            since: one("since"),
            until: one("until"),
            days: one("days")
                .map(|d| parse_days(&d))
                .transpose()
                .map_err(Error::InvalidArgument)?,
            agents: pairs
                .iter()
                .filter(|(k, _)| k == "agent")
                .map(|(_, v)| v.clone())
                .collect(),
            project: one("project"),
            session: one("session"),
            ..Common::default()
        })
    }

    /// The filters as given on the command line (`--days 7 --agent a`), for a report's header.
    pub fn filter_note(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut add = |name: &str, v: Option<&str>| {
            if let Some(v) = v {
                parts.push(format!("--{name} {v}"));
            }
        };
        add("since", self.since.as_deref());
        add("until", self.until.as_deref());
        add("days", self.days.map(|d| d.to_string()).as_deref());
        add("project", self.project.as_deref());
        add("session", self.session.as_deref());
        for a in &self.agents {
            parts.push(format!("--agent {a}"));
        }
        parts.join(" ")
    }

    /// Validates the options into a typed filter (before any SQL runs).
    pub fn filter(&self, now: i64) -> Result<Filter> {
        let bound = |name: &str, v: &Option<String>| -> Result<Option<i64>> {
            match v {
                None => Ok(None),
                Some(s) => crate::timeparse::parse_bound(s, now).map(Some).ok_or_else(|| {
                    Error::InvalidArgument(format!("--{name} '{s}': expected a date (2026-11-01), a date-time (2026-11-01T09:00:00Z) or a span (7d, 12h, 30m)"))
                }),
            }
        };
        let mut since = bound("since", &self.since)?;
        if let Some(d) = self.days {
            let s = now - i64::from(d) * 86_400_000;
            since = Some(since.map_or(s, |x| x.max(s)));
        }
        let until = bound("until", &self.until)?;
        if let (Some(s), Some(u)) = (since, until) {
            if s >= u {
                return Err(Error::InvalidArgument(
                    "--since must be before --until".into(),
                ));
            }
        }
        Ok(Filter {
            since,
            until,
            agents: self.agents.clone(),
            project: self.project.clone(),
            session: self.session.clone(),
        })
    }
}

fn emit(report: &dyn Report, format: Format) -> Result<()> {
    render::print(report, format)?;
    Ok(())
}

fn nothing(what: &str) -> Result<bool> {
    eprintln!("analyze: {what}");
    Ok(false)
}

/// Runs a parsed report command line (`analyze serve`'s `/api/v1/`). `Ok(false)` means
/// "nothing found" (exit 1).
pub fn run_reports(cli: ReportsCli) -> Result<bool> {
    let filter = cli.common.filter(super::now())?;
    run_report(&cli.common, &filter, cli.command)
}

/// Runs one report. `Ok(false)` means "nothing found" (exit 1).
pub fn run_report(common: &Common, filter: &Filter, command: ReportCommand) -> Result<bool> {
    let filter = filter.clone();
    let ctx = Ctx::open(common.db.as_deref())?;
    ctx.check_agents(&filter.agents)?;
    match command {
        ReportCommand::Summary { sort, reverse } => {
            if !summary::SORT_KEYS.contains(&sort.as_str()) {
                return Err(Error::InvalidArgument(format!(
                    "--sort '{sort}': one of {}",
                    summary::SORT_KEYS.join(", ")
                )));
            }
            let s = summary::compute(&ctx, &filter, &sort, reverse)?;
            if s.agents.is_empty() {
                return nothing(
                    "no agent runs match (is the hook installed? try `analyze doctor`)",
                );
            }
            emit(&s, common.format)?;
        }
        ReportCommand::Sessions { limit } => {
            let s = super::sessions::compute(&ctx, &filter, limit)?;
            if s.sessions.is_empty() {
                return nothing("no sessions match");
            }
            emit(&s, common.format)?;
        }
        ReportCommand::Agent(a) => return super::agent::run(&ctx, &filter, &a, common.format),
        ReportCommand::Top(a) => return super::top::run(&ctx, &filter, &a, common.format),
        ReportCommand::Workflows(a) => {
            return super::workflows::run(&ctx, &filter, &a, common.format)
        }
        ReportCommand::Overhead(a) => {
            return super::overhead::run(&ctx, &filter, &a, common.format)
        }
        ReportCommand::Trends(a) => return super::trends::run(&ctx, &filter, &a, common.format),
        ReportCommand::Tools(a) => return super::tools::run(&ctx, &filter, &a, common.format),
        ReportCommand::Types(a) => return super::types::run(&ctx, &filter, &a, common.format),
        ReportCommand::Timeline(a) => {
            return super::timeline::run(&ctx, &filter, &a, common.format)
        }
        ReportCommand::Tree(a) => return super::tree::run(&ctx, &filter, &a, common.format),
        ReportCommand::Active(a) => return super::active::run(&ctx, &filter, &a, common.format),
        ReportCommand::Errors(a) => return super::errors::run(&ctx, &filter, &a, common.format),
        ReportCommand::Alerts(a) => return super::alerts::run(&ctx, &filter, &a, common.format),
        ReportCommand::Metrics(a) => return super::metrics::run(&ctx, &filter, &a, common.format),
    }
    Ok(true)
}
