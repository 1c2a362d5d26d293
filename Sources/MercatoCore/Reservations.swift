// Reservations: the values the inventory store keeps and its service contract carries.

/// One line of a reservation: a variant and how many units.
public struct ReservationLine: Sendable, Hashable {
    public var variantID: VariantID
    public var quantity: Int64

    public init(variantID: VariantID, quantity: Int64) {
        self.variantID = variantID
        self.quantity = quantity
    }
}

/// Where a reservation is in its life.
public enum ReservationStatus: String, Sendable {
    /// Units are taken from stock and wait for the order.
    case held
    /// The order was placed: the units are sold.
    case committed
    /// Given back (by the buyer, or because it expired).
    case released
}

/// A stock reservation as stored.
public struct Reservation: Sendable, Equatable {
    public var key: String
    public var merchantID: MerchantID
    public var status: ReservationStatus
    public var lines: [ReservationLine]
    public var expiresAt: Int64

    public init(key: String, merchantID: MerchantID, status: ReservationStatus, lines: [ReservationLine], expiresAt: Int64) {
        self.key = key
        self.merchantID = merchantID
        self.status = status
        self.lines = lines
        self.expiresAt = expiresAt
    }
}

/// Why a reservation could not be made.
public enum InventoryError: Error, Sendable, Equatable {
    /// Not enough units: every short line with what is still available.
    case insufficientStock([(variantID: VariantID, requested: Int64, available: Int64)])
    /// The same reservation key was used with different lines.
    case keyReused(String)
    /// No such reservation for this merchant.
    case unknownReservation(String)
    /// The reservation is no longer held (committed or released).
    case notHeld(String, ReservationStatus)

    public static func == (lhs: InventoryError, rhs: InventoryError) -> Bool {
        switch (lhs, rhs) {
        case (.insufficientStock(let a), .insufficientStock(let b)):
            a.map { "\($0.variantID)\($0.requested)\($0.available)" } == b.map { "\($0.variantID)\($0.requested)\($0.available)" }
        case (.keyReused(let a), .keyReused(let b)), (.unknownReservation(let a), .unknownReservation(let b)): a == b
        case (.notHeld(let a, let x), .notHeld(let b, let y)): a == b && x == y
        default: false
        }
    }
}
