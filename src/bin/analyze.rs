//! `analyze`: answers questions about recorded subagent runs. See `analyze --help`.

fn main() -> std::process::ExitCode {
    agent_telemetry::cli::main()
}
