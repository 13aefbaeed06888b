#!/bin/sh
# Builds the demo region, renders its HTML report in headless Chromium, and saves a
# screenshot as docs/report-screenshot.png. Installs Debian's `chromium` package when
# it is missing (as root, or with sudo).
#
# Usage: scripts/report-screenshot.sh
set -eu
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update && apt-get install -y --no-install-recommends chromium
    else
        sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium
    fi
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo run --release -q -p samla-hub -- demo --dir "$dir/region" > /dev/null
# --no-sandbox: Chromium's sandbox refuses to run as root (build machines, CI).
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1280,1800 --screenshot="$dir/report.png" \
    "file://$dir/region/report/ung-2025.html" 2>/dev/null
cp "$dir/report.png" docs/report-screenshot.png
echo "wrote docs/report-screenshot.png"
