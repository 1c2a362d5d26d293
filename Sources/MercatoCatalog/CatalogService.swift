import Crypto
import Foundation
import MercatoCache
import MercatoCore
import MercatoJSON
import MercatoStorage
import NIOCore
import MercatoCatalogStore

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
    public let surrogateKeys: [String]
    /// `surrogateKeys` as one header value, joined once per fill rather than once per request.
    public let surrogateKeyHeader: String
    /// When set, `body` is only the render-time form: the response is this template filled with the
    /// live facts (`StorefrontReads` does that), and `etag` is the template's part of the validator.
    public var template: LiveTemplate?
    /// The last fill of `template` (shared by every copy of this cached value).
    public var memo = FillMemo()
    /// A price-sorted page: the price range it shows (nil bounds: open ends) and the generation of its
    /// scope's price order when it was loaded. It stays valid while no price moves into or out of the range.
    public var order: OrderStamp?
    /// A listing page in its scope's listings: the range of its sort values from its cursor to the row
    /// after its last (nil: open end), and its products with that row. It stays valid while no product
    /// write moves a product it holds, or one into or out of that range (`CacheNamespace.listings`).
    public var members: OrderStamp?
    /// A listing's load only: the listed products' variants, stock levels and price in the page's currency,
    /// read by the listing's own statement. `StorefrontReads` stores them as live facts and drops them
    /// before the response is cached.
    public var listedFacts: [ProductID: ProductFactsRecord]?

    init(body: [UInt8], categoryKind: CategoryKind?, personalised: Bool, surrogateKeys: [String]) {
        self.body = ByteBuffer(bytes: body)
        self.etag = Self.etag(body)
        self.categoryKind = categoryKind
        self.personalised = personalised
        self.surrogateKeys = surrogateKeys
        self.surrogateKeyHeader = surrogateKeys.joined(separator: " ")
    }

    init(template: LiveTemplate, categoryKind: CategoryKind?, personalised: Bool, surrogateKeys: [String]) {
        var all: [UInt8] = []
        for segment in template.segments { all.append(contentsOf: segment.readableBytesView) }
        self.body = template.fill { _, _ in nil }
        self.etag = Self.etag(all)
        self.categoryKind = categoryKind
        self.personalised = personalised
        self.surrogateKeys = surrogateKeys
        self.surrogateKeyHeader = surrogateKeys.joined(separator: " ")
        self.template = template
    }

    init(body: ByteBuffer, etag: String, categoryKind: CategoryKind?, personalised: Bool, surrogateKeys: [String], template: LiveTemplate? = nil) {
        self.body = body
        self.etag = etag
        self.categoryKind = categoryKind
        self.personalised = personalised
        self.surrogateKeys = surrogateKeys
        self.surrogateKeyHeader = surrogateKeys.joined(separator: " ")
        self.template = template
    }

    /// Where a price- or sales-sorted page sits in its order (see `order`), and the generation of that
    /// order it was loaded under.
    public struct OrderStamp: Sendable, Equatable {
        public var page: SortedPage
        public var generation: String
    }

    /// Strong validator of fixed bytes: a hash, computed once per fill.
    static func etag(_ bytes: [UInt8]) -> String {
        "\"" + SHA256.hash(data: bytes).prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
    }

    /// The product a detail answer is about (from its `p:` surrogate key).
    public var productID: ProductID? {
        surrogateKeys.lazy.filter { $0.hasPrefix("p:") }.compactMap { ProductID($0.dropFirst(2)) }.first
    }

    /// Approximate memory held, for the byte-bounded near cache.
    public var cost: Int {
        body.readableBytes + (template?.byteCount ?? 0) + etag.utf8.count + 2 * surrogateKeys.reduce(0) { $0 + $1.utf8.count + 16 } + 64
    }
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
        // Price and in_stock are holes: they are filled from the live facts when served, so a sale or a
        // price change of one product does not invalidate every page that shows it.
        var writer = TemplateWriter(capacity: 256 + page.count * 256)
        writer.json.raw("{\"items\":[")
        // Keys as `SurrogateKeys` lays them out: the scope, its order, in_stock membership, then each card.
        let scope = category?.id.description ?? merchant.id.description
        var keys = [
            SurrogateKeys.merchant(merchant.id), SurrogateKeys.scope(scope, merchantID: merchant.id),
            SurrogateKeys.sorted(scope, merchantID: merchant.id, dimension: CacheNamespace.dimension(of: request.sort, currency: audience.market.currency.code)),
        ]
        if request.inStockOnly { keys.append(SurrogateKeys.inStockLists(merchant.id)) }
        for (index, row) in page.enumerated() {
            if index > 0 { writer.json.raw(",") }
            writer.json.raw("{")
            writer.json.key("id"); writer.json.string(row.productID.description)
            writer.json.raw(","); writer.json.key("slug"); writer.json.string(row.slug)
            writer.json.raw(","); writer.json.key("name"); writer.json.string(row.name)
            writer.json.raw(","); writer.json.key("price"); writer.hole(.price(row.productID), value: row.price)
            writer.json.raw(","); writer.json.key("image_url"); writer.json.optionalString(row.imageURL)
            writer.json.raw(","); writer.json.key("in_stock"); writer.hole(.inStock(row.productID), value: row.inStock ? 1 : 0)
            writer.json.raw("}")
            keys.append(SurrogateKeys.product(row.productID))
        }
        writer.json.raw("],\"next_cursor\":")
        if rows.count > request.limit, let last = page.last {
            writer.json.string(cursors.encode(ListingKey(value: last.sortValue, productID: last.productID), for: query))
        } else {
            writer.json.raw("null")
        }
        writer.json.raw("}")
        var response = CatalogResponse(
            template: writer.template(currency: audience.market.currency.code), categoryKind: category?.kind ?? .dynamic,
            personalised: audience.group != .public, surrogateKeys: keys)
        response.listedFacts = Dictionary(
            page.map { ($0.productID, ProductFactsRecord(variants: $0.variants.map { ($0.id, $0.stock, $0.version) }, price: $0.price)) }
        ) { first, _ in first }
        do {
            // The page's place in its scope's listings, with the row after it (which decides whether a
            // next page exists): a product entering between the cursor and that row changes the page.
            let hasNext = rows.count > request.limit
            let descending = request.sort == .priceDesc || request.sort == .newest || request.sort == .bestselling
            let start = query.after?.value, end = hasNext ? rows.last?.sortValue : nil
            let items = rows.map { SortedPage.Item(product: $0.productID.description, key: $0.sortValue) }
            response.members = CatalogResponse.OrderStamp(
                page: SortedPage(low: descending ? end : start, high: descending ? start : end, descending: descending, items: items, hasNext: hasNext),
                generation: "")
        }
        if request.sort == .priceAsc || request.sort == .priceDesc || request.sort == .bestselling {
            // The prices (or sales counts) this page's content depends on: from its cursor (inclusive, for
            // ties) to its last item, or to the end when it is the last page; and its items in order.
            let hasNext = rows.count > request.limit
            let start = query.after?.value, end = hasNext ? page.last?.sortValue : nil
            let ascending = request.sort == .priceAsc
            let items = page.map { SortedPage.Item(product: $0.productID.description, key: $0.sortValue) }
            response.order = CatalogResponse.OrderStamp(
                page: SortedPage(low: ascending ? start : end, high: ascending ? end : start, descending: !ascending, items: items, hasNext: hasNext),
                generation: "")
        }
        return response
    }

    /// One product with its variants priced for the audience's market. Stock and `in_stock` are holes
    /// filled when served; the levels read here go to `live` (loaded in `epoch`).
    public func product(
        merchantSlug: String, reference: String, marketCode: String?, group: CustomerGroup, live: LiveAvailability? = nil, epoch: UInt64 = 0
    ) async throws -> CatalogResponse {
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
        live?.store(levels: Dictionary(variants.map { ($0.id, LiveAvailability.Level(stock: $0.stock, version: $0.stockVersion)) }) { a, _ in a }, epoch: epoch)
        var writer = TemplateWriter(capacity: 1024)
        writer.json.raw("{")
        writer.json.key("id"); writer.json.string(record.id.description)
        writer.json.raw(","); writer.json.key("slug"); writer.json.string(record.slug)
        writer.json.raw(","); writer.json.key("name"); writer.json.string(record.name)
        writer.json.raw(","); writer.json.key("description"); writer.json.string(record.description)
        writer.json.raw(","); writer.json.key("images"); writer.json.rawJSON(record.imagesJSON)
        writer.json.raw(","); writer.json.key("price"); Self.money(minPrice, currency, into: &writer.json)
        writer.json.raw(","); writer.json.key("in_stock"); writer.hole(.detailInStock, value: variants.contains { $0.stock > 0 } ? 1 : 0)
        writer.json.raw(","); writer.json.key("variants"); writer.json.raw("[")
        for (index, variant) in variants.enumerated() {
            if index > 0 { writer.json.raw(",") }
            writer.json.raw("{")
            writer.json.key("id"); writer.json.string(variant.id.description)
            writer.json.raw(","); writer.json.key("sku"); writer.json.string(variant.sku)
            writer.json.raw(","); writer.json.key("options"); writer.json.rawJSON(variant.optionsJSON)
            writer.json.raw(","); writer.json.key("price"); Self.money(variant.price, currency, into: &writer.json)
            writer.json.raw(","); writer.json.key("stock"); writer.hole(.stock(variant.id), value: variant.stock)
            writer.json.raw("}")
        }
        writer.json.raw("]}")
        return CatalogResponse(
            template: writer.template(currency: currency.code), categoryKind: nil, personalised: audience.group != .public,
            surrogateKeys: [SurrogateKeys.merchant(record.merchant.id), SurrogateKeys.product(record.id), SurrogateKeys.stock(record.id)])
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
            surrogateKeys: [SurrogateKeys.merchant(merchant.id), SurrogateKeys.tree(merchant.id)])
    }

    /// Current stock levels of variants (one statement).
    public func stockLevels(_ variants: [VariantID]) async throws -> [VariantID: (stock: Int64, version: Int64)] {
        try await store.stockLevels(variants)
    }

    /// Variants, levels and price in `currency` of products (one statement).
    public func productFacts(_ products: [ProductID], currency: CurrencyCode) async throws -> [ProductID: ProductFactsRecord] {
        try await store.productFacts(products, currency: currency)
    }

    static func money(_ amount: Int64, _ currency: CurrencyCode, into writer: inout JSONWriter) {
        writer.raw("{\"currency\":\"")
        writer.rawJSON(currency.code)
        writer.raw("\",\"amount\":")
        writer.int(amount)
        writer.raw("}")
    }
}
