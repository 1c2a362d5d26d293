import Foundation
import Histogram

/// The figures of one request kind.
public struct KindReport: Codable, Sendable, Equatable {
    public var requests: Int
    public var errors: [String: Int]
    public var rps: Double
    /// Latency percentiles in milliseconds.
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    /// Mean and maximum SQL statements per request (from `X-Mercato-Statements`).
    public var statementsPerRequest: Double?
    public var statementsMax: Int?
    /// Requests per cache outcome (from `X-Mercato-Cache`) and the share answered by a cache tier.
    public var cache: [String: Int]
    public var cacheHitRate: Double?
    /// Inventory and tax calls per request (from `X-Mercato-Inventory-Calls` / `X-Mercato-Tax-Calls`).
    public var inventoryCallsPerRequest: Double?
    public var taxCallsPerRequest: Double?

    init(_ stats: KindStats, seconds: Double) {
        let errorCount = stats.errors.values.reduce(0, +)
        requests = stats.ok + errorCount - (stats.errors["dropped"] ?? 0)
        errors = stats.errors
        rps = seconds > 0 ? Double(stats.ok) / seconds : 0
        let histogram = stats.histogram
        func ms(_ value: UInt64) -> Double { (Double(value) / 1000 * 100).rounded() / 100 }
        let empty = histogram.totalCount == 0
        p50 = empty ? 0 : ms(histogram.valueAtPercentile(50))
        p90 = empty ? 0 : ms(histogram.valueAtPercentile(90))
        p99 = empty ? 0 : ms(histogram.valueAtPercentile(99))
        p999 = empty ? 0 : ms(histogram.valueAtPercentile(99.9))
        max = empty ? 0 : ms(histogram.max)
        statementsPerRequest = stats.statementsSeen > 0 ? Self.round(Double(stats.statementsSum) / Double(stats.statementsSeen)) : nil
        statementsMax = stats.statementsSeen > 0 ? stats.statementsMax : nil
        cache = stats.cache
        cacheHitRate = Self.cachedShare(stats.cache)
        inventoryCallsPerRequest = stats.callsSeen > 0 ? Self.round(Double(stats.inventoryCalls) / Double(stats.callsSeen)) : nil
        taxCallsPerRequest = stats.callsSeen > 0 ? Self.round(Double(stats.taxCalls) / Double(stats.callsSeen)) : nil
    }

    static func round(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    /// Share of reads a cache tier answered (hit, stale, 304, and hits shared or coalesced); nil when
    /// nothing was cacheable (no outcome, or caching off).
    static func cachedShare(_ outcomes: [String: Int]) -> Double? {
        let served = outcomes.values.reduce(0, +)
        guard served > 0, outcomes["bypass"] != served else { return nil }
        return round(Double(outcomes.filter { ReadOutcome.cached.contains($0.key) }.values.reduce(0, +)) / Double(served))
    }

    /// Shares of `hit` (with `shared` and `coalesced`), `stale`, `304` and `miss`, for a table cell.
    static func outcomeCells(_ outcomes: [String: Int]) -> [String] {
        let served = Double(outcomes.values.reduce(0, +))
        guard served > 0, outcomes["bypass"] != Int(served) else { return ["–", "–", "–", "–"] }
        func share(_ names: [String]) -> String { BenchReport.percent(Double(names.reduce(0) { $0 + (outcomes[$1] ?? 0) }) / served) }
        return [share(["hit", "shared", "coalesced"]), share(["stale"]), share(["304"]), share(["miss"])]
    }
}

/// Everything one run measured, as printed (Markdown) and saved (JSON).
public struct BenchReport: Encodable, Sendable {
    public var settings: RunSettings
    public var products: Int
    public var categories: Int
    public var seconds: Double
    public var kinds: [String: KindReport]
    public var health: KindReport?
    /// Cacheable storefront reads answered by a cache tier (hit, stale or 304), over all of them.
    public var storefrontHitRate: Double?
    /// Storefront reads by outcome (`hit`, `stale`, `304`, `miss`, …), as counted from the answers.
    public var storefrontOutcomes: [String: Int]
    /// Checkout creates refused as sold out (409), over all checkout creates.
    public var checkoutSoldOutShare: Double?
    /// Stock writes the restock rule added (`RunState`), included in the `write_stock` row.
    public var restocks: Int
    /// The same run as the server counted it (`/metrics` before and after; includes its own scrape).
    public var server: ServerFigures?
    /// Through an edge (`settings.edge`): storefront reads by how the edge answered, and the share it
    /// answered without the origin computing them (hit, 304, stale-if-error).
    public var edgeOutcomes: [String: Int]?
    public var edgeHitRate: Double?

    /// Through an edge: storefront requests the origin served (fills, background refreshes, passes) per
    /// storefront read sent to the edge.
    public var originRequestsPerEdgeRead: Double? {
        guard let edgeOutcomes, let server else { return nil }
        let reads = edgeOutcomes.values.reduce(0, +)
        return reads > 0 ? KindReport.round(server.storefrontReads / Double(reads)) : nil
    }

    init(settings: RunSettings, catalog: BenchCatalog, stats: [RequestKind: KindStats], elapsed: Duration, health: (Double, KindStats)?, restocks: Int = 0) {
        self.settings = settings
        products = catalog.products.count
        categories = catalog.categories.count
        seconds = elapsed.seconds
        var kinds: [String: KindReport] = [:]
        for (kind, entry) in stats { kinds[kind.rawValue] = KindReport(entry, seconds: seconds) }
        self.kinds = kinds
        if let (rps, entry) = health {
            var report = KindReport(entry, seconds: settings.healthSeconds)
            report.rps = rps
            self.health = report
        }
        var outcomes: [String: Int] = [:]
        for kind in RequestKind.storefront { outcomes.merge(stats[kind]?.cache ?? [:], uniquingKeysWith: +) }
        storefrontOutcomes = outcomes
        storefrontHitRate = KindReport.cachedShare(outcomes)
        var edge: [String: Int] = [:]
        for kind in RequestKind.storefront { edge.merge(stats[kind]?.edge ?? [:], uniquingKeysWith: +) }
        if !edge.isEmpty {
            edgeOutcomes = edge
            let reads = edge.values.reduce(0, +)
            edgeHitRate = KindReport.round(Double(edge.filter { EdgeOutcome.served.contains($0.key) }.values.reduce(0, +)) / Double(reads))
        }
        let creates = stats[.checkoutCreate]
        let createCount = creates.map { $0.ok + $0.errors.values.reduce(0, +) - ($0.errors["dropped"] ?? 0) } ?? 0
        checkoutSoldOutShare = createCount > 0 ? KindReport.round(Double(creates?.errors["409"] ?? 0) / Double(createCount)) : nil
        self.restocks = restocks
    }

    /// Listing throughput as a share of `/health`'s: closed-loop runs only (an open loop's rate is the offered load, not capacity).
    public var listingShareOfHealth: Double? {
        guard case .closedLoop = settings.load, let health, health.rps > 0, let listing = kinds[RequestKind.listing.rawValue] else { return nil }
        return KindReport.round(listing.rps / health.rps)
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    /// "Key metrics at a glance": one row per request kind.
    public func markdown(title: String = "Key metrics at a glance") -> String {
        var lines = ["### \(title)", ""]
        let load: String = switch settings.load {
        case .openLoop(let rate): "open loop, \(Self.number(rate)) operations/s"
        case .closedLoop(let connections): "closed loop, \(connections) connection\(connections == 1 ? "" : "s")"
        }
        let maxProducts = settings.maxProducts.map { String($0) } ?? "all"
        lines.append("\(settings.target)\(settings.edge.map { " (storefront reads through the edge \($0))" } ?? "") · store `\(settings.store)` (\(products) products, max-products \(maxProducts), \(categories) categories) · \(load) · \(String(format: "%.1f", seconds)) s · Zipf s=\(settings.zipf) · seed \(settings.seed) · mix \(settings.mix)")
        lines.append("")
        lines.append("| endpoint | requests | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | SQL/req | hit | stale | 304 | miss | inventory calls/req | tax calls/req |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        var rows = RequestKind.allCases.compactMap { kind in kinds[kind.rawValue].map { (kind.rawValue, $0) } }
        if let health { rows.append(("health (ceiling)", health)) }
        for (name, row) in rows {
            let errors = row.errors.isEmpty ? "0" : row.errors.sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }.joined(separator: " ")
            lines.append("| \(name) | \(row.requests) | \(Self.number(row.rps)) | \(row.p50) | \(row.p90) | \(row.p99) | \(row.p999) | \(row.max) | \(errors) | "
                + "\(row.statementsPerRequest.map { Self.number($0) } ?? "–") | \(KindReport.outcomeCells(row.cache).joined(separator: " | ")) | "
                + "\(row.inventoryCallsPerRequest.map { Self.number($0) } ?? "–") | \(row.taxCallsPerRequest.map { Self.number($0) } ?? "–") |")
        }
        lines.append("")
        if let rate = storefrontHitRate {
            let cells = KindReport.outcomeCells(storefrontOutcomes)
            let reads = storefrontOutcomes.values.reduce(0, +)
            lines.append("Storefront reads (listing, detail, categories; \(reads) answers with a cache outcome): hit \(cells[0]), stale \(cells[1]), 304 \(cells[2]), miss \(cells[3]); "
                + "answered by a cache tier (hit + stale + 304): **\(Self.percent(rate))**.")
        }
        if let edgeOutcomes, let edgeHitRate {
            let reads = edgeOutcomes.values.reduce(0, +)
            let cells = edgeOutcomes.sorted { $0.key < $1.key }.map { "\($0.key) \(Self.percent(Double($0.value) / Double(reads)))" }.joined(separator: ", ")
            var line = "Through the edge (\(reads) storefront reads): \(cells); answered by the edge (hit + 304 + stale-if-error): **\(Self.percent(edgeHitRate))**"
            if let origin = originRequestsPerEdgeRead { line += "; origin storefront requests per edge read: \(Self.number(origin))" }
            lines.append(line + ". The hit/stale/304/miss columns count only the reads the origin answered.")
        }
        if let purges = server?.edgePurges {
            let counts = purges.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value))" }.joined(separator: ", ")
            let latency = server.flatMap { server in server.edgePurgeP50.map { p50 in
                "; acknowledged within p50 ≤ \(Self.number(p50)) ms, p99 ≤ \(server.edgePurgeP99.map { Self.number($0) } ?? "–") ms (histogram bucket bounds)" } } ?? ""
            lines.append("Edge purges: \(counts)\(latency).")
        }
        if let share = checkoutSoldOutShare {
            lines.append("Checkout creates refused as sold out (409): \(Self.percent(share)); the restock rule added \(restocks) stock writes (in `write_stock`).")
        }
        if let server {
            let routes = server.statementsPerRequest.sorted { $0.key < $1.key }.map { "`\($0.key)` \(Self.number($0.value))" }.joined(separator: ", ")
            lines.append("From `/metrics`: cache hit rate \(server.cacheHitRate.map { Self.percent($0) } ?? "–"); SQL statements per request: \(routes).")
            if let causes = server.missesByCause {
                let figures = ["cold", "invalidated", "evicted"].map { "\($0) \(Self.percent(causes[$0] ?? 0))" }.joined(separator: ", ")
                lines.append("Storefront misses by cause, as shares of storefront lookups: \(figures).")
            }
            if server.storefrontReads > 0 {
                let background = server.backgroundStatements.sorted { $0.key < $1.key }.map { "\($0.key) \(Self.number($0.value / server.storefrontReads))" }
                lines.append("Work outside requests, per storefront read (\(Int(server.storefrontReads)) reads): SQL statements \(background.isEmpty ? "none" : background.joined(separator: ", ")); "
                    + "storefront cache loads \(Self.number(server.storefrontLoads / server.storefrontReads)), of them background refreshes \(Self.number(server.storefrontRefreshes / server.storefrontReads)).")
            }
            if let reads = server.databaseReads {
                let replicaShare = (reads["replica"] ?? 0) / max(1, (reads["replica"] ?? 0) + (reads["fallback"] ?? 0))
                let figures = reads.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value))" }.joined(separator: ", ")
                lines.append("Database reads: \(figures); replicas served \(Self.percent(replicaShare)) of the replica-eligible reads.")
            }
        }
        if let share = listingShareOfHealth { lines.append("Listing throughput: \(Self.number(share))× of `/health`.") }
        return lines.joined(separator: "\n")
    }

    static func number(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : (value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value))
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f %%", value * 100) }
}
