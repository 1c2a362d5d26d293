import Testing
@testable import MercatoBench

/// Through an edge, a read is counted once by how the edge answered, and by the origin's cache outcome only
/// when the origin answered it (on a hit the edge replays the header of its fill).
@Suite struct EdgeOutcomeTests {
    @Test func edgeAnswersAreCountedAndOnlyOriginAnswersCountForTheAppCache() {
        let recorder = Recorder()
        recorder.record(.detail, micros: 100, status: 200, counters: ServerCounters(cache: "miss", edge: "miss"))
        recorder.record(.detail, micros: 100, status: 200, counters: ServerCounters(cache: "miss", edge: "hit"))
        recorder.record(.detail, micros: 100, status: 304, counters: ServerCounters(cache: "hit", edge: "hit"))
        recorder.record(.listing, micros: 100, status: 200, counters: ServerCounters(cache: "hit", edge: "pass"))
        let stats = recorder.snapshot
        #expect(stats[.detail]?.edge == ["miss": 1, "hit": 1, "304": 1])
        #expect(stats[.detail]?.cache == ["miss": 1])
        #expect(stats[.listing]?.cache == ["hit": 1])
        // Straight to the app: no edge outcome, the app's as before.
        recorder.record(.categories, micros: 100, status: 304, counters: ServerCounters(cache: "hit"))
        #expect(recorder.snapshot[.categories]?.edge == [:])
        #expect(recorder.snapshot[.categories]?.cache == ["304": 1])
    }

    @Test func theEdgeHitRateCountsHitsAnd304sItAnsweredItself() {
        #expect(EdgeOutcome.classify(status: 304, edge: "hit") == "304")
        #expect(EdgeOutcome.classify(status: 304, edge: "miss") == "miss")
        #expect(EdgeOutcome.classify(status: 200, edge: nil) == nil)
        #expect(EdgeOutcome.served == ["hit", "304", "stale-if-error"])
    }

    @Test func purgeLatencyPercentilesComeFromTheHistogramBuckets() {
        let text = """
        mercato_edge_purge_duration_seconds_bucket{node="a",le="0.001"} 50
        mercato_edge_purge_duration_seconds_bucket{node="a",le="0.005"} 98
        mercato_edge_purge_duration_seconds_bucket{node="a",le="0.01"} 100
        mercato_edge_purge_duration_seconds_bucket{node="a",le="+Inf"} 100
        mercato_edge_purges_total{node="a",outcome="sent"} 100
        """
        let snapshot = MetricsSnapshot.parse(text)
        #expect(snapshot.quantile(0.5, of: "mercato_edge_purge_duration_seconds") == 0.001)
        #expect(snapshot.quantile(0.99, of: "mercato_edge_purge_duration_seconds") == 0.01)
        let figures = ServerFigures(snapshot.delta(since: MetricsSnapshot(samples: [:])))
        #expect(figures.edgePurges == ["sent": 100])
        #expect(figures.edgePurgeP50 == 1)
    }
}
