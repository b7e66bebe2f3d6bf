#!/usr/bin/env bash
# The size crates/dtls adds to a wasm module: two throwaway cdylib crates built alike (the root's
# [profile.wasm-release]: opt-level "s", LTO, one codegen unit), then wasm-bindgen --target web
# and wasm-opt -Oz as scripts/build.sh does:
#   - baseline: one trivial #[wasm_bindgen] fn;
#   - dtls: one #[wasm_bindgen] fn running a complete in-memory DTLS handshake (certificate
#     generation, ECDSA P-256 or RSA chosen at run time, default suites, application data both
#     ways, SRTP key export), so the endpoint, every suite and the certificate code are linked.
# Prints raw and gzip -9 bytes of each optimised module and the difference.
# Usage: bench/dtls-wasm-size.sh. Offline; the crates resolve from this repository's Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/tgt-dtls-size}
export CARGO_NET_OFFLINE=true
# getrandom 0.3+ (if any dependency pulls it) needs this on wasm32, as .cargo/config.toml says;
# that file does not apply outside the repository.
export RUSTFLAGS='--cfg getrandom_backend="wasm_js"'
wasm_opt="$repo/node_modules/.bin/wasm-opt"

manifest() { # name, extra dependencies
  cat <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]
path = "lib.rs"

[dependencies]
wasm-bindgen = "=0.2.130"
$2

[workspace]

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
debug = false
TOML
}

mkdir -p "$work/size-baseline" "$work/size-dtls"
manifest size-baseline "" >"$work/size-baseline/Cargo.toml"
cat >"$work/size-baseline/lib.rs" <<'RS'
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}
RS

manifest size-dtls "polyrtc-dtls = { path = \"$repo/crates/dtls\" }
rand_core = { version = \"0.6\", features = [\"getrandom\"] }
getrandom = { version = \"0.2\", features = [\"js\"] }" >"$work/size-dtls/Cargo.toml"
cat >"$work/size-dtls/lib.rs" <<'RS'
use std::time::{Duration, Instant};

use polyrtc_dtls::{Certificate, Config, Endpoint, Event, KeyAlgorithm, Role};
use rand_core::OsRng;
use wasm_bindgen::prelude::*;

const _: () = assert!(std::mem::size_of::<Instant>() == std::mem::size_of::<Duration>());

/// `Instant::now()` traps on wasm32-unknown-unknown; as in polyrtc's src/clock.rs, an
/// `Instant` is the zero `Instant` plus a `Duration`.
fn instant_from_ms(ms: f64) -> Instant {
    // SAFETY: on wasm32-unknown-unknown `Instant` is `struct Instant(Duration)` (size checked
    // above); an all-zero `Duration` is a valid value of it.
    let zero = unsafe { std::mem::transmute::<Duration, Instant>(Duration::ZERO) };
    zero + Duration::from_secs_f64(ms.clamp(0.0, 1e12) / 1000.0)
}

/// A complete in-memory handshake, then one record each way and the SRTP key export; returns
/// the exported key length (0 on failure).
#[wasm_bindgen]
pub fn handshake(now_ms: f64, wall_ms: f64, rsa: bool) -> usize {
    let algorithm = if rsa {
        KeyAlgorithm::Rsa {
            modulus_bits: 2048,
            public_exponent: 65537,
        }
    } else {
        KeyAlgorithm::EcdsaP256
    };
    let now = instant_from_ms(now_ms);
    let cert = || Certificate::generate(algorithm, &mut OsRng, wall_ms as u64, 86_400_000);
    let (Ok(cc), Ok(sc)) = (cert(), cert()) else {
        return 0;
    };
    let mut client = Endpoint::new(Role::Client, Config::new(cc), OsRng, now);
    let mut server = Endpoint::new(Role::Server, Config::new(sc), OsRng, now);
    for _ in 0..16 {
        while let Some(d) = client.poll_datagram() {
            server.handle_datagram(now, &d);
        }
        while let Some(d) = server.poll_datagram() {
            client.handle_datagram(now, &d);
        }
    }
    if client.send_application_data(b"ping").is_err()
        || server.send_application_data(b"pong").is_err()
    {
        return 0;
    }
    while let Some(d) = client.poll_datagram() {
        server.handle_datagram(now, &d);
    }
    while let Some(d) = server.poll_datagram() {
        client.handle_datagram(now, &d);
    }
    let data = |ep: &mut Endpoint| {
        std::iter::from_fn(|| ep.poll_event()).any(|e| matches!(e, Event::ApplicationData(_)))
    };
    if !(data(&mut client) && data(&mut server)) {
        return 0;
    }
    match (client.srtp_keying_material(), server.srtp_keying_material()) {
        (Ok(a), Ok(b)) if a == b => a.1.len(),
        _ => 0,
    }
}
RS

declare -A raw gz
for c in size-baseline size-dtls; do
  cp "$repo/Cargo.lock" "$work/$c/Cargo.lock" # same dependency versions as the app
  echo "== building $c" >&2
  cargo build --quiet --release --target wasm32-unknown-unknown -j 1 \
    --manifest-path "$work/$c/Cargo.toml"
  name=${c//-/_}
  wasm-bindgen --target web --out-dir "$work/$c/pkg" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$name.wasm"
  "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$work/$c/pkg/${name}_bg.wasm" -o "$work/$c/opt.wasm"
  raw[$c]=$(wc -c <"$work/$c/opt.wasm")
  gz[$c]=$(gzip -9 -c "$work/$c/opt.wasm" | wc -c)
done

echo
printf '%-44s %10s %10s\n' "module (wasm-bindgen + wasm-opt -Oz)" raw_bytes gzip9_bytes
printf '%-44s %10s %10s\n' "baseline (one trivial fn)" "${raw[size-baseline]}" "${gz[size-baseline]}"
printf '%-44s %10s %10s\n' "with crates/dtls (full handshake fn)" "${raw[size-dtls]}" "${gz[size-dtls]}"
printf '%-44s %10s %10s\n' "added by crates/dtls" \
  "$((raw[size-dtls] - raw[size-baseline]))" "$((gz[size-dtls] - gz[size-baseline]))"
