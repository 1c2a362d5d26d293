/// Where Mercato keeps its data in Redis: cache entries, generation counters and the invalidation channel,
/// all under one prefix. Deployments (or benchmark runs) sharing a Redis server under different prefixes
/// never see each other's entries, generations or invalidations.
public struct RedisKeyspace: Sendable, Equatable {
    /// Prepended to every key and channel name (`MERCATO_REDIS_PREFIX`, default `mercato:`).
    public var prefix: String

    public init(prefix: String = "mercato:") {
        self.prefix = prefix
    }

    /// Prefix of cached values: `<prefix>c:<key>`.
    public var cacheKeyPrefix: String { prefix + "c:" }

    /// The generation counter of `namespace`.
    public func generationKey(_ namespace: String) -> String { prefix + "gen:" + namespace }

    /// The pub/sub channel of invalidation events.
    public var invalidationChannel: String { prefix + "invalidations" }
}
