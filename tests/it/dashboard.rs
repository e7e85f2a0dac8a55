//! The dashboard's routes on a real `analyze serve`: the embedded page, `/dash/api/…` equal to
//! `/api/v1/…` (but 200 `null` for "nothing found"), the charts drawing the readers' figures,
//! and the hung thresholds computed by hand.

use crate::common::cc::{End, Run};
use crate::common::*;
use crate::serve::{request, Server};

const NOW: &str = "2026-11-21T12:00:00Z";

fn serve(env: &Env) -> Server {
    Server::start(env, &[], &[("AGENT_TELEMETRY_NOW", NOW)])
}

/// (status, content type, body) of a GET.
fn get(port: u16, path: &str) -> (u16, String, String) {
    let r = request(port, "GET", path, &[]);
    let ty = r.header("content-type").unwrap_or_default().to_string();
    (r.status, ty, r.body)
}

/// code-reviewer: five runs of 60 s (p95 60 s → hung after 180 s); test-engineer: two runs of
/// 10 s (fewer than min_runs = 5 finished → config's 30 min); one code-reviewer still running.
fn history() -> Env {
    let env = Env::new();
    let mut runs = Vec::new();
    for i in 0..5 {
        runs.push(Run::new(
            &format!("r{i}"),
            "code-reviewer",
            "Review",
            &format!("2026-11-2{}T10:00:00Z", i % 2),
            &format!("2026-11-2{}T10:01:00Z", i % 2),
        ));
    }
    for i in 0..2 {
        runs.push(Run::new(
            &format!("t{i}"),
            "test-engineer",
            "Test",
            "2026-11-20T11:00:00Z",
            "2026-11-20T11:00:10Z",
        ));
    }
    let mut live = Run::new("live", "code-reviewer", "Now", "2026-11-21T11:58:00Z", "");
    live.end_kind = End::Running;
    runs.push(live);
    env.record_runs(&runs);
    env
}

#[test]
fn the_page_and_its_assets_are_embedded() {
    let env = history();
    let s = serve(&env);
    let (status, ty, page) = get(s.port, "/");
    assert_eq!((status, ty.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.contains(r#"<script src="app.js" defer></script>"#));
    let (status, ty, js) = get(s.port, "/app.js");
    assert_eq!(
        (status, ty.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    assert!(js.contains("new EventSource(url('/api/v1/stream'))"));
    let (status, _, css) = get(s.port, "/app.css");
    assert_eq!(status, 200);
    assert!(css.contains("svg.chart .s0"), "chart colours appended");
    for body in [&page, &js, &css] {
        assert!(!body.contains("https://") && !body.contains("http://"));
    }
    // The endpoint list moved to /api.
    let (status, _, index) = get(s.port, "/api");
    assert_eq!(status, 200);
    assert!(index.contains("/api/v1/summary"));
}

#[test]
fn dash_api_is_the_v1_answer_and_null_for_nothing() {
    let env = history();
    let s = serve(&env);
    for path in [
        "summary",
        "trends",
        "types",
        "active",
        "tree?session=sess-1",
    ] {
        let (a, _, dash) = get(s.port, &format!("/dash/api/{path}"));
        let (b, _, v1) = get(s.port, &format!("/api/v1/{path}"));
        assert_eq!((a, b), (200, 200), "{path}");
        assert_eq!(dash, v1, "{path}");
    }
    // No failures (and no turns): the CLI exits 1, /api/v1 says 404, the dashboard's alias 200 null.
    assert_eq!(get(s.port, "/api/v1/errors").0, 404);
    assert_eq!(
        get(s.port, "/api/v1/overhead").0,
        404,
        "no turns, no workflows"
    );
    assert_eq!(get(s.port, "/dash/api/overhead").2, "null\n");
    assert_eq!(
        get(s.port, "/dash/api/errors"),
        (200, "application/json".into(), "null\n".into())
    );
    // Errors stay errors.
    assert_eq!(get(s.port, "/dash/api/summary?agent=nobody").0, 400);
    assert_eq!(get(s.port, "/dash/api/doctor").0, 400);
}

#[test]
fn charts_draw_the_readers_figures() {
    let env = history();
    let s = serve(&env);
    let (status, ty, svg) = get(s.port, "/dash/chart/runs.svg");
    assert_eq!((status, ty.as_str()), (200, "image/svg+xml; charset=utf-8"));
    assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart""#));
    let tl = env
        .analyze_at(NOW, &["timeline", "--days", "14", "--format", "json"])
        .1;
    let tl: serde_json::Value = serde_json::from_str(&tl).unwrap();
    for b in tl["buckets"].as_array().unwrap() {
        let want = format!(
            "<title>{}: runs, {}</title>",
            &b["start"].as_str().unwrap()[5..10],
            b["runs"]
        );
        assert!(svg.contains(&want), "{want}");
    }
    // 11-20: three code-reviewer runs and two test-engineer runs.
    assert!(svg.contains("<title>11-20: runs, 5</title>"));
    for name in ["durations", "cost", "types", "tools"] {
        let (status, _, svg) = get(s.port, &format!("/dash/chart/{name}.svg"));
        assert_eq!(status, 200, "{name}");
        assert!(svg.contains(r#"role="img""#), "{name}");
    }
    let (status, _, a) = get(s.port, "/dash/chart/agent.svg?agent=code-reviewer");
    assert_eq!(status, 200);
    assert!(a.contains("code-reviewer: runs and success rate per day"));
    assert_eq!(get(s.port, "/dash/chart/nothing.svg").0, 404);
    assert_eq!(get(s.port, "/dash/chart/agent.svg").0, 400);
    assert_eq!(get(s.port, "/dash/chart/runs.svg?agent=nobody").0, 400);
    assert_eq!(get(s.port, "/dash/chart/runs.svg?color=red").0, 400);
}

#[test]
fn hung_thresholds_are_three_p95s_or_the_default() {
    let env = history();
    let s = serve(&env);
    let (status, _, body) = get(s.port, "/dash/hung.json");
    assert_eq!(status, 200);
    let h: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["default_ms"], 1_800_000);
    assert_eq!(h["min_runs"], 5);
    let rule = |agent: &str| {
        h["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent"] == agent)
            .cloned()
            .unwrap()
    };
    let cr = rule("code-reviewer");
    assert_eq!(
        (
            cr["finished"].clone(),
            cr["hung_after_ms"].clone(),
            cr["basis"].clone()
        ),
        (5.into(), 180_000.into(), "p95".into())
    );
    let te = rule("test-engineer");
    assert_eq!(
        (
            te["finished"].clone(),
            te["hung_after_ms"].clone(),
            te["basis"].clone()
        ),
        (2.into(), 1_800_000.into(), "default".into())
    );
}
