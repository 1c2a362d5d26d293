/// An ISO 4217 currency code such as `EUR`.
public struct CurrencyCode: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let code: String

    /// Accepts exactly three upper-case ASCII letters.
    public init?(_ code: String) {
        guard code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else { return nil }
        self.code = code
    }

    public var description: String { code }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.code < rhs.code }
}

/// An amount of money in minor units (cents) of a currency; never floating point.
public struct Money: Hashable, Sendable {
    public var currency: CurrencyCode
    public var amount: Int64

    public init(currency: CurrencyCode, amount: Int64) {
        self.currency = currency
        self.amount = amount
    }
}
