import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoCore
import MercatoStorage
import Testing

@Suite("Admin API")
struct AdminTests {
    @Test(arguments: Backend.available)
    func writesAreVisibleOnTheNextRead(backend: Backend) async throws {
        try await Harness.withApp(backend) { client, fixture in
            let store = "/v1/stores/\(fixture.slug)"
            let categories = try await client.admin("/v1/admin/categories", token: fixture.token)
            let tops = try #require(categories.items.first { $0["slug"] as? String == "women-tops" }?["id"] as? String)
            let created = try await client.admin("/v1/admin/products", token: fixture.token, method: .post, body: """
                {"slug": "linen-shirt", "name": "Linen Shirt", "description": "Breezy.", "position": 0,
                 "images": ["https://img.example/linen.jpg"], "category_ids": ["\(tops)"],
                 "variants": [
                   {"sku": "LS-S", "options": {"size": "S", "colour": "white"}, "prices": [{"currency": "EUR", "amount": 4900}, {"currency": "USD", "amount": 5900}], "stock": 4},
                   {"sku": "LS-M", "options": {"size": "M", "colour": "white"}, "prices": [{"currency": "EUR", "amount": 5100}], "stock": 0}
                 ]}
                """)
            #expect(created.status == .created, "\(created.detail)")
            #expect(created.headers[.cacheControl] == "no-store")
            let productID = try #require(created.object["id"] as? String)
            let variants = try #require(created.object["variants"] as? [[String: Any]])
            let small = try #require(variants.first { $0["sku"] as? String == "LS-S" }?["id"] as? String)

            // New product: in its category listing, detail by slug, cheapest price.
            func listed() async throws -> [String: Any]? {
                try await client.walk("\(store)/products?category=women-tops&limit=100").first { $0["id"] as? String == productID }
            }
            #expect((try await listed()?["price"] as? [String: Any])?["amount"] as? Int == 4900)
            var detail = try await client.json("\(store)/products/linen-shirt")
            #expect(detail.status == .ok)
            #expect((detail.object["variants"] as? [[String: Any]])?.count == 2)
            #expect((detail.object["variants"] as? [[String: Any]])?.first?["options"] as? [String: String] == ["colour": "white", "size": "S"])

            // Price change: listing and detail agree at once.
            let priced = try await client.admin("/v1/admin/variants/\(small)/price", token: fixture.token, method: .put, body: #"{"currency": "EUR", "amount": 3900}"#)
            #expect(priced.status == .ok, "\(priced.detail)")
            #expect((try await listed()?["price"] as? [String: Any])?["amount"] as? Int == 3900)
            let cheapest = try await client.json("\(store)/products?category=women-tops&sort=price_asc&limit=100")
            #expect(cheapest.items.contains { $0["id"] as? String == productID })

            // Stock to zero: sold out everywhere, and gone from in_stock listings.
            #expect(try await client.admin("/v1/admin/variants/\(small)/stock", token: fixture.token, method: .put, body: #"{"quantity": 0}"#).status == .ok)
            #expect(try await listed()?["in_stock"] as? Bool == false)
            let inStock = try await client.walk("\(store)/products?category=women-tops&in_stock=true&limit=100")
            #expect(!inStock.contains { $0["id"] as? String == productID })

            // Rename and move: old category no longer lists it, the new one does.
            let dresses = try #require(categories.items.first { $0["slug"] as? String == "women-dresses" }?["id"] as? String)
            let moved = try await client.admin("/v1/admin/products/\(productID)", token: fixture.token, method: .patch, body: """
                {"name": "Linen Shirt Dress", "category_ids": ["\(dresses)"]}
                """)
            #expect(moved.status == .ok, "\(moved.detail)")
            let tops2 = try await client.walk("\(store)/products?category=women-tops&limit=100")
            #expect(!tops2.contains { $0["id"] as? String == productID })
            detail = try await client.json("\(store)/products/\(productID)")
            #expect(detail.object["name"] as? String == "Linen Shirt Dress")

            // Restricting the category hides the product from the public.
            let restricted = try await client.admin("/v1/admin/categories/\(dresses)", token: fixture.token, method: .put, body: """
                {"slug": "women-dresses", "name": "Dresses", "parent_id": "\(try #require(categories.items.first { $0["slug"] as? String == "women" }?["id"] as? String))",
                 "visibility": {"customer_groups": ["member"]}}
                """)
            #expect(restricted.status == .ok, "\(restricted.detail)")
            #expect(try await client.json("\(store)/products/\(productID)").status == .notFound)
            #expect(try await client.json("\(store)/products?category=women-dresses").status == .notFound)
            let women = try await client.walk("\(store)/products?category=women&limit=100")
            #expect(!women.contains { $0["id"] as? String == productID })

            // Archive: gone from the storefront, still readable by the merchant.
            let archived = try await client.admin("/v1/admin/products/\(productID)", token: fixture.token, method: .delete)
            #expect(archived.status == .ok && archived.object["status"] as? String == "archived")
            #expect(try await client.admin("/v1/admin/products/\(productID)", token: fixture.token).status == .ok)
        }
    }

    @Test(arguments: Backend.available)
    func tokensNeverReachAnotherMerchantsData(backend: Backend) async throws {
        try await Harness.withApp(backend) { client, fixture in
            let theirs = try await client.admin("/v1/admin/products?limit=1", token: fixture.tokens[1])
            let theirProduct = try #require(theirs.ids.first)
            let theirDetail = try await client.admin("/v1/admin/products/\(theirProduct)", token: fixture.tokens[1])
            let theirVariant = try #require((theirDetail.object["variants"] as? [[String: Any]])?.first?["id"] as? String)
            let theirCategories = try await client.admin("/v1/admin/categories", token: fixture.tokens[1])
            let theirCategory = try #require(theirCategories.items.first?["id"] as? String)
            let mine = fixture.token
            let attempts: [(String, HTTPRequest.Method, String?)] = [
                ("/v1/admin/products/\(theirProduct)", .get, nil),
                ("/v1/admin/products/\(theirProduct)", .patch, #"{"name": "Hijacked"}"#),
                ("/v1/admin/products/\(theirProduct)", .delete, nil),
                ("/v1/admin/products/\(theirProduct)/variants", .post, #"{"sku": "X-1", "prices": [{"currency": "EUR", "amount": 1}]}"#),
                ("/v1/admin/variants/\(theirVariant)/price", .put, #"{"currency": "EUR", "amount": 1}"#),
                ("/v1/admin/variants/\(theirVariant)/stock", .put, #"{"quantity": 0}"#),
                ("/v1/admin/variants/\(theirVariant)", .delete, nil),
                ("/v1/admin/categories/\(theirCategory)", .get, nil),
                ("/v1/admin/categories/\(theirCategory)", .delete, nil),
            ]
            for (uri, method, body) in attempts {
                let response = try await client.admin(uri, token: mine, method: method, body: body)
                #expect(response.status == .notFound, "\(method) \(uri) → \(response.status)")
            }
            // Using another store's category in my product is a validation error, not a cross-tenant link.
            let crossLink = try await client.admin("/v1/admin/products", token: mine, method: .post, body: """
                {"slug": "cross", "name": "Cross", "category_ids": ["\(theirCategory)"], "variants": [{"sku": "CR-1", "prices": [{"currency": "EUR", "amount": 100}]}]}
                """)
            #expect(crossLink.status == .unprocessableContent)
            // Their data is untouched.
            let after = try await client.admin("/v1/admin/products/\(theirProduct)", token: fixture.tokens[1])
            #expect(after.object["name"] as? String == theirDetail.object["name"] as? String)
            #expect(after.object["status"] as? String == theirDetail.object["status"] as? String)
            // And my storefront never lists their products.
            let myListing = Set(try await client.walk("/v1/stores/\(fixture.slug)/products?limit=100").compactMap { $0["id"] as? String })
            #expect(!myListing.contains(theirProduct))
            // No token, a wrong token: 401.
            #expect(try await client.json("/v1/admin/products").status == .unauthorized)
            #expect(try await client.admin("/v1/admin/products", token: "mk_forged").status == .unauthorized)
        }
    }

    @Test(arguments: Backend.available)
    func badAdminInputIsAPreciseClientError(backend: Backend) async throws {
        try await Harness.withApp(backend, merchants: 1, products: 10) { client, fixture in
            let product = try #require(try await client.admin("/v1/admin/products?limit=1", token: fixture.token).ids.first)
            let variant = try #require(
                (try await client.admin("/v1/admin/products/\(product)", token: fixture.token).object["variants"] as? [[String: Any]])?.first?["id"] as? String)
            let valid = #"{"sku": "OK-1", "prices": [{"currency": "EUR", "amount": 100}]}"#
            let cases: [(String, HTTPRequest.Method, String, HTTPResponse.Status, String)] = [
                ("/v1/admin/products", .post, "{not json", .badRequest, "not valid JSON"),
                ("/v1/admin/products", .post, "[1, 2]", .badRequest, "JSON object"),
                ("/v1/admin/products", .post, #"{"slug": "a", "name": "A", "variants": [\#(valid)], "colour": "red"}"#, .unprocessableContent, "colour"),
                ("/v1/admin/products", .post, #"{"slug": "a", "name": "A", "variants": [{"sku": "S-1", "prices": [{"currency": "EUR", "amount": 1, "tax": 2}]}]}"#, .unprocessableContent, "variants[0].prices[0].tax"),
                ("/v1/admin/products", .post, #"{"name": "A", "variants": [\#(valid)]}"#, .unprocessableContent, "slug"),
                ("/v1/admin/products", .post, #"{"slug": "Bad Slug", "name": "A", "variants": [\#(valid)]}"#, .unprocessableContent, "slug"),
                ("/v1/admin/products", .post, #"{"slug": "a", "name": "A", "variants": []}"#, .unprocessableContent, "variants"),
                ("/v1/admin/products", .post, #"{"slug": "a", "name": "A", "position": "first", "variants": [\#(valid)]}"#, .unprocessableContent, "position"),
                ("/v1/admin/products", .post, #"{"slug": "a", "name": "A", "category_ids": ["nope"], "variants": [\#(valid)]}"#, .unprocessableContent, "category_ids[0]"),
                ("/v1/admin/products", .post, #"{"slug": "a", "name": "A", "variants": [{"sku": "S-1", "prices": [{"currency": "XYZ", "amount": 1}]}]}"#, .unprocessableContent, "currency"),
                ("/v1/admin/products", .post, #"{"slug": "a", "name": "A", "variants": [{"sku": "S-1", "prices": [{"currency": "EUR", "amount": -5}]}]}"#, .unprocessableContent, "amount"),
                ("/v1/admin/products", .post, #"{"slug": "a", "name": "A", "variants": [{"sku": "S-1", "stock": -1, "prices": [{"currency": "EUR", "amount": 5}]}]}"#, .unprocessableContent, "stock"),
                ("/v1/admin/variants/\(variant)/stock", .put, #"{"quantity": -3}"#, .unprocessableContent, "quantity"),
                ("/v1/admin/variants/\(variant)/stock", .put, #"{"quantity": 1.5}"#, .unprocessableContent, "quantity"),
                ("/v1/admin/variants/\(variant)/price", .put, #"{"currency": "EUR"}"#, .unprocessableContent, "amount"),
                ("/v1/admin/variants/not-a-uuid/stock", .put, #"{"quantity": 1}"#, .badRequest, "not a valid UUID"),
                ("/v1/admin/products/00000000-0000-0000-0000-000000000001", .patch, #"{"name": "X"}"#, .notFound, "not found"),
                ("/v1/admin/categories", .post, #"{"slug": "c", "name": "C", "kind": "seasonal"}"#, .unprocessableContent, "kind"),
                ("/v1/admin/categories", .post, #"{"slug": "c", "name": "C", "visibility": {"customer_groups": ["vip"]}}"#, .unprocessableContent, "vip"),
                ("/v1/admin/storefront-tokens", .post, #"{"customer_group": "vip"}"#, .unprocessableContent, "customer_group"),
            ]
            for (uri, method, body, status, mention) in cases {
                let response = try await client.admin(uri, token: fixture.token, method: method, body: body)
                #expect(response.status == status, "\(method) \(uri) \(body) → \(response.status): \(response.detail)")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.detail.contains(mention), "\(uri) \(body): \(response.detail)")
            }
            // Duplicates are conflicts.
            let existingSKU = try #require(
                (try await client.admin("/v1/admin/products/\(product)", token: fixture.token).object["variants"] as? [[String: Any]])?.first?["sku"] as? String)
            let duplicate = try await client.admin("/v1/admin/products", token: fixture.token, method: .post, body: """
                {"slug": "fresh-slug", "name": "A", "variants": [{"sku": "\(existingSKU)", "prices": [{"currency": "EUR", "amount": 5}]}]}
                """)
            #expect(duplicate.status == .conflict && duplicate.detail.contains(existingSKU))
            // The failed write left nothing behind.
            #expect(try await client.json("/v1/stores/\(fixture.slug)/products/fresh-slug").status == .notFound)
            // Oversized body.
            let huge = "{\"slug\": \"a\", \"name\": \"" + String(repeating: "x", count: 70 * 1024) + "\"}"
            let tooLarge = try await client.admin("/v1/admin/products", token: fixture.token, method: .post, body: huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.headers[.contentType] == "application/problem+json")
            // Wrong content type.
            let form = try await client.json("/v1/admin/products", method: .post, headers: [.authorization: "Bearer \(fixture.token)", .contentType: "text/plain"], body: "{}")
            #expect(form.status == .unsupportedMediaType)
            // Only application/json itself (the contract's one media type), in any case and with parameters.
            for type in ["application/json-seq", "application/jsonx", "application/json5"] {
                let other = try await client.json("/v1/admin/products", method: .post, headers: [.authorization: "Bearer \(fixture.token)", .contentType: type], body: "{}")
                #expect(other.status == .unsupportedMediaType, "\(type)")
            }
            for type in ["Application/JSON", "application/json; charset=utf-8", "application/json ;charset=UTF-8"] {
                let json = try await client.json("/v1/admin/products", method: .post, headers: [.authorization: "Bearer \(fixture.token)", .contentType: type], body: "{}")
                #expect(json.status == .unprocessableContent, "\(type): \(json.detail)")
            }
        }
    }
}
