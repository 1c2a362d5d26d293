import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MercatoCore
import MercatoEdge
import MercatoHTTP
import MercatoStorage
import MercatoSQL
import NIOCore
import Testing
import TestSupport
import MercatoCatalogStore
import MercatoTelemetry

/// The storage backends the HTTP suite runs against: SQLite always, PostgreSQL when `DATABASE_URL` is set.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var databaseURL: String? {
        ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Every backend this run can use. In CI a missing URL is a failure (see `postgresIsConfiguredInCI`), not a skip.
    static var available: [Backend] { databaseURL == nil ? [.sqlite] : [.sqlite, .postgres] }
}

/// A seeded catalog plus an admin token per merchant.
struct Fixture: Sendable {
    let database: any DatabaseClient
    let merchants: [Merchant]
    let tokens: [String]

    var slug: String { merchants[0].slug }
    var token: String { tokens[0] }
}

enum Harness {
    /// How long test pools wait for a PostgreSQL connection before a statement fails as unavailable.
    static let leaseTimeout: Duration = .seconds(60)

    static let logger: Logger = {
        // As the server's loggers are made: lines written while serving a request carry its trace.
        var logger = Logger(label: "mercato.tests", metadataProvider: RequestTrace.logMetadata)
        logger.logLevel = .warning
        return logger
    }()

    /// Opens a fresh database for `backend` (a new SQLite file, or the shared PostgreSQL with migrations applied).
    static func withDatabase<T: Sendable>(_ backend: Backend, _ body: @Sendable @escaping (any DatabaseClient) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mercato-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = try await SQLiteDatabaseClient.open(path: directory.appendingPathComponent("test.sqlite").path, logger: logger)
            do {
                try await Schema.migrate(database, logger: logger)
                let result = try await body(database)
                await database.close()
                return result
            } catch {
                await database.close()
                throw error
            }
        case .postgres:
            let url = try #require(Backend.databaseURL)
            // A long lease deadline: tests check behaviour, not overload, and on CI's two cores a pool of 4
            // serving 200 concurrent buyers queues for seconds (`LeaseTimeoutTests` checks the deadline itself).
            let database = try PostgresDatabaseClient(url: url, maxConnections: 4, leaseTimeout: Harness.leaseTimeout, logger: logger)
            return try await database.withRunning { database in
                try await Schema.migrate(database, logger: logger)
                return try await body(database)
            }
        }
    }

    /// Seeds `merchants` merchants with unique slugs, issues a token for each, and runs `body` against the router.
    /// Every answer is checked against the API contract (see `ConformanceResponder`); a violation fails the test.
    static func withApp(
        _ backend: Backend, merchants: Int = 2, products: Int = 60, seed: UInt64 = 7, cache: CacheOptions = CacheOptions(),
        options: HTTPOptions = HTTPOptions(maxBodyBytes: 64 * 1024),
        _ body: @Sendable @escaping (any TestClientProtocol, Fixture) async throws -> Void
    ) async throws {
        try await withDatabase(backend) { database in
            let prefix = "t\(UInt32.random(in: 0 ... .max))"
            let seeded = try await Seeder(database: database, logger: logger)
                .seed(.init(merchants: merchants, productsPerMerchant: products, seed: seed, slugPrefix: prefix))
            let writer = CatalogWriter(database: database)
            var tokens: [String] = []
            for merchant in seeded { tokens.append(try await writer.createAdminToken(merchantID: merchant.merchant.id)) }
            let fixture = Fixture(database: database, merchants: seeded.map(\.merchant), tokens: tokens)
            let deps = try await Harness.dependencies(database: database, options: options, cache: cache)
            let contract = ContractLog()
            defer { contract.recordIssues() }
            let app = try application(deps, contract: contract)
            try await app.test(.router) { client in try await body(client, fixture) }
        }
    }

    /// Seeds merchants with unique slugs and an admin token each.
    static func seed(_ database: any DatabaseClient, merchants: Int = 1, products: Int = 30) async throws -> Fixture {
        let prefix = "t\(UInt32.random(in: 0 ... .max))"
        let seeded = try await Seeder(database: database, logger: logger)
            .seed(.init(merchants: merchants, productsPerMerchant: products, seed: 11, slugPrefix: prefix))
        let writer = CatalogWriter(database: database)
        var tokens: [String] = []
        for merchant in seeded { tokens.append(try await writer.createAdminToken(merchantID: merchant.merchant.id)) }
        return Fixture(database: database, merchants: seeded.map(\.merchant), tokens: tokens)
    }

    /// The app's dependencies as every test builds them: no background pass runs on a timer (roll-up and expiry
    /// sweep every hour). On a shared PostgreSQL one test's timer would roll up or release another test's rows, so
    /// checks of who counted or released what could only run on SQLite; a test that needs a pass runs it itself.
    static func dependencies(
        database: any DatabaseClient, options: HTTPOptions, cache: CacheOptions = CacheOptions(), checkout: CheckoutWiring = CheckoutWiring(),
        edge: EdgePurgeOptions = EdgePurgeOptions()
    ) async throws -> AppDependencies {
        var checkout = checkout
        checkout.expiryInterval = .seconds(3600)
        if checkout.salesRollupInterval != nil { checkout.salesRollupInterval = .seconds(3600) }
        return try await AppDependencies.make(
            database: database, options: options, cacheOptions: cache, checkoutOptions: checkout, edgeOptions: edge, logger: logger)
    }

    /// Serves the API over a real HTTP listener on loopback with this checkout wiring; `body` gets
    /// the base URL and the dependencies (for counters and services). Answers are checked against the contract.
    static func serve(
        _ database: any DatabaseClient, checkout: CheckoutWiring = CheckoutWiring(), cache: CacheOptions = CacheOptions(),
        _ body: @Sendable @escaping (String, AppDependencies) async throws -> Void
    ) async throws {
        let deps = try await Harness.dependencies(
            database: database, options: HTTPOptions(maxBodyBytes: 64 * 1024), cache: cache, checkout: checkout)
        let contract = ContractLog()
        defer { contract.recordIssues() }
        let app = try application(deps, contract: contract)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)", deps)
        }
    }

    /// Seeds a catalog and serves it live (see `serve`).
    static func withLiveApp(
        _ backend: Backend, merchants: Int = 1, products: Int = 30, checkout: CheckoutWiring = CheckoutWiring(), cache: CacheOptions = CacheOptions(),
        _ body: @Sendable @escaping (String, Fixture, AppDependencies) async throws -> Void
    ) async throws {
        try await withDatabase(backend) { database in
            let fixture = try await seed(database, merchants: merchants, products: products)
            try await serve(database, checkout: checkout, cache: cache) { base, deps in try await body(base, fixture, deps) }
        }
    }

    /// One sample of the app's `/metrics` by its exact series, e.g. `mercato_invalidation_reconnects_total` or
    /// `mercato_external_calls_total{service="tax",operation="quote"}` (nil when it is not exported).
    static func metric(_ deps: AppDependencies, _ series: String) async -> Double? {
        let text = String(decoding: await deps.metrics.exposition(), as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}

extension TestClientProtocol {
    /// Sends a request and parses the JSON body (empty object when there is none).
    func json(
        _ uri: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: String? = nil
    ) async throws -> HTTPAnswer {
        var headers = headers
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            HTTPAnswer(status: response.status, headers: response.headers, body: Array(buffer: response.body))
        }
    }

    /// Sends an authenticated admin request.
    func admin(_ uri: String, token: String, method: HTTPRequest.Method = .get, body: String? = nil) async throws -> HTTPAnswer {
        try await json(uri, method: method, headers: [.authorization: "Bearer \(token)"], body: body)
    }

    /// Walks every page of a listing; returns item ids in order.
    func walk(_ base: String, headers: HTTPFields = [:], between: (() async throws -> Void)? = nil) async throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        var cursor: String?
        var pages = 0
        repeat {
            let separator = base.contains("?") ? "&" : "?"
            let uri = cursor.map { "\(base)\(separator)cursor=\($0)" } ?? base
            let page = try await json(uri, headers: headers)
            #expect(page.status == .ok, "\(uri): \(page.detail)")
            items += page.items
            cursor = page.object["next_cursor"] as? String
            pages += 1
            try await between?()
        } while cursor != nil && pages < 1000
        return items
    }
}
