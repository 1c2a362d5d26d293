#!/usr/bin/env python3
"""Checkout creation latency, standard (parallel) vs sequential flow, measured in one run.

Open loop: requests are scheduled at a constant rate, alternating between the two API servers, and each
latency is measured from its scheduled time (a stalled server cannot hide behind coordinated omission).
One inventory round trip is measured in the same run by calling the inventory service's availability
endpoint directly, so the report can say how many round trips each flow costs.

Usage (servers on loopback, see README "Checkout"):
  scripts/checkout-bench.py --standard http://127.0.0.1:8080 --sequential http://127.0.0.1:8090 \
      --inventory http://127.0.0.1:8081 --token ADMIN_TOKEN [--rate 10] [--duration 30] [--lines 2]
"""
import argparse, concurrent.futures, http.client, json, threading, time, urllib.parse

def request(base, method, path, body=None, headers=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = dict(headers or {})
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=hdrs)
        response = conn.getresponse()
        payload = response.read()
        return response.status, dict(response.getheaders()), payload
    finally:
        conn.close()

def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--standard", required=True)
    parser.add_argument("--sequential", required=True)
    parser.add_argument("--inventory", required=True)
    parser.add_argument("--store", default="demo")
    parser.add_argument("--token", required=True, help="admin token of the store (to give the variants stock)")
    parser.add_argument("--rate", type=float, default=10, help="checkouts per second, both flows together")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--lines", type=int, default=2)
    args = parser.parse_args()

    # Variants from distinct products, with plenty of stock so no checkout fails for lack of it.
    _, _, body = request(args.standard, "GET", f"/v1/stores/{args.store}/products?limit={args.lines}")
    variants = []
    for item in json.loads(body)["items"][: args.lines]:
        _, _, detail = request(args.standard, "GET", f"/v1/stores/{args.store}/products/{item['id']}")
        variant = json.loads(detail)["variants"][0]["id"]
        status, _, text = request(args.standard, "PUT", f"/v1/admin/variants/{variant}/stock", {"quantity": 1_000_000},
                                  {"Authorization": f"Bearer {args.token}"})
        assert status == 200, text
        variants.append(variant)
    lines = [{"variant_id": v, "quantity": 1} for v in variants]

    # One inventory round trip, measured directly (an availability call for an unknown merchant answers {}).
    probe = "/v1/inventory/merchants/00000000-0000-0000-0000-000000000000/availability"
    round_trips = []
    for _ in range(20):
        started = time.perf_counter()
        status, _, _ = request(args.inventory, "POST", probe, {"variant_ids": []})
        round_trips.append((time.perf_counter() - started) * 1000)
        assert status == 200

    targets = {"standard": args.standard, "sequential": args.sequential}
    results = {name: [] for name in targets}
    calls = {name: [] for name in targets}
    errors = {name: 0 for name in targets}
    lock = threading.Lock()
    count = int(args.rate * args.duration)
    start = time.perf_counter() + 0.5

    def run(i):
        name = "standard" if i % 2 == 0 else "sequential"
        scheduled = start + i / args.rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            status, headers, _ = request(targets[name], "POST", f"/v1/stores/{args.store}/checkouts",
                                         {"email": "bench@example.com", "lines": lines})
        except Exception:
            status, headers = 0, {}
        elapsed = (time.perf_counter() - scheduled) * 1000
        with lock:
            if status == 201:
                results[name].append(elapsed)
                calls[name].append((int(headers.get("X-Mercato-Inventory-Calls", -1)), int(headers.get("X-Mercato-Tax-Calls", -1))))
            else:
                errors[name] += 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=128) as pool:
        list(pool.map(run, range(count)))

    rt = sum(round_trips) / len(round_trips)
    print(f"one inventory round trip (direct, n={len(round_trips)}): mean {rt:.1f} ms, p50 {percentile(round_trips, 50):.1f}, max {max(round_trips):.1f}")
    print(f"open loop: {args.rate}/s for {args.duration:.0f} s, {args.lines} lines per checkout, alternating flows\n")
    print("| flow | n | errors | p50 ms | p90 ms | p99 ms | max ms | p99 / round trip | inventory calls | tax calls |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in targets:
        values = results[name]
        inv = sorted({c[0] for c in calls[name]})
        tax = sorted({c[1] for c in calls[name]})
        print(f"| {name} | {len(values)} | {errors[name]} | {percentile(values, 50):.0f} | {percentile(values, 90):.0f} | "
              f"{percentile(values, 99):.0f} | {max(values) if values else float('nan'):.0f} | {percentile(values, 99) / rt:.2f} | {inv} | {tax} |")

if __name__ == "__main__":
    main()
