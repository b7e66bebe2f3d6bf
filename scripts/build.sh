#!/usr/bin/env bash
# Builds the wasm module and its JS glue into dist/wasm/ (what js/ imports).
#   scripts/build.sh            release build, optimised with wasm-opt (from npm's binaryen)
#   POLYRTC_WASM_OPT=0 ...      skip wasm-opt (faster, larger)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-target}"
cargo build --profile wasm-release --target wasm32-unknown-unknown -p polyrtc
rm -rf dist/wasm
wasm-bindgen --target web --out-dir dist/wasm --out-name polyrtc \
  "$target_dir/wasm32-unknown-unknown/wasm-release/polyrtc.wasm"
if [ "${POLYRTC_WASM_OPT:-1}" = "1" ] && [ -x node_modules/.bin/wasm-opt ]; then
  # The features rustc enables by default for wasm32 today; wasm-opt must accept them.
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    dist/wasm/polyrtc_bg.wasm -o dist/wasm/polyrtc_bg.wasm
fi
printf '[build] dist/wasm/polyrtc_bg.wasm: %s bytes\n' "$(wc -c < dist/wasm/polyrtc_bg.wasm)"
