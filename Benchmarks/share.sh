#!/usr/bin/env bash
# Sharing (issue 6): drop-to-announced latency of `microtorr daemon` for a
# 1 MB and a 1 GiB file (beside mktorrent hashing the same file: the floor
# any sharer pays), then start-up with 10 000 small files already in the
# share directory: first start (all hashed) and restart (none hashed), wall
# time until every one is seeding, peak RSS, and the SIGTERM stop time.
# Prints `name: value` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/common.sh
ensure_packages "mktorrent:command -v mktorrent" "curl:command -v curl"
bin="$(release_binary)"
make_work_with_pids
/usr/bin/python3 Benchmarks/share_latency.py "$bin" "$work" "${FILES:-10000}"
