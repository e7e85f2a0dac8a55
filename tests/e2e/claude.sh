#!/usr/bin/env bash
# Install the real Claude Code CLI from the npm registry into a cache dir and
# print the path of its native binary on stdout (nothing else goes to stdout).
#
#   E2E_CLAUDE_VERSION  a version (default: the pinned 2.1.332) or "latest" (resolved with npm view)
#   E2E_CACHE           cache root (default $HOME/.cache/agent-telemetry-e2e)
#
# Never skips: if the registry cannot be reached the script exits non-zero.
set -euo pipefail

DEFAULT_VERSION=2.1.332
version="${E2E_CLAUDE_VERSION:-$DEFAULT_VERSION}"
cache="${E2E_CACHE:-$HOME/.cache/agent-telemetry-e2e}"

die() { echo "claude.sh: ERROR: $*" >&2; exit 1; }
# npm's own retries (default: 2 with 10-60 s back-off) make a dead registry take minutes to
# report; keep them short and retry the whole install once instead.
NPM_NET=(--fetch-retries=2 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000)

command -v npm >/dev/null 2>&1 || die "npm not found on PATH; Node.js + npm are required to install Claude Code"

if [ "$version" = "latest" ]; then
    version="$(npm view "${NPM_NET[@]}" @anthropic-ai/claude-code version 2>/dev/null | tail -n1 | tr -d '[:space:]')" \
        || die "cannot resolve the latest @anthropic-ai/claude-code version: npm registry unreachable?"
    [ -n "$version" ] || die "npm view returned no version for @anthropic-ai/claude-code"
fi

dir="$cache/claude-$version"
bin="$dir/node_modules/@anthropic-ai/claude-code/bin/claude.exe"

# "Installed" means the native binary exists and reports the wanted version (an interrupted
# install or a missing platform package leaves something that does not).
works() { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; }

if ! works; then
    echo "claude.sh: installing @anthropic-ai/claude-code@$version into $dir" >&2
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{"name":"agent-telemetry-e2e-claude","private":true}' > "$dir/package.json"
    # Retries cover a flaky registry; a hard failure still ends non-zero.
    ok=0
    for attempt in 1 2; do
        if npm install "${NPM_NET[@]}" --prefix "$dir" --no-audit --no-fund --loglevel=error \
               "@anthropic-ai/claude-code@$version" >&2; then
            ok=1; break
        fi
        echo "claude.sh: npm install attempt $attempt failed" >&2
        sleep 2
    done
    [ "$ok" = 1 ] || die "npm install @anthropic-ai/claude-code@$version failed (registry unreachable?). The e2e tests need the real Claude Code; refusing to skip."
    works || die "installed Claude Code but $bin does not run or reports a different version: $("$bin" --version 2>&1 | head -3)"
fi

echo "$bin"
