#!/usr/bin/env bash
# Hook latency while a reader holds the database busy: 1,000 hooks (2 at a time) during
# `analyze rebuild` of a generated history (~50k events), beside the same hooks on a quiet
# database. Prints p50 / p99 / max per condition, how many hooks spooled, and checks that every
# payload is in the database exactly once after the next reader.
# Usage: scripts/bench-faults.sh [BIN_DIR]   (default: builds release into target/release)
# RUNS=N hooks per condition (default 1000); HISTORY=N generated runs (default 10000).
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
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
now=2026-11-21T12:00:00Z
"$gen_history" --db "$work/busy.db" --runs "${HISTORY:-10000}" --seed 3 --now "$now" --no-derive >&2
events=$(sqlite3 "$work/busy.db" 'SELECT count(*) FROM events' 2>/dev/null || echo '?')

python3 - "$bin" "$work" "${RUNS:-1000}" "$events" <<'EOF'
import json, os, sqlite3, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
bin_dir, work, runs, events = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def payload(tag, i):
    return json.dumps({"session_id": "bench-" + tag, "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p",
                       "prompt_id": "p1", "hook_event_name": "SubagentStart",
                       "agent_id": "%s-%05d" % (tag, i), "agent_type": "backend-architect"}).encode()

def hook(db, tag, i):
    env = dict(os.environ, AGENT_TELEMETRY_DB=db)
    t = time.perf_counter()
    p = subprocess.run([os.path.join(bin_dir, "subagent-start")], input=payload(tag, i), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    took = (time.perf_counter() - t) * 1000
    assert p.returncode == 0 and not p.stdout and not p.stderr, p
    return took

def spool_lines(db):
    d = os.path.dirname(db)
    n = 0
    for f in os.listdir(d):
        if "spool" in f:
            n += sum(1 for l in open(os.path.join(d, f), "rb") if l.strip())
    return n

def run(db, tag, busy):
    stop = False
    readers = 0
    if busy:
        def rebuild_loop():
            nonlocal readers
            while not stop:
                subprocess.run([os.path.join(bin_dir, "analyze"), "--db", db, "rebuild"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                readers += 1
        import threading
        th = threading.Thread(target=rebuild_loop)
        th.start()
        time.sleep(0.5)
    with ThreadPoolExecutor(2) as ex:
        times = sorted(ex.map(lambda i: hook(db, tag, i), range(runs)))
    stop = True
    if busy:
        th.join()
    spooled = spool_lines(db)
    subprocess.run([os.path.join(bin_dir, "analyze"), "--db", db, "summary"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c = sqlite3.connect(db)
    distinct, total = c.execute("SELECT count(DISTINCT agent_id), count(*) FROM events WHERE session_id = ?",
                                ("bench-" + tag,)).fetchone()
    pct = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print("| %s | %d | %.1f ms | %.1f ms | %.1f ms | %d | %d / %d %s |" % (
        "during `analyze rebuild` (%s events, %d rebuilds)" % (events, readers) if busy else "quiet database",
        runs, pct(0.5), pct(0.99), times[-1], spooled, distinct, total,
        "ok" if distinct == total == runs else "LOST OR DUPLICATED"))
    return distinct == total == runs

print("| condition | hooks | p50 | p99 | max | spooled | stored once / rows |")
print("|---|---:|---:|---:|---:|---:|---|")
ok = run(os.path.join(work, "quiet.db"), "quiet", False)
ok &= run(os.path.join(work, "busy.db"), "busy", True)
print("\nmachine: %d cores, load %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]))
sys.exit(0 if ok else 1)
EOF
