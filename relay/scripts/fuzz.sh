#!/usr/bin/env bash
# Run every cargo-fuzz target for a bounded time (default 30 s each). Needs
# the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# New inputs go to a scratch corpus; the committed seeds in fuzz/corpus are
# only read (and replayed on stable by `cargo test -p polyrtc-relay --test fuzz`).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECS="${1:-30}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/tgt-relay-fuzz}" CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
SCRATCH="${SCRATCH:-/tmp/polyrtc-relay-fuzz-corpus}"
for t in stun_parse stream_framing turn_server; do
  mkdir -p "$SCRATCH/$t"
  cargo +nightly fuzz run --dev "$t" "$SCRATCH/$t" "corpus/$t" -- -max_total_time="$SECS" -rss_limit_mb=1024
done
