//! The hook binaries' shared runner. Every path ends in exit code 0 with nothing on stdout:
//! a payload is stored, or quarantined with its bytes, or spooled beside the database, and
//! every error goes to a size-capped log. Claude Code must never notice us.

pub mod event;
pub mod log;
pub mod wire;

use crate::store::{self, NewEvent, SpooledPayload, Store};
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
        stdin
            .lock()
            .take(MAX_PAYLOAD as u64 + 1)
            .read_to_end(&mut raw)?;
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
                || SpooledPayload {
                    recorded_at,
                    binary: binary.name().into(),
                    args: args.clone(),
                    raw: String::from_utf8_lossy(&bytes).into_owned(),
                },
            );
        }
    };
    let redacted = crate::redact::redact(&text).into_owned();
    drop(text);
    let spooled = || SpooledPayload {
        recorded_at,
        binary: binary.name().into(),
        args: args.clone(),
        raw: redacted.clone(),
    };
    let incoming = event::parse(binary, &redacted, recorded_at);
    if opts.print_id {
        if let Some(id) = incoming.iter().find_map(|i| i.generic_start_id()) {
            println!("{id}");
        }
    }
    // Transcripts are read before the database is opened, so the write lock is held briefly.
    let prepared: Vec<Prepared> = incoming.into_iter().map(prepare).collect();
    with_store(db, binary, |s| store_prepared(s, &prepared), spooled)
}

/// Opens the store for a hook and runs `f` in one transaction; spools on failure.
fn with_store(
    db: &Path,
    binary: Binary,
    f: impl FnOnce(&Store) -> crate::error::Result<()>,
    spooled: impl FnOnce() -> SpooledPayload,
) -> anyhow::Result<()> {
    let result = Store::open_for_hook(db).and_then(|s| {
        replay_spool_if_any(&s, db);
        s.write_tx(f)?;
        s.truncate_wal_if_large();
        Ok(())
    });
    if let Err(e) = result {
        let p = spooled();
        match store::spool_payload(db, &p) {
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

fn replay_spool_if_any(s: &Store, db: &Path) {
    let primary = crate::paths::spool_path(db);
    let fallback = crate::paths::fallback_spool_path(db);
    if !primary.exists() && !fallback.exists() {
        return;
    }
    let result = s.replay_spool(replay_spooled);
    if let Err(e) = result {
        log::error(db, "spool", &format!("replay failed: {e}"));
    }
}

/// Records one payload in-process through the same path the hook binaries use (parse, redact,
/// read transcripts, append). For importers, the data generator and tests; errors are returned
/// instead of spooled.
pub fn record_payload(
    db: &Path,
    binary: Binary,
    text: &str,
    recorded_at: i64,
) -> crate::error::Result<()> {
    let prepared = prepare_all(binary, &crate::redact::redact(text), recorded_at);
    let s = Store::open_for_hook(db)?;
    s.write_tx(|s| store_prepared(s, &prepared))
}

/// Records many payloads in one transaction (bulk loads: imports, generators).
pub fn record_many(store: &Store, items: &[(Binary, String, i64)]) -> crate::error::Result<()> {
    store.write_tx(|s| {
        for (binary, text, recorded_at) in items {
            let prepared = prepare_all(*binary, &crate::redact::redact(text), *recorded_at);
            store_prepared(s, &prepared)?;
        }
        Ok(())
    })
}

/// Stores one spooled payload exactly as the hook that spooled it would have.
pub fn replay_spooled(s: &Store, p: SpooledPayload) -> crate::error::Result<()> {
    // Redacted when spooled; again here for spools written by older versions.
    let raw = crate::redact::redact(&p.raw);
    let prepared = prepare_all(Binary::from_name(&p.binary), &raw, p.recorded_at);
    store_prepared(s, &prepared)
}

/// An incoming payload plus what its transcript said, ready to write.
pub(crate) struct Prepared {
    incoming: Incoming,
    transcript: Option<event::TranscriptRead>,
}

/// Parses redacted payload text and reads the transcripts its events point at.
fn prepare_all(binary: Binary, redacted: &str, recorded_at: i64) -> Vec<Prepared> {
    event::parse(binary, redacted, recorded_at)
        .into_iter()
        .map(prepare)
        .collect()
}

fn prepare(incoming: Incoming) -> Prepared {
    let transcript = match &incoming.parsed {
        Parsed::Event(e) => event::read_transcript_for(e),
        _ => None,
    };
    Prepared {
        incoming,
        transcript,
    }
}

fn store_prepared(s: &Store, prepared: &[Prepared]) -> crate::error::Result<()> {
    for p in prepared {
        match &p.incoming.parsed {
            Parsed::Quarantine { reason, raw } => {
                s.quarantine(p.incoming.binary.name(), reason, raw.as_bytes())?
            }
            Parsed::Event(e) => {
                s.append_event(&NewEvent {
                    ts: e.ts,
                    source: e.source,
                    kind: &e.kind,
                    session_id: e.session_id.as_deref(),
                    prompt_id: e.prompt_id.as_deref(),
                    agent_id: e.agent_id.as_deref(),
                    agent_type: e.agent_type.as_deref(),
                    tool_name: e.tool_name.as_deref(),
                    tool_use_id: e.tool_use_id.as_deref(),
                    payload: &e.payload,
                })?;
                if let Some(t) = &p.transcript {
                    event::store_transcript(s, e, t)?;
                }
            }
        }
    }
    Ok(())
}
