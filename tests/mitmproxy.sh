#!/usr/bin/env bash
# A man in the middle not written here: Debian's mitmproxy (mitmdump) in reverse-proxy mode
# between `authwire request` and authwired, with a small addon (tests/mitmproxy/rewrite.py)
# that rewrites request bodies or response bodies, chosen by AW_MITM_REWRITE when it starts.
#
#   off       the path through mitmproxy works: a balance and a transfer, exit 0
#   request   the transfer's amount and payee are rewritten: authwired refuses it
#             (digest_mismatch in its access log), the balances do not move, the client gets
#             a signed refusal (exit 1); a GET it leaves alone still passes
#   response  the balance in the answer is rewritten: the client refuses the answer
#             (exit 3, "possible interference") and shows none of it
#   mitmproxy's own Host rewrite (its default in reverse mode) is caught too, by the gateway
#   (@authority) and by the client (the 401 is bound to the authority the gateway saw)
#   over HTTPS, mitmproxy terminating TLS with its own CA: a client that does not trust that
#   CA stops at the handshake; one that does is told TLS INTERCEPTION SUSPECTED (channel
#   binding), and the row is honest that mitmproxy read the body
#
# Every wait is bounded; every process started goes into pids and is killed at exit.
set -uo pipefail
# shellcheck source=support/gateway_lib.sh
source "$(dirname "$0")/support/gateway_lib.sh" jq curl mitmdump
addon="$(cd "$(dirname "$0")" && pwd)/mitmproxy/rewrite.py"
[[ -r "$addon" ]] || { echo "FATAL: $addon is missing"; exit 1; }

# mitmdump must run here, not just be installed: a missing Python module shows now, loudly.
if ! timeout 60 mitmdump --version >"$work/version" 2>&1; then
    echo "FATAL: mitmdump does not run (scripts/install-deps.sh installs Debian's mitmproxy):"
    cat "$work/version"
    exit 1
fi

# start_mitm NAME MODE UPSTREAM [mitmdump options]: mitmdump in reverse-proxy mode in front of
# UPSTREAM with the addon in MODE, on a port it picks (its "listening at" line says which;
# 30 s at most), sets $mport. Rewrites are logged to $work/NAME.rewrites, its output to
# $work/NAME.out. The CA it makes for TLS lives in $work/mitmproxy, not in $HOME.
start_mitm() {
    local name=$1 mode=$2 upstream=$3; shift 3
    AW_MITM_REWRITE=$mode AW_MITM_LOG="$work/$name.rewrites" \
        mitmdump --mode "reverse:$upstream" --listen-host 127.0.0.1 --listen-port 0 \
        --set confdir="$work/mitmproxy" -s "$addon" "$@" >"$work/$name.out" 2>&1 &
    local p=$!
    pids+=("$p")
    mport=
    for _ in $(seq 300); do
        mport=$(sed -n 's/.*listening at 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/$name.out")
        [[ -n $mport ]] && break
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $mport ]]; then
        echo "FATAL: mitmdump $name did not start:"; cat "$work/$name.out"; exit 1
    fi
    wait_port "$mport"
}

# through WANT_EXIT DESCRIPTION ARGS...: alice's `authwire request` (60 s at most), stdout in
# $work/out, stderr in $work/err.
through() {
    local want=$1 what=$2; shift 2
    local rc=0
    timeout 60 "$aw" request --credentials "$work/alice.json" "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [[ $rc -eq $want ]]; then ok; else bad "$what: exit $rc, want $want: $(cat "$work/err")"; fi
}
# balance NAME: NAME's balance, asked of the gateway directly (no mitmproxy on the path).
balance() {
    timeout 60 "$aw" request --credentials "$work/$1.json" /api/balance 2>"$work/err" | jq -r .balance
}
# rewrites NAME: how many bodies mitmdump NAME altered.
rewrites() { [[ -s "$work/$1.rewrites" ]] && wc -l <"$work/$1.rewrites" || echo 0; }
# transfer WANT_EXIT DESCRIPTION BASE_URL: alice sends bob 100 by way of BASE_URL.
transfer() {
    through "$1" "$2" -H 'Content-Type: application/json' -d '{"to": "bob", "amount": 100}' \
        "$3/api/transfer"
}

# ---- set-up -----------------------------------------------------------------------------
"$aw" init --data "$data" >/dev/null || { echo "FATAL: init failed"; exit 1; }
start_gateway plain --demo-api --plain
gw=$port
start_gateway tls --demo-api
tls_gw=$port
for name in alice bob; do
    "$aw" user add "$name" --data "$data" --out "$work/$name.json" --url "http://127.0.0.1:$gw" \
        >/dev/null || { echo "FATAL: user add $name failed"; exit 1; }
done
# keep_host_header: the Host the client signed (@authority) reaches the gateway, as through
# any transparent man in the middle; mitmproxy's default rewrite of it is tested on its own.
start_mitm off off "http://127.0.0.1:$gw" --set keep_host_header=true
off_port=$mport
start_mitm request request "http://127.0.0.1:$gw" --set keep_host_header=true
request_port=$mport
start_mitm response response "http://127.0.0.1:$gw" --set keep_host_header=true
response_port=$mport
start_mitm host off "http://127.0.0.1:$gw"
host_port=$mport
start_mitm tls off "https://127.0.0.1:$tls_gw" --set keep_host_header=true \
    --set ssl_verify_upstream_trusted_ca="$data/ca.pem" --set flow_detail=3
tls_port=$mport
mitm_ca=$work/mitmproxy/mitmproxy-ca-cert.pem
[[ -s $mitm_ca ]] || { echo "FATAL: mitmproxy made no CA in $work/mitmproxy"; exit 1; }

# ---- the addon off: the path works --------------------------------------------------------
through 0 "balance through mitmproxy (addon off)" "http://127.0.0.1:$off_port/api/balance"
[[ $(jq -r .balance "$work/out") == 10000 ]] && ok || bad "balance through mitmproxy: $(cat "$work/out")"
transfer 0 "transfer through mitmproxy (addon off)" "http://127.0.0.1:$off_port"
[[ $(jq -r .balance "$work/out") == 9900 ]] && ok || bad "balance after the transfer: $(cat "$work/out")"
[[ $(balance bob) == 10100 ]] && ok || bad "bob got the 100"
[[ $(rewrites off) == 0 ]] && ok || bad "the addon altered something while off: $(cat "$work/off.rewrites")"

# ---- request bodies rewritten: authwired refuses -----------------------------------------
transfer 1 "transfer with its body rewritten: a signed refusal" "http://127.0.0.1:$request_port"
[[ $(rewrites request) == 1 ]] && ok || bad "mitmproxy rewrote the transfer once: $(cat "$work/request.rewrites" 2>/dev/null)"
grep -q '"amount": 9999' "$work/request.rewrites" 2>/dev/null && grep -q '"mallory"' "$work/request.rewrites" &&
    ok || bad "the rewrite inflated and redirected the transfer"
[[ $(last_reason "$work/plain.log") == digest_mismatch ]] && ok ||
    bad "gateway reason for the rewritten body: $(tail -n 1 "$work/plain.log")"
[[ $(tail -n 1 "$work/plain.log" | jq -r .status) == 401 ]] && ok || bad "status of the rewritten transfer"
grep -q "answered 401.*signed and bound" "$work/err" && ok || bad "the client saw a signed 401: $(cat "$work/err")"
[[ $(balance alice) == 9900 ]] && ok || bad "alice's balance moved: $(balance alice)"
[[ $(balance bob) == 10100 ]] && ok || bad "bob's balance moved: $(balance bob)"
through 0 "a GET the request rewriter leaves alone passes" "http://127.0.0.1:$request_port/api/whoami"
[[ $(rewrites request) == 1 ]] && ok || bad "the GET was altered"

# ---- response bodies rewritten: the client refuses the answer ----------------------------
through 3 "balance with its answer rewritten: possible interference" "http://127.0.0.1:$response_port/api/balance"
grep -q "possible interference" "$work/err" && grep -q "digest_mismatch" "$work/err" && ok ||
    bad "the client names the interference: $(cat "$work/err")"
[[ ! -s "$work/out" ]] && ok || bad "the altered answer was shown: $(cat "$work/out")"
[[ $(rewrites response) == 1 ]] && ok || bad "mitmproxy rewrote the answer once: $(cat "$work/response.rewrites" 2>/dev/null)"
grep -q '"balance": *1000000' "$work/response.rewrites" 2>/dev/null && ok || bad "the forged balance"
[[ $(tail -n 1 "$work/plain.log" | jq -r .outcome) == ok ]] && ok ||
    bad "the gateway served the request (the answer was altered after it): $(tail -n 1 "$work/plain.log")"

# ---- mitmproxy's default Host rewrite --------------------------------------------------
# The gateway refuses the request (@authority differs), and its signed 401 binds the
# authority it saw, so the client cannot take even the refusal as an answer to its request.
through 3 "mitmproxy rewriting Host: refused both ways" "http://127.0.0.1:$host_port/api/balance"
[[ $(last_reason "$work/plain.log") == signature_invalid ]] && ok ||
    bad "gateway reason for the rewritten Host: $(tail -n 1 "$work/plain.log")"
grep -q "possible interference" "$work/err" && ok || bad "the client flags the rewritten Host: $(cat "$work/err")"

# ---- HTTPS, mitmproxy terminating TLS ----------------------------------------------------
tls_url="https://127.0.0.1:$tls_port"
through 1 "mitmproxy's certificate, not trusted: the TLS handshake fails" "$tls_url/api/balance"
through 3 "mitmproxy's CA trusted: TLS interception suspected" --cacert "$mitm_ca" \
    -H 'Content-Type: text/plain' -d 'meet at noon' "$tls_url/api/notes"
grep -q "TLS INTERCEPTION SUSPECTED" "$work/err" && ok || bad "the client says interception: $(cat "$work/err")"
[[ $(last_reason "$work/tls.log") == channel_binding ]] && ok ||
    bad "gateway reason under interception: $(tail -n 1 "$work/tls.log")"
# Honest: the interceptor read the body (confidentiality is TLS's, and TLS was broken here)...
grep -q "meet at noon" "$work/tls.out" && ok || bad "mitmproxy's dump should show the body it read"
# ... but the note was not stored.
timeout 60 "$aw" request --credentials "$work/alice.json" /api/notes >"$work/out" 2>"$work/err"
[[ $(jq -r '.notes | length' "$work/out") == 0 ]] && ok || bad "the intercepted note was stored: $(cat "$work/out")"

# Both gateways lived through it all, with nothing from a sanitizer on their stderr.
for name in plain tls; do
    pid_var="pid_$name"
    kill -0 "${!pid_var}" 2>/dev/null && ok || bad "authwired $name died: $(cat "$work/$name.err")"
    ! grep -qE "Sanitizer|runtime error" "$work/$name.err" && ok || bad "authwired $name: $(cat "$work/$name.err")"
done

echo "mitmproxy: $pass passed, $fail failed"
[[ $fail -eq 0 && $pass -gt 0 ]]
