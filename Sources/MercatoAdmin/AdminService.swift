import Foundation
import MercatoCache
import MercatoCatalog
import MercatoCore
import MercatoJSON
import MercatoStorage

/// Merchant admin operations: validates input precisely, writes through `CatalogWriter`, renders JSON,
/// and publishes an invalidation for every successful write before returning.
public struct AdminService: Sendable {
    public let writer: CatalogWriter
    let invalidation: CatalogInvalidation

    public init(writer: CatalogWriter, bus: any InvalidationBus) {
        self.writer = writer
        self.invalidation = CatalogInvalidation(bus: bus)
    }

    /// Tells every instance's caches what the write changed. The write has committed, so a reader
    /// that misses afterwards loads the new state.
    func invalidate(_ merchant: Merchant, _ effect: WriteEffect) async throws {
        try await invalidation.catalogChanged(
            merchantSlug: merchant.slug, merchantID: merchant.id, products: effect.productIDs, categories: effect.categoryIDs)
    }

    /// A price write: the product's own bytes and the price order of the scopes it is listed in change.
    func priceWrite(_ merchant: Merchant, _ body: () async throws -> ([UInt8], WriteEffect)) async throws -> ([UInt8], WriteEffect) {
        let (bytes, effect) = try await body()
        try await invalidation.pricesChanged(
            merchantSlug: merchant.slug, merchantID: merchant.id, products: effect.productIDs, scopes: effect.scopes, minPriceMoves: effect.minPriceMoves)
        return (bytes, effect)
    }

    /// A stock write: the new level is pushed to every instance; listings change only if it crossed zero.
    func stockWrite(_ merchant: Merchant, _ body: () async throws -> ([UInt8], WriteEffect)) async throws -> ([UInt8], WriteEffect) {
        let (bytes, effect) = try await body()
        try await invalidation.stockMoved(merchantSlug: merchant.slug, merchantID: merchant.id, change: effect.stock)
        return (bytes, effect)
    }

    /// Runs a write and publishes its invalidation.
    func write(_ merchant: Merchant, _ body: () async throws -> ([UInt8], WriteEffect)) async throws -> ([UInt8], WriteEffect) {
        let (bytes, effect) = try await body()
        try await invalidate(merchant, effect)
        return (bytes, effect)
    }

    /// The merchant a bearer token belongs to; anything else is 401.
    public func authenticate(authorization: String?) async throws -> Merchant {
        let token = try Self.adminToken(authorization)
        guard let merchant = try await writer.merchant(forAdminToken: token) else {
            throw MercatoError.unauthorized("the admin token is not valid (unknown or revoked)")
        }
        return merchant
    }

    /// The admin token in an `Authorization` header; the scheme is case-insensitive (RFC 9110 §11.1).
    public static func adminToken(_ authorization: String?) throws(MercatoError) -> String {
        guard let token = BearerToken.parse(authorization), token.hasPrefix("mk_") else {
            throw .unauthorized("send the merchant's admin token as 'Authorization: Bearer mk_…'")
        }
        return token
    }

    /// Issues another admin token for the merchant (to rotate: issue, switch over, revoke the old one).
    public func issueAdminToken(_ merchant: Merchant) async throws -> [UInt8] {
        let token = try await writer.createAdminToken(merchantID: merchant.id)
        var json = JSONWriter()
        json.raw("{"); json.key("token"); json.string(token); json.raw("}")
        return json.bytes
    }

    /// Revokes the admin token that authenticated this request; it stops working at once on every instance.
    public func revokeAdminToken(_ merchant: Merchant, authorization: String?) async throws {
        guard try await writer.revokeAdminToken(try Self.adminToken(authorization), merchantID: merchant.id) else {
            throw MercatoError.unauthorized("the admin token is not valid (unknown or revoked)")
        }
    }

    // MARK: categories

    public func listCategories(_ merchant: Merchant) async throws -> [UInt8] {
        let categories = try await writer.categories(merchantID: merchant.id)
        var json = JSONWriter()
        json.raw("{\"items\":[")
        for (index, category) in categories.enumerated() {
            if index > 0 { json.raw(",") }
            AdminRenderer.category(category, into: &json)
        }
        json.raw("]}")
        return json.bytes
    }

    public func category(_ merchant: Merchant, id: CategoryID) async throws -> [UInt8] {
        AdminRenderer.category(try await writer.category(merchantID: merchant.id, id: id))
    }

    public func createCategory(_ merchant: Merchant, body: Data) async throws -> ([UInt8], WriteEffect) {
        let input = try JSONInput.decode(CategoryInput.self, from: body, schema: CategoryInput.schema)
        let draft = try AdminValidation.category(input)
        return try await write(merchant) {
            let (category, effect) = try await writer.createCategory(merchantID: merchant.id, draft: draft)
            return (AdminRenderer.category(category), effect)
        }
    }

    public func updateCategory(_ merchant: Merchant, id: CategoryID, body: Data) async throws -> ([UInt8], WriteEffect) {
        let input = try JSONInput.decode(CategoryInput.self, from: body, schema: CategoryInput.schema)
        let draft = try AdminValidation.category(input)
        return try await write(merchant) {
            let (category, effect) = try await writer.updateCategory(merchantID: merchant.id, id: id, draft: draft)
            return (AdminRenderer.category(category), effect)
        }
    }

    public func deleteCategory(_ merchant: Merchant, id: CategoryID) async throws -> WriteEffect {
        let effect = try await writer.deleteCategory(merchantID: merchant.id, id: id)
        try await invalidate(merchant, effect)
        return effect
    }

    // MARK: products

    public func listProducts(_ merchant: Merchant, after: ProductID?, limit: Int) async throws -> [UInt8] {
        let ids = try await writer.productIDs(merchantID: merchant.id, after: after, limit: limit + 1)
        var json = JSONWriter()
        json.raw("{\"items\":[")
        for (index, id) in ids.prefix(limit).enumerated() {
            if index > 0 { json.raw(",") }
            json.string(id.description)
        }
        json.raw("],\"next_cursor\":")
        if ids.count > limit, let last = ids.prefix(limit).last { json.string(last.description) } else { json.raw("null") }
        json.raw("}")
        return json.bytes
    }

    public func product(_ merchant: Merchant, id: ProductID) async throws -> [UInt8] {
        AdminRenderer.product(try await writer.product(merchantID: merchant.id, id: id))
    }

    public func createProduct(_ merchant: Merchant, body: Data) async throws -> ([UInt8], WriteEffect) {
        let input = try JSONInput.decode(ProductInput.self, from: body, schema: ProductInput.schema)
        let draft = try AdminValidation.product(input, merchant: merchant)
        return try await write(merchant) {
            let (product, effect) = try await writer.createProduct(merchantID: merchant.id, draft: draft)
            return (AdminRenderer.product(product), effect)
        }
    }

    public func updateProduct(_ merchant: Merchant, id: ProductID, body: Data) async throws -> ([UInt8], WriteEffect) {
        let input = try JSONInput.decode(ProductPatchInput.self, from: body, schema: ProductPatchInput.schema)
        let patch = try AdminValidation.patch(input)
        return try await write(merchant) {
            let (product, effect) = try await writer.updateProduct(merchantID: merchant.id, id: id, patch: patch)
            return (AdminRenderer.product(product), effect)
        }
    }

    /// Archiving hides the product from the storefront but keeps it for orders and history.
    public func archiveProduct(_ merchant: Merchant, id: ProductID) async throws -> ([UInt8], WriteEffect) {
        try await write(merchant) {
            let (product, effect) = try await writer.updateProduct(merchantID: merchant.id, id: id, patch: ProductPatch(status: .archived))
            return (AdminRenderer.product(product), effect)
        }
    }

    // MARK: variants

    public func addVariant(_ merchant: Merchant, productID: ProductID, body: Data) async throws -> ([UInt8], WriteEffect) {
        let input = try JSONInput.decode(VariantInput.self, from: body, schema: VariantInput.schema)
        let draft = try AdminValidation.variant(input, field: "")
        return try await write(merchant) {
            let (product, effect) = try await writer.addVariant(merchantID: merchant.id, productID: productID, draft: draft)
            return (AdminRenderer.product(product), effect)
        }
    }

    public func updateVariant(_ merchant: Merchant, id: VariantID, body: Data) async throws -> ([UInt8], WriteEffect) {
        let input = try JSONInput.decode(VariantPatchInput.self, from: body, schema: VariantPatchInput.schema)
        let sku = try input.sku.map { sku throws(MercatoError) in try AdminValidation.sku(sku, field: "sku") }
        let options = try input.options.map { options throws(MercatoError) in try AdminValidation.options(options, field: "options") }
        return try await write(merchant) {
            let (product, effect) = try await writer.updateVariant(merchantID: merchant.id, id: id, sku: sku, options: options)
            return (AdminRenderer.product(product), effect)
        }
    }

    public func deleteVariant(_ merchant: Merchant, id: VariantID) async throws -> ([UInt8], WriteEffect) {
        return try await write(merchant) {
            let (product, effect) = try await writer.deleteVariant(merchantID: merchant.id, id: id)
            return (AdminRenderer.product(product), effect)
        }
    }

    public func setPrice(_ merchant: Merchant, variantID: VariantID, body: Data) async throws -> ([UInt8], WriteEffect) {
        let input = try JSONInput.decode(MoneyInput.self, from: body, schema: MoneyInput.schema)
        let price = try AdminValidation.money(input, field: "")
        return try await priceWrite(merchant) {
            let (product, effect) = try await writer.setPrice(merchantID: merchant.id, variantID: variantID, price: price)
            return (AdminRenderer.product(product), effect)
        }
    }

    public func setStock(_ merchant: Merchant, variantID: VariantID, body: Data) async throws -> ([UInt8], WriteEffect) {
        let input = try JSONInput.decode(StockInput.self, from: body, schema: StockInput.schema)
        guard (0...1_000_000_000).contains(input.quantity) else {
            throw MercatoError.validation(field: "quantity", message: "'quantity' must be between 0 and 1000000000")
        }
        return try await stockWrite(merchant) {
            let (product, effect) = try await writer.setStock(merchantID: merchant.id, variantID: variantID, quantity: input.quantity)
            return (AdminRenderer.product(product), effect)
        }
    }

    /// Parses a storefront token request: the group, and a lifetime within `maximum` (`fallback` when omitted).
    public func storefrontTokenRequest(body: Data, fallback: Duration, maximum: Duration) throws(MercatoError) -> (group: CustomerGroup, lifetime: Duration) {
        let input = try JSONInput.decode(StorefrontTokenInput.self, from: body, schema: StorefrontTokenInput.schema)
        guard let group = CustomerGroup(rawValue: input.customerGroup) else {
            throw .validation(field: "customer_group", message: "'customer_group' must be a known group, not '\(input.customerGroup)'; use one of \(CustomerGroup.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let seconds = input.ttlSeconds else { return (group, fallback) }
        let longest = maximum.components.seconds
        guard (60...longest).contains(seconds) else {
            throw .validation(field: "ttl_seconds", message: "'ttl_seconds' must be between 60 and \(longest)")
        }
        return (group, .seconds(seconds))
    }
}
