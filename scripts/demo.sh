#!/usr/bin/env bash
# The README's demo command: build the release binary and run `trailglass demo` on the bundled
# sample trail. No AWS account needed. Without `--lake`, the demo writes into a new temporary lake
# (it prints where), never into ./trailglass-lake or $TRAILGLASS_LAKE.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release >&2
exec "${CARGO_TARGET_DIR:-target}/release/trailglass" demo "$@"
