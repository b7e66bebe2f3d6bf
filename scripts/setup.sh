#!/usr/bin/env bash
# Installs everything polyrtc needs on a machine that has only Rust, Node 20 and npm. Idempotent
# and quick when everything is present.
#   scripts/setup.sh          what the demo needs (wasm target, wasm-bindgen-cli, npm packages)
#   scripts/setup.sh --test   also what the tests need (browsers, drivers, wasm-pack, coturn, openssl,
#                             libssl-dev and pkg-config for the engine's str0m interop peer,
#                             iptables for bench/transport.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BINDGEN_VERSION=0.2.130 # must equal the `=` pin of wasm-bindgen in Cargo.toml
WASM_PACK_VERSION=0.15.1
GECKODRIVER_VERSION=0.37.1
want_test=0
[ "${1:-}" = "--test" ] && want_test=1
say() { printf '[setup] %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  # Not --locked: its lock file pins a webpki-roots release the registry mirror lacks.
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

[ "$want_test" = 1 ] || exit 0

apt_pkgs=()
command -v chromium >/dev/null || apt_pkgs+=(chromium)
command -v chromedriver >/dev/null || apt_pkgs+=(chromium-driver)
command -v firefox-esr >/dev/null || apt_pkgs+=(firefox-esr)
command -v turnserver >/dev/null || apt_pkgs+=(coturn)
command -v openssl >/dev/null || apt_pkgs+=(openssl)
# str0m's OpenSSL backend (the engine's third-party interop peer, a dev-dependency) links libssl;
# openssl-sys finds it through pkg-config. dpkg-query, not `dpkg -s`: a removed package whose
# record lingers ("deinstall") must count as missing.
[ "$(dpkg-query -W -f='${Status}' libssl-dev 2>/dev/null)" = "install ok installed" ] || apt_pkgs+=(libssl-dev)
command -v pkg-config >/dev/null || apt_pkgs+=(pkg-config)
command -v ip >/dev/null || apt_pkgs+=(iproute2)
command -v unshare >/dev/null || apt_pkgs+=(util-linux)
# bench/transport.sh: loss and delay through NFQUEUE (the kernel has no netem).
command -v iptables-legacy >/dev/null || apt_pkgs+=(iptables)
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  say "installing Debian packages: ${apt_pkgs[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${apt_pkgs[@]}"
fi

if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  say "installing wasm-pack $WASM_PACK_VERSION (a few minutes, once)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
fi

if [ "$(geckodriver --version 2>/dev/null | head -1 | awk '{print $2}')" != "$GECKODRIVER_VERSION" ]; then
  say "installing geckodriver $GECKODRIVER_VERSION"
  cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked --force
fi
