import MercatoCore
import MercatoStorage
import MercatoCatalogStore

// A decoded request body is untrusted fields; `validated()` turns it into the command the service takes,
// or a 422 naming the field. REST handlers call these after decoding JSON; other front ends (GraphQL, a
// dashboard) build the same inputs from their own arguments and get the same rules.

/// An edit of a variant's SKU and options (omitted: unchanged).
public struct VariantPatch: Sendable, Equatable {
    public var sku: String?
    public var options: [VariantOption]?

    public init(sku: String? = nil, options: [VariantOption]? = nil) {
        self.sku = sku
        self.options = options
    }
}

/// A validated request for a storefront token: the customer group and how long the token lives.
public struct StorefrontTokenRequest: Sendable, Equatable {
    public var group: CustomerGroup
    public var lifetime: Duration
}

/// One page of a merchant's product ids, in id order.
public struct ProductIDPage: Sendable, Equatable {
    public var ids: [ProductID]
    /// The cursor of the next page; nil on the last one.
    public var next: ProductID?
}

extension CategoryInput {
    public func validated() throws(MercatoError) -> CategoryDraft { try AdminValidation.category(self) }
}

extension ProductInput {
    public func validated() throws(MercatoError) -> ProductDraft { try AdminValidation.product(self) }
}

extension ProductPatchInput {
    public func validated() throws(MercatoError) -> ProductPatch { try AdminValidation.patch(self) }
}

extension VariantInput {
    public func validated() throws(MercatoError) -> VariantDraft { try AdminValidation.variant(self, field: "") }
}

extension VariantPatchInput {
    public func validated() throws(MercatoError) -> VariantPatch {
        VariantPatch(
            sku: try sku.map { sku throws(MercatoError) in try AdminValidation.sku(sku, field: "sku") },
            options: try options.map { options throws(MercatoError) in try AdminValidation.options(options, field: "options") })
    }
}

extension MoneyInput {
    public func validated() throws(MercatoError) -> Money { try AdminValidation.money(self, field: "") }
}

extension StockInput {
    /// The new on-hand quantity.
    public func validated() throws(MercatoError) -> Int64 { try AdminValidation.stockQuantity(quantity) }
}

extension StorefrontTokenInput {
    /// The group, and a lifetime within `maximum` (`fallback` when omitted).
    public func validated(fallback: Duration, maximum: Duration) throws(MercatoError) -> StorefrontTokenRequest {
        guard let group = CustomerGroup(rawValue: customerGroup) else {
            throw .validation(field: "customer_group", message: "'customer_group' must be a known group, not '\(customerGroup)'; use one of \(CustomerGroup.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let seconds = ttlSeconds else { return StorefrontTokenRequest(group: group, lifetime: fallback) }
        let longest = maximum.components.seconds
        guard (60...longest).contains(seconds) else {
            throw .validation(field: "ttl_seconds", message: "'ttl_seconds' must be between 60 and \(longest)")
        }
        return StorefrontTokenRequest(group: group, lifetime: .seconds(seconds))
    }
}
