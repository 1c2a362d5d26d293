import Foundation
import MercatoAdmin
import MercatoCatalogStore
import MercatoCore
import MercatoJSON

// The admin API's answers: the REST form of the values `AdminService` returns, as `Encodable` values.
// They are not the hot path (the cached storefront keeps its byte templates), so they are encoded by
// `WireJSON` like every other wire type; a nullable field is written as `null`, never left out.

/// `GET /v1/admin/categories`.
struct CategoryListResponse: Encodable {
    let items: [CategoryResponse]

    init(_ categories: [Category]) { items = categories.map(CategoryResponse.init) }
}

/// One category.
struct CategoryResponse: Encodable {
    let category: Category

    init(_ category: Category) { self.category = category }

    enum CodingKeys: String, CodingKey { case id, parentID = "parent_id", slug, name, kind, position, visibility }

    /// Who may see it: nil lists mean everyone.
    struct Visibility: Encodable {
        let customerGroups: [String]?
        let markets: [String]?

        enum CodingKeys: String, CodingKey { case customerGroups = "customer_groups", markets }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(customerGroups, forKey: .customerGroups)
            try container.encode(markets, forKey: .markets)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(category.id, forKey: .id)
        try container.encode(category.parentID, forKey: .parentID)
        try container.encode(category.slug, forKey: .slug)
        try container.encode(category.name, forKey: .name)
        try container.encode(category.kind, forKey: .kind)
        try container.encode(category.position, forKey: .position)
        try container.encode(
            Visibility(
                customerGroups: category.visibility.groups.map { $0.map(\.rawValue).sorted() }, markets: category.visibility.markets.map { $0.sorted() }),
            forKey: .visibility)
    }
}

/// `GET /v1/admin/products`: one page of product ids.
struct ProductIDPageResponse: Encodable {
    let page: ProductIDPage

    enum CodingKeys: String, CodingKey { case items, nextCursor = "next_cursor" }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(page.ids, forKey: .items)
        try container.encode(page.next, forKey: .nextCursor)
    }
}

/// A new admin token, shown once.
struct AdminTokenResponse: Encodable {
    let token: String
}

/// A storefront token for a customer group, shown once.
struct StorefrontTokenResponse: Encodable {
    let token: String
    let customerGroup: CustomerGroup
    /// ISO 8601.
    let expiresAt: String
}

/// A product as the merchant edits it, with its variants, prices and stock.
struct ProductResponse: Encodable {
    let id: ProductID
    let slug: String
    let name: String
    let description: String
    let images: [String]
    let position: Int64
    let status: ProductStatus
    let salesCount: Int64
    let taxClass: TaxClass
    let categoryIds: [CategoryID]
    let variants: [VariantResponse]

    init(_ product: AdminProduct) throws {
        id = product.id
        slug = product.slug
        name = product.name
        description = product.description
        images = product.images
        position = product.position
        status = product.status
        salesCount = product.salesCount
        taxClass = product.taxClass
        categoryIds = product.categoryIDs
        variants = try product.variants.map(VariantResponse.init)
    }
}

/// One variant of a product.
struct VariantResponse: Encodable {
    let id: VariantID
    let sku: String
    let options: [String: String]
    let stock: Int64
    let prices: [MoneyResponse]

    init(_ variant: AdminVariant) throws {
        id = variant.id
        sku = variant.sku
        options = try WireJSON.options(variant.optionsJSON)
        stock = variant.stock
        prices = variant.prices.map(MoneyResponse.init)
    }
}

/// An amount in minor units of its currency.
struct MoneyResponse: Encodable {
    let currency: String
    let amount: Int64

    init(_ money: Money) {
        currency = money.currency.code
        amount = money.amount
    }
}
