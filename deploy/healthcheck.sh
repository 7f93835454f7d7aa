#!/usr/bin/env bash
# Exits 0 when the Jeco server answers GET /readyz (or the path given as the first argument)
# with 200, and 1 otherwise. It needs nothing but bash, so the runtime image has no HTTP
# client to carry: the Dockerfile installs it as `jeco-healthcheck`, and scripts/cluster.sh
# uses it to wait for its processes.
#
# The server is the one at JECO_HEALTHCHECK_ADDR (host:port), else at JECO_LISTEN, else at
# 127.0.0.1:8080; an unspecified listen address (0.0.0.0, [::]) is checked on loopback.
set -euo pipefail

path=${1:-/readyz}
addr=${JECO_HEALTHCHECK_ADDR:-${JECO_LISTEN:-127.0.0.1:8080}}
port=${addr##*:}
host=${addr%:*}
host=${host#[}
host=${host%]}
case $host in
    '' | 0.0.0.0) host=127.0.0.1 ;;
    ::) host=::1 ;;
esac

# A refused connection fails the redirection; bash reports it on stderr.
exec 3<>"/dev/tcp/$host/$port"
printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$addr" >&3
status=
IFS= read -r -t 5 status <&3 || true
exec 3<&-
case $status in
    'HTTP/1.'?' 200 '* | 'HTTP/1.'?' 200'$'\r') exit 0 ;;
    *)
        echo "GET $path on $host:$port: ${status:-no answer}" >&2
        exit 1
        ;;
esac
