import Foundation
import Histogram
import Synchronization

/// The request kinds a report has a row for.
public enum RequestKind: String, Sendable, CaseIterable, Codable {
    case health, listing, detail, categories
    case checkoutCreate = "checkout_create", checkoutAddress = "checkout_address", checkoutComplete = "checkout_complete"
    case writePrice = "write_price", writeStock = "write_stock", writeEdit = "write_edit", writeAssign = "write_assign"
    case writeCreate = "write_create", writeArchive = "write_archive", writeCategory = "write_category"

    /// Cacheable storefront reads.
    static let storefront: [RequestKind] = [.listing, .detail, .categories]
    /// Admin writes.
    static let writes: [RequestKind] = [.writePrice, .writeStock, .writeEdit, .writeAssign, .writeCreate, .writeArchive, .writeCategory]
}

/// How a storefront read was answered, for the report: a cache tier's answer (`hit`, `stale`, and the
/// coalesced or shared forms of a hit), `304` (a conditional read answered from a cache tier, no body), or a
/// `miss` (loaded from the database, with or without a body). The server names the first; the status adds 304.
enum ReadOutcome {
    /// Outcomes served without a database load.
    static let cached: Set<String> = ["hit", "stale", "shared", "coalesced", "304"]

    static func classify(status: Int, serverOutcome: String?) -> String? {
        guard let serverOutcome else { return nil }
        if status == 304, serverOutcome != "miss", serverOutcome != "bypass" { return "304" }
        return serverOutcome
    }
}

/// What the server said about one request in its debug headers.
struct ServerCounters: Sendable {
    var statements: Int?
    var cache: String?
    var inventoryCalls: Int?
    var taxCalls: Int?
    /// Through an edge: how it answered (`hit`, `miss`, `pass`, `stale-if-error`); nil straight to the app.
    var edge: String?
}

/// How the edge answered a storefront read: its `X-Edge` (a 304 it answered itself counts as `304`).
enum EdgeOutcome {
    /// Outcomes the origin did not compute at request time.
    static let served: Set<String> = ["hit", "304", "stale-if-error"]

    static func classify(status: Int, edge: String?) -> String? {
        guard let edge else { return nil }
        return status == 304 && edge == "hit" ? "304" : edge
    }
}

/// Everything measured for one request kind.
struct KindStats: Sendable {
    /// Latency in microseconds, measured from the scheduled start in open-loop runs.
    var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    var ok = 0
    var errors: [String: Int] = [:]
    var statementsSum = 0
    var statementsMax = 0
    var statementsSeen = 0
    var cache: [String: Int] = [:]
    /// Through an edge: storefront reads by `EdgeOutcome`.
    var edge: [String: Int] = [:]
    var inventoryCalls = 0
    var taxCalls = 0
    var callsSeen = 0
}

/// Thread-safe collection of samples for a run.
final class Recorder: Sendable {
    private let stats = Mutex<[RequestKind: KindStats]>([:])

    func record(_ kind: RequestKind, micros: UInt64, status: Int, counters: ServerCounters) {
        stats.withLock { all in
            var entry = all[kind] ?? KindStats()
            _ = entry.histogram.record(max(1, micros))
            if (200..<300).contains(status) || status == 304 {
                entry.ok += 1
            } else {
                entry.errors[status == 0 ? "transport" : String(status), default: 0] += 1
            }
            if let statements = counters.statements {
                entry.statementsSum += statements
                entry.statementsMax = max(entry.statementsMax, statements)
                entry.statementsSeen += 1
            }
            let edge = EdgeOutcome.classify(status: status, edge: counters.edge)
            if let edge { entry.edge[edge, default: 0] += 1 }
            // Through an edge, the origin's cache outcome is news only when the origin answered this request
            // (on a hit the edge replays the header of its fill).
            if edge == nil || edge == "miss" || edge == "pass",
                let outcome = ReadOutcome.classify(status: status, serverOutcome: counters.cache)
            {
                entry.cache[outcome, default: 0] += 1
            }
            if let inventory = counters.inventoryCalls, let tax = counters.taxCalls {
                entry.inventoryCalls += inventory
                entry.taxCalls += tax
                entry.callsSeen += 1
            }
            all[kind] = entry
        }
    }

    /// An operation that was never sent because too many were already in flight (open loop).
    func dropped(_ kind: RequestKind) {
        stats.withLock { all in all[kind, default: KindStats()].errors["dropped", default: 0] += 1 }
    }

    var snapshot: [RequestKind: KindStats] { stats.withLock { $0 } }

    var completed: Int { stats.withLock { $0.values.reduce(0) { $0 + $1.ok + $1.errors.values.reduce(0, +) } } }
    var failed: Int { stats.withLock { $0.values.reduce(0) { $0 + $1.errors.values.reduce(0, +) } } }
}
