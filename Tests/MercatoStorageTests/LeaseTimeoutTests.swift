import Foundation
import Logging
import MercatoStorage
import MercatoSQL
import Testing

/// Work that cannot get a PostgreSQL connection gives up after the lease timeout with `unavailable` (the
/// HTTP edge answers 503 with `Retry-After`); work that got one runs to the end. Without the deadline the
/// first two tests hang until their time limit: PostgresNIO keeps lease requests waiting while it reconnects.
@Suite("PostgreSQL connection lease deadline", .timeLimit(.minutes(1)))
struct LeaseTimeoutTests {
    static let logger: Logger = {
        var logger = Logger(label: "lease")
        logger.logLevel = .critical
        return logger
    }()

    /// Nothing listens on port 1: the pool keeps trying to connect, and every statement gives up.
    @Test func aStatementGivesUpWhenTheServerIsUnreachable() async throws {
        let database = try PostgresDatabaseClient(
            url: "postgres://postgres@127.0.0.1:1/mercato", maxConnections: 2, leaseTimeout: .milliseconds(200), logger: Self.logger)
        try await database.withRunning { database in
            for _ in 0 ..< 3 {
                let error = await #expect(throws: StorageError.self) { try await database.query("SELECT 1") }
                #expect(error?.isUnavailable == true, "\(String(describing: error))")
            }
            let error = await #expect(throws: StorageError.self) { try await database.transaction { try await $0.execute("SELECT 1") } }
            #expect(error?.isUnavailable == true, "\(String(describing: error))")
        }
    }

    /// One connection, held by a transaction: a second statement gives up, the holder finishes (it got its
    /// connection before the deadline, so the deadline no longer concerns it), and then statements run again.
    @Test(.enabled(if: !(ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "").isEmpty))
    func aBusyPoolTurnsWaitsIntoUnavailableAndLetsLeasedWorkFinish() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["DATABASE_URL"])
        let database = try PostgresDatabaseClient(url: url, maxConnections: 1, leaseTimeout: .milliseconds(300), logger: Self.logger)
        try await database.withRunning { database in
            // The one connection is opened first: under load, opening it may take longer than the deadline,
            // and the holder below must not be the one that gives up.
            var opened = false
            for _ in 0 ..< 100 where !opened { opened = (try? await database.query("SELECT 1")) != nil }
            try #require(opened, "no connection to \(url) in 100 attempts")
            let (holding, held) = AsyncStream.makeStream(of: Void.self)
            let (releasing, release) = AsyncStream.makeStream(of: Void.self)
            @Sendable func hold() async throws -> Int64 {
                // Ends the stream also when the transaction fails, so the test reports it instead of hanging.
                defer { held.finish() }
                return try await database.transaction { transaction in
                    let value = try await transaction.query("SELECT 41 + 1").first?.int(0) ?? 0
                    held.yield()
                    // Held past the deadline on purpose, until the waiter below has given up.
                    for await _ in releasing { break }
                    return value
                }
            }
            async let holder = hold()
            var holds = false
            for await _ in holding { holds = true; break }
            guard holds else {
                let outcome: String
                do { outcome = "it returned \(try await holder)" } catch { outcome = "\(error)" }
                Issue.record("the holder did not get the connection: \(outcome)")
                return
            }
            let error = await #expect(throws: StorageError.self) { try await database.query("SELECT 1") }
            #expect(error?.isUnavailable == true, "\(String(describing: error))")
            release.yield()
            let value = try await holder
            #expect(value == 42)
            let after = try await database.query("SELECT 7").first?.int(0)
            #expect(after == 7)
        }
    }
}

@Test func theBusyPoolTestRunsInCI() {
    #expect(!ContinuousIntegration.isActive || !(ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "").isEmpty)
}
