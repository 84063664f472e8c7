#!/usr/bin/env bash
# The README's demo command: build (the same build the tests use, so the ~45-minute dependency
# build happens once) and run `trailglass demo` on the bundled sample trail. No AWS account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --no-run >&2
lake="${TRAILGLASS_LAKE:-$(mktemp -d)/lake}"
exec "${CARGO_TARGET_DIR:-target}/release/trailglass" --lake "$lake" demo "$@"
