#!/usr/bin/env bash
# Many small pieces: SIZE_MIB (256) of data in PIECE (16K) pieces (16 384 of
# them), a libtorrent seeder on loopback -> our leecher and -> a libtorrent
# leecher, in turn (ours first in odd rounds, last in even ones), ROUNDS (3)
# each after one unscored round each;
# medians of leecher wall time and CPU. BASELINE=<an older microtorr>
# adds its leecher to the rotation. The piece count, not the size, is what
# this measures: per-piece work (picking, hashing, `have`s) at its worst.
#   SIZE_MIB=256 PIECE=16K ROUNDS=3 [BASELINE=…] Benchmarks/pieces.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB="${SIZE_MIB:-256}"
PIECE="${PIECE:-16K}"
ROUNDS="${ROUNDS:-3}"
source Benchmarks/common.sh
ensure_packages "time:test -x /usr/bin/time" "python3-libtorrent:/usr/bin/python3 -c 'import libtorrent'"
bin="$(release_binary)"
tool="$PWD/Tests/Interop/libtorrent_tool.py"
make_work_with_pids
cd "$work"
mkdir seed
make_seed_file "$SIZE_MIB" seed/data.bin
"$bin" create seed/data.bin --no-id-hash --piece-length "$PIECE" -o t.torrent -v 0 > create.out
pieces=$(grep -o '[0-9]* pieces' create.out | cut -d' ' -f1) || { echo "pieces.error: no piece count from create" >&2; exit 1; }
if port_open 17905; then echo "pieces.error: port 17905 is taken (a leftover run?)" >&2; exit 1; fi
/usr/bin/python3 "$tool" seed t.torrent seed 17905 > lt-seed.out 2>&1 &
pids+=($!)
disown  # killed at exit, without the shell's "Killed" line
wait_ready lt-seed.out || { echo "pieces.error: the libtorrent seeder never got ready" >&2; exit 1; }

# Each leecher's rounds go to NAME.* (the unscored one to warmup_NAME.*).
ours() { leech "${1}microtorr" pieces.microtorr_from_libtorrent timeout 600 "$bin" download t.torrent -o out --peer 127.0.0.1:17905 --exit-on-complete -v 0 || true; }
others() {
    leech "${1}libtorrent" pieces.libtorrent_from_libtorrent /usr/bin/python3 "$tool" leech t.torrent out 127.0.0.1:17905 600 || true
    [ -z "${BASELINE:-}" ] || leech "${1}baseline" pieces.baseline_from_libtorrent \
        timeout 600 "$BASELINE" download t.torrent -o out --peer 127.0.0.1:17905 --exit-on-complete -v 0 || true
}
ours warmup_; others warmup_
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then ours ""; others ""; else others ""; ours ""; fi
done
echo "pieces.size_mib: $SIZE_MIB"
echo "pieces.piece_count: $pieces"
echo "pieces.page_cache_dropped: $cache_dropped"
for name in microtorr libtorrent ${BASELINE:+baseline}; do
    [ -s "$name.times" ] || { echo "pieces.${name}_from_libtorrent.error: no valid round"; continue; }
    echo "pieces.${name}_from_libtorrent.seconds: $(median < "$name.times")"
    echo "pieces.${name}_from_libtorrent.each_seconds: $(paste -sd/ "$name.times")"
    echo "pieces.${name}_from_libtorrent.leecher_cpu_seconds: $(median < "$name.cpu")"
done
for other in libtorrent ${BASELINE:+baseline}; do
    [ -s microtorr.times ] && [ -s "$other.times" ] || continue
    echo "pieces.microtorr_vs_${other}_speed: $(speedup microtorr.times "$other.times")"
done
