#!/usr/bin/env bash
# The invite commands: `authwire invite NAME`, `invite --revoke ID` and `invites` on a real
# data directory. The token is alone on the last line of stdout and has the right shape
# (AW1 + base32 of version | id | secret | fingerprint | checksum, decoded here: the id is the
# one printed, the fingerprint is SHA-256 of the server's X25519 key, the checksum holds);
# the secret is nowhere in the database; --ttl, --alg, --mode and names are checked with
# exit status 2; name collisions, revocation and the listing with --all/--json; --qr draws
# half blocks and keeps the token last; the data directory's file modes stay 0600;
# `user list` shows the rotation state.
set -uo pipefail
aw=${AUTHWIRE:?AUTHWIRE must point at the authwire binary}
for tool in jq sqlite3 openssl base32; do
    command -v "$tool" >/dev/null ||
        { echo "FATAL: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=support/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/support/checks.sh"
d=$work/data

last_line() { tail -n 1 "$work/out"; }
hex_of() { od -An -tx1 -v | tr -d ' \n'; }
unhex() { printf '%b' "$(sed 's/../\\x&/g')"; }

# --help everywhere; the top-level help lists both commands.
check 0 "help" -- "$aw" --help
grep -q "^  invite " "$work/out" && grep -q "^  invites " "$work/out" && ok || bad "invite(s) not in help"
for sub in invite invites; do
    check 0 "$sub --help" -- "$aw" $sub --help
    grep -q "usage: authwire $sub" "$work/out" && ok || bad "$sub --help text"
done

check 0 "init" -- "$aw" init --data "$d"
fp=$(openssl pkey -in "$d/server-x25519.pem" -pubout -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)
[[ ${#fp} -eq 64 ]] && ok || bad "cannot compute the expected fingerprint"

# invite: human lines, then the token alone on the last line.
check 0 "invite alice" -- "$aw" invite alice --data "$d"
token=$(last_line)
[[ $token =~ ^AW1[A-Z2-7]{136}$ ]] && ok || bad "token shape: '$token'"
id=$(sed -n 's/^invite \([0-9a-f]\{32\}\) for alice (hmac-sha256, timestamp mode), expires [0-9-]*T[0-9:]*Z$/\1/p' "$work/out")
[[ ${#id} -eq 32 ]] && ok || { bad "invite line"; cat "$work/out"; }
grep -qx "server enrollment key fingerprint: $fp" "$work/out" && ok || bad "printed fingerprint"
grep -q "out of band; it is shown only once" "$work/out" && ok || bad "hand-over advice"
[[ $(grep -c . "$work/out") -eq 4 ]] && ok || bad "invite printed other lines"
# The token decodes: version 1, the printed id, a secret, the server's fingerprint, and the
# checksum (SHA-256 prefix of the rest).
bin=$(printf '%s' "${token:3}" | base32 -d 2>/dev/null | hex_of)
[[ ${#bin} -eq 170 ]] && ok || bad "token decodes to ${#bin} hex digits, want 170"
[[ ${bin:0:2} == 01 ]] && ok || bad "token version"
[[ ${bin:2:32} == "$id" ]] && ok || bad "token id ${bin:2:32} is not the printed $id"
secret=${bin:34:64}
[[ ${bin:98:64} == "$fp" ]] && ok || bad "token fingerprint"
[[ ${bin:162:8} == $(printf '%s' "${bin:0:162}" | unhex | sha256sum | cut -c1-8) ]] && ok ||
    bad "token checksum"
# The secret is nowhere in the data directory's database files.
for f in "$d"/authwire.db*; do
    # (grep -c reads to the end: grep -q could stop early, and under pipefail od's SIGPIPE
    # would turn a found secret into a pass.)
    [[ $(hex_of <"$f" | grep -c "$secret") -eq 0 ]] && ok || bad "the invite secret is in $f"
done
# Every invite has its own id and secret.
check 0 "invite bob" -- "$aw" invite bob --data "$d" --alg ed25519 --mode sequence --ttl 7d
token_bob=$(last_line)
[[ $token_bob =~ ^AW1[A-Z2-7]{136}$ && $token_bob != "$token" ]] && ok || bad "bob's token"
grep -q "^invite [0-9a-f]\{32\} for bob (ed25519, sequence mode)" "$work/out" && ok || bad "bob's invite line"

# invites: the pending ones, with the fingerprint in the header.
check 0 "invites" -- "$aw" invites --data "$d"
grep -qx "server enrollment key fingerprint: $fp" "$work/out" && ok || bad "invites header"
grep -q "^ID  *NAME  *ALG  *MODE  *CREATED  *EXPIRES  *STATE" "$work/out" && ok || bad "invites columns"
grep -q "^$id  *alice  *hmac-sha256  *timestamp .* pending$" "$work/out" && ok || { bad "alice not listed"; cat "$work/out"; }
grep -q "  *bob  *ed25519  *sequence .* pending$" "$work/out" && ok || bad "bob not listed"
! grep -q "$token" "$work/out" && ok || bad "invites shows a token"

# Collisions: a pending invite, a user, a revoked user.
check 1 "a second invite for alice" -- "$aw" invite alice --data "$d"
check_stderr "an invite for 'alice' is still pending ($id)" "pending message"
check_stderr "authwire invite --revoke $id" "pending message names the fix"
[[ ! -s $work/out ]] && ok || bad "a refused invite printed something"
check 0 "add user carol" -- "$aw" user add carol --data "$d" --out "$work/carol.json"
check 1 "invite for an existing user" -- "$aw" invite carol --data "$d"
check_stderr "user 'carol' exists" "existing user message"
check 0 "revoke carol" -- "$aw" user revoke carol --data "$d"
check 1 "invite for a revoked user" -- "$aw" invite carol --data "$d"
check_stderr "user 'carol' exists" "revoked user message"

# --ttl: units, bounds, and errors (exit 2, clear message).
check 0 "invite --json" -- "$aw" invite dan --data "$d" --json --ttl 90s
head -n 1 "$work/out" | jq -e '.name == "dan" and .alg == "hmac-sha256" and .mode == "timestamp"
    and (.expires_at - .created_at) == 90 and (.id | test("^[0-9a-f]{32}$"))' >/dev/null &&
    ok || { bad "invite --json object"; cat "$work/out"; }
[[ $(head -n 1 "$work/out" | jq -r .fingerprint) == "$fp" ]] && ok || bad "--json fingerprint"
head -n 1 "$work/out" | jq -e 'has("token") or has("secret") or has("psk") | not' >/dev/null &&
    ok || bad "--json shows a secret"
[[ $(last_line) =~ ^AW1[A-Z2-7]{136}$ && $(wc -l <"$work/out") -eq 2 ]] && ok || bad "--json: token not last"
n=0
for ttl in 30m:1800 24h:86400 7d:604800 3600:3600 1s:1 1:1 30d:2592000 2592000:2592000; do
    n=$((n + 1))
    check 0 "--ttl ${ttl%%:*}" -- "$aw" invite "ttl$n" --data "$d" --json --ttl "${ttl%%:*}"
    [[ $(head -n 1 "$work/out" | jq '.expires_at - .created_at') -eq ${ttl#*:} ]] && ok ||
        bad "--ttl ${ttl%%:*} is not ${ttl#*:} s"
done
for ttl in 0 0s 31d 2592001 1.5h h 10x -5 "" 24H 1000000000 " 5" 5m5; do
    check 2 "--ttl '$ttl'" -- "$aw" invite eve --data "$d" --ttl "$ttl"
    grep -q -e "invalid --ttl" -e "out of range: 1 s to 30 d" "$work/err" && ok ||
        { bad "--ttl '$ttl' message"; cat "$work/err"; }
done

# --alg, --mode, names, operands.
check 2 "bad --alg" -- "$aw" invite eve --data "$d" --alg rsa
check_stderr "unknown --alg 'rsa'" "bad --alg message"
check 2 "bad --mode" -- "$aw" invite eve --data "$d" --mode sometimes
check_stderr "unknown --mode 'sometimes'" "bad --mode message"
check 2 "bad name" -- "$aw" invite "a/b" --data "$d"
check_stderr "invalid user name 'a/b'" "bad name message"
check 2 "name too long" -- "$aw" invite "$(printf 'a%.0s' {1..65})" --data "$d"
check 2 "no name" -- "$aw" invite --data "$d"
check 2 "two names" -- "$aw" invite eve frank --data "$d"
check 2 "no --data" -- "$aw" invite eve
check_stderr "--data DIR is required" "missing --data message"
check 2 "an option of invites" -- "$aw" invite eve --data "$d" --all
check 2 "an option of invite" -- "$aw" invites --data "$d" --ttl 1h
check 2 "invites with a name" -- "$aw" invites alice --data "$d"
check 1 "invite in a directory never initialised" -- "$aw" invite eve --data "$work"
check_stderr "not an authwire data directory" "uninitialised message"
"$aw" invites --data "$d" --json >"$work/before.json"
! grep -q '"eve"' "$work/before.json" && ok || bad "a refused invite was stored"

# --qr: half blocks in a quiet zone, all rows as wide, and the token still last.
check 0 "invite --qr" -- "$aw" invite frank --data "$d" --qr
[[ $(last_line) =~ ^AW1[A-Z2-7]{136}$ ]] && ok || bad "--qr: token not last"
grep -q "█" "$work/out" && grep -q -e "▀" -e "▄" "$work/out" && ok || bad "--qr draws no half blocks"
qr_rows=$(grep -c "█" "$work/out")
widths=$(grep "█" "$work/out" | while IFS= read -r l; do printf '%s\n' "${#l}"; done | sort -u)
[[ $qr_rows -ge 15 && $(wc -l <<<"$widths") -eq 1 && $widths -ge 29 ]] && ok ||
    bad "--qr: $qr_rows rows of widths $widths"
# The first row is all quiet zone (light, so full blocks).
[[ $(grep -m1 "█" "$work/out") =~ ^█+$ ]] && ok || bad "--qr: no quiet zone"

# invite --revoke.
check 0 "revoke alice's invite" -- "$aw" invite --revoke "$id" --data "$d"
grep -q "^revoked invite $id for alice at [0-9-]*T[0-9:]*Z$" "$work/out" && ok || bad "revoke message"
first=$(cat "$work/out")
check 0 "revoke it again" -- "$aw" invite --revoke "$id" --data "$d"
[[ $(cat "$work/out") == "$first" ]] && ok || bad "a second revoke changed the time"
check 1 "revoke an unknown invite" -- "$aw" invite --revoke 00112233445566778899aabbccddeeff --data "$d"
check_stderr "no invite 00112233445566778899aabbccddeeff" "unknown invite message"
check 2 "revoke a bad id" -- "$aw" invite --revoke xyz --data "$d"
check_stderr "invalid invite id 'xyz'" "bad id message"
check 2 "revoke a short id" -- "$aw" invite --revoke 0011 --data "$d"
check 2 "revoke with a name" -- "$aw" invite alice --revoke "$id" --data "$d"
check 2 "revoke with --ttl" -- "$aw" invite --revoke "$id" --data "$d" --ttl 1h
check_stderr "--revoke ID takes only --data DIR" "revoke options message"
# A used invite (marked as a committed enrollment marks it) is not revoked.
bob_id=$("$aw" invites --data "$d" --json | jq -r '.[] | select(.name == "bob") | .id')
sqlite3 "$d/authwire.db" "UPDATE invites SET used_at = 1700000000, sealed_psk = x'',
    confirm_hash = zeroblob(32), done = x'01' WHERE id = x'$bob_id'"
check 1 "revoke a used invite" -- "$aw" invite --revoke "$bob_id" --data "$d"
check_stderr "was already used: user 'bob'" "used invite message"
check_stderr "authwire user revoke bob" "used invite message names the fix"
# After the revocation, alice can be invited again.
check 0 "invite alice again" -- "$aw" invite alice --data "$d"
[[ $(last_line) != "$token" ]] && ok || bad "the same token twice"

# Expired, revoked and used invites: only with --all, with their state.
check 0 "a short invite" -- "$aw" invite gina --data "$d" --ttl 1s
sleep 2
check 0 "invites" -- "$aw" invites --data "$d"
! grep -q " gina " "$work/out" && ! grep -q "^$id " "$work/out" && ! grep -q " bob " "$work/out" &&
    ok || { bad "invites lists spent ones"; cat "$work/out"; }
grep -q " frank .* pending$" "$work/out" && ok || bad "frank is not pending"
check 0 "invites --all" -- "$aw" invites --data "$d" --all
grep -q " gina .* expired$" "$work/out" && grep -q "^$id .* revoked$" "$work/out" &&
    grep -q " bob .* used$" "$work/out" && ok || { bad "invites --all states"; cat "$work/out"; }
check 0 "invites --all --json" -- "$aw" invites --data "$d" --all --json
jq -e --arg id "$id" '(map(select(.id == $id))[0] | .state == "revoked" and .revoked_at != null and .used_at == null)
    and (map(select(.name == "bob"))[0] | .state == "used" and .used_at == 1700000000)
    and (map(select(.name == "gina"))[0].state == "expired")
    and all(.[]; has("created_at") and has("expires_at") and has("alg") and has("mode"))' \
    "$work/out" >/dev/null && ok || { bad "invites --all --json"; cat "$work/out"; }
# Newest first.
jq -e 'map(.created_at) as $c | $c == ($c | sort | reverse)' "$work/out" >/dev/null && ok || bad "not newest first"
check 0 "invites --json" -- "$aw" invites --data "$d" --json
jq -e 'all(.[]; .state == "pending") and (map(.name) | index("frank") != null)' "$work/out" >/dev/null &&
    ok || bad "invites --json shows spent invites"

# The enrollment key must stay private: a readable one is refused.
chmod 644 "$d/server-x25519.pem"
check 1 "readable X25519 key" -- "$aw" invite hank --data "$d"
check_stderr "chmod 600" "readable X25519 key message"
chmod 600 "$d/server-x25519.pem"

# The data directory's files keep their modes.
check_mode 700 "$d"
for f in authwire.db master.key server-ed25519.pem server-x25519.pem ca.key server.key; do
    check_mode 600 "$d/$f"
done
for f in "$d"/authwire.db-wal "$d"/authwire.db-shm "$d"/users.changed; do
    [[ -e $f ]] && check_mode 600 "$f"
done

# user list: the rotation state, in the table and in JSON.
check 0 "add user ivan" -- "$aw" user add ivan --data "$d" --out "$work/ivan.json"
check 0 "add user judy" -- "$aw" user add judy --data "$d" --out "$work/judy.json"
sqlite3 "$d/authwire.db" "UPDATE users SET sealed_next_key = x'00', next_key_at = 1700000000 WHERE name = 'ivan';
    UPDATE users SET rotated_at = 1700000100 WHERE name = 'judy'"
check 0 "user list" -- "$aw" user list --data "$d"
grep -q "^NAME .* REVOKED  *ROTATION  *SEQ$" "$work/out" && ok || bad "user list header"
grep -q "^ivan .* rotating since 2023-11-14T22:13:20Z " "$work/out" && ok || { bad "ivan's rotation"; cat "$work/out"; }
grep -q "^judy .* rotated 2023-11-14T22:15:00Z " "$work/out" && ok || bad "judy's rotation"
grep -q "^carol .* - *0$" "$work/out" && ok || bad "carol's rotation"
check 0 "user list --json" -- "$aw" user list --data "$d" --json
jq -e '(map(select(.name == "ivan"))[0] | .rotating == true and .next_key_at == 1700000000 and .rotated_at == null)
    and (map(select(.name == "judy"))[0] | .rotating == false and .rotated_at == 1700000100 and .next_key_at == null)' \
    "$work/out" >/dev/null && ok || { bad "user list --json rotation"; cat "$work/out"; }

[[ $(sqlite3 "$d/authwire.db" 'PRAGMA integrity_check') == ok ]] && ok || bad "integrity_check"
[[ $(sqlite3 "$d/authwire.db" 'PRAGMA user_version') == 2 ]] && ok || bad "schema version"

finish invite
