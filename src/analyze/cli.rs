//! The `analyze` command line: arguments → typed [`Filter`] → a subcommand → a rendered report.
//! Exit codes: 0 answered, 1 nothing found, 2 error (message with its cause on stderr).

use super::{summary, Ctx, Filter};
use crate::error::{Error, Result};
use crate::render::{self, Format, Report};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "analyze",
    version,
    about = "Answers questions about the subagents Claude Code ran",
    long_about = "Answers questions about the subagents Claude Code ran.\n\nWith no subcommand, runs `summary`."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Option<Command>,
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

#[derive(Subcommand, Debug)]
pub enum Command {
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
    /// The dashboard's views as one self-contained HTML file (no script, no external address).
    Report(crate::html::report::ReportArgs),
    /// Where the database is, which hooks are registered, when each last fired, what is quarantined;
    /// with --coverage, whether the runs in Claude Code's transcripts are all recorded.
    Doctor(super::doctor::DoctorArgs),
    /// Import agent runs from existing Claude Code transcripts.
    Import(super::import::ImportArgs),
    /// Register or remove the hooks in a Claude Code settings file (used by install.sh).
    #[command(subcommand)]
    Hooks(crate::settings::HooksCommand),
    /// Re-derive every agent run from the event log (after changing config.json rules).
    Rebuild,
    /// Serve the reports over HTTP: /api/v1/<subcommand>, the design's /api/agents/… and a live
    /// stream of agents starting and finishing (docs/serve.md).
    Serve(crate::serve::ServeArgs),
}

/// Parses the command line and runs it; maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli: Cli = match crate::error::parse_reader_args() {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("analyze: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            if let Some(h) = e.hint() {
                eprintln!("  hint: {h}");
            }
            ExitCode::from(2)
        }
    }
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

/// Runs a parsed command line. `Ok(false)` means "nothing found" (exit 1).
pub fn run(cli: Cli) -> Result<bool> {
    let common = cli.common;
    let now = super::now();
    let filter = common.filter(now)?;
    let command = cli.command.unwrap_or(Command::Summary {
        sort: "runs".into(),
        reverse: false,
    });
    // These work without (or before) a database.
    match &command {
        Command::Doctor(a) => {
            return super::doctor::run(common.db.as_deref(), &filter, a, common.format)
        }
        Command::Import(a) => {
            return super::import::run(common.db.as_deref(), &filter, a, common.format)
        }
        Command::Hooks(h) => return crate::settings::run(h),
        Command::Serve(a) => {
            if filter.since.is_some()
                || filter.until.is_some()
                || !filter.agents.is_empty()
                || filter.project.is_some()
                || filter.session.is_some()
            {
                return Err(Error::InvalidArgument(
                    "serve takes its filters per request (as query parameters), not on its command line".into(),
                ));
            }
            return crate::serve::run(common.db.as_deref(), a);
        }
        _ => {}
    }
    let ctx = Ctx::open(common.db.as_deref())?;
    ctx.check_agents(&filter.agents)?;
    match command {
        Command::Summary { sort, reverse } => {
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
        Command::Sessions { limit } => {
            let s = super::sessions::compute(&ctx, &filter, limit)?;
            if s.sessions.is_empty() {
                return nothing("no sessions match");
            }
            emit(&s, common.format)?;
        }
        Command::Agent(a) => return super::agent::run(&ctx, &filter, &a, common.format),
        Command::Top(a) => return super::top::run(&ctx, &filter, &a, common.format),
        Command::Workflows(a) => return super::workflows::run(&ctx, &filter, &a, common.format),
        Command::Overhead(a) => return super::overhead::run(&ctx, &filter, &a, common.format),
        Command::Trends(a) => return super::trends::run(&ctx, &filter, &a, common.format),
        Command::Tools(a) => return super::tools::run(&ctx, &filter, &a, common.format),
        Command::Types(a) => return super::types::run(&ctx, &filter, &a, common.format),
        Command::Timeline(a) => return super::timeline::run(&ctx, &filter, &a, common.format),
        Command::Tree(a) => return super::tree::run(&ctx, &filter, &a, common.format),
        Command::Active(a) => return super::active::run(&ctx, &filter, &a, common.format),
        Command::Errors(a) => return super::errors::run(&ctx, &filter, &a, common.format),
        Command::Report(a) => {
            return crate::html::report::run(&ctx, &filter, &a, &common.filter_note())
        }
        Command::Doctor(_) | Command::Import(_) | Command::Hooks(_) | Command::Serve(_) => {
            unreachable!("handled above")
        }
        Command::Rebuild => {
            let r = crate::derive::rebuild(&ctx.store, &ctx.cfg, &ctx.prices)?;
            eprintln!("analyze: rebuilt the projection from {} events", r.events);
        }
    }
    Ok(true)
}
