#!/usr/bin/env bash
# The test command: formatting, lints, every unit and integration test, the dashboard in a real
# browser (tests/browser/), then the end-to-end tests against the real Claude Code (installed
# from the npm registry; see tests/e2e/).
# Installs what it needs (rustfmt/clippy components, node/npm, python3) when missing.
# E2E=0 skips the end-to-end stage, BROWSER=0 the dashboard's browser test, EXPORT=0 the export
# stage (Arize Phoenix and Prometheus as real receivers; only for quick local runs; CI runs all).
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs), then run ./test.sh again" >&2
  exit 2
fi
for c in rustfmt clippy; do
  if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$c" >/dev/null 2>&1 || { echo "cannot install the $c component" >&2; exit 2; }
  fi
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings

step "cargo test"
cargo test --locked

if [ "${BROWSER:-1}" != "0" ]; then
  step "the dashboard in headless Chromium (tests/browser/)"
  cargo build --locked --bins
  tests/browser/run.sh
fi

if [ "${EXPORT:-1}" != "0" ]; then
  step "the OTLP export into Arize Phoenix, /metrics scraped by Prometheus (tests/export/)"
  tests/export/run.sh
fi

if [ "${E2E:-1}" != "0" ]; then
  step "end-to-end tests against the real Claude Code"
  cargo build --locked --bins
  AGENT_TELEMETRY_BIN_SOURCE="$PWD/target/debug" tests/e2e/ci.sh
fi
