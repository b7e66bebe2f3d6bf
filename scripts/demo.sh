#!/usr/bin/env bash
# Builds polyrtc, starts the relay (when built) and serves www/ on localhost; prints the URL.
#   scripts/demo.sh [--port 8080]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
port=8080
[ "${1:-}" = "--port" ] && port="$2"
bash scripts/setup.sh
bash scripts/build.sh
pids=()
cleanup() { [ "${#pids[@]}" -gt 0 ] && kill "${pids[@]}" 2>/dev/null; true; }
trap cleanup EXIT INT TERM
if [ -f scripts/relay-demo.sh ]; then
  bash scripts/relay-demo.sh & pids+=($!)
fi
node scripts/serve.mjs --host 127.0.0.1 --port "$port" & pids+=($!)
wait
