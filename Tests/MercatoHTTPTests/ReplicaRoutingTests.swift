import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MercatoCore
import MercatoHTTP
import MercatoStorage
import Testing

@Suite(
    "Read replicas: routing and read-your-writes", .serialized,
    .enabled(if: ["DATABASE_URL", "DATABASE_REPLICA_URLS"].allSatisfy { !(ProcessInfo.processInfo.environment[$0] ?? "").isEmpty }))
struct ReplicaRoutingTests {
    static var primaryURL: String { ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "" }
    static var replicaURL: String { ProcessInfo.processInfo.environment["DATABASE_REPLICA_URLS"]?.split(separator: ",").first.map(String.init) ?? "" }

    /// Waits until the replica has every product of `merchants` (the seed has been replayed).
    static func waitForReplay(_ replica: any SQLDatabase, _ primary: any SQLDatabase, merchants: [Merchant]) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        for merchant in merchants {
            let expected = try await primary.query("SELECT COUNT(*) FROM products WHERE merchant_id = $1", merchant.id.sql).first?.int(0) ?? -1
            while try await replica.query("SELECT COUNT(*) FROM products WHERE merchant_id = $1", merchant.id.sql).first?.int(0) != expected {
                guard ContinuousClock.now < deadline else { throw ReplayTimeout() }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    struct ReplayTimeout: Error {}

    @Test("With replay paused, a write is read fresh from the primary, while untouched data still comes from the replica")
    func readYourWrites() async throws {
        let primary = try PostgresDatabase(url: Self.primaryURL, maxConnections: 4, logger: Harness.logger)
        let replica = try PostgresDatabase(url: Self.replicaURL, maxConnections: 4, logger: Harness.logger)
        try await primary.withRunning { primary in
            try await replica.withRunning { replica in
                try await Schema.migrate(primary, logger: Harness.logger)
                let fixture = try await Harness.seed(primary, merchants: 2, products: 20)
                try await Self.waitForReplay(replica, primary, merchants: fixture.merchants)
                let target = Replica(database: replica, name: "replica")
                // No lag limit here: other suites write heavily meanwhile, and this test is about the fence.
                let replicated = ReplicatedDatabase(primary: primary, replicas: [target], maxLagBytes: .max, logger: Harness.logger)
                #expect(!target.isHealthy)
                await replicated.refresh()
                #expect(target.isHealthy)

                let deps = try await AppDependencies.make(database: replicated, options: HTTPOptions(maxBodyBytes: 64 * 1024), logger: Harness.logger)
                let app = buildApplication(deps, hostname: "127.0.0.1", port: 0, services: [], logger: Harness.logger)
                try await app.test(.router) { client in
                    let store = "/v1/stores/\(fixture.slug)"
                    let listing = try await client.json("\(store)/products?limit=5")
                    let product = try #require(listing.items.first?["id"] as? String)
                    let before = replicated.counters.snapshot
                    let detail = try await client.json("\(store)/products/\(product)")
                    #expect(detail.status == .ok)
                    #expect(replicated.counters.snapshot.replica > before.replica, "an untouched product is read from the replica")

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
                        let otherDatabase = ReplicatedDatabase(primary: primary, replicas: [otherTarget], maxLagBytes: .max, logger: Harness.logger)
                        await otherDatabase.refresh()
                        let otherDeps = try await AppDependencies.make(database: otherDatabase, options: HTTPOptions(maxBodyBytes: 64 * 1024), logger: Harness.logger)
                        let otherApp = buildApplication(otherDeps, hostname: "127.0.0.1", port: 0, services: [], logger: Harness.logger)
                        try await otherApp.test(.router) { other in
                            let withToken = try await other.json("\(store)/products/\(product)", headers: [.mercatoReadAfter: token])
                            let amount = ((withToken.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant }?["price"] as? [String: Any])?["amount"] as? Int
                            #expect(amount == 4321, "the token must make the read fresh")
                            #expect(otherDatabase.counters.snapshot.primary > 0 && otherDatabase.counters.snapshot.replica == 0)
                        }

                        // The replica has not replayed the write: the merchant's next read goes to the primary and is fresh.
                        let midway = replicated.counters.snapshot
                        let fresh = try await client.json("\(store)/products/\(product)")
                        let price = (fresh.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant }?["price"] as? [String: Any]
                        #expect(price?["amount"] as? Int == 4321, "read-your-writes: \(fresh.object)")
                        let after = replicated.counters.snapshot
                        #expect(after.primary > midway.primary && after.fallbacks > midway.fallbacks)
                        #expect(after.replica == midway.replica)

                        // Another merchant has no such fence: its reads still use the (paused) replica.
                        let other = "/v1/stores/\(fixture.merchants[1].slug)/products?limit=3"
                        #expect(try await client.json(other).status == .ok)
                        #expect(replicated.counters.snapshot.replica > after.replica, "untouched data keeps coming from the replica")
                    } catch {
                        _ = try? await replica.query("SELECT pg_wal_replay_resume()")
                        throw error
                    }
                    _ = try await replica.query("SELECT pg_wal_replay_resume()")

                    // Once the replica has replayed the write, the merchant's reads return to it.
                    let deadline = ContinuousClock.now + .seconds(60)
                    var back = false
                    var attempt = 0
                    while ContinuousClock.now < deadline, !back {
                        await replicated.refresh()
                        let counts = replicated.counters.snapshot
                        // A page size not asked before: a cache miss, so a database read.
                        attempt += 1
                        _ = try await client.json("\(store)/products?limit=\(10 + attempt % 90)&sort=newest")
                        back = replicated.counters.snapshot.replica > counts.replica
                        if !back { try await Task.sleep(for: .milliseconds(50)) }
                    }
                    #expect(back, "after replay the merchant's reads should use the replica again")
                }
            }
        }
    }

    @Test("A replica that is down is skipped: reads succeed from the primary")
    func replicaDown() async throws {
        let primary = try PostgresDatabase(url: Self.primaryURL, maxConnections: 4, logger: Harness.logger)
        // Nothing listens on loopback port 9: the replica's connections are refused.
        let dead = try PostgresDatabase(url: "postgres://postgres@127.0.0.1:9/mercato", maxConnections: 1, logger: Harness.logger)
        try await primary.withRunning { primary in
            try await dead.withRunning { dead in
                try await Schema.migrate(primary, logger: Harness.logger)
                let fixture = try await Harness.seed(primary, merchants: 1, products: 10)
                let target = Replica(database: dead, name: "dead")
                let replicated = ReplicatedDatabase(primary: primary, replicas: [target], logger: Harness.logger)
                await replicated.refresh()
                #expect(!target.isHealthy)
                let deps = try await AppDependencies.make(database: replicated, options: HTTPOptions(maxBodyBytes: 64 * 1024), logger: Harness.logger)
                let app = buildApplication(deps, hostname: "127.0.0.1", port: 0, services: [], logger: Harness.logger)
                try await app.test(.router) { client in
                    let response = try await client.json("/v1/stores/\(fixture.slug)/products?limit=3")
                    #expect(response.status == .ok)
                    let counts = replicated.counters.snapshot
                    #expect(counts.replica == 0 && counts.primary > 0 && counts.fallbacks > 0)
                }
            }
        }
    }
}
