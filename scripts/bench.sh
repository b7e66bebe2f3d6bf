#!/usr/bin/env bash
# Runs the benchmarks (not part of scripts/test.sh). Results go in BENCHMARKS.md by hand, with
# the command that made them.
#   scripts/bench.sh            all benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh --test
bash scripts/build.sh
echo "=== startup: size and import → first createOffer (polyrtc vs native, headless Chromium)"
scripts/netns.sh -- node bench/startup.mjs 20
echo "=== polyrtc-relay beside coturn (load, latency, memory)"
scripts/netns.sh -- relay/scripts/bench.sh 3
for extra in bench/*.sh; do
  [ -x "$extra" ] || continue
  echo "=== $extra"
  "$extra"
done
