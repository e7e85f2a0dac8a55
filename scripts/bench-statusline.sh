#!/usr/bin/env bash
# Times `analyze statusline` over generated histories (default 10k, 100k and 1M agent runs).
# Usage: scripts/bench-statusline.sh [BIN_DIR] [SIZES...]   (default: builds release)
# Each history is made by gen-history through the hooks' own append path, NOT derived, and gets
# one model response per hook event in `usage` (sonnet, 1,000 input and 200 output tokens). The
# status line is timed three ways, each the median of 21 runs after a warm-up, whole process,
# stdin = what Claude Code sends for the session with the most responses in the last day:
#   backlog  on the underived history (every event pending: it derives for its 5 ms budget,
#            then shows what is derived, "catching up");
#   derived  after one reader derived everything (nothing pending);
#   hook     each run preceded (untimed) by a UserPromptSubmit through the workflow-event hook:
#            the everyday case, a few events pending and the WAL kept by the hook.
# BACKLOG_EVENTS=N: on a history already derived, make its last N events pending again for the
# backlog timing (a reader then derives them back).
# Wall time and CPU time (user + system, from wait4) are both reported: on a loaded machine the
# wall time is mostly waiting for a core. Needs sqlite3 (the usage rows) and python3 (timing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --bin analyze --bin workflow-event >&2)
  bin="$root/target/release"
fi
# GEN_HISTORY: an already built generator (examples/gen-history.rs) instead of building it.
gen_history=${GEN_HISTORY:-}
if [ -z "$gen_history" ]; then
  (cd "$root" && cargo build --release --locked --example gen-history >&2)
  gen_history="$root/target/release/examples/gen-history"
fi
command -v sqlite3 >/dev/null || { echo "bench-statusline.sh: needs sqlite3" >&2; exit 2; }
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
work=${BENCH_DIR:-$(mktemp -d)}
now="2026-11-21T12:00:00Z"
export AGENT_TELEMETRY_NOW="$now" TZ=UTC

# time INPUT [--before CMD] -- COMMAND... → "wall ms / cpu ms" medians of 21 runs after a warm-up
time_it() {
  python3 - "$@" <<'PY'
import os, subprocess, sys, time
args = sys.argv[1:]
inp, before = args[0], None
if args[1] == "--before":
    before, args = args[2], args[3:]
else:
    args = args[1:]
cmd = args[args.index("--") + 1:]
def once():
    if before:
        subprocess.run(before, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(inp, "rb") as f:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, ru = os.wait4(p.pid, 0)
        return (time.perf_counter() - t) * 1000, (ru.ru_utime + ru.ru_stime) * 1000
once()
runs = sorted(once() for _ in range(21))
wall = sorted(r[0] for r in runs)[10]
cpu = sorted(r[1] for r in runs)[10]
print("%.1f / %.1f ms" % (wall, cpu))
PY
}

printf '| runs | events | usage rows | backlog (wall / cpu) | derived (wall / cpu) | after a hook (wall / cpu) | derived line |\n'
printf '|---:|---:|---:|---:|---:|---:|---|\n'
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
  backlog="-"
  if [ "$derived" -ge "$events" ] && [ -n "${BACKLOG_EVENTS:-}" ]; then
    # An already derived history: make the last BACKLOG_EVENTS events pending again.
    sqlite3 "$db" "UPDATE derive_state SET value = value - $BACKLOG_EVENTS WHERE key = 'events'"
    derived=$(( derived - BACKLOG_EVENTS ))
  fi
  if [ "$derived" -lt "$events" ]; then
    backlog=$(time_it "$input" -- "${sl[@]}")
    s=$(date +%s)
    "$bin/analyze" --db "$db" summary >/dev/null 2>&1 || true
    echo "h$n: derived in $(( $(date +%s) - s )) s" >&2
  fi
  hook="echo '{\"session_id\":\"bench-hook\",\"hook_event_name\":\"UserPromptSubmit\",\"prompt\":\"go\",\"cwd\":\"/tmp\"}' | AGENT_TELEMETRY_DB='$db' '$bin/workflow-event'"
  printf '| %s | %s | %s | %s | %s | %s | `%s` |\n' "$n" "$events" "$usage" "$backlog" \
    "$(time_it "$input" -- "${sl[@]}")" "$(time_it "$input" --before "$hook" -- "${sl[@]}")" \
    "$("${sl[@]}" <"$input")"
done
echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); histories in $work"
