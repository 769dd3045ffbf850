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
head -c "$((SIZE_MIB << 20))" /dev/urandom > seed/data.bin
"$bin" create seed/data.bin --no-id-hash --piece-length "$PIECE" -o t.torrent -v 0 > create.out
pieces=$(grep -o '[0-9]* pieces' create.out | cut -d' ' -f1) || { echo "pieces.error: no piece count from create" >&2; exit 1; }
if port_open 17905; then echo "pieces.error: port 17905 is taken (a leftover run?)" >&2; exit 1; fi
/usr/bin/python3 "$tool" seed t.torrent seed 17905 > lt-seed.out 2>&1 &
pids+=($!)
disown  # killed at exit, without the shell's "Killed" line
wait_ready lt-seed.out || { echo "pieces.error: the libtorrent seeder never got ready" >&2; exit 1; }

leech() { # name scored command...
    local name="$1" scored="$2" secs user system; shift 2
    fresh_out
    /usr/bin/time -o time.out -f "%e %U %S" "$@" > /dev/null 2>&1 || true
    # (The last line: GNU time first notes a non-zero exit status.)
    read -r secs user system < <(tail -n1 time.out)
    if ! cmp -s seed/data.bin out/data.bin; then echo "pieces.$name.error: data differs"; return 0; fi
    [ "$scored" = yes ] || return 0
    echo "$secs" >> "$name.times"
    echo "$user $system" | awk '{print $1 + $2}' >> "$name.cpu"
}
ours() { leech microtorr "$1" timeout 600 "$bin" download t.torrent -o out --peer 127.0.0.1:17905 --exit-on-complete -v 0; }
others() {
    leech libtorrent "$1" /usr/bin/python3 "$tool" leech t.torrent out 127.0.0.1:17905 600
    [ -z "${BASELINE:-}" ] || leech baseline "$1" timeout 600 "$BASELINE" download t.torrent -o out --peer 127.0.0.1:17905 --exit-on-complete -v 0
}
ours no; others no
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then ours yes; others yes; else others yes; ours yes; fi
done
echo "pieces.size_mib: $SIZE_MIB"
echo "pieces.piece_count: $pieces"
for name in microtorr libtorrent ${BASELINE:+baseline}; do
    [ -s "$name.times" ] || { echo "pieces.$name.error: no valid round"; continue; }
    echo "pieces.${name}_from_libtorrent.seconds: $(median < "$name.times")"
    echo "pieces.${name}_from_libtorrent.each_seconds: $(paste -sd/ "$name.times")"
    echo "pieces.${name}_from_libtorrent.leecher_cpu_seconds: $(median < "$name.cpu")"
done
if [ -s microtorr.times ] && [ -s libtorrent.times ]; then
    echo "pieces.microtorr_vs_libtorrent_speed: $(awk -v a="$(median < microtorr.times)" -v b="$(median < libtorrent.times)" 'BEGIN {printf "%.2f", b / a}')"
fi
if [ -n "${BASELINE:-}" ] && [ -s microtorr.times ] && [ -s baseline.times ]; then
    echo "pieces.microtorr_vs_baseline_speed: $(awk -v a="$(median < microtorr.times)" -v b="$(median < baseline.times)" 'BEGIN {printf "%.2f", b / a}')"
fi
