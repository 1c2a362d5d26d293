import Logging
import MercatoCache
import MercatoCatalog
import MercatoCheckoutStore
import MercatoCore
import MercatoInventoryContract

/// Publishes what stock moved outside a merchant's own write invalidates: checkout's holds and releases,
/// the expiry sweeper, the inventory service. A failed publish is logged, never thrown: the stock change
/// already happened, and the caches' TTL bounds what a lost invalidation leaves behind.
public struct StockChangePublisher: Sendable {
    let store: CheckoutStore
    let bus: any InvalidationBus
    let logger: Logger

    public init(store: CheckoutStore, bus: any InvalidationBus, logger: Logger) {
        self.store = store
        self.bus = bus
        self.logger = logger
    }

    /// Invalidates the details and availability of the products `change` names, and listings when an
    /// `in_stock` flag may have flipped (in-process, or across instances through Redis).
    public func publish(slug: String, merchantID: MerchantID, change: StockChange) async {
        do {
            try await CatalogInvalidation(bus: bus).stockMoved(merchantSlug: slug, merchantID: merchantID, change: change)
        } catch {
            logger.warning("could not publish a stock invalidation", metadata: ["merchant": "\(slug)", "error": "\(error)"])
        }
    }

    /// As `publish(slug:merchantID:change:)`, looking the merchant's slug up first.
    public func publish(merchantID: MerchantID, change: StockChange) async {
        guard !change.isEmpty else { return }
        do {
            guard let slug = try await store.merchantSlug(merchantID) else { return }
            await publish(slug: slug, merchantID: merchantID, change: change)
        } catch {
            logger.warning("could not publish a stock invalidation", metadata: ["merchant": "\(merchantID)", "error": "\(error)"])
        }
    }

    /// The callback the inventory routes and the sweeper take.
    public var handler: StockChangeHandler {
        { merchantID, change in await publish(merchantID: merchantID, change: change) }
    }
}
