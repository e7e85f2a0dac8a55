#!/usr/bin/env bash
# Times every reader, with and without --days 7, on an existing (derived) database: the median
# wall time of 5 runs after one warm-up, whole process.
# Usage: scripts/bench-readers.sh BIN_DIR DB   (BIN_DIR holds analyze and query-best-agent)
# The clock is pinned to the end of a gen-history history made with
# --now 2026-11-21T12:00:00Z (set AGENT_TELEMETRY_NOW to override).
set -euo pipefail
bin=$1
db=$2
export AGENT_TELEMETRY_NOW=${AGENT_TELEMETRY_NOW:-2026-11-21T12:00:00Z}
top=$("$bin/analyze" --db "$db" summary --format csv | sed -n 2p | cut -d, -f1)
med() {
  "$@" >/dev/null 2>&1 || true
  local ts=()
  for _ in 1 2 3 4 5; do
    local s e
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    ts+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p
}
for c in summary "agent $top" top workflows overhead trends tools types timeline sessions errors active; do
  # shellcheck disable=SC2086 # "agent NAME" is two words on purpose
  a=$(med "$bin/analyze" --db "$db" $c)
  # shellcheck disable=SC2086
  b=$(med "$bin/analyze" --db "$db" $c --days 7)
  printf '%-28s %6s ms  %6s ms (--days 7)\n' "$c" "$a" "$b"
done
printf '%-28s %6s ms\n' query-best-agent \
  "$(med "$bin/query-best-agent" --db "$db" --task "fix the failing login test")"
