import MercatoCore
import MercatoSQL
import MercatoStorage

/// How a storefront names a product or category: by UUID or by slug.
public enum Reference: Sendable, Hashable {
    case id(SQLValue)
    case slug(String)

    /// A UUID string is an id; anything else is a slug.
    public init(_ text: String) {
        if let id = Identifier<ProductTag>(text) { self = .id(id.sql) } else { self = .slug(text) }
    }
}

/// A listing's position after its last item: the sort key value and product id (keyset pagination).
public struct ListingKey: Sendable, Hashable {
    public var value: Int64
    public var productID: ProductID

    public init(value: Int64, productID: ProductID) {
        self.value = value
        self.productID = productID
    }
}

/// One listing query, fully resolved (merchant, scope, currency, audience).
public struct ListingQuery: Sendable {
    public var merchantID: MerchantID
    /// A category id, or the merchant id for the whole catalog.
    public var scope: SQLValue
    public var sort: ListingSort
    public var currency: CurrencyCode
    public var audience: Audience
    public var inStockOnly: Bool
    public var after: ListingKey?
    public var limit: Int

    public init(merchantID: MerchantID, scope: SQLValue, sort: ListingSort, currency: CurrencyCode, audience: Audience, inStockOnly: Bool, after: ListingKey?, limit: Int) {
        self.merchantID = merchantID
        self.scope = scope
        self.sort = sort
        self.currency = currency
        self.audience = audience
        self.inStockOnly = inStockOnly
        self.after = after
        self.limit = limit
    }
}

/// One listing row as stored: enough to render a listing item and its cursor.
public struct ListingRow: Sendable, Hashable {
    public var productID: ProductID
    public var sortValue: Int64
    public var slug: String
    public var name: String
    public var imageURL: String?
    public var price: Int64
    public var inStock: Bool
    /// The product's variants with their stock levels and versions, in variant order: the live facts of
    /// the row, read by the same statement so a cold page needs no second read for them.
    public var variants: [ListedVariant] = []
}

/// A variant's stock level as a listing row carries it.
public struct ListedVariant: Sendable, Hashable {
    public var id: VariantID
    public var stock: Int64
    public var version: Int64
}

/// A product as the storefront detail shows it, before audience checks.
public struct ProductRecord: Sendable {
    public var id: ProductID
    public var merchant: Merchant
    public var slug: String
    public var name: String
    public var description: String
    public var imagesJSON: String
    /// Nil when the product is not active (or has no projection).
    public var audienceMask: AudienceMask?
}

/// A variant with its price in one currency and its stock.
public struct VariantRecord: Sendable {
    public var id: VariantID
    public var sku: String
    public var optionsJSON: String
    public var price: Int64
    public var stock: Int64
    /// Version of the stock level (`variants.stock_version`).
    public var stockVersion: Int64 = 0
}

/// The live facts of one product as stored: every variant's level and the cheapest price in one currency.
public struct ProductFactsRecord: Sendable {
    public var variants: [(id: VariantID, stock: Int64, version: Int64)]
    /// Nil when the product has no price in that currency.
    public var price: Int64?

    public init(variants: [(id: VariantID, stock: Int64, version: Int64)], price: Int64?) {
        self.variants = variants
        self.price = price
    }
}

/// Storefront reads. Every method is one SQL statement, so request budgets are easy to reason about.
public protocol CatalogStore: Sendable {
    /// The merchant by slug, and optionally one of its categories (nil merchant: unknown store).
    func merchant(slug: String, category: Reference?) async throws -> (Merchant, Category?)?
    /// The merchant and its whole category tree.
    func categoryTree(slug: String) async throws -> (Merchant, [Category])?
    /// One page of a listing (`limit` rows; ask for one more to learn whether a next page exists).
    func listing(_ query: ListingQuery) async throws -> [ListingRow]
    /// A product of the merchant by id or slug, active or not.
    func product(merchantSlug: String, reference: Reference) async throws -> ProductRecord?
    /// A product's variants priced in `currency` (variants without such a price are left out).
    func variants(of product: ProductID, currency: CurrencyCode) async throws -> [VariantRecord]
    /// Stock levels and their versions (one statement).
    func stockLevels(_ variants: [VariantID]) async throws -> [VariantID: (stock: Int64, version: Int64)]
    /// Every variant's level and the cheapest price in `currency` of these products (one statement).
    func productFacts(_ products: [ProductID], currency: CurrencyCode) async throws -> [ProductID: ProductFactsRecord]
    /// Whether the database answers.
    func ping() async throws
}
