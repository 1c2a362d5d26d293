import Foundation
import HTTPTypes
import Hummingbird
import MercatoHTTPEdge
import MercatoAdmin
import MercatoCatalog
import MercatoCore
import MercatoJSON
import NIOCore

/// The merchant admin API. `AdminAuthentication` authenticates every route once and the handlers work for
/// the merchant it put in the context, so every statement is scoped to the token's merchant.
struct AdminRoutes {
    let admin: AdminService
    let reads: StorefrontReads
    let maxBodyBytes: Int
    /// Per-merchant write limit (nil: none).
    let writeLimit: AdminWriteLimit?

    func register(on router: Router<BasicRequestContext>) {
        let group = router.group("/v1/admin", context: AdminRequestContext.self)
            .add(middleware: AdminAuthentication(admin: admin, limiter: writeLimit.map { AdminWriteLimiter(limit: $0) }))

        group.get("/categories") { request, context in
            let merchant = try context.merchant
            return Self.ok(try await admin.listCategories(merchant))
        }
        group.post("/categories") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.createCategory(merchant, body: try await self.body(request))
            return Self.ok(body, status: .created)
        }
        group.get("/categories/:id") { request, context in
            let merchant = try context.merchant
            return Self.ok(try await admin.category(merchant, id: try Self.id(context, as: CategoryID.self)))
        }
        group.put("/categories/:id") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.updateCategory(merchant, id: try Self.id(context, as: CategoryID.self), body: try await self.body(request))
            return Self.ok(body)
        }
        group.delete("/categories/:id") { request, context in
            let merchant = try context.merchant
            _ = try await admin.deleteCategory(merchant, id: try Self.id(context, as: CategoryID.self))
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        }

        group.get("/products") { request, context in
            let merchant = try context.merchant
            let query = request.uri.queryParameters
            var limit = 50
            if let raw = query.get("limit") {
                guard let parsed = Int(raw), (1...200).contains(parsed) else {
                    throw MercatoError.validation(field: "limit", message: "'limit' must be an integer from 1 to 200")
                }
                limit = parsed
            }
            var after: ProductID?
            if let raw = query.get("cursor") {
                guard let id = ProductID(raw) else { throw MercatoError.badRequest("the cursor is malformed") }
                after = id
            }
            return Self.ok(try await admin.listProducts(merchant, after: after, limit: limit))
        }
        group.post("/products") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.createProduct(merchant, body: try await self.body(request))
            return Self.ok(body, status: .created)
        }
        group.get("/products/:id") { request, context in
            let merchant = try context.merchant
            return Self.ok(try await admin.product(merchant, id: try Self.id(context, as: ProductID.self)))
        }
        group.patch("/products/:id") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.updateProduct(merchant, id: try Self.id(context, as: ProductID.self), body: try await self.body(request))
            return Self.ok(body)
        }
        group.delete("/products/:id") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.archiveProduct(merchant, id: try Self.id(context, as: ProductID.self))
            return Self.ok(body)
        }
        group.post("/products/:id/variants") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.addVariant(merchant, productID: try Self.id(context, as: ProductID.self), body: try await self.body(request))
            return Self.ok(body, status: .created)
        }
        group.patch("/variants/:id") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.updateVariant(merchant, id: try Self.id(context, as: VariantID.self), body: try await self.body(request))
            return Self.ok(body)
        }
        group.delete("/variants/:id") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.deleteVariant(merchant, id: try Self.id(context, as: VariantID.self))
            return Self.ok(body)
        }
        group.put("/variants/:id/price") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.setPrice(merchant, variantID: try Self.id(context, as: VariantID.self), body: try await self.body(request))
            return Self.ok(body)
        }
        group.put("/variants/:id/stock") { request, context in
            let merchant = try context.merchant
            let (body, _) = try await admin.setStock(merchant, variantID: try Self.id(context, as: VariantID.self), body: try await self.body(request))
            return Self.ok(body)
        }
        group.post("/storefront-tokens") { request, context in
            let merchant = try context.merchant
            let (customerGroup, lifetime) = try admin.storefrontTokenRequest(
                body: try await self.body(request), fallback: StorefrontTokens.defaultLifetime, maximum: StorefrontTokens.maximumLifetime)
            let (token, expiresAt) = reads.issueToken(merchantSlug: merchant.slug, group: customerGroup, lifetime: lifetime)
            var json = JSONWriter()
            json.raw("{"); json.key("token"); json.string(token)
            json.raw(","); json.key("customer_group"); json.string(customerGroup.rawValue)
            json.raw(","); json.key("expires_at"); json.string(Date(timeIntervalSince1970: TimeInterval(expiresAt)).formatted(.iso8601))
            json.raw("}")
            return Self.ok(json.bytes, status: .created)
        }
        group.post("/tokens") { request, context in
            let merchant = try context.merchant
            return Self.ok(try await admin.issueAdminToken(merchant), status: .created)
        }
        group.delete("/tokens/current") { request, context in
            let merchant = try context.merchant
            try await admin.revokeAdminToken(merchant, authorization: request.headers[.authorization])
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        }
    }

    /// The request body, capped; a JSON content type is required when there is a body.
    func body(_ request: Request) async throws -> Data {
        try await JSONBody.read(request, limit: maxBodyBytes)
    }

    static func id<Tag>(_ context: some RequestContext, as: Identifier<Tag>.Type) throws -> Identifier<Tag> {
        let raw = try context.parameters.require("id")
        guard let id = Identifier<Tag>(raw) else { throw MercatoError.badRequest("'\(raw)' is not a valid UUID") }
        return id
    }

    static func ok(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        JSONBytes.response(bytes, status: status, headers: [.cacheControl: "no-store"])
    }
}
