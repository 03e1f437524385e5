#!/usr/bin/env bash
# The authwire command: --help everywhere, exit codes (0 valid, 1 invalid, 2 usage), clear
# one-line errors for bad keys and files, RFC 9421 B.2.5/B.2.6 reproduced from the command
# line, and the demo run end to end.
set -uo pipefail
aw=${AUTHWIRE:?AUTHWIRE must point at the authwire binary}
vectors=${AW_VECTORS_DIR:?}
root=${AW_SOURCE_DIR:?}
[[ -d "$vectors/rfc9421" ]] || { echo "FATAL: $vectors/rfc9421 is missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

check() { # check WANT_EXIT DESCRIPTION -- command...
    local want=$1 what=$2; shift 3
    local rc=0
    "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [[ $rc -eq $want ]]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what: exit $rc, want $want"; cat "$work/err"
    fi
}
check_stderr() { # check_stderr PATTERN DESCRIPTION
    if grep -q -- "$1" "$work/err"; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL: $2: stderr lacks '$1':"; cat "$work/err"; fi
}

check 0 "top-level --help" -- "$aw" --help
check 2 "no subcommand" -- "$aw"
check 2 "unknown subcommand" -- "$aw" frobnicate
for sub in sign verify; do
    check 0 "$sub --help" -- "$aw" "$sub" --help
    grep -q "usage: authwire $sub" "$work/out" || { fail=$((fail + 1)); echo "FAIL: $sub --help text"; }
    check 2 "$sub without --key" -- "$aw" "$sub" "$vectors/rfc9421/request.http"
    check 2 "$sub with an unknown option" -- "$aw" "$sub" --bogus
done

v=$vectors/rfc9421
# RFC 9421 B.2.5 and B.2.6 reproduced by `authwire sign`.
check 0 "sign B.2.5" -- "$aw" sign "$v/request.http" --key "$v/key-shared-secret.b64" \
    --keyid test-shared-secret --label sig-b25 --components '"date" "@authority" "content-type"' \
    --created 1618884473 --no-nonce --no-tag --no-alg --digest none
grep -qxF "$(sed -n 2p "$v/b2.5-signature-fields.txt")" "$work/out" && pass=$((pass + 1)) ||
    { fail=$((fail + 1)); echo "FAIL: B.2.5 signature not reproduced"; }
check 0 "sign B.2.6" -- "$aw" sign "$v/request.http" --key "$v/key-ed25519-private.pem" \
    --keyid test-key-ed25519 --label sig-b26 \
    --components '"date" "@method" "@path" "@authority" "content-type" "content-length"' \
    --created 1618884473 --no-nonce --no-tag --no-alg --digest none
grep -qxF "$(sed -n 2p "$v/b2.6-signature-fields.txt")" "$work/out" && pass=$((pass + 1)) ||
    { fail=$((fail + 1)); echo "FAIL: B.2.6 signature not reproduced"; }
# ...and verified by `authwire verify --policy rfc9421`, base printed byte for byte.
{ sed '/^$/,$d' "$v/request.http"; cat "$v/b2.6-signature-fields.txt"; echo; printf '{"hello": "world"}'; } >"$work/b26.http"
check 0 "verify B.2.6" -- "$aw" verify "$work/b26.http" --key "$v/key-ed25519-public.pem" \
    --policy rfc9421 --now 1618884473
grep -qF "$(sed -n 7p "$v/b2.6-signature-base.txt")" "$work/out" && pass=$((pass + 1)) ||
    { fail=$((fail + 1)); echo "FAIL: B.2.6 base not printed"; }
check 1 "B.2.6 fails the authwire policy" -- "$aw" verify "$work/b26.http" \
    --key "$v/key-ed25519-public.pem" --now 1618884473
check_stderr "authwire: verify: " "one-line reason"
[[ $(wc -l <"$work/err") -eq 1 ]] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: reason not one line"; }

# Bad keys and files: a clear message, non-zero exit, no crash.
printf 'not base64 !!!' >"$work/bad.key"
check 1 "garbage key" -- "$aw" sign "$v/request.http" --key "$work/bad.key"
check_stderr "neither an Ed25519 PEM key nor a base64 shared secret" "garbage key message"
printf 'c2hvcnQ=' >"$work/short.key"
check 1 "short key" -- "$aw" sign "$v/request.http" --key "$work/short.key"
check_stderr "only 5 bytes" "short key message"
check 1 "missing key file" -- "$aw" sign "$v/request.http" --key "$work/nope"
check_stderr "cannot open" "missing key message"
check 1 "sign with a public key" -- "$aw" sign "$v/request.http" --key "$v/key-ed25519-public.pem"
check 1 "ed25519 alg with a shared secret" -- "$aw" sign "$v/request.http" --key "$v/key-shared-secret.b64" --alg ed25519
check 2 "unknown alg" -- "$aw" sign "$v/request.http" --key "$v/key-shared-secret.b64" --alg rsa
printf 'GARBAGE\n\n' >"$work/bad.http"
check 1 "malformed message" -- "$aw" verify "$work/bad.http" --key "$v/key-shared-secret.b64"
check_stderr "not a valid HTTP/1.1 message" "malformed message text"
check 1 "response without --response" -- "$aw" sign "$v/response.http" --key "$v/key-shared-secret.b64"
check 2 "non-integer --created" -- "$aw" sign "$v/request.http" --key "$v/key-shared-secret.b64" --created soon
head -c 100000 /dev/urandom >"$work/random.bin"
check 1 "random bytes as a message" -- "$aw" verify "$work/random.bin" --key "$v/key-shared-secret.b64"

# stdin in, stdout out; sign then verify round trip.
check 0 "sign from stdin" -- bash -c "'$aw' sign --key '$v/key-shared-secret.b64' --keyid k < '$v/request-crlf.http' > '$work/s.http'"
check 0 "verify what sign wrote" -- "$aw" verify -q "$work/s.http" --key "$v/key-shared-secret.b64" --keyid k
check 1 "wrong keyid" -- "$aw" verify -q "$work/s.http" --key "$v/key-shared-secret.b64" --keyid other
check_stderr "key_unknown" "wrong keyid reason"

# docs/PROTOCOL.md's worked example is what the tool produces.
printf 'POST /api/transfer?to=bob HTTP/1.1\nHost: bank.example\nContent-Type: application/json\n\n{"amount": 10}' >"$work/ex.http"
printf 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n' >"$work/ex.key"
check 0 "sign the documented example" -- "$aw" sign "$work/ex.http" --key "$work/ex.key" \
    --keyid alice --created 1700000000 --nonce n6yQ1c0Jp8wq9hZ0m3xT2bVf4KdLrE7s
for field in Content-Digest Signature-Input Signature; do
    line=$(grep "^$field: " "$work/out")
    grep -qxF "$line" "$root/docs/PROTOCOL.md" && pass=$((pass + 1)) ||
        { fail=$((fail + 1)); echo "FAIL: docs/PROTOCOL.md example lacks: $line"; }
done

# The showcase stays green.
check 0 "make demo script" -- env AUTHWIRE_BIN="$aw" bash "$root/scripts/demo.sh"
# It ends with the attack catalogue against its own gateway, all blocked or skipped, then the
# seed profile: the seed design falls, authwire holds.
demo_has() { # demo_has PATTERN DESCRIPTION: in what the demo printed
    if grep -q -- "$1" "$work/out"; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL: the demo lacks $2 ('$1'):"; tail -n 40 "$work/out"; fi
}
demo_has '^  [0-9]* attacks: \([0-9]*\) blocked (\1 by the expected defence), 0 succeeded, [0-9]* skipped, 0 errors$' "the catalogue's summary (every block by the expected defence)"
demo_has '^  replay-after-restart  *BLOCKED by ' "the restart row ran in the demo"
demo_has '^  tamper-body  *BLOCKED by digest_mismatch' "the catalogue's table"
demo_has '^    seed-insider-forgery  *SUCCEEDED' "the seed profile's seed row"
demo_has '^    authwire-insider-forgery  *BLOCKED' "the seed profile's authwire row"

echo "cli: $pass passed, $fail failed"
[[ $fail -eq 0 && $pass -gt 0 ]]
