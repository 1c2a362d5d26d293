#!/usr/bin/env bash
# Compares RedisClientBench with redis-benchmark on the same server.
#
#   scripts/redis-bench.sh redis://127.0.0.1:PORT [requests] [clients]   (loopback only)
#
# Builds in release mode first. Both tools run GET with the given number of connections at
# pipeline depths 1 and 16.
set -euo pipefail
url=${1:?usage: $0 redis://127.0.0.1:PORT [requests] [clients]}
requests=${2:-200000}
clients=${3:-32}
hostport=${url#redis://}
hostport=${hostport%%/*}
host=${hostport%:*}
port=${hostport##*:}
case $host in 127.*|localhost) ;; *) echo "refusing a non-loopback target: $host" >&2; exit 1;; esac

cd "$(dirname "$0")/.."
swift build -c release --product RedisClientBench >&2
redis-cli -h "$host" -p "$port" set key:__rand_int__ xxx >/dev/null

for depth in 1 16; do
    echo "redis-benchmark -t get -c $clients -P $depth -n $requests -q:"
    redis-benchmark -h "$host" -p "$port" -t get -c "$clients" -P "$depth" -n "$requests" -q | tr '\r' '\n' | grep -v '^$' | tail -1
done
echo "RedisClientBench $url $requests $clients:"
.build/release/RedisClientBench "$url" "$requests" "$clients"
