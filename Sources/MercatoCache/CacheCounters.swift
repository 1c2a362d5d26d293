import Synchronization

/// Deterministic cache counters (what CI gates on, not timings).
public final class CacheCounters: Sendable {
    let nearHits = Atomic<Int>(0)
    let nearStale = Atomic<Int>(0)
    let sharedHits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let loads = Atomic<Int>(0)
    let coalesced = Atomic<Int>(0)
    let refreshes = Atomic<Int>(0)

    public init() {}

    /// A point-in-time copy.
    public struct Snapshot: Sendable, Equatable {
        public var nearHits: Int
        public var nearStale: Int
        public var sharedHits: Int
        public var misses: Int
        public var loads: Int
        public var coalesced: Int
        public var refreshes: Int
    }

    public var snapshot: Snapshot {
        Snapshot(
            nearHits: nearHits.load(ordering: .relaxed), nearStale: nearStale.load(ordering: .relaxed),
            sharedHits: sharedHits.load(ordering: .relaxed), misses: misses.load(ordering: .relaxed), loads: loads.load(ordering: .relaxed),
            coalesced: coalesced.load(ordering: .relaxed), refreshes: refreshes.load(ordering: .relaxed))
    }
}
