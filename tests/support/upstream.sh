#!/usr/bin/env bash
# A stand-in upstream for tests/gateway.sh, run by socat once per connection: appends the
# request head it receives to $1 and answers with a fixed body.
while IFS= read -r line; do
    printf '%s\n' "${line%$'\r'}" >>"$1"
    [[ "$line" == $'\r' || -z "$line" ]] && break
done
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nupstream'
