#!/usr/bin/env bash
# Data-channel benchmark (bench/datachannel.mjs) in the loopback-only namespace: throughput, RTT,
# createOffer → open, memory per idle connection and shipped size, polyfill beside native
# Chromium and the bare WebSocket, in one run.
#   bench/datachannel.sh [runs]      builds the wasm (scripts/build.sh) and a release relay
#   SKIP_BUILD=1 bench/datachannel.sh     use dist/wasm and target/release as they are
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  bash scripts/build.sh
  cargo build --release -p polyrtc-relay
fi
export POLYRTC_RELAY_BIN="${CARGO_TARGET_DIR:-target}/release/polyrtc-relay"
scripts/netns.sh -- node bench/datachannel.mjs "${1:-10}"
