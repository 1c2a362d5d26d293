#!/usr/bin/env bash
# Throwaway redis-server on 127.0.0.1 for tests and benchmarks.
#
#   scripts/redis.sh start PORT DIR   # starts it, prints redis://127.0.0.1:PORT as the last line
#   scripts/redis.sh stop DIR         # stops the server started with that DIR
#
# No persistence (--save '' --appendonly no); DIR holds only the pid and log files.
set -euo pipefail

usage() {
    echo "usage: $0 start PORT DIR | stop DIR" >&2
    exit 2
}

ensure_installed() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        echo "redis-server not found; installing it with apt-get" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
    fi
}

start() {
    local port=$1 dir=$2
    ensure_installed
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
    echo "$port" > "$dir/redis.port"
    for _ in $(seq 1 200); do
        if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
            echo "redis://127.0.0.1:$port"
            return 0
        fi
        sleep 0.05
    done
    echo "redis-server did not answer on 127.0.0.1:$port; see $dir/redis.log" >&2
    exit 1
}

stop() {
    local dir=$1 pid
    [ -f "$dir/redis.pid" ] || { echo "no redis.pid in $dir" >&2; return 0; }
    pid=$(cat "$dir/redis.pid")
    # SHUTDOWN rather than SIGTERM: a parent may have left SIGTERM blocked in the server's
    # signal mask (Foundation's Process does), and then the signal would never arrive.
    redis-cli -h 127.0.0.1 -p "$(cat "$dir/redis.port")" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/redis.pid"; return 0; }
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/redis.pid"
}

case "${1:-}" in
    start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
    stop) [ $# -eq 2 ] || usage; stop "$2" ;;
    *) usage ;;
esac
