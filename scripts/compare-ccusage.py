#!/usr/bin/env python3
"""Compares per-session token totals of `analyze import` with ccusage's (docs/import.md).

    scripts/compare-ccusage.py CLAUDE_DIR DB [--ccusage CMD] [--analyze BIN]

Runs `CLAUDE_CONFIG_DIR=CLAUDE_DIR <ccusage> session --json --offline` and
`analyze sessions --format json --db DB` (the DB must hold an import of CLAUDE_DIR) and compares
input + output + cache write + cache read tokens per session. ccusage reports a 2.0.x subagent
file (`agent-<id>.jsonl` beside the session file) as a session of its own: those are folded into
the session that holds the agent's usage in DB. Prints totals, the largest relative difference,
and every session that differs by more than 0.5 %; exits 1 if any does.
"""

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("claude_dir")
    ap.add_argument("db")
    ap.add_argument("--ccusage", default="npx ccusage", help="command that runs ccusage 20.0.24")
    ap.add_argument("--analyze", default="target/release/analyze")
    a = ap.parse_args()

    env = dict(os.environ, CLAUDE_CONFIG_DIR=os.path.abspath(a.claude_dir))
    t0 = time.time()
    cc = json.loads(subprocess.run(a.ccusage.split() + ["session", "--json", "--offline"], env=env, check=True, capture_output=True, text=True).stdout)
    cc_secs = time.time() - t0
    ours = json.loads(
        subprocess.run([a.analyze, "sessions", "--format", "json", "--limit", "10000000", "--db", a.db], check=True, capture_output=True, text=True).stdout
    )

    owner = {}  # agent id → session id, for ccusage's agent-<id> "sessions"
    with sqlite3.connect(a.db) as c:
        for aid, sid in c.execute("SELECT DISTINCT agent_id, session_id FROM usage WHERE agent_id <> ''"):
            owner[aid] = sid

    def kinds(s):
        return (s["inputTokens"], s["outputTokens"], s["cacheCreationTokens"], s["cacheReadTokens"])

    theirs = {}
    for s in cc["session"]:
        sid = s["period"]
        if sid.startswith("agent-") and sid[len("agent-"):] in owner:
            sid = owner[sid[len("agent-"):]]
        t = theirs.setdefault(sid, [0, 0, 0, 0])
        for i, v in enumerate(kinds(s)):
            t[i] += v
    mine = {}
    for s in ours["sessions"]:
        m = [0, 0, 0, 0]
        for u in s["models"].values():
            for i, k in enumerate(("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")):
                m[i] += u[k]
        mine[s["session_id"]] = m

    worst = (0.0, None)
    differ = []
    for sid in sorted(set(mine) | set(theirs)):
        a_, b_ = sum(mine.get(sid, [0])), sum(theirs.get(sid, [0]))
        rel = abs(a_ - b_) / max(b_, 1)
        if rel > worst[0]:
            worst = (rel, sid)
        if rel > 0.005:
            differ.append((sid, mine.get(sid), theirs.get(sid)))
    tm = [sum(v[i] for v in mine.values()) for i in range(4)]
    tt = [sum(v[i] for v in theirs.values()) for i in range(4)]
    print(f"sessions: analyze {len(mine)}, ccusage {len(theirs)} (after folding agent files); ccusage took {cc_secs:.1f} s")
    print("tokens (input, output, cache write, cache read):")
    print(f"  analyze  {tm}  total {sum(tm)}")
    print(f"  ccusage  {tt}  total {sum(tt)}")
    print(f"largest per-session difference: {worst[0] * 100:.4f} % ({worst[1]})")
    for sid, m, t in differ[:20]:
        print(f"  differs: {sid}: analyze {m} ccusage {t}")
    if differ:
        print(f"{len(differ)} sessions differ by more than 0.5 %")
        sys.exit(1)


if __name__ == "__main__":
    main()
