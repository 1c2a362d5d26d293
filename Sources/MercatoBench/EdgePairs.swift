import Foundation
import Histogram
import MercatoCore
import Synchronization

/// The write/read-pair scenario through an edge: is any read after a write's response older than the write?
///
/// Each pair makes sure a product's detail and a listing page showing its card are cached at the edge
/// (read until the edge answers `hit`), writes one fact of the product to the origin (a price, a stock
/// level, or `in_stock` flipped by setting every variant's stock), and right after the write's response
/// reads both through the edge. The edge's answer is stale when what it shows of the product differs from
/// the origin's answer read after it (the origin answers its own writes fresh); a stale pair is then read
/// again until fresh, to measure how long the edge lagged. Workers own disjoint products, so no other
/// write touches a product between its write and its checks.
public struct EdgePairSettings: Sendable, Encodable {
    public var target: String
    public var edge: String
    public var store: String
    public var pairs: Int
    public var workers: Int
    public var adminToken: String

    public init(target: String, edge: String, store: String = "demo", pairs: Int = 10_000, workers: Int = 4, adminToken: String) {
        self.target = target
        self.edge = edge
        self.store = store
        self.pairs = pairs
        self.workers = workers
        self.adminToken = adminToken
    }

    enum CodingKeys: String, CodingKey { case target, edge, store, pairs, workers }
}

/// What the pairs found, by kind of write.
public struct EdgePairReport: Encodable, Sendable {
    public struct Kind: Encodable, Sendable {
        public var pairs = 0
        /// Reads through the edge (detail and card) that showed the product older than its write.
        public var staleReads = 0
        /// The stale reads by what was stale and how the edge answered it (`detail:hit`, `card:miss`, …).
        public var staleBy: [String: Int] = [:]
        /// From the write's response to the edge's first fresh answer for the detail, in ms.
        public var freshP50: Double = 0
        public var freshP99: Double = 0
        public var freshMax: Double = 0
    }

    public var settings: EdgePairSettings
    public var seconds: Double
    public var kinds: [String: Kind]
    /// Edge answers before the writes that were hits (the purge had an object to remove) over all of them.
    public var warmHitShare: Double
    /// Pairs that could not run (a write or read failed), by reason.
    public var errors: [String: Int]

    public var staleReads: Int { kinds.values.reduce(0) { $0 + $1.staleReads } }
    public var pairs: Int { kinds.values.reduce(0) { $0 + $1.pairs } }

    public func markdown() -> String {
        var lines = ["### Write/read pairs through the edge", ""]
        lines.append("\(settings.target) behind \(settings.edge) · store `\(settings.store)` · \(pairs) pairs, \(settings.workers) workers · \(String(format: "%.1f", seconds)) s")
        lines.append("")
        lines.append("| write | pairs | stale reads | write response → fresh at the edge p50 ms | p99 ms | max ms |")
        lines.append("|---|---|---|---|---|---|")
        for name in ["price", "stock", "in_stock"] {
            guard let kind = kinds[name] else { continue }
            let by = kind.staleBy.isEmpty ? "" : " (" + kind.staleBy.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ") + ")"
            lines.append("| \(name) | \(kind.pairs) | \(kind.staleReads)\(by) | \(kind.freshP50) | \(kind.freshP99) | \(kind.freshMax) |")
        }
        lines.append("")
        lines.append("Reads before the writes answered by the edge (so each purge had an object to remove): \(BenchReport.percent(warmHitShare)).")
        if !errors.isEmpty { lines.append("Pairs not run: \(errors.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")).") }
        return lines.joined(separator: "\n")
    }
}

public enum EdgePairs {
    public static func run(_ settings: EdgePairSettings) async throws -> EdgePairReport {
        let origin = BenchClient(base: settings.target, connections: settings.workers * 2)
        let edge = BenchClient(base: settings.edge, connections: settings.workers * 2)
        do {
            let report = try await run(settings, origin: origin, edge: edge)
            await origin.shutdown()
            await edge.shutdown()
            return report
        } catch {
            await origin.shutdown()
            await edge.shutdown()
            throw error
        }
    }

    static func run(_ settings: EdgePairSettings, origin: BenchClient, edge: BenchClient) async throws -> EdgePairReport {
        let store = "/v1/stores/\(settings.store)"
        let page = "\(store)/products?limit=100"
        let listing = await origin.send(.GET, page)
        let products = ((listing.object["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        guard products.count >= settings.workers else { throw BenchError.target("\(settings.target)\(page) lists \(products.count) products; need \(settings.workers)") }
        // `--edge` equal to `--target` runs the same pairs against the origin alone: the control.
        if settings.edge != settings.target, await edge.send(.GET, page).counters.edge == nil {
            throw BenchError.target("\(settings.edge) does not answer like an edge with deploy/varnish/mercato.vcl (no X-Edge header)")
        }
        let results = Results()
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<settings.workers {
                let owned = products.enumerated().filter { $0.offset % settings.workers == worker }.map(\.element)
                let count = settings.pairs / settings.workers + (worker < settings.pairs % settings.workers ? 1 : 0)
                group.addTask {
                    let pairWorker = Worker(origin: origin, edge: edge, store: store, page: page, auth: [("Authorization", "Bearer \(settings.adminToken)")], results: results)
                    await pairWorker.run(products: owned, pairs: count, seed: UInt64(worker))
                }
            }
        }
        let seconds = (ContinuousClock.now - started).seconds
        return results.report(settings: settings, seconds: seconds)
    }

    final class Results: Sendable {
        struct State {
            var histograms: [String: Histogram<UInt64>] = [:]
            var kinds: [String: EdgePairReport.Kind] = [:]
            var warm = 0, warmHits = 0
            var errors: [String: Int] = [:]
        }

        let state = Mutex(State())

        func pair(_ kind: String, stale: [String], fresh: Duration) {
            state.withLock { state in
                state.kinds[kind, default: .init()].pairs += 1
                state.kinds[kind, default: .init()].staleReads += stale.count
                for reason in stale { state.kinds[kind, default: .init()].staleBy[reason, default: 0] += 1 }
                var histogram = state.histograms[kind] ?? Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                _ = histogram.record(max(1, OperationExecutor.micros(fresh)))
                state.histograms[kind] = histogram
            }
        }

        func warmed(hit: Bool) { state.withLock { $0.warm += 1; if hit { $0.warmHits += 1 } } }
        func error(_ reason: String) { state.withLock { $0.errors[reason, default: 0] += 1 } }

        func report(settings: EdgePairSettings, seconds: Double) -> EdgePairReport {
            state.withLock { state in
                var kinds = state.kinds
                for (name, histogram) in state.histograms {
                    func ms(_ value: UInt64) -> Double { (Double(value) / 1000 * 100).rounded() / 100 }
                    kinds[name]?.freshP50 = ms(histogram.valueAtPercentile(50))
                    kinds[name]?.freshP99 = ms(histogram.valueAtPercentile(99))
                    kinds[name]?.freshMax = ms(histogram.max)
                }
                return EdgePairReport(
                    settings: settings, seconds: seconds, kinds: kinds, warmHitShare: state.warm > 0 ? Double(state.warmHits) / Double(state.warm) : 0,
                    errors: state.errors)
            }
        }
    }

    struct Worker: Sendable {
        let origin: BenchClient
        let edge: BenchClient
        let store: String
        let page: String
        let auth: [(String, String)]
        let results: Results

        func run(products: [String], pairs: Int, seed: UInt64) async {
            var rng = SeededGenerator(seed: 0xED6E &+ seed)
            for index in 0..<pairs {
                let product = products[index % products.count]
                let kind = ["price", "stock", "in_stock"][index % 3]
                do {
                    try await pair(kind, product: product, amount: Int64.random(in: 100...99_999, using: &rng), index: index)
                } catch {
                    results.error("\(error)")
                }
            }
        }

        /// Why a pair could not run, without ids, so the report adds like failures up.
        struct PairError: Error, CustomStringConvertible {
            let description: String
        }

        func pair(_ kind: String, product: String, amount: Int64, index: Int) async throws {
            let detailPath = "\(store)/products/\(product)"
            let listPath = kind == "in_stock" ? "\(store)/products?limit=100&in_stock=true" : page
            // Cached at the edge before the write, or the purge would have nothing to remove.
            for path in [detailPath, listPath] {
                var hit = false
                for _ in 0..<3 where !hit { hit = await edge.send(.GET, path).counters.edge == "hit" }
                results.warmed(hit: hit)
            }
            let detail = await origin.send(.GET, detailPath).object
            guard let variants = detail["variants"] as? [[String: Any]], let first = variants.first?["id"] as? String else {
                throw PairError(description: "detail of \(product) unreadable")
            }
            switch kind {
            case "price":
                let currency = ((variants.first?["price"] as? [String: Any])?["currency"] as? String) ?? "EUR"
                try await write(.PUT, "/v1/admin/variants/\(first)/price", #"{"currency": "\#(currency)", "amount": \#(amount)}"#)
            case "stock":
                try await write(.PUT, "/v1/admin/variants/\(first)/stock", #"{"quantity": \#(10 + amount % 50)}"#)
            default:
                // Alternately every variant sold out, and the first restocked.
                let soldOut = detail["in_stock"] as? Bool ?? true
                if soldOut {
                    for variant in variants.compactMap({ $0["id"] as? String }) {
                        try await write(.PUT, "/v1/admin/variants/\(variant)/stock", #"{"quantity": 0}"#)
                    }
                } else {
                    try await write(.PUT, "/v1/admin/variants/\(first)/stock", #"{"quantity": 5}"#)
                }
            }
            let written = ContinuousClock.now
            var stale: [String] = []
            var fresh: Duration?
            for attempt in 0..<250 {
                let (detailStale, cardStale, answered) = try await check(product: product, detailPath: detailPath, listPath: listPath)
                if attempt == 0 { stale = [detailStale.map { "detail:\($0)" }, cardStale.map { "card:\($0)" }].compactMap { $0 } }
                if detailStale == nil && cardStale == nil {
                    fresh = answered - written
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            guard let fresh else { throw PairError(description: "edge still stale 5 s after a write") }
            results.pair(kind, stale: stale, fresh: fresh)
        }

        private func write(_ method: HTTPMethodName, _ path: String, _ json: String) async throws {
            var answer = await origin.send(method.nio, path, headers: auth, json: json)
            // The admin write limit (MERCATO_ADMIN_WRITE_RATE): wait and send again, a bounded number of times.
            for _ in 0..<20 where answer.status == 429 {
                try await Task.sleep(for: .milliseconds(100))
                answer = await origin.send(method.nio, path, headers: auth, json: json)
            }
            guard answer.status == 200 else { throw PairError(description: "a \(method) \(path.split(separator: "/").last ?? "") write answered \(answer.status)") }
        }

        /// Whether the edge shows the product as the origin does (read after it): its detail, and its card
        /// on the listing page (present or absent, price and in_stock); for each, nil when it does, else how
        /// the edge answered.
        /// Also returns when the edge's answers had arrived (the origin's are read after them).
        private func check(product: String, detailPath: String, listPath: String) async throws -> (String?, String?, ContinuousClock.Instant) {
            async let edgeDetail = edge.send(.GET, detailPath)
            async let edgeList = edge.send(.GET, listPath)
            let (detailAtEdge, listAtEdge) = await (edgeDetail, edgeList)
            let answered = ContinuousClock.now
            async let originDetail = origin.send(.GET, detailPath)
            async let originList = origin.send(.GET, listPath)
            let (detailAtOrigin, listAtOrigin) = await (originDetail, originList)
            guard [detailAtEdge, listAtEdge, detailAtOrigin, listAtOrigin].allSatisfy({ $0.status == 200 }) else {
                throw PairError(description: "a read answered \([detailAtEdge, listAtEdge, detailAtOrigin, listAtOrigin].map(\.status))")
            }
            func card(_ answer: Answer) -> String {
                let item = (answer.object["items"] as? [[String: Any]])?.first { $0["id"] as? String == product }
                guard let item else { return "absent" }
                let price = item["price"] as? [String: Any]
                return "\(price?["currency"] as? String ?? "-") \(price?["amount"] as? Int ?? -1) \(item["in_stock"] as? Bool ?? false)"
            }
            return (
                detailAtEdge.body == detailAtOrigin.body ? nil : detailAtEdge.counters.edge ?? "?",
                card(listAtEdge) == card(listAtOrigin) ? nil : listAtEdge.counters.edge ?? "?",
                answered
            )
        }
    }
}
