#!/usr/bin/env python3
"""Scriptable stand-in for the Anthropic Messages API (Python 3 stdlib only).

Claude Code is pointed at it with ANTHROPIC_BASE_URL=http://127.0.0.1:PORT.
The conversation's first user message carries the script:

    SCENARIO {"steps": [ STEP, STEP, ... ]}

Step N answers the conversation's Nth model call, N = number of assistant
messages already in the request's `messages`. A STEP may have:

  agents    [{type, description, prompt | steps, background?, model?}, ...]
            -> one Agent tool_use block each (parallel delegation). `steps`
               instead of `prompt` is shorthand for prompt = "SCENARIO " +
               json({"steps": steps}), so nested scenarios need no escaping.
               `background` is sent as run_in_background only when present.
  bash      ["cmd", ...]            -> one Bash tool_use block each
  tools     [{name, input}, ...]    -> arbitrary tool_use blocks
  text      "final answer"          -> text block (stop_reason end_turn when
                                       the step has no tool calls)
  error     HTTP status (400, 429, 500, 529, ...) answered instead, with an
            Anthropic error JSON body
  error_times  answer `error` only for the first N attempts of this step
            (attempts counted per conversation script + step), then answer
            the step normally; default: always
  sleep_ms  delay before answering
  usage     {"in", "out", "cache_read", "cache_write", "cache_write_1h"}
            token counts reported (defaults 100, 20, 0, 0, 0)

When the steps run out the answer is text "done". Requests without any
SCENARIO (Claude Code's own side requests) get a short text answer with small
usage and are flagged in the log.

Every request is logged as one JSON line to --log. Unknown paths are
reported on stderr.

Usage: standin.py [--host 127.0.0.1] [--port 0] [--port-file F] [--log F]
"""

import argparse
import hashlib
import itertools
import json
import random
import re
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

DEFAULT_USAGE = {"in": 100, "out": 20, "cache_read": 0, "cache_write": 0, "cache_write_1h": 0}
SIDE_USAGE = {"in": 10, "out": 5, "cache_read": 0, "cache_write": 0, "cache_write_1h": 0}
MARKER = "SCENARIO"
LOG_TEXT_MAX = 16000

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

_B62 = string.ascii_letters + string.digits
_rng = random.SystemRandom()


def new_id(prefix):
    """Ids shaped like the real API's: msg_01 + 22 base62 chars."""
    return prefix + "01" + "".join(_rng.choice(_B62) for _ in range(22))


def agent_prompt(spec):
    if "prompt" in spec:
        p = spec["prompt"]
        return p if isinstance(p, str) else MARKER + " " + json.dumps(p)
    if "steps" in spec:
        return MARKER + " " + json.dumps({"steps": spec["steps"]})
    return "do the task"


def text_blocks(content):
    if isinstance(content, str):
        return [content]
    out = []
    for b in content or []:
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str):
            out.append(b["text"])
    return out


def find_scenario(messages):
    """Return (scenario_dict, raw_json_text) from the first user message, or (None, None)."""
    first = next((m for m in messages if m.get("role") == "user"), None)
    if first is None:
        return None, None
    dec = json.JSONDecoder()
    for text in text_blocks(first.get("content")):
        for m in re.finditer(re.escape(MARKER) + r"\s*", text):
            try:
                obj, end = dec.raw_decode(text, m.end())
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("steps"), list):
                return obj, text[m.end():end]
    return None, None


class State:
    def __init__(self, log_path):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.log_file = open(log_path, "a", buffering=1) if log_path else None
        self.log_headers = False
        self.seq = itertools.count(1)
        self.attempts = {}       # (conversation key, step) -> attempts so far
        self.depth_of = {}       # scenario raw text emitted in an Agent prompt -> depth of that child

    def log(self, rec):
        line = json.dumps(rec, sort_keys=False)
        with self.lock:
            if self.log_file:
                self.log_file.write(line + "\n")


def usage_obj(u, final_out=None):
    cw5 = int(u.get("cache_write", 0))
    cw1 = int(u.get("cache_write_1h", 0))
    return {
        "input_tokens": int(u.get("in", 0)),
        "cache_creation_input_tokens": cw5 + cw1,
        "cache_read_input_tokens": int(u.get("cache_read", 0)),
        "cache_creation": {"ephemeral_5m_input_tokens": cw5, "ephemeral_1h_input_tokens": cw1},
        "output_tokens": int(u.get("out", 0)) if final_out is None else final_out,
        "service_tier": "standard",
    }


def build_blocks(step, state, depth):
    """Content blocks (API shape) for one scenario step."""
    blocks = []
    if step.get("text") is not None and (step.get("agents") or step.get("bash") or step.get("tools")):
        blocks.append({"type": "text", "text": str(step["text"])})
    for a in step.get("agents") or []:
        prompt = agent_prompt(a)
        inp = {"description": a.get("description", "subtask"), "prompt": prompt,
               "subagent_type": a.get("type", "general-purpose")}
        if "model" in a:
            inp["model"] = a["model"]
        if "background" in a:
            inp["run_in_background"] = bool(a["background"])
        _, raw = find_scenario([{"role": "user", "content": prompt}])
        if raw is not None:
            with state.lock:
                state.depth_of[raw] = depth + 1
        blocks.append({"type": "tool_use", "id": new_id("toolu_"), "name": "Agent", "input": inp})
    for cmd in step.get("bash") or []:
        blocks.append({"type": "tool_use", "id": new_id("toolu_"), "name": "Bash",
                       "input": {"command": cmd, "description": "run"}})
    for t in step.get("tools") or []:
        blocks.append({"type": "tool_use", "id": new_id("toolu_"), "name": t["name"],
                       "input": t.get("input", {})})
    if not blocks:
        blocks.append({"type": "text", "text": str(step.get("text", "done"))})
    return blocks


def sse(event, data):
    return ("event: %s\ndata: %s\n\n" % (event, json.dumps(data, separators=(",", ":")))).encode()


def chunks(s, n):
    if not s:
        return [""]
    size = max(1, -(-len(s) // n))
    return [s[i:i + size] for i in range(0, len(s), size)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "agent-telemetry-standin/1"
    state = None  # set on the class by main()

    def log_message(self, fmt, *args):  # keep stderr for unknown paths only
        pass

    # ---- plumbing -------------------------------------------------------
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, status, obj, extra_headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", new_id("req_"))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def unknown(self, body=b""):
        sys.stderr.write("standin: unknown request %s %s (%d bytes)\n" % (self.command, self.path, len(body)))
        sys.stderr.flush()
        self.state.log({"t": time.time(), "method": self.command, "path": self.path, "kind": "unknown"})
        self.send_json(200, {})

    def do_GET(self):
        self.unknown()

    def do_HEAD(self):
        self.unknown()

    def do_PUT(self):
        self.unknown(self.read_body())

    def do_DELETE(self):
        self.unknown()

    def do_POST(self):
        body = self.read_body()
        path = urlsplit(self.path).path.rstrip("/")
        if path == "/v1/messages":
            return self.messages(body)
        if path == "/v1/messages/count_tokens":
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                req = {}
            n = max(1, len(json.dumps(req.get("messages", ""))) // 4)
            self.state.log({"t": time.time(), "method": "POST", "path": self.path, "kind": "count_tokens",
                            "model": req.get("model"), "input_tokens": n})
            return self.send_json(200, {"input_tokens": n})
        self.unknown(body)

    # ---- /v1/messages ---------------------------------------------------
    def messages(self, body):
        st = self.state
        t0 = time.time()
        try:
            req = json.loads(body)
        except ValueError:
            return self.send_json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                                  "message": "body is not JSON"}})
        msgs = req.get("messages") or []
        model = req.get("model") or "claude-opus-5-5"
        stream = bool(req.get("stream"))
        scen, raw = find_scenario(msgs)
        step_idx = sum(1 for m in msgs if m.get("role") == "assistant")
        rec = {"t": round(t0, 3), "method": "POST", "path": self.path, "kind": "messages",
               "model": model, "stream": stream, "n_messages": len(msgs), "step": step_idx,
               "scenario": scen is not None,
               "session": self.headers.get("X-Claude-Code-Session-Id"),
               "agent_id": self.headers.get("x-claude-code-agent-id"),
               "retry": self.headers.get("X-Stainless-Retry-Count")}
        rec["body_bytes"] = len(body)
        # The last user message's text (capped): what a prompt carried, e.g. a slash command's
        # expansion with its shell output (the agent-dashboard scenario checks it).
        last_user = next((m for m in reversed(msgs) if m.get("role") == "user"), {})
        rec["last_user_text"] = "\n".join(text_blocks(last_user.get("content")))[:LOG_TEXT_MAX]
        rec["max_tokens"] = req.get("max_tokens")
        rec["betas"] = self.headers.get("anthropic-beta")
        if self.state.log_headers:
            rec["headers"] = dict(self.headers.items())
            rec["top_keys"] = sorted(req.keys())
        if scen is None:
            # Claude Code's own side request (title, quota, summary, ...): say so loudly.
            first = next((m for m in msgs if m.get("role") == "user"), {})
            preview = " | ".join(text_blocks(first.get("content")))[-200:]
            rec.update({"side_request": True, "preview": preview, "max_tokens": req.get("max_tokens"),
                        "system_preview": json.dumps(req.get("system"))[:200]})
            sys.stderr.write("standin: request without SCENARIO (model %s): %r\n" % (model, preview[-120:]))
            step = {"text": "ok", "usage": SIDE_USAGE}
            depth = None
            rec["subagent"] = bool(rec["agent_id"])
        else:
            with st.lock:
                depth = st.depth_of.get(raw, 0)
            rec.update({"subagent": depth > 0 or bool(rec["agent_id"]), "depth": depth,
                        "scenario_sha": hashlib.sha1(raw.encode()).hexdigest()[:10]})
            steps = scen["steps"]
            step = steps[step_idx] if step_idx < len(steps) else {"text": "done"}
            if step_idx >= len(steps):
                rec["steps_exhausted"] = True

        if step.get("sleep_ms"):
            time.sleep(step["sleep_ms"] / 1000.0)

        if step.get("error"):
            status = int(step["error"])
            key = (raw, step_idx)
            with st.lock:
                n = st.attempts.get(key, 0) + 1
                st.attempts[key] = n
            limit = step.get("error_times")
            if limit is None or n <= int(limit):
                rec.update({"status": status, "attempt": n})
                st.log(rec)
                etype = ERROR_TYPES.get(status, "api_error")
                return self.send_json(status, {
                    "type": "error",
                    "error": {"type": etype, "message": step.get("error_message",
                                                                 "scripted failure")},
                    "request_id": new_id("req_")},
                    {"x-should-retry": "false"} if status == 400 else None)
            rec["attempt"] = n

        usage = dict(DEFAULT_USAGE)
        usage.update(step.get("usage") or {})
        blocks = build_blocks(step, st, depth or 0)
        has_tools = any(b["type"] == "tool_use" for b in blocks)
        stop_reason = "tool_use" if has_tools else "end_turn"
        msg_id = new_id("msg_")
        rec.update({"status": 200, "msg_id": msg_id, "stop_reason": stop_reason,
                    "blocks": [b.get("name", b["type"]) for b in blocks], "usage": usage})
        st.log(rec)

        message = {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                   "content": blocks, "stop_reason": stop_reason, "stop_sequence": None,
                   "usage": usage_obj(usage)}
        if not stream:
            return self.send_json(200, message)

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", new_id("req_"))
        self.end_headers()

        def emit(event, data):
            payload = sse(event, data)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()

        start = dict(message, content=[], stop_reason=None, usage=usage_obj(usage))
        emit("message_start", {"type": "message_start", "message": start})
        emit("ping", {"type": "ping"})
        for i, b in enumerate(blocks):
            if b["type"] == "text":
                emit("content_block_start", {"type": "content_block_start", "index": i,
                                             "content_block": {"type": "text", "text": ""}})
                for part in chunks(b["text"], 2):
                    emit("content_block_delta", {"type": "content_block_delta", "index": i,
                                                 "delta": {"type": "text_delta", "text": part}})
            else:
                emit("content_block_start", {"type": "content_block_start", "index": i,
                                             "content_block": {"type": "tool_use", "id": b["id"],
                                                               "name": b["name"], "input": {}}})
                for part in chunks(json.dumps(b["input"]), 3):
                    emit("content_block_delta", {"type": "content_block_delta", "index": i,
                                                 "delta": {"type": "input_json_delta", "partial_json": part}})
            emit("content_block_stop", {"type": "content_block_stop", "index": i})
        emit("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                               "usage": {"output_tokens": int(usage["out"])}})
        emit("message_stop", {"type": "message_stop"})
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def serve(host="127.0.0.1", port=0, log_path=None):
    """Start the server in a daemon thread; return (server, port)."""
    handler = type("BoundHandler", (Handler,), {"state": State(log_path)})
    srv = ThreadingHTTPServer((host, port), handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv, srv.server_address[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--log", help="append one JSON line per request here")
    args = ap.parse_args()
    srv, port = serve(args.host, args.port, args.log)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print("standin listening on http://%s:%d" % (args.host, port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    srv.shutdown()


if __name__ == "__main__":
    main()
