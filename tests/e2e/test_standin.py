#!/usr/bin/env python3
"""Unit tests of the stand-in API alone (no Claude Code): python3 -m unittest tests/e2e/test_standin.py"""

import http.client
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_scenario  # noqa: E402
import standin  # noqa: E402


def parse_sse(text):
    events = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(l.split(": ", 1) for l in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


class StandinTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.log = os.path.join(cls.tmp, "req.jsonl")
        cls.srv, cls.port = standin.serve(log_path=cls.log)

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()
        if cls.srv.RequestHandlerClass.state.log_file:
            cls.srv.RequestHandlerClass.state.log_file.close()

    def post(self, path, body):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        out = r.status, r.getheader("Content-Type"), r.read().decode()
        c.close()
        return out

    def conv(self, steps, n_assistant=0, stream=True, reminder=True):
        content = [{"type": "text", "text": "SCENARIO " + json.dumps({"steps": steps})}]
        if reminder:
            content.insert(0, {"type": "text", "text": "<system-reminder>x</system-reminder>"})
        msgs = [{"role": "user", "content": content}]
        for _ in range(n_assistant):
            msgs += [{"role": "assistant", "content": [{"type": "text", "text": "."}]},
                     {"role": "user", "content": "go on"}]
        return {"model": "claude-opus-5-5", "max_tokens": 10, "stream": stream, "messages": msgs}

    def test_stream_agents_and_bash(self):
        steps = [{"agents": [{"type": "backend-architect", "description": "d", "background": False,
                              "steps": [{"text": "child"}]},
                             {"type": "x", "description": "e", "prompt": "plain"}],
                  "bash": ["ls"], "usage": {"in": 7, "out": 3, "cache_read": 5, "cache_write": 11}}]
        status, ctype, body = self.post("/v1/messages?beta=true", self.conv(steps))
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/event-stream"))
        ev = parse_sse(body)
        names = [e for e, _ in ev]
        self.assertEqual(names[0], "message_start")
        self.assertEqual(names[-2:], ["message_delta", "message_stop"])
        self.assertEqual(names.count("content_block_start"), 3)
        start = ev[0][1]["message"]
        self.assertTrue(start["id"].startswith("msg_"))
        self.assertEqual(start["usage"]["input_tokens"], 7)
        self.assertEqual(start["usage"]["cache_read_input_tokens"], 5)
        self.assertEqual(start["usage"]["cache_creation_input_tokens"], 11)
        self.assertEqual(ev[-2][1]["delta"]["stop_reason"], "tool_use")
        self.assertEqual(ev[-2][1]["usage"]["output_tokens"], 3)
        # reassemble the tool inputs from input_json_delta
        inputs, names_ = {}, {}
        for e, d in ev:
            if e == "content_block_start":
                names_[d["index"]] = d["content_block"]
            if e == "content_block_delta" and d["delta"]["type"] == "input_json_delta":
                inputs[d["index"]] = inputs.get(d["index"], "") + d["delta"]["partial_json"]
        first = json.loads(inputs[0])
        self.assertEqual(names_[0]["name"], "Agent")
        self.assertEqual(first["subagent_type"], "backend-architect")
        self.assertIs(first["run_in_background"], False)
        self.assertTrue(first["prompt"].startswith("SCENARIO {"))
        self.assertNotIn("run_in_background", json.loads(inputs[1]))
        self.assertEqual(json.loads(inputs[2]), {"command": "ls", "description": "run"})
        ids = {b["id"] for b in names_.values()}
        self.assertEqual(len(ids), 3)

    def test_step_index_and_exhaustion(self):
        steps = [{"bash": ["ls"]}, {"text": "second"}]
        _, _, body = self.post("/v1/messages", self.conv(steps, n_assistant=1, stream=False))
        msg = json.loads(body)
        self.assertEqual(msg["content"], [{"type": "text", "text": "second"}])
        self.assertEqual(msg["stop_reason"], "end_turn")
        _, _, body = self.post("/v1/messages", self.conv(steps, n_assistant=5, stream=False))
        self.assertEqual(json.loads(body)["content"][0]["text"], "done")

    def test_error_and_error_times(self):
        status, _, body = self.post("/v1/messages", self.conv([{"error": 400}]))
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"]["type"], "invalid_request_error")
        steps = [{"error": 529, "error_times": 1, "text": "after"}]
        status, _, body = self.post("/v1/messages", self.conv(steps, stream=False))
        self.assertEqual((status, json.loads(body)["error"]["type"]), (529, "overloaded_error"))
        status, _, body = self.post("/v1/messages", self.conv(steps, stream=False))
        self.assertEqual((status, json.loads(body)["content"][0]["text"]), (200, "after"))

    def test_side_request_and_count_tokens_and_unknown(self):
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "title please"}]}
        status, _, text = self.post("/v1/messages", body)
        self.assertEqual(status, 200)
        status, _, text = self.post("/v1/messages/count_tokens", body)
        self.assertEqual(status, 200)
        self.assertGreater(json.loads(text)["input_tokens"], 0)
        status, _, _ = self.post("/api/whatever", {})
        self.assertEqual(status, 200)
        with open(self.log) as f:
            recs = [json.loads(l) for l in f]
        self.assertTrue(any(r.get("side_request") for r in recs))
        self.assertTrue(any(r.get("kind") == "unknown" for r in recs))


class DeriveAndMergeTest(unittest.TestCase):
    def test_derive_fixture_costs(self):
        here = os.path.dirname(os.path.abspath(__file__))
        want = {"foreground-agent": 0.0284, "agent-api-error": 0.0024, "agent-tool-failure": 0.0032,
                "background-agent": 0.004, "nested-three-deep": 0.0064}
        for name, cost in want.items():
            with open(os.path.join(here, "scenarios", name + ".json")) as f:
                self.assertAlmostEqual(run_scenario.derive(json.load(f))["total_cost_usd"], cost, places=9)

    def test_merge_keeps_existing_hooks(self):
        home = tempfile.mkdtemp()
        os.makedirs(os.path.join(home, ".claude"))
        existing = {"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "/real/stop"}]}]}}
        with open(os.path.join(home, ".claude", "settings.json"), "w") as f:
            json.dump(existing, f)
        run_scenario.merge_log_hooks(home, "/x/log-hook")
        run_scenario.merge_log_hooks(home, "/x/log-hook")  # idempotent
        with open(os.path.join(home, ".claude", "settings.json")) as f:
            s = json.load(f)
        self.assertEqual(s["model"], "opus")
        cmds = [h["command"] for e in s["hooks"]["Stop"] for h in e["hooks"]]
        self.assertEqual(cmds, ["/real/stop", "trap '' TERM INT HUP; exec /x/log-hook Stop"])
        self.assertEqual(len(s["hooks"]), len(run_scenario.HOOK_EVENTS))

    def test_aggregate_stats_killed_object_or_number(self):
        runs = [{"subagent_stats": {"spawned": 2, "completed": 1, "failed": 0,
                                    "killed": {"parent": 0, "user": 0, "system": 1}}},
                {"subagent_stats": {"spawned": 1, "completed": 0, "failed": 0, "killed": 1}},
                {"subagent_stats": {"spawned": 0}}]
        agg = run_scenario.aggregate_stats(runs)
        self.assertEqual((agg["spawned"], agg["completed"], agg["killed"]), (3, 1, 2))
        self.assertEqual(agg["killed_by"], {"parent": 0, "user": 0, "system": 1})

    def test_derive_killed_agent(self):
        sc = {"steps": [{"agents": [{"type": "data-engineer", "background": True, "killed": "system",
                                     "steps": [{"sleep_ms": 8000, "bash": ["echo x"]}, {"text": "never"}]}]},
                        {"text": "started"}]}
        st = run_scenario.derive(sc)["subagent_stats"]
        self.assertEqual((st["spawned"], st["completed"], st["failed"], st["killed"]), (1, 0, 0, 1))
        self.assertAlmostEqual(run_scenario.derive(sc)["total_cost_usd"], 0.0016)

    def test_expected_turns(self):
        import check
        bg = {"steps": [{"agents": [{"type": "Explore", "background": True, "steps": [{"text": "x"}]},
                                    {"type": "Plan", "background": False, "steps": [{"text": "y"}]}]},
                        {"text": "turn over"}, {"text": "notified"}]}
        turns = check.expected_turns(bg)
        self.assertEqual([(t["kind"], t["status"], len(t["nodes"])) for t in turns],
                         [("turn", "success", 2), ("notification", "success", 0)])
        err = {"steps": [{"agents": [{"type": "Plan", "steps": [{"text": "y"}]}]}, {"error": 400}, {"text": "unreached"}]}
        self.assertEqual([(t["kind"], t["status"], t["error"]) for t in check.expected_turns(err)],
                         [("turn", "failure", True)])
        multi = {"followups": ["again"], "steps": [{"text": "one"}, {"agents": [{"type": "Plan", "steps": [{"error": 400}]}]},
                                                   {"text": "two"}]}
        self.assertEqual([(t["prompt"], t["status"]) for t in check.expected_turns(multi)],
                         [(None, "success"), ("again", "failure")])


if __name__ == "__main__":
    unittest.main()
