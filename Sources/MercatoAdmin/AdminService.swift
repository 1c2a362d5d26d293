import MercatoCache
import MercatoCatalog
import MercatoCore
import MercatoStorage
import MercatoCatalogStore

/// Merchant admin operations on validated commands (`AdminCommands.swift`): writes through `CatalogWriter`,
/// publishes an invalidation for every successful write before returning, and answers with domain values.
public struct AdminService: Sendable {
    public let writer: CatalogWriter
    let invalidation: CatalogInvalidation

    public init(writer: CatalogWriter, bus: any InvalidationBus) {
        self.writer = writer
        self.invalidation = CatalogInvalidation(bus: bus)
    }

    /// A product write that re-projected its listings: the product's own bytes and the listing pages it
    /// entered, left or changed in.
    func productWrite<Value>(_ merchant: Merchant, _ body: () async throws -> (Value, WriteEffect)) async throws -> Value {
        let (value, effect) = try await body()
        try await invalidation.productsChanged(
            merchantSlug: merchant.slug, merchantID: merchant.id, changes: effect.listingChanges, cardChanged: effect.cardChanged,
            slugsChanged: effect.slugsChanged)
        return value
    }

    /// A price write: the product's own bytes and the price order of the scopes it is listed in change.
    /// The first price in a currency re-projects the product (it enters that currency's listings).
    func priceWrite<Value>(_ merchant: Merchant, _ body: () async throws -> (Value, WriteEffect)) async throws -> Value {
        let (value, effect) = try await body()
        guard effect.listingChanges.isEmpty else {
            try await invalidation.productsChanged(
                merchantSlug: merchant.slug, merchantID: merchant.id, changes: effect.listingChanges, cardChanged: false, slugsChanged: false)
            return value
        }
        try await invalidation.pricesChanged(
            merchantSlug: merchant.slug, merchantID: merchant.id, products: effect.productIDs, scopes: effect.scopes, minPriceMoves: effect.minPriceMoves)
        return value
    }

    /// A stock write: the new level is pushed to every instance; listings change only if it crossed zero.
    func stockWrite<Value>(_ merchant: Merchant, _ body: () async throws -> (Value, WriteEffect)) async throws -> Value {
        let (value, effect) = try await body()
        try await invalidation.stockMoved(merchantSlug: merchant.slug, merchantID: merchant.id, change: effect.stock)
        return value
    }

    /// Runs a write and publishes its invalidation.
    func write<Value>(_ merchant: Merchant, _ body: () async throws -> (Value, WriteEffect)) async throws -> Value {
        // The write has committed, so a reader that misses afterwards loads the new state.
        let (value, _) = try await body()
        try await invalidation.catalogChanged(merchantSlug: merchant.slug, merchantID: merchant.id)
        return value
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
    public func issueAdminToken(_ merchant: Merchant) async throws -> String {
        try await writer.createAdminToken(merchantID: merchant.id)
    }

    /// Revokes an admin token of the merchant; it stops working at once on every instance.
    public func revokeAdminToken(_ merchant: Merchant, token: String) async throws {
        guard try await writer.revokeAdminToken(token, merchantID: merchant.id) else {
            throw MercatoError.unauthorized("the admin token is not valid (unknown or revoked)")
        }
    }

    // MARK: categories

    public func listCategories(_ merchant: Merchant) async throws -> [Category] {
        try await writer.categories(merchantID: merchant.id)
    }

    public func category(_ merchant: Merchant, id: CategoryID) async throws -> Category {
        try await writer.category(merchantID: merchant.id, id: id)
    }

    public func createCategory(_ merchant: Merchant, _ draft: CategoryDraft) async throws -> Category {
        try await write(merchant) { try await writer.createCategory(merchantID: merchant.id, draft: draft) }
    }

    public func updateCategory(_ merchant: Merchant, id: CategoryID, _ draft: CategoryDraft) async throws -> Category {
        let (category, effect) = try await writer.updateCategory(merchantID: merchant.id, id: id, draft: draft)
        if effect.treeOnly {
            try await invalidation.treeChanged(merchantSlug: merchant.slug, merchantID: merchant.id)
        } else {
            try await invalidation.catalogChanged(merchantSlug: merchant.slug, merchantID: merchant.id)
        }
        return category
    }

    public func deleteCategory(_ merchant: Merchant, id: CategoryID) async throws {
        try await write(merchant) { ((), try await writer.deleteCategory(merchantID: merchant.id, id: id)) }
    }

    // MARK: products

    /// Up to `limit` product ids after `after`, and the cursor of the next page.
    public func listProducts(_ merchant: Merchant, after: ProductID?, limit: Int) async throws -> ProductIDPage {
        let ids = try await writer.productIDs(merchantID: merchant.id, after: after, limit: limit + 1)
        let page = Array(ids.prefix(limit))
        return ProductIDPage(ids: page, next: ids.count > limit ? page.last : nil)
    }

    public func product(_ merchant: Merchant, id: ProductID) async throws -> AdminProduct {
        try await writer.product(merchantID: merchant.id, id: id)
    }

    public func createProduct(_ merchant: Merchant, _ draft: ProductDraft) async throws -> AdminProduct {
        try await productWrite(merchant) { try await writer.createProduct(merchantID: merchant.id, draft: draft) }
    }

    public func updateProduct(_ merchant: Merchant, id: ProductID, _ patch: ProductPatch) async throws -> AdminProduct {
        try await productWrite(merchant) { try await writer.updateProduct(merchantID: merchant.id, id: id, patch: patch) }
    }

    /// Archiving hides the product from the storefront but keeps it for orders and history.
    public func archiveProduct(_ merchant: Merchant, id: ProductID) async throws -> AdminProduct {
        try await updateProduct(merchant, id: id, ProductPatch(status: .archived))
    }

    // MARK: variants

    public func addVariant(_ merchant: Merchant, productID: ProductID, _ draft: VariantDraft) async throws -> AdminProduct {
        try await productWrite(merchant) { try await writer.addVariant(merchantID: merchant.id, productID: productID, draft: draft) }
    }

    public func updateVariant(_ merchant: Merchant, id: VariantID, _ patch: VariantPatch) async throws -> AdminProduct {
        try await productWrite(merchant) { try await writer.updateVariant(merchantID: merchant.id, id: id, sku: patch.sku, options: patch.options) }
    }

    public func deleteVariant(_ merchant: Merchant, id: VariantID) async throws -> AdminProduct {
        try await productWrite(merchant) { try await writer.deleteVariant(merchantID: merchant.id, id: id) }
    }

    public func setPrice(_ merchant: Merchant, variantID: VariantID, _ price: Money) async throws -> AdminProduct {
        try await priceWrite(merchant) { try await writer.setPrice(merchantID: merchant.id, variantID: variantID, price: price) }
    }

    /// Sets the on-hand quantity.
    public func setStock(_ merchant: Merchant, variantID: VariantID, quantity: Int64) async throws -> AdminProduct {
        let quantity = try AdminValidation.stockQuantity(quantity)
        return try await stockWrite(merchant) { try await writer.setStock(merchantID: merchant.id, variantID: variantID, quantity: quantity) }
    }
}
