#!/usr/bin/env bash
# Data-channel benchmark (bench/datachannel.mjs) in the loopback-only namespace: throughput, RTT,
# createOffer → open, memory per idle connection and shipped size, polyfill beside native
# Chromium and the bare WebSocket, in one run.
#   bench/datachannel.sh [runs]      builds the wasm (scripts/build.sh) and a release relay
#   SKIP_BUILD=1 bench/datachannel.sh     use dist/wasm and target/release as they are
exec "$(dirname "$0")/run-in-netns.sh" datachannel.mjs "${1:-10}"
