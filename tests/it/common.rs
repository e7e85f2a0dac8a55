//! Helpers shared by the integration tests: temp data dirs, running the real binaries,
//! replaying recorded Claude Code sessions.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The shared ground truth, beside this checkout.
pub fn shared_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/claude-code-2.1.330")
}

/// Test data kept in this repository.
pub fn repo_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A private temp directory with a database path inside a not-yet-existing data dir.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env { dir: tempfile::tempdir().expect("tempdir") }
    }
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data/telemetry.db")
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    /// Runs a binary of this crate with `stdin`, the test database, and a private HOME.
    pub fn run(&self, bin: &str, args: &[&str], stdin: &[u8]) -> Output {
        self.run_env(bin, args, stdin, &[])
    }
    pub fn run_env(&self, bin: &str, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
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
    pub fn hook(&self, bin: &str, stdin: &[u8]) {
        let out = self.run(bin, &[], stdin);
        assert_eq!(out.status.code(), Some(0), "{bin} exit status; stderr: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "{bin} printed: {}", String::from_utf8_lossy(&out.stdout));
    }
    /// Runs `analyze` with args and returns (exit code, stdout, stderr).
    pub fn analyze(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.run("analyze", args, b"");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    /// `analyze … --format json`, parsed; panics unless it exits 0.
    pub fn analyze_json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let (code, out, err) = self.analyze(&a);
        assert_eq!(code, 0, "analyze {args:?} failed: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("analyze {args:?} JSON: {e}\n{out}"))
    }
    pub fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).expect("open db")
    }
    pub fn count(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |r| r.get(0)).expect(sql)
    }
}

/// Path of one of this crate's binaries.
pub fn bin_path(name: &str) -> PathBuf {
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
pub fn binary_for_event(event: &str) -> &'static str {
    match event {
        "SubagentStart" | "PreToolUse" => "subagent-start",
        "SubagentStop" | "PostToolUse" | "PostToolUseFailure" => "subagent-stop",
        _ => "workflow-event",
    }
}

/// A recorded run copied into `env`, with transcript paths pointing at the copy.
pub struct Recording {
    pub hooks: Vec<(String, String)>, // (event name, payload)
    pub result: serde_json::Value,
}

/// Copies a recording (hooks/, transcripts/, result.json) and rewrites its home paths.
pub fn load_recording(src: &Path, env: &Env) -> Recording {
    let name = src.file_name().unwrap().to_string_lossy().into_owned();
    let dest = env.dir.path().join("recordings").join(&name);
    copy_dir(&src.join("transcripts"), &dest.join("transcripts"));
    let prefix = dest.join("transcripts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(src.join("hooks")).unwrap().map(|e| e.unwrap().path()).collect();
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
    let result = serde_json::from_str(&std::fs::read_to_string(src.join("result.json")).unwrap()).unwrap();
    Recording { hooks, result }
}

/// Recorded transcript paths look like `/home/dev/.claude/projects/<project>/<file>`: point them
/// at `<prefix>/<file>`.
fn rewrite_project_paths(text: &str, prefix: &Path) -> String {
    let re = regex::Regex::new(r"/home/dev/\.claude/projects/[^/\x22]+/").unwrap();
    re.replace_all(text, format!("{}/", prefix.display()).as_str()).into_owned()
}

pub fn copy_dir(src: &Path, dest: &Path) {
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
pub fn replay(env: &Env, rec: &Recording) {
    for (event, payload) in &rec.hooks {
        env.hook(binary_for_event(event), payload.as_bytes());
    }
}
