#!/usr/bin/env bash
# Inbox latency (issue 6), side by side with transmission-daemon's watch-dir:
# a 64 MiB file seeded on the same machine; from the .mtorrent/.torrent
# moved into the inbox (watch-dir) to the first payload byte and to verified
# completion. Everything runs in a network namespace made here, on an
# address of the namespace's loopback (10.77.0.1): Transmission 3.00 ignores
# 127.x peers from a tracker. Prints `name: value` lines (medians of RUNS).
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/common.sh
ensure_packages "transmission-daemon:command -v transmission-daemon" "curl:command -v curl"
bin="$(release_binary)"
work="$(mktemp -d /tmp/microtorr-bench-XXXXXX)"
chmod 755 "$work"
ns="mtbench$$"
cleanup() {
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 10.77.0.1/32 dev lo
ip netns exec "$ns" /usr/bin/python3 Benchmarks/inbox_latency.py "$bin" "$work" "${RUNS:-3}"
