import Dispatch
import Synchronization

/// How many admin writes one merchant may make per instance: `rate` per second sustained, `burst` at once.
public struct AdminWriteLimit: Sendable, Equatable {
    public var rate: Double
    public var burst: Double

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// 50 writes per second, 200 at once: a merchant's bulk price update at full speed fits, one merchant's
    /// runaway script cannot take the database and the invalidation channel from the others.
    public static let standard = AdminWriteLimit(rate: 50, burst: 200)
}

/// A token bucket: pure state, time passed in (nanoseconds on any monotonic clock), so it is tested
/// without sleeping.
///
/// Invariant: `tokens` stays within `0...burst`; a write is allowed exactly when a whole token is there,
/// and the wait it is told otherwise is the time until one will be.
struct TokenBucket: Sendable, Equatable {
    private(set) var tokens: Double
    private var updated: UInt64

    init(limit: AdminWriteLimit, now: UInt64) {
        tokens = limit.burst
        updated = now
    }

    /// Takes a token if there is one; otherwise the seconds until there will be.
    mutating func take(limit: AdminWriteLimit, now: UInt64) -> TakeResult {
        refill(limit: limit, now: now)
        if tokens >= 1 {
            tokens -= 1
            return .allowed
        }
        return .wait(seconds: (1 - tokens) / limit.rate)
    }

    /// True when the bucket is full again at `now`: forgetting it changes nothing.
    func isFull(limit: AdminWriteLimit, now: UInt64) -> Bool {
        var copy = self
        copy.refill(limit: limit, now: now)
        return copy.tokens >= limit.burst
    }

    private mutating func refill(limit: AdminWriteLimit, now: UInt64) {
        // A clock that went back (it must not, but a test can say so) adds nothing.
        let elapsed = now > updated ? Double(now - updated) / 1e9 : 0
        tokens = min(limit.burst, tokens + elapsed * limit.rate)
        updated = max(updated, now)
    }

    enum TakeResult: Equatable {
        case allowed
        case wait(seconds: Double)
    }
}

/// One bucket per merchant. Limits are per instance: behind a load balancer with n instances, a merchant
/// may write up to n times the rate.
final class AdminWriteLimiter: Sendable {
    let limit: AdminWriteLimit
    private let now: @Sendable () -> UInt64
    private let buckets = Mutex<[String: TokenBucket]>([:])
    /// Past this many merchants held, full buckets are dropped (they carry no information).
    static let pruneAbove = 10_000

    init(limit: AdminWriteLimit, now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.limit = limit
        self.now = now
    }

    /// Takes one write of `merchant`'s allowance, or says how long to wait.
    func take(merchant: String) -> TokenBucket.TakeResult {
        let now = now()
        return buckets.withLock { buckets in
            if buckets.count > Self.pruneAbove { buckets = buckets.filter { !$0.value.isFull(limit: limit, now: now) } }
            var bucket = buckets[merchant] ?? TokenBucket(limit: limit, now: now)
            let result = bucket.take(limit: limit, now: now)
            buckets[merchant] = bucket
            return result
        }
    }
}
