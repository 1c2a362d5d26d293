import MercatoCache
import MercatoCheckout
import MercatoEdge
import MercatoHTTP
import MercatoHTTPBoundary
import MercatoSQL

// Each option struct filled from the settings. A setting left unset keeps the struct's own default (the
// declarations in `MercatoSettings` take theirs from the same struct), so there is one default per knob.

extension ConnectionLimits {
    /// Idle and body timeouts and the connection limit (shared by the API server and the inventory and tax services).
    public init(settings: SettingsReader) throws(SettingError) {
        self.init(
            idleTimeout: try settings.value(MercatoSettings.idleTimeoutSeconds), bodyTimeout: try settings.value(MercatoSettings.bodyTimeoutSeconds),
            maxConnections: try settings.value(MercatoSettings.maxConnections))
    }
}

extension AdminWriteLimit {
    /// `MERCATO_ADMIN_WRITE_RATE` per second and `MERCATO_ADMIN_WRITE_BURST` at once; nil (no limit) at rate 0.
    public static func from(settings: SettingsReader) throws(SettingError) -> AdminWriteLimit? {
        let rate = try settings.value(MercatoSettings.adminWriteRate)
        guard rate > 0 else { return nil }
        return AdminWriteLimit(rate: rate, burst: Double(try settings.value(MercatoSettings.adminWriteBurst)))
    }
}

extension HTTPOptions {
    /// The API server's knobs; `MERCATO_ENV=production` hides the debug headers.
    public init(settings: SettingsReader) throws(SettingError) {
        let production = try settings.value(MercatoSettings.environment) == "production"
        self.init(
            maxBodyBytes: try settings.value(MercatoSettings.maxBodyBytes), exposeStatementCount: !production,
            serverTiming: try settings.value(MercatoSettings.serverTiming), serverTimingCacheTier: !production,
            metricsToken: try settings.value(MercatoSettings.metricsToken), connectionLimits: try ConnectionLimits(settings: settings),
            adminWriteLimit: try AdminWriteLimit.from(settings: settings))
    }
}

extension CacheOptions {
    /// The storefront cache and, with `REDIS_URL`, its shared tier.
    public init(settings: SettingsReader) throws(SettingError) {
        self.init(
            enabled: try settings.value(MercatoSettings.cache), nearCapacityBytes: try settings.value(MercatoSettings.nearCacheBytes),
            fresh: try settings.value(MercatoSettings.cacheTTL), stale: try settings.value(MercatoSettings.cacheStale),
            redisURL: try settings.value(MercatoSettings.redisURL), redisTimeout: try settings.value(MercatoSettings.redisTimeoutMs),
            redisKeyspace: RedisKeyspace(prefix: try settings.value(MercatoSettings.redisPrefix)))
    }
}

extension CheckoutWiring {
    /// Checkout's flow, limits and reservation TTL, and where inventory and tax live.
    public init(settings: SettingsReader) throws(SettingError) {
        self.init(
            options: CheckoutOptions(
                mode: CheckoutMode(rawValue: try settings.value(MercatoSettings.checkout)) ?? CheckoutOptions().mode,
                reservationTTL: try settings.value(MercatoSettings.reservationTTL),
                maxLines: try settings.value(MercatoSettings.checkoutMaxLines),
                maxQuantity: Int64(try settings.value(MercatoSettings.checkoutMaxQuantity))),
            inventoryURL: try settings.value(MercatoSettings.inventoryURL), taxURL: try settings.value(MercatoSettings.taxURL),
            callPolicy: CallPolicy(timeout: try settings.value(MercatoSettings.serviceTimeoutMs)))
        let rollup = try settings.value(MercatoSettings.salesRollupSeconds)
        salesRollupInterval = rollup > .zero ? rollup : nil
    }
}

extension PoolOptions {
    /// The PostgreSQL pool's size and lease deadline.
    public init(settings: SettingsReader) throws(SettingError) {
        self.init(size: try settings.value(MercatoSettings.dbPoolSize), leaseTimeout: try settings.value(MercatoSettings.dbLeaseTimeoutMs))
    }
}

extension ReplicaLimits {
    /// How far behind a replica may be, and how long a read after a write waits for one.
    public init(settings: SettingsReader) throws(SettingError) {
        self.init(
            maxLag: try settings.value(MercatoSettings.replicaMaxLagMs), maxLagBytes: UInt64(try settings.value(MercatoSettings.replicaMaxLagBytes)),
            fenceWait: try settings.value(MercatoSettings.replicaFenceWaitMs))
    }
}

extension EdgePurgeOptions {
    /// The edges to purge after each write, how long a write waits for them, and when purges are sent again.
    public init(settings: SettingsReader) throws(SettingError) {
        self.init(
            nodes: try settings.value(MercatoSettings.edgePurgeURLs), timeout: try settings.value(MercatoSettings.edgePurgeTimeoutMs),
            repurgeDelay: try settings.value(MercatoSettings.edgeRepurgeDelayMs), edgeTTL: try settings.value(MercatoSettings.edgeTTLSeconds))
    }
}
