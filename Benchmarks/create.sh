#!/usr/bin/env bash
# `microtorr create` vs `mktorrent -l 18 -t 2` vs python3-libtorrent
# set_piece_hashes on one file (default 1 GiB, in the page cache), 256 KiB
# pieces, interleaved rounds; median wall time and peak RSS of each.
# Then peak RSS of `microtorr create` on a much larger sparse file, to show
# memory does not grow with the input.
#   SIZE_MIB=1024 ROUNDS=5 BIG_GIB=16 Benchmarks/create.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB="${SIZE_MIB:-1024}"
ROUNDS="${ROUNDS:-5}"
BIG_GIB="${BIG_GIB:-16}"

source Benchmarks/common.sh
ensure_packages "mktorrent:command -v mktorrent" "time:test -x /usr/bin/time" "python3-libtorrent:/usr/bin/python3 -c 'import libtorrent'"
bin="$(release_binary)"

make_work_with_pids
cd "$work"
head -c "$((SIZE_MIB << 20))" /dev/urandom > data.bin
cat data.bin > /dev/null   # into the page cache: measure hashing, not the disk
cat > lt_create.py <<'PY'
import libtorrent as lt, sys
fs = lt.file_storage(); lt.add_files(fs, "data.bin")
ct = lt.create_torrent(fs, 262144, flags=lt.create_torrent.v1_only)
lt.set_piece_hashes(ct, ".")
open(sys.argv[1], "wb").write(lt.bencode(ct.generate()))
PY

declare -A commands=(
    [mktorrent]="mktorrent -l 18 -t 2 -o mk.torrent data.bin"
    [libtorrent]="/usr/bin/python3 lt_create.py lt.torrent"
    [microtorr]="$bin create data.bin --piece-length 256K --threads 2 -o mt.mtorrent -v 0"
    [microtorr_no_id_hash]="$bin create data.bin --piece-length 256K --threads 2 --no-id-hash -o mt2.mtorrent -v 0"
)
order=(mktorrent libtorrent microtorr microtorr_no_id_hash)
declare -A times rss
for ((round = 0; round < ROUNDS; round++)); do
    for name in "${order[@]}"; do
        rm -f mk.torrent lt.torrent mt.mtorrent mt2.mtorrent
        /usr/bin/time -o time.out -f "%e %M" ${commands[$name]} >/dev/null 2>&1
        out=$(tail -1 time.out)
        times[$name]+="${out%% *} "
        rss[$name]+="${out##* } "
    done
done
echo "create.size_mib: $SIZE_MIB"
echo "create.rounds: $ROUNDS"
for name in "${order[@]}"; do
    t=$(echo "${times[$name]}" | median)
    r=$(echo "${rss[$name]}" | median)
    echo "create.$name.wall_s: $t"
    echo "create.$name.mb_per_s: $(awk -v s="$SIZE_MIB" -v t="$t" 'BEGIN {printf "%.0f", s * 1.048576 / t}')"
    echo "create.$name.peak_rss_mib: $(awk -v k="$r" 'BEGIN {printf "%.1f", k / 1024}')"
done
tm=$(echo "${times[mktorrent]}" | median)
for name in libtorrent microtorr microtorr_no_id_hash; do
    t=$(echo "${times[$name]}" | median)
    echo "create.speedup_vs_mktorrent.$name: $(awk -v a="$tm" -v b="$t" 'BEGIN {printf "%.2f", a / b}')"
done

# Memory against input size: a sparse file reads as zeros at memory speed.
rm -f data.bin
truncate -s "${BIG_GIB}G" big.bin
/usr/bin/time -o time.out -f "%e %M" "$bin" create big.bin --threads 2 -o big.mtorrent -v 0 >/dev/null 2>&1
out=$(tail -1 time.out)
echo "create.sparse_${BIG_GIB}gib.wall_s: ${out%% *}"
echo "create.sparse_${BIG_GIB}gib.peak_rss_mib: $(awk -v k="${out##* }" 'BEGIN {printf "%.1f", k / 1024}')"
