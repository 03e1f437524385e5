#!/usr/bin/env bash
# `authwire attack --profile seed`: the seed design's insider attack (src/attack/seed.c) run
# in process must SUCCEED and the same insider against authwire must be BLOCKED, in the text
# table, in the JSON rows (the catalogue's shape) and in the exit status; with --credentials
# and --data the catalogue's insider rows run against a live gateway too and are blocked.
# Usage errors exit 2 with a message.
set -uo pipefail
source "$(dirname "$0")/support/gateway_lib.sh" jq
threat_model="${AW_SOURCE_DIR:?}/docs/THREAT_MODEL.md"

# ---- the command line ---------------------------------------------------------------------
rc=0; "$aw" attack --help >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 0 ]] && grep -q -- '--profile seed' "$work/out" && ok || bad "attack --help does not name --profile seed (exit $rc)"
rc=0; "$aw" attack --profile nosuch >"$work/out" 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q "unknown profile 'nosuch'" "$work/err" && ok ||
    bad "an unknown profile: exit $rc, want 2 and a message: $(cat "$work/err")"
rc=0; "$aw" attack --profile seed --only replay-now >"$work/out" 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] && ok || bad "--profile seed --only: exit $rc, want 2"
rc=0; "$aw" attack --profile seed --target http://127.0.0.1:1 >"$work/out" 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q -- '--credentials' "$work/err" && ok || bad "--profile seed --target without --credentials: exit $rc, want 2"
# --profile authwire is the default: still needs --credentials.
rc=0; "$aw" attack --profile authwire >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 2 ]] && ok || bad "--profile authwire without --credentials: exit $rc, want 2"

# ---- in process ----------------------------------------------------------------------------
rc=0; "$aw" attack --profile seed --json "$work/seed.json" >"$work/seed.out" 2>"$work/seed.err" || rc=$?
[[ $rc -eq 0 ]] && ok || bad "--profile seed: exit $rc: $(cat "$work/seed.out" "$work/seed.err")"
grep -q '^  seed-insider-forgery  *SUCCEEDED' "$work/seed.out" && ok || bad "the seed row does not say SUCCEEDED: $(cat "$work/seed.out")"
grep -q '^  authwire-insider-forgery  *BLOCKED  *by signature_invalid' "$work/seed.out" && ok ||
    bad "authwire's row does not say BLOCKED by signature_invalid: $(cat "$work/seed.out")"
grep -q 'NOT AS EXPECTED' "$work/seed.out" && bad "a row is not as expected" || ok
[[ ! -s "$work/seed.err" ]] && ok || bad "--profile seed wrote to stderr: $(cat "$work/seed.err")"
# The JSON rows: the fields the issue names, and the catalogue's types.
[[ $(jq length "$work/seed.json") -eq 2 ]] && ok || bad "seed JSON: $(jq length "$work/seed.json") rows, want 2"
missing=$(jq -r '.[] | select((.id | type) != "string" or (.description | type) != "string"
    or (.expected | type) != "string" or (.outcome | type) != "string"
    or (.stopped_by | type) != "string" or (.as_expected | type) != "boolean"
    or (.threat | type) != "string" or (.detail | type) != "string") | .id' "$work/seed.json")
[[ -z $missing ]] && ok || bad "seed JSON rows without the catalogue's fields: $missing"
row() { jq -r --arg id "$2" '.[] | select(.id == $id) | "\(.outcome) \(.expected) \(.as_expected) \(.stopped_by)"' "$1"; }
[[ $(row "$work/seed.json" seed-insider-forgery) == "succeeded succeeded true " ]] && ok ||
    bad "seed row: $(row "$work/seed.json" seed-insider-forgery)"
[[ $(row "$work/seed.json" authwire-insider-forgery) == "blocked blocked true signature_invalid"* ]] && ok ||
    bad "authwire row: $(row "$work/seed.json" authwire-insider-forgery)"
while IFS= read -r threat; do
    grep -qF -- "$threat" "$threat_model" && ok || bad "threat '$threat' is not in docs/THREAT_MODEL.md"
done < <(jq -r '.[].threat' "$work/seed.json" | sort -u)

# ---- with a live gateway: the catalogue's insider rows follow ------------------------------
"$aw" init --data "$data" >/dev/null || { echo "FATAL: init failed"; exit 1; }
start_gateway plain --demo-api --plain
for name in mallory alice; do
    "$aw" user add "$name" --data "$data" --out "$work/$name.json" --url "http://127.0.0.1:$port" >/dev/null ||
        { echo "FATAL: user add $name failed"; exit 1; }
done
rc=0
"$aw" attack --profile seed --credentials "$work/mallory.json" --data "$data" --json "$work/live.json" \
    >"$work/live.out" 2>"$work/live.err" || rc=$?
[[ $rc -eq 0 ]] && ok || bad "--profile seed with a live gateway: exit $rc: $(cat "$work/live.out" "$work/live.err")"
[[ $(jq length "$work/live.json") -eq 4 ]] && ok || bad "live JSON: $(jq length "$work/live.json") rows, want 4"
[[ $(jq -r '[.[].id] | join(" ")' "$work/live.json") == "seed-insider-forgery authwire-insider-forgery "* ]] &&
    ok || bad "live JSON: the seed rows do not come first: $(jq -r '[.[].id] | join(" ")' "$work/live.json")"
for id in impersonate-user tamper-keyid; do
    [[ $(row "$work/live.json" "$id") == "blocked signature_invalid true signature_invalid" ]] && ok ||
        bad "$id against the live gateway: $(row "$work/live.json" "$id")"
    grep -q "^$id .*BLOCKED by signature_invalid" "$work/live.out" && ok || bad "$id: the text table: $(cat "$work/live.out")"
done
grep -q '^  seed-insider-forgery  *SUCCEEDED' "$work/live.out" && ok || bad "the live run lacks the seed table"
# Without a victim the insider rows are skipped, not failed.
rc=0
"$aw" attack --profile seed --credentials "$work/mallory.json" --json "$work/novictim.json" \
    >"$work/novictim.out" 2>&1 || rc=$?
[[ $rc -eq 0 && $(jq -r '[.[2:][] | .outcome] | join(" ")' "$work/novictim.json") == "skipped skipped" ]] && ok ||
    bad "--profile seed without a victim: exit $rc: $(cat "$work/novictim.out")"
# A gateway that is not there: the seed table still prints, the exit status says it failed.
rc=0
"$aw" attack --profile seed --credentials "$work/mallory.json" --data "$data" \
    --target "http://127.0.0.1:$(free_port)" >"$work/down.out" 2>"$work/down.err" || rc=$?
[[ $rc -eq 1 ]] && grep -q 'seed-insider-forgery  *SUCCEEDED' "$work/down.out" && ok ||
    bad "--profile seed against no gateway: exit $rc: $(cat "$work/down.out" "$work/down.err")"

grep -q 'ERROR: AddressSanitizer\|runtime error:' "$work/plain.err" && bad "gateway: sanitizer report" || ok
kill -0 "$pid_plain" 2>/dev/null && ok || bad "the gateway died"

echo "attack_seed: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
