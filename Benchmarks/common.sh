# Shared by the benchmark scripts (sourced, not run).

source scripts/ensure-packages.sh

# The release binary, built if needed.
release_binary() {
    swift build -c release --product microtorr >/dev/null
    echo "$PWD/.build/release/microtorr"
}

# Whether something accepts connections on 127.0.0.1:PORT.
port_open() { (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until 127.0.0.1:PORT accepts, at most SECONDS (60); false if never.
wait_port() {
    local tries=$(( ${2:-60} * 10 ))
    for _ in $(seq "$tries"); do port_open "$1" && return 0; sleep 0.1; done
    return 1
}

# User and system CPU ticks (1/100 s) a process has used so far.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

# Median of the numbers on stdin, separated by newlines or spaces.
median() { tr -s ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# A new file of $1 MiB of random bytes at $2, dropped from the page cache
# (as root; $cache_dropped says yes or no) so the seeder reads it as it
# would an older file: right after it was written, libtorrent's leecher
# paid ~0.6 s more system time per 1 GiB round (1.81 vs 1.16 s median,
# session 13), which flattered our ratio (1.75x vs 1.47x).
make_seed_file() {
    head -c "$(($1 << 20))" /dev/urandom > "$2"
    cache_dropped=no
    if sync && echo 3 2>/dev/null > /proc/sys/vm/drop_caches; then cache_dropped=yes; fi
}

# A fresh scratch directory in $work, and $pids: processes killed at exit
# (their children first: `time` wraps some) before $work is removed.
make_work_with_pids() {
    work="$(mktemp -d /tmp/microtorr-bench-XXXXXX)"
    pids=()
    trap 'for pid in "${pids[@]}"; do pkill -9 -P "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
}

# Waits until FILE says "ready" (at most 60 s); false if it never does.
wait_ready() { for _ in $(seq 600); do grep -q ready "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# An empty output folder, and `sync` first: the previous run's dirty data
# must not be written back during the next one.
fresh_out() { rm -rf out && mkdir out && sync; }

# One leecher run into an empty `out` (its stdout in leech.out): records
# its wall time, peak RSS, CPU (user + system, and system alone) and minor
# faults in PREFIX.* when out/data.bin equals seed/data.bin; false, saying
# so as NAME.error, when it does not.
leech() { # prefix name command...
    local prefix="$1" name="$2" secs rss user system faults; shift 2
    fresh_out
    /usr/bin/time -o time.out -f "%e %M %U %S %R" "$@" > leech.out || true
    # (The last line: GNU time first notes a non-zero exit status.)
    read -r secs rss user system faults < <(tail -n1 time.out)
    if ! cmp -s seed/data.bin out/data.bin; then echo "$name.error: data differs"; return 1; fi
    echo "$secs" >> "$prefix.times"; echo "$rss" >> "$prefix.rss"; echo "$faults" >> "$prefix.faults"
    echo "$system" >> "$prefix.system"; echo "$user $system" | awk '{print $1 + $2}' >> "$prefix.cpu"
}

# How many times faster the runs timed in A are than those in B (medians).
speedup() { awk -v a="$(median < "$1")" -v b="$(median < "$2")" 'BEGIN {printf "%.2f", b / a}'; }
