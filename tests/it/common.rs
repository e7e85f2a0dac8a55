//! Helpers shared by the integration tests: temp data dirs, running the real binaries,
//! replaying recorded Claude Code sessions.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The first recordings of the real Claude Code 2.1.330, kept in this repository
/// (tests/fixtures/claude-code-2.1.330/README.md says how they were made).
pub(crate) fn cc_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.330")
}

/// Test data kept in this repository.
pub(crate) fn repo_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A private temp directory with a database path inside a not-yet-existing data dir.
pub(crate) struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub(crate) fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("data/telemetry.db")
    }
    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    /// Runs a binary of this crate with `stdin`, the test database, and a private HOME.
    pub(crate) fn run(&self, bin: &str, args: &[&str], stdin: &[u8]) -> Output {
        self.run_env(bin, args, stdin, &[])
    }
    pub(crate) fn run_env(
        &self,
        bin: &str,
        args: &[&str],
        stdin: &[u8],
        env: &[(&str, &str)],
    ) -> Output {
        let mut cmd = Command::new(bin_path(bin));
        cmd.args(args)
            .env("AGENT_TELEMETRY_DB", self.db())
            .env("HOME", self.home())
            .env("NO_COLOR", "1")
            .env_remove("AGENT_TELEMETRY_DISABLED")
            .env_remove("XDG_DATA_HOME")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn binary");
        let mut input = child.stdin.take().expect("stdin");
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().expect("wait");
        writer.join().expect("writer");
        out
    }
    /// Runs a hook binary and asserts the hook contract: exit 0, empty stdout.
    pub(crate) fn hook(&self, bin: &str, stdin: &[u8]) {
        let out = self.run(bin, &[], stdin);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{bin} exit status; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "{bin} printed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    /// Runs `analyze` with args and returns (exit code, stdout, stderr).
    pub(crate) fn analyze(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.run("analyze", args, b"");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    /// `analyze … --format json`, parsed; panics unless it exits 0.
    pub(crate) fn analyze_json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let (code, out, err) = self.analyze(&a);
        assert_eq!(code, 0, "analyze {args:?} failed: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("analyze {args:?} JSON: {e}\n{out}"))
    }
    pub(crate) fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).expect("open db")
    }
    pub(crate) fn count(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |r| r.get(0)).expect(sql)
    }
}

/// Path of one of this crate's binaries.
pub(crate) fn bin_path(name: &str) -> PathBuf {
    match name {
        "subagent-start" => PathBuf::from(env!("CARGO_BIN_EXE_subagent-start")),
        "subagent-stop" => PathBuf::from(env!("CARGO_BIN_EXE_subagent-stop")),
        "workflow-event" => PathBuf::from(env!("CARGO_BIN_EXE_workflow-event")),
        "analyze" => PathBuf::from(env!("CARGO_BIN_EXE_analyze")),
        "query-best-agent" => PathBuf::from(env!("CARGO_BIN_EXE_query-best-agent")),
        other => panic!("no binary {other}"),
    }
}

/// The binary Claude Code would run for a hook event, per hooks/hooks.json.
pub(crate) fn binary_for_event(event: &str) -> &'static str {
    match event {
        "SubagentStart" | "PreToolUse" => "subagent-start",
        "SubagentStop" | "PostToolUse" | "PostToolUseFailure" => "subagent-stop",
        _ => "workflow-event",
    }
}

/// A recorded run copied into `env`, with transcript paths pointing at the copy.
pub(crate) struct Recording {
    pub hooks: Vec<(String, String)>, // (event name, payload)
    pub result: serde_json::Value,
}

/// Copies a recording (hooks/, transcripts/, result.json) and rewrites its home paths.
pub(crate) fn load_recording(src: &Path, env: &Env) -> Recording {
    let name = src.file_name().unwrap().to_string_lossy().into_owned();
    let dest = env.dir.path().join("recordings").join(&name);
    copy_dir(&src.join("transcripts"), &dest.join("transcripts"));
    let prefix = dest.join("transcripts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(src.join("hooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let hooks = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let event = v["hook_event_name"].as_str().unwrap_or("").to_string();
            let text = rewrite_project_paths(&text, &prefix);
            (event, text)
        })
        .collect();
    // Interactive recordings have no result JSON.
    let result = std::fs::read_to_string(src.join("result.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    Recording { hooks, result }
}

/// Recorded transcript paths look like `/home/dev/.claude/projects/<project>/<file>`: point them
/// at `<prefix>/<file>`.
fn rewrite_project_paths(text: &str, prefix: &Path) -> String {
    let re = regex::Regex::new(r"/home/dev/\.claude/projects/[^/\x22]+/").unwrap();
    re.replace_all(text, format!("{}/", prefix.display()).as_str())
        .into_owned()
}

pub(crate) fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dest.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Replays a recording through the real hook binaries, in recorded order.
pub(crate) fn replay(env: &Env, rec: &Recording) {
    for (event, payload) in &rec.hooks {
        env.hook(binary_for_event(event), payload.as_bytes());
    }
}

/// Every real Claude Code recording in tests/fixtures (at least the five of 2.1.330), each
/// replayed through the hook binaries into `env` in the order its hooks started, one after another.
pub(crate) fn replay_all_recordings(env: &Env) {
    let mut dirs: Vec<_> = std::fs::read_dir(cc_fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("hooks").is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "{dirs:?}");
    for dir in &dirs {
        let rec = load_recording(dir, env);
        replay(env, &rec);
    }
}

/// Builds realistic Claude Code hook payloads with explicit timestamps, for metric tests.
/// Each agent run produces PreToolUse(Agent) → SubagentStart → SubagentStop → PostToolUse
/// (or PostToolUseFailure for failures and interrupts; nothing after start for running ones).
pub(crate) mod cc {
    use serde_json::{json, Value};

    /// How a scripted agent run ends.
    #[derive(Clone, Debug)]
    pub(crate) enum End {
        Success,
        /// PostToolUseFailure with this error text.
        Failure(String),
        Cancelled,
        /// Never stops.
        Running,
    }

    /// One scripted agent run.
    #[derive(Clone, Debug)]
    pub(crate) struct Run {
        pub session: String,
        pub prompt_id: String,
        pub agent_id: String,
        pub agent_type: String,
        pub description: String,
        /// The delegating agent's id (None = the main agent).
        pub parent: Option<String>,
        pub start: String,
        pub end: String,
        pub end_kind: End,
        pub cwd: String,
    }

    impl Run {
        /// A successful run with defaults for the ids; adjust fields as needed.
        pub(crate) fn new(
            agent_id: &str,
            agent_type: &str,
            description: &str,
            start: &str,
            end: &str,
        ) -> Run {
            Run {
                session: "sess-1".into(),
                prompt_id: "prompt-1".into(),
                agent_id: agent_id.into(),
                agent_type: agent_type.into(),
                description: description.into(),
                parent: None,
                start: start.into(),
                end: end.into(),
                end_kind: End::Success,
                cwd: "/home/dev/proj".into(),
            }
        }
        fn base(&self, event: &str, ts: &str) -> Value {
            json!({"session_id": self.session, "transcript_path": format!("/nonexistent/{}.jsonl", self.session),
                   "cwd": self.cwd, "prompt_id": self.prompt_id, "hook_event_name": event, "timestamp": ts})
        }
        /// The hook payloads of this run, each with the binary Claude Code would call.
        pub(crate) fn payloads(&self) -> Vec<(&'static str, String)> {
            let tu = format!("toolu_{}", self.agent_id);
            let input = json!({"description": self.description, "prompt": format!("Please {}", self.description),
                               "subagent_type": self.agent_type, "run_in_background": false});
            let mut pre = self.base("PreToolUse", &self.start);
            pre["tool_name"] = json!("Agent");
            pre["tool_input"] = input.clone();
            pre["tool_use_id"] = json!(tu);
            if let Some(p) = &self.parent {
                pre["agent_id"] = json!(p);
            }
            let mut start = self.base("SubagentStart", &self.start);
            start["agent_id"] = json!(self.agent_id);
            start["agent_type"] = json!(self.agent_type);
            let mut out = vec![
                ("subagent-start", pre.to_string()),
                ("subagent-start", start.to_string()),
            ];
            match &self.end_kind {
                End::Success => {
                    let mut stop = self.base("SubagentStop", &self.end);
                    stop["agent_id"] = json!(self.agent_id);
                    stop["agent_type"] = json!(self.agent_type);
                    stop["last_assistant_message"] = json!("done");
                    let mut post = self.base("PostToolUse", &self.end);
                    post["tool_name"] = json!("Agent");
                    post["tool_input"] = input;
                    post["tool_use_id"] = json!(tu);
                    post["tool_response"] = json!({"status": "completed", "agentId": self.agent_id, "agentType": self.agent_type});
                    if let Some(p) = &self.parent {
                        post["agent_id"] = json!(p);
                    }
                    out.push(("subagent-stop", stop.to_string()));
                    out.push(("subagent-stop", post.to_string()));
                }
                End::Failure(_) | End::Cancelled => {
                    let mut fail = self.base("PostToolUseFailure", &self.end);
                    fail["tool_name"] = json!("Agent");
                    fail["tool_input"] = input;
                    fail["tool_use_id"] = json!(tu);
                    let (err, interrupt) = match &self.end_kind {
                        End::Failure(m) => (m.clone(), false),
                        _ => ("Interrupted by user".to_string(), true),
                    };
                    fail["error"] = json!(err);
                    fail["is_interrupt"] = json!(interrupt);
                    if let Some(p) = &self.parent {
                        fail["agent_id"] = json!(p);
                    }
                    out.push(("subagent-stop", fail.to_string()));
                }
                _ => {}
            }
            out
        }
    }

    /// UserPromptSubmit and Stop payloads for one prompt turn.
    pub(crate) fn turn(
        session: &str,
        prompt_id: &str,
        prompt: &str,
        start: &str,
        end: &str,
    ) -> Vec<(&'static str, String)> {
        let base = |event: &str, ts: &str| {
            json!({"session_id": session, "transcript_path": format!("/nonexistent/{session}.jsonl"), "cwd": "/home/dev/proj",
                   "prompt_id": prompt_id, "hook_event_name": event, "timestamp": ts})
        };
        let mut submit = base("UserPromptSubmit", start);
        submit["prompt"] = json!(prompt);
        let stop = base("Stop", end);
        vec![
            ("workflow-event", submit.to_string()),
            ("workflow-event", stop.to_string()),
        ]
    }
}

impl Env {
    /// Records payloads in-process through the hooks' own append path (fast; same code).
    pub(crate) fn record(&self, payloads: &[(&str, String)]) {
        let store = agent_telemetry::store::Store::create(&self.db()).expect("create db");
        let items: Vec<(agent_telemetry::hook::Binary, String, i64)> = payloads
            .iter()
            .map(|(bin, text)| {
                (
                    agent_telemetry::hook::Binary::from_name(bin),
                    text.clone(),
                    0,
                )
            })
            .collect();
        agent_telemetry::hook::record_many(&store, &items).expect("record");
    }
    /// Scripted agent runs, recorded in order of their payloads.
    pub(crate) fn record_runs(&self, runs: &[cc::Run]) {
        let all: Vec<(&str, String)> = runs.iter().flat_map(|r| r.payloads()).collect();
        self.record(&all);
    }
    /// `analyze` with a fixed clock, fixed width and no colour, for snapshot tests.
    pub(crate) fn analyze_at(&self, now: &str, args: &[&str]) -> (i32, String, String) {
        let out = self.run_env(
            "analyze",
            args,
            b"",
            &[("AGENT_TELEMETRY_NOW", now), ("COLUMNS", "120")],
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

// ── Claude Code's own figures for the recordings ─────────────────────────────────────────

/// Every real Claude Code recording in this repository: the first five and the e2e ones.
pub(crate) fn recordings() -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    for root in [
        cc_fixtures(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/recordings"),
    ] {
        let mut found: Vec<_> = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("result.json").exists())
            .collect();
        found.sort();
        dirs.extend(found);
    }
    assert!(
        dirs.len() >= 18,
        "expected the 5 fixture and 13+ e2e recordings, found {dirs:?}"
    );
    dirs
}

/// Claude Code's own figures for a recording : a
/// `--resume`d session has one result per process; `subagent_stats` cover each process,
/// `total_cost_usd` and `modelUsage` are cumulative.
pub(crate) struct Expected {
    pub session: String,
    pub by_type: std::collections::BTreeMap<String, i64>,
    pub completed: i64,
    pub failed: i64,
    /// `subagent_stats.killed`: a number before 2.1.332, then `{parent, user, system}` (summed).
    pub killed: i64,
    pub max_depth: i64,
    pub cost: f64,
    pub model_usage: serde_json::Value,
}

pub(crate) fn expected(dir: &std::path::Path) -> Expected {
    let mut results: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("result")
        })
        .collect();
    results.sort();
    let mut e = Expected {
        session: String::new(),
        by_type: std::collections::BTreeMap::new(),
        completed: 0,
        failed: 0,
        killed: 0,
        max_depth: 0,
        cost: 0.0,
        model_usage: serde_json::Value::Null,
    };
    for r in results {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&r).unwrap()).unwrap();
        e.session = v["session_id"].as_str().unwrap().to_string();
        let stats = &v["subagent_stats"];
        for (k, n) in stats["by_type"].as_object().unwrap() {
            *e.by_type.entry(k.clone()).or_insert(0) += n.as_i64().unwrap();
        }
        e.completed += stats["completed"].as_i64().unwrap();
        e.failed += stats["failed"].as_i64().unwrap();
        e.killed += match &stats["killed"] {
            serde_json::Value::Object(by) => by.values().filter_map(|n| n.as_i64()).sum(),
            n => n.as_i64().unwrap_or(0),
        };
        e.max_depth = e.max_depth.max(stats["max_depth"].as_i64().unwrap());
        let cost = v["total_cost_usd"].as_f64().unwrap();
        if cost >= e.cost {
            e.cost = cost;
            e.model_usage = v["modelUsage"].clone();
        }
    }
    e
}

/// Asserts one session of `analyze sessions --format json` against Claude Code's figures.
pub(crate) fn check_session(name: &str, s: &serde_json::Value, want: &Expected) {
    let got: std::collections::BTreeMap<String, i64> =
        serde_json::from_value(s["agents_by_type"].clone()).unwrap();
    assert_eq!(got, want.by_type, "{name}: by_type");
    assert_eq!(s["agents_completed"], want.completed, "{name}: completed");
    assert_eq!(s["agents_failed"], want.failed, "{name}: failed");
    assert_eq!(
        s["agents_cancelled"], want.killed,
        "{name}: cancelled = killed"
    );
    assert_eq!(s["max_depth"], want.max_depth, "{name}: max_depth");
    let cost = s["total_cost_usd"].as_f64().unwrap();
    assert!(
        (cost - want.cost).abs() < 1e-5,
        "{name}: cost {cost} vs Claude Code's {}",
        want.cost
    );
    for (model, u) in want.model_usage.as_object().unwrap() {
        let m = &s["models"][model];
        assert_eq!(m["input_tokens"], u["inputTokens"], "{name}: {model} input");
        assert_eq!(
            m["output_tokens"], u["outputTokens"],
            "{name}: {model} output"
        );
        assert_eq!(
            m["cache_read_tokens"], u["cacheReadInputTokens"],
            "{name}: {model} cache read"
        );
        assert_eq!(
            m["cache_write_tokens"], u["cacheCreationInputTokens"],
            "{name}: {model} cache write"
        );
        let mc = m["cost_usd"].as_f64().unwrap();
        assert!(
            (mc - u["costUSD"].as_f64().unwrap()).abs() < 1e-5,
            "{name}: {model} cost {mc} vs {}",
            u["costUSD"]
        );
    }
}

/// A unix-ms instant as Claude Code writes timestamps (`2026-06-01T00:00:00.000Z`).
pub(crate) fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// splitmix64: reproducible randomness for shuffles and generated histories.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, n).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in [0, 1).
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// A filter with only time bounds.
pub(crate) fn window(since: Option<i64>, until: Option<i64>) -> agent_telemetry::analyze::Filter {
    agent_telemetry::analyze::Filter {
        since,
        until,
        ..Default::default()
    }
}

/// The windows every rollup-backed reader is checked over against its runs-only path (`now` the
/// history's end, `top` its two busiest agent types): whole days from the rollups with part days
/// at one edge, both edges or inside one day, on a day boundary, and with `--agent`.
pub(crate) fn rollup_windows(
    now: i64,
    top: &[String],
) -> Vec<(&'static str, agent_telemetry::analyze::Filter)> {
    use agent_telemetry::analyze::Filter;
    const DAY: i64 = 86_400_000;
    vec![
        (
            "--agent (rollups only)",
            Filter {
                agents: top.to_vec(),
                ..Filter::default()
            },
        ),
        (
            "--days 7 (rollups + a part day)",
            window(Some(now - 7 * DAY + 12_345), None),
        ),
        (
            "--since on a day boundary",
            window(Some(now - 9 * DAY), None),
        ),
        ("--until alone", window(None, Some(now - 5 * DAY + 1))),
        (
            "--since and --until (part days at both edges)",
            window(Some(now - 12 * DAY - 5_000), Some(now - 3 * DAY + 777)),
        ),
        (
            "within one day (runs only)",
            window(Some(now - 4 * DAY + 1_000), Some(now - 3 * DAY - 1_000)),
        ),
        (
            "--days 7 --agent",
            Filter {
                since: Some(now - 7 * DAY + 999),
                agents: top[..1].to_vec(),
                ..Filter::default()
            },
        ),
    ]
}

/// The two agent types with the most runs in a daily rollup (`agent_daily`, `type_daily`).
pub(crate) fn busiest_types(c: &rusqlite::Connection, rollup: &str) -> Vec<String> {
    let mut stmt = c
        .prepare(&format!(
            "SELECT agent_type FROM {rollup} GROUP BY 1 ORDER BY sum(runs) DESC, 1 LIMIT 2"
        ))
        .unwrap();
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names.len(), 2, "two agent types in {rollup}");
    names
}

/// Every row of `sql`, each as its values' debug forms joined by `|` (rollups compared with
/// their definitions).
pub(crate) fn rows(c: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = c.prepare(sql).unwrap();
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}
