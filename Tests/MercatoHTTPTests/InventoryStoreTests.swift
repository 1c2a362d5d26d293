import Foundation
import MercatoCore
import MercatoStorage
import MercatoSQL
import Synchronization
import Testing
import MercatoInventoryStore
import MercatoCatalogStore

/// Seeds one small merchant and returns it with one of its variants set to `stock` units.
func inventoryFixture(_ database: any DatabaseClient, stock: Int64) async throws -> (Merchant, VariantID, ProductID) {
    let seeded = try await Seeder(database: database, logger: Harness.logger)
        .seed(.init(merchants: 1, productsPerMerchant: 6, seed: 3, slugPrefix: "inv\(UInt32.random(in: 0 ... .max))"))
    let merchant = seeded[0].merchant
    // A variant of an active product: only those have listing rows to check.
    let row = try #require(try await database.query(
        """
        SELECT v.id, v.product_id FROM variants v JOIN products p ON p.id = v.product_id
        WHERE v.merchant_id = $1 AND p.status = 'active' ORDER BY v.id LIMIT 1
        """, merchant.id.sql).first)
    let variant: VariantID = try row.id(0)
    _ = try await CatalogWriter(database: database).setStock(merchantID: merchant.id, variantID: variant, quantity: stock)
    return (merchant, variant, try row.id(1))
}

@Suite("Inventory reservations")
struct InventoryStoreTests {
    @Test(arguments: Backend.available)
    func concurrentBuyersOfTheLastUnitsNeverOversell(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, variant, product) = try await inventoryFixture(database, stock: 10)
            let inventory = InventoryStore(database: database)
            let outcomes = Outcomes()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for buyer in 0..<200 {
                    group.addTask {
                        do {
                            _ = try await inventory.reserve(
                                merchantID: merchant.id, key: "buyer-\(buyer)", lines: [ReservationLine(variantID: variant, quantity: 1)], ttl: .seconds(600))
                            outcomes.state.withLock { $0.won += 1 }
                        } catch InventoryError.insufficientStock {
                            outcomes.state.withLock { $0.short += 1 }
                        } catch {
                            outcomes.state.withLock { $0.other.append("\(error)") }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let result = outcomes.state.withLock { $0 }
            #expect(result.other.isEmpty, "\(result.other.prefix(3))")
            #expect(result.won == 10 && result.short == 190)
            #expect(try await inventory.available(merchantID: merchant.id, variants: [variant])[variant] == 0)
            let held = try await database.query("SELECT count(*) FROM reservations WHERE merchant_id = $1 AND status = 'held'", merchant.id.sql)
            #expect(try held.first?.int(0) == 10)
            // The listing projection followed: the product is sold out unless another variant has stock.
            let others = try await database.query(
                "SELECT count(*) FROM variants WHERE product_id = $1 AND stock > 0", product.sql).first?.int(0) ?? 0
            let inStock = try await database.query(
                "SELECT in_stock FROM listing_entries WHERE product_id = $1 AND scope_id = $2", product.sql, merchant.id.sql).first?.bool(0)
            #expect(inStock == (others > 0))
        }
    }

    @Test(arguments: Backend.available)
    func aShortLineReservesNothing(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, variant, _) = try await inventoryFixture(database, stock: 5)
            let other = try #require(try await database.query(
                "SELECT id FROM variants WHERE merchant_id = $1 AND id <> $2 ORDER BY id LIMIT 1", merchant.id.sql, variant.sql).first).id(0, as: VariantID.self)
            _ = try await CatalogWriter(database: database).setStock(merchantID: merchant.id, variantID: other, quantity: 2)
            let inventory = InventoryStore(database: database)
            await #expect(throws: InventoryError.insufficientStock([(other, 3, 2)])) {
                _ = try await inventory.reserve(
                    merchantID: merchant.id, key: "k", lines: [ReservationLine(variantID: variant, quantity: 4), ReservationLine(variantID: other, quantity: 3)],
                    ttl: .seconds(60))
            }
            let stock = try await inventory.available(merchantID: merchant.id, variants: [variant, other])
            #expect(stock == [variant: 5, other: 2])
            // The key was not consumed by the failed attempt.
            let (reservation, _) = try await inventory.reserve(
                merchantID: merchant.id, key: "k", lines: [ReservationLine(variantID: variant, quantity: 4)], ttl: .seconds(60))
            #expect(reservation.status == .held)
        }
    }

    @Test(arguments: Backend.available)
    func aRetriedReservationReservesOnce(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, variant, _) = try await inventoryFixture(database, stock: 5)
            let inventory = InventoryStore(database: database)
            let lines = [ReservationLine(variantID: variant, quantity: 1), ReservationLine(variantID: variant, quantity: 1)]
            let (first, _) = try await inventory.reserve(merchantID: merchant.id, key: "retry", lines: lines, ttl: .seconds(60))
            let (second, _) = try await inventory.reserve(merchantID: merchant.id, key: "retry", lines: lines, ttl: .seconds(60))
            #expect(first == second && first.lines == [ReservationLine(variantID: variant, quantity: 2)])
            #expect(try await inventory.available(merchantID: merchant.id, variants: [variant])[variant] == 3)
            await #expect(throws: InventoryError.keyReused("retry")) {
                _ = try await inventory.reserve(merchantID: merchant.id, key: "retry", lines: [ReservationLine(variantID: variant, quantity: 1)], ttl: .seconds(60))
            }
            // Another merchant cannot see or use the reservation or the variant.
            let stranger = MerchantID.random()
            await #expect(throws: InventoryError.unknownReservation("retry")) { _ = try await inventory.commit(merchantID: stranger, key: "retry") }
            await #expect(throws: MercatoError.self) {
                _ = try await inventory.reserve(merchantID: stranger, key: "x", lines: [ReservationLine(variantID: variant, quantity: 1)], ttl: .seconds(60))
            }
        }
    }

    @Test(arguments: Backend.available)
    func expiredReservationsGiveTheirUnitsBack(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, variant, _) = try await inventoryFixture(database, stock: 3)
            let (otherMerchant, otherVariant, _) = try await inventoryFixture(database, stock: 3)
            let inventory = InventoryStore(database: database)
            // Another shop's expired reservation: a sweep scoped to the first shop leaves it held.
            _ = try await inventory.reserve(merchantID: otherMerchant.id, key: "other", lines: [ReservationLine(variantID: otherVariant, quantity: 1)], ttl: .seconds(600))
            try await database.execute("UPDATE reservations SET expires_at = 0 WHERE merchant_id = $1", otherMerchant.id.sql)
            let line = [ReservationLine(variantID: variant, quantity: 2)]
            _ = try await inventory.reserve(merchantID: merchant.id, key: "expires", lines: line, ttl: .seconds(600))
            _ = try await inventory.reserve(merchantID: merchant.id, key: "kept", lines: [ReservationLine(variantID: variant, quantity: 1)], ttl: .seconds(600))
            #expect(try await inventory.available(merchantID: merchant.id, variants: [variant])[variant] == 0)
            // Its lifetime passes: moved into the past rather than waited for, since a loaded machine can take longer
            // than a short TTL between the reservation and the check above (and other tests' sweepers run meanwhile).
            try await database.execute("UPDATE reservations SET expires_at = 0 WHERE merchant_id = $1 AND id = 'expires'", merchant.id.sql)
            let released = try await inventory.releaseExpired(merchantID: merchant.id)
            #expect(released.map(\.0.key) == ["expires"])
            #expect(try await inventory.reservation(merchantID: otherMerchant.id, key: "other")?.status == .held)
            #expect(try await inventory.releaseExpired(merchantID: otherMerchant.id).map(\.0.key) == ["other"])
            #expect(try await inventory.reservation(merchantID: merchant.id, key: "expires")?.status == .released)
            #expect(try await inventory.reservation(merchantID: merchant.id, key: "kept")?.status == .held)
            #expect(try await inventory.available(merchantID: merchant.id, variants: [variant])[variant] == 2)
            await #expect(throws: InventoryError.notHeld("expires", .released)) { _ = try await inventory.commit(merchantID: merchant.id, key: "expires") }
            // Commit is idempotent and a committed reservation is never released.
            #expect(try await inventory.commit(merchantID: merchant.id, key: "kept").status == .committed)
            #expect(try await inventory.commit(merchantID: merchant.id, key: "kept").status == .committed)
            await #expect(throws: InventoryError.notHeld("kept", .committed)) { _ = try await inventory.release(merchantID: merchant.id, key: "kept") }
            #expect(try await inventory.available(merchantID: merchant.id, variants: [variant])[variant] == 2)
        }
    }
}

/// What concurrent buyers got.
final class Outcomes: Sendable {
    let state = Mutex<(won: Int, short: Int, other: [String])>((0, 0, []))
}

@Suite("Concurrent catalog writes")
struct ConcurrentWriteTests {
    /// Writes to different variants of one product re-project the same listing rows; they must all succeed.
    @Test(arguments: Backend.available)
    func concurrentWritesToOneProductAllSucceed(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, _, product) = try await inventoryFixture(database, stock: 50)
            let variants: [VariantID] = try await database.query(
                "SELECT id FROM variants WHERE product_id = $1 ORDER BY id", product.sql).map { try $0.id(0) }
            let writer = CatalogWriter(database: database)
            for variant in variants { _ = try await writer.setStock(merchantID: merchant.id, variantID: variant, quantity: 50) }
            let inventory = InventoryStore(database: database)
            let currency = try #require(merchant.markets.first?.currency)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<30 {
                    let variant = variants[round % variants.count]
                    group.addTask {
                        if round.isMultiple(of: 3) {
                            _ = try await inventory.reserve(
                                merchantID: merchant.id, key: "w\(round)", lines: [ReservationLine(variantID: variant, quantity: 1)], ttl: .seconds(60))
                        } else {
                            _ = try await writer.setPrice(merchantID: merchant.id, variantID: variant, price: Money(currency: currency, amount: Int64(1000 + round)))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let rows = try await database.query(
                "SELECT count(*) FROM listing_entries WHERE product_id = $1 AND scope_id = $2", product.sql, merchant.id.sql)
            #expect(try rows.first?.int(0) == 1)
        }
    }
}

@Suite("Reservation keys under concurrency")
struct ReservationKeyConcurrencyTests {
    /// Twenty concurrent retries of one reservation take the units once.
    @Test(arguments: Backend.available)
    func concurrentRetriesOfOneKeyReserveOnce(backend: Backend) async throws {
        try await Harness.withDatabase(backend) { database in
            let (merchant, variant, _) = try await inventoryFixture(database, stock: 10)
            let inventory = InventoryStore(database: database)
            try await withThrowingTaskGroup(of: Reservation.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await inventory.reserve(merchantID: merchant.id, key: "same", lines: [ReservationLine(variantID: variant, quantity: 3)], ttl: .seconds(60)).0
                    }
                }
                var seen: [Reservation] = []
                for try await reservation in group { seen.append(reservation) }
                #expect(seen.count == 20 && Set(seen.map(\.key)) == ["same"])
            }
            #expect(try await inventory.available(merchantID: merchant.id, variants: [variant])[variant] == 7)
        }
    }
}
