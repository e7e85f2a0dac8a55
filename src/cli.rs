//! The `analyze` command line: arguments → typed filter → a subcommand → a rendered report.
//! Exit codes: 0 answered, 1 nothing found, 2 error (message with its cause on stderr), 3
//! `alerts --fail-on-alert` with at least one alert firing.
//!
//! It sits above everything it dispatches to: the reports ([`crate::analyze::cli`], which
//! `analyze serve` runs too), the HTML report, the server, doctor, import and the hooks' settings.

use crate::analyze::cli::{run_report, Common, ReportCommand};
use crate::analyze::Ctx;
use crate::error::{Error, Result};
use clap::{Parser, Subcommand};
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

#[derive(Subcommand, Debug)]
pub enum Command {
    #[command(flatten)]
    Read(ReportCommand),
    /// The dashboard's views as one self-contained HTML file (no script, no external address).
    Report(crate::html::report::ReportArgs),
    /// Where the database is, which hooks are registered, when each last fired, what is quarantined;
    /// with --coverage, whether the runs in Claude Code's transcripts are all recorded.
    Doctor(crate::analyze::doctor::DoctorArgs),
    /// Import agent runs from existing Claude Code transcripts.
    Import(crate::analyze::import::ImportArgs),
    /// Register or remove the hooks in a Claude Code settings file (used by install.sh).
    #[command(subcommand)]
    Hooks(crate::settings::HooksCommand),
    /// One line for Claude Code's status line (its statusLine setting): agents running, this
    /// session's and today's cost, alerts firing. Reads Claude Code's JSON on stdin; always exits 0.
    Statusline(crate::statusline::StatuslineArgs),
    /// Re-derive every agent run from the event log (after changing config.json rules); with
    /// --metrics, first re-apply config.json's metric definitions to past runs' transcripts.
    Rebuild(RebuildArgs),
    /// Delete the raw event payloads of sessions older than a span (--older-than 90d), keeping
    /// every run, turn, session and figure; then reclaim the space (docs/retention.md).
    Prune(crate::analyze::prune::PruneArgs),
    /// Serve the reports over HTTP: /api/v1/<subcommand>, the design's /api/agents/… and a live
    /// stream of agents starting and finishing (docs/serve.md).
    Serve(crate::serve::ServeArgs),
    /// Send agent runs elsewhere: `export otlp` to an OpenTelemetry Collector or backend
    /// (docs/export.md).
    #[command(subcommand)]
    Export(crate::export::ExportCommand),
}

/// Arguments of `analyze rebuild`.
#[derive(clap::Args, Debug, Clone)]
pub struct RebuildArgs {
    /// Re-read the transcripts that still exist of the runs matching the filters with the
    /// current metric definitions (config.json "metrics"), appending a fresh summary for each.
    #[arg(long)]
    pub metrics: bool,
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
        Err(Error::AlertsFiring(n)) => {
            eprintln!("analyze: {n} alert(s) firing");
            ExitCode::from(3)
        }
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

/// Runs a parsed command line. `Ok(false)` means "nothing found" (exit 1).
pub fn run(cli: Cli) -> Result<bool> {
    let common = cli.common;
    if let Some(Command::Statusline(a)) = &cli.command {
        // Before anything that can fail: a status line always prints its line and exits 0.
        return crate::statusline::run(common.db.as_deref(), a);
    }
    let filter = common.filter(crate::analyze::now())?;
    let command = cli.command.unwrap_or(Command::Read(ReportCommand::Summary {
        sort: "runs".into(),
        reverse: false,
    }));
    match command {
        Command::Read(report) => run_report(&common, &filter, report),
        // These work without (or before) a database.
        Command::Doctor(a) => {
            crate::analyze::doctor::run(common.db.as_deref(), &filter, &a, common.format)
        }
        Command::Import(a) => {
            crate::analyze::import::run(common.db.as_deref(), &filter, &a, common.format)
        }
        Command::Hooks(h) => crate::settings::run(&h, common.db.as_deref()),
        Command::Serve(a) => {
            if !filter.is_empty() {
                return Err(Error::InvalidArgument(
                    "serve takes its filters per request (as query parameters), not on its command line".into(),
                ));
            }
            crate::serve::run(common.db.as_deref(), &a)
        }
        Command::Export(e) => crate::export::run(common.db.as_deref(), &filter, &e),
        Command::Report(a) => {
            let ctx = Ctx::open(common.db.as_deref())?;
            ctx.check_agents(&filter.agents)?;
            crate::html::report::run(&ctx, &filter, &a, &common.filter_note())
        }
        Command::Statusline(a) => crate::statusline::run(common.db.as_deref(), &a),
        Command::Prune(a) => {
            if !filter.is_empty() {
                return Err(Error::InvalidArgument(
                    "prune takes no filter: it prunes whole sessions older than --older-than"
                        .into(),
                ));
            }
            crate::analyze::prune::run(common.db.as_deref(), &a, common.format)
        }
        Command::Rebuild(a) if a.metrics => rebuild_metrics(&common, &filter),
        Command::Rebuild(_) => {
            let ctx = Ctx::open(common.db.as_deref())?;
            ctx.check_agents(&filter.agents)?;
            let r = crate::derive::rebuild(&ctx.store, &ctx.cfg, &ctx.prices)?;
            eprintln!("analyze: rebuilt the projection from {} events", r.events);
            Ok(true)
        }
    }
}

/// `analyze rebuild --metrics`: the current definitions applied to the transcripts of past runs
/// that still exist ([`crate::analyze::rebuild`]), then derived. `Ok(false)` when no definition
/// is configured or no transcript could be read.
fn rebuild_metrics(common: &Common, filter: &crate::analyze::Filter) -> Result<bool> {
    let ctx = Ctx::open(common.db.as_deref())?;
    ctx.check_agents(&filter.agents)?;
    let defs = crate::metrics::compile_all(&ctx.cfg.metrics).map_err(|e| {
        Error::InvalidArgument(format!(
            "{}: {e}",
            crate::paths::config_path(&crate::paths::db_path(common.db.as_deref())).display()
        ))
    })?;
    if defs.is_empty() {
        eprintln!(
            "analyze: config.json defines no metrics (\"metrics\": [...]): nothing to re-apply"
        );
        return Ok(false);
    }
    let r = crate::analyze::rebuild::reread(&ctx.store, filter, &defs)?;
    let d = crate::derive::refresh(&ctx.store, &ctx.cfg, &ctx.prices)?;
    eprintln!(
        "analyze: re-read {} run(s)' transcripts with {} metric definition(s): {} value(s) found; {} transcript(s) gone, {} unreadable, {} run(s) without a transcript path; derived {} event(s)",
        r.reread,
        defs.len(),
        r.values,
        r.gone,
        r.unreadable,
        r.no_path,
        d.events
    );
    Ok(r.reread > 0)
}
