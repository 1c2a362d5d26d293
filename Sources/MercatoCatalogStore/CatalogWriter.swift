import Foundation
import MercatoCore
import MercatoSQL
import MercatoStorage

/// A category as the admin API creates or replaces it.
public struct CategoryDraft: Sendable {
    public var slug: String
    public var name: String
    public var kind: CategoryKind
    public var parentID: CategoryID?
    public var position: Int64
    public var visibility: VisibilityRule

    public init(slug: String, name: String, kind: CategoryKind, parentID: CategoryID?, position: Int64, visibility: VisibilityRule) {
        self.slug = slug
        self.name = name
        self.kind = kind
        self.parentID = parentID
        self.position = position
        self.visibility = visibility
    }
}

/// A variant as the admin API creates it.
public struct VariantDraft: Sendable {
    public var sku: String
    public var options: [VariantOption]
    public var prices: [Money]
    public var stock: Int64

    public init(sku: String, options: [VariantOption], prices: [Money], stock: Int64) {
        self.sku = sku
        self.options = options
        self.prices = prices
        self.stock = stock
    }
}

/// A product as the admin API creates it (variants included).
public struct ProductDraft: Sendable {
    public var slug: String
    public var name: String
    public var description: String
    public var images: [String]
    public var position: Int64
    public var status: ProductStatus
    public var salesCount: Int64
    public var createdAt: Int64?
    public var categoryIDs: [CategoryID]
    public var variants: [VariantDraft]
    public var taxClass: TaxClass = .standard

    public init(slug: String, name: String, description: String, images: [String], position: Int64, status: ProductStatus, salesCount: Int64 = 0, createdAt: Int64? = nil, categoryIDs: [CategoryID], variants: [VariantDraft]) {
        self.slug = slug
        self.name = name
        self.description = description
        self.images = images
        self.position = position
        self.status = status
        self.salesCount = salesCount
        self.createdAt = createdAt
        self.categoryIDs = categoryIDs
        self.variants = variants
    }
}

/// Changes to a product; nil fields stay as they are.
public struct ProductPatch: Sendable {
    public var slug: String?
    public var name: String?
    public var description: String?
    public var images: [String]?
    public var position: Int64?
    public var status: ProductStatus?
    public var categoryIDs: [CategoryID]?
    public var taxClass: TaxClass?

    public init(slug: String? = nil, name: String? = nil, description: String? = nil, images: [String]? = nil, position: Int64? = nil, status: ProductStatus? = nil, categoryIDs: [CategoryID]? = nil) {
        self.slug = slug
        self.name = name
        self.description = description
        self.images = images
        self.position = position
        self.status = status
        self.categoryIDs = categoryIDs
    }
}

/// A variant as the admin API shows it: every price and the stock.
public struct AdminVariant: Sendable {
    public var id: VariantID
    public var sku: String
    /// Options as a JSON object, names in sorted order.
    public var optionsJSON: String
    public var prices: [Money]
    public var stock: Int64
}

/// A product as the admin API shows it.
public struct AdminProduct: Sendable {
    public var id: ProductID
    public var slug: String
    public var name: String
    public var description: String
    public var images: [String]
    public var position: Int64
    public var status: ProductStatus
    public var salesCount: Int64
    public var createdAt: Int64
    public var categoryIDs: [CategoryID]
    public var variants: [AdminVariant]
    public var taxClass: TaxClass
}

/// What a write changed, so callers (cache invalidation) know what to purge.
public struct WriteEffect: Sendable {
    public var merchantID: MerchantID
    public var productIDs: [ProductID]
    public var categoryIDs: [CategoryID]
    /// Listing scopes the products appear in (category ids and the merchant id), for variant writes.
    public var scopes: [String] = []
    /// Per currency code, the product's cheapest price before and after (variant writes of one product).
    public var minPriceMoves: [String: (before: Int64?, after: Int64?)] = [:]
    /// New stock levels (stock writes), and whether one crossed zero.
    public var stock: StockChange = .none
    /// Product writes that re-projected listings: per product, its listing rows and cheapest prices
    /// before and after. Empty for category writes (they invalidate the merchant) and in-place price writes.
    public var listingChanges: [ProductID: ListingProjector.ListingChange] = [:]
    /// What a listing card shows (name, slug, primary image) changed.
    public var cardChanged = false
    /// A slug now names another product, or a new one.
    public var slugsChanged = false
    /// Only the category tree's text or order changed (a category renamed or repositioned).
    public var treeOnly = false

    public init(merchantID: MerchantID, productIDs: [ProductID], categoryIDs: [CategoryID], scopes: [String] = [], stock: StockChange = .none) {
        self.merchantID = merchantID
        self.productIDs = productIDs
        self.categoryIDs = categoryIDs
        self.scopes = scopes
        self.stock = stock
    }
}

/// Merchant writes. Every method is one transaction that also refreshes the listing projections,
/// and every statement is scoped by merchant id so one tenant can never touch another's rows.
public struct CatalogWriter: Sendable {
    let database: any DatabaseClient
    static let json = JSONEncoder()

    public init(database: any DatabaseClient) { self.database = database }

    // MARK: merchants and tokens

    /// Creates a merchant selling in `markets` (first is the default).
    public func createMerchant(slug: String, name: String, markets: [Market]) async throws -> Merchant {
        let merchant = Merchant(id: .random(), slug: slug, name: name, markets: markets)
        do {
            try await database.execute(
                "INSERT INTO merchants (id, slug, name, markets, created_at) VALUES ($1, $2, $3, $4, $5)",
                merchant.id.sql, .text(slug), .text(name), .text(markets.map(\.code).joined(separator: ",")), .int(WallClock.nowMicros()))
        } catch StorageError.uniqueViolation {
            throw MercatoError.conflict("a merchant with slug '\(slug)' already exists")
        }
        return merchant
    }

    /// The merchant with this slug, if any.
    public func merchant(slug: String) async throws -> Merchant? {
        try await database.query("SELECT id, slug, name, markets FROM merchants WHERE slug = $1", .text(slug))
            .first.map { try SQLCatalogStore.merchant($0, at: 0) }
    }

    /// Issues a new admin token for the merchant; only its hash is stored.
    public func createAdminToken(merchantID: MerchantID) async throws -> String {
        let token = "mk_" + Secrets.randomToken(bytes: 24)
        try await database.execute(
            "INSERT INTO admin_tokens (token_hash, merchant_id, created_at) VALUES ($1, $2, $3)",
            .text(Secrets.sha256Hex(token)), merchantID.sql, .int(WallClock.nowMicros()))
        return token
    }

    /// Revokes one admin token of the merchant; false when it is unknown (or already revoked).
    public func revokeAdminToken(_ token: String, merchantID: MerchantID) async throws -> Bool {
        try await !database.query(
            "DELETE FROM admin_tokens WHERE token_hash = $1 AND merchant_id = $2 RETURNING token_hash", .text(Secrets.sha256Hex(token)), merchantID.sql
        ).isEmpty
    }

    /// Revokes every admin token of the merchant; returns how many there were.
    public func revokeAdminTokens(merchantID: MerchantID) async throws -> Int {
        try await database.query("DELETE FROM admin_tokens WHERE merchant_id = $1 RETURNING token_hash", merchantID.sql).count
    }

    /// The merchant an admin token belongs to, if the token is known.
    public func merchant(forAdminToken token: String) async throws -> Merchant? {
        try await database.query(
            "SELECT m.id, m.slug, m.name, m.markets FROM admin_tokens t JOIN merchants m ON m.id = t.merchant_id WHERE t.token_hash = $1",
            .text(Secrets.sha256Hex(token))
        ).first.map { try SQLCatalogStore.merchant($0, at: 0) }
    }

    /// The installation's signing secret (created by the first migration).
    public func signingSecret() async throws -> String {
        guard let row = try await database.query("SELECT value FROM settings WHERE key = 'signing_secret'").first else {
            throw StorageError.configuration("signing secret missing: run migrations")
        }
        return try row.text(0)
    }

    // MARK: categories

    /// All of a merchant's categories.
    public func categories(merchantID: MerchantID) async throws -> [Category] {
        try await database.query(
            "SELECT \(SQLCatalogStore.categoryColumns) FROM categories c WHERE c.merchant_id = $1 ORDER BY c.position, c.slug", merchantID.sql
        ).map { try SQLCatalogStore.category($0, at: 0) }
    }

    public func category(merchantID: MerchantID, id: CategoryID) async throws -> Category {
        guard let row = try await database.query(
            "SELECT \(SQLCatalogStore.categoryColumns) FROM categories c WHERE c.merchant_id = $1 AND c.id = $2", merchantID.sql, id.sql
        ).first else { throw MercatoError.notFound("category \(id) not found") }
        return try SQLCatalogStore.category(row, at: 0)
    }

    /// Creates a category under an optional parent of the same merchant.
    public func createCategory(merchantID: MerchantID, draft: CategoryDraft, id: CategoryID = .random()) async throws -> (Category, WriteEffect) {
        try await database.transaction { tx in
            var parentMask = AudienceMask.all
            if let parentID = draft.parentID {
                let (masks, parents) = try await ListingProjector.loadCategories(merchantID: merchantID, on: tx)
                guard let mask = masks[parentID] else { throw MercatoError.validation(field: "parent_id", message: "no category \(parentID) in this store") }
                try Self.requireDepth(Self.level(of: parentID, parents: parents) + 1)
                parentMask = mask
            }
            let mask = parentMask.intersection(draft.visibility.mask)
            do {
                try await tx.execute(SQL(
                    """
                    INSERT INTO categories (id, merchant_id, parent_id, slug, name, kind, position, allowed_groups, allowed_markets, effective_mask)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    """,
                    [id.sql, merchantID.sql, draft.parentID.sqlValue(), .text(draft.slug), .text(draft.name), .text(draft.kind.rawValue),
                     .int(draft.position)] + Self.ruleColumns(draft.visibility) + [.int(mask.rawValue)]))
            } catch StorageError.uniqueViolation {
                throw MercatoError.conflict("a category with slug '\(draft.slug)' already exists in this store")
            }
            let category = Category(
                id: id, merchantID: merchantID, parentID: draft.parentID, slug: draft.slug, name: draft.name, kind: draft.kind,
                position: Int(draft.position), visibility: draft.visibility, effectiveMask: mask)
            return (category, WriteEffect(merchantID: merchantID, productIDs: [], categoryIDs: [id]))
        }
    }

    /// Replaces a category's fields; visibility or parent changes re-derive masks and listings of the subtree.
    public func updateCategory(merchantID: MerchantID, id: CategoryID, draft: CategoryDraft) async throws -> (Category, WriteEffect) {
        try await database.transaction { tx in
            // A new name or position only (same parent, slug, kind and visibility) reaches no projection and no
            // listing: one UPDATE, and the caches drop the category tree alone.
            let columns = SQLCatalogStore.categoryColumns
            if let current = try await tx.query(
                "SELECT \(columns) FROM categories c WHERE c.merchant_id = $1 AND c.id = $2", merchantID.sql, id.sql
            ).first.map({ try SQLCatalogStore.category($0, at: 0) }),
                current.parentID == draft.parentID, current.slug == draft.slug, current.kind == draft.kind, current.visibility == draft.visibility
            {
                guard let row = try await tx.query(
                    "UPDATE categories SET name = $3, position = $4 WHERE merchant_id = $1 AND id = $2 RETURNING \(columns.replacingOccurrences(of: "c.", with: ""))",
                    merchantID.sql, id.sql, .text(draft.name), .int(draft.position)
                ).first else { throw MercatoError.notFound("category \(id) not found") }
                var effect = WriteEffect(merchantID: merchantID, productIDs: [], categoryIDs: [id])
                effect.treeOnly = true
                return (try SQLCatalogStore.category(row, at: 0), effect)
            }
            var (masks, parents) = try await ListingProjector.loadCategories(merchantID: merchantID, on: tx)
            guard masks[id] != nil else { throw MercatoError.notFound("category \(id) not found") }
            if let parentID = draft.parentID {
                guard masks[parentID] != nil else { throw MercatoError.validation(field: "parent_id", message: "no category \(parentID) in this store") }
                var cursor: CategoryID? = parentID
                while let current = cursor {
                    if current == id { throw MercatoError.validation(field: "parent_id", message: "a category cannot be moved under itself or its descendants") }
                    cursor = parents[current]
                }
                // The moved subtree's deepest member must stay within the limit too.
                try Self.requireDepth(Self.level(of: parentID, parents: parents) + Self.height(of: id, parents: parents))
            }
            do {
                try await tx.execute(SQL(
                    """
                    UPDATE categories SET parent_id = $3, slug = $4, name = $5, kind = $6, position = $7, allowed_groups = $8, allowed_markets = $9
                    WHERE merchant_id = $1 AND id = $2
                    """,
                    [merchantID.sql, id.sql, draft.parentID.sqlValue(), .text(draft.slug), .text(draft.name), .text(draft.kind.rawValue),
                     .int(draft.position)] + Self.ruleColumns(draft.visibility)))
            } catch StorageError.uniqueViolation {
                throw MercatoError.conflict("a category with slug '\(draft.slug)' already exists in this store")
            }
            parents[id] = draft.parentID
            let subtree = try await Self.refreshMasks(merchantID: merchantID, changed: id, parents: parents, on: tx)
            let products = try await Self.products(inCategories: subtree, on: tx)
            try await ListingProjector.reproject(products, merchantID: merchantID, on: tx)
            let category = try await tx.query(
                "SELECT \(SQLCatalogStore.categoryColumns) FROM categories c WHERE c.merchant_id = $1 AND c.id = $2", merchantID.sql, id.sql
            ).first.map { try SQLCatalogStore.category($0, at: 0) }
            guard let category else { throw MercatoError.notFound("category \(id) not found") }
            return (category, WriteEffect(merchantID: merchantID, productIDs: products, categoryIDs: subtree))
        }
    }

    /// Deletes a leaf category; its products leave it (and its ancestors' listings where nothing else keeps them).
    public func deleteCategory(merchantID: MerchantID, id: CategoryID) async throws -> WriteEffect {
        try await database.transaction { tx in
            guard let row = try await tx.query(
                "SELECT effective_mask FROM categories WHERE merchant_id = $1 AND id = $2", merchantID.sql, id.sql
            ).first else {
                throw MercatoError.notFound("category \(id) not found")
            }
            guard try await tx.query("SELECT id FROM categories WHERE merchant_id = $1 AND parent_id = $2", merchantID.sql, id.sql).isEmpty else {
                throw MercatoError.conflict("category \(id) has subcategories: delete or move them first")
            }
            // Fail closed: a product in no category is visible to everyone, so deleting the only
            // category of a product it restricts would publish that product.
            if AudienceMask(rawValue: try row.int(0)) != .all {
                let stranded: [ProductID] = try await tx.query(
                    """
                    SELECT pc.product_id FROM product_categories pc WHERE pc.category_id = $1
                    AND NOT EXISTS (SELECT 1 FROM product_categories o WHERE o.product_id = pc.product_id AND o.category_id <> $1)
                    ORDER BY pc.product_id
                    """, id.sql
                ).map { try $0.id(0) }
                if !stranded.isEmpty {
                    throw MercatoError.conflict(
                        "category \(id) restricts who can see its products, and \(Self.list(stranded)) in no other category: deleting it "
                            + "would make them visible to everyone. Move them into another category (or archive and recategorise them) first")
                }
            }
            let products = try await Self.products(inCategories: [id], on: tx)
            try await tx.execute("DELETE FROM product_categories WHERE category_id = $1", id.sql)
            try await tx.execute("DELETE FROM listing_entries WHERE merchant_id = $1 AND scope_id = $2", merchantID.sql, id.sql)
            try await tx.execute("DELETE FROM listing_prices WHERE merchant_id = $1 AND scope_id = $2", merchantID.sql, id.sql)
            try await tx.execute("DELETE FROM categories WHERE merchant_id = $1 AND id = $2", merchantID.sql, id.sql)
            try await ListingProjector.reproject(products, merchantID: merchantID, on: tx)
            return WriteEffect(merchantID: merchantID, productIDs: products, categoryIDs: [id])
        }
    }

    /// "product a, b and 3 more are" / "product a is": names at most 10 ids.
    static func list(_ ids: [ProductID]) -> String {
        let named = ids.prefix(10).map(\.description).joined(separator: ", ")
        let more = ids.count > 10 ? " and \(ids.count - 10) more" : ""
        return ids.count == 1 ? "product \(named) is" : "products \(named)\(more) are"
    }

    /// The level of a category in its tree (a root is 1).
    static func level(of id: CategoryID, parents: [CategoryID: CategoryID]) -> Int {
        var level = 1
        var cursor = parents[id]
        while let parent = cursor, level <= parents.count {
            level += 1
            cursor = parents[parent]
        }
        return level
    }

    /// Levels in the subtree rooted at `id` (a leaf is 1).
    static func height(of id: CategoryID, parents: [CategoryID: CategoryID]) -> Int {
        var children: [CategoryID: [CategoryID]] = [:]
        for (child, parent) in parents { children[parent, default: []].append(child) }
        var height = 0
        var level = [id]
        while !level.isEmpty, height <= parents.count {
            height += 1
            level = level.flatMap { children[$0] ?? [] }
        }
        return height
    }

    static func requireDepth(_ depth: Int) throws(MercatoError) {
        guard depth <= Category.maxDepth else {
            throw .validation(field: "parent_id", message: "categories nest at most \(Category.maxDepth) levels deep; this would make \(depth)")
        }
    }

    static func ruleColumns(_ rule: VisibilityRule) -> [SQLValue] {
        [
            rule.groups.map { .text($0.map(\.rawValue).sorted().joined(separator: ",")) } ?? .null,
            rule.markets.map { .text($0.sorted().joined(separator: ",")) } ?? .null,
        ]
    }

    /// Recomputes effective masks of `changed` and its descendants; returns that subtree.
    static func refreshMasks(merchantID: MerchantID, changed: CategoryID, parents: [CategoryID: CategoryID], on tx: any SQLExecutor) async throws -> [CategoryID] {
        var rules: [CategoryID: AudienceMask] = [:]
        for row in try await tx.query(
            "SELECT \(SQLCatalogStore.categoryColumns) FROM categories c WHERE c.merchant_id = $1", merchantID.sql)
        {
            let category = try SQLCatalogStore.category(row, at: 0)
            rules[category.id] = category.visibility.mask
        }
        var children: [CategoryID: [CategoryID]] = [:]
        for (child, parent) in parents { children[parent, default: []].append(child) }
        func effective(_ id: CategoryID) -> AudienceMask {
            var mask = rules[id] ?? .all
            var cursor = parents[id]
            while let parent = cursor {
                mask = mask.intersection(rules[parent] ?? .all)
                cursor = parents[parent]
            }
            return mask
        }
        var subtree: [CategoryID] = []
        var stack = [changed]
        while let next = stack.popLast() {
            subtree.append(next)
            stack.append(contentsOf: children[next] ?? [])
        }
        for id in subtree {
            try await tx.execute(
                "UPDATE categories SET effective_mask = $3 WHERE merchant_id = $1 AND id = $2", merchantID.sql, id.sql, .int(effective(id).rawValue))
        }
        return subtree
    }

    static func products(inCategories ids: [CategoryID], on tx: any SQLExecutor) async throws -> [ProductID] {
        var result = Set<ProductID>()
        for start in stride(from: 0, to: ids.count, by: 500) {
            let batch = ids[start..<min(start + 500, ids.count)]
            for row in try await tx.query(SQL(
                "SELECT DISTINCT product_id FROM product_categories WHERE category_id IN (\(BatchInsert.placeholders(count: batch.count, startingAt: 1)))",
                batch.map(\.sql)))
            {
                result.insert(try row.id(0))
            }
        }
        return result.sorted()
    }
}
