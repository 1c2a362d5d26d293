/// How a category is merchandised; decides its HTTP cache lifetime.
public enum CategoryKind: String, CaseIterable, Sendable, Codable {
    case dynamic, brand, marketing
}

/// A node of a merchant's category tree.
public struct Category: Sendable, Hashable {
    public var id: CategoryID
    public var merchantID: MerchantID
    public var parentID: CategoryID?
    public var slug: String
    public var name: String
    public var kind: CategoryKind
    public var position: Int
    public var visibility: VisibilityRule
    /// Own rule intersected with every ancestor's: who can see this category.
    public var effectiveMask: AudienceMask

    /// Deepest level a category may sit at (a root is level 1). Storefront paths and admin UIs
    /// stay usable well within it, and every walk up a chain is bounded by it.
    public static let maxDepth = 32

    public init(
        id: CategoryID, merchantID: MerchantID, parentID: CategoryID?, slug: String, name: String,
        kind: CategoryKind, position: Int, visibility: VisibilityRule, effectiveMask: AudienceMask
    ) {
        self.id = id
        self.merchantID = merchantID
        self.parentID = parentID
        self.slug = slug
        self.name = name
        self.kind = kind
        self.position = position
        self.visibility = visibility
        self.effectiveMask = effectiveMask
    }
}

/// Lifecycle of a product; only `active` products are visible in the storefront.
public enum ProductStatus: String, CaseIterable, Sendable, Codable {
    case draft, active, archived
}

/// One option of a variant, such as `size = M`; order is kept as given.
public struct VariantOption: Hashable, Sendable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A merchant, the tenant boundary.
public struct Merchant: Sendable, Hashable {
    public var id: MerchantID
    public var slug: String
    public var name: String
    /// Markets this merchant sells in; the first is the default.
    public var markets: [Market]

    public init(id: MerchantID, slug: String, name: String, markets: [Market]) {
        self.id = id
        self.slug = slug
        self.name = name
        self.markets = markets
    }

    public var defaultMarket: Market { markets[0] }
}

/// Storefront sort orders.
public enum ListingSort: String, CaseIterable, Sendable {
    case position
    case priceAsc = "price_asc"
    case priceDesc = "price_desc"
    case newest
    case bestselling
}

/// Which rate a product pays.
public enum TaxClass: String, Sendable, CaseIterable, Codable {
    case standard
    /// Reduced rate (food, books, … depending on the country).
    case reduced
    /// Exempt or zero-rated.
    case zero
}
