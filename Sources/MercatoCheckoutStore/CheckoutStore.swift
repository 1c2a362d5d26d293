import Foundation
import MercatoCore
import MercatoSQL
import MercatoStorage
import MercatoCatalogStore

/// A variant as checkout prices it: what it is, its price in one currency, and who may buy it.
public struct PricedVariant: Sendable, Hashable {
    public var id: VariantID
    public var productID: ProductID
    public var sku: String
    public var productName: String
    public var optionsJSON: String
    /// Price in the requested currency; nil when the variant is not sold in it.
    public var price: Int64?
    /// Audiences that can see the product; nil when the product is not active.
    public var audienceMask: AudienceMask?
    public var taxClass: String

    public init(id: VariantID, productID: ProductID, sku: String, productName: String, optionsJSON: String, price: Int64?, audienceMask: AudienceMask?, taxClass: String) {
        self.id = id
        self.productID = productID
        self.sku = sku
        self.productName = productName
        self.optionsJSON = optionsJSON
        self.price = price
        self.audienceMask = audienceMask
        self.taxClass = taxClass
    }
}

/// A merchant and the requested variants it has, read in one statement.
public struct CheckoutCatalog: Sendable, Hashable {
    public var merchant: Merchant
    public var variants: [VariantID: PricedVariant]

    public init(merchant: Merchant, variants: [VariantID: PricedVariant]) {
        self.merchant = merchant
        self.variants = variants
    }
}

/// A checkout row. Lines, address and tax are JSON documents owned by the checkout module.
public struct CheckoutRecord: Sendable, Equatable {
    public var id: CheckoutID
    public var merchantID: MerchantID
    public var tokenHash: String
    public var status: CheckoutStatus
    public var market: String
    public var currency: String
    public var email: String
    public var linesJSON: String
    public var shippingAddressJSON: String?
    public var taxJSON: String?
    public var reservationKey: String
    public var reservationExpiresAt: Int64
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: CheckoutID, merchantID: MerchantID, tokenHash: String, status: CheckoutStatus, market: String, currency: String, email: String,
        linesJSON: String, shippingAddressJSON: String?, taxJSON: String?, reservationKey: String, reservationExpiresAt: Int64,
        createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.merchantID = merchantID
        self.tokenHash = tokenHash
        self.status = status
        self.market = market
        self.currency = currency
        self.email = email
        self.linesJSON = linesJSON
        self.shippingAddressJSON = shippingAddressJSON
        self.taxJSON = taxJSON
        self.reservationKey = reservationKey
        self.reservationExpiresAt = reservationExpiresAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An order row: the idempotency key and request hash that created it, and the exact response it gave.
public struct OrderRecord: Sendable, Equatable {
    public var id: OrderID
    public var merchantID: MerchantID
    public var checkoutID: CheckoutID
    public var tokenHash: String
    public var idempotencyKey: String
    public var requestHash: String
    public var status: OrderStatus
    public var responseStatus: Int?
    public var body: String?
    public var createdAt: Int64
}

/// Checkouts and orders, on the primary database.
public struct CheckoutStore: Sendable {
    let database: any DatabaseClient

    public init(database: any DatabaseClient) { self.database = database }

    /// The merchant by slug and those of `variants` it has, priced in `currency`: one statement.
    public func catalog(merchantSlug: String, variants: [VariantID], currency: CurrencyCode) async throws -> CheckoutCatalog? {
        let unique = Array(Set(variants)).sorted()
        let list = unique.isEmpty ? "NULL" : BatchInsert.placeholders(count: unique.count, startingAt: 3)
        let rows = try await database.query(SQL(
            """
            SELECT m.id, m.slug, m.name, m.markets, v.id, v.product_id, v.sku, p.name, v.options, vp.amount, p.status, e.audience_mask, p.tax_class
            FROM merchants m
            LEFT JOIN variants v ON v.merchant_id = m.id AND v.id IN (\(list))
            LEFT JOIN products p ON p.id = v.product_id
            LEFT JOIN variant_prices vp ON vp.variant_id = v.id AND vp.currency = $2
            LEFT JOIN listing_entries e ON e.product_id = p.id AND e.scope_id = m.id
            WHERE m.slug = $1
            """,
            [.text(merchantSlug), .text(currency.code)] + unique.map(\.sql)))
        guard let first = rows.first else { return nil }
        let merchant = try SQLCatalogStore.merchant(first, at: 0)
        var priced: [VariantID: PricedVariant] = [:]
        for row in rows {
            guard let id = try row.optionalID(4, as: VariantID.self) else { continue }
            let active = try row.text(10) == ProductStatus.active.rawValue
            priced[id] = PricedVariant(
                id: id, productID: try row.id(5), sku: try row.text(6), productName: try row.text(7), optionsJSON: try row.text(8),
                price: try row.optionalInt(9), audienceMask: active ? try row.optionalInt(11).map(AudienceMask.init(rawValue:)) : nil,
                taxClass: try row.text(12))
        }
        return CheckoutCatalog(merchant: merchant, variants: priced)
    }

    /// The slug of a merchant (invalidation namespaces are slugs).
    public func merchantSlug(_ id: MerchantID) async throws -> String? {
        try await database.query("SELECT slug FROM merchants WHERE id = $1", id.sql).first.map { try $0.text(0) }
    }

    public func insert(_ checkout: CheckoutRecord) async throws {
        try await database.execute(
            """
            INSERT INTO checkouts (id, merchant_id, token_hash, status, market, currency, email, lines, shipping_address, tax,
                reservation_key, reservation_expires_at, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
            """,
            checkout.id.sql, checkout.merchantID.sql, .text(checkout.tokenHash), .text(checkout.status.rawValue), .text(checkout.market),
            .text(checkout.currency), .text(checkout.email), .text(checkout.linesJSON), Self.optional(checkout.shippingAddressJSON),
            Self.optional(checkout.taxJSON), .text(checkout.reservationKey), .int(checkout.reservationExpiresAt),
            .int(checkout.createdAt), .int(checkout.updatedAt))
    }

    public func checkout(_ id: CheckoutID) async throws -> CheckoutRecord? {
        try await database.query("SELECT \(Self.checkoutColumns) FROM checkouts WHERE id = $1", id.sql).first.map { try Self.checkout($0, from: 0) }
    }

    /// An order with the checkout it was made from, in one statement.
    public func orderWithCheckout(_ id: OrderID) async throws -> (OrderRecord, CheckoutRecord)? {
        guard let row = try await database.query(Self.orderWithCheckoutSQL, id.sql).first else { return nil }
        return (try Self.order(row), try Self.checkout(row, from: Self.orderColumnNames.count))
    }

    // Column lists, written once: `order(_:)` and `checkout(_:from:)` read rows in these orders.
    static let checkoutColumnNames = [
        "id", "merchant_id", "token_hash", "status", "market", "currency", "email", "lines", "shipping_address", "tax",
        "reservation_key", "reservation_expires_at", "created_at", "updated_at",
    ]
    static let orderColumnNames = [
        "id", "merchant_id", "checkout_id", "token_hash", "idempotency_key", "request_hash", "status", "response_status", "body", "created_at",
    ]
    static let checkoutColumns = checkoutColumnNames.joined(separator: ", ")
    static let orderColumns = orderColumnNames.joined(separator: ", ")
    static let orderWithCheckoutSQL = "SELECT " + (orderColumnNames.map { "o." + $0 } + checkoutColumnNames.map { "c." + $0 }).joined(separator: ", ")
        + " FROM orders o JOIN checkouts c ON c.id = o.checkout_id WHERE o.id = $1"

    /// A checkout read from `row`, its columns (`checkoutColumns`) starting at `first`.
    static func checkout(_ row: ResultRow, from first: Int) throws -> CheckoutRecord {
        CheckoutRecord(
            id: try row.id(first), merchantID: try row.id(first + 1), tokenHash: try row.text(first + 2), status: try Self.status(row.text(first + 3)),
            market: try row.text(first + 4), currency: try row.text(first + 5), email: try row.text(first + 6), linesJSON: try row.text(first + 7),
            shippingAddressJSON: try row.optionalText(first + 8), taxJSON: try row.optionalText(first + 9), reservationKey: try row.text(first + 10),
            reservationExpiresAt: try row.int(first + 11), createdAt: try row.int(first + 12), updatedAt: try row.int(first + 13))
    }

    /// Stores the address and its tax quote while the checkout is still open; false when it is not.
    public func setShippingAddress(_ id: CheckoutID, addressJSON: String, taxJSON: String) async throws -> Bool {
        try await database.query(
            "UPDATE checkouts SET shipping_address = $2, tax = $3, updated_at = $4 WHERE id = $1 AND status = 'open' RETURNING id",
            id.sql, .text(addressJSON), .text(taxJSON), .int(WallClock.nowMicros())
        ).count == 1
    }

    /// Claims the checkout's one order for an idempotency key: inserts a `pending` order unless the
    /// checkout already has one, then returns whichever order the checkout has.
    public func claimOrder(_ id: OrderID, for checkout: CheckoutRecord, idempotencyKey: String, requestHash: String) async throws -> OrderRecord {
        let now = WallClock.nowMicros()
        // One statement when the claim is new (the usual case); a second only to read the order that won.
        if let claimed = try await database.query(
            """
            INSERT INTO orders (id, merchant_id, checkout_id, token_hash, idempotency_key, request_hash, status, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT (checkout_id) DO NOTHING RETURNING \(Self.orderColumns)
            """,
            id.sql, checkout.merchantID.sql, checkout.id.sql, .text(checkout.tokenHash), .text(idempotencyKey), .text(requestHash), .int(now)
        ).first {
            return try Self.order(claimed)
        }
        guard let order = try await order(checkout: checkout.id) else { throw StorageError.database("order claim for checkout \(checkout.id) vanished") }
        return order
    }

    /// Records how a pending order ended and moves its checkout on, in one transaction. Only the
    /// first finisher writes (true); later ones (concurrent retries) leave the stored response alone (false).
    @discardableResult
    public func finishOrder(
        _ id: OrderID, checkout: CheckoutID, status: OrderStatus, responseStatus: Int, body: String, checkoutStatus: CheckoutStatus
    ) async throws -> Bool {
        try await database.transaction { tx in
            let updated = try await tx.query(
                "UPDATE orders SET status = $2, response_status = $3, body = $4, updated_at = $5 WHERE id = $1 AND status = 'pending' RETURNING id",
                id.sql, .text(status.rawValue), .int(Int64(responseStatus)), .text(body), .int(WallClock.nowMicros()))
            guard !updated.isEmpty else { return false }
            try await tx.execute(
                "UPDATE checkouts SET status = $2, updated_at = $3 WHERE id = $1", checkout.sql, .text(checkoutStatus.rawValue), .int(WallClock.nowMicros()))
            return true
        }
    }

    /// What one roll-up added for one merchant: the products whose sales grew and the listing scopes
    /// (category ids and the merchant id) their bestselling order changed in.
    public struct SalesRollUp: Sendable {
        public var products: [ProductID]
        public var scopes: [String]
        /// Per product: its sales count before and after.
        public var counts: [ProductID: (before: Int64, after: Int64)]
    }

    /// Counts up to `limit` placed orders not counted yet into their products' `sales_count`, in one
    /// transaction (the flag, the counts and the listing projections move together, so an order counts
    /// exactly once even with every instance running this). `units` reads an order's lines (products and
    /// quantities) from its checkout's stored lines.
    public func rollUpSales(limit: Int, units: @Sendable (String) throws -> [(ProductID, Int64)]) async throws -> [MerchantID: SalesRollUp] {
        try await database.transaction { tx in
            let claimed = try await tx.query(
                """
                UPDATE orders SET rolled_up = TRUE WHERE id IN (
                    SELECT id FROM orders WHERE status = 'placed' AND NOT rolled_up ORDER BY created_at LIMIT $1)
                AND NOT rolled_up RETURNING merchant_id, checkout_id
                """, .int(Int64(limit)))
            guard !claimed.isEmpty else { return [:] }
            let checkouts: [SQLValue] = try claimed.map { try $0.id(1, as: CheckoutID.self).sql }
            var sold: [MerchantID: [ProductID: Int64]] = [:]
            for row in try await tx.query(SQL(
                "SELECT merchant_id, lines FROM checkouts WHERE id IN (\(BatchInsert.placeholders(count: checkouts.count, startingAt: 1)))", checkouts))
            {
                let merchant: MerchantID = try row.id(0)
                for (product, quantity) in try units(try row.text(1)) { sold[merchant, default: [:]][product, default: 0] += quantity }
            }
            var result: [MerchantID: SalesRollUp] = [:]
            for (merchant, products) in sold {
                var counts: [ProductID: (before: Int64, after: Int64)] = [:]
                for (product, quantity) in products.sorted(by: { $0.key < $1.key }) {
                    if let row = try await tx.query(
                        "UPDATE products SET sales_count = sales_count + $3 WHERE merchant_id = $1 AND id = $2 RETURNING sales_count",
                        merchant.sql, product.sql, .int(quantity)
                    ).first {
                        let after = try row.int(0)
                        counts[product] = (after - quantity, after)
                    }
                }
                let ids = products.keys.sorted()
                let outcome = try await ListingProjector.reproject(ids, merchantID: merchant, on: tx)
                result[merchant] = SalesRollUp(
                    products: ids, scopes: outcome.scopeIDs,
                    counts: counts)
            }
            return result
        }
    }

    public func order(_ id: OrderID) async throws -> OrderRecord? {
        try await database.query("SELECT \(Self.orderColumns) FROM orders WHERE id = $1", id.sql).first.map(Self.order)
    }

    public func order(checkout: CheckoutID) async throws -> OrderRecord? {
        try await database.query("SELECT \(Self.orderColumns) FROM orders WHERE checkout_id = $1", checkout.sql).first.map(Self.order)
    }

    /// A stored status, which only this store writes: anything else is a corrupt row.
    static func status<Status: RawRepresentable<String>>(_ text: String) throws -> Status {
        guard let status = Status(rawValue: text) else { throw StorageError.decoding("unknown status '\(text)'") }
        return status
    }

    static func order(_ row: ResultRow) throws -> OrderRecord {
        OrderRecord(
            id: try row.id(0), merchantID: try row.id(1), checkoutID: try row.id(2), tokenHash: try row.text(3), idempotencyKey: try row.text(4),
            requestHash: try row.text(5), status: try Self.status(row.text(6)), responseStatus: try row.optionalInt(7).map(Int.init), body: try row.optionalText(8),
            createdAt: try row.int(9))
    }

    static func optional(_ text: String?) -> SQLValue { text.map { .text($0) } ?? .null }
}
