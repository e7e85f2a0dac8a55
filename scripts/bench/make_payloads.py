#!/usr/bin/env python3
"""Realistic hook payloads for the benchmarks, from the real Claude Code recordings, plus a
subagent transcript grown to about 1 MB (unique message ids, so nothing de-duplicates away)."""
import json, os, sys

out, fixtures = sys.argv[1], sys.argv[2]
fg = os.path.join(fixtures, "foreground-agent")
hooks = {n.split("-", 1)[1][:-5]: os.path.join(fg, "hooks", n) for n in sorted(os.listdir(os.path.join(fg, "hooks")))}
os.makedirs(os.path.join(out, "proj", "sess", "subagents"), exist_ok=True)

src_agent = os.path.join(fg, "transcripts", "8af4ae43-26fb-42c3-aac0-62e6a2d826c7", "subagents", "agent-a93ce9d1826a46df8.jsonl")
lines = [l for l in open(src_agent) if '"type":"assistant"' in l or '"type":"user"' in l]
agent_path = os.path.join(out, "proj", "sess", "subagents", "agent-abench.jsonl")
size, i = 0, 0
with open(agent_path, "w") as f:
    while size < 1_000_000:
        for l in lines:
            o = json.loads(l)
            if o.get("type") == "assistant":
                o["message"]["id"] = f"msg_bench_{i}"
                o["requestId"] = f"req_bench_{i}"
            s = json.dumps(o, separators=(",", ":")) + "\n"
            f.write(s)
            size += len(s)
            i += 1
with open(os.path.join(out, "proj", "sess", "subagents", "agent-abench.meta.json"), "w") as f:
    json.dump({"agentType": "backend-architect", "description": "Design REST API", "toolUseId": "toolu_mock0", "spawnDepth": 1}, f)
main_src = os.path.join(fg, "transcripts", "8af4ae43-26fb-42c3-aac0-62e6a2d826c7.jsonl")
main_path = os.path.join(out, "proj", "sess.jsonl")
with open(main_path, "w") as f:
    f.write(open(main_src).read())

def write(name, event, **extra):
    o = json.load(open(hooks[event]))
    o["transcript_path"] = main_path
    o.update(extra)
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(o, f)

write("subagent-start", "SubagentStart")
write("pre-tool-use", "PreToolUse")  # the recording's last: a Bash call inside the subagent
# The main agent's Agent call (the only PreToolUse the installed matcher `Agent|Task` sends).
agent_call = next(os.path.join(fg, "hooks", n) for n in sorted(os.listdir(os.path.join(fg, "hooks")))
                  if n.endswith("-PreToolUse.json") and json.load(open(os.path.join(fg, "hooks", n))).get("tool_name") == "Agent")
o = json.load(open(agent_call))
o["transcript_path"] = main_path
with open(os.path.join(out, "pre-tool-use-agent.json"), "w") as f:
    json.dump(o, f)
write("post-tool-use", "PostToolUse")
write("subagent-stop-1mb", "SubagentStop", agent_id="abench", agent_transcript_path=agent_path)
write("stop", "Stop")
write("user-prompt-submit", "UserPromptSubmit")
print(f"agent transcript: {size} bytes, {i} lines")
