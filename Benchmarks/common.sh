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
