import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoCore
import MercatoStorage
import Testing
import TestSupport

/// Active products of a merchant that an anonymous buyer may see, computed straight from base tables
/// (independent of the listing projections under test): in at least one category outside the restricted branches.
func expectedPublicProducts(_ fixture: Fixture, merchant: Int = 0) async throws -> Set<String> {
    let rows = try await fixture.database.query(
        """
        SELECT DISTINCT p.id FROM products p
        JOIN product_categories pc ON pc.product_id = p.id
        JOIN categories c ON c.id = pc.category_id
        WHERE p.merchant_id = $1 AND p.status = 'active'
          AND c.slug NOT LIKE 'wholesale%' AND c.slug NOT LIKE 'members-club%' AND c.slug NOT LIKE 'us-exclusives%'
        """,
        fixture.merchants[merchant].id.sql)
    return Set(try rows.map { try $0.text(0) })
}

@Suite("Storefront API")
struct StorefrontTests {
    @Test(arguments: Backend.available)
    func everySortWalksAllVisibleProductsExactlyOnce(backend: Backend) async throws {
        try await Harness.withApp(backend, products: 80) { client, fixture in
            let expected = try await expectedPublicProducts(fixture)
            #expect(expected.count > 60)
            for sort in ListingSort.allCases {
                let items = try await client.walk("/v1/stores/\(fixture.slug)/products?sort=\(sort.rawValue)&limit=7")
                let ids = items.compactMap { $0["id"] as? String }
                #expect(ids.count == Set(ids).count, "duplicates in \(sort)")
                #expect(Set(ids) == expected, "\(sort) listed \(ids.count) of \(expected.count)")
                let prices = items.compactMap { ($0["price"] as? [String: Any])?["amount"] as? Int }
                if sort == .priceAsc { #expect(prices == prices.sorted()) }
                if sort == .priceDesc { #expect(prices == prices.sorted(by: >)) }
                #expect(items.allSatisfy { ($0["price"] as? [String: Any])?["currency"] as? String == "EUR" })
            }
        }
    }

    @Test(arguments: Backend.available)
    func paginationHasNoGapsOrDuplicatesWhileProductsAreInserted(backend: Backend) async throws {
        try await Harness.withApp(backend, products: 60) { client, fixture in
            let before = try await expectedPublicProducts(fixture)
            let categories = try await client.admin("/v1/admin/categories", token: fixture.token)
            let women = try #require(categories.items.first { $0["slug"] as? String == "women-dresses" }?["id"] as? String)
            let counter = Counter()
            for sort in [ListingSort.position, .newest, .priceAsc] {
                let items = try await client.walk("/v1/stores/\(fixture.slug)/products?sort=\(sort.rawValue)&limit=5") {
                    let n = counter.next()
                    // New products land before, inside and after the current page, for every sort.
                    let created = try await client.admin("/v1/admin/products", token: fixture.token, method: .post, body: """
                        {"slug": "inserted-\(n)", "name": "Inserted \(n)", "position": \(n % 3 == 0 ? 0 : 1000 + n),
                         "category_ids": ["\(women)"],
                         "variants": [{"sku": "INS-\(n)", "prices": [{"currency": "EUR", "amount": \(n * 37 % 5000)}], "stock": 3}]}
                        """)
                    #expect(created.status == .created, "\(created.detail)")
                }
                let ids = items.compactMap { $0["id"] as? String }
                #expect(ids.count == Set(ids).count, "duplicates in \(sort) while inserting")
                #expect(before.isSubset(of: Set(ids)), "\(sort) skipped \(before.subtracting(ids).count) products")
            }
        }
    }

    @Test(arguments: Backend.available)
    func categoryFilterIncludesDescendantsAndInStockFilters(backend: Backend) async throws {
        try await Harness.withApp(backend) { client, fixture in
            let women = try await client.walk("/v1/stores/\(fixture.slug)/products?category=women&limit=50")
            var union = Set<String>()
            for child in ["women-dresses", "women-tops", "women-knitwear", "women-jeans", "women-shoes"] {
                let items = try await client.walk("/v1/stores/\(fixture.slug)/products?category=\(child)&limit=50")
                union.formUnion(items.compactMap { $0["id"] as? String })
            }
            #expect(!union.isEmpty)
            #expect(Set(women.compactMap { $0["id"] as? String }) == union)

            let all = try await client.walk("/v1/stores/\(fixture.slug)/products?limit=100")
            let inStock = try await client.walk("/v1/stores/\(fixture.slug)/products?limit=100&in_stock=true")
            #expect(inStock.allSatisfy { $0["in_stock"] as? Bool == true })
            #expect(inStock.count == all.filter { $0["in_stock"] as? Bool == true }.count)
            #expect(inStock.count < all.count)
        }
    }

    @Test(arguments: Backend.available)
    func restrictedProductsExistOnlyForTheirAudience(backend: Backend) async throws {
        try await Harness.withApp(backend, products: 120) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let publicIDs = Set(try await client.walk("\(store)/products?limit=100").compactMap { $0["id"] as? String })
            let tokenResponse = try await client.admin("/v1/admin/storefront-tokens", token: fixture.token, method: .post, body: #"{"customer_group": "wholesale"}"#)
            #expect(tokenResponse.status == .created)
            let wholesale: HTTPFields = [.storefrontToken: try #require(tokenResponse.object["token"] as? String)]
            let wholesaleItems = try await client.walk("\(store)/products?category=wholesale&limit=100", headers: wholesale)
            #expect(!wholesaleItems.isEmpty)
            let wholesaleIDs = wholesaleItems.compactMap { $0["id"] as? String }
            let onlyWholesale = wholesaleIDs.filter { !publicIDs.contains($0) }
            #expect(!onlyWholesale.isEmpty, "the seed should have products only in the wholesale branch")
            for id in onlyWholesale.prefix(3) {
                #expect(try await client.json("\(store)/products/\(id)").status == .notFound)
                let visible = try await client.json("\(store)/products/\(id)", headers: wholesale)
                #expect(visible.status == .ok)
                #expect(visible.headers[.cacheControl]?.contains("private") == true)
            }
            #expect(try await client.json("\(store)/products?category=wholesale").status == .notFound)
            let publicTree = try await client.json("\(store)/categories")
            let wholesaleTree = try await client.json("\(store)/categories", headers: wholesale)
            let publicSlugs = (publicTree.object["categories"] as? [[String: Any]] ?? []).compactMap { $0["slug"] as? String }
            let wholesaleSlugs = (wholesaleTree.object["categories"] as? [[String: Any]] ?? []).compactMap { $0["slug"] as? String }
            #expect(!publicSlugs.contains("wholesale") && !publicSlugs.contains("us-exclusives"))
            #expect(wholesaleSlugs.contains("wholesale") && wholesaleSlugs.contains("members-club"))
            let usTree = try await client.json("\(store)/categories?market=US")
            #expect((usTree.object["categories"] as? [[String: Any]] ?? []).contains { $0["slug"] as? String == "us-exclusives" })
            let us = try await client.json("\(store)/products?market=US&limit=1")
            #expect((us.items.first?["price"] as? [String: Any])?["currency"] as? String == "USD")

            // A token for another store is refused, not silently downgraded.
            let foreign = try await client.admin("/v1/admin/storefront-tokens", token: fixture.tokens[1], method: .post, body: #"{"customer_group": "wholesale"}"#)
            let refused = try await client.json("\(store)/products", headers: [.storefrontToken: try #require(foreign.object["token"] as? String)])
            #expect(refused.status == .unauthorized)
        }
    }

    /// A listing miss runs the page's two statements, plus one for the live facts (stock, price) of those of
    /// its products this instance does not hold yet; a detail miss two.
    @Test(arguments: Backend.available)
    func listingAndDetailRunAtMostTwoStatementsPlusOneForNewFacts(backend: Backend) async throws {
        try await Harness.withApp(backend) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            for sort in ListingSort.allCases {
                for limit in [1, 24, 100] {
                    let page = try await client.json("\(store)/products?sort=\(sort.rawValue)&limit=\(limit)&category=women&in_stock=true")
                    #expect(page.status == .ok)
                    #expect((2...3).contains(page.statements ?? -1), "\(sort) limit \(limit): \(page.statements ?? -1) statements")
                }
            }
            // Every product of the category is held now: another sort's miss is the page's two statements alone.
            let again = try await client.json("\(store)/products?sort=newest&limit=99&category=women&in_stock=true")
            #expect(again.cache == "miss" && again.statements == 2, "\(again.statements ?? -1)")
            let first = try await client.json("\(store)/products?limit=2")
            let cursor = try #require(first.object["next_cursor"] as? String)
            #expect((2...3).contains(try await client.json("\(store)/products?limit=2&cursor=\(cursor)").statements ?? -1))
            let id = try #require(first.items.first?["id"] as? String)
            let slug = try #require(first.items.first?["slug"] as? String)
            let byID = try await client.json("\(store)/products/\(id)")
            let bySlug = try await client.json("\(store)/products/\(slug)")
            #expect(byID.status == .ok && byID.statements == 2)
            #expect(bySlug.status == .ok && bySlug.statements == 2)
            #expect(byID.object["id"] as? String == bySlug.object["id"] as? String)
            #expect((byID.object["variants"] as? [[String: Any]])?.isEmpty == false)
            #expect(try await client.json("\(store)/categories").statements == 1)
        }
    }

    @Test(arguments: Backend.available)
    func badStorefrontInputIsAClearClientError(backend: Backend) async throws {
        try await Harness.withApp(backend) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("\(store)/products?limit=0", .unprocessableContent, "limit"),
                ("\(store)/products?limit=101", .unprocessableContent, "limit"),
                ("\(store)/products?limit=ten", .unprocessableContent, "limit"),
                ("\(store)/products?sort=cheapest", .unprocessableContent, "sort"),
                ("\(store)/products?market=XX", .unprocessableContent, "market"),
                ("\(store)/products?market=JP", .unprocessableContent, "market"),
                ("\(store)/products?market=CH", .unprocessableContent, "does not sell"),
                ("\(store)/products?in_stock=maybe", .unprocessableContent, "in_stock"),
                ("\(store)/products?colour=red", .badRequest, "colour"),
                ("\(store)/products?cursor=garbage", .badRequest, "cursor"),
                ("\(store)/products?category=no-such-category", .notFound, "category"),
                ("/v1/stores/no-such-store/products", .notFound, "store"),
                ("\(store)/products/00000000-0000-0000-0000-000000000000", .notFound, "product"),
                ("\(store)/products/no-such-slug", .notFound, "product"),
                ("/v1/nothing-here", .notFound, "route"),
            ]
            for (uri, status, mention) in cases {
                let response = try await client.json(uri)
                #expect(response.status == status, "\(uri)")
                #expect(response.headers[.contentType] == "application/problem+json", "\(uri)")
                let problem = try #require(response.problem, "\(uri)")
                #expect(problem.status == status.code && !problem.title.isEmpty && problem.type.hasPrefix("https://"))
                #expect(problem.detail.contains(mention), "\(uri): \(problem.detail)")
            }
            // A cursor is bound to its listing and signed.
            let page = try await client.json("\(store)/products?limit=3&sort=newest")
            let cursor = try #require(page.object["next_cursor"] as? String)
            let reused = try await client.json("\(store)/products?limit=3&sort=price_asc&cursor=\(cursor)")
            #expect(reused.status == .badRequest && reused.detail.contains("different listing"))
            var tampered = Array(cursor)
            tampered[3] = tampered[3] == "A" ? "B" : "A"
            let forged = try await client.json("\(store)/products?limit=3&sort=newest&cursor=\(String(tampered))")
            #expect(forged.status == .badRequest && forged.detail.contains("tampered"))
        }
    }

    @Test(arguments: Backend.available)
    func healthAndReadiness(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 5) { client, _ in
            #expect(try await client.json("/health").status == .ok)
            let ready = try await client.json("/ready")
            #expect(ready.status == .ok && ready.object["status"] as? String == "ok")
        }
    }
}

/// A tiny thread-safe counter for closures in tests.
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
