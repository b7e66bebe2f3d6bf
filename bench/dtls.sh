#!/usr/bin/env bash
# crates/dtls beside OpenSSL on this machine, natively (issue 4's benchmark):
#   - in-memory handshake time, ECDSA P-256 + X25519 (median, both sides), ours vs the sum of
#     OpenSSL's timings for the same public-key operations (`openssl speed`);
#   - 1,200-byte record throughput, AES-128-GCM and ChaCha20-Poly1305: our DTLS seal (and
#     seal + open) vs `openssl speed -evp` on 1,200-byte buffers (bare AEAD, no record layer);
#   - ECDSA P-256 sign/verify and X25519 from `openssl speed`, for the handshake's crypto floor.
# Usage: [SECS=3] bench/dtls.sh [handshakes=50] [records=20000]. No network. Set
# CARGO_TARGET_DIR / CARGO_BUILD_JOBS as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
handshakes=${1:-50}
records=${2:-20000}
secs=${SECS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== crates/dtls (native, release profile)"
cargo bench --quiet -p polyrtc-dtls --bench dtls_bench -- "$handshakes" "$records" \
  | tee "$work/ours.txt"

echo "== openssl speed (1,200-byte buffers, ${secs}s each)"
speed() { # prints MB/s (10^6 bytes) for one EVP AEAD
  openssl speed -seconds "$secs" -bytes 1200 -evp "$1" 2>/dev/null \
    | awk -v alg="$1" 'tolower($1)==alg { v=$NF; sub(/k$/, "", v); printf "%.1f\n", v/1000 }'
}
aes=$(speed aes-128-gcm); chacha=$(speed chacha20-poly1305)
echo "openssl_MBps aes-128-gcm $aes"
echo "openssl_MBps chacha20-poly1305 $chacha"
# The handshake's public-key floor, both sides together: 2 ECDSA P-256 signatures (server key
# exchange, client certificate verify), 2 verifications, 4 X25519 scalar multiplications.
# (An `openssl s_client` loop is no handshake measure here: its run time is dominated by ~0.5 s
# of waiting after the handshake, and by process start.)
openssl speed -seconds 1 ecdsap256 ecdhx25519 2>/dev/null | tee "$work/pk.txt" | grep -E "^ *(256 bits ecdsa|253 bits ecdh)" || true
ossl_floor=$(awk '/bits ecdsa \(nistp256\)/ { s=$(NF-1); v=$NF } /bits ecdh \(X25519\)/ { x=$NF }
  END { if (s && v && x) printf "%.3f", 1000 * (2/s + 2/v + 4/x); else print "n/a" }' "$work/pk.txt")
echo "openssl_handshake_crypto_floor_ms $ossl_floor"

echo
echo "== side by side"
ours() { awk -v k="$1" -v s="$2" '$1==k && $2==s {print $3}' "$work/ours.txt"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
hs=$(ours handshake_ms EcdheEcdsaAes128GcmSha256)
printf '%-40s %12s %12s %8s\n' metric polyrtc-dtls openssl ours/ossl
printf '%-40s %12s %12s %8s\n' "handshake ms (ECDSA P-256, X25519)" "$hs" "$ossl_floor" "$(ratio "$hs" "$ossl_floor")"
for s in "EcdheEcdsaAes128GcmSha256 $aes" "EcdheEcdsaChacha20Poly1305Sha256 $chacha"; do
  set -- $s
  printf '%-40s %12s %12s %8s\n' "seal MB/s $1" "$(ours seal_MBps "$1")" "$2" "$(ratio "$(ours seal_MBps "$1")" "$2")"
  printf '%-40s %12s %12s %8s\n' "seal+open MB/s $1" "$(ours seal_open_MBps "$1")" "$(awk -v a="$2" 'BEGIN{printf "%.1f", a/2}')" "$(ratio "$(ours seal_open_MBps "$1")" "$(awk -v a="$2" 'BEGIN{print a/2}')")"
done
echo "(openssl handshake = its public-key operations only, from openssl speed; seal+open reference = half the one-way AEAD speed)"
