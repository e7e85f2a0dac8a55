#!/usr/bin/env bash
# Times the readers over generated histories of 10k, 100k and 1M agent runs.
# Usage: scripts/bench-analyze.sh [BIN_DIR] [SIZES...]   (default: builds release; 10000 100000 1000000)
# Each history is made by gen-history through the hooks' own append path, then derived once
# (the derivation time is reported separately). Each command: median wall time of 7 runs after
# one warm-up, on an already-derived database (what a user sees on the second query of the day).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --bins >&2)
  bin="$root/target/release"
fi
# The generator is an example (examples/gen-history.rs), never among the installed binaries.
(cd "$root" && cargo build --release --locked --example gen-history >&2)
gen_history="$root/target/release/examples/gen-history"
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
work=${BENCH_DIR:-$(mktemp -d)}
now="2026-11-21T12:00:00Z"
export AGENT_TELEMETRY_NOW="$now"

median() { # command... → median wall ms of 7 runs
  "$@" >/dev/null 2>&1 || true
  local ts=()
  for _ in 1 2 3 4 5 6 7; do
    local s e
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    ts+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n 4p | awk '{printf "%.0f ms", $1/1000}'
}

printf '| runs | generate | derive | summary | agent | workflows | overhead | trends | query-best-agent |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
  db="$work/h$n.db"
  if [ ! -f "$db" ]; then
    s=$(date +%s)
    "$gen_history" --db "$db" --runs "$n" --seed 7 --now "$now" --no-derive >&2
    gen=$(( $(date +%s) - s ))
    s=$(date +%s%N)
    "$bin/analyze" --db "$db" summary >/dev/null 2>&1 || true
    derive=$(( ($(date +%s%N) - s) / 1000000 ))
  else
    gen="-"; derive="-"
  fi
  top=$("$bin/analyze" --db "$db" summary --format csv | sed -n 2p | cut -d, -f1)
  printf '| %s | %s s | %s ms | %s | %s | %s | %s | %s | %s |\n' "$n" "$gen" "$derive" \
    "$(median "$bin/analyze" --db "$db" summary)" \
    "$(median "$bin/analyze" --db "$db" agent "$top")" \
    "$(median "$bin/analyze" --db "$db" workflows)" \
    "$(median "$bin/analyze" --db "$db" overhead)" \
    "$(median "$bin/analyze" --db "$db" trends)" \
    "$(median "$bin/query-best-agent" --db "$db" --task "Implement REST endpoint for orders")"
done
echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); histories in $work"
