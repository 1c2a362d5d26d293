#!/usr/bin/env bash
# The edge benchmarks of docs/benchmarks.md, in one run on embedded defaults: a release server with a Varnish edge
# in front (its own data folder and ports), then
#   1. the cached listing page straight from the app and through the edge (scripts/wrk-edge.sh);
#   2. the default mix, closed loop, storefront reads straight to the app, then through the edge, then (before) on a
#      second server with the cache off (mercato bench run);
#   3. write/read pairs through the edge (mercato bench edge-pairs).
# Usage: scripts/edge-bench.sh [OUT_DIR]   (env: MERCATO=.build/release/mercato WARMUP=60 DURATION=30 PAIRS=10000 CONNECTIONS=32)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:-$(mktemp -d /tmp/mercato-edge-bench.XXXX)}
MERCATO=${MERCATO:-.build/release/mercato}
WARMUP=${WARMUP:-60}
DURATION=${DURATION:-30}
PAIRS=${PAIRS:-10000}
CONNECTIONS=${CONNECTIONS:-32}
APP_PORT=${APP_PORT:-18180}
EDGE_PORT=${EDGE_PORT:-16181}
BEFORE_PORT=${BEFORE_PORT:-18181}
mkdir -p "$OUT"
[ -x "$MERCATO" ] || { echo "$MERCATO is missing: swift build -c release --product mercato" >&2; exit 1; }

server_pid="" before_pid=""
cleanup() {
    bash scripts/varnish.sh stop "$OUT/varnish" >/dev/null 2>&1 || true
    for pid in $server_pid $before_pid; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# serve LOG VAR=VALUE…: starts `mercato serve` on embedded defaults with the given settings (no admin write
# limit: the pairs write as fast as they can), sets $pid and waits for the demo admin token, set as $token.
serve() {
    local log=$1
    shift
    env -u DATABASE_URL -u DATABASE_REPLICA_URLS -u REDIS_URL MERCATO_ADMIN_WRITE_RATE=0 "$@" "$MERCATO" serve > "$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
        grep -q "demo admin token:" "$log" 2>/dev/null && break
        sleep 0.1
    done
    token=$(awk '/demo admin token:/ {print $NF}' "$log")
    [ -n "$token" ] || { echo "the server printed no admin token; see $log" >&2; exit 1; }
}

bash scripts/varnish.sh start "$EDGE_PORT" "$OUT/varnish" "127.0.0.1:$APP_PORT" >/dev/null
serve "$OUT/serve.log" MERCATO_DATA_DIR="$OUT/data" MERCATO_PORT="$APP_PORT" MERCATO_EDGE_PURGE_URLS="http://127.0.0.1:$EDGE_PORT"
server_pid=$pid app_token=$token
app="http://127.0.0.1:$APP_PORT" edge="http://127.0.0.1:$EDGE_PORT"
echo "build $(git rev-parse --short HEAD) · $(date -u +%Y-%m-%d) · results in $OUT"

echo; echo "## 1. Cached listing page: app vs edge (wrk)"
bash scripts/wrk-edge.sh "$app" "$edge" | tee "$OUT/wrk-edge.md"

echo; echo "## 2. Default mix, closed loop, $CONNECTIONS connections, ${WARMUP} s warm-up + ${DURATION} s"
"$MERCATO" bench run --target "$app" --token "$app_token" --closed --connections "$CONNECTIONS" --warmup "$WARMUP" --duration "$DURATION" \
    --json "$OUT/direct.json" 2>/dev/null | tee "$OUT/direct.md"
echo
"$MERCATO" bench run --target "$app" --edge "$edge" --token "$app_token" --closed --connections "$CONNECTIONS" --warmup "$WARMUP" --duration "$DURATION" \
    --json "$OUT/edge.json" 2>/dev/null | tee "$OUT/edge.md"

echo; echo "## 2b. Before: the same mix with the cache off (MERCATO_CACHE=off, its own data folder, no edge)"
serve "$OUT/serve-before.log" MERCATO_DATA_DIR="$OUT/data-before" MERCATO_PORT="$BEFORE_PORT" MERCATO_CACHE=off
before_pid=$pid
"$MERCATO" bench run --target "http://127.0.0.1:$BEFORE_PORT" --token "$token" --closed --connections "$CONNECTIONS" --warmup "$WARMUP" \
    --duration "$DURATION" --json "$OUT/before.json" 2>/dev/null | tee "$OUT/before.md"
kill "$before_pid"; wait "$before_pid" 2>/dev/null || true
before_pid=""

echo; echo "## 3. Write/read pairs through the edge"
"$MERCATO" bench edge-pairs --target "$app" --edge "$edge" --token "$app_token" --pairs "$PAIRS" --json "$OUT/pairs.json" | tee "$OUT/pairs.md"
