//! `analyze statusline`: Claude Code's status line (its `statusLine` setting runs this command
//! with a JSON description of the session on stdin) as one line:
//!
//! ```text
//! ⚙ 2 agents · longest 3m 12s · session $1.23 · today $4.56 · ⚠ 1 alert
//! ```
//!
//! Each figure is defined in docs/metrics.md ("Status line"). Claude Code runs the command after
//! every message, so it must be fast whatever the history (docs/performance.md): it brings the
//! projection up to date within a few milliseconds only and otherwise shows what is known,
//! marked "catching up"; every other figure is an indexed read. It always exits 0 and prints a
//! line: a missing, busy or broken database is named in the line itself, never a failure.
//!
//! Alerts are not evaluated here: when the last evaluation (`alert_eval.last_evaluated_ms`) is
//! older than `--alerts-every` seconds, one status line (whichever claims the interval first,
//! [`claim_alerts_run`]) starts a detached `analyze alerts` and carries on without waiting.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pricing::Prices;
use crate::query::spend::{self, Spend};
use crate::store::{Budget, Store};
use crate::vocab::RunStatus;
use crate::wire::WireStatusLine;
use rusqlite::config::DbConfig;
use rusqlite::{params, OptionalExtension};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

/// How long the status line waits for a lock (SQLite's busy timeout).
const BUSY: Duration = Duration::from_millis(20);
/// The most stdin read: Claude Code sends a few kilobytes.
const MAX_INPUT: u64 = 1 << 20;
/// The `alert_eval` key of the last time a status line started an alerts evaluation.
pub const SPAWNED_KEY: &str = "statusline_spawned_ms";

/// Arguments of `analyze statusline`.
#[derive(clap::Args, Debug, Clone)]
pub struct StatuslineArgs {
    /// Start a background `analyze alerts` when alerts were last evaluated more than this many
    /// seconds ago (at most one per interval across all status lines; 0: never).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub alerts_every: u64,
    /// Milliseconds the status line may spend deriving new events (the rest waits for the next
    /// line or reader).
    #[arg(long, value_name = "MS", default_value_t = 5)]
    pub derive_budget: u64,
    /// Colour the alert count: auto (unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value_t = Colour::Auto)]
    pub color: Colour,
}

/// When to colour the line.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Auto,
    Always,
    Never,
}

impl Colour {
    fn on(self) -> bool {
        match self {
            // Claude Code reads the line through a pipe and renders ANSI colours: a terminal
            // test would always say no, so only NO_COLOR turns it off.
            Colour::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            Colour::Always => true,
            Colour::Never => false,
        }
    }
}

/// The figures of one status line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Agents running now (as `analyze active` counts them).
    pub running: i64,
    /// Elapsed time of the longest-running of them, ms.
    pub longest_ms: Option<i64>,
    /// This session's spend, main agent and subagents (None: no session id given).
    pub session: Option<Spend>,
    /// Today's spend (since local midnight), every session.
    pub today: Spend,
    /// Alerts firing (`alert_state` rows with state 'firing').
    pub alerts: i64,
    /// False when events remain that the projection has not applied yet.
    pub up_to_date: bool,
}

/// Runs `analyze statusline`: reads the status-line JSON on stdin, prints one line. Never fails.
pub fn run(db: Option<&Path>, args: &StatuslineArgs) -> Result<bool> {
    let input = read_stdin();
    let wire = WireStatusLine::parse(&input);
    let path = crate::paths::db_path(db);
    let now = crate::analyze::now();
    let outcome = std::panic::catch_unwind(|| figures(&path, &wire, now, args));
    let line = match outcome {
        Ok(Ok(f)) => render(&f, args.color.on()),
        Ok(Err(e)) => {
            if !matches!(e, Error::MissingDatabase(_)) {
                crate::hook::log::error(&path, "analyze statusline", &e.to_string());
            }
            unavailable(&e)
        }
        Err(_) => "⚙ agent-telemetry: internal error (see hook.log)".to_string(),
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe or a full disk: nothing more to do, and never a failing status.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    Ok(true)
}

fn read_stdin() -> Vec<u8> {
    let stdin = std::io::stdin();
    let mut buf = Vec::new();
    if !stdin.is_terminal() {
        let _ = stdin.lock().take(MAX_INPUT).read_to_end(&mut buf);
    }
    buf
}

/// Collects the figures; a bounded derivation and the alerts trigger on the way.
pub fn figures(
    db: &Path,
    wire: &WireStatusLine,
    now: i64,
    args: &StatuslineArgs,
) -> Result<Figures> {
    let store = Store::open_reader_waiting(db, BUSY)?;
    // As a hook does: closing the only connection would checkpoint and delete the WAL (fsyncs,
    // ~20 ms, measured) after the small derivation. Hooks and readers checkpoint it.
    store
        .conn()
        .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    store
        .conn()
        .execute_batch("PRAGMA wal_autocheckpoint = 0")?;
    let cfg = Config::load(db)?;
    let prices = Prices::load(db)?;
    let budget = Duration::from_millis(args.derive_budget);
    if store.spool_has_work() {
        let b = Budget {
            time: budget,
            per_tx: 20,
        };
        // Best effort: the spool stays for the next reader if this fails.
        let _ = crate::hook::replay_spool(&store, b);
    }
    // Busy (a reader is deriving) or out of budget: show what is derived so far.
    let up_to_date = crate::derive::refresh_within(&store, &cfg, &prices, budget).unwrap_or(false);
    let conn = store.conn();
    let (running, oldest): (i64, Option<i64>) = conn
        .prepare_cached(&format!(
            "SELECT count(*), min(start_ms) FROM agent_runs
             WHERE end_ms IS NULL AND status = '{}' AND start_ms >= ?1",
            RunStatus::Running
        ))?
        .query_row([now - cfg.lost_after_minutes * 60_000], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let session = match &wire.session_id {
        Some(sid) => Some(spend::session(conn, &prices, sid)?),
        None => None,
    };
    let today = spend::today(conn, &prices, now)?;
    let alerts: i64 = conn.query_row(
        "SELECT count(*) FROM alert_state WHERE state = 'firing'",
        [],
        |r| r.get(0),
    )?;
    start_alerts_if_due(&store, db, now, args.alerts_every);
    store.truncate_wal_if_large();
    Ok(Figures {
        running,
        longest_ms: oldest.map(|s| (now - s).max(0)),
        session,
        today,
        alerts,
        up_to_date,
    })
}

/// Starts a detached `analyze alerts` when the last evaluation is older than `every_s` and this
/// status line wins the claim on the interval. Failures are logged, never shown.
fn start_alerts_if_due(store: &Store, db: &Path, now: i64, every_s: u64) {
    if every_s == 0 {
        return;
    }
    let interval = i64::try_from(every_s)
        .unwrap_or(i64::MAX / 2)
        .saturating_mul(1000);
    let due = || -> rusqlite::Result<bool> {
        let last: Option<i64> = store
            .conn()
            .query_row(
                "SELECT value FROM alert_eval WHERE key = 'last_evaluated_ms'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if last.is_some_and(|t| now - t < interval && t <= now) {
            return Ok(false);
        }
        claim_alerts_run(store.conn(), now, interval)
    };
    match due() {
        Ok(true) => {
            if let Err(e) = spawn_alerts(db) {
                crate::hook::log::error(
                    db,
                    "analyze statusline",
                    &format!("could not start analyze alerts: {e}"),
                );
            }
        }
        Ok(false) => {}
        // Busy: another process holds the write lock; the next status line tries again.
        Err(_) => {}
    }
}

/// Claims the alerts evaluation for the interval starting at `now`: true for exactly one caller
/// per `interval_ms` however many status lines run at once (one conditional upsert, atomic under
/// SQLite's write lock). A claim from the future (the clock went back) is taken over.
pub fn claim_alerts_run(
    conn: &rusqlite::Connection,
    now: i64,
    interval_ms: i64,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT INTO alert_eval (key, value) VALUES (?3, ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value
         WHERE alert_eval.value <= ?1 - ?2 OR alert_eval.value > ?1",
        params![now, interval_ms, SPAWNED_KEY],
    )?;
    Ok(n == 1)
}

/// `analyze alerts --db DB --format json`, detached: its own process group, no stdio, not
/// waited for (it outlives this process and is reaped by init).
fn spawn_alerts(db: &Path) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe()?;
    Command::new(exe)
        .arg("alerts")
        .arg("--db")
        .arg(db)
        .args(["--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
}

/// The line for `f`: parts joined by " · "; the alert count red when `colour`.
pub fn render(f: &Figures, colour: bool) -> String {
    let mut parts = Vec::with_capacity(5);
    let mut agents = match f.running {
        0 => "⚙ no agents running".to_string(),
        1 => format!("⚙ 1 agent · {}", elapsed(f.longest_ms)),
        n => format!("⚙ {n} agents · longest {}", elapsed(f.longest_ms)),
    };
    if !f.up_to_date {
        agents.push_str(" (catching up)");
    }
    parts.push(agents);
    if let Some(s) = &f.session {
        parts.push(format!("session {}", cost(s)));
    }
    parts.push(format!("today {}", cost(&f.today)));
    if f.alerts > 0 {
        let plural = if f.alerts == 1 { "" } else { "s" };
        let text = format!("⚠ {} alert{plural}", f.alerts);
        parts.push(if colour {
            format!("\x1b[1;31m{text}\x1b[0m")
        } else {
            text
        });
    }
    parts.join(" · ")
}

fn elapsed(ms: Option<i64>) -> String {
    crate::render::dur(ms.map(|m| m as f64))
}

/// Dollars with cents; a "+" when some responses have no known price (their cost is missing).
fn cost(s: &Spend) -> String {
    let c = s.cost_usd;
    let mut text = if c > 0.0 && c < 0.005 {
        "<$0.01".to_string()
    } else {
        format!("${c:.2}")
    };
    if s.unpriced > 0 {
        text.push('+');
    }
    text
}

/// The line when there are no figures to show.
fn unavailable(e: &Error) -> String {
    let why = match e {
        Error::MissingDatabase(_) => "no data yet",
        Error::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            "busy"
        }
        Error::CorruptDatabase { .. } => "database damaged (run analyze doctor)",
        Error::Sqlite(s) if crate::error::is_corrupt(s) => "database damaged (run analyze doctor)",
        _ => "unavailable (run analyze doctor)",
    };
    format!("⚙ agent-telemetry: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spend(cost_usd: f64, unpriced: i64) -> Spend {
        Spend {
            responses: 1,
            tokens: 1,
            cost_usd,
            unpriced,
        }
    }

    #[test]
    fn renders_each_case_compactly() {
        let mut f = Figures {
            running: 2,
            longest_ms: Some(192_000),
            session: Some(spend(1.234, 0)),
            today: spend(4.555, 0),
            alerts: 1,
            up_to_date: true,
        };
        assert_eq!(
            render(&f, false),
            "⚙ 2 agents · longest 3m 12s · session $1.23 · today $4.55 · ⚠ 1 alert"
        );
        assert_eq!(
            render(&f, true),
            "⚙ 2 agents · longest 3m 12s · session $1.23 · today $4.55 · \x1b[1;31m⚠ 1 alert\x1b[0m"
        );
        f.running = 1;
        f.longest_ms = Some(4_500);
        f.alerts = 3;
        f.session = Some(spend(0.004, 2));
        assert_eq!(
            render(&f, false),
            "⚙ 1 agent · 4.5s · session <$0.01+ · today $4.55 · ⚠ 3 alerts"
        );
        f.running = 0;
        f.alerts = 0;
        f.session = None;
        f.up_to_date = false;
        f.today = Spend::default();
        assert_eq!(
            render(&f, true),
            "⚙ no agents running (catching up) · today $0.00"
        );
    }

    #[test]
    fn an_interval_is_claimed_once() {
        let s = Store::in_memory().unwrap();
        let c = s.conn();
        let t = 1_000_000_000;
        assert!(claim_alerts_run(c, t, 60_000).unwrap());
        assert!(!claim_alerts_run(c, t, 60_000).unwrap());
        assert!(!claim_alerts_run(c, t + 59_999, 60_000).unwrap());
        assert!(claim_alerts_run(c, t + 60_000, 60_000).unwrap());
        // A claim stamped in the future (clock set back) does not block forever.
        assert!(claim_alerts_run(c, t, 60_000).unwrap());
        let v: i64 = c
            .query_row(
                "SELECT value FROM alert_eval WHERE key = ?1",
                [SPAWNED_KEY],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(v, t);
    }

    #[test]
    fn unavailable_lines_name_the_reason() {
        assert_eq!(
            unavailable(&Error::MissingDatabase("/x".into())),
            "⚙ agent-telemetry: no data yet"
        );
        let busy = Error::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ));
        assert_eq!(unavailable(&busy), "⚙ agent-telemetry: busy");
    }
}
