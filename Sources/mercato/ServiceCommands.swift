import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MercatoCache
import MercatoCatalog
import MercatoCheckout
import MercatoEdge
import MercatoHTTPBoundary
import MercatoInventory
import MercatoInventoryContract
import MercatoSettings
import MercatoStorage
import MercatoTax
import MercatoTaxContract
import Redis
import ServiceLifecycle
import MercatoCheckoutStore
import MercatoInventoryStore

/// Latency and failure injection flags shared by the two services.
struct FaultOptions: ParsableArguments {
    @Option(help: "Injected latency per request, uniform in a range: 150ms, 120ms..200ms, 0.2s (default: none).")
    var latency: String?
    @Option(help: "Share of requests (0…1) answered 503 on purpose (default 0).")
    var failRate: Double = 0

    func faults() throws -> FaultInjection {
        var faults = FaultInjection.off
        if let latency {
            guard let range = FaultInjection.parseLatency(latency) else { throw ValidationError("--latency must look like 150ms or 120ms..200ms, not '\(latency)'") }
            faults.latencyMillis = range
        }
        guard (0...1).contains(failRate) else { throw ValidationError("--fail-rate must be between 0 and 1") }
        faults.failRate = failRate
        return faults
    }
}

/// `mercato inventory-service`: stock and reservations over HTTP, with the expiry sweeper.
struct InventoryServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory-service", abstract: "Run the inventory service (stock, reservations, expiry) over HTTP.",
        discussion: "Reads the database, Redis, connection, log and trace settings that `mercato serve --help` lists.")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var faultOptions: FaultOptions
    @Option(name: .long, help: "Address to listen on.") var hostname = "127.0.0.1"
    @Option(name: .long, help: "Port to listen on.") var port = 8081
    @Option(name: .customLong("reservation-ttl"), help: help(MercatoSettings.reservationTTL)) var reservationTTLFlag: String?
    @Option(help: "Seconds between expiry sweeps.") var expiryInterval = Int(ReservationExpiry.standardInterval.components.seconds)

    func run() async throws {
        let (settings, database) = try await self.database.load(flags: Flags.collect([(MercatoSettings.reservationTTL.name, reservationTTLFlag)]))
        let limits = try ConnectionLimits(settings: settings)
        let logger = try Logs.logger("mercato.inventory", settings)
        let faults = try faultOptions.faults()
        let (hostname, port, ttl, interval) = (hostname, port, try settings.value(MercatoSettings.reservationTTL), expiryInterval)
        let redisURL = try settings.value(MercatoSettings.redisURL)
        let keyspace = RedisKeyspace(prefix: try settings.value(MercatoSettings.redisPrefix))
        let tracing = try TracingSetup.bootstrap(serviceName: "mercato-inventory", settings: settings, logger: logger)
        try await database.withDatabase(logger: logger) { db in
            try await Schema.migrate(db, logger: logger)
            let store = InventoryStore(database: db)
            // Stock changes must reach the storefront caches of every API instance: through Redis.
            let bus: any InvalidationBus
            if let redisURL {
                var configuration = try RedisConfiguration(url: redisURL)
                configuration.clientName = "mercato-inventory"
                let client = RedisClient(configuration: configuration, logger: logger)
                bus = SharedGenerations(client: client, availability: RedisAvailability(logger: logger), logger: logger, keyspace: keyspace)
            } else {
                logger.notice("REDIS_URL is not set: API instances learn of stock changes made here only from their own calls or their cache TTL")
                bus = InProcessInvalidationBus(generations: GenerationMap())
            }
            // Expired reservations put stock back: the edges hear of it from here, like of an API instance's writes.
            var services: [any Service] = tracing.map { [$0] } ?? []
            let edge = EdgePurgingInvalidationBus.wrapping(
                bus, options: try EdgePurgeOptions(settings: settings), softly: SurrogateKeys.purgedSoftly, logger: logger)
            if let purger = edge.purger { services.append(purger) }
            let publisher = StockChangePublisher(store: CheckoutStore(database: db), bus: edge.bus, logger: logger)
            let app = buildInventoryApplication(
                store: store, options: ServiceServerOptions(hostname: hostname, port: port, limits: limits, faults: faults),
                reservationTTL: ttl, expiryInterval: .seconds(max(1, interval)), onStockChange: publisher.handler,
                services: services, logger: logger,
                onServerRunning: { channel in
                    FileHandle.standardOutput.write(Data("inventory service on http://\(hostname):\(channel.localAddress?.port ?? port)\n".utf8))
                })
            try await app.runService()
        }
    }
}

/// `mercato tax-service`: tax quotes over HTTP.
struct TaxServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tax-service", abstract: "Run the tax service (VAT/GST quotes) over HTTP.",
        discussion: "Reads the connection, log and trace settings that `mercato serve --help` lists.")
    @OptionGroup var faultOptions: FaultOptions
    @Option(name: .long, help: "Address to listen on.") var hostname = "127.0.0.1"
    @Option(name: .long, help: "Port to listen on.") var port = 8082

    func run() async throws {
        let settings = try await SettingsReader.load()
        let limits = try ConnectionLimits(settings: settings)
        let logger = try Logs.logger("mercato.tax", settings)
        let tracing = try TracingSetup.bootstrap(serviceName: "mercato-tax", settings: settings, logger: logger)
        let (hostname, port) = (hostname, port)
        let app = buildTaxApplication(
            options: ServiceServerOptions(hostname: hostname, port: port, limits: limits, faults: try faultOptions.faults()),
            services: tracing.map { [$0] } ?? [], logger: logger,
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("tax service on http://\(hostname):\(channel.localAddress?.port ?? port)\n".utf8))
            })
        try await app.runService()
    }
}
