import Foundation
import HTTPTypes
import Hummingbird
import MercatoCore
import MercatoHTTPEdge

/// The tax service's wire format and HTTP API: `POST /v1/tax/quotes`
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
    public struct QuoteRequest: Codable, Sendable {
        public var country: String
        public var lines: [Line]
        public init(country: String, lines: [TaxableLine]) {
            self.country = country
            self.lines = lines.map(Line.init)
        }
        static let schema = KeySchema.object([
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

/// The tax service's routes.
public struct TaxRoutes: Sendable {
    let maxBodyBytes: Int

    public init(maxBodyBytes: Int = 1 << 20) { self.maxBodyBytes = maxBodyBytes }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post(RouterPath(TaxAPI.quotePath)) { request, _ in
            let input = try JSONInput.decode(TaxAPI.QuoteRequest.self, from: try await JSONBody.read(request, limit: maxBodyBytes), schema: TaxAPI.QuoteRequest.schema)
            guard (1...100).contains(input.lines.count) else { throw MercatoError.validation(field: "lines", message: "'lines' must hold 1–100 lines") }
            var lines: [TaxableLine] = []
            for (index, line) in input.lines.enumerated() {
                var taxClass = TaxClass.standard
                if let raw = line.taxClass {
                    guard let parsed = TaxClass(rawValue: raw) else {
                        throw MercatoError.validation(field: "lines[\(index)].tax_class", message: "use one of standard, reduced, zero")
                    }
                    taxClass = parsed
                }
                lines.append(TaxableLine(id: line.id, unitPrice: line.unitPrice, quantity: line.quantity, taxClass: taxClass))
            }
            let quote = try TaxCalculator.quote(country: input.country, lines: lines)
            return JSONBytes.response(Array(try TaxAPI.encoder.encode(TaxAPI.QuoteBody(quote))), headers: [.cacheControl: "no-store"])
        }
    }
}

extension TaxError: ProblemConvertible {
    /// Quotes fail on bad input only: 422 naming the country or line.
    public var problem: Problem {
        switch self {
        case .unsupportedCountry(let country):
            Problem(status: .unprocessableContent, type: "unsupported-country", title: "Unsupported country", detail: "no tax rules for country '\(country)'")
        case .invalidLine(let id, let reason):
            Problem(status: .unprocessableContent, type: "validation", title: "Validation failed", detail: "line '\(id)': \(reason)")
        }
    }
}
