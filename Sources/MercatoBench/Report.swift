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
        let served = stats.cache.values.reduce(0, +)
        let cached = ["hit", "stale", "shared", "coalesced"].reduce(0) { $0 + (stats.cache[$1] ?? 0) }
        cacheHitRate = served > 0 && stats.cache["bypass"] != served ? Self.round(Double(cached) / Double(served)) : nil
        inventoryCallsPerRequest = stats.callsSeen > 0 ? Self.round(Double(stats.inventoryCalls) / Double(stats.callsSeen)) : nil
        taxCallsPerRequest = stats.callsSeen > 0 ? Self.round(Double(stats.taxCalls) / Double(stats.callsSeen)) : nil
    }

    static func round(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}

/// Everything one run measured, as printed (Markdown) and saved (JSON).
public struct BenchReport: Encodable, Sendable {
    public var settings: RunSettings
    public var products: Int
    public var categories: Int
    public var seconds: Double
    public var kinds: [String: KindReport]
    public var health: KindReport?
    /// Cacheable storefront reads answered by a cache tier, over all of them.
    public var storefrontHitRate: Double?
    /// The same run as the server counted it (`/metrics` before and after; includes its own scrape).
    public var server: ServerFigures?

    init(settings: RunSettings, catalog: BenchCatalog, stats: [RequestKind: KindStats], elapsed: Duration, health: (Double, KindStats)?) {
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
        let reads: [RequestKind] = [.listing, .detail, .categories]
        let served = reads.compactMap { stats[$0]?.cache.values.reduce(0, +) }.reduce(0, +)
        let hits = reads.compactMap { kind in stats[kind].map { s in ["hit", "stale", "shared", "coalesced"].reduce(0) { $0 + (s.cache[$1] ?? 0) } } }.reduce(0, +)
        storefrontHitRate = served > 0 ? KindReport.round(Double(hits) / Double(served)) : nil
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
        lines.append("\(settings.target) · store `\(settings.store)` (\(products) products, \(categories) categories) · \(load) · \(String(format: "%.1f", seconds)) s · Zipf s=\(settings.zipf) · seed \(settings.seed) · mix \(settings.mix)")
        lines.append("")
        lines.append("| endpoint | requests | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | SQL/req | cache hit | inventory calls/req | tax calls/req |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        var rows = RequestKind.allCases.compactMap { kind in kinds[kind.rawValue].map { (kind.rawValue, $0) } }
        if let health { rows.append(("health (ceiling)", health)) }
        for (name, row) in rows {
            let errors = row.errors.isEmpty ? "0" : row.errors.sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }.joined(separator: " ")
            lines.append("| \(name) | \(row.requests) | \(Self.number(row.rps)) | \(row.p50) | \(row.p90) | \(row.p99) | \(row.p999) | \(row.max) | \(errors) | "
                + "\(row.statementsPerRequest.map { Self.number($0) } ?? "–") | \(row.cacheHitRate.map { Self.percent($0) } ?? "–") | "
                + "\(row.inventoryCallsPerRequest.map { Self.number($0) } ?? "–") | \(row.taxCallsPerRequest.map { Self.number($0) } ?? "–") |")
        }
        lines.append("")
        if let rate = storefrontHitRate { lines.append("Storefront cache hit rate: \(Self.percent(rate)).") }
        if let server {
            let routes = server.statementsPerRequest.sorted { $0.key < $1.key }.map { "`\($0.key)` \(Self.number($0.value))" }.joined(separator: ", ")
            lines.append("From `/metrics`: cache hit rate \(server.cacheHitRate.map { Self.percent($0) } ?? "–"); SQL statements per request: \(routes).")
            if let causes = server.missesByCause {
                let figures = ["cold", "invalidated", "evicted"].map { "\($0) \(Self.percent(causes[$0] ?? 0))" }.joined(separator: ", ")
                lines.append("Storefront misses by cause, as shares of storefront lookups: \(figures).")
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
