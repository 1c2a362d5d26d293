import Foundation
import MercatoCore

/// The operations a workload is made of: storefront reads, a checkout, and one kind per admin write.
public enum OperationKind: String, Sendable, CaseIterable, Codable {
    case listing, detail, categories, checkout
    /// A variant's price (`PUT /v1/admin/variants/{id}/price`).
    case price
    /// A variant's stock (`PUT …/stock`); the restock rule adds more of these (see `RunState`).
    case stock
    /// A product's name and description (`PATCH /v1/admin/products/{id}`).
    case edit
    /// A product moved into another category (`PATCH … {"category_ids": …}`).
    case assign
    /// A new product (`POST /v1/admin/products`).
    case create
    /// A product the run created, archived (`DELETE /v1/admin/products/{id}`).
    case archive
    /// A category renamed and moved (`PUT /v1/admin/categories/{id}`).
    case category

    /// The admin writes, in mix order.
    public static let writes: [OperationKind] = [.price, .stock, .edit, .assign, .create, .archive, .category]

    var isWrite: Bool { Self.writes.contains(self) }

    /// The report row of this kind's first request.
    var firstRequest: RequestKind {
        switch self {
        case .listing: .listing
        case .detail: .detail
        case .categories: .categories
        case .checkout: .checkoutCreate
        case .price: .writePrice
        case .stock: .writeStock
        case .edit: .writeEdit
        case .assign: .writeAssign
        case .create: .writeCreate
        case .archive: .writeArchive
        case .category: .writeCategory
        }
    }
}

/// What the workload draws from, discovered through the API before the run.
struct BenchCatalog: Sendable {
    /// A purchasable variant of a popular product, with the stock it had when discovered.
    struct Variant: Sendable {
        var id: String
        var currency: String
        var stock: Int64 = 0
    }

    /// Who reads: anonymous buyers, or holders of a storefront token of a customer group.
    struct Audience: Sendable {
        var group: String
        var token: String?
        /// Category slugs this audience's tree shows (rank 0 of a listing is the whole store, not one of these).
        var categories: [String]
    }

    /// A market the store sells in; the first is the default (sent without a `market` parameter).
    struct Market: Sendable {
        var code: String
        var currency: String
    }

    /// An admin view of a category: what `PUT /v1/admin/categories/{id}` needs to rename or move it.
    struct AdminCategory: Sendable {
        var id: String
        var slug: String
        var name: String
        var kind: String
        var parentID: String?
        var position: Int
        var groups: [String]?
        var markets: [String]?
        var isPublicLeaf: Bool
    }

    var store: String
    /// Product ids in listing order: a product's Zipf rank is its place here.
    var products: [String]
    var audiences: [Audience]
    var markets: [Market]
    /// Variants of the most popular products (by Zipf rank), for checkouts and price and stock writes.
    var hotVariants: [Variant]
    /// Every category (renames and moves); empty without an admin token.
    var adminCategories: [AdminCategory] = []

    /// Categories a product can be moved into or created in: public leaves.
    var assignable: [AdminCategory] { adminCategories.filter(\.isPublicLeaf) }

    /// Category slugs of anonymous buyers' tree.
    var categories: [String] { audiences.first?.categories ?? [] }

    init(store: String, products: [String], categories: [String], hotVariants: [Variant], markets: [Market] = [Market(code: "", currency: "EUR")]) {
        self.store = store
        self.products = products
        self.audiences = [Audience(group: "public", token: nil, categories: categories)]
        self.markets = markets
        self.hotVariants = hotVariants
    }

    /// `maxProducts` nil: every listed product. With `adminToken`, also storefront tokens for the other
    /// customer groups and the admin category list, so reads cover every audience and writes every kind.
    static func discover(client: BenchClient, store: String, maxProducts: Int?, hotProducts: Int, adminToken: String?) async throws -> BenchCatalog {
        let base = "/v1/stores/\(store)"
        var catalog = BenchCatalog(store: store, products: [], categories: try await tree(client: client, base: base, token: nil), hotVariants: [])

        var cursor: String?
        repeat {
            let path = "\(base)/products?limit=100&sort=position" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = await client.send(.GET, path)
            guard page.status == 200 else { throw BenchError.target("GET \(path) answered \(page.status)") }
            let object = page.object
            catalog.products += (object["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = object["next_cursor"] as? String
        } while cursor != nil && catalog.products.count < (maxProducts ?? .max)
        guard !catalog.products.isEmpty else { throw BenchError.target("store '\(store)' lists no products") }
        if let maxProducts { catalog.products = Array(catalog.products.prefix(maxProducts)) }

        // Markets: the store's default first (sent without a parameter, so its code is not needed), then
        // every market the store answers for.
        var markets: [Market] = []
        let first = await client.send(.GET, "\(base)/products?limit=1")
        markets.append(Market(code: "", currency: Self.firstPriceCurrency(first.object) ?? "EUR"))
        for market in MercatoCore.Market.all {
            let answer = await client.send(.GET, "\(base)/products?limit=1&market=\(market.code)")
            guard answer.status == 200, let currency = Self.firstPriceCurrency(answer.object) else { continue }
            markets.append(Market(code: market.code, currency: currency))
        }
        catalog.markets = markets

        for product in catalog.products.prefix(hotProducts) {
            let detail = await client.send(.GET, "\(base)/products/\(product)")
            let variants = (detail.object["variants"] as? [[String: Any]] ?? []).compactMap { variant -> Variant? in
                guard let id = variant["id"] as? String, let price = variant["price"] as? [String: Any], let currency = price["currency"] as? String else { return nil }
                return Variant(id: id, currency: currency, stock: (variant["stock"] as? NSNumber)?.int64Value ?? 0)
            }
            if let variant = variants.first(where: { $0.stock > 0 }) ?? variants.first { catalog.hotVariants.append(variant) }
        }

        guard let adminToken else { return catalog }
        let auth = [("Authorization", "Bearer \(adminToken)")]
        for group in ["member", "wholesale"] {
            let issued = await client.send(.POST, "/v1/admin/storefront-tokens", headers: auth, json: #"{"customer_group": "\#(group)", "ttl_seconds": 86400}"#)
            guard issued.status == 201, let token = issued.object["token"] as? String else {
                throw BenchError.target("POST /v1/admin/storefront-tokens (\(group)) answered \(issued.status); is --token the store's admin token?")
            }
            catalog.audiences.append(Audience(group: group, token: token, categories: try await tree(client: client, base: base, token: token)))
        }
        let listed = await client.send(.GET, "/v1/admin/categories", headers: auth)
        guard listed.status == 200 else { throw BenchError.target("GET /v1/admin/categories answered \(listed.status)") }
        let items = listed.object["items"] as? [[String: Any]] ?? []
        let parents = Set(items.compactMap { $0["parent_id"] as? String })
        catalog.adminCategories = items.compactMap { item in
            guard let id = item["id"] as? String, let slug = item["slug"] as? String, let name = item["name"] as? String else { return nil }
            let visibility = item["visibility"] as? [String: Any] ?? [:]
            let groups = visibility["customer_groups"] as? [String], markets = visibility["markets"] as? [String]
            return AdminCategory(
                id: id, slug: slug, name: name, kind: item["kind"] as? String ?? "dynamic", parentID: item["parent_id"] as? String,
                position: (item["position"] as? NSNumber)?.intValue ?? 0, groups: groups, markets: markets,
                isPublicLeaf: !parents.contains(id) && groups == nil && markets == nil)
        }
        return catalog
    }

    private static func tree(client: BenchClient, base: String, token: String?) async throws -> [String] {
        let tree = await client.send(.GET, "\(base)/categories", headers: token.map { [("X-Storefront-Token", $0)] } ?? [])
        guard tree.status == 200 else { throw BenchError.target("GET \(base)/categories answered \(tree.status); is the store seeded?") }
        var slugs: [String] = []
        func walk(_ nodes: [[String: Any]]) {
            for node in nodes {
                if let slug = node["slug"] as? String { slugs.append(slug) }
                walk(node["children"] as? [[String: Any]] ?? [])
            }
        }
        walk(tree.object["categories"] as? [[String: Any]] ?? [])
        return slugs
    }

    private static func firstPriceCurrency(_ page: [String: Any]) -> String? {
        ((page["items"] as? [[String: Any]])?.first?["price"] as? [String: Any])?["currency"] as? String
    }
}

/// One unit of work, fully decided when it is generated (so a seed fixes the whole run).
struct Operation: Sendable {
    var kind: OperationKind
    /// Zipf rank: of a category (listing), product (detail, edit, assign) or hot variant (checkout, price, stock);
    /// uniform over categories for a category write.
    var rank: Int
    /// Zipf rank of the category an assign or create puts the product into.
    var targetRank: Int = 0
    var sort: String = "position"
    var followCursor: Bool = false
    /// Listings: `in_stock=true`.
    var inStockOnly: Bool = false
    /// Index into the catalog's markets (0: the store's default, sent without a parameter).
    var market: Int = 0
    /// Index into the catalog's audiences (0: anonymous).
    var audience: Int = 0
    /// Reads: send `If-None-Match` with the ETag last seen for the same request, as a returning browser does.
    var conditional: Bool = false
    var amount: Int = 0
    var key: String = ""

    var firstRequest: RequestKind { kind.firstRequest }
}

/// How reads vary besides what they read (shares of storefront reads).
struct ReadShapes: Sendable {
    /// Listings with `in_stock=true`.
    var inStockOnly = 0.2
    /// Reads in a market other than the store's default.
    var otherMarket = 0.3
    /// Reads with a storefront token (member or wholesale), when the run has them.
    var customerGroup = 0.1
    /// Reads sent with `If-None-Match` (when an ETag of the same request is known).
    var conditional = 0.25
}

/// Draws operations from a seeded generator: Zipf(s) over categories, products and hot variants.
struct OperationSource: Sendable {
    let mix: WorkloadMix
    let shapes: ReadShapes
    let catalog: BenchCatalog
    let products: Zipf
    let variants: Zipf?
    let assignable: Zipf?
    /// Per audience: rank 0 is the whole store (no category filter), then its tree's categories.
    let categoryRanks: [Zipf]
    static let sorts = ["position", "price_asc", "price_desc", "newest", "bestselling"]

    init(catalog: BenchCatalog, mix: WorkloadMix, exponent: Double, canWrite: Bool, shapes: ReadShapes = ReadShapes()) {
        var excluded: [OperationKind] = canWrite ? [] : OperationKind.writes
        if catalog.hotVariants.isEmpty { excluded += [.checkout, .price, .stock] }
        if catalog.assignable.isEmpty { excluded += [.assign, .create, .archive] }
        if catalog.adminCategories.isEmpty { excluded.append(.category) }
        self.mix = mix.without(excluded)
        self.shapes = shapes
        self.catalog = catalog
        categoryRanks = catalog.audiences.map { Zipf(count: $0.categories.count + 1, exponent: exponent) }
        products = Zipf(count: catalog.products.count, exponent: exponent)
        variants = catalog.hotVariants.isEmpty ? nil : Zipf(count: catalog.hotVariants.count, exponent: exponent)
        assignable = catalog.assignable.isEmpty ? nil : Zipf(count: catalog.assignable.count, exponent: exponent)
    }

    /// What a run with `settings` draws from: writes only when it has an admin token.
    init(catalog: BenchCatalog, settings: RunSettings) {
        self.init(catalog: catalog, mix: settings.mix, exponent: settings.zipf, canWrite: settings.adminToken != nil)
    }

    func next(using rng: inout SeededGenerator) -> Operation {
        let kind = mix.total > 0 ? mix.pick(using: &rng) : .listing
        // Every field is drawn in the same order whatever the kind, so kinds do not shift each other's streams.
        let audience = catalog.audiences.count > 1 && Double.random(in: 0..<1, using: &rng) < shapes.customerGroup
            ? Int.random(in: 1..<catalog.audiences.count, using: &rng) : 0
        let market = catalog.markets.count > 1 && Double.random(in: 0..<1, using: &rng) < shapes.otherMarket
            ? Int.random(in: 1..<catalog.markets.count, using: &rng) : 0
        let inStockOnly = Double.random(in: 0..<1, using: &rng) < shapes.inStockOnly
        let conditional = Double.random(in: 0..<1, using: &rng) < shapes.conditional
        let sort = Self.sorts[Int.random(in: 0..<Self.sorts.count, using: &rng)]
        let followCursor = Int.random(in: 0..<100, using: &rng) < 20
        let amount = Int.random(in: 500...30_000, using: &rng)
        let key = String(rng.next(), radix: 36)
        let target = assignable?.sample(using: &rng) ?? 0
        let rank: Int = switch kind {
        case .listing: categoryRanks[audience].sample(using: &rng)
        case .detail, .edit, .assign: products.sample(using: &rng)
        case .categories, .create, .archive: 0
        case .checkout, .price, .stock: variants?.sample(using: &rng) ?? 0
        case .category: Int.random(in: 0..<max(1, catalog.adminCategories.count), using: &rng)
        }
        let isRead = kind == .listing || kind == .detail || kind == .categories
        return Operation(
            kind: kind, rank: rank, targetRank: target, sort: sort, followCursor: followCursor, inStockOnly: kind == .listing && inStockOnly,
            market: isRead ? market : 0, audience: isRead ? audience : 0, conditional: isRead && conditional, amount: amount, key: key)
    }
}

/// Runs operations against the target and records every request.
struct OperationExecutor: Sendable {
    let client: BenchClient
    /// Where storefront reads go: `client`, or an edge in front of it.
    var reads: BenchClient
    let catalog: BenchCatalog
    let adminToken: String?
    let recorder: Recorder
    let state: RunState

    /// Runs `operation`; its first request's latency counts from `scheduled` (open loop), the rest from their own start.
    func run(_ operation: Operation, scheduled: ContinuousClock.Instant) async {
        let store = "/v1/stores/\(catalog.store)"
        let auth = adminToken.map { [("Authorization", "Bearer \($0)")] } ?? []
        switch operation.kind {
        case .listing:
            let categories = catalog.audiences[operation.audience].categories
            let category = operation.rank == 0 ? "" : "&category=\(categories[operation.rank - 1])"
            let path = "\(store)/products?limit=24&sort=\(operation.sort)\(category)\(operation.inStockOnly ? "&in_stock=true" : "")\(marketParameter(operation))"
            let page = await read(.listing, path, operation, since: scheduled)
            if operation.followCursor, page.status == 200, let cursor = page.object["next_cursor"] as? String {
                _ = await read(.listing, "\(path)&cursor=\(cursor)", operation, since: .now)
            }
        case .detail:
            _ = await read(.detail, "\(store)/products/\(catalog.products[operation.rank])\(marketParameter(operation, first: true))", operation, since: scheduled)
        case .categories:
            _ = await read(.categories, "\(store)/categories\(marketParameter(operation, first: true))", operation, since: scheduled)
        case .checkout:
            await checkout(operation, store: store, auth: auth, scheduled: scheduled)
        case .price:
            let variant = catalog.hotVariants[operation.rank]
            _ = await request(
                .writePrice, .PUT, "/v1/admin/variants/\(variant.id)/price", since: scheduled, headers: auth,
                json: #"{"currency": "\#(variant.currency)", "amount": \#(operation.amount)}"#)
        case .stock:
            let variant = catalog.hotVariants[operation.rank]
            let quantity = RunState.restockLevel / 4 + operation.amount % RunState.restockLevel
            let answer = await request(.writeStock, .PUT, "/v1/admin/variants/\(variant.id)/stock", since: scheduled, headers: auth, json: #"{"quantity": \#(quantity)}"#)
            if answer.status == 200 { state.stockSet(variant.id, to: Int64(quantity)) }
        case .edit:
            let product = catalog.products[operation.rank]
            _ = await request(
                .writeEdit, .PATCH, "/v1/admin/products/\(product)", since: scheduled, headers: auth,
                json: #"{"name": "Bench edit \#(operation.key)", "description": "Edited by the benchmark (\#(operation.key))."}"#)
        case .assign:
            let product = catalog.products[operation.rank], category = catalog.assignable[operation.targetRank]
            _ = await request(.writeAssign, .PATCH, "/v1/admin/products/\(product)", since: scheduled, headers: auth, json: #"{"category_ids": ["\#(category.id)"]}"#)
        case .create:
            _ = await create(operation, auth: auth, since: scheduled)
        case .archive:
            // The run archives what it created, so no product that reads are drawn from disappears; if
            // nothing is left to archive, it creates one first (both are recorded, each as its own kind).
            var product = state.takeCreated()
            var since = scheduled
            if product == nil {
                product = await create(operation, auth: auth, since: scheduled) ? state.takeCreated() : nil
                since = .now
            }
            guard let product else { return }
            _ = await request(.writeArchive, .DELETE, "/v1/admin/products/\(product)", since: since, headers: auth)
        case .category:
            let category = catalog.adminCategories[operation.rank]
            let renamed = state.toggleCategory(category.id)
            var body: [String: Any] = [
                "slug": category.slug, "name": renamed ? "\(category.name) (renamed)" : category.name, "kind": category.kind,
                "position": category.position + (renamed ? 1 : 0),
            ]
            if let parent = category.parentID { body["parent_id"] = parent }
            var visibility: [String: Any] = [:]
            if let groups = category.groups { visibility["customer_groups"] = groups }
            if let markets = category.markets { visibility["markets"] = markets }
            if !visibility.isEmpty { body["visibility"] = visibility }
            let json = String(decoding: (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
            _ = await request(.writeCategory, .PUT, "/v1/admin/categories/\(category.id)", since: scheduled, headers: auth, json: json)
        }
    }

    /// create → shipping address → complete; a sale of the bench's last known unit, or a 409, restocks the variant.
    private func checkout(_ operation: Operation, store: String, auth: [(String, String)], scheduled: ContinuousClock.Instant) async {
        let variant = catalog.hotVariants[operation.rank]
        let created = await request(
            .checkoutCreate, .POST, "\(store)/checkouts", since: scheduled,
            json: #"{"email": "bench@example.com", "lines": [{"variant_id": "\#(variant.id)", "quantity": 1}]}"#)
        if created.status == 201 || created.status == 409, state.sold(variant.id, soldOut: created.status == 409), adminToken != nil {
            let answer = await request(
                .writeStock, .PUT, "/v1/admin/variants/\(variant.id)/stock", since: .now, headers: auth, json: #"{"quantity": \#(RunState.restockLevel)}"#)
            state.restocked(variant.id, quantity: answer.status == 200 ? Int64(RunState.restockLevel) : nil)
        }
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
    }

    /// A new product in a public category, priced in every currency the store sells in; true when created.
    private func create(_ operation: Operation, auth: [(String, String)], since: ContinuousClock.Instant) async -> Bool {
        let category = catalog.assignable[operation.targetRank]
        let prices = Set(catalog.markets.map(\.currency)).sorted().map { #"{"currency": "\#($0)", "amount": \#(operation.amount)}"# }
        let answer = await request(
            .writeCreate, .POST, "/v1/admin/products", since: since, headers: auth,
            json: #"{"slug": "bench-\#(operation.key)", "name": "Bench product \#(operation.key)", "description": "Created by the benchmark.", "#
                + #""category_ids": ["\#(category.id)"], "variants": [{"sku": "BENCH-\#(operation.key)", "prices": [\#(prices.joined(separator: ","))], "stock": 50}]}"#)
        guard answer.status == 201, let id = answer.object["id"] as? String else { return false }
        state.created(id)
        return true
    }

    private func marketParameter(_ operation: Operation, first: Bool = false) -> String {
        guard operation.market > 0 else { return "" }
        return (first ? "?" : "&") + "market=\(catalog.markets[operation.market].code)"
    }

    /// A storefront read as the operation's audience, conditional when it says so and an ETag is known.
    private func read(_ kind: RequestKind, _ path: String, _ operation: Operation, since start: ContinuousClock.Instant) async -> Answer {
        var headers: [(String, String)] = []
        if let token = catalog.audiences[operation.audience].token { headers.append(("X-Storefront-Token", token)) }
        let key = "\(operation.audience) \(path)"
        if operation.conditional, let etag = state.etag(key) { headers.append(("If-None-Match", etag)) }
        // The edge strips the origin's debug headers unless a trusted (loopback) client asks for them.
        if reads !== client { headers.append(("X-Edge-Debug", "1")) }
        let answer = await request(kind, .GET, path, since: start, headers: headers, via: reads)
        if answer.status == 200, let etag = answer.etag { state.remember(etag: etag, for: key) }
        return answer
    }

    private func request(
        _ kind: RequestKind, _ method: HTTPMethodName, _ path: String, since start: ContinuousClock.Instant,
        headers: [(String, String)] = [], json: String? = nil, via target: BenchClient? = nil
    ) async -> Answer {
        let answer = await (target ?? client).send(method.nio, path, headers: headers, json: json)
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
    case GET, POST, PUT, PATCH, DELETE
}
