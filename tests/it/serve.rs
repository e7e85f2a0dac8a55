//! `analyze serve`: the real binary on a free port over a temp database fed by the real hooks.
//! The reports equal the command line's JSON byte for byte; the design API's figures are
//! hand-computed and equal the readers' own; the live stream carries an agent started by a
//! hook during the test; the guard refuses what it must.

use crate::common::*;
use cc::{End, Run};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `analyze serve`, stopped with SIGTERM on drop.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) port: u16,
    /// The URL it printed.
    url: String,
}

impl Server {
    pub(crate) fn start(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Server {
        let db = env.db();
        let mut cmd = Command::new(bin_path("analyze"));
        cmd.args(["serve", "--port", "0", "--db"])
            .arg(&db)
            .args(args)
            .env("HOME", env.home())
            .env_remove("AGENT_TELEMETRY_NOW")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn analyze serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.is_empty() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("analyze serve did not start: {err}");
        }
        // "analyze serve: listening on 127.0.0.1:PORT; open URL"
        let addr = line
            .split("listening on ")
            .nth(1)
            .and_then(|s| s.split(';').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        let url = line.trim().rsplit("open ").next().unwrap().to_string();
        Server {
            child: Some(child),
            port,
            url,
        }
    }

    fn get(&self, path: &str) -> Reply {
        request(self.port, "GET", path, &[])
    }

    /// SIGTERM, then the exit status and stderr.
    fn stop(&mut self) -> (Option<i32>, String) {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("analyze serve did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An HTTP answer.
pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: not JSON: {}", self.body))
    }
}

/// One HTTP/1.1 request on its own connection (the server speaks HTTP/1.1 only).
pub(crate) fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// An open event stream, read as it arrives.
struct Stream {
    s: TcpStream,
    /// Decoded text not yet consumed.
    text: String,
    raw: Vec<u8>,
}

impl Stream {
    fn open(port: u16) -> Stream {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        write!(
            s,
            "GET /api/v1/stream HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let mut st = Stream {
            s,
            text: String::new(),
            raw: Vec::new(),
        };
        st.until(|t| t.contains("event: ready"));
        st
    }

    /// Reads until `done(text so far)` holds (30 s at most), returns the text.
    fn until(&mut self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut buf = [0u8; 4096];
        loop {
            // The body is chunked: keep the raw bytes, decode whole chunks after the head.
            if let Some(i) = find(&self.raw, b"\r\n\r\n") {
                let body = String::from_utf8_lossy(&self.raw[i + 4..]).into_owned();
                self.text = dechunk(&body);
            }
            if done(&self.text) {
                return self.text.clone();
            }
            assert!(
                Instant::now() < deadline,
                "stream never showed it; got:\n{}",
                self.text
            );
            match self.s.read(&mut buf) {
                Ok(0) => panic!("stream closed; got:\n{}", self.text),
                Ok(n) => self.raw.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
    }

    /// The data of every event named `name` received so far.
    fn events(&self, name: &str) -> Vec<Value> {
        self.text
            .split("\n\n")
            .filter(|e| e.lines().any(|l| l == format!("event: {name}")))
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

// ── /api/v1/<subcommand> = analyze <subcommand> --format json ────────────────────────────

const RECORDED_NOW: &str = "2026-12-02T00:00:00Z";

/// The five recordings of the real Claude Code 2.1.330, through the real hook binaries.
fn recorded() -> Env {
    let env = Env::new();
    replay_all_recordings(&env);
    env
}

#[test]
fn every_report_equals_the_command_lines_json() {
    let env = recorded();
    let server = Server::start(&env, &[], &[("AGENT_TELEMETRY_NOW", RECORDED_NOW)]);
    let session = "8af4ae43-26fb-42c3-aac0-62e6a2d826c7";
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("summary", String::new(), vec![]),
        (
            "summary",
            "sort=cost&reverse=true".into(),
            vec!["--sort", "cost", "--reverse"],
        ),
        (
            "summary",
            "days=30&agent=backend-architect".into(),
            vec!["--days", "30", "--agent", "backend-architect"],
        ),
        (
            "agent",
            "arg=backend-architect".into(),
            vec!["backend-architect"],
        ),
        ("agent", "arg=backend-architect&trend_days=3".into(), vec![]),
        (
            "top",
            "by=cost&limit=2".into(),
            vec!["--by", "cost", "--limit", "2"],
        ),
        ("workflows", String::new(), vec![]),
        ("overhead", String::new(), vec![]),
        ("trends", String::new(), vec![]),
        ("tools", "limit=5".into(), vec!["--limit", "5"]),
        ("types", String::new(), vec![]),
        ("timeline", "days=30".into(), vec!["--days", "30"]),
        (
            "tree",
            format!("session={session}"),
            vec!["--session", session],
        ),
        ("active", String::new(), vec![]),
        ("errors", String::new(), vec![]),
        ("sessions", "limit=2".into(), vec!["--limit", "2"]),
        // The API shows alerts without delivering (the server's own evaluator delivers).
        ("alerts", String::new(), vec!["--no-deliver"]),
        ("metrics", String::new(), vec![]),
        (
            "metrics",
            "arg=lines_added&agent=backend-architect".into(),
            vec!["lines_added", "--agent", "backend-architect"],
        ),
        ("metrics", "arg=9nope".into(), vec!["9nope"]),
        // Errors (exit 2) and nothing found (exit 1).
        ("summary", "agent=nobody".into(), vec!["--agent", "nobody"]),
        ("summary", "days=0".into(), vec!["--days", "0"]),
        (
            "summary",
            "since=yesterdayish".into(),
            vec!["--since", "yesterdayish"],
        ),
        ("summary", "sort=colour".into(), vec!["--sort", "colour"]),
        (
            "errors",
            "arg=security-auditor".into(),
            vec!["security-auditor"],
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (sub, query, args) in &cases {
        if sub == &"agent" && query.contains("trend_days") {
            // Underscores are not option names: a 400, as `--trend_days` is an error.
            assert_eq!(server.get(&format!("/api/v1/{sub}?{query}")).status, 400);
            continue;
        }
        seen.insert(sub.to_string());
        let mut cli = vec![*sub];
        cli.extend(args.iter().copied());
        cli.extend(["--format", "json"]);
        let (code, stdout, stderr) = env.analyze_at(RECORDED_NOW, &cli);
        let r = server.get(&format!("/api/v1/{sub}?{query}"));
        match code {
            0 => {
                assert_eq!(r.status, 200, "{sub}?{query}: {}", r.body);
                assert_eq!(r.body, stdout, "{sub}?{query}");
                assert_eq!(r.header("content-type"), Some("application/json"));
            }
            1 => {
                assert_eq!(r.status, 404, "{sub}?{query}: {}", r.body);
                assert_eq!(r.json()["nothing_found"], true);
                assert_eq!(r.json()["command"], *sub);
            }
            _ => {
                assert_eq!(r.status, 400, "{sub}?{query}: {} (cli: {stderr})", r.body);
                assert!(r.json()["error"].as_str().is_some_and(|e| !e.is_empty()));
            }
        }
    }
    // Every report the index lists was compared.
    let index = server.get("/api").json();
    let listed: std::collections::BTreeSet<String> = index["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap()
                .trim_start_matches("/api/v1/")
                .to_string()
        })
        .collect();
    assert_eq!(listed, seen);
    // What the server decides is not the request's to change; writers are not served.
    for bad in [
        "/api/v1/summary?db=/etc/passwd",
        "/api/v1/summary?format=csv",
        "/api/v1/summary?nope=1",
        "/api/v1/summary?arg=x",
        "/api/v1/rebuild",
        "/api/v1/import",
        "/api/v1/doctor",
    ] {
        assert_eq!(server.get(bad).status, 400, "{bad}");
    }
}

// ── The design API: hand-computed figures, equal to the readers' ─────────────────────────

const NOW: &str = "2026-11-21T12:00:00Z";

/// Seven runs: today (2026-11-21, UTC) backend-architect 60 s ✓, 180 s ✓, 30 s ✗;
/// code-reviewer 120 s cancelled and one running for 10 min with a nested security-auditor
/// running for 5 min; yesterday code-reviewer 100 s ✓.
fn history() -> Env {
    let env = Env::new();
    let mut runs = vec![
        Run::new(
            "a1",
            "backend-architect",
            "Build API",
            "2026-11-21T09:00:00Z",
            "2026-11-21T09:01:00Z",
        ),
        Run::new(
            "a2",
            "backend-architect",
            "Build UI API",
            "2026-11-21T10:00:00Z",
            "2026-11-21T10:03:00Z",
        ),
        Run {
            end_kind: End::Failure("API Error: 500".into()),
            ..Run::new(
                "a3",
                "backend-architect",
                "Fix build",
                "2026-11-21T10:30:00Z",
                "2026-11-21T10:30:30Z",
            )
        },
        Run {
            end_kind: End::Cancelled,
            ..Run::new(
                "a4",
                "code-reviewer",
                "Review auth",
                "2026-11-21T11:00:00Z",
                "2026-11-21T11:02:00Z",
            )
        },
        Run::new(
            "a5",
            "code-reviewer",
            "Review db",
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:01:40Z",
        ),
        Run {
            end_kind: End::Running,
            ..Run::new(
                "a6",
                "code-reviewer",
                "Review ui",
                "2026-11-21T11:50:00Z",
                "",
            )
        },
        Run {
            end_kind: End::Running,
            parent: Some("a6".into()),
            ..Run::new(
                "a7",
                "security-auditor",
                "Audit ui",
                "2026-11-21T11:55:00Z",
                "",
            )
        },
    ];
    for (i, r) in runs.iter_mut().enumerate() {
        r.prompt_id = format!("p{i}");
    }
    env.record_runs(&runs);
    env
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

fn cli_json(env: &Env, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = env.analyze_at(NOW, &a);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn design_api_figures_are_hand_computed_and_equal_the_readers() {
    let env = history();
    let server = Server::start(&env, &[], &[("AGENT_TELEMETRY_NOW", NOW)]);

    // current: 2 running; today 6 runs, success 2 ÷ (2 + 1), durations 60+180+30+120 s ÷ 4.
    let c = server.get("/api/agents/metrics/current").json();
    assert_eq!(c["active_agents"], 2);
    assert_eq!(c["executions_today"], 6);
    assert!(close(&c["success_rate"], 2.0 / 3.0), "{c}");
    assert!(close(&c["avg_duration_ms"], 97_500.0), "{c}");
    assert_eq!(c["tokens_used_today"], 0);
    assert!(close(&c["estimated_cost_today"], 0.0) || c["estimated_cost_today"] == 0);
    let d = c["active_agent_details"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["agent_id"], "a6");
    assert_eq!(d[0]["agent_name"], "code-reviewer");
    assert_eq!(d[0]["status"], "running");
    assert_eq!(d[0]["duration_so_far_ms"], 600_000);
    assert_eq!(d[0]["session_id"], "sess-1");
    assert_eq!(d[0]["parent"], Value::Null);
    assert_eq!(d[0]["task"], "Review ui");
    assert_eq!(d[1]["agent_id"], "a7");
    assert_eq!(d[1]["parent"], "a6");
    assert_eq!(d[1]["duration_so_far_ms"], 300_000);
    let totals = cli_json(&env, &["summary", "--since", "2026-11-21"])["totals"].clone();
    assert_eq!(c["executions_today"], totals["runs"]);
    assert_eq!(c["success_rate"], totals["success_rate"]);
    assert_eq!(c["avg_duration_ms"], totals["avg_duration_ms"]);
    assert_eq!(c["tokens_used_today"], totals["tokens"]);
    assert_eq!(c["estimated_cost_today"], totals["cost_usd"]);
    let active = cli_json(&env, &["active"]);
    assert_eq!(active["agents"].as_array().unwrap().len(), 2);

    // timeline: hours 09, 10, 11 of today.
    let t = server.get("/api/agents/metrics/timeline?hours=3").json();
    let rows = t["timeline"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0]["timestamp"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-21T09:00"));
    assert_eq!(rows[0]["executions"], 1);
    assert!(close(&rows[0]["avg_duration_ms"], 60_000.0));
    assert!(close(&rows[0]["success_rate"], 1.0));
    assert_eq!(rows[0]["dominant_agent_type"], "backend-architect");
    assert_eq!(rows[1]["executions"], 2);
    assert!(close(&rows[1]["avg_duration_ms"], 105_000.0));
    assert!(close(&rows[1]["success_rate"], 0.5));
    assert_eq!(rows[2]["executions"], 3);
    assert!(close(&rows[2]["avg_duration_ms"], 120_000.0));
    assert_eq!(rows[2]["success_rate"], Value::Null);
    assert_eq!(rows[2]["dominant_agent_type"], "code-reviewer");
    let cli = cli_json(&env, &["timeline", "--hours", "3"]);
    for (a, b) in rows.iter().zip(cli["buckets"].as_array().unwrap()) {
        assert_eq!(a["timestamp"], b["start"]);
        assert_eq!(a["executions"], b["runs"]);
        assert_eq!(a["avg_duration_ms"], b["avg_duration_ms"]);
        assert_eq!(a["success_rate"], b["success_rate"]);
        assert_eq!(a["dominant_agent_type"], b["dominant_agent"]);
    }
    assert_eq!(
        server.get("/api/agents/metrics/timeline").json()["timeline"]
            .as_array()
            .unwrap()
            .len(),
        24
    );

    // distribution: architect 3, reviewer 3, security 1 of 7.
    let dist = server.get("/api/agents/types/distribution").json();
    let rows = dist["distribution"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(names, ["architect", "reviewer", "security"]);
    assert_eq!(rows[0]["count"], 3);
    assert!(close(&rows[0]["percentage"], 300.0 / 7.0));
    assert!(close(&rows[0]["success_rate"], 2.0 / 3.0));
    assert!(close(&rows[0]["avg_duration_ms"], 90_000.0));
    assert!(close(&rows[1]["success_rate"], 1.0));
    assert!(close(&rows[1]["avg_duration_ms"], 110_000.0));
    assert!(close(&rows[2]["percentage"], 100.0 / 7.0));
    assert_eq!(rows[2]["success_rate"], Value::Null);
    assert_eq!(rows[0]["common_tools"], serde_json::json!([]));
    let cli = cli_json(&env, &["types"]);
    for (a, b) in rows.iter().zip(cli["categories"].as_array().unwrap()) {
        assert_eq!(a["type"], b["category"]);
        assert_eq!(a["count"], b["runs"]);
        assert_eq!(a["success_rate"], b["success_rate"]);
        assert_eq!(a["avg_duration_ms"], b["avg_duration_ms"]);
    }

    // performance: backend-architect's 30, 60, 180 s; p95 = 60 + 0.9 × 120 s.
    let p = server
        .get("/api/agents/performance/backend-architect?days=7")
        .json();
    assert_eq!(p["agent_name"], "backend-architect");
    assert_eq!(p["total_executions"], 3);
    assert!(close(&p["success_rate"], 2.0 / 3.0));
    let perf = &p["performance"];
    assert!(close(&perf["p50_duration_ms"], 60_000.0), "{p}");
    assert!(close(&perf["p95_duration_ms"], 168_000.0), "{p}");
    assert!(close(&perf["p99_duration_ms"], 177_600.0), "{p}");
    assert!(close(&perf["min_duration_ms"], 30_000.0));
    assert!(close(&perf["max_duration_ms"], 180_000.0));
    assert_eq!(p["token_usage"]["total_tokens"], 0);
    let trend = p["daily_trend"].as_array().unwrap();
    assert_eq!(trend.len(), 1);
    assert_eq!(trend[0]["date"], "2026-11-21");
    assert_eq!(trend[0]["executions"], 3);
    assert!(close(&trend[0]["avg_duration_ms"], 90_000.0));
    let cli = cli_json(&env, &["agent", "backend-architect", "--days", "7"]);
    assert_eq!(p["total_executions"], cli["runs"]);
    assert_eq!(p["success_rate"], cli["success_rate"]);
    assert_eq!(perf["p95_duration_ms"], cli["duration"]["p95_ms"]);
    assert_eq!(p["token_usage"]["estimated_cost"], cli["cost_usd"]);
    // code-reviewer over 7 days: a5 ✓ 100 s (yesterday), a4 cancelled 120 s, a6 running.
    let p = server.get("/api/agents/performance/code-reviewer").json();
    assert_eq!(p["total_executions"], 3);
    assert!(close(&p["success_rate"], 1.0));
    assert!(close(&p["performance"]["p50_duration_ms"], 110_000.0));
    let trend = p["daily_trend"].as_array().unwrap();
    assert_eq!(trend.len(), 2);
    assert_eq!(trend[0]["date"], "2026-11-20");
    assert_eq!(trend[1]["executions"], 2);
    assert_eq!(trend[1]["success_rate"], Value::Null);
    // days=1: only today's two code-reviewer runs.
    let p = server
        .get("/api/agents/performance/code-reviewer?days=1")
        .json();
    assert_eq!(p["total_executions"], 2);
    assert_eq!(server.get("/api/agents/performance/nobody").status, 404);
    assert_eq!(
        server
            .get("/api/agents/performance/code-reviewer?days=x")
            .status,
        400
    );

    // tools: these scripted runs have no transcripts, so no tool calls.
    let u = server.get("/api/agents/tools/usage").json();
    assert_eq!(u["period"], "day");
    assert_eq!(u["tools"], serde_json::json!([]));
    assert_eq!(u["insights"]["most_used_tool"], Value::Null);
    assert_eq!(
        server
            .get("/api/agents/tools/usage?period=fortnight")
            .status,
        400
    );
    assert_eq!(
        server.get("/api/agents/metrics/timeline?hours=0").status,
        400
    );
    assert_eq!(
        server
            .get("/api/agents/metrics/current?agent=nobody")
            .status,
        400
    );
    assert_eq!(
        server.get("/api/agents/metrics/current?colour=red").status,
        400
    );
}

#[test]
fn tool_usage_is_hand_computed_from_a_real_transcript() {
    // The foreground recording: one backend-architect run whose transcript has two Bash calls.
    let env = Env::new();
    let rec = load_recording(&cc_fixtures().join("foreground-agent"), &env);
    replay(&env, &rec);
    let server = Server::start(&env, &[], &[("AGENT_TELEMETRY_NOW", RECORDED_NOW)]);
    let u = server.get("/api/agents/tools/usage?period=all").json();
    let tools = u["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1, "{u}");
    assert_eq!(tools[0]["name"], "Bash");
    assert_eq!(tools[0]["usage_count"], 2);
    assert!(close(&tools[0]["percentage"], 100.0));
    assert!(close(&tools[0]["avg_per_execution"], 2.0));
    assert_eq!(tools[0]["agents_using"], 1);
    assert_eq!(u["insights"]["most_used_tool"], "Bash");
    assert_eq!(u["insights"]["least_used_tool"], "Bash");
    assert_eq!(u["insights"]["high_correlation"], Value::Null);
    let (code, out, _) = env.analyze_at(RECORDED_NOW, &["tools", "--format", "json"]);
    assert_eq!(code, 0);
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(tools[0]["usage_count"], cli["tools"][0]["calls"]);
    assert_eq!(
        tools[0]["avg_per_execution"],
        cli["tools"][0]["calls_per_run"]
    );
    // Tokens and cost today equal the summary's (the recording's day).
    let c = server.get("/api/agents/metrics/current").json();
    let (_, out, _) = env.analyze_at(
        RECORDED_NOW,
        &[
            "summary",
            "--since",
            &RECORDED_NOW[..10],
            "--format",
            "json",
        ],
    );
    if let Ok(s) = serde_json::from_str::<Value>(&out) {
        assert_eq!(c["tokens_used_today"], s["totals"]["tokens"]);
        assert_eq!(c["estimated_cost_today"], s["totals"]["cost_usd"]);
    }
    let p = server
        .get("/api/agents/performance/backend-architect?days=3650")
        .json();
    let (_, out, _) = env.analyze_at(
        RECORDED_NOW,
        &[
            "agent",
            "backend-architect",
            "--days",
            "3650",
            "--format",
            "json",
        ],
    );
    let a: Value = serde_json::from_str(&out).unwrap();
    assert!(a["tokens"]["total"].as_i64().unwrap() > 0, "{a}");
    assert_eq!(p["token_usage"]["total_tokens"], a["tokens"]["total"]);
    assert_eq!(p["token_usage"]["avg_tokens"], a["tokens"]["avg_per_run"]);
    assert_eq!(p["token_usage"]["estimated_cost"], a["cost_usd"]);
}

// ── The live stream ──────────────────────────────────────────────────────────────────────

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn a_hook_during_the_test_reaches_the_stream() {
    let env = Env::new();
    let t0 = chrono::Utc::now();
    let turn = cc::turn(
        "live-sess",
        "live-p1",
        "Build the thing",
        &iso(t0),
        &iso(t0 + chrono::Duration::seconds(3)),
    );
    env.hook(turn[0].0, turn[0].1.as_bytes());
    let mut server = Server::start(&env, &[], &[]);
    let mut s = Stream::open(server.port);

    let run = Run {
        session: "live-sess".into(),
        prompt_id: "live-p1".into(),
        ..Run::new(
            "live1",
            "backend-architect",
            "Live work",
            &iso(t0),
            &iso(t0 + chrono::Duration::seconds(2)),
        )
    };
    let payloads = run.payloads();
    for (bin, p) in &payloads[..2] {
        env.hook(bin, p.as_bytes());
    }
    s.until(|t| t.contains("event: agent_started") && t.contains("\"live1\""));
    let started = s.events("agent_started");
    let e = started.iter().find(|e| e["agent_id"] == "live1").unwrap();
    assert_eq!(e["agent_type"], "backend-architect");
    assert_eq!(e["session_id"], "live-sess");
    assert_eq!(e["status"], "running");
    assert_eq!(e["task"], "Live work");
    assert_eq!(e["parent"], Value::Null);

    for (bin, p) in &payloads[2..] {
        env.hook(bin, p.as_bytes());
    }
    s.until(|t| t.contains("event: agent_finished"));
    let f = &s.events("agent_finished")[0];
    assert_eq!(f["agent_id"], "live1");
    assert_eq!(f["status"], "success");
    assert_eq!(f["duration_ms"], 2000);

    // The turn began before the server started; its Stop ends it. A new prompt starts one.
    env.hook(turn[1].0, turn[1].1.as_bytes());
    s.until(|t| t.contains("event: turn_ended"));
    assert_eq!(s.events("turn_ended")[0]["session_id"], "live-sess");
    let next = cc::turn("live-sess", "live-p2", "Next", &iso(chrono::Utc::now()), "");
    env.hook(next[0].0, next[0].1.as_bytes());
    s.until(|t| t.contains("event: turn_started"));
    let ts = &s.events("turn_started")[0];
    assert_eq!(ts["session_id"], "live-sess");
    assert_eq!(ts["prompt"], "Next");
    assert_eq!(ts["end"], Value::Null);

    // A clean stop with a stream open.
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
}

/// `turn_ended` carries the turn's status as `analyze workflows` decides it: a Stop after a
/// successful agent is a success, a StopFailure a failure with its error.
#[test]
fn turn_ended_carries_the_turns_status() {
    let env = Env::new();
    env.record(&[]);
    let mut server = Server::start(&env, &[], &[]);
    let mut s = Stream::open(server.port);
    let t0 = chrono::Utc::now();
    let at = |secs: i64| iso(t0 + chrono::Duration::seconds(secs));

    let ok = cc::turn(
        "ok-sess",
        "ok-p",
        "Ship the feature\nwith tests",
        &at(0),
        &at(3),
    );
    let run = Run {
        session: "ok-sess".into(),
        prompt_id: "ok-p".into(),
        ..Run::new("ok1", "backend-architect", "Build it", &at(1), &at(2))
    };
    env.hook(ok[0].0, ok[0].1.as_bytes());
    s.until(|t| t.contains("event: turn_started"));
    let started = &s.events("turn_started")[0];
    assert_eq!(started["prompt"], "Ship the feature …");
    assert_eq!(started["status"], "running");
    for (bin, p) in run.payloads() {
        env.hook(bin, p.as_bytes());
    }
    env.hook(ok[1].0, ok[1].1.as_bytes());
    s.until(|t| t.contains("event: turn_ended"));
    let ended = &s.events("turn_ended")[0];
    assert_eq!(ended["workflow_id"], "ok-p");
    assert_eq!(ended["status"], "success", "{ended}");
    assert_eq!(ended["error"], Value::Null);
    assert_eq!(ended["duration_ms"], 3000);
    assert_eq!(ended["agents"], 1);
    assert_eq!(ended["agent_statuses"], serde_json::json!({"success": 1}));

    let mut bad = cc::turn("bad-sess", "bad-p", "Refactor billing", &at(4), &at(9));
    let mut stop: Value = serde_json::from_str(&bad[1].1).unwrap();
    stop["hook_event_name"] = serde_json::json!("StopFailure");
    stop["error"] = serde_json::json!("unknown");
    stop["last_assistant_message"] = serde_json::json!("API Error: 400 scripted failure");
    bad[1].1 = stop.to_string();
    for (bin, p) in &bad {
        env.hook(bin, p.as_bytes());
    }
    s.until(|t| t.matches("event: turn_ended").count() == 2);
    let failed = &s.events("turn_ended")[1];
    assert_eq!(failed["workflow_id"], "bad-p");
    assert_eq!(failed["status"], "failure", "{failed}");
    assert_eq!(failed["error"], "API Error: 400 scripted failure");
    assert_eq!(failed["duration_ms"], 5000);
    assert_eq!(failed["agents"], 0);
    // Each turn ended once.
    assert_eq!(s.events("turn_ended").len(), 2, "{}", s.text);

    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}

/// Nothing is written when a run passes `lost_after_minutes`: the watcher notices it by the
/// clock, sends `agent_finished` lost once (and `turn_ended` for the turn past the threshold),
/// and the run's real end later still reaches the stream.
#[test]
fn a_run_crossing_the_lost_threshold_is_sent_once_without_a_hook() {
    let env = Env::new();
    std::fs::create_dir_all(env.db().parent().unwrap()).unwrap();
    std::fs::write(
        env.db().parent().unwrap().join("config.json"),
        r#"{"lost_after_minutes": 1}"#,
    )
    .unwrap();
    env.record(&[]);
    let mut server = Server::start(&env, &[], &[]);
    let mut s = Stream::open(server.port);
    // Started 56 s ago: lost 4 s from now.
    let t0 = chrono::Utc::now() - chrono::Duration::seconds(56);
    let turn = cc::turn("lost-sess", "lost-p", "Long job", &iso(t0), "");
    let run = Run {
        session: "lost-sess".into(),
        prompt_id: "lost-p".into(),
        ..Run::new(
            "hang1",
            "backend-architect",
            "Hang",
            &iso(t0),
            &iso(chrono::Utc::now()),
        )
    };
    let payloads = run.payloads();
    env.hook(turn[0].0, turn[0].1.as_bytes());
    for (bin, p) in &payloads[..2] {
        env.hook(bin, p.as_bytes());
    }
    s.until(|t| t.contains("event: agent_started"));
    assert_eq!(s.events("agent_started")[0]["status"], "running");
    assert!(s.events("agent_finished").is_empty(), "{}", s.text);

    s.until(|t| t.contains("event: agent_finished") && t.contains("event: turn_ended"));
    let finished = s.events("agent_finished");
    assert_eq!(finished[0]["agent_id"], "hang1");
    assert_eq!(finished[0]["status"], "lost");
    let turn_ended = &s.events("turn_ended")[0];
    assert_eq!(turn_ended["workflow_id"], "lost-p");
    assert_eq!(
        turn_ended["status"], "failure",
        "a lost agent fails its turn: {turn_ended}"
    );
    assert_eq!(turn_ended["end"], Value::Null);
    // Not again while nothing changes (several lost checks later).
    let quiet_until = Instant::now() + Duration::from_millis(2500);
    s.until(|_| Instant::now() >= quiet_until);
    assert_eq!(s.events("agent_finished").len(), 1, "{}", s.text);
    assert_eq!(s.events("turn_ended").len(), 1, "{}", s.text);

    // Its real end, late: the real status.
    for (bin, p) in &payloads[2..] {
        env.hook(bin, p.as_bytes());
    }
    s.until(|t| t.matches("event: agent_finished").count() == 2);
    let real = &s.events("agent_finished")[1];
    assert_eq!(real["agent_id"], "hang1");
    assert_eq!(real["status"], "success");

    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn streams_are_bounded() {
    let env = history();
    let server = Server::start(&env, &[], &[]);
    let open: Vec<Stream> = (0..32).map(|_| Stream::open(server.port)).collect();
    let r = server.get("/api/v1/stream");
    assert_eq!(r.status, 503, "{}", r.body);
    drop(open);
    // Closed streams free their places (the server notices the closed sockets shortly).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET /api/v1/stream HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        if &head == b"HTTP/1.1 200" {
            break;
        }
        assert!(Instant::now() < deadline, "no stream place freed");
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ── Safety ───────────────────────────────────────────────────────────────────────────────

#[test]
fn a_token_is_required_off_loopback() {
    let env = history();
    let server = Server::start(&env, &["--bind", "0.0.0.0", "--token", "s3cret-t0ken"], &[]);
    assert!(
        server.url.ends_with("?token=s3cret-t0ken"),
        "{}",
        server.url
    );
    for path in [
        "/",
        "/api/v1/summary",
        "/api/agents/metrics/current",
        "/api/v1/stream",
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let wrong = request(
        server.port,
        "GET",
        "/api/v1/summary",
        &[("Authorization", "Bearer nope")],
    );
    assert_eq!(wrong.status, 401);
    let ok = request(
        server.port,
        "GET",
        "/api/v1/summary",
        &[("Authorization", "Bearer s3cret-t0ken")],
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["command"], "summary");
    let q = server.get("/api/v1/summary?token=s3cret-t0ken");
    assert_eq!(q.status, 200);
    let cookie = q.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.starts_with("agent_telemetry_token=s3cret-t0ken;") && cookie.contains("HttpOnly")
    );
    let c = request(
        server.port,
        "GET",
        "/api/agents/metrics/current",
        &[("Cookie", "agent_telemetry_token=s3cret-t0ken")],
    );
    assert_eq!(c.status, 200);
    // The token opens the stream too.
    let st = request(
        server.port,
        "HEAD",
        "/api/v1/stream?token=s3cret-t0ken",
        &[],
    );
    assert_eq!(st.status, 200);

    // Without --token, one is generated, printed in the URL, and required.
    let generated = Server::start(&env, &["--bind", "0.0.0.0"], &[]);
    let token = generated
        .url
        .split("?token=")
        .nth(1)
        .expect("a generated token")
        .to_string();
    assert!(token.len() >= 32);
    assert_eq!(generated.get("/api/v1/summary").status, 401);
    assert_eq!(
        generated
            .get(&format!("/api/v1/summary?token={token}"))
            .status,
        200
    );
}

#[test]
fn read_only_no_cors_bounded_requests() {
    let env = history();
    let server = Server::start(&env, &[], &[]);
    // Loopback without a token: no token needed.
    let r = request(
        server.port,
        "GET",
        "/api/v1/summary",
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.headers
            .iter()
            .all(|(k, _)| !k.to_ascii_lowercase().starts_with("access-control-")),
        "{:?}",
        r.headers
    );
    for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let r = request(
            server.port,
            m,
            "/api/v1/summary",
            &[("Content-Length", "0")],
        );
        assert_eq!(r.status, 405, "{m}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    let head = request(server.port, "HEAD", "/api/v1/summary", &[]);
    assert_eq!(head.status, 200);
    let long = format!("/api/v1/summary?agent={}", "x".repeat(10_000));
    assert_eq!(server.get(&long).status, 414);
    let body = request(
        server.port,
        "GET",
        "/api/v1/summary",
        &[("Content-Length", "5")],
    );
    assert_eq!(body.status, 413);
    // A page that rebinds its own name to 127.0.0.1 is refused.
    let rebound = request(
        server.port,
        "GET",
        "/api/v1/summary",
        &[("Host", "evil.example:7777")],
    );
    assert_eq!(rebound.status, 403);
    assert_eq!(server.get("/nowhere").status, 404);
    // The recorded data is untouched: the event log has the same rows after all of this.
    let before = env.count("SELECT count(*) FROM events");
    let _ = server.get("/api/agents/metrics/current");
    assert_eq!(env.count("SELECT count(*) FROM events"), before);
}
