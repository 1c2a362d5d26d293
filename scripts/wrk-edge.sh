#!/usr/bin/env bash
# The cached listing page straight from the app against the same page through the edge, in one run, with
# wrk on loopback: rounds alternate (app, edge, app, edge, …) so both see the same machine.
# Usage: scripts/wrk-edge.sh APP_URL EDGE_URL [MERCHANT]   (env: CONNECTIONS=64 THREADS=2 DURATION=10s ROUNDS=3)
# Start a release build with the edge in front first, e.g.:
#   bash scripts/varnish.sh start 6081 /tmp/mercato-edge 127.0.0.1:8080
#   MERCATO_EDGE_PURGE_URLS=http://127.0.0.1:6081 .build/release/mercato serve
set -euo pipefail
APP=${1:?usage: $0 APP_URL EDGE_URL [MERCHANT]}
EDGE=${2:?usage: $0 APP_URL EDGE_URL [MERCHANT]}
MERCHANT=${3:-demo}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
for base in "$APP" "$EDGE"; do
    case $base in http://127.*|http://localhost*|http://\[::1\]*) ;; *) echo "refusing a non-loopback target: $base" >&2; exit 1;; esac
done
path="/v1/stores/$MERCHANT/products?limit=24"
# Both cached before measuring: the app's near cache, then the edge (a second request is its hit).
curl -sf -o /dev/null "$APP$path"
curl -sf -o /dev/null "$EDGE$path"
outcome=$(curl -sf -D - -o /dev/null "$EDGE$path" | awk -F': ' 'tolower($1) == "x-edge" {print $2}' | tr -d '\r')
[ "$outcome" = hit ] || { echo "the edge answered the listing with X-Edge: ${outcome:-none}, not hit" >&2; exit 1; }

run() { # url → "rps p50 p99 non2xx"
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$1")
    printf '%s %s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
        "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$(awk '/Non-2xx/ {print $5}' <<<"$out" | grep . || echo 0)"
}

wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "$APP$path" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "$EDGE$path" >/dev/null
echo "| round | app req/s | app p50 | app p99 | edge req/s | edge p50 | edge p99 | edge/app |"
echo "|---|---|---|---|---|---|---|---|"
app_total=0; edge_total=0
for round in $(seq 1 "$ROUNDS"); do
    read -r app_rps app_p50 app_p99 app_errors <<<"$(run "$APP$path")"
    read -r edge_rps edge_p50 edge_p99 edge_errors <<<"$(run "$EDGE$path")"
    [ "$app_errors" = 0 ] && [ "$edge_errors" = 0 ] || { echo "non-2xx answers: app $app_errors, edge $edge_errors" >&2; exit 1; }
    printf '| %s | %s | %s | %s | %s | %s | %s | %s× |\n' "$round" "$app_rps" "$app_p50" "$app_p99" "$edge_rps" "$edge_p50" "$edge_p99" \
        "$(awk -v a="$app_rps" -v e="$edge_rps" 'BEGIN { printf "%.2f", e / a }')"
    app_total=$(awk -v t="$app_total" -v r="$app_rps" 'BEGIN { print t + r }')
    edge_total=$(awk -v t="$edge_total" -v r="$edge_rps" 'BEGIN { print t + r }')
done
echo
echo "Over $ROUNDS rounds of $DURATION, $CONNECTIONS connections, $THREADS wrk threads: edge/app = $(awk -v a="$app_total" -v e="$edge_total" 'BEGIN { printf "%.2f", e / a }')×."
