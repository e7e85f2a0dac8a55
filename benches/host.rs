//! What reading the host process costs a hook: `cargo bench --bench host` (figures go to
//! docs/performance.md, "Resources: cost of reading /proc", never into pass/fail tests).
//! `host::read` is what a hook calls once at an agent's start or stop: its parent's stat, the
//! grandparent's when the parent is a shell (run this from a shell, as `cargo bench` is, and the
//! walk stops at cargo), and the host's status.

use agent_telemetry::host;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

fn per_call(n: u32, f: impl Fn()) -> f64 {
    f(); // warm: the first open of /proc/<pid> builds its dentries
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn main() {
    let n = 20_000;
    let parent = std::os::unix::process::parent_id();
    let read = per_call(n, || {
        black_box(host::read());
    });
    let stat = per_call(n, || {
        black_box(std::fs::read(format!("/proc/{parent}/stat")).ok());
    });
    let status = per_call(n, || {
        black_box(std::fs::read(format!("/proc/{parent}/status")).ok());
    });
    let missing = per_call(n, || {
        black_box(host::read_at(Path::new("/nonexistent-proc"), parent, 100));
    });
    let r = host::read();
    println!("host::read() = {r:?} (the parent of this bench: pid {parent})");
    println!("| what | µs per call |");
    println!("|---|---:|");
    println!("| host::read() (stat + status of the host) | {read:.1} |");
    println!("| std::fs::read of /proc/<parent>/stat alone | {stat:.1} |");
    println!("| std::fs::read of /proc/<parent>/status alone | {status:.1} |");
    println!("| host::read_at on a missing /proc (no /proc: None) | {missing:.1} |");
    println!(
        "({n} calls each; {} cores, load {})",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}
