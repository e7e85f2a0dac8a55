//! The host process's CPU time and memory, read by a hook from `/proc` (docs/metrics.md,
//! "Resources"). A hook cannot see inside Claude Code, but it can read the process that started
//! it: its CPU time (utime + stime) and resident memory, at each agent's start and stop.
//!
//! Which process is the host: Claude Code runs every hook command through `/bin/sh -c`, and the
//! shell forks the command rather than exec-ing it, so a hook's parent is a shell whose parent is
//! Claude Code (seen with 2.1.332 and 2.1.330: `claude.exe` → `sh -c /path/hook` → hook). A user's
//! own wrapper may add another shell or `env`. The rule: walk up from the hook's parent past
//! processes named like a shell or `env` ([`PASS_THROUGH`]), at most [`MAX_HOPS`] of them; the
//! first other process is the host.
//!
//! Everything is read with plain reads into stack buffers (no allocation, no parsing beyond
//! counting spaces): a few microseconds per hook. Any failure is `None`, never an error: no
//! `/proc` (macOS, BSDs), a host gone, a kernel that formats differently.

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

/// What a hook read of its host process when it ran. Spooled with the payload, so a replay
/// stores the readings taken when the hook ran, not at replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostReading {
    /// The host's process id.
    pub pid: i64,
    /// User + system CPU time the host has used since it started, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<i64>,
    /// The host's resident memory (`VmRSS`), in kB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_kb: Option<i64>,
}

/// Process names (`comm`) a hook walks past to reach the host: shells that run hook commands
/// and the `env` of a wrapper.
const PASS_THROUGH: &[&[u8]] = &[
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"mksh", b"ash", b"busybox", b"env",
];

/// At most this many shells are walked past (a hook started by a shell of a shell of a shell
/// still finds Claude Code; a hook run by hand from a terminal stops at a nearby process).
const MAX_HOPS: usize = 3;

/// Reads the host of the running hook from the real `/proc` (from the hook's parent). In debug
/// builds `AGENT_TELEMETRY_PROC_ROOT` points it at another directory, so tests can hand it
/// stat/status files whose figures they computed by hand; release builds never read it.
pub fn read() -> Option<HostReading> {
    let parent = std::os::unix::process::parent_id();
    if cfg!(debug_assertions) {
        if let Some(root) = std::env::var_os("AGENT_TELEMETRY_PROC_ROOT") {
            return read_at(Path::new(&root), parent, clock_ticks()?);
        }
    }
    read_at(Path::new("/proc"), parent, clock_ticks()?)
}

/// Clock ticks per second, the unit of utime and stime in `/proc/<pid>/stat`.
fn clock_ticks() -> Option<i64> {
    // SAFETY: sysconf only reads a configuration value; it takes no pointers.
    #[allow(unsafe_code)]
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (t > 0).then_some(i64::from(t as i32))
}

/// The host starting from `parent` (the hook's parent) under `proc_root`: see the module's rule.
/// `ticks` is clock ticks per second. None when `proc_root` has no readable stat for `parent`.
pub fn read_at(proc_root: &Path, parent: u32, ticks: i64) -> Option<HostReading> {
    let mut pid = parent;
    let mut stat = Stat::read(proc_root, pid)?;
    for _ in 0..MAX_HOPS {
        if !PASS_THROUGH.contains(&stat.comm()) {
            break;
        }
        let Some(up) = stat.ppid().filter(|&p| p > 1) else {
            break;
        };
        match Stat::read(proc_root, up) {
            Some(s) => (pid, stat) = (up, s),
            None => break,
        }
    }
    Some(HostReading {
        pid: i64::from(pid),
        cpu_ms: stat.cpu_ticks().and_then(|t| ticks_to_ms(t, ticks)),
        rss_kb: rss_kb(proc_root, pid),
    })
}

/// Clock ticks to milliseconds, rounded down.
fn ticks_to_ms(t: i64, ticks: i64) -> Option<i64> {
    t.checked_mul(1000)?.checked_div(ticks)
}

/// `/proc/<pid>/stat`: one line, `pid (comm) state ppid … utime stime …`; comm may hold spaces
/// and parentheses, so fields are counted from the last `)`.
struct Stat {
    buf: [u8; 1024],
    len: usize,
}

impl Stat {
    fn read(root: &Path, pid: u32) -> Option<Stat> {
        let mut s = Stat {
            buf: [0; 1024],
            len: 0,
        };
        s.len = read_into(&root.join(pid_dir(pid).as_str()).join("stat"), &mut s.buf)?;
        (s.close() > 0).then_some(s)
    }

    /// The index of the last `)` (0 when none: not a stat line).
    fn close(&self) -> usize {
        self.buf[..self.len]
            .iter()
            .rposition(|&b| b == b')')
            .unwrap_or(0)
    }

    fn comm(&self) -> &[u8] {
        let open = self.buf[..self.len]
            .iter()
            .position(|&b| b == b'(')
            .map_or(0, |i| i + 1);
        self.buf.get(open..self.close()).unwrap_or(&[])
    }

    /// The n-th field after comm (0 = state, 1 = ppid, 11 = utime, 12 = stime).
    fn field(&self, n: usize) -> Option<i64> {
        let rest = self.buf.get(self.close() + 1..self.len)?;
        let f = rest
            .split(|&b| b == b' ' || b == b'\n')
            .filter(|f| !f.is_empty())
            .nth(n)?;
        parse_u(f)
    }

    fn ppid(&self) -> Option<u32> {
        self.field(1).and_then(|p| u32::try_from(p).ok())
    }

    fn cpu_ticks(&self) -> Option<i64> {
        self.field(11)?.checked_add(self.field(12)?)
    }
}

/// `VmRSS:` of `/proc/<pid>/status`, in kB (absent for a kernel thread or a zombie: None).
fn rss_kb(root: &Path, pid: u32) -> Option<i64> {
    let mut buf = [0u8; 4096];
    let len = read_into(&root.join(pid_dir(pid).as_str()).join("status"), &mut buf)?;
    let text = &buf[..len];
    let key = b"VmRSS:";
    let at = text.windows(key.len()).position(|w| w == key)? + key.len();
    let line = text[at..].split(|&b| b == b'\n').next()?;
    let digits = line
        .split(|&b| b == b' ' || b == b'\t')
        .find(|f| !f.is_empty())?;
    parse_u(digits)
}

/// The decimal digits of a pid, without allocating.
struct PidDir {
    buf: [u8; 10],
    start: usize,
}

impl PidDir {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("0")
    }
}

fn pid_dir(mut pid: u32) -> PidDir {
    let mut d = PidDir {
        buf: [b'0'; 10],
        start: 10,
    };
    loop {
        d.start -= 1;
        d.buf[d.start] = b'0' + (pid % 10) as u8;
        pid /= 10;
        if pid == 0 {
            return d;
        }
    }
}

/// Reads a whole small file into `buf` (as much as fits); None when it cannot be opened or read.
fn read_into(path: &Path, buf: &mut [u8]) -> Option<usize> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut len = 0;
    while len < buf.len() {
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(len)
}

/// An unsigned decimal number (None for anything else, or past i64).
fn parse_u(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0i64, |n, &b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(i64::from(b - b'0')))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_file(root: &Path, pid: u32, name: &str, text: &str) {
        std::fs::create_dir_all(root.join(pid.to_string())).unwrap();
        std::fs::write(root.join(pid.to_string()).join(name), text).unwrap();
    }

    /// A stat line with the given comm, ppid, utime and stime (the other fields as a real one).
    fn stat_line(pid: u32, comm: &str, ppid: u32, utime: i64, stime: i64) -> String {
        format!(
            "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 3180 0 0 0 {utime} {stime} 0 0 20 0 11 0 1234 1180000000 51234 18446744073709551615 1 1 0 0 0 0 0 16781312 17922 0 0 0 17 1 0 0 0 0 0\n"
        )
    }

    #[test]
    fn the_host_is_the_first_parent_that_is_not_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // hook's parent 300 = sh -c, whose parent 200 = claude.exe, whose parent 100 = bash.
        proc_file(root, 300, "stat", &stat_line(300, "sh", 200, 1, 1));
        proc_file(
            root,
            200,
            "stat",
            &stat_line(200, "claude.exe", 100, 1234, 566),
        );
        proc_file(
            root,
            200,
            "status",
            "Name:\tclaude.exe\nVmPeak:\t 999 kB\nVmRSS:\t  345678 kB\nRssAnon:\t 1 kB\n",
        );
        proc_file(root, 100, "stat", &stat_line(100, "bash", 1, 5, 5));
        let r = read_at(root, 300, 100).unwrap();
        // (1234 + 566) ticks at 100 per second = 18 s = 18,000 ms.
        assert_eq!(
            r,
            HostReading {
                pid: 200,
                cpu_ms: Some(18_000),
                rss_kb: Some(345_678)
            }
        );
        // At 250 ticks per second: 1,800 ticks = 7,200 ms.
        assert_eq!(read_at(root, 300, 250).unwrap().cpu_ms, Some(7_200));
        // Started directly by claude.exe (no shell): the parent itself.
        assert_eq!(read_at(root, 200, 100).unwrap().pid, 200);
    }

    #[test]
    fn a_comm_with_spaces_and_parentheses_is_read_from_the_last_parenthesis() {
        let dir = tempfile::tempdir().unwrap();
        proc_file(dir.path(), 7, "stat", &stat_line(7, "a) (b c", 1, 30, 20));
        let r = read_at(dir.path(), 7, 100).unwrap();
        assert_eq!((r.pid, r.cpu_ms, r.rss_kb), (7, Some(500), None));
    }

    #[test]
    fn at_most_three_shells_are_walked_past() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (pid, comm, ppid) in [
            (50, "sh", 40),
            (40, "bash", 30),
            (30, "env", 20),
            (20, "dash", 10),
            (10, "claude", 1),
        ] {
            proc_file(root, pid, "stat", &stat_line(pid, comm, ppid, 0, 0));
        }
        assert_eq!(read_at(root, 40, 100).unwrap().pid, 10, "three hops");
        assert_eq!(
            read_at(root, 50, 100).unwrap().pid,
            20,
            "the fourth is not walked"
        );
    }

    #[test]
    fn a_missing_or_garbled_proc_is_none_or_empty_never_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(read_at(root, 9, 100), None, "no /proc/9");
        proc_file(root, 9, "stat", "garbage");
        assert_eq!(read_at(root, 9, 100), None, "no parenthesis");
        proc_file(root, 9, "stat", "9 (x) S 1 2");
        proc_file(root, 9, "status", "VmRSS: lots kB\n");
        assert_eq!(
            read_at(root, 9, 100),
            Some(HostReading {
                pid: 9,
                cpu_ms: None,
                rss_kb: None
            })
        );
        // The parent's stat is gone: the shell is the best we know.
        proc_file(root, 8, "stat", &stat_line(8, "sh", 77, 3, 4));
        assert_eq!(read_at(root, 8, 100).unwrap().pid, 8);
    }

    #[test]
    fn the_real_proc_reads_this_process_parent() {
        let r = read_at(
            Path::new("/proc"),
            std::process::id(),
            clock_ticks().unwrap(),
        )
        .unwrap();
        assert_eq!(r.pid, i64::from(std::process::id()));
        assert!(r.cpu_ms.unwrap() >= 0);
        assert!(r.rss_kb.unwrap() > 0);
    }

    #[test]
    fn pid_dirs_and_numbers() {
        assert_eq!(pid_dir(0).as_str(), "0");
        assert_eq!(pid_dir(4_294_967_295).as_str(), "4294967295");
        assert_eq!(parse_u(b"0012"), Some(12));
        assert_eq!(parse_u(b""), None);
        assert_eq!(parse_u(b"-1"), None);
        assert_eq!(parse_u(b"99999999999999999999"), None);
    }
}
