import Foundation
import HTTPTypes
import Hummingbird
import MercatoCore
import MercatoJSON
import MercatoHTTPBoundary
import MercatoTaxContract

/// The tax service's routes.
public struct TaxRoutes: Sendable {
    let maxBodyBytes: Int

    public init(maxBodyBytes: Int = 1 << 20) { self.maxBodyBytes = maxBodyBytes }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post(RouterPath(TaxAPI.quotePath)) { request, _ in
            let input = try await JSONBody.decode(TaxAPI.QuoteRequest.self, from: request, limit: maxBodyBytes)
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
