import Logging
@testable import MercatoCache
import MetricsTestKit
import Synchronization
import Testing

/// The cache tiers record their counts through swift-metrics: here into a `TestMetrics` factory, as the server
/// does into its Prometheus one.
@Suite("Cache metrics")
struct CacheMetricsTests {
    /// A response filled under newer generations drops its version under older ones from the near cache:
    /// otherwise the dead version keeps its bytes and its popularity, and admission turns the live one away.
    @Test func aNewerFillDropsTheSupersededVersion() async throws {
        let (cache, _) = makeCache(fresh: .seconds(10), stale: .seconds(10), metrics: TestMetrics(), clock: { 1_000 })
        _ = try await cache.value(for: "g1:page", family: { "page" }) { "v1" }
        _ = try await cache.value(for: "g1:other", family: { "other" }) { "o1" }
        #expect(cache.nearCache.count == 2)
        _ = try await cache.value(for: "g2:page", family: { "page" }) { "v2" }
        #expect(cache.nearCache.count == 2, "g1:page is gone, g2:page and g1:other are held")
        #expect(try await cache.value(for: "g1:other", family: { "other" }) { "reloaded" } == ("o1", .hit))
        #expect(try await cache.value(for: "g2:page", family: { "page" }) { "reloaded" } == ("v2", .hit))
    }

    /// Misses are told apart by cause, each load and each refresh counted once.
    @Test func missesByCauseLoadsAndRefreshes() async throws {
        let metrics = TestMetrics()
        let now = Atomic<UInt64>(1_000)
        // Fresh for 10 s, then stale (served, one refresh) for 10 s more.
        let (cache, refresher) = makeCache(fresh: .seconds(10), stale: .seconds(10), metrics: metrics, clock: { now.load(ordering: .relaxed) })
        func misses(_ cause: String) -> Int64 {
            metrics.counterTotal(label: "mercato_cache_misses_total", dimensions: [("cause", cause)])
        }
        _ = try await cache.value(for: "g1:page", family: { "page" }) { "v1" }
        #expect(misses("cold") == 1)
        // The same response under a newer generation: its earlier fill was invalidated.
        _ = try await cache.value(for: "g2:page", family: { "page" }) { "v2" }
        #expect(misses("invalidated") == 1)
        // The same key again after it was dropped: evicted (or expired).
        cache.removeAll()
        _ = try await cache.value(for: "g2:page", family: { "page" }) { "v2" }
        #expect(misses("evicted") == 1)
        #expect(try metrics.expectCounter("mercato_cache_loads_total", [("cache", "test")]).totalValue == 3)
        #expect(lookups(metrics)["any miss"] == 3)

        // Stale: answered at once, refreshed once in the background.
        now.store(1_000 + 15_000_000_000, ordering: .relaxed)
        #expect(try await cache.value(for: "g2:page", family: { "page" }) { "v3" } == ("v2", .stale))
        let refreshes = try metrics.expectCounter("mercato_cache_refreshes_total", [("cache", "test")])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await refresher.run() }
            try await waitUntil("the background refresh") { refreshes.totalValue >= 1 }
            group.cancelAll()
        }
        #expect(refreshes.totalValue == 1)
        #expect(lookups(metrics)["near stale"] == 1)
        #expect(try metrics.expectCounter("mercato_cache_loads_total", [("cache", "test")]).totalValue == 4)
    }

    /// A cache that does not classify its misses exports no series by cause.
    @Test func missCausesAreOnlyCountedWhenAsked() async throws {
        let metrics = TestMetrics()
        let cache = LayeredCache<String>(
            near: NearCache(capacityBytes: 1 << 20), lifetimes: CacheLifetimes(fresh: .seconds(60), stale: .zero), refresher: RefreshQueue(),
            cost: { $0.utf8.count }, metrics: CacheMetrics(cache: "pricing", factory: metrics))
        _ = try await cache.value(for: "k", family: { "k" }) { "v" }
        #expect(metrics.counters(label: "mercato_cache_misses_total").isEmpty)
        #expect(try metrics.expectCounter("mercato_cache_lookups_total", [("cache", "pricing"), ("tier", "any"), ("outcome", "miss")]).totalValue == 1)
    }

    /// Every entry pushed out for space is counted once: stored minus still held.
    @Test func nearCacheEvictionsAreCounted() async throws {
        let metrics = TestMetrics()
        let near = NearCache<String>(capacityBytes: 2_000, evictions: CacheMetrics.nearEvictions(cache: "storefront", factory: metrics))
        let cache = LayeredCache<String>(
            near: near, lifetimes: CacheLifetimes(fresh: .seconds(60), stale: .zero), refresher: RefreshQueue(), cost: { $0.utf8.count })
        for i in 0..<100 { await cache.store("key-\(i)", String(repeating: "x", count: 50)) }
        let evictions = try metrics.expectCounter("mercato_near_cache_evictions_total", [("cache", "storefront")]).totalValue
        #expect(near.count < 100)
        #expect(evictions == Int64(100 - near.count))
    }

    /// Failed commands, outages (a run of failures) and the commands skipped while paused.
    @Test func redisTroubleIsCounted() {
        struct Refused: Error {}
        let metrics = TestMetrics()
        let availability = RedisAvailability(logger: Logger(label: "test"), maximumPause: .seconds(60), metricsFactory: metrics)
        func total(_ name: String) -> Int64 { metrics.counterTotal(label: name) }
        #expect(availability.shouldTry())
        availability.failed(Refused())
        #expect(!availability.shouldTry())
        #expect(!availability.shouldTry())
        availability.failed(Refused())  // still the same outage
        availability.succeeded()
        #expect(availability.shouldTry())
        availability.failed(Refused())  // a second outage
        #expect(total("mercato_redis_failures_total") == 3)
        #expect(total("mercato_redis_outages_total") == 2)
        #expect(total("mercato_redis_skipped_total") == 2)
    }
}
