#!/usr/bin/env bash
# The relay for the demo: polyrtc-relay with a WebSocket TURN listener on 127.0.0.1:8443 (path
# /turn, subprotocol "turn"), UDP/TCP TURN on 127.0.0.1:3478, a demo user, loopback peers allowed
# (everything stays on this machine). Not a production configuration: see relay/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p polyrtc-relay --quiet
echo "polyrtc-relay: ws://127.0.0.1:8443/turn, https://127.0.0.1:4433/turn (WebTransport; hashes at http://127.0.0.1:8443/webtransport), turn:127.0.0.1:3478 (user demo, password demo)"
exec "${CARGO_TARGET_DIR:-target}/release/polyrtc-relay" \
  --listen 127.0.0.1:3478 --ws-listen 127.0.0.1:8443 --wt-listen 127.0.0.1:4433 --relay-ip 127.0.0.1 \
  --user demo:demo --allow-loopback-peers --log info
