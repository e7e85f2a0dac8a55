//! `analyze alerts`: every rule at and around its threshold (hand-made histories, evaluated by
//! the library against a hand-computed expectation), firing → resolved state, delivery to a
//! loopback webhook and a command (each change once, failures retried after the backoff), exit
//! codes and the JSON shape.

use crate::common::{cc, Env};
use agent_telemetry::alerts::{self, AlertsConfig, Inputs, Stored};
use agent_telemetry::pricing::Prices;
use agent_telemetry::store::Store;
use rusqlite::params;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

const NOW: i64 = 1_790_000_000_000; // 2026-09-21T22:13:20Z
const MIN: i64 = 60_000;

// ── the rules, through the library ───────────────────────────────────────────────────────

struct Db {
    store: Store,
    n: usize,
}

impl Db {
    fn new() -> Db {
        Db {
            store: Store::in_memory().unwrap(),
            n: 0,
        }
    }
    /// A user run: started at `start`, ended at `end` (None: still running) with `status`.
    fn run(&mut self, ty: &str, session: &str, start: i64, end: Option<i64>, status: &str) {
        self.n += 1;
        self.store
            .conn()
            .execute(
                "INSERT INTO agent_runs (agent_id, source, session_id, agent_type, start_ms, end_ms, duration_ms, status)
                 VALUES (?1, 'claude-code', ?2, ?3, ?4, ?5, ?5 - ?4, ?6)",
                params![format!("agent-{:03}", self.n), session, ty, start, end, status],
            )
            .unwrap();
    }
    fn runs(&mut self, k: usize, ty: &str, start: i64, end: Option<i64>, status: &str) {
        for _ in 0..k {
            self.run(ty, "s1", start, end, status);
        }
    }
    /// One model response of `model` with `input` input tokens at `ts`.
    fn usage(&mut self, session: &str, model: &str, ts: i64, input: i64) {
        self.n += 1;
        self.store
            .conn()
            .execute(
                "INSERT INTO usage (session_id, agent_id, message_key, model, ts, input) VALUES (?1, '', ?2, ?3, ?4, ?5)",
                params![session, format!("m{}", self.n), model, ts, input],
            )
            .unwrap();
    }
    fn denied(&mut self, session: &str, end: i64, reason: &str) {
        self.n += 1;
        self.store
            .conn()
            .execute(
                "INSERT INTO delegations (tool_use_id, session_id, subagent_type, ts, status, error, end_ms)
                 VALUES (?1, ?2, 'worker', ?3, 'denied', ?4, ?3)",
                params![format!("toolu_{}", self.n), session, end, reason],
            )
            .unwrap();
    }
    /// Evaluates at `now` with `cfg`; the alerts firing after it.
    fn eval_at(&self, cfg: &AlertsConfig, now: i64) -> Vec<Stored> {
        let prices = Prices::default();
        let inputs = Inputs {
            cfg,
            hung_after_minutes: 30,
            lost_after_minutes: 120,
            prices: &prices,
            now,
        };
        alerts::evaluate(&self.store, &inputs).unwrap();
        let (rows, last) = alerts::read(&self.store, now).unwrap();
        assert_eq!(last, Some(now), "last_evaluated_ms");
        rows.into_iter().filter(|r| r.state == "firing").collect()
    }
    fn eval(&self, cfg: &AlertsConfig) -> Vec<Stored> {
        self.eval_at(cfg, NOW)
    }
}

fn fired(rows: &[Stored]) -> Vec<(String, String, f64, f64)> {
    rows.iter()
        .map(|r| {
            (
                r.rule.clone(),
                r.subject.clone(),
                r.value.unwrap(),
                r.threshold.unwrap(),
            )
        })
        .collect()
}

fn one(rule: &str, subject: &str, value: f64, threshold: f64) -> Vec<(String, String, f64, f64)> {
    vec![(rule.into(), subject.into(), value, threshold)]
}

#[test]
fn success_rate_at_and_around_the_threshold() {
    let cfg = AlertsConfig::default();
    let end = NOW - MIN;
    // 3 of 5 succeeded: 60 % < 80 % with 5 decided runs: fires.
    let mut db = Db::new();
    db.runs(3, "coder", NOW - 3 * MIN, Some(end), "success");
    db.runs(2, "coder", NOW - 3 * MIN, Some(end), "failure");
    let got = db.eval(&cfg);
    assert_eq!(fired(&got), one("success_rate", "coder", 0.6, 0.8));
    assert_eq!(got[0].severity, "warning");
    assert_eq!(
        got[0].message,
        "coder: 3 of 5 runs succeeded (60.0%) in the last 5 min, below 80.0%"
    );
    // 4 of 5: exactly 80 % is not below 80 %.
    let mut db = Db::new();
    db.runs(4, "coder", NOW - 3 * MIN, Some(end), "success");
    db.runs(1, "coder", NOW - 3 * MIN, Some(end), "failure");
    assert!(db.eval(&cfg).is_empty());
    // The minimum sample: 4 failures alone are not an alert; cancelled runs are not decided.
    let mut db = Db::new();
    db.runs(4, "coder", NOW - 3 * MIN, Some(end), "failure");
    db.runs(3, "coder", NOW - 3 * MIN, Some(end), "cancelled");
    assert!(db.eval(&cfg).is_empty());
    // …a fifth failure makes 5: fires at 0 %.
    db.run(
        "coder",
        "s1",
        NOW - 3 * MIN,
        Some(NOW - 5 * MIN + 1),
        "failure",
    );
    assert_eq!(
        fired(&db.eval(&cfg)),
        one("success_rate", "coder", 0.0, 0.8)
    );
    // The window is (now − 5 min, now]: a run that ended exactly 5 min ago is out of it.
    let mut db = Db::new();
    db.runs(4, "coder", NOW - 9 * MIN, Some(end), "failure");
    db.run("coder", "s1", NOW - 9 * MIN, Some(NOW - 5 * MIN), "failure");
    db.run("other", "s1", NOW - 9 * MIN, Some(end), "failure");
    assert!(db.eval(&cfg).is_empty());
    // Thresholds are configurable.
    let cfg = AlertsConfig {
        success_min_runs: 4,
        success_rate_below: 0.5,
        ..AlertsConfig::default()
    };
    assert_eq!(
        fired(&db.eval(&cfg)),
        one("success_rate", "coder", 0.0, 0.5)
    );
}

#[test]
fn success_rate_with_the_binomial_test() {
    // H0: the true rate is at least 80 %. P(X ≤ k | n = 5, p = 0.8): k = 2 → 0.05792,
    // k = 1 → 0.00672 (hand-computed). With α = 0.05 only the second is significant.
    let cfg = AlertsConfig {
        success_max_p_value: Some(0.05),
        ..AlertsConfig::default()
    };
    let history = |ok: usize| {
        let mut db = Db::new();
        db.runs(ok, "coder", NOW - 3 * MIN, Some(NOW - MIN), "success");
        db.runs(5 - ok, "coder", NOW - 3 * MIN, Some(NOW - MIN), "failure");
        db
    };
    assert!(history(2).eval(&cfg).is_empty(), "40 % of 5 may be chance");
    assert_eq!(
        fired(&history(2).eval(&AlertsConfig::default())),
        one("success_rate", "coder", 0.4, 0.8),
        "without the test it fires"
    );
    let got = history(1).eval(&cfg);
    assert_eq!(fired(&got), one("success_rate", "coder", 0.2, 0.8));
    assert_eq!(
        got[0].message,
        "coder: 1 of 5 runs succeeded (20.0%) in the last 5 min, below 80.0% (p = 0.0067)"
    );
    let bad: AlertsConfig = serde_json::from_str(r#"{"success_max_p_value": 0}"#).unwrap();
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("alerts.success_max_p_value"));
}

#[test]
fn duration_against_the_seven_day_baseline() {
    let cfg = AlertsConfig::default();
    let cut = NOW - 60 * MIN; // the recent window: the last 60 minutes
    let history = |recent: &[i64], baseline: usize| {
        let mut db = Db::new();
        // Baseline: started and ended in the 7 days before the window, 60 s each.
        for k in 0..baseline as i64 {
            let start = cut - 86_400_000 * 6 - k * MIN;
            db.run("coder", "s1", start, Some(start + 60_000), "success");
        }
        // A run of the baseline's week that ended inside the recent window counts as recent.
        for (k, ms) in recent.iter().enumerate() {
            let end = NOW - (k as i64 + 1) * MIN;
            db.run("coder", "s1", end - ms, Some(end), "success");
        }
        // Older than the baseline's 7 days: ignored (it would lower the baseline's p50).
        db.runs(
            20,
            "coder",
            cut - 8 * 86_400_000,
            Some(cut - 8 * 86_400_000 + 1_000),
            "success",
        );
        db
    };
    // p50 of (121 s, 121 s, 200 s) = 121 s > 2 × 60 s: fires.
    let got = history(&[121_000, 200_000, 121_000], 10).eval(&cfg);
    assert_eq!(fired(&got), one("duration", "coder", 121_000.0, 120_000.0));
    assert!(
        got[0]
            .message
            .starts_with("coder: p50 2m 01s over its last 3 runs"),
        "{}",
        got[0].message
    );
    // p50 exactly 2 × the baseline: not above it.
    assert!(history(&[120_000, 200_000, 100_000], 10)
        .eval(&cfg)
        .is_empty());
    // Minimum samples: 2 recent runs, or 9 baseline runs, are not enough.
    assert!(history(&[300_000, 300_000], 10).eval(&cfg).is_empty());
    assert!(history(&[300_000, 300_000, 300_000], 9)
        .eval(&cfg)
        .is_empty());
    // The factor is configurable: 1.5 × 60 s = 90 s.
    let cfg = AlertsConfig {
        duration_factor: 1.5,
        ..AlertsConfig::default()
    };
    assert_eq!(
        fired(&history(&[100_000, 100_000, 100_000], 10).eval(&cfg)),
        one("duration", "coder", 100_000.0, 90_000.0)
    );
}

#[test]
fn budgets_are_off_until_set_then_compare_today_and_sessions() {
    let day = agent_telemetry::query::spend::day_start_ms(NOW);
    let mut db = Db::new();
    // Today: $3 in s1 (1M input tokens of Sonnet at $3/M), $1.50 in s2; yesterday $6 in s1.
    db.usage("s1", "claude-sonnet-4-5", NOW - 1_000, 1_000_000);
    db.usage("s2", "claude-sonnet-4-5", NOW - 2_000, 500_000);
    db.usage("s1", "claude-sonnet-4-5", day - 1, 2_000_000);
    // s3 cost $9 but not today: not evaluated.
    db.usage("s3", "claude-sonnet-4-5", day - 10, 3_000_000);
    assert!(
        db.eval(&AlertsConfig::default()).is_empty(),
        "no budget, no alert"
    );
    let at = |cost: f64, tokens: i64, session: f64| AlertsConfig {
        daily_cost_usd: Some(cost),
        daily_tokens: Some(tokens),
        session_cost_usd: Some(session),
        ..AlertsConfig::default()
    };
    // Exactly at every budget: $4.50, 1.5M tokens, s1's $9: nothing is over.
    assert!(db.eval(&at(4.5, 1_500_000, 9.0)).is_empty());
    let got = db.eval(&at(4.49, 1_499_999, 8.99));
    assert_eq!(
        fired(&got),
        vec![
            ("budget".into(), "daily_cost_usd".into(), 4.5, 4.49),
            (
                "budget".into(),
                "daily_tokens".into(),
                1_500_000.0,
                1_499_999.0
            ),
            ("budget".into(), "s1".into(), 9.0, 8.99),
        ]
    );
    assert!(got.iter().all(|r| r.severity == "critical"));
    assert_eq!(
        got[0].message,
        "today's cost $4.5000 is over the daily budget of $4.4900"
    );
}

#[test]
fn runaway_active_agents_and_spawn_rate() {
    let cfg = AlertsConfig::default();
    // 10 running: not more than 10. A lost one (open past lost_after_minutes) does not count.
    let mut db = Db::new();
    db.runs(10, "worker", NOW - 20 * MIN, None, "running");
    db.run("worker", "s1", NOW - 121 * MIN, None, "running");
    assert!(db.eval(&cfg).is_empty());
    db.run("worker", "s1", NOW - MIN, None, "running");
    let got = db.eval(&cfg);
    assert_eq!(fired(&got), one("runaway", "", 11.0, 10.0));
    assert_eq!(got[0].severity, "critical");
    // Spawning: 20 agents started in 10 minutes by one session is the limit, 21 is over.
    let mut db = Db::new();
    for k in 0..20 {
        db.run(
            "worker",
            "s-spawn",
            NOW - 9 * MIN + k,
            Some(NOW - MIN),
            "success",
        );
    }
    db.run(
        "worker",
        "s-spawn",
        NOW - 10 * MIN,
        Some(NOW - MIN),
        "success",
    ); // out of (now − 10 min, now]
    db.run(
        "worker",
        "s-other",
        NOW - 2 * MIN,
        Some(NOW - MIN),
        "success",
    );
    assert!(db.eval(&cfg).is_empty());
    db.run(
        "worker",
        "s-spawn",
        NOW - 30_000,
        Some(NOW - 1_000),
        "success",
    );
    assert_eq!(fired(&db.eval(&cfg)), one("runaway", "s-spawn", 21.0, 20.0));
}

#[test]
fn hung_agents_past_the_threshold_until_lost() {
    let mut db = Db::new();
    db.run("slow", "s1", NOW - 30 * MIN, None, "running"); // exactly 30 min: not longer
    db.run("slow", "s1", NOW - 30 * MIN - 1, None, "running"); // agent-002
    db.run("slow", "s1", NOW - 121 * MIN, None, "running"); // lost, not hung
    db.run("slow", "s1", NOW - 50 * MIN, Some(NOW - MIN), "success"); // ended
    let got = db.eval(&AlertsConfig::default());
    assert_eq!(
        fired(&got),
        one(
            "hung",
            "agent-002",
            (30.0 * 60_000.0 + 1.0) / 60_000.0,
            30.0
        )
    );
    assert_eq!(
        got[0].message,
        "slow (agent-00) has been running for 30m 00s, longer than 30 min: possibly hung"
    );
    // alerts.hung_after_minutes overrides the top-level setting.
    let cfg = AlertsConfig {
        hung_after_minutes: Some(60),
        ..AlertsConfig::default()
    };
    assert!(db.eval(&cfg).is_empty());
}

#[test]
fn guard_denials_in_the_window() {
    let mut db = Db::new();
    db.denied("s1", NOW - 60 * MIN, "old"); // the window is (now − 60 min, now]
    assert!(db.eval(&AlertsConfig::default()).is_empty());
    db.denied(
        "s1",
        NOW - 59 * MIN,
        "max_active_agents: 10 agents running (limit 10)",
    );
    db.denied(
        "s1",
        NOW - MIN,
        "session_cost_usd: $5.10 spent (limit $5.00)",
    );
    let got = db.eval(&AlertsConfig::default());
    assert_eq!(fired(&got), one("guard", "s1", 2.0, 0.0));
    assert_eq!(
        got[0].message,
        "the guard denied 2 delegations in session s1 in the last 60 min (last: session_cost_usd: $5.10 spent (limit $5.00))"
    );
}

#[test]
fn firing_then_resolved_then_firing_again() {
    let cfg = AlertsConfig::default();
    let mut db = Db::new();
    db.run("slow", "s1", NOW - 40 * MIN, None, "running");
    let first = db.eval_at(&cfg, NOW);
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].since_ms, first[0].last_seen_ms), (NOW, NOW));
    // Still firing a minute later: same alert, same since, new value and last_seen.
    let later = db.eval_at(&cfg, NOW + MIN);
    assert_eq!((later[0].since_ms, later[0].last_seen_ms), (NOW, NOW + MIN));
    assert_eq!(later[0].value, Some(41.0));
    // The agent ends: resolved at the next evaluation, shown as resolved.
    db.store
        .conn()
        .execute(
            "UPDATE agent_runs SET end_ms = ?1, status = 'success'",
            [NOW + 2 * MIN],
        )
        .unwrap();
    assert!(db.eval_at(&cfg, NOW + 3 * MIN).is_empty());
    let (rows, _) = alerts::read(&db.store, NOW).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].state.as_str(),
            rows[0].resolved_ms,
            rows[0].since_ms
        ),
        ("resolved", Some(NOW + 3 * MIN), NOW)
    );
    // Running again (re-derived): firing again, since the new evaluation.
    db.store
        .conn()
        .execute(
            "UPDATE agent_runs SET end_ms = NULL, status = 'running'",
            [],
        )
        .unwrap();
    let again = db.eval_at(&cfg, NOW + 4 * MIN);
    assert_eq!(
        (again[0].since_ms, again[0].resolved_ms),
        (NOW + 4 * MIN, None)
    );
}

#[test]
fn config_is_validated_with_the_field_named() {
    let bad = |json: &str| -> String {
        let cfg: AlertsConfig = serde_json::from_str(json).unwrap();
        cfg.validate().unwrap_err().to_string()
    };
    assert!(bad(r#"{"success_rate_below": 1.5}"#).contains("alerts.success_rate_below"));
    assert!(bad(r#"{"success_window_minutes": 0}"#).contains("alerts.success_window_minutes"));
    assert!(bad(r#"{"duration_factor": -1}"#).contains("alerts.duration_factor"));
    assert!(bad(r#"{"webhook": {"url": "ftp://x"}}"#).contains("alerts.webhook.url"));
    assert!(bad(r#"{"command": []}"#).contains("alerts.command"));
    assert!(
        bad(r#"{"succes_rate_below": 0.5}"#).contains("alerts.succes_rate_below: not a setting")
    );
    assert_eq!(
        serde_json::from_str::<AlertsConfig>("{}").unwrap(),
        AlertsConfig::default()
    );
    AlertsConfig::default().validate().unwrap();
}

// ── the command line, delivery ───────────────────────────────────────────────────────────

const T0: &str = "2026-11-20T12:00:00Z";

fn at(offset_s: i64) -> String {
    let t0 = agent_telemetry::timeparse::parse_instant(T0).unwrap();
    agent_telemetry::timeparse::format_ms(t0 + offset_s * 1000)
}

/// A history with one agent running since 40 minutes before T0: `hung` fires at T0.
fn hung_history() -> (Env, cc::Run) {
    let env = Env::new();
    let mut r = cc::Run::new(
        "agent-stuck",
        "slow-worker",
        "Index the repository",
        &at(-2400),
        &at(0),
    );
    r.end_kind = cc::End::Running;
    env.record_runs(&[r.clone()]);
    (env, r)
}

/// Records the run's end at `end`.
fn finish(env: &Env, run: &cc::Run, end: &str) {
    let mut r = run.clone();
    r.end = end.to_string();
    r.end_kind = cc::End::Success;
    env.record(&r.payloads()[2..]);
}

fn write_config(env: &Env, alerts: &Value) {
    let path = env.db().with_file_name("config.json");
    std::fs::write(path, serde_json::json!({ "alerts": alerts }).to_string()).unwrap();
}

fn alerts_at(env: &Env, offset_s: i64, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["alerts"];
    args.extend(extra);
    env.analyze_at(&at(offset_s), &args)
}

#[test]
fn the_report_its_json_and_exit_codes() {
    let env = Env::new();
    env.record_runs(&[cc::Run::new("a1", "coder", "Fix it", &at(-100), &at(-50))]);
    let (code, out, err) = alerts_at(&env, 0, &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "No alerts firing (evaluated 2026-11-20 12:00:00).\n"),
        "{err}"
    );
    assert_eq!(alerts_at(&env, 0, &["--fail-on-alert"]).0, 0);

    let (env, _) = hung_history();
    let (code, out, err) = alerts_at(&env, 0, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["command"], "alerts");
    assert_eq!(v["firing"], 1);
    assert_eq!(v["evaluated_at"], "2026-11-20T12:00:00.000Z");
    let a = &v["alerts"][0];
    let keys: Vec<&str> = a.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "delivered",
            "delivery_attempts",
            "delivery_error",
            "last_seen",
            "message",
            "resolved",
            "rule",
            "severity",
            "since",
            "state",
            "subject",
            "threshold",
            "value"
        ]
    );
    assert_eq!(
        (
            &a["rule"],
            &a["subject"],
            &a["state"],
            &a["value"],
            &a["threshold"]
        ),
        (
            &Value::from("hung"),
            &Value::from("agent-stuck"),
            &Value::from("firing"),
            &Value::from(40.0),
            &Value::from(30.0)
        )
    );
    assert_eq!(a["since"], "2026-11-20T12:00:00.000Z");
    // --fail-on-alert: the report, then exit 3.
    let (code, out, err) = alerts_at(&env, 60, &["--fail-on-alert"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        out.contains("hung") && out.contains("41m 00s") && out.contains("1 firing"),
        "{out}"
    );
    assert!(err.contains("1 alert(s) firing"), "{err}");
    // CSV: one header row and the alert.
    let (code, csv, _) = alerts_at(&env, 60, &["--format", "csv"]);
    assert_eq!(code, 0);
    assert!(csv.starts_with("State,Severity,Rule,Subject,Value,Threshold,Since (UTC),Message\nfiring,warning,hung,agent-stuck,41m 00s,30m 00s,2026-11-20 12:00:00,"), "{csv}");
    // Filters are refused: every rule has its own window.
    let (code, _, err) = alerts_at(&env, 60, &["--days", "7"]);
    assert_eq!(code, 2);
    assert!(err.contains("alerts takes no filters"), "{err}");
}

#[test]
fn a_bad_config_exits_2_with_the_field_named() {
    let (env, _) = hung_history();
    write_config(&env, &serde_json::json!({"success_rate_below": 2}));
    let (code, _, err) = alerts_at(&env, 0, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("config.json alerts.success_rate_below: a rate between 0 and 1"),
        "{err}"
    );
    write_config(&env, &serde_json::json!({"max_active_agent": 3}));
    let (code, _, err) = alerts_at(&env, 0, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("config.json alerts.max_active_agent: not a setting of the alerts"),
        "{err}"
    );
    // The rest of the readers are not affected by the alerts' typo.
    assert_eq!(env.analyze_at(&at(0), &["active"]).0, 0);
}

/// A loopback HTTP receiver answering each request with the next status of `statuses` (then
/// 200), keeping every body.
fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        for (i, conn) in listener.incoming().enumerate() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap());
            let status = statuses.get(i).copied().unwrap_or(200);
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

#[test]
fn a_webhook_hears_each_firing_and_resolution_once() {
    let (env, run) = hung_history();
    let (url, got) = receiver(vec![]);
    write_config(
        &env,
        &serde_json::json!({"webhook": {"url": url, "headers": {"X-Team": "ops"}}}),
    );
    for offset in [0, 30, 60] {
        assert_eq!(alerts_at(&env, offset, &[]).0, 0);
    }
    {
        let got = got.lock().unwrap();
        assert_eq!(
            got.len(),
            1,
            "delivered once across three evaluations: {got:?}"
        );
        let b = &got[0];
        assert_eq!(
            b["text"],
            "[agent-telemetry] FIRING warning hung: slow-worker (agent-st) has been running for 40m 00s, longer than 30 min: possibly hung"
        );
        assert_eq!(
            (&b["rule"], &b["subject"], &b["state"]),
            (
                &Value::from("hung"),
                &Value::from("agent-stuck"),
                &Value::from("firing")
            )
        );
        assert_eq!(
            (&b["value"], &b["threshold"], &b["since"]),
            (
                &Value::from(40.0),
                &Value::from(30.0),
                &Value::from("2026-11-20T12:00:00.000Z")
            )
        );
    }
    finish(&env, &run, &at(90));
    for offset in [120, 150] {
        assert_eq!(alerts_at(&env, offset, &[]).0, 0);
    }
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 2, "the resolution once: {got:?}");
    assert_eq!(got[1]["state"], "resolved");
    assert_eq!(got[1]["resolved"], "2026-11-20T12:02:00.000Z");
    assert!(got[1]["text"]
        .as_str()
        .unwrap()
        .starts_with("[agent-telemetry] RESOLVED warning hung: "));
    // Shown as resolved for an hour.
    let (_, out, _) = alerts_at(&env, 200, &["--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&v["firing"], &v["alerts"][0]["state"]),
        (&Value::from(0), &Value::from("resolved"))
    );
}

#[test]
fn a_failing_webhook_is_retried_after_the_backoff() {
    let (env, _) = hung_history();
    let (url, got) = receiver(vec![500]);
    write_config(&env, &serde_json::json!({"webhook": {"url": url}}));
    assert_eq!(alerts_at(&env, 0, &[]).0, 0);
    assert_eq!(got.lock().unwrap().len(), 1);
    let (attempts, next, error): (i64, i64, String) = env
        .conn()
        .query_row(
            "SELECT attempts, next_try_ms, last_error FROM alert_state",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let t0 = agent_telemetry::timeparse::parse_instant(T0).unwrap();
    assert_eq!((attempts, next), (1, t0 + 30_000));
    assert!(
        error.starts_with("webhook: ") && error.contains("500"),
        "{error}"
    );
    // 29 s later: still waiting; 30 s: retried, delivered; later: nothing more.
    assert_eq!(alerts_at(&env, 29, &[]).0, 0);
    assert_eq!(got.lock().unwrap().len(), 1, "the backoff is respected");
    assert_eq!(alerts_at(&env, 30, &[]).0, 0);
    assert_eq!(alerts_at(&env, 90, &[]).0, 0);
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["state"], "firing");
    assert_eq!(
        env.count("SELECT count(*) FROM alert_state WHERE delivered = 'firing' AND attempts = 0 AND last_error IS NULL"),
        1
    );
}

#[test]
fn a_command_notifier_runs_once_per_change() {
    let (env, _) = hung_history();
    let out = env.dir.path().join("notified.txt");
    let script = env.dir.path().join("notify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s %s %s ' \"$AGENT_TELEMETRY_ALERT_RULE\" \"$AGENT_TELEMETRY_ALERT_STATE\" \"$AGENT_TELEMETRY_ALERT_SUBJECT\" >> '{0}'\ncat >> '{0}'\n",
            out.display()
        ),
    )
    .unwrap();
    write_config(
        &env,
        &serde_json::json!({"command": ["/bin/sh", script.to_str().unwrap()]}),
    );
    for offset in [0, 30] {
        assert_eq!(alerts_at(&env, offset, &[]).0, 0);
    }
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let (head, json) = text.split_at(text.find('{').unwrap());
    assert_eq!(head, "hung firing agent-stuck ");
    let v: Value = serde_json::from_str(json).unwrap();
    assert_eq!(
        (&v["rule"], &v["severity"]),
        (&Value::from("hung"), &Value::from("warning"))
    );
}

#[test]
fn serve_delivers_in_the_background_and_answers_api_v1_alerts() {
    let (env, _) = hung_history();
    let (url, got) = receiver(vec![]);
    write_config(
        &env,
        &serde_json::json!({"webhook": {"url": url}, "evaluate_every_seconds": 1}),
    );
    let now = at(0);
    let server = crate::serve::Server::start(&env, &[], &[("AGENT_TELEMETRY_NOW", now.as_str())]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while got.lock().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never delivered"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The page's API evaluates without delivering; the thread keeps evaluating every second.
    for path in [
        "/api/v1/alerts",
        "/dash/api/alerts",
        "/api/v1/alerts?fail-on-alert=true",
    ] {
        let r = crate::serve::request(server.port, "GET", path, &[]);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            (&v["command"], &v["firing"]),
            (&Value::from("alerts"), &Value::from(1))
        );
        assert_eq!(v["alerts"][0]["rule"], "hung");
        assert_eq!(v["alerts"][0]["delivered"], "firing");
        assert_eq!(v["delivery"], Value::Null, "{path}: --no-deliver");
    }
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(got.lock().unwrap().len(), 1, "delivered once");
    drop(server);
}

#[test]
fn concurrent_evaluators_deliver_a_change_once() {
    let (env, _) = hung_history();
    let (url, got) = receiver(vec![]);
    write_config(&env, &serde_json::json!({"webhook": {"url": url}}));
    let now = at(0);
    let children: Vec<_> = (0..6)
        .map(|_| {
            std::process::Command::new(crate::common::bin_path("analyze"))
                .args(["alerts", "--format", "json"])
                .env("AGENT_TELEMETRY_DB", env.db())
                .env("HOME", env.home())
                .env("AGENT_TELEMETRY_NOW", &now)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert_eq!(c.wait().unwrap().code(), Some(0));
    }
    assert_eq!(got.lock().unwrap().len(), 1, "six evaluators, one delivery");
}

#[test]
fn delivery_gives_up_after_ten_failed_attempts() {
    let mut db = Db::new();
    db.run("slow", "s1", NOW - 40 * MIN, None, "running");
    // Nothing listens on port 1: every attempt fails at once.
    let cfg: AlertsConfig =
        serde_json::from_str(r#"{"webhook": {"url": "http://127.0.0.1:1/"}}"#).unwrap();
    let prices = Prices::default();
    let mut now = NOW;
    let state = |db: &Db| -> (i64, i64) {
        db.store
            .conn()
            .query_row("SELECT attempts, next_try_ms FROM alert_state", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
    };
    for attempt in 1..=10 {
        let inputs = Inputs {
            cfg: &cfg,
            hung_after_minutes: 30,
            lost_after_minutes: 1_000_000, // hung for as long as the test runs
            prices: &prices,
            now,
        };
        let e = alerts::evaluate_and_deliver(&db.store, &inputs).unwrap();
        assert_eq!(
            (e.delivery.sent, e.delivery.failed),
            (0, 1),
            "attempt {attempt}"
        );
        let (attempts, next) = state(&db);
        assert_eq!(attempts, attempt);
        if attempt < 10 {
            assert_eq!(next, now + alerts::backoff_ms(attempt));
            now = next;
        } else {
            assert_eq!(next, i64::MAX, "no more attempts");
        }
    }
    let inputs = Inputs {
        cfg: &cfg,
        hung_after_minutes: 30,
        lost_after_minutes: 1_000_000, // hung for as long as the test runs
        prices: &prices,
        now: now + 86_400_000,
    };
    let e = alerts::evaluate_and_deliver(&db.store, &inputs).unwrap();
    assert_eq!((e.delivery.sent, e.delivery.failed), (0, 0));
    assert_eq!(state(&db).0, 10);
}
