#!/usr/bin/env bash
# Runs every test of polyrtc: lint, native Rust tests, wasm tests inside Chromium and Firefox,
# and the end-to-end browser tests. Installs what is missing first (scripts/setup.sh --test).
# Browser and network tests run in a loopback-only network namespace (scripts/netns.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# A one-off build (CI's fresh clone) gains nothing from incremental data, only writes it.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
start=$(date +%s)
step() { printf '\n=== [%4ss] %s\n' "$(($(date +%s) - start))" "$*"; }

step "setup"
bash scripts/setup.sh --test

step "format and lint"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
prettier --check --log-level warn "js/**/*.{js,ts}" "tests/**/*.{js,mjs}" "crates/*/tests/**/*.mjs" "scripts/**/*.mjs" "www/**/*.{js,html}" "bench/**/*.{js,mjs,html}"
tsc -p js/tsconfig.json

step "wasm build"
bash scripts/build.sh

# Fetch everything now: inside the namespace there is no network, not even to the registry.
cargo fetch --quiet
cargo fetch --target wasm32-unknown-unknown --quiet
export POLYRTC_REQUIRE_BROWSERS=1 WASM_BINDGEN_TEST_TIMEOUT=180 CARGO_NET_OFFLINE=true CHROMEDRIVER=/usr/bin/chromedriver GECKODRIVER="$(command -v geckodriver)"

# The relay binary the interop script and the e2e tests start: `cargo build -p` resolves features
# for the relay alone (`cargo test --workspace` unifies them with every member's dev-dependencies),
# so it is a build of its own; done once here, with every core.
step "relay binary"
cargo build --quiet -p polyrtc-relay

step "native Rust tests (real sockets on loopback, OpenSSL and browser peers)"
scripts/netns.sh -- cargo test --workspace --quiet

step "relay interop: coturn's turnutils_uclient through polyrtc-relay"
scripts/netns.sh -- env CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" relay/scripts/interop.sh

step "wasm-bindgen tests in headless Chromium"
scripts/netns.sh -- wasm-pack test --headless --chrome .

step "wasm-bindgen tests in headless Firefox"
scripts/netns.sh -- wasm-pack test --headless --firefox .

step "the polyfill in plain Node"
scripts/netns.sh -- node --test tests/node/

step "end-to-end tests in headless Chromium"
scripts/netns.sh -- node --test --test-reporter=spec tests/e2e/

# Native Firefox gathers no ICE candidate with only loopback: its interop file needs the veth pair
# (the plain run above skips it).
step "end-to-end: polyfill <-> native Firefox ESR (namespace with a veth pair)"
scripts/netns.sh --veth -- node --test --test-reporter=spec tests/e2e/firefox.test.mjs

step "all tests passed"
