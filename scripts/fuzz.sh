#!/usr/bin/env bash
# Bounded fuzzing of every parser that faces input (not part of scripts/test.sh, which replays the
# corpora on stable). Installs the nightly toolchain and cargo-fuzz on first use.
#   scripts/fuzz.sh [seconds-per-target]     (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs="${1:-60}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for dir in crates/*/fuzz relay/fuzz; do
  [ -f "$dir/Cargo.toml" ] || continue
  for target in $(cd "$dir/.." && cargo +nightly fuzz list); do
    echo "=== fuzz $dir $target for ${secs}s"
    (cd "$dir/.." && cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048)
  done
done
