import Logging
import MercatoCache
@testable import MercatoCheckout
import MercatoCheckoutStore
import MercatoInventoryStore
import MercatoStorage
import MercatoTaxContract
import MetricsTestKit
import Testing

/// Checkout counts and times its calls to the inventory and tax services through swift-metrics: here into a
/// `TestMetrics` factory, as the server does into its Prometheus one.
@Suite("External call metrics")
struct ExternalCallMetricsTests {
    @Test func callsAreCountedByKindAndTimedByOutcome() async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let metrics = TestMetrics()
            let generations = GenerationMap()
            let checkout = CheckoutService(
                store: CheckoutStore(database: database), inventory: LocalInventoryClient(store: InventoryStore(database: database)),
                tax: LocalTaxClient(), generations: generations, bus: InProcessInvalidationBus(generations: generations), pricingCache: nil,
                availabilityCache: nil, options: CheckoutOptions(), logger: Harness.logger, metricsFactory: metrics)
            let lines = [TaxableLine(id: "a", unitPrice: 1_000, quantity: 2)]
            // Two quotes the tax service answers, one it refuses (no such country), one that never reaches it.
            for _ in 0..<2 { _ = try await checkout.call(.tax) { try await checkout.tax.quote(country: "DE", lines: lines) } }
            await #expect(throws: (any Error).self) { _ = try await checkout.call(.tax) { try await checkout.tax.quote(country: "XX", lines: lines) } }
            await #expect(throws: DependencyError.self) {
                try await checkout.call(.reserve) { throw DependencyError.unavailable(service: "inventory", detail: "refused") }
            }
            func calls(_ service: String, _ operation: String) throws -> Int64 {
                try metrics.expectCounter("mercato_external_calls_total", [("service", service), ("operation", operation)]).totalValue
            }
            func timed(_ service: String, _ operation: String, _ outcome: String) -> Int {
                metrics.timers(label: "mercato_external_call_duration_seconds", dimensions: [("service", service), ("operation", operation), ("outcome", outcome)])
                    .reduce(0) { $0 + $1.values.count }
            }
            #expect(try calls("tax", "quote") == 3)
            #expect(try calls("inventory", "reserve") == 1)
            #expect(try calls("inventory", "availability") == 0, "every kind is exported from the start, at 0")
            #expect(timed("tax", "quote", "ok") == 2 && timed("tax", "quote", "refused") == 1)
            #expect(timed("inventory", "reserve", "unavailable") == 1)
        }
    }
}
