#!/usr/bin/env bash
# Shared by the browser benchmarks: builds the wasm module (scripts/build.sh) and a release relay
# unless SKIP_BUILD=1, then runs `node bench/<script> <args…>` in the loopback-only namespace with
# that relay (or the one POLYRTC_RELAY_BIN names).
#   bench/run-in-netns.sh datachannel.mjs 10
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
script="$1"
shift
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  bash scripts/build.sh
  cargo build --release -p polyrtc-relay
fi
export POLYRTC_RELAY_BIN="${POLYRTC_RELAY_BIN:-${CARGO_TARGET_DIR:-target}/release/polyrtc-relay}"
exec scripts/netns.sh -- node "bench/$script" "$@"
