import MercatoCore


/// One line to tax: the shelf price of one unit (gross in tax-inclusive markets, net otherwise).
public struct TaxableLine: Sendable, Hashable {
    public var id: String
    public var unitPrice: Int64
    public var quantity: Int64
    public var taxClass: TaxClass

    public init(id: String, unitPrice: Int64, quantity: Int64, taxClass: TaxClass = .standard) {
        self.id = id
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.taxClass = taxClass
    }
}

/// The tax of one line, in minor units.
public struct TaxedLine: Sendable, Hashable {
    public var id: String
    public var rateBasisPoints: Int
    public var net: Int64
    public var tax: Int64
    public var gross: Int64

    public init(id: String, rateBasisPoints: Int, net: Int64, tax: Int64, gross: Int64) {
        self.id = id
        self.rateBasisPoints = rateBasisPoints
        self.net = net
        self.tax = tax
        self.gross = gross
    }
}

/// A tax quote for an order shipped to one country.
public struct TaxQuote: Sendable, Hashable {
    public var country: String
    public var currency: CurrencyCode
    public var pricesIncludeTax: Bool
    public var lines: [TaxedLine]
    public var net: Int64 { lines.reduce(0) { $0 + $1.net } }
    public var tax: Int64 { lines.reduce(0) { $0 + $1.tax } }
    public var gross: Int64 { lines.reduce(0) { $0 + $1.gross } }

    public init(country: String, currency: CurrencyCode, pricesIncludeTax: Bool, lines: [TaxedLine]) {
        self.country = country
        self.currency = currency
        self.pricesIncludeTax = pricesIncludeTax
        self.lines = lines
    }
}

/// Why a quote cannot be made.
public enum TaxError: Error, Sendable, Equatable {
    case unsupportedCountry(String)
    case invalidLine(id: String, reason: String)
}

/// VAT/GST for the 17 markets.
///
/// Rounding rule: tax is computed per line on the line total (unit price × quantity), in integer
/// minor units, rounded half away from zero; order totals are the sums of the rounded lines, so a
/// receipt always adds up. In tax-inclusive markets the shelf price is gross and
/// tax = gross × r / (1 + r); elsewhere it is net and tax = net × r.
public enum TaxCalculator {
    /// Reduced rates in basis points; markets without one tax reduced goods at the standard rate.
    static let reducedRates: [String: Int] = [
        "DE": 700, "FR": 550, "NL": 900, "BE": 600, "AT": 1000, "IT": 1000, "ES": 1000, "IE": 1350,
        "FI": 1400, "PT": 600, "GB": 500, "CA": 500, "SE": 1200, "CH": 260,
    ]

    /// The rate a class pays in a market.
    public static func rate(_ taxClass: TaxClass, in market: Market) -> Int {
        switch taxClass {
        case .standard: market.vatRateBasisPoints
        case .reduced: reducedRates[market.code] ?? market.vatRateBasisPoints
        case .zero: 0
        }
    }

    /// Quotes tax for lines priced in the market of the shipping country.
    public static func quote(country: String, lines: [TaxableLine]) throws(TaxError) -> TaxQuote {
        guard let market = Market.named(country) else { throw .unsupportedCountry(country) }
        var taxed: [TaxedLine] = []
        for line in lines {
            guard line.quantity > 0, line.quantity <= 1_000_000 else { throw .invalidLine(id: line.id, reason: "quantity must be 1…1000000") }
            guard line.unitPrice >= 0, line.unitPrice <= 1_000_000_000_000 else { throw .invalidLine(id: line.id, reason: "unit price out of range") }
            let (total, overflow) = line.unitPrice.multipliedReportingOverflow(by: line.quantity)
            guard !overflow, total <= 1_000_000_000_000_000 else { throw .invalidLine(id: line.id, reason: "line total out of range") }
            let rate = Int64(rate(line.taxClass, in: market))
            if market.pricesIncludeTax {
                let tax = divideRoundingHalfAway(total * rate, 10_000 + rate)
                taxed.append(TaxedLine(id: line.id, rateBasisPoints: Int(rate), net: total - tax, tax: tax, gross: total))
            } else {
                let tax = divideRoundingHalfAway(total * rate, 10_000)
                taxed.append(TaxedLine(id: line.id, rateBasisPoints: Int(rate), net: total, tax: tax, gross: total + tax))
            }
        }
        return TaxQuote(country: market.code, currency: market.currency, pricesIncludeTax: market.pricesIncludeTax, lines: taxed)
    }

    /// `numerator / denominator` rounded half away from zero (both non-negative here).
    static func divideRoundingHalfAway(_ numerator: Int64, _ denominator: Int64) -> Int64 {
        (numerator * 2 + denominator) / (denominator * 2)
    }
}
