import Foundation
import Logging
import Metrics
import MercatoCache
import MercatoCatalog
import MercatoCheckout
import MercatoCore
import MercatoInventory
import MercatoInventoryContract
import MercatoStorage
import MercatoTelemetry
import MercatoSQL
import NIOCore
import ServiceLifecycle
import MercatoCheckoutStore
import MercatoInventoryStore

/// How checkout reaches inventory and tax: in-process (embedded default) or over HTTP.
public struct CheckoutWiring: Sendable, Equatable {
    public var options: CheckoutOptions
    /// `INVENTORY_URL`: the inventory service; nil runs inventory (and its expiry sweeper) in-process.
    public var inventoryURL: String?
    /// `TAX_URL`: the tax service; nil computes tax in-process.
    public var taxURL: String?
    /// Timeout and retries of each inventory/tax call (`MERCATO_SERVICE_TIMEOUT_MS`).
    public var callPolicy: CallPolicy
    /// How often expired reservations are released when inventory runs in-process.
    public var expiryInterval: Duration
    /// How often placed orders roll into `sales_count` (`MERCATO_SALES_ROLLUP_SECONDS`; nil: never).
    public var salesRollupInterval: Duration? = .seconds(5)

    public init(
        options: CheckoutOptions = CheckoutOptions(), inventoryURL: String? = nil, taxURL: String? = nil, callPolicy: CallPolicy = CallPolicy(),
        expiryInterval: Duration = ReservationExpiry.standardInterval
    ) {
        self.options = options
        self.inventoryURL = inventoryURL
        self.taxURL = taxURL
        self.callPolicy = callPolicy
        self.expiryInterval = expiryInterval
    }

    /// Checkout's components over `database`; with `caches`, its pricing and availability caches.
    func make(
        database: any DatabaseClient, generations: any GenerationSource, bus: any InvalidationBus, caches: CacheTiers?, refresher: RefreshQueue,
        logger: Logger, metricsFactory: any MetricsFactory, statements: BackgroundStatements
    ) -> CheckoutComponents {
        let store = CheckoutStore(database: database)
        var services: [any Service] = []
        let rollup = salesRollupInterval.map { SalesRollup(store: store, bus: bus, interval: $0, logger: logger, statements: statements) }
        let inventory: any InventoryClient
        var sweeper: ReservationExpiry?
        if let inventoryURL {
            let http = ServiceHTTPClient(name: "inventory", baseURL: inventoryURL, policy: callPolicy)
            services.append(http)
            inventory = HTTPInventoryClient(http: http)
        } else {
            let inventoryStore = InventoryStore(database: database)
            inventory = LocalInventoryClient(store: inventoryStore)
            sweeper = ReservationExpiry(
                store: inventoryStore, interval: expiryInterval, logger: logger, statements: statements,
                onStockChange: StockChangePublisher(store: store, bus: bus, logger: logger).handler)
        }
        let tax: any TaxClient
        if let taxURL {
            let http = ServiceHTTPClient(name: "tax", baseURL: taxURL, policy: callPolicy)
            services.append(http)
            tax = HTTPTaxClient(http: http)
        } else {
            tax = LocalTaxClient()
        }
        let pricing = caches.map { _ in
            LayeredCache<CheckoutCatalog?>(
                near: NearCache(capacityBytes: 8 << 20), lifetimes: CacheLifetimes(fresh: .seconds(60), stale: .zero), refresher: refresher,
                cost: { 256 + ($0?.variants.count ?? 0) * 256 }, metrics: CacheMetrics(cache: "pricing", factory: metricsFactory))
        }
        let availability = caches.map { caches in
            LayeredCache<Int64>(
                near: NearCache(capacityBytes: 4 << 20), shared: caches.sharedTier.map { ($0, Int64Codec.codec) },
                lifetimes: CacheLifetimes(fresh: options.availabilityTTL, stale: .zero, earlyRefreshBeta: 0), refresher: refresher, cost: { _ in 160 },
                metrics: CacheMetrics(cache: "availability", factory: metricsFactory))
        }
        let service = CheckoutService(
            store: store, inventory: inventory, tax: tax, generations: generations, bus: bus, pricingCache: pricing,
            availabilityCache: availability, options: options, logger: logger, background: refresher, metricsFactory: metricsFactory)
        return CheckoutComponents(service: service, rollup: rollup, sweeper: sweeper, clients: services)
    }
}

/// Checkout and the parts that run beside it.
public struct CheckoutComponents: Sendable {
    public let service: CheckoutService
    /// Rolls placed orders into `sales_count` (nil: `MERCATO_SALES_ROLLUP_SECONDS=0`).
    public let rollup: SalesRollup?
    /// Releases expired reservations (nil when inventory is its own service, which sweeps).
    public let sweeper: ReservationExpiry?
    /// HTTP clients of the inventory and tax services.
    let clients: [any Service]

    /// Everything here that must run under the application's ServiceGroup.
    var services: [any Service] { clients + [rollup as (any Service)?, sweeper].compactMap { $0 } }
}

/// Availability figures in the shared tier: the decimal number as bytes.
enum Int64Codec {
    static let codec = ValueCodec<Int64>(
        encode: { ByteBuffer(string: String($0)) },
        decode: { Int64(String(buffer: $0)) })
}
