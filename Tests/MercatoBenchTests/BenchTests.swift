import Foundation
import MercatoCore
import Testing
@testable import MercatoBench

@Suite("Benchmark workload and gate")
struct BenchTests {
    @Test("Zipf(0.99) puts the most weight on rank 0 and decays like 1/k")
    func zipfShape() {
        let zipf = Zipf(count: 1000, exponent: 0.99)
        var rng = SeededGenerator(seed: 1)
        var counts = [Int](repeating: 0, count: 1000)
        for _ in 0..<200_000 { counts[zipf.sample(using: &rng)] += 1 }
        // P(0) = 1 / Σ 1/k^0.99 ≈ 0.129 for 1000 items; rank 9 about a tenth of that.
        let p0 = Double(counts[0]) / 200_000
        #expect(abs(p0 - 0.129) < 0.01, "P(0) = \(p0)")
        let ratio = Double(counts[0]) / Double(counts[9])
        #expect(ratio > 8 && ratio < 12, "P(0)/P(9) = \(ratio)")
        #expect(counts.allSatisfy { $0 >= 0 } && counts.reduce(0, +) == 200_000)
    }

    @Test("The same seed replays the same operations")
    func seededOperations() {
        let catalog = BenchCatalog(store: "s", products: (0..<50).map { "p\($0)" }, categories: ["a", "b"], hotVariants: [.init(id: "v", currency: "EUR")])
        let source = OperationSource(catalog: catalog, mix: WorkloadMix(), exponent: 0.99, canWrite: true)
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        let first = (0..<200).map { _ in source.next(using: &a) }.map { "\($0.kind)\($0.rank)\($0.sort)\($0.followCursor)" }
        let second = (0..<200).map { _ in source.next(using: &b) }.map { "\($0.kind)\($0.rank)\($0.sort)\($0.followCursor)" }
        #expect(first == second)
        #expect(Set(first.map { $0.prefix(4) }).count > 1)
        // Without an admin token, no writes are drawn.
        let readOnly = OperationSource(catalog: catalog, mix: WorkloadMix(), exponent: 0.99, canWrite: false)
        var c = SeededGenerator(seed: 3)
        #expect((0..<500).allSatisfy { _ in readOnly.next(using: &c).kind != .write })
    }

    @Test("The gate against --target with --token draws the operations it draws against the server it starts")
    func gateScenarioOnATarget() throws {
        let catalog = BenchCatalog(
            store: "demo", products: (0..<400).map { "p\($0)" }, categories: ["a", "b", "c"],
            hotVariants: (0..<50).map { .init(id: "v\($0)", currency: "EUR") })
        func stream(_ settings: RunSettings) -> [String] {
            let source = OperationSource(catalog: catalog, settings: settings)
            var rng = BenchRunner.closedLoopGenerator(seed: settings.seed, worker: 0)
            return (0..<(settings.operations ?? 0)).map { _ in
                let o = source.next(using: &rng)
                return "\(o.kind) \(o.rank) \(o.sort) \(o.followCursor) \(o.restock) \(o.amount) \(o.key)"
            }
        }
        let own = stream(try Gate.scenario(target: "http://127.0.0.1:41234", adminToken: "printed-by-the-started-server", operations: 1500))
        let target = stream(try Gate.scenario(target: "http://127.0.0.1:8080", adminToken: "given-with-token", operations: 1500))
        #expect(target == own)
        #expect(own.contains { $0.hasPrefix("write") })
        // Without a token the writes drop out and the stream is another one: refused rather than run.
        #expect(throws: BenchError.self) { try Gate.scenario(target: "http://127.0.0.1:8080", adminToken: nil, operations: 1500) }
    }

    @Test("bench compare gives each run its own Redis keyspace, and the baseline no Redis")
    func comparisonEnvironments() {
        let invoking = ["DATABASE_URL": "postgres://db", "REDIS_URL": "redis://127.0.0.1:6379", "MERCATO_REDIS_PREFIX": "prod:"]
        let first = ComparisonEnvironments(environment: invoking), second = ComparisonEnvironments(environment: invoking)
        #expect(first.after["REDIS_URL"] == "redis://127.0.0.1:6379" && first.before["REDIS_URL"] == nil)
        let prefixes = [first, second].compactMap { $0.after["MERCATO_REDIS_PREFIX"] }
        #expect(prefixes.count == 2 && prefixes[0] != prefixes[1] && !prefixes.contains("prod:"), "\(prefixes)")
        #expect(first.before["MERCATO_REDIS_PREFIX"] == nil && first.before["MERCATO_CACHE"] == "off")
        #expect(ComparisonEnvironments(environment: ["DATABASE_URL": "postgres://db"]).after["MERCATO_REDIS_PREFIX"] == nil)
    }

    @Test("Mix parsing names what is wrong")
    func mixParsing() throws {
        #expect(try WorkloadMix.parse("listing=70,detail=30") == WorkloadMix(listing: 70, detail: 30, categories: 0, checkout: 0, write: 0))
        #expect(throws: BenchError.self) { try WorkloadMix.parse("listings=5") }
        #expect(throws: BenchError.self) { try WorkloadMix.parse("listing=-1") }
        #expect(throws: BenchError.self) { try WorkloadMix.parse("listing=0") }
    }

    static func figures(listing: Double = 1.85, max: Int = 2, inventory: Double = 2, hitRate: Double = 0.5, ratio: Double = 0.7) -> GateFigures {
        var figures = GateFigures(
            statementsPerRequest: ["listing": listing], statementsMax: ["listing": max], inventoryCalls: ["checkout_create": inventory],
            taxCalls: ["checkout_create": 0], storefrontHitRate: hitRate, timing: ["cached_listing_over_health": ratio])
        figures.timing = ["cached_listing_over_health": ratio]
        return figures
    }

    @Test("The gate fails on one more SQL statement or external call, and only warns on timing")
    func gateVerdicts() {
        let baseline = Self.figures()
        #expect(Gate.compare(Self.figures(), baseline: baseline).passed)
        let extraStatement = Gate.compare(Self.figures(listing: 2.85, max: 3), baseline: baseline)
        #expect(!extraStatement.passed)
        #expect(extraStatement.failures.count == 2)
        #expect(!Gate.compare(Self.figures(inventory: 3), baseline: baseline).passed)
        #expect(!Gate.compare(Self.figures(hitRate: 0.49), baseline: baseline).passed)
        #expect(Gate.compare(Self.figures(hitRate: 0.497), baseline: baseline).passed)
        let slower = Gate.compare(Self.figures(ratio: 0.5), baseline: baseline)
        #expect(slower.passed)
        #expect(slower.warnings.count == 1)
    }
}

extension GateFigures {
    init(
        statementsPerRequest: [String: Double], statementsMax: [String: Int], inventoryCalls: [String: Double], taxCalls: [String: Double],
        storefrontHitRate: Double, timing: [String: Double]
    ) {
        let json = try! JSONEncoder().encode(Encoded(
            statementsPerRequest: statementsPerRequest, statementsMax: statementsMax, inventoryCalls: inventoryCalls, taxCalls: taxCalls,
            storefrontHitRate: storefrontHitRate, timing: timing))
        self = try! JSONDecoder().decode(GateFigures.self, from: json)
    }

    private struct Encoded: Encodable {
        var statementsPerRequest: [String: Double]
        var statementsMax: [String: Int]
        var inventoryCalls: [String: Double]
        var taxCalls: [String: Double]
        var storefrontHitRate: Double
        var timing: [String: Double]
    }
}

@Suite("Reading /metrics")
struct MetricsScrapeTests {
    @Test("Deltas of route counters give statements per request and the cache hit rate")
    func serverFigures() {
        let before = MetricsSnapshot.parse("""
            # TYPE http_server_request_duration_seconds histogram
            http_server_request_duration_seconds_bucket{http_route="/v1/stores/{merchant}/products",http_request_method="GET",http_response_status_code="200",le="0.001"} 3
            http_server_request_duration_seconds_count{http_route="/v1/stores/{merchant}/products",http_request_method="GET",http_response_status_code="200"} 4
            mercato_db_statements_total{http_route="/v1/stores/{merchant}/products"} 8
            mercato_cache_lookups_total{cache="storefront",tier="near",outcome="hit"} 1
            mercato_cache_lookups_total{cache="storefront",tier="any",outcome="miss"} 4
            """)
        let after = MetricsSnapshot.parse("""
            http_server_request_duration_seconds_count{http_route="/v1/stores/{merchant}/products",http_request_method="GET",http_response_status_code="200"} 14
            http_server_request_duration_seconds_count{http_route="/v1/stores/{merchant}/products",http_request_method="GET",http_response_status_code="404"} 2
            mercato_db_statements_total{http_route="/v1/stores/{merchant}/products"} 14
            mercato_cache_lookups_total{cache="storefront",tier="near",outcome="hit"} 10
            mercato_cache_lookups_total{cache="storefront",tier="any",outcome="miss"} 7
            mercato_external_calls_total{service="inventory",operation="reserve"} 3
            """)
        let figures = ServerFigures(after.delta(since: before))
        #expect(figures.requests["/v1/stores/{merchant}/products"] == 12)
        #expect(figures.statementsPerRequest["/v1/stores/{merchant}/products"] == 0.5)
        #expect(figures.cacheHitRate == 0.75)
        #expect(figures.externalCalls["inventory.reserve"] == 3)
        #expect(figures.databaseReads == nil, "no replicas configured")
    }

    @Test("With replicas, reads by target, fallbacks and fence waits are reported")
    func replicaReads() {
        let before = MetricsSnapshot.parse("""
            mercato_db_reads_total{target="primary"} 10
            mercato_db_reads_total{target="replica"} 5
            mercato_db_replica_fallbacks_total 2
            mercato_db_replica_fence_waits_total{outcome="replayed"} 0
            mercato_db_replica_fence_waits_total{outcome="expired"} 1
            """)
        let after = MetricsSnapshot.parse("""
            mercato_db_reads_total{target="primary"} 30
            mercato_db_reads_total{target="replica"} 95
            mercato_db_replica_fallbacks_total 12
            mercato_db_replica_fence_waits_total{outcome="replayed"} 4
            mercato_db_replica_fence_waits_total{outcome="expired"} 3
            """)
        let reads = ServerFigures(after.delta(since: before)).databaseReads
        #expect(reads == ["primary": 20, "replica": 90, "fallback": 10, "fence-wait:replayed": 4, "fence-wait:expired": 2])
    }
}
