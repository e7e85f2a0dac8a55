#!/usr/bin/env python3
"""`analyze export otlp` and `GET /metrics` against real receivers: Arize Phoenix and Prometheus.

Builds a history with gen-history (target/debug/examples), starts Phoenix (OTLP/HTTP, protobuf
only) and checks through its REST API: one invoke_agent span per finished run, nested as the
delegation tree (each run under its delegating agent's span, else its turn's), token totals
equal to `analyze summary`'s, a second export adds nothing, and `--follow` sends a run recorded
by the real hooks during the test exactly once. Then Prometheus scrapes `analyze serve`'s
/metrics: `sum(agent_telemetry_runs_total)` equals the number of runs.

Run by tests/export/run.sh (which installs Phoenix in a venv and Prometheus with apt); directly:
  PHOENIX=path/to/venv/bin/phoenix python3 tests/export/check.py
"""

import datetime as dt
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("AGENT_TELEMETRY_BIN_SOURCE", os.path.join(REPO, "target", "debug"))
GEN = os.path.join(REPO, "target", "debug", "examples", "gen-history")
PHOENIX = os.environ.get("PHOENIX", os.path.join(REPO, "target", "export-venv", "bin", "phoenix"))
PROMETHEUS = os.environ.get("PROMETHEUS", shutil.which("prometheus") or "/usr/bin/prometheus")
RUNS = int(os.environ.get("EXPORT_RUNS", "2000"))
PROJECT = "agent-telemetry-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def wait(what, cond, timeout=90):
    deadline = time.time() + timeout
    while True:
        try:
            v = cond()
            if v:
                return v
        except (OSError, ValueError):
            pass
        if time.time() > deadline:
            sys.exit(f"export: timed out waiting for {what}")
        time.sleep(0.5)


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="export-check-")
        self.db = os.path.join(self.dir, "data", "telemetry.db")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("AGENT_TELEMETRY_DISABLED", "XDG_DATA_HOME", "AGENT_TELEMETRY_NOW")}
        self.env.update(AGENT_TELEMETRY_DB=self.db, HOME=os.path.join(self.dir, "home"), NO_COLOR="1")
        self.procs = []

    def analyze(self, *args):
        p = subprocess.run([os.path.join(BIN, "analyze"), "--db", self.db, *args], env=self.env,
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            sys.exit(f"export: analyze {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
        return p.stdout

    def spawn(self, args, log):
        f = open(os.path.join(self.dir, log), "w")
        p = subprocess.Popen(args, env=self.env, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def hook(self, binary, payload):
        p = subprocess.run([os.path.join(BIN, binary)], input=json.dumps(payload).encode(),
                           env=self.env, capture_output=True, timeout=30)
        assert p.returncode == 0 and not p.stdout, f"{binary}: exit {p.returncode} {p.stderr!r}"

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def phoenix_spans(base, since=None):
    spans, cursor = [], None
    while True:
        q = {"limit": "1000"}
        if since:
            q["start_time"] = iso(since)
        if cursor:
            q["cursor"] = cursor
        d = get_json(f"{base}/v1/projects/{PROJECT}/spans?" + urllib.parse.urlencode(q))
        spans += d["data"]
        cursor = d.get("next_cursor")
        if not cursor:
            return spans


def finished_runs(db):
    c = sqlite3.connect(db)
    try:
        return {r[0]: r[1:] for r in c.execute(
            "SELECT agent_id, parent_agent_id, workflow_id FROM agent_runs "
            "WHERE internal = 0 AND end_ms IS NOT NULL AND status NOT IN ('running', 'lost')")}
    finally:
        c.close()


def check_tree(spans, runs):
    agents = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "invoke_agent"]
    by_agent = {}
    for s in agents:
        aid = s["attributes"]["gen_ai.agent.id"]
        assert aid not in by_agent, f"two spans for run {aid}"
        by_agent[aid] = s
    assert set(by_agent) == set(runs), \
        f"runs without a span: {len(set(runs) - set(by_agent))}, spans without a run: {len(set(by_agent) - set(runs))}"
    turns = {s["attributes"]["agent_telemetry.workflow.id"]: s for s in spans
             if s["attributes"].get("gen_ai.operation.name") == "invoke_workflow"}
    nested = 0
    for aid, (parent, workflow) in runs.items():
        s = by_agent[aid]
        if parent and parent in by_agent:
            want = by_agent[parent]["context"]["span_id"]
            nested += 1
        elif workflow in turns:
            want = turns[workflow]["context"]["span_id"]
        else:
            continue
        assert s["parent_id"] == want, f"run {aid}: parent {s['parent_id']}, want {want}"
        assert s["context"]["trace_id"] == (by_agent.get(parent) or turns[workflow])["context"]["trace_id"]
    assert s["span_kind"] == "AGENT", s["span_kind"]
    return by_agent, nested


def token_total(by_agent):
    return sum(int(s["attributes"].get("gen_ai.usage.input_tokens", 0))
               + int(s["attributes"].get("gen_ai.usage.output_tokens", 0)) for s in by_agent.values())


def record_run(env, session):
    """A run recorded by the real hooks now: start, then stop three seconds later."""
    aid = "a" + uuid.uuid4().hex[:16]
    now = dt.datetime.now(dt.timezone.utc)

    def base(event, at):
        return {"session_id": session, "transcript_path": f"/nonexistent/{session}.jsonl",
                "cwd": "/home/dev/proj", "prompt_id": "p-follow", "hook_event_name": event, "timestamp": iso(at)}
    tool_input = {"description": "Review the export", "prompt": "Please review", "subagent_type": "code-reviewer"}
    pre = base("PreToolUse", now)
    pre.update(tool_name="Agent", tool_input=tool_input, tool_use_id="toolu_" + aid)
    env.hook("subagent-start", pre)
    start = base("SubagentStart", now)
    start.update(agent_id=aid, agent_type="code-reviewer")
    env.hook("subagent-start", start)
    time.sleep(3)
    end = dt.datetime.now(dt.timezone.utc)
    stop = base("SubagentStop", end)
    stop.update(agent_id=aid, agent_type="code-reviewer", last_assistant_message="done")
    env.hook("subagent-stop", stop)
    post = base("PostToolUse", end)
    post.update(tool_name="Agent", tool_input=tool_input, tool_use_id="toolu_" + aid,
                tool_response={"status": "completed", "agentId": aid, "agentType": "code-reviewer"})
    env.hook("subagent-stop", post)
    return aid


def check_phoenix(env):
    port, grpc = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    penv = dict(env.env, PHOENIX_WORKING_DIR=os.path.join(env.dir, "phoenix"), PHOENIX_PORT=str(port),
                PHOENIX_GRPC_PORT=str(grpc), PHOENIX_HOST="127.0.0.1")
    os.makedirs(penv["PHOENIX_WORKING_DIR"])
    t0 = time.time()
    env.procs.append(subprocess.Popen([PHOENIX, "serve"], env=penv, stdin=subprocess.DEVNULL,
                                      stdout=open(os.path.join(env.dir, "phoenix.log"), "w"),
                                      stderr=subprocess.STDOUT))
    wait("Phoenix", lambda: get_json(f"{base}/v1/projects"))
    print(f"export: Phoenix up in {time.time() - t0:.1f} s")
    resource = ["--resource", f"openinference.project.name={PROJECT}"]
    t0 = time.time()
    out = env.analyze("export", "otlp", "--endpoint", base, *resource)
    print(f"export: {out.strip()} in {time.time() - t0:.1f} s")
    runs = finished_runs(env.db)
    sent = int(out.split("sent ")[1].split(" ")[0])
    assert sent == len(runs), (sent, len(runs))
    spans = wait("the spans in Phoenix", lambda: (lambda s: s if sum(
        1 for x in s if x["attributes"].get("gen_ai.operation.name") == "invoke_agent") >= len(runs) else None)(
        phoenix_spans(base)))
    by_agent, nested = check_tree(spans, runs)
    assert nested > 0, "the history has delegated runs"
    summary = json.loads(env.analyze("summary", "--format", "json"))
    tokens = sum(a["tokens"] for a in summary["agents"])
    c = sqlite3.connect(env.db)
    unsent = c.execute("SELECT coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0) "
                       "FROM agent_runs WHERE internal = 0 AND (end_ms IS NULL OR status = 'running')").fetchone()[0]
    c.close()
    assert token_total(by_agent) + unsent == tokens, (token_total(by_agent), unsent, tokens)
    print(f"export: Phoenix holds {len(by_agent)} invoke_agent spans ({nested} nested under their delegating "
          f"agent), {len(spans)} spans in all; tokens {token_total(by_agent)} = analyze's {tokens} - {unsent} unfinished")

    env.analyze("export", "otlp", "--endpoint", base, *resource)
    time.sleep(3)
    again = phoenix_spans(base)
    assert len(again) == len(spans), f"a second export added {len(again) - len(spans)} spans"
    print("export: a second export added nothing")

    follow = env.spawn([os.path.join(BIN, "analyze"), "--db", env.db, "export", "otlp", "--follow",
                        "--endpoint", base, *resource], "follow.log")
    time.sleep(4)
    session = "s-follow-" + uuid.uuid4().hex[:8]
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=10)
    aid = record_run(env, session)
    t_stop = time.time()
    wait("the followed run in Phoenix", lambda: any(
        s["attributes"].get("gen_ai.agent.id") == aid for s in phoenix_spans(base, since)), timeout=60)
    print(f"export: --follow's run readable in Phoenix {time.time() - t_stop:.1f} s after its stop hook "
          "(settle 2 s + poll 2 s + Phoenix's own ingestion)")
    time.sleep(6)
    follow.terminate()
    follow.wait(10)
    final = phoenix_spans(base)
    mine = [s for s in final if s["attributes"].get("gen_ai.agent.id") == aid]
    assert len(mine) == 1, len(mine)
    ids = [s["context"]["span_id"] for s in final]
    assert len(ids) == len(set(ids))
    assert len(final) == len(spans) + 1, f"--follow sent {len(final) - len(spans)} spans, want 1"
    print("export: --follow sent it once, and nothing else")


def check_prometheus(env):
    port, prom = free_port(), free_port()
    env.spawn([os.path.join(BIN, "analyze"), "--db", env.db, "serve", "--port", str(port)], "serve.log")
    wait("analyze serve", lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).status == 200)
    cfg = os.path.join(env.dir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: agent-telemetry\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    env.spawn([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(env.dir, 'tsdb')}",
               f"--web.listen-address=127.0.0.1:{prom}"], "prometheus.log")
    q = urllib.parse.urlencode({"query": "sum(agent_telemetry_runs_total)"})

    def value():
        r = get_json(f"http://127.0.0.1:{prom}/api/v1/query?{q}")["data"]["result"]
        return r and float(r[0]["value"][1])
    got = wait("Prometheus to scrape /metrics", value, timeout=90)
    c = sqlite3.connect(env.db)
    runs = c.execute("SELECT count(*) FROM agent_runs WHERE internal = 0").fetchone()[0]
    c.close()
    summary = json.loads(env.analyze("summary", "--format", "json"))
    assert sum(a["runs"] for a in summary["agents"]) == runs
    assert got == runs, (got, runs)
    print(f"export: Prometheus says sum(agent_telemetry_runs_total) = {got:.0f} = the {runs} runs")


def main():
    for path in (os.path.join(BIN, "analyze"), GEN, PHOENIX, PROMETHEUS):
        if not os.access(path, os.X_OK):
            sys.exit(f"export: {path} is missing (tests/export/run.sh builds and installs everything)")
    env = Env()
    try:
        subprocess.run([GEN, "--db", env.db, "--runs", str(RUNS), "--days", "3", "--seed", "7"],
                       env=env.env, check=True, capture_output=True, timeout=600)
        check_phoenix(env)
        check_prometheus(env)
    finally:
        env.close()
    print("export: ok")


if __name__ == "__main__":
    main()
