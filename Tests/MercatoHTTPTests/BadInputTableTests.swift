import AsyncHTTPClient
import Foundation
import NIOHTTP1
import MercatoCore
import MercatoStorage
import MercatoSQL
import Testing
import TestSupport

/// A JSON document built by hand, so that mutations can produce what no encoder would: numbers beyond
/// Int64, duplicate keys, escaped NULs, nesting thousands deep.
indirect enum RawJSON {
    case string(String)
    case number(String)  // as written
    case array([RawJSON])
    case object([(String, RawJSON)])

    var text: String {
        switch self {
        case .string(let value):
            var out = "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        case .number(let raw): return raw
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let members): return "{" + members.map { RawJSON.string($0.0).text + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    /// Every document that differs from this one by one invalid change, with a name for the failure message.
    /// Each is invalid by construction: a wrong kind at a leaf, a number no integer field holds, a control
    /// character in a string, an unknown or duplicated member.
    var mutations: [(String, RawJSON)] {
        switch self {
        case .string:
            return [("a number for a string", .number("12345")), ("a NUL in a string", .string("bad\u{0}value")),
                    ("a control character in a string", .string("bad\u{1B}value")), ("an array for a string", .array([]))]
        case .number:
            return [("a string for a number", .string("1")), ("a number beyond Int64", .number("99999999999999999999")),
                    ("a number below Int64", .number("-99999999999999999999")), ("a fraction", .number("1.5")),
                    ("an overflowing exponent", .number("1e400")), ("an object for a number", .object([]))]
        case .array(let items):
            var out: [(String, RawJSON)] = [("an object for an array", .object([]))]
            for (index, item) in items.enumerated() {
                for (name, mutated) in item.mutations {
                    var copy = items
                    copy[index] = mutated
                    out.append(("[\(index)]: \(name)", .array(copy)))
                }
            }
            return out
        case .object(let members):
            var out: [(String, RawJSON)] = [
                ("an unknown member", .object(members + [("unknown_member", .number("1"))])),
                ("an array for an object", .array([])),
            ]
            if let first = members.first { out.append(("a duplicated member '\(first.0)'", .object(members + [first]))) }
            for (index, member) in members.enumerated() {
                for (name, mutated) in member.1.mutations {
                    var copy = members
                    copy[index] = (member.0, mutated)
                    out.append(("\(member.0): \(name)", .object(copy)))
                }
            }
            return out
        }
    }
}

/// Bad input, systematically: every write route's valid body, mutated one invalid change at a time, plus
/// malformed, over-long and deeply nested bodies, and bad query parameters, tokens, cursors and another
/// merchant's ids. Each must get a 4xx problem and change nothing in the database; then the unmutated
/// bodies are sent and succeed, which shows the mutations, not the bodies, were refused.
@Suite("Bad input, systematically")
struct BadInputTableTests {
    /// A digest of what the writes could change in these merchants' rows (other tests share the database).
    static func fingerprint(_ database: any DatabaseClient, _ merchants: [Merchant]) async throws -> [String] {
        // Products and categories whole (every column a write body can set: text, descriptions, position,
        // parent, visibility), the rest as counts and sums.
        let queries = [
            "SELECT id, slug, name, description, images, primary_image, position, status, tax_class, sales_count, updated_at FROM products WHERE merchant_id IN ($1, $2) ORDER BY id",
            "SELECT id, parent_id, slug, name, kind, position, allowed_groups, allowed_markets, effective_mask FROM categories WHERE merchant_id IN ($1, $2) ORDER BY id",
            "SELECT pc.product_id, pc.category_id FROM product_categories pc JOIN products p ON p.id = pc.product_id WHERE p.merchant_id IN ($1, $2) ORDER BY pc.product_id, pc.category_id",
            "SELECT COUNT(*), COALESCE(SUM(stock), 0), COALESCE(SUM(stock_version), 0), COALESCE(SUM(LENGTH(sku)), 0) FROM variants WHERE merchant_id IN ($1, $2)",
            "SELECT COUNT(*), COALESCE(SUM(p.amount), 0) FROM variant_prices p JOIN variants v ON v.id = p.variant_id WHERE v.merchant_id IN ($1, $2)",
            "SELECT COUNT(*) FROM checkouts WHERE merchant_id IN ($1, $2)",
            "SELECT COUNT(*) FROM orders WHERE merchant_id IN ($1, $2)",
            "SELECT COUNT(*) FROM reservations WHERE merchant_id IN ($1, $2)",
            "SELECT COUNT(*) FROM admin_tokens WHERE merchant_id IN ($1, $2)",
        ]
        var out: [String] = []
        for query in queries {
            let rows = try await database.query(SQL(query, [merchants[0].id.sql, merchants[1].id.sql]))
            try #require(!rows.isEmpty, "\(query) found nothing to compare")
            for row in rows { out.append(query + " → " + (0..<row.values.count).map { "\(row.values[$0])" }.joined(separator: ",")) }
        }
        return out
    }

    /// A refusal as the contract promises: a 4xx with an RFC 9457 problem body.
    static func expectProblem(_ reply: HTTPAnswer, _ request: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect((400..<500).contains(reply.status.code), "\(request): \(reply.status) \(reply.text.prefix(200))", sourceLocation: sourceLocation)
        #expect(reply.header("Content-Type")?.hasPrefix("application/problem+json") == true, "\(request)", sourceLocation: sourceLocation)
        // The body is a whole problem (type, title, status, detail), and its status is the answer's.
        #expect(reply.problem?.status == reply.status.code, "\(request): \(reply.text.prefix(200))", sourceLocation: sourceLocation)
    }

    @Test(arguments: Backend.available)
    func everyMutationOfEveryWriteBodyIsA4xxProblemAndChangesNothing(backend: Backend) async throws {
        try await Harness.withLiveApp(backend, merchants: 2) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let database = fixture.database
                let merchant = fixture.merchants[0].id
                let category = try #require(try await database.query(
                    "SELECT id FROM categories WHERE merchant_id = $1 ORDER BY id LIMIT 1", merchant.sql).first).id(0, as: CategoryID.self)
                // A variant the public storefront sells (some products are restricted to a customer group).
                let variant = try #require(VariantID(try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 50)))
                let product = try #require(try await database.query(
                    "SELECT product_id FROM variants WHERE id = $1", variant.sql).first).id(0, as: ProductID.self)
                let money: RawJSON = .object([("currency", .string("EUR")), ("amount", .number("3900"))])
                let admin = [("Authorization", "Bearer \(fixture.token)")]
                let routes: [(method: HTTPMethod, path: String, headers: [(String, String)], body: RawJSON)] = [
                    (.POST, "/v1/admin/categories", admin, .object([("slug", .string("bad-input-new")), ("name", .string("New")), ("position", .number("3"))])),
                    (.PUT, "/v1/admin/categories/\(category)", admin, .object([("slug", .string("bad-input-moved")), ("name", .string("Moved"))])),
                    (.POST, "/v1/admin/products", admin, .object([
                        ("slug", .string("bad-input-product")), ("name", .string("A")), ("position", .number("7")),
                        ("variants", .array([.object([("sku", .string("BAD-INPUT-1")), ("stock", .number("4")), ("prices", .array([money]))])])),
                    ])),
                    (.PATCH, "/v1/admin/products/\(product)", admin, .object([("name", .string("Renamed")), ("position", .number("2"))])),
                    (.POST, "/v1/admin/products/\(product)/variants", admin, .object([
                        ("sku", .string("BAD-INPUT-2")), ("stock", .number("1")), ("prices", .array([money])),
                    ])),
                    (.PATCH, "/v1/admin/variants/\(variant)", admin, .object([("sku", .string("BAD-INPUT-3"))])),
                    (.PUT, "/v1/admin/variants/\(variant)/price", admin, money),
                    (.PUT, "/v1/admin/variants/\(variant)/stock", admin, .object([("quantity", .number("9"))])),
                    (.POST, "/v1/admin/storefront-tokens", admin, .object([("customer_group", .string("wholesale")), ("ttl_seconds", .number("60"))])),
                    (.POST, "/v1/stores/\(fixture.slug)/checkouts", [], .object([
                        ("email", .string("buyer@example.com")),
                        ("lines", .array([.object([("variant_id", .string(variant.description)), ("quantity", .number("1"))])])),
                    ])),
                ]
                let before = try await Self.fingerprint(database, fixture.merchants)
                var tried = 0
                for route in routes {
                    var bodies = route.body.mutations.map { ($0.0, $0.1.text) }
                    bodies += [
                        ("malformed", "{"), ("empty", ""), ("null", "null"), ("a string", "\"x\""),
                        ("nested 5000 arrays deep", String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)),
                        ("nested 5000 objects deep", String(repeating: "{\"a\":", count: 5000) + "1" + String(repeating: "}", count: 5000)),
                        ("over the body limit", "{\"name\": \"" + String(repeating: "x", count: 70 * 1024) + "\"}"),
                    ]
                    for (name, body) in bodies {
                        tried += 1
                        Self.expectProblem(try await buyers.send(route.method, route.path, headers: route.headers, json: body), "\(route.method) \(route.path) with \(name)")
                    }
                }
                #expect(try await Self.fingerprint(database, fixture.merchants) == before, "a refused request changed the database")
                #expect(tried > 150)
                // The bodies themselves are valid: every one succeeds.
                for route in routes {
                    let reply = try await buyers.send(route.method, route.path, headers: route.headers, json: route.body.text)
                    #expect((200..<300).contains(reply.status.code), "\(route.method) \(route.path): \(reply.status) \(reply.text.prefix(300))")
                }
            }
        }
    }

    @Test(arguments: Backend.available)
    func badParametersTokensCursorsAndOtherMerchantsIdsAre4xxProblems(backend: Backend) async throws {
        try await Harness.withLiveApp(backend, merchants: 2) { base, fixture, _ in
            try await Buyers.with(base) { buyers in
                let database = fixture.database
                let theirs = fixture.merchants[1].id
                let theirProduct = try #require(try await database.query(
                    "SELECT id FROM products WHERE merchant_id = $1 ORDER BY id LIMIT 1", theirs.sql).first).id(0, as: ProductID.self)
                let theirCategory = try #require(try await database.query(
                    "SELECT id FROM categories WHERE merchant_id = $1 ORDER BY id LIMIT 1", theirs.sql).first).id(0, as: CategoryID.self)
                let store = "/v1/stores/\(fixture.slug)"
                let page = try await buyers.send(.GET, "\(store)/products?limit=2")
                let cursor = try #require(page.object["next_cursor"] as? String)
                var tampered = Array(cursor)
                tampered[tampered.count / 2] = tampered[tampered.count / 2] == "A" ? "B" : "A"
                let admin = [("Authorization", "Bearer \(fixture.token)")]
                let cases: [(String, [(String, String)])] = [
                    ("\(store)/products?sort=cheapest", []),
                    ("\(store)/products?limit=0", []), ("\(store)/products?limit=101", []), ("\(store)/products?limit=abc", []),
                    ("\(store)/products?limit=99999999999999999999", []), ("\(store)/products?limit=-1", []),
                    ("\(store)/products?in_stock=maybe", []), ("\(store)/products?colour=red", []),
                    ("\(store)/products?cursor=\(String(tampered))", []), ("\(store)/products?cursor=%00", []),
                    ("\(store)/products?cursor=\(cursor.prefix(cursor.count - 3))", []),
                    ("\(store)/products?category=%00", []), ("\(store)/products?category=\(theirCategory)", []),
                    ("\(store)/products?market=ZZ", []), ("\(store)/products?market=%01", []),
                    ("\(store)/products/\(theirProduct)", []), ("\(store)/products/%00", []),
                    ("\(store)/products", [("X-Storefront-Token", "sf1_tampered.token")]),
                    ("\(store)/products", [("X-Market", "not a market")]),
                    ("/v1/stores/no-such-store/products", []),
                    ("/v1/admin/products/\(theirProduct)", admin),
                    ("/v1/admin/categories/\(theirCategory)", admin),
                    ("/v1/admin/products?limit=0", admin), ("/v1/admin/products?cursor=\(String(tampered))", admin),
                    ("/v1/admin/products", [("Authorization", "Bearer mk_tampered")]),
                    ("/v1/admin/products", [("Authorization", "Basic \(fixture.token)")]),
                    ("/v1/checkouts/00000000-0000-0000-0000-000000000001", [("X-Checkout-Token", "tampered")]),
                    ("/v1/checkouts/not-a-uuid", []),
                    ("/v1/orders/00000000-0000-0000-0000-000000000001", [("X-Checkout-Token", "tampered")]),
                ]
                let before = try await BadInputTableTests.fingerprint(database, fixture.merchants)
                for (path, headers) in cases {
                    Self.expectProblem(try await buyers.send(.GET, path, headers: headers), "GET \(path)")
                }
                #expect(try await BadInputTableTests.fingerprint(database, fixture.merchants) == before)
            }
        }
    }
}
