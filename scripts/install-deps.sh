#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the benchmarks need, once.
# Idempotent: does nothing when every package is already present. Runs apt-get as root.
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang llvm libclang-rt-dev lld
    libssl-dev openssl libevent-dev libcurl4-openssl-dev libsqlite3-dev sqlite3 libqrencode-dev
    nodejs npm jq clang-format gnuplot-nox
    socat curl wrk nginx-light valgrind
    # tests/mitmproxy.sh: a man in the middle not written here (Debian's, Python 3.11 and its
    # own python3-* modules; mitmdump runs on /usr/bin/python3 whatever python3 is on PATH)
    mitmproxy
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

# node and npm may come from outside Debian (already on PATH); do not fight them.
if command -v node >/dev/null && command -v npm >/dev/null; then
    filtered=()
    for p in "${missing[@]}"; do
        [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p")
    done
    missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]} == 0)); then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
apt-get install -y -qq "${missing[@]}"
