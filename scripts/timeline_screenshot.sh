#!/usr/bin/env bash
# Save the screenshot of an evidence bundle's timeline.html that the README shows
# (docs/timeline.png): the bundled sample trail, the role session with MFA that created a user.
#   scripts/timeline_screenshot.sh            (uses target/release/trailglass, built if missing)
#   TRAILGLASS_BIN=target/ci/trailglass scripts/timeline_screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${TRAILGLASS_BIN:-${CARGO_TARGET_DIR:-target}/release/trailglass}"
[ -x "$bin" ] || cargo build --release >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" --lake "$work/lake" ingest testdata/sample/trail -q
"$bin" --lake "$work/lake" --config testdata/sample/trailglass.toml \
  evidence e5c218bb58e4ea8a --out "$work/bundle" --created 2026-03-04T00:00:00Z -q
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --disable-extensions \
  "--host-resolver-rules=MAP * ~NOTFOUND" --user-data-dir="$work/profile" \
  --window-size=1100,900 --screenshot="$PWD/docs/timeline.png" "file://$work/bundle/timeline.html"
echo "wrote docs/timeline.png"
