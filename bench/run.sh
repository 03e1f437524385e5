#!/usr/bin/env bash
# Runs the benchmarks of `make bench`: the JS peers first (when node and the interop packages
# are present), then the C bench, which prints the table and writes bench-results.json in the
# repository root with every figure next to its reference.
#
#   bash bench/run.sh [BUILD_DIR]       (default build-bench, relative to the repo root)
#
# Exits non-zero when either program fails; missed goals are printed, not failures.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build-bench}"
[[ "$build" = /* ]] || build="$root/$build"
bin="$build/authwire-bench"
out="$root/bench-results.json"
js_out="$build/bench-js.json"
js_timeout="${AW_BENCH_JS_TIMEOUT:-90}"

if [[ ! -x "$bin" ]]; then
    echo "bench: $bin not found; build it first (make bench)" >&2
    exit 1
fi

# The machine, for the record (docs/PERFORMANCE.md quotes these lines).
cpu_model="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
if grep -qw sha_ni /proc/cpuinfo 2>/dev/null; then sha_ni=yes; else sha_ni=no; fi
echo "bench: machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, SHA-NI: $sha_ni," \
    "$(openssl version 2>/dev/null || echo 'openssl CLI missing'), load $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
js_args=()
if ! command -v node >/dev/null 2>&1; then
    js_args=(--js-unavailable "node is not installed")
elif [[ ! -d "$root/interop/node_modules" ]]; then
    js_args=(--js-unavailable "interop/node_modules is missing (run scripts/install-npm.sh)")
elif [[ ! -f "$root/interop/bench-js.js" ]]; then
    js_args=(--js-unavailable "interop/bench-js.js does not exist")
else
    echo "bench: JS peers: node $(node --version) interop/bench-js.js (timeout ${js_timeout}s)"
    rm -f "$js_out"
    if (cd "$root" && timeout "$js_timeout" node interop/bench-js.js) >"$js_out"; then
        js_args=(--js "$js_out")
        echo "bench: JS peers: $(tr -d '\n' <"$js_out")"
    else
        rc=$?
        echo "bench: FAILED: node interop/bench-js.js exited with status $rc" >&2
        js_args=(--js-unavailable "node interop/bench-js.js failed (status $rc)")
        status=1
    fi
fi

echo "bench: $bin"
if ! (cd "$root" && "$bin" --out "$out" "${js_args[@]}"); then
    echo "bench: FAILED: authwire-bench" >&2
    status=1
fi

# The gateway under wrk, against nginx; appends its rows to the same results file.
if ! bash "$root/bench/gateway.sh" "$build" "$out"; then
    echo "bench: FAILED: bench/gateway.sh" >&2
    status=1
fi
# Enrollment: committed enrollments per second against a live gateway.
if ! bash "$root/bench/enroll.sh" "$build" "$out"; then
    echo "bench: FAILED: bench/enroll.sh" >&2
    status=1
fi
exit "$status"
