import Foundation
import Logging
import MercatoCache
import MercatoCheckout
import MercatoCore
import MercatoSQL
import MercatoStorage
import MercatoTaxContract
import Synchronization
import Testing
import MercatoInventoryStore
import MercatoCatalogStore

// Stand-ins for the services the checkout and the admin call, so their rules can be tested without a
// network: each records what it was asked, and each can be told to fail.

/// Inventory kept in memory: levels per variant, reservations by key, every call recorded.
final class FakeInventory: InventoryClient {
    enum Call: Equatable {
        case availability([VariantID])
        case reserve(key: String, lines: [ReservationLine])
        case commit(String)
        case release(String)
    }

    struct State {
        var stock: [VariantID: (product: ProductID, units: Int64)] = [:]
        var held: [String: Reservation] = [:]
        var calls: [Call] = []
        var version: Int64 = 0
        /// The next `reserve` fails with this (once).
        var reserveFailure: (any Error)?
    }

    let state = Mutex(State())

    var calls: [Call] { state.withLock { $0.calls } }

    func stock(_ variant: VariantID, product: ProductID, units: Int64) {
        state.withLock { $0.stock[variant] = (product, units) }
    }

    func units(_ variant: VariantID) -> Int64? { state.withLock { $0.stock[variant]?.units } }

    func failNextReserve(with error: any Error) { state.withLock { $0.reserveFailure = error } }

    func availability(merchantID: MerchantID, variants: [VariantID]) async throws -> [VariantID: Int64] {
        state.withLock { state in
            state.calls.append(.availability(variants))
            return Dictionary(uniqueKeysWithValues: variants.map { ($0, state.stock[$0]?.units ?? 0) })
        }
    }

    func reserve(merchantID: MerchantID, key: String, lines: [ReservationLine], ttl: Duration) async throws -> (Reservation, StockChange) {
        try state.withLock { state in
            state.calls.append(.reserve(key: key, lines: lines))
            if let failure = state.reserveFailure {
                state.reserveFailure = nil
                throw failure
            }
            let short = lines.compactMap { line -> (variantID: VariantID, requested: Int64, available: Int64)? in
                let available = state.stock[line.variantID]?.units ?? 0
                return available < line.quantity ? (line.variantID, line.quantity, available) : nil
            }
            if !short.isEmpty { throw InventoryError.insufficientStock(short) }
            var levels: [StockLevel] = []
            var crossedZero = false
            for line in lines {
                let (product, units) = state.stock[line.variantID]!
                state.stock[line.variantID] = (product, units - line.quantity)
                state.version += 1
                crossedZero = crossedZero || units - line.quantity == 0
                levels.append(StockLevel(productID: product, variantID: line.variantID, stock: units - line.quantity, version: state.version))
            }
            let reservation = Reservation(key: key, merchantID: merchantID, status: .held, lines: lines, expiresAt: WallClock.nowMicros() + 600_000_000)
            state.held[key] = reservation
            var products: [ProductID] = []
            for level in levels where !products.contains(level.productID) { products.append(level.productID) }
            return (reservation, StockChange(products: products, inStockMayHaveChanged: crossedZero, levels: levels))
        }
    }

    func commit(merchantID: MerchantID, key: String) async throws -> Reservation {
        try state.withLock { state in
            state.calls.append(.commit(key))
            guard var reservation = state.held[key] else { throw InventoryError.unknownReservation(key) }
            reservation.status = .committed
            state.held[key] = reservation
            return reservation
        }
    }

    func release(merchantID: MerchantID, key: String) async throws -> (Reservation, StockChange) {
        try state.withLock { state in
            state.calls.append(.release(key))
            guard var reservation = state.held[key] else { throw InventoryError.unknownReservation(key) }
            reservation.status = .released
            state.held[key] = reservation
            return (reservation, .none)
        }
    }
}

/// A tax service that charges 10 % on every line (added on top) and records which countries it was asked for.
final class FakeTax: TaxClient {
    let countries = Mutex<[String]>([])

    func quote(country: String, lines: [TaxableLine]) async throws -> TaxQuote {
        countries.withLock { $0.append(country) }
        let market = try #require(Market.named(country))
        return TaxQuote(
            country: country, currency: market.currency, pricesIncludeTax: false,
            lines: lines.map { line in
                let net = line.unitPrice * line.quantity
                return TaxedLine(id: line.id, rateBasisPoints: 1000, net: net, tax: net / 10, gross: net + net / 10)
            })
    }
}

/// An invalidation bus that only records: what a write told the other instances is the test's subject.
final class RecordingBus: InvalidationBus {
    let events = Mutex<[InvalidationEvent]>([])
    let facts = Mutex<[PushedFact]>([])

    var namespaces: [String] { events.withLock { $0.map(\.namespace) } }

    func publish(_ event: InvalidationEvent) async throws { events.withLock { $0.append(event) } }
    func push(_ facts: [PushedFact]) async { self.facts.withLock { $0.append(contentsOf: facts) } }

    func clear() {
        events.withLock { $0.removeAll() }
        facts.withLock { $0.removeAll() }
    }
}

/// A seeded SQLite store (the embedded default) with one merchant, for services under test.
enum ServiceFixture {
    static let logger: Logger = {
        var logger = Logger(label: "mercato.service-tests")
        logger.logLevel = .warning
        return logger
    }()

    static func withMerchant<T: Sendable>(_ body: @Sendable (any DatabaseClient, Merchant) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mercato-service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try await SQLiteDatabaseClient.open(path: directory.appendingPathComponent("db.sqlite").path, readers: 1, logger: logger)
        do {
            try await Schema.migrate(database, logger: logger)
            let seeded = try await Seeder(database: database, logger: logger).seed(.init(merchants: 1, productsPerMerchant: 2, seed: 3))
            let result = try await body(database, seeded[0].merchant)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }
}
