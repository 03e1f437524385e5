# Helpers the gateway tests source (tests/gateway.sh, tests/enroll_gateway.sh). The caller
# sets: work (its scratch directory), data (the data directory), awd (the authwired binary)
# and an array pids (every process it starts, killed by its cleanup).

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# start_gateway NAME ARGS...: starts authwired on a free port (on AW_LISTEN when set, e.g.
# the port of a gateway killed before), access log $work/NAME.log, stderr appended to
# $work/NAME.err; sets $port and $pid_NAME.
start_gateway() {
    local name=$1; shift
    rm -f "$work/$name.port"
    "$awd" --data "$data" --listen "${AW_LISTEN:-127.0.0.1:0}" --port-file "$work/$name.port" \
        --access-log "$work/$name.log" --workers 2 "$@" 2>>"$work/$name.err" &
    local p=$!
    pids+=("$p")
    for _ in $(seq 100); do
        [[ -s "$work/$name.port" ]] && break
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    if [[ ! -s "$work/$name.port" ]]; then
        echo "FATAL: authwired $name did not start:"; cat "$work/$name.err"; exit 1
    fi
    port=$(cat "$work/$name.port")
    printf -v "pid_$name" '%s' "$p"
}

# free_port: a port nothing answers on, for the test's own relays.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 30000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# wait_port PORT: until something accepts connections there (5 s at most).
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "FATAL: nothing listens on port $1" >&2
    exit 1
}

# last_reason LOG: the reason of the last access-log line.
last_reason() { tail -n 1 "$1" | jq -r .reason; }

# gateway_cleanup: an EXIT trap (trap gateway_cleanup EXIT): kills every process in pids
# and removes $work.
gateway_cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
