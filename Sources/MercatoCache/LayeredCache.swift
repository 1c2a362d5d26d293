import Foundation
import Synchronization

/// Lifetimes of cached values.
public struct CacheLifetimes: Sendable {
    /// How long a value is served without question (a safety net: invalidation is event-driven).
    public var fresh: Duration
    /// How much longer it may be served while one refresh runs.
    public var stale: Duration
    /// XFetch β: how eagerly hot entries refresh before they expire (1 is the paper's default).
    public var earlyRefreshBeta: Double

    public init(fresh: Duration, stale: Duration, earlyRefreshBeta: Double = 1) {
        self.fresh = fresh
        self.stale = stale
        self.earlyRefreshBeta = earlyRefreshBeta
    }
}

/// Where a value came from.
public enum CacheOutcome: String, Sendable {
    /// Near cache, fresh.
    case hit
    /// Near cache, past its fresh lifetime; a refresh was scheduled.
    case stale
    /// Shared tier (Redis).
    case shared
    /// Loaded from the source (database).
    case miss
    /// Waited for another request's load of the same key.
    case coalesced
    /// Caching is off.
    case bypass

    /// The value was loaded from the source for this request (or for one it waited on) just now.
    public var isFreshLoad: Bool { self == .miss || self == .coalesced || self == .bypass }
}

/// What a check of a held value found (see `LayeredCache.value(for:family:validity:load:)`).
public enum Validity: Sendable {
    /// The value is current.
    case valid
    /// A newer value exists, but this one may still be served while one refresh loads it: for values whose
    /// source is itself updated asynchronously (the bestselling order follows orders in batches), so no
    /// reader was promised the newer one yet.
    case behind
    /// A write made the value wrong: it must not be served.
    case invalid
}

/// Read-through cache: near cache, else one load per key per instance (concurrent misses wait for it).
/// Hot entries refresh early (XFetch) and stale ones are served while a single refresh runs.
public final class LayeredCache<Value: Sendable>: Sendable {
    private let near: NearCache<Value>
    private let shared: (tier: any SharedCacheTier, codec: ValueCodec<Value>)?
    private let lifetimes: CacheLifetimes
    private let cost: @Sendable (Value) -> Int
    private let refresher: RefreshQueue
    private let inflight = Mutex<[String: [CheckedContinuation<(Value, CacheOutcome)?, any Error>]]>([:])
    /// Lookups by the tier that answered, loads, refreshes, misses by cause.
    let metrics: CacheMetrics
    private let ledger = MissLedger()

    /// Monotonic nanoseconds: lifetimes are measured on it (tests pass a clock they move by hand).
    private let clock: @Sendable () -> UInt64

    /// `shared`: the Redis tier and how values are stored there (nil: near cache only). `metrics`: where lookups are
    /// counted (by default nowhere).
    public init(
        near: NearCache<Value>, shared: (tier: any SharedCacheTier, codec: ValueCodec<Value>)? = nil, lifetimes: CacheLifetimes,
        refresher: RefreshQueue, cost: @escaping @Sendable (Value) -> Int, metrics: CacheMetrics = CacheMetrics(),
        clock: @escaping @Sendable () -> UInt64 = LayeredCache.uptime
    ) {
        self.metrics = metrics
        self.clock = clock
        self.near = near
        self.shared = shared
        self.lifetimes = lifetimes
        self.refresher = refresher
        self.cost = cost
    }

    /// The value for `key`, loading it with `load` on a miss (see the string form below).
    public func value(
        for key: CacheKey, validity: (@Sendable (Value) -> Validity)? = nil, load: @escaping @Sendable () async throws -> Value
    ) async throws -> (Value, CacheOutcome) {
        try await value(for: key.text, family: { key.family }, validity: validity, load: load)
    }

    /// The fresh cached value for `key` from either tier, without loading it on a miss.
    public func cachedValue(for key: CacheKey) async -> Value? {
        await cachedValue(for: key.text)
    }

    /// Stores a value loaded elsewhere (e.g. one batch call that answered many keys) in both tiers.
    public func store(_ key: CacheKey, _ value: Value) async {
        await store(key.text, value)
    }

    /// The value for `key`, loading it with `load` on a miss. `key` must contain every input of the
    /// value, including the generation read before calling (see `GenerationMap`): callers outside this
    /// module build it as a `CacheKey`, which cannot leave the generation out. `family` gives the key
    /// without its generations (asked for on a miss only), so misses can be counted by cause (`MissCause`).
    /// `validity` checks a held value that a write may have made wrong without changing the key: `.invalid`
    /// is counted as an invalidated miss and loaded again; `.behind` is served as stale while one refresh runs.
    func value(
        for key: String, family: (@Sendable () -> String)? = nil, validity: (@Sendable (Value) -> Validity)? = nil,
        load: @escaping @Sendable () async throws -> Value
    ) async throws -> (Value, CacheOutcome) {
        let now = clock()
        var (found, entry) = near.lookup(key, now: now)
        if let validity {
            switch found {
            case .fresh(let value), .stale(let value):
                switch validity(value) {
                case .valid: break
                case .behind: found = .stale(value)
                case .invalid: found = .miss
                }
            case .miss: break
            }
        }
        switch found {
        case .fresh(let value):
            metrics.nearHits.increment()
            if let entry, shouldRefreshEarly(entry, now: now) { scheduleRefresh(key, load) }
            return (value, .hit)
        case .stale(let value):
            metrics.nearStale.increment()
            scheduleRefresh(key, load)
            return (value, .stale)
        case .miss:
            return try await loadCoalesced(key, family: family, validity: validity, load)
        }
    }

    func cachedValue(for key: String) async -> Value? {
        if case .fresh(let value) = near.lookup(key, now: clock()).0 {
            metrics.nearHits.increment()
            return value
        }
        if let value = await sharedValue(key) {
            metrics.sharedHits.increment()
            return value
        }
        metrics.misses.increment()
        return nil
    }

    /// Stores a value loaded elsewhere (e.g. one batch call that answered many keys) in both tiers.
    /// As with `value(for:load:)`, the key must carry the generation read before the load began.
    func store(_ key: String, _ value: Value) async {
        metrics.loads.increment()
        storeNear(key, value, loadNanos: 0)
        if let shared {
            await shared.tier.set(key, shared.codec.encode(value), ttl: lifetimes.fresh + lifetimes.stale)
        }
    }

    /// Drops every entry (e.g. when invalidations may have been missed).
    public func removeAll() { near.removeAll() }

    public var nearCache: NearCache<Value> { near }

    private func loadCoalesced(
        _ key: String, family: (@Sendable () -> String)?, validity: (@Sendable (Value) -> Validity)? = nil, _ load: @Sendable () async throws -> Value
    ) async throws -> (Value, CacheOutcome) {
        // The continuation decides the role atomically: the first caller gets nil (go and load),
        // later callers get the leader's value when it arrives.
        let joined: (Value, CacheOutcome)? = try await withCheckedThrowingContinuation { continuation in
            let leader = inflight.withLock { state -> Bool in
                if state[key] != nil {
                    state[key]!.append(continuation)
                    return false
                }
                state[key] = []
                return true
            }
            // Counted on joining, so a waiter is counted once whatever the leader's load ends in.
            if leader { continuation.resume(returning: nil) } else { metrics.coalesced.increment() }
        }
        if let (value, _) = joined { return (value, .coalesced) }
        let result: Result<(Value, CacheOutcome), any Error>
        do {
            if let value = await sharedValue(key, validity: validity) {
                metrics.sharedHits.increment()
                result = .success((value, .shared))
            } else {
                metrics.misses.increment()
                if let family {
                    // Built only here: a hit never needs it.
                    let family = family()
                    // A held value that failed validation was invalidated, whatever the ledger says.
                    let held = validity != nil && near.lookup(key, now: clock()).1 != nil
                    metrics.missed(held ? .invalidated : ledger.cause(family: family, key: key))
                    // The family's version under older generations is unreachable now: drop it, or it keeps its
                    // space and its sketch frequency, and W-TinyLFU turns away the current version in its favour
                    // (measured: with a full near cache and admin writes, 55 % of storefront lookups missed so).
                    if let superseded = ledger.record(family: family, key: key) { near.remove(superseded) }
                }
                result = .success((try await loadAndStore(key, load), .miss))
            }
        } catch {
            result = .failure(error)
        }
        let waiters = inflight.withLock { $0.removeValue(forKey: key) ?? [] }
        for waiter in waiters {
            switch result {
            case .success(let value): waiter.resume(returning: value)
            case .failure(let error): waiter.resume(throwing: error)
            }
        }
        return try result.get()
    }

    /// The shared tier's value, stored into the near cache on the way (callers count the lookup). Only a
    /// current one: a value behind would be stored as if it were fresh.
    private func sharedValue(_ key: String, validity: (@Sendable (Value) -> Validity)? = nil) async -> Value? {
        guard let shared, let bytes = await shared.tier.get(key), let value = shared.codec.decode(bytes) else { return nil }
        if let validity, validity(value) != .valid { return nil }
        storeNear(key, value, loadNanos: 0)
        return value
    }

    private func loadAndStore(_ key: String, _ load: @Sendable () async throws -> Value) async throws -> Value {
        metrics.loads.increment()
        let started = clock()
        let value = try await load()
        storeNear(key, value, loadNanos: clock() &- started)
        if let shared {
            await shared.tier.set(key, shared.codec.encode(value), ttl: lifetimes.fresh + lifetimes.stale)
        }
        return value
    }

    private func storeNear(_ key: String, _ value: Value, loadNanos: UInt64) {
        let now = clock()
        let fresh = Self.nanos(lifetimes.fresh)
        near.store(
            key, TimedEntry(value: value, freshUntil: now &+ fresh, staleUntil: now &+ fresh &+ Self.nanos(lifetimes.stale), loadNanos: loadNanos),
            cost: cost(value))
    }

    private func scheduleRefresh(_ key: String, _ load: @escaping @Sendable () async throws -> Value) {
        refresher.schedule(key: key) { [self] in
            metrics.refreshes.increment()
            _ = try? await loadAndStore(key, load)
        }
    }

    /// XFetch (Vattani, Chierichetti, Lowenstein 2015): refresh with a probability that rises as expiry
    /// nears, scaled by how long a load takes, so one request refreshes a hot key before it expires.
    private func shouldRefreshEarly(_ entry: TimedEntry<Value>, now: UInt64) -> Bool {
        guard lifetimes.earlyRefreshBeta > 0 else { return false }
        let gap = Double(entry.loadNanos) * lifetimes.earlyRefreshBeta * -log(Double.random(in: Double.leastNonzeroMagnitude..<1))
        return Double(now) + gap >= Double(entry.freshUntil)
    }

    /// The default clock: nanoseconds since boot.
    @Sendable public static func uptime() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    static func nanos(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
