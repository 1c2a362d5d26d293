import Foundation
import Logging
import MercatoCore
import MercatoStorage
import MercatoSQL
import Testing
import MercatoCatalogStore

/// PostgreSQL is part of the suite, not an optional extra: in CI its absence is a failure.
@Test func postgresIsConfiguredInCI() {
    let url = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""
    #expect(!ContinuousIntegration.isActive || !url.isEmpty, "CI is set but DATABASE_URL is not: the PostgreSQL half of the suite would not run")
}

/// Whether one node of `plan` (EXPLAIN text) is an index-only scan of `index`, forward or backward: both
/// phrases anywhere in the plan could come from two different nodes.
func hasIndexOnlyScan(of index: String, in plan: String) -> Bool {
    plan.split(separator: "\n").contains { node in
        node.contains("Index Only Scan using \(index) on ") || node.contains("Index Only Scan Backward using \(index) on ")
    }
}

/// The index and "Index Only Scan" in two different nodes are not an index-only scan of that index.
@Test func anIndexOnlyScanIsMatchedInOnePlanNode() {
    let plan = """
        Nested Loop  (cost=0.57..99.10 rows=25 width=64)
          ->  Index Scan using listing_by_position on listing_entries e  (cost=0.29..40.00 rows=25 width=32)
          ->  Index Only Scan using products_pkey on products p  (cost=0.28..2.30 rows=1 width=32)
        """
    #expect(!hasIndexOnlyScan(of: "listing_by_position", in: plan))
    #expect(hasIndexOnlyScan(of: "products_pkey", in: plan))
    #expect(hasIndexOnlyScan(of: "listing_by_price", in: "  ->  Index Only Scan Backward using listing_by_price on listing_prices lp"))
    #expect(!hasIndexOnlyScan(of: "listing_by_price", in: "  ->  Index Only Scan using listing_by_price_old on listing_prices lp"))
}

@Suite("PostgreSQL listing plans", .enabled(if: ProcessInfo.processInfo.environment["DATABASE_URL"].map { !$0.isEmpty } ?? false))
struct ListingPlanTests {
    /// Every sort, with and without category, filter and cursor, is answered by an index-only scan of its
    /// covering index on a vacuumed table; the join to `products` only fetches the page's rows.
    @Test func everySortIsAnIndexOnlyScan() async throws {
        let logger: Logger = {
            var logger = Logger(label: "plans")
            logger.logLevel = .warning
            return logger
        }()
        let database = try PostgresDatabaseClient(url: ProcessInfo.processInfo.environment["DATABASE_URL"]!, maxConnections: 2, logger: logger)
        try await database.withRunning { database in
            try await Schema.migrate(database, logger: logger)
            let seeded = try await Seeder(database: database, logger: logger)
                .seed(.init(merchants: 1, productsPerMerchant: 3000, seed: 11, slugPrefix: "plan\(UInt32.random(in: 0 ... .max))"))
            let merchant = seeded[0].merchant
            let women = try #require(try await database.query(
                "SELECT id FROM categories WHERE merchant_id = $1 AND slug = 'women'", merchant.id.sql).first).id(0, as: CategoryID.self)
            let audience = Audience(market: Market.named("DE")!, group: .public)
            let expectedIndex: [ListingSort: String] = [
                .position: "listing_by_position", .newest: "listing_by_created", .bestselling: "listing_by_sales",
                .priceAsc: "listing_by_price", .priceDesc: "listing_by_price",
            ]
            for sort in ListingSort.allCases {
                for scope in [merchant.id.sql, women.sql] {
                    for (inStock, after) in [(false, nil), (true, ListingKey(value: 100, productID: ProductID(UUID(uuidString: "80000000-0000-4000-8000-000000000000")!)))] {
                        let query = ListingQuery(
                            merchantID: merchant.id, scope: scope, sort: sort, currency: audience.market.currency,
                            audience: audience, inStockOnly: inStock, after: after, limit: 25)
                        let sql = SQLCatalogStore.listingSQL(query, dialect: database.dialect)
                        let plan = try await database.query(SQL("EXPLAIN " + sql.text, sql.binds)).map { try $0.text(0) }.joined(separator: "\n")
                        let index = try #require(expectedIndex[sort])
                        #expect(hasIndexOnlyScan(of: index, in: plan), "\(sort) in_stock=\(inStock) cursor=\(after != nil):\n\(plan)")
                        #expect(!plan.contains("Sort  ("), "\(sort) should read the index in order, not sort:\n\(plan)")
                    }
                }
            }
        }
    }
}
