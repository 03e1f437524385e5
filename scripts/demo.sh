#!/usr/bin/env bash
# make demo: a narrated session. Part 1, the main job: a throwaway data dir, authwired with
# TLS on 127.0.0.1 serving the demo bank, alice and bob using it through `authwire request`
# (balances, a transfer, notes, each freshness mode), then live tampering and replays that
# must be refused while the balances stay put. Part 2 opens the hood: the signing core on
# raw messages. Part 3 ends it: the attack harness runs its whole catalogue against the
# demo's own gateway (authwire attack) and prints the table, then the seed design's insider
# attack next to authwire's (authwire attack --profile seed). Exits 0 only if each step
# behaved as expected and every attack was blocked (or skipped for a reason).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
aw=${AUTHWIRE_BIN:-$root/$build/authwire}
awd="$(dirname "$aw")/authwired"
[[ -x "$aw" && -x "$awd" ]] || { echo "demo: $aw or $awd is not built; run make demo" >&2; exit 1; }

work=$(mktemp -d)
gateway_pid=
cleanup() {
    [[ -n "$gateway_pid" ]] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
    [[ -s $work/gateway.pid ]] && kill -9 "$(cat "$work/gateway.pid")" 2>/dev/null || true # a restarted one
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
failures=0
bold=$'\e[1m'; green=$'\e[32m'; red=$'\e[31m'; off=$'\e[0m'
[[ -t 1 ]] || { bold=; green=; red=; off=; }

say() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
expect() { # expect ok|fail DESCRIPTION -- command...
    local want=$1 what=$2; shift 3
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    local reason
    reason=$(printf '%s\n' "$out" | grep -o 'verify: .*' | head -n1 || true)
    if [[ $want == ok && $rc -eq 0 ]] || [[ $want == fail && $rc -eq 1 ]]; then
        printf '  %sok%s   %s %s\n' "$green" "$off" "$what" "${reason:+($reason)}"
    else
        printf '  %sFAIL%s %s (exit %d)\n%s\n' "$red" "$off" "$what" "$rc" "$out"
        failures=$((failures + 1))
    fi
}

step() { # step ok|fail|interference DESCRIPTION -- authwire request args...: shows the answer
    local want=$1 what=$2; shift 3
    local rc=0
    "$aw" request "$@" >answer 2>why || rc=$?
    # fail: a verified refusal (exit 1); interference: the client's loud exit 3.
    if [[ $want == ok && $rc -eq 0 ]] || [[ $want == fail && $rc -eq 1 ]] ||
        [[ $want == interference && $rc -eq 3 ]]; then
        printf '  %sok%s   %s\n' "$green" "$off" "$what"
    else
        printf '  %sFAIL%s %s (exit %d)\n' "$red" "$off" "$what" "$rc"
        failures=$((failures + 1))
    fi
    [[ -s answer ]] && sed 's/^/       | /' answer && echo
    [[ -s why ]] && sed 's/^/       ! /' why
    return 0
}
balance_of() { "$aw" request --credentials "$1.json" /api/balance 2>/dev/null | jq -r .balance; }

printf '%s# Part 1: the gateway and its users%s\n' "$bold" "$off"
say "A data directory: database, master key, server keys, a local CA and certificate"
"$aw" init --data data | sed 's/^/  /'
say "authwired: TLS 1.3 on 127.0.0.1, the demo bank API, channel binding preferred"
# A 1 s deadline for a request head (default 10 s) and a 15 s replay window (skew 5 s +
# max-age 10 s; default 60 s): the attack catalogue of part 3 waits for both (slow-request,
# replay-after-window), and no genuine client here takes that long.
gateway_args=(--data data --port-file port --demo-api --access-log gateway.log
    --header-timeout-ms 1000 --skew 5 --max-age 10 --challenge-ttl 15)
"$awd" --listen 127.0.0.1:0 "${gateway_args[@]}" 2>gateway.err &
gateway_pid=$!
for _ in $(seq 100); do [[ -s port ]] && break; sleep 0.05; done
[[ -s port ]] || { cat gateway.err; echo "demo: authwired did not start"; exit 1; }
echo "$gateway_pid" >gateway.pid
# How part 3 restarts it (authwire attack --restart-cmd): kill -9, as a crash would, then
# the same gateway on the same port (scripts/restart-gateway.sh).
printf -v restart_cmd ' %q' "$root/scripts/restart-gateway.sh" gateway.pid port gateway.err \
    "$awd" --listen "127.0.0.1:$(cat port)" "${gateway_args[@]}"
url="https://127.0.0.1:$(cat port)"
echo "  listening on $url"
say "Invites: the admin makes a one-time token for alice (HMAC, timestamp) and bob (Ed25519, sequence)"
"$aw" invite alice --data data --ttl 10m >alice.invite
"$aw" invite bob --data data --ttl 10m --alg ed25519 --mode sequence >bob.invite
sed 's/^/  /' alice.invite
alice_token=$(tail -n1 alice.invite); bob_token=$(tail -n1 bob.invite)
say "Enrollment: each user runs one command with the token (Noise NKpsk0 against the pinned server key)"
enroll() { # enroll ok|fail DESCRIPTION -- authwire enroll args...
    local want=$1 what=$2; shift 3
    local rc=0
    "$aw" enroll "$@" >enroll.out 2>&1 || rc=$?
    if [[ $want == ok && $rc -eq 0 ]] || [[ $want == fail && $rc -eq 1 ]]; then
        printf '  %sok%s   %s\n' "$green" "$off" "$what"
    else
        printf '  %sFAIL%s %s (exit %d)\n' "$red" "$off" "$what" "$rc"
        failures=$((failures + 1))
    fi
    sed 's/^/       | /' enroll.out
}
enroll ok "alice enrolls with her token" -- "$url" "$alice_token" --out alice.json
enroll ok "bob enrolls with his (the server only ever sees his Ed25519 public key)" -- "$url" "$bob_token" --out bob.json
enroll fail "mallory replays alice's token: single use" -- "$url" "$alice_token" --out mallory.json
say "carol is added directly by the admin (HMAC, challenge: no clock needed)"
"$aw" user add carol --data data --out carol.json --url "$url" --mode challenge | sed 's/^/  /'
"$aw" user list --data data | sed 's/^/  /'

say "A session: every request signed, every answer checked against the request it answers"
step ok "alice reads her balance" -- --credentials alice.json /api/balance
step ok "alice sends 25.00 to bob" -- --credentials alice.json -H 'Content-Type: application/json' -d '{"to": "bob", "amount": 2500}' /api/transfer
step ok "bob (sequence mode) sees it" -- --credentials bob.json /api/balance
step ok "bob leaves a note" -- --credentials bob.json -H 'Content-Type: text/plain' -d 'thanks alice' /api/notes
step ok "bob reads his notes" -- --credentials bob.json /api/notes
step ok "carol (challenge mode, no clock needed)" -- --credentials carol.json /api/whoami
alice_before=$(balance_of alice); bob_before=$(balance_of bob)

say "Mallory on the path: he captured a transfer of alice's and replays and edits it"
jq -r .key alice.json > alice.key
printf 'POST /api/transfer HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/json\r\nContent-Length: 28\r\nConnection: close\r\n\r\n{"to": "bob", "amount": 100}' "$(cat port)" > capture.http
"$aw" sign capture.http --key alice.key --keyid alice > captured.http
send_raw() { # the status line of the answer to the raw request in $1, over TLS
    socat -t 5 - "OPENSSL:127.0.0.1:$(cat port),cafile=data/ca.pem,verify=1,commonname=localhost" < "$1" > answer.raw 2>/dev/null || true
    head -n 1 answer.raw | tr -d '\r'
}
first=$(send_raw captured.http)
echo "  the original, sent once: $first"
second=$(send_raw captured.http)
reason=$(tail -n 1 gateway.log | jq -r .reason)
[[ "$second" == *401* && $reason == replay ]] && printf '  %sok%s   replayed: %s (log: %s)\n' "$green" "$off" "$second" "$reason" ||
    { printf '  %sFAIL%s replay answered %s\n' "$red" "$off" "$second"; failures=$((failures + 1)); }
"$aw" sign capture.http --key alice.key --keyid alice | sed 's/"amount": 100}/"amount": 900}/' > edited.http
third=$(send_raw edited.http)
reason=$(tail -n 1 gateway.log | jq -r .reason)
[[ "$third" == *401* && $reason == digest_mismatch ]] && printf '  %sok%s   amount edited to 900: %s (log: %s)\n' "$green" "$off" "$third" "$reason" ||
    { printf '  %sFAIL%s edit answered %s\n' "$red" "$off" "$third"; failures=$((failures + 1)); }
alice_after=$(balance_of alice); bob_after=$(balance_of bob)
if [[ $alice_after -eq $((alice_before - 100)) && $bob_after -eq $((bob_before + 100)) ]]; then
    printf '  %sok%s   balances moved once, by the genuine 1.00 only (alice %s, bob %s)\n' "$green" "$off" "$alice_after" "$bob_after"
else
    printf '  %sFAIL%s balances: alice %s -> %s, bob %s -> %s\n' "$red" "$off" "$alice_before" "$alice_after" "$bob_before" "$bob_after"
    failures=$((failures + 1))
fi

say "Mallory with a certificate the client trusts terminates TLS and relays"
relay=$(cat port)
while (exec 3<>"/dev/tcp/127.0.0.1/$relay") 2>/dev/null; do relay=$((20000 + RANDOM % 30000)); done
socat "OPENSSL-LISTEN:$relay,bind=127.0.0.1,reuseaddr,fork,cert=data/server.pem,key=data/server.key,verify=0" \
    "OPENSSL:127.0.0.1:$(cat port),cafile=data/ca.pem,verify=1,commonname=localhost" 2>/dev/null &
relay_pid=$!
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$relay") 2>/dev/null && break; sleep 0.05; done
step interference "the gateway sees another TLS session than alice's: refused, interception reported" -- --credentials alice.json "https://127.0.0.1:$relay/api/balance"
kill "$relay_pid" 2>/dev/null
wait "$relay_pid" 2>/dev/null || true
if grep -q 'TLS interception suspected' gateway.log; then
    echo "  gateway log: $(grep -m1 -o '"detail":"TLS interception[^"]*"' gateway.log)"
else
    printf '  %sFAIL%s the gateway did not log the interception\n' "$red" "$off"
    failures=$((failures + 1))
fi

say "Key rotation and revocation: alice re-keys without downtime, the admin ends carol"
cp alice.json alice-old.json
rc=0; "$aw" rotate --credentials alice.json >rotate.out 2>&1 || rc=$?
if [[ $rc -eq 0 ]]; then printf '  %sok%s   alice rotates (signed with her current key, a fresh Noise handshake)\n' "$green" "$off"
else printf '  %sFAIL%s alice rotates (exit %d)\n' "$red" "$off" "$rc"; failures=$((failures + 1)); fi
sed 's/^/       | /' rotate.out
step ok "alice's new key works" -- --credentials alice.json /api/whoami
step fail "her old key is refused now that the new one is confirmed" -- --credentials alice-old.json /api/whoami
"$aw" user revoke carol --data data | sed 's/^/  /'
step fail "carol is refused on her very next request" -- --credentials carol.json /api/whoami
"$aw" user list --data data | sed 's/^/  /'

printf '\n%s# Part 2: under the hood, the signing core on raw messages%s\n' "$bold" "$off"
say "Keys: alice has a 256-bit HMAC key, bob an Ed25519 key pair"
head -c 32 /dev/urandom | base64 > alice.key
openssl genpkey -algorithm ed25519 -out bob.pem 2>/dev/null
openssl pkey -in bob.pem -pubout -out bob.pub 2>/dev/null
chmod 600 alice.key bob.pem
echo "  alice.key (shared with the server), bob.pem (bob only) / bob.pub (server)"

say "Alice signs a transfer of 10 to bob"
printf 'POST /api/transfer?to=bob HTTP/1.1\r\nHost: bank.example\r\nContent-Type: application/json\r\n\r\n{"amount": 10}' > transfer.http
"$aw" sign transfer.http --key alice.key --keyid alice > signed.http
sed 's/^/  | /' signed.http; echo

say "The server verifies it (authwire/1 policy) and shows the signature base"
"$aw" verify signed.http --key alice.key --keyid alice | sed 's/^/  | /'
expect ok "genuine request accepted" -- "$aw" verify -q signed.http --key alice.key --keyid alice

say "A man in the middle edits the request"
sed 's/"amount": 10/"amount": 9999/' signed.http > t-body.http
expect fail "amount changed in the body" -- "$aw" verify -q t-body.http --key alice.key --keyid alice
sed 's/to=bob/to=mallory/' signed.http > t-query.http
expect fail "recipient changed in the query" -- "$aw" verify -q t-query.http --key alice.key --keyid alice
sed 's#POST /api/transfer#POST /api/withdraw#' signed.http > t-path.http
expect fail "path changed" -- "$aw" verify -q t-path.http --key alice.key --keyid alice
sed 's/^Host: bank.example/Host: evil.example/' signed.http > t-host.http
expect fail "authority changed" -- "$aw" verify -q t-host.http --key alice.key --keyid alice
sed 's/tag="authwire\/1"/tag="other"/' signed.http > t-tag.http
expect fail "domain-separation tag changed" -- "$aw" verify -q t-tag.http --key alice.key --keyid alice
sed 's/alg="hmac-sha256"/alg="ed25519"/' signed.http > t-alg.http
expect fail "algorithm switched" -- "$aw" verify -q t-alg.http --key alice.key --keyid alice
sed 's/keyid="alice"/keyid="bob"/' signed.http > t-keyid.http
expect fail "alice's request presented as bob's" -- "$aw" verify -q t-keyid.http --key bob.pub --keyid bob
grep -v '^Signature' signed.http > t-strip.http
expect fail "signature stripped" -- "$aw" verify -q t-strip.http --key alice.key --keyid alice

say "Replay: a captured request is only good inside the 30 s window"
created=$(grep -o 'created=[0-9]*' signed.http | cut -d= -f2)
expect fail "replayed 31 s later" -- "$aw" verify -q signed.http --key alice.key --keyid alice --now $((created + 31))
echo "  (inside the window the gateway's nonce cache refuses a second use; see docs/PROTOCOL.md)"

say "Bob signs with Ed25519: the server holds only his public key"
"$aw" sign transfer.http --key bob.pem --keyid bob > bob-signed.http
expect ok "bob's request accepted" -- "$aw" verify -q bob-signed.http --key bob.pub --keyid bob
expect fail "bob's request with alice's key" -- "$aw" verify -q bob-signed.http --key alice.key --keyid bob

say "The server answers; the response is bound to the request it answers"
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"balance": 90}' > response.http
"$aw" sign response.http --response --request signed.http --key alice.key --keyid alice > signed-response.http
expect ok "response verified against alice's request" -- "$aw" verify -q signed-response.http --response --request signed.http --key alice.key --keyid alice
"$aw" sign transfer.http --key alice.key --keyid alice > other-request.http
expect fail "same response replayed as the answer to another request" -- "$aw" verify -q signed-response.http --response --request other-request.http --key alice.key --keyid alice
sed 's/200 OK/403 Forbidden/' signed-response.http > forged-response.http
expect fail "status forged" -- "$aw" verify -q forged-response.http --response --request signed.http --key alice.key --keyid alice

printf '\n%s# Part 3: the attack catalogue against this gateway%s\n' "$bold" "$off"
attack() { # attack DESCRIPTION -- authwire attack args...: prints the table, wants exit 0
    local what=$1; shift 2
    local rc=0 start
    start=$(date +%s%N)
    # The table on stdout; progress (a live counter on a terminal) and errors on stderr.
    "$aw" attack "$@" >attack.out || rc=$?
    sed 's/^/  /' attack.out
    if [[ $rc -eq 0 ]]; then
        printf '  %sok%s   %s (%s s)\n' "$green" "$off" "$what" \
            "$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')"
    else
        printf '  %sFAIL%s %s (exit %d)\n' "$red" "$off" "$what" "$rc"
        failures=$((failures + 1))
    fi
}
say "Mallory sits between alice's own client and the gateway: a relay, an HTTP-aware proxy and a TLS interceptor with a rogue CA; bob is the victim of the insider rows"
# attack() wants exit 0 (nothing succeeded); the report must also show each block by the
# defence the catalogue names.
attack "every attack blocked by the defence the catalogue names, or skipped for a reason" -- \
    --credentials alice.json --data data --slow-timeout 5 --window 15 \
    --restart-cmd "bash$restart_cmd" --json attack-report.json
expect ok "each blocked row stopped by the defence the catalogue names" -- \
    jq -e 'all(.[]; .outcome == "skipped" or (.outcome == "blocked" and .as_expected))' attack-report.json
say "The seed design (one shared key, each user's key = HMAC(shared key, a nonce sent in the clear)) against its own insider, and authwire against the same"
attack "the seed design falls to an insider, authwire does not" -- --profile seed

say "Stopping authwired (SIGTERM: requests in flight finish)"
if [[ $(cat gateway.pid) == "$gateway_pid" ]]; then # our own child: wait for it
    kill -TERM "$gateway_pid"; wait "$gateway_pid" && echo "  stopped cleanly"
else # replay-after-restart started a new one, not our child
    gateway_pid=$(cat gateway.pid)
    kill -TERM "$gateway_pid"
    for _ in $(seq 200); do kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$gateway_pid" 2>/dev/null || echo "  stopped"
fi
gateway_pid=
: >gateway.pid

echo
if ((failures > 0)); then
    echo "${red}demo: $failures step(s) did not behave as expected${off}"
    exit 1
fi
echo "${green}demo: every genuine message was accepted and every tampered one rejected; the attack catalogue was blocked${off}"
