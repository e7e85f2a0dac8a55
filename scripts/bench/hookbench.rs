//! Times whole hook processes the way Claude Code runs them: spawn, write the payload to stdin,
//! wait. Reports median, p90, mean and min wall time over N runs after a warm-up.
//! Usage: hookbench RUNS NAME=BINARY:PAYLOAD_FILE ...
//! (Debian's hyperfine 1.15 has no --input, and its shell-mode correction is noise at 1 ms.)
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|s| s.parse().ok()).expect("RUNS");
    println!("| command | median | p90 | mean | min |");
    println!("|---|---:|---:|---:|---:|");
    for spec in args {
        let (name, rest) = spec.split_once('=').expect("NAME=BIN:PAYLOAD");
        let (bin, payload) = rest.split_once(':').expect("BIN:PAYLOAD");
        let data = std::fs::read(payload).expect("payload");
        let mut times = Vec::with_capacity(runs);
        for i in 0..runs + 20 {
            let t = Instant::now();
            let mut child = Command::new(bin)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            child.stdin.take().unwrap().write_all(&data).expect("write");
            let status = child.wait().expect("wait");
            assert!(status.success(), "{name} failed");
            if i >= 20 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "| {name} | **{:.2} ms** | {:.2} ms | {:.2} ms | {:.2} ms |",
            times[times.len() / 2],
            times[times.len() * 9 / 10],
            mean,
            times[0]
        );
    }
}
