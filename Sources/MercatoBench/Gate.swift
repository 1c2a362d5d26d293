import Foundation

/// The figures CI guards: deterministic counters (fail on any change) and timing ratios (warn only).
public struct GateFigures: Codable, Sendable, Equatable {
    /// Mean SQL statements per request, by request kind, in the fixed sequential scenario.
    public var statementsPerRequest: [String: Double]
    /// Most SQL statements any single request of the kind ran (a cache miss).
    public var statementsMax: [String: Int]
    /// External calls per request, by checkout step (`checkout_create`, `checkout_address`, `checkout_complete`).
    public var inventoryCalls: [String: Double]
    public var taxCalls: [String: Double]
    /// Failed requests by `kind/status` (e.g. `checkout_create/409`) in the fixed scenario: a sequential
    /// run with a fixed seed fails the same requests on every machine, so any change is a finding.
    public var errors: [String: Int]
    /// Share of storefront reads answered by a cache tier (hit, stale or 304) in the fixed scenario.
    public var storefrontHitRate: Double
    /// Timing ratios measured in one run (cached listing req/s over /health req/s): reported, never failed on.
    public var timing: [String: Double]

    public init(deterministic report: BenchReport, timing: [String: Double]) {
        var statements: [String: Double] = [:], maxima: [String: Int] = [:], inventory: [String: Double] = [:], tax: [String: Double] = [:]
        var errors: [String: Int] = [:]
        for (kind, row) in report.kinds {
            for (status, count) in row.errors where count > 0 { errors["\(kind)/\(status)"] = count }
            if let value = row.statementsPerRequest { statements[kind] = value }
            if let value = row.statementsMax { maxima[kind] = value }
            if kind.hasPrefix("checkout"), let calls = row.inventoryCallsPerRequest, let taxCalls = row.taxCallsPerRequest {
                inventory[kind] = calls
                tax[kind] = taxCalls
            }
        }
        statementsPerRequest = statements
        statementsMax = maxima
        inventoryCalls = inventory
        taxCalls = tax
        self.errors = errors
        storefrontHitRate = report.storefrontHitRate ?? 0
        self.timing = timing
    }
}

/// The outcome of comparing a run against the committed baseline.
public struct GateVerdict: Sendable {
    public var failures: [String] = []
    public var warnings: [String] = []
    public var checked: [String] = []
    public var passed: Bool { failures.isEmpty }
}

public enum Gate {
    /// The deterministic scenario's settings: one connection, `operations` operations, seed 42, writes
    /// included. Writes need the target's admin token: without one they drop out of the seeded stream, every
    /// later operation changes, and the figures can no longer match the baseline.
    public static func scenario(target: String, adminToken: String?, operations: Int) throws -> RunSettings {
        guard let adminToken, !adminToken.isEmpty else {
            throw BenchError.usage("the gate scenario includes admin writes and needs the target's admin token (--token)")
        }
        return RunSettings(
            target: target, load: .closedLoop(connections: 1), operations: operations, connections: 1, seed: 42,
            adminToken: adminToken, healthSeconds: 0, progress: false)
    }

    /// Absolute tolerance of the hit rate. The scenario is sequential with a fixed seed, so the rate is
    /// the same on every machine, unless the run is so slow that entries reach their 60 s TTL; half a
    /// point absorbs that without hiding a real change (one uncached endpoint moves it by several points).
    public static let hitRateTolerance = 0.005
    /// Timing ratios below baseline × (1 − this) are reported as warnings.
    public static let timingAlert = 0.05
    /// Timing samples per gate run; the reference is their median, so one noisy sample moves nothing.
    public static let timingSamples = 5

    /// The median of `samples` (the mean of the middle two for an even count); nil when there are none.
    public static func median(_ samples: [Double]) -> Double? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    public static func compare(_ measured: GateFigures, baseline: GateFigures) -> GateVerdict {
        var verdict = GateVerdict()
        func exact<T: Equatable & CustomStringConvertible>(_ name: String, _ now: [String: T], _ then: [String: T]) {
            for key in Set(now.keys).union(then.keys).sorted() {
                let a = then[key], b = now[key]
                if a == b {
                    verdict.checked.append("\(name)[\(key)] = \(b.map(\.description) ?? "–")")
                } else {
                    verdict.failures.append("\(name)[\(key)]: baseline \(a.map(\.description) ?? "absent"), now \(b.map(\.description) ?? "absent")")
                }
            }
        }
        exact("statements per request", measured.statementsPerRequest, baseline.statementsPerRequest)
        exact("statements max", measured.statementsMax, baseline.statementsMax)
        exact("inventory calls", measured.inventoryCalls, baseline.inventoryCalls)
        exact("tax calls", measured.taxCalls, baseline.taxCalls)
        exact("errors", measured.errors, baseline.errors)
        let drift = measured.storefrontHitRate - baseline.storefrontHitRate
        if abs(drift) > hitRateTolerance {
            verdict.failures.append(String(format: "storefront hit rate: baseline %.4f, now %.4f (tolerance ±%.3f)", baseline.storefrontHitRate, measured.storefrontHitRate, hitRateTolerance))
        } else {
            verdict.checked.append(String(format: "storefront hit rate = %.4f (baseline %.4f)", measured.storefrontHitRate, baseline.storefrontHitRate))
        }
        for (name, then) in baseline.timing.sorted(by: { $0.key < $1.key }) {
            guard let now = measured.timing[name] else { continue }
            let line = String(format: "%@: %.3f (baseline %.3f, %+.1f %%)", name, now, then, (now / then - 1) * 100)
            if now < then * (1 - timingAlert) { verdict.warnings.append(line) } else { verdict.checked.append(line) }
        }
        return verdict
    }

    public static func load(_ url: URL) throws -> GateFigures {
        try JSONDecoder().decode(GateFigures.self, from: Data(contentsOf: url))
    }

    public static func save(_ figures: GateFigures, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(figures).write(to: url)
    }
}
