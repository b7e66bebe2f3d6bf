#!/usr/bin/env bash
# Load benchmark: polyrtc-relay beside coturn on the same machine, loopback
# only, every run bounded in time and count. Prints one line per run with the
# server's CPU time, so throughput can be compared per core.
# Usage: relay/scripts/bench.sh [seconds-per-run] [all|shortcut]   (results on stdout)
#   shortcut: only the intra-relay comparison (both ends allocations of one
#   relay, shortcut on vs --no-intra-relay-shortcut), about 30 s at 3 s per run.
set -uo pipefail
export RUST_BACKTRACE=0
cd "$(dirname "$0")/../.."
SECS="${1:-3}"
MODE="${2:-all}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/tgt-relay}"
cargo build -p polyrtc-relay --release -j 1 --quiet --example loadgen --bin polyrtc-relay
BIN="$CARGO_TARGET_DIR/release/polyrtc-relay"
LOAD="$CARGO_TARGET_DIR/release/examples/loadgen"
OURS_PORT=34790; WS_PORT=18490; COTURN_PORT=34792

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

run() { # name pid target loadgen-args...
  local name="$1" pid="$2" target="$3"; shift 3
  local c0 c1 out relayed
  c0=$(cpu "$pid")
  out=$("$LOAD" --target "$target" --seconds "$SECS" "$@" 2>&1) || echo "loadgen failed: $(grep -A2 panicked <<<"$out" | head -3)"
  c1=$(cpu "$pid")
  relayed=$(grep -o 'relayed [0-9]*' <<<"$out" | awk '{print $2}')
  local cpus; cpus=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz}')
  echo "== $name [server cpu ${cpus} s$( [ -n "$relayed" ] && awk -v r="$relayed" -v c="$cpus" 'BEGIN{ if (c>0 && r>0) printf ", %.0f relayed packets per cpu-second, %.2f us cpu per packet", r/c, c*1e6/r}')]"
  grep -E '^(setup|throughput|latency)' <<<"$out"
}

# Intra-relay shortcut: the same relay binary twice, shortcut on and off;
# each run has client A send ChannelData to allocation B of the same relay.
shortcut() {
  local on_port=34794 off_port=34796 on off
  "$BIN" --listen 127.0.0.1:$on_port --user user:pass --unauth-burst 100000 --log warn &
  on=$!
  "$BIN" --listen 127.0.0.1:$off_port --user user:pass --unauth-burst 100000 --log warn \
    --no-intra-relay-shortcut &
  off=$!
  sleep 1
  for payload in 100 1200; do
    # Alternate so background load hits both sides alike.
    for round in 1 2; do
      run "intra shortcut on  $payload B (round $round)" $on udp://127.0.0.1:$on_port --intra --payload $payload
      run "intra shortcut off $payload B (round $round)" $off udp://127.0.0.1:$off_port --intra --payload $payload
    done
  done
  kill $on $off 2>/dev/null || true
  wait $on $off 2>/dev/null || true
}
if [ "$MODE" = shortcut ]; then shortcut; exit 0; fi

"$BIN" --listen 127.0.0.1:$OURS_PORT --ws-listen 127.0.0.1:$WS_PORT --user user:pass \
  --allow-loopback-peers --user-quota 20000 --max-allocations 20000 --unauth-burst 100000 \
  --unauth-rate 100000 --log warn &
OURS=$!
COTURN=""
if command -v turnserver >/dev/null; then
  turnserver -n --no-cli --no-tls --no-dtls --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 \
    --listening-port $COTURN_PORT --realm polyrtc --lt-cred-mech --user user:pass \
    --allow-loopback-peers --user-quota 20000 --total-quota 20000 --no-stdout-log \
    --log-file /dev/null --simple-log >/dev/null 2>&1 &
  COTURN=$!
fi
trap 'kill $OURS $COTURN 2>/dev/null || true' EXIT
sleep 1

for srv in ours coturn; do
  if [ "$srv" = ours ]; then pid=$OURS; port=$OURS_PORT; else [ -n "$COTURN" ] || continue; pid=$COTURN; port=$COTURN_PORT; fi
  run "$srv udp 1 alloc 100 B"      $pid udp://127.0.0.1:$port --allocations 1 --payload 100
  run "$srv udp 1 alloc 1200 B"     $pid udp://127.0.0.1:$port --allocations 1 --payload 1200
  run "$srv udp 1000 allocs 100 B"  $pid udp://127.0.0.1:$port --allocations 1000 --payload 100 --pings 500
  run "$srv udp 1000 allocs 1200 B" $pid udp://127.0.0.1:$port --allocations 1000 --payload 1200 --pings 500
done
for b in 1 8; do
  run "ours ws 1 alloc 100 B batch $b"  $OURS ws://127.0.0.1:$WS_PORT/turn --allocations 1 --payload 100 --batch $b
  run "ours ws 1 alloc 1200 B batch $b" $OURS ws://127.0.0.1:$WS_PORT/turn --allocations 1 --payload 1200 --batch $b
done

for srv in ours coturn; do
  if [ "$srv" = ours ]; then pid=$OURS; port=$OURS_PORT; else [ -n "$COTURN" ] || continue; pid=$COTURN; port=$COTURN_PORT; fi
  before=$(rss $pid)
  "$LOAD" --target udp://127.0.0.1:$port --allocations 10000 --setup-only --hold 3 >/tmp/bench-hold.$$ 2>&1 &
  lg=$!
  for _ in $(seq 1 600); do grep -q holding /tmp/bench-hold.$$ 2>/dev/null && break; sleep 0.1; done
  during=$(rss $pid)
  wait $lg || true
  echo "== $srv memory: RSS ${before} kB idle, ${during} kB with 10,000 allocations = $(( (during-before)*1024/10000 )) bytes per allocation"
  grep -E '^setup' /tmp/bench-hold.$$ || cat /tmp/bench-hold.$$
  rm -f /tmp/bench-hold.$$
  sleep 1
done
shortcut
