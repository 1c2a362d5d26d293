import Foundation
import MercatoHTTPBoundary
import MercatoInventoryContract
import MercatoStorage
import MercatoInventoryStore
import MercatoCore

extension InventoryError: ProblemConvertible {
    /// The HTTP problem for each inventory failure; a short reservation lists every short line.
    public var problem: Problem {
        switch self {
        case .insufficientStock(let shortages):
            var problem = Problem(
                status: .conflict, type: InventoryAPI.insufficientStockType, title: "Insufficient stock",
                detail: shortages.map { "variant \($0.variantID): requested \($0.requested), available \($0.available)" }.joined(separator: "; "))
            let wire = shortages.map { InventoryAPI.Shortage(variantId: $0.variantID.description, requested: $0.requested, available: $0.available) }
            if let json = try? InventoryAPI.encoder.encode(wire) { problem.members.append(("shortages", Array(json))) }
            return problem
        case .keyReused(let key):
            return Problem(
                status: .unprocessableContent, type: InventoryAPI.reservationKeyReusedType, title: "Reservation key reused",
                detail: "reservation key '\(key)' was already used with different lines")
        case .unknownReservation(let key):
            return Problem(status: .notFound, type: InventoryAPI.unknownReservationType, title: "Unknown reservation", detail: "no reservation '\(key)'")
        case .notHeld(let key, let status):
            var problem = Problem(
                status: .conflict, type: InventoryAPI.reservationNotHeldType, title: "Reservation not held",
                detail: "reservation '\(key)' is \(status.rawValue)")
            problem.members.append(("reservation_status", Array("\"\(status.rawValue)\"".utf8)))
            return problem
        }
    }
}
