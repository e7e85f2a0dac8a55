//! Fault injection: the hooks' promise — nothing lost, nothing stored twice, Claude Code never
//! stalled — under a full disk, a held write lock, `kill -9` of replayers and writers, FIFO and
//! `/dev/zero` transcripts, a damaged database, a deleted database, planted symlinks and huge or
//! odd payloads. A test binary of its own: some cases mount a tmpfs (as root, as in CI; they say
//! so and return when not root) and they must not share the machine's cores with the suite.
//!
//! "Never stalled" is checked as a bound far above the budget and far below a stall (each hook
//! under 1.5 s, when Claude Code's own kill would come; today's budget is ~100 ms of waiting):
//! timings themselves are measured by scripts/bench-faults.sh, not here.

#[path = "it/common.rs"]
mod common;

use common::*;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Claude Code kills a StopFailure hook 1.5 s after SIGTERM: no hook may come near it.
const STALL: Duration = Duration::from_millis(1500);

fn payload(i: usize) -> String {
    json!({"session_id": "s-faults", "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p", "prompt_id": "p1",
           "hook_event_name": "SubagentStart", "agent_id": format!("agent{i:05}"), "agent_type": "backend-architect"})
    .to_string()
}

fn spawn_hook(db: &Path, home: &Path, bin: &str, stdin: &[u8]) -> Child {
    let mut c = Command::new(bin_path(bin))
        .env("AGENT_TELEMETRY_DB", db)
        .env("HOME", home)
        .env_remove("AGENT_TELEMETRY_DISABLED")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hook");
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    c
}

/// Runs one hook to completion; asserts the contract (exit 0, silent) and no stall.
fn hook_at(db: &Path, home: &Path, bin: &str, stdin: &[u8]) -> Duration {
    let took = hook_untimed(db, home, bin, stdin);
    assert!(took < STALL, "{bin} took {took:?}");
    took
}

/// Runs one hook to completion; asserts the contract (exit 0, silent).
fn hook_untimed(db: &Path, home: &Path, bin: &str, stdin: &[u8]) -> Duration {
    let t = Instant::now();
    let out = spawn_hook(db, home, bin, stdin).wait_with_output().unwrap();
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(0), "{bin}: {:?}", out);
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{bin}: {:?}",
        out
    );
    took
}

/// Distinct agent ids and total rows of the SubagentStart events (for exactly-once checks).
fn started(db: &Path) -> (i64, i64) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT count(DISTINCT agent_id), count(*) FROM events WHERE kind = 'SubagentStart'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// About `bytes` of 1 KB assistant transcript lines at `path`.
fn write_transcript(path: &Path, bytes: usize) {
    let line = format!(
        "{}\n",
        json!({"type": "assistant", "message": {"id": "m", "model": "claude-opus-5-5",
               "usage": {"input_tokens": 1, "output_tokens": 1}, "content": [{"type": "text", "text": "x".repeat(900)}]},
               "requestId": "r", "timestamp": "2026-11-20T10:00:00Z"})
    );
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for _ in 0..bytes / line.len() {
        f.write_all(line.as_bytes()).unwrap();
    }
}

fn spool_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("spool"))
                .collect()
        })
        .unwrap_or_default()
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// A small tmpfs mounted for the test's life (needs root).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        if !is_root() {
            eprintln!("not root: the full-disk case needs a tmpfs mount and is skipped");
            return None;
        }
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "mount a tmpfs at {} (root, but mount failed)",
            at.display()
        );
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The disk fills while hooks run (the database directory on a 2 MB tmpfs, padded to the brim):
/// every payload waits in the fallback spool (another file system), and once space is freed the
/// next reader stores each exactly once.
#[test]
fn full_disk_loses_nothing_once_space_is_freed() {
    let env = Env::new();
    let Some(fs) = Tmpfs::mount(&env.dir.path().join("small"), "2m") else {
        return;
    };
    let db = fs.0.join("data/telemetry.db");
    hook_at(&db, &env.home(), "subagent-start", payload(0).as_bytes());
    // Fill the file system.
    let pad = fs.0.join("pad");
    let mut f = std::fs::File::create(&pad).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    drop(f);
    for i in 1..=100 {
        hook_at(&db, &env.home(), "subagent-start", payload(i).as_bytes());
    }
    std::fs::remove_file(&pad).unwrap();
    let out = Command::new(bin_path("analyze"))
        .args(["summary", "--format", "json"])
        .env("AGENT_TELEMETRY_DB", &db)
        .env("HOME", env.home())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(started(&db), (101, 101), "every payload once");
    assert!(spool_files(&fs.0.join("data")).is_empty());
}

/// A write lock held for 3 s (a long transaction of another program): hooks never wait more
/// than their budget — they spool and return — and the next reader stores everything once.
#[test]
fn a_held_write_lock_never_stalls_a_hook_and_loses_nothing() {
    let env = Env::new();
    let db = env.db();
    hook_at(&db, &env.home(), "subagent-start", payload(0).as_bytes());
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_secs(3) {
        n += 1;
        let took = hook_at(&db, &env.home(), "subagent-start", payload(n).as_bytes());
        assert!(
            took < Duration::from_millis(800),
            "hook {n} waited {took:?}"
        );
    }
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    let (code, _, err) = env.analyze(&["summary"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(started(&db), (n as i64 + 1, n as i64 + 1));
    assert!(spool_files(db.parent().unwrap()).is_empty());
    assert!(
        !db.with_file_name("hook.log").exists(),
        "busy spools are not errors"
    );
}

/// Writes `lines` spooled payloads (with ids, as hooks write them) to `path`.
fn write_spool(path: &Path, from: usize, lines: usize) {
    let mut text = String::new();
    for i in from..from + lines {
        text.push_str(
            &json!({"id": format!("test-{i}"), "recorded_at": 1_700_000_000_000i64 + i as i64,
                    "binary": "subagent-start", "args": [], "raw": payload(i)})
            .to_string(),
        );
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Replayers killed with SIGKILL mid-replay, over and over: abandoned claims are picked up
/// (also the names older releases left), and every line is stored exactly once in the end.
#[test]
fn replayers_killed_mid_replay_leave_nothing_stuck_or_twice() {
    let env = Env::new();
    let db = env.db();
    hook_at(&db, &env.home(), "subagent-start", payload(0).as_bytes());
    let dir = db.parent().unwrap().to_path_buf();
    let per = 2000;
    write_spool(&dir.join("telemetry.db.spool.jsonl"), 1, per);
    // What older releases stranded: a dead replayer's claim, and a re-claim of one.
    write_spool(
        &dir.join("telemetry.db.spool.jsonl.replaying.999999"),
        1 + per,
        per,
    );
    write_spool(
        &dir.join("telemetry.db.spool.jsonl.replaying.999998.999997"),
        1 + 2 * per,
        per,
    );
    // A pending file, and an abandoned claim of this release's naming.
    write_spool(
        &dir.join("telemetry.db.spool.0000.pending"),
        1 + 3 * per,
        per,
    );
    write_spool(
        &dir.join("telemetry.db.spool.999996-1.1.claim"),
        1 + 4 * per,
        per,
    );
    let total = (5 * per + 1) as i64;
    // Kill readers at staggered moments while they replay.
    for wait_ms in [30u64, 60, 90, 120, 150, 200] {
        let mut c = Command::new(bin_path("analyze"))
            .arg("summary")
            .env("AGENT_TELEMETRY_DB", &db)
            .env("HOME", env.home())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
        let _ = c.kill();
        let _ = c.wait();
    }
    // Doctor sees what waits (nothing is hidden in a claim it cannot name).
    let (_, doctor, _) = env.analyze(&["doctor", "--format", "json"]);
    let doctor: serde_json::Value = serde_json::from_str(&doctor).unwrap();
    let (done, _) = started(&db);
    let waiting = doctor["counts"]["spooled"].as_i64().unwrap();
    assert!(
        waiting >= total - done,
        "doctor counts {waiting} waiting, {} are not stored yet: {doctor:#}",
        total - done
    );
    let (code, _, err) = env.analyze(&["summary"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(started(&db), (total, total), "every line exactly once");
    assert!(spool_files(&dir).is_empty(), "{:?}", spool_files(&dir));
}

/// Hooks killed with SIGKILL while they write: the database stays sound, and every hook that
/// finished has its payload stored once.
#[test]
fn writers_killed_mid_write_leave_a_sound_database() {
    let env = Env::new();
    let db = env.db();
    hook_at(&db, &env.home(), "subagent-start", payload(0).as_bytes());
    let mut survivors = Vec::new();
    let mut kids: Vec<(usize, Child)> = (1..=60)
        .map(|i| {
            (
                i,
                spawn_hook(&db, &env.home(), "subagent-start", payload(i).as_bytes()),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(5));
    for (i, c) in kids.iter_mut() {
        if *i % 3 == 0 {
            let _ = c.kill();
        }
    }
    for (i, c) in kids {
        let out = c.wait_with_output().unwrap();
        if out.status.code() == Some(0) {
            survivors.push(i);
        }
    }
    env.analyze_json(&["summary"]);
    let c = rusqlite::Connection::open(&db).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    for i in survivors {
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM events WHERE agent_id = ?1",
                [format!("agent{i:05}")],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "payload {i} of a hook that exited 0");
    }
}

/// Transcript paths that are a FIFO, a link to `/dev/zero`, or a huge file: the hook stores the
/// payload, does not hang or blow up, and other hooks are not held up.
#[test]
fn fifo_dev_zero_and_huge_transcripts_neither_hang_nor_lose_the_payload() {
    let env = Env::new();
    let db = env.db();
    let t = env.dir.path().join("t");
    std::fs::create_dir_all(t.join("s1/subagents")).unwrap();
    let fifo = t.join("fifo.jsonl");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let zero = t.join("zero.jsonl");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    // 200 MB of transcript lines (real bytes, not a sparse file).
    let huge = t.join("s1.jsonl");
    write_transcript(&huge, 200 * 1024 * 1024);
    let base = |event: &str, transcript: &Path| {
        json!({"session_id": "s1", "transcript_path": transcript, "cwd": "/p", "prompt_id": "p1",
               "hook_event_name": event, "agent_id": "a1", "agent_type": "x",
               "agent_transcript_path": transcript})
    };
    let mut cases = Vec::new();
    for path in [&fifo, &zero] {
        cases.push(("subagent-stop", base("SubagentStop", path)));
        let mut stop = base("Stop", path);
        stop.as_object_mut().unwrap().remove("agent_id");
        cases.push(("workflow-event", stop));
    }
    let mut stop = base("Stop", &huge);
    stop.as_object_mut().unwrap().remove("agent_id");
    cases.push(("workflow-event", stop));
    for (bin, p) in &cases {
        // A second hook at the same time is not held up by this one's reading.
        let other = spawn_hook(&db, &env.home(), "subagent-start", payload(1).as_bytes());
        hook_at(&db, &env.home(), bin, p.to_string().as_bytes());
        let t = Instant::now();
        let out = other.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(t.elapsed() < STALL);
    }
    let c = rusqlite::Connection::open(&db).unwrap();
    let stored: i64 = c
        .query_row(
            "SELECT count(*) FROM events WHERE kind IN ('SubagentStop', 'Stop')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, cases.len() as i64, "every payload stored");
    // The huge transcript was read in part (a hook's budget), from where the next Stop goes on.
    let offset: i64 = c
        .query_row(
            "SELECT offset FROM transcript_cursor WHERE path = ?1",
            [huge.to_string_lossy()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(offset > 0 && offset < 200 * 1024 * 1024, "offset {offset}");
    drop(c);
    std::fs::remove_file(&huge).unwrap();
}

/// A damaged page (the event log's root: page 2 before new databases used incremental
/// auto-vacuum, whose pointer map now comes first): hooks keep every payload in the spool, doctor
/// says the database is damaged, what to run, and that payloads wait; `analyze doctor --recover`
/// keeps the damaged file and puts a sound database in its place, into which the next reader
/// stores each waiting payload once.
#[test]
fn a_damaged_database_keeps_payloads_until_it_is_recovered() {
    let env = Env::new();
    let db = env.db();
    for i in 0..50 {
        hook_at(&db, &env.home(), "subagent-start", payload(i).as_bytes());
    }
    env.analyze_json(&["summary"]);
    checkpoint(&db);
    let root: u64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'events'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    damage_page(&db, root);
    for i in 100..110 {
        hook_at(&db, &env.home(), "subagent-start", payload(i).as_bytes());
    }
    let (code, out, _) = env.analyze(&["doctor"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("damaged") && out.contains("doctor --recover"),
        "{out}"
    );
    assert!(out.contains("10 payload(s) wait"), "{out}");
    let (code, _, err) = env.analyze(&["summary"]);
    assert_eq!(code, 2, "a damaged database is an error: {err}");
    assert!(err.contains("hint:"), "{err}");
    let (code, out, err) = env.analyze(&["doctor", "--recover"]);
    assert_eq!(code, 0, "{out}{err}");
    let kept: Vec<_> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("telemetry.db.damaged-") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the damaged file is kept");
    hook_at(&db, &env.home(), "subagent-start", payload(200).as_bytes());
    env.analyze_json(&["summary"]);
    // The log's root page was lost with its 50 events; the 11 payloads after it are all there.
    assert_eq!(started(&db), (11, 11));
    let (_, out, _) = env.analyze(&["doctor"]);
    assert!(
        !out.contains("damaged") && !out.contains("payload(s) wait"),
        "sound again, nothing waiting: {out}"
    );
}

/// A damaged leaf page in the middle of the event log: `--recover` copies every other event
/// (ids kept), and the recovered database is sound and complete for what came after.
#[test]
fn recover_salvages_the_readable_rest_of_a_damaged_log() {
    let env = Env::new();
    let db = env.db();
    let big = |i: usize| {
        json!({"session_id": "s-faults", "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p",
               "prompt_id": "p1", "hook_event_name": "SubagentStart", "agent_id": format!("agent{i:05}"),
               "agent_type": "backend-architect", "pad": "x".repeat(1500)})
        .to_string()
    };
    for i in 0..60 {
        hook_at(&db, &env.home(), "subagent-start", big(i).as_bytes());
    }
    checkpoint(&db);
    damage_page(&db, table_leaf_holding(&db, "\"agent_id\":\"agent00036\""));
    let (code, out, err) = env.analyze(&["doctor", "--recover", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let events = &r["tables"][0];
    assert_eq!(events["table"], "events");
    let copied = events["copied"].as_i64().unwrap();
    assert!((45..60).contains(&copied), "copied {copied} of 60: {r:#}");
    assert!(events["unreadable_ranges"].as_i64().unwrap() >= 1);
    for i in 60..70 {
        hook_at(&db, &env.home(), "subagent-start", big(i).as_bytes());
    }
    env.analyze_json(&["summary"]);
    let c = rusqlite::Connection::open(&db).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert_eq!(started(&db), (copied + 10, copied + 10));
}

fn checkpoint(db: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
}

/// Overwrites page `n` (1-based, 4096-byte pages) with garbage.
/// The 1-based number of the table b-tree leaf page (type byte 0x0D) whose bytes hold `needle`:
/// a page of the event log in the middle of it, wherever the schema's own pages put it.
fn table_leaf_holding(db: &Path, needle: &str) -> u64 {
    let bytes = std::fs::read(db).unwrap();
    let at = bytes
        .chunks(4096)
        .position(|p| p[0] == 0x0D && p.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .expect("a table leaf page holds the payload");
    at as u64 + 1
}

fn damage_page(db: &Path, n: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    f.write_all_at(&[0xA5; 4096], (n - 1) * 4096).unwrap();
}

/// The database file deleted while hooks write: payloads whose commit went into the deleted
/// file are spooled (and logged), then stored once in the new database; nothing vanishes.
#[test]
fn a_database_deleted_under_running_hooks_loses_nothing() {
    let env = Env::new();
    let db = env.db();
    hook_at(&db, &env.home(), "subagent-start", payload(0).as_bytes());
    // Keep the old file, its WAL and its shared memory open (a first read maps them), to see
    // after the delete what was committed to them.
    let old = rusqlite::Connection::open(&db).unwrap();
    old.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
        .unwrap();
    let mut kids: Vec<Child> = Vec::new();
    for i in 1..=80 {
        kids.push(spawn_hook(
            &db,
            &env.home(),
            "subagent-start",
            payload(i).as_bytes(),
        ));
        if i == 40 {
            std::fs::remove_file(&db).unwrap();
            for s in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", db.display()));
            }
        }
    }
    for k in kids {
        assert_eq!(k.wait_with_output().unwrap().status.code(), Some(0));
    }
    env.analyze_json(&["summary"]);
    let in_old: std::collections::HashSet<String> = {
        let mut st = old
            .prepare("SELECT agent_id FROM events WHERE kind = 'SubagentStart'")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let c = rusqlite::Connection::open(&db).unwrap();
    let mut st = c
        .prepare("SELECT agent_id FROM events WHERE kind = 'SubagentStart'")
        .unwrap();
    let in_new: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "the new database is sound");
    let new_set: std::collections::HashSet<String> = in_new.iter().cloned().collect();
    assert_eq!(
        new_set.len(),
        in_new.len(),
        "no duplicates in the new database"
    );
    for i in 0..=80 {
        let id = format!("agent{i:05}");
        assert!(
            in_old.contains(&id) || new_set.contains(&id),
            "{id} vanished (old has {}, new {})",
            in_old.len(),
            new_set.len()
        );
    }
}

/// Symlinks planted where our files go are refused, never followed: the database path (to a
/// missing file and to an empty one), the log and the spool; a world-writable data directory of
/// ours is tightened.
#[test]
fn planted_symlinks_are_never_followed() {
    let env = Env::new();
    let data = env.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let outside = env.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let db = data.join("telemetry.db");
    // 1. The database path links to a missing file, then to an empty one.
    std::os::unix::fs::symlink(outside.join("missing.db"), &db).unwrap();
    hook_at(&db, &env.home(), "subagent-start", payload(1).as_bytes());
    assert!(
        !outside.join("missing.db").exists(),
        "the link was followed"
    );
    std::fs::remove_file(&db).unwrap();
    std::fs::write(outside.join("empty.db"), b"").unwrap();
    std::os::unix::fs::symlink(outside.join("empty.db"), &db).unwrap();
    hook_at(&db, &env.home(), "subagent-start", payload(2).as_bytes());
    assert_eq!(
        std::fs::metadata(outside.join("empty.db")).unwrap().len(),
        0
    );
    let log = std::fs::read_to_string(data.join("hook.log")).unwrap();
    assert!(log.contains("symlink"), "{log}");
    std::fs::remove_file(&db).unwrap();
    // 2. hook.log and the live spool link outside: neither target gets a byte.
    std::fs::remove_file(data.join("hook.log")).unwrap();
    std::os::unix::fs::symlink(outside.join("log"), data.join("hook.log")).unwrap();
    let spool = data.join("telemetry.db.spool.jsonl");
    let spooled = std::fs::read(&spool).unwrap();
    std::fs::remove_file(&spool).unwrap();
    std::os::unix::fs::symlink(outside.join("spool"), &spool).unwrap();
    std::os::unix::fs::symlink(outside.join("db3"), &db).unwrap();
    hook_at(&db, &env.home(), "subagent-start", payload(3).as_bytes());
    assert!(!outside.join("log").exists());
    assert!(!outside.join("spool").exists());
    assert!(!outside.join("db3").exists());
    // Clean up the links: the payloads are where they went (spool, fallback spool), and the
    // next reader stores all three.
    for p in [&db, &spool, &data.join("hook.log")] {
        std::fs::remove_file(p).unwrap();
    }
    std::fs::write(&spool, spooled).unwrap();
    hook_at(&db, &env.home(), "subagent-start", payload(4).as_bytes());
    env.analyze_json(&["summary"]);
    assert_eq!(started(&db), (4, 4));
    // 3. A world-writable data directory of ours is tightened.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    hook_at(&db, &env.home(), "subagent-start", payload(5).as_bytes());
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o022, 0, "mode {mode:o}");
}

/// Odd payloads: over 64 MiB (kept in quarantine, said so), and a lone UTF-16 surrogate as
/// JavaScript writes it (repaired, stored as an event).
#[test]
fn oversized_and_lone_surrogate_payloads() {
    let env = Env::new();
    let db = env.db();
    let mut big = payload(1).into_bytes();
    big.pop();
    big.extend(b",\"pad\":\"");
    big.extend(std::iter::repeat_n(b'x', 64 * 1024 * 1024));
    big.extend(b"\"}");
    // (A debug build needs a while for 64 MiB: no stall bound here.)
    hook_untimed(&db, &env.home(), "subagent-start", &big);
    let c = rusqlite::Connection::open(&db).unwrap();
    let (reason, len): (String, i64) = c
        .query_row("SELECT reason, length(raw) FROM quarantine", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(reason.contains("64 MiB"), "{reason}");
    assert_eq!(len, 64 * 1024 * 1024);
    let odd = r#"{"session_id":"s1","hook_event_name":"UserPromptSubmit","prompt_id":"p1","cwd":"/p","prompt":"half an emoji \ud83d here"}"#;
    hook_at(&db, &env.home(), "workflow-event", odd.as_bytes());
    let prompt: String = c
        .query_row(
            "SELECT json_extract(payload, '$.prompt') FROM events WHERE kind = 'UserPromptSubmit'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(prompt, "half an emoji \u{fffd} here");
}

/// Pointed at another application's WAL-mode database, doctor and rebuild refuse it and leave it
/// as they found it: no -wal or -shm beside it.
#[test]
fn a_refused_database_is_left_as_found() {
    let env = Env::new();
    let db = env.dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        c.execute_batch("CREATE TABLE foo (a); INSERT INTO foo VALUES (1);")
            .unwrap();
    }
    let d = db.to_string_lossy().into_owned();
    for args in [vec!["--db", &d, "doctor"], vec!["--db", &d, "rebuild"]] {
        let out = Command::new(bin_path("analyze"))
            .args(&args)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{args:?} refuses it");
        for s in ["-wal", "-shm"] {
            assert!(
                !PathBuf::from(format!("{d}{s}")).exists(),
                "{args:?} left {s}"
            );
        }
    }
}

/// A hook that finds a spool of payloads whose transcripts are large replays only what fits its
/// budget — transcripts included — and returns; the next reader replays the rest, each once.
#[test]
fn a_hook_replays_a_heavy_spool_within_its_budget() {
    let env = Env::new();
    let db = env.db();
    hook_at(&db, &env.home(), "subagent-start", payload(0).as_bytes());
    let dir = db.parent().unwrap().to_path_buf();
    // A 4 MB agent transcript that every spooled SubagentStop points at.
    let t = env.dir.path().join("agent-big.jsonl");
    write_transcript(&t, 4 * 1024 * 1024);
    let n = 60;
    let mut text = String::new();
    for i in 0..n {
        let raw = json!({"session_id": "s-faults", "transcript_path": "/nonexistent/s.jsonl", "cwd": "/p",
                         "prompt_id": "p1", "hook_event_name": "SubagentStop", "agent_id": format!("stop{i:05}"),
                         "agent_type": "x", "agent_transcript_path": t});
        text.push_str(
            &json!({"id": format!("heavy-{i}"), "recorded_at": 1_700_000_000_000i64 + i,
                    "binary": "subagent-stop", "args": [], "raw": raw.to_string()})
            .to_string(),
        );
        text.push('\n');
    }
    std::fs::write(dir.join("telemetry.db.spool.jsonl"), text).unwrap();
    // The hook's own time bound (STALL) holds although replaying everything would read 240 MB.
    hook_at(&db, &env.home(), "subagent-start", payload(1).as_bytes());
    env.analyze_json(&["summary"]);
    let c = rusqlite::Connection::open(&db).unwrap();
    let (distinct, total): (i64, i64) = c
        .query_row(
            "SELECT count(DISTINCT agent_id), count(*) FROM events WHERE kind = 'SubagentStop'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((distinct, total), (n, n));
    assert!(spool_files(&dir).is_empty());
}
