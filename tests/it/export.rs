//! `analyze export otlp` against a loopback OTLP/HTTP receiver written here (it decodes the
//! gzipped protobuf with a wire-format reader of its own): ids derived from the recorded ids,
//! parent links, GenAI attributes, headers and resource, retries, the `--follow` cursor; and
//! `GET /metrics` parsed and checked against hand-computed values. The same export against the
//! real Arize Phoenix and Prometheus: tests/export/run.sh.

use crate::common::*;
use crate::serve::{request, Server};
use cc::{End, Run};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ── a protobuf wire-format reader ──────────────────────────────────────────────────────────

#[derive(Debug, Clone)]
enum Wire {
    Varint(u64),
    Fixed64(u64),
    Bytes(Vec<u8>),
    Fixed32,
}

fn varint(b: &[u8], i: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let byte = b[*i];
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Every field of one message, in order.
fn fields(b: &[u8]) -> Vec<(u64, Wire)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i);
        let w = match key & 7 {
            0 => Wire::Varint(varint(b, &mut i)),
            1 => {
                i += 8;
                Wire::Fixed64(u64::from_le_bytes(b[i - 8..i].try_into().unwrap()))
            }
            2 => {
                let n = varint(b, &mut i) as usize;
                i += n;
                Wire::Bytes(b[i - n..i].to_vec())
            }
            5 => {
                i += 4;
                Wire::Fixed32
            }
            t => panic!("wire type {t}"),
        };
        out.push((key >> 3, w));
    }
    out
}

fn bytes_of(f: &[(u64, Wire)], n: u64) -> Vec<Vec<u8>> {
    f.iter()
        .filter(|(k, _)| *k == n)
        .map(|(_, w)| match w {
            Wire::Bytes(b) => b.clone(),
            other => panic!("field {n}: {other:?}"),
        })
        .collect()
}

fn one(f: &[(u64, Wire)], n: u64) -> Option<Wire> {
    f.iter().find(|(k, _)| *k == n).map(|(_, w)| w.clone())
}

/// An attribute value as text ("s:…", "i:…", "d:…", "b:…").
fn any_value(b: &[u8]) -> String {
    match fields(b).first().cloned() {
        Some((1, Wire::Bytes(s))) => format!("s:{}", String::from_utf8(s).unwrap()),
        Some((2, Wire::Varint(v))) => format!("b:{}", v != 0),
        Some((3, Wire::Varint(v))) => format!("i:{}", v as i64),
        Some((4, Wire::Fixed64(v))) => format!("d:{}", f64::from_bits(v)),
        other => panic!("AnyValue {other:?}"),
    }
}

fn attrs(f: &[(u64, Wire)], n: u64) -> BTreeMap<String, String> {
    bytes_of(f, n)
        .iter()
        .map(|kv| {
            let kv = fields(kv);
            let k = String::from_utf8(bytes_of(&kv, 1).remove(0)).unwrap();
            (k, any_value(&bytes_of(&kv, 2).remove(0)))
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One decoded span.
#[derive(Debug, Clone)]
struct Span {
    trace: String,
    id: String,
    parent: Option<String>,
    name: String,
    kind: u64,
    start: u64,
    end: u64,
    attrs: BTreeMap<String, String>,
    /// (status code, message)
    status: Option<(u64, String)>,
}

impl Span {
    fn attr(&self, k: &str) -> &str {
        self.attrs.get(k).map_or("", |s| s.as_str())
    }
}

/// An `ExportTraceServiceRequest`: its resource attributes and spans.
fn decode(body: &[u8]) -> (BTreeMap<String, String>, Vec<Span>) {
    let mut resource = BTreeMap::new();
    let mut spans = Vec::new();
    for rs in bytes_of(&fields(body), 1) {
        let rs = fields(&rs);
        for r in bytes_of(&rs, 1) {
            resource.extend(attrs(&fields(&r), 1));
        }
        for ss in bytes_of(&rs, 2) {
            for s in bytes_of(&fields(&ss), 2) {
                let f = fields(&s);
                let fixed = |n| match one(&f, n) {
                    Some(Wire::Fixed64(v)) => v,
                    other => panic!("field {n}: {other:?}"),
                };
                let status = bytes_of(&f, 15).first().map(|st| {
                    let st = fields(st);
                    let code = match one(&st, 3) {
                        Some(Wire::Varint(c)) => c,
                        _ => 0,
                    };
                    let msg = bytes_of(&st, 2)
                        .first()
                        .map(|m| String::from_utf8(m.clone()).unwrap())
                        .unwrap_or_default();
                    (code, msg)
                });
                spans.push(Span {
                    trace: hex(&bytes_of(&f, 1)[0]),
                    id: hex(&bytes_of(&f, 2)[0]),
                    parent: bytes_of(&f, 4).first().map(|p| hex(p)),
                    name: String::from_utf8(bytes_of(&f, 5)[0].clone()).unwrap(),
                    kind: match one(&f, 6) {
                        Some(Wire::Varint(k)) => k,
                        _ => 0,
                    },
                    start: fixed(7),
                    end: fixed(8),
                    attrs: attrs(&f, 9),
                    status,
                });
            }
        }
    }
    (resource, spans)
}

// ── a loopback OTLP/HTTP receiver ──────────────────────────────────────────────────────────

/// One request as received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: BTreeMap<String, String>,
    /// The body as sent (gzip).
    body: Vec<u8>,
}

impl Received {
    fn decoded(&self) -> (BTreeMap<String, String>, Vec<Span>) {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&self.body[..])
            .read_to_end(&mut raw)
            .expect("a gzip body");
        decode(&raw)
    }
}

/// Answers each request with the next status of `statuses` (200 once they run out).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(statuses: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        let mut statuses: Vec<u16> = statuses.iter().rev().copied().collect();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let status = statuses.pop().unwrap_or(200);
                serve_one(stream, status, &seen);
            }
        });
        Receiver { port, got }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Every span of the requests answered 200, in order.
    fn spans(&self) -> Vec<Span> {
        self.requests()
            .iter()
            .filter(|r| r.headers.get("x-answered").is_some_and(|s| s == "200"))
            .flat_map(|r| r.decoded().1)
            .collect()
    }

    fn wait_for(&self, what: &str, done: impl Fn(&[Span]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(&self.spans()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Reads one HTTP/1.1 request (keep-alive: several) and answers `status`; the last one read.
/// Reads one request, records it in `seen`, then answers `status`: recorded before the answer,
/// so a sender that got its answer always finds its request recorded.
fn serve_one(stream: std::net::TcpStream, status: u16, seen: &Mutex<Vec<Received>>) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut out = stream;
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let n: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; n];
    reader.read_exact(&mut body).ok()?;
    headers.insert("x-answered".into(), status.to_string());
    seen.lock().unwrap().push(Received {
        path,
        headers,
        body,
    });
    let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    out.write_all(reply.as_bytes()).ok()
}

// ── the history exported ───────────────────────────────────────────────────────────────────

/// Two sessions: in `s1`, a turn with a1 (success) delegating a2 (failure), and a3 (cancelled);
/// in `s2`, a turn with a4 (success, no children). Times well in the past (settled).
fn history() -> Env {
    let env = Env::new();
    let mut all = cc::turn(
        "s1",
        "p1",
        "build it",
        "2026-11-21T09:00:00Z",
        "2026-11-21T09:10:00Z",
    );
    all.extend(cc::turn(
        "s2",
        "p2",
        "review it",
        "2026-11-21T10:00:00Z",
        "2026-11-21T10:05:00Z",
    ));
    let runs = [
        Run {
            session: "s1".into(),
            prompt_id: "p1".into(),
            ..Run::new(
                "a1",
                "backend-architect",
                "Build API with key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
                "2026-11-21T09:01:00Z",
                "2026-11-21T09:05:00Z",
            )
        },
        Run {
            session: "s1".into(),
            prompt_id: "p1".into(),
            parent: Some("a1".into()),
            end_kind: End::Failure("API Error: 500".into()),
            ..Run::new(
                "a2",
                "test-engineer",
                "Test API",
                "2026-11-21T09:02:00Z",
                "2026-11-21T09:02:30Z",
            )
        },
        Run {
            session: "s1".into(),
            prompt_id: "p1".into(),
            end_kind: End::Cancelled,
            ..Run::new(
                "a3",
                "code-reviewer",
                "Review API",
                "2026-11-21T09:06:00Z",
                "2026-11-21T09:07:00Z",
            )
        },
        Run {
            session: "s2".into(),
            prompt_id: "p2".into(),
            ..Run::new(
                "a4",
                "code-reviewer",
                "Review db",
                "2026-11-21T10:01:00Z",
                "2026-11-21T10:02:40Z",
            )
        },
    ];
    all.extend(runs.iter().flat_map(|r| r.payloads()));
    env.record(&all);
    env
}

fn export(env: &Env, args: &[&str]) -> (i32, String, String) {
    let mut a = vec!["export", "otlp", "--db"];
    let db = env.db();
    a.push(db.to_str().unwrap());
    a.extend(args);
    env.analyze(&a)
}

fn by_agent(spans: &[Span]) -> BTreeMap<String, Span> {
    spans
        .iter()
        .filter(|s| s.name.starts_with("invoke_agent "))
        .map(|s| {
            (
                s.attr("gen_ai.agent.id")
                    .trim_start_matches("s:")
                    .to_string(),
                s.clone(),
            )
        })
        .collect()
}

#[test]
fn spans_nest_as_the_delegation_tree_with_ids_derived_from_the_records() {
    let env = history();
    std::fs::write(
        env.db().with_file_name("config.json"),
        r#"{"export": {"resource_attributes": {"deployment.environment": "dev", "team": "core"}}}"#,
    )
    .unwrap();
    let rx = Receiver::start(&[]);
    let url = rx.url();
    let (code, out, err) = export(
        &env,
        &[
            "--endpoint",
            &url,
            "--header",
            "Authorization=Bearer t0k",
            "--resource",
            "team=platform",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sent 4 agent runs (6 spans)"), "{out}");
    assert!(
        err.is_empty(),
        "no progress when stderr is not a terminal: {err}"
    );
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/v1/traces");
    assert_eq!(r.headers["content-type"], "application/x-protobuf");
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert_eq!(r.headers["authorization"], "Bearer t0k");
    let (resource, spans) = r.decoded();
    assert_eq!(resource["service.name"], "s:agent-telemetry");
    assert_eq!(resource["deployment.environment"], "s:dev");
    assert_eq!(
        resource["team"], "s:platform",
        "--resource overrides config.json"
    );
    assert!(resource.contains_key("host.name"));

    // Two turns and four runs; one trace per session.
    assert_eq!(spans.len(), 6);
    let runs = by_agent(&spans);
    let turns: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "invoke_workflow turn")
        .collect();
    assert_eq!(turns.len(), 2);
    assert_eq!(runs["a1"].trace, runs["a2"].trace);
    assert_eq!(runs["a1"].trace, runs["a3"].trace);
    assert_ne!(runs["a1"].trace, runs["a4"].trace);
    let turn_of = |trace: &str| turns.iter().find(|t| t.trace == trace).unwrap().id.clone();
    // a2 is a1's child; a1, a3 the turn's; turns are roots.
    assert_eq!(runs["a2"].parent.as_deref(), Some(runs["a1"].id.as_str()));
    assert_eq!(runs["a1"].parent, Some(turn_of(&runs["a1"].trace)));
    assert_eq!(runs["a3"].parent, Some(turn_of(&runs["a3"].trace)));
    assert_eq!(runs["a4"].parent, Some(turn_of(&runs["a4"].trace)));
    assert!(turns.iter().all(|t| t.parent.is_none()));
    let ids: BTreeSet<&str> = spans.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), 6, "distinct span ids");

    // Attributes and times of a1: 09:01 → 09:05.
    let a1 = &runs["a1"];
    assert_eq!(a1.name, "invoke_agent backend-architect");
    assert_eq!(a1.kind, 1, "INTERNAL");
    assert_eq!(a1.end - a1.start, 240 * 1_000_000_000);
    assert_eq!(
        a1.start,
        1_795_251_660 * 1_000_000_000,
        "2026-11-21T09:01:00Z"
    );
    for (k, v) in [
        ("gen_ai.operation.name", "s:invoke_agent"),
        ("gen_ai.provider.name", "s:anthropic"),
        ("gen_ai.agent.name", "s:backend-architect"),
        ("gen_ai.conversation.id", "s:s1"),
        ("gen_ai.usage.input_tokens", "i:0"),
        ("gen_ai.usage.output_tokens", "i:0"),
        ("agent_telemetry.status", "s:success"),
    ] {
        assert_eq!(a1.attr(k), v, "{k}");
    }
    let desc = a1.attr("agent_telemetry.task.description");
    assert!(desc.starts_with("s:Build API with key "), "{desc}");
    assert!(
        !desc.contains("sk-ant-api03-abcdef"),
        "the key is redacted: {desc}"
    );
    assert_eq!(a1.status, None);
    // The failure: status ERROR with its message and error.type.
    let a2 = &runs["a2"];
    assert_eq!(a2.status, Some((2, "API Error: 500".into())));
    assert_eq!(a2.attr("error.type"), "s:agent_failure");
    assert_eq!(runs["a3"].attr("agent_telemetry.status"), "s:cancelled");
    assert_eq!(runs["a3"].status, None);

    // Exporting again sends the very same ids.
    let (code, _, err) = export(&env, &["--endpoint", &format!("{url}/v1/traces")]);
    assert_eq!(code, 0, "{err}");
    let again = rx.requests()[1].decoded().1;
    let first: BTreeSet<(String, String, Option<String>)> = spans
        .iter()
        .map(|s| (s.trace.clone(), s.id.clone(), s.parent.clone()))
        .collect();
    let second: BTreeSet<(String, String, Option<String>)> = again
        .iter()
        .map(|s| (s.trace.clone(), s.id.clone(), s.parent.clone()))
        .collect();
    assert_eq!(first, second);
    assert_eq!(
        rx.requests()[1].path,
        "/v1/traces",
        "a traces URL is used as given"
    );

    // Filters narrow what is sent.
    let (code, out, err) = export(&env, &["--endpoint", &url, "--agent", "code-reviewer"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sent 2 agent runs"), "{out}");
}

#[test]
fn runs_carry_their_metrics_as_attributes() {
    let env = Env::new();
    // A generic run whose stop event carries custom metrics…
    env.hook(
        "subagent-start",
        br#"{"agent_name": "builder", "invocation_id": "g1", "timestamp": "2026-11-21T09:00:00Z"}"#,
    );
    env.hook(
        "subagent-stop",
        br#"{"invocation_id": "g1", "success": true, "timestamp": "2026-11-21T09:01:00Z",
             "metrics": {"lint_warnings": 7, "coverage": 87.5}}"#,
    );
    // …and a Claude Code run whose transcript edits 2 lines in, 1 out.
    let transcript = crate::metrics::write_transcript(&env.dir.path().join("projects"));
    crate::metrics::record_linter_run(&env, &transcript);
    let rx = Receiver::start(&[]);
    let (code, _, err) = export(&env, &["--endpoint", &rx.url()]);
    assert_eq!(code, 0, "{err}");
    let spans = rx.spans();
    let runs = by_agent(&spans);
    let g = &runs["g1"];
    assert_eq!(g.attr("agent_telemetry.metric.lint_warnings"), "d:7");
    assert_eq!(g.attr("agent_telemetry.metric.coverage"), "d:87.5");
    // No transcript, no test output: no built-in attribute (no value is not 0).
    for k in [
        "agent_telemetry.tests.passed",
        "agent_telemetry.lines.added",
        "agent_telemetry.files.created",
    ] {
        assert!(!g.attrs.contains_key(k), "{k}");
    }
    let linter = &runs[crate::metrics::AGENT];
    assert_eq!(linter.attr("agent_telemetry.lines.added"), "i:2");
    assert_eq!(linter.attr("agent_telemetry.lines.removed"), "i:1");
    assert!(!linter
        .attrs
        .keys()
        .any(|k| k.starts_with("agent_telemetry.metric.")));
}

#[test]
fn tokens_are_each_runs_own_and_sum_to_the_readers_total() {
    let env = Env::new();
    replay_all_recordings(&env);
    let rx = Receiver::start(&[]);
    let (code, _, err) = export(&env, &["--endpoint", &rx.url()]);
    assert_eq!(code, 0, "{err}");
    let spans = rx.spans();
    let runs = by_agent(&spans);
    let int =
        |s: &Span, k: &str| -> i64 { s.attr(k).trim_start_matches("i:").parse().unwrap_or(0) };
    let total: i64 = runs
        .values()
        .map(|s| int(s, "gen_ai.usage.input_tokens") + int(s, "gen_ai.usage.output_tokens"))
        .sum();
    let summary = env.analyze_json(&["summary"]);
    let want: i64 = summary["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["tokens"].as_i64().unwrap())
        .sum();
    assert!(want > 0, "the recordings have tokens");
    assert_eq!(total, want);
    let finished = env.count(
        "SELECT count(*) FROM agent_runs WHERE internal = 0 AND end_ms IS NOT NULL AND status <> 'running'",
    );
    assert_eq!(runs.len() as i64, finished);
}

#[test]
fn a_failing_endpoint_is_retried_and_a_rejection_is_an_error() {
    let env = history();
    let rx = Receiver::start(&[503, 200]);
    let (code, out, err) = export(&env, &["--endpoint", &rx.url()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sent 4 agent runs"), "{out}");
    assert!(
        err.contains("HTTP 503") && err.contains("retrying in 1 s"),
        "{err}"
    );
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, reqs[1].body, "the same request again");

    let rx = Receiver::start(&[400]);
    let (code, _, err) = export(&env, &["--endpoint", &rx.url()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("HTTP 400") && err.contains("after 1 attempt"),
        "{err}"
    );
    assert_eq!(rx.requests().len(), 1, "a 400 is not retried");

    let (code, _, err) = export(&env, &["--endpoint", "ftp://x", "--header", "nokey"]);
    assert_eq!(code, 2, "{err}");
}

/// `analyze export otlp --follow` running in the background.
struct Follow(Child);

impl Follow {
    fn start(env: &Env, url: &str) -> Follow {
        let child = Command::new(bin_path("analyze"))
            .args(["export", "otlp", "--follow", "--endpoint", url, "--db"])
            .arg(env.db())
            .env("HOME", env.home())
            .env_remove("AGENT_TELEMETRY_NOW")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Follow(child)
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[test]
fn follow_sends_each_run_once_and_resumes_after_a_restart() {
    let env = history();
    // Running, then (after the first pass) finished: sent once it has finished.
    let now = chrono::Utc::now();
    let late = Run {
        session: "s3".into(),
        prompt_id: "p3".into(),
        ..Run::new(
            "a5",
            "debugger",
            "Debug it",
            &iso(now - chrono::Duration::seconds(30)),
            "",
        )
    };
    let mut starting = late.clone();
    starting.end_kind = End::Running;
    env.record(&starting.payloads());
    // The endpoint is down for the first two attempts.
    let rx = Receiver::start(&[503, 503]);
    let url = rx.url();
    {
        let _f = Follow::start(&env, &url);
        rx.wait_for("the four finished runs", |s| by_agent(s).len() == 4);
        std::thread::sleep(Duration::from_secs(3));
    }
    let sent = by_agent(&rx.spans());
    assert_eq!(sent.len(), 4, "a5 is still running");
    // a5 finishes while nothing follows; a restart sends it, and only it.
    let mut done = late.clone();
    done.end = iso(now - chrono::Duration::seconds(10));
    let stop: Vec<_> = done.payloads().into_iter().skip(2).collect();
    env.record(&stop);
    let before = rx.spans().len();
    {
        let _f = Follow::start(&env, &url);
        rx.wait_for("a5", |s| by_agent(s).contains_key("a5"));
        std::thread::sleep(Duration::from_secs(3));
    }
    let after = rx.spans();
    let new: Vec<&Span> = after[before..].iter().collect();
    assert_eq!(new.len(), 1, "only a5 (its session has no turn): {new:?}");
    assert_eq!(new[0].attr("gen_ai.agent.id"), "s:a5");
    // Every span exactly once, over both processes and the failed attempts.
    let ids: Vec<&str> = after.iter().map(|s| s.id.as_str()).collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), distinct.len(), "nothing sent twice");
    assert_eq!(ids.len(), 7, "two turns and five runs");
    assert!(
        rx.requests().len() >= 4,
        "two refused attempts were retried"
    );
}

// ── GET /metrics ───────────────────────────────────────────────────────────────────────────

/// `name{labels} value` lines, keyed by `name{labels}`.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (k, v) = line.rsplit_once(' ').unwrap();
        assert!(
            out.insert(k.to_string(), v.parse().unwrap()).is_none(),
            "duplicate {k}"
        );
    }
    out
}

#[test]
fn metrics_are_hand_computed_and_follow_new_runs() {
    let env = history();
    // a6 still running at the fixed "now": active.
    let a6 = Run {
        end_kind: End::Running,
        session: "s2".into(),
        ..Run::new("a6", "debugger", "Debug", "2026-11-21T11:50:00Z", "")
    };
    env.record(&a6.payloads());
    // Real alerts, as serve's own evaluator sees them at "now": a6 has run 10 minutes, past a
    // 5-minute hung threshold; a guard alert resolved a minute ago stays resolved.
    std::fs::write(
        env.db().with_file_name("config.json"),
        r#"{"alerts": {"hung_after_minutes": 5}}"#,
    )
    .unwrap();
    let now = "2026-11-21T12:00:00Z";
    let (code, out, err) = env.analyze_at(now, &["alerts", "--no-deliver", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let conn = env.conn();
    conn.execute(
        "INSERT INTO alert_state(rule, subject, state, severity, message, since_ms, last_seen_ms, resolved_ms)
         VALUES ('guard', 's9', 'resolved', 'warning', 'm', ?1, ?1, ?1)",
        [chrono::DateTime::parse_from_rfc3339(now).unwrap().timestamp_millis() - 60_000],
    )
    .unwrap();
    drop(conn);
    let server = Server::start(&env, &[], &[("AGENT_TELEMETRY_NOW", now)]);
    let reply = request(server.port, "GET", "/metrics", &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let m = samples(&reply.body);
    let get = |k: &str| {
        *m.get(k)
            .unwrap_or_else(|| panic!("no {k} in\n{}", reply.body))
    };
    assert_eq!(
        get(r#"agent_telemetry_runs_total{agent_type="backend-architect",status="success"}"#),
        1.0
    );
    assert_eq!(
        get(r#"agent_telemetry_runs_total{agent_type="test-engineer",status="failure"}"#),
        1.0
    );
    assert_eq!(
        get(r#"agent_telemetry_runs_total{agent_type="code-reviewer",status="cancelled"}"#),
        1.0
    );
    assert_eq!(
        get(r#"agent_telemetry_runs_total{agent_type="code-reviewer",status="success"}"#),
        1.0
    );
    assert_eq!(
        get(r#"agent_telemetry_runs_total{agent_type="debugger",status="running"}"#),
        1.0
    );
    let total: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("agent_telemetry_runs_total"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, 5.0);
    // code-reviewer: 60 s (a3) and 100 s (a4).
    let cr = |le: &str| {
        get(&format!(
            r#"agent_telemetry_run_duration_seconds_bucket{{agent_type="code-reviewer",le="{le}"}}"#
        ))
    };
    assert_eq!(
        (cr("30"), cr("60"), cr("120"), cr("+Inf")),
        (0.0, 1.0, 2.0, 2.0)
    );
    assert_eq!(
        get(r#"agent_telemetry_run_duration_seconds_sum{agent_type="code-reviewer"}"#),
        160.0
    );
    assert_eq!(
        get(r#"agent_telemetry_run_duration_seconds_count{agent_type="code-reviewer"}"#),
        2.0
    );
    assert_eq!(
        get(r#"agent_telemetry_run_duration_seconds_sum{agent_type="test-engineer"}"#),
        30.0
    );
    assert_eq!(get("agent_telemetry_active_agents"), 1.0);
    assert_eq!(get(r#"agent_telemetry_alerts_firing{rule="hung"}"#), 1.0);
    assert_eq!(get(r#"agent_telemetry_alerts_firing{rule="guard"}"#), 0.0);
    assert!(!reply.body.contains(r#"rule="budget""#), "{}", reply.body);
    assert_eq!(
        get(r#"agent_telemetry_tokens_total{agent_type="code-reviewer",kind="input"}"#),
        0.0
    );

    // a6 ends (50 s) while serving: the rollup follows; at a later "now" nothing else changes.
    let mut ended = a6.clone();
    ended.end = "2026-11-21T11:50:50Z".into();
    ended.end_kind = End::Success;
    env.record(&ended.payloads().into_iter().skip(2).collect::<Vec<_>>());
    let m = samples(&request(server.port, "GET", "/metrics", &[]).body);
    assert_eq!(
        m[r#"agent_telemetry_runs_total{agent_type="debugger",status="success"}"#],
        1.0
    );
    assert!(
        !m.contains_key(r#"agent_telemetry_runs_total{agent_type="debugger",status="running"}"#)
    );
    assert_eq!(
        m[r#"agent_telemetry_run_duration_seconds_bucket{agent_type="debugger",le="60"}"#],
        1.0
    );
    assert_eq!(
        m[r#"agent_telemetry_run_duration_seconds_bucket{agent_type="debugger",le="30"}"#],
        0.0
    );
    assert_eq!(m["agent_telemetry_active_agents"], 0.0);
}

#[test]
fn metrics_rollup_equals_the_runs_and_survives_a_rebuild() {
    let env = Env::new();
    replay_all_recordings(&env);
    let server = Server::start(&env, &[], &[]);
    let check = |when: &str| {
        let m = samples(&request(server.port, "GET", "/metrics", &[]).body);
        let conn = env.conn();
        let mut stmt = conn
            .prepare(
                "SELECT agent_type, sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                        sum(cache_write_tokens), count(*), sum(coalesce(cost_usd, 0))
                 FROM agent_runs WHERE internal = 0 GROUP BY agent_type",
            )
            .unwrap();
        let rows: Vec<(String, [i64; 4], i64, f64)> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            rows.iter().any(|r| r.1[0] > 0),
            "{when}: the recordings have tokens"
        );
        for (t, tokens, runs, cost) in rows {
            for (kind, n) in ["input", "output", "cache_read", "cache_creation"]
                .iter()
                .zip(tokens)
            {
                let k =
                    format!(r#"agent_telemetry_tokens_total{{agent_type="{t}",kind="{kind}"}}"#);
                assert_eq!(m[&k], n as f64, "{when}: {k}");
            }
            let by_status: f64 = m
                .iter()
                .filter(|(k, _)| {
                    k.starts_with(&format!(r#"agent_telemetry_runs_total{{agent_type="{t}","#))
                })
                .map(|(_, v)| v)
                .sum();
            assert_eq!(by_status, runs as f64, "{when}: {t}");
            let c = m[&format!(r#"agent_telemetry_cost_usd_total{{agent_type="{t}"}}"#)];
            assert!((c - cost).abs() < 1e-9, "{when}: {t} cost {c} vs {cost}");
        }
    };
    check("first scrape");
    // Behind the guard like every route: with a token, none means 401.
    let guarded = Server::start(&env, &["--token", "s3cret"], &[]);
    assert_eq!(request(guarded.port, "GET", "/metrics", &[]).status, 401);
    let ok = request(
        guarded.port,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer s3cret")],
    );
    assert_eq!(ok.status, 200);
    drop(guarded);
    let (code, _, err) = env.analyze(&["rebuild"]);
    assert_eq!(code, 0, "{err}");
    check("after a rebuild");
}
