#!/usr/bin/env bash
# The MAC lab's deliberately weak constructions (prefix MAC, raw CBC-MAC, reused one-time
# keys, truncated hashes) must never be linked into libauthwire, the authwire client or the
# authwired gateway (DESIGN.md; STYLE.md "house format"). Every lab symbol starts with awlab_
# (src/lab/lab.h), so `nm` tells: none may appear in libauthwire.a, the other layer
# libraries, the authwire binary or authwired (when built), and they must appear in
# authwire-lab and its core library, or this check could never fail.
set -uo pipefail
aw=${AUTHWIRE:?AUTHWIRE must point at the authwire binary}
build=$(dirname "$aw")
fail=0 pass=0
command -v nm >/dev/null || { echo "FATAL: nm is missing (binutils)"; exit 1; }

lab_symbols() { # prints the defined awlab_ symbols of a binary or archive
    nm --defined-only "$1" 2>/dev/null | awk '$3 ~ /^awlab_/ { print $3 }' | sort -u
}
must_be_clean() {
    local f=$1 syms
    if [[ ! -e "$f" ]]; then
        fail=$((fail + 1)); echo "FAIL: $f is missing"; return
    fi
    syms=$(lab_symbols "$f")
    if [[ -n "$syms" ]]; then
        fail=$((fail + 1))
        echo "FAIL: $(basename "$f") contains lab symbols: $(echo "$syms" | head -5 | tr '\n' ' ')"
    else
        pass=$((pass + 1)); echo "ok: $(basename "$f") has no awlab_ symbol"
    fi
    # The lab's narration strings must not be there either (a copy under another name).
    if grep -aq "Feistel-AES" "$f"; then
        fail=$((fail + 1)); echo "FAIL: $(basename "$f") contains the lab's strings"
    fi
}
must_have() {
    local f=$1 n
    if [[ ! -e "$f" ]]; then
        fail=$((fail + 1)); echo "FAIL: $f is missing"; return
    fi
    n=$(lab_symbols "$f" | wc -l)
    if [[ $n -lt 10 ]]; then
        fail=$((fail + 1)); echo "FAIL: $(basename "$f") has only $n awlab_ symbols (nm broken?)"
    else
        pass=$((pass + 1)); echo "ok: $(basename "$f") has $n awlab_ symbols (positive control)"
    fi
}

must_have "$build/authwire-lab"
must_have "$(find "$build" -name 'libauthwire-lab-core.a' | head -1)"
must_be_clean "$aw"
must_be_clean "$(find "$build" -name 'libauthwire.a' | head -1)"
while IFS= read -r lib; do
    must_be_clean "$lib"
done < <(find "$build" -name 'libauthwire-*.a' ! -name 'libauthwire-lab-core.a' | sort)
if [[ -e "$build/authwired" ]]; then
    must_be_clean "$build/authwired"
else
    echo "note: no authwired in $build yet; checked when it is built"
fi
# The authwire binary reaches the lab only through exec: `authwire lab --help` must work.
if "$aw" lab --help | grep -q "usage: authwire lab"; then
    pass=$((pass + 1))
else
    fail=$((fail + 1)); echo "FAIL: authwire lab --help does not reach authwire-lab"
fi
echo "lab_isolation: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
