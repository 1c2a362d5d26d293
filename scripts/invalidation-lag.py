#!/usr/bin/env python3
"""Write → fresh-on-another-instance latency, measured from outside.

Two Mercato instances share PostgreSQL and Redis. For N rounds: warm instance B's product detail, change
the product's price through instance A's admin API, and poll B until it serves the new price. The lag is
measured from A's response to the first fresh answer from B (so it includes pub/sub delivery and B's reload).

Usage: scripts/invalidation-lag.py A_URL B_URL ADMIN_TOKEN MERCHANT [ROUNDS]   (loopback URLs only)
"""
import json
import sys
import time
import urllib.request

a, b, token, merchant = sys.argv[1:5]
rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 200
for url in (a, b):
    host = url.split("//", 1)[1].split(":", 1)[0]
    if not (host.startswith("127.") or host in ("localhost", "[::1]")):
        sys.exit(f"refusing a non-loopback target: {url}")


def call(method, url, body=None, auth=False):
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


listing = call("GET", f"{b}/v1/stores/{merchant}/products?limit=1")
product_id = listing["items"][0]["id"]
admin_product = call("GET", f"{a}/v1/admin/products/{product_id}", auth=True)
variant_ids = [v["id"] for v in admin_product["variants"]]
currency = listing["items"][0]["price"]["currency"]
detail_url = f"{b}/v1/stores/{merchant}/products/{product_id}"

lags = []
for round_number in range(rounds):
    call("GET", detail_url)  # warm B
    amount = 10_000 + round_number
    for variant in variant_ids:
        call("PUT", f"{a}/v1/admin/variants/{variant}/price", {"currency": currency, "amount": amount}, auth=True)
    written = time.perf_counter()
    deadline = written + 2
    while True:
        if call("GET", detail_url)["price"]["amount"] == amount:
            lags.append((time.perf_counter() - written) * 1000)
            break
        if time.perf_counter() > deadline:
            sys.exit(f"round {round_number}: B still stale after 2 s")

lags.sort()
def pct(p):
    return lags[min(len(lags) - 1, int(p / 100 * len(lags)))]
print(f"rounds={len(lags)} write→fresh on B: p50={pct(50):.2f} ms p90={pct(90):.2f} ms p99={pct(99):.2f} ms max={lags[-1]:.2f} ms")
