#!/usr/bin/env bash
# crates/dtls beside OpenSSL on this machine, natively (issue 4's benchmark):
#   - in-memory handshake time, ECDSA P-256 (median), ours vs an `openssl s_client -dtls1_2`
#     loop against `openssl s_server` on loopback (whole processes: spawn cost shown apart);
#   - 1,200-byte record throughput, AES-128-GCM and ChaCha20-Poly1305: our DTLS seal (and
#     seal + open) vs `openssl speed -evp` on 1,200-byte buffers (bare AEAD, no record layer);
#   - ECDSA P-256 sign/verify and X25519 from `openssl speed`, for the handshake's crypto floor.
# Usage: bench/dtls.sh [handshakes=50] [records=20000]. The UDP part runs in a loopback-only
# namespace (scripts/netns.sh). Set CARGO_TARGET_DIR / CARGO_BUILD_JOBS as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
handshakes=${1:-50}
records=${2:-20000}
secs=${SECS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== crates/dtls (native, release profile)"
cargo run --quiet --release -p polyrtc-dtls --example dtls_bench -- "$handshakes" "$records" \
  | tee "$work/ours.txt"

echo "== openssl speed (1,200-byte buffers, ${secs}s each)"
speed() { # prints MB/s (10^6 bytes) for one EVP AEAD
  openssl speed -seconds "$secs" -bytes 1200 -evp "$1" 2>/dev/null \
    | awk -v alg="$1" 'tolower($1)==alg { v=$NF; sub(/k$/, "", v); printf "%.1f\n", v/1000 }'
}
aes=$(speed aes-128-gcm); chacha=$(speed chacha20-poly1305)
echo "openssl_MBps aes-128-gcm $aes"
echo "openssl_MBps chacha20-poly1305 $chacha"
openssl speed -seconds 1 ecdsap256 ecdhx25519 2>/dev/null | grep -E "^ *(256 bits ecdsa|253 bits ecdh)" || true

echo "== openssl DTLS 1.2 handshake loop (ECDSA P-256, loopback)"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/key.pem" 2>/dev/null
openssl req -new -x509 -key "$work/key.pem" -subj /CN=bench -days 2 -out "$work/cert.pem" 2>/dev/null
scripts/netns.sh -- bash -c '
  set -e; n=$1; w=$2
  openssl s_server -dtls1_2 -accept 127.0.0.1:44443 -cert "$w/cert.pem" -key "$w/key.pem" \
    -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -quiet >/dev/null 2>&1 &
  srv=$!; sleep 0.5
  ms() { date +%s%N; }
  : > "$w/hs.txt"; : > "$w/spawn.txt"
  for i in $(seq "$n"); do
    t=$(ms); openssl s_client -dtls1_2 -connect 127.0.0.1:44443 </dev/null >/dev/null 2>&1 || true
    echo $(( ($(ms) - t) / 1000 )) >> "$w/hs.txt"
    t=$(ms); openssl version >/dev/null; echo $(( ($(ms) - t) / 1000 )) >> "$w/spawn.txt"
  done
  kill $srv
' netns "$((handshakes < 30 ? handshakes : 30))" "$work"
med() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]/1000}'; }
ossl_hs=$(med "$work/hs.txt"); spawn=$(med "$work/spawn.txt")
echo "openssl_handshake_ms s_client_process $ossl_hs (median, includes process start)"
echo "openssl_process_start_ms $spawn (median of \`openssl version\`)"

echo
echo "== side by side"
ours() { awk -v k="$1" -v s="$2" '$1==k && $2==s {print $3}' "$work/ours.txt"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
hs=$(ours handshake_ms EcdheEcdsaAes128GcmSha256)
ossl_net=$(awk -v a="$ossl_hs" -v b="$spawn" 'BEGIN { printf "%.3f", a - b }')
printf '%-40s %12s %12s %8s\n' metric polyrtc-dtls openssl ratio
printf '%-40s %12s %12s %8s\n' "handshake ms (ECDSA, AES-128-GCM)" "$hs" "~$ossl_net" "$(ratio "$hs" "$ossl_net")"
for s in "EcdheEcdsaAes128GcmSha256 $aes" "EcdheEcdsaChacha20Poly1305Sha256 $chacha"; do
  set -- $s
  printf '%-40s %12s %12s %8s\n' "seal MB/s $1" "$(ours seal_MBps "$1")" "$2" "$(ratio "$(ours seal_MBps "$1")" "$2")"
  printf '%-40s %12s %12s %8s\n' "seal+open MB/s $1" "$(ours seal_open_MBps "$1")" "$(awk -v a="$2" 'BEGIN{printf "%.1f", a/2}')" "$(ratio "$(ours seal_open_MBps "$1")" "$(awk -v a="$2" 'BEGIN{print a/2}')")"
done
echo "(openssl handshake = s_client process time minus bare process start; seal+open reference = half the one-way AEAD speed)"
