#!/usr/bin/env bash
# The admin commands: `authwire init` and `authwire user add/list/revoke/cert` on a real data
# directory. Checks file modes, the credential file (parsed with jq, every member present, the
# key usable with `authwire sign`/`verify`, the pinned key = the server's), clear messages and
# exit status 1 (failed) or 2 (usage) for every error, never a crash, and --help everywhere.
set -uo pipefail
aw=${AUTHWIRE:?AUTHWIRE must point at the authwire binary}
command -v jq >/dev/null || { echo "FATAL: jq is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=support/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/support/checks.sh"

# --help for every command, on stdout, exit 0; the top-level help lists init and user.
check 0 "help" -- "$aw" --help
grep -q "^  init " "$work/out" && grep -q "^  user " "$work/out" && ok || bad "init/user not in help"
for sub in "init" "user" "user add" "user list" "user revoke" "user cert"; do
    # shellcheck disable=SC2086
    check 0 "$sub --help" -- "$aw" $sub --help
    grep -q "usage: authwire $sub" "$work/out" && ok || bad "$sub --help text"
done

# init.
d=$work/data
check 2 "init without --data" -- "$aw" init
check_stderr "--data DIR is required" "init without --data message"
check 2 "init with an unknown option" -- "$aw" init --data "$d" --bogus
check 0 "init" -- "$aw" init --data "$d"
grep -q "server public key (clients pin it): " "$work/out" && ok || bad "init does not print the server key"
server_pub=$(sed -n 's/^server public key (clients pin it): //p' "$work/out")
check_mode 700 "$d"
for f in authwire.db master.key server-ed25519.pem server-x25519.pem ca.key server.key; do
    check_mode 600 "$d/$f"
    grep -qF "$f" "$work/out" && ok || bad "init does not report $f"
done
check_mode 644 "$d/ca.pem"
check_mode 644 "$d/server.pem"
[[ $(stat -c %s "$d/master.key") -eq 32 ]] && ok || bad "master.key is not 32 bytes"
openssl verify -CAfile "$d/ca.pem" -purpose sslserver "$d/server.pem" >/dev/null 2>&1 && ok ||
    bad "server.pem does not chain to ca.pem"
# The printed key is the public half of server-ed25519.pem.
[[ $(openssl pkey -in "$d/server-ed25519.pem" -pubout -outform DER | tail -c 32 | base64) == "$server_pub" ]] &&
    ok || bad "printed server key differs from server-ed25519.pem"
check 1 "init twice" -- "$aw" init --data "$d"
check_stderr "already an authwire data directory" "init twice message"
mkdir "$work/full" && touch "$work/full/x"
check 1 "init a non-empty directory" -- "$aw" init --data "$work/full"
check_stderr "not empty" "non-empty message"
mkdir "$work/empty"
check 0 "init an existing empty directory" -- "$aw" init --data "$work/empty"
check_mode 700 "$work/empty"
touch "$work/file"
check 1 "init over a file" -- "$aw" init --data "$work/file"

# user add: HMAC (default) and Ed25519.
check 0 "add alice" -- "$aw" user add alice --data "$d" --out "$work/alice.json"
check_mode 600 "$work/alice.json"
check 0 "add bob (ed25519, sequence)" -- "$aw" user add bob --data "$d" --out "$work/bob.json" \
    --alg ed25519 --mode sequence --url https://localhost:9443
check 0 "add carol (challenge)" -- "$aw" user add carol --data "$d" --out "$work/carol.json" \
    --mode challenge
for u in alice bob carol; do
    f=$work/$u.json
    jq -e . "$f" >/dev/null && ok || bad "$u.json is not JSON"
    for m in version url keyid alg key mode server_public_key ca; do
        jq -e --arg m "$m" 'has($m) and (.[$m] != null)' "$f" >/dev/null && ok || bad "$u.json lacks $m"
    done
    [[ $(jq -r .keyid "$f") == "$u" ]] && ok || bad "$u.json keyid"
    [[ $(jq -r .server_public_key "$f") == "$server_pub" ]] && ok || bad "$u.json pins another key"
    [[ $(jq -r .ca "$f") == "$(cat "$d/ca.pem")" ]] && ok || bad "$u.json ca is not ca.pem"
done
[[ $(jq -r .alg "$work/alice.json") == hmac-sha256 && $(jq -r .mode "$work/alice.json") == timestamp &&
   $(jq -r .url "$work/alice.json") == https://127.0.0.1:8443 ]] && ok || bad "alice.json defaults"
[[ $(jq -r .key "$work/alice.json" | base64 -d | wc -c) -eq 32 ]] && ok || bad "alice's key is not 32 bytes"
[[ $(jq -r .alg "$work/bob.json") == ed25519 && $(jq -r .mode "$work/bob.json") == sequence &&
   $(jq -r .url "$work/bob.json") == https://localhost:9443 ]] && ok || bad "bob.json values"
jq -r .key "$work/bob.json" | grep -q -- "-----BEGIN PRIVATE KEY-----" && ok || bad "bob's key is not a PEM"
[[ $(jq -r .mode "$work/carol.json") == challenge ]] && ok || bad "carol's mode"

# The keys work: a request signed with each credential verifies with the same key (HMAC) or
# the public half (Ed25519).
printf 'GET /api/balance HTTP/1.1\nHost: 127.0.0.1:8443\n\n' >"$work/req.http"
jq -r .key "$work/alice.json" >"$work/alice.key"
jq -r .key "$work/bob.json" >"$work/bob.pem"
openssl pkey -in "$work/bob.pem" -pubout -out "$work/bob.pub" 2>/dev/null
check 0 "sign with alice's key" -- "$aw" sign "$work/req.http" --key "$work/alice.key" --keyid alice
cp "$work/out" "$work/alice-signed.http"
check 0 "verify alice's request" -- "$aw" verify "$work/alice-signed.http" --key "$work/alice.key"
check 0 "sign with bob's key" -- "$aw" sign "$work/req.http" --key "$work/bob.pem" --keyid bob
cp "$work/out" "$work/bob-signed.http"
check 0 "verify bob's request with his public key" -- "$aw" verify "$work/bob-signed.http" --key "$work/bob.pub"

# user add errors.
check 1 "duplicate user" -- "$aw" user add alice --data "$d" --out "$work/alice2.json"
check_stderr "user 'alice' exists" "duplicate message"
[[ ! -e $work/alice2.json ]] && ok || bad "a duplicate user left a credential file"
check 1 "existing --out" -- "$aw" user add dave --data "$d" --out "$work/alice.json"
check_stderr "refusing to overwrite" "existing --out message"
check 2 "bad name" -- "$aw" user add "-x" --data "$d" --out "$work/x.json"
check 2 "bad name with a slash" -- "$aw" user add "a/b" --data "$d" --out "$work/x.json"
check_stderr "invalid user name 'a/b'" "bad name message"
check 2 "name too long" -- "$aw" user add "$(printf 'a%.0s' {1..65})" --data "$d" --out "$work/x.json"
check 2 "bad --alg" -- "$aw" user add dave --data "$d" --out "$work/x.json" --alg rsa
check_stderr "unknown --alg 'rsa'" "bad --alg message"
check 2 "bad --mode" -- "$aw" user add dave --data "$d" --out "$work/x.json" --mode sometimes
check_stderr "unknown --mode 'sometimes'" "bad --mode message"
check 2 "bad --url" -- "$aw" user add dave --data "$d" --out "$work/x.json" --url ftp://x
check 2 "add without --data" -- "$aw" user add dave --out "$work/x.json"
check_stderr "--data DIR is required" "missing --data message"
check 2 "add without --out" -- "$aw" user add dave --data "$d"
check 2 "add without a name" -- "$aw" user add --data "$d" --out "$work/x.json"
check 2 "add with two names" -- "$aw" user add dave erin --data "$d" --out "$work/x.json"
check 2 "option of another command" -- "$aw" user add dave --data "$d" --out "$work/x.json" --json
check 1 "add in a directory never initialised" -- "$aw" user add dave --data "$work/full" --out "$work/x.json"
check_stderr "not an authwire data directory" "uninitialised message"
check 2 "unknown user command" -- "$aw" user frob
check 2 "user without a command" -- "$aw" user
[[ ! -e $work/x.json ]] && ok || bad "a failed add left a credential file"

# user list.
check 0 "list" -- "$aw" user list --data "$d"
grep -q "^NAME" "$work/out" && grep -q "^alice *hmac-sha256 *timestamp" "$work/out" &&
    grep -q "^bob *ed25519 *sequence" "$work/out" && ok || { bad "list table"; cat "$work/out"; }
check 0 "list --json" -- "$aw" user list --data "$d" --json
[[ $(jq -r 'map(.name) | join(",")' "$work/out") == alice,bob,carol ]] && ok || bad "list --json names"
jq -e 'all(.[]; has("alg") and has("mode") and has("created_at") and has("revoked") and has("seq_high_water"))' \
    "$work/out" >/dev/null && ok || bad "list --json members"
! grep -q '"key"' "$work/out" && ok || bad "list --json shows keys"
check 2 "list without --data" -- "$aw" user list
check 2 "list with a name" -- "$aw" user list alice --data "$d"

# user revoke.
check 0 "revoke alice" -- "$aw" user revoke alice --data "$d"
grep -q "revoked alice at " "$work/out" && ok || bad "revoke message"
first=$(cat "$work/out")
check 0 "revoke alice again" -- "$aw" user revoke alice --data "$d"
[[ $(cat "$work/out") == "$first" ]] && ok || bad "second revoke changed the time"
check 0 "list after revoke" -- "$aw" user list --data "$d" --json
[[ $(jq -r '.[] | select(.name=="alice") | .revoked' "$work/out") == true &&
   $(jq -r '.[] | select(.name=="bob") | .revoked' "$work/out") == false ]] && ok || bad "revoked flags"
check 1 "revoke unknown user" -- "$aw" user revoke zed --data "$d"
check_stderr "no user 'zed'" "unknown user message"
check 2 "revoke bad name" -- "$aw" user revoke "a b" --data "$d"
check 2 "revoke without a name" -- "$aw" user revoke --data "$d"
check 1 "revoked names are not reused" -- "$aw" user add alice --data "$d" --out "$work/alice3.json"

# user cert (mTLS).
check 0 "cert for bob" -- "$aw" user cert bob --data "$d" --out-cert "$work/bob.crt" --out-key "$work/bob.key"
check_mode 600 "$work/bob.key"
check_mode 644 "$work/bob.crt"
openssl verify -CAfile "$d/ca.pem" -purpose sslclient "$work/bob.crt" >/dev/null 2>&1 && ok ||
    bad "bob.crt does not chain to ca.pem as a client certificate"
openssl x509 -in "$work/bob.crt" -noout -subject | grep -q "CN *= *bob" && ok || bad "bob.crt CN"
check 1 "cert files exist" -- "$aw" user cert bob --data "$d" --out-cert "$work/bob.crt" --out-key "$work/bob2.key"
check_stderr "refusing to overwrite" "cert exists message"
[[ ! -e $work/bob2.key ]] && ok || bad "a refused cert left a key file"
check 1 "cert for a revoked user" -- "$aw" user cert alice --data "$d" --out-cert "$work/a.crt" --out-key "$work/a.key"
check_stderr "revoked" "revoked cert message"
check 1 "cert for an unknown user" -- "$aw" user cert zed --data "$d" --out-cert "$work/z.crt" --out-key "$work/z.key"
check 2 "cert without --out-key" -- "$aw" user cert bob --data "$d" --out-cert "$work/b.crt"

# A master key others can read is refused with the fix named; a missing one is uninitialised.
chmod 644 "$d/master.key"
check 1 "group/other-readable master.key" -- "$aw" user list --data "$d"
check_stderr "chmod 600" "master.key mode message"
chmod 600 "$d/master.key"
mv "$d/master.key" "$work/master.key.away"
check 1 "missing master.key" -- "$aw" user list --data "$d"
check_stderr "not an authwire data directory" "missing master.key message"
mv "$work/master.key.away" "$d/master.key"
check 0 "list again" -- "$aw" user list --data "$d"

# The database passes the integrity check and holds no key in clear.
if command -v sqlite3 >/dev/null; then
    [[ $(sqlite3 "$d/authwire.db" 'PRAGMA integrity_check') == ok ]] && ok || bad "integrity_check"
    key_hex=$(jq -r .key "$work/alice.json" | base64 -d | od -An -tx1 | tr -d ' \n')
    # grep -c, not -q: an early exit would SIGPIPE the pipeline and, under pipefail, pass.
    [[ $(sqlite3 "$d/authwire.db" 'SELECT hex(sealed_key) FROM users' | tr 'A-F' 'a-f' | grep -c "$key_hex") -eq 0 ]] &&
        ok || bad "alice's key is in the database in clear"
fi

finish admin
