#!/usr/bin/env bash
# Runs a server and a client against each other on loopback; both must exit 0.
#   run_pair.sh SERVER_CMD... -- CLIENT_CMD...
# The server is given a port file as its last argument and writes "PORT KEY" into it; in the
# client's arguments @PORT@ and @KEY@ are replaced with those values.
set -euo pipefail
server=()
while [ "$1" != "--" ]; do server+=("$1"); shift; done
shift
dir=$(mktemp -d)
trap 'kill "$spid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port_file="$dir/port"
"${server[@]}" "$port_file" &
spid=$!
for _ in $(seq 1 300); do [ -s "$port_file" ] && break; sleep 0.1; done
[ -s "$port_file" ] || { echo "server did not start" >&2; exit 1; }
read -r port key < "$port_file"
client=()
for a in "$@"; do a=${a//@PORT@/$port}; client+=("${a//@KEY@/$key}"); done
timeout 60 "${client[@]}"
timeout 60 tail --pid="$spid" -f /dev/null
wait "$spid"
