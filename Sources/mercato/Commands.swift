import ArgumentParser
import Foundation
import Logging
import MercatoCore
import MercatoHTTP
import MercatoHTTPEdge
import MercatoStorage

/// `mercato migrate`: applies pending schema migrations.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations (idempotent).")
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = makeLogger("mercato.migrate")
        let applied = try await database.withDatabase(logger: logger) { db in try await Schema.migrate(db, logger: logger) }
        print(applied.isEmpty ? "schema is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
    }
}

/// `mercato seed`: builds a deterministic catalog.
struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Seed a deterministic demo catalog (existing merchant slugs are skipped).")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Number of merchants; the first is 'demo'.") var merchants = 2
    @Option(help: "Products per merchant.") var productsPerMerchant = 500
    @Option(help: "Random seed; the same seed builds the same catalog.") var seed: UInt64 = 42

    func run() async throws {
        let logger = makeLogger("mercato.seed")
        let options = Seeder.Options(merchants: merchants, productsPerMerchant: productsPerMerchant, seed: seed)
        let started = ContinuousClock.now
        let seeded = try await database.withDatabase(logger: logger) { db in
            try await Schema.migrate(db, logger: logger)
            return try await Seeder(database: db, logger: logger).seed(options)
        }
        for merchant in seeded {
            print(merchant.skipped ? "\(merchant.merchant.slug): exists, skipped" : "\(merchant.merchant.slug): \(merchant.products) products")
        }
        print("seeded in \(ContinuousClock.now - started)")
    }
}

/// `mercato token create --merchant SLUG`.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage admin tokens.", subcommands: [Create.self, Revoke.self])

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke one admin token, or every admin token of a merchant; revoked tokens stop working at once.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The merchant's slug.") var merchant: String
        @Option(help: "The token to revoke (mk_…).") var token: String?
        @Flag(help: "Revoke every admin token of the merchant.") var all = false

        func validate() throws {
            guard (token != nil) != all else { throw ValidationError("give either --token TOKEN or --all") }
        }

        func run() async throws {
            let logger = makeLogger("mercato.token")
            let (slug, token) = (merchant, token)
            let message = try await database.withDatabase(logger: logger) { db -> String in
                try await Schema.migrate(db, logger: logger)
                let writer = CatalogWriter(database: db)
                guard let merchant = try await writer.merchant(slug: slug) else { throw ValidationError("no merchant with slug '\(slug)'") }
                guard let token else {
                    return "revoked \(try await writer.revokeAdminTokens(merchantID: merchant.id)) admin token(s) of \(slug)"
                }
                guard try await writer.revokeAdminToken(token, merchantID: merchant.id) else {
                    throw ValidationError("that token is not an admin token of '\(slug)' (or is already revoked)")
                }
                return "revoked"
            }
            print(message)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an admin token for a merchant and print it (it is stored hashed).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The merchant's slug.") var merchant: String

        func run() async throws {
            let logger = makeLogger("mercato.token")
            let slug = merchant
            let token = try await database.withDatabase(logger: logger) { db -> String in
                try await Schema.migrate(db, logger: logger)
                let writer = CatalogWriter(database: db)
                guard let merchant = try await writer.merchant(slug: slug) else {
                    throw ValidationError("no merchant with slug '\(slug)'")
                }
                return try await writer.createAdminToken(merchantID: merchant.id)
            }
            print(token)
        }
    }
}

/// `mercato serve`: the API server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the API server (embedded SQLite unless DATABASE_URL is set).",
        discussion: """
            Environment (README "Configuration" has the whole table):
              MERCATO_ENV=production      hide debug headers and the cache tier in Server-Timing; JSON logs
              MERCATO_METRICS_TOKEN       require 'Authorization: Bearer <token>' on /metrics
              MERCATO_CACHE=on|off        storefront cache (off: for before/after benchmarks)
              MERCATO_NEAR_CACHE_BYTES    near cache bound per instance (default 67108864)
              MERCATO_CACHE_TTL           seconds a cached response is fresh (default 300)
              MERCATO_CACHE_STALE         further seconds served stale while one refresh runs (default 30)
              REDIS_URL                   shared cache tier and cross-instance invalidation
              MERCATO_REDIS_PREFIX        prefix of every Redis name (default mercato:)
              MERCATO_REDIS_TIMEOUT_MS    longest wait for Redis before falling back (default 100)
              MERCATO_MAX_BODY_BYTES      largest request body (default 1048576)
              MERCATO_IDLE_TIMEOUT_SECONDS  close a connection with no request in progress, or whose
                                          request head is incomplete, after this long (default 20)
              MERCATO_BODY_TIMEOUT_SECONDS  a request body must arrive within this long (default 30)
              MERCATO_MAX_CONNECTIONS     connections beyond this get 503 and are closed (default 4096)
              MERCATO_CHECKOUT            standard | sequential (comparison flow)
              MERCATO_CHECKOUT_MAX_LINES  lines per checkout (default 25)
              MERCATO_CHECKOUT_MAX_QUANTITY  units of one variant per checkout (default 100)
              MERCATO_RESERVATION_TTL     seconds a checkout holds its stock (default 600)
              MERCATO_SALES_ROLLUP_SECONDS  how often orders roll into bestselling order (default 5; 0: off)
              INVENTORY_URL, TAX_URL      the services over HTTP (default: in-process)
              MERCATO_SERVICE_TIMEOUT_MS  timeout of one inventory/tax call (default 2000)
              MERCATO_SERVER_TIMING=off   drop the Server-Timing header
              LOG_LEVEL, LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT
            """)
    @OptionGroup var database: DatabaseOptions
    @Option(name: .long, help: "Address to listen on (env MERCATO_HOST).")
    var hostname: String = ProcessInfo.processInfo.environment["MERCATO_HOST"] ?? "127.0.0.1"
    @Option(name: .long, help: "Port to listen on (env MERCATO_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["MERCATO_PORT"] ?? "") ?? 8080
    @Option(name: .long, help: "Seed the demo catalog when the database has no merchants: auto (embedded only), always, never (env MERCATO_SEED_DEMO).")
    var seedDemo: String = ProcessInfo.processInfo.environment["MERCATO_SEED_DEMO"] ?? "auto"

    func run() async throws {
        let logger = makeLogger("mercato")
        let environment = ProcessInfo.processInfo.environment
        let production = environment["MERCATO_ENV"] == "production"
        let options = HTTPOptions(
            maxBodyBytes: Int(environment["MERCATO_MAX_BODY_BYTES"] ?? "") ?? (1 << 20),
            exposeStatementCount: !production, serverTiming: environment["MERCATO_SERVER_TIMING"]?.lowercased() != "off",
            serverTimingCacheTier: !production, metricsToken: environment["MERCATO_METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
            connectionLimits: try ConnectionLimits.from(environment), adminWriteLimit: try AdminWriteLimit.from(environment))
        let cacheOptions = try Self.cacheOptions(environment)
        let checkoutWiring = try Self.checkoutWiring(environment)
        let (hostname, port, seedDemo, database) = (hostname, port, seedDemo, database)
        guard ["auto", "always", "never"].contains(seedDemo) else { throw ValidationError("--seed-demo must be auto, always or never") }
        // Before anything creates HTTP clients: they pick up the global tracer when they are made.
        let tracing = try TracingSetup.bootstrap(serviceName: "mercato", logger: logger)
        try await database.withDatabase(logger: logger) { db in
            try await Schema.migrate(db, logger: logger)
            let writer = CatalogWriter(database: db)
            let shouldSeed = seedDemo == "always" || (seedDemo == "auto" && database.isEmbedded)
            var demoToken: String?
            if shouldSeed, try await writer.merchant(slug: "demo") == nil {
                logger.info("seeding the demo catalog (first run)")
                _ = try await Seeder(database: db, logger: logger).seed(.demo)
                if let demo = try await writer.merchant(slug: "demo") {
                    let token = try await writer.createAdminToken(merchantID: demo.id)
                    demoToken = token
                    if database.isEmbedded { try? token.write(toFile: database.demoTokenPath, atomically: true, encoding: .utf8) }
                }
            }
            let deps = try await AppDependencies.make(
                database: db, options: options, cacheOptions: cacheOptions, checkoutOptions: checkoutWiring, logger: logger)
            let printedToken = demoToken
            let app = buildApplication(deps, hostname: hostname, port: port, services: tracing.map { [$0] } ?? [], logger: logger) { boundPort in
                var banner = "Mercato is serving on http://\(hostname):\(boundPort)  (store: \(database.isEmbedded ? "SQLite \(database.sqlitePath)" : "PostgreSQL"))\n"
                banner += "  try: curl 'http://\(hostname):\(boundPort)/v1/stores/demo/products?limit=3'\n"
                // Printed once, when it is created: logs are often kept longer and wider than the data folder.
                if let printedToken {
                    banner += "  the demo admin token is shown only now\(database.isEmbedded ? " (it is kept in \(database.demoTokenPath))" : ""):\n"
                    banner += "  demo admin token: \(printedToken)\n"
                } else if database.isEmbedded, FileManager.default.fileExists(atPath: database.demoTokenPath) {
                    banner += "  the demo admin token is in \(database.demoTokenPath)\n"
                }
                // Written unbuffered so it shows up at once even when stdout is a file or pipe.
                FileHandle.standardOutput.write(Data(banner.utf8))
            }
            try await app.runService()
        }
    }

    /// Checkout settings from the environment: flow, reservation TTL, where inventory and tax live.
    static func checkoutWiring(_ environment: [String: String]) throws -> CheckoutWiring {
        var wiring = CheckoutWiring()
        switch environment["MERCATO_CHECKOUT"]?.lowercased() {
        case nil, "", "standard": wiring.options.mode = .standard
        case "sequential": wiring.options.mode = .sequential
        case let other?: throw ValidationError("MERCATO_CHECKOUT must be standard or sequential, not '\(other)'")
        }
        if let raw = environment["MERCATO_RESERVATION_TTL"], !raw.isEmpty {
            guard let seconds = Int(raw), seconds >= 1 else { throw ValidationError("MERCATO_RESERVATION_TTL must be a number of seconds ≥ 1, not '\(raw)'") }
            wiring.options.reservationTTL = .seconds(seconds)
        }
        if let raw = environment["MERCATO_CHECKOUT_MAX_LINES"], !raw.isEmpty {
            guard let lines = Int(raw), (1...500).contains(lines) else { throw ValidationError("MERCATO_CHECKOUT_MAX_LINES must be a number from 1 to 500, not '\(raw)'") }
            wiring.options.maxLines = lines
        }
        if let raw = environment["MERCATO_CHECKOUT_MAX_QUANTITY"], !raw.isEmpty {
            guard let units = Int64(raw), (1...1_000_000).contains(units) else {
                throw ValidationError("MERCATO_CHECKOUT_MAX_QUANTITY must be a number from 1 to 1000000, not '\(raw)'")
            }
            wiring.options.maxQuantity = units
        }
        if let raw = environment["MERCATO_SALES_ROLLUP_SECONDS"], !raw.isEmpty {
            guard let seconds = Int(raw), (0...3600).contains(seconds) else {
                throw ValidationError("MERCATO_SALES_ROLLUP_SECONDS must be a number of seconds from 0 (off) to 3600, not '\(raw)'")
            }
            wiring.salesRollupInterval = seconds == 0 ? nil : .seconds(seconds)
        }
        if let raw = environment["MERCATO_SERVICE_TIMEOUT_MS"], !raw.isEmpty {
            guard let millis = Int(raw), millis >= 1 else { throw ValidationError("MERCATO_SERVICE_TIMEOUT_MS must be a number of milliseconds ≥ 1, not '\(raw)'") }
            wiring.callPolicy.timeout = .milliseconds(millis)
        }
        if let url = environment["INVENTORY_URL"], !url.isEmpty { wiring.inventoryURL = url }
        if let url = environment["TAX_URL"], !url.isEmpty { wiring.taxURL = url }
        return wiring
    }

    /// Storefront cache settings from the environment.
    static func cacheOptions(_ environment: [String: String]) throws -> CacheOptions {
        var options = CacheOptions()
        switch environment["MERCATO_CACHE"]?.lowercased() {
        case nil, "", "on": options.enabled = true
        case "off": options.enabled = false
        case let other?: throw ValidationError("MERCATO_CACHE must be on or off, not '\(other)'")
        }
        func integer(_ name: String) throws -> Int? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            guard let value = Int(raw), value >= 0 else { throw ValidationError("\(name) must be a non-negative integer, not '\(raw)'") }
            return value
        }
        if let bytes = try integer("MERCATO_NEAR_CACHE_BYTES") { options.nearCapacityBytes = bytes }
        if let seconds = try integer("MERCATO_CACHE_TTL") { options.fresh = .seconds(seconds) }
        if let seconds = try integer("MERCATO_CACHE_STALE") { options.stale = .seconds(seconds) }
        if let milliseconds = try integer("MERCATO_REDIS_TIMEOUT_MS") { options.redisTimeout = .milliseconds(max(1, milliseconds)) }
        if let url = environment["REDIS_URL"], !url.isEmpty { options.redisURL = url }
        return options
    }
}

extension AdminWriteLimit {
    /// From `MERCATO_ADMIN_WRITE_RATE` (writes per second per merchant and instance; 0 turns the limit off)
    /// and `MERCATO_ADMIN_WRITE_BURST` (how many at once); an invalid value is an error.
    static func from(_ environment: [String: String]) throws -> AdminWriteLimit? {
        var limit = AdminWriteLimit.standard
        if let raw = environment["MERCATO_ADMIN_WRITE_RATE"], !raw.isEmpty {
            guard let rate = Double(raw), rate.isFinite, (0...1_000_000).contains(rate) else {
                throw ValidationError("MERCATO_ADMIN_WRITE_RATE must be a number of writes per second from 0 (no limit) to 1000000, not '\(raw)'")
            }
            if rate == 0 { return nil }
            limit.rate = rate
        }
        if let raw = environment["MERCATO_ADMIN_WRITE_BURST"], !raw.isEmpty {
            guard let burst = Int(raw), (1...1_000_000).contains(burst) else {
                throw ValidationError("MERCATO_ADMIN_WRITE_BURST must be a number of writes from 1 to 1000000, not '\(raw)'")
            }
            limit.burst = Double(burst)
        }
        return limit
    }
}

extension ConnectionLimits {
    /// From `MERCATO_IDLE_TIMEOUT_SECONDS`, `MERCATO_BODY_TIMEOUT_SECONDS` and `MERCATO_MAX_CONNECTIONS`
    /// (shared by the API server and the inventory and tax services); an invalid value is an error.
    static func from(_ environment: [String: String]) throws -> ConnectionLimits {
        var limits = ConnectionLimits()
        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            guard let value = Int(raw), range.contains(value) else {
                throw ValidationError("\(name) must be a number from \(range.lowerBound) to \(range.upperBound), not '\(raw)'")
            }
            return value
        }
        if let seconds = try integer("MERCATO_IDLE_TIMEOUT_SECONDS", 1...3600) { limits.idleTimeout = .seconds(seconds) }
        if let seconds = try integer("MERCATO_BODY_TIMEOUT_SECONDS", 1...3600) { limits.bodyTimeout = .seconds(seconds) }
        if let count = try integer("MERCATO_MAX_CONNECTIONS", 1...1_000_000) { limits.maxConnections = count }
        return limits
    }
}
