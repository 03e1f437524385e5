#!/usr/bin/env bash
# Enrollment and rotation through authwired end to end, on 127.0.0.1: invites from
# `authwire invite`, the handshake played frame by frame by aw-enroll-probe (tests/tools),
# the enrolled keys used with `authwire request`.
#
#   the KEY frame; HMAC and Ed25519 enrollment (plain HTTP and HTTPS, the CA pinned)
#   every refusal: used, revoked, expired, unknown invite, wrong server key, too large,
#   wrong frame type, replayed HELLO, unknown session, tampered CONFIRM
#   idempotent retry: the same DONE for the same CONFIRM, one user
#   kill -9 between WELCOME and CONFIRM, and at the commit (AUTHWIRED_TEST_CRASH) before
#   and after it: exactly one user, or none with the invite still usable
#   eight clients racing one token: one user
#   rotation: the old key works until the new one signs, then stops; revocation
#   limits (per source, per invite, session table full), metrics, the access log
set -uo pipefail
probe=${AW_ENROLL_PROBE:?AW_ENROLL_PROBE must point at aw-enroll-probe}
# shellcheck source=support/gateway_lib.sh
source "$(dirname "$0")/support/gateway_lib.sh" jq curl sha256sum xxd

"$aw" init --data "$data" >/dev/null || { echo "FATAL: init failed"; exit 1; }
start_gateway en --demo-api --plain
en_port=$port
base="http://127.0.0.1:$en_port"
url="$base/.well-known/authwire/enroll"

# enroll WANT_EXIT DESCRIPTION TOKEN ARGS...: the probe, stdout in $work/out, stderr in
# $work/err.
enroll() {
    local want=$1 what=$2 tok=$3; shift 3
    local rc=0
    "$probe" enroll "$base" "$tok" "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [[ $rc -eq $want ]]; then ok; else bad "$what: exit $rc, want $want: $(cat "$work/err")"; fi
}

# refused_with STATUS REASON DESCRIPTION: the probe's last refusal.
refused_with() {
    grep -q "HTTP $1 $2\$" "$work/err" && ok || bad "$3: want HTTP $1 $2, got: $(cat "$work/err")"
}

# post URL FILE: raw frame; "STATUS ERROR" in $answer, the body in $work/body.
post() { answer=$("$probe" post "$1" "$2" --out "$work/body" 2>"$work/err"); }

# posted STATUS ERROR DESCRIPTION: checks the last post.
posted() { [[ "$answer" == "$1 $2" ]] && ok || bad "$3: got '$answer', want '$1 $2'"; }

metric() { curl -s "$base/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# ---- the KEY frame --------------------------------------------------------------------------
curl -s -D "$work/key.head" -o "$work/key.bin" "$url"
grep -q '^HTTP/1.1 200' "$work/key.head" && ok || bad "GET key: $(head -n 1 "$work/key.head")"
grep -qi '^Content-Type: application/authwire-enroll' "$work/key.head" && ok || bad "KEY content type"
grep -q 'keyid="@server"' "$work/key.head" && ok || bad "KEY answer signed by the server key"
[[ $(stat -c %s "$work/key.bin") == 34 && $(xxd -p -l 2 "$work/key.bin") == 0100 ]] && ok ||
    bad "KEY frame: $(xxd -p "$work/key.bin")"
invite alice
fp=$(head -n 1 "$work/invite.out" | jq -r .fingerprint)
[[ $(tail -c 32 "$work/key.bin" | sha256sum | cut -d' ' -f1) == "$fp" ]] && ok ||
    bad "the KEY frame's key is the one the token pins"

# ---- enrollment, both algorithms --------------------------------------------------------------
alice_token=$token
enroll 0 "alice enrolls (HMAC)" "$token" --out "$work/alice.json"
alice_hash=$(awk '/^key-sha256/ {print $2}' "$work/out")
[[ $(jq -r .key "$work/alice.json" | base64 -d | sha256sum | cut -d' ' -f1) == "$alice_hash" ]] && ok ||
    bad "the credential holds the derived key"
[[ $(users alice) == 1 ]] && ok || bad "alice is a user"
req 0 "alice's enrolled key signs requests" "$work/alice.json" /api/whoami
[[ $(jq -r .user "$work/out") == alice ]] && ok || bad "whoami alice: $(cat "$work/out")"
"$aw" user list --data "$data" --json | jq -e '.[] | select(.name == "alice") | .alg == "hmac-sha256"' >/dev/null &&
    ok || bad "alice's algorithm"

invite ed --alg ed25519 --mode sequence
enroll 0 "ed enrolls (Ed25519, sequence mode)" "$token" --out "$work/ed.json"
[[ $(jq -r .alg "$work/ed.json") == ed25519 ]] && ok || bad "ed's credential is Ed25519"
"$aw" user list --data "$data" --json |
    jq -e '.[] | select(.name == "ed") | .alg == "ed25519" and .mode == "sequence"' >/dev/null &&
    ok || bad "ed is an Ed25519 sequence-mode user"
req 0 "ed's request, signed with the Ed25519 key" "$work/ed.json" /api/whoami
req 0 "ed's second request (sequence 2)" "$work/ed.json" /api/balance

# ---- refusals ---------------------------------------------------------------------------------
enroll 1 "alice's token again" "$alice_token"
refused_with 409 invite_used "a used token"
invite rev
"$aw" invite --revoke "$invite_id" --data "$data" >/dev/null
enroll 1 "a revoked invite" "$token"
refused_with 410 invite_revoked "a revoked invite"
invite exp --ttl 1s
exp_token=$token
sleep 2
enroll 1 "an expired invite" "$exp_token"
refused_with 410 invite_expired "an expired invite"

# Another server's token: the client stops at the KEY frame, before sending anything.
"$aw" init --data "$work/other" >/dev/null
"$aw" invite stranger --data "$work/other" >"$work/other.out"
lines_before=$(wc -l <"$work/en.log")
enroll 1 "a token for another server" "$(tail -n 1 "$work/other.out")"
grep -q server_key_mismatch "$work/err" && ok || bad "wrong server key: $(cat "$work/err")"
[[ $(grep -c '"enroll":"hello"' <(tail -n +"$((lines_before + 1))" "$work/en.log")) == 0 ]] && ok ||
    bad "no HELLO was sent to a server the token does not pin"

# A pending handshake left behind (the probe stops after WELCOME), its frames saved.
invite pam
pam_id=$invite_id
pam_token=$token
mkdir -p "$work/s1"
enroll 0 "pam stops after WELCOME" "$token" --save "$work/s1" --stop-after welcome
[[ $(metric authwire_enroll_sessions) -ge 1 ]] && ok || bad "the pending session shows in the gauge"
post "$url" "$work/s1/hello"
posted 401 replay "the same HELLO again (a replay)"
{ head -c 2 "$work/s1/hello"; head -c 16 /dev/urandom; tail -c +19 "$work/s1/hello"; } >"$work/unknown.hello"
post "$url" "$work/unknown.hello"
posted 404 invite_unknown "a HELLO for an invite nobody made"
post "$url" "$work/key.bin"
posted 400 malformed "a KEY frame posted as a request"
post "$url" "$work/s1/welcome"
posted 400 malformed "a WELCOME frame posted as a request"
head -c 10241 /dev/zero >"$work/big"
post "$url" "$work/big"
posted 413 too_large "a body larger than AW_ENROLL_FRAME_MAX"
{ head -c 18 "$work/s1/confirm"; head -c 16 /dev/urandom; tail -c +35 "$work/s1/confirm"; } >"$work/unknown.confirm"
post "$url" "$work/unknown.confirm"
posted 404 session_unknown "a CONFIRM for a session that does not exist"
# A tampered CONFIRM for the live session fails the handshake and ends the session.
cp "$work/s1/confirm" "$work/tampered.confirm"
printf '\xff' | dd of="$work/tampered.confirm" bs=1 seek=40 conv=notrunc 2>/dev/null
post "$url" "$work/tampered.confirm"
posted 401 handshake_failed "a tampered CONFIRM"
post "$url" "$work/s1/confirm"
posted 404 session_unknown "the genuine CONFIRM after a tampered one killed the session"
[[ $(users pam) == 0 ]] && pending "$pam_id" && ok || bad "no user, the invite still usable"
enroll 0 "pam starts over and enrolls" "$pam_token"
[[ $(users pam) == 1 ]] && ok || bad "pam enrolled once"

# ---- idempotent retry of CONFIRM -----------------------------------------------------------------
invite rita
mkdir -p "$work/s2"
enroll 0 "rita, CONFIRM sent twice" "$token" --save "$work/s2" --confirm-twice --out "$work/rita.json"
grep -q "the same DONE" "$work/out" && ok || bad "the retried CONFIRM got the same DONE"
post "$url" "$work/s2/confirm"
posted 200 - "the CONFIRM once more"
cmp -s "$work/body" "$work/s2/done" && ok || bad "a third CONFIRM: the same DONE bytes"
[[ $(users rita) == 1 ]] && ok || bad "rita exists once"

# ---- kill -9 between WELCOME and CONFIRM ----------------------------------------------------------
invite kim
kim_id=$invite_id
mkdir -p "$work/s3"
enroll 0 "kim stops after WELCOME" "$token" --save "$work/s3" --stop-after welcome
kill -9 "$pid_en"
{ wait "$pid_en"; } 2>/dev/null
AW_LISTEN=127.0.0.1:$en_port start_gateway en --demo-api --plain
post "$url" "$work/s3/confirm"
posted 404 session_unknown "the CONFIRM of a handshake the crash ended"
[[ $(users kim) == 0 ]] && ok || bad "no user kim after the crash"
pending "$kim_id" && ok || bad "kim's invite still usable after the crash"
enroll 0 "kim enrolls after the restart" "$token" --out "$work/kim.json"
[[ $(users kim) == 1 ]] && ok || bad "exactly one kim"
req 0 "kim's key works" "$work/kim.json" /api/whoami

# ---- kill -9 at the commit ------------------------------------------------------------------------
# crash_at POINT NAME: the gateway kills itself right before or after the commit of NAME's
# enrollment; the probe keeps re-sending its CONFIRM while the gateway restarts.
crash_at() {
    local point=$1 name=$2
    kill -TERM "$pid_en"
    wait "$pid_en" 2>/dev/null
    AUTHWIRED_TEST_CRASH=$point AW_LISTEN=127.0.0.1:$en_port start_gateway en --demo-api --plain
    invite "$name"
    crash_id=$invite_id
    crash_token=$token
    "$probe" enroll "$base" "$token" --retry 20 --out "$work/$name.json" >"$work/crash.out" 2>"$work/crash.err" &
    local probe_pid=$!
    local died=false rc=0
    for _ in $(seq 200); do
        kill -0 "$pid_en" 2>/dev/null || { died=true; break; }
        sleep 0.05
    done
    $died || kill -9 "$pid_en"
    { wait "$pid_en"; } 2>/dev/null || rc=$?
    $died && [[ $rc -eq 137 ]] && ok || bad "$point: the gateway killed itself (died $died, exit $rc)"
    AW_LISTEN=127.0.0.1:$en_port start_gateway en --demo-api --plain
    crash_rc=0
    wait "$probe_pid" || crash_rc=$?
}
crash_at before-commit bea
[[ $crash_rc -eq 1 ]] && grep -q 'HTTP 404 session_unknown$' "$work/crash.err" && ok ||
    bad "before the commit: the retried CONFIRM finds no session (exit $crash_rc: $(cat "$work/crash.err"))"
[[ $(users bea) == 0 ]] && ok || bad "before the commit: no user"
pending "$crash_id" && ok || bad "before the commit: the invite is still usable"
enroll 0 "bea enrolls with the same token" "$crash_token"
[[ $(users bea) == 1 ]] && ok || bad "exactly one bea"

crash_at after-commit abe
[[ $crash_rc -eq 0 ]] && ok || bad "after the commit: the retried CONFIRM gets DONE (exit $crash_rc: $(cat "$work/crash.err"))"
[[ $(users abe) == 1 ]] && ok || bad "after the commit: exactly one user"
pending "$crash_id" && bad "after the commit: the invite is spent" || ok
req 0 "abe's key (from the DONE after the restart) works" "$work/abe.json" /api/whoami
grep -q 'AUTHWIRED_TEST_CRASH=after-commit (tests only)' "$work/en.err" && ok || bad "the crash hook says it is on"

# ---- eight clients racing one token -----------------------------------------------------------------
invite racer
committed_before=$(metric 'authwire_enrollments_total{result="committed"}')
race_pids=()
for i in 1 2 3 4 5 6 7 8; do
    "$probe" enroll "$base" "$token" --out "$work/racer$i.json" >"$work/race$i.out" 2>"$work/race$i.err" &
    race_pids+=($!)
done
winners=0
for i in "${!race_pids[@]}"; do
    wait "${race_pids[$i]}" && winners=$((winners + 1))
done
[[ $winners == 1 ]] && ok || bad "one of eight racing clients wins: $winners"
[[ $(users racer) == 1 ]] && ok || bad "one user from the race"
winner=$(for i in 1 2 3 4 5 6 7 8; do [[ -s "$work/racer$i.json" ]] && echo "$i"; done)
req 0 "the winner's key works" "$work/racer$winner.json" /api/whoami
cat "$work"/race*.err | grep -v 'HTTP 409 invite_used$' | grep . && bad "the losers are told invite_used" || ok

# ---- rotation --------------------------------------------------------------------------------------
rot() { # rot WANT_EXIT DESCRIPTION FROM TO
    local rc=0
    "$probe" rotate "$3" --out "$4" >"$work/out" 2>"$work/err" || rc=$?
    [[ $rc -eq $1 ]] && ok || bad "$2: exit $rc, want $1: $(cat "$work/err")"
}
rotating() { "$aw" user list --data "$data" --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .rotating'; }
rot 0 "alice rotates (signed with her current key)" "$work/alice.json" "$work/alice2.json"
[[ $(rotating alice) == true ]] && ok || bad "alice's new key is pending"
[[ $(metric 'authwire_users{state="rotating"}') == 1 ]] && ok || bad "the metrics show one rotating user"
req 0 "the old key works while the new one is pending" "$work/alice.json" /api/whoami
"$aw" request --credentials "$work/alice2.json" /.well-known/authwire/rotate >"$work/out" 2>"$work/err"
[[ $? == 0 && $(cat "$work/out") == rotated ]] && ok || bad "the new key confirms the rotation: $(cat "$work/out" "$work/err")"
[[ $(rotating alice) == false ]] && ok || bad "the new key is alice's key now"
"$aw" user list --data "$data" --json | jq -e '.[] | select(.name == "alice") | .rotated_at != null' >/dev/null &&
    ok || bad "alice's rotation time is recorded"
req 1 "the old key stopped working" "$work/alice.json" /api/whoami
[[ $(last_reason "$work/en.log") == signature_invalid ]] && ok || bad "old key: $(last_reason "$work/en.log")"
req 0 "the new key works" "$work/alice2.json" /api/balance
# While a rotation is pending, the old key cannot claim it is done.
rot 0 "alice rotates again" "$work/alice2.json" "$work/alice3.json"
req 1 "GET rotate signed with the old key while the new one is pending" "$work/alice2.json" /.well-known/authwire/rotate
[[ $(last_reason "$work/en.log") == conflict ]] && ok || bad "pending rotation: $(last_reason "$work/en.log")"
req 0 "any request signed with the newest key promotes it" "$work/alice3.json" /api/whoami
req 1 "... and the previous key stops" "$work/alice2.json" /api/whoami
rot 0 "ed rotates (Ed25519, sequence mode)" "$work/ed.json" "$work/ed2.json"
req 0 "ed's new key promotes itself" "$work/ed2.json" /.well-known/authwire/rotate
req 1 "ed's old key stopped" "$work/ed.json" /api/whoami
post "$base/.well-known/authwire/rotate" "$work/s2/hello"
posted 401 unauthenticated "an unsigned rotation HELLO"
[[ $(metric 'authwire_rotations_total{result="committed"}') == 3 ]] && ok || bad "three rotations committed"
[[ $(metric 'authwire_rotations_total{result="promoted"}') == 3 ]] && ok || bad "three rotations promoted"
"$aw" user revoke alice --data "$data" >/dev/null
req 1 "a revoked user's newest key" "$work/alice3.json" /api/whoami
[[ $(last_reason "$work/en.log") == key_revoked ]] && ok || bad "revocation: $(last_reason "$work/en.log")"
[[ $(metric 'authwire_users{state="revoked"}') == 1 ]] && ok || bad "the metrics show the revoked user"

# ---- HTTPS: the CA in WELCOME is pinned --------------------------------------------------------------
start_gateway tls --demo-api
invite tina
rc=0
"$probe" enroll "https://127.0.0.1:$port" "$token" --cacert "$data/ca.pem" --out "$work/tina.json" >"$work/out" 2>"$work/err" || rc=$?
[[ $rc == 0 ]] && ok || bad "enrollment over HTTPS: $(cat "$work/err")"
[[ $(jq -r .ca "$work/tina.json") == "$(cat "$data/ca.pem")" ]] && ok || bad "WELCOME carries the CA to pin"
req 0 "tina over HTTPS with the pinned CA" "$work/tina.json" /api/whoami

# ---- limits ---------------------------------------------------------------------------------------
invite lim
mkdir -p "$work/s4"
enroll 0 "lim stops after WELCOME" "$token" --save "$work/s4" --stop-after welcome
# 10 HELLOs per invite in a 60-second window: 21 more reach 11 in one window or the next.
statuses=""
for i in $(seq 21); do post "$url" "$work/s4/hello"; statuses+="${answer%% *} "; done
[[ $statuses == 401* && $statuses == *429* ]] && ok || bad "HELLOs per invite: $statuses"
# The 60-second window may roll over during the loop on a loaded machine, so the log is
# checked for the refusal, not for its last line.
grep -q '"reason":"rate_limited","detail":"too many HELLOs for this invite"' "$work/en.log" && ok ||
    bad "per invite: no rate_limited HELLO in the access log"

start_gateway few --demo-api --plain --enroll-sessions 2
few_base="http://127.0.0.1:$port"
for n in f1 f2 f3; do
    invite "$n"
    "$probe" enroll "$few_base" "$token" --stop-after welcome >"$work/out" 2>"$work/err"
    few_rc=$?
done
[[ $few_rc == 1 ]] && grep -q 'HTTP 503 busy$' "$work/err" && ok || bad "a full session table: $(cat "$work/err")"

start_gateway limited --demo-api --plain --enroll-rate-limit 3
limited_url="http://127.0.0.1:$port/.well-known/authwire/enroll"
# One curl sends them all within milliseconds (the limit counts per second).
statuses=$(curl -s -o /dev/null -w '%{http_code} ' -H 'Expect:' --data-binary @"$work/big" \
    "$limited_url" "$limited_url" "$limited_url" "$limited_url" "$limited_url" "$limited_url" \
    "$limited_url" "$limited_url")
[[ $statuses == 413* && $statuses == *429* ]] && ok || bad "enrollment POSTs per source: $statuses"

# ---- metrics and the access log ---------------------------------------------------------------------
committed=$(metric 'authwire_enrollments_total{result="committed"}')
[[ $committed == $((committed_before + 1)) ]] && ok || bad "the race committed once: $committed_before, then $committed"
[[ $(metric 'authwire_enrollments_total{result="invite_used"}') -ge 7 ]] && ok || bad "race losers counted as invite_used"
grep -q '"enroll":"confirm","invite":"[0-9a-f]\{32\}","user":"kim"' "$work/en.log" && ok ||
    bad "the access log names the step, the invite and the user"
for t in "$alice_token" "$pam_token" "$crash_token"; do
    grep -qF "${t:3:40}" "$work"/*.log "$work"/*.err && bad "a token reached a log" || ok
done
kill -0 "$pid_en" && ok || bad "the gateway died"

# Every gateway stops cleanly; in the sanitizer build (make test SAN=1) ASan, LeakSanitizer
# and UBSan report into its stderr at the latest when it exits.
for name in en tls few limited; do
    pid_var=pid_$name
    kill -TERM "${!pid_var}"
    rc=0
    wait "${!pid_var}" || rc=$?
    [[ $rc == 0 ]] && ok || bad "$name: SIGTERM exit $rc"
done
grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error' "$work"/*.err && bad "sanitizer reports (above)" || ok

echo "enroll_gateway: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
