#!/bin/bash
# Throughput of two mercato release binaries, side by side on loopback: both serve the embedded defaults,
# each path is loaded on one then the other, alternating, for ROUNDS rounds (docs/benchmarks.md).
# Besides requests/s it prints the server's CPU time per request (user + system, from /proc): on a machine
# where wrk and the server share the cores, that moves less from round to round than requests/s does.
# Usage: scripts/wrk-compare.sh BEFORE_BINARY AFTER_BINARY [ROUNDS]
set -euo pipefail
before=$1 after=$2 rounds=${3:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$work"' EXIT
LOG_LEVEL=warning "$before" serve --port 18081 --data-dir "$work/before" > "$work/before.log" 2>&1 &
before_pid=$!
LOG_LEVEL=warning "$after" serve --port 18082 --data-dir "$work/after" > "$work/after.log" 2>&1 &
after_pid=$!
for _ in $(seq 1 120); do
  curl -sf http://127.0.0.1:18081/health > /dev/null && curl -sf http://127.0.0.1:18082/health > /dev/null && break
  sleep 1
done
listing="/v1/stores/demo/products?sort=newest&limit=24"
for port in 18081 18082; do   # warm-up: fill the cache, settle the connections
  wrk -t1 -c32 -d3s "http://127.0.0.1:$port$listing" > /dev/null
  wrk -t1 -c32 -d3s "http://127.0.0.1:$port/health" > /dev/null
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# Prints "requests/s cpu-µs-per-request" for one 5 s load of PATH on PORT served by PID.
load() {
  local port=$1 pid=$2 path=$3 start out
  start=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c32 -d5s "http://127.0.0.1:$port$path")
  echo "$out" | awk -v ticks=$(($(cpu_ticks "$pid") - start)) -v hz="$hz" '
    /requests in/ {n = $1} /Requests\/sec/ {rps = $2} END {printf "%s %.1f", rps, ticks / hz * 1e6 / n}'
}
echo "round path before_rps after_rps after/before before_cpu_us after_cpu_us"
for round in $(seq 1 "$rounds"); do
  for path in /health "$listing"; do
    read -r b bcpu <<< "$(load 18081 "$before_pid" "$path")"
    read -r a acpu <<< "$(load 18082 "$after_pid" "$path")"
    echo "$round $path $b $a $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}') $bcpu $acpu"
  done
done
