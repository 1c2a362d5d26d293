import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoCheckout
import MercatoCore
import MercatoHTTP
import MercatoInventory
import MercatoInventoryContract
import MercatoStorage
import Testing
import TestSupport

/// One test per row of the dependency table in docs/caching.md: after each kind of write, the parts
/// it changes are reloaded (a miss) and show the write, and the parts it does not change stay cached
/// (a hit) and still show the truth (live facts are filled in).
@Suite("Cache dependency table")
struct DependencyTableTests {
    /// The pages a row looks at, warmed before the write.
    struct Pages {
        let store: String
        let product: String
        let other: String
        var detail: String { "\(store)/products/\(product)" }
        var otherDetail: String { "\(store)/products/\(other)" }
        var byPosition: String { "\(store)/products?limit=10" }
        var cheapest: String { "\(store)/products?sort=price_asc&limit=5" }
        var dearest: String { "\(store)/products?sort=price_desc&limit=5" }
        var inStock: String { "\(store)/products?limit=10&in_stock=true" }
        var tree: String { "\(store)/categories" }
        var all: [String] { [detail, otherDetail, byPosition, cheapest, dearest, inStock, tree] }
    }

    /// Seeds, picks a product on the first position page that is on neither first price page, warms every
    /// page, runs `write`, and hands over the pages for the checks.
    static func row(
        _ backend: Backend, write: @escaping @Sendable (any TestClientProtocol, Fixture, Pages) async throws -> Void,
        check: @escaping @Sendable (any TestClientProtocol, Fixture, Pages) async throws -> Void
    ) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 40) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let inStockFirst = try await client.json("\(store)/products?limit=10&in_stock=true").decode(ListingPage.self).items
            let positionFirst = Set(try await client.json("\(store)/products?limit=10").decode(ListingPage.self).items.map(\.id))
            let byPosition = inStockFirst.filter { positionFirst.contains($0.id) }
            // Six: the pages hold 5 and the row after (whether a next page exists).
            let cheapest = try await client.json("\(store)/products?sort=price_asc&limit=6").decode(ListingPage.self).items
            let dearest = try await client.json("\(store)/products?sort=price_desc&limit=6").decode(ListingPage.self).items
            // Strictly between the two price pages and the rows after them: a product tied with a page's last
            // price could sort onto it, so a move from that price rightly invalidates the page (ids are random,
            // so ties vary per run).
            let cheapestPrices = cheapest.compactMap { $0.price?.amount }, dearestPrices = dearest.compactMap { $0.price?.amount }
            let cheapestHigh = try #require(cheapestPrices.max())
            let dearestLow = try #require(dearestPrices.min())
            let candidates = byPosition.filter { item in
                guard let price = item.price?.amount else { return false }
                return cheapestHigh < price && price < dearestLow
            }.map(\.id)
            try #require(candidates.count >= 2)
            let pages = Pages(store: store, product: candidates[0], other: candidates[1])
            for page in pages.all {
                _ = try await client.json(page)
                #expect(try await client.json(page).cache == "hit", "\(page) is warm")
            }
            try await write(client, fixture, pages)
            try await check(client, fixture, pages)
        }
    }

    static func outcome(_ client: any TestClientProtocol, _ path: String) async throws -> (cache: String, response: HTTPAnswer) {
        let response = try await client.json(path)
        #expect(response.status == .ok, "\(path): \(response.detail)")
        return (response.cache ?? "-", response)
    }

    static func variants(_ client: any TestClientProtocol, _ fixture: Fixture, _ product: String) async throws -> [String] {
        let detail = try await client.admin("/v1/admin/products/\(product)", token: fixture.token)
        return (detail.object["variants"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    /// A variant of the product with stock (so a new positive level crosses no zero).
    static func stockedVariant(_ client: any TestClientProtocol, _ pages: Pages) async throws -> String {
        let variants = try await client.json(pages.detail).object["variants"] as? [[String: Any]] ?? []
        return try #require(variants.first { ($0["stock"] as? Int ?? 0) > 0 }?["id"] as? String)
    }

    static func setStock(_ client: any TestClientProtocol, _ fixture: Fixture, _ variant: String, _ quantity: Int) async throws {
        let set = try await client.admin("/v1/admin/variants/\(variant)/stock", token: fixture.token, method: .put, body: #"{"quantity": \#(quantity)}"#)
        #expect(set.status == .ok, "\(set.detail)")
    }

    static func item(_ response: HTTPAnswer, _ id: String) throws -> ListingItem? {
        try response.decode(ListingPage.self).items.first { $0.id == id }
    }

    // MARK: rows

    /// Price change: the product's detail is reloaded; pages sorted by something else stay cached with the new
    /// price filled in; a price-sorted page is reloaded only if the price moved into or out of its range.
    @Test(arguments: Backend.available)
    func priceChange(backend: Backend) async throws {
        try await Self.row(backend) { client, fixture, pages in
            for variant in try await Self.variants(client, fixture, pages.product) {
                let set = try await client.admin("/v1/admin/variants/\(variant)/price", token: fixture.token, method: .put, body: #"{"currency": "EUR", "amount": 9999999}"#)
                #expect(set.status == .ok)
            }
        } check: { client, _, pages in
            let detail = try await Self.outcome(client, pages.detail)
            #expect(try detail.cache == "miss" && detail.response.decode(ProductDetail.self).price?.amount == 9_999_999)
            let byPosition = try await Self.outcome(client, pages.byPosition)
            #expect(try byPosition.cache == "hit" && Self.item(byPosition.response, pages.product)?.price?.amount == 9_999_999)
            let dearest = try await Self.outcome(client, pages.dearest)
            #expect(dearest.cache == "miss", "the new price moved into the dearest page")
            #expect(dearest.response.items.first?["id"] as? String == pages.product)
            let cheapest = try await Self.outcome(client, pages.cheapest)
            #expect(cheapest.cache == "hit", "neither the old nor the new price is in the cheapest page's range")
            #expect(!cheapest.response.items.contains { $0["id"] as? String == pages.product })
            #expect(try await Self.outcome(client, pages.otherDetail).cache == "hit")
            #expect(try await Self.outcome(client, pages.inStock).cache == "hit")
            #expect(try await Self.outcome(client, pages.tree).cache == "hit")
        }
    }

    /// Stock change that crosses no zero: nothing is reloaded; the detail shows the new level.
    @Test(arguments: Backend.available)
    func stockChangeWithoutZeroCrossing(backend: Backend) async throws {
        try await Self.row(backend) { client, fixture, pages in
            try await Self.setStock(client, fixture, try await Self.stockedVariant(client, pages), 777)
        } check: { client, fixture, pages in
            let variant = try await Self.stockedVariant(client, pages)
            let detail = try await Self.outcome(client, pages.detail)
            #expect(detail.cache == "hit")
            #expect(((detail.response.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant })?["stock"] as? Int == 777)
            for page in [pages.byPosition, pages.cheapest, pages.dearest, pages.inStock, pages.tree, pages.otherDetail] {
                #expect(try await Self.outcome(client, page).cache == "hit", "\(page)")
            }
        }
    }

    /// Zero crossing: only the membership of `in_stock=true` listings changes; every other page stays cached
    /// and shows `in_stock: false`.
    @Test(arguments: Backend.available)
    func zeroCrossing(backend: Backend) async throws {
        try await Self.row(backend) { client, fixture, pages in
            for variant in try await Self.variants(client, fixture, pages.product) { try await Self.setStock(client, fixture, variant, 0) }
        } check: { client, _, pages in
            let inStock = try await Self.outcome(client, pages.inStock)
            #expect(try inStock.cache == "miss" && Self.item(inStock.response, pages.product) == nil)
            let byPosition = try await Self.outcome(client, pages.byPosition)
            #expect(try byPosition.cache == "hit" && Self.item(byPosition.response, pages.product)?.inStock == false)
            let detail = try await Self.outcome(client, pages.detail)
            #expect(try detail.cache == "hit" && detail.response.decode(ProductDetail.self).inStock == false)
            for page in [pages.cheapest, pages.dearest, pages.tree, pages.otherDetail] {
                #expect(try await Self.outcome(client, page).cache == "hit", "\(page)")
            }
        }
    }

    /// Asks for `path` until it is cached (a category page is first answered uncached, to learn the
    /// category's id), at most three times.
    static func warm(_ client: any TestClientProtocol, _ path: String) async throws {
        for _ in 0..<3 where try await client.json(path).cache != "hit" {}
        #expect(try await client.json(path).cache == "hit", "\(path) is warm")
    }

    /// Product create, edit and archive, and a category assignment change: the product's detail and the
    /// listing pages that hold it, or whose range it entered, are reloaded; every other page stays cached.
    @Test(arguments: Backend.available)
    func productWritesReloadOnlyThePagesTheyChange(backend: Backend) async throws {
        for change in ["create", "edit", "archive", "categories"] {
            try await Self.row(backend) { client, fixture, pages in
                // Every public top category's page: the category change moves the product into one that does not hold it.
                let categories = try await client.json("\(pages.store)/categories").object["categories"] as? [[String: Any]] ?? []
                var target: String?
                for category in categories {
                    let slug = try #require(category["slug"] as? String)
                    let page = "\(pages.store)/products?category=\(slug)&limit=100"
                    try await Self.warm(client, page)
                    if target == nil, try await !client.json(page).items.contains(where: { $0["id"] as? String == pages.product }) {
                        target = category["id"] as? String
                    }
                }
                let response: HTTPAnswer
                switch change {
                case "create":
                    // First by position and by price: it enters the first position and cheapest pages only.
                    response = try await client.admin("/v1/admin/products", token: fixture.token, method: .post, body: """
                        {"slug": "new-thing", "name": "New thing", "position": 0,
                         "variants": [{"sku": "NEW-1", "prices": [{"currency": "EUR", "amount": 1}], "stock": 1}]}
                        """)
                case "edit":
                    response = try await client.admin("/v1/admin/products/\(pages.product)", token: fixture.token, method: .patch, body: #"{"name": "Renamed thing"}"#)
                case "archive":
                    response = try await client.admin("/v1/admin/products/\(pages.product)", token: fixture.token, method: .delete)
                default:
                    let id = try #require(target, "a top category without the product")
                    response = try await client.admin("/v1/admin/products/\(pages.product)", token: fixture.token, method: .patch, body: #"{"category_ids": ["\#(id)"]}"#)
                }
                #expect((200..<300).contains(Int(response.status.code)), "\(change): \(response.detail)")
            } check: { client, fixture, pages in
                let men = "\(pages.store)/products?category=men&limit=100"
                // The category change's target: the one category the product is in now.
                let target = try await client.admin("/v1/admin/products/\(pages.product)", token: fixture.token).object["category_ids"] as? [String]
                let targetSlug = try await client.admin("/v1/admin/categories", token: fixture.token).items.first { $0["id"] as? String == target?.first }?["slug"]
                let moved = "\(pages.store)/products?category=\(targetSlug as? String ?? "-")&limit=100"
                // The product is on the first position pages and on neither price page (strictly between their
                // ranges), so a write to it leaves the price pages alone; the tree shows no products.
                let (misses, hits): ([String], [String]) = switch change {
                case "create": ([pages.byPosition, pages.inStock, pages.cheapest], [pages.dearest, pages.tree, pages.detail, pages.otherDetail, men])
                case "edit": ([pages.byPosition, pages.inStock, pages.detail], [pages.cheapest, pages.dearest, pages.tree, pages.otherDetail])
                case "archive": ([pages.byPosition, pages.inStock], [pages.cheapest, pages.dearest, pages.tree, pages.otherDetail])
                // Whole-catalog pages reload only if the product's audience changed with its categories (a
                // restricted category it left): not asserted; what they show is.
                default: ([pages.detail, moved], [pages.cheapest, pages.dearest, pages.tree, pages.otherDetail])
                }
                for page in misses { #expect(try await Self.outcome(client, page).cache == "miss", "\(change): \(page) holds the change") }
                for page in hits { #expect(try await Self.outcome(client, page).cache == "hit", "\(change): \(page) does not") }
                let byPosition = try await client.json(pages.byPosition)
                switch change {
                case "create":
                    #expect(try await client.walk("\(pages.store)/products?limit=100").contains { $0["slug"] as? String == "new-thing" })
                    #expect(try await client.json(pages.cheapest).items.first?["slug"] as? String == "new-thing")
                case "edit": #expect(try Self.item(byPosition, pages.product)?.name == "Renamed thing")
                case "archive":
                    #expect(try Self.item(byPosition, pages.product) == nil)
                    #expect(try await client.json(pages.detail).status == .notFound)
                default:
                    #expect(try Self.item(byPosition, pages.product) != nil)
                    #expect(try await client.json(moved).items.contains { $0["id"] as? String == pages.product })
                }
            }
        }
    }

    /// Category edit: a rename reloads the tree alone (no other response shows a category's name); a change
    /// of slug (like parent, kind or visibility) reloads the tree and every page of the merchant.
    @Test(arguments: Backend.available)
    func categoryEdit(backend: Backend) async throws {
        for (slug, merchantWide) in [("men", false), ("gentlemen", true)] {
            try await Self.row(backend) { client, fixture, _ in
                let categories = try await client.admin("/v1/admin/categories", token: fixture.token).items
                let men = try #require(categories.first { $0["slug"] as? String == "men" })
                let id = try #require(men["id"] as? String)
                let position = men["position"] as? Int ?? 0
                let renamed = try await client.admin(
                    "/v1/admin/categories/\(id)", token: fixture.token, method: .put, body: #"{"slug": "\#(slug)", "name": "Gentlemen", "position": \#(position)}"#)
                #expect(renamed.status == .ok, "\(renamed.detail)")
            } check: { client, _, pages in
                let tree = try await Self.outcome(client, pages.tree)
                #expect(tree.cache == "miss")
                #expect(tree.response.text.contains("Gentlemen"))
                for page in [pages.byPosition, pages.cheapest, pages.inStock, pages.detail, pages.otherDetail] {
                    #expect(try await Self.outcome(client, page).cache == (merchantWide ? "miss" : "hit"), "slug \(slug): \(page)")
                }
            }
        }
    }

    /// Sales roll-up: placed orders count into `sales_count` once, and only bestselling pages can be reloaded:
    /// a page stays cached while the counts that moved leave its order as it was, and is refreshed (served
    /// stale meanwhile) when a product passes its neighbour.
    @Test(arguments: Backend.available)
    func salesRollUp(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let fixture = try await Harness.seed(database, products: 30)
            // The service's own timer must not run during the test: it is called directly.
            var wiring = CheckoutWiring()
            wiring.salesRollupInterval = .seconds(3600)
            try await Harness.serve(database, checkout: wiring) { base, deps in
                try await Buyers.with(base) { buyers in
                    let rollup = try #require(deps.checkoutParts.rollup)
                    _ = try await rollup.rollUpOnce()  // whatever the seed or an earlier test left
                    let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 10)
                    let variantID = try #require(VariantID(variant))
                    let row = try #require(try await database.query("SELECT product_id FROM variants WHERE id = $1", variantID.sql).first)
                    let product = try row.id(0, as: ProductID.self)
                    let merchant = fixture.merchants[0].id
                    // Known counts: the product at 500, one neighbour just above at 505, every other far above.
                    let all: [ProductID] = try await database.query(
                        "SELECT id FROM products WHERE merchant_id = $1 ORDER BY id", merchant.sql).map { try $0.id(0) }
                    // A neighbour everyone sees, so it is on the public page.
                    let listed: [ProductID] = try await database.query(
                        "SELECT product_id FROM listing_entries WHERE scope_id = $1 AND audience_mask = $2 ORDER BY product_id",
                        merchant.sql, .int(AudienceMask.all.rawValue)).map { try $0.id(0) }
                    let neighbour = try #require(listed.first { $0 != product })
                    try await database.transaction { tx in
                        for (rank, id) in all.enumerated() {
                            let count: Int64 = id == product ? 500 : id == neighbour ? 505 : 1_000 + Int64(rank) * 10
                            try await tx.execute("UPDATE products SET sales_count = $2 WHERE id = $1", id.sql, .int(count))
                        }
                        _ = try await ListingProjector.reproject(all, merchantID: merchant, on: tx)
                    }
                    func sales() async throws -> Int64 {
                        try #require(try await database.query("SELECT sales_count FROM products WHERE id = $1", product.sql).first).int(0)
                    }
                    func served(_ response: HTTPAnswer) throws -> [String] {
                        try #require(response.object["items"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                    }
                    let store = "/v1/stores/\(fixture.slug)"
                    // The bestselling page holds the whole catalog, so every count that moves is inside its range.
                    let pages = ["\(store)/products?sort=bestselling&limit=100", "\(store)/products?limit=10", "\(store)/products/\(product)"]
                    for page in pages + pages { _ = try await buyers.send(.GET, page) }
                    let shown = try served(try await buyers.send(.GET, pages[0]))
                    let productAt = try #require(shown.firstIndex(of: product.description))
                    #expect(shown[productAt - 1] == neighbour.description)

                    func sell(_ units: Int, key: String) async throws {
                        let before = try await sales()
                        let checkout = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, units)])
                        #expect(checkout.status == 201)
                        #expect(try await buyers.setAddress(checkout).status == 200)
                        #expect(try await buyers.complete(checkout, key: key).status == 201)
                        // No test instance rolls up on a timer (see `Harness.dependencies`): this pass is the only one.
                        #expect(try await sales() == before, "orders count in batches, not inside the checkout")
                        let counted = try await rollup.rollUpOnce()[merchant] ?? []
                        #expect(counted == [product])
                        #expect(try await sales() == before + Int64(units))
                        #expect(try await rollup.rollUpOnce()[merchant] == nil, "an order counts once")
                        #expect(try await sales() == before + Int64(units))
                    }

                    // 500 → 503: still below its neighbour, so the page is unchanged and stays cached.
                    try await sell(3, key: "rollup-1")
                    do {
                        let page = try await buyers.send(.GET, pages[0])
                        #expect(page.header("X-Mercato-Cache") == "hit", "the order did not change")
                        #expect(try served(page) == shown)
                    }
                    // 503 → 506: it passes its neighbour (505). The bestselling order follows orders in batches, so the
                    // page is served once more as it was, marked stale, while one refresh loads the new order.
                    try await sell(3, key: "rollup-2")
                    do {
                        let refreshSeries = #"mercato_db_background_statements_total{work="refresh"}"#
                        let refreshStatementsBefore = await Harness.metric(deps, refreshSeries) ?? 0
                        let page = try await buyers.send(.GET, pages[0])
                        #expect(page.header("X-Mercato-Cache") == "stale", "bestselling order changed: refreshed in the background")
                        #expect(try served(page) == shown)
                        var expected = shown
                        expected.swapAt(productAt - 1, productAt)
                        // The refresh lands on its own; wait for it (bounded), then it is a plain hit.
                        let refreshed = try await poll(timeout: .seconds(5)) {
                            let next = try await buyers.send(.GET, pages[0])
                            let shown = try served(next)
                            return next.header("X-Mercato-Cache") == "hit" && shown == expected
                        }
                        #expect(refreshed != nil, "the refreshed order was not served within 5 s")
                        // The refresh ran outside any request: its listing load (2 statements) is counted under its label.
                        let refreshStatements = (await Harness.metric(deps, refreshSeries) ?? 0) - refreshStatementsBefore
                        #expect(refreshStatements >= 2, "background refresh statements in /metrics: \(refreshStatements)")
                    }
                    #expect(try await buyers.send(.GET, pages[1]).header("X-Mercato-Cache") == "hit")
                    #expect(try await buyers.send(.GET, pages[2]).header("X-Mercato-Cache") == "hit")
                }
            }
        }
    }

    /// Checkout (reservation), release and expiry move stock like a stock write: levels are pushed, nothing
    /// is reloaded unless a level crossed zero (then only `in_stock=true` listings).
    @Test(arguments: Backend.available)
    func checkoutReleaseAndExpiry(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let fixture = try await Harness.seed(database, products: 30)
            try await Harness.serve(database, checkout: CheckoutWiring(expiryInterval: .seconds(3600))) { base, deps in
                try await Buyers.with(base) { buyers in
                    let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 3)
                    let variantID = try #require(VariantID(variant))
                    let row = try #require(try await database.query("SELECT product_id FROM variants WHERE id = $1", variantID.sql).first)
                    let product = try row.id(0, as: ProductID.self)
                    let detail = "/v1/stores/\(fixture.slug)/products/\(product)"
                    let listing = "/v1/stores/\(fixture.slug)/products?limit=10"
                    func read(_ path: String) async throws -> HTTPAnswer {
                        let reply = try await buyers.send(.GET, path)
                        #expect(reply.status == 200)
                        return reply
                    }
                    func stock(_ reply: HTTPAnswer) -> Int? {
                        ((reply.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant })?["stock"] as? Int
                    }
                    for path in [detail, listing, detail, listing] { _ = try await read(path) }

                    let checkout = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 2)])
                    #expect(checkout.status == 201)
                    var after = try await read(detail)
                    #expect(after.header("X-Mercato-Cache") == "hit" && stock(after) == 1, "checkout: \(stock(after) ?? -1)")
                    #expect(try await read(listing).header("X-Mercato-Cache") == "hit")

                    // Expiry: the sweep gives the units back; the cached detail shows them at once.
                    let merchant = fixture.merchants[0].id.sql
                    try await database.execute("UPDATE reservations SET expires_at = 0 WHERE merchant_id = $1", merchant)
                    let sweeper = try #require(deps.checkoutParts.sweeper)
                    // Only this merchant's: on a shared database an unscoped sweep would also release other tests' reservations.
                    let released = try await sweeper.sweep(merchantID: fixture.merchants[0].id).count
                    #expect(released == 1)
                    do {
                        after = try await read(detail)
                        #expect(after.header("X-Mercato-Cache") == "hit" && stock(after) == 3, "expiry: \(stock(after) ?? -1)")
                    }

                    // A checkout of the last units crosses zero: still a hit, in_stock false.
                    let all = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 3)])
                    #expect(all.status == 201)
                    after = try await read(detail)
                    #expect(after.header("X-Mercato-Cache") == "hit" && stock(after) == 0)
                }
            }
        }
    }
}
