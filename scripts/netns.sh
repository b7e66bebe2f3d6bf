#!/usr/bin/env bash
# Run a command inside a fresh network namespace that has only loopback, so no test packet can
# leave the machine (see ../shared/DESIGN.md). Needs root (CI and dev machines run as root).
#   scripts/netns.sh [--veth] -- CMD ARGS...
# --veth also adds a veth pair 10.99.0.1/24 <-> 10.99.0.2/24 with a default route (both ends inside
# the namespace: the project's own test hosts), which native Firefox needs to gather candidates.
set -euo pipefail
veth=0
if [ "${1:-}" = "--veth" ]; then veth=1; shift; fi
[ "${1:-}" = "--" ] && shift
if [ "${POLYRTC_IN_NETNS:-}" = "1" ]; then exec "$@"; fi
exec unshare -n env POLYRTC_IN_NETNS=1 POLYRTC_VETH=$veth bash -c '
  set -e
  ip link set lo up
  if [ "$POLYRTC_VETH" = "1" ]; then
    ip link add v0 type veth peer name v1
    ip addr add 10.99.0.1/24 dev v0; ip addr add 10.99.0.2/24 dev v1
    ip link set v0 up; ip link set v1 up
    ip route add default via 10.99.0.2 dev v0
  fi
  exec "$@"' netns "$@"
