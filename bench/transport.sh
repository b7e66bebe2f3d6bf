#!/usr/bin/env bash
# Relay transport benchmark (bench/transport.mjs) in the loopback-only namespace: WebSocket vs
# WebTransport between the polyfill and polyrtc-relay, clean, with delay, and with delay and loss
# on that leg, interleaved in one run. Needs root, python3 and iptables-legacy (Debian:
# `apt-get install iptables`; the kernel needs xt_NFQUEUE, no netem).
#   bench/transport.sh [rounds]          builds the wasm (scripts/build.sh) and a release relay
#   SKIP_BUILD=1 bench/transport.sh      use dist/wasm and target/release as they are
#   POLYRTC_RELAY_BIN=path ...           run that relay binary instead of target/release's
exec "$(dirname "$0")/run-in-netns.sh" transport.mjs "${1:-3}"
