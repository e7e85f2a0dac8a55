//! Hook for SessionStart, UserPromptSubmit, Stop and SessionEnd, and explicit workflows
//! (`start`, `handoff`, `complete`, `import FILE.jsonl`). Always exits 0; nothing on stdout.

use agent_telemetry::hook::{self, Binary, Options};
use clap::{Parser, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "Record a workflow event (Claude Code hook on stdin, or an explicit workflow)"
)]
struct Args {
    /// Database file (default: $AGENT_TELEMETRY_DB or ~/.local/share/agent-telemetry/telemetry.db).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Event time (ISO-8601) instead of the clock.
    #[arg(long, global = true)]
    timestamp: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// A workflow begins.
    Start {
        #[arg(long)]
        id: String,
        #[arg(long)]
        project: Option<String>,
        /// Planned agents, comma-separated.
        #[arg(long, value_delimiter = ',')]
        plan: Vec<String>,
        /// Estimated duration in seconds.
        #[arg(long)]
        estimated_duration: Option<f64>,
    },
    /// Work passes from one agent to another.
    Handoff {
        #[arg(long)]
        id: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, value_delimiter = ',')]
        artifacts: Vec<String>,
    },
    /// A workflow ends.
    Complete {
        #[arg(long)]
        id: String,
        /// Duration in seconds.
        #[arg(long)]
        duration: Option<f64>,
        #[arg(long)]
        success: Option<bool>,
        #[arg(long, value_delimiter = ',')]
        agents: Vec<String>,
    },
    /// Import a file of JSON-lines events.
    Import { file: PathBuf },
}

fn main() -> ExitCode {
    hook::shield();
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            return hook::main(
                Binary::WorkflowEvent,
                Options {
                    arg_error: Some(e.to_string()),
                    ..Options::default()
                },
            );
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let mut opts = Options {
        db: args.db,
        ..Options::default()
    };
    let mut event = match args.command {
        None => return hook::main(Binary::WorkflowEvent, opts),
        Some(Command::Import { file }) => {
            opts.import_files.push(file);
            return hook::main(Binary::WorkflowEvent, opts);
        }
        Some(Command::Start {
            id,
            project,
            plan,
            estimated_duration,
        }) => json!({
            "event": "workflow_start", "id": id, "project": project, "plan": plan,
            "estimated_duration": estimated_duration,
        }),
        Some(Command::Handoff {
            id,
            from,
            to,
            artifacts,
        }) => json!({
            "event": "handoff", "id": id, "from": from, "to": to, "artifacts": artifacts,
        }),
        Some(Command::Complete {
            id,
            duration,
            success,
            agents,
        }) => json!({
            "event": "workflow_complete", "id": id, "duration": duration, "success": success, "agents": agents,
        }),
    };
    if let Some(ts) = args.timestamp {
        event["timestamp"] = json!(ts);
    }
    opts.cli_events.push(event.to_string());
    hook::main(Binary::WorkflowEvent, opts)
}
