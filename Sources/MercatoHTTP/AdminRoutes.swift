import Foundation
import HTTPTypes
import Hummingbird
import MercatoHTTPBoundary
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
            try Self.ok(CategoryListResponse(try await admin.listCategories(try context.merchant)))
        }
        group.post("/categories") { request, context in
            let draft = try await self.command(CategoryInput.self, request).validated()
            return try Self.ok(CategoryResponse(try await admin.createCategory(try context.merchant, draft)), status: .created)
        }
        group.get("/categories/:id") { request, context in
            try Self.ok(CategoryResponse(try await admin.category(try context.merchant, id: try Self.id(context, as: CategoryID.self))))
        }
        group.put("/categories/:id") { request, context in
            let id = try Self.id(context, as: CategoryID.self)
            let draft = try await self.command(CategoryInput.self, request).validated()
            return try Self.ok(CategoryResponse(try await admin.updateCategory(try context.merchant, id: id, draft)))
        }
        group.delete("/categories/:id") { request, context in
            try await admin.deleteCategory(try context.merchant, id: try Self.id(context, as: CategoryID.self))
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
            return try Self.ok(ProductIDPageResponse(page: try await admin.listProducts(merchant, after: after, limit: limit)))
        }
        group.post("/products") { request, context in
            let draft = try await self.command(ProductInput.self, request).validated()
            return try Self.ok(try ProductResponse(try await admin.createProduct(try context.merchant, draft)), status: .created)
        }
        group.get("/products/:id") { request, context in
            try Self.ok(try ProductResponse(try await admin.product(try context.merchant, id: try Self.id(context, as: ProductID.self))))
        }
        group.patch("/products/:id") { request, context in
            let id = try Self.id(context, as: ProductID.self)
            let patch = try await self.command(ProductPatchInput.self, request).validated()
            return try Self.ok(try ProductResponse(try await admin.updateProduct(try context.merchant, id: id, patch)))
        }
        group.delete("/products/:id") { request, context in
            try Self.ok(try ProductResponse(try await admin.archiveProduct(try context.merchant, id: try Self.id(context, as: ProductID.self))))
        }
        group.post("/products/:id/variants") { request, context in
            let productID = try Self.id(context, as: ProductID.self)
            let draft = try await self.command(VariantInput.self, request).validated()
            return try Self.ok(try ProductResponse(try await admin.addVariant(try context.merchant, productID: productID, draft)), status: .created)
        }
        group.patch("/variants/:id") { request, context in
            let id = try Self.id(context, as: VariantID.self)
            let patch = try await self.command(VariantPatchInput.self, request).validated()
            return try Self.ok(try ProductResponse(try await admin.updateVariant(try context.merchant, id: id, patch)))
        }
        group.delete("/variants/:id") { request, context in
            try Self.ok(try ProductResponse(try await admin.deleteVariant(try context.merchant, id: try Self.id(context, as: VariantID.self))))
        }
        group.put("/variants/:id/price") { request, context in
            let id = try Self.id(context, as: VariantID.self)
            let price = try await self.command(MoneyInput.self, request).validated()
            return try Self.ok(try ProductResponse(try await admin.setPrice(try context.merchant, variantID: id, price)))
        }
        group.put("/variants/:id/stock") { request, context in
            let id = try Self.id(context, as: VariantID.self)
            let quantity = try await self.command(StockInput.self, request).validated()
            return try Self.ok(try ProductResponse(try await admin.setStock(try context.merchant, variantID: id, quantity: quantity)))
        }
        group.post("/storefront-tokens") { request, context in
            let merchant = try context.merchant
            let wanted = try await self.command(StorefrontTokenInput.self, request)
                .validated(fallback: StorefrontTokens.defaultLifetime, maximum: StorefrontTokens.maximumLifetime)
            let (token, expiresAt) = reads.issueToken(merchantSlug: merchant.slug, group: wanted.group, lifetime: wanted.lifetime)
            return try Self.ok(
                StorefrontTokenResponse(
                    token: token, customerGroup: wanted.group, expiresAt: Date(timeIntervalSince1970: TimeInterval(expiresAt)).formatted(.iso8601)),
                status: .created)
        }
        group.post("/tokens") { request, context in
            try Self.ok(AdminTokenResponse(token: try await admin.issueAdminToken(try context.merchant)), status: .created)
        }
        group.delete("/tokens/current") { request, context in
            // The middleware authenticated this very header, so the token is well formed.
            try await admin.revokeAdminToken(try context.merchant, token: try AdminService.adminToken(request.headers[.authorization]))
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        }
    }

    /// A request body decoded against its schema; `validated()` on it gives the service's command.
    func command<Body: JSONRequestBody>(_ type: Body.Type, _ request: Request) async throws -> Body {
        try await JSONBody.decode(type, from: request, limit: maxBodyBytes)
    }

    static func id<Tag>(_ context: some RequestContext, as: Identifier<Tag>.Type) throws -> Identifier<Tag> {
        let raw = try context.parameters.require("id")
        guard let id = Identifier<Tag>(raw) else { throw MercatoError.badRequest("'\(raw)' is not a valid UUID") }
        return id
    }

    static func ok(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        JSONBytes.response(Array(try WireJSON.encoder.encode(value)), status: status, headers: [.cacheControl: "no-store"])
    }
}
