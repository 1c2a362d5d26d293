import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MercatoCore
import MercatoHTTP
import MercatoStorage
import MercatoSQL
import MetricsTestKit
import TestServers
import Testing
import MercatoFences
import TestSupport

@Suite(
    "Read replicas: routing and read-your-writes", .serialized,
    .enabled(if: ["DATABASE_URL", "DATABASE_REPLICA_URLS"].allSatisfy { !(ProcessInfo.processInfo.environment[$0] ?? "").isEmpty }))
struct ReplicaRoutingTests {
    static var primaryURL: String { ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "" }
    static var replicaURL: String { ProcessInfo.processInfo.environment["DATABASE_REPLICA_URLS"]?.split(separator: ",").first.map(String.init) ?? "" }

    /// Waits until the replica has every product of `merchants` (the seed has been replayed).
    static func waitForReplay(_ replica: any DatabaseClient, _ primary: any DatabaseClient, merchants: [Merchant]) async throws {
        for merchant in merchants {
            let expected = try await primary.query("SELECT COUNT(*) FROM products WHERE merchant_id = $1", merchant.id.sql).first?.int(0) ?? -1
            try await poll("the replica replays merchant \(merchant.slug)", every: .milliseconds(50), timeout: .seconds(30)) {
                try await replica.query("SELECT COUNT(*) FROM products WHERE merchant_id = $1", merchant.id.sql).first?.int(0) == expected
            }
        }
    }

    /// Runs `body` with pools on the primary and the replica at `replicaURL`, after seeding `merchants`
    /// merchants on the primary and waiting until the replica has replayed them.
    static func withSeededReplica(
        _ replicaURL: String, connections: Int, merchants: Int,
        _ body: @Sendable @escaping (PostgresDatabaseClient, PostgresDatabaseClient, Fixture) async throws -> Void
    ) async throws {
        let primary = try PostgresDatabaseClient(url: Self.primaryURL, maxConnections: 4, leaseTimeout: Harness.leaseTimeout, logger: Harness.logger)
        let replica = try PostgresDatabaseClient(url: replicaURL, maxConnections: connections, leaseTimeout: Harness.leaseTimeout, logger: Harness.logger)
        try await primary.withRunning { primary in
            try await replica.withRunning { replica in
                try await Schema.migrate(primary, logger: Harness.logger)
                let fixture = try await Harness.seed(primary, merchants: merchants, products: 20)
                try await Self.waitForReplay(replica, primary, merchants: fixture.merchants)
                try await body(primary, replica, fixture)
            }
        }
    }

    /// Probe and read timeouts for tests about fences and routing, not about slow replicas: under CI load a
    /// healthy replica can take longer than the production 1 s to answer a probe.
    static let patientProbe: Duration = .seconds(30)

    @Test("With replay paused, a write is read fresh from the primary, while untouched data still comes from the replica")
    func readYourWrites() async throws {
        try await Self.withSeededReplica(Self.replicaURL, connections: 4, merchants: 2) { primary, replica, fixture in
            let target = Replica(database: replica, name: "replica")
            // No lag limit here: other suites write heavily meanwhile, and this test is about the fence.
            // A long wait suspension, so "the next read does not wait" holds however slow the machine is.
            let replicatedMetrics = TestMetrics()
            let replicated = ReplicatedDatabase(
                primary: primary, replicas: [target], limits: ReplicaLimits(maxLag: .seconds(3600), maxLagBytes: .max), waitSuspension: .seconds(3600),
                probeTimeout: Self.patientProbe, readTimeout: Self.patientProbe, logger: Harness.logger, metricsFactory: replicatedMetrics)
            #expect(!target.isHealthy)
            await replicated.refresh()
            #expect(target.isHealthy)

            let deps = try await Harness.dependencies(database: replicated, options: HTTPOptions(maxBodyBytes: 64 * 1024))
            let appContract = ContractLog()
            defer { appContract.recordIssues() }
            let app = try Harness.application(deps, contract: appContract)
            try await app.test(.router) { client in
                let store = "/v1/stores/\(fixture.slug)"
                let listing = try await client.json("\(store)/products?limit=5")
                let product = try #require(listing.items.first?["id"] as? String)
                let before = replicatedMetrics.reads
                let detail = try await client.json("\(store)/products/\(product)")
                #expect(detail.status == .ok)
                #expect(replicatedMetrics.reads.replica > before.replica, "an untouched product is read from the replica")

                _ = try await replica.query("SELECT pg_wal_replay_pause()")
                do {
                    let admin = try await client.admin("/v1/admin/products/\(product)", token: fixture.token)
                    let variant = try #require((admin.object["variants"] as? [[String: Any]])?.first?["id"] as? String)
                    let currency = fixture.merchants[0].defaultMarket.currency.code
                    let write = try await client.admin(
                        "/v1/admin/variants/\(variant)/price", token: fixture.token, method: .put, body: #"{"currency": "\#(currency)", "amount": 4321}"#)
                    #expect(write.status == .ok)
                    let token = try #require(write.headers[.mercatoReadAfter], "a write answers with its read-after token")
                    #expect(WALPosition(token) != nil)
                    await replicated.refresh()

                    // Another instance that has not heard of the write (no Redis here): with the client's token
                    // it reads at least that fresh; without it, it would trust its replica.
                    let otherTarget = Replica(database: replica, name: "replica")
                    let otherDatabaseMetrics = TestMetrics()
                    let otherDatabase = ReplicatedDatabase(
                        primary: primary, replicas: [otherTarget], limits: ReplicaLimits(maxLag: .seconds(3600), maxLagBytes: .max), probeTimeout: Self.patientProbe,
                        readTimeout: Self.patientProbe, logger: Harness.logger, metricsFactory: otherDatabaseMetrics)
                    await otherDatabase.refresh()
                    let otherDeps = try await Harness.dependencies(database: otherDatabase, options: HTTPOptions(maxBodyBytes: 64 * 1024))
                    let otherAppContract = ContractLog()
                    defer { otherAppContract.recordIssues() }
                    let otherApp = try Harness.application(otherDeps, contract: otherAppContract)
                    try await otherApp.test(.router) { other in
                        let withToken = try await other.json("\(store)/products/\(product)", headers: [.mercatoReadAfter: token])
                        let amount = ((withToken.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant }?["price"] as? [String: Any])?["amount"] as? Int
                        #expect(amount == 4321, "the token must make the read fresh")
                        #expect(otherDatabaseMetrics.reads.primary > 0 && otherDatabaseMetrics.reads.replica == 0)
                    }

                    // The replica has not replayed the write: the merchant's next read goes to the primary and is fresh.
                    let midway = replicatedMetrics.reads
                    let fresh = try await client.json("\(store)/products/\(product)")
                    let price = (fresh.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant }?["price"] as? [String: Any]
                    #expect(price?["amount"] as? Int == 4321, "read-your-writes: \(fresh.object)")
                    let after = replicatedMetrics.reads
                    #expect(after.primary > midway.primary && after.fallbacks > midway.fallbacks)
                    #expect(after.replica == midway.replica)
                    let expired = replicatedMetrics.fenceWaits.expired
                    #expect(expired > 0, "the read waited (briefly) for the paused replica, then used the primary")
                    // A wait expired, so reads after the write go to the primary without waiting (for the suspension).
                    let unwaited = try await client.json("\(store)/products?limit=7&sort=newest")
                    #expect(unwaited.status == .ok)
                    #expect(replicatedMetrics.fenceWaits.expired == expired && replicatedMetrics.reads.fallbacks > after.fallbacks)

                    // Another merchant has no such fence: its reads still use the (paused) replica.
                    let other = "/v1/stores/\(fixture.merchants[1].slug)/products?limit=3"
                    #expect(try await client.json(other).status == .ok)
                    #expect(replicatedMetrics.reads.replica > after.replica, "untouched data keeps coming from the replica")

                    // With a lag limit, the paused replica is skipped once it is that far behind, fence or not.
                    let lagging = Replica(database: replica, name: "replica")
                    let lagLimitedMetrics = TestMetrics()
                    let lagLimited = ReplicatedDatabase(
                        primary: primary, replicas: [lagging], limits: ReplicaLimits(maxLag: .milliseconds(200), maxLagBytes: .max), probeTimeout: Self.patientProbe,
                        readTimeout: Self.patientProbe, logger: Harness.logger, metricsFactory: lagLimitedMetrics)
                    // Replay is paused, so the lag grows; wait until the monitor has seen it pass the limit.
                    try await poll("the paused replica falls 300 ms behind", timeout: .seconds(30)) {
                        await lagLimited.refresh()
                        return lagging.lag >= .milliseconds(300)
                    }
                    #expect(lagging.isHealthy && lagging.lag >= .milliseconds(300), "lag \(lagging.lag)")
                    _ = try await ReadRouting.$replicaFence.withValue(.zero) { try await lagLimited.query(SQL("SELECT 1").onReplica) }
                    #expect(lagLimitedMetrics.reads.replica == 0 && lagLimitedMetrics.reads.fallbacks == 1)
                } catch {
                    _ = try? await replica.query("SELECT pg_wal_replay_resume()")
                    throw error
                }
                _ = try await replica.query("SELECT pg_wal_replay_resume()")

                // Replaying again: a read fenced by a write made just now waits for the replica to replay it
                // (here up to 5 s, so a loaded machine cannot make the test flaky) and is served there.
                let waitingMetrics = TestMetrics()
                let waiting = ReplicatedDatabase(
                    primary: primary, replicas: [Replica(database: replica, name: "replica")], limits: ReplicaLimits(maxLag: .seconds(3600), maxLagBytes: .max, fenceWait: .seconds(5)),
                     probeTimeout: Self.patientProbe, readTimeout: Self.patientProbe, logger: Harness.logger, metricsFactory: waitingMetrics)
                await waiting.refresh()
                let variant = try await Self.firstVariant(client, product, fixture.token)
                let write = try await client.admin(
                    "/v1/admin/variants/\(variant)/price", token: fixture.token, method: .put,
                    body: #"{"currency": "\#(fixture.merchants[0].defaultMarket.currency.code)", "amount": 4322}"#)
                #expect(write.status == .ok)
                let fence = try #require(write.headers[.mercatoReadAfter].flatMap(WALPosition.init))
                let rows = try await ReadRouting.$replicaFence.withValue(fence) {
                    try await waiting.query(SQL("SELECT amount FROM variant_prices WHERE variant_id = $1::uuid AND amount = 4322", [.text(variant)]).onReplica)
                }
                #expect(rows.count == 1, "the replica had replayed the write when it answered")
                #expect(waitingMetrics.reads.replica == 1 && waitingMetrics.fenceWaits.replayed == 1)

                // With a lag limit, the resumed replica is used again once it has caught up (2 s: in CI other suites
                // write heavily, and with synchronous_commit=off WAL reaches the replica in 200 ms batches).
                let lagLimitedMetrics = TestMetrics()
                let lagLimited = ReplicatedDatabase(
                    primary: primary, replicas: [Replica(database: replica, name: "replica")], limits: ReplicaLimits(maxLag: .seconds(2), maxLagBytes: .max),
                    logger: Harness.logger, metricsFactory: lagLimitedMetrics)
                try await poll("the resumed replica is within 2 s of the primary", every: .milliseconds(50), timeout: .seconds(30)) {
                    await lagLimited.refresh()
                    _ = try await ReadRouting.$replicaFence.withValue(.zero) { try await lagLimited.query(SQL("SELECT 1").onReplica) }
                    return lagLimitedMetrics.reads.replica > 0
                }

                // Once the replica has replayed the write, the merchant's reads return to it.
                var attempt = 0
                try await poll("after replay the merchant's reads use the replica again", every: .milliseconds(50), timeout: .seconds(120)) {
                    await replicated.refresh()
                    let counts = replicatedMetrics.reads
                    // A page size not asked before: a cache miss, so a database read.
                    attempt += 1
                    _ = try await client.json("\(store)/products?limit=\(10 + attempt % 90)&sort=newest")
                    return replicatedMetrics.reads.replica > counts.replica
                }
            }
        }
    }

    @Test(
        "With replay paused, a write on one instance is read fresh on another that only heard of it through Redis",
        .enabled(if: RedisHarness.enabled), .timeLimit(.minutes(3)))
    func readYourWritesAcrossInstances() async throws {
        let redisURL = try #require(RedisHarness.url)
        try await Self.withSeededReplica(Self.replicaURL, connections: 4, merchants: 1) { primary, replica, fixture in
            // Two instances (two pods): each its own replica routing and caches, sharing the databases and Redis.
            func instance() async throws -> (TestMetrics, AppDependencies) {
                let databaseMetrics = TestMetrics()
                let database = ReplicatedDatabase(
                    primary: primary, replicas: [Replica(database: replica, name: "replica")], limits: ReplicaLimits(maxLag: .seconds(3600), maxLagBytes: .max),
                    logger: Harness.logger, metricsFactory: databaseMetrics)
                await database.refresh()
                let cache = CacheOptions(redisURL: redisURL, redisTimeout: .seconds(2))
                let deps = try await Harness.dependencies(database: database, options: HTTPOptions(maxBodyBytes: 64 * 1024), cache: cache)
                return (databaseMetrics, deps)
            }
            let (_, depsA) = try await instance()
            let (databaseBMetrics, depsB) = try await instance()
            let appAContract = ContractLog()
            defer { appAContract.recordIssues() }
            let appA = try Harness.application(depsA, contract: appAContract)
            let appBContract = ContractLog()
            defer { appBContract.recordIssues() }
            let appB = try Harness.application(depsB, contract: appBContract)
            try await appA.test(.router) { a in
                try await appB.test(.router) { b in
                    try await RedisHarness.waitUntilSubscribed(depsA, depsB)
                    let store = "/v1/stores/\(fixture.slug)"
                    let listing = try await b.json("\(store)/products?limit=5")
                    let product = try #require(listing.items.first?["id"] as? String)
                    let detail = "\(store)/products/\(product)"
                    #expect(try await b.json(detail).status == .ok)
                    #expect(databaseBMetrics.reads.replica > 0, "B reads the catalog from the replica")
                    let variant = try await Self.firstVariant(a, product, fixture.token)

                    _ = try await replica.query("SELECT pg_wal_replay_pause()")
                    do {
                        let write = try await a.admin(
                            "/v1/admin/variants/\(variant)/price", token: fixture.token, method: .put,
                            body: #"{"currency": "\#(fixture.merchants[0].defaultMarket.currency.code)", "amount": 5151}"#)
                        #expect(write.status == .ok)
                        // B heard of the write only through Redis; no token is sent. Its refill must not come from
                        // the paused replica, which still has the old price.
                        let before = databaseBMetrics.reads
                        let fresh = try await poll(timeout: .seconds(5)) {
                            let response = try await b.json(detail)
                            let price = (response.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant }?["price"] as? [String: Any]
                            return price?["amount"] as? Int == 5151
                        }
                        #expect(fresh != nil, "B did not serve the write within 5 s")
                        let after = databaseBMetrics.reads
                        #expect(after.replica == before.replica && after.fallbacks > before.fallbacks, "B's refill went to the primary")
                        let stale = try await replica.query(
                            "SELECT amount FROM variant_prices WHERE variant_id = $1::uuid", .text(variant)).first?.int(0)
                        #expect(stale != 5151, "the paused replica still has the old price, so the fresh answer came from the primary")
                    } catch {
                        _ = try? await replica.query("SELECT pg_wal_replay_resume()")
                        throw error
                    }
                    _ = try await replica.query("SELECT pg_wal_replay_resume()")
                }
            }
        }
    }

    @Test("A replica that is down is skipped: reads succeed from the primary")
    func replicaDown() async throws {
        let primary = try PostgresDatabaseClient(url: Self.primaryURL, maxConnections: 4, leaseTimeout: Harness.leaseTimeout, logger: Harness.logger)
        // Nothing listens on loopback port 9: the replica's connections are refused.
        let dead = try PostgresDatabaseClient(url: "postgres://postgres@127.0.0.1:9/mercato", maxConnections: 1, logger: Harness.logger)
        try await primary.withRunning { primary in
            try await dead.withRunning { dead in
                try await Schema.migrate(primary, logger: Harness.logger)
                let fixture = try await Harness.seed(primary, merchants: 1, products: 10)
                let target = Replica(database: dead, name: "dead")
                let replicatedMetrics = TestMetrics()
                let replicated = ReplicatedDatabase(primary: primary, replicas: [target], logger: Harness.logger, metricsFactory: replicatedMetrics)
                await replicated.refresh()
                #expect(!target.isHealthy)
                let deps = try await Harness.dependencies(database: replicated, options: HTTPOptions(maxBodyBytes: 64 * 1024))
                let appContract = ContractLog()
                defer { appContract.recordIssues() }
                let app = try Harness.application(deps, contract: appContract)
                try await app.test(.router) { client in
                    let response = try await client.json("/v1/stores/\(fixture.slug)/products?limit=3")
                    #expect(response.status == .ok)
                    let counts = replicatedMetrics.reads
                    #expect(counts.replica == 0 && counts.primary > 0 && counts.fallbacks > 0)
                }
            }
        }
    }

    @Test(
        "A replica killed mid-test is skipped: reads keep succeeding from the primary, and once restarted it is used again",
        .timeLimit(.minutes(3)))
    func replicaKilledAndRestarted() async throws {
        // This test's own replica of the CI primary: killing the shared one would disturb other suites.
        let owned = try await OwnedPostgresReplica.start(primaryURL: Self.primaryURL)
        do {
            try await Self.killAndRestart(owned)
        } catch {
            await owned.destroy()
            throw error
        }
        await owned.destroy()
    }

    static func killAndRestart(_ owned: OwnedPostgresReplica) async throws {
        try await Self.withSeededReplica(owned.url, connections: 2, merchants: 1) { primary, replica, fixture in
            let target = Replica(database: replica, name: "owned")
            // No lag limit: this test is about failure and recovery, and other suites write heavily meanwhile.
            let replicatedMetrics = TestMetrics()
            let replicated = ReplicatedDatabase(
                primary: primary, replicas: [target], limits: ReplicaLimits(maxLag: .seconds(3600), maxLagBytes: .max), probeTimeout: .milliseconds(500),
                readTimeout: .milliseconds(500), logger: Harness.logger, metricsFactory: replicatedMetrics)
            let deps = try await Harness.dependencies(database: replicated, options: HTTPOptions(maxBodyBytes: 64 * 1024))
            let appContract = ContractLog()
            defer { appContract.recordIssues() }
            let app = try Harness.application(deps, contract: appContract)
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The real monitor, polling as in production (faster), so recovery is automatic.
                group.addTask { try await ReplicaMonitor(database: replicated, interval: .milliseconds(50)).run() }
                defer { group.cancelAll() }
                try await app.test(.live) { client in
                    try await poll("the replica becomes healthy", timeout: .seconds(30)) { target.isHealthy }
                    // Every read asks for a page size not asked before: a cache miss, so a database read.
                    var page = 0
                    let store = "/v1/stores/\(fixture.slug)"
                    func uncachedRead() async throws -> HTTPAnswer {
                        page += 1
                        return try await client.json("\(store)/products?limit=\(1 + page % 100)&sort=\(["newest", "price_asc", "position"][page / 100 % 3])")
                    }
                    let start = replicatedMetrics.reads
                    #expect(try await uncachedRead().status == .ok)
                    #expect(replicatedMetrics.reads.replica > start.replica, "a healthy replica serves catalog reads")

                    // Crash: the pool's open connections die and new ones are refused. Reads made before the
                    // monitor notices fail over per read; after, they skip the replica.
                    try await owned.kill()
                    let killed = replicatedMetrics.reads
                    for _ in 0..<10 {
                        let response = try await uncachedRead()
                        #expect(response.status == .ok, "a read while the replica is down: \(response.status) \(response.object)")
                    }
                    try await poll("the monitor marks the killed replica unhealthy", timeout: .seconds(30)) { !target.isHealthy }
                    for _ in 0..<5 { #expect(try await uncachedRead().status == .ok) }
                    let down = replicatedMetrics.reads
                    #expect(down.replica == killed.replica, "nothing is read from a dead replica")
                    #expect(down.primary >= killed.primary + 15 && down.fallbacks >= killed.fallbacks + 15)

                    // Restart: the monitor takes the replica back and reads return to it without intervention.
                    try await owned.start()
                    try await poll("the restarted replica serves reads again", every: .milliseconds(50), timeout: .seconds(60)) { () async throws -> Bool in
                        let before = replicatedMetrics.reads
                        let read = try await uncachedRead()
                        #expect(read.status == .ok)
                        return replicatedMetrics.reads.replica > before.replica
                    }
                    #expect(target.isHealthy)
                }
            }
        }
    }

    /// The id of the first variant of `product` (admin API).
    static func firstVariant(_ client: some TestClientProtocol, _ product: String, _ token: String) async throws -> String {
        let admin = try await client.admin("/v1/admin/products/\(product)", token: token)
        return try #require((admin.object["variants"] as? [[String: Any]])?.first?["id"] as? String)
    }
}

extension TestMetrics {
    /// The reads a `ReplicatedDatabase` recorded into this factory: by target, replica-eligible reads the primary
    /// answered, and replica reads that failed.
    var reads: (primary: Int, replica: Int, fallbacks: Int, replicaErrors: Int) {
        func total(_ label: String, _ dimensions: [(String, String)] = []) -> Int { Int(counterTotal(label: label, dimensions: dimensions)) }
        return (
            total("mercato_db_reads_total", [("target", "primary")]), total("mercato_db_reads_total", [("target", "replica")]),
            total("mercato_db_replica_fallbacks_total"), total("mercato_db_replica_errors_total")
        )
    }

    /// Reads that waited for the replica to replay their fence: it did, or the wait expired.
    var fenceWaits: (replayed: Int, expired: Int) {
        (Int(counterTotal(label: "mercato_db_replica_fence_waits_total", dimensions: [("outcome", "replayed")])),
         Int(counterTotal(label: "mercato_db_replica_fence_waits_total", dimensions: [("outcome", "expired")])))
    }
}
