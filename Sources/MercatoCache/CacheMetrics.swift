import Metrics

/// A cache's counters, recorded through swift-metrics into the factory the server injects (a no-op by
/// default). Deterministic counts (what CI gates on), not timings; the names and labels are `/metrics`'s.
///
/// Every lookup is counted exactly once, under the outcome that answered it: `nearHits`, `nearStale`,
/// `sharedHits`, `misses` and `coalesced` add up to the number of lookups.
public struct CacheMetrics: Sendable {
    let nearHits: Counter
    let nearStale: Counter
    let sharedHits: Counter
    /// Lookups neither tier answered: loaded from the source, or nil from `cachedValue(for:)`.
    let misses: Counter
    /// Lookups that waited for another request's load of the same key (counted when they join it).
    let coalesced: Counter
    let loads: Counter
    let refreshes: Counter
    /// Misses of lookups that named their family, by cause (a subset of `misses`); empty when not counted.
    private let missCauses: [MissCause: Counter]

    /// `cache` is the `cache` label (`storefront`, `pricing`, `availability`). `missCauses`: the cache's lookups
    /// name their family, so its misses are counted by cause (only then: other caches export no empty series).
    public init(cache: String = "", missCauses: Bool = false, factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        func lookups(_ tier: String, _ outcome: String) -> Counter {
            Counter(label: "mercato_cache_lookups_total", dimensions: [("cache", cache), ("tier", tier), ("outcome", outcome)], factory: factory)
        }
        nearHits = lookups("near", "hit")
        nearStale = lookups("near", "stale")
        sharedHits = lookups("shared", "hit")
        misses = lookups("any", "miss")
        coalesced = lookups("any", "coalesced")
        loads = Counter(label: "mercato_cache_loads_total", dimensions: [("cache", cache)], factory: factory)
        refreshes = Counter(label: "mercato_cache_refreshes_total", dimensions: [("cache", cache)], factory: factory)
        var causes: [MissCause: Counter] = [:]
        for cause in MissCause.allCases where missCauses {
            causes[cause] = Counter(label: "mercato_cache_misses_total", dimensions: [("cache", cache), ("cause", cause.rawValue)], factory: factory)
        }
        self.missCauses = causes
    }

    func missed(_ cause: MissCause) {
        missCauses[cause]?.increment()
    }

    /// Counts the near cache's evictions for space: `mercato_near_cache_evictions_total{cache}`.
    public static func nearEvictions(cache: String, factory: any MetricsFactory) -> Counter {
        Counter(label: "mercato_near_cache_evictions_total", dimensions: [("cache", cache)], factory: factory)
    }
}
