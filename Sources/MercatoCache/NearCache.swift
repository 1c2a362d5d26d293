import Metrics
import Synchronization

/// What a cache lookup found.
public enum CacheLookup<Value: Sendable>: Sendable {
    case fresh(Value)
    /// Past its fresh lifetime but inside the stale-while-revalidate window.
    case stale(Value)
    case miss
}

/// One stored value with its lifetimes (uptime nanoseconds) and how long it took to load (for early refresh).
struct TimedEntry<Value: Sendable>: Sendable {
    var value: Value
    var freshUntil: UInt64
    var staleUntil: UInt64
    var loadNanos: UInt64
}

/// The per-instance in-memory tier: byte-bounded W-TinyLFU, thread-safe, with lifetimes per entry.
public final class NearCache<Value: Sendable>: Sendable {
    private let state: Mutex<BoundedCache<String, TimedEntry<Value>>>
    private let evictions: Counter

    /// `capacityBytes` bounds the sum of entry costs (body bytes plus key and bookkeeping). `evictions` counts
    /// entries evicted for space (see `CacheMetrics.nearEvictions`; by default nowhere).
    public init(
        capacityBytes: Int, averageEntryBytes: Int = 4096, policy: EvictionPolicy = .windowTinyLFU, hashSeed: UInt64 = .random(in: .min ... .max),
        evictions: Counter = CacheMetrics.nearEvictions(cache: "", factory: NOOPMetricsHandler.instance)
    ) {
        self.evictions = evictions
        state = Mutex(BoundedCache(
            capacity: capacityBytes, expectedEntries: max(64, capacityBytes / max(1, averageEntryBytes)), policy: policy, hashSeed: hashSeed))
    }

    func lookup(_ key: String, now: UInt64) -> (CacheLookup<Value>, TimedEntry<Value>?) {
        state.withLock { cache in
            guard let entry = cache.get(key) else { return (.miss, nil) }
            if now < entry.freshUntil { return (.fresh(entry.value), entry) }
            if now < entry.staleUntil { return (.stale(entry.value), entry) }
            cache.remove(key)
            return (.miss, nil)
        }
    }

    func store(_ key: String, _ entry: TimedEntry<Value>, cost: Int) {
        let evicted = state.withLock { cache in
            let before = cache.evictions
            cache.set(key, entry, cost: cost + key.utf8.count + 64)
            return cache.evictions - before
        }
        if evicted > 0 { evictions.increment(by: evicted) }
    }

    /// Drops one entry (e.g. a response superseded by its version under newer generations).
    func remove(_ key: String) {
        _ = state.withLock { $0.remove(key) }
    }

    /// Drops everything, e.g. after a lost invalidation subscription.
    public func removeAll() {
        state.withLock { $0.removeAll() }
    }

    /// Entries and bytes held now (gauges `/metrics` reads at scrape time).
    public var count: Int { state.withLock { $0.count } }
    public var bytes: Int { state.withLock { $0.totalCost } }
}
