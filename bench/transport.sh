#!/usr/bin/env bash
# Relay transport benchmark (bench/transport.mjs) in the loopback-only namespace: WebSocket vs
# WebTransport between the polyfill and polyrtc-relay, clean, with delay, and with delay and loss
# on that leg, interleaved in one run. Needs root, python3 and iptables-legacy (Debian:
# `apt-get install iptables`; the kernel needs xt_NFQUEUE, no netem).
#   bench/transport.sh [rounds]          builds the wasm (scripts/build.sh) and a release relay
#   SKIP_BUILD=1 bench/transport.sh      use dist/wasm and target/release as they are
#   POLYRTC_RELAY_BIN=path ...           run that relay binary instead of target/release's
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  bash scripts/build.sh
  cargo build --release -p polyrtc-relay
fi
export POLYRTC_RELAY_BIN="${POLYRTC_RELAY_BIN:-${CARGO_TARGET_DIR:-target}/release/polyrtc-relay}"
scripts/netns.sh -- node bench/transport.mjs "${1:-3}"
