//! `analyze report --html`: every figure in the file equals the CLI's JSON for the same
//! database and filters, the anomaly is the one computed by hand, and the file stands alone
//! (no script, no external address).

use crate::common::cc::{self, End};
use crate::common::*;
use regex::Regex;
use serde_json::Value;

const NOW: &str = "2026-11-21T12:00:00Z";

/// One prompt turn on `day` (2026-11-DD) with its agents, each `secs` long, one after another
/// from 10:00:10, the turn ending 20 s after the last.
fn turn(env: &Env, day: u32, prompt: &str, agents: &[(&str, &str, u32, Option<&str>)]) {
    let ts = |s: u32| format!("2026-11-{day:02}T10:{:02}:{:02}Z", s / 60, s % 60);
    let session = format!("sess-{day}");
    let mut at = 10;
    let mut runs = Vec::new();
    for (id, ty, secs, failure) in agents {
        let mut r = cc::Run::new(id, ty, &format!("{ty} task {id}"), &ts(at), &ts(at + secs));
        r.session = session.clone();
        r.prompt_id = prompt.into();
        if let Some(m) = failure {
            r.end_kind = End::Failure((*m).into());
        }
        runs.push(r);
        at += secs;
    }
    let t = cc::turn(
        &session,
        prompt,
        &format!("Do {prompt}"),
        &ts(0),
        &ts(at + 20),
    );
    let mut all = vec![t[0].clone()];
    all.extend(runs.iter().flat_map(|r| r.payloads()));
    all.push(t[1].clone());
    env.record(&all);
}

/// backend-architect: 8 successes before the last 7 days, then 1 success and 5 failures
/// (z = (1/6 − 8/8) / √(9/14 · 5/14 · (1/6 + 1/8)) ≈ −3.2: declining). code-reviewer: 6
/// successes in each period (stable). One code-reviewer run still running at NOW.
fn history() -> Env {
    let env = Env::new();
    for (i, day) in [2u32, 3, 4, 5, 6, 8, 9, 10].iter().enumerate() {
        let agents: Vec<(String, &str, u32, Option<&str>)> = vec![
            (
                format!("b{i}"),
                "backend-architect",
                60 + 10 * i as u32,
                None,
            ),
            (format!("r{i}"), "code-reviewer", 30, None),
        ];
        let refs: Vec<(&str, &str, u32, Option<&str>)> = agents
            .iter()
            .map(|(a, b, c, d)| (a.as_str(), *b, *c, *d))
            .collect();
        if i < 6 {
            turn(&env, *day, &format!("p-early-{i}"), &refs);
        } else {
            turn(&env, *day, &format!("p-early-{i}"), &refs[..1]);
        }
    }
    for (i, day) in [15u32, 16, 17, 18, 19, 20].iter().enumerate() {
        let fail = (i > 0).then_some("API Error: 500 <overloaded> & retried");
        let b = format!("n{i}");
        let r = format!("m{i}");
        turn(
            &env,
            *day,
            &format!("p-late-{i}"),
            &[
                (b.as_str(), "backend-architect", 90, fail),
                (r.as_str(), "code-reviewer", 40, None),
            ],
        );
    }
    let mut running = cc::Run::new(
        "live1",
        "code-reviewer",
        "Review now",
        "2026-11-21T11:50:00Z",
        "",
    );
    running.end_kind = End::Running;
    running.session = "sess-live".into();
    env.record_runs(&[running]);
    env
}

fn json_at(env: &Env, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = env.analyze_at(NOW, &a);
    assert_eq!(code, 0, "analyze {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("analyze {args:?} JSON: {e}\n{out}"))
}

fn report(env: &Env, extra: &[&str]) -> String {
    let file = env.dir.path().join("report.html");
    let mut args = vec!["report", "--html", file.to_str().unwrap()];
    args.extend(extra);
    let (code, out, err) = env.analyze_at(NOW, &args);
    assert_eq!(code, 0, "report failed: {err}");
    assert!(out.is_empty(), "report printed on stdout: {out}");
    std::fs::read_to_string(&file).expect("report written")
}

/// The rows of the table with `id`: per row, its cells as (data-value, text).
fn rows(html: &str, id: &str) -> Vec<Vec<(Option<String>, String)>> {
    let table = Regex::new(&format!(r#"(?s)<table id="{id}">(.*?)</table>"#)).unwrap();
    let body = &table
        .captures(html)
        .unwrap_or_else(|| panic!("no table {id}"))[1];
    let tr = Regex::new(r"(?s)<tbody>(.*)</tbody>").unwrap();
    let body = &tr.captures(body).unwrap()[1];
    let row = Regex::new(r"(?s)<tr[^>]*>(.*?)</tr>").unwrap();
    let cell = Regex::new(r#"(?s)<td[^>]*?(?: data-value="([^"]*)")?>(.*?)</td>"#).unwrap();
    row.captures_iter(body)
        .map(|r| {
            cell.captures_iter(&r[1])
                .map(|c| (c.get(1).map(|m| m.as_str().to_string()), c[2].to_string()))
                .collect()
        })
        .collect()
}

/// A JSON number or null against a cell's data-value.
fn same(cell: &Option<String>, want: &Value, what: &str) {
    match (cell, want) {
        (None, Value::Null) => {}
        (Some(v), w) if w.is_number() => {
            let got: f64 = v.parse().unwrap_or_else(|_| panic!("{what}: {v}"));
            let w = w.as_f64().unwrap();
            assert!(
                (got - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{what}: html {got}, json {w}"
            );
        }
        other => panic!("{what}: html {:?}, json {}", other.0, other.1),
    }
}

fn card(html: &str, key: &str) -> Option<String> {
    let re = Regex::new(&format!(
        r#"<div class="card" data-key="{key}"(?: data-value="([^"]*)")?>"#
    ))
    .unwrap();
    re.captures(html)
        .unwrap_or_else(|| panic!("no card {key}"))
        .get(1)
        .map(|m| m.as_str().to_string())
}

#[test]
fn report_figures_equal_the_cli_json() {
    let env = history();
    let html = report(&env, &[]);

    let s = json_at(&env, &["summary"]);
    for key in ["runs", "success_rate", "tokens", "cost_usd"] {
        same(&card(&html, key), &s["totals"][key], key);
    }
    // By hand: 8 + 6 + 6 + 6 + 1 running = 27 runs; success 8 + 6 + 1 + 6 = 21 of 26 decided.
    assert_eq!(card(&html, "runs").as_deref(), Some("27"));
    same(
        &card(&html, "success_rate"),
        &serde_json::json!(21.0 / 26.0),
        "by hand",
    );

    let agents = rows(&html, "agent-table");
    let want = s["agents"].as_array().unwrap();
    assert_eq!(agents.len(), want.len());
    for (row, a) in agents.iter().zip(want) {
        assert_eq!(row[0].1, a["agent"].as_str().unwrap());
        let keys = [
            "runs",
            "success_rate",
            "p50_duration_ms",
            "p95_duration_ms",
            "tokens",
            "cost_usd",
            "efficiency",
        ];
        for (i, k) in keys.iter().enumerate() {
            same(&row[i + 1].0, &a[k], &format!("{} {k}", row[0].1));
        }
    }

    // The anomaly: backend-architect declining, by the trends reader and by hand.
    let t = json_at(&env, &["trends"]);
    let anomalies = rows(&html, "anomaly-table");
    let declining: Vec<&Value> = t["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["verdict"] == "declining" || a["duration_verdict"] == "slower")
        .collect();
    assert_eq!(anomalies.len(), declining.len());
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0][0].1, "backend-architect");
    assert!(anomalies[0][1].1.starts_with("declining"));
    same(
        &anomalies[0][2].0,
        &declining[0]["recent"]["success_rate"],
        "recent",
    );
    same(&anomalies[0][4].0, &declining[0]["z"], "z");
    let z = (1.0 / 6.0 - 1.0) / (9.0 / 14.0 * 5.0 / 14.0 * (1.0 / 6.0 + 1.0 / 8.0_f64)).sqrt();
    same(&anomalies[0][4].0, &serde_json::json!(z), "z by hand");
    assert!(html.contains(r#"<tr class="anomaly"><td>backend-architect</td>"#));

    // Recent failures: `analyze errors --limit 10`, newest first, text escaped.
    let e = json_at(&env, &["errors", "--limit", "10"]);
    let failures = rows(&html, "failure-table");
    let want = e["errors"].as_array().unwrap();
    assert_eq!(failures.len(), want.len());
    assert_eq!(failures.len(), 5);
    for (row, w) in failures.iter().zip(want) {
        assert_eq!(row[1].1, w["agent"].as_str().unwrap());
        assert_eq!(
            row[4].1, "API Error: 500 &lt;overloaded&gt; &amp; retried",
            "escaped error"
        );
    }

    // Coordination overhead: `analyze overhead --limit 10`.
    let o = json_at(&env, &["overhead", "--limit", "10"]);
    let verdict = Regex::new(r#"<p class="verdict" data-value="([^"]*)">"#).unwrap();
    same(
        &verdict.captures(&html).map(|c| c[1].to_string()),
        &o["overall"]["overhead"],
        "overall overhead",
    );
    let wf = rows(&html, "overhead-table");
    let want = o["workflows"].as_array().unwrap();
    assert_eq!(wf.len(), want.len());
    assert_eq!(wf.len(), 10);
    for (row, w) in wf.iter().zip(want) {
        for (i, k) in [
            (3, "wall_ms"),
            (4, "agents"),
            (5, "coordination_ms"),
            (6, "overhead"),
            (7, "peak_concurrency"),
            (8, "avg_parallelism"),
        ] {
            same(&row[i].0, &w[k], k);
        }
    }
}

#[test]
fn report_charts_draw_the_readers_figures() {
    let env = history();
    let html = report(&env, &[]);
    // Runs per day: the 14-day timeline, bucket by bucket.
    let tl = json_at(&env, &["timeline", "--days", "14"]);
    let buckets = tl["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 15);
    for b in buckets {
        let day = &b["start"].as_str().unwrap()[5..10];
        let want = format!("<title>{day}: runs, {}</title>", b["runs"]);
        assert!(html.contains(&want), "missing {want}");
    }
    // p50 of one day, as `analyze summary` over that day says.
    let d = json_at(
        &env,
        &["summary", "--since", "2026-11-16", "--until", "2026-11-17"],
    );
    let ba = d["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == "backend-architect")
        .unwrap();
    let p50 = agent_telemetry::render::dur(ba["p50_duration_ms"].as_f64());
    assert!(html.contains(&format!(
        "<title>11-16: backend-architect p50, {p50}</title>"
    )));
    // Cost per agent with its share; runs per category.
    let s = json_at(&env, &["summary"]);
    for a in s["agents"].as_array().unwrap() {
        let cost = agent_telemetry::render::usd(a["cost_usd"].as_f64());
        assert!(html.contains(&format!("<title>{}: {cost}", a["agent"].as_str().unwrap())));
    }
    let ty = json_at(&env, &["types"]);
    for c in ty["categories"].as_array().unwrap() {
        assert!(html.contains(&format!(
            "<title>{}: {} (",
            c["category"].as_str().unwrap(),
            c["runs"]
        )));
    }
    // Five charts, each with a title and description.
    assert_eq!(html.matches(r#"<svg class="chart""#).count(), 5);
    assert_eq!(html.matches(r#"role="img" aria-labelledby="#).count(), 5);
}

#[test]
fn report_stands_alone_and_takes_the_usual_filters() {
    let env = history();
    let html = report(&env, &["--agent", "code-reviewer", "--days", "30"]);
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "the report needs no script");
    for needle in ["http://", "https://", "src=", "href=", "url(", "@import"] {
        assert!(!lower.contains(needle), "external reference {needle}");
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    assert!(html.contains("filters: <code>--days 30 --agent code-reviewer</code>"));
    let agents = rows(&html, "agent-table");
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0][0].1, "code-reviewer");
    let s = json_at(
        &env,
        &["summary", "--agent", "code-reviewer", "--days", "30"],
    );
    same(&card(&html, "runs"), &s["totals"]["runs"], "filtered runs");

    // `-` writes to standard output; an unknown agent is an error (exit 2) like every reader.
    let (code, out, _) = env.analyze_at(NOW, &["report", "--html", "-"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("<!DOCTYPE html>"));
    let (code, _, err) = env.analyze_at(NOW, &["report", "--html", "-", "--agent", "nobody"]);
    assert_eq!(code, 2, "{err}");
}
