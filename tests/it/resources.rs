//! The host process's resources (docs/metrics.md, "Resources"): the real hook binaries read
//! their host from /proc (the test process is the parent, directly or through `sh -c`), a fake
//! /proc gives hand-computed figures, a spooled payload keeps its readings, and derivation
//! gives the same per-run figures whatever order the starts and stops commit in.

use crate::common::*;
use crate::projection::derive;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn start(id: &str) -> String {
    format!(
        r#"{{"hook_event_name":"SubagentStart","session_id":"s-res","agent_id":"{id}","agent_type":"builder","transcript_path":"/nonexistent/s.jsonl"}}"#
    )
}

fn stop(id: &str) -> String {
    format!(
        r#"{{"hook_event_name":"SubagentStop","session_id":"s-res","agent_id":"{id}","agent_type":"builder","transcript_path":"/nonexistent/s.jsonl","agent_transcript_path":"/nonexistent/a.jsonl"}}"#
    )
}

/// Runs hook `bin` through `sh -c` (as Claude Code does: the shell forks it), with `env`.
fn hook_via_shell(env: &Env, bin: &str, stdin: &str) {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "\"$0\"; true"])
        .arg(bin_path(bin))
        .env("AGENT_TELEMETRY_DB", env.db())
        .env("HOME", env.home())
        .env_remove("AGENT_TELEMETRY_DISABLED")
        .env_remove("AGENT_TELEMETRY_PROC_ROOT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
}

/// (host_pid, host_cpu_ms, host_rss_kb) of each event of `kind`, in id order.
fn readings(env: &Env, kind: &str) -> Vec<(Option<i64>, Option<i64>, Option<i64>)> {
    let c = env.conn();
    let mut st = c
        .prepare(
            "SELECT host_pid, host_cpu_ms, host_rss_kb FROM events WHERE kind = ?1 ORDER BY id",
        )
        .unwrap();
    st.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// (host_pid, host_cpu_start_ms, host_cpu_end_ms, host_rss_kb) of run `agent_id`.
fn run_host(env: &Env, agent_id: &str) -> [Option<i64>; 4] {
    env.conn()
        .query_row(
            "SELECT host_pid, host_cpu_start_ms, host_cpu_end_ms, host_rss_kb FROM agent_runs WHERE agent_id = ?1",
            [agent_id],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
        )
        .unwrap()
}

/// A fake /proc/<pid>/ with a stat line (comm, ppid, utime, stime in ticks) and a VmRSS.
fn fake_proc(
    root: &Path,
    pid: u32,
    comm: &str,
    ppid: u32,
    utime: i64,
    stime: i64,
    rss: Option<i64>,
) {
    let d = root.join(pid.to_string());
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("stat"),
        format!("{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 3180 0 0 0 {utime} {stime} 0 0 20 0 11 0 1234 1180000000 51234 18446744073709551615\n"),
    )
    .unwrap();
    match rss {
        Some(kb) => std::fs::write(
            d.join("status"),
            format!("Name:\t{comm}\nState:\tS (sleeping)\nVmPeak:\t 2000000 kB\nVmRSS:\t  {kb} kB\nRssAnon:\t 1 kB\n"),
        )
        .unwrap(),
        None => {
            let _ = std::fs::remove_file(d.join("status"));
        }
    }
}

#[test]
fn the_hooks_record_their_parent_or_the_shell_s_parent_as_host() {
    let env = Env::new();
    let me = i64::from(std::process::id());
    // Started directly by this process, then through `sh -c` (the hook's parent is the shell).
    env.hook("subagent-start", start("r-1").as_bytes());
    hook_via_shell(&env, "subagent-start", &start("r-2"));
    // Something for the host to do between the start and the stop.
    let mut x = 0u64;
    for i in 0..30_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    std::hint::black_box(x);
    hook_via_shell(&env, "subagent-stop", &stop("r-1"));
    env.hook("subagent-stop", stop("r-2").as_bytes());
    // A tool call of the run reads nothing (only starts and stops carry readings).
    env.hook(
        "subagent-start",
        br#"{"hook_event_name":"PreToolUse","session_id":"s-res","agent_id":"r-1","tool_name":"Bash","tool_use_id":"t1","tool_input":{"command":"ls"}}"#,
    );
    assert_eq!(readings(&env, "PreToolUse"), vec![(None, None, None)]);
    for kind in ["SubagentStart", "SubagentStop"] {
        for (pid, cpu, rss) in readings(&env, kind) {
            assert_eq!(pid, Some(me), "{kind}: the host is this test process");
            assert!(
                cpu.unwrap() >= 0 && rss.unwrap() > 0,
                "{kind}: {cpu:?} {rss:?}"
            );
        }
    }
    let j = env.analyze_json(&["agent", "builder"]);
    for id in ["r-1", "r-2"] {
        let [pid, cpu_start, cpu_end, rss] = run_host(&env, id);
        assert_eq!(pid, Some(me));
        assert!(cpu_end.unwrap() >= cpu_start.unwrap(), "{id}");
        assert!(rss.unwrap() > 0);
    }
    let runs = j["recent_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        assert!(r["host_cpu_seconds"].as_f64().unwrap() >= 0.0, "{r}");
        assert!(r["host_rss_mb"].as_f64().unwrap() > 0.0, "{r}");
    }
    assert_eq!(j["host"]["cpu_runs"], 2);
    assert_eq!(j["host"]["rss_runs"], 2);
    let (code, table, _) = env.analyze(&["agent", "builder"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("Claude Code process (shared by parallel agents)")
            && table.contains("CPU seconds while a run ran, avg / max"),
        "{table}"
    );
    assert!(
        table.contains("Host CPU") && table.contains("Host mem"),
        "{table}"
    );
}

#[test]
fn figures_from_a_fake_proc_are_the_hand_computed_ones() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let me = std::process::id();
    let run = |bin: &str, payload: &str| {
        let out = env.run_env(
            bin,
            &[],
            payload.as_bytes(),
            &[("AGENT_TELEMETRY_PROC_ROOT", root.to_str().unwrap())],
        );
        assert!(out.status.success() && out.stdout.is_empty());
    };
    // Run directly: the hook's parent is this process, whose fake stat and status say:
    fake_proc(root, me, "claude", 1, 1234, 566, Some(345_678));
    run("subagent-start", &start("f-1"));
    // USER_HZ is 100 on Linux: (1234 + 566) ticks = 18,000 ms.
    assert_eq!(
        readings(&env, "SubagentStart"),
        vec![(Some(i64::from(me)), Some(18_000), Some(345_678))]
    );
    fake_proc(root, me, "claude", 1, 4000, 1000, Some(409_600));
    run("subagent-stop", &stop("f-1"));
    assert_eq!(
        readings(&env, "SubagentStop"),
        vec![(Some(i64::from(me)), Some(50_000), Some(409_600))]
    );
    let j = env.analyze_json(&["agent", "builder"]);
    let r = &j["recent_runs"][0];
    // (50,000 − 18,000) ms = 32 s; 409,600 kB ÷ 1,024 = 400 MB.
    assert_eq!(r["host_cpu_seconds"].as_f64(), Some(32.0), "{r}");
    assert_eq!(r["host_rss_mb"].as_f64(), Some(400.0), "{r}");
    assert_eq!(j["host"]["avg_cpu_seconds"].as_f64(), Some(32.0));
    assert_eq!(j["host"]["max_rss_mb"].as_f64(), Some(400.0));

    // A stop read from another process (the hook's parent is a shell whose parent is pid
    // 4,000,001: a resumed session's new Claude Code): the CPU and memory stay empty.
    run("subagent-start", &start("f-2"));
    fake_proc(root, me, "sh", 4_000_001, 0, 0, None);
    fake_proc(root, 4_000_001, "claude", 1, 9000, 1000, Some(512_000));
    run("subagent-stop", &stop("f-2"));
    assert_eq!(
        readings(&env, "SubagentStop")[1],
        (Some(4_000_001), Some(100_000), Some(512_000)),
        "walked past the shell"
    );
    derive(&env.db());
    assert_eq!(run_host(&env, "f-2"), [Some(0), None, None, None]);

    // No /proc at all (an empty root): no readings, no figures, and the run is still recorded.
    let empty = tempfile::tempdir().unwrap();
    for (bin, p) in [
        ("subagent-start", start("f-3")),
        ("subagent-stop", stop("f-3")),
    ] {
        let out = env.run_env(
            bin,
            &[],
            p.as_bytes(),
            &[("AGENT_TELEMETRY_PROC_ROOT", empty.path().to_str().unwrap())],
        );
        assert!(out.status.success() && out.stdout.is_empty());
    }
    derive(&env.db());
    assert_eq!(run_host(&env, "f-3"), [None; 4]);
    let j = env.analyze_json(&["agent", "builder"]);
    let f3 = j["recent_runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent_id"] == "f-3")
        .unwrap();
    assert!(f3["host_cpu_seconds"].is_null() && f3["host_rss_mb"].is_null());
    assert_eq!(j["host"]["cpu_runs"], 1, "only f-1 has a CPU figure");
}

#[test]
fn a_spooled_payload_keeps_the_readings_taken_when_the_hook_ran() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let me = std::process::id();
    let proc_root = [("AGENT_TELEMETRY_PROC_ROOT", root.to_str().unwrap())];
    fake_proc(root, me, "claude", 1, 700, 300, Some(1_000));
    // A directory where the database should be: the hook cannot open it and spools.
    std::fs::create_dir_all(env.db()).unwrap();
    let out = env.run_env("subagent-start", &[], start("sp-1").as_bytes(), &proc_root);
    assert!(out.status.success() && out.stdout.is_empty());
    std::fs::remove_dir(env.db()).unwrap();
    let spool = std::fs::read_to_string(env.dir.path().join("data/telemetry.db.spool.jsonl"))
        .expect("spooled");
    assert!(spool.contains(r#""host":{"pid":"#), "{spool}");
    // Later the host has used more; the replay (by the next hook, which creates the database)
    // stores what the first hook read, and the second hook's start its own reading.
    fake_proc(root, me, "claude", 1, 9_999, 9_999, Some(9_999));
    let out = env.run_env("subagent-start", &[], start("sp-2").as_bytes(), &proc_root);
    assert!(out.status.success() && out.stdout.is_empty());
    assert!(!env
        .dir
        .path()
        .join("data/telemetry.db.spool.jsonl")
        .exists());
    let c = env.conn();
    let by_agent = |a: &str| -> (i64, i64, i64) {
        c.query_row(
            "SELECT host_pid, host_cpu_ms, host_rss_kb FROM events WHERE agent_id = ?1",
            [a],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    // (700 + 300) ticks = 10,000 ms; (9,999 + 9,999) ticks = 199,980 ms.
    assert_eq!(by_agent("sp-1"), (i64::from(me), 10_000, 1_000));
    assert_eq!(by_agent("sp-2"), (i64::from(me), 199_980, 9_999));
}

/// An event with a reading: kind, agent, ts, pid, cpu_ms, rss_kb.
type Reading = (
    &'static str,
    &'static str,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
);

/// Events with readings appended straight into the log in `order`, derived; the host columns
/// of runs `a` (one process: two starts, two stops), `b` (start and stop from two processes)
/// and `c` (a stop only).
fn derived_in_order(order: &[usize]) -> Vec<[Option<i64>; 4]> {
    #[rustfmt::skip]
    let events: [Reading; 9] = [
        // kind, agent, ts, pid, cpu_ms, rss_kb
        ("SubagentStart", "a", 1_000, 10, Some(5_000), Some(100)),
        ("SubagentStop", "a", 2_000, 10, Some(7_000), Some(300)),
        ("SubagentStart", "a", 3_000, 10, Some(8_000), Some(200)), // resumed in the same process
        ("SubagentStop", "a", 4_000, 10, Some(9_500), Some(250)),
        ("SubagentStop", "a", 4_001, 10, None, Some(999)),         // CPU unreadable: the figures keep the 9,500 ms stop's
        ("SubagentStart", "b", 1_000, 10, Some(5_000), Some(100)),
        ("SubagentStop", "b", 9_000, 11, Some(60), Some(400)),      // another process
        ("SubagentStop", "c", 5_000, 10, Some(8_800), Some(280)),
        ("agent_start", "g", 1_000, 12, Some(100), Some(10)),
    ];
    let env = Env::new();
    drop(agent_telemetry::store::Store::create(&env.db()).unwrap());
    let c = env.conn();
    for &i in order {
        let (kind, agent, ts, pid, cpu, rss) = events[i];
        let (source, payload) = if kind == "agent_start" {
            (
                "generic",
                format!(r#"{{"agent_name":"gen","invocation_id":"{agent}"}}"#),
            )
        } else {
            (
                "claude-code",
                format!(
                    r#"{{"hook_event_name":"{kind}","session_id":"s","agent_id":"{agent}","agent_type":"builder"}}"#
                ),
            )
        };
        c.execute(
            "INSERT INTO events (ts, recorded_at, source, kind, session_id, agent_id, agent_type, payload, host_pid, host_cpu_ms, host_rss_kb)
             VALUES (?1, ?1, ?2, ?3, 's', ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![ts, source, kind, agent, if kind == "agent_start" { "gen" } else { "builder" }, payload, pid, cpu, rss],
        )
        .unwrap();
        // A reader between appends: the incremental derivation, one event at a time.
        if i % 3 == 0 {
            derive(&env.db());
        }
    }
    derive(&env.db());
    ["a", "b", "c", "g"]
        .iter()
        .map(|a| run_host(&env, a))
        .collect()
}

#[test]
fn derivation_gives_the_same_figures_in_any_order() {
    let want = vec![
        // a: the first start's CPU, the last stop's CPU and its memory.
        [Some(10), Some(5_000), Some(9_500), Some(250)],
        // b: two processes: no figures.
        [Some(0), None, None, None],
        // c: a stop without a start: memory, and a CPU end without a start (no CPU seconds).
        [Some(10), None, Some(8_800), Some(280)],
        // g: a generic start only.
        [Some(12), Some(100), None, None],
    ];
    let mut order: Vec<usize> = (0..9).collect();
    assert_eq!(derived_in_order(&order), want, "log order");
    order.reverse();
    assert_eq!(derived_in_order(&order), want, "reversed");
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..12 {
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        assert_eq!(derived_in_order(&order), want, "round {round}: {order:?}");
    }
}

/// The recorded `tests-then-pass` session (or its failing variant) replayed through the real
/// hooks at fixed times — its one frontend-developer run from `from + 2 s` to `to`, the duration
/// its Agent tool result reports — with the fake
/// /proc's host at `start` (utime, stime, VmRSS) when SubagentStart runs and at `stop` when
/// SubagentStop runs.
fn replay_with_host(
    env: &Env,
    root: &Path,
    src: &Path,
    from: &str,
    to: &str,
    start: (i64, i64, i64),
    stop: (i64, i64, i64),
) {
    let me = std::process::id();
    let rec = load_recording(src, env);
    let at = |s: &str, plus: i64| {
        let t = chrono::DateTime::parse_from_rfc3339(s).unwrap() + chrono::Duration::seconds(plus);
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let ms = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    };
    for (event, payload) in &rec.hooks {
        let mut v: serde_json::Value = serde_json::from_str(payload).unwrap();
        let ts = match event.as_str() {
            "SessionStart" => at(from, 0),
            "UserPromptSubmit" => at(from, 1),
            "PreToolUse" if v["tool_name"] == "Agent" => at(from, 2),
            "SubagentStart" => at(from, 2),
            "PreToolUse" => at(from, 3),
            "PostToolUseFailure" => at(from, 4),
            "SubagentStop" | "PostToolUse" => at(to, 0),
            _ => at(to, 8),
        };
        v["timestamp"] = serde_json::json!(ts);
        // The Agent tool's result reports the run's duration (Claude Code's own figure, which
        // the run keeps): the same span.
        if v["tool_response"]["totalDurationMs"].is_number() {
            v["tool_response"]["totalDurationMs"] = serde_json::json!(ms(to) - ms(from) - 2_000);
        }
        match event.as_str() {
            "SubagentStart" => fake_proc(root, me, "claude", 1, start.0, start.1, Some(start.2)),
            "SubagentStop" => fake_proc(root, me, "claude", 1, stop.0, stop.1, Some(stop.2)),
            _ => {}
        }
        let out = env.run_env(
            binary_for_event(event),
            &[],
            v.to_string().as_bytes(),
            &[("AGENT_TELEMETRY_PROC_ROOT", root.to_str().unwrap())],
        );
        assert!(out.status.success() && out.stdout.is_empty(), "{event}");
    }
}

/// The per-run figures wherever a run is shown: `tree` (table, JSON, CSV), `timeline` (averages
/// per bucket) and `agent`'s recent runs, on recorded transcripts (6.9 s of tool time each,
/// hand-computed in outcome.rs) with a fake /proc.
#[test]
fn tree_timeline_and_agent_show_each_runs_time_and_host_figures() {
    use crate::outcome::{failing_variant, scenario, AID, SID};
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    // Run 1, 10:00:02–10:00:32 (30 s): host CPU (1234 + 566) ticks = 18,000 ms at the start,
    // (3500 + 1030) ticks = 45,300 ms at the stop → 27.3 s; VmRSS 421,888 kB ÷ 1,024 = 412.0 MB.
    replay_with_host(
        &env,
        dir.path(),
        &scenario(),
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:32Z",
        (1234, 566, 345_678),
        (3500, 1030, 421_888),
    );
    // Run 2 (another session), 10:30:02–10:30:12 (10 s): 60,000 → 61,500 ms = 1.5 s;
    // 430,080 kB = 420.0 MB.
    replay_with_host(
        &env,
        dir.path(),
        &failing_variant(&env.dir.path().join("variant")),
        "2026-11-20T10:30:00Z",
        "2026-11-20T10:30:12Z",
        (5000, 1000, 400_000),
        (5100, 1050, 430_080),
    );
    // Run 3, delegated by run 1, recorded without readings and without a transcript (as data
    // from before the readings, or a system without /proc): every figure empty, never 0.
    let mut child = cc::Run::new(
        "c-review",
        "code-reviewer",
        "Review the header fix",
        "2026-11-20T10:00:10.000Z",
        "2026-11-20T10:00:20.000Z",
    );
    child.session = SID.into();
    child.prompt_id = "c560260c-2406-443d-b26f-4aa8fe8a199a".into();
    child.parent = Some(AID.into());
    env.record_runs(&[child]);

    let now = "2026-11-20T12:00:00Z";
    let json_at = |args: &[&str]| -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let (code, out, err) = env.analyze_at(now, &a);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap()
    };
    let approx = |v: &serde_json::Value, want: f64| {
        let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
        assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
    };

    // tree: run 1 with its figures (tool 6.9 s, model 30 − 6.9 = 23.1 s), the child without.
    let t = json_at(&["tree", "--session", SID]);
    let fe = &t["turns"][0]["agents"][0];
    assert_eq!(fe["agent_id"], AID);
    assert_eq!(fe["duration_ms"], 30_000);
    assert_eq!(fe["tool_ms"], 6_900);
    assert_eq!(fe["model_ms"], 23_100);
    approx(&fe["host_cpu_seconds"], 27.3);
    approx(&fe["host_rss_mb"], 412.0);
    let c = &fe["children"][0];
    assert_eq!(c["agent_id"], "c-review");
    assert_eq!(c["duration_ms"], 10_000);
    for k in ["tool_ms", "model_ms", "host_cpu_seconds", "host_rss_mb"] {
        assert!(c[k].is_null(), "{k}: {c}");
    }
    let (code, table, _) = env.analyze_at(now, &["tree", "--session", SID]);
    assert_eq!(code, 0);
    let line = table.lines().find(|l| l.contains("[a5e1f0c0]")).unwrap();
    assert!(
        line.contains("30.0s")
            && line.contains("tool 6.9s  model 23.1s  host CPU 27.3 s  host mem 412.0 MB"),
        "{table}"
    );
    let child_line = table.lines().find(|l| l.contains("code-reviewer")).unwrap();
    assert!(
        !child_line.contains("tool") && !child_line.contains("host"),
        "{child_line}"
    );
    assert!(
        table.contains(
            "host CPU, host mem: the Claude Code process's CPU seconds while the run ran"
        ),
        "the legend: {table}"
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("resources__tree_table", table));
    let (code, csv, _) = env.analyze_at(now, &["tree", "--session", SID, "--format", "csv"]);
    assert_eq!(code, 0);
    let head = csv.lines().next().unwrap();
    assert!(
        head.ends_with(",cost_usd,tool_ms,model_ms,host_cpu_seconds,host_rss_mb"),
        "{head}"
    );
    let row = |id: &str| csv.lines().find(|l| l.contains(id)).unwrap().to_string();
    assert!(row(AID).ends_with(",6900,23100,27.3,412"), "{csv}");
    assert!(row("c-review").ends_with(",10000,0,,,,,"), "{csv}");

    // timeline: the 10:00 hour holds the three runs; tool and model time average over the two
    // with both (6,900 and (23,100 + 3,100) ÷ 2 = 13,100 ms), the host figures over the two with
    // readings ((27.3 + 1.5) ÷ 2 = 14.4 s, (412 + 420) ÷ 2 = 416.0 MB).
    // Hours 09:00, 10:00 and 11:00 (the hour holding 12:00's last instant).
    let tl = json_at(&["timeline", "--hours", "3"]);
    let b = &tl["buckets"][1];
    assert_eq!(b["start"], "2026-11-20T10:00:00.000Z");
    assert_eq!(b["runs"], 3);
    approx(&b["avg_tool_ms"], 6_900.0);
    approx(&b["avg_model_ms"], 13_100.0);
    approx(&b["avg_host_cpu_seconds"], 14.4);
    approx(&b["avg_host_rss_mb"], 416.0);
    for k in [
        "avg_tool_ms",
        "avg_model_ms",
        "avg_host_cpu_seconds",
        "avg_host_rss_mb",
    ] {
        assert!(tl["buckets"][0][k].is_null(), "an empty hour: {k}");
    }
    let (code, table, _) = env.analyze_at(now, &["timeline", "--hours", "3"]);
    assert_eq!(code, 0);
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("resources__timeline_table", table));
    let per_run = &table[table
        .find("Per run, averaged over the bucket's runs")
        .unwrap()..];
    let ten: Vec<&str> = per_run.lines().filter(|l| l.contains(":00")).collect();
    assert_eq!(ten.len(), 1, "only the hour with figures: {per_run}");
    for cell in ["10:00", "6.9s", "13.1s", "14.4 s", "416.0 MB"] {
        assert!(ten[0].contains(cell), "{cell}: {table}");
    }
    let (code, csv, _) = env.analyze_at(now, &["timeline", "--hours", "3", "--format", "csv"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",avg_tool_ms,avg_model_ms,avg_host_cpu_seconds,avg_host_rss_mb"),
        "{csv}"
    );
    assert!(lines[1].ends_with(",,,,"), "09:00: empty, never 0: {csv}");
    assert!(lines[2].ends_with(",6900,13100,14.4,416"), "{csv}");

    // agent: each recent run with its own figures; the run without them shows `-`.
    let a = json_at(&["agent", "frontend-developer"]);
    let runs = a["recent_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["model_ms"], 3_100, "the 10:30 run: 10 s − 6.9 s");
    approx(&runs[0]["host_cpu_seconds"], 1.5);
    assert_eq!(runs[1]["tool_ms"], 6_900);
    let r = json_at(&["agent", "code-reviewer"]);
    for k in ["tool_ms", "model_ms", "host_cpu_seconds", "host_rss_mb"] {
        assert!(r["recent_runs"][0][k].is_null(), "{k}");
    }
    let (code, table, _) = env.analyze_at(now, &["agent", "frontend-developer"]);
    assert_eq!(code, 0);
    let recent = &table[table.find("Recent runs").unwrap()..];
    assert!(
        recent.contains("Tool") && recent.contains("Model") && recent.contains("Host CPU"),
        "{recent}"
    );
    let row = recent.lines().find(|l| l.contains("10:30")).unwrap();
    for cell in ["10.0s", "6.9s", "3.1s", "1.5 s", "420.0 MB"] {
        assert!(row.contains(cell), "{cell}: {recent}");
    }
}
