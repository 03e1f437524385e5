#!/usr/bin/env bash
# `authwire lab` from the command line: --help lists every experiment, usage errors exit 2
# with "authwire: lab: ...", a run of the cheap experiments writes valid JSON whose verdicts
# hold, and --plot writes PNG files (checked by their 8-byte signature) through gnuplot.
# The expensive experiments are asserted in tests/test_lab.c; the full run is timed in
# docs/LAB.md.
set -uo pipefail
aw=${AUTHWIRE:?AUTHWIRE must point at the authwire binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

check() { # check WANT_EXIT DESCRIPTION -- command...
    local want=$1 what=$2; shift 3
    local rc=0
    "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [[ $rc -eq $want ]]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL: $what: exit $rc, want $want"; cat "$work/err"; fi
}
expect() { # expect DESCRIPTION -- command... (a condition)
    local what=$1; shift 2
    if "$@" >/dev/null; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}

check 0 "lab --help" -- "$aw" lab --help
expect "help has the usage line" -- grep -q "usage: authwire lab" "$work/out"
for name in prefix suffix splice birthday universal poly1305 hmac; do
    expect "help lists $name" -- grep -qE "^  $name " "$work/out"
done
check 0 "authwire --help lists lab" -- "$aw" --help
expect "top-level help names lab" -- grep -qE "^  lab " "$work/out"
check 2 "unknown experiment" -- "$aw" lab frobnicate
expect "unknown experiment message" -- grep -q "authwire: lab: no experiment called 'frobnicate'" "$work/err"
check 2 "unknown option" -- "$aw" lab --bogus
expect "unknown option message" -- grep -q "authwire: lab: " "$work/err"
check 2 "bad seed" -- "$aw" lab --seed nope
check 2 "--json without a file" -- "$aw" lab --json

# The cheap experiments, with JSON and plots; options after the names work too.
check 0 "lab run" -- "$aw" lab prefix splice universal poly1305 hmac --json "$work/lab.json" \
    --plot "$work/plots"
expect "narration names the verdict" -- grep -q "verdict: as predicted" "$work/out"
if command -v jq >/dev/null; then
    expect "JSON parses and every experiment is as predicted" -- \
        jq -e '[.experiments[] | .as_predicted] | length == 5 and all' "$work/lab.json"
    expect "JSON has the HMAC truncated-tag series" -- \
        jq -e '.experiments[] | select(.name == "hmac") | .series[0].points | length == 12' \
        "$work/lab.json"
else
    expect "JSON was written" -- grep -q '"as_predicted": true' "$work/lab.json"
fi
for png in universal-alpha-beta wegman-carter-substitution hmac-truncated; do
    f="$work/plots/$png.png"
    expect "$png.png exists" -- test -s "$f"
    sig=$(head -c 8 "$f" 2>/dev/null | od -An -tx1 | tr -d ' \n')
    expect "$png.png starts with the PNG signature (got $sig)" -- test "$sig" = "89504e470d0a1a0a"
done
# Quiet mode, and a different seed still holds.
check 0 "lab -q --seed 7 universal" -- "$aw" lab -q --seed 7 universal
expect "quiet prints the verdict" -- grep -q "as predicted" "$work/out"
# --json to stdout: the JSON alone there, the narration on stderr.
check 0 "lab --json - splice" -- "$aw" lab splice --json -
expect "stdout JSON" -- grep -q '"name": "splice"' "$work/out"
expect "stdout is only JSON" -- test "$(head -c 1 "$work/out")" = "{"
expect "narration on stderr" -- grep -q "verdict: as predicted" "$work/err"

echo "lab_cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
