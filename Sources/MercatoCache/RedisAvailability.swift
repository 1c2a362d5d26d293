import Logging
import Synchronization

/// Tracks whether Redis answers. After a failure the tier is skipped for a short, growing pause
/// instead of making every request wait for a timeout; the outage is logged once when it starts and
/// once when it ends, and counted.
public final class RedisAvailability: Sendable {
    private struct State {
        var downUntil: ContinuousClock.Instant?
        var pause: Duration = .milliseconds(250)
        var outages = 0
        var failures = 0
        var skipped = 0
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let maximumPause: Duration

    public init(logger: Logger, maximumPause: Duration = .seconds(5)) {
        self.logger = logger
        self.maximumPause = maximumPause
    }

    /// Whether a call should be attempted now (false while paused after a failure).
    public func shouldTry() -> Bool {
        state.withLock { state in
            guard let until = state.downUntil, ContinuousClock.now < until else { return true }
            state.skipped += 1
            return false
        }
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
            state.failures += 1
            let wasUp = state.downUntil == nil
            if wasUp { state.outages += 1 } else { state.pause = min(state.pause * 2, maximumPause) }
            state.downUntil = ContinuousClock.now + state.pause
            return wasUp
        }
        if started {
            logger.warning("Redis is unavailable; serving from the near cache and the database", metadata: ["error": "\(error)"])
        }
    }

    /// Outages seen, failed calls, and calls skipped while paused.
    public var counts: (outages: Int, failures: Int, skipped: Int) {
        state.withLock { ($0.outages, $0.failures, $0.skipped) }
    }
}
