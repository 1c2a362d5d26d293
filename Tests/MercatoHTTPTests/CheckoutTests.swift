import Foundation
import Synchronization
import MercatoCheckout
import MercatoCore
import MercatoHTTP
import MercatoHTTPBoundary
import MercatoInventory
import MercatoInventoryContract
import MercatoStorage
import MercatoTax
import MercatoTaxContract
import Testing
import TestSupport

@Suite("Checkout over HTTP")
struct CheckoutTests {
    @Test("200 concurrent buyers of 10 units: exactly 10 orders, stock 0, nothing left held", arguments: Backend.available)
    func lastUnits(backend: Backend) async throws {
        try await Harness.withLiveApp(backend) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 10)
                let created = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                    for _ in 0..<200 { group.addTask { try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)]) } }
                    return try await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
                }
                let winners = created.filter { $0.status == 201 }
                let losers = created.filter { $0.status == 409 }
                #expect(winners.count == 10)
                #expect(losers.count == 190)
                #expect(losers.allSatisfy { $0.type == "insufficient-stock" })
                #expect(created.allSatisfy { $0.status == 201 || $0.status == 409 }, "\(created.filter { $0.status != 201 && $0.status != 409 }.map(\.text))")
                #expect(try await Ledger.stock(fixture.database, variant: variant) == 0)

                let orders = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                    for checkout in winners {
                        group.addTask {
                            let address = try await buyers.setAddress(checkout)
                            #expect(address.status == 200, "\(address.text)")
                            return try await buyers.complete(checkout, key: UUID().uuidString)
                        }
                    }
                    return try await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
                }
                #expect(orders.allSatisfy { $0.status == 201 }, "\(orders.map(\.text))")
                let merchant = fixture.merchants[0].id
                #expect(try await Ledger.orders(fixture.database, merchant: merchant) == 10)
                #expect(try await Ledger.stock(fixture.database, variant: variant) == 0)
                #expect(try await Ledger.negativeStock(fixture.database, merchant: merchant) == 0)
                #expect(try await Ledger.reservations(fixture.database, merchant: merchant, status: "held") == 0)
                #expect(try await Ledger.reservations(fixture.database, merchant: merchant, status: "committed") == 10)
            }
        }
    }

    @Test("20 concurrent completes with one Idempotency-Key place one order and answer identically", arguments: Backend.available)
    func idempotentComplete(backend: Backend) async throws {
        try await Harness.withLiveApp(backend) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 5)
                let checkout = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 2)])
                #expect(checkout.status == 201, "\(checkout.text)")
                #expect(try await buyers.setAddress(checkout).status == 200)
                let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                    for _ in 0..<20 { group.addTask { try await buyers.complete(checkout, key: "order-once") } }
                    return try await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
                }
                #expect(answers.allSatisfy { $0.status == 201 }, "\(answers.map(\.text))")
                #expect(Set(answers.map(\.body)).count == 1)
                #expect(try await Ledger.orders(fixture.database, merchant: fixture.merchants[0].id) == 1)
                #expect(try await Ledger.stock(fixture.database, variant: variant) == 3)

                // The order is readable with the checkout's token only.
                let orderID = try #require(answers[0].object["id"] as? String)
                let token = try #require(checkout.object["token"] as? String)
                let order = try await buyers.send(.GET, "/v1/orders/\(orderID)", headers: [("X-Checkout-Token", token)])
                #expect(order.status == 200)
                #expect(order.body == answers[0].body)
                #expect(try await buyers.send(.GET, "/v1/orders/\(orderID)", headers: [("X-Checkout-Token", "guess")]).status == 404)
                #expect(try await buyers.send(.GET, "/v1/orders/\(orderID)").status == 404)

                // Same key, other body: 422. Other key: 409 naming the order. Replays are marked.
                let otherBody = try await buyers.complete(checkout, key: "order-once", body: #"{"note": "leave at the door"}"#)
                #expect(otherBody.status == 422)
                #expect(otherBody.type == "idempotency-key-reused")
                let otherKey = try await buyers.complete(checkout, key: "another-key")
                #expect(otherKey.status == 409)
                #expect(otherKey.text.contains(orderID))
                let replay = try await buyers.complete(checkout, key: "order-once")
                #expect(replay.header("Idempotent-Replayed") == "true")
                #expect(replay.body == answers[0].body)
            }
        }
    }

    @Test("Standard flow: at most 2 inventory calls, no tax before the address, 1 after")
    func standardCounters() async throws {
        try await Harness.withLiveApp(.sqlite) { base, fixture, deps in
            try await Buyers.with(base) { buyers in
                let variants = try await buyers.variants(store: fixture.slug, token: fixture.token, count: 3, stock: 50)
                let created = try await buyers.createCheckout(store: fixture.slug, lines: variants.map { ($0, 1) })
                #expect(created.status == 201, "\(created.text)")
                #expect(try #require(created.inventoryCalls) <= 2)
                #expect(created.taxCalls == 0)
                let checkout = try created.decode(CheckoutBody.self)
                #expect(checkout.totals.taxStatus == "awaiting_address" && checkout.totals.tax == nil)
                #expect(checkout.totals.total == checkout.totals.subtotal)

                let id = checkout.id
                let token = try #require(checkout.token)
                let read = try await buyers.send(.GET, "/v1/checkouts/\(id)", headers: [("X-Checkout-Token", token)])
                #expect(read.status == 200)
                #expect(read.taxCalls == 0)
                #expect(read.object["token"] == nil)

                let early = try await buyers.complete(created, key: "too-early")
                #expect(early.status == 409)
                #expect(early.type == "shipping-address-required")

                let addressed = try await buyers.setAddress(created)
                #expect(addressed.status == 200, "\(addressed.text)")
                #expect(addressed.taxCalls == 1)
                #expect(addressed.inventoryCalls == 0)
                let totals = try addressed.decode(CheckoutBody.self).totals
                #expect(totals.taxStatus == "calculated")
                let tax = try #require(totals.tax)
                #expect(totals.total.amount == (totals.pricesIncludeTax ? totals.subtotal.amount : totals.subtotal.amount + tax.amount))

                let order = try await buyers.complete(created, key: "k")
                #expect(order.status == 201, "\(order.text)")
                #expect(order.inventoryCalls == 1)
                #expect(order.taxCalls == 0)
                // The process-wide counts at `/metrics` agree with the per-request headers.
                #expect(await Harness.metric(deps, #"mercato_external_calls_total{service="tax",operation="quote"}"#) == 1)
                #expect(await Harness.metric(deps, #"mercato_external_call_duration_seconds_count{service="tax",operation="quote",outcome="ok"}"#) == 1)
            }
        }
    }

    @Test("Cached availability: a sold-out variant is refused without calling inventory until stock changes")
    func cachedAvailability() async throws {
        try await Harness.withLiveApp(.sqlite) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 1)
                let first = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)])
                #expect(first.status == 201)
                #expect(first.inventoryCalls == 2)
                // The reservation decides (409) and the availability answer (0 left) is cached …
                let second = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)])
                #expect(second.status == 409)
                #expect(second.inventoryCalls == 2)
                // … so the next buyer is refused from the cache.
                let third = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)])
                #expect(third.status == 409)
                #expect(third.type == "insufficient-stock")
                #expect(third.inventoryCalls == 0)
                // A stock write invalidates it: the next buyer gets the new unit.
                let restock = try await buyers.send(
                    .PUT, "/v1/admin/variants/\(variant)/stock", headers: [("Authorization", "Bearer \(fixture.token)")], json: #"{"quantity": 1}"#)
                #expect(restock.status == 200)
                let fourth = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)])
                #expect(fourth.status == 201, "\(fourth.text)")
            }
        }
    }

    @Test("A checkout refreshes what shows its stock at once, and leaves other cached pages alone", arguments: Backend.available)
    func stockInvalidation(backend: Backend) async throws {
        try await Harness.withLiveApp(backend) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let store = "/v1/stores/\(fixture.slug)"
                let listing = try await buyers.send(.GET, "\(store)/products?limit=10&in_stock=true")
                let items = try #require(listing.object["items"] as? [[String: Any]])
                try #require(items.count >= 2)
                let bought = try #require(items[0]["id"] as? String), other = try #require(items[1]["id"] as? String)
                let boughtSlug = try #require(items[0]["slug"] as? String)
                // One product with a single unit left in all: buying it flips its in_stock flag.
                let detail = try await buyers.send(.GET, "\(store)/products/\(bought)")
                let variants = try #require(detail.object["variants"] as? [[String: Any]])
                for (index, variant) in variants.enumerated() {
                    let set = try await buyers.send(
                        .PUT, "/v1/admin/variants/\(try #require(variant["id"] as? String))/stock", headers: [("Authorization", "Bearer \(fixture.token)")],
                        json: #"{"quantity": \#(index == 0 ? 1 : 0)}"#)
                    #expect(set.status == 200)
                }
                let variant = try #require(variants[0]["id"] as? String)
                // Warm: both details (by id, and by slug twice: the first answer teaches the slug), the listing.
                for path in ["\(store)/products/\(bought)", "\(store)/products/\(other)", "\(store)/products/\(boughtSlug)", "\(store)/products/\(boughtSlug)",
                             "\(store)/products?limit=10&in_stock=true"] {
                    _ = try await buyers.send(.GET, path)
                }
                #expect(try await buyers.send(.GET, "\(store)/products/\(bought)").header("X-Mercato-Cache") == "hit")
                #expect(try await buyers.send(.GET, "\(store)/products/\(boughtSlug)").header("X-Mercato-Cache") == "hit")
                #expect(try await buyers.send(.GET, "\(store)/products?limit=10&in_stock=true").header("X-Mercato-Cache") == "hit")

                let checkout = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)])
                #expect(checkout.status == 201, "\(checkout.text)")

                // The bought product's detail shows 0 at once, by id and by slug, and stays cached: the new
                // level was pushed to the live facts that are filled into the cached bytes.
                for path in ["\(store)/products/\(bought)", "\(store)/products/\(boughtSlug)"] {
                    let after = try await buyers.send(.GET, path)
                    #expect(after.header("X-Mercato-Cache") == "hit", "\(path)")
                    let stock = (after.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant }?["stock"] as? Int
                    #expect(stock == 0, "\(path)")
                    #expect(after.object["in_stock"] as? Bool == false)
                }
                // The in-stock listing no longer lists it (its flag flipped).
                let refreshed = try await buyers.send(.GET, "\(store)/products?limit=10&in_stock=true")
                #expect(!(refreshed.object["items"] as? [[String: Any]] ?? []).contains { $0["id"] as? String == bought })
                // Another product's cached detail is untouched.
                #expect(try await buyers.send(.GET, "\(store)/products/\(other)").header("X-Mercato-Cache") == "hit")
            }
        }
    }

    @Test("Sequential flow: one availability call per line plus the reservation, tax at creation")
    func sequentialCounters() async throws {
        try await Harness.withLiveApp(.sqlite, checkout: CheckoutWiring(options: CheckoutOptions(mode: .sequential))) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let variants = try await buyers.variants(store: fixture.slug, token: fixture.token, count: 3, stock: 50)
                let created = try await buyers.createCheckout(store: fixture.slug, lines: variants.map { ($0, 1) })
                #expect(created.status == 201, "\(created.text)")
                #expect(created.inventoryCalls == 4)
                #expect(created.taxCalls == 1)
                let addressed = try await buyers.setAddress(created)
                #expect(addressed.taxCalls == 1)
            }
        }
    }

    /// The standard flow asks inventory for availability and the reservation at the same time; the sequential
    /// flow one call after another. Proven by overlap at the service (`Rendezvous`), not by timing, so a loaded
    /// machine cannot flip it; what the overlap saves in time is `mercato bench compare`'s to report.
    @Test("The standard flow's inventory calls overlap; the sequential flow's never do")
    func inventoryCallsOverlap() async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let fixture = try await Harness.seed(database)
            for mode in [CheckoutMode.standard, .sequential] {
                // A sequential call waits out the patience alone, so it stays below the call timeout; the
                // parallel calls are let in as soon as both are there.
                let rendezvous = Rendezvous(parties: 2, patience: mode == .standard ? .seconds(20) : .milliseconds(200))
                try await withInventoryService(database, rendezvous: rendezvous) { inventoryURL in
                    let wiring = CheckoutWiring(options: CheckoutOptions(mode: mode), inventoryURL: inventoryURL, callPolicy: CallPolicy(timeout: .seconds(30)))
                    try await Harness.serve(database, checkout: wiring) { base, _ in
                        try await Buyers.with(base) { buyers in
                            let lines = try await buyers.variants(store: fixture.slug, token: fixture.token, count: 3, stock: 100).map { ($0, 1) }
                            let reply = try await buyers.createCheckout(store: fixture.slug, lines: lines)
                            #expect(reply.status == 201, "\(reply.text)")
                            #expect(reply.inventoryCalls == (mode == .standard ? 2 : 4))
                        }
                    }
                }
                #expect(rendezvous.most == (mode == .standard ? 2 : 1), "\(mode): at most \(rendezvous.most) inventory calls in flight together")
            }
        }
    }

    @Test("Inventory service down: 503 with Retry-After, nothing reserved", arguments: [FaultInjection?.none, FaultInjection(failRate: 1)])
    func inventoryDown(faults: FaultInjection?) async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let fixture = try await Harness.seed(database)
            let run: @Sendable (String) async throws -> Void = { inventoryURL in
                let wiring = CheckoutWiring(inventoryURL: inventoryURL, callPolicy: CallPolicy(timeout: .seconds(2), retries: 1, backoff: .milliseconds(10)))
                try await Harness.serve(database, checkout: wiring) { base, _ in
                    try await Buyers.with(base) { buyers in
                        let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 7)
                        let reply = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 2)])
                        #expect(reply.status == 503, "\(reply.text)")
                        #expect(reply.type == "inventory-unavailable")
                        #expect(reply.header("Retry-After") == "1")
                        #expect(reply.header("Content-Type") == "application/problem+json")
                        #expect(try await Ledger.stock(database, variant: variant) == 7)
                        #expect(try await Ledger.reservations(database, merchant: fixture.merchants[0].id, status: "held") == 0)
                    }
                }
            }
            if let faults {
                try await withInventoryService(database, faults: faults, run)
            } else {
                // Nothing listens on port 9 (discard) on loopback here: the connection is refused.
                try await run("http://127.0.0.1:9")
            }
        }
    }

    /// A slow inventory service: the reservation call times out (503 to the buyer) but the service makes the
    /// reservation later. The release that follows, after the buyer was answered, gives the units back.
    @Test func aReservationThatTimedOutIsGivenBack() async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let fixture = try await Harness.seed(database)
            try await withInventoryService(database, faults: FaultInjection(latencyMillis: 600...600)) { inventoryURL in
                let wiring = CheckoutWiring(inventoryURL: inventoryURL, callPolicy: CallPolicy(timeout: .milliseconds(200), retries: 1, backoff: .milliseconds(10)))
                try await Harness.serve(database, checkout: wiring) { base, _ in
                    try await Buyers.with(base) { buyers in
                        let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 7)
                        let reply = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 2)])
                        #expect(reply.status == 503, "\(reply.text)")
                        #expect(reply.header("Retry-After") == "1")
                        // The service reserves 600 ms after each call, the release arrives after the reservation.
                        let settled = try await poll(timeout: .seconds(10)) {
                            let released = try await Ledger.reservations(database, merchant: fixture.merchants[0].id, status: "released")
                            let stock = try await Ledger.stock(database, variant: variant)
                            return released == 1 && stock == 7
                        }
                        #expect(settled != nil, "the reservation made after the timeout was not released")
                        #expect(try await Ledger.reservations(database, merchant: fixture.merchants[0].id, status: "held") == 0)
                    }
                }
            }
        }
    }

    @Test("An expired reservation gives its stock back and the checkout cannot complete", arguments: Backend.available)
    func expiry(backend: Backend) async throws {
        let wiring = CheckoutWiring(options: CheckoutOptions(reservationTTL: .seconds(600)), expiryInterval: .seconds(3600))
        try await Harness.withLiveApp(backend, checkout: wiring) { base, fixture, deps in
            try await Buyers.with(base) { buyers in
                let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 4)
                let checkout = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 3)])
                #expect(checkout.status == 201, "\(checkout.text)")
                #expect(try await Ledger.stock(fixture.database, variant: variant) == 1)
                #expect(try await buyers.setAddress(checkout).status == 200)
                // The storefront caches the product with the units held, so the read after the sweep can only
                // show them again if the sweep invalidated that entry.
                let productID = try #require((checkout.object["lines"] as? [[String: Any]])?.first?["product_id"] as? String)
                let detailPath = "/v1/stores/\(fixture.slug)/products/\(productID)"
                func stock(_ detail: HTTPAnswer) -> Int? {
                    (detail.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant }?["stock"] as? Int
                }
                _ = try await buyers.send(.GET, detailPath)
                let cached = try await buyers.send(.GET, detailPath)
                #expect(cached.header("X-Mercato-Cache") == "hit" && stock(cached) == 1, "\(cached.header("X-Mercato-Cache") ?? "-") \(stock(cached) ?? -1)")
                // The reservation's lifetime passes: moved into the past rather than waited for, since a loaded machine
                // can take longer than a short TTL between creating the checkout and the checks above.
                let merchant = fixture.merchants[0].id.sql
                try await fixture.database.execute("UPDATE reservations SET expires_at = 0 WHERE merchant_id = $1", merchant)
                try await fixture.database.execute("UPDATE checkouts SET reservation_expires_at = 0 WHERE merchant_id = $1", merchant)
                let sweeper = try #require(deps.checkoutParts.sweeper)
                // Only this merchant's: on a shared database an unscoped sweep would also release other tests' reservations.
                let released = try await sweeper.sweep(merchantID: fixture.merchants[0].id).count
                #expect(try await Ledger.reservations(fixture.database, merchant: fixture.merchants[0].id, status: "held") == 0)
                #expect(try await Ledger.reservations(fixture.database, merchant: fixture.merchants[0].id, status: "released") == 1)
                #expect(try await Ledger.stock(fixture.database, variant: variant) == 4)
                // The storefront sees the units again at once, from the same cached bytes: the sweep pushed the
                // released level. Without that push the cached product would still show 1. No other test's sweep
                // reaches this merchant (test instances sweep on no timer, and only their own merchant).
                #expect(released == 1)
                do {
                    let detail = try await buyers.send(.GET, detailPath)
                    #expect(detail.header("X-Mercato-Cache") == "hit")
                    #expect(stock(detail) == 4, "the sweep's released units are not shown")
                }

                let late = try await buyers.complete(checkout, key: "late")
                #expect(late.status == 409)
                #expect(late.type == "checkout-expired")
                let again = try await buyers.complete(checkout, key: "late")
                #expect(again.status == 409)
                #expect(again.body == late.body)
                #expect(try await Ledger.orders(fixture.database, merchant: fixture.merchants[0].id) == 0)
            }
        }
    }

    @Test("A product's tax class sets the rate its lines are taxed at")
    func taxClass() async throws {
        try await Harness.withLiveApp(.sqlite) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let auth = [("Authorization", "Bearer \(fixture.token)")]
                let bad = try await buyers.send(.POST, "/v1/admin/products", headers: auth, json: """
                    {"slug": "bad-book", "name": "Book", "tax_class": "luxury", "variants": [{"sku": "BB-1", "prices": [{"currency": "EUR", "amount": 2000}], "stock": 5}]}
                    """)
                #expect(bad.status == 422)
                #expect(bad.text.contains("tax_class"))
                let currencies = Set(fixture.merchants[0].markets.map(\.currency.code))
                let prices = currencies.map { #"{"currency": "\#($0)", "amount": 2000}"# }.joined(separator: ",")
                let created = try await buyers.send(.POST, "/v1/admin/products", headers: auth, json: """
                    {"slug": "a-book", "name": "A Book", "tax_class": "reduced", "variants": [{"sku": "BOOK-1", "prices": [\(prices)], "stock": 5}]}
                    """)
                #expect(created.status == 201, "\(created.text)")
                #expect(created.object["tax_class"] as? String == "reduced")
                let variant = try #require((created.object["variants"] as? [[String: Any]])?.first?["id"] as? String)
                let checkout = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)])
                #expect(checkout.status == 201, "\(checkout.text)")
                let market = try #require(checkout.object["market"] as? String)
                let addressed = try await buyers.setAddress(checkout)
                #expect(addressed.status == 200, "\(addressed.text)")
                let line = try #require((addressed.object["lines"] as? [[String: Any]])?.first)
                let rate = (line["tax"] as? [String: Any])?["rate_basis_points"] as? Int
                let expected = TaxCalculator.rate(.reduced, in: try #require(Market.named(market)))
                #expect(rate == expected, "market \(market)")
                // Patching the class changes the next checkout's rate.
                let productID = try #require(created.object["id"] as? String)
                let patched = try await buyers.send(.PATCH, "/v1/admin/products/\(productID)", headers: auth, json: #"{"tax_class": "zero"}"#)
                #expect(patched.object["tax_class"] as? String == "zero")
                let second = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)])
                let secondLine = try #require((try await buyers.setAddress(second).object["lines"] as? [[String: Any]])?.first)
                #expect((secondLine["tax"] as? [String: Any])?["rate_basis_points"] as? Int == 0)
            }
        }
    }

    @Test("Bad checkout input is a 4xx naming the field")
    func badInput() async throws {
        try await Harness.withLiveApp(.sqlite) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 3)
                let path = "/v1/stores/\(fixture.slug)/checkouts"
                let cases: [(String, Int, String)] = [
                    (#"{"email": "a@b.co", "lines": []}"#, 422, "lines"),
                    (#"{"email": "nope", "lines": [{"variant_id": "\#(variant)", "quantity": 1}]}"#, 422, "email"),
                    (#"{"email": "a@b.co", "lines": [{"variant_id": "\#(variant)", "quantity": 0}]}"#, 422, "quantity"),
                    (#"{"email": "a@b.co", "lines": [{"variant_id": "\#(variant)", "quantity": 1.5}]}"#, 422, "quantity"),
                    (#"{"email": "a@b.co", "lines": [{"variant_id": "x", "quantity": 1}]}"#, 422, "variant_id"),
                    (#"{"email": "a@b.co", "lines": [{"variant_id": "\#(UUID())", "quantity": 1}]}"#, 422, "not sold"),
                    (#"{"email": "a@b.co", "market": "ZZ", "lines": [{"variant_id": "\#(variant)", "quantity": 1}]}"#, 422, "market"),
                    (#"{"email": "a@b.co", "colour": "red", "lines": [{"variant_id": "\#(variant)", "quantity": 1}]}"#, 422, "colour"),
                    (#"{"email": "a@b.co", "lines": [{"variant_id": "\#(variant)", "quantity": 4}]}"#, 409, "requested 4, available 3"),
                    ("not json", 400, "JSON"),
                ]
                for (body, status, mention) in cases {
                    let reply = try await buyers.send(.POST, path, json: body)
                    #expect(reply.status.code == status, "\(body): \(reply.text)")
                    #expect(reply.text.contains(mention), "\(body): \(reply.text)")
                    #expect(reply.header("Content-Type") == "application/problem+json")
                }
                #expect(try await buyers.send(.POST, "/v1/stores/no-such-store/checkouts", json: #"{"email": "a@b.co", "lines": [{"variant_id": "\#(variant)", "quantity": 1}]}"#).status == 404)
                let checkout = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 1)])
                let id = try #require(checkout.object["id"] as? String), token = try #require(checkout.object["token"] as? String)
                let wrongCountry = try await buyers.send(
                    .PUT, "/v1/checkouts/\(id)/shipping-address", headers: [("X-Checkout-Token", token)],
                    json: #"{"name": "A", "line1": "B", "city": "C", "postal_code": "1", "country": "\#(checkout.object["market"] as? String == "US" ? "DE" : "US")"}"#)
                #expect(wrongCountry.status == 422, "\(wrongCountry.text)")
                let missing = try await buyers.send(
                    .PUT, "/v1/checkouts/\(id)/shipping-address", headers: [("X-Checkout-Token", token)], json: #"{"name": "A", "country": "DE"}"#)
                #expect(missing.status == 422, "\(missing.text)")
                #expect(try await buyers.send(.POST, "/v1/checkouts/\(id)/complete", headers: [("X-Checkout-Token", token)]).status == 400)
                #expect(try await buyers.send(.GET, "/v1/checkouts/not-an-id", headers: [("X-Checkout-Token", token)]).status == 404)
            }
        }
    }
}
