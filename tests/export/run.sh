#!/usr/bin/env bash
# The export stage: `analyze export otlp` into a real Arize Phoenix and `GET /metrics` scraped by
# a real Prometheus (tests/export/check.py). Installs Debian's prometheus with apt-get when
# missing and arize-phoenix (pinned) into a venv under target/; builds the debug binaries and
# the history generator it needs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PHOENIX_VERSION=20.26.1

if ! command -v prometheus >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || { echo "export: prometheus missing and no apt-get" >&2; exit 2; }
    sudo=()
    if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
fi
venv="$repo/target/export-venv"
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('arize-phoenix') != '$PHOENIX_VERSION')" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "arize-phoenix==$PHOENIX_VERSION"
fi
(cd "$repo" && cargo build --locked --bins --example gen-history)
echo "export: $(prometheus --version 2>&1 | head -1), arize-phoenix $PHOENIX_VERSION"
PHOENIX="$venv/bin/phoenix" exec python3 "$here/check.py"
