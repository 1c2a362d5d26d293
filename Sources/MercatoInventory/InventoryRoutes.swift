import Foundation
import HTTPTypes
import Hummingbird
import MercatoCore
import MercatoJSON
import MercatoHTTPBoundary
import MercatoInventoryContract
import MercatoStorage
import MercatoInventoryStore


/// The inventory service's HTTP API over `InventoryStore` (see `InventoryAPI` for the routes).
public struct InventoryRoutes: Sendable {
    let store: InventoryStore
    let defaultTTL: Duration
    let maxBodyBytes: Int
    let onStockChange: StockChangeHandler

    public init(store: InventoryStore, defaultTTL: Duration, maxBodyBytes: Int = 1 << 20, onStockChange: @escaping StockChangeHandler) {
        self.store = store
        self.defaultTTL = defaultTTL
        self.maxBodyBytes = maxBodyBytes
        self.onStockChange = onStockChange
    }

    /// Longest reservation a client may ask for.
    public static let maximumTTL: Duration = .seconds(24 * 3600)

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let group = router.group("/v1/inventory/merchants/:merchant")
        group.post("/availability") { request, context in
            let merchantID = try Self.merchant(context)
            let input = try await JSONBody.decode(InventoryAPI.AvailabilityRequest.self, from: request, limit: maxBodyBytes)
            guard input.variantIds.count <= 1000 else { throw MercatoError.validation(field: "variant_ids", message: "at most 1000 variants per call") }
            var ids: [VariantID] = []
            for (index, raw) in input.variantIds.enumerated() {
                guard let id = VariantID(raw) else { throw MercatoError.validation(field: "variant_ids[\(index)]", message: "'variant_ids[\(index)]' must be a UUID, got '\(raw)'") }
                ids.append(id)
            }
            let available = try await store.available(merchantID: merchantID, variants: ids)
            return try Self.json(InventoryAPI.AvailabilityResponse(available: Dictionary(uniqueKeysWithValues: available.map { ($0.key.description, $0.value) })))
        }
        group.post("/reservations") { request, context in
            let merchantID = try Self.merchant(context)
            let input = try await JSONBody.decode(InventoryAPI.ReserveRequest.self, from: request, limit: maxBodyBytes)
            let (key, lines, ttl) = try validate(input)
            let (reservation, change) = try await store.reserve(merchantID: merchantID, key: key, lines: lines, ttl: ttl)
            if !change.isEmpty { await onStockChange(merchantID, change) }
            return try Self.json(InventoryAPI.ReservationBody(reservation, change: change), status: .created)
        }
        group.get("/reservations/:key") { _, context in
            let merchantID = try Self.merchant(context)
            let key = try Self.key(context)
            guard let reservation = try await store.reservation(merchantID: merchantID, key: key) else { throw InventoryError.unknownReservation(key) }
            return try Self.json(InventoryAPI.ReservationBody(reservation))
        }
        group.post("/reservations/:key/commit") { _, context in
            let reservation = try await store.commit(merchantID: try Self.merchant(context), key: try Self.key(context))
            return try Self.json(InventoryAPI.ReservationBody(reservation))
        }
        group.post("/reservations/:key/release") { _, context in
            let merchantID = try Self.merchant(context)
            let (reservation, change) = try await store.release(merchantID: merchantID, key: try Self.key(context))
            if !change.isEmpty { await onStockChange(merchantID, change) }
            return try Self.json(InventoryAPI.ReservationBody(reservation, change: change))
        }
    }

    func validate(_ input: InventoryAPI.ReserveRequest) throws -> (String, [ReservationLine], Duration) {
        guard InventoryAPI.isValidKey(input.key) else {
            throw MercatoError.validation(field: "key", message: "'key' must be 1–200 printable ASCII characters without / % ? #")
        }
        guard (1...100).contains(input.lines.count) else { throw MercatoError.validation(field: "lines", message: "'lines' must hold 1–100 lines") }
        var lines: [ReservationLine] = []
        for (index, line) in input.lines.enumerated() {
            guard let id = VariantID(line.variantId) else {
                throw MercatoError.validation(field: "lines[\(index)].variant_id", message: "'lines[\(index)].variant_id' must be a UUID, got '\(line.variantId)'")
            }
            guard (1...10_000).contains(line.quantity) else {
                throw MercatoError.validation(field: "lines[\(index)].quantity", message: "quantity must be 1–10000")
            }
            lines.append(ReservationLine(variantID: id, quantity: line.quantity))
        }
        var ttl = defaultTTL
        if let seconds = input.ttlSeconds {
            guard seconds >= 1, seconds <= Int64(Self.maximumTTL.components.seconds) else {
                throw MercatoError.validation(field: "ttl_seconds", message: "'ttl_seconds' must be 1–86400")
            }
            ttl = .seconds(seconds)
        }
        return (input.key, lines, ttl)
    }

    static func merchant(_ context: some RequestContext) throws -> MerchantID {
        let raw = try context.parameters.require("merchant")
        guard let id = MerchantID(raw) else { throw MercatoError.badRequest("'\(raw)' is not a valid merchant UUID") }
        return id
    }

    static func key(_ context: some RequestContext) throws -> String {
        let raw = try context.parameters.require("key")
        guard InventoryAPI.isValidKey(raw) else { throw MercatoError.badRequest("'\(raw)' is not a valid reservation key") }
        return raw
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        JSONBytes.response(Array(try InventoryAPI.encoder.encode(value)), status: status, headers: [.cacheControl: "no-store"])
    }
}
