#!/usr/bin/env bash
# Save the screenshot of an HTML report that the README shows (docs/report.png): the bundled
# sample trail, the whole lake, with the sample suppressions (so every section has content).
#   scripts/report_screenshot.sh            (uses target/release/trailglass, built if missing)
#   TRAILGLASS_BIN=target/ci/trailglass scripts/report_screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${TRAILGLASS_BIN:-${CARGO_TARGET_DIR:-target}/release/trailglass}"
[ -x "$bin" ] || cargo build --release >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" --lake "$work/lake" ingest testdata/sample/trail -q
"$bin" --lake "$work/lake" --config testdata/sample/trailglass.toml \
  report --format html --out "$work/report.html" --created 2026-04-01T00:00:00Z \
  --suppressions testdata/report/suppressions.toml -q
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --disable-extensions \
  "--host-resolver-rules=MAP * ~NOTFOUND" --user-data-dir="$work/profile" \
  --window-size=1100,1300 --screenshot="$PWD/docs/report.png" "file://$work/report.html"
echo "wrote docs/report.png"
