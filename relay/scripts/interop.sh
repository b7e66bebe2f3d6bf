#!/usr/bin/env bash
# Interop: coturn's turnutils_uclient (a TURN client nobody here wrote)
# against polyrtc-relay on 127.0.0.1, over UDP and TCP, with static and
# time-limited (HMAC) credentials. Loopback only; bounded (-n, -m, timeout).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/tgt-relay}"
command -v turnutils_uclient >/dev/null || { echo "turnutils_uclient missing (apt-get install coturn)"; exit 1; }
cargo build -p polyrtc-relay -j 1 --quiet
BIN="$CARGO_TARGET_DIR/debug/polyrtc-relay"
PORT="${PORT:-34781}"
"$BIN" --listen "127.0.0.1:$PORT" --user user:pass --static-auth-secret s3cret \
  --allow-loopback-peers --user-quota 100 --unauth-burst 1000 --log warn &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
sleep 0.5
pass=0; fail=0
run() {
  local name="$1"; shift
  local out
  out=$(timeout 60 turnutils_uclient "$@" -p "$PORT" 127.0.0.1 2>&1 || true)
  if grep -q "Total lost packets 0 (0.000000%)" <<<"$out" && grep -q "tot_recv_msgs=[1-9]" <<<"$out"; then
    echo "ok   $name: $(grep -o 'tot_send_msgs=[0-9]*, tot_recv_msgs=[0-9]*' <<<"$out" | tail -1)"
    pass=$((pass+1))
  else
    echo "FAIL $name"; tail -5 <<<"$out"; fail=$((fail+1))
  fi
}
run "udp long-term"            -u user -w pass -y -n 20 -m 4
run "tcp long-term"            -t -u user -w pass -y -n 20 -m 4
run "udp hmac (REST)"          -u alice -W s3cret -y -n 20 -m 4
run "tcp hmac (REST)"          -t -u alice -W s3cret -y -n 20 -m 4
run "udp send indications"     -s -u user -w pass -y -n 20 -m 2 -z 5
run "udp DONT-FRAGMENT, padding" -g -D -u user -w pass -y -n 20 -m 2
run "udp dual allocation"      -Z -u user -w pass -y -n 20 -m 2
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
