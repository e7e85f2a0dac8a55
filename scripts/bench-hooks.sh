#!/usr/bin/env bash
# Times each hook binary on realistic payloads beside a process that only reads stdin.
# Usage: scripts/bench-hooks.sh [BIN_DIR]   (default: builds release into target/release)
# RUNS=N (default 300). Prints a markdown table (median, p90, mean, min wall time per call).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --bins >&2)
  bin="$root/target/release"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rustc -O -o "$work/readstdin" "$root/scripts/bench/readstdin.rs"
rustc -O -o "$work/hookbench" "$root/scripts/bench/hookbench.rs"
python3 "$root/scripts/bench/make_payloads.py" "$work/p" "$root/tests/fixtures/claude-code-2.1.330" >&2
export AGENT_TELEMETRY_DB="$work/data/telemetry.db"
"$bin/subagent-start" < "$work/p/subagent-start.json" # create the database first
p="$work/p"
"$work/hookbench" "${RUNS:-300}" \
  "read stdin only (baseline)=$work/readstdin:$p/subagent-start.json" \
  "subagent-start (SubagentStart)=$bin/subagent-start:$p/subagent-start.json" \
  "subagent-start (PreToolUse Bash, in a subagent)=$bin/subagent-start:$p/pre-tool-use.json" \
  "subagent-start (PreToolUse Agent)=$bin/subagent-start:$p/pre-tool-use-agent.json" \
  "subagent-stop (PostToolUse Agent)=$bin/subagent-stop:$p/post-tool-use.json" \
  "subagent-stop (SubagentStop, 1 MB transcript)=$bin/subagent-stop:$p/subagent-stop-1mb.json" \
  "workflow-event (UserPromptSubmit)=$bin/workflow-event:$p/user-prompt-submit.json" \
  "workflow-event (Stop, main transcript)=$bin/workflow-event:$p/stop.json"
echo
echo "events stored: $(sqlite3 "$AGENT_TELEMETRY_DB" 'SELECT count(*) FROM events' 2>/dev/null || echo '?'); machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
