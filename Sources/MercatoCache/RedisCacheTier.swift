import MercatoCore
import MercatoTelemetry
import NIOCore
import Tracing
import RedisClient

/// The Redis tier: pre-serialized values under `mercato:c:<key>` (see `RedisKeyspace`) with a TTL.
public struct RedisCacheTier: SharedCacheTier {
    let client: RedisClient
    let availability: RedisAvailability
    let prefix: String
    /// Told about every command (for metrics): name, duration, success.
    public var observer: (@Sendable (String, Duration, Bool) -> Void)?

    public init(client: RedisClient, availability: RedisAvailability, prefix: String = RedisKeyspace().cacheKeyPrefix) {
        self.client = client
        self.availability = availability
        self.prefix = prefix
    }

    public func get(_ key: String) async -> ByteBuffer? {
        guard availability.shouldTry() else { return nil }
        let started = ContinuousClock.now
        do {
            let value = try await TracingState.span("redis GET", ofKind: .client) { span in
                span.attributes["db.system"] = "redis"
                return try await RequestTimings.measure(.redis) { try await client.get(prefix + key) }
            }
            availability.succeeded()
            observer?("GET", ContinuousClock.now - started, true)
            return value
        } catch {
            availability.failed(error)
            observer?("GET", ContinuousClock.now - started, false)
            return nil
        }
    }

    public func set(_ key: String, _ value: ByteBuffer, ttl: Duration) async {
        guard availability.shouldTry() else { return }
        let started = ContinuousClock.now
        do {
            try await TracingState.span("redis SET", ofKind: .client) { span in
                span.attributes["db.system"] = "redis"
                try await RequestTimings.measure(.redis) { try await client.set(prefix + key, to: value, expiration: ttl) }
            }
            availability.succeeded()
            observer?("SET", ContinuousClock.now - started, true)
        } catch {
            availability.failed(error)
            observer?("SET", ContinuousClock.now - started, false)
        }
    }
}
