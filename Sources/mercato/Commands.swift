import ArgumentParser
import Foundation
import Logging
import MercatoCore
import MercatoEdge
import MercatoHTTP
import MercatoCache
import MercatoHTTPBoundary
import MercatoSettings
import MercatoStorage
import MercatoCatalogStore

/// `mercato migrate`: applies pending schema migrations.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations (idempotent).")
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let (settings, database) = try await self.database.load()
        let logger = try Logs.logger("mercato.migrate", settings)
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
        let (settings, database) = try await self.database.load()
        let logger = try Logs.logger("mercato.seed", settings)
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
            let (settings, database) = try await self.database.load()
            let logger = try Logs.logger("mercato.token", settings)
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
            let (settings, database) = try await self.database.load()
            let logger = try Logs.logger("mercato.token", settings)
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
        discussion: MercatoSettings.helpText)
    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("hostname"), help: help(MercatoSettings.host)) var hostnameFlag: String?
    @Option(name: .customLong("port"), help: help(MercatoSettings.port)) var portFlag: String?
    @Option(name: .customLong("seed-demo"), help: help(MercatoSettings.seedDemo)) var seedDemoFlag: String?

    func run() async throws {
        let (settings, database) = try await self.database.load(flags: Flags.collect([
            (MercatoSettings.host.name, hostnameFlag), (MercatoSettings.port.name, portFlag), (MercatoSettings.seedDemo.name, seedDemoFlag),
        ]))
        let logger = try Logs.logger("mercato", settings)
        let options = try HTTPOptions(settings: settings)
        let cacheOptions = try CacheOptions(settings: settings)
        let checkoutWiring = try CheckoutWiring(settings: settings)
        let edgeOptions = try EdgePurgeOptions(settings: settings)
        let hostname = try settings.value(MercatoSettings.host)
        let port = try settings.value(MercatoSettings.port)
        let seedDemo = try settings.value(MercatoSettings.seedDemo)
        // Before anything creates HTTP clients: they pick up the global tracer when they are made.
        let tracing = try TracingSetup.bootstrap(serviceName: "mercato", settings: settings, logger: logger)
        // One registry for the process: the database and every component record into it, `/metrics` emits it.
        let metrics = ServerMetrics()
        try await database.withDatabase(logger: logger, metricsFactory: metrics.factory) { db in
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
                database: db, options: options, cacheOptions: cacheOptions, checkoutOptions: checkoutWiring, edgeOptions: edgeOptions, logger: logger,
                metrics: metrics)
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
}
