import Foundation
import MercatoCore
import MercatoSQL
import MercatoStorage

/// Authoritative stock: all-or-nothing reservations with client keys, commit, release, expiry.
///
/// Stock never goes negative: each line is one conditional `UPDATE … SET stock = stock - q WHERE
/// stock >= q`, so concurrent buyers of the last units serialise on the row and exactly as many
/// succeed as there are units; a short line rolls the whole reservation back. Every change also
/// refreshes the product's listing projection (in stock or not) in the same transaction.
public struct InventoryStore: Sendable {
    let database: any DatabaseClient

    public init(database: any DatabaseClient) { self.database = database }

    /// Reserves every line or none. Repeating a key with the same lines returns the existing
    /// reservation (a retried request reserves once); with other lines it is `keyReused`.
    public func reserve(merchantID: MerchantID, key: String, lines: [ReservationLine], ttl: Duration) async throws -> (Reservation, StockChange) {
        let merged = Self.merge(lines)
        let digest = merged.map { "\($0.variantID):\($0.quantity)" }.joined(separator: ",")
        do {
            // A new key is the usual case: no lookup first; the key's primary key catches a repeat.
            return try await reserveOnce(merchantID: merchantID, key: key, merged: merged, digest: digest, ttl: ttl, lookUpFirst: false)
        } catch StorageError.uniqueViolation {
            // The key exists (a retried request, or a concurrent one that committed first; ours rolled
            // back, stock included): run again to return that reservation, or report the key reuse.
            return try await reserveOnce(merchantID: merchantID, key: key, merged: merged, digest: digest, ttl: ttl, lookUpFirst: true)
        } catch InventoryError.insufficientStock {
            // Short, or a retry of a reservation that already holds the last units: only a lookup tells.
            return try await reserveOnce(merchantID: merchantID, key: key, merged: merged, digest: digest, ttl: ttl, lookUpFirst: true)
        }
    }

    private func reserveOnce(
        merchantID: MerchantID, key: String, merged: [ReservationLine], digest: String, ttl: Duration, lookUpFirst: Bool
    ) async throws -> (Reservation, StockChange) {
        try await database.transaction { tx in
            if lookUpFirst, let existing = try await Self.load(key: key, merchantID: merchantID, on: tx) {
                guard try await Self.digest(key: key, merchantID: merchantID, on: tx) == digest else { throw InventoryError.keyReused(key) }
                return (existing, .none)
            }
            var shortages: [(variantID: VariantID, requested: Int64, available: Int64)] = []
            var products: Set<ProductID> = []
            var levels: [StockLevel] = []
            var crossedZero = false
            for line in merged {
                let updated = try await tx.query(
                    """
                    UPDATE variants SET stock = stock - $3, stock_version = stock_version + 1
                    WHERE merchant_id = $1 AND id = $2 AND stock >= $3 RETURNING product_id, stock, stock_version
                    """,
                    merchantID.sql, line.variantID.sql, .int(line.quantity))
                if let row = updated.first {
                    let level = StockLevel(productID: try row.id(0), variantID: line.variantID, stock: try row.int(1), version: try row.int(2))
                    products.insert(level.productID)
                    levels.append(level)
                    if level.stock == 0 { crossedZero = true }
                    continue
                }
                let available = try await tx.query(
                    "SELECT stock FROM variants WHERE merchant_id = $1 AND id = $2", merchantID.sql, line.variantID.sql
                ).first.map { try $0.int(0) }
                guard let available else { throw MercatoError.notFound("variant \(line.variantID) not found") }
                shortages.append((line.variantID, line.quantity, available))
            }
            // Throwing rolls back every decrement made above.
            if !shortages.isEmpty { throw InventoryError.insufficientStock(shortages) }
            let now = WallClock.nowMicros()
            let expiresAt = now + Int64(ttl.components.seconds) * 1_000_000 + Int64(ttl.components.attoseconds / 1_000_000_000_000)
            try await tx.execute(
                "INSERT INTO reservations (id, merchant_id, status, lines_digest, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                .text(key), merchantID.sql, .text(ReservationStatus.held.rawValue), .text(digest), .int(expiresAt), .int(now))
            try await BatchInsert.insert(
                into: "reservation_lines", columns: ["merchant_id", "reservation_id", "variant_id", "quantity"],
                rows: merged.map { [merchantID.sql, .text(key), $0.variantID.sql, .int($0.quantity)] }, on: tx)
            let ids = products.sorted()
            // Only `in_stock` in the projections depends on stock: nothing to rewrite unless a level crossed zero.
            if crossedZero { try await ListingProjector.refreshInStock(ids, on: tx) }
            return (
                Reservation(key: key, merchantID: merchantID, status: .held, lines: merged, expiresAt: expiresAt),
                StockChange(products: ids, inStockMayHaveChanged: crossedZero, levels: levels))
        }
    }

    /// Marks a held reservation as sold. Committing twice is a no-op. A reservation past its expiry
    /// is refused as released even before the sweeper has given its units back: its deadline was
    /// advertised to the buyer, and the units may already be promised to someone else.
    public func commit(merchantID: MerchantID, key: String, now: Int64 = WallClock.nowMicros()) async throws -> Reservation {
        // The usual case in one conditional statement (atomic against a concurrent release or expiry);
        // the reason for a refusal is looked up only when it is refused.
        if let row = try await database.query(
            """
            UPDATE reservations SET status = 'committed', updated_at = $3
            WHERE merchant_id = $1 AND id = $2 AND status = 'held' AND expires_at > $3 RETURNING expires_at
            """,
            merchantID.sql, .text(key), .int(now)
        ).first {
            let lines = try await database.query(
                "SELECT variant_id, quantity FROM reservation_lines WHERE merchant_id = $1 AND reservation_id = $2 ORDER BY variant_id",
                merchantID.sql, .text(key)
            ).map { ReservationLine(variantID: try $0.id(0), quantity: try $0.int(1)) }
            return Reservation(key: key, merchantID: merchantID, status: .committed, lines: lines, expiresAt: try row.int(0))
        }
        return try await database.transaction { tx in
            guard let reservation = try await Self.load(key: key, merchantID: merchantID, on: tx) else { throw InventoryError.unknownReservation(key) }
            switch reservation.status {
            case .committed: return reservation
            case .released: throw InventoryError.notHeld(key, .released)
            case .held where reservation.expiresAt <= now: throw InventoryError.notHeld(key, .released)
            case .held:
                try await Self.setStatus(.committed, key: key, merchantID: merchantID, on: tx)
                var committed = reservation
                committed.status = .committed
                return committed
            }
        }
    }

    /// Gives a held reservation's units back. Releasing twice is a no-op; a committed one cannot be released.
    public func release(merchantID: MerchantID, key: String) async throws -> (Reservation, StockChange) {
        try await database.transaction { tx in
            guard let reservation = try await Self.load(key: key, merchantID: merchantID, on: tx) else { throw InventoryError.unknownReservation(key) }
            switch reservation.status {
            case .released: return (reservation, .none)
            case .committed: throw InventoryError.notHeld(key, .committed)
            case .held:
                let products = try await Self.restock(reservation, on: tx)
                var released = reservation
                released.status = .released
                return (released, products)
            }
        }
    }

    /// Releases every held reservation whose time ran out (only `merchantID`'s when given: one shop's sweep, as
    /// tests on a shared database run it); returns what it released.
    public func releaseExpired(
        now: Int64 = WallClock.nowMicros(), limit: Int = 100, merchantID only: MerchantID? = nil
    ) async throws -> [(Reservation, StockChange)] {
        var sql = "SELECT id, merchant_id FROM reservations WHERE status = 'held' AND expires_at <= $1"
        var binds: [SQLValue] = [.int(now), .int(Int64(limit))]
        if let only {
            sql += " AND merchant_id = $3"
            binds.append(only.sql)
        }
        let keys = try await database.query(SQL(sql + " ORDER BY expires_at LIMIT $2", binds))
            .map { (try $0.text(0), try $0.id(1, as: MerchantID.self)) }
        var released: [(Reservation, StockChange)] = []
        for (key, merchantID) in keys {
            let result = try await database.transaction { tx -> (Reservation, StockChange)? in
                // Re-checked under the transaction: a commit may have won meanwhile.
                guard let reservation = try await Self.load(key: key, merchantID: merchantID, on: tx),
                      reservation.status == .held, reservation.expiresAt <= now
                else { return nil }
                let products = try await Self.restock(reservation, on: tx)
                var done = reservation
                done.status = .released
                return (done, products)
            }
            if let result { released.append(result) }
        }
        return released
    }

    /// A reservation as stored, or nil.
    public func reservation(merchantID: MerchantID, key: String) async throws -> Reservation? {
        try await database.transaction { tx in try await Self.load(key: key, merchantID: merchantID, on: tx) }
    }

    /// Units still available per variant (a fresh read; caches sit above this).
    public func available(merchantID: MerchantID, variants: [VariantID]) async throws -> [VariantID: Int64] {
        guard !variants.isEmpty else { return [:] }
        let unique = Array(Set(variants))
        var result: [VariantID: Int64] = [:]
        for row in try await database.query(SQL(
            "SELECT id, stock FROM variants WHERE merchant_id = $1 AND id IN (\(BatchInsert.placeholders(count: unique.count, startingAt: 2)))",
            [merchantID.sql] + unique.map(\.sql)))
        {
            result[try row.id(0)] = try row.int(1)
        }
        return result
    }

    // MARK: helpers

    static func merge(_ lines: [ReservationLine]) -> [ReservationLine] {
        var totals: [VariantID: Int64] = [:]
        for line in lines { totals[line.variantID, default: 0] += line.quantity }
        // A stable order also fixes the lock order, so two reservations never deadlock on PostgreSQL.
        return totals.map { ReservationLine(variantID: $0.key, quantity: $0.value) }.sorted { $0.variantID < $1.variantID }
    }

    static func restock(_ reservation: Reservation, on tx: any SQLExecutor) async throws -> StockChange {
        var products: Set<ProductID> = []
        var levels: [StockLevel] = []
        var crossedZero = false
        for line in reservation.lines {
            for row in try await tx.query(
                """
                UPDATE variants SET stock = stock + $3, stock_version = stock_version + 1
                WHERE merchant_id = $1 AND id = $2 RETURNING product_id, stock, stock_version
                """,
                reservation.merchantID.sql, line.variantID.sql, .int(line.quantity))
            {
                let level = StockLevel(productID: try row.id(0), variantID: line.variantID, stock: try row.int(1), version: try row.int(2))
                products.insert(level.productID)
                levels.append(level)
                // It was 0 before these units came back.
                if level.stock == line.quantity { crossedZero = true }
            }
        }
        try await setStatus(.released, key: reservation.key, merchantID: reservation.merchantID, on: tx)
        let ids = products.sorted()
        if crossedZero { try await ListingProjector.refreshInStock(ids, on: tx) }
        return StockChange(products: ids, inStockMayHaveChanged: crossedZero, levels: levels)
    }

    static func setStatus(_ status: ReservationStatus, key: String, merchantID: MerchantID, on tx: any SQLExecutor) async throws {
        try await tx.execute(
            "UPDATE reservations SET status = $3, updated_at = $4 WHERE merchant_id = $1 AND id = $2",
            merchantID.sql, .text(key), .text(status.rawValue), .int(WallClock.nowMicros()))
    }

    static func digest(key: String, merchantID: MerchantID, on tx: any SQLExecutor) async throws -> String? {
        try await tx.query("SELECT lines_digest FROM reservations WHERE merchant_id = $1 AND id = $2", merchantID.sql, .text(key)).first.map { try $0.text(0) }
    }

    static func load(key: String, merchantID: MerchantID, on tx: any SQLExecutor) async throws -> Reservation? {
        // FOR UPDATE on PostgreSQL: a concurrent commit/release/expiry of the same reservation waits here.
        let lock = tx.dialect == .postgres ? " FOR UPDATE" : ""
        guard let row = try await tx.query(
            "SELECT status, expires_at FROM reservations WHERE merchant_id = $1 AND id = $2\(lock)", merchantID.sql, .text(key)
        ).first else { return nil }
        let lines = try await tx.query(
            "SELECT variant_id, quantity FROM reservation_lines WHERE merchant_id = $1 AND reservation_id = $2 ORDER BY variant_id",
            merchantID.sql, .text(key)
        ).map { ReservationLine(variantID: try $0.id(0), quantity: try $0.int(1)) }
        return Reservation(
            key: key, merchantID: merchantID, status: ReservationStatus(rawValue: try row.text(0)) ?? .released,
            lines: lines, expiresAt: try row.int(1))
    }
}
