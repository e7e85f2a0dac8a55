#!/usr/bin/env python3
"""Unit tests for interactive.py's pure parts (no Claude Code, no tmux needed):

    python3 -m unittest tests/e2e/test_interactive.py

With E2E_INTERACTIVE=1 it also drives the real TUI once (background-agent scenario; needs tmux and
Claude Code via claude.sh or $E2E_CLAUDE_BIN).
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import interactive as it  # noqa: E402

RULE = "─" * 200

# What 2.1.332 drew while idle and after typing (copied from a real capture-pane).
IDLE = """
 ▐▛███▛█   Claude Code v2.1.332
▝▜██████▀  Opus 5.5 · API Usage Billing
 ▝▝   ▝▝   ~/proj

                                                                                    ◐ medium · /effort
%s
❯ 
%s
  ⏵⏵ bypass permissions on (shift+tab to cycle) · ← for agents
""" % (RULE, RULE)

TYPED = """
 ▐▛███▛█   Claude Code v2.1.332
%s
❯ SCENARIO {"steps": [{"agents": [{"type": "security-auditor", "description": "Background security scan", "background": true, "prompt": "SCENARIO {\\"steps\\": [{\\"sleep_ms\\": 500, \\"bash\\": [\\"echo
  scan\\"]}, {\\"text\\": \\"scan complete\\"}]}"}]}, {"text": "Started scan"}, {"text": "Scan reported"}]}
%s
  ⏵⏵ bypass permissions on (shift+tab to cycle)
""" % (RULE, RULE)

SCENARIO = {"name": "t", "steps": [{"agents": [{"type": "security-auditor", "background": True,
                                                "prompt": "x"}]},
                                   {"text": "Started scan"}, {"text": "Scan reported"}]}


def hook(event, t, **payload):
    return {"start_ns": t, "event": event, "stdin": json.dumps(dict(payload, hook_event_name=event))}


def req(step, agent_id=None, depth=0, status=200):
    return {"kind": "messages", "scenario": True, "step": step, "agent_id": agent_id, "depth": depth,
            "status": status}


# The background-agent run on 2.1.332 in interactive mode, as the logging hook saw it.
BG_HOOKS = [
    hook("SessionStart", 1, source="startup"),
    hook("UserPromptSubmit", 2, prompt_id="p1", prompt="SCENARIO {...}"),
    hook("PreToolUse", 3, prompt_id="p1", tool_name="Agent"),
    hook("SubagentStart", 4, prompt_id="p1", agent_id="a1", agent_type="security-auditor"),
    hook("PostToolUse", 5, prompt_id="p1", tool_name="Agent", tool_response={"status": "async_launched"}),
    hook("Stop", 6, prompt_id="p1", background_tasks=[{"id": "a1", "status": "running"}]),
    hook("SubagentStop", 7, prompt_id="p1", agent_id="a1", agent_type="security-auditor",
         background_tasks=[{"id": "a1", "status": "running"}]),
    hook("UserPromptSubmit", 8, prompt_id="p2", prompt="<task-notification>\n<task-id>a1</task-id>"),
    hook("Stop", 9, prompt_id="p2", background_tasks=[]),
]
BG_REQS = [req(0), req(1), req(0, "a1", 1), req(1, "a1", 1), req(2)]


class Screen(unittest.TestCase):
    def test_idle_box_is_empty(self):
        self.assertEqual(it.box_text(it.input_box(IDLE)), "")

    def test_typed_prompt_found_across_wrapped_lines(self):
        prompt = ('SCENARIO {"steps": [{"agents": [{"type": "security-auditor", "description": "Background '
                  'security scan", "background": true, "prompt": "SCENARIO {\\"steps\\": [{\\"sleep_ms\\": 500, '
                  '\\"bash\\": [\\"echo scan\\"]}, {\\"text\\": \\"scan complete\\"}]}"}]}, {"text": "Started '
                  'scan"}, {"text": "Scan reported"}]}')
        self.assertIn("".join(prompt.split()), it.box_text(it.input_box(TYPED)))

    def test_no_box(self):
        self.assertIsNone(it.input_box("Resume this session with:\nclaude --resume x\n"))
        self.assertEqual(it.box_text(None), "")

    def test_tidy(self):
        self.assertEqual(it.tidy("a  \n\n\n\nb\n\n"), "a\n\nb")


class Finished(unittest.TestCase):
    def test_whole_background_run_is_over(self):
        self.assertEqual(it.finished_state(SCENARIO, BG_HOOKS, BG_REQS), [])

    def test_first_stop_lists_a_running_agent(self):
        unmet = it.finished_state(SCENARIO, BG_HOOKS[:7], BG_REQS[:4])
        self.assertTrue(any("main step 2" in u for u in unmet), unmet)
        self.assertTrue(any("running background tasks: a1" in u for u in unmet), unmet)

    def test_open_subagent(self):
        unmet = it.finished_state(SCENARIO, BG_HOOKS[:6], BG_REQS)
        self.assertTrue(any("subagents still open: a1" in u for u in unmet), unmet)

    def test_notification_turn_not_stopped_yet(self):
        unmet = it.finished_state(SCENARIO, BG_HOOKS[:8], BG_REQS)
        self.assertEqual(unmet, ["no main-thread Stop/StopFailure after the last UserPromptSubmit"])

    def test_subagent_stop_does_not_end_the_turn(self):
        hooks = BG_HOOKS[:8] + [hook("Stop", 9, prompt_id="p2", agent_id="a1")]
        self.assertIn("no main-thread Stop/StopFailure after the last UserPromptSubmit",
                      it.finished_state(SCENARIO, hooks, BG_REQS))

    def test_resumed_agent_needs_its_second_stop(self):
        # nested agents: a parent is resumed after its child's notification (SubagentStart twice)
        hooks = BG_HOOKS[:7] + [hook("SubagentStart", 7.5, prompt_id="p1", agent_id="a1")] + BG_HOOKS[7:]
        self.assertTrue(any("subagents still open: a1" in u for u in it.finished_state(SCENARIO, hooks, BG_REQS)))
        hooks.insert(8, hook("SubagentStop", 7.6, prompt_id="p1", agent_id="a1"))
        self.assertEqual(it.finished_state(SCENARIO, hooks, BG_REQS), [])

    def test_agent_killed_by_api_error_closes_with_stop_failure(self):
        hooks = [h for h in BG_HOOKS if h["event"] != "SubagentStop"]
        hooks.insert(6, hook("StopFailure", 7, prompt_id="p1", agent_id="a1", error="unknown"))
        self.assertEqual(it.finished_state(SCENARIO, hooks, BG_REQS), [])

    def test_turn_ending_in_stop_failure(self):
        hooks = BG_HOOKS[:8] + [hook("StopFailure", 9, prompt_id="p2", error="unknown")]
        self.assertEqual(it.finished_state(SCENARIO, hooks, BG_REQS + [req(2, status=400)]), [])

    def test_before_a_follow_up_the_last_step_is_not_needed(self):
        self.assertEqual(it.finished_state(SCENARIO, BG_HOOKS, BG_REQS[:4], last_prompt=False), [])
        self.assertNotEqual(it.finished_state(SCENARIO, BG_HOOKS, BG_REQS[:4], last_prompt=True), [])

    def test_subagent_and_side_requests_are_not_main_steps(self):
        reqs = [req(0), req(1), req(2, "a1", 1), dict(req(5), scenario=False)]
        self.assertTrue(any("main step 2" in u for u in it.finished_state(SCENARIO, BG_HOOKS, reqs)))

    def test_event_lines(self):
        lines = it.event_lines(BG_HOOKS)
        self.assertEqual(len(lines), len(BG_HOOKS))
        self.assertIn("agent=a1/security-auditor", lines[3])
        self.assertIn("status=async_launched", lines[4])
        self.assertIn("bg=a1:running", lines[5])
        self.assertIn("'<task-notification>", lines[7])


class Setup(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="test-interactive-")

    def tearDown(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def test_claude_json_is_merged(self):
        path = os.path.join(self.home, ".claude.json")
        with open(path, "w") as f:
            json.dump({"keep": 1, "projects": {"/other": {"x": 2}},
                       "customApiKeyResponses": {"approved": ["old"]}}, f)
        it.write_claude_json(self.home, "/h/proj", it.API_KEY)
        it.write_claude_json(self.home, "/h/proj", it.API_KEY)  # idempotent
        with open(path) as f:
            d = json.load(f)
        self.assertEqual(d["keep"], 1)
        self.assertTrue(d["hasCompletedOnboarding"] and d["bypassPermissionsModeAccepted"])
        self.assertEqual(d["customApiKeyResponses"], {"approved": ["old", it.API_KEY[-20:]], "rejected": []})
        self.assertEqual(d["projects"], {"/other": {"x": 2}, "/h/proj": {"hasTrustDialogAccepted": True}})
        self.assertGreaterEqual(len(it.API_KEY), 20)

    def test_post_check_gets_mode_only_when_it_takes_it(self):
        def old(scenario, home):
            return [], {"old": True}

        def new(scenario, home, mode="p"):
            return [], {"mode": mode}

        def kw(**k):
            return [], k
        self.assertEqual(it.call_post_check(old, scenario=1, home=2), ([], {"old": True}))
        self.assertEqual(it.call_post_check(new, scenario=1, home=2), ([], {"mode": "interactive"}))
        self.assertEqual(it.call_post_check(kw, scenario=1)[1]["mode"], "interactive")


@unittest.skipUnless(os.environ.get("E2E_INTERACTIVE") == "1", "set E2E_INTERACTIVE=1 to drive the real TUI")
class RealTui(unittest.TestCase):
    def test_background_agent(self):
        out = tempfile.mkdtemp(prefix="test-interactive-rec-")
        try:
            s = it.run(os.path.join(HERE, "scenarios", "background-agent.json"), out=out)
            self.assertTrue(s["ok"], s["problems"])
            self.assertEqual(s["runs"][0]["rc"], 0)
            self.assertEqual(s["results"], [])
            self.assertEqual(s["hook_counts"].get("UserPromptSubmit"), 2)  # + the notification turn
            self.assertEqual(s["hook_counts"].get("SessionEnd"), 1)
            self.assertIn("Scan reported", s["extra"]["screen"])
            self.assertTrue(os.path.exists(os.path.join(out, "screen.txt")))
            self.assertFalse(os.path.exists(os.path.join(out, "result.json")))
            self.assertTrue(os.listdir(os.path.join(out, "hooks")))
        finally:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
