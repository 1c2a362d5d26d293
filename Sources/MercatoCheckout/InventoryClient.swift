import Foundation
import MercatoCore
import MercatoInventoryContract
import MercatoStorage
import MercatoInventoryStore

/// The inventory service as checkout sees it: in-process for the embedded setup, HTTP otherwise.
///
/// Failures are `InventoryError` (short stock, reservation state), `MercatoError.notFound` (unknown
/// variant) or `DependencyError` (the service is down or refused the call).
public protocol InventoryClient: Sendable {
    func availability(merchantID: MerchantID, variants: [VariantID]) async throws -> [VariantID: Int64]
    /// The reservation and the stock movement it made (empty when the key was already reserved).
    func reserve(merchantID: MerchantID, key: String, lines: [ReservationLine], ttl: Duration) async throws -> (Reservation, StockChange)
    func commit(merchantID: MerchantID, key: String) async throws -> Reservation
    func release(merchantID: MerchantID, key: String) async throws -> (Reservation, StockChange)
}

/// Inventory in this process: calls `InventoryStore` directly.
public struct LocalInventoryClient: InventoryClient {
    let store: InventoryStore

    public init(store: InventoryStore) { self.store = store }

    public func availability(merchantID: MerchantID, variants: [VariantID]) async throws -> [VariantID: Int64] {
        try await store.available(merchantID: merchantID, variants: variants)
    }

    public func reserve(merchantID: MerchantID, key: String, lines: [ReservationLine], ttl: Duration) async throws -> (Reservation, StockChange) {
        try await store.reserve(merchantID: merchantID, key: key, lines: lines, ttl: ttl)
    }

    public func commit(merchantID: MerchantID, key: String) async throws -> Reservation {
        try await store.commit(merchantID: merchantID, key: key)
    }

    public func release(merchantID: MerchantID, key: String) async throws -> (Reservation, StockChange) {
        try await store.release(merchantID: merchantID, key: key)
    }
}

/// Inventory over HTTP (`INVENTORY_URL`), speaking `InventoryAPI`. Every call is idempotent (the
/// reservation key makes a repeated reserve a no-op), so each may be retried once.
public struct HTTPInventoryClient: InventoryClient {
    let http: ServiceHTTPClient

    public init(http: ServiceHTTPClient) { self.http = http }

    public func availability(merchantID: MerchantID, variants: [VariantID]) async throws -> [VariantID: Int64] {
        let body = try InventoryAPI.encoder.encode(InventoryAPI.AvailabilityRequest(variantIds: variants.map(\.description)))
        let response = try await http.send(.POST, InventoryAPI.merchantPath(merchantID) + "/availability", body: body)
        try expectSuccess(response, key: nil)
        let decoded = try decode(InventoryAPI.AvailabilityResponse.self, response)
        var result: [VariantID: Int64] = [:]
        for (raw, units) in decoded.available {
            guard let id = VariantID(raw) else { throw DependencyError.rejected(service: "inventory", status: response.status, detail: "bad variant id '\(raw)'") }
            result[id] = units
        }
        return result
    }

    public func reserve(merchantID: MerchantID, key: String, lines: [ReservationLine], ttl: Duration) async throws -> (Reservation, StockChange) {
        let request = InventoryAPI.ReserveRequest(
            key: key, lines: lines.map { InventoryAPI.Line(variantId: $0.variantID.description, quantity: $0.quantity) },
            ttlSeconds: max(1, ttl.components.seconds))
        let response = try await http.send(.POST, InventoryAPI.merchantPath(merchantID) + "/reservations", body: try InventoryAPI.encoder.encode(request))
        return try reservationAndChange(response, merchantID: merchantID, key: key)
    }

    public func commit(merchantID: MerchantID, key: String) async throws -> Reservation {
        let response = try await http.send(.POST, InventoryAPI.merchantPath(merchantID) + "/reservations/\(key)/commit", body: nil)
        return try reservationAndChange(response, merchantID: merchantID, key: key).0
    }

    public func release(merchantID: MerchantID, key: String) async throws -> (Reservation, StockChange) {
        let response = try await http.send(.POST, InventoryAPI.merchantPath(merchantID) + "/reservations/\(key)/release", body: nil)
        return try reservationAndChange(response, merchantID: merchantID, key: key)
    }

    func reservationAndChange(_ response: ServiceResponse, merchantID: MerchantID, key: String) throws -> (Reservation, StockChange) {
        try expectSuccess(response, key: key)
        let body = try decode(InventoryAPI.ReservationBody.self, response)
        guard let reservation = body.reservation(merchantID: merchantID) else {
            throw DependencyError.rejected(service: "inventory", status: response.status, detail: "unreadable reservation")
        }
        return (reservation, body.change)
    }

    /// Turns the service's problems back into the domain errors the in-process client throws.
    func expectSuccess(_ response: ServiceResponse, key: String?) throws {
        guard response.status >= 300 else { return }
        switch (response.status, response.problemType) {
        case (409, InventoryAPI.insufficientStockType?):
            struct Body: Decodable { var shortages: [InventoryAPI.Shortage] }
            let body = try decode(Body.self, response)
            var shortages: [(variantID: VariantID, requested: Int64, available: Int64)] = []
            for shortage in body.shortages {
                guard let id = VariantID(shortage.variantId) else { continue }
                shortages.append((id, shortage.requested, shortage.available))
            }
            throw InventoryError.insufficientStock(shortages)
        case (409, InventoryAPI.reservationNotHeldType?):
            struct Body: Decodable { var reservationStatus: String }
            let status = (try? decode(Body.self, response)).flatMap { ReservationStatus(rawValue: $0.reservationStatus) } ?? .released
            throw InventoryError.notHeld(key ?? "", status)
        case (422, InventoryAPI.reservationKeyReusedType?):
            throw InventoryError.keyReused(key ?? "")
        case (404, InventoryAPI.unknownReservationType?) where key != nil:
            throw InventoryError.unknownReservation(key ?? "")
        case (404, _):
            throw MercatoError.notFound(response.problemDetail ?? "not found")
        default:
            throw DependencyError.rejected(service: "inventory", status: response.status, detail: response.problemDetail ?? "status \(response.status)")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: ServiceResponse) throws -> T {
        do {
            return try InventoryAPI.decoder.decode(T.self, from: response.body)
        } catch {
            throw DependencyError.rejected(service: "inventory", status: response.status, detail: "unreadable answer: \(error)")
        }
    }
}
