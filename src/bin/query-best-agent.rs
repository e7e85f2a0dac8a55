//! `query-best-agent`: which agent should take this task? See `query-best-agent --help` and
//! docs/recommend.md. Exit codes: 0 recommended, 1 no agent has a track record, 2 error.

use agent_telemetry::analyze::Ctx;
use agent_telemetry::config::Config;
use agent_telemetry::paths;
use agent_telemetry::recommend::{self, Answer, Query};
use agent_telemetry::render::{self, Format};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "Recommends the agent with the best track record for a task"
)]
struct Args {
    /// The task, in words ("REST endpoint for orders").
    #[arg(long)]
    task: String,
    /// The task's domain (backend, frontend, data, security, …); default: inferred from the task.
    #[arg(long)]
    domain: Option<String>,
    /// List every candidate, ranked, with its score components.
    #[arg(long)]
    all: bool,
    /// Minimum confidence (0–1) of a recommendation.
    #[arg(long, default_value_t = recommend::DEFAULT_MIN_CONFIDENCE)]
    min_confidence: f64,
    /// How many agents to list (default: the best one; every candidate with --all).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    /// Only runs that started in the last N days.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = agent_telemetry::analyze::cli::parse_days)]
    days: Option<u32>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Database file (default: $AGENT_TELEMETRY_DB or ~/.local/share/agent-telemetry/telemetry.db).
    #[arg(long)]
    db: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Args = match agent_telemetry::error::parse_reader_args() {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("query-best-agent: {}", recommend::NO_TRACK_RECORD);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("query-best-agent: {e:#}");
            if let Some(h) = e
                .downcast_ref::<agent_telemetry::error::Error>()
                .and_then(|e| e.hint())
            {
                eprintln!("  hint: {h}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(a: Args) -> anyhow::Result<bool> {
    // Arguments first (config.json may add domains): a typo is reported even without a database.
    let config = Config::load(&paths::db_path(a.db.as_deref()))?;
    let mut q = Query::new(&a.task, agent_telemetry::analyze::now(), config);
    (q.domain, q.min_confidence, q.days) = (a.domain, a.min_confidence, a.days);
    q.validate()?;
    let ctx = Ctx::open(a.db.as_deref())?;
    (q.config, q.now) = (ctx.cfg.clone(), ctx.now);
    let answer = Answer {
        ranking: recommend::rank_candidates(&ctx.store, &q)?,
        all: a.all,
        limit: a.limit.map(|l| l as usize),
    };
    if answer.all || answer.best().is_some() {
        render::print(&answer, a.format)?;
    }
    Ok(answer.best().is_some())
}
