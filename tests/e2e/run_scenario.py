#!/usr/bin/env python3
"""Run one scenario against the real Claude Code and (optionally) record it.

    run_scenario.py SCENARIO.json [--home DIR] [--agents JSON|@FILE] [--out DIR]
                    [--no-log-hooks] [--followup PROMPT ...] [--timeout S]
                    [--claude BIN] [--keep-home] [--pre-cmd CMD] [--env K=V ...] [--json]

Starts the stand-in API (standin.py) on a free loopback port, prepares a temp
HOME (HOME/proj is git-initialised and used as the working directory),
registers a logging hook for every hook event in HOME/.claude/settings.json
(merged beside whatever is already there, e.g. hooks written by the project's
./install.sh), runs

    claude -p "SCENARIO {...}" --dangerously-skip-permissions --output-format json [--agents ...]

and then one `claude -p PROMPT --resume <session_id>` per follow-up prompt.
With --out it writes a recording like tests/fixtures/claude-code-2.1.330/*:
hooks/NNN-<Event>.json (hook stdin, in start order), transcripts/ (HOME
rewritten to /home/dev, long strings in attachment/api-request* lines cut),
result.json (+ result-2.json ... for follow-ups), scenario.json and
standin.jsonl (the stand-in's request log).

Scenario file: {"name", "description", "steps": [...], "agents": "agents.json" |
{...definitions}, "followups": ["prompt", ...], "timeout": S, "env": {KEY: VALUE},
"interactive": true, "setup": ["shell command", ...], "expect": {...}}.
setup: shell commands run one by one with HOME set to the temp HOME and HOME/proj as the working
directory, after --pre-cmd (check.py: after ./install.sh) and before the logging hooks and the first
`claude` (e.g. a config.json, or agents already running); a failing command stops the run.
env: extra environment for Claude Code (e.g. CLAUDE_CODE_PRINT_BG_WAIT_CEILING_MS); --env wins.
interactive: check.py also runs the scenario in the TUI (interactive.py), which reads
expect.interactive_hooks / expect.interactive_requests instead of hooks / requests.
An agent spec may say "killed": "system": Claude Code is expected to kill it before its
first model answer (subagent_stats.killed.system), so it is neither completed nor failed.
An agent spec may say "denied": true: a PreToolUse hook (the project's guard, set up by "setup")
is expected to deny its Agent call, so Claude Code never starts it (not spawned, no subagent).
expect: {"result": {subset of result.json}, "followup_results": [{...}, ...],
         "hooks": {"Event": exact count over all runs, ...},
         "requests": {"side": N, "errors": N}, "exit": N, "derive": true,
         "transcript_contains": ["text", ...]}
Numbers are compared with 1e-9 tolerance. "exit" is the exit status every claude run must have
(default 0; `claude -p` exits 1 when the turn ends on an API error). Unless "derive" is false,
the runner also checks what the script implies (derive(): spawned/completed/failed/killed/
max_depth/by_type/requested summed over all runs, token totals, cost at claude-opus-5-5 prices)
against Claude Code's own result. transcript_contains: each text must appear in a tool_result
of the main session's transcript (what the model received).
The logging hook ignores SIGTERM (Claude Code SIGTERMs StopFailure hooks right after starting
them in `claude -p`), so hooks.jsonl shows every hook call Claude Code started.
Exit status 0 only when every claude run exited as expected and all expectations hold.
"""

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_HOME = "/home/dev"

# Every hook event Claude Code 2.1.330 knows (from the binary), except the two
# whose hooks *replace* built-in behaviour (WorktreeCreate/WorktreeRemove). 2.1.332 adds
# PreSkillShellCommand, left out too: an odd answer there may block a skill's shell command.
HOOK_EVENTS = [
    "SessionStart", "SessionEnd", "Setup", "UserPromptSubmit", "UserPromptExpansion",
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch",
    "PermissionRequest", "PermissionDenied", "Notification",
    "SubagentStart", "SubagentStop", "Stop", "StopFailure",
    "PreCompact", "PostCompact", "PreModelSwitch", "PostModelSwitch",
    "TeammateIdle", "TaskCreated", "TaskCompleted", "Elicitation", "ElicitationResult",
    "ConfigChange", "InstructionsLoaded", "CwdChanged", "FileChanged", "DirectoryAdded",
    "MessageDisplay",
]

BASE_ENV = {
    "IS_SANDBOX": "1",
    "ANTHROPIC_API_KEY": "dummy",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
}

LOG_HOOK = r'''#!{python} -SE
# log-hook.py EVENT: append this hook's stdin as one JSON line to {log}; exit 0, print nothing.
import json, os, sys, time
t = time.time_ns()
data = sys.stdin.buffer.read().decode("utf-8", "replace")
line = json.dumps({{"start_ns": t, "event": sys.argv[1] if len(sys.argv) > 1 else "",
                   "pid": os.getpid(), "stdin": data}}) + "\n"
fd = os.open({log!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, line.encode())
os.close(fd)
'''

# Claude Code sends SIGTERM to StopFailure hooks 4-20 ms after starting them in `claude -p` (seen on
# 2.1.330 and 2.1.332; Python needs longer than that just to start), so the logging hook would miss
# most StopFailure calls. The wrapper ignores the signal before anything else and execs Python,
# which keeps the ignored disposition: the log shows every hook call Claude Code started.
LOG_HOOK_WRAPPER = r'''#!/bin/sh
trap '' TERM INT HUP
exec {python} -SE {script} "$@"
'''


# --------------------------------------------------------------------------- setup
def find_claude(explicit=None):
    if explicit:
        return explicit
    if os.environ.get("E2E_CLAUDE_BIN"):
        return os.environ["E2E_CLAUDE_BIN"]
    r = subprocess.run(["bash", os.path.join(HERE, "claude.sh")], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        sys.exit("run_scenario: could not install Claude Code (claude.sh exit %d)" % r.returncode)
    return r.stdout.strip().splitlines()[-1]


def prepare_home(home):
    proj = os.path.join(home, "proj")
    os.makedirs(proj, exist_ok=True)
    if not os.path.isdir(os.path.join(proj, ".git")):
        subprocess.run(["git", "init", "-q", "-b", "master", proj], check=True,
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home})
    return proj


def install_log_hook(home):
    """Write HOME/bin/log-hook (a wrapper that ignores SIGTERM, then runs log-hook.py); return
    (command prefix, log path)."""
    bindir = os.path.join(home, "bin")
    os.makedirs(bindir, exist_ok=True)
    os.makedirs(os.path.join(home, ".e2e"), exist_ok=True)
    log = os.path.join(home, ".e2e", "hooks.jsonl")
    script = os.path.join(bindir, "log-hook.py")
    with open(script, "w") as f:
        f.write(LOG_HOOK.format(python=sys.executable, log=log))
    path = os.path.join(bindir, "log-hook")
    with open(path, "w") as f:
        f.write(LOG_HOOK_WRAPPER.format(python=shlex.quote(sys.executable), script=shlex.quote(script)))
    os.chmod(script, 0o755)
    os.chmod(path, 0o755)
    return path, log


def merge_log_hooks(home, command_prefix, events=HOOK_EVENTS):
    """Add one logging hook per event to HOME/.claude/settings.json, keeping every
    existing key and hook (idempotent: an entry with the same command is not re-added)."""
    cdir = os.path.join(home, ".claude")
    os.makedirs(cdir, exist_ok=True)
    path = os.path.join(cdir, "settings.json")
    settings = {}
    if os.path.exists(path):
        with open(path) as f:
            text = f.read().strip()
        settings = json.loads(text) if text else {}
    hooks = settings.setdefault("hooks", {})
    for ev in events:
        # The shell Claude Code runs the command with ignores SIGTERM first thing (see LOG_HOOK_WRAPPER).
        cmd = "trap '' TERM INT HUP; exec %s %s" % (command_prefix, ev)
        entries = hooks.setdefault(ev, [])
        if any(h.get("command") == cmd for e in entries for h in e.get("hooks", [])):
            continue
        entries.append({"matcher": "*", "hooks": [{"type": "command", "command": cmd, "timeout": 30}]})
    tmp = path + ".e2e-tmp"
    with open(tmp, "w") as f:
        json.dump(settings, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path


class Standin:
    def __init__(self, workdir):
        self.port_file = os.path.join(workdir, "standin.port")
        self.log = os.path.join(workdir, "standin.jsonl")
        self.err_path = os.path.join(workdir, "standin.stderr")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "standin.py"), "--port", "0",
             "--port-file", self.port_file, "--log", self.log],
            stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + 10
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("stand-in did not start: " + open(self.err_path).read())
            time.sleep(0.02)
        self.port = int(open(self.port_file).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.err.close()

    def requests(self):
        if not os.path.exists(self.log):
            return []
        return [json.loads(l) for l in open(self.log) if l.strip()]


def claude_env(home, port, overrides=None):
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
           "LANG": os.environ.get("LANG", "C.UTF-8"), "TERM": "dumb", "SHELL": "/bin/bash",
           "HOME": home, "ANTHROPIC_BASE_URL": "http://127.0.0.1:%d" % port}
    env.update(BASE_ENV)
    for kv in overrides or []:  # "KEY=VALUE" sets, "KEY=" removes
        k, _, v = kv.partition("=")
        if v:
            env[k] = v
        else:
            env.pop(k, None)
    return env


def run_claude(claude, args, env, cwd, timeout):
    t0 = time.time()
    p = subprocess.Popen([claude] + args, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        rc = "timeout"
    return {"rc": rc, "stdout": out, "stderr": err, "secs": round(time.time() - t0, 2)}


def parse_result(stdout):
    s = stdout.strip()
    try:
        return json.loads(s)
    except ValueError:
        pass
    objs = []
    for line in s.splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError:
            pass
    results = [o for o in objs if isinstance(o, dict) and o.get("type") == "result"]
    return results[-1] if results else None


# --------------------------------------------------------------------------- recording
def rewriter(home):
    enc = re.sub(r"[^A-Za-z0-9]", "-", home)
    fake_enc = re.sub(r"[^A-Za-z0-9]", "-", FAKE_HOME)

    def rw(text):
        return text.replace(home, FAKE_HOME).replace(enc, fake_enc)
    return rw


def elide(x, limit=240, keep=80):
    if isinstance(x, str):
        return x[:keep] + " <elided>" if len(x) > limit else x
    if isinstance(x, list):
        return [elide(v, limit, keep) for v in x]
    if isinstance(x, dict):
        return {k: elide(v, limit, keep) for k, v in x.items()}
    return x


def shrink_transcript_line(line):
    try:
        d = json.loads(line)
    except ValueError:
        return line
    t = d.get("type", "") if isinstance(d, dict) else ""
    if t == "attachment" or t.startswith("api-request"):
        return json.dumps(elide(d), ensure_ascii=False, separators=(",", ":"))
    return line


def read_hooks(log):
    if not os.path.exists(log):
        return []
    with open(log, encoding="utf-8") as f:
        recs = [json.loads(l) for l in f if l.strip()]
    recs.sort(key=lambda r: r["start_ns"])
    return recs


def write_recording(out, home, scenario, results, hooks, standin_reqs):
    rw = rewriter(home)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "hooks"))
    for i, h in enumerate(hooks, 1):
        with open(os.path.join(out, "hooks", "%03d-%s.json" % (i, h["event"] or "unknown")), "w", encoding="utf-8") as f:
            f.write(rw(h["stdin"]))
    for i, r in enumerate(results):
        name = "result.json" if i == 0 else "result-%d.json" % (i + 1)
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(rw(r["stdout"].strip()) + "\n")
    with open(os.path.join(out, "scenario.json"), "w") as f:
        json.dump(scenario, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "standin.jsonl"), "w") as f:
        for r in standin_reqs:
            f.write(rw(json.dumps(r)) + "\n")
    projects = os.path.join(home, ".claude", "projects")
    dirs = sorted(os.listdir(projects)) if os.path.isdir(projects) else []
    tdir = os.path.join(out, "transcripts")
    for d in dirs:
        src = os.path.join(projects, d)
        dst = tdir if len(dirs) == 1 else os.path.join(tdir, rw(d))
        for root, _, files in os.walk(src):
            for fn in files:
                rel = os.path.relpath(os.path.join(root, fn), src)
                target = os.path.join(dst, rw(rel))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(os.path.join(root, fn), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                text = rw(text)  # before cutting, so that no half-rewritten path survives
                if fn.endswith(".jsonl"):
                    text = "".join(shrink_transcript_line(l) + "\n" for l in text.split("\n") if l.strip())
                with open(target, "w", encoding="utf-8") as f:
                    f.write(text)


# --------------------------------------------------------------------------- derive
# Prices Claude Code 2.1.330 itself uses for the default model (USD per token), solved from its
# own total_cost_usd (see README): input 4, output 20, cache write 5, cache read 0.2 per million.
OPUS_5_5 = {"in": 4e-6, "out": 20e-6, "cache_write": 5e-6, "cache_read": 0.2e-6}
DEFAULT_USAGE = {"in": 100, "out": 20, "cache_read": 0, "cache_write": 0}


def _child_steps(agent):
    if "steps" in agent:
        return agent["steps"]
    p = agent.get("prompt")
    if isinstance(p, dict):
        return p.get("steps", [])
    if isinstance(p, str) and "SCENARIO" in p:
        try:
            return json.JSONDecoder().raw_decode(p, p.index("SCENARIO") + len("SCENARIO "))[0]["steps"]
        except (ValueError, KeyError):
            pass
    return [{"text": "done"}]


def agent_killed(agent):
    """An agent the scenario expects Claude Code to kill before its first model call is answered
    (`"killed": "system"`: a background agent still running when `claude -p` stops waiting for it,
    see CLAUDE_CODE_PRINT_BG_WAIT_CEILING_MS in the README). It costs nothing and is neither
    completed nor failed; subagent_stats.killed[<that key>] counts it."""
    return agent.get("killed")


def derive(scenario):
    """What the script should make Claude Code report, assuming every step gets used:
    subagent_stats (spawned, completed, failed, killed, max_depth, by_type, requested), token totals
    per model alias, and total cost when every call runs on the default model."""
    d = {"spawned": 0, "completed": 0, "failed": 0, "killed": 0, "max_depth": 0, "by_type": {},
         "requested": {"background": 0, "foreground": 0, "unset": 0}}
    tokens = {}
    models = set()

    def add(model, usage):
        u = dict(DEFAULT_USAGE)
        u.update(usage or {})
        t = tokens.setdefault(model, {"calls": 0, "in": 0, "out": 0, "cache_read": 0, "cache_write": 0})
        t["calls"] += 1
        for k in ("in", "out", "cache_read", "cache_write"):
            t[k] += int(u.get(k, 0))

    def walk(steps, depth, model):
        """Return True when the conversation ends normally, False when an API error kills it."""
        last_had_tools = False
        for step in steps:
            if step.get("error") and step.get("error_times") is None:
                return False
            add(model, step.get("usage"))
            for a in step.get("agents") or []:
                if a.get("denied"):  # a PreToolUse hook denies the call: nothing is started
                    continue
                d["spawned"] += 1
                d["by_type"][a.get("type", "general-purpose")] = d["by_type"].get(a.get("type", "general-purpose"), 0) + 1
                d["max_depth"] = max(d["max_depth"], depth + 1)
                key = "unset" if "background" not in a else ("background" if a["background"] else "foreground")
                d["requested"][key] += 1
                child_model = a.get("model", model)
                models.add(child_model)
                if agent_killed(a):
                    d["killed"] += 1
                elif walk(_child_steps(a), depth + 1, child_model):
                    d["completed"] += 1
                else:
                    d["failed"] += 1
            last_had_tools = bool(step.get("agents") or step.get("bash") or step.get("tools"))
        if last_had_tools:  # steps ran out mid-task: the stand-in answers "done"
            add(model, None)
        return True

    walk(scenario["steps"], 0, "default")
    out = {"subagent_stats": d, "tokens": tokens}
    if models <= {"default"}:
        t = tokens["default"]
        out["total_cost_usd"] = round(sum(t[k] * OPUS_5_5[k] for k in OPUS_5_5), 10)
    return out


# --------------------------------------------------------------------------- checks
def subset_mismatches(want, got, path="result"):
    out = []
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return ["%s: want object, got %r" % (path, got)]
        for k, v in want.items():
            out += subset_mismatches(v, got.get(k), "%s.%s" % (path, k))
    elif isinstance(want, (int, float)) and not isinstance(want, bool):
        if not isinstance(got, (int, float)) or abs(got - want) > 1e-9 + 1e-9 * abs(want):
            out.append("%s: want %r, got %r" % (path, want, got))
    elif want != got:
        out.append("%s: want %r, got %r" % (path, want, got))
    return out


def killed_total(killed):
    """subagent_stats.killed is an object {parent, user, system} in 2.1.330 and 2.1.332; a plain
    number is accepted as well."""
    if isinstance(killed, dict):
        return sum(v for v in killed.values() if isinstance(v, (int, float)))
    return killed if isinstance(killed, (int, float)) else 0


def aggregate_stats(results):
    """subagent_stats summed over the runs of one session (each claude process reports its own).
    `killed` is the total over its reasons; `killed_by` keeps the reasons when Claude Code gives them."""
    agg = {"spawned": 0, "completed": 0, "failed": 0, "killed": 0, "killed_by": {}, "max_depth": 0,
           "by_type": {}, "requested": {"background": 0, "foreground": 0, "unset": 0}}
    for r in results:
        st = (r or {}).get("subagent_stats") or {}
        for k in ("spawned", "completed", "failed"):
            agg[k] += st.get(k, 0)
        agg["killed"] += killed_total(st.get("killed"))
        if isinstance(st.get("killed"), dict):
            for k, n in st["killed"].items():
                agg["killed_by"][k] = agg["killed_by"].get(k, 0) + n
        agg["max_depth"] = max(agg["max_depth"], st.get("max_depth", 0))
        for t, n in (st.get("by_type") or {}).items():
            agg["by_type"][t] = agg["by_type"].get(t, 0) + n
        for k, n in (st.get("requested") or {}).items():
            agg["requested"][k] = agg["requested"].get(k, 0) + n
    return agg


def check_derived(derived, results):
    """Compare what the script implies with what Claude Code reported. total_cost_usd and
    modelUsage are cumulative over --resume runs, so the last result is used for them."""
    problems = subset_mismatches(derived["subagent_stats"], aggregate_stats(results), "derived.subagent_stats")
    last = results[-1]
    if "total_cost_usd" in derived:
        problems += subset_mismatches(derived["total_cost_usd"], last.get("total_cost_usd"), "derived.total_cost_usd")
    mu = last.get("modelUsage") or {}
    for key, field in (("in", "inputTokens"), ("out", "outputTokens"),
                       ("cache_read", "cacheReadInputTokens"), ("cache_write", "cacheCreationInputTokens")):
        want = sum(t[key] for t in derived["tokens"].values())
        got = sum(m.get(field, 0) for m in mu.values())
        if want != got:
            problems.append("derived.modelUsage.%s (all models): want %d, got %d" % (field, want, got))
    return problems


def check(scenario, runs, hooks, reqs):
    exp = scenario.get("expect") or {}
    problems = []
    want_rc = exp.get("exit", 0)  # `claude -p` exits 1 when the turn ended on an API error
    for i, r in enumerate(runs):
        if r["rc"] != want_rc:
            problems.append("run %d: claude exit %s (want %s); stderr: %s" % (i + 1, r["rc"], want_rc, r["stderr"][-500:]))
        if r["result"] is None:
            problems.append("run %d: stdout is not a result JSON: %r" % (i + 1, r["stdout"][:300]))
    if runs and runs[0]["result"] is not None and "result" in exp:
        problems += subset_mismatches(exp["result"], runs[0]["result"])
    for i, want in enumerate(exp.get("followup_results") or []):
        if i + 1 < len(runs) and runs[i + 1]["result"] is not None:
            problems += subset_mismatches(want, runs[i + 1]["result"], "result-%d" % (i + 2))
        else:
            problems.append("follow-up %d did not run" % (i + 1))
    counts = {}
    for h in hooks:
        counts[h["event"]] = counts.get(h["event"], 0) + 1
    for ev, n in (exp.get("hooks") or {}).items():
        if counts.get(ev, 0) != n:
            problems.append("hooks.%s: want %d, got %d" % (ev, n, counts.get(ev, 0)))
    if exp.get("derive", True) and all(r["result"] for r in runs) and runs:
        problems += check_derived(derive(scenario), [r["result"] for r in runs])
    side = sum(1 for r in reqs if r.get("kind") == "messages" and not r.get("scenario"))
    errs = sum(1 for r in reqs if r.get("kind") == "messages" and r.get("status", 200) != 200)
    rq = exp.get("requests") or {}
    if "side" in rq and side != rq["side"]:
        problems.append("requests.side: want %d, got %d" % (rq["side"], side))
    if "errors" in rq and errs != rq["errors"]:
        problems.append("requests.errors: want %d, got %d" % (rq["errors"], errs))
    return problems, counts


def tool_result_texts(path):
    """The text of every tool_result in a transcript file (what the model was given back)."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            try:
                msg = (json.loads(line).get("message") or {})
            except ValueError:
                continue
            content = msg.get("content") if isinstance(msg, dict) else None
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    c = block.get("content")
                    out.append(c if isinstance(c, str) else json.dumps(c))
    return out


def check_transcript_text(scenario, home, runs):
    """expect.transcript_contains: each text in a tool_result of the main session's transcript."""
    want = (scenario.get("expect") or {}).get("transcript_contains") or []
    if not want:
        return []
    sids = {(r["result"] or {}).get("session_id") for r in runs if r.get("result")}
    paths = [p for sid in sids if sid
             for p in glob.glob(os.path.join(home, ".claude", "projects", "*", sid + ".jsonl"))]
    if not paths:
        return ["transcript_contains: no main session transcript found for %s" % sorted(s for s in sids if s)]
    texts = [t for p in paths for t in tool_result_texts(p)]
    return ["transcript_contains: %r is in no tool_result of %s (tool results: %s)"
            % (w, [os.path.basename(p) for p in paths], [elide(t, 200, 80) for t in texts])
            for w in want if not any(w in t for t in texts)]


# --------------------------------------------------------------------------- main
def load_agents(spec):
    if spec is None:
        return None
    if isinstance(spec, dict):
        return spec
    if spec.startswith("@"):
        spec = spec[1:]
    elif spec.lstrip().startswith("{"):
        return json.loads(spec)
    path = spec if os.path.isabs(spec) else os.path.join(HERE, spec)
    with open(path) as f:
        return json.load(f)


def run(scenario_path, home=None, agents=None, out=None, log_hooks=True, followups=None,
        timeout=None, claude=None, keep_home=False, pre_cmd=None, quiet=False, env_overrides=None,
        post_check=None, before_claude=None):
    """Run one scenario; return a summary dict (see keys below). post_check(scenario=, home=, proj=,
    runs=, hooks=, reqs=) -> (problems, info) runs after the built-in checks, before HOME is removed.
    before_claude(home=, proj=) runs after --pre-cmd and the logging hooks, just before the first
    `claude` starts (check.py: start `analyze serve` and subscribe to its stream); it may return a
    function, called once everything else is done (also when a run or a check failed)."""
    with open(scenario_path) as f:
        scenario = json.load(f)
    name = scenario.get("name") or os.path.splitext(os.path.basename(scenario_path))[0]
    claude = find_claude(claude)
    own_home = home is None
    home = os.path.abspath(home or tempfile.mkdtemp(prefix="e2e-%s-" % name))
    work = tempfile.mkdtemp(prefix="e2e-standin-")
    proj = prepare_home(home)
    hook_log = os.path.join(home, ".e2e", "hooks.jsonl")
    if os.path.exists(hook_log):  # a reused HOME: start this run's hook log afresh
        os.replace(hook_log, hook_log + ".previous")
    pre_output = None
    if pre_cmd:  # e.g. the project's ./install.sh against this HOME, before our hooks are merged in
        p = subprocess.run(pre_cmd, shell=True, env=dict(os.environ, HOME=home), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        pre_output = p.stdout
        if p.returncode != 0:
            if own_home and not keep_home:
                shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError("--pre-cmd %r exited %d:\n%s" % (pre_cmd, p.returncode, p.stdout[-3000:]))
        if not quiet and pre_output:
            sys.stderr.write(pre_output)
    for cmd in scenario.get("setup") or []:  # the scenario's own set-up, after the install
        p = subprocess.run(cmd, shell=True, env=dict(os.environ, HOME=home), cwd=proj, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        if p.returncode != 0:
            if own_home and not keep_home:
                shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError("setup %r exited %d:\n%s" % (cmd, p.returncode, p.stdout[-3000:]))
    if log_hooks:
        cmd, hook_log = install_log_hook(home)
        merge_log_hooks(home, cmd)

    # The scenario's own environment for Claude Code ("env": {KEY: VALUE}); the caller's overrides win.
    env_overrides = ["%s=%s" % kv for kv in (scenario.get("env") or {}).items()] + list(env_overrides or [])
    agents = load_agents(agents if agents is not None else scenario.get("agents"))
    followups = followups if followups is not None else scenario.get("followups", [])
    timeout = timeout or scenario.get("timeout", 120)
    prompt = "SCENARIO " + json.dumps({"steps": scenario["steps"]})
    common = ["--dangerously-skip-permissions", "--output-format", "json"]
    if agents:
        common += ["--agents", json.dumps(agents)]

    t0 = time.time()
    cleanup = before_claude(home=home, proj=proj) if before_claude else None
    try:
        return _run_claude_and_check(scenario, name, claude, home, own_home, work, proj, hook_log, pre_output,
                                     env_overrides, agents, followups, timeout, prompt, common, t0, out, keep_home,
                                     quiet, post_check)
    finally:
        if cleanup:
            cleanup()


def _run_claude_and_check(scenario, name, claude, home, own_home, work, proj, hook_log, pre_output,
                          env_overrides, agents, followups, timeout, prompt, common, t0, out, keep_home,
                          quiet, post_check):
    standin = Standin(work)
    runs = []
    try:
        env = claude_env(home, standin.port, env_overrides)
        r = run_claude(claude, ["-p", prompt] + common, env, proj, timeout)
        r["result"] = parse_result(r["stdout"])
        runs.append(r)
        sid = (r["result"] or {}).get("session_id")
        for fp in followups:
            if not sid:
                break
            r = run_claude(claude, ["-p", fp, "--resume", sid] + common, env, proj, timeout)
            r["result"] = parse_result(r["stdout"])
            runs.append(r)
    finally:
        standin.stop()
    secs = round(time.time() - t0, 2)
    reqs = standin.requests()
    hooks = read_hooks(hook_log)
    problems, counts = check(scenario, runs, hooks, reqs)
    problems += check_transcript_text(scenario, home, runs)
    extra = {}
    if post_check:  # more checks against the HOME before it is removed (check.py: the telemetry)
        try:
            more, extra = post_check(scenario=scenario, home=home, proj=proj, runs=runs, hooks=hooks, reqs=reqs)
        except Exception as e:  # report, never hide
            import traceback
            more = ["post-check crashed: %r\n%s" % (e, traceback.format_exc())]
        problems += more
    if out:
        write_recording(out, home, scenario, runs, hooks, reqs)
    unknown = [l for l in open(standin.err_path) if l.strip()]
    summary = {
        "name": name, "ok": not problems, "problems": problems, "secs": secs,
        "runs": [{k: v for k, v in r.items() if k in ("rc", "secs")} for r in runs],
        "results": [r["result"] for r in runs],
        "hook_counts": counts, "requests": len(reqs), "standin_stderr": unknown,
        "home": home if keep_home or not own_home else None,
        "pre_cmd_output": pre_output, "extra": extra,
    }
    if not quiet:
        for r in runs:
            if r["rc"] != 0:
                sys.stderr.write(r["stderr"][-2000:])
    shutil.rmtree(work, ignore_errors=True)
    # Claude Code keeps per-cwd scratch files under /tmp/claude-<uid>/<encoded cwd>: ours only.
    scratch = os.path.join(tempfile.gettempdir(), "claude-%d" % os.getuid(), re.sub(r"[^A-Za-z0-9]", "-", proj))
    if own_home and not keep_home:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return summary


def describe(s):
    res = s["results"][0] if s["results"] and isinstance(s["results"][0], dict) else {}
    st = res.get("subagent_stats") or {}
    if not res:  # interactive runs (and crashed ones) have no result JSON
        line = "%-4s %-24s %5.1fs (no result JSON)" % ("ok" if s["ok"] else "FAIL", s["name"], s["secs"])
        for p in s["problems"]:
            line += "\n       - " + p
        for u in s.get("standin_stderr") or []:
            line += "\n       " + u.strip()
        return line
    line = "%-4s %-24s %5.1fs cost=%s spawned=%s completed=%s failed=%s killed=%s max_depth=%s by_type=%s" % (
        "ok" if s["ok"] else "FAIL", s["name"], s["secs"], res.get("total_cost_usd"), st.get("spawned"),
        st.get("completed"), st.get("failed"), killed_total(st.get("killed")) if st else None, st.get("max_depth"),
        json.dumps(st.get("by_type")))
    for p in s["problems"]:
        line += "\n       - " + p
    for u in s["standin_stderr"]:
        line += "\n       " + u.strip()
    return line


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario")
    ap.add_argument("--home", help="HOME for Claude Code (default: a fresh temp dir, removed afterwards)")
    ap.add_argument("--agents", help="custom agent definitions: JSON, @file or a file name in tests/e2e")
    ap.add_argument("--out", help="write a recording into this directory")
    ap.add_argument("--no-log-hooks", action="store_true", help="do not register the logging hooks")
    ap.add_argument("--followup", action="append", help="follow-up prompt (--resume); repeatable")
    ap.add_argument("--timeout", type=float, help="seconds per claude run (default: scenario's or 120)")
    ap.add_argument("--claude", help="Claude Code binary (default: $E2E_CLAUDE_BIN or claude.sh)")
    ap.add_argument("--keep-home", action="store_true")
    ap.add_argument("--pre-cmd", help="shell command run with HOME set before claude starts (e.g. ./install.sh)")
    ap.add_argument("--env", action="append", help="KEY=VALUE for Claude Code's environment (KEY= removes); repeatable")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    a = ap.parse_args()
    s = run(a.scenario, home=a.home, agents=a.agents, out=a.out, log_hooks=not a.no_log_hooks,
            followups=a.followup, timeout=a.timeout, claude=a.claude, keep_home=a.keep_home,
            pre_cmd=a.pre_cmd, env_overrides=a.env)
    print(json.dumps(s, indent=1) if a.json else describe(s))
    if s["home"]:
        print("HOME kept at", s["home"], file=sys.stderr if a.json else sys.stdout)
    sys.exit(0 if s["ok"] else 1)


if __name__ == "__main__":
    main()
