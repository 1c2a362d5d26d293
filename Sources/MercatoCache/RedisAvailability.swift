import Metrics
import Logging
import Synchronization

/// Tracks whether Redis answers. After a failure the tier is skipped for a short, growing pause
/// instead of making every request wait for a timeout; the outage is logged once when it starts and
/// once when it ends, and counted (outages, failed calls, calls skipped while paused) into `metricsFactory`.
public final class RedisAvailability: Sendable {
    private struct State {
        var downUntil: ContinuousClock.Instant?
        var pause: Duration = .milliseconds(250)
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let maximumPause: Duration
    private let outages: Counter
    private let failures: Counter
    private let skipped: Counter

    public init(logger: Logger, maximumPause: Duration = .seconds(5), metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.logger = logger
        self.maximumPause = maximumPause
        outages = Counter(label: "mercato_redis_outages_total", factory: metricsFactory)
        failures = Counter(label: "mercato_redis_failures_total", factory: metricsFactory)
        skipped = Counter(label: "mercato_redis_skipped_total", factory: metricsFactory)
    }

    /// Whether a call should be attempted now (false while paused after a failure).
    public func shouldTry() -> Bool {
        let paused = state.withLock { state in
            guard let until = state.downUntil else { return false }
            return ContinuousClock.now < until
        }
        if paused { skipped.increment() }
        return !paused
    }

    public func succeeded() {
        let recovered = state.withLock { state -> Bool in
            guard state.downUntil != nil else { return false }
            state.downUntil = nil
            state.pause = .milliseconds(250)
            return true
        }
        if recovered { logger.notice("Redis is reachable again; shared cache tier resumed") }
    }

    public func failed(_ error: any Error) {
        let started = state.withLock { state -> Bool in
            let wasUp = state.downUntil == nil
            if !wasUp { state.pause = min(state.pause * 2, maximumPause) }
            state.downUntil = ContinuousClock.now + state.pause
            return wasUp
        }
        failures.increment()
        if started {
            outages.increment()
            logger.warning("Redis is unavailable; serving from the near cache and the database", metadata: ["error": "\(error)"])
        }
    }
}
