import Foundation
import MercatoCore
import MercatoJSON

/// The tax service's wire format (the contract both sides share, no HTTP server in it): `POST /v1/tax/quotes`
/// `{"country": "DE", "lines": [{"id", "unit_price", "quantity", "tax_class"}]}` → the quote.
public enum TaxAPI {
    public static let quotePath = "/v1/tax/quotes"

    /// One line of a quote request.
    public struct Line: Codable, Sendable {
        public var id: String
        public var unitPrice: Int64
        public var quantity: Int64
        public var taxClass: String?
        public init(_ line: TaxableLine) {
            id = line.id
            unitPrice = line.unitPrice
            quantity = line.quantity
            taxClass = line.taxClass.rawValue
        }
    }

    /// Body of a quote request.
    public struct QuoteRequest: Codable, JSONRequestBody {
        public var country: String
        public var lines: [Line]
        public init(country: String, lines: [TaxableLine]) {
            self.country = country
            self.lines = lines.map(Line.init)
        }
        /// The accepted members, for the service's strict decoding.
        public static let schema = KeySchema.object([
            "country": .value,
            "lines": .array(.object(["id": .value, "unit_price": .integer, "quantity": .integer, "tax_class": .value])),
        ])
    }

    /// One taxed line of a quote.
    public struct TaxedLineBody: Codable, Sendable {
        public var id: String
        public var rateBasisPoints: Int
        public var net: Int64
        public var tax: Int64
        public var gross: Int64
    }

    /// A quote on the wire.
    public struct QuoteBody: Codable, Sendable {
        public var country: String
        public var currency: String
        public var pricesIncludeTax: Bool
        public var lines: [TaxedLineBody]
        public var net: Int64
        public var tax: Int64
        public var gross: Int64

        public init(_ quote: TaxQuote) {
            country = quote.country
            currency = quote.currency.code
            pricesIncludeTax = quote.pricesIncludeTax
            lines = quote.lines.map { TaxedLineBody(id: $0.id, rateBasisPoints: $0.rateBasisPoints, net: $0.net, tax: $0.tax, gross: $0.gross) }
            net = quote.net
            tax = quote.tax
            gross = quote.gross
        }

        /// Back to the domain value; nil when the currency is unknown.
        public var quote: TaxQuote? {
            guard let currency = CurrencyCode(currency) else { return nil }
            return TaxQuote(
                country: country, currency: currency, pricesIncludeTax: pricesIncludeTax,
                lines: lines.map { TaxedLine(id: $0.id, rateBasisPoints: $0.rateBasisPoints, net: $0.net, tax: $0.tax, gross: $0.gross) })
        }
    }

    /// Both sides use the shared wire coders.
    public static var encoder: JSONEncoder { WireJSON.encoder }

    public static var decoder: JSONDecoder { WireJSON.decoder }
}
