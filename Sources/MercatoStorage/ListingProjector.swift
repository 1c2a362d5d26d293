import MercatoCore
import MercatoSQL

/// Keeps the listing projections (`listing_entries`, `listing_prices`, `product_prices`) equal to
/// what the base tables imply. Called inside the transaction of every write that can change them,
/// and by the seeder, so there is exactly one place that derives them.
public enum ListingProjector {
    /// What the projection needs to know about one product.
    public struct ProductFacts: Sendable {
        public var id: ProductID
        public var merchantID: MerchantID
        public var position: Int64
        public var createdAt: Int64
        public var salesCount: Int64
        public var status: ProductStatus
        public var categoryIDs: [CategoryID]
        /// Per variant: stock and prices.
        public var variants: [(stock: Int64, prices: [Money])]

        public init(
            id: ProductID, merchantID: MerchantID, position: Int64, createdAt: Int64, salesCount: Int64, status: ProductStatus,
            categoryIDs: [CategoryID], variants: [(stock: Int64, prices: [Money])]
        ) {
            self.id = id
            self.merchantID = merchantID
            self.position = position
            self.createdAt = createdAt
            self.salesCount = salesCount
            self.status = status
            self.categoryIDs = categoryIDs
            self.variants = variants
        }
    }

    /// The derived rows for one product.
    public struct Projection: Sendable, Equatable {
        public var inStock: Bool
        /// Audiences that can see the product at all (the whole-catalog scope).
        public var audienceMask: AudienceMask
        /// Cheapest variant price per currency.
        public var minPrices: [CurrencyCode: Int64]
        /// Scope (merchant id for the whole catalog, else a category id) → audiences that see the product there.
        public var scopes: [SQLValue: AudienceMask]
    }

    /// Pure derivation: a product is visible in a category's listing for an audience when it sits in
    /// that category or a descendant that the audience can see (each category's mask already
    /// includes its ancestors' rules). A product in no category is visible to everyone.
    public static func project(_ facts: ProductFacts, categoryMasks: [CategoryID: AudienceMask], parents: [CategoryID: CategoryID]) -> Projection {
        var minPrices: [CurrencyCode: Int64] = [:]
        var inStock = false
        for variant in facts.variants {
            if variant.stock > 0 { inStock = true }
            for price in variant.prices {
                minPrices[price.currency] = min(minPrices[price.currency] ?? .max, price.amount)
            }
        }
        var scopes: [SQLValue: AudienceMask] = [:]
        var productMask = facts.categoryIDs.isEmpty ? AudienceMask.all : AudienceMask.none
        for categoryID in facts.categoryIDs {
            guard let mask = categoryMasks[categoryID] else { continue }
            productMask = productMask.union(mask)
            var current: CategoryID? = categoryID
            // Writes keep chains within `Category.maxDepth`; the bound only guards against a cycle.
            var depth = 0
            while let scope = current, depth <= parents.count {
                scopes[scope.sql, default: .none] = scopes[scope.sql, default: .none].union(mask)
                current = parents[scope]
                depth += 1
            }
        }
        scopes[facts.merchantID.sql] = productMask
        return Projection(inStock: inStock, audienceMask: productMask, minPrices: minPrices, scopes: scopes)
    }

    /// A product's row in one scope's listings: the values it is sorted by there, and who sees it.
    public struct Entry: Sendable, Equatable {
        public var position: Int64
        public var createdAt: Int64
        public var salesCount: Int64
        public var inStock: Bool
        public var audienceMask: Int64

        public init(position: Int64, createdAt: Int64, salesCount: Int64, inStock: Bool, audienceMask: Int64) {
            self.position = position
            self.createdAt = createdAt
            self.salesCount = salesCount
            self.inStock = inStock
            self.audienceMask = audienceMask
        }
    }

    /// One product's listing rows before and after a write, by scope (lower-case id text), and its
    /// cheapest price per currency code before and after: what the caches need to tell which pages moved.
    public struct ListingChange: Sendable {
        public var before: [String: Entry] = [:]
        public var after: [String: Entry] = [:]
        public var minPrices: [String: (before: Int64?, after: Int64?)] = [:]
        /// Scopes the product stays listed in with its rows untouched (the write re-projected nothing).
        public var unchanged: [String] = []

        public init(
            before: [String: Entry] = [:], after: [String: Entry] = [:], minPrices: [String: (before: Int64?, after: Int64?)] = [:], unchanged: [String] = []
        ) {
            self.before = before
            self.after = after
            self.minPrices = minPrices
            self.unchanged = unchanged
        }
    }

    /// What a reprojection changed, for the caches.
    public struct Outcome: Sendable {
        /// Listing scopes (category ids, and the merchant id for the whole catalog) the products now appear in.
        public var scopes: Set<SQLValue> = []
        /// Per product and currency: the cheapest price before and after.
        public var minPrices: [ProductID: [CurrencyCode: (before: Int64?, after: Int64?)]] = [:]
        /// Per product: its listing rows before and after, by scope (lower-case id text). A scope in only
        /// one of them is one the product left or entered.
        public var entries: [ProductID: (before: [String: Entry], after: [String: Entry])] = [:]

        /// What changed for each product's listings, in the form the caches take; every product of
        /// `products` has an entry, even one that is listed nowhere (a draft, an archived product).
        public func changes(covering products: [ProductID]) -> [ProductID: ListingChange] {
            var changes = Dictionary(products.map { ($0, ListingChange()) }) { first, _ in first }
            for (product, entries) in self.entries {
                changes[product, default: ListingChange()].before = entries.before
                changes[product, default: ListingChange()].after = entries.after
            }
            for (product, prices) in minPrices {
                for (currency, move) in prices { changes[product, default: ListingChange()].minPrices[currency.code] = move }
            }
            return changes
        }

        /// `scopes` as lower-case id text (the form cache namespaces use), sorted.
        public var scopeIDs: [String] {
            scopes.compactMap { if case .uuid(let id) = $0 { id.uuidString.lowercased() } else { nil } }.sorted()
        }

        public init() {}
    }

    /// Recomputes and rewrites the projections of `productIDs` (all of one merchant), in batches.
    @discardableResult
    public static func reproject(_ productIDs: [ProductID], merchantID: MerchantID, on tx: any SQLExecutor) async throws -> Outcome {
        var outcome = Outcome()
        guard !productIDs.isEmpty else { return outcome }
        let (masks, parents) = try await loadCategories(merchantID: merchantID, on: tx)
        for start in stride(from: 0, to: productIDs.count, by: 500) {
            let batch = Array(productIDs[start..<min(start + 500, productIDs.count)])
            if tx.dialect == .postgres {
                // Two transactions re-projecting one product (e.g. price writes to two of its variants)
                // would each delete what they can see and insert: the later one would then collide with
                // rows the first committed. Locking the product rows, in id order, serialises them.
                try await tx.execute(SQL(
                    "SELECT id FROM products WHERE id IN (\(BatchInsert.placeholders(count: batch.count, startingAt: 1))) ORDER BY id FOR UPDATE",
                    batch.map(\.sql)))
            }
            let facts = try await loadFacts(batch, on: tx)
            let deleted = try await deleteProjections(batch, on: tx)
            for (product, currency, amount) in deleted.prices {
                outcome.minPrices[product, default: [:]][currency, default: (nil, nil)].before = amount
            }
            for (product, scope, entry) in deleted.entries {
                outcome.entries[product, default: ([:], [:])].before[scope] = entry
            }
            var entries: [[SQLValue]] = []
            var prices: [[SQLValue]] = []
            var productPrices: [[SQLValue]] = []
            for fact in facts where fact.merchantID == merchantID {
                let projection = project(fact, categoryMasks: masks, parents: parents)
                for (currency, amount) in projection.minPrices {
                    productPrices.append([fact.id.sql, .text(currency.code), .int(amount)])
                    outcome.minPrices[fact.id, default: [:]][currency, default: (nil, nil)].after = amount
                }
                guard fact.status == .active else { continue }
                outcome.scopes.formUnion(projection.scopes.keys)
                for (scope, mask) in projection.scopes {
                    if case .uuid(let scopeID) = scope {
                        outcome.entries[fact.id, default: ([:], [:])].after[CategoryID(scopeID).description] = Entry(
                            position: fact.position, createdAt: fact.createdAt, salesCount: fact.salesCount, inStock: projection.inStock,
                            audienceMask: mask.rawValue)
                    }
                    entries.append([
                        merchantID.sql, scope, fact.id.sql, .int(fact.position), .int(fact.createdAt),
                        .int(fact.salesCount), .bool(projection.inStock), .int(mask.rawValue),
                    ])
                    for (currency, amount) in projection.minPrices {
                        prices.append([
                            merchantID.sql, scope, .text(currency.code), .int(amount), fact.id.sql,
                            .bool(projection.inStock), .int(mask.rawValue),
                        ])
                    }
                }
            }
            try await BatchInsert.insert(
                into: "product_prices", columns: ["product_id", "currency", "min_amount"], rows: productPrices, on: tx)
            try await BatchInsert.insert(
                into: "listing_entries",
                columns: ["merchant_id", "scope_id", "product_id", "position", "created_at", "sales_count", "in_stock", "audience_mask"],
                rows: entries, on: tx)
            try await BatchInsert.insert(
                into: "listing_prices",
                columns: ["merchant_id", "scope_id", "currency", "min_amount", "product_id", "in_stock", "audience_mask"],
                rows: prices, on: tx)
        }
        return outcome
    }

    /// Rewrites only `in_stock` of the products' listing rows, from their variants' levels: what a stock
    /// level crossing zero changes (nothing else in the projections depends on stock), in two statements
    /// instead of a re-projection. `lock`: on PostgreSQL, lock the product rows first (id order), so two
    /// writes taking different variants of one product to zero see each other's level (each statement
    /// reads after the lock); false when the caller already holds them.
    public static func refreshInStock(_ productIDs: [ProductID], lock: Bool = true, on tx: any SQLExecutor) async throws {
        guard !productIDs.isEmpty else { return }
        let list = BatchInsert.placeholders(count: productIDs.count, startingAt: 1)
        let binds = productIDs.sorted().map(\.sql)
        if lock, tx.dialect == .postgres {
            try await tx.execute(SQL("SELECT id FROM products WHERE id IN (\(list)) ORDER BY id FOR UPDATE", binds))
        }
        for table in ["listing_entries", "listing_prices"] {
            try await tx.execute(SQL(
                "UPDATE \(table) SET in_stock = EXISTS (SELECT 1 FROM variants v WHERE v.product_id = \(table).product_id AND v.stock > 0) WHERE product_id IN (\(list))",
                binds))
        }
    }

    /// Every category's effective mask and parent, for one merchant.
    public static func loadCategories(merchantID: MerchantID, on tx: any SQLExecutor) async throws -> ([CategoryID: AudienceMask], [CategoryID: CategoryID]) {
        var masks: [CategoryID: AudienceMask] = [:]
        var parents: [CategoryID: CategoryID] = [:]
        for row in try await tx.query("SELECT id, parent_id, effective_mask FROM categories WHERE merchant_id = $1", merchantID.sql) {
            let id: CategoryID = try row.id(0)
            masks[id] = AudienceMask(rawValue: try row.int(2))
            if let parent: CategoryID = try row.optionalID(1) { parents[id] = parent }
        }
        return (masks, parents)
    }

    static func loadFacts(_ ids: [ProductID], on tx: any SQLExecutor) async throws -> [ProductFacts] {
        let list = BatchInsert.placeholders(count: ids.count, startingAt: 1)
        let binds = ids.map(\.sql)
        var facts: [ProductID: ProductFacts] = [:]
        for row in try await tx.query(SQL(
            "SELECT id, merchant_id, position, created_at, sales_count, status FROM products WHERE id IN (\(list))", binds))
        {
            let id: ProductID = try row.id(0)
            facts[id] = ProductFacts(
                id: id, merchantID: try row.id(1), position: try row.int(2), createdAt: try row.int(3),
                salesCount: try row.int(4), status: ProductStatus(rawValue: try row.text(5)) ?? .draft,
                categoryIDs: [], variants: [])
        }
        for row in try await tx.query(SQL("SELECT product_id, category_id FROM product_categories WHERE product_id IN (\(list))", binds)) {
            facts[try row.id(0)]?.categoryIDs.append(try row.id(1))
        }
        var variantIndex: [SQLValue: (ProductID, Int)] = [:]
        for row in try await tx.query(SQL(
            "SELECT v.id, v.product_id, v.stock, p.currency, p.amount FROM variants v LEFT JOIN variant_prices p ON p.variant_id = v.id WHERE v.product_id IN (\(list)) ORDER BY v.id", binds))
        {
            let productID: ProductID = try row.id(1)
            let variantKey = row.values[0]
            if variantIndex[variantKey] == nil {
                facts[productID]?.variants.append((stock: try row.int(2), prices: []))
                variantIndex[variantKey] = (productID, (facts[productID]?.variants.count ?? 1) - 1)
            }
            if let currencyText = try row.optionalText(3), let currency = CurrencyCode(currencyText),
               let (pid, index) = variantIndex[variantKey]
            {
                facts[pid]?.variants[index].prices.append(Money(currency: currency, amount: try row.int(4)))
            }
        }
        return ids.compactMap { facts[$0] }
    }

    /// Deletes the products' projection rows; returns the cheapest prices they had.
    /// Deletes the products' projection rows; returns what they held (the listing rows by scope, and the
    /// cheapest prices), so the caches learn what left or moved without another read.
    static func deleteProjections(
        _ ids: [ProductID], on tx: any SQLExecutor
    ) async throws -> (entries: [(ProductID, String, Entry)], prices: [(ProductID, CurrencyCode, Int64)]) {
        let list = BatchInsert.placeholders(count: ids.count, startingAt: 1)
        let binds = ids.map(\.sql)
        let entries = try await tx.query(SQL(
            "DELETE FROM listing_entries WHERE product_id IN (\(list)) RETURNING product_id, scope_id, position, created_at, sales_count, in_stock, audience_mask",
            binds)
        ).map { row in
            (try row.id(0, as: ProductID.self), try row.id(1, as: CategoryID.self).description,
             Entry(position: try row.int(2), createdAt: try row.int(3), salesCount: try row.int(4), inStock: try row.bool(5), audienceMask: try row.int(6)))
        }
        try await tx.execute(SQL("DELETE FROM listing_prices WHERE product_id IN (\(list))", binds))
        let prices = try await tx.query(SQL("DELETE FROM product_prices WHERE product_id IN (\(list)) RETURNING product_id, currency, min_amount", binds))
            .compactMap { row -> (ProductID, CurrencyCode, Int64)? in
                guard let currency = CurrencyCode(try row.text(1)) else { return nil }
                return (try row.id(0), currency, try row.int(2))
            }
        return (entries, prices)
    }
}

/// Multi-row INSERTs sized to stay under both databases' bind-parameter limits.
public enum BatchInsert {
    /// `$start, $start+1, …` for an IN list.
    public static func placeholders(count: Int, startingAt start: Int) -> String {
        (start..<(start + count)).map { "$\($0)" }.joined(separator: ", ")
    }

    /// Inserts `rows` (each with `columns.count` values) in as few statements as the limits allow.
    public static func insert(into table: String, columns: [String], rows: [[SQLValue]], on executor: any SQLExecutor) async throws {
        guard !rows.isEmpty else { return }
        let perStatement = max(1, 30_000 / columns.count)
        let header = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        for start in stride(from: 0, to: rows.count, by: perStatement) {
            let chunk = rows[start..<min(start + perStatement, rows.count)]
            var text = header
            var binds: [SQLValue] = []
            binds.reserveCapacity(chunk.count * columns.count)
            var first = true
            for row in chunk {
                text += first ? "(" : ", ("
                first = false
                for (offset, value) in row.enumerated() {
                    binds.append(value)
                    text += offset == 0 ? "$\(binds.count)" : ", $\(binds.count)"
                }
                text += ")"
            }
            try await executor.execute(SQL(text, binds))
        }
    }
}
