#!/usr/bin/env bash
# crates/dtls inside headless Chromium (wasm32, release profile) beside the same measurements
# natively (crates/dtls/benches/dtls_bench.rs), in one run:
#   - in-memory handshake time, client + server both in wasm, ECDSA P-256 certificates made
#     beforehand, default suites (median of 20; ChaCha20-Poly1305 is negotiated);
#   - 1,200-byte application-data records, AES-128-GCM and ChaCha20-Poly1305, ~10 MB each:
#     seal, and seal + open (MB/s = 10^6 bytes/s), timed with performance.now().
# The browser side is tests/browser_dtls_bench.rs (all #[ignore], so the normal test run skips it).
# Usage: bench/dtls-wasm.sh. No network (runs under scripts/netns.sh). Needs root, chromedriver.
set -euo pipefail
cd "$(dirname "$0")/.."
handshakes=20
records=8334 # = RECORDS in tests/browser_dtls_bench.rs: 8,334 x 1,200 B ~ 10 MB
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== crates/dtls in headless Chromium (wasm32, release profile)"
WASM_BINDGEN_TEST_TIMEOUT=300 CARGO_NET_OFFLINE=true CHROMEDRIVER=/usr/bin/chromedriver \
  scripts/netns.sh -- wasm-pack test --release --headless --chrome . --test browser_dtls_bench \
  -- --include-ignored --nocapture >"$work/wasm.log" 2>&1 || {
  cat "$work/wasm.log" >&2
  exit 1
}
grep -E '^ *wasm_' "$work/wasm.log" | sed 's/^ *//' | tee "$work/wasm.txt"
grep -q 'test result: ok' "$work/wasm.log" || { cat "$work/wasm.log" >&2; exit 1; }
[ "$(wc -l <"$work/wasm.txt")" -eq 5 ] || { echo "expected 5 result lines" >&2; cat "$work/wasm.log" >&2; exit 1; }

echo "== crates/dtls natively (release profile)"
cargo bench --quiet -p polyrtc-dtls --bench dtls_bench -- "$handshakes" "$records" \
  | tee "$work/native.txt"

echo
echo "== side by side"
val() { awk -v k="$1" -v s="$2" '$1==k && $2==s {print $3}' "$3"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
hs_suite=$(awk '$1=="wasm_handshake_ms" {print $2}' "$work/wasm.txt")
row() { # label, wasm value, native value
  printf '%-62s %10s %10s %12s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"
}
printf '%-62s %10s %10s %12s\n' metric wasm native wasm/native
row "handshake ms (ECDSA P-256, $hs_suite)" \
  "$(val wasm_handshake_ms "$hs_suite" "$work/wasm.txt")" "$(val handshake_ms "$hs_suite" "$work/native.txt")"
for s in EcdheEcdsaAes128GcmSha256 EcdheEcdsaChacha20Poly1305Sha256; do
  row "seal MB/s $s" "$(val wasm_seal_MBps $s "$work/wasm.txt")" "$(val seal_MBps $s "$work/native.txt")"
  row "seal+open MB/s $s" "$(val wasm_seal_open_MBps $s "$work/wasm.txt")" "$(val seal_open_MBps $s "$work/native.txt")"
done
echo "(handshake: lower is better, so wasm/native > 1 = slower in wasm; MB/s: wasm/native < 1 = slower in wasm)"
