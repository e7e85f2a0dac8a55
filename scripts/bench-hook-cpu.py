#!/usr/bin/env python3
"""CPU time (user + system, from wait4) of whole hook processes, two or more builds side by side:
on a loaded machine a hook's wall time moves by milliseconds from one round to the next, but the
CPU time it used is its own. The kernel's work for the hook (reading /proc, SQLite's syscalls)
counts, which callgrind's instruction counts (scripts/bench-hook-instructions.sh) leave out.

    scripts/bench-hook-cpu.py RUNS BIN_DIR [BIN_DIR ...]

Each build gets its own database, created by one SubagentStart first. Then RUNS rounds: in each,
every build's subagent-start runs once on the SubagentStart payload and once on a PreToolUse(Bash)
payload (which does not read /proc: the control), builds interleaved so that drift in the
machine's load hits them alike. The hook's parent is this script (not a shell), so the host walk
stops at once: two /proc reads (the parent's stat and status). Prints a markdown table of the
median and mean CPU time per call, in microseconds.
"""
import os, statistics, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
runs = int(sys.argv[1])
bins = [os.path.abspath(b) for b in sys.argv[2:]]
if not bins:
    sys.exit("usage: scripts/bench-hook-cpu.py RUNS BIN_DIR [BIN_DIR ...]")
work = tempfile.mkdtemp()
subprocess.run(
    [sys.executable, os.path.join(root, "scripts/bench/make_payloads.py"), os.path.join(work, "p"),
     os.path.join(root, "tests/fixtures/claude-code-2.1.330")],
    check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
payloads = {
    "SubagentStart": open(os.path.join(work, "p", "subagent-start.json"), "rb").read(),
    "PreToolUse Bash, in a subagent": open(os.path.join(work, "p", "pre-tool-use.json"), "rb").read(),
}


def cpu_us(b, data):
    """One call of b's subagent-start with stdin data: its user + system CPU time in µs."""
    env = dict(os.environ, AGENT_TELEMETRY_DB=os.path.join(work, "db-%d" % bins.index(b), "telemetry.db"))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(r, 0)
        os.close(w)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execve(os.path.join(b, "subagent-start"), ["subagent-start"], env)
    os.close(r)
    os.write(w, data)
    os.close(w)
    _, status, ru = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, b
    return (ru.ru_utime + ru.ru_stime) * 1e6


for b in bins:
    cpu_us(b, payloads["SubagentStart"])  # creates the database
times = {(b, p): [] for b in bins for p in payloads}
for _ in range(runs):
    for p, data in payloads.items():
        for b in bins:
            times[(b, p)].append(cpu_us(b, data))
print("| build | payload | median CPU | mean CPU |\n|---|---|---:|---:|")
for p in payloads:
    for b in bins:
        t = times[(b, p)]
        print("| %s | %s | %.0f µs | %.0f µs |" % (b, p, statistics.median(t), statistics.mean(t)))
