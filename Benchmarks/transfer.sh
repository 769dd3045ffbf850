#!/usr/bin/env bash
# One seeder -> one leecher on loopback, 1 GiB (SIZE_MIB), side by side in
# one run: leecher wall time from start to verified data on disk, MB/s, and
# peak RSS of seeder and leecher.
#   libtorrent seeder -> microtorr leecher  } ROUNDS times (default 5), in
#   libtorrent seeder -> libtorrent leecher } alternating order, after
#                                             WARMUP (2) unscored rounds each; medians,
#                                             and their ratio
#   libtorrent seeder -> aria2c leecher
#   microtorr seeder  -> microtorr leecher
# and our leecher's disk writes (count, mean size), BASELINE's too if given.
# Shared 2-core machines are noisy and a fresh seeder serves its first
# leecher slower, so single runs mislead: whoever went first lost.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB="${SIZE_MIB:-1024}"
ROUNDS="${ROUNDS:-5}"
WARMUP="${WARMUP:-2}"
source Benchmarks/common.sh
ensure_packages "aria2:command -v aria2c" "time:test -x /usr/bin/time" "strace:command -v strace" "python3-libtorrent:/usr/bin/python3 -c 'import libtorrent'"
bin="$(release_binary)"
tool="$PWD/Tests/Interop/libtorrent_tool.py"
make_work_with_pids
cd "$work"
mkdir seed
make_seed_file "$SIZE_MIB" seed/data.bin
"$bin" create seed/data.bin --no-id-hash --piece-length 1M -t http://127.0.0.1:17960/announce -o t.torrent -v 0 >/dev/null

# A leftover seeder on one of the ports (a stale run's) would serve another
# torrent, or share the port: the leechers would wait out their timeouts.
for port in 17901 17902 17903 17950 17960; do
    if port_open "$port"; then echo "transfer.error: port $port is taken (a leftover run?)" >&2; exit 1; fi
done
report() { # name seconds rss_kib
    echo "transfer.$1.seconds: $2"
    echo "transfer.$1.mb_per_s: $(awk -v s="$SIZE_MIB" -v t="$2" 'BEGIN {printf "%.0f", s * 1.048576 / t}')"
    [ -z "${3:-}" ] || echo "transfer.$1.leecher_peak_rss_mib: $(awk -v k="$3" 'BEGIN {printf "%.1f", k / 1024}')"
}

# A libtorrent seeder on port 17901 that announces nowhere: the leechers
# are given it, and the torrent's tracker is not running during the rounds
# (our leecher's announces are refused at once; libtorrent's leecher drops
# its trackers), so nothing but the seeder and the leecher is at work.
/usr/bin/python3 "$tool" seed t.torrent seed 17901 > lt-seed.out 2>&1 &
pids+=($!)
seed_index=$((${#pids[@]} - 1))
wait_ready lt-seed.out

ours_from_libtorrent() { # prefix
    leech "$1" transfer.microtorr_from_libtorrent \
        timeout 600 "$bin" download t.torrent -o out --peer 127.0.0.1:17901 --exit-on-complete -v 0 || true
}
libtorrent_from_libtorrent() { # prefix
    # Wall time of the whole process, as for our rows (start-up, transfer
    # and flush); its own in-session figure (no start-up, no flush) beside it.
    if leech "$1" transfer.libtorrent_from_libtorrent /usr/bin/python3 "$tool" leech t.torrent out 127.0.0.1:17901 600; then
        /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds"])' < leech.out >> "$1.session"
    fi
}
# WARMUP unscored rounds each first (default 2), printed apart. Right after
# the 1 GiB data file is made, a leecher that writes through the page cache
# (libtorrent) pays several times its usual system time (the warm-up lines
# show it); scoring those rounds flattered us, and the ratio depended on how
# fresh the machine was.
touch ours.times lt.times lt.session warmup_ours.times warmup_lt.times
for _ in $(seq "$WARMUP"); do ours_from_libtorrent warmup_ours; libtorrent_from_libtorrent warmup_lt; done
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then ours_from_libtorrent ours; libtorrent_from_libtorrent lt
    else libtorrent_from_libtorrent lt; ours_from_libtorrent ours; fi
done
ours=$(median < ours.times)
lt=$(median < lt.times)
report microtorr_from_libtorrent "$ours" "$(sort -n ours.rss | tail -1)"
report libtorrent_from_libtorrent "$lt" "$(sort -n lt.rss | tail -1)"
echo "transfer.libtorrent_from_libtorrent.in_session_seconds: $(median < lt.session)"
# CPU (user + system) of each leecher process: on 2 cores shared with the
# seeder, what a leecher spends is what the seeder cannot.
echo "transfer.microtorr_from_libtorrent.leecher_cpu_seconds: $(median < ours.cpu)"
echo "transfer.libtorrent_from_libtorrent.leecher_cpu_seconds: $(median < lt.cpu)"
echo "transfer.microtorr_from_libtorrent.leecher_system_seconds: $(median < ours.system)"
echo "transfer.libtorrent_from_libtorrent.leecher_system_seconds: $(median < lt.system)"
# Minor page faults: memory taken afresh from the kernel (each costs system time).
echo "transfer.microtorr_from_libtorrent.leecher_minor_faults: $(median < ours.faults)"
echo "transfer.libtorrent_from_libtorrent.leecher_minor_faults: $(median < lt.faults)"
echo "transfer.page_cache_dropped: $cache_dropped"
echo "transfer.rounds: $ROUNDS"
echo "transfer.warmup_rounds: $WARMUP"
# A round with wrong data is left out (reported above): say how many counted.
echo "transfer.microtorr_from_libtorrent.rounds_counted: $(wc -l < ours.times)"
echo "transfer.libtorrent_from_libtorrent.rounds_counted: $(wc -l < lt.times)"
if [ ! -s ours.times ] || [ ! -s lt.times ]; then echo "transfer.error: no valid round for one side" >&2; exit 1; fi
echo "transfer.microtorr_from_libtorrent.each_seconds: $(paste -sd/ ours.times)"
echo "transfer.libtorrent_from_libtorrent.each_seconds: $(paste -sd/ lt.times)"
# This VM's balloon reports freed memory to the host (free page reporting),
# so memory touched afresh, as libtorrent's page-cache writes do, sometimes
# costs several times the usual system time: printed per round.
echo "transfer.microtorr_from_libtorrent.each_system_seconds: $(paste -sd/ ours.system)"
echo "transfer.libtorrent_from_libtorrent.each_system_seconds: $(paste -sd/ lt.system)"
for side in ours:microtorr_from_libtorrent lt:libtorrent_from_libtorrent; do
    [ -s "warmup_${side%%:*}.times" ] || continue
    echo "transfer.${side#*:}.warmup_each_seconds: $(paste -sd/ "warmup_${side%%:*}.times")"
    echo "transfer.${side#*:}.warmup_each_system_seconds: $(paste -sd/ "warmup_${side%%:*}.system")"
done
echo "transfer.microtorr_vs_libtorrent_speed: $(speedup ours.times lt.times)"

# Our leecher's writes to disk for one download: one more round, unscored,
# under strace (only the write calls stop it). A direct write has a fixed
# cost on the device, so their number matters more than their size.
# BASELINE=<another microtorr binary> traces that one too.
trace_writes() { # name binary
    fresh_out
    strace -f --seccomp-bpf -e trace=pwrite64,pwritev -o writes.trace \
        timeout 600 "$2" download t.torrent -o out --peer 127.0.0.1:17901 --exit-on-complete -v 0 >/dev/null 2>&1 || true
    if ! cmp -s seed/data.bin out/data.bin; then echo "transfer.$1.error: data differs (traced round)"; return; fi
    awk -v name="$1" '/pwrite/ && / = [0-9]+$/ { n++; bytes += $NF; if ($NF < 262144) small++ }
        END { printf "transfer.%s.disk_writes: %d\n", name, n
              printf "transfer.%s.disk_write_mean_kib: %.0f\n", name, n ? bytes / n / 1024 : 0
              printf "transfer.%s.disk_writes_under_256kib: %d\n", name, small }' writes.trace
}
trace_writes microtorr_from_libtorrent "$bin"
[ -z "${BASELINE:-}" ] || trace_writes baseline_from_libtorrent "$BASELINE"

# aria2c cannot be given a peer: it finds a libtorrent seeder (a new one,
# announcing) through our tracker. Timed until its control file is gone
# (every piece verified and written); it lingers ~2 s after that to
# announce `stopped`.
kill -9 "${pids[$seed_index]}" 2>/dev/null || true
"$bin" tracker --listen 127.0.0.1:17960 -v 0 >/dev/null 2>&1 &
tracker_pid=$!
pids+=($tracker_pid)
wait_port 17960 || { echo "transfer.error: the tracker did not start" >&2; exit 1; }
/usr/bin/python3 "$tool" seed t.torrent seed 17903 announce > lt-seed2.out 2>&1 &
pids+=($!)
seed_index=$((${#pids[@]} - 1))
wait_ready lt-seed2.out
fresh_out
start=$(date +%s.%N)
/usr/bin/time -o time.out -f "%e %M" aria2c --seed-time=0 --file-allocation=none --bt-enable-lpd=false --enable-dht=false \
    --enable-peer-exchange=false --listen-port=17950 --dir=out --quiet=true t.torrent >/dev/null 2>&1 &
aria_pid=$!
pids+=($aria_pid)
deadline=$(( $(date +%s) + 300 ))
while kill -0 $aria_pid 2>/dev/null && [ "$(date +%s)" -lt $deadline ]; do
    if [ -f out/data.bin ] && [ ! -f out/data.bin.aria2 ]; then break; fi
    sleep 0.02
done
aria_secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
pkill -TERM -P $aria_pid 2>/dev/null || true   # done: skip its 2 s goodbye (signal aria2c, not `time`)
wait $aria_pid || true
rss=$(tail -n1 time.out 2>/dev/null | awk '{print $2}' || true)
if cmp -s seed/data.bin out/data.bin; then report aria2c_from_libtorrent "$aria_secs" "$rss"
else echo "transfer.aria2c_from_libtorrent.error: incomplete after ${aria_secs}s"; fi

# Ours to ours meets no one else either: seeder and tracker go.
kill -9 "${pids[$seed_index]}" "$tracker_pid" 2>/dev/null || true

# Our seeder -> our leecher.
/usr/bin/time -o seed-time.out -f "%e %M" "$bin" download t.torrent -s seed/data.bin -p 17902 -v 0 > /dev/null 2>&1 &
seed_pid=$!
pids+=($seed_pid)
wait_port 17902 || { echo "transfer.error: our seeder did not start" >&2; exit 1; }
fresh_out
/usr/bin/time -o time.out -f "%e %M" timeout 600 "$bin" download t.torrent -o out --peer 127.0.0.1:17902 --exit-on-complete -v 0 >/dev/null
read -r secs rss < <(tail -n1 time.out)
cmp -s seed/data.bin out/data.bin || echo "transfer.microtorr_from_microtorr.error: data differs"
report microtorr_from_microtorr "$secs" "$rss"
pkill -TERM -P $seed_pid; wait $seed_pid 2>/dev/null || true
read -r _ seed_rss < <(tail -n1 seed-time.out)
echo "transfer.microtorr_seeder.peak_rss_mib: $(awk -v k="$seed_rss" 'BEGIN {printf "%.1f", k / 1024}')"
