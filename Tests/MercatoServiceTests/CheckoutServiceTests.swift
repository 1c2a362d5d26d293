import Foundation
import MercatoAdmin
import MercatoCache
import MercatoCatalog
import MercatoCheckout
import MercatoCore
import MercatoSQL
import MercatoStorage
import Testing
import MercatoCheckoutStore
import MercatoInventoryStore
import MercatoCatalogStore

/// The checkout's rules, on the service itself: inventory, tax and the invalidation bus are fakes that
/// record every call, the store is the embedded SQLite database. No HTTP, no network, no clock waits.
@Suite("Checkout service, with fake inventory, tax and bus")
struct CheckoutServiceTests {
    struct World {
        var service: CheckoutService
        var inventory: FakeInventory
        var tax: FakeTax
        var bus: RecordingBus
        var merchant: Merchant
        var product: ProductID
        var variants: [VariantID]

        func cart(_ quantities: Int64...) -> NewCheckout {
            NewCheckout(email: "buyer@example.com", market: nil, lines: zip(variants, quantities).map { CartLine(variantID: $0, quantity: $1) })
        }

        var address: ShippingAddress {
            ShippingAddress(
                name: "Ada", line1: "Hauptstr. 1", line2: nil, city: "Berlin", region: nil, postalCode: "10115",
                country: merchant.defaultMarket.code.lowercased())
        }
    }

    /// A merchant with one product of two variants (5 units each, priced in its default currency).
    static func withWorld(mode: CheckoutMode = .standard, _ body: @Sendable (World) async throws -> Void) async throws {
        try await ServiceFixture.withMerchant { database, merchant in
            let bus = RecordingBus()
            let admin = AdminService(writer: CatalogWriter(database: database), bus: bus)
            let currency = merchant.defaultMarket.currency
            let product = try await admin.createProduct(merchant, ProductDraft(
                slug: "mug", name: "Mug", description: "", images: [], position: 0, status: .active, categoryIDs: [],
                variants: [
                    VariantDraft(sku: "MUG-S", options: [VariantOption(name: "size", value: "S")], prices: [Money(currency: currency, amount: 1000)], stock: 5),
                    VariantDraft(sku: "MUG-L", options: [VariantOption(name: "size", value: "L")], prices: [Money(currency: currency, amount: 1500)], stock: 5),
                ]))
            let inventory = FakeInventory()
            for variant in product.variants { inventory.stock(variant.id, product: product.id, units: 5) }
            bus.clear()
            let tax = FakeTax()
            let service = CheckoutService(
                store: CheckoutStore(database: database), inventory: inventory, tax: tax, generations: GenerationMap(), bus: bus,
                pricingCache: nil, availabilityCache: nil, options: CheckoutOptions(mode: mode), logger: ServiceFixture.logger)
            try await body(World(
                service: service, inventory: inventory, tax: tax, bus: bus, merchant: merchant, product: product.id, variants: product.variants.map(\.id)))
        }
    }

    @Test func creationReservesOnceAndAsksNoTaxUntilAnAddressExists() async throws {
        try await Self.withWorld { world in
            let created = try await world.service.create(merchantSlug: world.merchant.slug, group: .public, world.cart(2, 1))
            #expect(created.checkout.status == .open)
            #expect(created.checkout.lines.map(\.quantity) == [2, 1])
            #expect(created.checkout.subtotal == 2 * 1000 + 1500)
            #expect(created.checkout.tax == nil)
            #expect(!created.token.isEmpty)

            let key = "co_\(created.checkout.id)"
            // Uncached: one batch availability call beside the reservation, never one per line.
            #expect(world.inventory.calls == [
                .availability(world.variants),
                .reserve(key: key, lines: [ReservationLine(variantID: world.variants[0], quantity: 2), ReservationLine(variantID: world.variants[1], quantity: 1)]),
            ] || world.inventory.calls == [
                .reserve(key: key, lines: [ReservationLine(variantID: world.variants[0], quantity: 2), ReservationLine(variantID: world.variants[1], quantity: 1)]),
                .availability(world.variants),
            ])
            #expect(world.tax.countries.withLock { $0 }.isEmpty)
            // The stock movement went out: levels pushed, the product's availability invalidated.
            #expect(world.bus.facts.withLock { $0 }.map(\.value).sorted() == [3, 4])
            #expect(world.bus.namespaces == [CacheNamespace.stock(world.merchant.slug, world.product)])
        }
    }

    @Test func theAddressBringsTheOnlyTaxCallAndCompletionCommitsOnce() async throws {
        try await Self.withWorld { world in
            let created = try await world.service.create(merchantSlug: world.merchant.slug, group: .public, world.cart(1, 1))
            let id = created.checkout.id
            let priced = try await world.service.setShippingAddress(id, token: created.token, world.address)
            #expect(world.tax.countries.withLock { $0 } == [world.merchant.defaultMarket.code])
            #expect(priced.shippingAddress?.country == world.merchant.defaultMarket.code)
            #expect(priced.tax?.tax == 250)
            #expect(priced.total == 2750)

            let request = try CompletionRequest(idempotencyKey: "k-1", body: Data())
            let first = try await world.service.complete(id, token: created.token, request)
            #expect(first.status == 201)
            #expect(!first.replayed)
            let again = try await world.service.complete(id, token: created.token, request)
            #expect(again.status == 201 && again.body == first.body && again.replayed)
            #expect(world.inventory.calls.filter { if case .commit = $0 { true } else { false } } == [.commit("co_\(id)")])

            // The order reads back as it was answered.
            let order = try JSONSerialization.jsonObject(with: Data(first.body)) as? [String: Any]
            let rawID = try #require(order?["id"] as? String)
            let orderID = try #require(OrderID(rawID))
            let placed = try await world.service.order(orderID, token: created.token)
            #expect(placed.checkout.id == id)
            let rendered = try CheckoutRenderer.order(placed)
            #expect(rendered == first.body)

            // Another body under the same key is refused, and nothing more is committed.
            await #expect(throws: CheckoutError.idempotencyKeyReused) {
                try await world.service.complete(id, token: created.token, try CompletionRequest(idempotencyKey: "k-1", body: Data(#"{"note":"x"}"#.utf8)))
            }
            await #expect(throws: CheckoutError.alreadyCompleted(orderID)) {
                try await world.service.complete(id, token: created.token, try CompletionRequest(idempotencyKey: "k-2", body: Data()))
            }
            #expect(world.inventory.calls.count { if case .commit = $0 { true } else { false } } == 1)
        }
    }

    @Test func completionBeforeAnAddressIsRefusedWithoutCallingAnyone() async throws {
        try await Self.withWorld { world in
            let created = try await world.service.create(merchantSlug: world.merchant.slug, group: .public, world.cart(1))
            let before = world.inventory.calls.count
            await #expect(throws: CheckoutError.addressRequired) {
                try await world.service.complete(created.checkout.id, token: created.token, try CompletionRequest(idempotencyKey: "k", body: Data()))
            }
            #expect(world.inventory.calls.count == before)
            #expect(world.tax.countries.withLock { $0 }.isEmpty)
        }
    }

    @Test func anAddressInAnotherMarketAsksNoTax() async throws {
        try await Self.withWorld { world in
            let created = try await world.service.create(merchantSlug: world.merchant.slug, group: .public, world.cart(1))
            var elsewhere = world.address
            elsewhere.country = world.merchant.defaultMarket.code == "US" ? "DE" : "US"
            await #expect(throws: CheckoutError.countryMismatch(expected: world.merchant.defaultMarket.code, got: elsewhere.country)) {
                try await world.service.setShippingAddress(created.checkout.id, token: created.token, elsewhere)
            }
            #expect(world.tax.countries.withLock { $0 }.isEmpty)
        }
    }

    @Test func aWrongTokenReadsAsNoSuchCheckout() async throws {
        try await Self.withWorld { world in
            let created = try await world.service.create(merchantSlug: world.merchant.slug, group: .public, world.cart(1))
            await #expect(throws: MercatoError.notFound("no checkout \(created.checkout.id)")) {
                try await world.service.checkout(created.checkout.id, token: "not-the-token")
            }
            #expect(try await world.service.checkout(created.checkout.id, token: created.token) == created.checkout)
        }
    }

    @Test func aReservationWithAnUnknownOutcomeIsReleasedAndNothingIsStored() async throws {
        try await Self.withWorld { world in
            world.inventory.failNextReserve(with: DependencyError.unavailable(service: "inventory", detail: "timed out"))
            await #expect(throws: DependencyError.unavailable(service: "inventory", detail: "timed out")) {
                try await world.service.create(merchantSlug: world.merchant.slug, group: .public, world.cart(1))
            }
            // The reserve may have landed before the timeout: it is released by its key.
            let reserveKey = try #require(world.inventory.calls.compactMap { call -> String? in
                if case .reserve(let key, _) = call { key } else { nil }
            }.first)
            #expect(world.inventory.calls.contains(.release(reserveKey)))
            #expect(world.bus.events.withLock { $0 }.isEmpty)
        }
    }

    @Test func tooFewUnitsIsAConflictAndHoldsNothing() async throws {
        try await Self.withWorld { world in
            await #expect(throws: InventoryError.insufficientStock([(world.variants[0], 6, 5)])) {
                try await world.service.create(merchantSlug: world.merchant.slug, group: .public, world.cart(6))
            }
            #expect(world.inventory.units(world.variants[0]) == 5)
            #expect(world.bus.facts.withLock { $0 }.isEmpty)
        }
    }

    @Test func theLimitsApplyBeforeAnyCall() async throws {
        try await Self.withWorld { world in
            var many = world.cart(1)
            many.lines = Array(repeating: CartLine(variantID: world.variants[0], quantity: 1), count: 26)
            await #expect(throws: MercatoError.validation(field: "lines", message: "'lines' must hold 1–25 lines")) {
                try await world.service.create(merchantSlug: world.merchant.slug, group: .public, many)
            }
            // A variant repeated across lines counts once: 60 + 60 units passes each line but not the sum.
            var split = world.cart(60)
            split.lines.append(CartLine(variantID: world.variants[0], quantity: 60))
            await #expect(throws: MercatoError.validation(field: "lines[1].quantity", message: "at most 100 units of one variant per checkout")) {
                try await world.service.create(merchantSlug: world.merchant.slug, group: .public, split)
            }
            #expect(world.inventory.calls.isEmpty)
        }
    }

    @Test func theSequentialFlowCallsPerLineAndQuotesTaxUpFront() async throws {
        try await Self.withWorld(mode: .sequential) { world in
            _ = try await world.service.create(merchantSlug: world.merchant.slug, group: .public, world.cart(1, 1))
            let calls = world.inventory.calls
            #expect(calls.prefix(2) == [.availability([world.variants[0]]), .availability([world.variants[1]])])
            #expect(calls.count == 3)
            #expect(world.tax.countries.withLock { $0 } == [world.merchant.defaultMarket.code])
        }
    }
}
