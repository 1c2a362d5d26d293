import MercatoCore
import MercatoStorage
import MercatoSQL
import Testing
import MercatoCatalogStore

/// A price write updates the listing projection in place (only the product's cheapest price can change
/// there); these tests hold it to what a full reprojection would have written.
@Suite("Price writes update projections in place")
struct PriceWriteTests {
    /// The product's projected price rows, in a stable order.
    static func projection(_ database: any DatabaseClient, product: ProductID) async throws -> [String] {
        let own = try await database.query(
            "SELECT currency, min_amount FROM product_prices WHERE product_id = $1 ORDER BY currency", product.sql
        ).map { "product \(try $0.text(0)) \(try $0.int(1))" }
        let listed = try await database.query(
            "SELECT scope_id, currency, min_amount, in_stock, audience_mask FROM listing_prices WHERE product_id = $1 ORDER BY scope_id, currency",
            product.sql
        ).map { "listed \(try $0.text(0)) \(try $0.text(1)) \(try $0.int(2)) \(try $0.bool(3)) \(try $0.int(4))" }
        return own + listed
    }

    /// What a full reprojection writes for the product, to compare against.
    static func reprojected(_ database: any DatabaseClient, merchant: MerchantID, product: ProductID) async throws -> [String] {
        try await database.transaction { tx in
            _ = try await ListingProjector.reproject([product], merchantID: merchant, on: tx)
        }
        return try await projection(database, product: product)
    }

    /// Lowering, raising and repeating prices in a seeded order: after every write the rows equal a reprojection,
    /// and the write reports a move (with the scopes to re-sort) exactly when the cheapest price changed.
    @Test(arguments: Backend.available)
    func everyPriceWriteLeavesWhatAReprojectionWould(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, _, _) = try await inventoryFixture(database, stock: 5)
            let product = try await Self.productWithVariants(database, merchant: merchant.id)
            let variants: [VariantID] = try await database.query(
                "SELECT id FROM variants WHERE product_id = $1 ORDER BY id", product.sql).map { try $0.id(0) }
            let currency = try #require(merchant.markets.first?.currency)
            let writer = CatalogWriter(database: database)
            var state: UInt64 = 42
            var moves = 0, stills = 0
            for _ in 0..<40 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let variant = variants[Int(state >> 33) % variants.count]
                let amount = Int64(900 + (state >> 40) % 5 * 100)  // few distinct amounts: ties and repeats happen
                let before = try await Self.projection(database, product: product)
                let (_, effect) = try await writer.setPrice(merchantID: merchant.id, variantID: variant, price: Money(currency: currency, amount: amount))
                let after = try await Self.projection(database, product: product)
                #expect(after == (try await Self.reprojected(database, merchant: merchant.id, product: product)))
                if before == after {
                    stills += 1
                    #expect(effect.minPriceMoves.isEmpty && effect.scopes.isEmpty)
                } else {
                    moves += 1
                    let move = try #require(effect.minPriceMoves[currency.code])
                    #expect(move.before != move.after && move.after != nil)
                    #expect(effect.scopes.contains(merchant.id.description))
                }
            }
            // Both branches ran (the seed makes this deterministic).
            #expect(moves > 0 && stills > 0)
        }
    }

    /// A currency the product had no price in yet gets its listing rows (the write falls back to a reprojection).
    @Test(arguments: Backend.available)
    func aFirstPriceInACurrencyIsProjected(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, variant, product) = try await inventoryFixture(database, stock: 5)
            let held = Set(try await database.query(
                "SELECT currency FROM product_prices WHERE product_id = $1", product.sql).map { try $0.text(0) })
            let fresh = try #require(CurrencyCode("XTS"))  // ISO 4217's code for testing
            try #require(!held.contains(fresh.code))
            let (_, effect) = try await CatalogWriter(database: database)
                .setPrice(merchantID: merchant.id, variantID: variant, price: Money(currency: fresh, amount: 4_200))
            let rows = try await Self.projection(database, product: product)
            #expect(rows.contains("product \(fresh.code) 4200"))
            #expect(rows.contains { $0.hasPrefix("listed \(merchant.id.description) \(fresh.code) 4200 ") })
            #expect(effect.minPriceMoves[fresh.code]?.after == 4_200)
            #expect(rows == (try await Self.reprojected(database, merchant: merchant.id, product: product)))
        }
    }

    /// An active product of the merchant with at least two variants (the seed gives most products several).
    static func productWithVariants(_ database: any DatabaseClient, merchant: MerchantID) async throws -> ProductID {
        try #require(try await database.query(
            """
            SELECT v.product_id FROM variants v JOIN products p ON p.id = v.product_id
            WHERE v.merchant_id = $1 AND p.status = 'active' GROUP BY v.product_id HAVING COUNT(*) >= 2 ORDER BY v.product_id LIMIT 1
            """, merchant.sql).first).id(0)
    }

    /// Concurrent price writes to different variants of one product: the projected minimum is the true one.
    @Test(arguments: Backend.available)
    func concurrentPriceWritesLeaveTheTrueMinimum(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, _, _) = try await inventoryFixture(database, stock: 5)
            let product = try await Self.productWithVariants(database, merchant: merchant.id)
            let variants: [VariantID] = try await database.query(
                "SELECT id FROM variants WHERE product_id = $1 ORDER BY id", product.sql).map { try $0.id(0) }
            try #require(variants.count >= 2)
            let currency = try #require(merchant.markets.first?.currency)
            let writer = CatalogWriter(database: database)
            for round in 0..<5 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, variant) in variants.enumerated() {
                        // Each round every variant moves; the cheapest one alternates.
                        let amount = Int64(1_000 + ((index + round) % variants.count) * 10 + round)
                        group.addTask { _ = try await writer.setPrice(merchantID: merchant.id, variantID: variant, price: Money(currency: currency, amount: amount)) }
                    }
                    try await group.waitForAll()
                }
                let truth = try #require(try await database.query(
                    "SELECT MIN(vp.amount) FROM variant_prices vp JOIN variants v ON v.id = vp.variant_id WHERE v.product_id = $1 AND vp.currency = $2",
                    product.sql, .text(currency.code)).first?.int(0))
                let rows = try await Self.projection(database, product: product)
                #expect(rows.contains("product \(currency.code) \(truth)"))
                #expect(rows == (try await Self.reprojected(database, merchant: merchant.id, product: product)))
            }
        }
    }
}
