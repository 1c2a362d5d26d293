import Foundation
import MercatoCore
import MercatoJSON
import MercatoSQL
import MercatoStorage

extension CatalogWriter {
    /// A product with its categories, variants, prices and stock, as the admin API shows it.
    public func product(merchantID: MerchantID, id: ProductID) async throws -> AdminProduct {
        try await Self.loadProduct(merchantID: merchantID, id: id, on: database)
    }

    /// A page of the merchant's products (all statuses), ordered by position then id.
    public func productIDs(merchantID: MerchantID, after: ProductID?, limit: Int) async throws -> [ProductID] {
        if let after {
            return try await database.query(
                "SELECT id FROM products WHERE merchant_id = $1 AND id > $2 ORDER BY id LIMIT $3", merchantID.sql, after.sql, .int(Int64(limit))
            ).map { try $0.id(0) }
        }
        return try await database.query(
            "SELECT id FROM products WHERE merchant_id = $1 ORDER BY id LIMIT $2", merchantID.sql, .int(Int64(limit))
        ).map { try $0.id(0) }
    }

    /// Creates a product with its variants.
    public func createProduct(merchantID: MerchantID, draft: ProductDraft) async throws -> (AdminProduct, WriteEffect) {
        try await database.transaction { tx in
            let id = ProductID.random()
            try await Self.requireCategories(draft.categoryIDs, merchantID: merchantID, on: tx)
            let now = WallClock.nowMicros()
            do {
                try await tx.execute(SQL(
                    """
                    INSERT INTO products (id, merchant_id, slug, name, description, images, primary_image, position, created_at, sales_count, status, updated_at, tax_class)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                    """,
                    [id.sql, merchantID.sql, .text(draft.slug), .text(draft.name), .text(draft.description), .text(Self.jsonText(draft.images)),
                     draft.images.first.map(SQLValue.text) ?? .null, .int(draft.position), .int(draft.createdAt ?? now),
                     .int(draft.salesCount), .text(draft.status.rawValue), .int(now), .text(draft.taxClass.rawValue)]))
            } catch StorageError.uniqueViolation {
                throw MercatoError.conflict("a product with slug '\(draft.slug)' already exists in this store")
            }
            try await Self.setCategories(draft.categoryIDs, of: id, on: tx)
            for (index, variant) in draft.variants.enumerated() {
                try await Self.insertVariant(variant, id: .random(), productID: id, merchantID: merchantID, position: Int64(index), on: tx)
            }
            let outcome = try await ListingProjector.reproject([id], merchantID: merchantID, on: tx)
            let product = try await Self.loadProduct(merchantID: merchantID, id: id, on: tx)
            var effect = WriteEffect(merchantID: merchantID, productIDs: [id], categoryIDs: draft.categoryIDs)
            effect.listingChanges = outcome.changes(covering: [id])
            effect.slugsChanged = true
            return (product, effect)
        }
    }

    /// Applies a patch to a product.
    ///
    /// Only position, status and categories reach the listing projections, so a patch of text, images or
    /// tax class re-projects nothing: it is one UPDATE (which also names the scopes the product is listed
    /// in, for the caches) and the product's reload.
    public func updateProduct(merchantID: MerchantID, id: ProductID, patch: ProductPatch) async throws -> (AdminProduct, WriteEffect) {
        try await database.transaction { tx in
            // The categories before are needed only when they change (the union is what the caches drop).
            let before = patch.categoryIDs == nil ? nil : try await Self.loadProduct(merchantID: merchantID, id: id, on: tx)
            var sets: [String] = []
            var binds: [SQLValue] = [merchantID.sql, id.sql]
            func set(_ column: String, _ value: SQLValue) {
                binds.append(value)
                sets.append("\(column) = $\(binds.count)")
            }
            if let slug = patch.slug { set("slug", .text(slug)) }
            if let name = patch.name { set("name", .text(name)) }
            if let description = patch.description { set("description", .text(description)) }
            if let images = patch.images {
                set("images", .text(Self.jsonText(images)))
                set("primary_image", images.first.map(SQLValue.text) ?? .null)
            }
            if let position = patch.position { set("position", .int(position)) }
            if let status = patch.status { set("status", .text(status.rawValue)) }
            if let taxClass = patch.taxClass { set("tax_class", .text(taxClass.rawValue)) }
            set("updated_at", .int(WallClock.nowMicros()))
            let scopeList = tx.dialect == .postgres
                ? "(SELECT string_agg(scope_id::text, ',') FROM listing_entries WHERE product_id = $2)"
                : "(SELECT group_concat(scope_id, ',') FROM listing_entries WHERE product_id = $2)"
            let updated: ResultRow
            do {
                guard let row = try await tx.query(SQL(
                    "UPDATE products SET \(sets.joined(separator: ", ")) WHERE merchant_id = $1 AND id = $2 RETURNING id, \(scopeList)", binds)
                ).first else { throw MercatoError.notFound("product \(id) not found") }
                updated = row
            } catch StorageError.uniqueViolation {
                throw MercatoError.conflict("a product with slug '\(patch.slug ?? "")' already exists in this store")
            }
            if let categoryIDs = patch.categoryIDs, let before {
                if categoryIDs.isEmpty, !before.categoryIDs.isEmpty {
                    try await Self.refuseImplicitPublication(before.categoryIDs, merchantID: merchantID, on: tx)
                }
                try await Self.requireCategories(categoryIDs, merchantID: merchantID, on: tx)
                try await tx.execute("DELETE FROM product_categories WHERE product_id = $1", id.sql)
                try await Self.setCategories(categoryIDs, of: id, on: tx)
            }
            let reprojected = patch.position != nil || patch.status != nil || patch.categoryIDs != nil
            let outcome = reprojected ? try await ListingProjector.reproject([id], merchantID: merchantID, on: tx) : ListingProjector.Outcome()
            let after = try await Self.loadProduct(merchantID: merchantID, id: id, on: tx)
            let categories = Array(Set((before?.categoryIDs ?? []) + after.categoryIDs)).sorted()
            var effect = WriteEffect(merchantID: merchantID, productIDs: [id], categoryIDs: categories)
            effect.listingChanges = outcome.changes(covering: [id])
            if !reprojected {
                effect.listingChanges[id]?.unchanged = (try updated.optionalText(1) ?? "").split(separator: ",").map(String.init)
            }
            // Without the values before, a patch that sets what a card shows counts as a change.
            effect.cardChanged = patch.name != nil || patch.slug != nil || patch.images != nil
            effect.slugsChanged = patch.slug != nil
            return (after, effect)
        }
    }

    /// Adds a variant to a product.
    public func addVariant(merchantID: MerchantID, productID: ProductID, draft: VariantDraft) async throws -> (AdminProduct, WriteEffect) {
        try await database.transaction { tx in
            let product = try await Self.loadProduct(merchantID: merchantID, id: productID, on: tx)
            try await Self.insertVariant(draft, id: .random(), productID: productID, merchantID: merchantID, position: Int64(product.variants.count), on: tx)
            return try await Self.finishVariantWrite(merchantID: merchantID, productID: productID, on: tx)
        }
    }

    /// Changes a variant's SKU and/or options.
    public func updateVariant(merchantID: MerchantID, id: VariantID, sku: String?, options: [VariantOption]?) async throws -> (AdminProduct, WriteEffect) {
        try await database.transaction { tx in
            let productID = try await Self.productOfVariant(merchantID: merchantID, id: id, on: tx)
            do {
                if let sku { try await tx.execute("UPDATE variants SET sku = $3 WHERE merchant_id = $1 AND id = $2", merchantID.sql, id.sql, .text(sku)) }
            } catch StorageError.uniqueViolation {
                throw MercatoError.conflict("a variant with SKU '\(sku ?? "")' already exists in this store")
            }
            if let options {
                try await tx.execute("UPDATE variants SET options = $3 WHERE merchant_id = $1 AND id = $2", merchantID.sql, id.sql, .text(VariantOption.jsonObject(options)))
            }
            return try await Self.finishVariantWrite(merchantID: merchantID, productID: productID, on: tx)
        }
    }

    /// Removes a variant and its prices.
    public func deleteVariant(merchantID: MerchantID, id: VariantID) async throws -> (AdminProduct, WriteEffect) {
        try await database.transaction { tx in
            let productID = try await Self.productOfVariant(merchantID: merchantID, id: id, on: tx)
            try await tx.execute("DELETE FROM variant_prices WHERE variant_id = $1", id.sql)
            try await tx.execute("DELETE FROM variants WHERE merchant_id = $1 AND id = $2", merchantID.sql, id.sql)
            return try await Self.finishVariantWrite(merchantID: merchantID, productID: productID, on: tx)
        }
    }

    /// Sets a variant's price in one currency.
    ///
    /// A price reaches listings only through the product's cheapest price per currency, so the projection
    /// rows are updated in place when that minimum moves, and not at all when it does not (a full
    /// reprojection deletes and rewrites every row of the product: 19 statements on SQLite, against 6–9 here).
    public func setPrice(merchantID: MerchantID, variantID: VariantID, price: Money) async throws -> (AdminProduct, WriteEffect) {
        try await database.transaction { tx in
            // Marks the product updated and, on PostgreSQL, locks its row: price writes to two variants of
            // one product then take their minimum one after the other, each seeing the other's price.
            guard let locked = try await tx.query(
                "UPDATE products SET updated_at = $3 WHERE merchant_id = $1 AND id = (SELECT product_id FROM variants WHERE merchant_id = $1 AND id = $2) RETURNING id",
                merchantID.sql, variantID.sql, .int(WallClock.nowMicros())
            ).first else { throw MercatoError.notFound("variant \(variantID) not found") }
            let productID: ProductID = try locked.id(0)
            let currency = price.currency.code
            // The subqueries exclude this variant, so they read the same whether they see the row before or
            // after the upsert (PostgreSQL evaluates them on the statement's snapshot; SQLite after the change).
            guard let row = try await tx.query(
                """
                INSERT INTO variant_prices (variant_id, currency, amount) VALUES ($1, $2, $3)
                ON CONFLICT (variant_id, currency) DO UPDATE SET amount = excluded.amount
                RETURNING (SELECT MIN(vp.amount) FROM variant_prices vp JOIN variants v ON v.id = vp.variant_id
                           WHERE v.product_id = $4 AND vp.currency = $2 AND vp.variant_id <> $1),
                          (SELECT min_amount FROM product_prices WHERE product_id = $4 AND currency = $2)
                """,
                variantID.sql, .text(currency), .int(price.amount), productID.sql
            ).first else { throw MercatoError.notFound("variant \(variantID) not found") }
            let othersMin = try row.optionalInt(0)
            guard let before = try row.optionalInt(1) else {
                // The product had no price in this currency: its listing rows for it do not exist yet.
                return try await Self.finishVariantWrite(merchantID: merchantID, productID: productID, markUpdated: false, on: tx)
            }
            let after = min(othersMin ?? price.amount, price.amount)
            var scopes: [String] = []
            if after != before {
                try await tx.execute(
                    "UPDATE product_prices SET min_amount = $3 WHERE product_id = $1 AND currency = $2", productID.sql, .text(currency), .int(after))
                scopes = try await tx.query(
                    "UPDATE listing_prices SET min_amount = $4 WHERE merchant_id = $1 AND product_id = $2 AND currency = $3 RETURNING scope_id",
                    merchantID.sql, productID.sql, .text(currency), .int(after)
                ).map { try $0.text(0) }
            }
            let product = try await Self.loadProduct(merchantID: merchantID, id: productID, on: tx)
            var effect = WriteEffect(
                merchantID: merchantID, productIDs: [productID], categoryIDs: product.categoryIDs, scopes: Array(Set(scopes)).sorted())
            if after != before { effect.minPriceMoves[currency] = (before, after) }
            return (product, effect)
        }
    }

    /// Sets a variant's stock level. Only `in_stock` of the listing rows is rewritten, and only when the
    /// level crosses zero (it is the only stock-derived column in them).
    public func setStock(merchantID: MerchantID, variantID: VariantID, quantity: Int64) async throws -> (AdminProduct, WriteEffect) {
        try await database.transaction { tx in
            // Locked on PostgreSQL, variant and product, so the level before the write is the one the write
            // replaces, and a zero crossing's `in_stock` sees the other variants' committed levels.
            let lock = tx.dialect == .postgres ? " FOR UPDATE" : ""
            guard let row = try await tx.query(
                "SELECT v.product_id, v.stock FROM variants v JOIN products p ON p.id = v.product_id WHERE v.merchant_id = $1 AND v.id = $2\(lock)",
                merchantID.sql, variantID.sql
            ).first else { throw MercatoError.notFound("variant \(variantID) not found") }
            let productID: ProductID = try row.id(0)
            let before = try row.int(1)
            guard let updated = try await tx.query(
                "UPDATE variants SET stock = $3, stock_version = stock_version + 1 WHERE merchant_id = $1 AND id = $2 RETURNING stock_version",
                merchantID.sql, variantID.sql, .int(quantity)
            ).first else { throw MercatoError.notFound("variant \(variantID) not found") }
            let crossedZero = (before == 0) != (quantity == 0)
            let level = StockLevel(productID: productID, variantID: variantID, stock: quantity, version: try updated.int(0))
            if crossedZero { try await ListingProjector.refreshInStock([productID], lock: false, on: tx) }
            var (product, effect) = try await Self.finishVariantWrite(merchantID: merchantID, productID: productID, reproject: false, on: tx)
            effect.stock = StockChange(products: [productID], inStockMayHaveChanged: crossedZero, levels: [level])
            return (product, effect)
        }
    }

    // MARK: helpers

    /// Ends a write to a product's variants; `reproject` false when no projected column can have changed
    /// (then the product itself is not marked updated either: only a stock level moved).
    static func finishVariantWrite(
        merchantID: MerchantID, productID: ProductID, reproject: Bool = true, markUpdated: Bool = true, on tx: any SQLExecutor
    ) async throws -> (AdminProduct, WriteEffect) {
        if reproject, markUpdated {
            try await tx.execute("UPDATE products SET updated_at = $3 WHERE merchant_id = $1 AND id = $2", merchantID.sql, productID.sql, .int(WallClock.nowMicros()))
        }
        let outcome = reproject ? try await ListingProjector.reproject([productID], merchantID: merchantID, on: tx) : ListingProjector.Outcome()
        let product = try await loadProduct(merchantID: merchantID, id: productID, on: tx)
        var effect = WriteEffect(
            merchantID: merchantID, productIDs: [productID], categoryIDs: product.categoryIDs,
            scopes: outcome.scopeIDs)
        for (currency, move) in outcome.minPrices[productID] ?? [:] { effect.minPriceMoves[currency.code] = move }
        if reproject {
            effect.listingChanges = outcome.changes(covering: [productID])
        }
        return (product, effect)
    }

    static func productOfVariant(merchantID: MerchantID, id: VariantID, on tx: any SQLExecutor) async throws -> ProductID {
        guard let row = try await tx.query("SELECT product_id FROM variants WHERE merchant_id = $1 AND id = $2", merchantID.sql, id.sql).first else {
            throw MercatoError.notFound("variant \(id) not found")
        }
        return try row.id(0)
    }

    static func requireCategories(_ ids: [CategoryID], merchantID: MerchantID, on tx: any SQLExecutor) async throws {
        guard !ids.isEmpty else { return }
        let unique = Array(Set(ids))
        let found = try await tx.query(SQL(
            "SELECT id FROM categories WHERE merchant_id = $1 AND id IN (\(BatchInsert.placeholders(count: unique.count, startingAt: 2)))",
            [merchantID.sql] + unique.map(\.sql)))
        let known = Set(try found.map { try $0.id(0, as: CategoryID.self) })
        if let missing = unique.first(where: { !known.contains($0) }) {
            throw MercatoError.validation(field: "category_ids", message: "no category \(missing) in this store")
        }
    }

    /// Fail closed: a product in no category is visible to everyone, so emptying the categories of a
    /// product they restrict would publish it as a side effect. Publishing takes a public category.
    static func refuseImplicitPublication(_ current: [CategoryID], merchantID: MerchantID, on tx: any SQLExecutor) async throws {
        let rows = try await tx.query(SQL(
            "SELECT effective_mask FROM categories WHERE merchant_id = $1 AND id IN (\(BatchInsert.placeholders(count: current.count, startingAt: 2)))",
            [merchantID.sql] + current.map(\.sql)))
        let mask = try rows.reduce(AudienceMask.none) { $0.union(AudienceMask(rawValue: try $1.int(0))) }
        guard mask == .all else {
            throw MercatoError.conflict(
                "the product's categories restrict who can see it; with no category it would be visible to everyone. "
                    + "To publish it, assign it to a public category instead of removing them all")
        }
    }

    static func setCategories(_ ids: [CategoryID], of productID: ProductID, on tx: any SQLExecutor) async throws {
        let rows = Array(Set(ids)).sorted().map { [productID.sql, $0.sql] }
        try await BatchInsert.insert(into: "product_categories", columns: ["product_id", "category_id"], rows: rows, on: tx)
    }

    static func insertVariant(_ draft: VariantDraft, id: VariantID, productID: ProductID, merchantID: MerchantID, position: Int64, on tx: any SQLExecutor) async throws {
        do {
            try await tx.execute(
                "INSERT INTO variants (id, product_id, merchant_id, sku, options, position, stock) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                id.sql, productID.sql, merchantID.sql, .text(draft.sku), .text(VariantOption.jsonObject(draft.options)), .int(position), .int(draft.stock))
        } catch StorageError.uniqueViolation {
            throw MercatoError.conflict("a variant with SKU '\(draft.sku)' already exists in this store")
        }
        try await BatchInsert.insert(
            into: "variant_prices", columns: ["variant_id", "currency", "amount"],
            rows: draft.prices.map { [id.sql, .text($0.currency.code), .int($0.amount)] }, on: tx)
    }

    static func loadProduct(merchantID: MerchantID, id: ProductID, on tx: any SQLExecutor) async throws -> AdminProduct {
        // One statement: the categories come along as one comma-separated column, the variants with their
        // prices as one JSON column (every admin write answers with the product, so this is on each of them).
        let (categoryList, variantList) = tx.dialect == .postgres
            ? ("(SELECT string_agg(category_id::text, ',') FROM product_categories WHERE product_id = $2)",
               """
               (SELECT json_agg(json_build_object('id', v.id, 'sku', v.sku, 'options', v.options, 'stock', v.stock, 'position', v.position,
                   'prices', (SELECT json_agg(json_build_object('currency', vp.currency, 'amount', vp.amount)) FROM variant_prices vp WHERE vp.variant_id = v.id)))
                FROM variants v WHERE v.product_id = $2)
               """)
            : ("(SELECT group_concat(category_id, ',') FROM product_categories WHERE product_id = $2)",
               """
               (SELECT json_group_array(json_object('id', v.id, 'sku', v.sku, 'options', v.options, 'stock', v.stock, 'position', v.position,
                   'prices', json((SELECT json_group_array(json_object('currency', vp.currency, 'amount', vp.amount)) FROM variant_prices vp WHERE vp.variant_id = v.id))))
                FROM variants v WHERE v.product_id = $2)
               """)
        guard let row = try await tx.query(SQL(
            "SELECT id, slug, name, description, images, position, status, sales_count, created_at, tax_class, \(categoryList), \(variantList) FROM products WHERE merchant_id = $1 AND id = $2",
            [merchantID.sql, id.sql])
        ).first else { throw MercatoError.notFound("product \(id) not found") }
        let categories = try (row.optionalText(10) ?? "").split(separator: ",").map { text in
            guard let id = CategoryID(text) else { throw StorageError.decoding("not a category id: \(text)") }
            return id
        }.sorted()
        return AdminProduct(
            id: try row.id(0), slug: try row.text(1), name: try row.text(2), description: try row.text(3),
            images: (try? JSONDecoder().decode([String].self, from: Data(try row.text(4).utf8))) ?? [],
            position: try row.int(5), status: ProductStatus(rawValue: try row.text(6)) ?? .draft, salesCount: try row.int(7),
            createdAt: try row.int(8), categoryIDs: categories, variants: try Self.variants(fromJSON: try row.optionalText(11)),
            taxClass: TaxClass(rawValue: try row.text(9)) ?? .standard)
    }

    /// A product's variants from `loadProduct`'s JSON column, in variant order, prices by currency.
    static func variants(fromJSON text: String?) throws -> [AdminVariant] {
        struct Row: Decodable {
            struct Price: Decodable { var currency: String; var amount: Int64 }
            var id: String, sku: String, options: String, stock: Int64, position: Int64
            var prices: [Price]?
        }
        guard let text else { return [] }
        let rows: [Row]
        do {
            rows = try JSONDecoder().decode([Row].self, from: Data(text.utf8))
        } catch {
            throw StorageError.decoding("a product's variants: \(error)")
        }
        return try rows.sorted { ($0.position, $0.id) < ($1.position, $1.id) }.map { row in
            guard let id = VariantID(row.id) else { throw StorageError.decoding("not a variant id: \(row.id)") }
            let prices = (row.prices ?? []).compactMap { price in CurrencyCode(price.currency).map { Money(currency: $0, amount: price.amount) } }
            return AdminVariant(id: id, sku: row.sku, optionsJSON: row.options, prices: prices.sorted { $0.currency.code < $1.currency.code }, stock: row.stock)
        }
    }

    static func jsonText(_ value: some Encodable) -> String {
        String(decoding: (try? json.encode(value)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
