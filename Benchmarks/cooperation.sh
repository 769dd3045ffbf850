#!/usr/bin/env bash
# Cooperation (issue 5): a seeder capped at 3000 kB/s, two leechers, 60 MiB,
# on loopback. ratio = time until both leechers complete / (size / seeder
# rate): 1.0 is a perfect swarm. seeder_sent_ratio = bytes the seeder sent /
# size. microtorr through `microtorr demo` (tracker included); libtorrent
# with its peers connected directly and its peer class filter set so the
# limit applies on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE_KBPS="${RATE_KBPS:-3000}"
SIZE_MB="${SIZE_MB:-63}"   # 63 MB = 60.08 MiB
source Benchmarks/common.sh
ensure_packages "python3-libtorrent:/usr/bin/python3 -c 'import libtorrent'"
bin="$(release_binary)"
make_work_with_pids

demo="$("$bin" demo --size "$SIZE_MB" -u "$RATE_KBPS" --keep -v 0)"
kept="$(sed -n 's/^files kept in //p' <<<"$demo")"
sed -n 's/^both leechers complete after \([0-9.]*\) s;.*ratio \([0-9.]*\) .*/cooperation.microtorr.seconds: \1\ncooperation.microtorr.ratio: \2/p' <<<"$demo"
sed -n 's/^seeder sent: .* = \([0-9.]*\)× the file$/cooperation.microtorr.seeder_sent_ratio: \1/p' <<<"$demo"
sed -n 's/^leecher \([12]\): .*(\([0-9]*\)% of what it received)$/cooperation.microtorr.leecher_\1_from_other_leecher_percent: \2/p' <<<"$demo"

# The same file and torrent for libtorrent.
/usr/bin/python3 Benchmarks/cooperation_libtorrent.py "$kept/demo.mtorrent" "$kept/seeder" "$work" "$((RATE_KBPS * 1000))"
rm -rf "$kept"
