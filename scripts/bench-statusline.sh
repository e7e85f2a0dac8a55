#!/usr/bin/env bash
# Times `analyze statusline` over generated histories (default 10k, 100k and 1M agent runs).
# Usage: scripts/bench-statusline.sh [BIN_DIR] [SIZES...]   (default: builds release)
# Each history is made by gen-history through the hooks' own append path, NOT derived, and gets
# one model response per hook event in `usage` (sonnet, 1,000 input and 200 output tokens: about
# 58k responses "today" at 1M runs). The status line is timed twice: on the underived history (a
# backlog of every event: it derives for its 5 ms budget and says "catching up"), then after one
# reader derived everything. Median wall time of 21 runs after a warm-up, whole process, stdin
# = what Claude Code sends for the busiest session. Needs sqlite3 (the usage rows).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --bin analyze >&2)
  bin="$root/target/release"
fi
(cd "$root" && cargo build --release --locked --example gen-history >&2)
gen_history="$root/target/release/examples/gen-history"
command -v sqlite3 >/dev/null || { echo "bench-statusline.sh: needs sqlite3" >&2; exit 2; }
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
work=${BENCH_DIR:-$(mktemp -d)}
now="2026-11-21T12:00:00Z"
export AGENT_TELEMETRY_NOW="$now" TZ=UTC

median() { # stdin-file command... → median wall ms of 21 runs (one decimal)
  local input=$1; shift
  "$@" <"$input" >/dev/null 2>&1 || true
  local ts=()
  for _ in $(seq 21); do
    local s e
    s=$(date +%s%N); "$@" <"$input" >/dev/null 2>&1 || true; e=$(date +%s%N)
    ts+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n 11p | awk '{printf "%.1f ms", $1/1000}'
}

printf '| runs | events | usage rows | backlog: line | backlog: ms | derived: line | derived: ms |\n'
printf '|---:|---:|---:|---|---:|---|---:|\n'
for n in "${sizes[@]}"; do
  db="$work/h$n.db"
  [ -f "$db" ] || "$gen_history" --db "$db" --runs "$n" --seed 7 --now "$now" --no-derive >&2
  if [ "$(sqlite3 "$db" "SELECT count(*) FROM usage")" = 0 ]; then
    sqlite3 "$db" "PRAGMA busy_timeout = 10000;
      INSERT OR IGNORE INTO usage (session_id, agent_id, message_key, model, ts, input, output)
      SELECT session_id, coalesce(agent_id, ''), 'bench-' || id, 'claude-sonnet-4-5', ts, 1000, 200
      FROM events WHERE session_id IS NOT NULL;" >&2
  fi
  events=$(sqlite3 "$db" "SELECT max(id) FROM events")
  usage=$(sqlite3 "$db" "SELECT count(*) FROM usage")
  sid=$(sqlite3 "$db" "SELECT session_id FROM usage WHERE ts >= strftime('%s', '$now') * 1000 - 86400000 GROUP BY session_id ORDER BY count(*) DESC LIMIT 1")
  input="$work/statusline-$n.json"
  printf '{"session_id":"%s","model":{"id":"claude-sonnet-4-5","display_name":"Sonnet 4.5"},"cost":{"total_cost_usd":1.5}}\n' "$sid" >"$input"
  sl=("$bin/analyze" --db "$db" statusline --alerts-every 0 --color never)
  derived=$(sqlite3 "$db" "SELECT coalesce((SELECT value FROM derive_state WHERE key = 'events'), 0)")
  if [ "$derived" -lt "$events" ]; then
    backlog_line=$("${sl[@]}" <"$input")
    backlog_ms=$(median "$input" "${sl[@]}")
    s=$(date +%s)
    "$bin/analyze" --db "$db" summary >/dev/null 2>&1 || true
    echo "h$n: derived in $(( $(date +%s) - s )) s" >&2
  else
    backlog_line="-"; backlog_ms="-"
  fi
  printf '| %s | %s | %s | `%s` | %s | `%s` | %s |\n' "$n" "$events" "$usage" "$backlog_line" "$backlog_ms" \
    "$("${sl[@]}" <"$input")" "$(median "$input" "${sl[@]}")"
done
echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); histories in $work"
