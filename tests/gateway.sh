#!/usr/bin/env bash
# The gateway end to end, with real processes on 127.0.0.1: authwired (demo API and reverse
# proxy; HTTPS, plain HTTP and mTLS) and `authwire request`. Happy paths for every
# freshness mode; every rejection reason produced for real and checked in the access log;
# response tampering seen by the client; kill -9 and restart; bad input.
set -uo pipefail
# shellcheck source=support/gateway_lib.sh
source "$(dirname "$0")/support/gateway_lib.sh" socat jq sqlite3 curl

# ---- set-up -----------------------------------------------------------------------------
"$aw" init --data "$data" >/dev/null || { echo "FATAL: init failed"; exit 1; }
start_gateway tls --demo-api
tls_port=$port
start_gateway plain --demo-api --plain
plain_port=$port
start_gateway mtls --demo-api --client-ca "$data/ca.pem" --channel-binding require
mtls_port=$port

add_user() { # add_user NAME URL ARGS...
    local name=$1 url=$2; shift 2
    "$aw" user add "$name" --data "$data" --out "$work/$name.json" --url "$url" "$@" >/dev/null \
        || { echo "FATAL: user add $name failed"; exit 1; }
}
add_user alice "https://127.0.0.1:$tls_port"
add_user bob "https://127.0.0.1:$tls_port"
add_user carol "https://127.0.0.1:$tls_port" --alg ed25519
add_user sam "https://127.0.0.1:$tls_port" --mode sequence
add_user cleo "https://127.0.0.1:$tls_port" --mode challenge
add_user pete "http://127.0.0.1:$plain_port"
add_user mia "https://127.0.0.1:$mtls_port"
add_user eve "http://127.0.0.1:$plain_port"
add_user mo "https://127.0.0.1:$mtls_port"
add_user tim "http://127.0.0.1:$plain_port"
add_user sid "https://127.0.0.1:$tls_port" --mode sequence
"$aw" user cert mia --data "$data" --out-cert "$work/mia.crt" --out-key "$work/mia.key" >/dev/null \
    || { echo "FATAL: user cert failed"; exit 1; }

# ---- happy paths: every mode, both algorithms, HTTPS, HTTP, mTLS -------------------------
req 0 "alice balance over HTTPS" "$work/alice.json" /api/balance
[[ $(jq -r .balance "$work/out") == 10000 ]] && ok || bad "alice opening balance: $(cat "$work/out")"
req 0 "alice transfers 250 to bob" "$work/alice.json" -X POST -H 'Content-Type: application/json' \
    -d '{"to": "bob", "amount": 250}' /api/transfer
[[ $(jq -r .balance "$work/out") == 9750 ]] && ok || bad "alice balance after transfer: $(cat "$work/out")"
req 0 "bob sees the money" "$work/bob.json" /api/balance
[[ $(jq -r .balance "$work/out") == 10250 ]] && ok || bad "bob balance: $(cat "$work/out")"
req 0 "alice posts a note" "$work/alice.json" -H 'Content-Type: text/plain' -d 'meet at noon' /api/notes
req 0 "alice reads her notes" "$work/alice.json" /api/notes
[[ $(jq -r '.notes[0].text' "$work/out") == "meet at noon" ]] && ok || bad "notes: $(cat "$work/out")"
req 0 "carol (ed25519)" "$work/carol.json" /api/whoami
[[ $(jq -r .alg "$work/out") == ed25519 ]] && ok || bad "carol whoami: $(cat "$work/out")"
for i in 1 2 3; do req 0 "sam (sequence) request $i" "$work/sam.json" /api/whoami; done
[[ $(jq -r .mode "$work/out") == sequence ]] && ok || bad "sam mode: $(cat "$work/out")"
grep -q '^next_seq 4$' "$work/sam.json.state" && ok || bad "sam's counter: $(cat "$work/sam.json.state")"
req 0 "cleo (challenge)" "$work/cleo.json" /api/whoami
req 0 "cleo again (a fresh challenge)" "$work/cleo.json" /api/balance
req 0 "pete over plain HTTP" "$work/pete.json" /api/balance
req 0 "mia over mTLS with her certificate" "$work/mia.json" --cert "$work/mia.crt" --key "$work/mia.key" /api/whoami
req 1 "mia without a certificate: the TLS handshake fails" "$work/mia.json" /api/whoami
req 1 "mo signing with mia's certificate: refused" "$work/mo.json" --cert "$work/mia.crt" --key "$work/mia.key" /api/whoami
[[ $(last_reason "$work/mtls.log") == forbidden ]] && ok || bad "certificate and keyid must agree: $(last_reason "$work/mtls.log")"
req 0 "-i shows the signed head" "$work/alice.json" -i /api/balance
grep -q '^Signature-Input: aw=("@status"' "$work/out" && ok || bad "-i output lacks the signature"

# A client whose clock is off: the gateway says so, signed, with its time; the client
# corrects its offset and, for a GET, signs again; a POST is not resent (it could run twice).
printf 'next_seq 1\nclock_offset -100\n' >"$work/tim.json.state"
chmod 600 "$work/tim.json.state"
req 0 "a client 100 s slow corrects its clock from the signed server time (GET resent)" "$work/tim.json" /api/balance
off=$(awk '/clock_offset/ {print $2}' "$work/tim.json.state")
((off > -3 && off < 3)) && ok || bad "clock offset after correction: $off"
printf 'next_seq 1\nclock_offset -100\n' >"$work/tim.json.state"
req 1 "a POST with a slow clock is refused, not resent" "$work/tim.json" -H 'Content-Type: application/json' -d '{"to": "bob", "amount": 7}' /api/transfer
grep -q "run the request again" "$work/err" && ok || bad "the client says to run it again: $(cat "$work/err")"
req 0 "... and passes when run again" "$work/tim.json" -H 'Content-Type: application/json' -d '{"to": "bob", "amount": 7}' /api/transfer
[[ $(jq -r .balance "$work/out") == 9993 ]] && ok || bad "the transfer ran exactly once: $(cat "$work/out")"

# ---- rejections, produced for real over plain HTTP with raw signed messages --------------
jq -r .key "$work/pete.json" >"$work/pete.key"
jq -r .key "$work/eve.json" >"$work/eve.key"
template() { # template METHOD TARGET [BODY]: a raw request to the plain gateway
    local body=${3:-}
    printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "$1" "$2" "$plain_port" "${#body}" "$body"
}
sign_as() { # sign_as KEYFILE KEYID [sign options] < raw > signed
    local key=$1 keyid=$2; shift 2
    "$aw" sign --key "$key" --keyid "$keyid" --scheme http "$@"
}
send() { # send FILE: raw bytes to the plain gateway; the answer in $work/answer
    timeout 10 socat -t 5 - "TCP:127.0.0.1:$plain_port" <"$1" >"$work/answer" 2>/dev/null
}
status_of() { head -n 1 "$work/answer" | cut -d' ' -f2; }
refused() { # refused FILE REASON DESCRIPTION [STATUS]
    send "$1"
    local want_status=${4:-401} got
    got=$(status_of)
    local reason
    reason=$(last_reason "$work/plain.log")
    if [[ "$got" == "$want_status" && "$reason" == "$2" ]]; then ok; else
        bad "$3: status $got reason $reason, want $want_status $2"; fi
}

template POST /api/transfer '{"to": "bob", "amount": 1}' | sign_as "$work/pete.key" pete >"$work/good.http"
send "$work/good.http"
[[ $(status_of) == 200 ]] && ok || bad "the raw signed transfer is accepted: $(head -c 300 "$work/answer")"
refused "$work/good.http" replay "the same request again (replayed nonce)"

fresh() { template "$@" | sign_as "$work/pete.key" pete; }
fresh POST /api/transfer '{"to": "bob", "amount": 1}' | sed 's/^POST /PUT /' >"$work/t.http"
refused "$work/t.http" signature_invalid "tampered method"
fresh GET /api/balance | sed 's#^GET /api/balance#GET /api/notes#' >"$work/t.http"
refused "$work/t.http" signature_invalid "tampered path"
fresh GET '/api/balance?x=1' | sed 's#?x=1#?x=2#' >"$work/t.http"
refused "$work/t.http" signature_invalid "tampered query"
fresh POST /api/transfer '{"to": "bob", "amount": 1}' | sed 's#^Content-Type: application/json#Content-Type: text/plain      #' >"$work/t.http"
refused "$work/t.http" signature_invalid "tampered covered header (content-type)"
fresh POST /api/transfer '{"to": "bob", "amount": 1}' | sed 's/"amount": 1}/"amount": 9}/' >"$work/t.http"
refused "$work/t.http" digest_mismatch "tampered body"
template GET /api/balance | sign_as "$work/pete.key" pete --components '"@method" "@path"' >"$work/t.http"
refused "$work/t.http" coverage_insufficient "missing coverage"
template GET /api/balance | sign_as "$work/pete.key" mallory >"$work/t.http"
refused "$work/t.http" key_unknown "unknown user"
grep -q '"authenticated":false' <(tail -n 1 "$work/plain.log") && ok || bad "unauthenticated refusals are logged as such"
grep -q '^Authwire-Error: unauthenticated' "$work/answer" && ok || bad "peer sees the uniform reason: $(cat "$work/answer")"
grep -q '^Authwire-Challenge: ' "$work/answer" && ok || bad "a 401 carries a challenge"
"$aw" user revoke eve --data "$data" >/dev/null
template GET /api/balance | sign_as "$work/eve.key" eve >"$work/t.http"
refused "$work/t.http" key_revoked "revoked user, on the very next request"
template GET /api/balance | sign_as "$work/pete.key" pete --created $(($(date +%s) - 120)) >"$work/t.http"
refused "$work/t.http" expired "stale timestamp"
template GET /api/balance | sign_as "$work/pete.key" pete --created $(($(date +%s) + 120)) >"$work/t.http"
refused "$work/t.http" created_in_future "future timestamp"
grep -q '"authenticated":true' <(tail -n 1 "$work/plain.log") && ok || bad "a good signature with a bad clock is authenticated"
grep -q '^Authwire-Error: created_in_future' "$work/answer" && grep -q '^Authwire-Time: ' "$work/answer" && ok ||
    bad "its signer learns the reason and the server time: $(cat "$work/answer")"

# Sequence mode over the raw path: sam's key, on the plain gateway.
jq -r .key "$work/sam.json" >"$work/sam.key"
seq_req() { # seq_req N
    printf 'GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthwire-Seq: %s\r\nConnection: close\r\n\r\n' "$plain_port" "$1" |
        sign_as "$work/sam.key" sam --components '"@method" "@authority" "@path" "@query" "content-digest" "authwire-seq"'
}
seq_req 20000 >"$work/s.http"
send "$work/s.http"; [[ $(status_of) == 200 ]] && ok || bad "sequence 20000 accepted: $(head -c 300 "$work/answer")"
seq_req 20000 >"$work/s.http"
refused "$work/s.http" seq_replay "replayed sequence number (fresh nonce, same number)"
seq_req 5 >"$work/s.http"
refused "$work/s.http" seq_too_old "far-behind sequence number"
seq_req 19990 >"$work/s.http"
send "$work/s.http"; [[ $(status_of) == 200 ]] && ok || bad "reordered sequence number inside the window"
printf 'GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$plain_port" |
    sign_as "$work/sam.key" sam >"$work/s.http"
refused "$work/s.http" coverage_insufficient "sequence user without authwire-seq"

# Challenge mode: a challenge is good once.
jq -r .key "$work/cleo.json" >"$work/cleo.key"
token=$(curl -s "http://127.0.0.1:$plain_port/.well-known/authwire/challenge")
[[ ${#token} -eq 55 ]] && ok || bad "challenge endpoint: '$token'"
template GET /api/whoami | sign_as "$work/cleo.key" cleo --nonce "$token" >"$work/c.http"
send "$work/c.http"; [[ $(status_of) == 200 ]] && ok || bad "challenge accepted once: $(head -c 300 "$work/answer")"
template GET /api/whoami | sign_as "$work/cleo.key" cleo --nonce "$token" >"$work/c.http"
refused "$work/c.http" challenge_invalid "reused challenge"
template GET /api/whoami | sign_as "$work/cleo.key" cleo --nonce "AQAAAABlU_EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" >"$work/c.http"
refused "$work/c.http" challenge_invalid "forged challenge"

# Channel binding: a TLS-terminating relay with a certificate the client trusts.
on_free_port relay_port socat "OPENSSL-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr,fork,cert=$data/server.pem,key=$data/server.key,verify=0" \
    "OPENSSL:127.0.0.1:$tls_port,cafile=$data/ca.pem,verify=1,commonname=localhost"
req 3 "TLS interception (channel binding differs)" "$work/alice.json" "https://127.0.0.1:$relay_port/api/balance"
grep -q "TLS INTERCEPTION SUSPECTED" "$work/err" && ok || bad "the client says interception: $(cat "$work/err")"
[[ $(last_reason "$work/tls.log") == channel_binding ]] && ok || bad "gateway logs channel_binding"
grep -q 'TLS interception suspected' <(tail -n 1 "$work/tls.log") && ok || bad "gateway log says interception"

# ---- response side: tampering by a man in the middle on plain HTTP ----------------------
# The relays read the gateway's answer to its end, which a gateway closing idle connections
# after 300 ms marks; pete's credentials work on it too (same data dir).
start_gateway quick --demo-api --plain --idle-timeout-ms 300
quick_port=$port
mitm() { # mitm VAR FILTER: a relay to the quick gateway whose answers pass through FILTER
    on_free_port "$1" socat "TCP-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr,fork" \
        "SYSTEM:socat - TCP\:127.0.0.1\:$quick_port | $2"
}
mitm m1 "sed -u s/balance/balanse/" # socat eats double quotes: keep the filter plain
req 3 "altered response body" "$work/pete.json" "http://127.0.0.1:$m1/api/balance"
grep -q "possible interference" "$work/err" && ok || bad "interference message: $(cat "$work/err")"
"$aw" request --credentials "$work/pete.json" -i /api/whoami >"$work/old_response" 2>/dev/null
mitm m2 "cat >/dev/null; cat '$work/old_response'"
req 3 "a response swapped for another request's" "$work/pete.json" "http://127.0.0.1:$m2/api/balance"
printf 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nAuthwire-Error: key_revoked\r\nConnection: close\r\n\r\n{}' >"$work/fake401"
mitm m3 "cat >/dev/null; cat '$work/fake401'"
req 3 "an injected 401" "$work/pete.json" "http://127.0.0.1:$m3/api/balance"

# ---- reverse proxy mode ------------------------------------------------------------------
# The upstream: a second authwired would sign; a plain echo server shows what arrives.
on_free_port up_port socat "TCP-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr,fork" \
    "EXEC:bash $(dirname "$0")/support/upstream.sh $work/upstream_saw"
: >"$work/upstream_saw" # the probe connection of wait_port
start_gateway proxy --upstream "http://127.0.0.1:$up_port" --plain
proxy_port=$port
add_user paul "http://127.0.0.1:$proxy_port"
req 0 "proxy mode: signed request forwarded, answer signed" "$work/paul.json" -H 'X-Forwarded-For: 6.6.6.6' /hello
[[ $(cat "$work/out") == upstream ]] && ok || bad "proxy body: $(cat "$work/out")"
saw=$(cat "$work/upstream_saw" 2>/dev/null)
grep -q '^GET /hello HTTP/1.1' <<<"$saw" && ok || bad "upstream got the request line: $saw"
grep -q '^Authwire-User: paul' <<<"$saw" && ok || bad "upstream learns the user"
grep -qi '^X-Forwarded-For' <<<"$saw" && bad "unsigned X-Forwarded-For reached the upstream" || ok
# paul signs a request that names alice as the user: the upstream must hear only paul.
jq -r .key "$work/paul.json" >"$work/paul.key"
: >"$work/upstream_saw"
printf 'GET /x HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthwire-User: alice\r\nauthwire_user: alice\r\nConnection: close\r\n\r\n' "$proxy_port" |
    "$aw" sign --key "$work/paul.key" --keyid paul --scheme http \
        --components '"@method" "@authority" "@path" "@query" "content-digest" "authwire-user"' >"$work/p.http"
timeout 10 socat -t 5 - "TCP:127.0.0.1:$proxy_port" <"$work/p.http" >"$work/answer" 2>/dev/null
saw=$(cat "$work/upstream_saw")
[[ $(grep -ci '^authwire.user:' <<<"$saw") == 1 ]] && grep -q '^Authwire-User: paul$' <<<"$saw" && ok ||
    bad "a signed Authwire-User must not reach the upstream: $saw"
grep -q '^Content-Length: 0$' <<<"$saw" && ok || bad "the proxy writes Content-Length itself"
# Proxy mode over HTTPS and mTLS, every freshness mode and both algorithms.
start_gateway proxy_tls --upstream "http://127.0.0.1:$up_port"
proxy_tls_port=$port
start_gateway proxy_mtls --upstream "http://127.0.0.1:$up_port" --client-ca "$data/ca.pem"
proxy_mtls_port=$port
for who in alice sid cleo carol; do
    req 0 "proxy over HTTPS: $who" "$work/$who.json" "https://127.0.0.1:$proxy_tls_port/hello"
    [[ $(cat "$work/out") == upstream ]] && ok || bad "proxy over HTTPS body for $who"
done
# The full matrix: every freshness mode through every transport, in both server modes.
for m in timestamp sequence challenge; do
    add_user "mx-$m" "https://127.0.0.1:$tls_port" --mode "$m"
    "$aw" user cert "mx-$m" --data "$data" --out-cert "$work/mx-$m.crt" --out-key "$work/mx-$m.key" >/dev/null
done
for target in "https://127.0.0.1:$tls_port/api/whoami" "http://127.0.0.1:$plain_port/api/whoami" \
    "https://127.0.0.1:$mtls_port/api/whoami" "https://127.0.0.1:$proxy_tls_port/hello" \
    "http://127.0.0.1:$proxy_port/hello" "https://127.0.0.1:$proxy_mtls_port/hello"; do
    for m in timestamp sequence challenge; do
        req 0 "$m mode at $target" "$work/mx-$m.json" --cert "$work/mx-$m.crt" --key "$work/mx-$m.key" "$target"
    done
done
req 0 "proxy over mTLS: mia" "$work/mia.json" --cert "$work/mia.crt" --key "$work/mia.key" "https://127.0.0.1:$proxy_mtls_port/hello"
req 1 "proxy over mTLS without a certificate" "$work/mia.json" "https://127.0.0.1:$proxy_mtls_port/hello"

# ---- bad input: 4xx or a closed connection, never a crash or a hang ---------------------
printf 'GARBAGE\r\n\r\n' >"$work/b.http"; send "$work/b.http"
[[ $(status_of) == 400 ]] && ok || bad "malformed request line: $(head -c 100 "$work/answer")"
{ printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Big: '; head -c 20000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >"$work/b.http"
send "$work/b.http"; [[ $(status_of) == 413 ]] && ok || bad "oversized head: $(head -c 100 "$work/answer")"
printf 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n' >"$work/b.http"
send "$work/b.http"; [[ $(status_of) == 413 ]] && ok || bad "oversized body"
printf 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' >"$work/b.http"
send "$work/b.http"; [[ $(status_of) == 400 ]] && ok || bad "chunked upload refused"
fresh GET /api/balance >"$work/t.http"
sig=$(grep '^Signature:' "$work/t.http" | tr -d '\r')
sed "s#^Signature:#$sig\r\nSignature:#" "$work/t.http" >"$work/b.http"
refused "$work/b.http" signature_duplicate_label "duplicate Signature fields"
fresh GET /api/balance | sed 's#^Signature-Input: aw=#Signature-Input: aw=(((#' >"$work/b.http"
refused "$work/b.http" sf_syntax "garbage structured field"
# A slow client: half a head, then silence.
start_gateway slow --demo-api --plain --header-timeout-ms 500
(printf 'GET /api/balance HTTP/1.1\r\nHost: x\r\n'; sleep 3) | timeout 10 socat -t 5 - "TCP:127.0.0.1:$port" >"$work/answer" 2>/dev/null
[[ $(status_of) == 408 ]] && ok || bad "slow client gets 408: $(head -c 100 "$work/answer")"
# A head ending in a bare LF: another parser could end it elsewhere (request smuggling).
fresh GET /api/balance | sed 's/^Connection: close\r$/Connection: close/' >"$work/b.http"
send "$work/b.http"; [[ $(status_of) == 400 ]] && ok || bad "bare LF in the head: $(head -c 100 "$work/answer")"
# A client that half-closes right after its request still gets the answer.
printf 'GET /.well-known/authwire/challenge HTTP/1.1\r\nHost: a\r\n\r\n' | timeout 10 socat - "TCP:127.0.0.1:$plain_port" >"$work/answer" 2>/dev/null
[[ $(status_of) == 200 ]] && ok || bad "half-closed client gets its answer"
# --authority: a signature for another API is refused.
start_gateway named --demo-api --plain --authority api.example
printf 'GET /api/balance HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" | sign_as "$work/pete.key" pete >"$work/n.http"
timeout 10 socat -t 5 - "TCP:127.0.0.1:$port" <"$work/n.http" >"$work/answer" 2>/dev/null
[[ $(status_of) == 403 && $(last_reason "$work/named.log") == forbidden ]] && ok || bad "authority not served: $(status_of)"

# --rate-limit: failed authentications per source and second, then 429.
start_gateway limited --demo-api --plain --rate-limit 3
template GET /api/balance | sign_as "$work/pete.key" mallory >"$work/m.http"
statuses=""
for i in $(seq 12); do
    timeout 10 socat -t 5 - "TCP:127.0.0.1:$port" <"$work/m.http" >"$work/answer" 2>/dev/null
    statuses+="$(status_of) "
done
[[ $statuses == *429* && $statuses == 401* ]] && ok || bad "rate limit: statuses $statuses"
kill -0 "$pid_plain" 2>/dev/null && kill -0 "$pid_tls" 2>/dev/null && ok || bad "a gateway died"
curl -s "http://127.0.0.1:$plain_port/metrics" >"$work/metrics"
grep -q 'authwire_requests_total{outcome="rejected",reason="replay"}' "$work/metrics" && ok || bad "metrics by reason"
grep -q 'authwire_request_duration_seconds_bucket{le="+Inf"}' "$work/metrics" && ok || bad "latency histogram"
started=$(awk '$1 == "process_start_time_seconds" {print $2}' "$work/metrics")
now=$(date +%s)
[[ $started =~ ^[0-9]+\.[0-9]{6}$ ]] && ((${started%.*} <= now && ${started%.*} > now - 600)) && ok ||
    bad "process_start_time_seconds: '$started' (now $now)"

# ---- kill -9 under load, then restart -----------------------------------------------------
template GET /api/balance | sign_as "$work/pete.key" pete >"$work/before.http"
send "$work/before.http"; [[ $(status_of) == 200 ]] && ok || bad "accepted before the crash"
seq_req 30000 >"$work/seq_before.http"
send "$work/seq_before.http"; [[ $(status_of) == 200 ]] && ok || bad "sequence accepted before the crash"
load_end=$((SECONDS + 3))
for w in 1 2 3 4; do
    (while ((SECONDS < load_end)); do "$aw" request --credentials "$work/pete.json" /api/balance >/dev/null 2>&1; done) &
done
sleep 1.5
kill -9 "$pid_plain"
wait "$pid_plain" 2>/dev/null
"$aw" user add late --data "$data" --out "$work/late.json" --url "http://127.0.0.1:$plain_port" >/dev/null
sleep 2
"$awd" --data "$data" --listen "127.0.0.1:$plain_port" --access-log "$work/plain.log" --plain --demo-api --workers 2 2>>"$work/plain.err" &
pid_plain=$!
pids+=("$pid_plain")
for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$plain_port/metrics" && break; sleep 0.05; done
wait_load() { while (( SECONDS < load_end + 1 )); do sleep 0.2; done; }
wait_load
refused "$work/before.http" expired "a request accepted before the crash, replayed after"
refused "$work/seq_before.http" seq_replay "a sequence number accepted before the crash"
n_users=$("$aw" user list --data "$data" --json | jq length)
[[ $n_users -eq 16 ]] && ok || bad "no user lost: $n_users users"
[[ $(sqlite3 "$data/authwire.db" 'PRAGMA integrity_check') == ok ]] && ok || bad "integrity_check"
req 0 "a fresh request after the restart" "$work/pete.json" /api/balance

# ---- graceful shutdown ----------------------------------------------------------------------
kill -TERM "$pid_tls"
rc=0; wait "$pid_tls" || rc=$?
[[ $rc -eq 0 ]] && ok || bad "SIGTERM: exit $rc"

echo "gateway: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
