//! Delivery: each change of an alert's state (firing, resolved) is handed once to the
//! notifiers in config.json — a webhook (JSON POST with a Slack-compatible `text`) and a command
//! (the alert as JSON on stdin, `AGENT_TELEMETRY_ALERT_*` in its environment).
//!
//! A row is pending while `delivered` is not its `state`. A sender first claims it in a write
//! transaction (`next_try_ms` = now + [`LEASE_MS`]), so concurrent evaluators (the server, a
//! cron job, a status line's detached `analyze alerts`) never send the same change twice;
//! a sender that dies leaves the claim to expire and the change is retried. A failure counts an
//! attempt and waits `30 s × 2^(attempts − 1)` (at most an hour); after [`MAX_ATTEMPTS`] it
//! stops until the alert changes state again.

use super::config::{AlertsConfig, CommandSpec, Webhook};
use super::state::{self, Stored};
use crate::error::Result;
use crate::store::Store;
use rusqlite::params;
use serde::Serialize;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A claim's lifetime: longer than the slowest send (both notifiers' timeouts).
pub(super) const LEASE_MS: i64 = 60_000;
/// The first retry's wait; each further failure doubles it, up to [`MAX_BACKOFF_MS`].
pub const BACKOFF_MS: i64 = 30_000;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_MS: i64 = 3_600_000;
/// Failed attempts after which a change is no longer retried.
pub const MAX_ATTEMPTS: i64 = 10;
/// A webhook must answer within this.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// A command must exit within this (it is killed after).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Changes sent per evaluation at most (the rest wait for the next one).
const BATCH: i64 = 50;

/// What a delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Changes delivered to every notifier.
    pub sent: usize,
    /// Attempts that failed (retried later).
    pub failed: usize,
}

/// The wait after the `attempts`-th failure.
pub fn backoff_ms(attempts: i64) -> i64 {
    let doublings = (attempts - 1).clamp(0, 20) as u32;
    (BACKOFF_MS << doublings).min(MAX_BACKOFF_MS)
}

/// Delivers every pending change whose retry time has come.
pub(super) fn pending(store: &Store, cfg: &AlertsConfig, now: i64) -> Result<Delivery> {
    if !cfg.has_notifiers() {
        // Nothing to deliver to: every change counts as handed over, so a notifier configured
        // later is not flooded with the past.
        store.write_tx(|s| {
            s.conn().execute(
                "UPDATE alert_state SET delivered = state, attempts = 0, next_try_ms = NULL, last_error = NULL
                 WHERE delivered IS NOT state",
                [],
            )?;
            Ok(())
        })?;
        return Ok(Delivery::default());
    }
    let claimed = claim(store, now)?;
    let mut d = Delivery::default();
    for row in claimed {
        match send(cfg, &row) {
            Ok(()) => {
                store.conn().execute(
                    "UPDATE alert_state SET delivered = state, attempts = 0, next_try_ms = NULL, last_error = NULL
                     WHERE rule = ?1 AND subject = ?2 AND state = ?3",
                    params![row.rule, row.subject, row.state],
                )?;
                d.sent += 1;
            }
            Err(e) => {
                let attempts = row.attempts + 1;
                let next = if attempts >= MAX_ATTEMPTS {
                    i64::MAX
                } else {
                    now + backoff_ms(attempts)
                };
                store.conn().execute(
                    "UPDATE alert_state SET attempts = ?4, next_try_ms = ?5, last_error = ?6
                     WHERE rule = ?1 AND subject = ?2 AND state = ?3",
                    params![row.rule, row.subject, row.state, attempts, next, e],
                )?;
                d.failed += 1;
            }
        }
    }
    Ok(d)
}

/// Claims the pending changes due at `now` (at most [`BATCH`]).
fn claim(store: &Store, now: i64) -> Result<Vec<Stored>> {
    store.write_tx(|s| {
        let c = s.conn();
        let mut stmt = c.prepare(&format!(
            "SELECT {} FROM alert_state
             WHERE delivered IS NOT state AND (next_try_ms IS NULL OR next_try_ms <= ?1)
             ORDER BY since_ms LIMIT ?2",
            state::COLUMNS
        ))?;
        let rows: Vec<Stored> = stmt
            .query_map(params![now, BATCH], state::row)?
            .collect::<rusqlite::Result<_>>()?;
        let mut lease =
            c.prepare("UPDATE alert_state SET next_try_ms = ?3 WHERE rule = ?1 AND subject = ?2")?;
        for r in &rows {
            lease.execute(params![r.rule, r.subject, now + LEASE_MS])?;
        }
        Ok(rows)
    })
}

/// The notification for a change: what the webhook posts and the command reads.
pub fn payload(row: &Stored) -> Value {
    let iso = |ms: Option<i64>| ms.map(crate::timeparse::format_ms);
    let text = format!(
        "[agent-telemetry] {} {} {}: {}",
        if row.state == "firing" {
            "FIRING"
        } else {
            "RESOLVED"
        },
        row.severity,
        row.rule,
        row.message
    );
    json!({
        "text": text,
        "rule": row.rule,
        "subject": row.subject,
        "state": row.state,
        "severity": row.severity,
        "value": row.value,
        "threshold": row.threshold,
        "message": row.message,
        "since": iso(Some(row.since_ms)),
        "resolved": iso(row.resolved_ms),
    })
}

/// Sends one change to every notifier; the first failure is the error.
fn send(cfg: &AlertsConfig, row: &Stored) -> std::result::Result<(), String> {
    let body = payload(row);
    if let Some(w) = &cfg.webhook {
        webhook(w, &body).map_err(|e| format!("webhook: {e}"))?;
    }
    if let Some(c) = &cfg.command {
        command(c, row, &body).map_err(|e| format!("command: {e}"))?;
    }
    Ok(())
}

fn webhook(w: &Webhook, body: &Value) -> std::result::Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(WEBHOOK_TIMEOUT))
        .build()
        .into();
    let mut req = agent
        .post(&w.url)
        .header("Content-Type", "application/json");
    for (k, v) in &w.headers {
        req = req.header(k, v);
    }
    req.send(body.to_string())
        .map(drop)
        .map_err(|e| e.to_string())
}

fn command(c: &CommandSpec, row: &Stored, body: &Value) -> std::result::Result<(), String> {
    let mut cmd = match c {
        CommandSpec::Shell(line) => {
            let mut cmd = Command::new("/bin/sh");
            cmd.arg("-c").arg(line);
            cmd
        }
        CommandSpec::Argv(argv) => {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            cmd
        }
    };
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    cmd.env("AGENT_TELEMETRY_ALERT_RULE", &row.rule)
        .env("AGENT_TELEMETRY_ALERT_SUBJECT", &row.subject)
        .env("AGENT_TELEMETRY_ALERT_STATE", &row.state)
        .env("AGENT_TELEMETRY_ALERT_SEVERITY", &row.severity)
        .env("AGENT_TELEMETRY_ALERT_VALUE", num(row.value))
        .env("AGENT_TELEMETRY_ALERT_THRESHOLD", num(row.threshold))
        .env("AGENT_TELEMETRY_ALERT_MESSAGE", &row.message)
        .env(
            "AGENT_TELEMETRY_ALERT_TEXT",
            body["text"].as_str().unwrap_or(""),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run it: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is fine: a closed pipe is not a failure.
        let _ = stdin.write_all(format!("{body}\n").as_bytes());
    }
    let start = Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("exited with {status}")),
            None if start.elapsed() > COMMAND_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("killed after {} s", COMMAND_TIMEOUT.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1), 30_000);
        assert_eq!(backoff_ms(2), 60_000);
        assert_eq!(backoff_ms(3), 120_000);
        assert_eq!(backoff_ms(8), 3_600_000);
        assert_eq!(backoff_ms(40), 3_600_000);
    }
}
