#!/usr/bin/env bash
# Interop: coturn's turnutils_uclient (a TURN client nobody here wrote)
# against polyrtc-relay on loopback, over UDP and TCP, with static and
# time-limited (HMAC) credentials, ChannelData and Send indications,
# DONT-FRAGMENT and padding, dual-stack and IPv6 allocations (when ::1
# exists), and MOBILITY-TICKET. Every configuration runs at once against one
# relay; each is bounded (-n, -m, timeout). Fails if any run loses or misses
# a message, or if the relay dies.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/tgt-relay}"
command -v turnutils_uclient >/dev/null || { echo "turnutils_uclient missing (apt-get install coturn)"; exit 1; }
cargo build -p polyrtc-relay --quiet
BIN="$CARGO_TARGET_DIR/debug/polyrtc-relay"
PORT="${PORT:-34781}"
RUN_TIMEOUT="${RUN_TIMEOUT:-30}"
V6=""
# Node, not python3: a fresh machine has only Rust, Node and npm.
if node -e 'require("dgram").createSocket("udp6").on("error", () => process.exit(1)).bind(0, "::1", () => process.exit(0))' 2>/dev/null; then
  V6="--relay-ip ::1"
else
  echo "note: no ::1 here, IPv6 relay runs skipped"
fi
OUT=$(mktemp -d)
# shellcheck disable=SC2086
"$BIN" --listen "127.0.0.1:$PORT" --relay-ip 127.0.0.1 $V6 --user user:pass --static-auth-secret s3cret \
  --allow-loopback-peers --user-quota 200 --unauth-burst 5000 --log warn &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$OUT"' EXIT
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

names=()
start() { # name uclient-args...
  local name="$1"; shift
  names+=("$name")
  timeout "$RUN_TIMEOUT" turnutils_uclient "$@" -p "$PORT" 127.0.0.1 >"$OUT/${#names[@]}" 2>&1 &
}
start "udp long-term"              -u user -w pass -y -n 10 -m 2
start "tcp long-term"              -t -u user -w pass -y -n 10 -m 2
start "udp hmac (REST)"            -u alice -W s3cret -y -n 10 -m 2
start "tcp hmac (REST)"            -t -u alice -W s3cret -y -n 10 -m 2
start "udp send indications"       -s -u user -w pass -y -n 10 -m 2 -z 5
start "udp DONT-FRAGMENT, padding" -g -D -u user -w pass -y -n 10 -m 2
start "udp dual allocation"        -Z -u user -w pass -y -n 10 -m 2
start "udp mobility ticket"        -M -u user -w pass -y -n 10 -m 2
start "tcp mobility ticket"        -M -t -u user -w pass -y -n 10 -m 2
if [ -n "$V6" ]; then
  start "udp IPv6 relay"           -x -u user -w pass -y -n 10 -m 2
  start "tcp IPv6 relay, hmac"     -x -t -u alice -W s3cret -y -n 10 -m 2
fi
wait_all() { for j in $(jobs -p); do [ "$j" = "$PID" ] || wait "$j" || true; done; }
wait_all

pass=0; fail=0
for i in "${!names[@]}"; do
  out=$(cat "$OUT/$((i+1))")
  counts=$(grep -o 'tot_send_msgs=[0-9]*, tot_recv_msgs=[0-9]*' <<<"$out" | tail -1 || true)
  sent=$(grep -o 'send_msgs=[0-9]*' <<<"$counts" | cut -d= -f2 || true)
  recv=$(grep -o 'recv_msgs=[0-9]*' <<<"$counts" | cut -d= -f2 || true)
  if grep -q "Total lost packets 0 (0.000000%)" <<<"$out" && [ -n "$recv" ] && [ "$recv" -gt 0 ] && [ "$recv" = "$sent" ]; then
    echo "ok   ${names[$i]}: $counts"
    pass=$((pass+1))
  else
    echo "FAIL ${names[$i]}"; grep -iE 'error|lost' <<<"$out" | head -3; tail -3 <<<"$out"; fail=$((fail+1))
  fi
done
kill -0 "$PID" 2>/dev/null || { echo "FAIL relay exited during the runs"; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
