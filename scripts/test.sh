#!/usr/bin/env bash
# The README's test command: everything the tests need is checked or installed here, then every
# test runs. The tests and the binary they drive build in the `ci` profile (Cargo.toml): less
# optimisation than `release`, so the cold build of DataFusion, delta-rs and the AWS SDK fits CI.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "test.sh: cargo (Rust 1.95) is required" >&2; exit 3; }
command -v cc >/dev/null || { echo "test.sh: a C compiler (cc) is required: apt-get install gcc" >&2; exit 3; }

# S3 and KMS tests run against moto's server on 127.0.0.1 (never a real AWS endpoint), installed
# into a local virtualenv; the tests start it on a free port and fail (never skip) without it.
# The install (about a minute, mostly download) runs while cargo compiles.
venv=.venv
install_moto() {
  python3 -m venv "$venv" || {
    echo "test.sh: python3 -m venv failed: install Python's venv module (apt-get install python3-venv)" >&2
    return 3
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.*' || {
    echo "test.sh: could not install moto[server] from PyPI into $venv (is the package index reachable?)" >&2
    rm -rf "$venv"
    return 3
  }
}
moto_pid=
if [ ! -x "$venv/bin/moto_server" ]; then
  echo "test.sh: installing moto[server] into $venv (in the background)"
  install_moto &
  moto_pid=$!
fi
export TRAILGLASS_MOTO="$PWD/$venv/bin/moto_server"

# The evidence timeline page is opened in real headless Chromium (Debian's package).
if ! command -v chromium >/dev/null && [ -z "${TRAILGLASS_CHROMIUM:-}" ]; then
  echo "test.sh: installing Debian's chromium (for the timeline.html test)"
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  # A new machine's package lists may be empty or stale: update them first.
  { $sudo apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium >&2; } || {
    echo "test.sh: could not install chromium (apt-get install chromium), or set TRAILGLASS_CHROMIUM" >&2
    exit 3
  }
fi

if rustfmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
fi

start=$(date +%s)
cargo test --profile ci --no-run "$@"
echo "test.sh: built in $(( $(date +%s) - start )) s"
if [ -n "$moto_pid" ]; then
  wait "$moto_pid" || exit 3
fi
cargo test --profile ci --no-fail-fast "$@"
echo "test.sh: built and passed all tests in $(( $(date +%s) - start )) s"
