import Foundation

/// Counters read from the server's `/metrics` (Prometheus text), so figures are available even when
/// debug headers are off (`MERCATO_ENV=production`).
public struct MetricsSnapshot: Sendable {
    /// Sample value by metric name plus sorted labels, e.g. `mercato_db_statements_total{http_route="/x"}`.
    var samples: [String: Double]
    /// Histogram buckets of the metrics in `bucketsKept` (cumulative counts by series, `le` label included).
    var buckets: [String: Double] = [:]

    /// Histograms whose buckets are kept, for percentiles (the others' are skipped: they are most of the text).
    static let bucketsKept = ["mercato_edge_purge_duration_seconds_bucket{"]

    /// Parses the text exposition format (comments and most histogram buckets are skipped).
    static func parse(_ text: String) -> MetricsSnapshot {
        var samples: [String: Double] = [:], buckets: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = String(line[..<space])
            if series.contains("_bucket{") {
                if bucketsKept.contains(where: series.hasPrefix) { buckets[series] = value }
                continue
            }
            samples[series] = value
        }
        return MetricsSnapshot(samples: samples, buckets: buckets)
    }

    /// The `quantile` (0…1) of histogram `name` over all its series, as the upper bound of the bucket it falls in.
    func quantile(_ quantile: Double, of name: String) -> Double? {
        var byBound: [Double: Double] = [:]
        for (series, count) in buckets where series.hasPrefix(name + "_bucket{") {
            guard let le = Self.labels(series)["le"] else { continue }
            byBound[le == "+Inf" ? .infinity : Double(le) ?? .infinity, default: 0] += count
        }
        guard let total = byBound[.infinity], total > 0 else { return nil }
        return byBound.keys.sorted().first { byBound[$0, default: 0] >= quantile * total }
    }

    /// Sums of `name` grouped by one label's value.
    func sum(_ name: String, by label: String, where filter: [String: String] = [:]) -> [String: Double] {
        var result: [String: Double] = [:]
        for (series, value) in samples where series.hasPrefix(name + "{") {
            let labels = Self.labels(series)
            guard filter.allSatisfy({ labels[$0.key] == $0.value }), let key = labels[label] else { continue }
            result[key, default: 0] += value
        }
        return result
    }

    static func labels(_ series: String) -> [String: String] {
        guard let open = series.firstIndex(of: "{"), series.hasSuffix("}") else { return [:] }
        var labels: [String: String] = [:]
        // Label values here are route templates and words: no escaped quotes or commas inside.
        for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return labels
    }

    /// What grew between two scrapes.
    func delta(since earlier: MetricsSnapshot) -> MetricsSnapshot {
        MetricsSnapshot(
            samples: samples.merging(earlier.samples.mapValues { -$0 }) { $0 + $1 },
            buckets: buckets.merging(earlier.buckets.mapValues { -$0 }) { $0 + $1 })
    }
}

/// Server-side figures of a run, from `/metrics` deltas.
public struct ServerFigures: Codable, Sendable {
    /// Requests and SQL statements per request, by route template.
    public var requests: [String: Double]
    public var statementsPerRequest: [String: Double]
    /// Storefront cache lookups by outcome (`near:hit`, `any:miss`, …) and the share served by a tier.
    public var cacheLookups: [String: Double]
    public var cacheHitRate: Double?
    /// Storefront misses by cause (`cold`, `invalidated`, `evicted`) as shares of all storefront lookups.
    public var missesByCause: [String: Double]?
    /// External calls by service and operation.
    public var externalCalls: [String: Double]
    /// Storefront reads the server answered (listing, detail and category routes).
    public var storefrontReads: Double
    /// SQL statements run outside any request, by the work that ran them (`refresh`, `rollup`, `sweep`,
    /// `release`, `probe`).
    public var backgroundStatements: [String: Double]
    /// Storefront cache loads from the database (misses and refreshes), and the refreshes among them that
    /// ran in the background.
    public var storefrontLoads: Double
    public var storefrontRefreshes: Double
    /// With read replicas: database reads by target (`primary`, `replica`), replica-eligible reads the primary
    /// served (`fallback`), and waits for a replica to replay a write (`fence-wait:replayed`, `fence-wait:expired`).
    public var databaseReads: [String: Double]?
    /// With an edge: purges by outcome (`sent`, `failed`, `retried`) and the acknowledged ones' latency
    /// (p50, p99 in ms, as histogram bucket bounds).
    public var edgePurges: [String: Double]?
    public var edgePurgeP50: Double?
    public var edgePurgeP99: Double?

    init(_ delta: MetricsSnapshot) {
        let purges = delta.sum("mercato_edge_purges_total", by: "outcome")
        if !purges.isEmpty {
            edgePurges = purges
            edgePurgeP50 = delta.quantile(0.5, of: "mercato_edge_purge_duration_seconds").map { $0 * 1000 }
            edgePurgeP99 = delta.quantile(0.99, of: "mercato_edge_purge_duration_seconds").map { $0 * 1000 }
        }
        requests = delta.sum("http_server_request_duration_seconds_count", by: "http_route")
        storefrontReads = requests.filter { $0.key.hasPrefix("/v1/stores/") && !$0.key.hasSuffix("/checkouts") }.values.reduce(0, +)
        backgroundStatements = delta.sum("mercato_db_background_statements_total", by: "work").filter { $0.value > 0 }
        storefrontLoads = delta.sum("mercato_cache_loads_total", by: "cache")["storefront"] ?? 0
        storefrontRefreshes = delta.sum("mercato_cache_refreshes_total", by: "cache")["storefront"] ?? 0
        let statements = delta.sum("mercato_db_statements_total", by: "http_route")
        var perRequest: [String: Double] = [:]
        for (route, count) in requests where count > 0 { perRequest[route] = KindReport.round((statements[route] ?? 0) / count) }
        statementsPerRequest = perRequest
        var lookups: [String: Double] = [:]
        for (series, value) in delta.samples where series.hasPrefix("mercato_cache_lookups_total{") {
            let labels = MetricsSnapshot.labels(series)
            guard labels["cache"] == nil || labels["cache"] == "storefront" else { continue }
            lookups["\(labels["tier"] ?? "?"):\(labels["outcome"] ?? "?")", default: 0] += value
        }
        cacheLookups = lookups
        let total = lookups.values.reduce(0, +)
        let hits = lookups.filter { !$0.key.hasSuffix(":miss") }.values.reduce(0, +)
        cacheHitRate = total > 0 ? KindReport.round(hits / total) : nil
        let causes = delta.sum("mercato_cache_misses_total", by: "cause", where: ["cache": "storefront"])
        missesByCause = total > 0 && !causes.isEmpty ? causes.mapValues { KindReport.round($0 / total) } : nil
        var calls: [String: Double] = [:]
        for (series, value) in delta.samples where series.hasPrefix("mercato_external_calls_total{") {
            let labels = MetricsSnapshot.labels(series)
            calls["\(labels["service"] ?? "?").\(labels["operation"] ?? "?")", default: 0] += value
        }
        externalCalls = calls.filter { $0.value > 0 }
        var reads = delta.sum("mercato_db_reads_total", by: "target")
        if !reads.isEmpty {
            reads["fallback"] = delta.samples["mercato_db_replica_fallbacks_total"] ?? 0
            for (outcome, count) in delta.sum("mercato_db_replica_fence_waits_total", by: "outcome") { reads["fence-wait:\(outcome)"] = count }
            databaseReads = reads
        }
    }
}

extension BenchClient {
    /// The server's `/metrics`, or nil when it has none.
    func scrape() async -> MetricsSnapshot? {
        let answer = await send(.GET, "/metrics")
        guard answer.status == 200 else { return nil }
        return MetricsSnapshot.parse(String(decoding: answer.body, as: UTF8.self))
    }
}
