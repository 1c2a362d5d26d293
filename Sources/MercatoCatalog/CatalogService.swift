import Crypto
import Foundation
import MercatoCore
import MercatoStorage
import NIOCore

/// A storefront listing request after HTTP parsing and validation of shapes.
public struct ListingRequest: Sendable {
    public var merchantSlug: String
    public var category: String?
    public var sort: ListingSort
    public var limit: Int
    public var cursor: String?
    public var marketCode: String?
    public var inStockOnly: Bool
    /// The caller's group, already established from a verified storefront token.
    public var group: CustomerGroup

    public init(merchantSlug: String, category: String?, sort: ListingSort, limit: Int, cursor: String?, marketCode: String?, inStockOnly: Bool, group: CustomerGroup) {
        self.merchantSlug = merchantSlug
        self.category = category
        self.sort = sort
        self.limit = limit
        self.cursor = cursor
        self.marketCode = marketCode
        self.inStockOnly = inStockOnly
        self.group = group
    }
}

/// A rendered storefront response: JSON bytes plus what HTTP caching needs to know about them.
public struct CatalogResponse: Sendable {
    /// The JSON, ready for the socket.
    public var body: ByteBuffer
    /// Strong validator: a hash of the body.
    public var etag: String
    /// The category the response is about, when there is one (its kind decides cache lifetime).
    public var categoryKind: CategoryKind?
    /// True when the audience is anything but anonymous public: such responses must not be shared.
    public var personalised: Bool
    /// Surrogate keys for edge purges: merchant, category, products.
    public var surrogateKeys: [String]

    init(body: [UInt8], categoryKind: CategoryKind?, personalised: Bool, surrogateKeys: [String]) {
        self.body = ByteBuffer(bytes: body)
        self.etag = "\"" + SHA256.hash(data: body).prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
        self.categoryKind = categoryKind
        self.personalised = personalised
        self.surrogateKeys = surrogateKeys
    }

    init(body: ByteBuffer, etag: String, categoryKind: CategoryKind?, personalised: Bool, surrogateKeys: [String]) {
        self.body = body
        self.etag = etag
        self.categoryKind = categoryKind
        self.personalised = personalised
        self.surrogateKeys = surrogateKeys
    }

    /// Approximate memory held, for the byte-bounded near cache.
    /// The product a detail answer is about (from its `p:` surrogate key).
    public var productID: ProductID? {
        surrogateKeys.lazy.filter { $0.hasPrefix("p:") }.compactMap { ProductID($0.dropFirst(2)) }.first
    }

    public var cost: Int { body.readableBytes + etag.utf8.count + surrogateKeys.reduce(0) { $0 + $1.utf8.count + 16 } + 64 }
}

/// Storefront reads: resolves the audience, enforces visibility, and renders bytes.
/// Listing and detail each cost exactly two SQL statements on a miss.
public struct CatalogService: Sendable {
    let store: any CatalogStore
    let cursors: ListingCursorCodec

    public init(store: any CatalogStore, signer: Signer) {
        self.store = store
        self.cursors = ListingCursorCodec(signer: signer)
    }

    /// Resolves who is asking: the market (request, else the store's default) and the group.
    func audience(merchant: Merchant, marketCode: String?, group: CustomerGroup) throws(MercatoError) -> Audience {
        var market = merchant.defaultMarket
        if let marketCode {
            guard let requested = Market.named(marketCode) else {
                throw .validation(field: "market", message: "unknown market '\(marketCode)'; use an ISO country code such as DE")
            }
            guard merchant.markets.contains(requested) else {
                throw .validation(field: "market", message: "this store does not sell in \(requested.code); it sells in \(merchant.markets.map(\.code).joined(separator: ", "))")
            }
            market = requested
        }
        return Audience(market: market, group: group)
    }

    /// One page of products.
    public func listing(_ request: ListingRequest) async throws -> CatalogResponse {
        guard let (merchant, category) = try await store.merchant(slug: request.merchantSlug, category: request.category.map(Reference.init)) else {
            throw MercatoError.notFound("store '\(request.merchantSlug)' not found")
        }
        let audience = try audience(merchant: merchant, marketCode: request.marketCode, group: request.group)
        if let name = request.category {
            guard let category, category.effectiveMask.contains(audience) else {
                throw MercatoError.notFound("category '\(name)' not found")
            }
        }
        var query = ListingQuery(
            merchantID: merchant.id, scope: category?.id.sql ?? merchant.id.sql, sort: request.sort,
            currency: audience.market.currency, audience: audience, inStockOnly: request.inStockOnly, after: nil, limit: request.limit + 1)
        if let cursor = request.cursor {
            query.after = try cursors.decode(cursor, for: query)
        }
        let rows = try await store.listing(query)
        let page = rows.prefix(request.limit)
        var writer = JSONWriter(capacity: 256 + page.count * 256)
        writer.raw("{\"items\":[")
        var keys = ["m:\(merchant.id)"]
        if let category { keys.append("c:\(category.id)") }
        for (index, row) in page.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{")
            writer.key("id"); writer.string(row.productID.description)
            writer.raw(","); writer.key("slug"); writer.string(row.slug)
            writer.raw(","); writer.key("name"); writer.string(row.name)
            writer.raw(","); writer.key("price"); Self.money(row.price, audience.market.currency, into: &writer)
            writer.raw(","); writer.key("image_url"); writer.optionalString(row.imageURL)
            writer.raw(","); writer.key("in_stock"); writer.bool(row.inStock)
            writer.raw("}")
            keys.append("p:\(row.productID)")
        }
        writer.raw("],\"next_cursor\":")
        if rows.count > request.limit, let last = page.last {
            writer.string(cursors.encode(ListingKey(value: last.sortValue, productID: last.productID), for: query))
        } else {
            writer.raw("null")
        }
        writer.raw("}")
        return CatalogResponse(
            body: writer.bytes, categoryKind: category?.kind ?? .dynamic,
            personalised: audience.group != .public, surrogateKeys: keys)
    }

    /// One product with its variants priced for the audience's market.
    public func product(merchantSlug: String, reference: String, marketCode: String?, group: CustomerGroup) async throws -> CatalogResponse {
        guard let record = try await store.product(merchantSlug: merchantSlug, reference: Reference(reference)) else {
            throw MercatoError.notFound("product '\(reference)' not found")
        }
        let audience = try audience(merchant: record.merchant, marketCode: marketCode, group: group)
        guard let mask = record.audienceMask, mask.contains(audience) else {
            throw MercatoError.notFound("product '\(reference)' not found")
        }
        let currency = audience.market.currency
        let variants = try await store.variants(of: record.id, currency: currency)
        guard let minPrice = variants.map(\.price).min() else {
            throw MercatoError.notFound("product '\(reference)' is not sold in \(audience.market.code)")
        }
        var writer = JSONWriter(capacity: 1024)
        writer.raw("{")
        writer.key("id"); writer.string(record.id.description)
        writer.raw(","); writer.key("slug"); writer.string(record.slug)
        writer.raw(","); writer.key("name"); writer.string(record.name)
        writer.raw(","); writer.key("description"); writer.string(record.description)
        writer.raw(","); writer.key("images"); writer.rawJSON(record.imagesJSON)
        writer.raw(","); writer.key("price"); Self.money(minPrice, currency, into: &writer)
        writer.raw(","); writer.key("in_stock"); writer.bool(variants.contains { $0.stock > 0 })
        writer.raw(","); writer.key("variants"); writer.raw("[")
        for (index, variant) in variants.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{")
            writer.key("id"); writer.string(variant.id.description)
            writer.raw(","); writer.key("sku"); writer.string(variant.sku)
            writer.raw(","); writer.key("options"); writer.rawJSON(variant.optionsJSON)
            writer.raw(","); writer.key("price"); Self.money(variant.price, currency, into: &writer)
            writer.raw(","); writer.key("stock"); writer.int(variant.stock)
            writer.raw("}")
        }
        writer.raw("]}")
        return CatalogResponse(
            body: writer.bytes, categoryKind: nil, personalised: audience.group != .public,
            surrogateKeys: ["m:\(record.merchant.id)", "p:\(record.id)"])
    }

    /// The category tree the audience may see; a hidden category hides its whole subtree.
    public func categories(merchantSlug: String, marketCode: String?, group: CustomerGroup) async throws -> CatalogResponse {
        guard let (merchant, categories) = try await store.categoryTree(slug: merchantSlug) else {
            throw MercatoError.notFound("store '\(merchantSlug)' not found")
        }
        let audience = try audience(merchant: merchant, marketCode: marketCode, group: group)
        let visible = categories.filter { $0.effectiveMask.contains(audience) }
        var children: [CategoryID?: [Category]] = [:]
        for category in visible { children[category.parentID, default: []].append(category) }
        func write(_ nodes: [Category], into writer: inout JSONWriter) {
            writer.raw("[")
            for (index, node) in nodes.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw("{")
                writer.key("id"); writer.string(node.id.description)
                writer.raw(","); writer.key("slug"); writer.string(node.slug)
                writer.raw(","); writer.key("name"); writer.string(node.name)
                writer.raw(","); writer.key("kind"); writer.string(node.kind.rawValue)
                writer.raw(","); writer.key("children"); write(children[node.id] ?? [], into: &writer)
                writer.raw("}")
            }
            writer.raw("]")
        }
        var writer = JSONWriter(capacity: 4096)
        writer.raw("{\"categories\":")
        write(children[nil] ?? [], into: &writer)
        writer.raw("}")
        return CatalogResponse(
            body: writer.bytes, categoryKind: .dynamic, personalised: audience.group != .public,
            surrogateKeys: ["m:\(merchant.id)", "m:\(merchant.id):categories"])
    }

    static func money(_ amount: Int64, _ currency: CurrencyCode, into writer: inout JSONWriter) {
        writer.raw("{\"currency\":\"")
        writer.rawJSON(currency.code)
        writer.raw("\",\"amount\":")
        writer.int(amount)
        writer.raw("}")
    }
}
