#!/usr/bin/env bash
# The README's demo command: build the release binary and run `trailglass demo` on the bundled
# sample trail. No AWS account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release >&2
lake="${TRAILGLASS_LAKE:-$(mktemp -d)/lake}"
exec "${CARGO_TARGET_DIR:-target}/release/trailglass" --lake "$lake" demo "$@"
