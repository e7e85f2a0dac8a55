//! Hook for SubagentStart and PreToolUse(Agent|Task), and generic agent starts.
//! Always exits 0 with nothing on stdout (unless `--print-id` asks for the invocation id).

use agent_telemetry::hook::{self, Binary, Options};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "Record a subagent start (Claude Code hook or generic JSON on stdin)"
)]
struct Args {
    /// Database file (default: $AGENT_TELEMETRY_DB or ~/.local/share/agent-telemetry/telemetry.db).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Print the invocation id assigned to a generic start event.
    #[arg(long)]
    print_id: bool,
}

fn main() -> ExitCode {
    hook::shield();
    let opts = match Args::try_parse() {
        Ok(a) => Options {
            db: a.db,
            print_id: a.print_id,
            ..Options::default()
        },
        Err(e) if e.use_stderr() => Options {
            arg_error: Some(e.to_string()),
            ..Options::default()
        },
        Err(e) => {
            let _ = e.print(); // --help / --version
            return ExitCode::SUCCESS;
        }
    };
    hook::main(Binary::SubagentStart, opts)
}
