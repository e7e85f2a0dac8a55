#!/usr/bin/env python3
"""What the guard (docs/guard.md) costs a PreToolUse(Agent) hook when it is on, by backlog: the
events appended since the projection was last derived, which the hook derives before deciding
(within its 100 ms budget).

    scripts/bench-guard.py BIN_DIR [RUNS]

For each backlog size, appends that many real Claude Code hook events (the 2.1.330 recordings in
tests/fixtures, ids made unique per copy) with `workflow-event import`, then times one guarded
`subagent-start` call (wall clock, spawn to exit), RUNS times (default 15; the backlog is
appended again before each), and says how many calls decided (the others failed open: hook.log).
The guard is on with limits that are never reached, so every call takes the full path. The same
calls with the guard off are the baseline. Prints a markdown table.
"""
import glob, json, os, re, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bins = os.path.abspath(sys.argv[1])
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
fixtures = os.path.join(root, "tests", "fixtures", "claude-code-2.1.330")
payloads = [open(p).read() for p in sorted(glob.glob(os.path.join(fixtures, "*", "hooks", "*.json")))]
ids = re.compile(r'"(session_id|agent_id|tool_use_id|prompt_id|agentId)":"([^"]+)"')
call = json.loads(open(glob.glob(os.path.join(fixtures, "foreground-agent", "hooks", "003-PreToolUse.json"))[0]).read())


def backlog(path, n, copy):
    """n events: the recordings' payloads in order, their ids suffixed with the copy number."""
    with open(path, "w") as f:
        for i in range(n):
            text = payloads[i % len(payloads)]
            k = "%d-%d" % (copy, i // len(payloads))
            f.write(ids.sub(lambda m: '"%s":"%s-%s"' % (m.group(1), m.group(2), k), json.dumps(json.loads(text))) + "\n")


def measure(guard, sizes):
    work = tempfile.mkdtemp(prefix="bench-guard-")
    env = dict(os.environ, AGENT_TELEMETRY_DB=os.path.join(work, "telemetry.db"))
    env.pop("AGENT_TELEMETRY_DISABLED", None)
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump({"guard": guard}, f)
    rows, copy = [], 0
    for n in sizes:
        times, decided = [], 0
        for r in range(runs):
            copy += 1
            if n:
                backlog(os.path.join(work, "backlog.jsonl"), n, copy)
                subprocess.run([os.path.join(bins, "workflow-event"), "import", os.path.join(work, "backlog.jsonl")],
                               env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            c = dict(call, tool_use_id="toolu_bench_%d" % copy)
            log = os.path.join(work, "hook.log")
            before = open(log).read().count("no decision") if os.path.exists(log) else 0
            t0 = time.perf_counter()
            p = subprocess.run([os.path.join(bins, "subagent-start")], input=json.dumps(c).encode(), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            times.append((time.perf_counter() - t0) * 1000)
            assert p.returncode == 0 and p.stdout == b"", p
            after = open(log).read().count("no decision") if os.path.exists(log) else 0
            decided += after == before
        rows.append((n, statistics.median(times), max(times), decided))
    subprocess.run(["rm", "-rf", work])
    return rows


sizes = [0, 50, 200, 1000, 5000]
on = measure({"enabled": True, "max_active_agents": 1000000, "session_cost_usd": 1e9, "daily_cost_usd": 1e9,
              "max_depth": 1000}, sizes)
off = measure({"enabled": False}, sizes)
print("| backlog (events not derived) | guard off: median | guard on: median | guard on: max | decided |")
print("|---:|---:|---:|---:|---:|")
for (n, med, mx, dec), (_, off_med, _, _) in zip(on, off):
    print("| %d | %.2f ms | %.2f ms | %.2f ms | %d / %d |" % (n, off_med, med, mx, dec, runs))
