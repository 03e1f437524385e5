#!/usr/bin/env bash
# A relay on the path of an enrollment, end to end on 127.0.0.1: every message tampered,
# truncated, replayed or reordered, and a relay that substitutes its own key exchange (the
# key-substitution attack) in either direction. Each attempt must fail with a clear refusal
# (who refused and why) and leave no user behind; the invites it aimed at stay usable.
#
# aw-enroll-probe --relay MUTATION is the man in the middle: it changes HELLO and CONFIRM
# before they reach authwired, and KEY, WELCOME and DONE before its own client core reads
# them (tests/tools/enroll_probe.c). The runs go through `aw-enroll-probe batch`, each line
# one `aw-enroll-probe enroll ... --relay ...` run, in one process (a process start costs more
# than a run). For an HMAC and an Ed25519 invite:
#
#   frame (bytes)           flipped      truncated    more                 refused by
#   KEY (34)                every byte   every length swap-key             the client, and
#                                                                          no HELLO is sent
#   HELLO (66)              every byte   every length swap-e:hello,        the gateway
#                                                     replay:hello
#   WELCOME (767: has CA)   SAMPLE       SPARSE       swap-e:welcome,      the client
#                                                     replay:welcome
#   CONFIRM (51 / 147)      every byte   every length reorder:confirm-first the gateway
#   DONE (43)               SAMPLE       SPARSE       replay:done          the client
#
# SAMPLE: the first and last 8 bytes and every 7th (123 of WELCOME's bytes, 19 of DONE's);
# AW_RELAY_EVERY_BYTE=1 flips every byte of them too. SPARSE: the first and last 2 lengths,
# every 16th, and both sides of where a frame starts to parse. Measured on this machine's 2
# busy CPUs: every byte of WELCOME and DONE takes 1,330 more runs and 190 more invites (an
# invite costs 50 to 100 ms to make), 70-90 s instead of 40-45 s (28 s in `make test`).
# Past its first 34 bytes every WELCOME byte is ciphertext under one AEAD tag, as every DONE
# byte past its header is; each DONE attack costs an invite and a user.
#
# swap-e is the key-substitution attack: the relay's own ephemeral key instead of the
# client's (client -> gateway) or the server's (gateway -> client); swap-key puts the
# relay's key in place of the server's static key, which the token pins.
#
# After the attacks: no user of any attacked invite and every one still pending; then each
# is redeemed for real (the attacks did not burn it) and `authwire request` works with the
# credentials. DONE is the exception, and checked as such: the gateway has committed before
# the relay touches DONE, so the client refuses DONE while the user exists. The genuine
# CONFIRM sent again (the idempotent retry) gets the genuine DONE, which verifies: exactly
# one user, whose key works. (`authwire enroll` itself does not retry then: it reports
# interference, exit 3, with its credential file written before CONFIRM.)
#
# Limits: --enroll-rate-limit 0 (no per-source limit). The gateway allows 10 HELLOs per
# invite per minute (HELLO_LIMIT in src/gateway/enroll.c, not configurable), so the attacks
# spread over invites: at most 9 HELLOs that reach the limiter per invite, the 10th is the
# genuine enrollment at the end. That limiter has 1024 slots, 4 probed per key
# (gw_limit_count in src/gateway/main.c); an invite that finds its 4 taken within the
# minute shares a slot with another invite and gets that one's count: with a few hundred
# invites a minute, a fresh invite's first HELLO is refused (429) now and then. So the
# gateway restarts after every 60 invites made (losing only pending sessions and the
# limiter's counts; the invites and users are in the store).
set -uo pipefail
probe=${AW_ENROLL_PROBE:?AW_ENROLL_PROBE must point at aw-enroll-probe}
# shellcheck source=support/gateway_lib.sh
source "$(dirname "$0")/support/gateway_lib.sh" jq curl
started=$SECONDS

"$aw" init --data "$data" >/dev/null || { echo "FATAL: init failed"; exit 1; }
start_gateway relay --demo-api --plain --enroll-rate-limit 0
relay_port=$port
base="http://127.0.0.1:$relay_port"

# flips LEN: the offsets a server frame is flipped at: SAMPLE (the first and last 8, every
# 7th), or all of them with AW_RELAY_EVERY_BYTE=1.
flips() {
    if [[ ${AW_RELAY_EVERY_BYTE:-0} == 1 ]]; then
        seq 0 "$(($1 - 1))"
    else
        seq 0 "$(($1 - 1))" | awk -v n="$1" '$1 < 8 || $1 >= n - 8 || $1 % 7 == 0'
    fi
}

# sparse LEN EDGE...: the first and last 2 offsets, every 16th, and each EDGE and the one
# before it.
sparse() {
    local n=$1; shift
    { seq 0 "$((n - 1))" | awk -v n="$n" '$1 < 2 || $1 >= n - 2 || $1 % 16 == 0'
      for e in "$@"; do echo "$((e - 1))"; echo "$e"; done; } | sort -n | uniq
}

# restart_gateway: SIGTERM (it must exit 0), then a new authwired on the same port.
restart_gateway() {
    local rc=0
    kill -TERM "$pid_relay"
    wait "$pid_relay" || rc=$?
    [[ $rc == 0 ]] && ok || bad "the gateway: SIGTERM exit $rc"
    AW_LISTEN=127.0.0.1:$relay_port start_gateway relay --demo-api --plain --enroll-rate-limit 0
    invites_made=0
}

# new_invite NAME ARGS...: invite; first, after 60 invites, the planned runs and a restart
# (see Limits above).
invites_made=0
new_invite() {
    if ((invites_made >= 60)); then
        ((${#plan_args[@]} == 0)) || run_batch
        restart_gateway
    fi
    invites_made=$((invites_made + 1))
    invite "$@"
}

# ---- the invites the attacks aim at ----------------------------------------------------------
# target HELLOS: the invite of the next attack, which sends HELLOS HELLOs that count against
# the invite's limit; a fresh invite when this one would pass 9, named $alg_tag and a number
# of 3 digits (every WELCOME of an algorithm has the same length). Sets $tok and $tno (its
# index in targets).
targets=() target_ids=() target_tokens=() target_attacks=()
used=9 attack_count=0
target() {
    if ((used + $1 > 9)); then
        local name
        printf -v name '%s%03d' "$alg_tag" $((${#targets[@]} + 1))
        new_invite "$name" --alg "$alg"
        targets+=("$name")
        target_ids+=("$invite_id")
        target_tokens+=("$token")
        target_attacks+=("")
        used=0
    fi
    used=$((used + $1))
    tno=$((${#targets[@]} - 1))
    tok=${target_tokens[$tno]}
}

# ---- batches of runs ---------------------------------------------------------------------------
# plan GROUP WANT ARGS...: one more run in the next batch, `aw-enroll-probe ARGS`, with the
# invite named $plan_for. WANT is what it must give:
#   "gateway STATUS ERROR", "client RESULT"   exit 1 and "refused-by WANT"
#   "committed client RESULT"                 exit 1, "refused-by client RESULT", and the
#                                             CONFIRM sent again got a DONE that verifies
#   "enrolled"                                exit 0 (a genuine enrollment)
plan_group=() plan_want=() plan_args=() plan_target=() plan_for=""
plan() {
    plan_group+=("$1")
    plan_want+=("$2")
    plan_target+=("$plan_for")
    shift 2
    plan_args+=("$*")
}

# attack GROUP HELLOS WANT MUTATION [ARGS...]: a relay run against the current target.
attack() {
    local group=$1 hellos=$2 want=$3; shift 3
    target "$hellos"
    target_attacks[$tno]+="$1 "
    attack_count=$((attack_count + 1))
    plan_for=${targets[$tno]}
    plan "$group" "$want" enroll "$base" "$tok" --relay "$@"
}

# Every run is counted in its group ("hmac-sha256 HELLO flips"): how many ran, how many
# were refused as they must be, and with which refusals, for the group's summary line.
declare -A total refused reasons
tally() { # tally GROUP OK REFUSAL
    local g="$alg $1"
    [[ -v "total[$g]" ]] || { total[$g]=0; refused[$g]=0; reasons[$g]=""; }
    total[$g]=$((total[$g] + 1))
    if [[ $2 == true ]]; then
        refused[$g]=$((refused[$g] + 1))
        reasons[$g]+="$3"$'\n'
    fi
}

# report GROUP: "ALG GROUP: N/M refused (gateway 401 handshake_failed 48, ...)"
report() {
    local g="$alg $1"
    echo "$g: ${refused[$g]}/${total[$g]} refused ($(printf '%s' "${reasons[$g]}" | sort | uniq -c |
        awk '{n = $1; $1 = ""; printf "%s%s %d", (c++ ? ", " : ""), substr($0, 2), n}'))"
}

# gave WANT EXIT REFUSAL RETRY: whether a run gave what it must.
gave() {
    case $1 in
    enrolled) [[ $2 == 0 ]] ;;
    committed*) [[ $2 == 1 && "committed $3" == "$1" && $4 == verified ]] ;;
    *) [[ $2 == 1 && $3 == "$1" ]] ;;
    esac
}

# run_batch: the planned runs, each checked against its WANT.
run_batch() {
    local n=${#plan_args[@]} i r rc got retry results=()
    printf '%s\n' "${plan_args[@]}" | "$probe" batch >"$work/batch.out" 2>"$work/batch.err"
    rc=$?
    [[ $rc == 0 ]] && ok || bad "aw-enroll-probe batch: exit $rc: $(tail -n 2 "$work/batch.err")"
    grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$work/batch.err" && bad "sanitizer reports in the probe (above)"
    # One line a run: its exit status, its first refusal, whether the retry verified.
    mapfile -t results < <(awk '
        /^exit [0-9]+$/ {print $2 "|" ref "|" retry; ref = ""; retry = ""; next}
        /^refused-by / && ref == "" {ref = substr($0, 12)}
        $0 == "retry: the genuine CONFIRM again got a DONE that verifies" {retry = "verified"}
    ' "$work/batch.out")
    [[ ${#results[@]} == "$n" ]] && ok ||
        bad "the batch ended after ${#results[@]} of $n runs: $(tail -n 2 "$work/batch.err")"
    for ((i = 0; i < n; i++)); do
        r=${results[$i]:-none||}
        rc=${r%%|*} r=${r#*|}
        got=${r%%|*} retry=${r#*|}
        if gave "${plan_want[$i]}" "$rc" "$got" "$retry"; then
            ok
            [[ ${plan_want[$i]} == enrolled ]] || tally "${plan_group[$i]}" true "$got"
        else
            bad "$alg ${plan_args[$i]#enroll * * } (invite ${plan_target[$i]}): exit $rc, refused-by '$got' $retry; want ${plan_want[$i]}:" \
                "$(awk -v k="$i" '/^exit [0-9]+$/ {r++; next} r == k' "$work/batch.err")"
            [[ ${plan_want[$i]} == enrolled ]] || tally "${plan_group[$i]}" false
        fi
    done
    plan_group=() plan_want=() plan_args=() plan_target=()
}

hellos_in_log() { grep -c '"enroll":"hello"' "$work/relay.log"; }

# ---- the attacks, per algorithm ---------------------------------------------------------------
# attacks ALG TAG CONFIRM_LEN: everything but DONE against invites TAG001, TAG002, ... of
# ALG.
attacks() {
    alg=$1 alg_tag=$2 used=9
    local first=${#targets[@]} i want f="$work/$2.frames" attacks_before=$attack_count

    # The frames' lengths, from a handshake the probe leaves after WELCOME.
    target 1
    mkdir -p "$f"
    "$probe" enroll "$base" "$tok" --stop-after welcome --save "$f" >"$work/out" 2>"$work/err" ||
        { echo "FATAL: $alg: $(cat "$work/err")"; exit 1; }
    local key_len hello_len welcome_len confirm_len
    key_len=$(stat -c %s "$f/key") hello_len=$(stat -c %s "$f/hello")
    welcome_len=$(stat -c %s "$f/welcome") confirm_len=$(stat -c %s "$f/confirm")
    [[ $key_len == 34 && $hello_len == 66 && $welcome_len -gt 147 ]] && ok ||
        bad "$alg: KEY $key_len, HELLO $hello_len, WELCOME $welcome_len bytes"
    [[ $confirm_len == "$3" ]] && ok || bad "$alg: CONFIRM $confirm_len bytes, want $3"

    # KEY: version, type (00 -> 01 is a HELLO, which is longer), the server's static key.
    # The client checks the key against the token before it sends anything.
    local hellos_before
    hellos_before=$(hellos_in_log)
    for ((i = 0; i < key_len; i++)); do
        ((i < 2)) && want="client malformed" || want="client server_key_mismatch"
        attack "KEY flips" 0 "$want" "flip:key:$i"
    done
    for ((i = 0; i < key_len; i++)); do attack "KEY cuts" 0 "client malformed" "cut:key:$i"; done
    attack "server key substitution (swap-key)" 0 "client server_key_mismatch" swap-key
    run_batch
    report "KEY flips"
    report "KEY cuts"
    report "server key substitution (swap-key)"
    if [[ $(hellos_in_log) == "$hellos_before" ]]; then
        ok
        echo "$alg KEY: no HELLO reached the gateway in those $((2 * key_len + 1)) runs"
    else
        bad "$alg: a HELLO reached the gateway although the client had a changed KEY"
    fi
    hellos_before=$(hellos_in_log) # the runs below send HELLOs: the count above can grow

    # HELLO: version, type (01 -> 00 is a KEY, which is shorter), invite id (2..17), the
    # client's ephemeral key (18..49), the tag. Only an intact invite id counts against it.
    for ((i = 0; i < hello_len; i++)); do
        case $i in
        0) attack "HELLO flips" 0 "gateway 400 malformed" "flip:hello:$i" ;;
        1) attack "HELLO flips" 0 "gateway 413 too_large" "flip:hello:$i" ;;
        [2-9] | 1[0-7]) attack "HELLO flips" 0 "gateway 404 invite_unknown" "flip:hello:$i" ;;
        *) attack "HELLO flips" 1 "gateway 401 handshake_failed" "flip:hello:$i" ;;
        esac
    done
    for ((i = 0; i < hello_len; i++)); do attack "HELLO cuts" 0 "gateway 400 malformed" "cut:hello:$i"; done
    attack "key substitution client -> gateway (swap-e:hello)" 1 "gateway 401 handshake_failed" swap-e:hello
    attack "HELLO replayed" 2 "gateway 401 replay" replay:hello

    # WELCOME: version, type (02 -> 03 is a CONFIRM, at most 147 bytes), then Noise: the
    # server's ephemeral key and the encrypted payload. Shorter than the least WELCOME (112
    # bytes) does not parse; longer does not verify.
    for i in $(flips "$welcome_len"); do
        case $i in
        0) want="client malformed" ;;
        1) want="client too_large" ;;
        *) want="client handshake_failed" ;;
        esac
        attack "WELCOME flips" 1 "$want" "flip:welcome:$i"
    done
    for i in $(sparse "$welcome_len" 112); do
        ((i < 112)) && want="client malformed" || want="client handshake_failed"
        attack "WELCOME cuts" 1 "$want" "cut:welcome:$i"
    done
    attack "key substitution gateway -> client (swap-e:welcome)" 1 "client handshake_failed" swap-e:welcome
    attack "WELCOME replayed" 1 "client handshake_failed" replay:welcome --from "$f"

    # CONFIRM: version, type (03 -> 02 is no request), invite id and session id (no session
    # of that invite: the pending one stays as it is), then the confirmation under k1.
    for ((i = 0; i < confirm_len; i++)); do
        if ((i < 2)); then
            want="gateway 400 malformed"
        elif ((i < 34)); then
            want="gateway 404 session_unknown"
        else
            want="gateway 401 handshake_failed"
        fi
        attack "CONFIRM flips" 1 "$want" "flip:confirm:$i"
    done
    for ((i = 0; i < confirm_len; i++)); do
        ((i < 51)) && want="gateway 400 malformed" || want="gateway 401 handshake_failed"
        attack "CONFIRM cuts" 1 "$want" "cut:confirm:$i"
    done
    run_batch
    (($(hellos_in_log) > hellos_before)) && ok || bad "$alg: no HELLO in the access log (the KEY check above sees none)"
    local g
    for g in "HELLO flips" "HELLO cuts" "key substitution client -> gateway (swap-e:hello)" \
        "HELLO replayed" "WELCOME flips" "WELCOME cuts" \
        "key substitution gateway -> client (swap-e:welcome)" "WELCOME replayed" \
        "CONFIRM flips" "CONFIRM cuts"; do
        report "$g"
    done

    # No user, every invite still pending.
    local names ids t fails=$fail
    names=$("$aw" user list --data "$data" --json | jq -r '.[].name')
    ids=$("$aw" invites --all --data "$data" --json | jq -r '.[] | select(.state == "pending") | .id')
    for ((t = first; t < ${#targets[@]}; t++)); do
        grep -qx "${targets[$t]}" <<<"$names" && bad "$alg: a user ${targets[$t]} after: ${target_attacks[$t]}" || ok
        grep -qx "${target_ids[$t]}" <<<"$ids" && ok ||
            bad "$alg: invite ${targets[$t]} no longer pending after: ${target_attacks[$t]}"
    done
    ((fail == fails)) &&
        echo "$alg: after those $((attack_count - attacks_before)) runs no user, all $((${#targets[@]} - first)) invites attacked still pending"
    attacked_from=$first
}

# genuine FROM: each invite targets[FROM..] redeemed for real: exactly one user each; the
# key of the first and the last signs a request.
genuine() {
    local t names fails=$fail
    for ((t = $1; t < ${#targets[@]}; t++)); do
        plan_for=${targets[$t]}
        plan genuine enrolled enroll "$base" "${target_tokens[$t]}" --out "$work/${targets[$t]}.json"
    done
    run_batch
    names=$("$aw" user list --data "$data" --json | jq -r '.[].name')
    for ((t = $1; t < ${#targets[@]}; t++)); do
        [[ $(grep -cx "${targets[$t]}" <<<"$names") == 1 ]] && ok || bad "$alg: not one user ${targets[$t]}"
    done
    for t in "$1" "$((${#targets[@]} - 1))"; do
        req 0 "$alg: ${targets[$t]}'s key after the attacks" "$work/${targets[$t]}.json" /api/whoami
        [[ $(jq -r .user "$work/out") == "${targets[$t]}" ]] && ok || bad "$alg: whoami ${targets[$t]}: $(cat "$work/out")"
    done
    ((fail == fails)) && echo "$alg: the $((${#targets[@]} - $1)) attacked invites enrolled for real afterwards: one user each"
}

# ---- DONE: the gateway has committed ---------------------------------------------------------
# done_attack GROUP WANT MUTATION [ARGS...]: a DONE attack with an invite of its own (named
# $done_tag and a number); the client must refuse the changed DONE ("refused-by WANT"), and
# the genuine CONFIRM sent again must get a DONE that verifies.
done_attack() {
    local n
    printf -v n '%s%03d' "$done_tag" $((${#done_names[@]} + 1))
    new_invite "$n" --alg "$alg"
    done_names+=("$n")
    plan_for=$n
    plan "$1" "committed $2" enroll "$base" "$token" --relay "${@:3}" --confirm-twice --out "$work/$n.json"
}

# done_attacks ALG TAG: DONE flipped (SAMPLE; version, type: 04 -> 05 is no frame, session
# id, commit), truncated (SPARSE), and the DONE of another enrollment.
done_attacks() {
    alg=$1 done_tag=$2 done_names=()
    local tag=$2 i want n names spent fails=$fail
    for i in $(flips 43); do
        ((i < 2)) && want="client malformed" || want="client handshake_failed"
        done_attack "DONE flips" "$want" "flip:done:$i"
    done
    for i in $(sparse 43); do done_attack "DONE cuts" "client malformed" "cut:done:$i"; done
    # The DONE of another enrollment, which the batch makes first.
    mkdir -p "$work/$tag.old"
    new_invite "${tag}old" --alg "$alg"
    plan_for=${tag}old
    plan "DONE replayed" enrolled enroll "$base" "$token" --save "$work/$tag.old"
    done_attack "DONE replayed" "client handshake_failed" replay:done --from "$work/$tag.old"
    run_batch
    report "DONE flips"
    report "DONE cuts"
    report "DONE replayed"
    # Exactly one user each, and the invite is spent (the relay changed DONE after the
    # commit); the key from the retried DONE works.
    names=$("$aw" user list --data "$data" --json | jq -r '.[].name')
    spent=$("$aw" invites --all --data "$data" --json | jq -r '.[] | select(.state != "pending") | .name')
    for n in "${done_names[@]}"; do
        [[ $(grep -cx "$n" <<<"$names") == 1 ]] && ok || bad "$alg: not exactly one user $n after a refused DONE"
        grep -qx "$n" <<<"$spent" && ok || bad "$alg: $n's invite not spent after its commit"
    done
    for n in "${done_names[0]}" "${done_names[-1]}"; do
        req 0 "$alg: $n's key from the retried DONE" "$work/$n.json" /api/whoami
    done
    ((fail == fails)) &&
        echo "$alg DONE: the gateway had committed: ${#done_names[@]} refused DONEs, one user each, each retried CONFIRM got a DONE that verified"
}

# ---- run ---------------------------------------------------------------------------------------
attacks hmac-sha256 h 51
genuine "$attacked_from"
done_attacks hmac-sha256 hd
attacks ed25519 e 147
genuine "$attacked_from"
done_attacks ed25519 ed

# ---- reordered: a CONFIRM before any HELLO -----------------------------------------------------
# Handshakes left after WELCOME, then the gateway restarts: their sessions are gone (as after
# a crash, or 60 s). Their CONFIRMs, sent before any HELLO, must find no session and commit
# nothing; the invites stay usable.
# (A CONFIRM whose session is still pending is the genuine client's own confirmation: a
# relay that delays it completes that client's enrollment, with that client's key.)
declare -A ro_id ro_token
for alg in hmac-sha256 ed25519; do
    new_invite "ro-$alg" --alg "$alg"
    ro_id[$alg]=$invite_id ro_token[$alg]=$token
    mkdir -p "$work/ro-$alg"
    "$probe" enroll "$base" "$token" --stop-after welcome --save "$work/ro-$alg" >"$work/out" 2>"$work/err" ||
        bad "$alg: a handshake left after WELCOME: $(cat "$work/err")"
done
restart_gateway
for alg in hmac-sha256 ed25519; do
    plan_for=ro-$alg
    plan "CONFIRM reordered" "gateway 404 session_unknown" enroll "$base" "${ro_token[$alg]}" \
        --relay reorder:confirm-first --from "$work/ro-$alg"
    run_batch
    report "CONFIRM reordered"
    [[ $(users "ro-$alg") == 0 ]] && pending "${ro_id[$alg]}" && ok ||
        bad "$alg: a user or a spent invite after the reordered CONFIRM"
    "$probe" enroll "$base" "${ro_token[$alg]}" --out "$work/ro-$alg.json" >"$work/out" 2>"$work/err" && ok ||
        bad "$alg: the genuine enrollment after the reordered CONFIRM: $(cat "$work/err")"
    req 0 "$alg: the key after the reordered CONFIRM" "$work/ro-$alg.json" /api/whoami
done

# The gateway stops cleanly; under make test SAN=1 the sanitizers report into its stderr.
kill -TERM "$pid_relay"
rc=0
wait "$pid_relay" || rc=$?
[[ $rc == 0 ]] && ok || bad "the gateway: SIGTERM exit $rc"
grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error' "$work"/*.err && bad "sanitizer reports (above)" || ok

echo "enroll_relay: $pass passed, $fail failed in $((SECONDS - started)) s"
[[ $fail -eq 0 ]]
