#!/usr/bin/env bash
# The end-to-end stage: proves agent-telemetry against the real Claude Code (docs/e2e.md).
#
#   tests/e2e/ci.sh [SCENARIO ...]
#
#   E2E_CLAUDE_VERSIONS="2.1.332 2.1.330"  Claude Code versions to run every scenario against (default:
#                                       the pinned 2.1.332 and the previous pin 2.1.330); "latest" is
#                                       resolved by claude.sh; duplicates after resolution run once
#   E2E_CLAUDE_VERSION=X                only version X (a version or "latest"); wins over the list
#   E2E_CLAUDE_BIN=PATH                 only this Claude Code binary (no claude.sh)
#   AGENT_TELEMETRY_BIN_SOURCE=DIR      use the five binaries in DIR instead of `cargo build --bins`
#   E2E_JOBS=N                          scenario runs at a time, over all versions (default 3)
#   E2E_KEEP_FAILED=1                   keep the temp HOME of failed scenarios for inspection
#   E2E_CACHE=DIR                       where claude.sh caches Claude Code
#
# Steps: make sure node/npm, python3, git and tmux exist (apt-get if missing); install each Claude
# Code version via claude.sh (fails, never skips, when the npm registry cannot be reached); build the
# binaries (debug) or take them from AGENT_TELEMETRY_BIN_SOURCE; run the stand-in's unit tests; run
# every scenario once per version through check.py (./install.sh into a temp HOME, `claude -p`,
# `analyze` vs Claude Code; scenarios marked "interactive" once more in the TUI). Exit status 0 only
# if everything passed. The last line is always `e2e: N passed, M failed` (summed over versions).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
passed=0
failed=0
work=""
t_start=$(date +%s)

finish() {
    [ -n "$work" ] && rm -rf "$work"
    echo "ci.sh: total $(( $(date +%s) - t_start ))s"
    echo "e2e: $passed passed, $failed failed"
    if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then exit 0; fi
    exit 1
}
die() {
    echo "ci.sh: ERROR: $*" >&2
    failed=$((failed + 1))
    finish
}
trap 'die "interrupted"' INT TERM
step() { echo "ci.sh: [$(( $(date +%s) - t_start ))s] $*"; }

# The project must not write outside the temp HOMEs, whatever the caller's environment says.
unset AGENT_TELEMETRY_DB AGENT_TELEMETRY_DISABLED XDG_DATA_HOME XDG_CONFIG_HOME CLAUDE_CONFIG_DIR

# ── 1. Tools ─────────────────────────────────────────────────────────────────────────────────
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)   # interactive.py drives the TUI in tmux
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]} with apt-get"
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and there is no apt-get to install them with"
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}; not root and no sudo"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
    for t in node npm python3 git tmux; do
        command -v "$t" >/dev/null 2>&1 || die "$t still missing after apt-get install"
    done
fi
step "node $(node --version), npm $(npm --version), $(python3 --version 2>&1), $(tmux -V)"

# ── 2. Claude Code ───────────────────────────────────────────────────────────────────────────
# Every version in the list (or only E2E_CLAUDE_VERSION / E2E_CLAUDE_BIN), resolved to a binary by
# claude.sh; a version that resolves to a binary already in the list (e.g. "latest" = the pin) runs once.
claudes=()
if [ -n "${E2E_CLAUDE_BIN:-}" ]; then
    [ -x "$E2E_CLAUDE_BIN" ] || die "E2E_CLAUDE_BIN=$E2E_CLAUDE_BIN is not an executable"
    claudes=("$E2E_CLAUDE_BIN")
    step "Claude Code from E2E_CLAUDE_BIN=$E2E_CLAUDE_BIN ($("$E2E_CLAUDE_BIN" --version 2>/dev/null | head -1))"
else
    if [ -n "${E2E_CLAUDE_VERSION:-}" ]; then
        wanted="$E2E_CLAUDE_VERSION"
    else
        wanted="${E2E_CLAUDE_VERSIONS:-2.1.332 2.1.330}"
    fi
    for v in $wanted; do
        step "Claude Code $v via claude.sh"
        bin="$(E2E_CLAUDE_VERSION="$v" bash "$here/claude.sh")" \
            || die "could not install Claude Code $v (see claude.sh's message above); the e2e stage needs the npm registry the first time and refuses to skip"
        [ -x "$bin" ] || die "claude.sh printed '$bin' for $v, which is not an executable"
        dup=0
        for c in ${claudes[@]+"${claudes[@]}"}; do [ "$c" = "$bin" ] && dup=1; done
        if [ "$dup" = 1 ]; then
            step "claude $v: $bin is already in the list; runs once"
            continue
        fi
        claudes+=("$bin")
        step "claude $v: $bin ($("$bin" --version 2>/dev/null | head -1))"
    done
    [ ${#claudes[@]} -gt 0 ] || die "no Claude Code version to test (E2E_CLAUDE_VERSIONS='$wanted')"
fi

# ── 3. This project's binaries ───────────────────────────────────────────────────────────────
work="$(mktemp -d "${TMPDIR:-/tmp}/e2e-ci.XXXXXX")"
if [ -n "${AGENT_TELEMETRY_BIN_SOURCE:-}" ]; then
    src="$AGENT_TELEMETRY_BIN_SOURCE"
    step "binaries from AGENT_TELEMETRY_BIN_SOURCE=$src"
else
    step "cargo build --bins (debug)"
    command -v cargo >/dev/null 2>&1 || die "cargo not found (or set AGENT_TELEMETRY_BIN_SOURCE to a directory with built binaries)"
    (cd "$repo" && cargo build --bins --quiet) || die "cargo build --bins failed"
    src="${CARGO_TARGET_DIR:-$repo/target}/debug"
    case "$src" in /*) ;; *) src="$repo/$src" ;; esac
fi
# A private copy: a concurrent `cargo build` must not swap binaries in the middle of the stage.
mkdir -p "$work/bin"
for b in subagent-start subagent-stop workflow-event analyze query-best-agent; do
    [ -x "$src/$b" ] || die "$src/$b is missing or not executable"
    cp "$src/$b" "$work/bin/$b" || die "cannot copy $src/$b"
done

# ── 4. Unit tests of the stand-in ────────────────────────────────────────────────────────────
step "stand-in unit tests (test_standin.py)"
if (cd "$here" && python3 -m unittest -q test_standin 2>&1 | sed 's/^/    /'; exit "${PIPESTATUS[0]}"); then
    passed=$((passed + 1)); echo "ok   standin unit tests"
else
    failed=$((failed + 1)); echo "FAIL standin unit tests"
fi

# ── 5. Scenarios ─────────────────────────────────────────────────────────────────────────────
# One check.py for all versions: one pool of E2E_JOBS runs keeps both cores busy to the end.
step "scenarios on ${#claudes[@]} Claude Code version(s) (-j ${E2E_JOBS:-3})"
args=(--bin-source "$work/bin" -j "${E2E_JOBS:-3}" --summary "$work/summary.json")
for c in "${claudes[@]}"; do args+=(--claude "$c"); done
[ "${E2E_KEEP_FAILED:-0}" = 1 ] && args+=(--keep-failed)
python3 "$here/check.py" "${args[@]}" "$@"
rc=$?
if [ -s "$work/summary.json" ]; then
    read -r p f < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["passed"], d["failed"])' "$work/summary.json")
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
else
    echo "ci.sh: check.py exited $rc without a summary" >&2
    failed=$((failed + 1))
fi
finish
