#!/usr/bin/env bash
# The gateway benchmark of `make bench`: wrk on 127.0.0.1 against
#   nginx     proxying to an upstream (the reference),
#   authwired in proxy mode to the same upstream with --auth false,
#   authwired in proxy mode with auth and response signing on,
# under the same load, in one run. The upstream is a second nginx server block returning a
# fixed body. Requests for wrk are pre-signed (authwire-presign) and each sent once, so
# signing is not the load generator's bottleneck. Appends rows to bench-results.json.
#
#   bash bench/gateway.sh BUILD_DIR RESULTS_JSON
set -uo pipefail
build=${1:?build dir}
results=${2:?results json}
duration=${AW_BENCH_GATEWAY_SECONDS:-5}
threads=2
connections=32
workers=2
for tool in wrk nginx jq; do
    command -v "$tool" >/dev/null || { echo "bench: gateway: $tool missing (make deps)" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [[ -f "$work/nginx.pid" ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { # a port nobody answers on
    local p
    while :; do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
up_port=$(free_port); nginx_port=$(free_port)

mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<CONF
worker_processes $workers;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
user root;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    upstream backend { server 127.0.0.1:$up_port; keepalive 64; }
    server {
        listen 127.0.0.1:$up_port;
        location / { default_type application/json; return 200 '{"ok":true}'; }
    }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx" || { echo "bench: gateway: nginx failed" >&2; exit 1; }

data=$work/data
"$build/authwire" init --data "$data" >/dev/null || exit 1
start_gw() { # start_gw NAME ARGS...: sets $port (no subshell: the process must stay ours)
    "$build/authwired" --data "$data" --listen 127.0.0.1:0 --port-file "$work/$1.port" --plain \
        --upstream "http://127.0.0.1:$up_port" --workers "$workers" --access-log off \
        --nonce-capacity 4000000 "${@:2}" 2>"$work/$1.err" &
    pids+=($!)
    for _ in $(seq 100); do [[ -s "$work/$1.port" ]] && break; sleep 0.05; done
    [[ -s "$work/$1.port" ]] || { cat "$work/$1.err" >&2; echo "bench: gateway: authwired $1 did not start" >&2; exit 1; }
    port=$(cat "$work/$1.port")
}
start_gw off --auth false
off_port=$port
start_gw on
on_port=$port
"$build/authwire" user add bench --data "$data" --out "$work/bench.json" \
    --url "http://127.0.0.1:$on_port" >/dev/null || exit 1

# run NAME PORT PRESIGNED: wrk, then "rps p50_us p99_us non2xx" on stdout.
to_us() {
    awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v*1000 }
           else if (v ~ /s$/) { sub(/s$/,"",v); print v*1000000 } else print v }'
}
run() {
    AW_PRESIGNED=$3 AW_WRK_THREADS=$threads wrk -t"$threads" -c"$connections" -d"${duration}s" \
        --latency -s "$(dirname "$0")/presigned.lua" "http://127.0.0.1:$2/" >"$work/$1.wrk" 2>&1
    local rps p50 p99 non2xx
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$1.wrk")
    p50=$(awk '$1 == "50%" {print $2}' "$work/$1.wrk" | to_us)
    p99=$(awk '$1 == "99%" {print $2}' "$work/$1.wrk" | to_us)
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$1.wrk")
    echo "${rps:-0} ${p50:-0} ${p99:-0} ${non2xx:-0}"
}

# Three rounds, the three servers alternating (order rotated each round), so load from the
# rest of the machine hits all of them alike; each figure is the median of its three runs.
# Requests are pre-signed right before each auth-on run (they must be used within the
# 30 s maximum age), as many as the fastest rate seen so far could use, plus margin.
"$build/authwire-presign" --credentials "$work/bench.json" --count 1000 \
    --authority "127.0.0.1:$on_port" --path /bench --out "$work/few.req" || exit 1
rounds=3
best=0
declare -A results
run_server() { # run_server NAME ROUND
    case $1 in
    nginx) read -r rps p50 p99 nb < <(run "nginx$2" "$nginx_port" "$work/few.req") ;;
    off) read -r rps p50 p99 nb < <(run "off$2" "$off_port" "$work/few.req") ;;
    on)
        local count
        count=$(awk -v r="$best" -v d="$duration" 'BEGIN { c = int((r > 0 ? r : 50000) * d * 1.5) + 10000; print (c > 3000000 ? 3000000 : c) }')
        "$build/authwire-presign" --credentials "$work/bench.json" --count "$count" \
            --authority "127.0.0.1:$on_port" --path /bench --out "$work/signed.req" || exit 1
        read -r rps p50 p99 nb < <(run "on$2" "$on_port" "$work/signed.req")
        ;;
    esac
    results[$1,$2]="$rps $p50 $p99 $nb"
    best=$(awk -v a="$best" -v b="$rps" 'BEGIN { print (b > a ? b : a) }')
}
order=(nginx off on)
for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < 3; k++)); do run_server "${order[(k + r) % 3]}" "$r"; done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { # col NAME FIELD: the median over the rounds
    for ((r = 0; r < rounds; r++)); do echo "${results[$1,$r]}" | awk -v f="$2" '{ print $f }'; done | median
}
bad_total() { for ((r = 0; r < rounds; r++)); do echo "${results[$1,$r]}" | awk '{ print $4 }'; done | awk '{ n += $1 } END { print n + 0 }'; }
for name in nginx off on; do
    printf -v "${name}_rps" '%s' "$(col "$name" 1)"
    printf -v "${name}_p50" '%s' "$(col "$name" 2)"
    printf -v "${name}_p99" '%s' "$(col "$name" 3)"
    printf -v "${name}_bad" '%s' "$(bad_total "$name")"
    echo "bench: gateway: $name req/s by round: $(for ((r = 0; r < rounds; r++)); do echo -n "${results[$name,$r]%% *} "; done)"
done
# Proof that auth was really on: the gateway's own count of verified and refused requests.
metrics=$(curl -s "http://127.0.0.1:$on_port/metrics")
verified=$(awk -F'} ' '/^authwire_requests_total\{outcome="ok"/ {print $2}' <<<"$metrics")
refused=$(awk -F'} ' '/^authwire_requests_total\{outcome="rejected"/ {n += $2} END {print n + 0}' <<<"$metrics")
echo "bench: gateway: auth on verified ${verified:-0} signed requests and refused $refused"

printf 'bench: gateway (median of %d rounds of %s s, %d wrk threads, %d connections, %d workers each, plain HTTP on 127.0.0.1)\n' \
    "$rounds" "$duration" "$threads" "$connections" "$workers"
printf '  %-34s %10s %10s %10s %8s\n' "server" "req/s" "p50 us" "p99 us" "non-2xx"
printf '  %-34s %10s %10s %10s %8s\n' "nginx proxy_pass (reference)" "$nginx_rps" "$nginx_p50" "$nginx_p99" "$nginx_bad"
printf '  %-34s %10s %10s %10s %8s\n' "authwired proxy, auth off" "$off_rps" "$off_p50" "$off_p99" "$off_bad"
printf '  %-34s %10s %10s %10s %8s\n' "authwired proxy, auth + signing on" "$on_rps" "$on_p50" "$on_p99" "$on_bad"
status=0
if [[ "$on_bad" != 0 || "$off_bad" != 0 || "$nginx_bad" != 0 || "$refused" != 0 || -z "$verified" ]]; then
    echo "bench: gateway: some answers were not 2xx; see the wrk output below" >&2
    cat "$work"/*.wrk >&2
    status=1
fi
echo "  authwired (auth on) vs nginx: $(awk -v a="$on_rps" -v b="$nginx_rps" 'BEGIN { if (b > 0) printf "%.2fx", a / b }') the throughput (goal >= 1.0x)"

row() { # row NAME VALUE UNIT REFERENCE REF_VALUE GOAL
    jq -n --arg name "$1" --argjson value "$2" --arg unit "$3" --arg ref "$4" --argjson refv "$5" \
        --argjson goal "$6" '{name: $name, value: $value, unit: $unit, reference: $ref,
        reference_value: $refv, ratio: (if $refv > 0 then ($value / $refv * 1000 | round / 1000) else null end),
        goal: $goal}'
}
us_per() { awk -v r="$1" 'BEGIN { if (r > 0) printf "%.3f", 1000000 / r; else print 0 }'; }
rows=$(jq -s . <(
    row gateway_proxy_auth_on "$(us_per "$on_rps")" "us/request" "nginx proxy_pass, same upstream and load" "$(us_per "$nginx_rps")" 1.0
    row gateway_proxy_auth_off "$(us_per "$off_rps")" "us/request" "nginx proxy_pass, same upstream and load" "$(us_per "$nginx_rps")" null
    row gateway_p50_auth_on "$on_p50" "us" "nginx p50" "$nginx_p50" null
    row gateway_p99_auth_on "$on_p99" "us" "nginx p99" "$nginx_p99" null
))
if [[ -f "$results" ]]; then
    jq --argjson rows "$rows" '[.[] | select(.name | startswith("gateway_") | not)] + $rows' "$results" >"$work/r.json" &&
        mv "$work/r.json" "$results"
else
    echo "$rows" >"$results"
fi
exit $status
