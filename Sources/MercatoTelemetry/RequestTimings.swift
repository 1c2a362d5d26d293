import Synchronization

/// Where one request spent its time (for `Server-Timing` and logs): summed per kind, so parallel calls
/// add up to more than the wall time they took.
public final class RequestTimings: Sendable {
    /// Kinds of time a request can spend.
    public enum Kind: Int, Sendable, CaseIterable {
        case database, redis, external

        /// The `Server-Timing` metric name.
        public var metricName: String {
            switch self {
            case .database: "db"
            case .redis: "redis"
            case .external: "ext"
            }
        }
    }

    private let database = Atomic<Int>(0)
    private let redis = Atomic<Int>(0)
    private let external = Atomic<Int>(0)
    private let outcome = Mutex<String?>(nil)

    public init() {}

    /// The timings of the request being served, if any.
    @TaskLocal public static var current: RequestTimings?

    public func add(_ kind: Kind, nanoseconds: Int) {
        switch kind {
        case .database: database.add(nanoseconds, ordering: .relaxed)
        case .redis: redis.add(nanoseconds, ordering: .relaxed)
        case .external: external.add(nanoseconds, ordering: .relaxed)
        }
    }

    public func nanoseconds(_ kind: Kind) -> Int {
        switch kind {
        case .database: database.load(ordering: .relaxed)
        case .redis: redis.load(ordering: .relaxed)
        case .external: external.load(ordering: .relaxed)
        }
    }

    /// Which cache tier answered (`hit`, `miss`, …), when a cache was asked.
    public var cacheOutcome: String? {
        get { outcome.withLock { $0 } }
        set { outcome.withLock { $0 = newValue } }
    }

    /// Times `body` and adds it to the current request's `kind`.
    @discardableResult
    public static func measure<T>(_ kind: Kind, _ body: () async throws -> T) async rethrows -> T {
        guard let current else { return try await body() }
        let started = ContinuousClock.now
        defer {
            let (seconds, attoseconds) = (ContinuousClock.now - started).components
            current.add(kind, nanoseconds: Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        }
        return try await body()
    }
}
