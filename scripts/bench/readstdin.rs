//! The baseline for hook benchmarks: a process that only reads its stdin.
use std::io::Read;
fn main() {
    let mut buf = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut buf);
}
