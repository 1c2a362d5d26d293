import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoHTTP
import MercatoStorage
import Testing

@Suite("Storefront caching")
struct CachingTests {
    @Test(arguments: Backend.available)
    func warmReadsRunNoSQLAndRevalidateWith304(backend: Backend) async throws {
        try await Harness.withApp(backend) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            // A miss: the page's two statements; the live facts of its products come in the page's own rows.
            // (The first bestselling page of a category is answered uncached: it teaches the category's id,
            // which the key of an order that sales move needs.)
            let first = try await client.json("\(store)/products?category=women&sort=bestselling")
            #expect((first.cache == "miss" || first.cache == "bypass") && first.statements == 2, "\(first.cache ?? "-") \(first.statements ?? -1)")
            let id = try #require(first.items.first?["id"] as? String)
            for uri in ["\(store)/products?category=women&sort=bestselling", "\(store)/products/\(id)", "\(store)/categories"] {
                _ = try await client.json(uri)
                let warm = try await client.json(uri)
                #expect(warm.status == .ok)
                #expect(warm.cache == "hit", "\(uri)")
                #expect(warm.statements == 0, "\(uri): \(warm.statements ?? -1) statements when warm")
                let etag = try #require(warm.headers[.eTag])
                #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))
                let revalidated = try await client.json(uri, headers: [.ifNoneMatch: "\"other\", \(etag)"])
                #expect(revalidated.status == .notModified)
                #expect(revalidated.body.isEmpty)
                #expect(revalidated.statements == 0)
                #expect(revalidated.headers[.eTag] == etag)
                let changed = try await client.json(uri, headers: [.ifNoneMatch: "\"stale-tag\""])
                #expect(changed.status == .ok && !changed.body.isEmpty)
            }
        }
    }

    @Test(arguments: Backend.available)
    func headersFollowTheCategoryKindAndAudience(backend: Backend) async throws {
        try await Harness.withApp(backend) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let dynamic = try await client.json("\(store)/products?category=women")
            #expect(dynamic.headers[.cacheControl] == "public, max-age=0, s-maxage=30, stale-while-revalidate=30, stale-if-error=300")
            let brand = try await client.json("\(store)/products?category=brands")
            #expect(brand.headers[.cacheControl]?.contains("s-maxage=300") == true)
            let keys = try #require(dynamic.headers[.surrogateKey]).split(separator: " ")
            #expect(keys.contains("m:\(fixture.merchants[0].id)"))
            // The scope and its order (the default sort is by position), never the keys of details.
            let scope = try #require(keys.first { $0.hasPrefix("c:") && !$0.dropFirst(2).contains(":") })
            #expect(keys.contains("\(scope):position"))
            #expect(keys.filter { $0.hasPrefix("p:") }.count == dynamic.items.count)
            #expect(!keys.contains { $0.hasPrefix("s:") || $0.hasPrefix("i:") })
            #expect(dynamic.headers[.xkey] == dynamic.headers[.surrogateKey])
            // No edge is purged by this instance: no edge may keep it past s-maxage.
            #expect(dynamic.headers[.surrogateControl] == nil)
            let inStock = try await client.json("\(store)/products?in_stock=true&sort=price_asc")
            let inStockKeys = try #require(inStock.headers[.xkey]).split(separator: " ").map(String.init)
            let merchant = fixture.merchants[0].id
            #expect(Set(inStockKeys).isSuperset(of: ["m:\(merchant)", "l:\(merchant)", "i:\(merchant)"]))
            #expect(inStockKeys.contains { $0.hasPrefix("l:\(merchant):") && $0 != "l:\(merchant):position" })
            let first = try #require(dynamic.items.first?["id"] as? String)
            let detail = try await client.json("\(store)/products/\(first)")
            #expect(detail.headers[.xkey] == "m:\(merchant) p:\(first) s:\(first)")
            let token = try await client.admin("/v1/admin/storefront-tokens", token: fixture.token, method: .post, body: #"{"customer_group": "member"}"#)
            let member = try await client.json("\(store)/products?category=women", headers: [.storefrontToken: try #require(token.object["token"] as? String)])
            #expect(member.headers[.cacheControl]?.hasPrefix("private") == true)
            #expect(member.headers[.surrogateKey] == nil)
            let admin = try await client.admin("/v1/admin/categories", token: fixture.token)
            #expect(admin.headers[.cacheControl] == "no-store")
        }
    }

    @Test(arguments: Backend.available)
    func aRestrictedProductCachedForWholesaleNeverReachesThePublic(backend: Backend) async throws {
        // 120 products hold 10 restricted ones; with 40 (3 restricted) all could land in the US-only branch
        // or be drafts for some random slug prefixes (about 2 % of runs), leaving nothing trade-only to check.
        try await Harness.withApp(backend, products: 120) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let token = try await client.admin("/v1/admin/storefront-tokens", token: fixture.token, method: .post, body: #"{"customer_group": "wholesale"}"#)
            let wholesale: HTTPFields = [.storefrontToken: try #require(token.object["token"] as? String)]
            let publicIDs = Set(try await client.walk("\(store)/products?limit=100").compactMap { $0["id"] as? String })
            // Warm every cache entry the wholesale audience can produce for the same URLs.
            let tradeItems = try await client.walk("\(store)/products?limit=100", headers: wholesale)
            let tradeOnly = tradeItems.compactMap { $0["id"] as? String }.filter { !publicIDs.contains($0) }
            #expect(!tradeOnly.isEmpty)
            for id in tradeOnly {
                #expect(try await client.json("\(store)/products/\(id)", headers: wholesale).status == .ok)
            }
            // The same URLs without the token: cached public answers, and no restricted product in them.
            let again = try await client.walk("\(store)/products?limit=100")
            #expect(Set(again.compactMap { $0["id"] as? String }) == publicIDs)
            for id in tradeOnly {
                let response = try await client.json("\(store)/products/\(id)")
                #expect(response.status == .notFound)
            }
            let tree = try await client.json("\(store)/categories")
            #expect(!(tree.object["categories"] as? [[String: Any]] ?? []).contains { $0["slug"] as? String == "wholesale" })
        }
    }

    @Test(arguments: Backend.available)
    func everyAdminWriteIsVisibleOnTheNextReadThroughTheCache(backend: Backend) async throws {
        try await Harness.withApp(backend) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let other = "/v1/stores/\(fixture.merchants[1].slug)"
            let page = try await client.json("\(store)/products?limit=5")
            let item = try #require(page.items.first)
            let id = try #require(item["id"] as? String)
            _ = try await client.json("\(other)/products?limit=5")
            #expect(try await client.json("\(store)/products?limit=5").cache == "hit")
            #expect(try await client.json("\(other)/products?limit=5").cache == "hit")

            let product = try await client.admin("/v1/admin/products/\(id)", token: fixture.token)
            let variants = try #require(product.object["variants"] as? [[String: Any]])
            for variant in variants {
                let variantID = try #require(variant["id"] as? String)
                let updated = try await client.admin("/v1/admin/variants/\(variantID)/price", token: fixture.token, method: .put, body: #"{"currency": "EUR", "amount": 12345}"#)
                #expect(updated.status == .ok)
            }
            // The page's order does not depend on prices: it stays cached, and its price hole is filled
            // from the product's new facts.
            let fresh = try await client.json("\(store)/products?limit=5")
            #expect(fresh.cache == "hit")
            #expect((fresh.items.first { $0["id"] as? String == id }?["price"] as? [String: Any])?["amount"] as? Int == 12345)
            let detail = try await client.json("\(store)/products/\(id)")
            #expect((detail.object["price"] as? [String: Any])?["amount"] as? Int == 12345)
            // Another merchant's cache is untouched by this merchant's write.
            #expect(try await client.json("\(other)/products?limit=5").cache == "hit")
        }
    }

    @Test(arguments: Backend.available)
    func cachingCanBeSwitchedOff(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 10, cache: CacheOptions(enabled: false)) { client, fixture in
            for _ in 0..<3 {
                let response = try await client.json("/v1/stores/\(fixture.slug)/products")
                #expect(response.cache == "bypass" && response.statements == 2)
            }
        }
    }

    /// Uncached answers still carry stock and prices filled at render time: their ETag must change with
    /// them (it once covered only the template's fixed bytes, so a stock change kept answering 304).
    @Test(arguments: Backend.available)
    func uncachedETagsChangeWithStock(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 10, cache: CacheOptions(enabled: false)) { client, fixture in
            let listing = try await client.json("/v1/stores/\(fixture.slug)/products?limit=1")
            let product = try #require((listing.object["items"] as? [[String: Any]])?.first?["id"] as? String)
            let detail = try await client.json("/v1/stores/\(fixture.slug)/products/\(product)")
            let variant = try #require((detail.object["variants"] as? [[String: Any]])?.first?["id"] as? String)
            let stock = try #require((detail.object["variants"] as? [[String: Any]])?.first?["stock"] as? Int)
            let before = try #require(detail.headers[.eTag])
            let set = try await client.admin("/v1/admin/variants/\(variant)/stock", token: fixture.token, method: .put, body: #"{"quantity": \#(stock + 7)}"#)
            #expect(set.status == .ok)
            let after = try await client.json("/v1/stores/\(fixture.slug)/products/\(product)")
            #expect((after.object["variants"] as? [[String: Any]])?.first?["stock"] as? Int == stock + 7)
            #expect(after.headers[.eTag] != before)
        }
    }
}
