import Foundation
import MercatoCore
import MercatoJSON
import MercatoStorage

/// Body of POST/PUT category requests.
public struct CategoryInput: JSONRequestBody {
    public var slug: String
    public var name: String
    public var kind: String?
    public var parentId: String?
    public var position: Int64?
    public var visibility: VisibilityInput?

    public static let schema = KeySchema.object([
        "slug": .value, "name": .value, "kind": .value, "parent_id": .value, "position": .integer,
        "visibility": .object(["customer_groups": .value, "markets": .value]),
    ])
}

/// A visibility rule in a request: omitted lists mean "everyone".
public struct VisibilityInput: Decodable, Sendable {
    public var customerGroups: [String]?
    public var markets: [String]?
}

/// A money amount in a request, in minor units.
public struct MoneyInput: JSONRequestBody {
    public var currency: String
    public var amount: Int64

    public static let schema = KeySchema.object(["currency": .value, "amount": .integer])
}

/// Body of variant creation (also nested in product creation).
public struct VariantInput: JSONRequestBody {
    public var sku: String
    public var options: [String: String]?
    public var prices: [MoneyInput]
    public var stock: Int64?

    public static let schema = KeySchema.object([
        "sku": .value, "options": .freeObject, "prices": .array(MoneyInput.schema), "stock": .integer,
    ])
}

/// Body of POST /v1/admin/products.
public struct ProductInput: JSONRequestBody {
    public var slug: String
    public var name: String
    public var description: String?
    public var images: [String]?
    public var position: Int64?
    public var status: String?
    public var salesCount: Int64?
    public var categoryIds: [String]?
    public var variants: [VariantInput]
    public var taxClass: String?

    public static let schema = KeySchema.object([
        "slug": .value, "name": .value, "description": .value, "images": .value, "position": .integer, "status": .value,
        "sales_count": .integer, "category_ids": .value, "variants": .array(VariantInput.schema), "tax_class": .value,
    ])
}

/// Body of PATCH /v1/admin/products/{id}.
public struct ProductPatchInput: JSONRequestBody {
    public var slug: String?
    public var name: String?
    public var description: String?
    public var images: [String]?
    public var position: Int64?
    public var status: String?
    public var categoryIds: [String]?
    public var taxClass: String?

    public static let schema = KeySchema.object([
        "slug": .value, "name": .value, "description": .value, "images": .value, "position": .integer, "status": .value,
        "category_ids": .value, "tax_class": .value,
    ])
}

/// Body of PATCH /v1/admin/variants/{id}.
public struct VariantPatchInput: JSONRequestBody {
    public var sku: String?
    public var options: [String: String]?

    public static let schema = KeySchema.object(["sku": .value, "options": .freeObject])
}

/// Body of PUT /v1/admin/variants/{id}/stock.
public struct StockInput: JSONRequestBody {
    public var quantity: Int64

    public static let schema = KeySchema.object(["quantity": .integer])
}

/// Body of POST /v1/admin/storefront-tokens.
public struct StorefrontTokenInput: JSONRequestBody {
    public var customerGroup: String
    public var ttlSeconds: Int64?

    public static let schema = KeySchema.object(["customer_group": .value, "ttl_seconds": .integer])
}
