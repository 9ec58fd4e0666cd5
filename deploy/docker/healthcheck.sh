#!/bin/bash
# Container health check. With the admin console on (HTTP_ADDR, default 127.0.0.1:P+3) it asks
# GET /readyz with bash's /dev/tcp: sockets bound, recovery over, journal writable, last save fine,
# disk not nearly full — a few ms of CPU, so Docker can check every 2 s and report `healthy` within
# seconds of the start. With HTTP_ADDR=off it runs `multiuser-server health` (a RequestServerInfo
# on the command port; ~0.15 s of CPU per check). A stopped or hung server fails either way: the
# reply must come within 2 s.
set -u

addr=${HTTP_ADDR:-}
if [ "$(printf %s "$addr" | tr '[:upper:]' '[:lower:]')" = off ]; then
  exec multiuser-server health
fi
port_p=${PORT:-5555}
case $addr in
  '') host=127.0.0.1 port=$((port_p + 3)) ;;
  *[!0-9]*) host=${addr%:*} port=${addr##*:} ;;
  *) host=127.0.0.1 port=$addr ;;
esac
host=${host#[}
host=${host%]}
case $host in '' | '*' | 0.0.0.0 | ::) host=127.0.0.1 ;; esac

if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
  echo "unhealthy: nothing listens on $host:$port (admin console)"
  exit 1
fi
printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
if ! IFS= read -r -t 2 status <&3; then
  echo "unhealthy: no answer from $host:$port/readyz within 2 s"
  exit 1
fi
status=${status%$'\r'}
case $status in
  'HTTP/1.'?' 200 '*)
    echo "healthy: /readyz on $host:$port"
    exit 0
    ;;
  *)
    # The last line of the reply is its JSON body: the reasons.
    body=$(timeout 2 cat <&3 | tail -c 400)
    echo "unhealthy: /readyz on $host:$port: $status ${body##*$'\n'}"
    exit 1
    ;;
esac
