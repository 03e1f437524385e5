#!/usr/bin/env bash
# restart-gateway.sh PIDFILE PORTFILE ERRFILE AUTHWIRED ARGS...: a crash and a restart, for
# `authwire attack --restart-cmd` (make demo, tests/attack.sh). Kills the authwired whose pid
# is in PIDFILE with -9, waits until it is gone, starts AUTHWIRED ARGS... again in the
# background (ARGS give the same --listen address and --port-file PORTFILE), stderr appended
# to ERRFILE, and writes its pid to PIDFILE. Exits 0 once PORTFILE is written again (30 s at
# most), 1 when the new gateway died or did not start in time.
set -u
pidfile=$1 portfile=$2 errfile=$3
shift 3
pid=$(cat "$pidfile")
kill -9 "$pid" 2>/dev/null
# Until it is gone, or a zombie of the shell that started it (which reaps it later).
while [[ $(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) == [RSDT] ]]; do
    sleep 0.05
done
rm -f "$portfile"
"$@" 2>>"$errfile" &
echo $! >"$pidfile"
for _ in $(seq 600); do
    [[ -s $portfile ]] && exit 0
    kill -0 $! 2>/dev/null || exit 1
    sleep 0.05
done
exit 1
