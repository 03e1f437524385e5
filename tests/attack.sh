#!/usr/bin/env bash
# The attack harness end to end: `authwire attack` runs the whole catalogue against live
# gateways (plain HTTP with a timestamp, a sequence, a challenge and an Ed25519 user; HTTPS
# with channel binding required) and every attack must have run or been skipped for a reason
# the target explains, none may succeed, and each must be stopped by the defence the
# catalogue names. Then against authwired-weak (the nonce check compiled out) the replay rows
# must say SUCCEEDED and the exit status must say so; the real authwired must not contain
# the weakened path.
set -uo pipefail
source "$(dirname "$0")/support/gateway_lib.sh" jq
weak=${AUTHWIRED_WEAK:?AUTHWIRED_WEAK must point at the authwired-weak binary}
[[ -x "$weak" ]] || { echo "FATAL: $weak is missing" >&2; exit 1; }
threat_model="${AW_SOURCE_DIR:?}/docs/THREAT_MODEL.md"
marker="REPLAY CHECK DISABLED"

# ---- the command line ---------------------------------------------------------------------
rc=0; "$aw" attack --help >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 0 ]] && grep -q -- '--credentials FILE' "$work/out" && ok || bad "attack --help: exit $rc"
rc=0; "$aw" attack >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 2 ]] && ok || bad "attack without --credentials: exit $rc, want 2"
rc=0; "$aw" attack --list >"$work/list" 2>&1 || rc=$?
[[ $rc -eq 0 ]] && ok || bad "attack --list: exit $rc"
catalogue=$(grep -c '^[a-z]' "$work/list")
catalogue=$((catalogue - 1)) # the header line
((catalogue >= 40)) && ok || bad "the catalogue has $catalogue attacks, want at least 40"

# ---- gateways and users ----------------------------------------------------------------------
"$aw" init --data "$data" >/dev/null || { echo "FATAL: init failed"; exit 1; }
# A 15 s replay window (skew + max-age) keeps replay-after-window's wait short.
window=(--skew 5 --max-age 10 --challenge-ttl 15)
# Each serves only its own name (--authority), as a deployment should: credential-relay needs
# that on plain HTTP. The port is picked first so that the name can say it.
plain_port=$(free_port)
AW_LISTEN=127.0.0.1:$plain_port start_gateway plain --demo-api --plain --header-timeout-ms 1000 \
    "${window[@]}" --authority "127.0.0.1:$plain_port"
tls_port=$(free_port)
AW_LISTEN=127.0.0.1:$tls_port start_gateway tls --demo-api --channel-binding require \
    --header-timeout-ms 1000 "${window[@]}" --authority "127.0.0.1:$tls_port"
mtls_port=$(free_port)
AW_LISTEN=127.0.0.1:$mtls_port start_gateway mtls --demo-api --channel-binding require \
    --client-ca "$data/ca.pem" --header-timeout-ms 1000 "${window[@]}" --authority "127.0.0.1:$mtls_port"
add_user() { # add_user NAME URL ARGS...
    local name=$1 url=$2; shift 2
    "$aw" user add "$name" --data "$data" --out "$work/$name.json" --url "$url" "$@" >/dev/null ||
        { echo "FATAL: user add $name failed"; exit 1; }
}
add_user bob "http://127.0.0.1:$plain_port"
add_user tess "http://127.0.0.1:$plain_port" --mode timestamp
add_user sean "http://127.0.0.1:$plain_port" --mode sequence
add_user chloe "http://127.0.0.1:$plain_port" --mode challenge
add_user edna "http://127.0.0.1:$plain_port" --alg ed25519
add_user tilda "https://127.0.0.1:$tls_port"
add_user mina "https://127.0.0.1:$mtls_port"
add_user molly "https://127.0.0.1:$mtls_port"
for u in mina molly; do
    "$aw" user cert "$u" --data "$data" --out-cert "$work/$u.crt" --out-key "$work/$u.key" >/dev/null ||
        { echo "FATAL: user cert $u failed"; exit 1; }
done
rc=0; "$aw" attack --credentials "$work/tess.json" --only no-such-attack >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 2 ]] && ok || bad "--only with an unknown id: exit $rc, want 2"
rc=0; "$aw" attack --credentials "$work/tess.json" --target "http://127.0.0.1:$(free_port)" >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 1 ]] && grep -q "cannot connect" "$work/out" && ok || bad "an unreachable target: exit $rc: $(cat "$work/out")"

# run_catalogue USER MODE TRANSPORT [ARGS...]: the whole catalogue as USER, the report
# checked; the gateway (plain, tls or mtls) is restarted with kill -9 by replay-after-restart.
run_catalogue() {
    local user=$1 mode=$2 transport=$3 report="$work/$1.report.json"
    shift 3
    local rc=0
    "$aw" attack --credentials "$work/$user.json" --data "$data" --slow-timeout 10 --window 15 \
        --restart-cmd "$work/$transport.restart" "$@" \
        --json "$report" >"$work/$user.out" 2>"$work/$user.err" || rc=$?
    if [[ $rc -ne 0 ]]; then
        bad "$user ($mode, $transport): attack exit $rc"; cat "$work/$user.out" "$work/$user.err" >&2
        return
    fi
    ok
    [[ $(jq length "$report") -eq $catalogue ]] && ok || bad "$user: $(jq length "$report") rows, want $catalogue"
    grep -q "attacks: .* 0 succeeded, .* 0 errors" "$work/$user.out" && ok || bad "$user: summary: $(tail -n 1 "$work/$user.out")"
    local wrong
    wrong=$(jq -r '.[] | select(.outcome != "blocked" and .outcome != "skipped") | "\(.id): \(.outcome): \(.detail)"' "$report")
    [[ -z $wrong ]] && ok || bad "$user ($mode, $transport): neither blocked nor skipped: $wrong"
    wrong=$(jq -r '.[] | select(.outcome == "blocked" and (.as_expected | not)) | "\(.id): stopped by \(.stopped_by), expected \(.expected)"' "$report")
    [[ -z $wrong ]] && ok || bad "$user ($mode, $transport): not stopped by the expected defence: $wrong"
    wrong=$(jq -r '.[] | select(.outcome == "blocked" and (.stopped_by == "" or .observed == "")) | .id' "$report")
    [[ -z $wrong ]] && ok || bad "$user: blocked rows without stopped_by or observed: $wrong"
    # A row is skipped only for a reason this target explains: no TLS, or another mode.
    local explained="is in $mode mode"
    [[ $transport == plain ]] && explained="$explained|the target is plain HTTP"
    [[ $transport == mtls ]] || explained="$explained|needs an mTLS target"
    wrong=$(jq -r --arg re "$explained" '.[] | select(.outcome == "skipped" and (.detail | test($re) | not)) | "\(.id): \(.detail)"' "$report")
    [[ -z $wrong ]] && ok || bad "$user ($mode, $transport): skipped without a reason the target explains: $wrong"
    local ran
    ran=$(jq '[.[] | select(.outcome == "blocked")] | length' "$report")
    ((ran >= 30)) && ok || bad "$user: only $ran attacks ran"
    # Every row quotes a line of the threat model.
    local threat
    while IFS= read -r threat; do
        grep -qF -- "$threat" "$threat_model" && ok || bad "threat '$threat' is not in docs/THREAT_MODEL.md"
    done < <(jq -r '.[].threat' "$report" | sort -u)
}

run_catalogue tess timestamp plain
run_catalogue sean sequence plain
run_catalogue chloe challenge plain
run_catalogue edna timestamp plain
run_catalogue tilda timestamp tls
run_catalogue mina timestamp mtls --cert "$work/mina.crt" --key "$work/mina.key" \
    --attacker-cert "$work/molly.crt" --attacker-key "$work/molly.key"

# What each mode must show.
row() { jq -r --arg id "$2" '.[] | select(.id == $id) | "\(.outcome) \(.stopped_by)"' "$work/$1.report.json"; }
detail() { jq -r --arg id "$2" '.[] | select(.id == $id) | .detail' "$work/$1.report.json"; }
[[ $(row tess replay-now) == "blocked replay" ]] && ok || bad "tess replay-now: $(row tess replay-now)"
[[ $(row sean replay-now) == "blocked seq_replay" ]] && ok || bad "sean replay-now: $(row sean replay-now)"
[[ $(row chloe replay-now) == "blocked challenge_invalid" ]] && ok || bad "chloe replay-now: $(row chloe replay-now)"
[[ $(row tilda replay-now) == "blocked channel_binding" ]] && ok || bad "tilda replay-now: $(row tilda replay-now)"
[[ $(row tess replay-after-window) == "blocked expired" ]] && ok || bad "tess replay-after-window: $(row tess replay-after-window)"
jq -e '.[] | select(.id == "replay-after-window") | .detail | test("replayed (1[6-9]|[2-9][0-9])s after it was signed")' \
    "$work/tess.report.json" >/dev/null && ok || bad "replay-after-window waited past the window"
[[ $(row tess replay-after-restart) == "blocked expired" ]] && ok || bad "tess replay-after-restart: $(row tess replay-after-restart)"
[[ $(row sean replay-after-restart) == "blocked seq_replay" ]] && ok || bad "sean replay-after-restart: $(row sean replay-after-restart)"
[[ $(row chloe replay-after-restart) == "blocked challenge_invalid" ]] && ok || bad "chloe replay-after-restart: $(row chloe replay-after-restart)"
[[ $(row tilda replay-after-restart) == "blocked channel_binding" ]] && ok || bad "tilda replay-after-restart: $(row tilda replay-after-restart)"
# Each of those restarts was real: the gateway's pid changed (kill -9, started again).
[[ $(cat "$work/plain.pid") != "$pid_plain" && $(cat "$work/tls.pid") != "$pid_tls" && $(cat "$work/mtls.pid") != "$pid_mtls" ]] &&
    ok || bad "the gateways were not restarted"
for u in tess sean chloe edna tilda mina; do
    jq -e '.[] | select(.id == "replay-after-restart") | .detail | test("^restarted: process_start_time_seconds [0-9.]+ -> [0-9.]+;")' \
        "$work/$u.report.json" >/dev/null && ok || bad "$u replay-after-restart: the restart was not checked: $(detail $u replay-after-restart)"
done
# A restart command that restarts nothing: the row cannot claim a block it did not see.
rc=0
"$aw" attack --credentials "$work/sean.json" --only replay-after-restart --restart-cmd true \
    --json "$work/noop.json" >"$work/noop.out" 2>&1 || rc=$?
[[ $rc -eq 1 && $(jq -r '.[0].outcome' "$work/noop.json") == error ]] &&
    jq -e '.[0].detail | test("was not restarted")' "$work/noop.json" >/dev/null && ok ||
    bad "replay-after-restart with a no-op restart: exit $rc: $(cat "$work/noop.out")"
[[ $(row tess credential-relay) == "blocked forbidden" ]] && ok || bad "tess credential-relay: $(row tess credential-relay)"
[[ $(row tilda credential-relay) == "blocked channel_binding" ]] && ok || bad "tilda credential-relay: $(row tilda credential-relay)"
[[ $(row mina mtls-no-client-cert) == "blocked tls:client_certificate" ]] && ok || bad "mina mtls-no-client-cert: $(row mina mtls-no-client-cert)"
[[ $(row mina mtls-relay-other-cert) == "blocked forbidden" ]] && ok || bad "mina mtls-relay-other-cert: $(row mina mtls-relay-other-cert)"
[[ $(row mina tls-intercept) == "blocked channel_binding" ]] && ok || bad "mina tls-intercept: $(row mina tls-intercept)"
[[ $(row mina replay-new-connection) == "blocked channel_binding" ]] && ok || bad "mina replay-new-connection: $(row mina replay-new-connection)"
[[ $(row tilda mtls-no-client-cert) == "skipped " ]] && ok || bad "tilda mtls-no-client-cert without mTLS: $(row tilda mtls-no-client-cert)"
rc=0; "$aw" attack --credentials "$work/mina.json" --attacker-cert "$work/molly.crt" >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--cert" "$work/out" && ok || bad "--attacker-cert without --cert: exit $rc"
rc=0; "$aw" attack --credentials "$work/tess.json" --cert "$work/mina.crt" --key "$work/mina.key" --only replay-now >"$work/out" 2>&1 || rc=$?
[[ $rc -ne 0 ]] && grep -q "https" "$work/out" && ok || bad "--cert on a plain target: exit $rc: $(cat "$work/out")"
[[ $(row sean seq-reorder) == "blocked seq_replay" ]] && ok || bad "sean seq-reorder: $(row sean seq-reorder)"
jq -e '.[] | select(.id == "seq-reorder") | .detail | test("then n: 200 \\(the window accepts reordering")' \
    "$work/sean.report.json" >/dev/null && ok || bad "seq-reorder says the late n was accepted"
[[ $(row chloe challenge-reuse) == "blocked challenge_invalid" ]] && ok || bad "chloe challenge-reuse: $(row chloe challenge-reuse)"
[[ $(row tess tls-intercept) == "skipped " ]] && ok || bad "tess tls-intercept on plain HTTP: $(row tess tls-intercept)"
[[ $(row tilda tls-intercept) == "blocked channel_binding" ]] && ok || bad "tilda tls-intercept: $(row tilda tls-intercept)"
jq -e '.[] | select(.id == "tls-intercept") | .observed | test("a note the interceptor reads")' \
    "$work/tilda.report.json" >/dev/null && ok || bad "tls-intercept says the bodies were readable"
[[ $(row tilda tls-strip) == "blocked tls:handshake" ]] && ok || bad "tilda tls-strip: $(row tilda tls-strip)"
[[ $(row tilda tls-untrusted-ca) == "blocked tls:certificate" ]] && ok || bad "tilda tls-untrusted-ca: $(row tilda tls-untrusted-ca)"
[[ $(row edna tamper-alg) == "blocked alg_mismatch" ]] && ok || bad "edna tamper-alg: $(row edna tamper-alg)"
[[ $(row tess passive-capture) == "blocked keys_not_on_wire" && $(row edna passive-capture) == "blocked keys_not_on_wire" ]] &&
    ok || bad "passive capture: $(row tess passive-capture) / $(row edna passive-capture)"
# The enrollment rows: the real enrollment client through the man in the middle, on a fresh
# invite each; the same on every target (the user's mode does not matter to them).
enroll_expected=(
    "enroll-passive-capture keys_not_on_wire"
    "enroll-token-replay enroll:invite_used"
    "enroll-server-key-swap enroll:client:server_key_mismatch"
    "enroll-key-substitution enroll:handshake_failed"
    "enroll-key-substitution-welcome enroll:client:handshake_failed"
    "enroll-tamper-hello enroll:handshake_failed"
    "enroll-tamper-welcome enroll:client:handshake_failed"
    "enroll-tamper-confirm enroll:handshake_failed"
    "enroll-replay-hello enroll:replay"
)
for u in tess sean chloe edna tilda mina; do
    for e in "${enroll_expected[@]}"; do
        id=${e%% *}
        [[ $(row $u "$id") == "blocked ${e#* }" ]] && ok || bad "$u $id: $(row $u "$id"), want blocked ${e#* }"
        case $id in
        enroll-passive-capture) want="^enrolled attack-enroll-[0-9a-f]+ via the recording relay \\(controls: a success to the verdicts, the server.s public key found\\); [1-9][0-9]* messages .* both ways: no invite secret, PSK, token or user key, [1-9][0-9]* forms \\(.*\\)$" ;;
        enroll-token-replay) want="still holds the genuine key, the invite used once" ;;
        *) want="store: no user attack-enroll-[0-9a-f]+, the invite still pending$" ;;
        esac
        [[ $(detail $u "$id") =~ $want ]] && ok || bad "$u $id: detail: $(detail $u "$id")"
    done
done
[[ $(detail tilda enroll-server-key-swap) == *"no HELLO left the client"* ]] && ok ||
    bad "enroll-server-key-swap: $(detail tilda enroll-server-key-swap)"
jq -e '.[] | select(.id == "enroll-passive-capture") | .observed | test("TLS intercepted.*the server.s X25519 key")' \
    "$work/tilda.report.json" >/dev/null && ok || bad "enroll-passive-capture says what the observer read"
# What the rows left in the data directory: per run, the users of the two genuine
# enrollments (revoked), their two invites used, the seven attacked invites revoked unused;
# nothing active, nothing pending.
"$aw" user list --data "$data" --json >"$work/users.json" && "$aw" invites --all --data "$data" --json >"$work/invites.json" ||
    bad "user list / invites failed"
runs=6 # catalogue runs: tess sean chloe edna tilda mina
n=$(jq '[.[] | select(.name | startswith("attack-enroll-")) | select(.revoked | not)] | length' "$work/users.json")
[[ $n -eq 0 ]] && ok || bad "$n attack-enroll users still active"
n=$(jq '[.[] | select(.name | startswith("attack-enroll-")) | select(.revoked)] | length' "$work/users.json")
[[ $n -eq $((2 * runs)) ]] && ok || bad "$n attack-enroll users revoked, want $((2 * runs))"
states=$(jq -r '[.[] | select(.name | startswith("attack-enroll-")) | .state] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$work/invites.json")
[[ $states == "revoked=$((7 * runs)) used=$((2 * runs))" ]] && ok || bad "attack-enroll invites: $states"
# Without --data the enrollment rows cannot make invites: skipped, and said why.
rc=0; "$aw" attack --credentials "$work/tess.json" --only enroll-tamper-hello --json "$work/nodata.json" >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 0 && $(jq -r '.[0] | "\(.outcome) \(.detail)"' "$work/nodata.json") == "skipped needs --data DIR to issue invites" ]] &&
    ok || bad "enroll row without --data: exit $rc: $(cat "$work/out")"
grep -q '^tamper-body .*BLOCKED by digest_mismatch' "$work/tess.out" && ok || bad "the text report: $(grep '^tamper-body ' "$work/tess.out")"
grep -q 'observer: ' "$work/tess.out" && ok || bad "the text report names what an observer learned"

# ---- a gateway with its replay check compiled out: the harness must see it ------------------
grep -qaF "$marker" "$awd" && bad "authwired contains the weakened replay path" || ok
grep -qaF "$marker" "$weak" && ok || bad "authwired-weak lacks its marker"
weak_port_file="$work/weak.port"
"$weak" --data "$data" --listen 127.0.0.1:0 --port-file "$weak_port_file" --plain --demo-api \
    --workers 2 --access-log "$work/weak.log" 2>"$work/weak.err" &
pids+=($!)
for _ in $(seq 600); do [[ -s $weak_port_file ]] && break; sleep 0.05; done
[[ -s $weak_port_file ]] || { echo "FATAL: authwired-weak did not start"; cat "$work/weak.err"; exit 1; }
grep -qF "$marker" "$work/weak.err" && ok || bad "authwired-weak says what it is on start"
for id in replay-now replay-new-connection; do
    rc=0
    "$aw" attack --credentials "$work/tess.json" --target "http://127.0.0.1:$(cat "$weak_port_file")" \
        --only "$id" --json "$work/weak.json" >"$work/weak.out" 2>&1 || rc=$?
    [[ $rc -ne 0 ]] && ok || bad "$id against authwired-weak: exit 0"
    [[ $(jq -r '.[0].outcome' "$work/weak.json") == succeeded ]] && ok || bad "$id against authwired-weak: $(cat "$work/weak.out")"
    grep -q "^$id .*SUCCEEDED" "$work/weak.out" && ok || bad "$id: the text report says SUCCEEDED"
done
# It was started without --authority: it serves any Host, and the credential relay (the
# user signed for the attacker's address) goes through; the harness must say so.
rc=0
"$aw" attack --credentials "$work/tess.json" --target "http://127.0.0.1:$(cat "$weak_port_file")" \
    --only credential-relay --json "$work/weak.json" >"$work/weak.out" 2>&1 || rc=$?
[[ $rc -eq 1 && $(jq -r '.[0].outcome' "$work/weak.json") == succeeded ]] && ok || bad "credential-relay without --authority: exit $rc: $(cat "$work/weak.out")"
jq -e '.[0].detail | test("--authority")' "$work/weak.json" >/dev/null && ok || bad "credential-relay names the fix"
# The same gateway still refuses what the weakening does not touch.
rc=0
"$aw" attack --credentials "$work/tess.json" --target "http://127.0.0.1:$(cat "$weak_port_file")" \
    --only tamper-body >"$work/weak.out" 2>&1 || rc=$?
[[ $rc -eq 0 ]] && ok || bad "tamper-body against authwired-weak: exit $rc"

for g in plain tls mtls; do
    grep -q 'ERROR: AddressSanitizer\|runtime error:' "$work/$g.err" && bad "$g gateway: sanitizer report" || ok
done
kill -0 "$(cat "$work/plain.pid")" 2>/dev/null && kill -0 "$(cat "$work/tls.pid")" 2>/dev/null && ok || bad "a gateway died"

echo "attack: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
