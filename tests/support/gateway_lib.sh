# What the gateway tests share (tests/gateway.sh, tests/enroll_*.sh), sourced with
# the tools the test needs: `source support/gateway_lib.sh jq curl`. It sets aw (the
# authwire command, from $AUTHWIRE) and awd (authwired next to it), work (a scratch directory
# removed at exit), data ($work/data, not yet made) and pids (every process the test starts
# goes there: killed at exit).
aw=${AUTHWIRE:?AUTHWIRE must point at the authwire binary}
restart_script=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)/restart-gateway.sh
awd="$(dirname "$aw")/authwired"
[[ -x "$awd" ]] || { echo "FATAL: $awd is missing" >&2; exit 1; }
for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "FATAL: $tool is not installed (make deps)" >&2; exit 1; }
done
work=$(mktemp -d)
data=$work/data
pids=()
cleanup() {
    for p in "${pids[@]}" $(cat "$work"/*.pid 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# start_gateway NAME ARGS...: starts authwired on a free port (on AW_LISTEN when set, e.g.
# the port of a gateway killed before), access log $work/NAME.log, stderr appended to
# $work/NAME.err; sets $port and $pid_NAME. $work/NAME.restart is a script that kills it
# with -9 and starts it again with the same arguments on the same port (for `authwire attack
# --restart-cmd`; the pid of the latest is in $work/NAME.pid, killed at exit).
start_gateway() {
    local name=$1; shift
    rm -f "$work/$name.port"
    "$awd" --data "$data" --listen "${AW_LISTEN:-127.0.0.1:0}" --port-file "$work/$name.port" \
        --access-log "$work/$name.log" --workers 2 "$@" 2>>"$work/$name.err" &
    local p=$!
    pids+=("$p")
    # Up to 30 s: a sanitizer build on a loaded machine starts slowly; a dead one ends it.
    for _ in $(seq 600); do
        [[ -s "$work/$name.port" ]] && break
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    if [[ ! -s "$work/$name.port" ]]; then
        echo "FATAL: authwired $name did not start:"; cat "$work/$name.err"; exit 1
    fi
    port=$(cat "$work/$name.port")
    printf -v "pid_$name" '%s' "$p"
    echo "$p" >"$work/$name.pid"
    # The restart: scripts/restart-gateway.sh with this gateway's files and arguments.
    local cmd
    printf -v cmd ' %q' "$restart_script" \
        "$work/$name.pid" "$work/$name.port" "$work/$name.err" "$awd" --data "$data" \
        --listen "127.0.0.1:$port" --port-file "$work/$name.port" --access-log "$work/$name.log" \
        --workers 2 "$@"
    printf '#!/usr/bin/env bash\nexec bash%s\n' "$cmd" >"$work/$name.restart"
    chmod +x "$work/$name.restart"
}

# free_port: a port nothing answers on, for the test's own relays. Below Linux's ephemeral
# range (32768 and up), so no test's outgoing connection holds it when a relay binds it.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# on_free_port VAR COMMAND...: starts COMMAND in the background with every @PORT@ in its
# arguments replaced by a free port, waits until it listens there and sets VAR to the port.
# Tests run in parallel: another one may bind the port between free_port's probe and
# COMMAND's bind, and then COMMAND dies while the other listener answers wait_port, so a
# dead COMMAND means: try another port.
on_free_port() {
    local var=$1 p pid state _
    shift
    for _ in 1 2 3 4 5; do
        p=$(free_port)
        "${@//@PORT@/$p}" 2>/dev/null &
        pid=$!
        pids+=("$pid")
        wait_port "$p" "$pid" || continue
        sleep 0.1
        state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        if [[ $state == [RSD] ]]; then
            printf -v "$var" '%s' "$p"
            return 0
        fi
    done
    echo "FATAL: $1 could not keep a port" >&2
    exit 1
}

# wait_port PORT [PID]: until something accepts connections there (30 s at most, for a
# loaded machine). With PID: returns 1 as soon as that process is gone.
wait_port() {
    for _ in $(seq 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        [[ -z ${2:-} ]] || kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    echo "FATAL: nothing listens on port $1" >&2
    exit 1
}

# req WANT_EXIT DESCRIPTION CREDENTIALS ARGS...: authwire request, stdout in $work/out,
# stderr in $work/err.
req() {
    local want=$1 what=$2 cred=$3; shift 3
    local rc=0
    "$aw" request --credentials "$cred" "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [[ $rc -eq $want ]]; then ok; else bad "$what: exit $rc, want $want: $(cat "$work/err")"; fi
}

# last_reason LOG: the reason of the last access-log line.
last_reason() { tail -n 1 "$1" | jq -r .reason; }

# ---- enrollment (tests/enroll_gateway.sh, tests/enroll_relay.sh) ---------------------------

# invite NAME ARGS...: a new invite; its token in $token, its id in $invite_id.
invite() {
    "$aw" invite "$@" --data "$data" --json >"$work/invite.out" 2>"$work/invite.err" ||
        { echo "FATAL: invite $*: $(cat "$work/invite.err")"; exit 1; }
    local lines
    mapfile -t lines <"$work/invite.out"
    token=${lines[-1]}
    [[ ${lines[0]} =~ ^\{\"id\":\"([0-9a-f]{32})\" ]] ||
        { echo "FATAL: invite $*: no id in ${lines[0]}"; exit 1; }
    invite_id=${BASH_REMATCH[1]}
}

# users NAME: how many users of that name the store has.
users() { "$aw" user list --data "$data" --json | jq --arg n "$1" '[.[] | select(.name == $n)] | length'; }

# pending ID: whether the invite is still pending (usable).
pending() {
    "$aw" invites --all --data "$data" --json |
        jq -e --arg id "$1" 'any(.[]; .id == $id and .state == "pending")' >/dev/null
}

# gateway_cleanup: an EXIT trap (trap gateway_cleanup EXIT): kills every process in pids
# and removes $work.
gateway_cleanup() {
    for p in "${pids[@]}" $(cat "$work"/*.pid 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
