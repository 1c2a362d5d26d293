import Logging
import Metrics
import MercatoCache
import MercatoCatalog
import MercatoFences
import Redis
import ServiceLifecycle

/// How this instance learns of writes: generations, the bus writes publish on, and (with Redis) the
/// subscription that hears other instances'.
struct Invalidation: Sendable {
    let generations: any GenerationSource
    let bus: any InvalidationBus
    /// Other instances' invalidations over Redis pub/sub (nil: every write is in-process).
    let listener: InvalidationListener?

    /// In-process generations and bus: one instance, or caching off.
    static func inProcess(live: LiveAvailability) -> Invalidation {
        let local = GenerationMap()
        return Invalidation(generations: local, bus: InProcessInvalidationBus(generations: local, facts: live), listener: nil)
    }
}

/// The cache parts, built only when caching is on (`MERCATO_CACHE`): the storefront's near cache and,
/// with `REDIS_URL`, the shared tier with its invalidation over Redis.
struct CacheTiers: Sendable {
    let near: NearCache<CatalogResponse>
    /// Redis, shared by every instance (nil embedded).
    let sharedTier: RedisCacheTier?
    let invalidation: Invalidation

    /// Builds the tiers `options` asks for; `fences` learn other instances' writes from their invalidations.
    static func make(
        _ options: CacheOptions, live: LiveAvailability, fences: WriteFences?, logger: Logger, factory: any MetricsFactory
    ) throws -> CacheTiers {
        let near = NearCache<CatalogResponse>(
            capacityBytes: options.nearCapacityBytes, evictions: CacheMetrics.nearEvictions(cache: "storefront", factory: factory))
        guard let url = options.redisURL else {
            return CacheTiers(near: near, sharedTier: nil, invalidation: .inProcess(live: live))
        }
        var configuration = try RedisConfiguration(url: url)
        configuration.clientName = "mercato"
        // A cache that answers slowly is worse than none: fail fast and fall back to the database.
        configuration.commandTimeout = options.redisTimeout
        configuration.connectTimeout = .seconds(1)
        configuration.connectionWaitTimeout = options.redisTimeout
        configuration.maximumConnections = 16
        let client = RedisClient(configuration: configuration, logger: logger)
        let availability = RedisAvailability(logger: logger, metricsFactory: factory)
        let generations = SharedGenerations(
            client: client, availability: availability, logger: logger, keyspace: options.redisKeyspace, facts: live, metricsFactory: factory)
        let tier = RedisCacheTier(client: client, availability: availability, prefix: options.redisKeyspace.cacheKeyPrefix, metricsFactory: factory)
        // After a gap in the subscription, anything held may have missed an invalidation.
        let listener = InvalidationListener(configuration: configuration, generations: generations, logger: logger, fences: fences) {
            near.removeAll()
        }
        return CacheTiers(near: near, sharedTier: tier, invalidation: Invalidation(generations: generations, bus: generations, listener: listener))
    }
}
