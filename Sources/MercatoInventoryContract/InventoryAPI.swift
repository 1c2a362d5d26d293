import Foundation
import MercatoCore
import MercatoJSON

/// The inventory service's wire format (JSON, snake_case), shared by its server and its HTTP client.
///
/// Routes, all under `/v1/inventory/merchants/{merchant_id}`:
/// - `POST /availability` `{"variant_ids": [...]}` → `{"available": {"<variant id>": units}}`
/// - `POST /reservations` `{"key", "lines": [{"variant_id", "quantity"}], "ttl_seconds"}` → 201 reservation
/// - `GET /reservations/{key}`, `POST /reservations/{key}/commit`, `POST /reservations/{key}/release` → reservation
/// Errors are problem+json; a short reservation is 409 `insufficient-stock` with a `shortages` member.
public enum InventoryAPI {
    /// Path prefix of one merchant's inventory.
    public static func merchantPath(_ merchantID: MerchantID) -> String { "/v1/inventory/merchants/\(merchantID)" }

    /// Problem type of a short reservation.
    public static let insufficientStockType = "insufficient-stock"
    /// Problem type of a commit or release of a reservation that is no longer held (`reservation_status` says why).
    public static let reservationNotHeldType = "reservation-not-held"
    /// Problem type of a reservation key sent again with different lines.
    public static let reservationKeyReusedType = "reservation-key-reused"
    /// Problem type of a reservation key the service never saw (a 404 of an unknown path or merchant is `not-found`).
    public static let unknownReservationType = "reservation-unknown"

    /// Body of `POST /availability`.
    public struct AvailabilityRequest: Codable, JSONRequestBody {
        public var variantIds: [String]
        public init(variantIds: [String]) { self.variantIds = variantIds }
        /// The accepted members, for the service's strict decoding.
        public static let schema = KeySchema.object(["variant_ids": .value])
    }

    /// Answer of `POST /availability`: variants the merchant does not have are absent.
    public struct AvailabilityResponse: Codable, Sendable {
        public var available: [String: Int64]
        public init(available: [String: Int64]) { self.available = available }
    }

    /// One line of a reservation on the wire.
    public struct Line: Codable, Sendable {
        public var variantId: String
        public var quantity: Int64
        public init(variantId: String, quantity: Int64) {
            self.variantId = variantId
            self.quantity = quantity
        }
    }

    /// Body of `POST /reservations`.
    public struct ReserveRequest: Codable, JSONRequestBody {
        public var key: String
        public var lines: [Line]
        public var ttlSeconds: Int64?
        public init(key: String, lines: [Line], ttlSeconds: Int64?) {
            self.key = key
            self.lines = lines
            self.ttlSeconds = ttlSeconds
        }
        /// The accepted members, for the service's strict decoding.
        public static let schema = KeySchema.object([
            "key": .value, "lines": .array(.object(["variant_id": .value, "quantity": .integer])), "ttl_seconds": .integer,
        ])
    }

    /// A reservation on the wire.
    public struct ReservationBody: Codable, Sendable {
        public var key: String
        public var status: String
        public var lines: [Line]
        /// Microseconds since 1970.
        public var expiresAt: Int64
        /// Products whose stock this call changed, and whether an `in_stock` flag may have flipped
        /// (so the caller can invalidate exactly what shows that stock).
        public var changedProducts: [String]?
        public var inStockMayHaveChanged: Bool?
        /// The new stock levels, with their versions (pushed to the API instances' caches).
        public var levels: [Level]?

        public init(_ reservation: Reservation, change: StockChange? = nil) {
            key = reservation.key
            status = reservation.status.rawValue
            lines = reservation.lines.map { Line(variantId: $0.variantID.description, quantity: $0.quantity) }
            expiresAt = reservation.expiresAt
            changedProducts = change?.products.map(\.description)
            inStockMayHaveChanged = change?.inStockMayHaveChanged
            levels = change?.levels.map { Level(productId: $0.productID.description, variantId: $0.variantID.description, stock: $0.stock, version: $0.version) }
        }

        /// The stock change the service reported (none when absent).
        public var change: StockChange {
            StockChange(
                products: (changedProducts ?? []).compactMap(ProductID.init), inStockMayHaveChanged: inStockMayHaveChanged ?? false,
                levels: (levels ?? []).compactMap { level in
                    guard let product = ProductID(level.productId), let variant = VariantID(level.variantId) else { return nil }
                    return StockLevel(productID: product, variantID: variant, stock: level.stock, version: level.version)
                })
        }

        /// One variant's stock level after the call.
        public struct Level: Codable, Sendable {
            public var productId: String
            public var variantId: String
            public var stock: Int64
            public var version: Int64
        }

        /// Back to the domain value; nil when a field is not what the service sends.
        public func reservation(merchantID: MerchantID) -> Reservation? {
            guard let status = ReservationStatus(rawValue: status) else { return nil }
            var parsed: [ReservationLine] = []
            for line in lines {
                guard let id = VariantID(line.variantId) else { return nil }
                parsed.append(ReservationLine(variantID: id, quantity: line.quantity))
            }
            return Reservation(key: key, merchantID: merchantID, status: status, lines: parsed, expiresAt: expiresAt)
        }
    }

    /// One short line in an `insufficient-stock` problem.
    public struct Shortage: Codable, Sendable {
        public var variantId: String
        public var requested: Int64
        public var available: Int64

        public init(variantId: String, requested: Int64, available: Int64) {
            self.variantId = variantId
            self.requested = requested
            self.available = available
        }
    }

    /// Both sides use the shared wire coders.
    public static var encoder: JSONEncoder { WireJSON.encoder }

    public static var decoder: JSONDecoder { WireJSON.decoder }

    /// Reservation keys: 1–200 printable ASCII characters without `/` (they appear in paths).
    public static func isValidKey(_ key: String) -> Bool {
        (1...200).contains(key.utf8.count) && key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
    }
}

/// Called after stock changed for some products (reservation, release, expiry), so the caller can
/// invalidate the caches that show that stock.
public typealias StockChangeHandler = @Sendable (MerchantID, StockChange) async -> Void
