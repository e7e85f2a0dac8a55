#!/usr/bin/env python3
"""Prove agent-telemetry against the real Claude Code: install the project into a temp HOME, run
every scenario with `claude -p`, and check what our hooks recorded against Claude Code's own figures.

    check.py --bin-source DIR [-j N] [--claude BIN] [--summary FILE] [--keep-failed] [NAME ...]

For each scenario (tests/e2e/scenarios/*.json), in a fresh temp HOME:
  1. ./install.sh --prefix HOME/.local --no-build with AGENT_TELEMETRY_BIN_SOURCE=DIR (copies the
     binaries, registers the hooks in HOME/.claude/settings.json, creates the database);
  2. run_scenario.run(): stand-in API, logging hooks merged beside ours, `claude -p ... --output-format
     json` (+ --resume follow-ups), and the runner's own checks of Claude Code's behaviour;
  3. the checks below (telemetry_checks), against the database in HOME/.local/share/agent-telemetry/.

Checks (each failure is one line naming the scenario, the figure, Claude Code's value and ours):
  sessions   `analyze sessions --format json`: one session, whose agents, agents_by_type,
             agents_completed, agents_failed and max_depth equal Claude Code's subagent_stats (summed
             over the --resume runs); total_cost_usd equals the last result's total_cost_usd within
             1e-5 (cumulative over resumes); tokens per model equal modelUsage, cost per model costUSD.
  tree       `analyze tree --format json`: the delegation forest per prompt turn equals what the
             scenario scripts (type, description, status, tokens per agent), and every agent's id and
             parent equal Claude Code's own transcript sidecars (agent-<id>.meta.json).
  hooks      our hooks ran for every event they are registered for (logging hook vs events table);
             no hook error or hook output in any transcript (stop_hook_summary.hookErrors, hook_*
             attachments, hook system lines); nothing about our binaries on claude's stderr;
             hook.log absent or empty; quarantine, spool and fallback spool empty (sqlite and
             `analyze doctor --format json`); replaying every payload Claude Code sent into a scratch
             database exits 0 with empty stdout and stderr.
Exit status 0 only if every scenario passed. With --summary FILE, writes {"passed": N, "failed": M}.
"""

import argparse
import concurrent.futures
import difflib
import glob
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
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
            if atype not in defined:
                continue  # Claude Code refuses the Agent call: no subagent
            ok, t, kids = expected_forest(rs._child_steps(a), defined)
            nodes.append({"agent_type": atype, "description": a.get("description"),
                          "status": "success" if ok else "failure", "tokens": t, "children": kids})
        last_had_tools = bool(step.get("agents") or step.get("bash") or step.get("tools"))
    if last_had_tools:  # steps ran out mid-task: the stand-in answers "done" (default usage)
        tokens += usage_tokens(None)
    return True, tokens, nodes


def expected_turns(scenario):
    """The main conversation's steps split into prompt turns: a step with no tool call ends a turn.
    Returns [(prompt or None, [agent nodes])]: the first turn is the SCENARIO prompt, then one per
    follow-up; any further turns are background-agent notification turns (prompt None)."""
    defined = set(rs.load_agents(scenario.get("agents")) or {}) | BUILTIN_TYPES
    turns, cur = [], []
    for step in scenario["steps"]:
        cur.append(step)
        if not (step.get("agents") or step.get("bash") or step.get("tools")):
            turns.append(cur)
            cur = []
    if cur:
        turns.append(cur)
    prompts = [None] + list(scenario.get("followups") or [])
    out = []
    for i, steps in enumerate(turns):
        _, _, nodes = expected_forest(steps, defined)
        out.append((prompts[i] if i < len(prompts) else "(notification)", nodes, i == 0))
    for p in prompts[len(turns):]:
        out.append((p, [], False))
    return out


def render_forest(nodes, indent="  "):
    lines = []
    for n in sorted(nodes, key=lambda n: (n["agent_type"], n.get("description") or "")):
        lines.append("%s%s %r [%s] tokens=%s" % (indent, n["agent_type"], n.get("description"),
                                                 n["status"], n["tokens"]))
        lines += render_forest(n["children"], indent + "  ")
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


def our_hooks(home):
    """[(event, matcher, command)] of our binaries registered in HOME/.claude/settings.json."""
    bindir = os.path.join(home, ".local", "bin")
    with open(os.path.join(home, ".claude", "settings.json")) as f:
        settings = json.load(f)
    out = []
    for ev, entries in (settings.get("hooks") or {}).items():
        for e in entries:
            for h in e.get("hooks", []):
                cmd = h.get("command", "")
                if os.path.dirname(cmd.split()[0] if cmd.split() else "") == bindir:
                    out.append((ev, e.get("matcher"), cmd))
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
def check_sessions(name, results, home, info):
    problems = []
    rc, data, err = run_analyze(home, ["sessions", "--format", "json"])
    if rc != 0 or not data:
        return ["sessions: `analyze sessions --format json` exit %s, stderr: %s" % (rc, err[-400:])]
    sessions = data.get("sessions") or []
    sids = {r.get("session_id") for r in results}
    if len(sessions) != 1 or sessions[0].get("session_id") not in sids:
        problems.append("sessions: want exactly session %s, got %s" % (sorted(sids), [s.get("session_id") for s in sessions]))
        if not sessions:
            return problems
    s = next((x for x in sessions if x.get("session_id") in sids), sessions[0])
    info["session"] = {k: s.get(k) for k in ("agents", "agents_by_type", "agents_completed", "agents_failed",
                                               "agents_cancelled", "max_depth", "total_cost_usd", "turns")}
    cc = rs.aggregate_stats(results)
    last = results[-1]
    pairs = [("agents", s.get("agents"), "spawned", cc["spawned"]),
             ("agents_by_type", s.get("agents_by_type"), "by_type", cc["by_type"]),
             ("agents_completed", s.get("agents_completed"), "completed", cc["completed"]),
             ("agents_failed", s.get("agents_failed"), "failed", cc["failed"]),
             ("max_depth", s.get("max_depth"), "max_depth", cc["max_depth"])]
    for ours, got, theirs, want in pairs:
        if got != want:
            problems.append("sessions.%s: Claude Code subagent_stats.%s=%s, analyze says %s"
                            % (ours, theirs, json.dumps(want, sort_keys=True), json.dumps(got, sort_keys=True)))
    if not near(s.get("total_cost_usd"), last.get("total_cost_usd")):
        problems.append("sessions.total_cost_usd: Claude Code total_cost_usd=%r, analyze says %r"
                        % (last.get("total_cost_usd"), s.get("total_cost_usd")))
    mu = last.get("modelUsage") or {}
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


def check_tree(name, scenario, results, home, info):
    problems = []
    sid = results[0].get("session_id")
    rc, data, err = run_analyze(home, ["tree", "--session", sid, "--format", "json"])
    want_turns = expected_turns(scenario)
    want_any = any(nodes for _, nodes, _ in want_turns)
    if rc == 1 and not want_any:
        return []  # nothing to draw, and nothing expected
    if rc != 0 or not isinstance(data, dict) or "turns" not in data:
        return ["tree: `analyze tree --format json` exit %s, stdout not the documented shape, stderr: %s" % (rc, err[-400:])]
    if data.get("session") != sid:
        problems.append("tree.session: want %s, got %s" % (sid, data.get("session")))
    got_turns = data.get("turns") or []
    info["tree_turns"] = len(got_turns)

    def collapse(p):
        return re.sub(r"\s+", " ", p or "").strip()

    used = set()
    for prompt, want_nodes, first in want_turns:
        if prompt == "(notification)":
            # A background agent's completion turn: agents it delegated would be under it.
            cands = [i for i, t in enumerate(got_turns) if i not in used and t.get("kind") == "notification"]
        elif first:
            cands = [i for i, t in enumerate(got_turns) if i not in used and collapse(t.get("prompt")).startswith("SCENARIO")]
        else:
            cands = [i for i, t in enumerate(got_turns) if i not in used and collapse(t.get("prompt")) == collapse(prompt)[:80]]
        label = "turn %r" % ((prompt or "SCENARIO ...")[:40])
        if not cands:
            if want_nodes:
                problems.append("tree: no turn for prompt %s, but it delegated:\n%s" % (label, "\n".join(render_forest(want_nodes))))
            continue
        i = cands[0]
        used.add(i)
        got_nodes = got_turns[i].get("agents") or []
        want_r, got_r = render_forest(want_nodes), render_forest(got_nodes)
        if want_r != got_r:
            diff = "\n".join(difflib.unified_diff(want_r, got_r, "scenario", "analyze tree", lineterm="", n=20))
            problems.append("tree: %s: hierarchy differs (- scenario, + analyze tree):\n%s" % (label, diff))
    for i, t in enumerate(got_turns):
        if i not in used and t.get("agents"):
            problems.append("tree: unexpected agents under turn %r (kind %s):\n%s"
                            % (t.get("prompt"), t.get("kind"), "\n".join(render_forest(t["agents"]))))

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
        if n.get("status") == "success" and n.get("duration_ms") is None:
            problems.append("tree: agent %s finished but has no duration_ms" % aid)
    for aid in sorted(set(seen) - set(meta)):
        problems.append("tree: analyze tree shows agent %s (%s) that Claude Code has no transcript for" % (aid, seen[aid][1].get("agent_type")))
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
        cmds = sorted({c for ev, m, c in ours if ev == h["event"] and matcher_matches(m, ev, payload)})
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
            problems.append("hooks: %s fired %d time(s) for our hooks (logging hook), events table holds %d"
                            % (ev, want.get(ev, 0), got.get(ev, 0)))
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
        if not doc.get("healthy"):
            problems.append("doctor: healthy=false; warnings: %s" % doc.get("warnings"))
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


def telemetry_checks(scenario, home, proj, runs, hooks, reqs):
    """run_scenario post_check: everything about what OUR code recorded."""
    name = scenario.get("name")
    info = {}
    results = [r["result"] for r in runs if r.get("result")]
    if not results or len(results) != len(runs):
        return ["telemetry: no result JSON from every claude run; nothing to compare"], info
    problems = []
    problems += check_sessions(name, results, home, info)
    problems += check_tree(name, scenario, results, home, info)
    problems += check_hook_hygiene(name, home, runs, hooks, info)
    return problems, info


# --------------------------------------------------------------------------- driver
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-source", required=True, help="directory holding the five built binaries")
    ap.add_argument("-j", type=int, default=3)
    ap.add_argument("--claude")
    ap.add_argument("--summary", help="write {passed, failed, secs} as JSON here")
    ap.add_argument("--keep-failed", action="store_true", help="keep the temp HOME of failed scenarios")
    ap.add_argument("-v", "--verbose", action="store_true", help="print what was compared per scenario")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()

    for k in SCRUB_ENV:
        os.environ.pop(k, None)
    src = os.path.abspath(a.bin_source)
    missing = [b for b in ALL_BINARIES if not os.access(os.path.join(src, b), os.X_OK)]
    if missing:
        sys.exit("check.py: missing in %s: %s" % (src, " ".join(missing)))
    claude = rs.find_claude(a.claude)
    files = sorted(glob.glob(os.path.join(HERE, "scenarios", "*.json")))
    if a.names:
        files = [f for f in files if os.path.splitext(os.path.basename(f))[0] in a.names]
        if len(files) != len(set(a.names)):
            sys.exit("check.py: unknown scenario among %s" % a.names)
    install = "AGENT_TELEMETRY_BIN_SOURCE=%s %s --prefix \"$HOME/.local\" --no-build" % (
        shlex.quote(src), shlex.quote(os.path.join(REPO, "install.sh")))

    def one(path):
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            s = rs.run(path, claude=claude, quiet=True, pre_cmd=install, post_check=telemetry_checks,
                       keep_home=a.keep_failed)
        except Exception as e:  # report, never hide
            return {"name": name, "ok": False, "problems": ["runner crashed: %s" % e], "secs": 0,
                    "results": [], "standin_stderr": [], "home": None}
        if s.get("home") and s["ok"]:
            shutil.rmtree(s["home"], ignore_errors=True)
            # Claude Code's per-cwd scratch dir (run_scenario removes it when it removes HOME).
            shutil.rmtree(os.path.join("/tmp", "claude-%d" % os.getuid(),
                                       re.sub(r"[^A-Za-z0-9]", "-", os.path.join(s["home"], "proj"))), ignore_errors=True)
            s["home"] = None
        return s

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
        summaries = list(ex.map(one, files))
    wall = time.time() - t0
    for s in summaries:
        print(rs.describe(s))
        if a.verbose and s.get("extra"):
            print("       analyze: %s" % json.dumps(s["extra"], sort_keys=True))
        if s.get("home"):
            print("       HOME kept at %s" % s["home"])
    failed = [s["name"] for s in summaries if not s["ok"]]
    print("scenarios: %d passed, %d failed (wall %.1fs, -j %d)" % (len(summaries) - len(failed), len(failed), wall, a.j))
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump({"passed": len(summaries) - len(failed), "failed": len(failed), "failed_names": failed,
                       "secs": round(wall, 1)}, f)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
