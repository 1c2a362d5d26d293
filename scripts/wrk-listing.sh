#!/usr/bin/env bash
# Throughput and latency of storefront reads relative to /health, in one run, with wrk on loopback.
# Each run repeats one URL, so with the server's cache on (the default) every request after the first is a
# near-cache hit: these are cached reads. To measure reads from the database, start the server with
# MERCATO_CACHE=off. The footer names the cache outcome the server reported for a listing.
# Usage: scripts/wrk-listing.sh [BASE_URL] [MERCHANT]   (env: CONNECTIONS=64 THREADS=2 DURATION=10s)
# Start the server first (release build), e.g.:
#   DATABASE_URL=postgres://… .build/release/mercato seed --merchants 10 --products-per-merchant 10000
#   DATABASE_URL=postgres://… .build/release/mercato serve                      # cached reads
#   DATABASE_URL=postgres://… MERCATO_CACHE=off .build/release/mercato serve    # reads from the database
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080}
MERCHANT=${2:-demo}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
case $BASE in http://127.*|http://localhost*|http://\[::1\]*) ;; *) echo "refusing a non-loopback target: $BASE" >&2; exit 1;; esac

product=$(curl -sf "$BASE/v1/stores/$MERCHANT/products?limit=1" | python3 -c 'import sys,json; print(json.load(sys.stdin)["items"][0]["slug"])')

run() { # name url → "name rps p50 p99"
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$2")
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    printf '%s %s %s %s %s\n' "$1" "$rps" "$p50" "$p99" "${errors:-0}"
}

wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "$BASE/health" >/dev/null  # warm-up
results=()
results+=("$(run health "$BASE/health")")
for sort in position price_asc price_desc newest bestselling; do
    results+=("$(run "listing:$sort" "$BASE/v1/stores/$MERCHANT/products?sort=$sort&limit=24")")
done
results+=("$(run "listing:category" "$BASE/v1/stores/$MERCHANT/products?category=women&sort=newest&limit=24")")
results+=("$(run detail "$BASE/v1/stores/$MERCHANT/products/$product")")

# After the runs: the outcome a repeated listing gets (debug headers; absent under MERCATO_ENV=production).
cache=$(curl -s -o /dev/null -D - "$BASE/v1/stores/$MERCHANT/products?sort=position&limit=24" | awk -F': ' 'tolower($1) == "x-mercato-cache" {print $2}' | tr -d '\r')
health_rps=$(awk '{print $2}' <<<"${results[0]}")
printf '\n| endpoint | req/s | × /health | p50 | p99 | non-2xx |\n|---|---|---|---|---|---|\n'
for row in "${results[@]}"; do
    read -r name rps p50 p99 errors <<<"$row"
    ratio=$(awk -v a="$rps" -v b="$health_rps" 'BEGIN { printf "%.2f", a / b }')
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$ratio" "$p50" "$p99" "$errors"
done
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION on $(nproc) cores, target $BASE, merchant $MERCHANT"
echo "server cache outcome of a repeated listing: ${cache:-not reported (debug headers off)} (bypass: MERCATO_CACHE=off, reads from the database)"
