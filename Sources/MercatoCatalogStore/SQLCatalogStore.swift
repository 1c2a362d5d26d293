import MercatoCore
import MercatoSQL
import MercatoStorage

/// `CatalogStore` over either SQL database; the statements are the same text for both dialects.
public struct SQLCatalogStore: CatalogStore {
    let database: any DatabaseClient

    public init(database: any DatabaseClient) { self.database = database }

    /// Every statement here is a storefront read, which a replica may answer when the caller routed it so.
    private func read(_ sql: SQL) async throws -> [ResultRow] {
        try await database.query(sql.onReplica)
    }

    static let merchantColumns = "m.id, m.slug, m.name, m.markets"
    static let categoryColumns = "c.id, c.merchant_id, c.parent_id, c.slug, c.name, c.kind, c.position, c.allowed_groups, c.allowed_markets, c.effective_mask"

    public func merchant(slug: String, category: Reference?) async throws -> (Merchant, Category?)? {
        let rows: [ResultRow]
        switch category {
        case nil:
            rows = try await read(SQL("SELECT \(Self.merchantColumns) FROM merchants m WHERE m.slug = $1", [.text(slug)], prepared: true))
        case .id(let id)?:
            rows = try await read(SQL(
                "SELECT \(Self.merchantColumns), \(Self.categoryColumns) FROM merchants m LEFT JOIN categories c ON c.merchant_id = m.id AND c.id = $2 WHERE m.slug = $1",
                [.text(slug), id], prepared: true))
        case .slug(let categorySlug)?:
            rows = try await read(SQL(
                "SELECT \(Self.merchantColumns), \(Self.categoryColumns) FROM merchants m LEFT JOIN categories c ON c.merchant_id = m.id AND c.slug = $2 WHERE m.slug = $1",
                [.text(slug), .text(categorySlug)], prepared: true))
        }
        guard let row = rows.first else { return nil }
        let merchant = try Self.merchant(row, at: 0)
        if category == nil || row.values[4] == .null { return (merchant, nil) }
        return (merchant, try Self.category(row, at: 4))
    }

    public func categoryTree(slug: String) async throws -> (Merchant, [Category])? {
        let rows = try await read(SQL(
            "SELECT \(Self.merchantColumns), \(Self.categoryColumns) FROM merchants m LEFT JOIN categories c ON c.merchant_id = m.id WHERE m.slug = $1 ORDER BY c.position, c.slug",
            [.text(slug)], prepared: true))
        guard let first = rows.first else { return nil }
        let merchant = try Self.merchant(first, at: 0)
        let categories = try rows.filter { $0.values[4] != .null }.map { try Self.category($0, at: 4) }
        return (merchant, categories)
    }

    public func listing(_ query: ListingQuery) async throws -> [ListingRow] {
        try await read(Self.listingSQL(query, dialect: database.dialect)).map { row in
            ListingRow(
                productID: try row.id(0), sortValue: try row.int(1), slug: try row.text(3), name: try row.text(4),
                imageURL: try row.optionalText(5), price: try row.int(6), inStock: try row.bool(2), variants: try Self.listedVariants(row.optionalText(7)))
        }
    }

    /// Parses the `id:stock:version:position` list of a listing row (aggregated in no order) into variant order.
    static func listedVariants(_ text: String?) throws -> [ListedVariant] {
        guard let text, !text.isEmpty else { return [] }
        var parsed: [(position: Int64, variant: ListedVariant)] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":")
            guard parts.count == 4, let id = VariantID(String(parts[0])), let stock = Int64(parts[1]), let version = Int64(parts[2]),
                let position = Int64(parts[3])
            else { throw StorageError.decoding("not a listed variant: \(item)") }
            parsed.append((position, ListedVariant(id: id, stock: stock, version: version)))
        }
        // The order of `productFacts` and of a detail: position, then id.
        return parsed.sorted { ($0.position, $0.variant.id.description) < ($1.position, $1.variant.id.description) }.map(\.variant)
    }

    /// The one statement behind a listing page: an ordered range of a covering index on the
    /// projection table, joined to products (and the price summary) for the page's rows only, with each
    /// row's variants and stock levels (the page's live facts) from the variants index.
    public static func listingSQL(_ query: ListingQuery, dialect: SQLDialect) -> SQL {
        // No ORDER BY inside the aggregate (SQLite's group_concat has none before 3.44): rows are put in
        // variant order when parsed.
        let variants = dialect == .postgres
            ? "(SELECT string_agg(v.id::text || ':' || v.stock || ':' || v.stock_version || ':' || v.position, ',') FROM variants v WHERE v.product_id = l.product_id)"
            : "(SELECT group_concat(v.id || ':' || v.stock || ':' || v.stock_version || ':' || v.position, ',') FROM variants v WHERE v.product_id = l.product_id)"
        let descending = query.sort == .priceDesc || query.sort == .newest || query.sort == .bestselling
        let (table, key): (String, String) = switch query.sort {
        case .position: ("listing_entries", "position")
        case .newest: ("listing_entries", "created_at")
        case .bestselling: ("listing_entries", "sales_count")
        case .priceAsc, .priceDesc: ("listing_prices", "min_amount")
        }
        var binds: [SQLValue] = [query.merchantID.sql, query.scope, .text(query.currency.code), .int(query.audience.bit)]
        var text: String
        if table == "listing_prices" {
            text = """
                SELECT l.product_id, l.min_amount, l.in_stock, p.slug, p.name, p.primary_image, l.min_amount, \(variants)
                FROM listing_prices l JOIN products p ON p.id = l.product_id
                WHERE l.merchant_id = $1 AND l.scope_id = $2 AND l.currency = $3 AND (l.audience_mask & $4) <> 0
                """
        } else {
            text = """
                SELECT l.product_id, l.\(key), l.in_stock, p.slug, p.name, p.primary_image, pp.min_amount, \(variants)
                FROM listing_entries l JOIN products p ON p.id = l.product_id
                JOIN product_prices pp ON pp.product_id = l.product_id AND pp.currency = $3
                WHERE l.merchant_id = $1 AND l.scope_id = $2 AND (l.audience_mask & $4) <> 0
                """
        }
        if query.inStockOnly { text += " AND l.in_stock" }
        if let after = query.after {
            binds.append(.int(after.value))
            binds.append(after.productID.sql)
            text += " AND (l.\(key), l.product_id) \(descending ? "<" : ">") ($5, $6)"
        }
        let direction = descending ? "DESC" : "ASC"
        binds.append(.int(Int64(query.limit)))
        text += " ORDER BY l.\(key) \(direction), l.product_id \(direction) LIMIT $\(binds.count)"
        return SQL(text, binds, prepared: true)
    }

    public func product(merchantSlug: String, reference: Reference) async throws -> ProductRecord? {
        let condition: String
        let value: SQLValue
        switch reference {
        case .id(let id): (condition, value) = ("p.id = $2", id)
        case .slug(let slug): (condition, value) = ("p.slug = $2", .text(slug))
        }
        let rows = try await read(SQL(
            """
            SELECT \(Self.merchantColumns), p.id, p.slug, p.name, p.description, p.images, p.status, e.audience_mask
            FROM merchants m JOIN products p ON p.merchant_id = m.id
            LEFT JOIN listing_entries e ON e.product_id = p.id AND e.scope_id = m.id
            WHERE m.slug = $1 AND \(condition)
            """,
            [.text(merchantSlug), value], prepared: true))
        guard let row = rows.first else { return nil }
        let active = try row.text(9) == ProductStatus.active.rawValue
        return ProductRecord(
            id: try row.id(4), merchant: try Self.merchant(row, at: 0), slug: try row.text(5), name: try row.text(6),
            description: try row.text(7), imagesJSON: try row.text(8),
            audienceMask: active ? try row.optionalInt(10).map(AudienceMask.init(rawValue:)) : nil)
    }

    public func variants(of product: ProductID, currency: CurrencyCode) async throws -> [VariantRecord] {
        try await read(SQL(
            """
            SELECT v.id, v.sku, v.options, vp.amount, v.stock, v.stock_version FROM variants v
            JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = $2
            WHERE v.product_id = $1 ORDER BY v.position, v.id
            """,
            [product.sql, .text(currency.code)], prepared: true)
        ).map { row in
            VariantRecord(
                id: try row.id(0), sku: try row.text(1), optionsJSON: try row.text(2), price: try row.int(3), stock: try row.int(4),
                stockVersion: try row.int(5))
        }
    }

    public func stockLevels(_ variants: [VariantID]) async throws -> [VariantID: (stock: Int64, version: Int64)] {
        guard !variants.isEmpty else { return [:] }
        var levels: [VariantID: (stock: Int64, version: Int64)] = [:]
        for row in try await read(SQL(
            "SELECT id, stock, stock_version FROM variants WHERE id IN (\(BatchInsert.placeholders(count: variants.count, startingAt: 1)))",
            variants.map(\.sql)))
        {
            levels[try row.id(0)] = (try row.int(1), try row.int(2))
        }
        return levels
    }

    public func productFacts(_ products: [ProductID], currency: CurrencyCode) async throws -> [ProductID: ProductFactsRecord] {
        guard !products.isEmpty else { return [:] }
        var facts: [ProductID: ProductFactsRecord] = [:]
        for row in try await read(SQL(
            """
            SELECT v.product_id, v.id, v.stock, v.stock_version, pp.min_amount FROM variants v
            LEFT JOIN product_prices pp ON pp.product_id = v.product_id AND pp.currency = $1
            WHERE v.product_id IN (\(BatchInsert.placeholders(count: products.count, startingAt: 2))) ORDER BY v.product_id, v.position, v.id
            """,
            [.text(currency.code)] + products.map(\.sql)))
        {
            let id: ProductID = try row.id(0)
            var record = try facts[id] ?? ProductFactsRecord(variants: [], price: row.optionalInt(4))
            record.variants.append((try row.id(1), try row.int(2), try row.int(3)))
            facts[id] = record
        }
        return facts
    }

    public func ping() async throws {
        _ = try await read(SQL("SELECT 1"))
    }

    /// A merchant read from `row`, its columns starting at `offset` (the checkout store reads one beside its cart).
    public static func merchant(_ row: ResultRow, at offset: Int) throws -> Merchant {
        let markets = try row.text(offset + 3).split(separator: ",").compactMap { Market.named(String($0)) }
        guard !markets.isEmpty else { throw StorageError.decoding("merchant without markets") }
        return Merchant(id: try row.id(offset), slug: try row.text(offset + 1), name: try row.text(offset + 2), markets: markets)
    }

    static func category(_ row: ResultRow, at o: Int) throws -> Category {
        let groups = try row.optionalText(o + 7).map { Set($0.split(separator: ",").compactMap { CustomerGroup(rawValue: String($0)) }) }
        let markets = try row.optionalText(o + 8).map { Set($0.split(separator: ",").map(String.init)) }
        return Category(
            id: try row.id(o), merchantID: try row.id(o + 1), parentID: try row.optionalID(o + 2), slug: try row.text(o + 3),
            name: try row.text(o + 4), kind: CategoryKind(rawValue: try row.text(o + 5)) ?? .dynamic, position: Int(try row.int(o + 6)),
            visibility: VisibilityRule(groups: groups, markets: markets), effectiveMask: AudienceMask(rawValue: try row.int(o + 9)))
    }
}
