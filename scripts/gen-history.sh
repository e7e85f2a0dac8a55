#!/usr/bin/env bash
# Generates a synthetic history with gen-history (examples/gen-history.rs, release build) and times
# query-best-agent on it.
# Usage: scripts/gen-history.sh DIR [RUNS] [extra gen-history args…]
#   DIR   a directory for telemetry.db (created; an existing database there is reused as is)
#   RUNS  agent runs to generate (default 1000000)
# Prints gen-history's own throughput lines (payloads/s, derivation time), then hyperfine's timing
# of query-best-agent on a handful of tasks. Needs hyperfine for the timing part.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: scripts/gen-history.sh DIR [RUNS] [gen-history args…]}
runs=${2:-1000000}
shift $(( $# > 1 ? 2 : 1 ))
(cd "$root" && cargo build --release --locked --example gen-history --bin query-best-agent --bin analyze >&2)
bin="$root/target/release"
now=2026-06-01T00:00:00Z
mkdir -p "$dir"
db="$dir/telemetry.db"
if [ ! -s "$db" ]; then
  "$root/target/release/examples/gen-history" --db "$db" --runs "$runs" --days 90 --seed 1 --now "$now" "$@"
fi
export AGENT_TELEMETRY_NOW=$now
"$bin/analyze" --db "$db" summary | tail -4
command -v hyperfine >/dev/null || { echo "hyperfine not found: skipping the timing" >&2; exit 0; }
q() { echo "$bin/query-best-agent --db $db --task '$1'"; }
hyperfine -N --warmup 3 --runs "${HYPERFINE_RUNS:-20}" \
  "$(q 'REST endpoint for orders')" \
  "$(q 'Refactor the login flow')" \
  "$(q 'Migrate warehouse tables to Postgres')" \
  "$(q 'Fix typo in the user guide')" \
  "$bin/query-best-agent --db $db --task 'Kubernetes autoscaling rules' --all" \
  "$bin/query-best-agent --db $db --task 'REST endpoint for orders' --days 7"
