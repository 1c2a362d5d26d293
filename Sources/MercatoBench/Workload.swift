import Foundation
import MercatoCore

/// What the workload draws from: the store's products (listing order), categories and a few
/// purchasable variants, discovered through the public API before the run.
struct BenchCatalog: Sendable {
    struct Variant: Sendable {
        var id: String
        var currency: String
    }

    var store: String
    var products: [String]
    var categories: [String]
    /// Variants of the most popular products (by Zipf rank), for checkouts and admin writes.
    var hotVariants: [Variant]

    static func discover(client: BenchClient, store: String, maxProducts: Int, hotProducts: Int) async throws -> BenchCatalog {
        let tree = await client.send(.GET, "/v1/stores/\(store)/categories")
        guard tree.status == 200 else { throw BenchError.target("GET /v1/stores/\(store)/categories answered \(tree.status); is the store seeded?") }
        var categories: [String] = []
        func walk(_ nodes: [[String: Any]]) {
            for node in nodes {
                if let slug = node["slug"] as? String { categories.append(slug) }
                walk(node["children"] as? [[String: Any]] ?? [])
            }
        }
        walk(tree.object["categories"] as? [[String: Any]] ?? [])

        var products: [String] = []
        var cursor: String?
        repeat {
            let path = "/v1/stores/\(store)/products?limit=100&sort=position" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = await client.send(.GET, path)
            guard page.status == 200 else { throw BenchError.target("GET \(path) answered \(page.status)") }
            let object = page.object
            products += (object["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = object["next_cursor"] as? String
        } while cursor != nil && products.count < maxProducts
        guard !products.isEmpty else { throw BenchError.target("store '\(store)' lists no products") }
        products = Array(products.prefix(maxProducts))

        var hot: [Variant] = []
        for product in products.prefix(hotProducts) {
            let detail = await client.send(.GET, "/v1/stores/\(store)/products/\(product)")
            for variant in detail.object["variants"] as? [[String: Any]] ?? [] {
                guard let id = variant["id"] as? String, let price = variant["price"] as? [String: Any], let currency = price["currency"] as? String else { continue }
                hot.append(Variant(id: id, currency: currency))
                break
            }
        }
        return BenchCatalog(store: store, products: products, categories: categories, hotVariants: hot)
    }
}

/// One unit of work, fully decided when it is generated (so a seed fixes the whole run).
struct Operation: Sendable {
    enum Kind: String, Sendable { case listing, detail, categories, checkout, write }

    var kind: Kind
    /// Zipf rank: of a category (listing), product (detail) or hot variant (checkout, write).
    var rank: Int
    var sort: String
    var followCursor: Bool
    /// Writes: a price change or a restock.
    var restock: Bool
    var amount: Int
    var key: String

    var firstRequest: RequestKind {
        switch kind {
        case .listing: .listing
        case .detail: .detail
        case .categories: .categories
        case .checkout: .checkoutCreate
        case .write: .adminWrite
        }
    }
}

/// Draws operations from a seeded generator: Zipf(s) over categories, products and hot variants.
struct OperationSource: Sendable {
    let mix: WorkloadMix
    let categories: Zipf
    let products: Zipf
    let variants: Zipf?
    static let sorts = ["position", "price_asc", "price_desc", "newest", "bestselling"]

    init(catalog: BenchCatalog, mix: WorkloadMix, exponent: Double, canWrite: Bool) {
        var mix = mix
        if catalog.hotVariants.isEmpty { mix.checkout = 0; mix.write = 0 }
        if !canWrite { mix.write = 0 }
        self.mix = mix
        // Rank 0 of the category distribution is the whole store (no category filter).
        categories = Zipf(count: catalog.categories.count + 1, exponent: exponent)
        products = Zipf(count: catalog.products.count, exponent: exponent)
        variants = catalog.hotVariants.isEmpty ? nil : Zipf(count: catalog.hotVariants.count, exponent: exponent)
    }

    /// What a run with `settings` draws from: writes only when it has an admin token.
    init(catalog: BenchCatalog, settings: RunSettings) {
        self.init(catalog: catalog, mix: settings.mix, exponent: settings.zipf, canWrite: settings.adminToken != nil)
    }

    func next(using rng: inout SeededGenerator) -> Operation {
        let kind = mix.total > 0 ? mix.pick(using: &rng) : .listing
        let rank: Int = switch kind {
        case .listing: categories.sample(using: &rng)
        case .detail: products.sample(using: &rng)
        case .categories: 0
        case .checkout, .write: variants?.sample(using: &rng) ?? 0
        }
        return Operation(
            kind: kind, rank: rank, sort: Self.sorts[Int.random(in: 0..<Self.sorts.count, using: &rng)],
            followCursor: Int.random(in: 0..<100, using: &rng) < 20, restock: Int.random(in: 0..<2, using: &rng) == 0,
            amount: Int.random(in: 500...30_000, using: &rng), key: String(rng.next(), radix: 36))
    }
}

/// Runs operations against the target and records every request.
struct OperationExecutor: Sendable {
    let client: BenchClient
    let catalog: BenchCatalog
    let adminToken: String?
    let recorder: Recorder

    /// Runs `operation`; its first request's latency counts from `scheduled` (open loop), the rest from their own start.
    func run(_ operation: Operation, scheduled: ContinuousClock.Instant) async {
        let store = "/v1/stores/\(catalog.store)"
        switch operation.kind {
        case .listing:
            let category = operation.rank == 0 ? "" : "&category=\(catalog.categories[operation.rank - 1])"
            let path = "\(store)/products?limit=24&sort=\(operation.sort)\(category)"
            let page = await request(.listing, .GET, path, since: scheduled)
            if operation.followCursor, page.status == 200, let cursor = page.object["next_cursor"] as? String {
                _ = await request(.listing, .GET, "\(path)&cursor=\(cursor)", since: .now)
            }
        case .detail:
            _ = await request(.detail, .GET, "\(store)/products/\(catalog.products[operation.rank])", since: scheduled)
        case .categories:
            _ = await request(.categories, .GET, "\(store)/categories", since: scheduled)
        case .checkout:
            let variant = catalog.hotVariants[operation.rank]
            let created = await request(
                .checkoutCreate, .POST, "\(store)/checkouts", since: scheduled,
                json: #"{"email": "bench@example.com", "lines": [{"variant_id": "\#(variant.id)", "quantity": 1}]}"#)
            guard created.status == 201 else { return }
            let object = created.object
            guard let id = object["id"] as? String, let token = object["token"] as? String, let market = object["market"] as? String else { return }
            let address = await request(
                .checkoutAddress, .PUT, "/v1/checkouts/\(id)/shipping-address", since: .now, headers: [("X-Checkout-Token", token)],
                json: #"{"name": "Bench Buyer", "line1": "1 Load Street", "city": "Loadville", "postal_code": "12345", "country": "\#(market)"}"#)
            guard address.status == 200 else { return }
            _ = await request(
                .checkoutComplete, .POST, "/v1/checkouts/\(id)/complete", since: .now,
                headers: [("X-Checkout-Token", token), ("Idempotency-Key", "bench-\(operation.key)")])
        case .write:
            guard let adminToken else { return }
            let variant = catalog.hotVariants[operation.rank]
            let auth = [("Authorization", "Bearer \(adminToken)")]
            if operation.restock {
                _ = await request(.adminWrite, .PUT, "/v1/admin/variants/\(variant.id)/stock", since: scheduled, headers: auth, json: #"{"quantity": 1000}"#)
            } else {
                _ = await request(
                    .adminWrite, .PUT, "/v1/admin/variants/\(variant.id)/price", since: scheduled, headers: auth,
                    json: #"{"currency": "\#(variant.currency)", "amount": \#(operation.amount)}"#)
            }
        }
    }

    private func request(
        _ kind: RequestKind, _ method: HTTPMethodName, _ path: String, since start: ContinuousClock.Instant,
        headers: [(String, String)] = [], json: String? = nil
    ) async -> Answer {
        let answer = await client.send(method.nio, path, headers: headers, json: json)
        recorder.record(kind, micros: Self.micros(ContinuousClock.now - start), status: answer.status, counters: answer.counters)
        return answer
    }

    static func micros(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000_000)
    }
}

/// The methods the workload uses (keeps NIO types out of the operation code).
enum HTTPMethodName: Sendable {
    case GET, POST, PUT
}
