#!/usr/bin/env bash
# ICE connect-time benchmark (bench/ice.mjs) in the loopback-only namespace.
#   bench/ice.sh [runs]     needs dist/wasm (scripts/build.sh); builds polyrtc-relay if needed
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/netns.sh -- node bench/ice.mjs "${1:-10}"
