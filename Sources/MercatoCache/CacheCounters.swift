import Synchronization

/// Deterministic cache counters (what CI gates on, not timings).
///
/// Every lookup is counted exactly once, under the outcome that answered it: `nearHits`, `nearStale`,
/// `sharedHits`, `misses` and `coalesced` add up to the number of lookups.
public final class CacheCounters: Sendable {
    let nearHits = Atomic<Int>(0)
    let nearStale = Atomic<Int>(0)
    let sharedHits = Atomic<Int>(0)
    /// Lookups neither tier answered: loaded from the source, or nil from `cachedValue(for:)`.
    let misses = Atomic<Int>(0)
    let loads = Atomic<Int>(0)
    /// Lookups that waited for another request's load of the same key (counted when they join it).
    let coalesced = Atomic<Int>(0)
    let refreshes = Atomic<Int>(0)
    /// Misses of lookups that named their family, by cause (a subset of `misses`).
    let coldMisses = Atomic<Int>(0)
    let invalidatedMisses = Atomic<Int>(0)
    let evictedMisses = Atomic<Int>(0)

    public init() {}

    func missed(_ cause: MissCause) {
        switch cause {
        case .cold: coldMisses.add(1, ordering: .relaxed)
        case .invalidated: invalidatedMisses.add(1, ordering: .relaxed)
        case .evicted: evictedMisses.add(1, ordering: .relaxed)
        }
    }

    /// A point-in-time copy.
    public struct Snapshot: Sendable, Equatable {
        public var nearHits: Int
        public var nearStale: Int
        public var sharedHits: Int
        public var misses: Int
        public var loads: Int
        public var coalesced: Int
        public var refreshes: Int
        /// Misses by cause (only lookups that named their family are classified).
        public var missesByCause: [MissCause: Int] = [:]

        /// Lookups by the tier that answered and its outcome, as `/metrics` exports them.
        public var lookups: [(tier: String, outcome: String, count: Int)] {
            [("near", "hit", nearHits), ("near", "stale", nearStale), ("shared", "hit", sharedHits), ("any", "miss", misses), ("any", "coalesced", coalesced)]
        }
    }

    public var snapshot: Snapshot {
        Snapshot(
            nearHits: nearHits.load(ordering: .relaxed), nearStale: nearStale.load(ordering: .relaxed),
            sharedHits: sharedHits.load(ordering: .relaxed), misses: misses.load(ordering: .relaxed), loads: loads.load(ordering: .relaxed),
            coalesced: coalesced.load(ordering: .relaxed), refreshes: refreshes.load(ordering: .relaxed),
            missesByCause: [
                .cold: coldMisses.load(ordering: .relaxed), .invalidated: invalidatedMisses.load(ordering: .relaxed),
                .evicted: evictedMisses.load(ordering: .relaxed),
            ])
    }
}
