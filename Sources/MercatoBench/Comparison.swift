import Foundation

/// The environments `bench compare` starts its two servers with (on top of `ServerProcess`'s cleaned copy).
public struct ComparisonEnvironments: Sendable, Equatable {
    /// Cache off and the sequential checkout; never Redis.
    public var before: [String: String]
    /// The full architecture, with Redis when `REDIS_URL` is set.
    public var after: [String: String]

    /// From the invoking `environment`. With Redis, the run gets its own key prefix (`MERCATO_REDIS_PREFIX`,
    /// `run` by default a new UUID): entries, generations and invalidations another run left in the same Redis
    /// (they outlive it by the cache TTL) would otherwise be served as hits.
    public init(environment: [String: String], run: String = UUID().uuidString.lowercased()) {
        var shared: [String: String] = ["MERCATO_DB_POOL_SIZE": environment["MERCATO_DB_POOL_SIZE"] ?? "12"]
        if let url = environment["DATABASE_URL"], !url.isEmpty { shared["DATABASE_URL"] = url }
        var full = shared
        if let url = environment["REDIS_URL"], !url.isEmpty {
            full["REDIS_URL"] = url
            full["MERCATO_REDIS_PREFIX"] = "mercato-bench:\(run):"
        }
        before = shared.merging(["MERCATO_CACHE": "off", "MERCATO_CHECKOUT": "sequential"]) { $1 }
        after = full
    }
}

/// Before/after figures side by side, with ratios (after ÷ before).
public struct BenchComparison: Sendable {
    public var before: BenchReport
    public var after: BenchReport

    public init(before: BenchReport, after: BenchReport) {
        self.before = before
        self.after = after
    }

    public func markdown() -> String {
        var lines = ["### Before → after", ""]
        lines.append("| endpoint | p50 ms | p99 ms | p99 after/before | req/s | SQL/req | cache hit | inventory calls/req |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for kind in RequestKind.allCases {
            guard let b = before.kinds[kind.rawValue], let a = after.kinds[kind.rawValue] else { continue }
            func pair(_ x: Double?, _ y: Double?) -> String { "\(x.map { BenchReport.number($0) } ?? "–") → \(y.map { BenchReport.number($0) } ?? "–")" }
            let ratio = b.p99 > 0 ? BenchReport.number(a.p99 / b.p99) : "–"
            let hit = "\(b.cacheHitRate.map { BenchReport.percent($0) } ?? "–") → \(a.cacheHitRate.map { BenchReport.percent($0) } ?? "–")"
            lines.append("| \(kind.rawValue) | \(pair(b.p50, a.p50)) | \(pair(b.p99, a.p99)) | \(ratio) | \(pair(b.rps, a.rps)) | "
                + "\(pair(b.statementsPerRequest, a.statementsPerRequest)) | \(hit) | \(pair(b.inventoryCallsPerRequest, a.inventoryCallsPerRequest)) |")
        }
        lines.append("")
        if let bh = before.health, let ah = after.health {
            lines.append("`/health` ceiling: \(BenchReport.number(bh.rps)) → \(BenchReport.number(ah.rps)) req/s (closed loop, same connections).")
        }
        if let rate = after.storefrontHitRate { lines.append("Storefront cache hit rate after: \(BenchReport.percent(rate)).") }
        return lines.joined(separator: "\n")
    }
}

extension BenchComparison {
    /// The direct run against the same workload with storefront reads through an edge.
    public static func edgeLine(direct: BenchReport, edge: BenchReport) -> String {
        func storefront(_ report: BenchReport) -> Double {
            RequestKind.storefront.reduce(0) { $0 + (report.kinds[$1.rawValue]?.rps ?? 0) }
        }
        let ratio = storefront(direct) > 0 ? BenchReport.number(storefront(edge) / storefront(direct)) : "–"
        var line = "Storefront throughput through the edge: \(BenchReport.number(storefront(edge))) req/s against \(BenchReport.number(storefront(direct))) direct (\(ratio)×)"
        if let rate = edge.edgeHitRate { line += "; answered by the edge: \(BenchReport.percent(rate))" }
        if let origin = edge.originRequestsPerEdgeRead { line += "; origin storefront requests per read: \(BenchReport.number(origin))" }
        return line + "."
    }
}
