# Shared by the benchmark scripts (sourced, not run).

source scripts/ensure-packages.sh

# The release binary, built if needed.
release_binary() {
    swift build -c release --product microtorr >/dev/null
    echo "$PWD/.build/release/microtorr"
}
