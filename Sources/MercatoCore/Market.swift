/// A country the platform sells in, with its currency and standard VAT/GST rate.
public struct Market: Hashable, Sendable {
    /// ISO 3166-1 alpha-2 country code, e.g. `DE`.
    public let code: String
    public let currency: CurrencyCode
    /// Standard rate in basis points (1900 = 19 %).
    public let vatRateBasisPoints: Int
    /// Whether shelf prices include tax (EU, UK, AU, CH) or exclude it (US, CA).
    public let pricesIncludeTax: Bool
    /// Stable position of this market in `Market.all`; used for audience bit masks.
    public let index: Int

    /// The 17 supported markets. Order is part of the storage format (audience masks): append only.
    public static let all: [Market] = {
        let table: [(String, String, Int, Bool)] = [
            ("DE", "EUR", 1900, true), ("FR", "EUR", 2000, true), ("NL", "EUR", 2100, true),
            ("BE", "EUR", 2100, true), ("AT", "EUR", 2000, true), ("IT", "EUR", 2200, true),
            ("ES", "EUR", 2100, true), ("IE", "EUR", 2300, true), ("FI", "EUR", 2550, true),
            ("PT", "EUR", 2300, true), ("GB", "GBP", 2000, true), ("US", "USD", 0, false),
            ("CA", "CAD", 500, false), ("AU", "AUD", 1000, true), ("SE", "SEK", 2500, true),
            ("DK", "DKK", 2500, true), ("CH", "CHF", 810, true),
        ]
        return table.enumerated().map { index, row in
            Market(code: row.0, currency: CurrencyCode(row.1)!, vatRateBasisPoints: row.2, pricesIncludeTax: row.3, index: index)
        }
    }()

    private static let byCode: [String: Market] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// Looks a market up by its country code (case-insensitive).
    public static func named(_ code: String) -> Market? { byCode[code.uppercased()] }

    /// Every currency some market uses, sorted.
    public static let currencies: [CurrencyCode] = Array(Set(all.map(\.currency))).sorted()
}
