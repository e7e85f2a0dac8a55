//! The spool: JSON-lines files beside the database that hold payloads while the database cannot
//! take them (busy past the hook's budget, unopenable, full, corrupt, deleted). The next
//! successful open replays them, exactly once.
//!
//! Files, for a spool path `B.jsonl` (beside the database, or the per-database fallback in a
//! private temp directory):
//!
//! | name | state |
//! |---|---|
//! | `B.jsonl` | live: hooks append one line per payload (one `write` in append mode) |
//! | `B.<pid>-<start>.<n>.claim` | claimed by the replayer process `<pid>` started at `<start>` |
//! | `B.<uuid>.pending` | released by a replayer that stopped early (budget, error): anyone's |
//! | `B.jsonl.replaying.<pid>[.<old>]` | claims of releases before 0.2 (replayed like abandoned claims) |
//!
//! A claim is an atomic rename, so two replayers never work on one file at once; a claim whose
//! owner is gone (no such pid, or a newer process under that pid) is abandoned and re-claimed.
//! A hook appends while holding a shared lock on the live file and after checking that the name
//! still leads to the file it opened; a replayer takes the exclusive lock on what it claimed
//! before reading it. So a line written into a file just as it is claimed is never missed.
//! Exactly once: every line has an id (a UUID, or for older lines a hash of the line), and the
//! transaction that stores a payload also records its id in `spool_seen`; a line whose id is
//! already there is skipped. So a replayer killed at any point — before its commit, after it,
//! before deleting the file — leaves nothing lost and nothing stored twice.

use super::Store;
use crate::error::Result;
use rusqlite::params;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One spooled payload.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SpooledPayload {
    /// Unique per spooled payload: what makes its replay exactly-once. Absent in lines written
    /// before 0.2 (their id is a hash of the line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Clock at the time the hook ran (unix ms): the event time when the payload has none.
    pub recorded_at: i64,
    /// Which binary received it (`subagent-start`, …) and with which arguments.
    pub binary: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// The redacted payload text.
    pub raw: String,
    /// The host process's readings taken when the hook ran (absent when it took none, and in
    /// lines written before 0.x): a replay stores these, not a reading of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<crate::host::HostReading>,
}

/// How much replaying one caller may do: hooks replay a little on every open and leave the rest
/// for the next one; readers replay everything.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Stop starting new transactions after this long.
    pub time: Duration,
    /// Payloads per transaction (each transaction holds the write lock).
    pub per_tx: usize,
}

impl Budget {
    /// A hook's: a few milliseconds of replay on top of its own write.
    pub const HOOK: Budget = Budget {
        time: Duration::from_millis(30),
        per_tx: 200,
    };
    /// A reader's: everything, in transactions short enough for hooks to slip in between.
    pub const ALL: Budget = Budget {
        time: Duration::MAX,
        per_tx: 500,
    };
}

/// Appends `p` to the spool beside `db`, or to the fallback spool when that directory is not
/// writable. Each line is written with one `write` call in append mode, so concurrent hooks
/// do not interleave. The payload and the arguments are redacted on the way. A symlink in place
/// of a spool file is refused, never followed.
pub fn spool_payload(db: &Path, p: &SpooledPayload) -> std::io::Result<PathBuf> {
    let redacted = SpooledPayload {
        id: Some(
            p.id.clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        ),
        recorded_at: p.recorded_at,
        binary: p.binary.clone(),
        args: p
            .args
            .iter()
            .map(|a| crate::redact::redact(a).into_owned())
            .collect(),
        raw: crate::redact::redact(&p.raw).into_owned(),
        host: p.host,
    };
    let mut line = serde_json::to_vec(&redacted).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut last_err = None;
    for path in [
        crate::paths::spool_path(db),
        crate::paths::fallback_spool_path(db),
    ] {
        if let Some(dir) = path.parent() {
            if let Err(e) = super::ensure_private_dir(dir) {
                last_err = Some(e);
                continue;
            }
        }
        match append_locked(&path, &line) {
            Ok(()) => return Ok(path),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no spool location is writable")))
}

/// Appends `line` to the live spool file at `path` under a shared lock, retrying when a
/// replayer renamed the file away between our open and our lock.
fn append_locked(path: &Path, line: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    for _ in 0..100 {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        f.lock_shared()?;
        let ours = f.metadata()?;
        match fs::symlink_metadata(path) {
            Ok(m) if m.dev() == ours.dev() && m.ino() == ours.ino() => {
                return f.write_all(line); // the lock goes with the file
            }
            _ => continue, // claimed (renamed) under us: write to the new live file
        }
    }
    Err(std::io::Error::other(
        "the spool file kept being claimed away",
    ))
}

/// What a spool file is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Hooks are appending to it.
    Live,
    /// Released by a replayer that stopped early: the next open replays it.
    Pending,
    /// Being replayed by a running process.
    Claimed,
    /// Claimed by a process that is gone: the next open re-claims and replays it.
    Abandoned,
}

/// One spool file and its state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SpoolFile {
    pub path: PathBuf,
    pub state: FileState,
}

/// Every spool file of `spool` (one location), in name order.
pub fn spool_files(spool: &Path) -> Vec<SpoolFile> {
    let (Some(dir), Some(base)) = (spool.parent(), spool_base(spool)) else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let live = spool.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let state = if name == live {
            Some(FileState::Live)
        } else if let Some(rest) = name.strip_prefix(&format!("{live}.replaying.")) {
            // Before 0.2: `.replaying.<pid>` or `.replaying.<pid>.<old pid>`.
            let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
            Some(match pid {
                Some(pid) if pid_alive(pid, None) => FileState::Claimed,
                _ => FileState::Abandoned,
            })
        } else if let Some(rest) = name.strip_prefix(&format!("{base}.")) {
            if rest.ends_with(".pending") {
                Some(FileState::Pending)
            } else {
                rest.strip_suffix(".claim").map(|owner| {
                    if claim_owner_alive(owner) {
                        FileState::Claimed
                    } else {
                        FileState::Abandoned
                    }
                })
            }
        } else {
            None
        };
        // Regular files only: a planted symlink or FIFO is never read.
        let regular = entry
            .file_type()
            .map(|t| t.is_file() && !t.is_symlink())
            .unwrap_or(false);
        if let (Some(state), true) = (state, regular) {
            out.push(SpoolFile {
                path: entry.path(),
                state,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// True when `spool` or any file of its family waits to be replayed (one directory listing).
pub(super) fn has_work(spool: &Path) -> bool {
    spool_files(spool)
        .iter()
        .any(|f| f.state != FileState::Claimed)
}

/// `B` of `B.jsonl`.
fn spool_base(spool: &Path) -> Option<String> {
    let name = spool.file_name()?.to_str()?;
    Some(name.strip_suffix(".jsonl").unwrap_or(name).to_string())
}

/// `<pid>-<start>.<n>` of a claim: is that process (the same one, not a later one with a
/// recycled pid) still running?
fn claim_owner_alive(owner: &str) -> bool {
    let mut it = owner.split(['-', '.']);
    let pid = it.next().and_then(|p| p.parse::<u32>().ok());
    let start = it.next().and_then(|s| s.parse::<u64>().ok());
    match pid {
        Some(pid) => pid_alive(pid, start),
        None => false,
    }
}

/// Whether `pid` runs, and (when given) started at `start` (clock ticks since boot, field 22
/// of `/proc/<pid>/stat`).
fn pid_alive(pid: u32, start: Option<u64>) -> bool {
    match (proc_start_time(pid), start) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(t), Some(s)) => t == s,
    }
}

fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is parenthesised and may hold spaces: count after its `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// This process's claim suffix `<pid>-<start>`.
fn my_owner() -> String {
    let pid = std::process::id();
    format!("{pid}-{}", proc_start_time(pid).unwrap_or(0))
}

/// Renames `from` to a new claim of ours; None when another process got it first.
fn claim(from: &Path, base: &str, n: &mut u32) -> Option<PathBuf> {
    *n += 1;
    let to = from.with_file_name(format!("{base}.{}.{}.claim", my_owner(), *n));
    fs::rename(from, &to).ok().map(|_| to)
}

/// Gives a claim back as pending (budget spent, or the database failed mid-way).
fn release(claimed: &Path, base: &str) {
    let to = claimed.with_file_name(format!("{base}.{}.pending", uuid::Uuid::new_v4()));
    let _ = fs::rename(claimed, to);
}

/// What one replay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Payloads stored now.
    pub stored: usize,
    /// Lines skipped because an earlier replay had stored them (a replayer died after its commit).
    pub duplicates: usize,
    /// Files left for later (budget spent).
    pub left: usize,
}

/// Replays within `budget`: `prepare` turns each payload into what to write (outside any
/// transaction: it may read transcripts and query the database), `write` stores it inside the
/// transaction that also records the payload's id.
pub(super) fn replay<T>(
    store: &Store,
    budget: Budget,
    mut prepare: impl FnMut(&Store, SpooledPayload) -> T,
    mut write: impl FnMut(&Store, &T) -> Result<()>,
) -> Result<Replayed> {
    let started = Instant::now();
    let mut done = Replayed::default();
    let mut n = 0;
    for spool in [
        crate::paths::spool_path(store.path()),
        crate::paths::fallback_spool_path(store.path()),
    ] {
        let Some(base) = spool_base(&spool) else {
            continue;
        };
        for f in spool_files(&spool) {
            if f.state == FileState::Claimed {
                continue; // someone else is on it
            }
            if started.elapsed() >= budget.time {
                done.left += 1;
                continue;
            }
            let Some(claimed) = claim(&f.path, &base, &mut n) else {
                continue;
            };
            match replay_file(store, &claimed, budget, started, &mut prepare, &mut write) {
                Ok((stored, dups, finished)) => {
                    done.stored += stored;
                    done.duplicates += dups;
                    if !store.file_is_current() {
                        // The database was deleted or replaced under us: what we stored is
                        // gone with it. Keep the file for the next open (its ids are not in
                        // the new database's spool_seen, so it is stored there once).
                        release(&claimed, &base);
                        return Err(crate::error::Error::UnsafePath {
                            path: store.path().to_path_buf(),
                            reason:
                                "the database file was deleted or replaced during a spool replay"
                                    .into(),
                        });
                    }
                    if finished {
                        let _ = fs::remove_file(&claimed);
                    } else {
                        done.left += 1;
                        release(&claimed, &base);
                    }
                }
                Err(e) => {
                    release(&claimed, &base);
                    return Err(e);
                }
            }
        }
    }
    Ok(done)
}

/// Replays one claimed file in transactions of `budget.per_tx` lines; returns (stored,
/// duplicates, whether every line is done).
fn replay_file<T>(
    store: &Store,
    claimed: &Path,
    budget: Budget,
    started: Instant,
    prepare: &mut impl FnMut(&Store, SpooledPayload) -> T,
    write: &mut impl FnMut(&Store, &T) -> Result<()>,
) -> Result<(usize, usize, bool)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(claimed)?;
    // Waits for hooks still appending to it (they hold a shared lock for one write).
    file.lock()?;
    let mut lines = Vec::new();
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push(line);
        }
    }
    let (mut stored, mut dups) = (0, 0);
    for chunk in lines.chunks(budget.per_tx.max(1)) {
        if started.elapsed() >= budget.time {
            return Ok((stored, dups, false));
        }
        // Parsed and prepared before the transaction: the write lock is held for writes only.
        let items: Vec<(String, std::result::Result<T, String>, &Vec<u8>)> = chunk
            .iter()
            .map(|line| {
                let by_hash = || format!("line:{:016x}", crate::util::fnv1a(line));
                match serde_json::from_slice::<SpooledPayload>(line) {
                    Ok(p) => {
                        let id = p.id.clone().unwrap_or_else(by_hash);
                        (id, Ok(prepare(store, p)), line)
                    }
                    Err(e) => (by_hash(), Err(e.to_string()), line),
                }
            })
            .collect();
        let (s, d) = store.write_tx(|s| {
            let (mut stored, mut dups) = (0, 0);
            for (id, item, line) in &items {
                let fresh = s
                    .conn()
                    .prepare_cached("INSERT INTO spool_seen (id, replayed_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING")?
                    .execute(params![id, super::now_ms()])?;
                if fresh == 0 {
                    dups += 1;
                    continue;
                }
                match item {
                    Ok(t) => write(s, t)?,
                    Err(e) => s.quarantine("spool", &format!("unreadable spool line: {e}"), line)?,
                }
                stored += 1;
            }
            Ok((stored, dups))
        })?;
        stored += s;
        dups += d;
    }
    Ok((stored, dups, true))
}

/// Lines in these spool files: payloads not replayed yet (or replayed by a replayer that died
/// before deleting its file: only the database knows, and the replay skips those).
pub fn count_spool_lines(files: &[SpoolFile]) -> u64 {
    files
        .iter()
        .map(|f| {
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&f.path)
                .map(|file| {
                    BufReader::new(file)
                        .split(b'\n')
                        .map_while(std::result::Result::ok)
                        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                        .count() as u64
                })
                .unwrap_or(0)
        })
        .sum()
}
