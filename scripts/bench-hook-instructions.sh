#!/usr/bin/env bash
# Counts the instructions one hook call executes, with valgrind's callgrind: a figure that does not
# depend on what else the machine is doing, so two builds can be compared on a busy machine.
# Usage: scripts/bench-hook-instructions.sh BIN_DIR [BIN_DIR ...]
# Each hook runs 5 times against a warm database; the median count is printed per binary and
# payload, beside a process that only reads its stdin.
# BENCH_CONFIG_JSON, when set, is written as config.json beside each database first (e.g.
# '{"guard": {"enabled": false}}' to measure the guard switched off; docs/guard.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BIN_DIR [BIN_DIR ...]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rustc -O -o "$work/readstdin" "$root/scripts/bench/readstdin.rs"
python3 "$root/scripts/bench/make_payloads.py" "$work/p" "$root/tests/fixtures/claude-code-2.1.330" >&2
p="$work/p"

# Median instruction count of 5 calls of $1 with stdin $2 (database $AGENT_TELEMETRY_DB).
count() {
  local n=()
  for _ in 1 2 3 4 5; do
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$1" <"$2" >/dev/null 2>"$work/vg.err"
    n+=("$(sed -n 's/^summary: //p' "$work/cg.out")")
  done
  printf '%s\n' "${n[@]}" | sort -n | sed -n 3p
}

printf '| binaries | payload | instructions |\n|---|---|---:|\n'
printf '| — | read stdin only (baseline) | %s |\n' "$(count "$work/readstdin" "$p/subagent-start.json")"
for bin in "$@"; do
  export AGENT_TELEMETRY_DB="$work/data-$(basename "$bin")/telemetry.db"
  if [ -n "${BENCH_CONFIG_JSON:-}" ]; then
    mkdir -p "$(dirname "$AGENT_TELEMETRY_DB")"
    printf '%s\n' "$BENCH_CONFIG_JSON" >"$(dirname "$AGENT_TELEMETRY_DB")/config.json"
  fi
  "$bin/subagent-start" <"$p/subagent-start.json" # create the database first
  for spec in "subagent-start:subagent-start.json:SubagentStart" \
    "subagent-start:pre-tool-use.json:PreToolUse Bash, in a subagent" \
    "subagent-start:pre-tool-use-agent.json:PreToolUse Agent" \
    "subagent-stop:post-tool-use.json:PostToolUse Agent" \
    "workflow-event:user-prompt-submit.json:UserPromptSubmit"; do
    IFS=: read -r b payload label <<<"$spec"
    printf '| %s | %s (%s) | %s |\n' "$bin" "$b" "$label" "$(count "$bin/$b" "$p/$payload")"
  done
done
