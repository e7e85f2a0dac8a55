#!/usr/bin/env bash
# The browser stage: the dashboard in headless Chromium, driven by selenium (tests/browser/).
# Installs Debian's chromium and chromium-driver with apt-get when missing, and selenium (pinned)
# into a venv under target/; expects the debug binaries built (test.sh builds them).
# Screenshots: tests/browser/out/. BENCH_HOOKS=N sets the hooks of the lag measurement (20).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
SELENIUM_VERSION=4.27.1

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || { echo "browser: chromium/chromedriver missing and no apt-get" >&2; exit 2; }
    sudo=()
    if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi
venv="$repo/target/browser-venv"
if ! "$venv/bin/python" -c "import selenium, sys; sys.exit(selenium.__version__ != '$SELENIUM_VERSION')" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "selenium==$SELENIUM_VERSION"
fi
echo "browser: $(chromium --version 2>/dev/null | head -1), $(chromedriver --version | head -1), selenium $SELENIUM_VERSION"
# Selenium Manager must not look for drivers on the network: the test names both binaries.
export SE_OFFLINE=true
exec "$venv/bin/python" "$here/test_dashboard.py"
