#!/usr/bin/env bash
# Times `analyze alerts` (every rule evaluated, state recorded) over a million agent runs.
# Usage: scripts/bench-alerts.sh DIR [BIN_DIR]   (default BIN_DIR: a release build made here)
# The history is bulk-inserted with the sqlite3 CLI (1M finished runs over 90 days, 20 agent types,
# 30 running, 4M model responses) into a database the real binaries created, so its schema and
# indexes are the product's; the alert rules read only agent_runs, usage and delegations. Prints
# the median of 20 runs of `analyze active` (a reader's fixed cost: open, replay, refresh) beside
# `analyze alerts`, with every budget set so every rule runs. DIR is deleted at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: scripts/bench-alerts.sh DIR [BIN_DIR]}
bin=${2:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --bin analyze --bin subagent-start >&2)
  bin="$root/target/release"
fi
command -v sqlite3 >/dev/null || { echo "bench-alerts: needs the sqlite3 CLI" >&2; exit 2; }
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
export AGENT_TELEMETRY_DB="$dir/data/telemetry.db" HOME="$dir/home" AGENT_TELEMETRY_NOW=2026-11-20T12:00:00Z
now=1795176000000
echo '{"session_id":"s0","transcript_path":"/nonexistent","cwd":"/tmp","hook_event_name":"SubagentStart","agent_id":"seed","agent_type":"seed","timestamp":"2026-11-20T11:59:00Z"}' \
  | "$bin/subagent-start"
"$bin/analyze" active >/dev/null
sqlite3 "$AGENT_TELEMETRY_DB" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO agent_runs (agent_id, source, session_id, agent_type, start_ms, end_ms, duration_ms, status)
SELECT 'b' || i, 'claude-code', 'sess-' || (i / 8), 'type-' || (i % 20), s, s + d, d,
       CASE WHEN i % 20 < 17 THEN 'success' WHEN i % 20 < 19 THEN 'failure' ELSE 'cancelled' END
FROM (SELECT i, $now - 90 * 86400000 + i * 7776 AS s, 5000 + abs(random() % 300000) AS d FROM n);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
INSERT INTO agent_runs (agent_id, source, session_id, agent_type, start_ms, status)
SELECT 'open' || i, 'claude-code', 'sess-live', 'type-' || (i % 3), $now - i * 120000, 'running' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000000)
INSERT INTO usage (session_id, agent_id, message_key, model, ts, input, output)
SELECT 'sess-' || (i / 32), 'b' || (i / 4), 'm' || i, 'claude-sonnet-4-5', $now - 90 * 86400000 + i * 1944, 1000, 200 FROM n;
SQL
echo '{"alerts": {"daily_cost_usd": 1, "daily_tokens": 1000, "session_cost_usd": 0.5}}' > "$dir/data/config.json"
# Median wall time and median CPU time (user + sys) of 20 runs; the CPU time is the steadier
# figure on a shared machine.
median() {
  local -a wall=() cpu=()
  local TIMEFORMAT='%3R %3U %3S' t
  for _ in $(seq 20); do
    t=$( { time "$bin/analyze" "$@" >/dev/null 2>&1 || [ $? -le 3 ]; } 2>&1 )
    read -r r u s <<<"$t"
    wall+=("$r")
    cpu+=("$(echo "$u + $s" | bc)")
  done
  local w c
  w=$(printf '%s\n' "${wall[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", (a[10] + a[11]) * 500}')
  c=$(printf '%s\n' "${cpu[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", (a[10] + a[11]) * 500}')
  echo "wall ${w} ms, cpu ${c} ms"
}
"$bin/analyze" alerts --no-deliver | tail -1
echo "analyze active (a reader's fixed cost): $(median active)"
echo "analyze alerts --no-deliver:            $(median alerts --no-deliver)"
echo "analyze alerts --format json:           $(median alerts --format json)"
