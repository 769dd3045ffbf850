# Shared by the benchmark scripts (sourced, not run).

# ensure_packages PKG:CHECK ... — apt-get installs each package whose check
# command fails.
ensure_packages() {
    local missing=() spec
    for spec in "$@"; do
        eval "${spec#*:}" >/dev/null 2>&1 || missing+=("${spec%%:*}")
    done
    if ((${#missing[@]})); then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# The release binary, built if needed.
release_binary() {
    swift build -c release --product microtorr >/dev/null
    echo "$PWD/.build/release/microtorr"
}
