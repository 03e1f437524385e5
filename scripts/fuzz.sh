#!/usr/bin/env bash
# Runs every libFuzzer target of a build for a bounded time, starting from the committed
# seed corpus (copied, so new inputs never dirty the checkout). Fails on any crash.
set -euo pipefail
build=${1:?usage: fuzz.sh BUILD_DIR SECONDS}
seconds=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
targets=("$build"/fuzz/*-libfuzzer)
if ((${#targets[@]} == 0)); then
    echo "fuzz: no libFuzzer targets in $build/fuzz" >&2
    exit 1
fi
for bin in "${targets[@]}"; do
    name=$(basename "$bin" -libfuzzer)
    work=$(mktemp -d)
    cp -r "$root/fuzz/corpus/$name/." "$work/"
    echo "fuzz: $name for ${seconds}s"
    mkdir -p "$root/fuzz/artifacts"
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$root/fuzz/artifacts/$name-" "$work" 2>&1 | tail -n 3
    rm -rf "$work"
done
echo "fuzz: all targets ran without a crash"
