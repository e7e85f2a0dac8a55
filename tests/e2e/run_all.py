#!/usr/bin/env python3
"""Run every scenario in tests/e2e/scenarios/ against the real Claude Code, in parallel.

    run_all.py [-j N] [--record] [--out DIR] [--claude BIN] [NAME ...]

-j N       scenarios at a time (default 3; the machine has 2 cores and each run is
           mostly waiting on scripted sleeps and hook processes)
--record   write recordings into tests/e2e/recordings/<scenario>/ (replacing them)
--out DIR  write recordings into DIR/<scenario>/ instead
NAME ...   only these scenarios

Installs Claude Code first (claude.sh; fails loudly without the npm registry).
Exit status 0 only if every scenario passed. Prints one line per scenario and the wall time.
"""

import argparse
import concurrent.futures
import glob
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_scenario  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-j", type=int, default=3)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--claude")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()

    t0 = time.time()
    claude = run_scenario.find_claude(a.claude)
    t_install = time.time() - t0
    files = sorted(glob.glob(os.path.join(HERE, "scenarios", "*.json")))
    if a.names:
        files = [f for f in files if os.path.splitext(os.path.basename(f))[0] in a.names]
        if len(files) != len(a.names):
            sys.exit("run_all: unknown scenario among %s" % a.names)
    out_root = a.out or (os.path.join(HERE, "recordings") if a.record else None)

    def one(path):
        name = os.path.splitext(os.path.basename(path))[0]
        out = os.path.join(out_root, name) if out_root else None
        try:
            return run_scenario.run(path, out=out, claude=claude, quiet=True)
        except Exception as e:  # report, never hide
            return {"name": name, "ok": False, "problems": ["runner crashed: %r" % e], "secs": 0,
                    "results": [], "standin_stderr": []}

    t1 = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
        summaries = list(ex.map(one, files))
    wall = time.time() - t1
    for s in summaries:
        print(run_scenario.describe(s))
    failed = [s["name"] for s in summaries if not s["ok"]]
    print("%d passed, %d failed" % (len(summaries) - len(failed), len(failed)))
    print("wall time %.1fs for %d scenarios (-j %d; Claude Code install/check %.1fs)"
          % (wall, len(summaries), a.j, t_install))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
