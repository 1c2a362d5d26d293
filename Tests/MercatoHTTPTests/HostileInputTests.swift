import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoCheckout
import MercatoCore
import MercatoHTTP
import MercatoStorage
import NIOCore
import NIOPosix
import Testing

/// What a hostile client found: control characters, lenient JSON, visibility lost by a delete,
/// unbounded category depth, late completion, unlimited holds, and token handling.
@Suite("Hostile input")
struct HostileInputTests {
    // MARK: NUL and other control characters

    @Test(arguments: Backend.available)
    func controlCharactersInTheRequestTargetAre4xxNot500(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 10) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let nul = try await client.json("\(store)/products?category=%00")
            #expect(nul.status == .unprocessableContent, "\(nul.detail)")
            #expect(nul.headers[.contentType] == "application/problem+json")
            #expect(nul.detail.contains("'category'"))
            #expect(try await client.json("\(store)/products?category=%FF").status == .unprocessableContent)
            #expect(try await client.json("\(store)/products/abc%00def").status == .badRequest)
            #expect(try await client.json("/v1/stores/x%01y/categories").status == .badRequest)
            #expect(try await client.json("\(store)/products?cursor=a%7Fb").status == .unprocessableContent)
            // Percent-encoded ordinary text still works.
            #expect(try await client.json("\(store)/products?category=women%2Dtops").status == .ok)
        }
    }

    @Test(arguments: Backend.available)
    func controlCharactersInTextFieldsAre422NamingTheField(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 10) { client, fixture in
            func product(_ fields: String, sku: String) -> String {
                #"{"slug": "p-\#(sku.lowercased())", \#(fields), "variants": [{"sku": "\#(sku)", "prices": [{"currency": "EUR", "amount": 100}], "stock": 1}]}"#
            }
            let nulName = try await client.admin("/v1/admin/products", token: fixture.token, method: .post, body: product(#""name": "Bad\u0000Name""#, sku: "A1"))
            #expect(nulName.status == .unprocessableContent)
            #expect(nulName.detail.contains("'name'"), "\(nulName.detail)")
            let nulDescription = try await client.admin(
                "/v1/admin/products", token: fixture.token, method: .post, body: product(#""name": "Fine", "description": "x\u0000y""#, sku: "A2"))
            #expect(nulDescription.status == .unprocessableContent)
            #expect(nulDescription.detail.contains("'description'"))
            let bell = try await client.admin("/v1/admin/categories", token: fixture.token, method: .post, body: #"{"slug": "bells", "name": "Ding\u0007"}"#)
            #expect(bell.status == .unprocessableContent)
            let newlineName = try await client.admin("/v1/admin/categories", token: fixture.token, method: .post, body: #"{"slug": "lines", "name": "Two\nLines"}"#)
            #expect(newlineName.status == .unprocessableContent, "names are one line")
            // A description may hold line breaks and tabs, and is served whole on both backends.
            let multiLine = try await client.admin(
                "/v1/admin/products", token: fixture.token, method: .post, body: product(#""name": "Fine", "description": "one\n\ttwo""#, sku: "A3"))
            #expect(multiLine.status == .created, "\(multiLine.detail)")
            let detail = try await client.json("/v1/stores/\(fixture.slug)/products/p-a3")
            #expect(detail.object["description"] as? String == "one\n\ttwo")
            #expect(try await Self.productCount(fixture) == 11, "only the valid product was stored")
        }
    }

    @Test(arguments: Backend.available)
    func aNulInACheckoutEmailIsRefusedBeforeAnyStockIsReserved(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let fixture = try await Harness.seed(database, products: 10)
            try await Harness.serve(database) { base, _ in
                try await Buyers.with(base) { buyers in
                    let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 5)
                    let reply = try await buyers.send(.POST, "/v1/stores/\(fixture.slug)/checkouts", json: """
                        {"email": "a\\u0000@example.com", "lines": [{"variant_id": "\(variant)", "quantity": 1}]}
                        """)
                    #expect(reply.status == 422, "\(reply.text)")
                    #expect(reply.text.contains("email"))
                    let merchant = fixture.merchants[0].id
                    #expect(try await Ledger.reservations(database, merchant: merchant, status: "held") == 0)
                    #expect(try await Ledger.reservations(database, merchant: merchant, status: "released") == 0)
                    #expect(try await Ledger.stock(database, variant: variant) == 5)
                }
            }
        }
    }

    // MARK: lenient JSON

    @Test(arguments: Backend.available)
    func trailingCommasAndDuplicateKeysAreRefusedAndNothingIsWritten(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 10) { client, fixture in
            let product = try #require(try await client.admin("/v1/admin/products?limit=1", token: fixture.token).ids.first)
            let variant = try #require(
                (try await client.admin("/v1/admin/products/\(product)", token: fixture.token).object["variants"] as? [[String: Any]])?.first?["id"] as? String)
            let set = try await client.admin("/v1/admin/variants/\(variant)/stock", token: fixture.token, method: .put, body: #"{"quantity": 7}"#)
            #expect(set.status == .ok)

            let trailing = try await client.admin("/v1/admin/variants/\(variant)/stock", token: fixture.token, method: .put, body: #"{"quantity": 50,}"#)
            #expect(trailing.status == .badRequest, "\(trailing.detail)")
            #expect(trailing.detail.contains("trailing comma"))
            let trailingArray = try await client.admin(
                "/v1/admin/products/\(product)", token: fixture.token, method: .patch, body: #"{"images": ["https://img.example/a.jpg",]}"#)
            #expect(trailingArray.status == .badRequest)
            let duplicate = try await client.admin(
                "/v1/admin/variants/\(variant)/stock", token: fixture.token, method: .put, body: #"{"quantity": 50, "quantity": 51}"#)
            #expect(duplicate.status == .unprocessableContent, "\(duplicate.detail)")
            #expect(duplicate.detail.contains("duplicate key 'quantity'"))
            // Escapes spell the same key: still a duplicate.
            let escaped = try await client.admin(
                "/v1/admin/variants/\(variant)/stock", token: fixture.token, method: .put, body: #"{"quantity": 50, "quantit\u0079": 51}"#)
            #expect(escaped.status == .unprocessableContent)

            let stock = try await fixture.database.query("SELECT stock FROM variants WHERE id = $1", try #require(VariantID(variant)).sql)
            #expect(try stock.first?.int(0) == 7, "no refused body was applied")
        }
    }

    // MARK: visibility fails closed

    @Test(arguments: Backend.available)
    func aRestrictedProductIsNeverPublishedByLosingItsCategories(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 10) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let restricted = try await client.admin("/v1/admin/categories", token: fixture.token, method: .post, body: """
                {"slug": "trade-only", "name": "Trade only", "visibility": {"customer_groups": ["wholesale"]}}
                """)
            let restrictedID = try #require(restricted.object["id"] as? String)
            let open = try await client.admin("/v1/admin/categories", token: fixture.token, method: .post, body: #"{"slug": "open-shelf", "name": "Open"}"#)
            let openID = try #require(open.object["id"] as? String)
            func create(_ slug: String, categories: [String]) async throws -> String {
                let created = try await client.admin("/v1/admin/products", token: fixture.token, method: .post, body: """
                    {"slug": "\(slug)", "name": "\(slug)", "category_ids": [\(categories.map { "\"\($0)\"" }.joined(separator: ","))],
                     "variants": [{"sku": "\(slug.uppercased())", "prices": [{"currency": "EUR", "amount": 100}], "stock": 3}]}
                    """)
                #expect(created.status == .created, "\(created.detail)")
                return try #require(created.object["id"] as? String)
            }
            let hidden = try await create("crate-of-nails", categories: [restrictedID])
            let both = try await create("box-of-screws", categories: [restrictedID, openID])
            #expect(try await client.json("\(store)/products/crate-of-nails").status == .notFound)

            // Emptying its categories would publish it: refused.
            let emptied = try await client.admin("/v1/admin/products/\(hidden)", token: fixture.token, method: .patch, body: #"{"category_ids": []}"#)
            #expect(emptied.status == .conflict, "\(emptied.detail)")
            // Deleting its only (restricted) category would too: refused, naming the product.
            let deleted = try await client.admin("/v1/admin/categories/\(restrictedID)", token: fixture.token, method: .delete)
            #expect(deleted.status == .conflict)
            #expect(deleted.detail.contains(hidden))
            #expect(!deleted.detail.contains(both), "a product with another category is not stranded")
            #expect(try await client.json("\(store)/products/crate-of-nails").status == .notFound)
            #expect(!(try await client.walk("\(store)/products?limit=100")).contains { $0["id"] as? String == hidden })

            // Publishing stays possible, explicitly: move it to a public category, then the delete goes through.
            let moved = try await client.admin("/v1/admin/products/\(hidden)", token: fixture.token, method: .patch, body: #"{"category_ids": ["\#(openID)"]}"#)
            #expect(moved.status == .ok, "\(moved.detail)")
            #expect(try await client.admin("/v1/admin/categories/\(restrictedID)", token: fixture.token, method: .delete).status == .noContent)
            #expect(try await client.json("\(store)/products/crate-of-nails").status == .ok)
            // A public product may lose its categories: it stays exactly as visible.
            let publicEmptied = try await client.admin("/v1/admin/products/\(both)", token: fixture.token, method: .patch, body: #"{"category_ids": []}"#)
            #expect(publicEmptied.status == .ok, "\(publicEmptied.detail)")
        }
    }

    // MARK: category depth

    @Test(arguments: Backend.available)
    func categoryChainsAreCappedAndTheDeepestProductIsListedAtTheRoot(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 5) { client, fixture in
            var parent: String?
            var chain: [String] = []
            for level in 1...Category.maxDepth {
                let parentField = parent.map { #", "parent_id": "\#($0)""# } ?? ""
                let created = try await client.admin(
                    "/v1/admin/categories", token: fixture.token, method: .post, body: #"{"slug": "level-\#(level)", "name": "Level \#(level)"\#(parentField)}"#)
                #expect(created.status == .created, "level \(level): \(created.detail)")
                parent = try #require(created.object["id"] as? String)
                chain.append(parent!)
            }
            let tooDeep = try await client.admin(
                "/v1/admin/categories", token: fixture.token, method: .post, body: #"{"slug": "level-x", "name": "Too deep", "parent_id": "\#(parent!)"}"#)
            #expect(tooDeep.status == .unprocessableContent)
            #expect(tooDeep.detail.contains("at most \(Category.maxDepth) levels"))

            // Moving a two-level subtree under level 31 would make 33 levels.
            let top = try await client.admin("/v1/admin/categories", token: fixture.token, method: .post, body: #"{"slug": "sub-a", "name": "A"}"#)
            let topID = try #require(top.object["id"] as? String)
            _ = try await client.admin("/v1/admin/categories", token: fixture.token, method: .post, body: #"{"slug": "sub-b", "name": "B", "parent_id": "\#(topID)"}"#)
            let move = try await client.admin(
                "/v1/admin/categories/\(topID)", token: fixture.token, method: .put,
                body: #"{"slug": "sub-a", "name": "A", "parent_id": "\#(chain[Category.maxDepth - 2])"}"#)
            #expect(move.status == .unprocessableContent, "\(move.detail)")

            // A product at the deepest level shows in the top category's listing.
            let product = try await client.admin("/v1/admin/products", token: fixture.token, method: .post, body: """
                {"slug": "deep-thing", "name": "Deep", "category_ids": ["\(parent!)"],
                 "variants": [{"sku": "DEEP", "prices": [{"currency": "EUR", "amount": 100}], "stock": 1}]}
                """)
            let productID = try #require(product.object["id"] as? String)
            let listed = try await client.walk("/v1/stores/\(fixture.slug)/products?category=level-1&limit=100")
            #expect(listed.map { $0["id"] as? String } == [productID])
        }
    }

    // MARK: checkout

    @Test(arguments: Backend.available)
    func aCheckoutCannotBeCompletedAfterItsExpiryEvenBeforeTheSweep(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let fixture = try await Harness.seed(database, products: 10)
            // The sweeper never runs during this test: the check at completion alone must refuse.
            try await Harness.serve(database, checkout: CheckoutWiring(expiryInterval: .seconds(3600))) { base, _ in
                try await Buyers.with(base) { buyers in
                    let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 4)
                    let checkout = try await buyers.createCheckout(store: fixture.slug, lines: [(variant, 3)])
                    #expect(checkout.status == 201, "\(checkout.text)")
                    #expect(try await buyers.setAddress(checkout).status == 200)
                    #expect(try await Ledger.stock(database, variant: variant) == 1)
                    let merchant = fixture.merchants[0].id.sql
                    try await database.execute("UPDATE reservations SET expires_at = 1 WHERE merchant_id = $1", merchant)
                    try await database.execute("UPDATE checkouts SET reservation_expires_at = 1 WHERE merchant_id = $1", merchant)

                    let late = try await buyers.complete(checkout, key: "late-1")
                    #expect(late.status == 409, "\(late.text)")
                    #expect(late.type == "checkout-expired", "\(late.text)")
                    #expect(try await Ledger.orders(database, merchant: fixture.merchants[0].id) == 0)
                    #expect(try await Ledger.stock(database, variant: variant) == 4, "the units went back at once")
                    #expect(try await buyers.complete(checkout, key: "late-1").status == 409, "the refusal is the stored answer")
                }
            }
        }
    }

    @Test func checkoutsAreCappedInLinesAndUnits() async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let fixture = try await Harness.seed(database, products: 30)
            try await Harness.serve(database, checkout: CheckoutWiring(options: CheckoutOptions(maxLines: 3, maxQuantity: 5))) { base, _ in
                try await Buyers.with(base) { buyers in
                    let variants = try await buyers.variants(store: fixture.slug, token: fixture.token, count: 4, stock: 50)
                    let tooMany = try await buyers.createCheckout(store: fixture.slug, lines: variants.map { ($0, 1) })
                    #expect(tooMany.status == 422)
                    #expect(tooMany.text.contains("1–3 lines"))
                    let tooMuch = try await buyers.createCheckout(store: fixture.slug, lines: [(variants[0], 6)])
                    #expect(tooMuch.status == 422)
                    let splitUp = try await buyers.createCheckout(store: fixture.slug, lines: [(variants[0], 3), (variants[0], 3)])
                    #expect(splitUp.status == 422, "the cap is per variant, however the lines are split")
                    #expect(try await buyers.createCheckout(store: fixture.slug, lines: [(variants[0], 5), (variants[1], 1)]).status == 201)
                    #expect(try await Ledger.stock(database, variant: variants[0]) == 45)
                }
            }
        }
    }

    // MARK: tokens

    @Test(arguments: Backend.available)
    func adminTokensCanBeRotatedAndRevokedAndTheSchemeIsCaseInsensitive(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 5) { client, fixture in
            let lower = try await client.json("/v1/admin/categories", headers: [.authorization: "bearer \(fixture.token)"])
            #expect(lower.status == .ok)
            #expect(try await client.json("/v1/admin/categories", headers: [.authorization: "BEARER   \(fixture.token)"]).status == .ok)
            #expect(try await client.json("/v1/admin/categories", headers: [.authorization: "Basic \(fixture.token)"]).status == .unauthorized)

            let issued = try await client.admin("/v1/admin/tokens", token: fixture.token, method: .post)
            #expect(issued.status == .created)
            let second = try #require(issued.object["token"] as? String)
            #expect(try await client.admin("/v1/admin/tokens/current", token: fixture.token, method: .delete).status == .noContent)
            let revoked = try await client.admin("/v1/admin/categories", token: fixture.token)
            #expect(revoked.status == .unauthorized)
            #expect(revoked.detail.contains("revoked"))
            #expect(try await client.admin("/v1/admin/categories", token: second).status == .ok, "the other token still works")
        }
    }

    @Test func storefrontTokensCarryAnExpiryWithinLimits() async throws {
        try await Harness.withApp(.sqlite, merchants: 1, products: 5) { client, fixture in
            let issued = try await client.admin(
                "/v1/admin/storefront-tokens", token: fixture.token, method: .post, body: #"{"customer_group": "member", "ttl_seconds": 3600}"#)
            #expect(issued.status == .created)
            let expiresAt = try #require(issued.object["expires_at"] as? String)
            let expiry = try #require(try? Date(expiresAt, strategy: .iso8601))
            #expect(abs(expiry.timeIntervalSinceNow - 3600) < 120)
            let token = try #require(issued.object["token"] as? String)
            #expect(try await client.json("/v1/stores/\(fixture.slug)/categories", headers: [.storefrontToken: token]).status == .ok)
            let tooLong = try await client.admin(
                "/v1/admin/storefront-tokens", token: fixture.token, method: .post, body: #"{"customer_group": "member", "ttl_seconds": 40000000}"#)
            #expect(tooLong.status == .unprocessableContent)
        }
    }

    // MARK: operations

    @Test func metricsCanRequireATokenAndProductionHidesTheCacheTier() async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let fixture = try await Harness.seed(database, products: 5)
            let options = HTTPOptions(exposeStatementCount: false, serverTimingCacheTier: false, metricsToken: "scrape-secret")
            let deps = try await Harness.dependencies(database: database, options: options)
            let contract = ContractLog()
            defer { contract.recordIssues() }
            try await Harness.application(deps, contract: contract).test(.router) { client in
                #expect(try await client.json("/metrics").status == .unauthorized)
                #expect(try await client.json("/metrics", headers: [.authorization: "Bearer wrong-secret!"]).status == .unauthorized)
                let scraped = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer scrape-secret"]) { $0.status }
                #expect(scraped == .ok)

                let listing = "/v1/stores/\(fixture.slug)/products?limit=2"
                _ = try await client.json(listing)
                let again = try await client.json(listing)
                #expect(again.headers[.mercatoCache] == nil)
                let timing = try #require(again.headers[.serverTiming])
                #expect(!timing.contains("cache"), "\(timing)")
                #expect(timing.contains("total;dur="))
            }
        }
    }

    // MARK: HTTP parser errors

    @Test func requestsThatAreNotHTTPGetAProblemBody() async throws {
        try await Harness.withDatabase(.sqlite) { database in
            _ = try await Harness.seed(database, products: 5)
            try await Harness.serve(database) { base, _ in
                let port = try #require(Int(base.split(separator: ":").last ?? ""))
                let cases: [(String, [UInt8], Int)] = [
                    ("raw UTF-8 in the path", Array("GET /v1/stores/d\u{e9}mo/products HTTP/1.1\r\nHost: x\r\n\r\n".utf8), 400),
                    ("a 1 MB URL", Array("GET /\(String(repeating: "a", count: 1 << 20)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8), 431),
                    ("Content-Length with chunked", Array(
                        "POST /v1/stores/demo/checkouts HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8), 400),
                    ("5,000 headers", Array(("GET /health HTTP/1.1\r\nHost: x\r\n" + (0..<5000).map { "X-H\($0): v\r\n" }.joined() + "\r\n").utf8), 431),
                ]
                for (name, request, status) in cases {
                    let answer = try await RawHTTP.exchange(port: port, request)
                    let (head, body) = RawHTTP.split(answer)
                    #expect(head.hasPrefix("HTTP/1.1 \(status)"), "\(name): \(head)")
                    #expect(head.lowercased().contains("content-type: application/problem+json"), "\(name): \(head)")
                    let problem = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(name): \(body)")
                    #expect(problem["status"] as? Int == status, "\(name)")
                    #expect((problem["detail"] as? String)?.isEmpty == false, "\(name)")
                }
            }
        }
    }

    static func productCount(_ fixture: Fixture) async throws -> Int64 {
        try await fixture.database.query("SELECT COUNT(*) FROM products WHERE merchant_id = $1", fixture.merchants[0].id.sql).first?.int(0) ?? -1
    }
}

/// Sends raw bytes over a loopback TCP connection and reads the answer until the server closes.
enum RawHTTP {
    static func exchange(port: Int, _ request: [UInt8]) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            // The server may answer and close before it has read everything: a failed write is fine.
            try? await outbound.write(ByteBuffer(bytes: request))
            var answer = ByteBuffer()
            do {
                for try await var chunk in inbound { answer.writeBuffer(&chunk) }
            } catch {
                // A reset after the answer was read still leaves the answer.
            }
            return String(buffer: answer)
        }
    }

    static func split(_ answer: String) -> (head: String, body: String) {
        guard let range = answer.range(of: "\r\n\r\n") else { return (answer, "") }
        return (String(answer[..<range.lowerBound]), String(answer[range.upperBound...]))
    }
}
