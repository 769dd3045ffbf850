# Sourced by scripts/test, Benchmarks/common.sh and packaging/ (not run).
#
# ensure_packages PKG:CHECK ... — apt-get installs each Debian package whose
# check command fails (with sudo when not root).
ensure_packages() {
    local missing=() spec
    for spec in "$@"; do
        eval "${spec#*:}" >/dev/null 2>&1 || missing+=("${spec%%:*}")
    done
    ((${#missing[@]})) || return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
