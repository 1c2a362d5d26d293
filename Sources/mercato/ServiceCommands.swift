import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MercatoCache
import MercatoCheckout
import MercatoHTTP
import MercatoHTTPEdge
import MercatoInventory
import MercatoStorage
import MercatoTax
import RedisClient

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
        commandName: "inventory-service", abstract: "Run the inventory service (stock, reservations, expiry) over HTTP.")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var faultOptions: FaultOptions
    @Option(name: .long, help: "Address to listen on.") var hostname = "127.0.0.1"
    @Option(name: .long, help: "Port to listen on.") var port = 8081
    @Option(help: "Default reservation lifetime in seconds (env MERCATO_RESERVATION_TTL).")
    var reservationTtl: Int = Int(ProcessInfo.processInfo.environment["MERCATO_RESERVATION_TTL"] ?? "") ?? 600
    @Option(help: "Seconds between expiry sweeps.") var expiryInterval: Int = 5

    func run() async throws {
        let limits = try ConnectionLimits.from(ProcessInfo.processInfo.environment)
        let logger = makeLogger("mercato.inventory")
        let faults = try faultOptions.faults()
        guard reservationTtl >= 1 else { throw ValidationError("--reservation-ttl must be at least 1 second") }
        let (hostname, port, ttl, interval) = (hostname, port, reservationTtl, expiryInterval)
        let redisURL = ProcessInfo.processInfo.environment["REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let tracing = try TracingSetup.bootstrap(serviceName: "mercato-inventory", logger: logger)
        try await database.withDatabase(logger: logger) { db in
            try await Schema.migrate(db, logger: logger)
            let store = InventoryStore(database: db)
            // Stock changes must reach the storefront caches of every API instance: through Redis.
            let bus: any InvalidationBus
            if let redisURL {
                var configuration = try RedisConfiguration(url: redisURL)
                configuration.clientName = "mercato-inventory"
                let client = RedisClient(configuration: configuration, logger: logger)
                bus = SharedGenerations(client: client, availability: RedisAvailability(logger: logger), logger: logger)
            } else {
                logger.notice("REDIS_URL is not set: API instances learn of stock changes made here only from their own calls or their cache TTL")
                bus = InProcessInvalidationBus(generations: GenerationMap())
            }
            let onStockChange = CheckoutWiring.publisher(store: CheckoutStore(database: db), bus: bus, logger: logger)
            let router = serviceRouter(faults: faults)
            InventoryRoutes(store: store, defaultTTL: .seconds(ttl), onStockChange: onStockChange).register(on: router)
            let expiry = ReservationExpiry(store: store, interval: .seconds(max(1, interval)), logger: logger, onStockChange: onStockChange)
            let app = Application(
                router: router, server: .http1WithProblems(limits: limits, gate: ConnectionGate(limit: limits.maxConnections)),
                configuration: .init(address: .hostname(hostname, port: port), serverName: "mercato-inventory", backlog: 1024),
                services: [expiry] + (tracing.map { [$0] } ?? []),
                onServerRunning: { channel in
                    FileHandle.standardOutput.write(Data("inventory service on http://\(hostname):\(channel.localAddress?.port ?? port)\n".utf8))
                },
                logger: logger)
            try await app.runService()
        }
    }
}

/// `mercato tax-service`: tax quotes over HTTP.
struct TaxServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tax-service", abstract: "Run the tax service (VAT/GST quotes) over HTTP.")
    @OptionGroup var faultOptions: FaultOptions
    @Option(name: .long, help: "Address to listen on.") var hostname = "127.0.0.1"
    @Option(name: .long, help: "Port to listen on.") var port = 8082

    func run() async throws {
        let limits = try ConnectionLimits.from(ProcessInfo.processInfo.environment)
        let logger = makeLogger("mercato.tax")
        let tracing = try TracingSetup.bootstrap(serviceName: "mercato-tax", logger: logger)
        let router = serviceRouter(faults: try faultOptions.faults())
        TaxRoutes().register(on: router)
        let (hostname, port) = (hostname, port)
        let app = Application(
            router: router, server: .http1WithProblems(limits: limits, gate: ConnectionGate(limit: limits.maxConnections)),
            configuration: .init(address: .hostname(hostname, port: port), serverName: "mercato-tax", backlog: 1024),
            services: tracing.map { [$0] } ?? [],
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("tax service on http://\(hostname):\(channel.localAddress?.port ?? port)\n".utf8))
            },
            logger: logger)
        try await app.runService()
    }
}
