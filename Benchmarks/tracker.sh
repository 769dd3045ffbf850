#!/usr/bin/env bash
# `microtorr tracker` vs opentracker under wrk on loopback: 64 connections,
# announces with random peers over 1000 swarms, requests/s and p99 latency,
# with keep-alive and with one request per connection, and the server's CPU
# time per request (user and system). Then the tracker's
# RSS with about 100 000 live peers. BASELINE=/path/to/an/older/microtorr
# adds its rows (tracker.baseline.*) in the same run, for before/after.
#   DURATION=15 CONNECTIONS=64 [BASELINE=…] Benchmarks/tracker.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15}"
CONNECTIONS="${CONNECTIONS:-64}"

source Benchmarks/common.sh
ensure_packages "wrk:command -v wrk" "opentracker:test -x /usr/bin/opentracker" "curl:command -v curl"
bin="$(release_binary)"

make_work_with_pids
chmod 755 "$work"

# 1000 random info-hashes: hex for opentracker's whitelist, percent-encoded
# for the requests.
/usr/bin/python3 - "$work" <<'PY'
import os, sys
work = sys.argv[1]
hashes = [os.urandom(20) for _ in range(1000)]
open(f"{work}/whitelist", "w").write("".join(h.hex() + "\n" for h in hashes))
open(f"{work}/hashes.lua", "w").write("hashes = {\n" + ",\n".join('"' + "".join("%%%02X" % b for b in h) + '"' for h in hashes) + "\n}\n")
PY
cat "$work/hashes.lua" > "$work/announce.lua"
cat >> "$work/announce.lua" <<'LUA'
-- Each request: one of 100 000 peers, each a member of one of the 1000
-- swarms (so at most 100 000 peers are live), with a random port.
math.randomseed(os.time())
request = function()
    local n = math.random(0, 99999)
    local h = hashes[n % #hashes + 1]
    local peer = string.format("-WR0001-%012d", n)
    local path = "/announce?info_hash=" .. h .. "&peer_id=" .. peer .. "&port=" .. math.random(1024, 65000)
        .. "&uploaded=0&downloaded=0&left=1000&compact=1&numwant=50"
    return wrk.format("GET", path, headers)
end
LUA

# The server behind each port, for its CPU time per request.
declare -A pid_of
run_wrk() { # name url extra-args...
    local name="$1" url="$2"; shift 2
    local out pid="${pid_of[${url##*:}]}" user0 system0 user1 system1
    read -r user0 system0 < <(cpu_ticks "$pid")
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/announce.lua" "$@" "$url" 2>&1)
    read -r user1 system1 < <(cpu_ticks "$pid")
    local rps p99 errors requests
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    echo "$rps" > "$work/$name.rps"
    echo "tracker.$name.requests_per_s: $rps"
    echo "tracker.$name.p99: $p99"
    # CPU the server spent per request answered (user, then kernel): on
    # cores shared with wrk, what decides the rate.
    echo "tracker.$name.user_us_per_request: $(awk -v t=$((user1 - user0)) -v r="$requests" 'BEGIN {printf "%.1f", t * 1e4 / r}')"
    echo "tracker.$name.system_us_per_request: $(awk -v t=$((system1 - system0)) -v r="$requests" 'BEGIN {printf "%.1f", t * 1e4 / r}')"
    [ -z "$errors" ] || echo "tracker.$name.errors: $errors"
}

opentracker -i 127.0.0.1 -p 17701 -P 17701 -d / -w "$work/whitelist" >/dev/null 2>&1 &
pids+=($!)
pid_of[17701]=$!
"$bin" tracker --listen 127.0.0.1:17702 -v 0 >/dev/null 2>&1 &
mt_pid=$!
pids+=($mt_pid)
pid_of[17702]=$mt_pid
# The same with one event loop: on this 2-core box wrk takes the other core.
"$bin" tracker --listen 127.0.0.1:17703 --threads 1 -v 0 >/dev/null 2>&1 &
pids+=($!)
pid_of[17703]=$!
if [ -n "${BASELINE:-}" ]; then
    "$BASELINE" tracker --listen 127.0.0.1:17704 -v 0 >/dev/null 2>&1 &
    pids+=($!)
    pid_of[17704]=$!
fi
for port in 17701 17702 17703 ${BASELINE:+17704}; do
    wait_port "$port" 20 || { echo "tracker.error: nothing listens on $port" >&2; exit 1; }
done

run_wrk opentracker.close http://127.0.0.1:17701 -H "Connection: close"
run_wrk microtorr.close http://127.0.0.1:17702 -H "Connection: close"
[ -z "${BASELINE:-}" ] || run_wrk baseline.close http://127.0.0.1:17704 -H "Connection: close"
run_wrk microtorr_1thread.close http://127.0.0.1:17703 -H "Connection: close"
run_wrk opentracker.keepalive http://127.0.0.1:17701
run_wrk microtorr.keepalive http://127.0.0.1:17702
[ -z "${BASELINE:-}" ] || run_wrk baseline.keepalive http://127.0.0.1:17704
run_wrk microtorr_1thread.keepalive http://127.0.0.1:17703

ratio() { awk -v a="$(cat "$work/$1.rps")" -v b="$(cat "$work/$2.rps")" 'BEGIN {printf "%.2f", a / b}'; }
echo "tracker.microtorr_vs_opentracker.close: $(ratio microtorr.close opentracker.close)"
echo "tracker.microtorr_1thread_vs_opentracker.close: $(ratio microtorr_1thread.close opentracker.close)"
echo "tracker.microtorr_vs_opentracker.keepalive: $(ratio microtorr.keepalive opentracker.keepalive)"
[ -z "${BASELINE:-}" ] || echo "tracker.microtorr_vs_baseline.close: $(ratio microtorr.close baseline.close)"

peers=$(curl -s http://127.0.0.1:17702/metrics | awk '/^microtorr_tracker_peers / {printf "%d", $2}')
rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$mt_pid/status")
ot_rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/${pids[0]}/status")
echo "tracker.microtorr.live_peers: $peers"
echo "tracker.microtorr.rss_mib: $rss"
echo "tracker.opentracker.rss_mib: $ot_rss"
