//! Hook for SubagentStop, PostToolUse(Agent|Task) and PostToolUseFailure, and generic agent stops.
//! Always exits 0 with nothing on stdout.

use agent_telemetry::hook::{self, Binary, Options};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "Record a subagent stop (Claude Code hook or generic JSON on stdin)"
)]
struct Args {
    /// Database file (default: $AGENT_TELEMETRY_DB or ~/.local/share/agent-telemetry/telemetry.db).
    #[arg(long)]
    db: Option<PathBuf>,
}

fn main() -> ExitCode {
    hook::shield();
    let opts = match Args::try_parse() {
        Ok(a) => Options {
            db: a.db,
            ..Options::default()
        },
        Err(e) if e.use_stderr() => Options {
            arg_error: Some(e.to_string()),
            ..Options::default()
        },
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    hook::main(Binary::SubagentStop, opts)
}
