#!/bin/bash
# Throughput of two mercato release binaries, side by side on loopback: both serve the embedded defaults,
# each path is loaded on one then the other, alternating, for ROUNDS rounds (docs/benchmarks.md).
# Usage: scripts/wrk-compare.sh BEFORE_BINARY AFTER_BINARY [ROUNDS]
set -euo pipefail
before=$1 after=$2 rounds=${3:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$work"' EXIT
LOG_LEVEL=warning "$before" serve --port 18081 --data-dir "$work/before" > "$work/before.log" 2>&1 &
LOG_LEVEL=warning "$after" serve --port 18082 --data-dir "$work/after" > "$work/after.log" 2>&1 &
for _ in $(seq 1 120); do
  curl -sf http://127.0.0.1:18081/health > /dev/null && curl -sf http://127.0.0.1:18082/health > /dev/null && break
  sleep 1
done
listing="/v1/stores/demo/products?sort=newest&limit=24"
for port in 18081 18082; do   # warm-up: fill the cache, settle the connections
  wrk -t1 -c32 -d3s "http://127.0.0.1:$port$listing" > /dev/null
  wrk -t1 -c32 -d3s "http://127.0.0.1:$port/health" > /dev/null
done
echo "round path before_rps after_rps after/before"
for round in $(seq 1 "$rounds"); do
  for path in /health "$listing"; do
    b=$(wrk -t1 -c32 -d5s "http://127.0.0.1:18081$path" | awk '/Requests\/sec/ {print $2}')
    a=$(wrk -t1 -c32 -d5s "http://127.0.0.1:18082$path" | awk '/Requests\/sec/ {print $2}')
    echo "$round $path $b $a $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}')"
  done
done
