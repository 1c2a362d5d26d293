import Foundation

/// Where Mercato keeps its data in Redis: cache entries, generation counters and the invalidation channel,
/// all under one prefix. Deployments (or benchmark runs) sharing a Redis server under different prefixes
/// never see each other's entries, generations or invalidations.
public struct RedisKeyspace: Sendable, Equatable {
    /// Prepended to every key and channel name; `mercato:` unless `MERCATO_REDIS_PREFIX` says otherwise.
    public var prefix: String

    public init(prefix: String = "mercato:") {
        self.prefix = prefix
    }

    /// `MERCATO_REDIS_PREFIX` in `environment` (the default prefix when unset or empty).
    public init(environment: [String: String]) {
        self.init(prefix: environment["MERCATO_REDIS_PREFIX"].flatMap { $0.isEmpty ? nil : $0 } ?? "mercato:")
    }

    /// This process's keyspace. Read from the environment, so every command of one process (API server,
    /// inventory service) uses the same names without each passing them along.
    public static let current = RedisKeyspace(environment: ProcessInfo.processInfo.environment)

    /// Prefix of cached values: `<prefix>c:<key>`.
    public var cacheKeyPrefix: String { prefix + "c:" }

    /// The generation counter of `namespace`.
    public func generationKey(_ namespace: String) -> String { prefix + "gen:" + namespace }

    /// The pub/sub channel of invalidation events.
    public var invalidationChannel: String { prefix + "invalidations" }
}
