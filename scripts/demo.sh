#!/usr/bin/env bash
# make demo: a narrated session with the authwire signing core. Creates throwaway keys,
# signs a money transfer, verifies it, then plays the man in the middle: every tampering
# and every misuse must be caught. Exits 0 only if each step behaved as expected.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
aw=${AUTHWIRE_BIN:-$root/$build/authwire}
[[ -x "$aw" ]] || { echo "demo: $aw is not built; run make demo" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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

echo
if ((failures > 0)); then
    echo "${red}demo: $failures step(s) did not behave as expected${off}"
    exit 1
fi
echo "${green}demo: every genuine message was accepted and every tampered one rejected${off}"
