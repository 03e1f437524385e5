#!/usr/bin/env bash
# authwired under valgrind (memcheck): a short session over TLS with every freshness mode,
# both algorithms, a transfer, a refused replay-like request and garbage, then SIGTERM.
# Fails on any memcheck error or definitely lost block. In the sanitizer build (make test
# SAN=1) the binary carries AddressSanitizer, which valgrind cannot run; there ASan is the
# checker of the same session (it exits non-zero on an error or a leak).
set -uo pipefail
aw=${AUTHWIRE:?AUTHWIRE must point at the authwire binary}
awd="$(dirname "$aw")/authwired"
command -v valgrind >/dev/null || { echo "FATAL: valgrind is not installed (make deps)" >&2; exit 1; }
work=$(mktemp -d)
vg_pid=
cleanup() { [[ -n "$vg_pid" ]] && kill -9 "$vg_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail=0
"$aw" init --data "$work/d" >/dev/null || exit 1
checker=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9)
# grep without -q reads all of ldd's output: an early exit would SIGPIPE ldd, and pipefail
# would then take the sanitizer build for a plain one (and run valgrind on it).
if ldd "$awd" | grep libasan >/dev/null; then
    checker=()
    echo "gateway_valgrind: sanitizer build: AddressSanitizer checks this session"
fi
"${checker[@]}" "$awd" --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port" --demo-api \
    --workers 2 --access-log "$work/log" >/dev/null 2>"$work/valgrind.txt" &
vg_pid=$!
for _ in $(seq 600); do [[ -s "$work/port" ]] && break; sleep 0.1; done
[[ -s "$work/port" ]] || { echo "FATAL: authwired under valgrind did not start"; cat "$work/valgrind.txt"; exit 1; }
url="https://127.0.0.1:$(cat "$work/port")"
"$aw" user add a --data "$work/d" --out "$work/a.json" --url "$url" >/dev/null
"$aw" user add b --data "$work/d" --out "$work/b.json" --url "$url" --alg ed25519 --mode sequence >/dev/null
"$aw" user add c --data "$work/d" --out "$work/c.json" --url "$url" --mode challenge >/dev/null
for u in a b c; do
    "$aw" request --credentials "$work/$u.json" /api/balance >/dev/null || { echo "FAIL: request as $u"; fail=1; }
done
"$aw" request --credentials "$work/a.json" -H 'Content-Type: application/json' \
    -d '{"to": "b", "amount": 5}' /api/transfer >/dev/null || { echo "FAIL: transfer"; fail=1; }
"$aw" request --credentials "$work/b.json" -d 'note' /api/notes >/dev/null || { echo "FAIL: note"; fail=1; }
"$aw" user revoke c --data "$work/d" >/dev/null
"$aw" request --credentials "$work/c.json" /api/balance >/dev/null 2>&1 && { echo "FAIL: revoked user served"; fail=1; }
printf 'GARBAGE\r\n\r\n' | timeout 20 socat - "OPENSSL:127.0.0.1:$(cat "$work/port"),verify=0" >/dev/null 2>&1
kill -TERM "$vg_pid"
rc=0
wait "$vg_pid" || rc=$?
vg_pid=
if [[ $rc -ne 0 ]] || { ((${#checker[@]})) && ! grep -q 'ERROR SUMMARY: 0 errors' "$work/valgrind.txt"; }; then
    echo "FAIL: valgrind reports errors (exit $rc):"
    grep -E '^==[0-9]+== (Invalid|Conditional|Use of|.*definitely lost|ERROR SUMMARY|ERROR: )|^SUMMARY' "$work/valgrind.txt" | head -40
    fail=1
fi
# Proxy mode, stopped while a request waits for a slow upstream: the worker ends after the
# grace period with the exchange still in flight, and must free it.
up_port=$(cat "$work/port")
while (exec 3<>"/dev/tcp/127.0.0.1/$up_port") 2>/dev/null; do up_port=$((20000 + RANDOM % 12000)); done
socat "TCP-LISTEN:$up_port,bind=127.0.0.1,reuseaddr,fork" "SYSTEM:sleep 8" 2>/dev/null &
up_pid=$!
rm -f "$work/port2"
"${checker[@]}" "$awd" --data "$work/d" --listen 127.0.0.1:0 --port-file "$work/port2" \
    --upstream "http://127.0.0.1:$up_port" --plain --workers 1 --access-log off \
    >/dev/null 2>"$work/valgrind2.txt" &
vg_pid=$!
for _ in $(seq 600); do [[ -s "$work/port2" ]] && break; sleep 0.1; done
"$aw" request --credentials "$work/a.json" "http://127.0.0.1:$(cat "$work/port2")/slow" >/dev/null 2>&1 &
sleep 2
kill -TERM "$vg_pid"
rc=0
wait "$vg_pid" || rc=$?
vg_pid=
kill "$up_pid" 2>/dev/null
if [[ $rc -ne 0 ]] || { ((${#checker[@]})) && ! grep -q 'ERROR SUMMARY: 0 errors' "$work/valgrind2.txt"; }; then
    echo "FAIL: stopping with a proxied request in flight (exit $rc):"
    grep -E '^==[0-9]+== (Invalid|Conditional|Use of|.*definitely lost|ERROR SUMMARY|ERROR: )|^SUMMARY' "$work/valgrind2.txt" | head -40
    fail=1
fi
wait 2>/dev/null

[[ $fail -eq 0 ]] && echo "gateway_valgrind: clean ($(grep -o 'ERROR SUMMARY.*' "$work/valgrind.txt" || echo 'AddressSanitizer: no report'))"
exit $fail
