/// Where a checkout is in its life.
public enum CheckoutStatus: String, Sendable, Equatable {
    /// Its stock is held; an address may be set and the order placed.
    case open
    /// Its order was placed.
    case completed
    /// Its reservation ran out before the order was placed.
    case expired
}

/// Where an order is in its life.
public enum OrderStatus: String, Sendable, Equatable {
    /// Claimed for its checkout (one per checkout) while the reservation is committed.
    case pending
    /// Placed: the stock is committed.
    case placed
    /// Not placed: the reservation had expired.
    case failed
}
