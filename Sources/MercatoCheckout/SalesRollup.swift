import Foundation
import Logging
import MercatoCache
import MercatoCatalog
import MercatoCore
import MercatoJSON
import MercatoStorage
import MercatoTelemetry
import ServiceLifecycle
import MercatoCheckoutStore

/// Rolls placed orders into `products.sales_count` every few seconds, so bestselling listings follow
/// what sells, and invalidates only the bestselling order of the scopes the sold products are in.
///
/// Safe on every instance at once: `CheckoutStore.rollUpSales` claims orders under their flag in the
/// same transaction that counts them.
public struct SalesRollup: Service {
    let store: CheckoutStore
    let bus: any InvalidationBus
    let interval: Duration
    let logger: Logger
    let statements: BackgroundStatements

    /// The roll-up's SQL statements are counted in `statements` as `rollup`.
    public init(store: CheckoutStore, bus: any InvalidationBus, interval: Duration, logger: Logger, statements: BackgroundStatements = .uncounted) {
        self.statements = statements
        self.store = store
        self.bus = bus
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // Graceful shutdown cancels the loop, so a long interval never delays it. The first pass waits one
        // interval: a starting instance does not act on rows at once (tests on a shared database, each with a
        // long interval, run their passes themselves), and one interval is the delay the setting allows anyway.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    _ = try await statements.run(.rollup) { try await rollUpOnce() }
                } catch is CancellationError {
                    break  // shutdown cancelled a pass in flight: not a failure to retry
                } catch {
                    logger.warning("sales roll-up failed; retrying", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Counts every placed order not counted yet (in batches of 500); returns whose sales grew.
    @discardableResult
    public func rollUpOnce() async throws -> [MerchantID: Set<ProductID>] {
        var grown: [MerchantID: Set<ProductID>] = [:]
        while true {
            let rolled = try await store.rollUpSales(limit: 500) { linesJSON in
                try WireJSON.decoder.decode([CheckoutLine].self, from: Data(linesJSON.utf8)).compactMap { line in
                    ProductID(line.productId).map { ($0, line.quantity) }
                }
            }
            guard !rolled.isEmpty else { break }
            for (merchantID, rollUp) in rolled {
                grown[merchantID, default: []].formUnion(rollUp.products)
                guard let slug = try await store.merchantSlug(merchantID) else { continue }
                try await CatalogInvalidation(bus: bus).salesRolledUp(merchantSlug: slug, merchantID: merchantID, scopes: rollUp.scopes, counts: rollUp.counts)
            }
        }
        if !grown.isEmpty { logger.debug("rolled sales into bestselling order", metadata: ["merchants": "\(grown.count)"]) }
        return grown
    }
}
