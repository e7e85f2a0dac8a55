#!/usr/bin/env python3
"""Prove agent-telemetry against the real Claude Code: install the project into a temp HOME, run
every scenario with `claude -p` (on every Claude Code version given), and check what our hooks
recorded against Claude Code's own figures.

    check.py --bin-source DIR [-j N] [--claude BIN ...] [--summary FILE] [--keep-failed]
             [--no-interactive] [-v] [NAME ...]

For each Claude Code binary (--claude, repeatable; default: claude.sh's) and each scenario
(tests/e2e/scenarios/*.json), in a fresh temp HOME:
  1. ./install.sh --prefix HOME/.local --no-build with AGENT_TELEMETRY_BIN_SOURCE=DIR (copies the
     binaries, registers the hooks in HOME/.claude/settings.json, creates the database);
  2. run_scenario.run(): stand-in API, logging hooks merged beside ours, `claude -p ... --output-format
     json` (+ --resume follow-ups), and the runner's own checks of Claude Code's behaviour;
  3. the checks below (telemetry_checks), against the database in HOME/.local/share/agent-telemetry/.
Scenarios with "interactive": true run a second time in the TUI through interactive.run() (when
tests/e2e/interactive.py is there), with the same checks in mode "interactive": no result JSON
there, so the agent counts come from the script (run_scenario.derive()) and the cost and per-agent
tokens from what the stand-in answered. All runs share one pool of -j N workers. Each line names
the version: "ok   [2.1.332] foreground-agent ...", "FAIL [2.1.330 interactive] ...".

Checks (each failure is one line naming the scenario, the figure, Claude Code's value and ours):
  sessions   `analyze sessions --format json`: one session, whose agents, agents_by_type,
             agents_completed, agents_failed, agents_cancelled and max_depth equal Claude Code's
             subagent_stats spawned, by_type, completed, failed, killed (parent+user+system; a plain
             number also accepted) and max_depth (summed over the --resume runs); total_cost_usd
             equals the last result's total_cost_usd within 1e-5 (cumulative over resumes); tokens
             per model equal modelUsage, cost per model costUSD.
  tree       `analyze tree --format json`, turn by turn: the list of prompt turns (the SCENARIO
             prompt and each follow-up; background completions belong to the turn that launched
             them and never show as a turn of their own; no extra turn, none missing); each turn's
             status (failure when it ended on an API error or an agent failed or was lost, else
             success), error (the API error text exactly when it ended with StopFailure) and
             duration_ms (set, and at least its longest top-level agent's); its delegation forest
             (type, description, status, tokens per agent) as the scenario scripts it; every agent's
             id and parent equal Claude Code's own transcript sidecars (agent-<id>.meta.json).
  workflows  `analyze workflows --session S --format json`: one workflow per prompt turn of the tree,
             with the same status and duration_ms, and no other.
  hooks      our hooks ran for every event they are registered for (logging hook vs events table);
             no hook error or hook output in any transcript (stop_hook_summary.hookErrors, hook_*
             attachments, hook system lines); nothing about our binaries on claude's stderr;
             hook.log absent or empty; quarantine, spool and fallback spool empty (sqlite and
             `analyze doctor --format json`); replaying every payload Claude Code sent into a scratch
             database exits 0 with empty stdout and stderr.
  serve      (`claude -p` runs) `analyze serve --port 0`, started on the scenario's database before
             Claude Code, with one /api/v1/stream subscriber: one agent_started per run of the tree and
             one agent_finished per ended run, with its agent_id, type and final status, start before
             finish; one turn_started per prompt turn, then turn_ended (again only on a change; the
             last one as the tree says); /api/v1/summary and /api/v1/tree?session=S
             byte for byte the CLI's JSON (404 nothing_found where the CLI exits 1); metrics/current:
             active_agents 0, executions_today = runs in the tree = subagent_stats.spawned (each on top of what a scenario's "setup" left). The lag
             (arrival - the hook's append, events.recorded_at) is printed as figures after the runs.
  expect     a scenario's "expect": {"analyze": [{"args", "exit", "contains", "absent"}]}: each
             `analyze ARGS` exits as said and its output contains (lacks) each text (the guard's).
Exit status 0 only if every run passed. With --summary FILE, writes {"passed": N, "failed": M,
"failed_names": [...], "secs": S, "versions": {version: {"passed", "failed"}}}.
"""

import argparse
import concurrent.futures
import difflib
import glob
import http.client
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run_scenario as rs  # noqa: E402

HOOK_BINARIES = ("subagent-start", "subagent-stop", "workflow-event")
ALL_BINARIES = HOOK_BINARIES + ("analyze", "query-best-agent")
# Agent types Claude Code 2.1.330 has without --agents; any other undefined type is refused
# (PreToolUse + PostToolUseFailure, no subagent: the unknown-agent-type scenario).
BUILTIN_TYPES = {"general-purpose", "Explore", "Plan", "statusline-setup", "output-style-setup",
                 "claude-code-guide"}
COST_TOLERANCE = 1e-5
# Variables that would point the project (or Claude Code) outside the temp HOME.
SCRUB_ENV = ("AGENT_TELEMETRY_DB", "AGENT_TELEMETRY_DISABLED", "XDG_DATA_HOME", "XDG_CONFIG_HOME",
             "CLAUDE_CONFIG_DIR", "CARGO_HOME")


# --------------------------------------------------------------------------- what the script implies
def usage_tokens(usage):
    u = dict(rs.DEFAULT_USAGE)
    u.update(usage or {})
    return sum(int(u.get(k, 0)) for k in ("in", "out", "cache_read", "cache_write"))


def expected_forest(steps, defined):
    """Walk one conversation's steps like the stand-in answers them. Returns (ended_normally,
    own tokens, [agent nodes]) — the same rules as run_scenario.derive()."""
    tokens, nodes, last_had_tools = 0, [], False
    for step in steps:
        if step.get("error") and step.get("error_times") is None:
            return False, tokens, nodes  # this call fails for good: the agent dies here
        tokens += usage_tokens(step.get("usage"))
        for a in step.get("agents") or []:
            atype = a.get("type", "general-purpose")
            if atype not in defined or a.get("denied"):
                continue  # Claude Code refuses the Agent call, or a hook denies it: no subagent
            if rs.agent_killed(a):  # killed before its first answer: no tokens, nothing delegated
                nodes.append({"agent_type": atype, "description": a.get("description"),
                              "status": "cancelled", "tokens": 0, "children": []})
                continue
            ok, t, kids = expected_forest(rs._child_steps(a), defined)
            nodes.append({"agent_type": atype, "description": a.get("description"),
                          "status": "success" if ok else "failure", "tokens": t, "children": kids})
        last_had_tools = bool(step.get("agents") or step.get("bash") or step.get("tools"))
    if last_had_tools:  # steps ran out mid-task: the stand-in answers "done" (default usage)
        tokens += usage_tokens(None)
    return True, tokens, nodes


def forest_statuses(nodes):
    out = []
    for n in nodes:
        out.append(n["status"])
        out += forest_statuses(n["children"])
    return out


def runs_in_background(agent):
    """Whether the main conversation goes on without waiting: run_in_background true, or left unset
    (background by default since 2.1.198)."""
    return agent.get("background", True) is not False


def expected_turns(scenario, mode="p"):
    """The prompt turns the script implies, in order: [{kind, prompt, first, nodes, status, error}].

    The main conversation's steps are cut into segments: a step with no tool call ends one, and so
    does a step answered with an API error for good (the conversation ends there: StopFailure).
    The first segment is the SCENARIO prompt's turn, one more per follow-up (`--resume`). A segment
    left over after a turn that launched background agents is a background completion answered
    after that turn's Stop: a <task-notification> prompt with a NEW prompt_id (kind "notification",
    a turn of its own only in the tree when it delegated, which no scenario does). A background
    agent that finishes while its turn still runs gets no segment: its notification rides on the
    turn's next model call with the turn's own prompt_id. Either way every agent belongs to the turn
    whose prompt launched it. A turn fails when it ended on an API error or any of its agents (at any
    depth) failed or was lost; cancelled agents do not fail it."""
    defined = set(rs.load_agents(scenario.get("agents")) or {}) | BUILTIN_TYPES
    segments, cur = [], []
    for step in scenario["steps"]:
        if step.get("error") and step.get("error_times") is None:
            segments.append((cur, True))
            cur = None
            break
        cur.append(step)
        if not (step.get("agents") or step.get("bash") or step.get("tools")):
            segments.append((cur, False))
            cur = []
    if cur:
        segments.append((cur, False))
    prompts = [None] + list(scenario.get("followups") or [])
    out, pending, pi = [], 0, 0
    for si, (steps, api_error) in enumerate(segments):
        left_segments, left_prompts = len(segments) - si, len(prompts) - pi
        notification = pi > 0 and pending > 0 and left_segments > left_prompts
        _, _, nodes = expected_forest(steps, defined)
        statuses = forest_statuses(nodes)
        turn = {"kind": "notification" if notification else "turn",
                "prompt": None if notification else prompts[pi] if pi < len(prompts) else "(extra)",
                "first": not notification and pi == 0, "nodes": nodes, "error": api_error,
                "status": "failure" if api_error or "failure" in statuses or "lost" in statuses else "success"}
        out.append(turn)
        if notification:
            pending -= 1
        else:
            pi += 1
            pending = sum(1 for s in steps for a in s.get("agents") or []
                          if runs_in_background(a) and a.get("type", "general-purpose") in defined
                          and not a.get("denied"))
    for p in prompts[pi:]:
        out.append({"kind": "turn", "prompt": p, "first": False, "nodes": [], "error": False, "status": "success"})
    return out


def render_forest(nodes, indent="  ", tokens=True):
    lines = []
    for n in sorted(nodes, key=lambda n: (n["agent_type"], n.get("description") or "")):
        lines.append("%s%s %r [%s]%s" % (indent, n["agent_type"], n.get("description"), n["status"],
                                         " tokens=%s" % n["tokens"] if tokens else ""))
        lines += render_forest(n["children"], indent + "  ", tokens)
    return lines


# --------------------------------------------------------------------------- helpers
def clean_env(home):
    env = {k: v for k, v in os.environ.items() if k not in SCRUB_ENV}
    env["HOME"] = home
    return env


def run_analyze(home, args):
    """Runs the installed analyze with the temp HOME; returns (rc, parsed JSON or None, stderr)."""
    exe = os.path.join(home, ".local", "bin", "analyze")
    p = subprocess.run([exe] + args, env=clean_env(home), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", timeout=60)
    try:
        data = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        data = None
    return p.returncode, data, p.stderr.strip()


def near(a, b, tol=COST_TOLERANCE):
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= tol


def matcher_matches(matcher, event, payload):
    if matcher in (None, "", "*"):
        return True
    field = {"PreToolUse": "tool_name", "PostToolUse": "tool_name", "PostToolUseFailure": "tool_name",
             "SubagentStart": "agent_type", "SubagentStop": "agent_type", "SessionStart": "source",
             "SessionEnd": "reason"}.get(event)
    if field is None:
        return True
    return re.fullmatch(matcher, str(payload.get(field, ""))) is not None


# The prefix a scenario's set-up puts before one of our hook commands to kill its shell with SIGTERM
# before our binary starts, as `claude -p` does to StopFailure hooks on a loaded machine.
KILLED_HOOK = "kill -TERM $$; exec "


def our_hooks(home):
    """[(event, matcher, command, killed)] of our binaries registered in HOME/.claude/settings.json
    (killed: the scenario made it die before it starts, KILLED_HOOK)."""
    bindir = os.path.join(home, ".local", "bin")
    with open(os.path.join(home, ".claude", "settings.json")) as f:
        settings = json.load(f)
    out = []
    for ev, entries in (settings.get("hooks") or {}).items():
        for e in entries:
            for h in e.get("hooks", []):
                cmd = h.get("command", "")
                # A scenario that kills our hook before it starts (turn-api-error-hook-killed):
                # still ours, and replayed without the kill.
                killed = cmd.startswith(KILLED_HOOK)
                cmd = cmd[len(KILLED_HOOK):] if killed else cmd
                if os.path.dirname(cmd.split()[0] if cmd.split() else "") == bindir:
                    out.append((ev, e.get("matcher"), cmd, killed))
    return out


def transcripts(home):
    root = os.path.join(home, ".claude", "projects")
    return sorted(glob.glob(os.path.join(root, "**", "*.jsonl"), recursive=True))


def sidecars(home):
    """agent id -> its agent-<id>.meta.json (Claude Code's own record of type, parent, depth)."""
    out = {}
    root = os.path.join(home, ".claude", "projects")
    for p in glob.glob(os.path.join(root, "**", "agent-*.meta.json"), recursive=True):
        aid = os.path.basename(p)[len("agent-"):-len(".meta.json")]
        with open(p) as f:
            out[aid] = json.load(f)
    return out


# --------------------------------------------------------------------------- the checks
def session_ids(hooks):
    """Session ids in the order Claude Code's hooks first named them."""
    out = []
    for h in hooks:
        try:
            sid = json.loads(h["stdin"]).get("session_id")
        except (ValueError, AttributeError):
            continue
        if sid and sid not in out:
            out.append(sid)
    return out


def standin_usage(reqs):
    """What the stand-in answered (scripted requests that got a 200): tokens per x-claude-code-agent-id
    (None = the main conversation), the models asked for, and the cost at claude-opus-5-5 prices (None
    when another model or 1-hour cache writes are involved)."""
    per, models, cost = {}, set(), 0.0
    for r in reqs or []:
        if r.get("kind") != "messages" or not r.get("scenario") or r.get("status") != 200:
            continue
        u = r.get("usage") or {}
        per[r.get("agent_id")] = per.get(r.get("agent_id"), 0) + sum(int(u.get(k, 0)) for k in (
            "in", "out", "cache_read", "cache_write", "cache_write_1h"))
        models.add(r.get("model"))
        if u.get("cache_write_1h"):
            cost = None
        if cost is not None:
            cost += sum(int(u.get(k, 0)) * rs.OPUS_5_5[k] for k in rs.OPUS_5_5)
    if models - {"claude-opus-5-5"}:
        cost = None
    return {"tokens_by_agent": per, "cost": None if cost is None else round(cost, 10)}


def reference_figures(scenario, results, mode, reqs=None):
    """What analyze sessions must say, and where that comes from. `claude -p`: Claude Code's own
    result JSON (subagent_stats summed over the --resume runs, cost and modelUsage of the last run).
    Interactive mode has no result JSON: the agent counts the script implies (run_scenario.derive())
    and the cost of what the stand-in answered (the TUI runs agents in the background, and every
    background completion costs the waiting conversation one more model call the script cannot
    foresee)."""
    if mode == "p":
        cc = rs.aggregate_stats(results)
        last = results[-1]
        return {"source": "Claude Code", "stats": cc, "cost": last.get("total_cost_usd"),
                "cost_source": "Claude Code", "model_usage": last.get("modelUsage") or {}}
    d = rs.derive(scenario)
    return {"source": "the script (interactive mode: no result JSON)", "stats": d["subagent_stats"],
            "cost": standin_usage(reqs)["cost"], "cost_source": "the stand-in's answers (interactive mode)",
            "model_usage": None}


def check_sessions(name, scenario, results, sids, home, info, mode="p", reqs=None):
    problems = []
    rc, data, err = run_analyze(home, ["sessions", "--format", "json"])
    if rc != 0 or not data:
        return ["sessions: `analyze sessions --format json` exit %s, stderr: %s" % (rc, err[-400:])]
    sessions = data.get("sessions") or []
    if len(sessions) != 1 or sessions[0].get("session_id") not in sids:
        problems.append("sessions: want exactly session %s, got %s" % (sorted(sids), [s.get("session_id") for s in sessions]))
        if not sessions:
            return problems
    s = next((x for x in sessions if x.get("session_id") in sids), sessions[0])
    info["session"] = {k: s.get(k) for k in ("agents", "agents_by_type", "agents_completed", "agents_failed",
                                               "agents_cancelled", "max_depth", "total_cost_usd", "turns")}
    ref = reference_figures(scenario, results, mode, reqs)
    cc, src = ref["stats"], ref["source"]
    pairs = [("agents", s.get("agents"), "spawned", cc["spawned"]),
             ("agents_by_type", s.get("agents_by_type"), "by_type", cc["by_type"]),
             ("agents_completed", s.get("agents_completed"), "completed", cc["completed"]),
             ("agents_failed", s.get("agents_failed"), "failed", cc["failed"]),
             ("agents_cancelled", s.get("agents_cancelled"), "killed (parent+user+system)", cc["killed"]),
             ("max_depth", s.get("max_depth"), "max_depth", cc["max_depth"])]
    for ours, got, theirs, want in pairs:
        if got != want:
            problems.append("sessions.%s: %s subagent_stats.%s=%s, analyze says %s"
                            % (ours, src, theirs, json.dumps(want, sort_keys=True), json.dumps(got, sort_keys=True)))
    if ref["cost"] is not None and not near(s.get("total_cost_usd"), ref["cost"]):
        problems.append("sessions.total_cost_usd: %s total_cost_usd=%r, analyze says %r"
                        % (ref["cost_source"], ref["cost"], s.get("total_cost_usd")))
    if ref["model_usage"] is None:
        return problems
    mu = ref["model_usage"]
    ours = s.get("models") or {}
    for model in sorted(set(mu) | set(ours)):
        a, b = mu.get(model) or {}, ours.get(model) or {}
        for cf, of in (("inputTokens", "input_tokens"), ("outputTokens", "output_tokens"),
                       ("cacheReadInputTokens", "cache_read_tokens"), ("cacheCreationInputTokens", "cache_write_tokens")):
            if a.get(cf, 0) != b.get(of, 0):
                problems.append("sessions.models[%s].%s: Claude Code modelUsage.%s=%s, analyze says %s"
                                % (model, of, cf, a.get(cf, 0), b.get(of, 0)))
        if not a or not b:
            problems.append("sessions.models[%s]: %s" % (model, "analyze has no such model" if a else "Claude Code's modelUsage has no such model"))
        if not near(a.get("costUSD", 0.0), b.get("cost_usd") if b else 0.0):
            problems.append("sessions.models[%s].cost_usd: Claude Code costUSD=%r, analyze says %r"
                            % (model, a.get("costUSD"), b.get("cost_usd") if b else "(absent)"))
    return problems


def collapse(p):
    return re.sub(r"\s+", " ", p or "").strip()


def turn_label(t):
    return "turn %r" % (collapse(t.get("prompt"))[:40] if t.get("prompt") else "(%s)" % t.get("kind"))


def check_turn(label, want, got):
    """Status, error and duration of one prompt turn of `analyze tree` against the script."""
    problems = []
    if got.get("status") != want["status"]:
        why = ("it ended on an API error (StopFailure)" if want["error"] else
               "an agent failed" if want["status"] == "failure" else
               "it ended and none of its agents failed, was lost or still runs")
        problems.append("tree: %s: status %s, want %s (%s)" % (label, got.get("status"), want["status"], why))
    err = got.get("error")
    if want["error"] and not (isinstance(err, str) and err.strip()):
        problems.append("tree: %s: error %r, want the API error text (the turn ended with StopFailure)" % (label, err))
    elif not want["error"] and err:
        problems.append("tree: %s: error %r, but the turn did not end on an API error" % (label, err))
    dur = got.get("duration_ms")
    longest = max([a.get("duration_ms") for a in got.get("agents") or [] if isinstance(a.get("duration_ms"), int)] or [0])
    if dur is None:
        problems.append("tree: %s: duration_ms is null, but the turn has ended" % label)
    elif dur < longest:
        problems.append("tree: %s: duration_ms %s is shorter than its longest top-level agent (%s ms; background "
                        "agents count: the turn's work lasts until they end)" % (label, dur, longest))
    return problems


def check_tree(name, scenario, sid, home, info, mode="p", reqs=None):
    """analyze tree, turn by turn: the list of turns, each turn's status / error / duration, and its
    delegation forest, against the script; agent ids and parents against Claude Code's sidecars."""
    problems = []
    rc, data, err = run_analyze(home, ["tree", "--session", sid, "--format", "json"])
    want_turns = expected_turns(scenario, mode)
    if rc != 0 or not isinstance(data, dict) or "turns" not in data:
        return ["tree: `analyze tree --session %s --format json` exit %s, stdout not the documented shape, stderr: %s"
                % (sid, rc, err[-400:])], None
    if data.get("session") != sid:
        problems.append("tree.session: want %s, got %s" % (sid, data.get("session")))
    got_turns = data.get("turns") or []
    info["tree_turns"] = [{k: t.get(k) for k in ("kind", "status", "duration_ms", "error")} for t in got_turns]

    used = set()
    for want in want_turns:
        if want["kind"] == "notification":
            if not want["nodes"]:
                continue  # a notification turn is only drawn when it delegated
            cands = [i for i, t in enumerate(got_turns) if i not in used and t.get("kind") == "notification"]
            label = "notification turn"
        elif want["first"]:
            cands = [i for i, t in enumerate(got_turns) if i not in used and t.get("kind") == "turn"
                     and collapse(t.get("prompt")).startswith("SCENARIO")]
            label = "turn 'SCENARIO ...'"
        else:
            cands = [i for i, t in enumerate(got_turns) if i not in used and t.get("kind") == "turn"
                     and collapse(t.get("prompt")) == collapse(want["prompt"])[:80]]
            label = "turn %r" % want["prompt"][:40]
        if not cands:
            problems.append("tree: no %s (kind %s) among the turns %s; the script implies it%s"
                            % (label, want["kind"], [(t.get("kind"), collapse(t.get("prompt"))[:30]) for t in got_turns],
                               (" with:\n" + "\n".join(render_forest(want["nodes"]))) if want["nodes"] else ""))
            continue
        i = cands[0]
        used.add(i)
        got = got_turns[i]
        # Interactive mode: agents' tokens are checked against the stand-in per agent id (below).
        tok = mode == "p"
        want_r, got_r = render_forest(want["nodes"], tokens=tok), render_forest(got.get("agents") or [], tokens=tok)
        if want_r != got_r:
            diff = "\n".join(difflib.unified_diff(want_r, got_r, "scenario", "analyze tree", lineterm="", n=20))
            problems.append("tree: %s: hierarchy differs (- scenario, + analyze tree):\n%s" % (label, diff))
        problems += check_turn(label, want, got)
    for i, t in enumerate(got_turns):
        if i in used:
            continue
        if t.get("kind") == "turn":
            problems.append("tree: extra turn %r (%s, %d agents): the script implies no such prompt turn%s"
                            % (collapse(t.get("prompt"))[:60], t.get("status"), len(t.get("agents") or []),
                               (":\n" + "\n".join(render_forest(t["agents"]))) if t.get("agents") else ""))
        elif t.get("agents"):
            problems.append("tree: unexpected %s turn %r holding agents that belong to the turn that launched them:\n%s"
                            % (t.get("kind"), collapse(t.get("prompt"))[:60], "\n".join(render_forest(t["agents"]))))

    # Ids and parents against Claude Code's own sidecars.
    meta = sidecars(home)
    seen = {}

    def walk(nodes, parent):
        for n in nodes:
            seen[n.get("agent_id")] = (parent, n)
            walk(n.get("children") or [], n.get("agent_id"))
    for t in got_turns:
        walk(t.get("agents") or [], None)
    for aid, m in sorted(meta.items()):
        if aid not in seen:
            problems.append("tree: Claude Code ran agent %s (%s %r) but analyze tree lacks it" % (aid, m.get("agentType"), m.get("description")))
            continue
        parent, n = seen[aid]
        if parent != m.get("parentAgentId"):
            problems.append("tree: agent %s: parent per Claude Code %s, per analyze tree %s" % (aid, m.get("parentAgentId"), parent))
        if n.get("agent_type") != m.get("agentType"):
            problems.append("tree: agent %s: type per Claude Code %s, per analyze tree %s" % (aid, m.get("agentType"), n.get("agent_type")))
        if n.get("status") in ("success", "failure", "cancelled") and n.get("duration_ms") is None:
            problems.append("tree: agent %s ended (%s) but has no duration_ms" % (aid, n.get("status")))
        if mode != "p":
            answered = standin_usage(reqs)["tokens_by_agent"].get(aid, 0)
            if n.get("tokens") != answered:
                problems.append("tree: agent %s (%s): tokens %s, the stand-in answered it %s"
                                % (aid, n.get("agent_type"), n.get("tokens"), answered))
    for aid in sorted(set(seen) - set(meta)):
        problems.append("tree: analyze tree shows agent %s (%s) that Claude Code has no transcript for" % (aid, seen[aid][1].get("agent_type")))
    return problems, got_turns


def check_workflows(sid, home, tree_turns, info):
    """analyze workflows agrees with analyze tree: one workflow per prompt turn of the session, with
    the same status and duration (notification turns are never workflows of their own)."""
    rc, data, err = run_analyze(home, ["workflows", "--session", sid, "--format", "json", "--limit", "1000"])
    if rc != 0 or not isinstance(data, dict) or not isinstance(data.get("recent"), list):
        return ["workflows: `analyze workflows --session %s --format json` exit %s, stdout not the documented shape, stderr: %s"
                % (sid, rc, err[-400:])]
    rows = {r.get("workflow_id"): r for r in data["recent"] if r.get("session_id") in (sid, None)}
    info["workflows"] = [{k: r.get(k) for k in ("kind", "status", "duration_ms", "agents")} for r in rows.values()]
    problems = []
    turns = {t.get("workflow_id"): t for t in tree_turns if t.get("kind") in ("turn", "explicit")}
    for wid, t in turns.items():
        r = rows.get(wid)
        if r is None:
            problems.append("workflows: %s (%s) is in analyze tree but not among analyze workflows' recent workflows"
                            % (turn_label(t), wid))
            continue
        for k in ("status", "duration_ms"):
            if r.get(k) != t.get(k):
                problems.append("workflows: %s: %s %r, analyze tree says %r" % (turn_label(t), k, r.get(k), t.get(k)))
    for wid in sorted(set(rows) - set(turns)):
        r = rows[wid]
        problems.append("workflows: extra %s workflow %s %r (%s) that analyze tree does not show as a prompt turn"
                        % (r.get("kind"), wid, collapse(r.get("prompt"))[:60], r.get("status")))
    return problems


def check_hook_hygiene(name, home, runs, hooks, info):
    problems = []
    bindir = os.path.join(home, ".local", "bin")
    data_dir = os.path.join(home, ".local", "share", "agent-telemetry")
    db = os.path.join(data_dir, "telemetry.db")
    ours = our_hooks(home)
    if not ours:
        return ["hooks: install.sh registered none of our hooks in %s/.claude/settings.json" % home]

    # 1. Our hooks ran for every event they are registered for.
    want = {}
    matched = []  # (event, command, stdin) for the replay below
    for h in hooks:
        try:
            payload = json.loads(h["stdin"])
        except ValueError:
            problems.append("hooks: Claude Code sent %s a payload that is not JSON: %r" % (h["event"], h["stdin"][:200]))
            continue
        cmds = sorted({c for ev, m, c, _ in ours if ev == h["event"] and matcher_matches(m, ev, payload)})
        if cmds:
            want[h["event"]] = want.get(h["event"], 0) + 1
            matched += [(h["event"], c, h["stdin"]) for c in cmds]
    got = {}
    if os.path.exists(db):
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            for kind, n in con.execute("SELECT kind, count(*) FROM events WHERE source = 'claude-code' GROUP BY kind"):
                got[kind] = n
            quarantined = con.execute("SELECT binary, reason, substr(raw, 1, 200) FROM quarantine").fetchall()
        finally:
            con.close()
        for q in quarantined:
            problems.append("quarantine: %s: %s: %r" % q)
    else:
        problems.append("database %s does not exist" % db)
    got = {k: v for k, v in got.items() if k in want or k[:1].isupper()}
    for ev in sorted(set(want) | set(got)):
        if want.get(ev, 0) != got.get(ev, 0):
            hint = ""
            if ev == "StopFailure" and got.get(ev, 0) < want.get(ev, 0):
                hint = (" (Claude Code sends SIGTERM to a StopFailure hook's process group 4-20 ms after starting it"
                        " in `claude -p`; a hook that does not ignore SIGTERM loses the event)")
            problems.append("hooks: %s fired %d time(s) for our hooks (logging hook), events table holds %d%s"
                            % (ev, want.get(ev, 0), got.get(ev, 0), hint))
    info["our_hook_calls"] = len(matched)

    # 2. No hook error / hook output anywhere Claude Code writes it.
    for path in transcripts(home):
        rel = os.path.relpath(path, home)
        with open(path, encoding="utf-8", errors="replace") as f:
            for ln, line in enumerate(f, 1):
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(d, dict):
                    continue
                if d.get("type") == "system" and d.get("subtype") == "stop_hook_summary":
                    if d.get("hookErrors") or d.get("failedHookErrorIndexes") or d.get("preventedContinuation"):
                        problems.append("transcript %s:%d: stop_hook_summary hookErrors=%s (hooks %s)"
                                        % (rel, ln, d.get("hookErrors"), [i.get("command") for i in d.get("hookInfos") or []]))
                elif d.get("type") == "system" and "hook" in str(d.get("subtype", "")).lower():
                    problems.append("transcript %s:%d: hook system line %s: %s" % (rel, ln, d.get("subtype"), line.strip()[:300]))
                att = d.get("attachment") if d.get("type") == "attachment" else None
                if isinstance(att, dict) and str(att.get("type", "")).startswith("hook_"):
                    cmd = str(att.get("command", ""))
                    mine = "OUR HOOK " if cmd.startswith(bindir) else ""
                    problems.append("transcript %s:%d: %sattachment %s on %s (%s): stdout=%r stderr=%r exit=%s"
                                    % (rel, ln, mine, att.get("type"), att.get("hookEvent"), cmd,
                                       str(att.get("stdout", ""))[:200], str(att.get("stderr", ""))[:200], att.get("exitCode")))
    for i, r in enumerate(runs, 1):
        err = r.get("stderr") or ""
        for b in HOOK_BINARIES:
            if b in err or bindir in err:
                problems.append("claude run %d stderr mentions our hook %s: %s" % (i, b, err[-400:]))
                break

    # 3. hook.log, spools, quarantine per doctor.
    log = os.path.join(data_dir, "hook.log")
    if os.path.exists(log) and os.path.getsize(log) > 0:
        with open(log, errors="replace") as f:
            problems.append("hook.log is not empty:\n    " + "\n    ".join(f.read().splitlines()[-10:]))
    rc, doc, err = run_analyze(home, ["doctor", "--format", "json"])
    if not isinstance(doc, dict):
        problems.append("doctor: `analyze doctor --format json` exit %s, stderr: %s" % (rc, err[-400:]))
    else:
        c = doc.get("counts") or {}
        for k in ("quarantined", "spooled", "spooled_fallback", "underived_events"):
            if c.get(k):
                problems.append("doctor: counts.%s = %s" % (k, c.get(k)))
        # A hook the scenario killed is, to the doctor, a command that is not ours: that warning only.
        killed = {ev for ev, _, _, k in ours if k}
        warnings = [w for w in doc.get("warnings") or []
                    if not (killed and "registered nowhere" in w
                            and {x.split(" (")[0].strip() for x in w.split(": ", 1)[-1].split(";")} <= killed)]
        if not doc.get("healthy") and warnings:
            problems.append("doctor: healthy=false; warnings: %s" % warnings)
        info["doctor_warnings"] = doc.get("warnings")

    # 4. Replay every payload our hooks got into a scratch database: exit 0, silent.
    scratch = os.path.join(home, ".e2e", "replay.db")
    env = clean_env(home)
    env["AGENT_TELEMETRY_DB"] = scratch
    bad = 0
    for ev, cmd, stdin in matched:
        p = subprocess.run(shlex.split(cmd), input=stdin.encode(), env=env, cwd=os.path.join(home, "proj"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        if p.returncode != 0 or p.stdout or p.stderr:
            bad += 1
            if bad <= 3:
                problems.append("replay: %s < %s payload: exit %d, stdout=%r, stderr=%r"
                                % (os.path.basename(cmd), ev, p.returncode, p.stdout[:200], p.stderr[:200]))
    if bad > 3:
        problems.append("replay: %d more noisy/failing hook calls" % (bad - 3))
    slog = os.path.join(os.path.dirname(scratch), "hook.log")
    if os.path.exists(slog) and os.path.getsize(slog) > 0:
        with open(slog, errors="replace") as f:
            problems.append("replay: hook.log of the scratch database is not empty:\n    " + "\n    ".join(f.read().splitlines()[-5:]))
    return problems


def telemetry_checks(scenario, home, proj, runs, hooks, reqs, mode="p", live=None):
    """post_check of run_scenario.run() (mode "p") and interactive.run() (mode "interactive"):
    everything about what OUR code recorded."""
    name = scenario.get("name")
    info = {}
    results = [r["result"] for r in runs if isinstance(r.get("result"), dict)]
    if mode == "p" and (not results or len(results) != len(runs)):
        return ["telemetry: no result JSON from every claude run; nothing to compare"], info
    sids = session_ids(hooks)
    if mode == "p":
        sids = [r.get("session_id") for r in results if r.get("session_id")] + [s for s in sids if s not in
                                                                                 [r.get("session_id") for r in results]]
    if not sids:
        return ["telemetry: no session id in Claude Code's hook payloads; nothing to compare"], info
    problems = []
    problems += check_sessions(name, scenario, results, sids, home, info, mode, reqs)
    tree_problems, tree_turns = check_tree(name, scenario, sids[0], home, info, mode, reqs)
    problems += tree_problems
    if tree_turns is not None:
        problems += check_workflows(sids[0], home, tree_turns, info)
    if live is not None:
        problems += check_live(live, sids[0], home, results, mode, info)
    problems += check_hook_hygiene(name, home, runs, hooks, info)
    problems += check_expected_analyze(scenario, home)
    if scenario.get("dashboard") and mode == "p":
        problems += check_dashboard(home, reqs, info)
    return problems, info


def check_expected_analyze(scenario, home):
    """expect.analyze: [{"args": [...], "exit": N, "contains": [text, ...], "absent": [text, ...]}]:
    each `analyze ARGS` exits N (default 0) and its stdout contains (or lacks) each text."""
    problems = []
    for want in (scenario.get("expect") or {}).get("analyze") or []:
        p = subprocess.run([os.path.join(home, ".local", "bin", "analyze")] + want["args"], env=clean_env(home),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=60)
        rc, out, err = p.returncode, p.stdout, p.stderr
        label = "analyze %s" % " ".join(want["args"])
        if rc != want.get("exit", 0):
            problems.append("%s: exit %s, want %s; stderr: %s" % (label, rc, want.get("exit", 0), err[-300:]))
        problems += ["%s: %r not in its output: %s" % (label, t, out[-1500:]) for t in want.get("contains") or []
                     if t not in out]
        problems += ["%s: %r in its output: %s" % (label, t, out[-1500:]) for t in want.get("absent") or []
                     if t in out]
    return problems


EVALUATED = re.compile(r"evaluated \d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?")
DASHBOARD_SECTIONS = [("## Agents over the last 7 days", ["summary", "--days", "7"]),
                      ("## Top performers", ["top", "--days", "7"]),
                      ("## Alerts", ["alerts"])]


def check_dashboard(home, reqs, info):
    """The agent-dashboard scenario: the /agent-dashboard command install.sh put in
    ~/.claude/commands ran `analyze summary --days 7`, `top --days 7` and `alerts` inside Claude
    Code, and their output (the same as running them here) reached the model's request and the
    session transcript."""
    problems = []
    texts = [r.get("last_user_text") or "" for r in reqs if r.get("kind") == "messages"]
    sent = next((t for t in texts if DASHBOARD_SECTIONS[0][0] in t), None)
    if sent is None:
        return ["dashboard: no request to the model carried the /agent-dashboard expansion"]
    logged = []  # the texts of transcript lines holding the expansion
    for path in transcripts(home):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    content = (json.loads(line).get("message") or {}).get("content")
                except (ValueError, AttributeError):
                    continue
                text = "\n".join(b.get("text", "") for b in content if isinstance(b, dict)) \
                    if isinstance(content, list) else str(content or "")
                if DASHBOARD_SECTIONS[0][0] in text:
                    logged.append(text)
    if not logged:
        problems.append("dashboard: the expanded command is not in any transcript")
    for header, args in DASHBOARD_SECTIONS:
        exe = os.path.join(home, ".local", "bin", "analyze")
        p = subprocess.run([exe] + args, env=clean_env(home), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", timeout=60)
        # `alerts` says when it evaluated ("evaluated 2026-12-01 06:23:52"): compare without that.
        want = EVALUATED.sub("evaluated …", p.stdout.strip())
        sent_n = EVALUATED.sub("evaluated …", sent)
        logged_n = [EVALUATED.sub("evaluated …", t) for t in logged]
        if header not in sent:
            problems.append("dashboard: section %r missing from the request" % header)
        elif not want or want not in sent_n:
            problems.append("dashboard: the request lacks the output of analyze %s (exit %d): %r"
                            % (" ".join(args), p.returncode, want[:200]))
        elif logged_n and not any(want in t for t in logged_n):
            problems.append("dashboard: the transcript lacks the output of analyze %s" % " ".join(args))
    if "backend-architect" not in sent:
        problems.append("dashboard: the recorded agent backend-architect is not in the dashboard's data")
    info["dashboard_request_chars"] = len(sent)
    return problems


# --------------------------------------------------------------------------- the live server
class LiveServer:
    """`analyze serve --port 0` on the scenario's database, started before Claude Code runs, with
    one subscriber on /api/v1/stream (http.client, a reader thread) that stamps every event with
    the wall clock when its last line arrived."""

    LISTEN = re.compile(r"listening on (\S+?);")

    def __init__(self):
        self.proc = None
        self.addr = None
        self.events = []  # {"event", "id", "data", "recv_ms"}
        self.problems = []
        self.ready = threading.Event()
        self.reader = None
        self.conn = None
        self.before = {"active_agents": 0, "executions_today": 0}

    def start(self, home, proj=None):
        exe = os.path.join(home, ".local", "bin", "analyze")
        os.makedirs(os.path.join(home, ".e2e"), exist_ok=True)
        self.stderr_path = os.path.join(home, ".e2e", "serve.stderr")
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen([exe, "serve", "--port", "0"], env=clean_env(home), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err, text=True, errors="replace")
        line = self.proc.stdout.readline()  # "analyze serve: listening on 127.0.0.1:PORT; open http://…/"
        m = self.LISTEN.search(line)
        if not m:
            self.problems.append("serve: `analyze serve --port 0` printed %r, not its address (exit %s; stderr %s)"
                                 % (line, self.proc.poll(), self.server_stderr()))
            return self.stop
        self.addr = m.group(1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(10):
            self.problems.append("serve: no `ready` event on /api/v1/stream within 10 s")
        # What a scenario's "setup" left (e.g. agents already running): the figures after the run
        # are compared on top of these.
        status, body = self.get("/api/agents/metrics/current")
        try:
            cur = json.loads(body) if status == 200 else {}
        except ValueError:
            cur = {}
        self.before = {k: cur.get(k) or 0 for k in ("active_agents", "executions_today")}
        return self.stop

    def _read(self):
        host, port = self.addr.rsplit(":", 1)
        try:
            self.conn = http.client.HTTPConnection(host, int(port), timeout=600)
            self.conn.request("GET", "/api/v1/stream", headers={"Accept": "text/event-stream"})
            resp = self.conn.getresponse()
            if resp.status != 200:
                self.problems.append("serve: /api/v1/stream answered %d" % resp.status)
                self.ready.set()
                return
            ev = {}
            while True:
                raw = resp.readline()
                if not raw:
                    return  # the server ended the stream (SIGTERM)
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if "event" in ev:
                        ev["recv_ms"] = time.time() * 1000.0
                        if ev["event"] == "ready":
                            self.ready.set()
                        else:
                            try:
                                ev["data"] = json.loads(ev.get("data", "null"))
                            except ValueError:
                                self.problems.append("serve: stream event %s with data that is not JSON: %r"
                                                     % (ev["event"], ev.get("data")))
                            self.events.append(ev)
                    ev = {}
                elif line.startswith(":"):
                    continue  # heartbeat comment
                else:
                    k, _, v = line.partition(":")
                    v = v[1:] if v.startswith(" ") else v
                    ev[k] = ev[k] + "\n" + v if k == "data" and k in ev else v
        except (OSError, http.client.HTTPException) as e:
            if self.proc and self.proc.poll() is None:
                self.problems.append("serve: reading /api/v1/stream failed: %r" % e)
            self.ready.set()

    def server_stderr(self):
        """What the server wrote on stderr so far (e.g. "the live stream failed (…); reopening")."""
        with open(self.stderr_path, errors="replace") as f:
            return f.read()[-600:]

    def settle(self, quiet_ms=600, limit_s=10, not_before_ms=0):
        """Wait until no event has arrived for quiet_ms (the watcher polls every 100 ms), and
        not before not_before_ms (epoch ms): the stream's answer to a commit made just before."""
        deadline = time.time() + limit_s
        while time.time() < deadline:
            now = time.time() * 1000.0
            last = self.events[-1]["recv_ms"] if self.events else 0
            if now - last >= quiet_ms and now >= not_before_ms:
                return
            time.sleep(0.1)

    def get(self, path):
        host, port = self.addr.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.reader:
            self.reader.join(5)
        if self.proc:
            self.proc.stdout.close()


def run_nodes(tree):
    """Every agent run of `analyze tree` JSON: {agent_id: node}."""
    out = {}

    def walk(nodes):
        for n in nodes:
            out[n.get("agent_id")] = n
            walk(n.get("children") or [])
    for t in tree.get("turns") or []:
        walk(t.get("agents") or [])
    return out


def percentiles(xs):
    xs = sorted(xs)
    if not xs:
        return "none"
    pick = lambda q: xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]
    return "n=%d min=%.0f p50=%.0f p90=%.0f max=%.0f ms, %d over 1000 ms" % (
        len(xs), xs[0], pick(0.5), pick(0.9), xs[-1], sum(1 for x in xs if x > 1000))


def event_rows(home):
    db = os.path.join(home, ".local", "share", "agent-telemetry", "telemetry.db")
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute("SELECT id, recorded_at, kind, session_id, agent_id FROM events ORDER BY id").fetchall()
    finally:
        con.close()


def trigger_ms(rows, ev):
    """When the hook appended the event that this stream event reports (events.recorded_at):
    agent_started: the first event naming the agent (its SubagentStart); agent_finished: the last
    event naming the agent if it is SubagentStop or StopFailure, else the first event of the session
    after it (the parent's PostToolUseFailure), for a cancelled run the session's SessionEnd; turns: the session's last event recorded
    before the stream event arrived (a lower bound of the lag). None when nothing fits."""
    d = ev.get("data") or {}
    aid, sid, recv = d.get("agent_id"), d.get("session_id"), ev["recv_ms"]
    before = [r for r in rows if r[1] <= recv]
    if ev["event"] == "agent_started":
        mine = [r for r in rows if r[4] == aid]
        return mine[0][1] if mine else None
    if ev["event"] == "agent_finished":
        mine = [r for r in before if r[4] == aid]
        if not mine:
            return None
        last = mine[-1]
        if last[2] in ("SubagentStop", "StopFailure"):
            return last[1]
        after = [r for r in before if r[0] > last[0] and r[3] == sid
                 and (d.get("status") != "cancelled" or r[2] == "SessionEnd")]
        return after[0][1] if after else last[1]
    mine = [r for r in before if r[3] == sid]
    return mine[-1][1] if mine else None


def check_live(live, sid, home, results, mode, info):
    """The live server against the command line, after the run: the stream's events against
    `analyze tree`, /api/v1/{summary,tree} byte for byte, /api/agents/metrics/current."""
    problems = list(live.problems)
    if not live.addr:
        return problems
    # The tree first: reading it derives whatever the last hooks appended (a SessionEnd can land
    # seconds after the last event), a commit the watcher answers within a poll or two.
    rc, tree, err = run_analyze(home, ["tree", "--session", sid, "--format", "json"])
    if rc != 0 or not isinstance(tree, dict):
        return problems + ["serve: `analyze tree --session %s` exit %s: %s" % (sid, rc, err[-300:])]
    live.settle(not_before_ms=time.time() * 1000.0 + 400)
    evs = list(live.events)
    runs = run_nodes(tree)

    # 1. One agent_started per run, one agent_finished per ended run, same id/type/status; in order.
    by_agent = {}
    for i, e in enumerate(evs):
        if e["event"] in ("agent_started", "agent_finished"):
            by_agent.setdefault((e.get("data") or {}).get("agent_id"), []).append((i, e))
    for aid, n in sorted(runs.items()):
        got = by_agent.get(aid, [])
        starts = [e for _, e in got if e["event"] == "agent_started"]
        ends = [e for _, e in got if e["event"] == "agent_finished"]
        label = "serve: agent %s (%s, %s)" % (aid, n.get("agent_type"), n.get("status"))
        if len(starts) != 1:
            problems.append("%s: %d agent_started events, want 1" % (label, len(starts)))
        # agent_finished again only when the outcome changed (docs/serve.md): a StopFailure's end,
        # then the transcript's tokens, cost and longer error.
        shown = [tuple(repr(e["data"].get(k)) for k in ("status", "end", "duration_ms", "error", "tokens", "cost_usd"))
                 for e in ends]
        if any(a == b for a, b in zip(shown, shown[1:])):
            problems.append("%s: agent_finished sent twice with nothing changed: %s" % (label, shown))
        want_ends = 0 if n.get("status") == "running" else 1
        if min(len(ends), 1) != want_ends:
            changed = [sorted(k for k in set(a["data"]) | set(b["data"]) if a["data"].get(k) != b["data"].get(k))
                       for a, b in zip(ends, ends[1:])]
            problems.append("%s: %d agent_finished events (statuses %s; fields changed between them: %s), want %d"
                            % (label, len(ends), [e["data"].get("status") for e in ends],
                               ["%s" % ", ".join("%s %r -> %r" % (k, a["data"].get(k), b["data"].get(k)) for k in c)
                                for c, a, b in zip(changed, ends, ends[1:])], want_ends))
        for _, e in got:
            d = e.get("data") or {}
            if d.get("agent_type") != n.get("agent_type"):
                problems.append("%s: %s says type %s" % (label, e["event"], d.get("agent_type")))
        if ends and ends[-1]["data"].get("status") != n.get("status"):
            problems.append("%s: last agent_finished says status %s" % (label, ends[-1]["data"].get("status")))
        order = [e["event"] for _, e in got]
        if starts and ends and order.index("agent_finished") < order.index("agent_started"):
            problems.append("%s: agent_finished arrived before agent_started (%s)" % (label, order))
    for aid in sorted(set(by_agent) - set(runs)):
        problems.append("serve: stream events for agent %s that analyze tree does not show: %s"
                        % (aid, [e["event"] for _, e in by_agent[aid]]))

    # 2. Every prompt turn (a `turn` workflow) got one turn_started first and, once ended, turn_ended:
    # again only when the turn changed (a background agent finishing after the Stop), the last one
    # saying what the tree says.
    tev = {}
    for e in evs:
        if e["event"] in ("turn_started", "turn_ended"):
            tev.setdefault((e.get("data") or {}).get("workflow_id"), []).append(e)
    for t in tree.get("turns") or []:
        if t.get("kind") != "turn":
            continue
        wid = t.get("workflow_id")
        got = tev.get(wid, [])
        kinds = [e["event"] for e in got]
        ends = [e["data"] for e in got if e["event"] == "turn_ended"]
        label = "serve: turn %s (%s)" % (wid, t.get("status"))
        if kinds[:1] != ["turn_started"] or kinds.count("turn_started") != 1:
            problems.append("%s: stream sent %s, want one turn_started first" % (label, kinds))
        if t.get("duration_ms") is None:
            if ends:
                problems.append("%s: still running in analyze tree, but the stream sent turn_ended" % label)
            continue
        if not ends:
            problems.append("%s: ended in analyze tree, but the stream sent %s" % (label, kinds))
            continue
        shown = [(d.get("status"), d.get("end"), d.get("duration_ms")) for d in ends]
        if any(a == b for a, b in zip(shown, shown[1:])):
            problems.append("%s: turn_ended sent twice with nothing changed: %s" % (label, shown))
        last = ends[-1]
        if last.get("duration_ms") != t.get("duration_ms") or ("status" in last and last["status"] != t.get("status")):
            problems.append("%s: last turn_ended says status %s, duration_ms %s; analyze tree says %s, %s"
                            % (label, last.get("status"), last.get("duration_ms"), t.get("status"), t.get("duration_ms")))
        info.setdefault("turn_ended_per_turn", []).append(len(ends))

    # 3. Lag: stream arrival minus the hook's append (events.recorded_at); figures, not a check.
    rows = event_rows(home)
    lags = {}
    for e in evs:
        if e["event"] in ("agent_started", "agent_finished", "turn_started", "turn_ended"):
            t = trigger_ms(rows, e)
            if t is not None:
                lags.setdefault(e["event"], []).append(e["recv_ms"] - t)
                if e["recv_ms"] - t > 1000:
                    info.setdefault("stream_slow", []).append("%s %s %s: %.0f ms" % (
                        e["event"], e["data"].get("agent_id") or e["data"].get("workflow_id"),
                        e["data"].get("status") or "", e["recv_ms"] - t))
    info["stream_lag_ms"] = {k: [round(x) for x in v] for k, v in lags.items()}
    info["stream_events"] = len(evs)

    # 4. /api/v1/summary and /api/v1/tree byte for byte as the command line prints them.
    for path, args in (("/api/v1/summary", ["summary", "--format", "json"]),
                       ("/api/v1/tree?session=%s" % sid, ["tree", "--session", sid, "--format", "json"])):
        status, body = live.get(path)
        p = subprocess.run([os.path.join(home, ".local", "bin", "analyze")] + args, env=clean_env(home),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if p.returncode == 1 and not p.stdout:  # nothing found: 404 {"nothing_found": true, ...} (docs/serve.md)
            try:
                nf = json.loads(body).get("nothing_found") is True
            except (ValueError, AttributeError):
                nf = False
            if status != 404 or not nf:
                problems.append("serve: GET %s: %d %r; `analyze %s` found nothing (exit 1), want 404 with nothing_found"
                                % (path, status, body[:200], " ".join(args)))
            continue
        if status != 200 or body != p.stdout:
            i = next((k for k in range(min(len(body), len(p.stdout))) if body[k] != p.stdout[k]),
                     min(len(body), len(p.stdout)))
            problems.append("serve: GET %s: %d, %d bytes; `analyze %s`: exit %d, %d bytes; first difference at byte %d:"
                            " server %r, CLI %r" % (path, status, len(body), " ".join(args), p.returncode, len(p.stdout),
                                                    i, body[max(0, i - 40):i + 40], p.stdout[max(0, i - 40):i + 40]))

    # The watcher's own complaints (a 404's reader message, e.g. unknown-agent-type's, is not one).
    err = [l for l in live.server_stderr().splitlines() if "live stream" in l]
    if err:
        problems.append("serve: stderr of `analyze serve`: %s" % " | ".join(err[-5:]))

    # 5. /api/agents/metrics/current: nothing running, today's runs = every run (on top of what a
    # scenario's "setup" left before Claude Code ran: LiveServer.before).
    status, body = live.get("/api/agents/metrics/current")
    try:
        cur = json.loads(body)
    except ValueError:
        cur = None
    if status != 200 or not isinstance(cur, dict):
        problems.append("serve: /api/agents/metrics/current answered %d: %r" % (status, body[:300]))
    else:
        info["metrics_current"] = {k: cur.get(k) for k in ("active_agents", "executions_today")}
        before = live.before
        if cur.get("active_agents") != before["active_agents"]:
            problems.append("serve: metrics/current active_agents=%s after the run, %s before it (running: %s)"
                            % (cur.get("active_agents"), before["active_agents"],
                               [(a.get("agent_id"), a.get("agent_name")) for a in cur.get("active_agent_details") or []]))
        if cur.get("executions_today") != before["executions_today"] + len(runs):
            problems.append("serve: metrics/current executions_today=%s, analyze tree has %d runs (+%d before)"
                            % (cur.get("executions_today"), len(runs), before["executions_today"]))
        if mode == "p" and results:
            spawned = rs.aggregate_stats(results)["spawned"]
            if cur.get("executions_today") != before["executions_today"] + spawned:
                problems.append("serve: metrics/current executions_today=%s, Claude Code subagent_stats.spawned=%s (+%d before)"
                                % (cur.get("executions_today"), spawned, before["executions_today"]))
    return problems


# --------------------------------------------------------------------------- driver
def claude_version(claude):
    """'2.1.332' from `claude --version` ('2.1.332 (Claude Code)'); the path if it cannot tell."""
    try:
        out = subprocess.run([claude, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    m = re.search(r"\d+\.\d+\.\d+\S*", out)
    return m.group(0) if m else claude


def load_interactive():
    """(module, None) when tests/e2e/interactive.py exposes run(); (None, why) when it is there but
    unusable; (None, None) when there is no such file."""
    if not os.path.exists(os.path.join(HERE, "interactive.py")):
        return None, None
    try:
        import interactive  # noqa: E402
    except Exception as e:  # report, never hide
        return None, "tests/e2e/interactive.py does not import: %r" % e
    if not callable(getattr(interactive, "run", None)):
        return None, "tests/e2e/interactive.py has no run() function"
    return interactive, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-source", required=True, help="directory holding the five built binaries")
    ap.add_argument("-j", type=int, default=3)
    ap.add_argument("--claude", action="append",
                    help="Claude Code binary; repeat to run every scenario against each (default: claude.sh's)")
    ap.add_argument("--summary", help="write {passed, failed, failed_names, secs, versions} as JSON here")
    ap.add_argument("--keep-failed", action="store_true", help="keep the temp HOME of failed scenarios")
    ap.add_argument("--no-interactive", action="store_true", help='skip the second, interactive run of "interactive": true scenarios')
    ap.add_argument("-v", "--verbose", action="store_true", help="print what was compared per scenario")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()

    for k in SCRUB_ENV:
        os.environ.pop(k, None)
    src = os.path.abspath(a.bin_source)
    missing = [b for b in ALL_BINARIES if not os.access(os.path.join(src, b), os.X_OK)]
    if missing:
        sys.exit("check.py: missing in %s: %s" % (src, " ".join(missing)))
    claudes = a.claude or [rs.find_claude(None)]
    versions = [(claude_version(c), c) for c in claudes]
    files = sorted(glob.glob(os.path.join(HERE, "scenarios", "*.json")))
    if a.names:
        files = [f for f in files if os.path.splitext(os.path.basename(f))[0] in a.names]
        if len(files) != len(set(a.names)):
            sys.exit("check.py: unknown scenario among %s" % a.names)
    install = "AGENT_TELEMETRY_BIN_SOURCE=%s %s --prefix \"$HOME/.local\" --no-build" % (
        shlex.quote(src), shlex.quote(os.path.join(REPO, "install.sh")))

    interactive, why_not = (None, None) if a.no_interactive else load_interactive()
    jobs = []  # (version, claude, path, mode)
    for version, claude in versions:
        for path in files:
            jobs.append((version, claude, path, "p"))
    notes, slow = [], []
    for version, claude in versions:
        for path in files:
            with open(path) as f:
                if not json.load(f).get("interactive"):
                    continue
            if interactive is not None or why_not:
                slow.append((version, claude, path, "interactive"))
            elif not a.no_interactive:
                notes.append(os.path.splitext(os.path.basename(path))[0])
    if notes:
        print("check.py: tests/e2e/interactive.py not present: interactive runs of %s not done" % ", ".join(sorted(set(notes))))

    def one(job):
        version, claude, path, mode = job
        name = os.path.splitext(os.path.basename(path))[0]
        label = "[%s%s] %s" % (version, " interactive" if mode == "interactive" else "", name)
        try:
            if mode == "p":
                live = LiveServer()
                s = rs.run(path, claude=claude, quiet=True, pre_cmd=install, keep_home=a.keep_failed,
                           post_check=lambda **kw: telemetry_checks(live=live, **kw), before_claude=live.start)
                lags.append(s.get("extra", {}).get("stream_lag_ms") or {})
                slow_events.extend("[%s] %s: %s" % (version, name, x) for x in s.get("extra", {}).get("stream_slow") or [])
            elif why_not:
                s = {"name": name, "ok": False, "problems": ["interactive run impossible: %s" % why_not], "secs": 0,
                     "results": [], "standin_stderr": [], "home": None}
            else:
                s = interactive.run(path, claude=claude, quiet=True, pre_cmd=install, post_check=telemetry_checks,
                                    keep_home=a.keep_failed)
        except Exception as e:  # report, never hide
            s = {"name": name, "ok": False, "problems": ["%s crashed: %s" % ("runner" if mode == "p" else "interactive run", e)],
                 "secs": 0, "results": [], "standin_stderr": [], "home": None}
        s["name"] = label
        s["version"] = version
        if s.get("home") and s["ok"]:
            shutil.rmtree(s["home"], ignore_errors=True)
            # Claude Code's per-cwd scratch dir (run_scenario removes it when it removes HOME).
            shutil.rmtree(os.path.join("/tmp", "claude-%d" % os.getuid(),
                                       re.sub(r"[^A-Za-z0-9]", "-", os.path.join(s["home"], "proj"))), ignore_errors=True)
            s["home"] = None
        return s

    lags, slow_events = [], []
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
        # The interactive runs take longest: start them first, print them last.
        done = list(ex.map(one, slow + jobs))
    summaries = done[len(slow):] + done[:len(slow)]
    wall = time.time() - t0
    for s in summaries:
        print(rs.describe(s))
        if a.verbose and s.get("extra"):
            print("       analyze: %s" % json.dumps({k: v for k, v in s["extra"].items() if "screen" not in k}, sort_keys=True))
        if s.get("home"):
            print("       HOME kept at %s" % s["home"])
    merged = {}
    for d in lags:
        for k, v in d.items():
            merged.setdefault(k, []).extend(v)
    for k in ("agent_started", "agent_finished", "turn_started", "turn_ended"):
        print("stream lag %-14s (arrival - hook append): %s" % (k, percentiles(merged.get(k, []))))
    for x in slow_events:
        print("stream lag over 1000 ms: %s" % x)
    failed = [s["name"] for s in summaries if not s["ok"]]
    per = {}
    for s in summaries:
        v = per.setdefault(s["version"], {"passed": 0, "failed": 0})
        v["failed" if not s["ok"] else "passed"] += 1
    for v, c in per.items():
        print("scenarios on Claude Code %s: %d passed, %d failed" % (v, c["passed"], c["failed"]))
    print("scenarios: %d passed, %d failed (wall %.1fs, -j %d)" % (len(summaries) - len(failed), len(failed), wall, a.j))
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump({"passed": len(summaries) - len(failed), "failed": len(failed), "failed_names": failed,
                       "secs": round(wall, 1), "versions": per}, f)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
