import MercatoCore
import MercatoTelemetry
import Metrics
import NIOCore
import Tracing
import Redis
/// The Redis tier: pre-serialized values under `mercato:c:<key>` (see `RedisKeyspace`) with a TTL.
public struct RedisCacheTier: SharedCacheTier {
    let client: RedisClient
    let availability: RedisAvailability
    let prefix: String
    /// Command durations by command and outcome: `mercato_redis_command_duration_seconds{command,outcome}`.
    private let getOK, getError, setOK, setError: Timer

    /// `metricsFactory`: where command durations are recorded (by default nowhere).
    public init(
        client: RedisClient, availability: RedisAvailability, prefix: String = RedisKeyspace().cacheKeyPrefix,
        metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.client = client
        self.availability = availability
        self.prefix = prefix
        func timer(_ command: String, _ outcome: String) -> Timer {
            Timer(label: "mercato_redis_command_duration_seconds", dimensions: [("command", command), ("outcome", outcome)], factory: metricsFactory)
        }
        (getOK, getError, setOK, setError) = (timer("GET", "ok"), timer("GET", "error"), timer("SET", "ok"), timer("SET", "error"))
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
            getOK.record(duration: ContinuousClock.now - started)
            return value
        } catch {
            availability.failed(error)
            getError.record(duration: ContinuousClock.now - started)
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
            setOK.record(duration: ContinuousClock.now - started)
        } catch {
            availability.failed(error)
            setError.record(duration: ContinuousClock.now - started)
        }
    }
}
