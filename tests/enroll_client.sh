#!/usr/bin/env bash
# `authwire enroll` and `authwire rotate` end to end on 127.0.0.1, against authwired with
# `authwire invite` tokens:
#   enroll (HMAC timestamp; Ed25519 sequence with --cacert; token typed in lower case with
#   dashes; token on stdin), then signed requests; the file is 0600 with the CA and the
#   enrollment key, and never shows the key;
#   refusals: mistyped token (exit 2, no traffic), reused, revoked, expired, unknown invite
#   (exit 1, the server's unauthenticated word), an existing --out (exit 1, no traffic);
#   the pin: a token of another data dir, a gateway of another data dir (exit 3, no HELLO);
#   --cacert of another CA (exit 1 at once);
#   the gateway killed right before and right after its commit (kill -9 by itself) and
#   restarted: the client sends the same CONFIRM again, or starts over once, and enrolls;
#   rotate (HMAC; Ed25519 in sequence mode; challenge mode; a `user add` file): the new key
#   works, the old copy is refused, `user list` shows it; a file without enroll_key is
#   refused.
set -uo pipefail
aw=${AUTHWIRE:?AUTHWIRE must point at the authwire binary}
awd="$(dirname "$aw")/authwired"
[[ -x "$awd" ]] || { echo "FATAL: $awd is missing" >&2; exit 1; }
command -v jq >/dev/null || { echo "FATAL: jq is not installed (make deps)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
data=$work/data
other=$work/other
# shellcheck source=support/gateway_lib.sh
source "$(dirname "$0")/support/gateway_lib.sh"
trap gateway_cleanup EXIT

# run WANT DESCRIPTION -- command...: stdout in $work/out, stderr in $work/err.
run() {
    local want=$1 what=$2; shift 3
    local rc=0
    "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
    if [[ $rc -eq $want ]]; then ok; else bad "$what: exit $rc, want $want"; cat "$work/err"; fi
}
# said WHERE PATTERN DESCRIPTION: WHERE (out or err) has PATTERN.
said() {
    if grep -q -- "$2" "$work/$1"; then ok; else bad "$3: $1 lacks '$2':"; cat "$work/$1"; fi
}

# steps LOG STEP: how many access-log lines of that enrollment step (key, hello, confirm...).
steps() { [[ -f "$1" ]] || { echo 0; return; }; jq -c "select(.enroll == \"$2\")" "$1" | wc -l; }
lines() { [[ -f "$1" ]] && wc -l <"$1" || echo 0; }

# invite DATA NAME ARGS...: the token (the last line of stdout).
invite() {
    local dir=$1; shift
    "$aw" invite "$@" --data "$dir" | tail -n 1
}

# request WANT DESCRIPTION CREDENTIALS PATH: authwire request.
request() { run "$1" "$2" -- "$aw" request --credentials "$3" "$4"; }

"$aw" init --data "$data" >/dev/null && "$aw" init --data "$other" >/dev/null ||
    { echo "FATAL: init failed"; exit 1; }
start_gateway main --demo-api
url=https://127.0.0.1:$port
log=$work/main.log

# ---- enroll, then signed requests -------------------------------------------------------
alice_token=$(invite "$data" alice)
run 0 "enroll alice (hmac-sha256, timestamp)" -- "$aw" enroll "$url" "$alice_token" --out "$work/alice.json"
said out "enrolled as alice (hmac-sha256, timestamp mode)" "enroll summary"
said out "server clock offset" "enroll summary"
[[ $(stat -c %a "$work/alice.json") == 600 ]] && ok || bad "alice.json mode $(stat -c %a "$work/alice.json")"
[[ "$(jq -j .ca "$work/alice.json")" == "$(cat "$data/ca.pem")" ]] && ok || bad "alice.json lacks the CA"
[[ $(jq -r .keyid "$work/alice.json") == alice && $(jq -r .url "$work/alice.json") == "$url" ]] &&
    ok || bad "alice.json keyid/url: $(jq -c '{keyid, url}' "$work/alice.json")"
# The same enrollment key as the data dir's (user add writes it from server-x25519.pem).
"$aw" user add ref --data "$data" --out "$work/ref.json" --url "$url" >/dev/null || bad "user add ref"
ek=$(jq -r .enroll_key "$work/alice.json")
[[ -n $ek && $ek != null && $ek == "$(jq -r .enroll_key "$work/ref.json")" ]] && ok ||
    bad "enroll_key '$ek' is not the data dir's"
key=$(jq -r .key "$work/alice.json")
grep -qF -- "$key" "$work/out" "$work/err" && bad "enroll printed the key" || ok
request 0 "alice's first request" "$work/alice.json" /api/whoami
[[ $(jq -r .user "$work/out") == alice ]] && ok || bad "whoami: $(cat "$work/out")"
[[ $(steps "$log" key) -eq 1 && $(steps "$log" hello) -eq 1 && $(steps "$log" confirm) -eq 1 ]] &&
    ok || bad "one KEY, HELLO and CONFIRM expected in the log"

# Ed25519 and sequence mode; TLS verified with --cacert.
bob_token=$(invite "$data" bob --alg ed25519 --mode sequence)
run 0 "enroll bob (ed25519, sequence, --cacert)" -- "$aw" enroll "$url" "$bob_token" \
    --out "$work/bob.json" --cacert "$data/ca.pem"
said out "enrolled as bob (ed25519, sequence mode)" "bob's summary"
[[ $(jq -r .key "$work/bob.json") == "-----BEGIN PRIVATE KEY-----"* ]] && ok || bad "bob's key is no PEM"
[[ "$(jq -j .ca "$work/bob.json")" == "$(cat "$data/ca.pem")" ]] && ok || bad "bob.json lacks the --cacert CA"
for i in 1 2 3; do request 0 "bob's request $i" "$work/bob.json" /api/whoami; done
[[ $(jq -r .alg "$work/out") == ed25519 && $(jq -r .mode "$work/out") == sequence ]] && ok ||
    bad "bob whoami: $(cat "$work/out")"

# The token as a person types it (lower case, dashes), and on stdin.
typed=$(invite "$data" carol | tr 'A-Z' 'a-z' | sed 's/..../&-/g; s/-$//')
run 0 "a token typed in lower case with dashes" -- "$aw" enroll "$url" "$typed" --out "$work/carol.json"
dora_token=$(invite "$data" dora --mode challenge)
rc=0
echo "$dora_token" | "$aw" enroll "$url" - --out "$work/dora.json" --verbose >"$work/out" 2>"$work/err" || rc=$?
[[ $rc -eq 0 ]] && ok || { bad "token on stdin: exit $rc"; cat "$work/err"; }
said err "TLS certificate not verified during enrollment" "--verbose says TLS is not verified"
said err "enrollment key matches the pinned fingerprint" "--verbose shows the pin checked"
request 0 "dora (challenge mode)" "$work/dora.json" /api/whoami

# ---- refusals ---------------------------------------------------------------------------
# Mistyped: exit 2 before any traffic.
before=$(lines "$log")
erin_token=$(invite "$data" erin)
c=${erin_token:20:1}; [[ $c == A ]] && d=B || d=A
run 2 "a mistyped token" -- "$aw" enroll "$url" "${erin_token:0:20}$d${erin_token:21}" --out "$work/erin.json"
said err "mistyped" "mistyped token message"
run 2 "a token that is no token" -- "$aw" enroll "$url" hello --out "$work/erin.json"
run 2 "a token one character short" -- "$aw" enroll "$url" "${erin_token:1}" --out "$work/erin.json"
sleep 0.2
[[ $(lines "$log") -eq $before && ! -e $work/erin.json ]] && ok || bad "a mistyped token made traffic or a file"
# ...and the right one still works.
run 0 "erin's real token" -- "$aw" enroll "$url" "$erin_token" --out "$work/erin.json"

# Reused.
run 1 "alice's token again" -- "$aw" enroll "$url" "$alice_token" --out "$work/alice2.json"
said err "server says: invite_used" "reused token message"
said err "unauthenticated answer" "reused token message"
[[ ! -e $work/alice2.json ]] && ok || bad "a refused enrollment left a file"

# Revoked, expired, unknown (an invite of a copy of the data dir: same keys, other database).
frank=$("$aw" invite frank --json --data "$data")
"$aw" invite --revoke "$(head -n 1 <<<"$frank" | jq -r .id)" --data "$data" >/dev/null || bad "invite --revoke"
run 1 "a revoked invite" -- "$aw" enroll "$url" "$(tail -n 1 <<<"$frank")" --out "$work/frank.json"
said err "invite_revoked" "revoked invite message"
gina_token=$(invite "$data" gina --ttl 1s)
sleep 2.1
run 1 "an expired invite" -- "$aw" enroll "$url" "$gina_token" --out "$work/gina.json"
said err "invite_expired" "expired invite message"
cp -a "$data" "$work/copy"
run 1 "an invite the gateway never issued" -- "$aw" enroll "$url" "$(invite "$work/copy" hugo)" --out "$work/hugo.json"
said err "invite_unknown" "unknown invite message"

# An existing --out: refused before any traffic; the invite stays usable.
ivy_token=$(invite "$data" ivy)
echo keep >"$work/ivy.json"
before=$(lines "$log")
run 1 "an existing --out" -- "$aw" enroll "$url" "$ivy_token" --out "$work/ivy.json"
[[ $(cat "$work/ivy.json") == keep && $(lines "$log") -eq $before ]] && ok || bad "--out was touched"
run 0 "ivy enrolls into another file" -- "$aw" enroll "$url" "$ivy_token" --out "$work/ivy2.json"

# ---- the pin ----------------------------------------------------------------------------
hellos=$(steps "$log" hello)
run 3 "a token of another data dir" -- "$aw" enroll "$url" "$(invite "$other" jack)" --out "$work/jack.json"
said err "DOES NOT MATCH THE TOKEN" "fingerprint mismatch message"
said err "possible interception" "fingerprint mismatch message"
[[ $(steps "$log" hello) -eq $hellos && ! -e $work/jack.json ]] && ok || bad "HELLO sent despite the mismatch"
data=$other start_gateway other --demo-api
run 3 "a gateway of another data dir" -- "$aw" enroll "https://127.0.0.1:$port" \
    "$(invite "$data" kim)" --out "$work/kim.json"
[[ $(steps "$work/other.log" hello) -eq 0 && $(steps "$work/other.log" key) -eq 1 ]] && ok ||
    bad "the other gateway saw a HELLO"
# The other data dir's CA does not vouch for this gateway: no answer, and no retries.
SECONDS=0
run 1 "--cacert of another CA" -- "$aw" enroll "$url" "$(invite "$data" lea)" \
    --out "$work/lea.json" --cacert "$other/ca.pem"
[[ $SECONDS -lt 5 ]] && ok || bad "a TLS verification failure was retried (${SECONDS}s)"

# ---- the gateway dies around its commit (kill -9 by itself), and comes back ----------------
# crash NAME POINT: enroll NAME through a gateway that kills itself at POINT, restart it on
# the same port while the client waits to send its CONFIRM again.
crash() {
    local name=$1 point=$2 token
    token=$(invite "$data" "$name")
    AUTHWIRED_TEST_CRASH=$point start_gateway crash --demo-api
    disown "$pid_crash" # it dies by SIGKILL on purpose: no job notice
    local cport=$port cpid=$pid_crash rc=0
    "$aw" enroll "https://127.0.0.1:$cport" "$token" --out "$work/$name.json" \
        >"$work/$name.out" 2>"$work/$name.err" &
    local epid=$!
    for _ in $(seq 200); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$cpid" 2>/dev/null && bad "$point: the gateway did not crash"
    AW_LISTEN=127.0.0.1:$cport start_gateway crash --demo-api
    wait "$epid" || rc=$?
    [[ $rc -eq 0 ]] && ok || { bad "$point: enroll exit $rc"; cat "$work/$name.err"; }
    request 0 "$name after the $point crash" "$work/$name.json" /api/whoami
    [[ $("$aw" user list --data "$data" --json | jq "[.[] | select(.name == \"$name\")] | length") -eq 1 ]] &&
        ok || bad "$point: not exactly one user $name"
    kill "$pid_crash"
}
crash max after-commit
grep -q "sent again" "$work/max.out" && ok || bad "after-commit: the CONFIRM was not sent again: $(cat "$work/max.out")"
crash noa before-commit
grep -q "1 handshake(s) started over" "$work/noa.out" && ok ||
    bad "before-commit: the handshake did not start over: $(cat "$work/noa.out")"

# ---- rotate -----------------------------------------------------------------------------
# rotated NAME: rotate NAME's file (a copy of the old one kept), then the new key works and
# the old one is refused.
rotated() {
    local name=$1
    cp -p "$work/$name.json" "$work/$name.old.json"
    run 0 "rotate $name" -- "$aw" rotate --credentials "$work/$name.json"
    said out "rotated: the new key is confirmed" "rotate $name message"
    [[ $(jq -r .key "$work/$name.json") != "$(jq -r .key "$work/$name.old.json")" ]] && ok || bad "$name: the key did not change"
    [[ $(stat -c %a "$work/$name.json") == 600 ]] && ok || bad "$name: mode after rotate"
    [[ $(jq -c 'del(.key)' "$work/$name.json") == "$(jq -c 'del(.key)' "$work/$name.old.json")" ]] && ok ||
        bad "$name: rotate changed more than the key"
    request 0 "$name with the new key" "$work/$name.json" /api/whoami
    request 1 "$name's old key after the rotation" "$work/$name.old.json" /api/whoami
}
rotated alice
rotated bob
rotated ref
rotated dora
"$aw" user list --data "$data" >"$work/out" || bad "user list"
grep -E '^alice .* rotated 20' "$work/out" >/dev/null && ok || bad "user list does not show alice's rotation: $(cat "$work/out")"
grep -E '^carol .* - ' "$work/out" >/dev/null && ok || bad "user list: carol never rotated: $(cat "$work/out")"
run 1 "rotate with the old key" -- "$aw" rotate --credentials "$work/alice.old.json"
said err "refused the rotation" "rotate with the old key"
jq 'del(.enroll_key)' "$work/carol.json" >"$work/nopin.json" && chmod 600 "$work/nopin.json"
run 1 "rotate a file without enroll_key" -- "$aw" rotate --credentials "$work/nopin.json"
said err "no enroll_key" "rotate without a pin"
request 0 "carol still works" "$work/carol.json" /api/whoami

# ---- usage ------------------------------------------------------------------------------
run 0 "enroll --help" -- "$aw" enroll --help
said out "usage: authwire enroll URL TOKEN --out FILE" "enroll --help"
said out "NOT verified" "enroll --help says TLS is not verified without --cacert"
run 0 "rotate --help" -- "$aw" rotate --help
run 2 "enroll without --out" -- "$aw" enroll "$url" "$ivy_token"
run 2 "enroll without TOKEN" -- "$aw" enroll "$url" --out "$work/x.json"
run 2 "enroll with a bad URL" -- "$aw" enroll "ftp://x" "$ivy_token" --out "$work/x.json"
run 2 "enroll --timeout 0" -- "$aw" enroll "$url" "$ivy_token" --out "$work/x.json" --timeout 0
run 2 "rotate without --credentials" -- "$aw" rotate
run 2 "rotate with an extra argument" -- "$aw" rotate --credentials "$work/alice.json" extra

echo "enroll_client: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
