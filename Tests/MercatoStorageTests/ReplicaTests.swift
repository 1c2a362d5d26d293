import Foundation
import Logging
import MercatoCore
import MercatoStorage
import MercatoSQL
import MetricsTestKit
import Testing
import MercatoFences
import MercatoCatalogStore
import TestSupport

/// The streaming replica is part of the CI setup (issue 7's groundwork): in CI its absence is a failure.
@Test func replicaIsConfiguredInCI() {
    let environment = ProcessInfo.processInfo.environment
    #expect(
        !ContinuousIntegration.isActive || !(environment["DATABASE_REPLICA_URLS"] ?? "").isEmpty,
        "CI is set but DATABASE_REPLICA_URLS is not: the replica tests would not run")
}

@Suite(
    "PostgreSQL streaming replica",
    .enabled(if: ["DATABASE_URL", "DATABASE_REPLICA_URLS"].allSatisfy { !(ProcessInfo.processInfo.environment[$0] ?? "").isEmpty }))
struct ReplicaTests {
    static let logger: Logger = {
        var logger = Logger(label: "replica")
        logger.logLevel = .warning
        return logger
    }()

    /// The replica is in recovery, replays what the primary commits, and answers listings with the same
    /// index-only scans of the covering indexes (they are replicated with the data).
    @Test func replicaReplaysWritesAndUsesTheCoveringIndexes() async throws {
        let environment = ProcessInfo.processInfo.environment
        let replicaURL = try #require(environment["DATABASE_REPLICA_URLS"]?.split(separator: ",").first.map(String.init))
        let primary = try PostgresDatabaseClient(url: try #require(environment["DATABASE_URL"]), maxConnections: 2, logger: Self.logger)
        let replica = try PostgresDatabaseClient(url: replicaURL, maxConnections: 2, logger: Self.logger)
        try await primary.withRunning { primary in
            try await replica.withRunning { replica in
                #expect(try await replica.query("SELECT pg_is_in_recovery()").first?.bool(0) == true)
                #expect(try await primary.query("SELECT pg_is_in_recovery()").first?.bool(0) == false)
                await #expect(throws: (any Error).self) { try await replica.execute("CREATE TABLE replica_write_check (id INT)") }

                try await Schema.migrate(primary, logger: Self.logger)
                let seeded = try await Seeder(database: primary, logger: Self.logger)
                    .seed(.init(merchants: 1, productsPerMerchant: 3000, seed: 5, slugPrefix: "rep\(UInt32.random(in: 0 ... .max))"))
                let merchant = seeded[0].merchant
                try await primary.execute("ANALYZE listing_entries")
                try await primary.execute("ANALYZE listing_prices")
                try await primary.execute("ANALYZE products")
                // Replay: the merchant and its listing rows appear on the replica.
                try await poll("the replica replays the seed", every: .milliseconds(100), timeout: .seconds(30)) {
                    let count = try await replica.query("SELECT COUNT(*) FROM listing_entries WHERE merchant_id = $1", merchant.id.sql).first?.int(0) ?? 0
                    let expected = try await primary.query("SELECT COUNT(*) FROM listing_entries WHERE merchant_id = $1", merchant.id.sql).first?.int(0) ?? -1
                    return count == expected
                }

                let audience = Audience(market: Market.named("DE")!, group: .public)
                for (sort, index) in [(ListingSort.position, "listing_by_position"), (.priceAsc, "listing_by_price"), (.newest, "listing_by_created")] {
                    let sql = SQLCatalogStore.listingSQL(ListingQuery(
                        merchantID: merchant.id, scope: merchant.id.sql, sort: sort, currency: audience.market.currency, audience: audience,
                        inStockOnly: false, after: nil, limit: 25), dialect: .postgres)
                    let plan = try await replica.query(SQL("EXPLAIN " + sql.text, sql.binds)).map { try $0.text(0) }.joined(separator: "\n")
                    #expect(hasIndexOnlyScan(of: index, in: plan), "\(sort) on the replica:\n\(plan)")
                }
            }
        }
    }

    /// Runs `body` with the primary and a `ReplicatedDatabase` over it and the replica. Reads fenced ahead of
    /// the replica wait as long as replay needs (the WAL writer flushes asynchronous commits within
    /// `wal_writer_delay`), and probes and reads get 30 s: these tests are about routing, not slow replicas,
    /// and under CI load a healthy replica can take longer than the production 1 s to answer.
    static func withReplicated(
        _ body: @Sendable @escaping (PostgresDatabaseClient, ReplicatedDatabase, TestMetrics) async throws -> Void
    ) async throws {
        let environment = ProcessInfo.processInfo.environment
        let replicaURL = try #require(environment["DATABASE_REPLICA_URLS"]?.split(separator: ",").first.map(String.init))
        let primary = try PostgresDatabaseClient(url: try #require(environment["DATABASE_URL"]), maxConnections: 2, logger: Self.logger)
        let replica = try PostgresDatabaseClient(url: replicaURL, maxConnections: 2, logger: Self.logger)
        let metrics = TestMetrics()
        try await primary.withRunning { primary in
            try await replica.withRunning { replica in
                let replicated = ReplicatedDatabase(
                    primary: primary, replicas: [Replica(database: replica, name: "replica")], limits: ReplicaLimits(maxLag: .seconds(3600), maxLagBytes: .max, fenceWait: .seconds(10)),
                     probeTimeout: .seconds(30), readTimeout: .seconds(30), logger: Self.logger, metricsFactory: metrics)
                await replicated.refresh()
                try await body(primary, replicated, metrics)
            }
        }
    }

    /// A fence taken after a commit covers that commit even when it was asynchronous
    /// (`synchronous_commit = off`, as CI's clusters and many production ones run): a read routed to a
    /// replica with that fence sees the write. With the WAL *write* position as the fence, the commit record
    /// could still sit in the primary's WAL buffers past it, and a replica that had replayed the fence served
    /// the old row (the fault suite's stale reads after a Redis restart). Each round writes a new value.
    @Test func aFenceTakenAfterAnAsynchronousCommitCoversIt() async throws {
        try await Self.withReplicated { primary, replicated, metrics in
        try await primary.execute("CREATE TABLE IF NOT EXISTS fence_checks (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)")
        let id = Int64.random(in: 1 ... .max)
        try await primary.execute(SQL("INSERT INTO fence_checks (id, value) VALUES ($1, 0)", [.int(id)]))
        for round in 1 ... 20 {
            try await primary.transaction { transaction in
                try await transaction.execute("SET LOCAL synchronous_commit = off")
                try await transaction.execute(SQL("UPDATE fence_checks SET value = $1 WHERE id = $2", [.int(Int64(round)), .int(id)]))
            }
            let fence = try await replicated.currentPosition()
            let seen = try await ReadRouting.$replicaFence.withValue(fence) {
                try await replicated.query(SQL("SELECT value FROM fence_checks WHERE id = $1", [.int(id)]).onReplica).first?.int(0)
            }
            #expect(seen == Int64(round), "round \(round): the replica, past the fence \(fence), showed \(seen.map(String.init) ?? "no row")")
        }
        // Counted through swift-metrics, as `/metrics` exports them.
        func reads(_ target: String) throws -> Int64 { try metrics.expectCounter("mercato_db_reads_total", [("target", target)]).totalValue }
        #expect(try reads("replica") == 20, "every read was answered by the replica")
        #expect(try reads("primary") == 0 && metrics.counterTotal(label: "mercato_db_replica_fallbacks_total") == 0)
        try await primary.execute(SQL("DELETE FROM fence_checks WHERE id = $1", [.int(id)]))
        }
    }

    /// Only statements marked as replica reads leave the primary: inside a replica-routed task, an unmarked
    /// statement (a write, say) still runs on the primary.
    @Test func onlyMarkedReadsReachAReplica() async throws {
        try await Self.withReplicated { _, replicated, metrics in
        let (unmarked, marked) = try await ReadRouting.$replicaFence.withValue(.zero) {
            (try await replicated.query("SELECT pg_is_in_recovery()").first?.bool(0),
             try await replicated.query(SQL("SELECT pg_is_in_recovery()").onReplica).first?.bool(0))
        }
        #expect(unmarked == false, "an unmarked statement ran on a replica")
        #expect(marked == true, "a marked read inside a replica fence did not use the replica")
        // The unmarked statement is a primary read, not a fallback: it was never the replica's to answer.
        #expect(try metrics.expectCounter("mercato_db_reads_total", [("target", "primary")]).totalValue == 1)
        #expect(try metrics.expectCounter("mercato_db_reads_total", [("target", "replica")]).totalValue == 1)
        #expect(try metrics.expectCounter("mercato_db_replica_fallbacks_total").totalValue == 0)
        }
    }
}
