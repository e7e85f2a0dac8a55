#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium driven by selenium.

Builds a database with the real hook binaries (target/debug), starts `analyze serve` on a free
port, loads the page and checks: no console errors, the agents are shown, an agent started by a
hook during the test appears WITHOUT a reload (and finishes after its stop hook, then shows its
tool / model time and the host's CPU and memory in the tree), the agent page opens with its custom
metrics (one defined in config.json, two carried by generic stop events) and its runs' host figures
exactly as computed by hand, an alert (a hung agent) is shown and turns resolved live when the
agent finishes. Then measures, as printed figures (never pass/fail), first paint, time to data, and the
hook-to-page lag over BENCH_HOOKS hooks (default 20). Screenshots go to tests/browser/out/.

Run by tests/browser/run.sh (which makes the venv and installs Chromium); directly:
  python3 tests/browser/test_dashboard.py   (with selenium importable, target/debug built)
"""

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("AGENT_TELEMETRY_BIN_SOURCE", os.path.join(REPO, "target", "debug"))
OUT = os.path.join(HERE, "out")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
BENCH_HOOKS = int(os.environ.get("BENCH_HOOKS", "20"))


def iso(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Env:
    """A private data directory and the real binaries."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dash-browser-")
        self.db = os.path.join(self.dir, "data", "telemetry.db")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("AGENT_TELEMETRY_DISABLED", "XDG_DATA_HOME", "AGENT_TELEMETRY_NOW")}
        self.env.update(AGENT_TELEMETRY_DB=self.db, HOME=os.path.join(self.dir, "home"), NO_COLOR="1")

    def hook(self, binary, payload, extra_env=None):
        p = subprocess.run([os.path.join(BIN, binary)], input=json.dumps(payload).encode(),
                           env={**self.env, **(extra_env or {})}, capture_output=True, timeout=30)
        assert p.returncode == 0 and not p.stdout, f"{binary}: exit {p.returncode} {p.stdout!r} {p.stderr!r}"


class Run:
    """One agent run's hook payloads, as Claude Code sends them (cf. tests/it/common.rs)."""

    def __init__(self, session, prompt_id, agent_type, description, parent=None):
        self.session, self.prompt_id = session, prompt_id
        self.agent_id = "a" + uuid.uuid4().hex[:16]
        self.agent_type, self.description, self.parent = agent_type, description, parent
        self.tool_use_id = "toolu_" + self.agent_id

    def base(self, event, at):
        return {"session_id": self.session, "transcript_path": f"/nonexistent/{self.session}.jsonl",
                "cwd": "/home/dev/proj", "prompt_id": self.prompt_id, "hook_event_name": event,
                "timestamp": iso(at)}

    def tool_input(self):
        return {"description": self.description, "prompt": "Please " + self.description,
                "subagent_type": self.agent_type, "run_in_background": False}

    def launch(self, env, at):
        """The parent's Agent tool call (PreToolUse)."""
        pre = self.base("PreToolUse", at)
        pre.update(tool_name="Agent", tool_input=self.tool_input(), tool_use_id=self.tool_use_id)
        if self.parent:
            pre["agent_id"] = self.parent
        env.hook("subagent-start", pre)

    def started(self, env, at):
        """The subagent's own start (SubagentStart)."""
        start = self.base("SubagentStart", at)
        start.update(agent_id=self.agent_id, agent_type=self.agent_type)
        env.hook("subagent-start", start)

    def start(self, env, at):
        self.launch(env, at)
        self.started(env, at)

    def transcript(self, env, at):
        """The subagent's transcript as Claude Code writes it: tool calls and token usage."""
        tools = {"backend-architect": ["Read", "Grep", "Edit", "Edit", "Bash"],
                 "code-reviewer": ["Read", "Read", "Grep"],
                 "test-engineer": ["Read", "Write", "Bash", "Bash"],
                 "data-engineer": ["Read", "Bash"],
                 "security-auditor": ["Grep", "Read"]}.get(self.agent_type, ["Read"])
        path = os.path.join(env.dir, "transcripts", f"agent-{self.agent_id}.jsonl")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            for i, tool in enumerate(tools + [None]):
                content = ([{"type": "tool_use", "id": f"toolu_{self.agent_id}_{i}", "name": tool, "input": {}}]
                           if tool else [{"type": "text", "text": "done"}])
                f.write(json.dumps({
                    "isSidechain": True, "sessionId": self.session, "agentId": self.agent_id, "type": "assistant",
                    "uuid": f"{self.agent_id}-{i}", "timestamp": iso(at),
                    "message": {"model": "claude-sonnet-4-5", "id": f"msg_{self.agent_id}_{i}", "type": "message",
                                "role": "assistant", "content": content,
                                "usage": {"input_tokens": 900 + 150 * i, "output_tokens": 120 + 40 * i,
                                          "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 0}}},
                                   separators=(",", ":")) + "\n")  # compact, as Claude Code writes it
        return path

    def stop(self, env, at, error=None):
        if error is None:
            stop = self.base("SubagentStop", at)
            stop.update(agent_id=self.agent_id, agent_type=self.agent_type, last_assistant_message="done",
                        agent_transcript_path=self.transcript(env, at))
            env.hook("subagent-stop", stop)
            post = self.base("PostToolUse", at)
            post.update(tool_name="Agent", tool_input=self.tool_input(), tool_use_id=self.tool_use_id,
                        tool_response={"status": "completed", "agentId": self.agent_id,
                                       "agentType": self.agent_type})
        else:
            post = self.base("PostToolUseFailure", at)
            post.update(tool_name="Agent", tool_input=self.tool_input(), tool_use_id=self.tool_use_id,
                        error=error, is_interrupt=False)
        if self.parent:
            post["agent_id"] = self.parent
        env.hook("subagent-stop", post)


def turn_event(env, session, prompt_id, event, at, prompt=None):
    p = {"session_id": session, "transcript_path": f"/nonexistent/{session}.jsonl", "cwd": "/home/dev/proj",
         "prompt_id": prompt_id, "hook_event_name": event, "timestamp": iso(at)}
    if prompt:
        p["prompt"] = prompt
    env.hook("workflow-event", p)


def build_history(env, now):
    """Two weeks of turns: a declining agent (an anomaly), nested delegation, failures."""
    plan = [
        ("backend-architect", "Implement the orders API", 95),
        ("code-reviewer", "Review the orders API", 40),
        ("test-engineer", "Write integration tests", 70),
    ]
    n = 0
    # Earlier than the last 7 days (trends' "earlier") and within them ("recent").
    for day in range(13, -1, -1):
        for k in range(3):
            n += 1
            session = str(uuid.uuid4())
            # Mornings (UTC) of past days, the last hour today: whole days, whatever the time.
            at = ((now - dt.timedelta(days=day)).replace(hour=9 + 2 * k, minute=0, second=0, microsecond=0)
                  if day else now - dt.timedelta(minutes=50 - 12 * k))
            prompt = f"prompt-{n:03d}"
            turn_event(env, session, prompt, "UserPromptSubmit", at, f"Ship feature {n}")
            t = at + dt.timedelta(seconds=5)
            for i, (ty, desc, secs) in enumerate(plan):
                r = Run(session, prompt, ty, desc)
                r.start(env, t)
                if i == 0:  # backend-architect delegates a security audit
                    child = Run(session, prompt, "security-auditor", "Audit the endpoints", parent=r.agent_id)
                    child.start(env, t + dt.timedelta(seconds=10))
                    child.stop(env, t + dt.timedelta(seconds=10 + secs // 3))
                t += dt.timedelta(seconds=secs + 3 * k + 9 * (day % 4))
                r.stop(env, t)
            # data-engineer: reliable earlier, failing in the last days (declining).
            d = Run(session, prompt, "data-engineer", "Migrate the schema")
            d.start(env, t)
            t += dt.timedelta(seconds=50)
            d.stop(env, t, error="API Error: 500 Internal server error" if day <= 3 and k < 2 else None)
            turn_event(env, session, prompt, "Stop", t + dt.timedelta(seconds=8))
    # One session active now, with a running agent that delegated to another.
    live = str(uuid.uuid4())
    turn_event(env, live, "p-live", "UserPromptSubmit", now - dt.timedelta(minutes=3), "Refactor billing")
    lead = Run(live, "p-live", "backend-architect", "Refactor the billing module")
    lead.start(env, now - dt.timedelta(minutes=2, seconds=50))
    sub = Run(live, "p-live", "code-reviewer", "Review the billing refactor", parent=lead.agent_id)
    sub.start(env, now - dt.timedelta(minutes=1))
    # And one that has run far past its type's p95 (code-reviewer: ~46 s): hung.
    stuck_session = str(uuid.uuid4())
    turn_event(env, stuck_session, "p-stuck", "UserPromptSubmit", now - dt.timedelta(minutes=26), "Review payments")
    stuck = Run(stuck_session, "p-stuck", "code-reviewer", "Review the payments module")
    stuck.start(env, now - dt.timedelta(minutes=25))
    return live, lead, stuck


# Custom metrics (docs/metrics.md, "Custom metrics"): one defined in config.json, read from the
# transcripts at SubagentStop — every backend-architect transcript (Run.transcript) has one Bash
# call —, and two carried by a generic orchestrator's stop events.
METRIC_DEFINITIONS = [{"name": "bash_calls", "tool": "Bash", "input_pattern": "\\{", "take": "count"}]
# lint-fixer's five runs, oldest first: days ago, lint_warnings, coverage_pct. Three before the
# last 7 days ("earlier"), two within them ("recent").
LINT_RUNS = [(10, 12, 81.5), (9, 7, 83.25), (8, 3, 84.0), (2, 0, 86.75), (1, 5, 90.0)]
# What the agent page must show (hand-computed; cells as `analyze agent` prints them: whole
# numbers with separators, others to two decimals without trailing zeros):
#   lint_warnings: sorted 0 3 5 7 12 — avg 27 ÷ 5 = 5.4, p50 5, p95 at h = 4 × 0.95 = 3.8:
#     7 + 0.8 × (12 − 7) = 11, min 0, max 12, sum 27; trend (12 + 7 + 3) ÷ 3 = 7.33 → (0 + 5) ÷ 2 = 2.5.
#   coverage_pct: sorted 81.5 83.25 84 86.75 90 — avg 425.5 ÷ 5 = 85.1, p50 84, p95 86.75 + 0.8 ×
#     3.25 = 89.35, min 81.5, max 90, sum 425.5; trend 248.75 ÷ 3 = 82.92 → 176.75 ÷ 2 = 88.38.
LINT_TABLE = {
    "lint_warnings": ["5", "5.4", "5", "11", "0", "12", "27", "7.33 → 2.5 (down)"],
    "coverage_pct": ["5", "85.1", "84", "89.35", "81.5", "90", "425.5", "82.92 → 88.38 (up)"],
}
# Each lint-fixer run i (0–4) runs 60 s; a fake /proc (AGENT_TELEMETRY_PROC_ROOT) says the host
# (this process) used 250 + 10·i clock ticks (USER_HZ 100: 2.5 + 0.1·i s) of CPU meanwhile and had
# (300 + 10·i) × 1,024 kB (300 + 10·i MB) resident at the stop.


def fake_proc(root, ticks, rss_kb):
    """This process as the hooks' host in a fake /proc: its CPU ticks (utime) and VmRSS."""
    pid = os.getpid()
    d = os.path.join(root, str(pid))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "stat"), "w") as f:
        f.write(f"{pid} (claude) S 1 {pid} {pid} 0 -1 4194560 3180 0 0 0 {ticks} 0 0 0 20 0 11 0 1234 "
                "1180000000 51234 18446744073709551615\n")
    with open(os.path.join(d, "status"), "w") as f:
        f.write(f"Name:\tclaude\nState:\tS (sleeping)\nVmRSS:\t  {rss_kb} kB\n")


def lint_history(env, now):
    """lint-fixer, recorded as another orchestrator would: generic start and stop events whose stops
    carry custom metrics, read under a fake /proc."""
    root = os.path.join(env.dir, "proc")
    extra = {"AGENT_TELEMETRY_PROC_ROOT": root}
    for i, (days, warnings, coverage) in enumerate(LINT_RUNS):
        at = (now - dt.timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)
        inv = f"lint-{i}"
        fake_proc(root, 10_000 * (i + 1), 400_000)
        env.hook("subagent-start", {"agent_name": "lint-fixer", "invocation_id": inv,
                                    "task_description": f"Fix lint warnings, pass {i + 1}", "timestamp": iso(at)}, extra)
        fake_proc(root, 10_000 * (i + 1) + 250 + 10 * i, (300 + 10 * i) * 1024)
        env.hook("subagent-stop", {"invocation_id": inv, "success": True, "outcome_summary": "lint fixed",
                                   "metrics": {"lint_warnings": warnings, "coverage_pct": coverage},
                                   "timestamp": iso(at + dt.timedelta(seconds=60))}, extra)


def table_rows(d, css):
    """The cells' text of every body row of the table matching css."""
    return d.execute_script(
        "const t = document.querySelector(arguments[0]); if (!t) return null;"
        "return [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent));", css)


def start_server(env, *extra):
    p = subprocess.Popen([os.path.join(BIN, "analyze"), "serve", "--port", "0", "--db", env.db, *extra],
                         env=env.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if "open " not in line:
        p.kill()
        raise AssertionError(f"analyze serve did not start: {line!r} {p.stderr.read()!r}")
    return p, line.rsplit("open ", 1)[1].strip()


PROFILES = []


def browser():
    """Headless Chromium with a fresh profile (removed at the end) and the console log kept."""
    profile = tempfile.mkdtemp(prefix="dash-chromium-")
    PROFILES.append(profile)
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1440,900",
                 "--user-data-dir=" + profile]:
        o.add_argument(flag)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=o)


def wait_for(what, fn, timeout=15.0, step=0.05):
    """Polls fn until it is truthy. The page re-renders parts live: an element found a moment ago
    may be gone (stale), so that is a retry, not a failure."""
    end = time.time() + timeout
    while True:
        try:
            v = fn()
        except (StaleElementReferenceException, NoSuchElementException):
            v = None
        if v:
            return v
        if time.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def attrs(d, css, attr):
    """One attribute of every element matching css, read in one step (no stale elements)."""
    return d.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute(arguments[1]));", css, attr)


def text(d, css):
    """The text of the first element matching css, or None."""
    return d.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)


def console_errors(d):
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def pctl(xs, p):
    xs = sorted(xs)
    h = (len(xs) - 1) * p
    lo = int(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def main():
    os.makedirs(OUT, exist_ok=True)
    env = Env()
    server = None
    d = None
    try:
        t0 = time.time()
        now = dt.datetime.now(dt.timezone.utc)
        # Alerts: the stuck agent (25 min) is past a 20-minute hung threshold. The metric
        # definitions apply to what the hooks read from then on: written first.
        os.makedirs(os.path.dirname(env.db), exist_ok=True)
        with open(os.path.join(os.path.dirname(env.db), "config.json"), "w") as f:
            json.dump({"alerts": {"hung_after_minutes": 20}, "metrics": METRIC_DEFINITIONS}, f)
        live_session, lead, stuck = build_history(env, now)
        lint_history(env, now)
        print(f"browser: history recorded by the hooks in {time.time() - t0:.1f}s")
        server, page = start_server(env)
        d = browser()
        d.get(page)
        # Loaded, live, and showing the agents.
        wait_for("the live stream", lambda: text(d, "#conn") == "live")
        names = set(wait_for("the agent table", lambda: attrs(d, "#agents tbody tr[data-agent]", "data-agent")))
        assert {"backend-architect", "code-reviewer", "test-engineer", "data-engineer", "security-auditor"} <= names, names
        wait_for("the running agents", lambda: len(d.find_elements(By.CSS_SELECTOR, "#running tbody tr[data-agent-id]")) == 3)
        hung = wait_for("the hung agent flagged", lambda: attrs(d, "#running tbody tr.hung", "data-agent-id"))
        assert hung == [stuck.agent_id], "only the stuck one is hung"
        assert text(d, "#running tbody tr.hung .flag") == "hung"
        wait_for("the live tree", lambda: d.find_elements(By.CSS_SELECTOR, f"#tree li[data-agent-id='{lead.agent_id}'] li[data-agent-id]"))
        wait_for("five charts", lambda: len(d.find_elements(By.CSS_SELECTOR, ".chart-box svg.chart")) == 5)
        anomalies = wait_for("the anomaly", lambda: attrs(d, "#agents tr.anomaly", "data-agent"))
        assert anomalies == ["data-engineer"], "data-engineer declines"
        assert text(d, "#card-active") == "3"
        firing = wait_for("the hung alert", lambda: attrs(d, "#alert-table tr[data-state='firing']", "data-subject"))
        assert firing == [stuck.agent_id], f"one alert, the stuck agent: {firing}"
        assert attrs(d, "#alert-table tr[data-state='firing']", "data-rule") == ["hung"]
        assert "possibly hung" in text(d, "#alert-table tr[data-state='firing']")
        assert "1 firing" in text(d, "#alerts-note")
        time.sleep(0.5)
        d.save_screenshot(os.path.join(OUT, "dashboard.png"))
        # The whole page at a laptop's width (docs/img/dashboard.png is one of these).
        height = d.execute_script("return document.documentElement.scrollHeight;")
        d.set_window_size(1440, height + 120)
        time.sleep(0.3)
        d.save_screenshot(os.path.join(OUT, "dashboard-full.png"))
        d.set_window_size(1440, 900)

        # A hook during the test: the new agent appears without a reload, then finishes.
        d.execute_script("window.__noReload = 'still here';")
        fe_runs = "#agents tr[data-agent='frontend-developer'] td:nth-child(2)"
        runs_before = int(text(d, fe_runs) or 0)
        fresh = Run(live_session, "p-live", "frontend-developer", "Build the billing page", parent=lead.agent_id)
        fresh.start(env, dt.datetime.now(dt.timezone.utc))
        row = f"#running tbody tr[data-agent-id='{fresh.agent_id}']"
        wait_for("the new agent in the running list", lambda: attrs(d, row, "data-agent-id"), timeout=10)
        wait_for("the new agent in the tree", lambda: attrs(d, f"#tree li[data-agent-id='{fresh.agent_id}']", "data-agent-id"), timeout=10)
        wait_for("four running", lambda: text(d, "#card-active") == "4", timeout=5)
        d.save_screenshot(os.path.join(OUT, "agent-started.png"))
        fresh.stop(env, dt.datetime.now(dt.timezone.utc))
        wait_for("the new agent to finish", lambda: not attrs(d, row, "data-agent-id"), timeout=10)
        wait_for("its run counted", lambda: text(d, fe_runs) == str(runs_before + 1), timeout=10)
        assert d.execute_script("return window.__noReload;") == "still here", "the page reloaded"

        # The agent page.
        wait_for("a click on an agent", lambda: d.find_element(By.CSS_SELECTOR, "#agents tr[data-agent='backend-architect']").click() or True)
        wait_for("the agent page", lambda: d.find_elements(By.CSS_SELECTOR, "#agent-page[open] dl.figures"))
        wait_for("its daily chart", lambda: d.find_elements(By.CSS_SELECTOR, "#agent-page svg.chart"))
        assert "security-auditor" in text(d, "#agent-body"), "delegates listed"
        # Its custom metric from the transcripts: one Bash call in each of its 14 × 3 finished runs.
        rows = wait_for("its custom metrics", lambda: table_rows(d, "#agent-page table.custom-metrics"))
        assert rows == [["bash_calls", "42", "1", "1", "1", "1", "1", "42", "1 → 1 (flat)"]], rows
        d.save_screenshot(os.path.join(OUT, "agent-page.png"))
        d.find_element(By.CSS_SELECTOR, "#agent-page .close button").click()

        # The finished agent in the live tree: its tool and model time and the host's figures
        # (the real /proc: this process hosted the hooks), with the legend.
        node = f"#tree li[data-agent-id='{fresh.agent_id}'] > .node .resources"
        figures = wait_for("the finished agent's figures in the tree", lambda: text(d, node), timeout=10)
        assert figures.startswith("tool 0ms · model ") and " · host CPU " in figures and figures.endswith(" MB"), figures
        assert d.execute_script("return !document.getElementById('tree-note').hidden;"), "the tree's legend"
        d.execute_script("document.getElementById('h-tree').scrollIntoView();")
        d.save_screenshot(os.path.join(OUT, "tree-figures.png"))

        # lint-fixer's page: its custom metrics and its runs' host figures, as computed by hand.
        d.execute_script("location.hash = '#agent=lint-fixer';")
        rows = wait_for("lint-fixer's custom metrics", lambda: table_rows(d, "#agent-page table.custom-metrics"))
        got = {r[0]: r[1:] for r in rows}
        assert got == LINT_TABLE, got
        runs = table_rows(d, "#agent-page table.recent-runs")
        heads = d.execute_script("return [...document.querySelectorAll('#agent-page table.recent-runs th')].map(h => h.textContent);")
        assert heads == ["Started (UTC)", "Status", "Duration", "Description", "Host CPU", "Host mem"], heads
        assert [r[1:] for r in runs] == [
            ["success", "1m 00s", f"Fix lint warnings, pass {i + 1}", f"{2.5 + 0.1 * i:.1f} s", f"{300 + 10 * i:.1f} MB"]
            for i in reversed(range(5))], runs
        assert "Claude Code process" in text(d, "#agent-body"), "the host figures' legend"
        # The page scrolled to its recent runs and custom metrics (docs/img/agent-page.png is this).
        d.execute_script("document.querySelector('#agent-page table.custom-metrics').scrollIntoView({block: 'end'});")
        time.sleep(0.3)
        d.save_screenshot(os.path.join(OUT, "agent-metrics.png"))
        d.find_element(By.CSS_SELECTOR, "#agent-page .close button").click()

        # The stuck agent finishes: its alert is shown resolved, live.
        stuck.stop(env, dt.datetime.now(dt.timezone.utc))
        wait_for("the alert resolved", lambda: attrs(d, f"#alert-table tr[data-subject='{stuck.agent_id}']", "data-state") == ["resolved"], timeout=10)
        assert "none firing" in text(d, "#alerts-note")

        errors = console_errors(d)
        assert not errors, f"console errors: {errors}"
        print(f"browser: dashboard checks passed ({time.time() - t0:.1f}s)")

        measure(env, d, page, live_session, lead)
        errors = console_errors(d)
        assert not errors, f"console errors: {errors}"

        # With a token: the page opened with ?token= carries it on every call and the stream.
        guarded, guarded_page = start_server(env, "--token", "t0ken-" + uuid.uuid4().hex[:8])
        try:
            assert "?token=" in guarded_page, guarded_page
            d.get(guarded_page.split("?")[0] + "api/v1/summary")
            assert "token is required" in d.page_source, "the API refuses a request without the token"
            d.get_log("browser")  # that 401 was the point; only what follows counts
            d.delete_all_cookies()
            d.get(guarded_page)
            wait_for("the live stream with a token", lambda: text(d, "#conn") == "live")
            wait_for("the agents with a token", lambda: d.find_elements(By.CSS_SELECTOR, "#agents tbody tr[data-agent]"))
            wait_for("five charts with a token", lambda: len(d.find_elements(By.CSS_SELECTOR, ".chart-box svg.chart")) == 5)
            errors = console_errors(d)
            assert not errors, f"console errors with a token: {errors}"
        finally:
            guarded.terminate()
            guarded.wait(timeout=10)
    finally:
        if d is not None:
            d.quit()
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(env.dir, ignore_errors=True)
        for profile in PROFILES:
            shutil.rmtree(profile, ignore_errors=True)
    print("browser: ok")


def measure(env, d, page, session, lead):
    """Printed figures, not pass/fail: first paint, time to data, hook-to-page lag."""
    # A fresh load: first contentful paint, and when the agent table first had rows.
    d.get("about:blank")
    d.get(page)
    wait_for("the agent table", lambda: d.find_elements(By.CSS_SELECTOR, "#agents tbody tr[data-agent]"))
    fcp, data = d.execute_script(
        "const p = performance.getEntriesByName('first-contentful-paint')[0];"
        "const m = performance.getEntriesByName('dashboard-data')[0];"
        "return [p ? p.startTime : null, m ? m.startTime : null];")
    wait_for("the live stream", lambda: text(d, "#conn") == "live")
    # When each running-agent row first appeared (wall clock), seen by a MutationObserver.
    d.execute_script("""
        window.__seen = {};
        const tb = document.querySelector('#running tbody');
        new MutationObserver(() => {
          for (const tr of tb.querySelectorAll('tr[data-agent-id]')) {
            const id = tr.dataset.agentId;
            if (!(id in window.__seen)) window.__seen[id] = Date.now();
          }
        }).observe(tb, {childList: true, subtree: true});
    """)
    lags = []
    for i in range(BENCH_HOOKS):
        r = Run(session, "p-live", "general-purpose", f"Bench task {i}", parent=lead.agent_id)
        r.launch(env, dt.datetime.now(dt.timezone.utc))
        before = time.time() * 1000
        r.started(env, dt.datetime.now(dt.timezone.utc))
        seen = wait_for("a bench agent", lambda: d.execute_script("return window.__seen[arguments[0]];", r.agent_id), timeout=10, step=0.01)
        lags.append(seen - before)
        r.stop(env, dt.datetime.now(dt.timezone.utc))
        time.sleep(0.3)
    print(f"browser: first contentful paint {fcp:.0f} ms, agents shown at {data:.0f} ms after navigation start"
          if fcp is not None and data is not None else f"browser: paint timings unavailable ({fcp}, {data})")
    print(f"browser: hook-to-page lag over {len(lags)} hooks: median {statistics.median(lags):.0f} ms, "
          f"p95 {pctl(lags, 0.95):.0f} ms, max {max(lags):.0f} ms "
          "(from spawning the SubagentStart hook to the agent's row in the DOM)")


if __name__ == "__main__":
    sys.exit(main())
