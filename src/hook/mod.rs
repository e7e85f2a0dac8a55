//! The hook binaries' shared runner. Every path ends in exit code 0 with nothing on stdout:
//! a payload is stored, or quarantined with its bytes, or spooled beside the database, and
//! every error goes to a size-capped log. Claude Code must never notice us.

pub mod event;
pub mod guard;
pub mod log;

use crate::store::{self, SpooledPayload, Store};
use event::{Incoming, Parsed};
use std::io::{IsTerminal, Read};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Which binary received the payload: it decides what a generic (non-Claude Code) event means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    SubagentStart,
    SubagentStop,
    WorkflowEvent,
}

impl Binary {
    /// The binary's name, as installed.
    pub fn name(self) -> &'static str {
        match self {
            Binary::SubagentStart => "subagent-start",
            Binary::SubagentStop => "subagent-stop",
            Binary::WorkflowEvent => "workflow-event",
        }
    }

    /// The binary of a [`Binary::name`]; anything else is `workflow-event` (the one binary whose
    /// generic events need no start/stop meaning).
    pub fn from_name(name: &str) -> Binary {
        match name {
            "subagent-start" => Binary::SubagentStart,
            "subagent-stop" => Binary::SubagentStop,
            _ => Binary::WorkflowEvent,
        }
    }
}

/// Payloads above this size are stored truncated in quarantine rather than parsed.
const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// What the caller asked for besides the payload on stdin.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub db: Option<PathBuf>,
    /// `subagent-start --print-id`: print the invocation id assigned to a generic start.
    pub print_id: bool,
    /// Explicit events built from the command line (`workflow-event start …`), as JSON.
    pub cli_events: Vec<String>,
    /// Files of JSON lines to import (`workflow-event import FILE`).
    pub import_files: Vec<PathBuf>,
    /// Arguments the binary could not parse (logged, otherwise ignored).
    pub arg_error: Option<String>,
}

/// The first thing every hook binary does: ignore SIGTERM. `claude -p` ending a turn on an API
/// error sends SIGTERM to its StopFailure hooks' process group 4–20 ms after starting them
/// (seen with 2.1.330 and 2.1.332, tests/e2e turn-api-error), before any hook could store the
/// payload; it sends SIGKILL 1.5 s later, far beyond a hook's few milliseconds. A recording hook
/// must finish what it received, so it keeps running; the SIGKILL bound still holds.
pub fn shield() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code, touches no
    // memory of ours and is async-signal-safe; it runs before any thread is started.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
    }
}

/// Runs a hook binary to completion. Always returns success.
pub fn main(binary: Binary, opts: Options) -> ExitCode {
    if std::env::var_os("AGENT_TELEMETRY_DISABLED").is_some_and(|v| v == "1" || v == "true") {
        return ExitCode::SUCCESS;
    }
    let db = crate::paths::db_path(opts.db.as_deref());
    // A panic must not escape: silence the default hook (it prints to stderr) and log instead.
    panic::set_hook(Box::new(|_| {}));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| run(binary, &opts, &db)));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => log::error(&db, binary.name(), &format!("{e:#}")),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log::error(&db, binary.name(), &format!("panic: {msg}"));
        }
    }
    ExitCode::SUCCESS
}

fn run(binary: Binary, opts: &Options, db: &Path) -> anyhow::Result<()> {
    if let Some(e) = &opts.arg_error {
        log::error(db, binary.name(), &format!("ignored arguments: {e}"));
    }
    let mut payloads: Vec<Vec<u8>> = opts
        .cli_events
        .iter()
        .map(|s| s.clone().into_bytes())
        .collect();
    for f in &opts.import_files {
        match std::fs::read(f) {
            Ok(b) => payloads.push(b),
            Err(e) => {
                eprintln!("workflow-event: cannot read {}: {e}", f.display());
                log::error(
                    db,
                    binary.name(),
                    &format!("cannot read {}: {e}", f.display()),
                );
            }
        }
    }
    if payloads.is_empty() {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Ok(()); // run by hand with nothing piped in: nothing to record
        }
        let mut raw = Vec::new();
        let mut lock = stdin.lock();
        (&mut lock)
            .take(MAX_PAYLOAD as u64 + 1)
            .read_to_end(&mut raw)?;
        if raw.len() > MAX_PAYLOAD {
            // Read the rest too (Claude Code is still writing it), keep the first 64 MiB.
            std::io::copy(&mut lock, &mut std::io::sink())?;
            raw.truncate(MAX_PAYLOAD);
            let kept = crate::redact::redact(&String::from_utf8_lossy(&raw)).into_owned();
            let recorded_at = store::now_ms();
            let args: Vec<String> = std::env::args().skip(1).collect();
            let reason = "payload larger than 64 MiB: its first 64 MiB are kept";
            return with_store(
                db,
                binary,
                |s| s.quarantine(binary.name(), reason, kept.as_bytes()),
                |_| {},
                || SpooledPayload {
                    id: None,
                    recorded_at,
                    binary: binary.name().into(),
                    args,
                    raw: kept.clone(),
                    host: None,
                },
            );
        }
        payloads.push(raw);
    }
    let recorded_at = store::now_ms();
    for raw in payloads {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let args: Vec<String> = std::env::args().skip(1).collect();
        process(binary, opts, db, raw, recorded_at, args)?;
    }
    Ok(())
}

/// Parses, opens, stores; on a database failure spools the payload.
fn process(
    binary: Binary,
    opts: &Options,
    db: &Path,
    raw: Vec<u8>,
    recorded_at: i64,
    args: Vec<String>,
) -> anyhow::Result<()> {
    let text = match String::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            // Not UTF-8: kept with its bytes, but never with its secrets.
            let bytes = crate::redact::redact_bytes(e.as_bytes()).into_owned();
            return with_store(
                db,
                binary,
                |s| {
                    s.quarantine(binary.name(), "payload is not UTF-8", &bytes)?;
                    Ok(())
                },
                |_| {},
                || SpooledPayload {
                    id: None,
                    recorded_at,
                    binary: binary.name().into(),
                    args: args.clone(),
                    raw: String::from_utf8_lossy(&bytes).into_owned(),
                    host: None,
                },
            );
        }
    };
    let redacted = crate::redact::redact(&text).into_owned();
    drop(text);
    let mut incoming = event::parse(binary, &redacted, recorded_at);
    // Claude Code's CPU time and memory, for an agent's start or stop (docs/metrics.md,
    // "Resources"): read now, spooled with the payload if it has to be.
    let host = event::attach_host(&mut incoming, crate::host::read);
    let spooled = || SpooledPayload {
        id: None,
        recorded_at,
        binary: binary.name().into(),
        args: args.clone(),
        raw: redacted.clone(),
        host,
    };
    if opts.print_id {
        if let Some(id) = incoming.iter().find_map(|i| i.generic_start_id()) {
            println!("{id}");
        }
    }
    // An Agent/Task call the guard may deny (docs/guard.md); None for every other payload.
    let pending = guard::pending(binary, db, &incoming).unwrap_or_else(|why| {
        log::error(db, "guard", &format!("no decision: {why}"));
        None
    });
    let mut decision = None;
    let mut stored = false;
    // The payload is stored first; transcripts are read after, outside any transaction.
    with_store(
        db,
        binary,
        |s| {
            store_incoming(s, &incoming)?;
            if let Some(p) = &pending {
                decision = Some(p.decide(s));
            }
            Ok(())
        },
        |s| {
            stored = true;
            match record_transcripts(s, &incoming) {
                // Busy past the hook's budget (parallel agents stopping at once, a checkpoint on
                // a loaded disk): expected, and nothing is lost — the payload is stored, and the
                // transcript's cursor makes the next Stop (or `analyze import`) read what this
                // hook could not. As with a spooled payload, not a problem to log.
                Err(e) if !is_busy(&e) => {
                    log::error(db, binary.name(), &format!("transcript not recorded: {e}"));
                }
                _ => {}
            }
        },
        spooled,
    )?;
    report_decision(db, pending.is_some(), stored, decision);
    Ok(())
}

/// Prints the guard's denial, once it is stored with its payload (the one thing a hook prints
/// on stdout); logs why the guard took no decision when it was on.
fn report_decision(
    db: &Path,
    armed: bool,
    stored: bool,
    decision: Option<Result<Option<crate::guard::Denial>, String>>,
) {
    match (stored, decision) {
        (true, Some(Ok(Some(d)))) => println!("{}", d.hook_output()),
        (true, Some(Err(why))) => log::error(db, "guard", &format!("no decision: {why}")),
        (false, _) if armed => log::error(
            db,
            "guard",
            "no decision: the database was busy or unavailable (the payload was spooled)",
        ),
        _ => {}
    }
}

/// Opens the store for a hook and runs `f` in one transaction, then `after` (the payload is
/// safe by then); spools the payload when it cannot be stored.
fn with_store(
    db: &Path,
    binary: Binary,
    f: impl FnOnce(&Store) -> crate::error::Result<()>,
    after: impl FnOnce(&Store),
    spooled: impl FnOnce() -> SpooledPayload,
) -> anyhow::Result<()> {
    let result = Store::open_for_hook(db).and_then(|s| {
        // Deleted (or replaced) between our open and now: the new file is the database.
        let s = if s.file_is_current() {
            s
        } else {
            drop(s);
            Store::open_for_hook(db)?
        };
        replay_spool_if_any(&s, db);
        s.write_tx(f)?;
        // Deleted or replaced while we wrote: the commit went into a file nobody will read.
        if !s.file_is_current() {
            return Err(crate::error::Error::UnsafePath {
                path: db.to_path_buf(),
                reason: "the database file was deleted or replaced while a hook wrote to it".into(),
            });
        }
        after(&s);
        s.truncate_wal_if_large();
        Ok(())
    });
    if let Err(e) = result {
        let p = spooled();
        match store::spool_payload(db, &p) {
            // Busy past the hook's budget is expected under load (a long reader transaction,
            // hundreds of hooks at once): the spool is the plan, not a problem to log.
            Ok(_) if is_busy(&e) => {}
            Ok(path) => log::error(
                db,
                binary.name(),
                &format!(
                    "database unavailable ({e}); payload spooled to {}",
                    path.display()
                ),
            ),
            Err(se) => log::error(
                db,
                binary.name(),
                &format!(
                    "database unavailable ({e}) and spool failed ({se}); payload: {}",
                    p.raw
                ),
            ),
        }
    }
    Ok(())
}

fn is_busy(e: &crate::error::Error) -> bool {
    matches!(e, crate::error::Error::Sqlite(se) if matches!(
        se.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    ))
}

/// Replays a little of any spool (a hook's budget: the rest is left for the next open).
fn replay_spool_if_any(s: &Store, db: &Path) {
    if !s.spool_has_work() {
        return;
    }
    match replay_spool(s, store::Budget::HOOK) {
        Err(e) if !is_busy(&e) => log::error(
            db,
            "spool",
            &format!("replay failed, kept for the next open: {e}"),
        ),
        _ => {}
    }
}

/// Records many payloads: their events in one transaction (bulk loads: imports, generators),
/// then what their transcripts say.
pub fn record_many(store: &Store, items: &[(Binary, String, i64)]) -> crate::error::Result<()> {
    let parsed: Vec<Vec<Incoming>> = items
        .iter()
        .map(|(binary, text, recorded_at)| {
            event::parse(*binary, &crate::redact::redact(text), *recorded_at)
        })
        .collect();
    store.write_tx(|s| parsed.iter().try_for_each(|i| store_incoming(s, i)))?;
    parsed.iter().try_for_each(|i| record_transcripts(store, i))
}

/// Replays spooled payloads within `budget`, each stored exactly as the hook that spooled it
/// would have (with what its transcripts say), and exactly once.
pub fn replay_spool(s: &Store, budget: store::Budget) -> crate::error::Result<store::Replayed> {
    // A hook's replay reads transcripts within its own budget too (what it skips is read at the
    // next Stop: those files' cursors say they changed).
    let budget_end = std::time::Instant::now().checked_add(budget.time);
    s.replay_spool(
        budget,
        |s, p| {
            // Redacted when spooled; again here for spools written by older versions.
            // Transcripts are read here, before the write transaction: the payload itself is
            // safe in its spool file meanwhile.
            let raw = crate::redact::redact(&p.raw);
            let mut incoming = event::parse(Binary::from_name(&p.binary), &raw, p.recorded_at);
            // The readings the hook took when it ran, not the replaying process's.
            event::attach_host(&mut incoming, || p.host);
            let own = std::time::Instant::now() + TRANSCRIPT_TIME;
            let reads = read_all(s, &incoming, budget_end.map_or(own, |b| b.min(own)));
            (incoming, reads)
        },
        |s, (incoming, reads)| {
            store_incoming(s, incoming)?;
            store_reads(s, incoming, reads)
        },
    )
}

/// How long a hook spends reading transcripts, all files together (each file also has its own
/// byte and time budget): what is left is read at the next Stop or by `analyze import`.
const TRANSCRIPT_TIME: std::time::Duration = std::time::Duration::from_millis(500);

/// The transcripts the events point at, read outside any transaction, until `deadline`.
fn read_all(
    s: &Store,
    incoming: &[Incoming],
    deadline: std::time::Instant,
) -> Vec<Vec<event::TranscriptRead>> {
    incoming
        .iter()
        .map(|i| match &i.parsed {
            Parsed::Event(e) => event::read_transcripts(s, e, deadline),
            Parsed::Quarantine { .. } => Vec::new(),
        })
        .collect()
}

fn store_reads(
    s: &Store,
    incoming: &[Incoming],
    reads: &[Vec<event::TranscriptRead>],
) -> crate::error::Result<()> {
    for (i, r) in incoming.iter().zip(reads) {
        if let (Parsed::Event(e), false) = (&i.parsed, r.is_empty()) {
            event::store_transcripts(s, e, r)?;
        }
    }
    Ok(())
}

/// Reads the transcripts of stored events and records what they say, in a short transaction of
/// its own.
fn record_transcripts(s: &Store, incoming: &[Incoming]) -> crate::error::Result<()> {
    let reads = read_all(s, incoming, std::time::Instant::now() + TRANSCRIPT_TIME);
    if reads.iter().all(Vec::is_empty) {
        return Ok(());
    }
    s.write_tx(|s| store_reads(s, incoming, &reads))
}

/// Stores parsed payloads: events, or quarantined payloads with their reason.
fn store_incoming(s: &Store, incoming: &[Incoming]) -> crate::error::Result<()> {
    for i in incoming {
        match &i.parsed {
            Parsed::Quarantine { reason, raw } => {
                s.quarantine(i.binary.name(), reason, raw.as_bytes())?
            }
            Parsed::Event(e) => {
                s.append_event(&e.new_event())?;
            }
        }
    }
    Ok(())
}
