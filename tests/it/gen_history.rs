//! The history generator (examples/gen-history.rs) for the tests that need a large realistic
//! history. It is an example, not a binary of the package (install.sh must not build it), so
//! Cargo gives the tests no `CARGO_BIN_EXE_` path for it: it is built here, once per test run,
//! with the cargo that runs the tests (a no-op after a full `cargo test`, which builds examples).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Runs the generator on `db` with `args` (its options: `--runs`, `--seed`, `--now`, …) and
/// checks it succeeded.
pub(crate) fn generate(db: &Path, args: &[&str]) {
    let out = Command::new(bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run gen-history");
    assert!(
        out.status.success(),
        "gen-history: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The built generator: `<target>/<profile>/examples/gen-history`, beside this test binary's
/// `<target>/<profile>/deps/`.
pub(crate) fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in <target>/<profile>/deps");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "--locked", "--example", "gen-history"]);
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => {}
            Some("release") => {
                cmd.arg("--release");
            }
            Some(other) => {
                cmd.args(["--profile", other]);
            }
            None => {}
        }
        let status = cmd.status().expect("run cargo build --example gen-history");
        assert!(status.success(), "cargo build --example gen-history failed");
        let path = profile_dir.join("examples/gen-history");
        assert!(
            path.is_file(),
            "{} not built (a --target build? run `cargo build --example gen-history` with the same options)",
            path.display()
        );
        path
    })
}
