#!/usr/bin/env bash
# The enrollment benchmark of `make bench`: committed enrollments per second against a live
# authwired (plain HTTP on 127.0.0.1, its own data directory), next to the in-memory
# handshake rate and SQLite's user-insert rate measured in the same run
# (bench/enroll/enroll_bench.c says what each row is). Appends rows to bench-results.json.
#
# The gateway runs 8 workers, as many as the client has threads. A CONFIRM's commit
# (aw_store_invite_redeem: synchronous=FULL, an fsync) blocks its worker thread until the
# transaction carrying it is durable, and the store commits the redeems of concurrent
# workers together (group commit: one transaction, one fsync for the batch). So the
# enrollments in flight at once, and with them the batch and the rate, are bounded by the
# workers: with 2 they would be at most 2 a commit, whatever the client sends. Enrollment is
# not CPU-bound in those threads; they mostly wait for the disk (docs/PERFORMANCE.md,
# "Enrollment", has the figures for 2 and 8).
#
#   bash bench/enroll.sh BUILD_DIR RESULTS_JSON
set -uo pipefail
build=${1:?build dir}
results=${2:?results json}
count=${AW_BENCH_ENROLLMENTS:-3000}
threads=8
workers=${AW_BENCH_ENROLL_WORKERS:-8}
command -v jq >/dev/null || { echo "bench: enroll: jq missing (make deps)" >&2; exit 1; }
work=$(mktemp -d)
gw=
cleanup() {
    [[ -n "$gw" ]] && kill "$gw" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

data=$work/data
"$build/authwire" init --data "$data" >/dev/null || exit 1
"$build/authwired" --data "$data" --listen 127.0.0.1:0 --port-file "$work/port" --plain \
    --demo-api --workers "$workers" --access-log off --enroll-rate-limit 0 \
    --enroll-sessions 16384 2>"$work/gw.err" &
gw=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.05; done
[[ -s "$work/port" ]] || { cat "$work/gw.err" >&2; echo "bench: enroll: authwired did not start" >&2; exit 1; }

echo "bench: enroll ($count enrollments, $threads client threads, $workers gateway workers, plain HTTP on 127.0.0.1)"
"$build/authwire-enroll-bench" --data "$data" --port "$(cat "$work/port")" --count "$count" \
    --threads "$threads" --json "$work/enroll.json"
status=$?
users=$("$build/authwire" user list --data "$data" --json | jq '[.[] | select(.name | startswith("bench-"))] | length')
committed=$(jq .committed "$work/enroll.json" 2>/dev/null)
if [[ "$status" != 0 || "$users" != "$committed" ]]; then
    echo "bench: enroll: FAILED (exit $status; $committed enrollments confirmed, $users users in the store)" >&2
    cat "$work/gw.err" >&2
    exit 1
fi
echo "  the store holds $users enrolled users: every confirmed enrollment was committed"

per_s_to_us() { awk -v r="$1" 'BEGIN { if (r > 0) printf "%.3f", 1000000 / r; else print 0 }'; }
http=$(jq .enroll_http_per_s "$work/enroll.json")
core=$(jq .handshake_core_per_s "$work/enroll.json")
store=$(jq .store_user_add_per_s "$work/enroll.json")
row() { # row NAME VALUE UNIT REFERENCE REF_VALUE GOAL
    jq -n --arg name "$1" --argjson value "$2" --arg unit "$3" --arg ref "$4" --argjson refv "$5" \
        --argjson goal "$6" '{name: $name, value: $value, unit: $unit, reference: $ref,
        reference_value: $refv, ratio: (if $refv > 0 then ($value / $refv * 1000 | round / 1000) else null end),
        goal: $goal}'
}
rows=$(jq -s . <(
    row enroll_committed_per_s "$http" "enrollments/s" "goal 1000 enrollments/s" 1000 1.0
    row enroll_http_us "$(per_s_to_us "$http")" "us/enrollment" "both sides of the handshake in memory, one thread" "$(per_s_to_us "$core")" null
    row enroll_store_user_add_us "$(per_s_to_us "$store")" "us/user" "aw_store_user_add, one thread" "$(per_s_to_us "$store")" null
))
if [[ -f "$results" ]]; then
    jq --argjson rows "$rows" '[.[] | select(.name | startswith("enroll_") | not)] + $rows' "$results" >"$work/r.json" &&
        mv "$work/r.json" "$results"
else
    echo "$rows" >"$results"
fi
