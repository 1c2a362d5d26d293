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

    static func catalog(products: Int = 50, categories: [String] = ["a", "b"], hot: Int = 1, admin: Bool = false) -> BenchCatalog {
        var catalog = BenchCatalog(
            store: "s", products: (0..<products).map { "p\($0)" }, categories: categories,
            hotVariants: (0..<hot).map { .init(id: "v\($0)", currency: "EUR", stock: 3) },
            markets: [.init(code: "", currency: "EUR"), .init(code: "us", currency: "USD")])
        if admin {
            catalog.adminCategories = categories.enumerated().map { index, slug in
                .init(id: "c\(index)", slug: slug, name: slug, kind: "static", parentID: nil, position: index, groups: nil, markets: nil, isPublicLeaf: true)
            }
            catalog.audiences.append(.init(group: "wholesale", token: "t", categories: categories + ["w"]))
        }
        return catalog
    }

    static func describe(_ o: MercatoBench.Operation) -> String {
        "\(o.kind) \(o.rank) \(o.targetRank) \(o.sort) \(o.followCursor) \(o.inStockOnly) \(o.market) \(o.audience) \(o.conditional) \(o.amount) \(o.key)"
    }

    @Test("The same seed replays the same operations")
    func seededOperations() {
        let catalog = Self.catalog(admin: true)
        let source = OperationSource(catalog: catalog, mix: WorkloadMix(), exponent: 0.99, canWrite: true)
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        let first = (0..<2000).map { _ in Self.describe(source.next(using: &a)) }
        let second = (0..<2000).map { _ in Self.describe(source.next(using: &b)) }
        #expect(first == second)
        #expect(Set(first.map { $0.prefix(4) }).count > 1)
        // Without an admin token, no writes are drawn.
        let readOnly = OperationSource(catalog: catalog, mix: WorkloadMix(), exponent: 0.99, canWrite: false)
        var c = SeededGenerator(seed: 3)
        #expect((0..<5000).allSatisfy { _ in !readOnly.next(using: &c).kind.isWrite })
    }

    @Test("The default mix draws every write kind, 1 % writes in all, most of them price and stock")
    func writeKinds() {
        let source = OperationSource(catalog: Self.catalog(admin: true), mix: WorkloadMix(), exponent: 0.99, canWrite: true)
        var rng = SeededGenerator(seed: 5)
        var counts: [OperationKind: Int] = [:]
        let draws = 400_000
        for _ in 0..<draws { counts[source.next(using: &rng).kind, default: 0] += 1 }
        for kind in OperationKind.allCases { #expect((counts[kind] ?? 0) > 0, "\(kind) never drawn") }
        let writes = OperationKind.writes.reduce(0) { $0 + (counts[$1] ?? 0) }
        #expect(abs(Double(writes) / Double(draws) - 0.01) < 0.001, "write share \(Double(writes) / Double(draws))")
        #expect((counts[.price] ?? 0) + (counts[.stock] ?? 0) > writes / 2)
        #expect(abs(WorkloadMix().writeShare - 0.01) < 1e-12, "the weights sum in floating point")
    }

    @Test("Write kinds the run cannot perform drop out: no categories to assign into, none to rename")
    func impossibleWrites() {
        // Without admin categories (discovered only with an admin token) assign, create, archive and category writes are impossible.
        let source = OperationSource(catalog: Self.catalog(admin: false), mix: WorkloadMix(), exponent: 0.99, canWrite: true)
        var rng = SeededGenerator(seed: 6)
        let kinds = Set((0..<200_000).map { _ in source.next(using: &rng).kind })
        #expect(kinds.isDisjoint(with: [.assign, .create, .archive, .category]))
        #expect(kinds.isSuperset(of: [.price, .stock, .edit, .checkout]))
    }

    @Test("Reads vary in stock filter, market, audience and conditional requests; writes never carry them")
    func readShapes() {
        let source = OperationSource(catalog: Self.catalog(admin: true), mix: WorkloadMix(), exponent: 0.99, canWrite: true)
        var rng = SeededGenerator(seed: 8)
        let operations = (0..<100_000).map { _ in source.next(using: &rng) }
        let listings = operations.filter { $0.kind == .listing }
        let reads = operations.filter { !$0.kind.isWrite && $0.kind != .checkout }
        func share(_ items: [MercatoBench.Operation], _ test: (MercatoBench.Operation) -> Bool) -> Double { Double(items.filter(test).count) / Double(items.count) }
        #expect(abs(share(listings) { $0.inStockOnly } - 0.2) < 0.02)
        #expect(abs(share(reads) { $0.market == 1 } - 0.3) < 0.02)
        #expect(abs(share(reads) { $0.audience == 1 } - 0.1) < 0.02)
        #expect(abs(share(reads) { $0.conditional } - 0.25) < 0.02)
        #expect(operations.filter { $0.kind.isWrite || $0.kind == .checkout }.allSatisfy { $0.market == 0 && $0.audience == 0 && !$0.conditional })
        #expect(operations.filter { $0.kind != .listing }.allSatisfy { !$0.inStockOnly })
        // A listing's category rank is drawn from its own audience's tree (wholesale has one more category).
        #expect(listings.filter { $0.audience == 0 }.allSatisfy { $0.rank <= 2 })
        #expect(listings.contains { $0.audience == 1 && $0.rank == 3 })
    }

    @Test("The restock rule: the sale of the last unit, or a sold-out refusal, restocks once until it answers")
    func restockRule() {
        let state = RunState(catalog: Self.catalog(hot: 2))
        // v0 starts with 3 units: two sales leave one, the third takes the last.
        #expect(!state.sold("v0", soldOut: false))
        #expect(!state.sold("v0", soldOut: false))
        #expect(state.sold("v0", soldOut: false))
        #expect(state.restocks == 1)
        // While that restock is in flight, further sales and refusals do not ask for another.
        #expect(!state.sold("v0", soldOut: true))
        #expect(!state.sold("v0", soldOut: false))
        state.restocked("v0", quantity: Int64(RunState.restockLevel))
        for _ in 0..<(RunState.restockLevel - 1) { #expect(!state.sold("v0", soldOut: false)) }
        #expect(state.sold("v0", soldOut: false))
        // A refusal restocks at once, whatever the run believed: someone else sold the units.
        #expect(state.sold("v1", soldOut: true))
        // A failed restock is retried at the next sale.
        state.restocked("v1", quantity: nil)
        #expect(state.sold("v1", soldOut: false))
        #expect(state.restocks == 4)
        // A stock write of the mix resets the count.
        state.restocked("v1", quantity: nil)
        state.stockSet("v1", to: 2)
        #expect(!state.sold("v1", soldOut: false))
        #expect(state.sold("v1", soldOut: false))
    }

    @Test("Archives take the products the run created, oldest first, each once")
    func createdProducts() {
        let state = RunState(catalog: Self.catalog())
        #expect(state.takeCreated() == nil)
        state.created("n1")
        state.created("n2")
        #expect(state.takeCreated() == "n1")
        #expect(state.takeCreated() == "n2")
        #expect(state.takeCreated() == nil)
        #expect(state.toggleCategory("c0"))
        #expect(!state.toggleCategory("c0"))
    }

    @Test("The gate against --target with --token draws the operations it draws against the server it starts")
    func gateScenarioOnATarget() throws {
        let catalog = Self.catalog(products: 400, categories: ["a", "b", "c"], hot: 50, admin: true)
        func stream(_ settings: RunSettings) -> [String] {
            let source = OperationSource(catalog: catalog, settings: settings)
            var rng = BenchRunner.closedLoopGenerator(seed: settings.seed, worker: 0)
            return (0..<(settings.operations ?? 0)).map { _ in Self.describe(source.next(using: &rng)) }
        }
        let own = stream(try Gate.scenario(target: "http://127.0.0.1:41234", adminToken: "printed-by-the-started-server", operations: 1500))
        let target = stream(try Gate.scenario(target: "http://127.0.0.1:8080", adminToken: "given-with-token", operations: 1500))
        #expect(target == own)
        #expect(own.contains { $0.hasPrefix("price") })
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
        #expect(try WorkloadMix.parse("listing=70,detail=30") == WorkloadMix.reads(listing: 70, detail: 30))
        #expect(try WorkloadMix.parse(WorkloadMix().description) == WorkloadMix())
        // write=N spreads N over the write kinds in the default's proportions.
        let spread = try WorkloadMix.parse("listing=98,write=2")
        #expect(abs(spread.writeShare - 0.02) < 1e-9)
        #expect(abs(spread[.price] - 0.7) < 1e-9 && abs(spread[.category] - 0.1) < 1e-9)
        #expect(throws: BenchError.self) { try WorkloadMix.parse("listing") }
        #expect(throws: BenchError.self) { try WorkloadMix.parse("listings=5") }
        #expect(throws: BenchError.self) { try WorkloadMix.parse("listing=-1") }
        #expect(throws: BenchError.self) { try WorkloadMix.parse("listing=0") }
    }

    static func figures(
        listing: Double = 1.85, max: Int = 2, inventory: Double = 2, errors: [String: Int] = ["checkout_create/409": 3], hitRate: Double = 0.5, ratio: Double = 0.7
    ) -> GateFigures {
        var figures = GateFigures(
            statementsPerRequest: ["listing": listing], statementsMax: ["listing": max], inventoryCalls: ["checkout_create": inventory],
            taxCalls: ["checkout_create": 0], errors: errors, storefrontHitRate: hitRate, timing: ["cached_listing_over_health": ratio])
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
        // One more failed request, or a new kind of failure, is a finding like one more statement.
        #expect(!Gate.compare(Self.figures(errors: ["checkout_create/409": 4]), baseline: baseline).passed)
        #expect(Gate.compare(Self.figures(errors: ["checkout_create/409": 3, "detail/500": 1]), baseline: baseline).failures == ["errors[detail/500]: baseline absent, now 1"])
        #expect(!Gate.compare(Self.figures(hitRate: 0.49), baseline: baseline).passed)
        #expect(Gate.compare(Self.figures(hitRate: 0.497), baseline: baseline).passed)
        let slower = Gate.compare(Self.figures(ratio: 0.5), baseline: baseline)
        #expect(slower.passed)
        #expect(slower.warnings.count == 1)
    }

    @Test("The gate's timing reference is the median of its samples")
    func timingMedian() {
        #expect(Gate.median([]) == nil)
        #expect(Gate.median([0.9, 0.2, 0.7]) == 0.7)
        #expect(Gate.median([0.9, 0.1, 0.7, 0.5]) == 0.6)
        // One wild sample does not move it.
        #expect(Gate.median([0.70, 0.71, 0.05, 0.69, 0.72]) == 0.70)
    }
}

extension GateFigures {
    init(
        statementsPerRequest: [String: Double], statementsMax: [String: Int], inventoryCalls: [String: Double], taxCalls: [String: Double],
        errors: [String: Int], storefrontHitRate: Double, timing: [String: Double]
    ) {
        let json = try! JSONEncoder().encode(Encoded(
            statementsPerRequest: statementsPerRequest, statementsMax: statementsMax, inventoryCalls: inventoryCalls, taxCalls: taxCalls,
            errors: errors, storefrontHitRate: storefrontHitRate, timing: timing))
        self = try! JSONDecoder().decode(GateFigures.self, from: json)
    }

    private struct Encoded: Encodable {
        var statementsPerRequest: [String: Double]
        var statementsMax: [String: Int]
        var inventoryCalls: [String: Double]
        var taxCalls: [String: Double]
        var errors: [String: Int]
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
