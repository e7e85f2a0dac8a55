#!/usr/bin/env bash
# Times `analyze serve`: every API endpoint over generated histories, the lag from a hook's
# append to the live stream's event, and the server's idle CPU.
# Usage: scripts/bench-serve.sh [BIN_DIR] [SIZES...]   (default: builds release; 10000 100000 1000000)
# Histories are made by gen-history (as scripts/bench-analyze.sh makes them; an existing
# $BENCH_DIR/hN.db is reused) and derived once before timing. Each endpoint: median and max wall
# time of 7 requests after one warm-up (curl, loopback). Lag: 30 hook runs (subagent-start,
# a SubagentStart of a new agent), each timed from the hook's exit to the event's arrival on an
# open stream; median and p95. Idle CPU: the server's user+system time over 30 s with one stream
# open and no hook running. Needs curl and python3 (for the stream timing only).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --bins >&2)
  bin="$root/target/release"
fi
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
now="2026-11-21T12:00:00Z"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# start_server DB [env...] → sets $port and $spid
start_server() {
  local db=$1 out="$work/serve.$$.out"
  shift
  : >"$out"
  env "$@" "$bin/analyze" serve --db "$db" --port 0 >"$out" 2>"$work/serve.err" &
  spid=$!
  pids+=("$spid")
  for _ in $(seq 1 300); do
    grep -q 'listening on' "$out" && break
    sleep 0.1
  done
  port=$(sed -n 's/.*listening on [^:]*:\([0-9]*\);.*/\1/p' "$out")
  [ -n "$port" ] || { echo "analyze serve did not start: $(cat "$work/serve.err")" >&2; exit 1; }
}

stop_server() {
  kill -TERM "$spid"
  wait "$spid" 2>/dev/null || true
}

timed() { # URL → "median ms (max ms)" of 7 requests after a warm-up
  local url=$1 ts=()
  curl -s -o /dev/null "$url"
  for _ in 1 2 3 4 5 6 7; do
    ts+=("$(curl -s -o /dev/null -w '%{time_total}' "$url")")
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.0f ms (%.0f)", a[4]*1000, a[7]*1000}'
}

endpoints=(
  "/api/agents/metrics/current"
  "/api/agents/metrics/timeline?hours=24"
  "/api/agents/types/distribution"
  "/api/agents/performance/general-purpose?days=7"
  "/api/agents/tools/usage?period=day"
  "/api/v1/summary"
  "/api/v1/agent?arg=general-purpose"
  "/api/v1/top"
  "/api/v1/workflows"
  "/api/v1/overhead"
  "/api/v1/trends"
  "/api/v1/tools"
  "/api/v1/types"
  "/api/v1/timeline"
  "/api/v1/tree"
  "/api/v1/active"
  "/api/v1/errors"
  "/api/v1/sessions"
  "/metrics"
)

echo "## endpoints: median of 7 (max), ms"
printf '| endpoint |'; for n in "${sizes[@]}"; do printf ' %s runs |' "$n"; done; echo
printf '|---|'; for _ in "${sizes[@]}"; do printf -- '---:|'; done; echo
declare -A cell
gen_history=""
for n in "${sizes[@]}"; do
  db="$work/h$n.db"
  if [ ! -f "$db" ]; then
    if [ -z "$gen_history" ]; then
      # The generator is an example (examples/gen-history.rs), never among the installed binaries.
      (cd "$root" && cargo build --release --locked --example gen-history >&2)
      gen_history="$root/target/release/examples/gen-history"
    fi
    "$gen_history" --db "$db" --runs "$n" --seed 7 --now "$now" --no-derive >&2
    AGENT_TELEMETRY_NOW=$now "$bin/analyze" --db "$db" summary >/dev/null 2>&1 || true
  fi
  start_server "$db" AGENT_TELEMETRY_NOW=$now
  for e in "${endpoints[@]}"; do
    cell["$n|$e"]=$(timed "http://127.0.0.1:$port$e")
  done
  stop_server
done
for e in "${endpoints[@]}"; do
  printf '| `%s` |' "$e"
  for n in "${sizes[@]}"; do printf ' %s |' "${cell["$n|$e"]}"; done
  echo
done

# Hook-to-stream lag, on a small live database (real clock) and on the largest history.
lag() { # DB → "median ms, p95 ms" over 30 hooks
  local db=$1
  start_server "$db"
  python3 - "$port" "$bin/subagent-start" "$db" <<'PY'
import json, socket, subprocess, sys, time, os, datetime
port, hook, db = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(f"GET /api/v1/stream HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
buf = b""
def wait_for(token, deadline=10.0):
    global buf
    end = time.monotonic() + deadline
    while token not in buf:
        s.settimeout(max(0.01, end - time.monotonic()))
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("stream closed")
        buf += chunk
    return time.monotonic()
wait_for(b"event: ready")
lags = []
env = dict(os.environ, AGENT_TELEMETRY_DB=db)
env.pop("AGENT_TELEMETRY_NOW", None)
for i in range(30):
    aid = f"lag{os.getpid()}x{i}"
    ts = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    p = {"session_id": "bench-lag", "transcript_path": "/nonexistent/bench-lag.jsonl", "cwd": "/tmp",
         "hook_event_name": "SubagentStart", "timestamp": ts, "agent_id": aid, "agent_type": "bench-agent"}
    subprocess.run([hook], input=json.dumps(p).encode(), env=env, check=True)
    done = time.monotonic()
    seen = wait_for(f'"agent_id":"{aid}"'.encode())
    lags.append((seen - done) * 1000)
    time.sleep(0.05)
lags.sort()
print(f"median {lags[len(lags)//2]:.0f} ms, p95 {lags[int(len(lags)*0.95)]:.0f} ms, max {lags[-1]:.0f} ms")
PY
  stop_server
}
echo
echo "## hook-to-stream lag (from the hook's exit to the event on an open stream)"
small="$work/lag-small.db"
rm -f "$small" "$small"-wal "$small"-shm
echo '{"session_id":"bench-lag","transcript_path":"/nonexistent/x.jsonl","cwd":"/tmp","hook_event_name":"SessionStart","source":"startup"}' |
  AGENT_TELEMETRY_DB=$small "$bin/workflow-event"
echo "- fresh database: $(lag "$small")"
last=${sizes[${#sizes[@]}-1]}
echo "- $last-run history: $(lag "$work/h$last.db")"

# Idle CPU with one stream open.
echo
echo "## idle CPU (30 s, one stream open)"
start_server "$small"
curl -sN "http://127.0.0.1:$port/api/v1/stream" >/dev/null &
pids+=("$!")
sleep 2
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
a=$(cpu); sleep 30; b=$(cpu)
awk -v a="$a" -v b="$b" -v t="$tick" 'BEGIN {printf "- %.2f%% of one core (%d ticks of 1/%d s in 30 s)\n", (b-a)/t/30*100, b-a, t}'
echo "- resident memory: $(awk '/VmRSS/ {print $2, $3}' "/proc/$spid/status")"
stop_server
echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); histories in $work"
