#!/usr/bin/env python3
"""Run one scenario through the INTERACTIVE Claude Code TUI (inside tmux) and check it.

    interactive.py SCENARIO.json [--keep-home] [--out DIR] [--claude BIN] [--timeout S]
                   [--pre-cmd CMD] [--env K=V ...] [--events] [-v] [--json]

The same set-up as run_scenario.py (a fresh temp HOME with HOME/proj git-initialised as the working
directory; --pre-cmd run with HOME set before the logging hooks are merged in; a logging hook for
every event; the stand-in API on loopback; the scenario's "env"), plus HOME/.claude.json saying
onboarding is done, bypass mode accepted, the API key approved and HOME/proj trusted. Instead of
`claude -p` it starts

    claude --dangerously-skip-permissions [--agents JSON]

in a detached tmux session on its own socket in the run's work dir (200x50, TERM=xterm-256color),
waits until the empty input box is drawn and SessionStart has run, types `SCENARIO {...}`, checks
that all of it shows in the box, presses Enter, waits for its UserPromptSubmit, then waits until
the conversation is over:

  * the stand-in has answered the main conversation's last scripted step (after the last prompt),
  * every SubagentStart has a SubagentStop or a StopFailure for the same agent (an Agent/Task
    PostToolUseFailure may stand in for either),
  * a main-thread Stop or StopFailure started after the last UserPromptSubmit, and it lists no
    running background task,
  * and neither the hook log nor the stand-in's request log has grown for SETTLE seconds.

The scenario's "followups" are typed one after the other into the same session, each once the
conversation before it is over. Overall timeout: --timeout, else the scenario's "timeout", else 120 s;
on timeout the unmet conditions and the last screen are reported. Then it presses Escape (only
after a timeout), types /exit and waits for the TUI to end, so SessionEnd hooks run (it is killed
after EXIT_WAIT s otherwise). A run fails at once, instead of timing out, when Claude Code ends
early or the run's HOME, work dir or tmux server disappears.

Checks: run_scenario.check() without what needs a result JSON (there is none in interactive mode):
hook counts only against the scenario's `expect.interactive_hooks` (interactive counts differ from
-p), requests against `expect.interactive_requests` if present, else `expect.requests`; the exit
status against `expect.interactive_exit` (default 0; /exit ends with 0); no "hook failed / hook
error / hook problem" anywhere on the screen or in its scrollback (the TUI's only trace of a failing
hook). post_check(scenario=, home=, proj=, runs=, hooks=, reqs=, mode="interactive") runs before
HOME is removed (mode= is left out for a post_check that does not take it); its runs[0] has rc,
secs, stdout "", stderr "", result None, screen and exit_screen.

The summary has run_scenario.run()'s keys: runs = [{"rc": exit status | "timeout" | "killed",
"secs"}], results = [], extra = post_check's info plus "screen" (the screen once the conversation
was over), "exit_screen" (after /exit) and "timing" (seconds from the start to each phase). With
--out the recording has no result.json but a screen.txt.

The pane runs `sh -c 'env -i ... claude ...; echo $? > exit-status'`: tmux 3.3a sometimes never
reaps the exited claude (a zombie; #{pane_dead} 1 but #{pane_dead_status} empty).
"""

import argparse
import inspect
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
sys.path.insert(0, HERE)
import run_scenario as rs  # noqa: E402

# The TUI remembers which API keys the user approved by their last 20 characters: use a key
# longer than that ("dummy" is too short to be approved).
API_KEY = "sk-ant-api03-e2e-interactive-standin-0000000000000000"
COLS, ROWS = 200, 50
SETTLE = 1.5          # seconds without new hook calls or API requests before "finished"
READY_TIMEOUT = 45    # seconds for the input box to appear (3 parallel runs on 2 cores)
TYPE_TIMEOUT = 15     # seconds for the typed prompt to show up in the input box
SUBMIT_TIMEOUT = 10   # seconds for UserPromptSubmit after Enter (then Enter is pressed again)
EXIT_WAIT = 15        # seconds for the TUI to end after /exit before it is killed
POLL = 0.1
MAIN_END = ("Stop", "StopFailure")


# --------------------------------------------------------------------------- tmux
class Tmux:
    """One detached tmux server on its own socket (inside the run's work dir) with one session.

    The pane runs `/bin/sh -c 'COMMAND; echo $? > exit-status'`: the exit status comes from the
    shell's own wait, not from tmux's #{pane_dead_status}. (tmux 3.3a sometimes never reaps the
    exited claude: it stays a zombie, #{pane_dead} is 1 but #{pane_dead_status} stays empty.)"""

    def __init__(self, workdir, command, cwd, cols=COLS, rows=ROWS):
        self.sock = os.path.join(workdir, "tmux.sock")
        self.status_path = os.path.join(workdir, "exit-status")
        conf = os.path.join(workdir, "tmux.conf")
        with open(conf, "w") as f:
            # Keep the pane after the program ends, so its last screen stays readable.
            f.write("set-option -g remain-on-exit on\nset-option -g history-limit 5000\n"
                    "set-option -g default-shell /bin/sh\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        self.base = ["tmux", "-S", self.sock, "-f", conf]
        self.target = "e2e"
        tmp = self.status_path + ".tmp"
        script = "%s; echo $? > %s && mv %s %s" % (command, shlex.quote(tmp), shlex.quote(tmp),
                                                   shlex.quote(self.status_path))
        # -P -F prints the server's pid: kill() can end it even if the socket is gone.
        p = subprocess.run(self.base + ["new-session", "-d", "-P", "-F", "#{pid}", "-s", self.target,
                                        "-x", str(cols), "-y", str(rows), "-c", cwd, script],
                           env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, errors="replace", timeout=30)
        self.server_pid = int(p.stdout.strip()) if p.stdout.strip().isdigit() else None
        if p.returncode != 0:
            self.kill()
            raise RuntimeError("tmux new-session exited %d: %s" % (p.returncode, p.stderr.strip()))

    def _run(self, args, check=False):
        return subprocess.run(self.base + args, env=self.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                              check=check, timeout=20)

    def capture(self, history=False):
        """The visible screen (with history=True: the whole scrollback too)."""
        p = self._run(["capture-pane", "-p", "-t", self.target] + (["-S", "-"] if history else []))
        return p.stdout if p.returncode == 0 else ""

    def send_literal(self, text):
        p = self._run(["send-keys", "-t", self.target, "-l", text])
        if p.returncode != 0:
            raise Failed("tmux send-keys failed (exit %d): %s" % (p.returncode, p.stderr.strip()))

    def send_key(self, *keys):
        p = self._run(["send-keys", "-t", self.target] + list(keys))
        if p.returncode != 0:
            raise Failed("tmux send-keys failed (exit %d): %s" % (p.returncode, p.stderr.strip()))

    def gone(self):
        """Why this tmux cannot be used any more (socket removed, server ended), or None."""
        if not os.path.exists(self.sock):
            return "the tmux socket %s was removed" % self.sock
        if self.server_pid and not os.path.exists("/proc/%d" % self.server_pid):
            return "the tmux server (pid %d) ended" % self.server_pid
        return None

    def dead(self):
        """None while claude runs, else its exit status (128+N when killed by signal N)."""
        try:
            with open(self.status_path) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else "?"

    def kill(self):
        try:
            self._run(["kill-server"])
        except subprocess.TimeoutExpired:
            pass
        # Without its socket (a removed work dir) kill-server cannot reach the server: end it by pid.
        if self.server_pid:
            try:
                with open("/proc/%d/cmdline" % self.server_pid, "rb") as f:
                    mine = self.sock.encode() in f.read()
            except OSError:
                mine = False
            if mine:
                try:
                    os.kill(self.server_pid, signal.SIGTERM)
                except OSError:
                    pass


# --------------------------------------------------------------------------- screen helpers
RULE = re.compile(r"^\s*─{20,}\s*$")


def input_box(screen):
    """Text between the last two horizontal rules (the input box), or None when there is none."""
    lines = screen.rstrip("\n").split("\n")
    rules = [i for i, l in enumerate(lines) if RULE.match(l)]
    if len(rules) < 2:
        return None
    a, b = rules[-2], rules[-1]
    return "\n".join(lines[a + 1:b])


def box_text(box):
    """Input box text without the prompt character and without any whitespace."""
    t = re.sub(r"^\s*[❯>]", "", box or "", count=1)
    return re.sub(r"\s+", "", t)


def tidy(screen):
    """Screen without trailing blanks and without runs of empty lines (for reports)."""
    out, blank = [], 0
    for l in screen.rstrip().split("\n"):
        l = l.rstrip()
        blank = blank + 1 if not l else 0
        if blank <= 1:
            out.append(l)
    return "\n".join(out)


# --------------------------------------------------------------------------- logs
def read_jsonl(path):
    """Lines of a JSON-lines file that is still being appended to (a torn last line is skipped)."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return out


def payloads(hooks):
    out = []
    for h in hooks:
        try:
            d = json.loads(h.get("stdin") or "{}")
        except ValueError:
            d = {}
        out.append((h.get("event"), d if isinstance(d, dict) else {}))
    return out


def finished_state(scenario, hooks, reqs, last_prompt=True):
    """Which of the "conversation is over" conditions still fail: [] when all hold. The stand-in
    must have answered the script's last main step only after the last prompt (a follow-up's steps
    are still to come before it)."""
    unmet = []
    hooks = sorted(hooks, key=lambda r: r["start_ns"])
    evs = payloads(hooks)
    last_step = len(scenario["steps"]) - 1 if last_prompt else -1
    main = [r for r in reqs if r.get("kind") == "messages" and r.get("scenario")
            and not r.get("agent_id") and not r.get("depth")]
    if last_step >= 0 and not any(r.get("step", -1) >= last_step for r in main):
        unmet.append("the stand-in has not answered main step %d yet (main steps answered: %s)"
                     % (last_step, sorted({r.get("step") for r in main})))
    starts, closes = {}, {}
    agent_failures = 0
    for ev, d in evs:
        aid = d.get("agent_id")
        if ev == "SubagentStart" and aid:
            starts[aid] = starts.get(aid, 0) + 1
        elif ev in ("SubagentStop", "StopFailure") and aid:
            closes[aid] = closes.get(aid, 0) + 1
        elif ev == "PostToolUseFailure" and d.get("tool_name") in ("Agent", "Task"):
            agent_failures += 1
    open_agents = sorted(a for a, n in starts.items() if closes.get(a, 0) < n)
    if len(open_agents) > agent_failures:
        unmet.append("subagents still open: %s" % ", ".join(open_agents))
    ups = [i for i, (ev, _) in enumerate(evs) if ev == "UserPromptSubmit"]
    if not ups:
        unmet.append("no UserPromptSubmit yet")
    else:
        ends = [d for ev, d in evs[ups[-1] + 1:] if ev in MAIN_END and not d.get("agent_id")]
        if not ends:
            unmet.append("no main-thread Stop/StopFailure after the last UserPromptSubmit")
        else:
            running = [t for t in (ends[-1].get("background_tasks") or [])
                       if isinstance(t, dict) and t.get("status") in (None, "running", "pending")]
            if running:
                unmet.append("the last Stop lists running background tasks: %s"
                             % ", ".join(str(t.get("id")) for t in running))
    return unmet


def event_lines(hooks):
    """One line per hook call: event, prompt_id, agent_id, agent_type, source, tool, prompt head."""
    out = []
    for ev, d in payloads(sorted(hooks, key=lambda r: r["start_ns"])):
        bits = [ev, "prompt=%s" % (d.get("prompt_id") or "-")]
        if d.get("agent_id") or d.get("agent_type"):
            bits.append("agent=%s/%s" % (d.get("agent_id") or "-", d.get("agent_type")))
        if "source" in d:
            bits.append("source=%s" % d["source"])
        if d.get("tool_name"):
            bits.append("tool=%s" % d["tool_name"])
        if ev == "PostToolUse" and isinstance(d.get("tool_response"), dict):
            st = d["tool_response"].get("status")
            if st:
                bits.append("status=%s" % st)
        if ev in MAIN_END + ("SubagentStop",) and d.get("background_tasks"):
            bits.append("bg=%s" % ",".join("%s:%s" % (t.get("id"), t.get("status"))
                                           for t in d["background_tasks"] if isinstance(t, dict)))
        if ev == "StopFailure":
            bits.append("error=%s" % d.get("error"))
        if ev == "SessionEnd":
            bits.append("reason=%s" % d.get("reason"))
        if ev == "UserPromptSubmit":
            bits.append("prompt=%r" % (d.get("prompt") or "")[:80])
        out.append("  ".join(bits))
    return out


# --------------------------------------------------------------------------- set-up helpers
def write_claude_json(home, proj, api_key):
    """HOME/.claude.json so the TUI starts straight into the input box (no onboarding, no key
    question, no bypass-mode question, no trust dialog). Existing keys are kept."""
    path = os.path.join(home, ".claude.json")
    conf = {}
    if os.path.exists(path):
        with open(path) as f:
            text = f.read().strip()
        conf = json.loads(text) if text else {}
    conf["hasCompletedOnboarding"] = True
    conf["bypassPermissionsModeAccepted"] = True
    keys = conf.setdefault("customApiKeyResponses", {})
    approved = keys.setdefault("approved", [])
    if api_key[-20:] not in approved:
        approved.append(api_key[-20:])
    keys.setdefault("rejected", [])
    conf.setdefault("projects", {}).setdefault(proj, {})["hasTrustDialogAccepted"] = True
    with open(path + ".e2e-tmp", "w") as f:
        json.dump(conf, f, indent=2)
    os.replace(path + ".e2e-tmp", path)


def call_post_check(post_check, **kw):
    """post_check(..., mode="interactive"); mode is left out if post_check does not take it."""
    try:
        params = inspect.signature(post_check).parameters
        takes_mode = "mode" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    except (TypeError, ValueError):
        takes_mode = True
    if takes_mode:
        kw["mode"] = "interactive"
    return post_check(**kw)


class Failed(Exception):
    pass


# --------------------------------------------------------------------------- the run
class Driver:
    """Types into the TUI and waits on the hook log, the stand-in's request log and the screen.
    Every wait raises Failed(message with the screen) on its timeout or when Claude Code ends early."""

    def __init__(self, tmux, scenario, hook_log, standin_log, deadline, mark):
        self.tmux, self.scenario = tmux, scenario
        self.hook_log, self.standin_log = hook_log, standin_log
        self.deadline, self.mark = deadline, mark
        self.checked = 0.0

    def check_alive(self, what):
        """Fail at once when Claude Code ended, or when the run's HOME, work dir or tmux went away
        (something else deleted them: waiting on would only end in a timeout)."""
        st = self.tmux.dead()
        if st is not None:
            self.fail("Claude Code ended (exit %s) while %s" % (st, what))
        if time.time() - self.checked < 1:
            return
        self.checked = time.time()
        for path in (os.path.dirname(self.hook_log), os.path.dirname(self.standin_log)):
            if not os.path.isdir(path):
                raise Failed("%s was removed during the run (by another process?) while %s" % (path, what))
        why = self.tmux.gone()
        if why:
            raise Failed("%s while %s" % (why, what))

    def hooks(self):
        return read_jsonl(self.hook_log)

    def count(self, event):
        return sum(1 for h in self.hooks() if h.get("event") == event)

    def fail(self, msg):
        raise Failed("%s; screen:\n%s" % (msg, tidy(self.tmux.capture())))

    def wait(self, what, cond, secs=None):
        """Poll cond() until it is true; None when `secs` (or the overall deadline) ran out."""
        until = self.deadline if secs is None else min(self.deadline, time.time() + secs)
        while True:
            v = cond()
            if v:
                return v
            self.check_alive(what)
            if time.time() > until:
                return None
            time.sleep(POLL)

    def wait_input_box(self):
        """The input box is there and empty, SessionStart has run, and the screen has not changed
        for 0.5 s (so the TUI has finished drawing and takes keys)."""
        last = {"screen": None, "since": time.time()}

        def ready():
            s = self.tmux.capture()
            if s != last["screen"]:
                last["screen"], last["since"] = s, time.time()
                return False
            box = input_box(s)
            return (box is not None and box_text(box) == "" and time.time() - last["since"] >= 0.5
                    and self.count("SessionStart") > 0)
        if not self.wait("waiting for the input box", ready, READY_TIMEOUT):
            self.fail("the empty input box did not appear within %ds (or SessionStart did not run)" % READY_TIMEOUT)

    def submit(self, prompt):
        """Type `prompt`, check that all of it shows in the input box (a long paste may be folded
        into "[Pasted text #1 ...]"), press Enter and wait for its UserPromptSubmit."""
        before = self.count("UserPromptSubmit")
        self.tmux.send_literal(prompt)
        want = re.sub(r"\s+", "", prompt)

        def typed():
            t = box_text(input_box(self.tmux.capture()))
            return want in t or "[Pastedtext" in t
        if not self.wait("typing the prompt", typed, TYPE_TIMEOUT):
            self.fail("the typed prompt did not show up in the input box within %ds" % TYPE_TIMEOUT)

        def submitted():
            return self.count("UserPromptSubmit") > before
        for _ in range(3):
            self.tmux.send_key("Enter")
            if self.wait("submitting the prompt", submitted, SUBMIT_TIMEOUT):
                return
            if not typed():  # the box was emptied: it was submitted, the hook is slow
                if self.wait("submitting the prompt", submitted):
                    return
                self.fail("no UserPromptSubmit after the prompt left the input box")
            self.mark("Enter did not submit; pressing it again")
        self.fail("Enter did not submit the prompt (3 tries)")

    def wait_over(self, last_prompt=True):
        """Until finished_state() holds and neither log has grown for SETTLE seconds."""
        sizes = {"v": None, "since": time.time()}
        while True:
            v = tuple(os.path.getsize(p) if os.path.exists(p) else 0 for p in (self.hook_log, self.standin_log))
            now = time.time()
            if v != sizes["v"]:
                sizes["v"], sizes["since"] = v, now
            unmet = finished_state(self.scenario, self.hooks(), read_jsonl(self.standin_log), last_prompt)
            if not unmet and now - sizes["since"] >= SETTLE:
                return
            self.check_alive("the conversation ran")
            if now > self.deadline:
                raise Failed("timeout: the conversation was not over; waiting for: %s; last screen:\n%s"
                             % ("; ".join(unmet) or "%.1f s of quiet" % SETTLE, tidy(self.tmux.capture())))
            time.sleep(POLL * 2)

    def conversation(self, prompts):
        """Each prompt in turn, each waited for until the conversation is over. Returns the screen."""
        for i, prompt in enumerate(prompts):
            label = "prompt" if i == 0 else "follow-up %d" % i
            self.wait_input_box()
            self.mark("input box ready for %s" % label)
            self.submit(prompt)
            self.mark("%s submitted" % label)
            self.wait_over(last_prompt=i == len(prompts) - 1)
            self.mark("%s over" % label)
        return tidy(self.tmux.capture())


def leave(tmux, mark, interrupt=False):
    """Type /exit and wait for the TUI to end (Escape first when `interrupt`, i.e. after a
    timeout), so SessionEnd hooks run. Returns (exit status or "killed", screen, problems)."""
    st = tmux.dead()
    if st is not None:
        return st, tidy(tmux.capture()), []
    why = tmux.gone()
    if why:
        return "killed", "", ["could not type /exit: %s" % why]
    try:
        if interrupt:
            tmux.send_key("Escape")
            time.sleep(0.5)
        tmux.send_literal("/exit")
        until = time.time() + 5
        while time.time() < until and "/exit" not in box_text(input_box(tmux.capture())):
            time.sleep(POLL)
        tmux.send_key("Enter")
        until = time.time() + EXIT_WAIT
        pressed_again = False
        while time.time() < until:
            st = tmux.dead()
            if st is not None:
                return st, tidy(tmux.capture()), []
            if not pressed_again and time.time() > until - EXIT_WAIT / 2:
                tmux.send_key("Enter")  # e.g. the slash-command menu took the first Enter
                pressed_again = True
            time.sleep(POLL)
    except Failed as e:
        return "killed", tidy(tmux.capture()), ["could not type /exit: %s" % e]
    screen = tidy(tmux.capture())
    mark("killing the tmux session")
    return "killed", screen, ["Claude Code did not exit within %ds of /exit (killed); screen:\n%s"
                              % (EXIT_WAIT, screen)]


def run(scenario_path, claude=None, quiet=True, pre_cmd=None, post_check=None, keep_home=False, out=None,
        timeout=None, home=None, env_overrides=None):
    """Run one scenario through the interactive TUI; returns run_scenario.run()'s summary dict."""
    with open(scenario_path) as f:
        scenario = json.load(f)
    name = scenario.get("name") or os.path.splitext(os.path.basename(scenario_path))[0]
    claude = rs.find_claude(claude)

    timing = {}

    def mark(msg):
        """Remember when a phase was reached (seconds since the start); say it unless quiet."""
        timing[msg] = round(time.time() - t0, 2)
        if not quiet:
            sys.stderr.write("interactive[%s] %.1fs: %s\n" % (name, time.time() - t0, msg))

    t0 = time.time()
    own_home = home is None
    home = os.path.abspath(home or tempfile.mkdtemp(prefix="e2e-i-%s-" % name))
    work = tempfile.mkdtemp(prefix="e2e-istandin-")
    proj = rs.prepare_home(home)
    hook_log = os.path.join(home, ".e2e", "hooks.jsonl")
    if os.path.exists(hook_log):  # a reused HOME: start this run's hook log afresh
        os.replace(hook_log, hook_log + ".previous")

    def cleanup_dirs():
        shutil.rmtree(work, ignore_errors=True)
        scratch = os.path.join(tempfile.gettempdir(), "claude-%d" % os.getuid(),
                               re.sub(r"[^A-Za-z0-9]", "-", proj))
        if own_home and not keep_home:
            shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)

    pre_output = None
    if pre_cmd:  # e.g. the project's ./install.sh against this HOME, before our hooks are merged in
        p = subprocess.run(pre_cmd, shell=True, env=dict(os.environ, HOME=home), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        pre_output = p.stdout
        if p.returncode != 0:
            cleanup_dirs()
            raise RuntimeError("--pre-cmd %r exited %d:\n%s" % (pre_cmd, p.returncode, p.stdout[-3000:]))
        if not quiet and pre_output:
            sys.stderr.write(pre_output)
    cmd, hook_log = rs.install_log_hook(home)
    rs.merge_log_hooks(home, cmd)
    write_claude_json(home, proj, API_KEY)

    # The scenario's own environment for Claude Code ("env": {KEY: VALUE}); the caller's overrides win.
    env_overrides = ["%s=%s" % kv for kv in (scenario.get("env") or {}).items()] + list(env_overrides or [])
    agents = rs.load_agents(scenario.get("agents"))
    timeout = timeout or scenario.get("timeout", 120)
    # Follow-ups are typed into the same TUI session once the conversation before them is over.
    prompts = ["SCENARIO " + json.dumps({"steps": scenario["steps"]})] + list(scenario.get("followups") or [])
    args = [claude, "--dangerously-skip-permissions"]
    if agents:
        args += ["--agents", json.dumps(agents)]

    problems = []
    screen = exit_screen = ""
    rc = None
    standin = rs.Standin(work)
    tmux = None
    t_run = time.time()
    try:
        env = rs.claude_env(home, standin.port, ["ANTHROPIC_API_KEY=" + API_KEY, "TERM=xterm-256color",
                                                 "COLORTERM="] + list(env_overrides or []))
        command = "env -i %s %s" % (" ".join(shlex.quote("%s=%s" % kv) for kv in sorted(env.items())),
                                         " ".join(shlex.quote(a) for a in args))
        tmux = Tmux(work, command, proj)
        mark("tmux session started")
        try:
            screen = Driver(tmux, scenario, hook_log, standin.log, t_run + timeout, mark).conversation(prompts)
        except Failed as e:
            problems.append(str(e))
            screen = tidy(tmux.capture())
            rc = "timeout" if str(e).startswith("timeout") else None
        history = tmux.capture(history=True)  # before /exit: the TUI clears the screen when it ends
        st, exit_screen, more = leave(tmux, mark, interrupt=rc == "timeout")
        mark("exited")
        problems += more
        if rc is None:
            rc = st
    except BaseException:
        if tmux:
            tmux.kill()
        standin.stop()
        cleanup_dirs()
        raise
    tmux.kill()
    standin.stop()
    secs = round(time.time() - t0, 2)
    run_secs = round(time.time() - t_run, 2)

    reqs = read_jsonl(standin.log)
    hooks = rs.read_hooks(hook_log)
    # Built-in checks: no result JSON in interactive mode; hook counts only where the scenario says
    # what to expect in interactive mode.
    exp = scenario.get("expect") or {}
    iscen = dict(scenario, expect={"hooks": exp.get("interactive_hooks") or {},
                                   "requests": exp.get("interactive_requests", exp.get("requests")) or {},
                                   "derive": False})
    want_rc = exp.get("interactive_exit", 0)
    if rc not in (want_rc, "timeout"):
        problems.append("claude exit %s (want %s); screen:\n%s" % (rc, want_rc, exit_screen or screen))
    # The TUI shows a failing hook as "Stop hook failed" / "... hook error" (and "stop hook problem"
    # in the corner); the log has no trace of it.
    noisy = sorted({l.strip() for l in history.split("\n") if re.search(r"hooks? (error|failed|problem)", l, re.I)})
    if noisy:
        problems.append("the screen shows hook errors:\n    " + "\n    ".join(noisy[:10]))
    more, counts = rs.check(iscen, [], hooks, reqs)
    problems += more
    runs = [{"rc": rc, "secs": run_secs, "stdout": "", "stderr": "", "result": None, "screen": screen,
             "exit_screen": exit_screen}]
    extra = {}
    if post_check:  # more checks against the HOME before it is removed (check.py: the telemetry)
        try:
            more, extra = call_post_check(post_check, scenario=scenario, home=home, proj=proj, runs=runs,
                                          hooks=hooks, reqs=reqs)
        except Exception as e:  # report, never hide
            import traceback
            more = ["post-check crashed: %r\n%s" % (e, traceback.format_exc())]
        problems += more
    extra = dict(extra or {})
    extra["screen"] = screen
    extra["exit_screen"] = exit_screen
    extra["timing"] = timing  # seconds since the start at which each phase was reached
    if out:
        rs.write_recording(out, home, scenario, [], hooks, reqs)
        rw = rs.rewriter(home)
        with open(os.path.join(out, "screen.txt"), "w", encoding="utf-8") as f:
            f.write(rw(screen) + "\n")
    try:
        with open(standin.err_path) as f:
            unknown = [l for l in f if l.strip()]
    except FileNotFoundError:
        unknown = []
    summary = {
        "name": name, "ok": not problems, "problems": problems, "secs": secs,
        "runs": [{"rc": rc, "secs": run_secs}], "results": [],
        "hook_counts": counts, "requests": len(reqs), "standin_stderr": unknown,
        "home": home if keep_home or not own_home else None,
        "pre_cmd_output": pre_output, "extra": extra,
    }
    cleanup_dirs()
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario")
    ap.add_argument("--keep-home", action="store_true")
    ap.add_argument("--out", help="write a recording into this directory")
    ap.add_argument("--claude", help="Claude Code binary (default: $E2E_CLAUDE_BIN or claude.sh)")
    ap.add_argument("--timeout", type=float, help="seconds for the whole conversation (default: scenario's or 120)")
    ap.add_argument("--pre-cmd", help="shell command run with HOME set before claude starts (e.g. ./install.sh)")
    ap.add_argument("--env", action="append", help="KEY=VALUE for Claude Code's environment (KEY= removes); repeatable")
    ap.add_argument("--events", action="store_true", help="also print the hook calls in order (stderr with --json)")
    ap.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    a = ap.parse_args()
    s = run(a.scenario, claude=a.claude, quiet=not a.verbose, pre_cmd=a.pre_cmd, keep_home=a.keep_home or a.events,
            out=a.out, timeout=a.timeout, env_overrides=a.env)
    side = sys.stderr if a.json else sys.stdout
    if a.json:
        print(json.dumps(s, indent=1))
    else:
        print(rs.describe(s))
        print("       interactive: exit %s after %ss; %s" % (s["runs"][0]["rc"], s["runs"][0]["secs"],
                                                           json.dumps(s["extra"].get("timing"))))
    if a.events and s["home"]:
        for line in event_lines(rs.read_hooks(os.path.join(s["home"], ".e2e", "hooks.jsonl"))):
            print("   " + line, file=side)
        if not a.keep_home:  # kept only to read the hook log
            shutil.rmtree(os.path.join(tempfile.gettempdir(), "claude-%d" % os.getuid(),
                                       re.sub(r"[^A-Za-z0-9]", "-", os.path.join(s["home"], "proj"))),
                          ignore_errors=True)
            shutil.rmtree(s["home"], ignore_errors=True)
            s["home"] = None
    if s["home"]:
        print("HOME kept at", s["home"], file=side)
    sys.exit(0 if s["ok"] else 1)


if __name__ == "__main__":
    main()
