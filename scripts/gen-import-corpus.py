#!/usr/bin/env python3
"""Generates a Claude Code `projects/` tree for benchmarking `analyze import` (docs/import.md).

Replicates the transcript trees of the real Claude Code 2.1.330 recordings (tests/fixtures/claude-code-2.1.330
and tests/e2e/recordings) and the hand-written old-layout fixtures (tests/fixtures/transcripts)
until the tree reaches the requested size. Every copy gets fresh ids: session ids (and so file
names), agent ids, tool_use ids, message ids, request ids, prompt ids and line uuids, consistently
across the files of one copy, and its timestamps moved forward by one minute per copy. Copies
are spread over several project directories.

    scripts/gen-import-corpus.py OUT_DIR [--mb 1024] [--projects 20]

OUT_DIR gets `projects/…`: point `analyze import --claude-dir OUT_DIR` (or CLAUDE_CONFIG_DIR) at it.
Prints the number of files, sessions, agent transcripts and bytes written.
"""

import argparse
import hashlib
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = [REPO / "tests/fixtures/claude-code-2.1.330", REPO / "tests/e2e/recordings"]
OLD_LAYOUTS = REPO / "tests/fixtures/transcripts"

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
GENERIC = rf"{UUID}|toolu_[0-9A-Za-z]+|msg_[0-9A-Za-z]+|req_[0-9A-Za-z]+"
AGENT_FILE = re.compile(r"agent-(.+?)\.(?:jsonl|meta\.json)$")
AGENT_FIELD = re.compile(r'"(?:agentId|parentAgentId|task-id)":"([^"]+)"')
TS = re.compile(r"\"(20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\"")


def fresh(old: str, copy: int) -> str:
    """A new id of the same shape, stable for (copy, old)."""
    h = hashlib.blake2b(f"{copy}:{old}".encode(), digest_size=32).hexdigest()
    if re.fullmatch(UUID, old):
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
    for prefix in ("toolu_", "msg_", "req_", "acompact-", "a"):
        if old.startswith(prefix):
            return prefix + h[: len(old) - len(prefix)]
    return h[: len(old)]


def id_pattern(files):
    """Generic ids plus this tree's agent ids (from file names and agentId fields)."""
    agent_ids = set()
    for rel, text in files:
        m = AGENT_FILE.search(rel.name)
        if m:
            agent_ids.add(m.group(1))
        agent_ids.update(AGENT_FIELD.findall(text))
    literal = "|".join(re.escape(a) for a in sorted(agent_ids, key=len, reverse=True))
    alts = f"{GENERIC}|{literal}" if literal else GENERIC
    return re.compile(rf"(?<![0-9A-Za-z])({alts})(?![0-9A-Za-z])")


def trees():
    """(name, transcripts dir) of every recording and old-layout project."""
    for root in SOURCES:
        for rec in sorted(root.iterdir()):
            if (rec / "transcripts").is_dir():
                yield rec.name, rec / "transcripts"
    for layout in sorted(OLD_LAYOUTS.iterdir()):
        for proj in sorted((layout / "projects").iterdir()):
            yield f"{layout.name}", proj


def load(tree: Path):
    files = []
    for p in sorted(tree.rglob("*")):
        if p.is_file():
            files.append((p.relative_to(tree), p.read_text()))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=1024)
    ap.add_argument("--projects", type=int, default=20)
    a = ap.parse_args()
    sources = [(name, load(t)) for name, t in trees()]
    sources = [(name, files, id_pattern(files)) for name, files in sources]
    target = int(a.mb * 1e6)
    out = Path(a.out) / "projects"
    written = files = sessions = agents = 0
    copy = 0
    while written < target:
        copy += 1
        shift = timedelta(minutes=copy)
        proj = out / f"-home-dev-bench-{copy % a.projects:02d}"
        for name, srcs, ids_re in sources:
            ids = {}

            def sub_id(m):
                old = m.group(1)
                if old not in ids:
                    ids[old] = fresh(old, copy)
                return ids[old]

            def sub_ts(m):
                t = datetime.strptime(m.group(1).rstrip("Z")[:23], "%Y-%m-%dT%H:%M:%S.%f" if "." in m.group(1) else "%Y-%m-%dT%H:%M:%S")
                t = (t.replace(tzinfo=timezone.utc) + shift).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
                return f'"{t}Z"'

            for rel, text in srcs:
                new_rel = ids_re.sub(sub_id, str(rel))
                body = TS.sub(sub_ts, ids_re.sub(sub_id, text))
                dest = proj / new_rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(body)
                written += len(body.encode())
                files += 1
                if dest.suffix == ".jsonl":
                    if dest.name.startswith("agent-"):
                        agents += 1
                    else:
                        sessions += 1
        if copy % 50 == 0:
            print(f"{copy} copies, {written / 1e6:.0f} MB", file=sys.stderr)
    print(f"{copy} copies: {files} files, {sessions} sessions, {agents} agent transcripts, {written / 1e6:.1f} MB in {out}")


if __name__ == "__main__":
    main()
